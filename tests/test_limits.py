"""Bounded cost: inputs whose work or memory would grow without bound are refused up front,
with a message that names the limit (README, "Limits").

Each test checks a count, a size or a limit, never a time; where memory is the point, a
subprocess runs under an address-space limit (RLIMIT_AS) that the unbounded work would pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autodiff_cli.errors import LimitError, ProgramSizeError
from autodiff_cli.language import parser
from autodiff_cli.language.parser import parse


def nested(levels: int) -> str:
    """``f_i(a) = f_{i-1}(f_{i-1}(a))``: each level twice the size of the one below."""
    lines = ["f0(a) = sin(a) + a"]
    lines += [f"f{i}(a) = f{i - 1}(f{i - 1}(a))" for i in range(1, levels + 1)]
    return "\n".join([*lines, f"f{levels}(x)"])


def run_limited(args: list[str], limit: int, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m autodiff_cli ARGS`` with its address space limited to ``limit`` bytes."""
    import resource

    def apply_limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "autodiff_cli", *args], capture_output=True, text=True,
                          env=env, preexec_fn=apply_limit, timeout=300, cwd=cwd, check=False)


# ---------------------------------------------------------------- functions that call functions


def test_a_call_s_expansion_is_counted_before_it_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """Level n adds about 6 * 2**n nodes in all: with a limit of 10,000, ten levels are built
    and eleven are refused, at the call that would pass the limit."""
    monkeypatch.setattr(parser, "MAX_EXPANSION", 10_000)
    program = parse(nested(10))
    assert program.variables == ("x",)
    with pytest.raises(ProgramSizeError) as caught:
        parse(nested(11))
    message = str(caught.value)
    assert "past the limit of 10,000" in message and "MAX_EXPANSION" in message
    assert message.endswith("f11(x)\n  ^^^")  # the call that would pass it
    assert isinstance(caught.value, LimitError)


def test_the_refused_program_was_not_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing past the limit is made: count the nodes that substitute creates."""
    monkeypatch.setattr(parser, "MAX_EXPANSION", 10_000)
    made = 0
    real = parser._Builder.apply

    def counting(self: parser._Builder, op: object, args: tuple[object, ...]) -> object:
        nonlocal made
        made += 1
        return real(self, op, args)

    monkeypatch.setattr(parser._Builder, "apply", counting)
    with pytest.raises(ProgramSizeError):
        parse(nested(30))
    assert made <= 10_000 + 100


def test_a_syntax_error_is_reported_before_the_size() -> None:
    with pytest.raises(Exception, match="unmatched"):
        parse(nested(30) + "\n)")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced this way on Linux")
def test_twenty_two_levels_are_refused_within_a_bounded_memory(tmp_path: Path) -> None:
    """22 levels took 2.3 GB and more than a minute; refused now, in 600 MB of address space."""
    path = tmp_path / "nested.adx"
    path.write_text(nested(22), encoding="utf-8")
    done = run_limited(["grad", "--file", str(path), "--x", "0.5"], 600 << 20)
    assert done.returncode == 2, done.stderr
    assert "too large" in done.stderr and "MAX_EXPANSION" in done.stderr


# ---------------------------------------------------------------- derivatives of high order


def test_a_high_order_derivative_stops_as_it_grows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The builder counts its nodes as it makes them: it stops at the limit, and the error says
    at which order (the 20th derivative of tan(x) would have billions)."""
    from autodiff_cli.engine import symbolic

    builder = symbolic.Builder(limit=5_000)
    root = builder.simplify(parse("tan(x)").result)
    with pytest.raises(LimitError) as caught:
        symbolic.derivative_trees(builder, root, ["x"], 20)
    assert len(builder._table) <= 5_000
    message = str(caught.value)
    assert "past 5,000 nodes at order 11 of 20" in message and "MAX_DIFF_NODES" in message
    assert "'order'" in message  # the setting, named as the library spells it

    monkeypatch.setattr(symbolic, "MAX_DIFF_NODES", 5_000)
    assert symbolic.differentiate(parse("tan(x)"), ["x"], 10).derivatives["x"]  # 2,070 nodes


def test_diff_refuses_an_order_past_the_limit_on_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from autodiff_cli.engine import symbolic

    from .helpers import app, runner

    monkeypatch.setattr(symbolic, "MAX_DIFF_NODES", 5_000)
    out = runner.invoke(app, ["diff", "x^x", "--order", "14"])
    assert out.exit_code == 2
    assert "grows past 5,000 nodes at order 9 of 14" in out.stderr and "--order" in out.stderr
