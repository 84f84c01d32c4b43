"""The compiled form as data: a tape of equations, forward and reverse, that emitters print.

For ``sin(x)+x*y`` with respect to x and y the tape is, in effect::

    forward:  t2 = sin(v0);  t3 = mul(v0, v1);  t4 = add(t2, t3)
    reverse:  g0 = add(v1, cos(v0))          # x's adjoint: y from x*y, then cos(x) from sin(x)
    output t4, adjoints (g0, k5)             # k5 is the constant 1.0: d/dy is y's use in x*y

Each equation is a target name and a term: a name, or a registry operation applied to
terms (a small tree, so that an emitter can print it as one line).  Every name is one we
made: ``v0`` (the variables, in the program's order), ``t3`` (the value of AST node 3 in
evaluation order), ``g3`` (that node's adjoint), ``k7`` (a constant, whose value is in
:attr:`Tape.constants`).  Nothing the user typed is ever part of a tape.

The forward equations follow the AST's evaluation order; the reverse sweep has one adjoint
per node and takes every local derivative from the registry's rules, evaluated in a *tape
algebra* whose values are terms.  The adjoints are summed in the same order as
:meth:`Scalar.backward`, so every emitter computes what the Scalar graph computes, bit for
bit (the NumPy flavour to NumPy's rounding).  Subexpressions are shared already in the AST
(the parser hash-conses them); subexpressions without variables fold to constants here,
with the same forward functions, and only identities that are exact in IEEE arithmetic are
applied (``x*1 = x``, ``x^1 = x``, ``-(-x) = x``, ``x^2 = x*x`` as the forward function has
it, ``zmul(c, x) = c*x`` for finite ``c != 0``, ``a + (-b) = a - b``, and the derivative of
``x^c`` for a constant ``c`` whose ``c - 1`` is exact: ``c*x^(c-1)``).

Renaming and pruning (what the descent loop needs: the tape evaluated at another point,
and only the forward equations that the gradient reads) work on this data:
:func:`needed` and the emitters' ``rename``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Union

from .. import expr as ast
from ..errors import LimitError
from ..ops import OPS, Arithmetic, Op, algebra, exact_minus_one


@dataclass(frozen=True, slots=True, eq=False)
class Call:
    """A registry operation applied to terms."""

    op: Op
    args: tuple[Term, ...]


Term = Union[str, Call]
"""A name we made (``v0``, ``t3``, ``g3``, ``k7``), or an operation applied to terms."""


@dataclass(frozen=True, slots=True)
class Eq:
    """``target = value``: one line of straight-line code."""

    target: str
    value: Term


@dataclass(frozen=True, slots=True)
class Kink:
    """An operation with a kink that depends on a differentiated variable, and its arguments:
    where the registry's ``kink`` test says it is exactly at its kink, the derivative is a
    convention."""

    node: ast.Apply
    test: Callable[..., Any]
    """The registry's ``kink`` test of the node's operation."""
    args: tuple[str, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Tape:
    """A program's value and gradient as equations."""

    params: tuple[str, ...]
    """One name per variable, in the program's variable order."""
    forward: tuple[Eq, ...]
    reverse: tuple[Eq, ...]
    output: str
    """The name holding the value (a constant's name when the program is constant)."""
    adjoints: tuple[str, ...]
    """The names holding the partial derivatives, one per variable in ``wrt``."""
    constants: dict[str, float]
    """The value of every constant name (``k7``)."""
    rounding: tuple[tuple[str, str], ...] = ()
    """With ``inspect``: (value, adjoint) of every operation that depends on a variable in
    ``wrt`` and that the reverse sweep reaches, in evaluation order: what a rounding-error
    bound sums (:func:`autodiff_cli.check.point.rounding_error`)."""
    kinks: tuple[Kink, ...] = ()
    """With ``inspect``: each operation with a kink that depends on a variable in ``wrt``."""

    def defines(self) -> frozenset[str]:
        """The names the equations assign."""
        return frozenset(eq.target for eq in (*self.forward, *self.reverse))


# ---------------------------------------------------------------- the tape algebra


class _Value(Arithmetic):
    """A value in the tape algebra: a term, and its number when it is a known constant."""

    __slots__ = ("builder", "term", "value")

    def __init__(self, builder: _Builder, term: Term, value: float | None = None) -> None:
        self.builder, self.term, self.value = builder, term, value

    def _apply(self, op: Op, *args: Any) -> _Value:
        return self.builder.apply(op, args)


_MUL, _NEG, _POW, _ZMUL, _ADD, _SUB, _POW_DX = (
    OPS[n] for n in ("mul", "neg", "pow", "zmul", "add", "sub", "pow_dx"))


