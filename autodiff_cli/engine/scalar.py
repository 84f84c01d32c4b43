"""The Scalar: a float that remembers how it was computed, and reverse-mode autodiff.

Each Scalar holds its value (``data``), its gradient (``grad``), the Scalars it
was computed from (``inputs``, a tuple, so traversal order is deterministic) and
the registry operation that made it (``op``).  ``backward()`` sorts the graph
topologically with an explicit stack (a recursive sort fails near a thousand
nodes deep) and applies the chain rule in reverse, summing over every path.

Names follow PyTorch: ``data``, ``grad``, ``requires_grad``, ``backward``,
``zero_grad``, ``detach``.  A Scalar you create is a variable
(``requires_grad=True``) unless you say otherwise; plain Python numbers mixed in
become constants, which never get a gradient.  As in PyTorch, ``grad`` is
``None`` until a backward pass reaches the Scalar, and stays ``None`` on
constants.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Union

from ..ops import FLOAT, FUNCTIONS, OPERATIONS, Arithmetic, Op, algebra

Number = Union[int, float]


class Scalar(Arithmetic):
    """A float64 value in a computation graph."""

    __slots__ = ("_adjoint", "data", "grad", "inputs", "name", "op", "requires_grad")

    def __init__(self, data: float, requires_grad: bool = True, name: str | None = None) -> None:
        self.data = float(data)
        self.requires_grad = requires_grad
        self.grad: float | None = None
        self.inputs: tuple[Scalar, ...] = ()
        self.op: Op | None = None
        self.name = name
        self._adjoint: Any = None

    @classmethod
    def apply(cls, op: Op, *args: Scalar | Number) -> Scalar:
        """Apply a registry operation to Scalars (numbers become constants)."""
        inputs = tuple(a if isinstance(a, Scalar) else Scalar(a, requires_grad=False) for a in args)
        out = cls.__new__(cls)
        out.data = op.forward(*[a.data for a in inputs])
        out.requires_grad = any(a.requires_grad for a in inputs)
        out.grad = None
        out.inputs = inputs
        out.op = op
        out.name = None
        out._adjoint = None
        return out

    # ------------------------------------------------------------ autodiff

    def topological_order(self) -> list[Scalar]:
        """Every Scalar this one depends on that requires a gradient, inputs first."""
        if not self.requires_grad:
            return []
        order: list[Scalar] = []
        seen = {id(self)}
        stack: list[tuple[Scalar, int]] = [(self, 0)]
        while stack:
            node, i = stack[-1]
            if i < len(node.inputs):
                stack[-1] = (node, i + 1)
                child = node.inputs[i]
                if child.requires_grad and id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, 0))
            else:
                stack.pop()
                order.append(node)
        return order

    def backward(self, gradient: float = 1.0) -> None:
        """Accumulate d(self)/d(node) into ``grad`` of every node that requires it.

        Like PyTorch, a second call without :meth:`zero_grad` adds again.  The
        adjoints of one call are summed in a scratch slot first, so a repeated
        call adds exactly the same amount, on intermediates as well as leaves.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a Scalar that does not require grad: "
                               "it depends on no variable")
        order = self.topological_order()
        _reverse(order, float(gradient), create_graph=False)
        for node in order:
            node.grad = node._adjoint if node.grad is None else node.grad + node._adjoint

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradient of this Scalar and of every Scalar it was computed from that
        requires one: to None, as PyTorch 2 does by default, or to 0.0."""
        reset = None if set_to_none else 0.0
        for node in self.topological_order():
            node.grad = reset

    def detach(self) -> Scalar:
        """The same value as a constant, cut from the graph."""
        return Scalar(self.data, requires_grad=False)

    # ------------------------------------------------------------ Python operators

    def _apply(self, op: Op, *args: Scalar | Number) -> Scalar:
        return Scalar.apply(op, *args)

    def __pos__(self) -> Scalar:
        return self

    def __abs__(self) -> Scalar:
        return Scalar.apply(_ABS, self)

    # Comparisons compare values, as PyTorch's do (they are not differentiable); a Scalar
    # still hashes by identity, so it stays usable as a dictionary key.
    def __lt__(self, other: Scalar | Number) -> bool:
        return self.data < _value(other)

    def __le__(self, other: Scalar | Number) -> bool:
        return self.data <= _value(other)

    def __gt__(self, other: Scalar | Number) -> bool:
        return self.data > _value(other)

    def __ge__(self, other: Scalar | Number) -> bool:
        return self.data >= _value(other)

    def __float__(self) -> float:
        return self.data

    def __repr__(self) -> str:
        made = f", op={self.op.name}" if self.op else ""
        return f"Scalar(data={self.data!r}, grad={self.grad!r}{made})"

    if TYPE_CHECKING:  # the methods named after operations are attached below
        def __getattr__(self, name: str) -> Callable[..., Scalar]: ...


def _method(name: str, by_arity: dict[int, Op]) -> Callable[..., Scalar]:
    def method(self: Scalar, *others: Scalar | Number) -> Scalar:
        op = by_arity.get(len(others) + 1)
        if op is None:
            takes = " or ".join(str(n - 1) for n in sorted(by_arity))
            raise TypeError(f"{name}() takes {takes} argument(s), got {len(others)}")
        return Scalar.apply(op, self, *others)

    method.__name__ = name
    method.__doc__ = "\n".join(op.doc for op in by_arity.values())
    return method


# One method per registry operation and per function name of the language, choosing the
# operation by the number of arguments: x.sin(), x.max(y), y.atan2(x), x.log(), x.log(b), x.ln().
_METHODS: dict[str, dict[int, Op]] = {op.name: {op.arity: op} for op in OPERATIONS}
for _name, _by_arity in FUNCTIONS.items():
    _METHODS.setdefault(_name, {}).update(_by_arity)
for _name, _by_arity in _METHODS.items():
    if not hasattr(Scalar, _name):
        setattr(Scalar, _name, _method(_name, _by_arity))

SCALAR: Any = algebra(lambda op: lambda *args: Scalar.apply(op, *args))

_ABS = FUNCTIONS["abs"][1]


def _value(other: Scalar | Number) -> float:
    return other.data if isinstance(other, Scalar) else float(other)
"""The Scalar algebra: derivative rules evaluated to graph nodes (derivatives of derivatives)."""


def _reverse(order: list[Scalar], seed: float, create_graph: bool) -> None:
    """The chain rule, from the last node of ``order`` (inputs first) back to the first:
    each node's adjoint d(last)/d(node) is summed in its ``_adjoint`` slot, arguments left
    to right.  The local derivatives come from the registry's rules in the float algebra,
    or, with ``create_graph``, in the Scalar algebra, so that the adjoints are Scalars that
    can be differentiated again.  A sum starts with its first term (for floats the same
    bits as starting at -0.0, the exact identity of addition; for Scalars no extra node).
    """
    for node in order:
        node._adjoint = None
    order[-1]._adjoint = seed
    for node in reversed(order):
        op = node.op
        if op is None:
            continue
        adjoint = node._adjoint
        if create_graph:
            args: Any = node.inputs
            out: Any = node
            m = SCALAR
        else:
            args, out, m = [a.data for a in node.inputs], node.data, FLOAT
        for rule, arg in zip(op.partials, node.inputs):
            if arg.requires_grad:
                term = adjoint * rule(m, *args, out)
                before = arg._adjoint
                arg._adjoint = term if before is None else before + term


def gradients(output: Scalar, inputs: Sequence[Scalar], *, grad_output: float = 1.0,
              create_graph: bool = False) -> list[Any]:
    """d(output)/d(input) for each input, times ``grad_output``, without touching any
    ``grad`` (as ``torch.autograd.grad``): floats, or with ``create_graph`` Scalars that
    remember how they were computed, to differentiate again (Hessians).  An input that
    ``output`` does not depend on gets 0.0.  The options are keywords only: the third
    positional argument of ``torch.autograd.grad`` is its ``grad_outputs``.
    """
    if not isinstance(output, Scalar):
        raise TypeError(f"gradients() differentiates a Scalar, not {type(output).__name__} "
                        f"{output!r}")
    inputs = list(inputs)
    for item in inputs:
        if not isinstance(item, Scalar):
            raise TypeError(f"gradients() takes the inputs as Scalars, not {type(item).__name__} "
                            f"{item!r}")
    order = output.topological_order()
    if not order:
        return [0.0] * len(inputs)
    _reverse(order, float(grad_output), create_graph)
    # Only the nodes of this sweep hold its adjoints: another input's slot may still hold
    # one from an earlier backward() through some other graph.
    swept = {id(node) for node in order}
    found = [x._adjoint if id(x) in swept else 0.0 for x in inputs]
    for node in order:  # the slots would keep the gradient graph alive, in a cycle
        node._adjoint = None
    return found
