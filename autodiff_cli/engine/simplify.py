"""Canonical expressions: a :class:`Builder` that simplifies as it builds, and the symbolic
algebra :class:`Sym` over its nodes, in which the registry's derivative rules are evaluated
(:mod:`~autodiff_cli.engine.symbolic`).

The builder's smart constructor folds constants and removes ``x*1``, ``x+0``, ``x^1``,
``0*x``, ``x-x``, ``-(-x)``; it collects ``2*x + 3*x`` and ``x*x``, and hash-conses
structurally equal nodes, so that a repeated subexpression is one node that the printer
can name once.

The other helpers of the rules (``sech2``, ``pow_dx``, ...), which keep digits at
the edges, are built here as their ``expansion``, in the language's operations
(``1 - tanh(x)^2``, ``y*x^(y - 1)``).  One is kept: ``zmul`` ("a*b, but 0 when a
factor is 0"), which the expansions of ``pow``'s helpers use.  It becomes plain
multiplication whenever that is exact (its first factor a nonzero constant, or
its second a finite constant); otherwise it stays in the derivative's tree and
is *printed* as multiplication, since the language cannot spell it.  At a point
where the first factor is 0 and the second is infinite or nan (``d/dx x^y`` at
``x = 0, y = 0``) the printed form then gives nan where adcli's own autodiff
gives 0.  For a constant base 0 it folds instead: ``d/dy 0^y`` is ``0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, TypeGuard, Union

from .. import expr as ast
from ..expr import Apply, Const, Expr, Num, Var
from ..ops import OPS, Arithmetic, Op, algebra

_MAX_REWRITE_DEPTH = 8
"""How deeply one construction may rewrite into further constructions.

A rewrite may reach into its operands (a coefficient moves to the front of a
long product: ``a*b*c*(2*u)`` is ``2*a*b*c*u``).  This bounds how far, so that
one construction costs O(1) and the Python stack stays shallow whatever the
shape of the operands; past the bound a node is kept as built, which is
correct, only less simplified.
"""

MAX_DIFF_NODES = 500_000
"""The most nodes a :class:`Builder` makes: the program's canonical copy and its derivatives.

