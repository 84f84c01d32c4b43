"""Forward-mode autodiff: dual numbers over the same registry.

A :class:`Dual` carries a value and its tangent, the derivative along one
direction.  Each operation's tangent comes from :func:`ops.jvp`, which derives
it from the registry entry's own partial rules (evaluated on floats), so forward
mode adds no calculus of its own.  One sweep over the AST per variable, seeded
with tangent 1 on that variable, gives one partial derivative: n sweeps for n
variables, where reverse mode needs one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import expr as ast
from ..ops import FLOAT, Arithmetic, Op, jvp
from .gradient import GradResult


@dataclass(frozen=True, slots=True)
class Dual(Arithmetic):
    """A float64 value and its tangent: ``value + tangent*ε`` with ``ε² = 0``."""

    value: float
    tangent: float = 0.0

    @classmethod
    def apply(cls, op: Op, *args: Dual | float) -> Dual:
        """Apply a registry operation; plain numbers are constants (tangent 0)."""
        duals = [a if isinstance(a, Dual) else Dual(float(a)) for a in args]
        values = [d.value for d in duals]
        out = op.forward(*values)
        return cls(out, float(jvp(op, FLOAT, values, [d.tangent for d in duals], out)))

    def _apply(self, op: Op, *args: Dual | float) -> Dual:
        return Dual.apply(op, *args)


def sweep(order: Sequence[ast.Expr], point: Mapping[str, float], seed: str | None) -> Dual:
    """Evaluate the nodes in ``order`` (arguments first) as duals; the last node's dual.

    The variable ``seed`` gets tangent 1, every other leaf tangent 0, so the
    result's tangent is the partial derivative with respect to ``seed``.
    """
    value, tangent = _sweep(order, point, seed, lambda op: op.forward, FLOAT)
    return Dual(value, float(tangent))


def _sweep(order: Sequence[ast.Expr], point: Mapping[str, Any], seed: str | None,
           forward: Callable[[Op], Callable[..., Any]], m: Any) -> tuple[Any, Any]:
    """(value, tangent) of the last node in ``order``, with the operations' ``forward``
    functions and their tangents evaluated in the algebra ``m``: floats or arrays alike."""
    pairs: dict[int, tuple[Any, Any]] = {}
    for node in order:
        if isinstance(node, ast.Apply):
            args = [pairs[id(a)] for a in node.args]
            values = [value for value, _ in args]
            out = forward(node.op)(*values)
            pairs[id(node)] = (out, jvp(node.op, m, values, [tangent for _, tangent in args], out))
        elif isinstance(node, ast.Var):
            pairs[id(node)] = (point[node.name], 1.0 if node.name == seed else 0.0)
        else:
            pairs[id(node)] = (node.value, 0.0)
    return pairs[id(order[-1])]


def forward_gradient_arrays(program: ast.Program, columns: Mapping[str, Any],
                            wrt: Sequence[str]) -> tuple[Any, ...]:
    """Forward mode at many points at once: one array of partial derivatives per name in
    ``wrt``, from one sweep per variable over NumPy arrays (one per variable in ``columns``)."""
    from ..ops import array_algebra, array_form

    order = ast.postorder(program.result)
    m = array_algebra()
    return tuple(_sweep(order, columns, name, array_form, m)[1] for name in wrt)


def forward_gradient_at(program: ast.Program, point: Mapping[str, float],
                        wrt: Sequence[str] | None = None) -> GradResult:
    """The value and gradient of ``program`` at ``point`` by forward mode, one sweep per variable."""
    names = tuple(program.variables if wrt is None else wrt)
    order = ast.postorder(program.result)
    value = sweep(order, point, None).value if not names else None
    gradient: dict[str, float] = {}
    for name in names:
        out = sweep(order, point, name)
        value = out.value
        gradient[name] = out.tangent
    assert value is not None
    return GradResult(program.source, dict(point), value, gradient)
