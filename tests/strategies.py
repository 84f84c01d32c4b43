"""Hypothesis strategies for adcli's tests: random expressions over the public registry ops.

Reusable by any test that needs random input for the language:

* ``expressions()`` draws ``(source_text, variable_names)`` pairs: well-formed
  expressions over every public operation of the registry, written in the
  language's varied syntax (``^`` and ``**`` and ``pow``, ``ln`` and ``log``,
  implicit products such as ``2x`` and ``(a)(b)``), whose operations only ever
  see arguments inside their domains, so values and gradients are finite for
  variables in ``[-POINT_RANGE, POINT_RANGE]`` (``points()`` draws those).
  ``variable_names`` are in order of first appearance, as ``Program.variables``.
* ``trees()`` draws the same expressions as :class:`Tree` values, which keep the
  structure that produced the text (``tree.text``, ``tree.variables``,
  ``fold_tree``), so an oracle can rebuild the expression independently of the
  parser.
* ``programs()`` / ``program_trees()``: multi-statement programs whose named
  intermediates are used several times (shared nodes); ``.inlined`` is one
  equivalent tree for an oracle.
* ``DOMAINS`` is the test-side table of where each operation is smooth: one
  :class:`Domain` per argument, giving numbers inside it (``points``) and a way
  to map any subexpression into it (``guard``).  Its keys are exactly the
  registry's public operation names (tests/test_ops.py checks), so a new
  operation needs one line here.

Kinks (``abs``, ``relu``, ``sign``, ``max``, ``min``) are shifted off the
variables by odd offsets so that typical points do not sit on them; a test
comparing against a smooth oracle should still reject points where
``kink_distance`` is tiny.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from hypothesis import strategies as st

from autodiff_cli.ops import CONSTANTS, FLOAT, OPS, Op

T = TypeVar("T")

POINT_RANGE = 2.0
"""Generated expressions are finite, with finite gradients, for variables in [-2, 2]."""

DEFAULT_VARIABLES = ("x", "y", "z")

KINKS = ("abs", "relu", "sign", "max", "min")
"""Operations whose derivative is a convention at some points (PyTorch's)."""


# ---------------------------------------------------------------- trees


@dataclass(frozen=True)
class Tree:
    """A generated expression: a leaf (variable, number literal, constant) or an operation.

    ``spelling`` says how an operation is written: an operator symbol (``"*"``,
    ``"^"``, ``"**"``), ``"implicit"`` for a product by juxtaposition, or a
    function name (``"ln"``, ``"log"``, ``"pow"``).
    """

    kind: str
    """"var", "num", "const" or "op"."""
    name: str
    """The variable's name, the literal's text, the constant's name, or the op's registry name."""
    args: tuple[Tree, ...] = ()
    spelling: str = ""

    @property
    def text(self) -> str:
        return render(self)

    @property
    def variables(self) -> tuple[str, ...]:
        """Variable names in order of first appearance in ``text``."""
        seen: dict[str, None] = {}
        stack = [self]
        while stack:
            node = stack.pop()
            if node.kind == "var":
                seen.setdefault(node.name)
            stack.extend(reversed(node.args))
        return tuple(seen)

    def ops(self) -> set[str]:
        """Registry names of the operations used."""
        found: set[str] = set()
        stack = [self]
        while stack:
            node = stack.pop()
            if node.kind == "op":
                found.add(node.name)
            stack.extend(node.args)
        return found


def var(name: str) -> Tree:
    return Tree("var", name)


def num(text: str) -> Tree:
    return Tree("num", text)


def const(name: str) -> Tree:
    return Tree("const", name)


def op(name: str, *args: Tree, spelling: str = "") -> Tree:
    return Tree("op", name, tuple(args), spelling or _default_spelling(name))


def _default_spelling(name: str) -> str:
    operation = OPS[name]
    if operation.symbol is not None:
        return operation.symbol
    return operation.spellings[0] if operation.spellings else name


def fold_tree(tree: Tree, leaf: Callable[[Tree], T], apply: Callable[[Tree, list[T]], T]) -> T:
    """Evaluate ``tree`` bottom-up (iteratively): ``leaf`` for leaves, ``apply`` for operations."""
    done: list[T] = []
    stack: list[tuple[Tree, bool]] = [(tree, False)]
    while stack:
        node, expanded = stack.pop()
        if node.kind != "op":
            done.append(leaf(node))
        elif not expanded:
            stack.append((node, True))
            stack.extend((arg, False) for arg in reversed(node.args))
        else:
            n = len(node.args)
            args = done[len(done) - n:]
            del done[len(done) - n:]
            done.append(apply(node, args))
    return done[0]


def literal_value(text: str) -> float:
    return float(text)


def evaluate(tree: Tree, point: Mapping[str, float]) -> float:
    """The tree's value in float64 through the registry's forward functions."""

    def leaf(node: Tree) -> float:
        if node.kind == "var":
            return float(point[node.name])
        if node.kind == "const":
            return CONSTANTS[node.name]
        return literal_value(node.name)

    return fold_tree(tree, leaf, lambda node, args: OPS[node.name].forward(*args))


def kink_distance(tree: Tree, point: Mapping[str, float]) -> float:
    """How close the point is to a kink of abs/relu/sign/max/min (inf if there are none)."""
    closest = math.inf
    stack = [tree]
    while stack:
        node = stack.pop()
        stack.extend(node.args)
        if node.kind == "op" and node.name in KINKS:
            values = [evaluate(arg, point) for arg in node.args]
            gap = values[0] - values[1] if len(values) == 2 else values[0]
            closest = min(closest, abs(gap))
    return closest


# ---------------------------------------------------------------- text


def _is_group(text: str) -> bool:
    """True if ``text`` is one parenthesised group, such as "(a+b)" but not "(a)+(b)"."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(text) - 1:
            return False
    return True


def _wrap(tree: Tree, text: str) -> str:
    return text if tree.kind != "op" or _is_group(text) else f"({text})"


def _juxtaposable(left: Tree, right: Tree) -> bool:
    """Juxtaposition is a product only after a number (2x, 2(x+1)) or between two groups; a
    number then e or E reads as a number missing its exponent's digits (1e), an error."""
    if left.kind == "num":
        return right.kind != "num" and right.name not in ("e", "E")
    return left.kind == "op" and right.kind == "op"


def render(tree: Tree) -> str:
    """The tree as source text in the adcli language."""

    def leaf(node: Tree) -> str:
        return node.name

    def apply(node: Tree, args: list[str]) -> str:
        operation = OPS[node.name]
        spelling = node.spelling
        if node.name == "neg":
            return f"-{_wrap(node.args[0], args[0])}"
        left, right = node.args if len(node.args) == 2 else (node, node)
        if spelling == "implicit" and not _juxtaposable(left, right):
            spelling = "*"
        if spelling == "implicit":  # 2x, 3sin(x), 2(x+1), (x+1)(x-1)
            # After a number, a name or a call stays bare; after a group, only a group may follow.
            bare = right.kind != "op" or (left.kind == "num" and OPS[right.name].symbol is None)
            right_text = args[1] if bare else _wrap(right, args[1])
            return f"{_wrap(left, args[0])}{right_text}"
        if operation.symbol is not None and spelling in (operation.symbol, "**"):
            a, b = (_wrap(t, s) for t, s in zip(node.args, args))
            return f"{a} {spelling} {b}" if spelling in ("+", "-") else f"{a}{spelling}{b}"
        return f"{spelling}({', '.join(args)})"

    return fold_tree(tree, leaf, apply)


# ---------------------------------------------------------------- domains

Draw = Callable[[st.SearchStrategy[Any]], Any]
Guard = Callable[[Draw, Tree], Tree]


@dataclass(frozen=True)
class Domain:
    """Where one argument of an operation is smooth and finite."""

    points: st.SearchStrategy[float]
    """Numbers inside the domain, for pointwise tests of the operation."""
    guard: Guard
    """Maps any generated subexpression into the domain."""
    example: float
    """One typical number inside the domain, for fixed-point tests."""


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def _away_from_zero(low: float, high: float) -> st.SearchStrategy[float]:
    return st.one_of(_floats(low, high), _floats(-high, -low))


_NUMBERS = ("1", "2", "3", "0.5", ".5", "1.5", "2.5", "0.25", "1e-1", "2.5E+0", "1e0")
"""Literal spellings, all in the language's number syntax, all exact-ish decimals."""

_SQUASHES = ("sin", "cos", "tanh", "atan")
"""Bounded functions (|f| < 1.6) used to keep arguments small."""

_OFFSETS = ("0.3183", "0.2718", "0.1414")
"""Odd shifts that move kinks off the simple values hypothesis likes (0, 1, 0.5)."""


def _identity(draw: Draw, tree: Tree) -> Tree:
    return tree


def _positive(low: float) -> Guard:
    """``c + e^2`` with c >= low: positive and at least ``low`` whatever e is."""
    literals = [t for t in _NUMBERS if float(t) >= low]

    def guard(draw: Draw, tree: Tree) -> Tree:
        exponent = draw(st.sampled_from(["^", "**", "pow"]))
        square = op("pow", tree, num("2"), spelling=exponent)
        return op("add", num(draw(st.sampled_from(literals))), square)

    return guard


def _nonzero(draw: Draw, tree: Tree) -> Tree:
    """``c + e^2`` or ``-(c + e^2)``: never near zero."""
    positive = _positive(0.5)(draw, tree)
    return op("neg", positive) if draw(st.booleans()) else positive


def _bounded(scale: Sequence[str]) -> Guard:
    """``k * squash(e)``: within ``max(k) * pi/2`` of zero whatever e is."""

    def guard(draw: Draw, tree: Tree) -> Tree:
        squashed = op(draw(st.sampled_from(_SQUASHES)), tree)
        k = draw(st.sampled_from(scale))
        return op("mul", num(k), squashed, spelling=draw(st.sampled_from(["*", "implicit"])))

    return guard


def _unit(draw: Draw, tree: Tree) -> Tree:
    """``0.5 * squash(e)``: inside (-0.8, 0.8), away from the +-1 singularities."""
    return _bounded(["0.5"])(draw, tree)


def _shifted(draw: Draw, tree: Tree) -> Tree:
    """``e + offset``: moves a kink off the points hypothesis favours."""
    offset = num(draw(st.sampled_from(_OFFSETS)))
    return op("sub", tree, offset) if draw(st.booleans()) else op("add", tree, offset)


REAL = Domain(_floats(-10.0, 10.0), _identity, 0.7)
"""Any real number."""
NONZERO = Domain(_away_from_zero(0.1, 10.0), _nonzero, -1.3)
POSITIVE = Domain(_floats(0.1, 100.0), _positive(0.25), 2.2)
ABOVE_ONE = Domain(_floats(1.1, 10.0), _positive(1.5), 1.7)
UNIT = Domain(_floats(-0.95, 0.95), _unit, 0.3)
"""Inside (-1, 1), for asin, acos, atanh."""
TAN = Domain(_floats(-1.3, 1.3), _bounded(["0.5"]), 1.1)
"""Within a branch of tan."""
GROWTH = Domain(_floats(-10.0, 10.0), _bounded(["1", "2", "1.5"]), -1.4)
"""Arguments of exp, sinh, cosh: bounded so that nesting cannot overflow."""
EXPONENT = Domain(_floats(-3.0, 3.0), _bounded(["1", "1.5"]), -0.6)
BASE = Domain(st.one_of(_floats(0.1, 0.7), _floats(1.5, 10.0)), _positive(1.5), 3.0)
"""The base of a logarithm: positive, away from 1."""
KINK = Domain(_away_from_zero(0.05, 10.0), _shifted, -0.8)
"""Argument of abs, relu, sign: sampled away from the kink at 0."""
EDGE = Domain(_floats(-5.0, 5.0), _shifted, 0.2)
"""Second argument of max and min: the tie with the first is rare; ties split 1/2 and 1/2."""
SMOOTH = Domain(_floats(-20.0, 20.0), _identity, 1.9)
"""sigmoid, softplus, tanh, ...: fine on the whole line."""

DOMAINS: dict[str, tuple[Domain, ...]] = {
    "add": (REAL, REAL),
    "sub": (REAL, REAL),
    "mul": (REAL, REAL),
    "div": (REAL, NONZERO),
    "neg": (REAL,),
    "pow": (POSITIVE, EXPONENT),
    "sin": (REAL,),
    "cos": (REAL,),
    "tan": (TAN,),
    "asin": (UNIT,),
    "acos": (UNIT,),
    "atan": (REAL,),
    "atan2": (NONZERO, REAL),
    "sinh": (GROWTH,),
    "cosh": (GROWTH,),
    "tanh": (SMOOTH,),
    "asinh": (REAL,),
    "acosh": (ABOVE_ONE,),
    "atanh": (UNIT,),
    "exp": (GROWTH,),
    "log": (POSITIVE,),
    "log2": (POSITIVE,),
    "log10": (POSITIVE,),
    "log_base": (POSITIVE, BASE),
    "sqrt": (POSITIVE,),
    "cbrt": (NONZERO,),
    "hypot": (REAL, NONZERO),
    "abs": (KINK,),
    "sign": (KINK,),
    "relu": (KINK,),
    "max": (REAL, EDGE),
    "min": (REAL, EDGE),
    "sigmoid": (SMOOTH,),
    "softplus": (SMOOTH,),
    "erf": (REAL,),
}
"""Per public operation, one Domain per argument (keys checked against the registry)."""


# ---------------------------------------------------------------- strategies


def _leaves(variables: Sequence[str]) -> st.SearchStrategy[Tree]:
    # Mostly variables (an expression without any has no gradient to test), then numbers
    # and constants; variables first, so that examples shrink towards them.
    others = [num(text) for text in _NUMBERS] + [const(name) for name in sorted(CONSTANTS)]
    names = [var(name) for name in variables] * max(1, (2 * len(others)) // max(1, len(variables)))
    return st.sampled_from(names + others)


def _spellings(name: str) -> list[str]:
    operation = OPS[name]
    if name == "pow":
        return ["^", "**", "pow"]
    if name == "mul":
        return ["*", "implicit"]
    if operation.symbol is not None:
        return [operation.symbol]
    return list(operation.spellings)


def _apply(draw: Draw, name: str, children: st.SearchStrategy[Tree]) -> Tree:
    args = [domain.guard(draw, draw(children)) for domain in DOMAINS[name]]
    return op(name, *args, spelling=draw(st.sampled_from(_spellings(name))))


def trees(variables: Sequence[str] = DEFAULT_VARIABLES, max_leaves: int = 6,
          ops: Sequence[str] | None = None) -> st.SearchStrategy[Tree]:
    """Random expression trees over the public ops (or ``ops``), with domain-safe arguments."""
    names = sorted(DOMAINS) if ops is None else list(ops)

    def extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
        @st.composite
        def applied(draw: Draw) -> Tree:
            return _apply(draw, draw(st.sampled_from(names)), children)

        return applied()

    return st.recursive(_leaves(variables), extend, max_leaves=max_leaves)


def expressions(variables: Sequence[str] = DEFAULT_VARIABLES, max_leaves: int = 6,
                ops: Sequence[str] | None = None) -> st.SearchStrategy[tuple[str, tuple[str, ...]]]:
    """``(source_text, variable_names)``: a random well-formed expression and its variables."""
    return trees(variables, max_leaves, ops).map(lambda tree: (tree.text, tree.variables))


@dataclass(frozen=True)
class ProgramTree:
    """A generated program: named intermediates, then the result expression."""

    bindings: tuple[tuple[str, Tree], ...]
    result: Tree
    separator: str = "\n"

    @property
    def text(self) -> str:
        lines = [f"{name} = {tree.text}" for name, tree in self.bindings] + [self.result.text]
        return self.separator.join(lines)

    @property
    def inlined(self) -> Tree:
        """One tree computing the same thing, each name replaced by its definition."""
        done: dict[str, Tree] = {}

        def leaf(node: Tree) -> Tree:
            return done.get(node.name, node) if node.kind == "var" else node

        def apply(node: Tree, args: list[Tree]) -> Tree:
            return Tree("op", node.name, tuple(args), node.spelling)

        for name, tree in self.bindings:
            done[name] = fold_tree(tree, leaf, apply)
        return fold_tree(self.result, leaf, apply)

    @property
    def variables(self) -> tuple[str, ...]:
        """Free variables the result depends on, in order of first appearance in ``text``."""
        bound = {name for name, _ in self.bindings}
        used = set(self.inlined.variables)
        order: dict[str, None] = {}
        for tree in [*(t for _, t in self.bindings), self.result]:
            for name in tree.variables:
                if name not in bound and name in used:
                    order.setdefault(name)
        return tuple(order)


@st.composite
def program_trees(draw: Draw, variables: Sequence[str] = DEFAULT_VARIABLES, max_statements: int = 3,
                  max_leaves: int = 5) -> ProgramTree:
    """Programs of up to ``max_statements`` statements: ``t0 = ...``, ``t1 = ...``, result.

    Later statements use earlier names as leaves, often more than once, so the
    parsed graph has shared nodes.  Each intermediate is ``2*tanh(...)`` of a
    random tree, which keeps values bounded however the statements chain.
    """
    count = draw(st.integers(1, max_statements))
    bindings: list[tuple[str, Tree]] = []
    for i in range(count - 1):
        pool = [*variables, *(name for name, _ in bindings)]
        tree = draw(trees(pool, max_leaves))
        bindings.append((f"t{i}", op("mul", num("2"), op("tanh", tree), spelling="implicit")))
    pool = [*variables, *(name for name, _ in bindings)]
    result = draw(trees(pool, max_leaves))
    return ProgramTree(tuple(bindings), result, draw(st.sampled_from(["\n", "; ", ";\n# note\n"])))


def programs(variables: Sequence[str] = DEFAULT_VARIABLES, max_statements: int = 3,
             max_leaves: int = 5) -> st.SearchStrategy[tuple[str, tuple[str, ...]]]:
    """``(source_text, variable_names)`` for a random multi-statement program with shared names."""
    return program_trees(variables, max_statements, max_leaves).map(lambda p: (p.text, p.variables))


def points(names: Sequence[str], bound: float = POINT_RANGE) -> st.SearchStrategy[dict[str, float]]:
    """Values for ``names`` in [-bound, bound]."""
    return st.fixed_dictionaries({name: _floats(-bound, bound) for name in names})


def junk(max_size: int = 30) -> st.SearchStrategy[str]:
    """Text that is mostly not in the language, made of pieces that are."""
    pieces = st.sampled_from([
        *"xyz0123456789.eE+-*/^(),;=#\n\t _@!$θ", "**", "sin", "log", "max", "pi", "f(", "relu",
        "1e", "1e-", "--", ")(", "x=", "sqrt(", "atan2(", "# c\n",
    ])
    return st.one_of(st.lists(pieces, max_size=max_size).map("".join), st.text(max_size=max_size))


# ---------------------------------------------------------------- smooth expressions, for gradient checks

_UNARY = ("sin({})", "cos({})", "tanh({})", "atan({})", "sigmoid({})", "softplus({})", "erf({})",
          "exp(sin({}))", "log(1 + ({})^2)", "sqrt(1 + ({})^2)", "exp(-({})^2)", "asinh({})",
          "cosh(tanh({}))", "atanh(tanh({})/2)")
_BINARY = ("({}) + ({})", "({}) - ({})", "({}) * ({})", "({}) / (1 + ({})^2)",
           "atan2({}, 2 + ({})^2)", "({}) * exp(tanh({}))", "hypot({}, 1 + ({})^2)",
           "({})^2 + ({})^3")


def smooth_expressions() -> st.SearchStrategy[str]:
    """Smooth expressions in x, y, z: every operation stays inside its domain and away from
    kinks, and values stay moderate, for variables in [-2, 2]."""
    leaf = st.one_of(st.sampled_from(("x", "y", "z")),
                     st.floats(-3, 3, allow_nan=False).map(lambda v: f"({v!r})"))
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(st.sampled_from(_UNARY), inner).map(lambda t: t[0].format(t[1])),
        st.tuples(st.sampled_from(_BINARY), inner, inner).map(lambda t: t[0].format(*t[1:]))),
        max_leaves=10)


def sample_point(op: Op) -> tuple[float, ...]:
    """Arguments where ``op`` is smooth, with a finite, not tiny, partial derivative."""
    candidates: dict[int, list[tuple[float, ...]]] = {
        1: [(0.3,), (0.7,), (1.5,)], 2: [(0.7, 1.3), (1.3, 0.6), (2.0, 3.0)]}
    for args in candidates[op.arity]:
        out = op.forward(*args)
        partials = [rule(FLOAT, *args, out) for rule in op.partials]
        if math.isfinite(out) and all(math.isfinite(p) for p in partials) and not (
                op.kink is not None and op.kink(*args)):
            return args
    raise AssertionError(f"no smooth sample point for {op.name}")
