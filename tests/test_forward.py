"""Forward mode: dual numbers over the registry, against reverse mode and by hand."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_cli import expr as ast
from autodiff_cli.api import forward_grad
from autodiff_cli.engine.forward import Dual, forward_gradient_at
from autodiff_cli.engine.gradient import gradient_at
from autodiff_cli.language.parser import parse
from autodiff_cli.ops import FLOAT, OPS, Op, jvp, public_operations

from .strategies import sample_point, smooth_expressions

# ---------------------------------------------------------------- dual numbers by hand


def test_dual_arithmetic_follows_the_product_and_quotient_rules() -> None:
    x = Dual(3.0, 1.0)
    assert (x * x + 2 * x).tangent == 2 * 3.0 + 2  # d(x^2 + 2x) = 2x + 2
    assert (1 / x).tangent == pytest.approx(-1 / 9)
    assert (x ** 3).tangent == pytest.approx(27.0)
    assert (2 ** x).tangent == pytest.approx(8 * math.log(2))
    assert (5 - x).tangent == -1.0 and (x - 5).tangent == 1.0 and (-x).tangent == -1.0
    assert (x / 2).tangent == 0.5 and (x + 1).value == 4.0


def test_dual_apply_takes_registry_operations_and_plain_numbers() -> None:
    out = Dual.apply(OPS["atan2"], Dual(1.0, 1.0), 2.0)  # d/dy atan2(y, 2) at y = 1: 2/5
    assert out.value == math.atan2(1.0, 2.0)
    assert out.tangent == pytest.approx(2 / 5)


def test_forward_grad_matches_the_documented_example() -> None:
    result = forward_grad("sin(x)+x*y", x=1, y=2)
    assert result.value == 2.8414709848078967
    assert result.gradient == {"x": math.cos(1) + 2, "y": 1.0}


def test_forward_grad_with_wrt_and_without_variables() -> None:
    assert forward_grad("x*y", wrt="y", x=3, y=2).gradient == {"y": 3.0}
    constant = forward_grad("2+3")
    assert constant.value == 5.0 and constant.gradient == {}


# ---------------------------------------------------------------- jvp: one table of calculus


def test_jvp_skips_arguments_whose_tangent_is_zero() -> None:
    # x^2 at x = -1.5: the exponent's partial, x^y*log(x), is nan there; it must never be evaluated.
    def refuse(*args: Any) -> float:
        raise AssertionError("the log term of a constant exponent was evaluated")

    m = SimpleNamespace(**{**vars(FLOAT), "log": refuse})
    pow_op = OPS["pow"]
    assert jvp(pow_op, m, [-1.5, 2.0], [1.0, 0.0], 2.25) == -3.0
    assert forward_grad("x^2", x=-1.5).gradient == {"x": -3.0}
    assert jvp(pow_op, FLOAT, [-1.5, 2.0], [0.0, 0.0], 2.25) == 0.0


def test_an_entry_can_give_its_own_tangent_rule() -> None:
    own = Op("twice", lambda x: 2 * x, (lambda m, x, out: 2.0,), "2x; d/dx = 2",
             tangent=lambda m, args, tangents, out: 7.0 * tangents[0])
    assert jvp(own, FLOAT, [1.0], [1.0], 2.0) == 7.0
    derived = Op("twice", lambda x: 2 * x, (lambda m, x, out: 2.0,), "2x; d/dx = 2")
    assert jvp(derived, FLOAT, [1.0], [0.5], 2.0) == 1.0


@pytest.mark.parametrize("op", list(public_operations()), ids=lambda op: op.name)
def test_every_operation_forward_equals_reverse(op: Op) -> None:
    """The same partial rules, so one operation gives bit-identical derivatives both ways."""
    names = ("x", "y")[: op.arity]
    program = ast.Program(op.name, ast.Apply(op, tuple(ast.Var(n) for n in names)), names)
    point = dict(zip(names, sample_point(op)))
    reverse, _ = gradient_at(program, point)
    forward = forward_gradient_at(program, point)
    assert forward.value == reverse.value
    assert forward.gradient == reverse.gradient


@settings(max_examples=60, deadline=None)
@given(source=smooth_expressions(), values=st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_forward_matches_reverse_on_random_expressions(source: str, values: list[float]) -> None:
    program = parse(source)
    point = dict(zip(program.variables, values))
    reverse, _ = gradient_at(program, point)
    forward = forward_gradient_at(program, point)
    assert forward.value == reverse.value
    for name, partial in reverse.gradient.items():
        assert forward.gradient[name] == pytest.approx(partial, rel=1e-12, abs=1e-300)


@pytest.mark.slow
def test_forward_mode_on_a_deep_expression_does_not_recurse() -> None:
    node: ast.Expr = ast.Var("x")
    for _ in range(100_000):
        node = ast.Apply(OPS["mul"], (ast.Apply(OPS["sin"], (node,)), ast.Num(1.0)))
    program = ast.Program("deep", node, ("x",))
    forward = forward_gradient_at(program, {"x": 0.5})
    assert 0.0 < forward.value < 0.01 and 0.0 < forward.gradient["x"] < 1e-3