class _Builder:
    """Makes terms: constants folded and named, exact identities applied."""

    def __init__(self) -> None:
        self.constants: dict[str, float] = {}
        self.algebra: Any = algebra(self._function)

    def constant(self, value: float) -> str:
        # Every constant is a name whose value the namespace holds: repr(inf) or repr(nan)
        # is no Python literal.
        name = f"k{len(self.constants)}"
        self.constants[name] = float(value)
        return name

    def known(self, value: float) -> _Value:
        return _Value(self, self.constant(value), float(value))

    def _function(self, op: Op) -> Any:
        def apply(*args: Any) -> _Value:
            return self.apply(op, args)
        return apply

    def apply(self, op: Op, args: Sequence[Any]) -> _Value:
        """``op(args)`` as a term; constant arguments fold now, with the same forward function."""
        values = [a if isinstance(a, _Value) else self.known(a) for a in args]
        numbers = [v.value for v in values]
        if all(n is not None for n in numbers):
            return self.known(op.forward(*numbers))
        if op is _MUL and numbers[1] == 1.0:
            return values[0]
        if op is _MUL and numbers[0] == 1.0:
            return values[1]
        if op is _POW and numbers[1] == 1.0:
            return values[0]
        if op is _POW and numbers[1] == 2.0:  # as the forward function computes it
            return self.apply(_MUL, (values[0], values[0]))
        if op is _ZMUL and any(n is not None and n != 0.0 and math.isfinite(n) for n in numbers):
            return self.apply(_MUL, values)  # a finite nonzero factor: a product
        exponent = numbers[1] if op is _POW_DX else None
        if exponent is not None and math.isfinite(exponent) and exact_minus_one(exponent):
            # y*x^(y-1) for a constant y whose y - 1 is exact, as the forward function computes it
            return self.apply(_ZMUL, (values[1], self.apply(_POW, (values[0], self.known(exponent - 1.0)))))
        inner = values[0].term
        if op is _NEG and isinstance(inner, Call) and inner.op is _NEG and isinstance(inner.args[0], str):
            return _Value(self, inner.args[0])
        return _Value(self, Call(op, tuple(v.term for v in values)))

    def product(self, adjoint: str | float, partial: Any) -> Term | float:
        """``adjoint * partial`` exactly as Scalar.backward computes it, with exact shortcuts
        (``x * 1.0 == x``, ``x * -1.0 == -x``); two numbers multiply now."""
        if isinstance(partial, _Value) and partial.value is not None:
            partial = partial.value
        if not isinstance(partial, _Value):
            value = float(partial)
            if isinstance(adjoint, float):
                return adjoint * value
            if value == 1.0:
                return adjoint
            if value == -1.0:
                return Call(_NEG, (adjoint,))
            return Call(_MUL, (adjoint, self.constant(value)))
        if isinstance(adjoint, float):
            if adjoint == 1.0:
                return partial.term
            if adjoint == -1.0:
                return Call(_NEG, (partial.term,))
            return Call(_MUL, (self.constant(adjoint), partial.term))
        return Call(_MUL, (adjoint, partial.term))


# ---------------------------------------------------------------- building a tape


MAX_COMPILED_NODES = 150_000
"""The largest program compiled to straight-line code (checks, descents, plots, fits).

CPython's compiler holds the syntax tree of what it compiles, about 3.3 KB a line while it
runs, and a program's value-and-gradient function is one or two lines a node: 7.6 KB a node
at the peak for a chain (4.5 for a sum), 11 KB for the NumPy flavour a check uses.  A 4 MB
expression (940,000 nodes) took more than 6 GB before it was stopped.  150,000 nodes keep
that near 1-2 GB, and take in the 100,000-node benchmarks.  ``adcli grad``, ``graph`` and
``hessian`` do not compile.  A Python caller may raise it before compiling."""


