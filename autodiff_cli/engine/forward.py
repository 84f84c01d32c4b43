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


_BUDGET = 1 << 23
"""The most floats (64 MB) of tangents that one sweep on arrays keeps: a sweep carries the
tangents of as many variables as keep (nodes × points × variables) under it."""


def forward_gradient_arrays(program: ast.Program, columns: Mapping[str, Any],
                            wrt: Sequence[str]) -> tuple[Any, ...]:
    """Forward mode at many points at once: one array of partial derivatives per name in
    ``wrt``, from NumPy arrays (one per variable in ``columns``).

    Each sweep carries a block of variables' tangents together, one row per variable, so
    n variables cost a few sweeps rather than n.  A row is what a sweep of its own would
    give, bit for bit: an argument that does not depend on the row's variable is skipped,
    rule and all, as a sweep seeded with that variable alone skips it (rows track which
    variables reach each node).
    """
    import numpy as np

    from ..ops import array_algebra

    order = ast.postorder(program.result)
    shape = np.broadcast_shapes(*{np.shape(c) for c in columns.values()})
    size = max(1, int(np.prod(shape)))
    block = max(1, _BUDGET // (len(order) * size))
    tangents: list[Any] = []
    for start in range(0, len(wrt), block):
        tangents.extend(_block_sweep(order, columns, wrt[start:start + block], array_algebra()))
    return tuple(tangents)


def _block_sweep(order: Sequence[ast.Expr], columns: Mapping[str, Any], seeds: Sequence[str],
                 m: Any) -> list[Any]:
    """The tangents of the last node of ``order`` along each of ``seeds`` (arrays, or 0.0)."""
    import numpy as np

    from ..ops import array_form

    k = len(seeds)
    row = {name: i for i, name in enumerate(seeds)}
    # Each node: (value, tangent, reached); reached is None where no seed reaches the node (its
    # tangent is then 0.0, skipped), else which rows it reaches, and the tangent has a row per seed.
    nodes: dict[int, tuple[Any, Any, Any]] = {}

    def rows(reached: Any, like: Any) -> Any:
        return reached.reshape((k,) + (1,) * max(0, np.ndim(like) - 1))

    for node in order:
        if isinstance(node, ast.Apply):
            args = [nodes[id(a)] for a in node.args]
            values = [value for value, _, _ in args]
            out = array_form(node.op)(*values)
            total, started = None, np.zeros(k, dtype=bool)
            if node.op.tangent is not None:  # the entry's own rule: rows not reached get 0.0
                reaching = [reached for _, _, reached in args if reached is not None]
                if reaching:
                    total = node.op.tangent(m, values, [tangent for _, tangent, _ in args], out)
                    started = np.logical_or.reduce(reaching)
                nodes[id(node)] = (out, 0.0, None) if total is None else (out, total, started)
                continue
            for rule, (_, tangent, reached) in zip(node.op.partials, args):
                if reached is None:
                    continue
                term = rule(m, *values, out) * tangent
                if total is None:
                    total = term if reached.all() else np.where(rows(reached, term), term, 0.0)
                elif reached.all() and started.all():
                    total = total + term
                else:
                    summed = np.where(rows(started, term), total + term, term)
                    total = np.where(rows(reached, summed), summed, total)
                started = started | reached
            nodes[id(node)] = (out, 0.0, None) if total is None else (out, total, started)
        elif isinstance(node, ast.Var):
            value = columns[node.name]
            if node.name in row:
                reached = np.zeros(k, dtype=bool)
                reached[row[node.name]] = True
                seed = np.zeros((k,) + (1,) * np.ndim(value))
                seed[row[node.name]] = 1.0
                nodes[id(node)] = (value, seed, reached)
            else:
                nodes[id(node)] = (value, 0.0, None)
        else:
            nodes[id(node)] = (node.value, 0.0, None)
    _, tangent, reached = nodes[id(order[-1])]
    if reached is None:
        return [0.0] * k
    return [tangent[i] if reached[i] else 0.0 for i in range(k)]


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
