"""The AST: small immutable nodes, and iterative walks over them.

An expression is a DAG, not just a tree: a name assigned once and used twice
is one node with two parents.  Nodes compare by identity (``eq=False``) and
print shallowly, because the generated ``__eq__``/``__repr__`` of a dataclass
would recurse into arbitrarily deep children.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

from .ops import Op

T = TypeVar("T")


class _Node:
    """Immutable after construction; compares and hashes by identity."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} nodes are immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} nodes are immutable")


# Plain slotted classes rather than frozen dataclasses: the same immutability and identity
# semantics, without the cost of generating classes at import (adcli's start-up is measured).
_set = object.__setattr__


class Num(_Node):
    """A number literal (or a folded constant)."""

    __slots__ = ("value",)
    value: float

    def __init__(self, value: float) -> None:
        _set(self, "value", value)

    def __repr__(self) -> str:
        return f"Num({self.value!r})"


class Const(_Node):
    """A named constant: pi, e, tau."""

    __slots__ = ("name", "value")
    name: str
    value: float

    def __init__(self, name: str, value: float) -> None:
        _set(self, "name", name)
        _set(self, "value", value)

    def __repr__(self) -> str:
        return f"Const({self.name!r})"


class Var(_Node):
    """A free variable, whose value comes from the user."""

    __slots__ = ("name",)
    name: str

    def __init__(self, name: str) -> None:
        _set(self, "name", name)

    def __repr__(self) -> str:
        return f"Var({self.name!r})"


class Apply(_Node):
    """An operation from the registry applied to argument nodes."""

    __slots__ = ("args", "op")
    op: Op
    args: tuple[Expr, ...]

    def __init__(self, op: Op, args: tuple[Expr, ...]) -> None:
        _set(self, "op", op)
        _set(self, "args", args)

    def __repr__(self) -> str:
        return f"Apply({self.op.name!r}, <{len(self.args)} args>)"


Expr = Union[Num, Const, Var, Apply]


def children(node: Expr) -> tuple[Expr, ...]:
    """The node's arguments (none for leaves)."""
    return node.args if isinstance(node, Apply) else ()


def postorder(roots: Expr | Iterable[Expr]) -> list[Expr]:
    """Every node reachable from ``roots`` once, arguments before their users.

    The order of a recursive depth-first walk that visits arguments left to
    right (so leaves appear in the order they are written), computed with an
    explicit stack so that depth is unlimited.  Scalar.topological_order walks
    the same way, which is what lets the compiled form and the Scalar graph sum
    adjoints in the same order.
    """
    stack: list[Any] = [roots] if isinstance(roots, (Num, Const, Var, Apply)) else list(roots)[::-1]
    seen: set[int] = set()
    order: list[Expr] = []
    emit = _EMIT
    push, pop, append, mark = stack.append, stack.pop, order.append, seen.add
    while stack:
        node = pop()
        if node is emit:
            append(pop())
            continue
        key = id(node)
        if key in seen:
            continue
        mark(key)
        if type(node) is Apply:
            push(node)
            push(emit)
            args = node.args
            for i in range(len(args) - 1, -1, -1):
                if id(args[i]) not in seen:
                    push(args[i])
        else:
            append(node)
    return order


_EMIT = object()
"""Stack marker in postorder: the node below it has had all its arguments emitted."""


def fold(root: Expr, leaf: Callable[[Expr], T], apply: Callable[[Apply, list[T]], T]) -> T:
    """Evaluate ``root`` bottom-up, once per shared node, without recursion."""
    values: dict[int, T] = {}
    for node in postorder(root):
        if isinstance(node, Apply):
            values[id(node)] = apply(node, [values[id(a)] for a in node.args])
        else:
            values[id(node)] = leaf(node)
    return values[id(root)]


def variables(root: Expr) -> list[str]:
    """Names of the free variables, in the order they first appear."""
    names: dict[str, None] = {}
    for node in postorder(root):
        if isinstance(node, Var):
            names.setdefault(node.name)
    return list(names)


def depends_on(order: Iterable[Expr], names: Iterable[str]) -> set[int]:
    """The ids of the nodes in ``order`` (arguments before their users, as :func:`postorder`
    gives them) that depend on any of the variables ``names``."""
    wanted = set(names)
    found: set[int] = set()
    for node in order:
        if type(node) is Apply:
            for arg in node.args:
                if id(arg) in found:
                    found.add(id(node))
                    break
        elif type(node) is Var and node.name in wanted:
            found.add(id(node))
    return found


def count_nodes(root: Expr) -> int:
    """How many distinct nodes the DAG has."""
    return len(postorder(root))


@dataclass(frozen=True, slots=True, eq=False)
class Program:
    """A parsed program: its result expression and what the text named.

    ``names`` maps ``id(node)`` to the name it was assigned to, so that views of
    the graph can label shared intermediates; ``bindings`` keeps those nodes
    alive.  ``variables`` lists the free variables in order of first appearance
    in the text.
    """

    source: str
    result: Expr
    variables: tuple[str, ...]
    bindings: tuple[tuple[str, Expr], ...] = ()
    names: dict[int, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Program({self.source[:40]!r}, variables={self.variables!r})"

    def nodes(self) -> Iterator[Expr]:
        """The result's nodes, arguments first."""
        return iter(postorder(self.result))


def one_line(source: str, limit: int = 120) -> str:
    """A program's text on one line of at most ``limit`` characters, for titles and
    headings: comments dropped, statements joined by '; '."""
    statements = (line.split("#", 1)[0].strip() for line in source.splitlines())
    flat = " ".join("; ".join(s for s in statements if s).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
