"""The package's public names are what they say, however many submodules are loaded."""

from __future__ import annotations

import importlib
import pkgutil

import autodiff_cli


def modules() -> list[str]:
    """Every module of the package, subpackages' too (not __main__, which runs the CLI)."""
    return [m.name for m in pkgutil.walk_packages(autodiff_cli.__path__, "autodiff_cli.")
            if not m.name.endswith("__main__")]


def test_public_names_stay_functions_after_every_submodule_is_imported() -> None:
    for name in modules():
        importlib.import_module(name)
    for name in autodiff_cli.__all__:
        value = getattr(autodiff_cli, name)
        assert not isinstance(value, type(autodiff_cli)), f"autodiff_cli.{name} is a module"
    assert autodiff_cli.grad("x*y", x=2, y=3).gradient == {"x": 3.0, "y": 2.0}
    assert autodiff_cli.hessian("x^2*y", x=1, y=2).matrix == ((4.0, 2.0), (2.0, 0.0))


def test_docstring_examples() -> None:
    import doctest

    for name in modules():
        assert doctest.testmod(importlib.import_module(name)).failed == 0, name


def test_the_library_never_names_a_command_line_flag() -> None:
    """Messages name the settings they are about as data (errors.option); only the CLI and the
    renderers it uses spell them --name.  Docstrings and comments may mention flags."""
    import ast
    import re
    from pathlib import Path

    root = Path(autodiff_cli.__file__).parent
    flag = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(("cli/", "render/")) or relative.endswith("_expr_lalr.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.value) for node in ast.walk(tree)  # every string standing alone
                      if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                for match in flag.findall(node.value):
                    found.append(f"{relative}:{node.lineno}: {match}")
    assert not found, "\n".join(found)