def build_tape(program: ast.Program, wrt: Sequence[str], inspect: bool = False) -> Tape:
    """The forward and reverse equations of ``program``; with ``inspect``, also what a
    gradient check reads (``Tape.rounding`` and ``Tape.kinks``).

    Raises:
        LimitError: the program has more than :data:`MAX_COMPILED_NODES` nodes.
    """
    builder = _Builder()
    m = builder.algebra
    order = ast.postorder(program.result)
    if len(order) > MAX_COMPILED_NODES:
        raise LimitError(
            f"the program has {len(order):,} nodes, too many to compile: the limit is "
            f"{MAX_COMPILED_NODES:,} (MAX_COMPILED_NODES in autodiff_cli.engine.tape), as CPython's "
            "compiler takes some 3 to 11 KB a node while it runs; grad, graph and hessian work "
            "on larger programs without compiling them")
    position = {id(node): i for i, node in enumerate(order)}
    params = tuple(f"v{i}" for i in range(len(program.variables)))
    param_of = dict(zip(program.variables, params))
    needs_grad = ast.depends_on(order, wrt)

    name: dict[int, str] = {}
    constant: dict[int, float] = {}
    forward: list[Eq] = []
    for index, node in enumerate(order):
        key = id(node)
        if isinstance(node, ast.Var):
            name[key] = param_of[node.name]
        elif isinstance(node, (ast.Num, ast.Const)):
            constant[key] = node.value
            name[key] = builder.constant(node.value)
        elif all(id(a) in constant for a in node.args):
            # No variable below: fold now, with the same forward function as the Scalar graph.
            constant[key] = node.op.forward(*[constant[id(a)] for a in node.args])
            name[key] = builder.constant(constant[key])
        else:
            name[key] = f"t{index}"
            args = [_Value(builder, name[id(a)], constant.get(id(a))) for a in node.args]
            forward.append(Eq(f"t{index}", builder.apply(node.op, args).term))
    output = name[id(program.result)]

    # Reverse sweep, in the order of Scalar.backward: nodes last-to-first, arguments left to
    # right.  An adjoint is a name, or a number while it is still a known constant (the seed).
    adjoint: dict[int, str | float] = {id(program.result): 1.0}
    reverse: list[Eq] = []
    for node in reversed(order):
        if not isinstance(node, ast.Apply) or id(node) not in adjoint:
            continue
        g = adjoint[id(node)]
        values = [_Value(builder, name[id(a)], constant.get(id(a))) for a in node.args]
        out = _Value(builder, name[id(node)], constant.get(id(node)))
        for rule, arg in zip(node.op.partials, node.args):
            if id(arg) not in needs_grad:
                continue
            term = builder.product(g, rule(m, *values, out))
            known = adjoint.get(id(arg))
            target = f"g{position[id(arg)]}"
            if known is None:
                if isinstance(term, (float, str)):
                    adjoint[id(arg)] = term  # a number, or the same value under another name
                    continue
                reverse.append(Eq(target, term))
            elif isinstance(known, float) and isinstance(term, float):
                adjoint[id(arg)] = known + term
                continue
            else:
                left = known if isinstance(known, str) else builder.constant(known)
                right = term if not isinstance(term, float) else builder.constant(term)
                if isinstance(right, Call) and right.op is _NEG and isinstance(right.args[0], str):
                    reverse.append(Eq(target, Call(_SUB, (left, right.args[0]))))  # a + (-b) is a - b
                else:
                    reverse.append(Eq(target, Call(_ADD, (left, right))))
            adjoint[id(arg)] = target

    var_ids = {n.name: id(n) for n in order if isinstance(n, ast.Var)}
    grads: list[str] = []
    for variable in wrt:
        found = adjoint.get(var_ids.get(variable, -1), 0.0)
        grads.append(found if isinstance(found, str) else builder.constant(found))
    rounding: list[tuple[str, str]] = []
    kinks: list[Kink] = []
    for node in order if inspect else ():
        if not isinstance(node, ast.Apply) or id(node) not in needs_grad:
            continue
        if id(node) in adjoint:
            found = adjoint[id(node)]
            rounding.append((name[id(node)], found if isinstance(found, str) else builder.constant(found)))
        if node.op.kink is not None:
            kinks.append(Kink(node, node.op.kink, tuple(name[id(a)] for a in node.args)))
    return Tape(params, tuple(forward), tuple(reverse), output, tuple(grads), builder.constants,
                tuple(rounding), tuple(kinks))


@functools.lru_cache(maxsize=16)
def tape_of(program: ast.Program, wrt: tuple[str, ...], inspect: bool = False) -> Tape:
    """:func:`build_tape`, once per program (by identity; programs are immutable) and ``wrt``."""
    return build_tape(program, wrt, inspect)


# ---------------------------------------------------------------- queries on equations


def names_in(term: Term) -> Iterator[str]:
    """Every name a term reads (iteratively: terms are small, but need not be)."""
    stack: list[Term] = [term]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        else:
            stack.extend(item.args)


def needed(equations: Sequence[Eq], uses: Iterable[str]) -> list[Eq]:
    """The equations whose targets ``uses`` read, directly or through each other, in order."""
    wanted = set(uses)
    kept: list[Eq] = []
    for eq in reversed(equations):
        if eq.target in wanted:
            kept.append(eq)
            wanted.update(names_in(eq.value))
    return kept[::-1]


def releases(equations: Sequence[Eq], keep: Iterable[str]) -> list[tuple[str, ...]]:
    """For each equation, the targets that it is the last to read (in order), other than
    ``keep`` (what the code returns): after that line nothing needs them.  Arrays emitters
    delete them there, so that the memory a call holds is the values still to be read,
    not every intermediate array at once."""
    defined = {eq.target for eq in equations}
    last: dict[str, int] = {}
    for i, eq in enumerate(equations):
        for name in names_in(eq.value):
            if name in defined:
                last[name] = i
    kept = set(keep)
    after: list[list[str]] = [[] for _ in equations]
    for name, i in last.items():
        if name not in kept:
            after[i].append(name)
    for i, eq in enumerate(equations):  # a target nothing reads is released where it is made
        if eq.target not in last and eq.target not in kept:
            after[i].append(eq.target)
    return [tuple(names) for names in after]

