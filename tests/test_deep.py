"""Nothing recurses in proportion to depth: long chains, deep nesting and long programs work in
a default Python (recursion limit 1000), through the library and through the CLI."""

from __future__ import annotations

import io
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from autodiff_cli import Scalar, grad, parse
from autodiff_cli.engine.gradient import gradient_at
from autodiff_cli.errors import ExpressionSyntaxError
from autodiff_cli.expr import count_nodes, postorder, variables
from autodiff_cli.render.grad import grad_view
from autodiff_cli.render.json import grad_json

from .helpers import app, runner

pytestmark = pytest.mark.slow  # every test here builds 100,000-node inputs

CHAIN = 100_000
NESTING = 10_000
STATEMENTS = 100_000



@pytest.fixture(autouse=True)
def default_recursion_limit() -> Iterator[None]:
    """Run each test with Python's default limit, whatever the test runner set."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def cli_json(tmp_path: Path, source: str, *args: str) -> dict[str, object]:
    model = tmp_path / "deep.adx"
    model.write_text(source, encoding="utf-8")
    result = runner.invoke(app, ["grad", "--file", str(model), *args, "--json"])
    assert result.exit_code == 0, (result.stderr, result.exception)
    data: dict[str, object] = json.loads(result.stdout)
    return data


def printed(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(renderable)
    return out.getvalue()


# ---------------------------------------------------------------- a chain of 100,000 operations

SUM_CHAIN = "+".join(["x"] * (CHAIN + 1))


def test_a_chain_of_additions_through_the_library() -> None:
    program = parse(SUM_CHAIN)
    assert count_nodes(program.result) == CHAIN + 1  # x once, shared, and 100,000 additions
    assert variables(program.result) == ["x"]
    assert len(postorder(program.result)) == CHAIN + 1
    assert repr(program.result).startswith("Apply('add'")
    result, graph = gradient_at(program, {"x": 2.0})
    assert result.value == 2.0 * (CHAIN + 1)
    assert result.gradient == {"x": float(CHAIN + 1)}
    assert len(graph.output.topological_order()) == CHAIN + 1
    graph.output.zero_grad(set_to_none=False)
    assert graph.leaves["x"].grad == 0.0
    text = printed(grad_view(result))
    assert "200002.0" in text and "100001.0" in text
    assert json.loads(grad_json(result))["gradient"] == {"x": 100001.0}


def test_a_chain_of_additions_through_the_cli(tmp_path: Path) -> None:
    model = tmp_path / "chain.adx"
    model.write_text(SUM_CHAIN, encoding="utf-8")
    result = runner.invoke(app, ["grad", "--file", str(model), "--x", "2"])
    assert result.exit_code == 0, (result.stderr, result.exception)
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["value", repr(2.0 * (CHAIN + 1))] in rows
    assert ["x", "2.0", repr(float(CHAIN + 1))] in rows
    assert max(len(line) for line in result.stdout.splitlines()) < 200  # the expression is shortened


def test_a_chain_of_scalars_built_with_python_operators() -> None:
    x = Scalar(1.5)
    y = x
    for _ in range(CHAIN):
        y = y + x
    y.backward()
    assert y.data == 1.5 * (CHAIN + 1)
    assert x.grad == float(CHAIN + 1)
    assert len(y.topological_order()) == CHAIN + 1
    y.backward()
    assert x.grad == 2.0 * (CHAIN + 1)
    y.zero_grad()
    assert x.grad is None
    assert "op=add" in repr(y)


# ---------------------------------------------------------------- 10,000 nested parentheses

# ((((x+1)*x+1)*x+1)*x ...: every level is an operation inside a group.
HORNER = "(" * NESTING + "x" + "+1)*x" * NESTING


def horner(x: float) -> tuple[float, float]:
    """The value and derivative of HORNER at x, by a plain loop."""
    p, dp = x, 1.0
    for _ in range(NESTING):
        p, dp = (p + 1) * x, dp * x + (p + 1)
    return p, dp


def test_nested_parentheses_through_the_library() -> None:
    program = parse(HORNER)
    # x and one shared 1 (equal subexpressions are built once), and per level an add and a mul
    assert count_nodes(program.result) == 2 * NESTING + 2
    value, slope = horner(1.0)
    assert (value, slope) == (NESTING + 1.0, 1 + NESTING * (NESTING - 1) / 2 + 2 * NESTING)
    result, _ = gradient_at(program, {"x": 1.0})
    assert result.value == value and result.gradient == {"x": slope}
    value, slope = horner(-0.5)
    result, _ = gradient_at(program, {"x": -0.5})
    assert result.value == pytest.approx(value) and result.gradient["x"] == pytest.approx(slope)


def test_nested_parentheses_through_the_cli(tmp_path: Path) -> None:
    value, slope = horner(1.0)
    assert cli_json(tmp_path, HORNER, "--x", "1") == {
        "expression": HORNER, "point": {"x": 1.0}, "value": value, "gradient": {"x": slope}}


def test_nested_function_calls_and_signs() -> None:
    source = "sin(" * NESTING + "x" + ")" * NESTING
    x, value, slope = 0.7, 0.7, 1.0
    for _ in range(NESTING):
        value, slope = math.sin(value), slope * math.cos(value)
    result = grad(source, x=x)
    assert result.value == value and result.gradient["x"] == pytest.approx(slope, rel=1e-12)
    assert grad("-" * NESTING + "x", x=2.0).value == 2.0
    assert grad("-(" * NESTING + "x" + ")" * NESTING, x=2.0).gradient == {"x": 1.0}
    tower = grad("1^" * NESTING + "x", x=3.0)  # right-associative: 1^(1^(...^x))
    assert tower.value == 1.0 and tower.gradient == {"x": 0.0}
    assert grad("x" + "^1" * NESTING, x=3.0).gradient == {"x": 1.0}


def test_nested_user_function_calls() -> None:
    source = "f(a) = 1 + a*1\n" + "f(" * NESTING + "x" + ")" * NESTING
    result = grad(source, x=0.25)
    assert result.value == 0.25 + NESTING and result.gradient == {"x": 1.0}


def test_an_unclosed_deep_nesting_is_a_syntax_error_with_a_caret() -> None:
    with pytest.raises(ExpressionSyntaxError, match="never closed"):
        parse("(" * NESTING + "x")
    result = runner.invoke(app, ["grad", "(" * NESTING + "x", "--x", "1"])
    assert result.exit_code == 2 and "never closed" in result.stderr
    assert all(len(line) < 100 for line in result.stderr.splitlines())


# ---------------------------------------------------------------- 100,000 statements

# a0 = x; a1 = a0 + x; ...; a99998 = a99997 + x; a99998 + x: 100,000 statements, value 100,000 x.
PROGRAM = "a0 = x\n" + "".join(f"a{i} = a{i - 1} + x\n" for i in range(1, STATEMENTS - 1)) + \
    f"a{STATEMENTS - 2} + x\n"


def test_a_program_of_100000_statements_through_the_library() -> None:
    assert PROGRAM.count("\n") == STATEMENTS
    program = parse(PROGRAM)
    assert program.variables == ("x",)
    assert len(program.bindings) == STATEMENTS - 1
    assert count_nodes(program.result) == STATEMENTS  # x and 99,999 additions: no copies
    result, _ = gradient_at(program, {"x": 3.0})
    assert result.value == 3.0 * STATEMENTS
    assert result.gradient == {"x": float(STATEMENTS)}
    assert "300000.0" in printed(grad_view(result))


def test_a_program_of_100000_statements_through_the_cli(tmp_path: Path) -> None:
    data = cli_json(tmp_path, PROGRAM, "--x", "3")
    assert data["value"] == 3.0 * STATEMENTS and data["gradient"] == {"x": float(STATEMENTS)}
