"""Symbolic derivatives: the registry's rules evaluated over expressions.

The partial-derivative rules in :mod:`autodiff_cli.ops` are written against an
algebra ``m``.  Here the algebra's values are AST nodes, wrapped in
:class:`~autodiff_cli.engine.simplify.Sym` so that the rules' ``+``, ``-`` and ``*``
build nodes too, made by the simplifying :class:`~autodiff_cli.engine.simplify.Builder`.

Differentiation is reverse mode over the DAG: each node's adjoint is an
expression, summed over the node's uses, so the derivative stays the size of
the graph (``sin(sin(...sin(x)))`` fifty deep gives fifty factors, not a tree
that doubles at every level).  There is no table of derivatives here: the
rules come from the registry, and a new operation is differentiated without a
change to this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .. import expr as ast
from ..errors import LimitError, ValueInputError, option
from ..expr import Apply, Const, Expr, Num, Var
from .simplify import _ADD, _MUL, Builder, Sym, _TooLarge, simplify

__all__ = ["DiffResult", "derivative_trees", "differentiate", "evaluate", "gradient", "simplify"]


# ---------------------------------------------------------------- differentiation


def gradient(builder: Builder, root: Expr, wrt: Sequence[str]) -> dict[str, Expr]:
    """d(root)/d(name) for each name in ``wrt``, by reverse mode over the DAG.

    ``root`` must be canonical in ``builder``.  Each node's adjoint is an
    expression summed over the node's uses; the local derivatives are the
    registry's rules evaluated in the symbolic algebra, with the node itself
    as their ``out`` (so ``exp`` reuses its own node).
    """
    order = ast.postorder(root)
    depends = ast.depends_on(order, wrt)
    zero = builder.num(0.0)
    # Each node's contributions, one per use; summed when the sweep reaches the
    # node, in the order of the uses (so x^3 + sin(x) gives 3*x^2 + cos(x)).
    contributions: dict[int, list[Expr]] = {}
    if id(root) in depends:
        contributions[id(root)] = [builder.num(1.0)]
    adjoints: dict[int, Expr] = {}
    m = builder.algebra
    for node in reversed(order):
        parts = contributions.pop(id(node), None)
        if parts is None:
            continue
        adjoint = parts[-1]
        for part in reversed(parts[:-1]):
            adjoint = builder.apply(_ADD, (adjoint, part))
        adjoints[id(node)] = adjoint
        if not isinstance(node, Apply) or adjoint is zero:
            continue
        args = [Sym(builder, a) for a in node.args]
        out = Sym(builder, node)
        for rule, arg in zip(node.op.partials, node.args):
            if id(arg) in depends:
                local = builder.lift(rule(m, *args, out))
                contributions.setdefault(id(arg), []).append(builder.apply(_MUL, (adjoint, local)))
    variables = {node.name: node for node in order if isinstance(node, Var)}
    return {name: adjoints.get(id(variables[name]), zero) if name in variables else zero
            for name in wrt}


@dataclass(frozen=True, slots=True, eq=False)
class DiffResult:
    """Symbolic derivatives of a program, as trees and as adcli source text."""

    expression: str
    order: int
    derivatives: dict[str, str]
    """Each variable's derivative as a program in adcli's language, in variable order."""
    trees: dict[str, Expr]
    """The same derivatives as canonical trees (they may contain the helper ``zmul``)."""


MAX_DIFF_ORDER = 10_000
"""The highest order diff takes (each order costs a pass over the last derivative)."""


def derivative_trees(builder: Builder, root: Expr, wrt: Sequence[str],
                     order: int = 1) -> dict[str, Expr]:
    """The ``order``-th derivative of ``root`` (canonical in ``builder``) for each name.

    For ``order`` 2 and more, each derivative is differentiated again with respect
    to the same variable (pure derivatives: d²f/dx², not mixed ones).

    Raises:
        LimitError: the builder would make more than its limit of nodes
            (:data:`MAX_DIFF_NODES`); the message says at which order.
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueInputError(f"{option('order')} must be a whole number, 1 or more, not {order!r}")
    if order > MAX_DIFF_ORDER:
        raise LimitError(f"{option('order')} {order:,} is past {MAX_DIFF_ORDER:,}, the highest diff takes "
                         "(MAX_DIFF_ORDER in autodiff_cli.engine.symbolic)")
    try:
        if order == 1:
            return gradient(builder, root, wrt)
    except _TooLarge:
        raise _too_large(builder, 1, order, ", ".join(wrt)) from None
    result: dict[str, Expr] = {}
    for name in wrt:
        tree = root
        for reached in range(1, order + 1):
            try:
                tree = gradient(builder, tree, [name])[name]
            except _TooLarge:
                raise _too_large(builder, reached, order, name) from None
            if isinstance(tree, Num) and tree.value == 0.0:
                break  # every higher derivative is 0 too
        result[name] = tree
    return result


def _too_large(builder: Builder, reached: int, order: int, names: str) -> LimitError:
    where = f"at order {reached} of {order}" if order > 1 else "in the first derivative"
    hint = (f"; each order is several times the size of the last: ask for a lower {option('order')}"
            if reached > 1 else "")
    return LimitError(f"the derivative in {names} grows past {builder.limit:,} nodes {where}, "
                      f"the most diff makes (MAX_DIFF_NODES in autodiff_cli.engine.simplify){hint}")


def differentiate(program: ast.Program, wrt: Sequence[str], order: int = 1,
                  one_line: bool = False) -> DiffResult:
    """Symbolic derivatives of ``program``, printed in adcli's language.

    Nodes used more than once are printed as named intermediates (``d1 =
    ...`` lines before the result); a node the program named keeps its name.
    """
    from ..language.printer import to_source

    builder = Builder()
    try:
        canonical = builder.intern([program.result, *(node for _, node in program.bindings)])
    except _TooLarge:
        raise LimitError(f"the program has more than {builder.limit:,} nodes, the most diff makes "
                         "(MAX_DIFF_NODES in autodiff_cli.engine.simplify)") from None
    names: dict[int, str] = {}
    for original, name in program.names.items():
        node = canonical.get(original)
        if node is not None:
            names.setdefault(id(node), name)
    for name, node in program.bindings:
        names.setdefault(id(canonical[id(node)]), name)
    taken = set(program.variables) | {name for name, _ in program.bindings}
    trees = derivative_trees(builder, canonical[id(program.result)], wrt, order)
    texts = {name: to_source(tree, names=names, reserved=taken, one_line=one_line)
             for name, tree in trees.items()}
    return DiffResult(program.source, order, texts, trees)


def evaluate(root: Expr, point: Mapping[str, float]) -> float:
    """The value of a tree at a point (float64, IEEE semantics, iterative)."""
    def leaf(node: Expr) -> float:
        if isinstance(node, Var):
            return point[node.name]
        assert isinstance(node, (Num, Const))
        return node.value

    value: float = ast.fold(root, leaf, lambda node, args: node.op.forward(*args))
    return value
