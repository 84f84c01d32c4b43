"""The generated LALR parser (autodiff_cli/language/_expr_lalr.py) is the grammar's, and up to date."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import types
from pathlib import Path

import pytest

from autodiff_cli.language import grammar, parser
from autodiff_cli.language.parser import ContinueInParentheses, grammar_text

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "grammars" / "generate_parser.py"


def load_generator() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("generate_parser", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_parser_records_the_current_grammar() -> None:
    generator = load_generator()
    recorded = generator.recorded_digest(Path(parser.__file__).with_name("_expr_lalr.py").read_text("utf-8"))
    assert recorded == hashlib.sha256(grammar_text().encode("utf-8")).hexdigest(), \
        "grammars/expr.lark changed: run python grammars/generate_parser.py"


def test_start_up_does_not_import_lark() -> None:
    import subprocess

    code = ("import autodiff_cli.language.parser as p, sys; p.parse('sin(x)+x*y'); "
            "print('lark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_freshly_generated_parser_parses_the_examples_alike(tmp_path: Path) -> None:
    pytest.importorskip("lark")
    fresh = tmp_path / "fresh_lalr.py"
    fresh.write_text(load_generator().generate(grammar_text()), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("fresh_lalr", fresh)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    new = module.Lark_StandAlone(postlex=ContinueInParentheses())
    sources = [p.read_text("utf-8") for p in sorted((ROOT / "examples").glob("*.adx"))]
    sources += ["sin(x)+x*y", "2x(y+1)^-2", "f(a, b) = a*b\nf(x,\n  y)", "x**2 # note\n"]
    for source in sources:
        assert new.parse(source) == grammar._lark().parse(source)
