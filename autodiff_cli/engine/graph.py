"""AST to Scalar graph, at a point; and the non-finite diagnosis.

One Scalar per AST node: a node shared in the AST (an assigned name, a
variable used twice) is one Scalar shared in the graph.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from .. import expr as ast
from ..ops import FLOAT
from .scalar import Scalar


@dataclass(frozen=True, slots=True, eq=False)
class Graph:
    """The Scalar graph of a program: its output, its variables, and each AST node's Scalar."""

    output: Scalar
    leaves: dict[str, Scalar]
    order: tuple[ast.Expr, ...]
    """The AST nodes in evaluation order."""
    made: tuple[Scalar, ...]
    """Each node's Scalar, in the order of ``order``."""
    first_nonfinite_index: int | None = None
    """Where in ``order`` the first inf or nan value appeared, if anywhere."""
    _by_id: dict[int, Scalar] = field(default_factory=dict, repr=False)

    @property
    def scalars(self) -> dict[int, Scalar]:
        """``id(ast node)`` to its Scalar: made on first use (the views and the check's notes
        look nodes up; the gradient alone does not need it, and it is a dict entry and an
        integer object per node, kept as long as the graph)."""
        if not self._by_id and self.order:
            self._by_id.update(zip(map(id, self.order), self.made))
        return self._by_id


def build_graph(program: ast.Program, point: Mapping[str, float],
                wrt: Collection[str] | None = None) -> Graph:
    """Evaluate ``program`` at ``point`` as a Scalar graph.

    Variables named in ``wrt`` (default: all) require gradients; the others are
    held constant.  ``point`` must give every variable a value.
    """
    wanted = set(program.variables if wrt is None else wrt)
    leaves = {name: Scalar(point[name], requires_grad=name in wanted, name=name)
              for name in program.variables}
    scalars: dict[int, Scalar] = {}
    order = ast.postorder(program.result)
    apply = Scalar.apply
    first_bad: int | None = None
    for index, node in enumerate(order):
        if isinstance(node, ast.Apply):
            made = apply(node.op, *[scalars[id(a)] for a in node.args])
        elif isinstance(node, ast.Var):
            made = leaves[node.name]
        else:
            made = Scalar(node.value, requires_grad=False,
                          name=node.name if isinstance(node, ast.Const) else None)
        value = made.data
        if first_bad is None and value - value != 0.0:  # inf or nan, without a call
            first_bad = index
        scalars[id(node)] = made
    output = scalars[id(program.result)]
    return Graph(output, leaves, tuple(order), tuple(scalars.values()), first_bad)


def _describe(node: ast.Apply, values: list[float]) -> str:
    shown = ", ".join(repr(v) for v in values)
    return f"{node.op.name}({shown})"


def first_nonfinite(graph: Graph) -> str | None:
    """Where the first non-finite number came from, or None if everything is finite.

    Forward: a variable given a non-finite value, or the first operation in
    evaluation order whose output is non-finite while its inputs are finite.
    Backward (after ``backward()``): the first local derivative, in the reverse
    sweep, that is non-finite, or whose product with a finite gradient overflows.
    """
    start = graph.first_nonfinite_index
    for node in graph.order[start:] if start is not None else ():
        scalar = graph.scalars[id(node)]
        if isinstance(node, ast.Apply) and not math.isfinite(scalar.data):
            values = [graph.scalars[id(a)].data for a in node.args]
            if all(math.isfinite(v) for v in values):
                return f"{_describe(node, values)} = {scalar.data!r}"
        elif isinstance(node, ast.Num) and not math.isfinite(node.value):
            return f"the number literal overflows to {node.value!r}"
        elif isinstance(node, ast.Var) and not math.isfinite(scalar.data):
            return f"the value given to {node.name}, {scalar.data!r}"
    if all(leaf.grad is None or math.isfinite(leaf.grad) for leaf in graph.leaves.values()):
        return None
    for node in reversed(graph.order):
        if not isinstance(node, ast.Apply):
            continue
        scalar = graph.scalars[id(node)]
        values = [graph.scalars[id(a)].data for a in node.args]
        for index, (rule, arg) in enumerate(zip(node.op.partials, node.args)):
            if graph.scalars[id(arg)].requires_grad:
                local = rule(FLOAT, *values, scalar.data)
                which = f" with respect to argument {index + 1}" if len(values) > 1 else ""
                if not math.isfinite(local):
                    return f"the derivative of {_describe(node, values)}{which} is {local!r}"
                # Finite factors whose product overflows: the chain rule itself made the inf.
                adjoint = scalar.grad
                if adjoint is not None and math.isfinite(adjoint) and not math.isfinite(adjoint * local):
                    return (f"the gradient overflowing through {_describe(node, values)}{which} "
                            f"({adjoint!r} * {local!r})")
    return None
