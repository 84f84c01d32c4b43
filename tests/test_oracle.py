"""sympy as an independent oracle: random expressions' gradients against sympy's diff.

The generated tree is rebuilt in sympy directly (not through adcli's parser), so
the parse of the generated text is checked too.  ``SYMPY`` maps each registry
operation to its sympy counterpart: the one deliberate second table, whose keys
must equal the registry's public operation names.
"""

from __future__ import annotations

import contextlib
import math
import signal
from collections.abc import Iterator

import pytest
import sympy
from hypothesis import assume, given, reject, settings
from hypothesis import strategies as st

from autodiff_cli import GradResult, grad
from autodiff_cli.ops import CONSTANTS, public_operations

from .oracles import SYMPY, SYMPY_CONSTANTS
from .strategies import DOMAINS, Tree, fold_tree, kink_distance, points, program_trees, trees


def test_the_oracle_table_covers_the_registry() -> None:
    assert set(SYMPY) == {op.name for op in public_operations()}
    assert set(SYMPY_CONSTANTS) == set(CONSTANTS)


@pytest.mark.parametrize("name", sorted(SYMPY))
def test_the_oracle_agrees_with_the_registry_on_values(name: str) -> None:
    """The sympy counterpart computes what the registry's forward function computes."""
    from autodiff_cli.ops import OPS

    args = [domain.example for domain in DOMAINS[name]]
    ours = OPS[name].forward(*args)
    theirs = float(SYMPY[name](*[sympy.Float(a, 30) for a in args]).evalf(30))
    assert ours == pytest.approx(theirs, rel=1e-13, abs=1e-13)


def to_sympy(tree: Tree, symbols: dict[str, sympy.Symbol]) -> sympy.Expr:
    def leaf(node: Tree) -> sympy.Expr:
        if node.kind == "var":
            return symbols[node.name]
        if node.kind == "const":
            return SYMPY_CONSTANTS[node.name]
        return sympy.Rational(node.name)

    return fold_tree(tree, leaf, lambda node, args: SYMPY[node.name](*args))


def numeric(expression: sympy.Expr, at: dict[sympy.Symbol, sympy.Float]) -> float:
    """The real value of ``expression`` at a point, to 30 digits.

    ``evalf(subs=...)`` evaluates numerically; ``subs`` first would rebuild the expression
    with the numbers in it, and sympy's automatic simplification of that can take very long.
    Some functions (atan2) leave an imaginary part of rounding size, which must be tiny.
    """
    number = complex(expression.evalf(30, subs=at))
    assert abs(number.imag) <= 1e-20 * max(1.0, abs(number.real)), (expression, number)
    return number.real


class _OracleTooSlow(Exception):
    pass


@contextlib.contextmanager
def oracle_time_limit(seconds: float) -> Iterator[None]:
    """Give up on an example whose sympy side takes longer than ``seconds``: the oracle's
    symbolic work can blow up on rare nested expressions, and a test should not hang on it.
    (adcli's own result is computed before, outside the limit.)"""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _OracleTooSlow

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _OracleTooSlow:
        reject()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_against_sympy(text: str, tree: Tree, point: dict[str, float]) -> None:
    """adcli's value and gradient of ``text`` at ``point`` equal sympy's for ``tree``."""
    assume(kink_distance(tree, point) > 1e-6)
    ours = grad(text, **point)
    assert ours.nonfinite is None, (text, point, ours.nonfinite)
    with oracle_time_limit(30.0):
        _compare_with_sympy(ours, text, tree, point)


def _compare_with_sympy(ours: GradResult, text: str, tree: Tree, point: dict[str, float]) -> None:
    names = tree.variables
    symbols = {name: sympy.Symbol(name) for name in names}
    expression = to_sympy(tree, symbols)
    at = {symbols[n]: sympy.Float(v, 40) for n, v in point.items()}
    assert ours.value == pytest.approx(numeric(expression, at), rel=1e-9, abs=1e-9), (text, point)
    assert set(ours.gradient) == set(names)
    for name in names:
        derivative = sympy.diff(expression, symbols[name])
        expected = numeric(derivative, at)
        assert math.isfinite(ours.gradient[name])
        assert ours.gradient[name] == pytest.approx(expected, rel=1e-7, abs=1e-7), (
            text, point, name, str(derivative))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_gradients_match_sympy(data: st.DataObject) -> None:
    tree = data.draw(trees(max_leaves=8), label="tree")
    point = data.draw(points(tree.variables), label="point")
    result = grad(tree.text, **point)
    assert list(result.gradient) == list(tree.variables)  # in order of first appearance
    check_against_sympy(tree.text, tree, point)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_program_gradients_match_sympy(data: st.DataObject) -> None:
    """Named intermediates used several times: the shared node's gradient sums every use."""
    program = data.draw(program_trees(), label="program")
    point = data.draw(points(program.variables), label="point")
    assert list(grad(program.text, **point).gradient) == list(program.variables)
    check_against_sympy(program.text, program.inlined, point)


@settings(max_examples=1, database=None)
@given(st.just(0.05))
def test_a_slow_oracle_gives_up_on_the_example_instead_of_hanging(limit: float) -> None:
    import time

    from hypothesis.errors import UnsatisfiedAssumption

    with pytest.raises(UnsatisfiedAssumption), oracle_time_limit(limit):
        time.sleep(5)