Each order of a derivative is typically several times the size of the one before (the
20th derivative of ``tan(x)`` would have billions of nodes; the 14th has 84,000, the 16th
586,000), while a first derivative is a few times the program's size (2.5 times for the
100,000-node benchmarks, so programs of some 200,000 nodes are differentiated).  Half a
million nodes take about 8 s to make, and print as some 5 MB of text; past it the builder
stops, as it grows, and :func:`~autodiff_cli.engine.symbolic.differentiate` says where (a
:class:`~autodiff_cli.errors.LimitError`).  A Python caller may raise it before
differentiating."""


class _TooLarge(Exception):
    """The builder reached its limit on nodes."""


_ADD, _SUB, _MUL, _DIV, _NEG, _POW, _ZMUL = (
    OPS["add"], OPS["sub"], OPS["mul"], OPS["div"], OPS["neg"], OPS["pow"], OPS["zmul"])


_COMMUTATIVE = (_ADD, _MUL)


def _is(node: Expr, op: Op) -> TypeGuard[Apply]:
    return isinstance(node, Apply) and node.op is op


def _number(node: Expr) -> float | None:
    return node.value if isinstance(node, Num) else None


def _is_integer(value: float) -> bool:
    return math.isfinite(value) and value == math.floor(value)


class Builder:
    """Makes canonical AST nodes: simplified as they are built, equal nodes shared.

    Structural keys are computed bottom-up from the ids of canonical arguments,
    so equality is one dictionary lookup and never a recursive comparison.
    The builder keeps every node it made alive, so those ids stay valid.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._table: dict[tuple[object, ...], Expr] = {}
        self.limit = MAX_DIFF_NODES if limit is None else limit
        """The most nodes this builder makes (checked as each is made)."""
        self._value: dict[int, float] = {}
        """The value of each node that uses no variable."""
        self._depth = 0
        self.algebra: Any = algebra(self._function)
        """The symbolic algebra: registry rules evaluated to :class:`Sym` values."""

    # ------------------------------------------------------------ leaves and raw nodes

    def num(self, value: float) -> Num:
        """The number ``value`` (``-0.0`` is stored as ``0.0``)."""
        value = float(value) + 0.0
        key = ("#", repr(value))
        node = self._table.get(key)
        if node is None:
            node = self._table[key] = Num(value)
            self._value[id(node)] = value
        assert isinstance(node, Num)
        return node

    def const(self, name: str, value: float) -> Const:
        key = ("const", name)
        node = self._table.get(key)
        if node is None:
            node = self._table[key] = Const(name, value)
            self._value[id(node)] = value
        assert isinstance(node, Const)
        return node

    def var(self, name: str) -> Var:
        key = ("var", name)
        node = self._table.get(key)
        if node is None:
            node = self._table[key] = Var(name)
        assert isinstance(node, Var)
        return node

    def raw(self, op: Op, args: Sequence[Expr]) -> Expr:
        """``op(args)`` exactly as given (no simplification), shared with any equal node.

        ``b*a`` is found as the ``a*b`` made before (and ``b + a`` as ``a + b``):
        float addition and multiplication are exactly commutative, so sharing
        them changes no value.
        """
        ids = [id(a) for a in args]
        if op in _COMMUTATIVE:
            ids.sort()
        key = (op.name, *ids)
        node = self._table.get(key)
        if node is None:
            if len(self._table) >= self.limit:
                raise _TooLarge
            node = self._table[key] = Apply(op, tuple(args))
            values = [self._value.get(id(a)) for a in args]
            if all(v is not None for v in values):
                self._value[id(node)] = op.forward(*values)
        return node

    def constant_value(self, node: Expr) -> float | None:
        """The value of a node that uses no variable (None if it uses one)."""
        return self._value.get(id(node))

    # ------------------------------------------------------------ the smart constructor

    def apply(self, op: Op, args: Sequence[Expr]) -> Expr:
        """``op(args)``, simplified, shared with any equal node."""
        if self._depth >= _MAX_REWRITE_DEPTH:
            return self.raw(op, args)
        self._depth += 1
        try:
            return self._simplify(op, args)
        finally:
            self._depth -= 1

    def _simplify(self, op: Op, args: Sequence[Expr]) -> Expr:
        numbers = [_number(a) for a in args]
        if op.spellings and op is not _POW:  # a function of constants: log(e) is 1
            numbers = [self.constant_value(a) if isinstance(a, (Num, Const)) else None for a in args]
        if all(v is not None for v in numbers):
            folded = op.forward(*numbers)
            # A non-finite result cannot be written in the language: keep the operation.
            if math.isfinite(folded):
                return self.num(folded)
            return self.raw(op, args)
        if op in (_ADD, _SUB, _MUL, _DIV) and not all(self._ordinary(a) for a in args):
            return self._opaque(op, args)  # (zmul's zero wins over inf and nan by design)
        rewrite = self._rewrites.get(op.name)
        if rewrite is not None:
            return rewrite(self, *args)
        return self.raw(op, args)

    def _ordinary(self, node: Expr) -> bool:
        """Whether the rewrites' identities (0*u = 0, u - u = 0, a*(b/c) = (a*b)/c, ...) hold for
        ``node``: it uses a variable, or its constant value is finite."""
        value = self._value.get(id(node))
        return value is None or math.isfinite(value)

    def _opaque(self, op: Op, args: Sequence[Expr]) -> Expr:
        """``op`` over a non-finite constant (``0/0``, ``1/0``): only the identities that hold for
        inf and nan too (1*u, u/1, u + 0, u - 0), so that x*(0/0) keeps its x and its nan."""
        numbers = [_number(a) for a in args]
        if op is _MUL and 1.0 in numbers:
            return args[1] if numbers[0] == 1.0 else args[0]
        if op is _DIV and numbers[1] == 1.0:
            return args[0]
        if op is _ADD and 0.0 in numbers:
            return args[1] if numbers[0] == 0.0 else args[0]
        if op is _SUB and numbers[1] == 0.0:
            return args[0]
        return self.raw(op, args)

    # shorthands used by the rewrites
    def _add(self, a: Expr, b: Expr) -> Expr:
        return self.apply(_ADD, (a, b))

    def _sub(self, a: Expr, b: Expr) -> Expr:
        return self.apply(_SUB, (a, b))

    def _mul(self, a: Expr, b: Expr) -> Expr:
        return self.apply(_MUL, (a, b))

    def _div(self, a: Expr, b: Expr) -> Expr:
        return self.apply(_DIV, (a, b))

    def _neg(self, a: Expr) -> Expr:
        return self.apply(_NEG, (a,))

    def _pow(self, a: Expr, b: Expr) -> Expr:
        return self.apply(_POW, (a, b))

    # -- terms c*u and factors u^p

    def _term(self, node: Expr) -> tuple[float, Expr | None]:
        """``node`` as coefficient times rest.

        ``3*x`` is (3, x), ``3*x*y`` is (3, x*y), ``-x`` is (-1, x), ``2`` is (2, None).
        """
        if isinstance(node, Num):
            return node.value, None
        if isinstance(node, Apply):
            if node.op is _MUL:
                first, second = node.args
                if isinstance(first, Num):
                    return first.value, second
                if _is(first, _MUL) and isinstance(first.args[0], Num):
                    return first.args[0].value, self._mul(first.args[1], second)
            if node.op is _NEG:
                return -1.0, node.args[0]
        return 1.0, node

    def _scaled(self, c: float, rest: Expr) -> Expr:
        """``c*rest``, written as ``rest``, ``-rest`` or ``0`` when it can be."""
        if c == 0.0:
            return self.num(0.0)
        if c == 1.0:
            return rest
        if c == -1.0:
            return self._neg(rest)
        if not math.isfinite(c):
            return self.raw(_MUL, (self.num(c), rest))
        return self._mul(self.num(c), rest)

    def _like(self, a: Expr, b: Expr) -> bool:
        """Whether ``a`` and ``b`` are multiples of the same non-constant term."""
        rest = self._term(a)[1]
        return rest is not None and rest is self._term(b)[1]

    @staticmethod
    def _factor(node: Expr) -> tuple[Expr, float]:
        """``node`` as base to a numeric power: ``x^3`` is (x, 3), ``x`` is (x, 1)."""
        if _is(node, _POW) and isinstance(node.args[1], Num):
            return node.args[0], node.args[1].value
        return node, 1.0

    def _like_factor(self, a: Expr, b: Expr) -> bool:
        return not isinstance(a, Num) and self._factor(a)[0] is self._factor(b)[0]

    def _positive_part(self, node: Expr) -> Expr | None:
        """``p`` when ``node`` is written as ``-p`` (a negation or a negative coefficient)."""
        if isinstance(node, Num):
            return self.num(-node.value) if node.value < 0.0 else None
        if isinstance(node, Apply):
            if node.op is _NEG:
                return node.args[0]
            if node.op is _MUL:
                c, rest = self._term(node)
                return self._scaled(-c, rest) if c < 0.0 and rest is not None else None
            first = node.args[0]
            if node.op is _DIV and isinstance(first, Num) and first.value < 0.0:
                return self._div(self.num(-first.value), node.args[1])
        return None

    # -- one rewrite per arithmetic operation

    def _rewrite_add(self, a: Expr, b: Expr) -> Expr:
        if _number(a) == 0.0:
            return b
        if _number(b) == 0.0:
            return a
        (ca, ra), (cb, rb) = self._term(a), self._term(b)
        if ra is not None and ra is rb:
            return self._scaled(ca + cb, ra)
        positive = self._positive_part(b)
        if positive is not None:
            return self._sub(a, positive)
        positive = self._positive_part(a)
        if positive is not None:
            return self._sub(b, positive)
        if isinstance(a, Apply) and a.op in (_ADD, _SUB):
            u, v = a.args
            if isinstance(b, Num) and isinstance(v, Num):  # (u + 2) + 3 is u + 5
                return self._add(u, self.num(v.value + b.value if a.op is _ADD else b.value - v.value))
            if self._like(v, b):  # (u + 2x) + 3x is u + 5x
                return self.apply(a.op, (u, self._add(v, b) if a.op is _ADD else self._sub(v, b)))
            if self._like(u, b):  # (2x + v) + 3x is 5x + v
                return self.apply(a.op, (self._add(u, b), v))
        return self.raw(_ADD, (a, b))

    def _rewrite_sub(self, a: Expr, b: Expr) -> Expr:
        if _number(b) == 0.0:
            return a
        if _number(a) == 0.0:
            return self._neg(b)
        if a is b:
            return self.num(0.0)
        (ca, ra), (cb, rb) = self._term(a), self._term(b)
        if ra is not None and ra is rb:
            return self._scaled(ca - cb, ra)
        positive = self._positive_part(b)
        if positive is not None:
            return self._add(a, positive)
        if _is(a, _NEG):  # -u - b is -(u + b)
            return self._neg(self._add(a.args[0], b))
        if isinstance(a, Apply) and a.op in (_ADD, _SUB):
            u, v = a.args
            if isinstance(b, Num) and isinstance(v, Num):  # (u + 5) - 3 is u + 2
                return self._add(u, self.num(v.value - b.value if a.op is _ADD else -v.value - b.value))
            if self._like(v, b):
                return self.apply(a.op, (u, self._sub(v, b) if a.op is _ADD else self._add(v, b)))
            if self._like(u, b):
                return self.apply(a.op, (self._sub(u, b), v))
        return self.raw(_SUB, (a, b))

    def _rewrite_neg(self, a: Expr) -> Expr:
        if isinstance(a, Apply):
            if a.op is _NEG:
                return a.args[0]
            if a.op is _MUL and isinstance(a.args[0], Num):
                return self._scaled(-a.args[0].value, a.args[1])
            if a.op is _SUB:  # -(u - v) is v - u
                return self._sub(a.args[1], a.args[0])
            if a.op is _DIV and isinstance(a.args[0], Num):
                return self._div(self.num(-a.args[0].value), a.args[1])
        return self.raw(_NEG, (a,))

    def _rewrite_mul(self, a: Expr, b: Expr) -> Expr:
        na, nb = _number(a), _number(b)
        if na == 0.0 or nb == 0.0:
            return self.num(0.0)
        if nb is not None:  # the number first: x*2 is 2*x
            a, b, na, nb = b, a, nb, na
        if na is not None:
            if na == 1.0:
                return b
            if na == -1.0:
                return self._neg(b)
            if isinstance(b, Apply):
                first = b.args[0]
                if b.op is _MUL and isinstance(first, Num):  # 2*(3*x) is 6*x
                    return self._scaled(na * first.value, b.args[1])
                if b.op is _MUL:  # 2*(u*v) is 2*u*v
                    return self._mul(self._mul(a, first), b.args[1])
                if b.op is _NEG:
                    return self._scaled(-na, b.args[0])
                if b.op is _DIV:  # 2*(3/x) is 6/x, 2*(u/v) is 2*u/v
                    return self._div(self._mul(a, first), b.args[1])
            return self.raw(_MUL, (a, b))
        if _is(a, _NEG):  # (-u)*b is -(u*b)
            return self._neg(self._mul(a.args[0], b))
        if _is(b, _NEG):
            return self._neg(self._mul(a, b.args[0]))
        if self._like_factor(a, b):  # x*x is x^2, x^2*x^3 is x^5
            (base, p), q = self._factor(a), self._factor(b)[1]
            return self._pow(base, self.num(p + q))
        if isinstance(b, Apply):
            first = b.args[0]
            if b.op is _MUL:  # a*(u*v) is a*u*v; a*(2*u) is 2*a*u
                return self._mul(self._mul(a, first), b.args[1])
            if b.op is _DIV:  # a*(u/v) is a*u/v
                return self._div(self._mul(a, first), b.args[1])
        if _is(a, _DIV) and _number(a.args[0]) == 1.0:
            return self._div(b, a.args[1])
        if _is(a, _MUL) and self._like_factor(a.args[1], b):
            return self._mul(a.args[0], self._mul(a.args[1], b))
        return self.raw(_MUL, (a, b))

    def _rewrite_div(self, a: Expr, b: Expr) -> Expr:
        na, nb = _number(a), _number(b)
        if nb == 1.0:
            return a
        if nb == -1.0:
            return self._neg(a)
        if na == 0.0:
            return self.num(0.0)
        if a is b:
            return self.num(1.0)
        if _is(a, _NEG):
            return self._neg(self._div(a.args[0], b))
        if _is(b, _NEG):
            return self._neg(self._div(a, b.args[0]))
        if nb is not None and _is(a, _MUL) and isinstance(a.args[0], Num):
            ratio = a.args[0].value / nb
            if _is_integer(ratio):  # (6*x)/3 is 2*x
                return self._scaled(ratio, a.args[1])
        if self._like_factor(a, b):  # x^3/x is x^2, x/x^3 is 1/x^2
            (base, p), q = self._factor(a), self._factor(b)[1]
            if p >= q:
                return self._pow(base, self.num(p - q))
            return self._div(self.num(1.0), self._pow(base, self.num(q - p)))
        if _is(a, _MUL):
            u, v = a.args
            if v is b:  # (u*v)/v is u
                return u
            if u is b:
                return v
        if _is(b, _DIV) and _number(b.args[0]) == 1.0:
            return self._mul(a, b.args[1])
        if _is(a, _DIV) and self._like_factor(a.args[1], b):
            return self._div(a.args[0], self._mul(a.args[1], b))
        return self.raw(_DIV, (a, b))

    def _rewrite_pow(self, a: Expr, b: Expr) -> Expr:
        nb = _number(b)
        if nb == 1.0:
            return a
        if nb == 0.0 or _number(a) == 1.0:
            return self.num(1.0)
        if nb is not None and _is_integer(nb) and _is(a, _POW):
            inner = _number(a.args[1])
            if inner is not None and _is_integer(inner):  # (x^2)^3 is x^6
                return self._pow(a.args[0], self.num(inner * nb))
        return self.raw(_POW, (a, b))

    def _rewrite_zmul(self, a: Expr, b: Expr) -> Expr:
        # zmul(a, b) is a*b except that a zero factor wins over an infinite or nan other one.
        va, vb = self.constant_value(a), self.constant_value(b)
        if va == 0.0 or vb == 0.0:
            return self.num(0.0)
        if vb is not None and math.isinf(vb) and _is(a, _POW) and self.constant_value(a.args[0]) == 0.0:
            # 0^u*log(0), the derivative of 0^u by u: 0 wherever 0^u is 0 (u > 0), as zmul has
            # it; for u <= 0, 0^u is 1 or inf, a jump and a constant inf with no derivative to print
            return self.num(0.0)
        if (va is not None and math.isfinite(va)) or (vb is not None and math.isfinite(vb)):
            return self._mul(a, b)  # a finite nonzero factor: exactly a product
        return self.raw(_ZMUL, (a, b))

    _rewrites: ClassVar[dict[str, Callable[..., Expr]]] = {
        "add": _rewrite_add, "sub": _rewrite_sub, "neg": _rewrite_neg, "mul": _rewrite_mul,
        "div": _rewrite_div, "pow": _rewrite_pow, "zmul": _rewrite_zmul,
    }

    # ------------------------------------------------------------ whole expressions

    def intern(self, roots: Iterable[Expr]) -> dict[int, Expr]:
        """Canonical (simplified, shared) copies of every node under ``roots``, by ``id``."""
        made: dict[int, Expr] = {}
        for node in ast.postorder(list(roots)):
            if isinstance(node, Apply):
                made[id(node)] = self.apply(node.op, [made[id(a)] for a in node.args])
            elif isinstance(node, Num):
                made[id(node)] = self.num(node.value)
            elif isinstance(node, Const):
                made[id(node)] = self.const(node.name, node.value)
            else:
                made[id(node)] = self.var(node.name)
        return made

    def simplify(self, root: Expr) -> Expr:
        """The canonical, simplified form of ``root``."""
        return self.intern([root])[id(root)]

    # ------------------------------------------------------------ the algebra

    def lift(self, value: Sym | Expr | float) -> Expr:
        if isinstance(value, Sym):
            return value.node
        if isinstance(value, (int, float)):
            return self.num(value)
        return value

    def _function(self, op: Op) -> Callable[..., Sym]:
        expansion = op.expansion

        def make(*args: Sym | float) -> Sym:
            if expansion is not None:  # a helper the language cannot spell: its expansion
                return Sym(self, self.lift(expansion(self.algebra, *args)))
            return Sym(self, self.apply(op, [self.lift(a) for a in args]))

        make.__name__ = op.name
        return make


Operand = Union["Sym", float]


class Sym(Arithmetic):
    """An expression in the symbolic algebra: ``+``, ``-`` and ``*`` build simplified nodes."""

    __slots__ = ("builder", "node")

    def __init__(self, builder: Builder, node: Expr) -> None:
        self.builder = builder
        self.node = node

    def _apply(self, op: Op, *args: Operand) -> Sym:
        return Sym(self.builder, self.builder.apply(op, [self.builder.lift(a) for a in args]))

    def __repr__(self) -> str:
        return f"Sym({self.node!r})"


def simplify(root: Expr) -> Expr:
    """``root`` simplified: constants folded, identities applied, like terms collected."""
    return Builder().simplify(root)
