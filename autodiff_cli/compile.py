"""The AST compiled once into straight-line Python: value and gradient per call, no graph.

For ``sin(x)+x*y`` with respect to x and y the generated code is, in effect::

    def value_and_grad(v0, v1):
        t2 = sin(v0)
        t3 = v0 * v1
        t4 = t2 + t3
        g1 = v0            # d t4/d t3 * d t3/d v1
        g0 = v1
        g0 = g0 + cos(v0)
        return t4, (g0, g1)

The forward statements follow the AST's evaluation order; the reverse sweep
has one adjoint per node and takes every local derivative from the registry's
rules, evaluated in a *code algebra* that writes source text instead of
numbers.  The adjoints are summed in the same order as :meth:`Scalar.backward`,
so both give bit-identical results.  Subexpressions are shared already in the
AST (the parser hash-conses them); subexpressions without variables are folded
to constants here.

Safety: the source is built only from names we make (``v0``, ``t3``, ``g3``,
``k7``) and registry templates; every number and function reaches the code
through the namespace, never as text, so nothing the user typed is ever
compiled.

Speed: the fast flavour calls raw ``math`` functions and Python operators,
which raise where IEEE 754 gives inf or nan (``math.log(0)``, ``1/0``).  When
that happens the call is redone by the safe flavour, built from the same tape
with the registry's IEEE-safe forward functions.  The two agree wherever the
fast one does not raise, so the result does not depend on which ran.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import expr as ast
from .ops import OPS, Op, algebra, array_form, exact_minus_one

Flavour = str
"""``"fast"`` (raw math, may raise), ``"safe"`` (IEEE forward functions) or ``"numpy"`` (arrays)."""


class _Namespace:
    """The globals of generated code: every constant and function, bound to a made-up name."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self._by_id: dict[tuple[str, int], str] = {}

    def bind(self, prefix: str, value: Any) -> str:
        key = (prefix, id(value))
        if key not in self._by_id:
            name = f"{prefix}{len(self.values)}"
            self.values[name] = value
            self._by_id[key] = name
        return self._by_id[key]

    def constant(self, value: float) -> str:
        # Constants go through the namespace: repr(inf) or repr(nan) is no Python literal.
        name = f"k{len(self.values)}"
        self.values[name] = float(value)
        return name


class _Writer:
    """Writes one flavour of code: how each operation is called."""

    def __init__(self, flavour: Flavour, namespace: _Namespace) -> None:
        self.flavour = flavour
        self.ns = namespace
        self.lines: list[str] = []

    def call(self, op: Op, args: Sequence[str]) -> str:
        """The expression text for ``op(args)``; operands are names or parenthesised."""
        # Inline operators may raise (1/0), so only the fast flavour and NumPy (whose
        # operators follow IEEE 754 on arrays) write them; the safe flavour calls forward.
        if op.inline is not None and self.flavour != "safe":
            return "(" + op.inline.format(*args) + ")"
        if self.flavour == "fast" and op.fast is not None:
            fn: Any = op.fast
        elif self.flavour == "numpy":
            fn = array_form(op)
        else:
            fn = op.forward
        name = self.ns.bind("f", fn)
        return f"{name}({', '.join(args)})"

    def call_function(self, function: Callable[..., Any], args: Sequence[str]) -> str:
        """The expression text for calling ``function`` (bound in the namespace)."""
        return f"{self.ns.bind('f', function)}({', '.join(args)})"



class _Code:
    """A value in the code algebra: the text of a Python expression, and its value when constant."""

    __slots__ = ("text", "value", "writer")

    def __init__(self, text: str, writer: _Writer, value: float | None = None) -> None:
        self.text, self.writer, self.value = text, writer, value

    def __add__(self, other: Any) -> _Code:
        return _emit(self.writer, OPS["add"], (self, other))

    def __radd__(self, other: Any) -> _Code:
        return _emit(self.writer, OPS["add"], (other, self))

    def __sub__(self, other: Any) -> _Code:
        return _emit(self.writer, OPS["sub"], (self, other))

    def __rsub__(self, other: Any) -> _Code:
        return _emit(self.writer, OPS["sub"], (other, self))

    def __mul__(self, other: Any) -> _Code:
        return _emit(self.writer, OPS["mul"], (self, other))

    def __rmul__(self, other: Any) -> _Code:
        return _emit(self.writer, OPS["mul"], (other, self))

    def __neg__(self) -> _Code:
        return _emit(self.writer, OPS["neg"], (self,))


def _constant(writer: _Writer, value: float) -> _Code:
    return _Code(writer.ns.constant(value), writer, float(value))


def _emit(writer: _Writer, op: Op, args: Sequence[Any]) -> _Code:
    """``op(args)`` as code.  Constant arguments fold now, with the same forward function;
    a few identities that are exact in IEEE arithmetic are applied (x*1 = x, x^1 = x,
    -(-x) = x, x^2 = x*x as the forward function has it, zmul(c, x) = c*x for finite c != 0,
    pow_dx(x, c) = zmul(c, x^(c-1)) where c - 1 is exact);
    nothing else is rearranged, so the code
    computes bit for bit what the Scalar graph computes."""
    codes = [a if isinstance(a, _Code) else _constant(writer, a) for a in args]
    values = [c.value for c in codes]
    if all(v is not None for v in values):
        return _constant(writer, op.forward(*values))
    if op.name == "mul" and values[1] == 1.0:
        return codes[0]
    if op.name == "mul" and values[0] == 1.0:
        return codes[1]
    if op.name == "pow" and values[1] == 1.0:
        return codes[0]
    if op.name == "pow" and values[1] == 2.0:  # as the forward function computes it
        return _emit(writer, OPS["mul"], (codes[0], codes[0]))
    if op.name == "pow" and values[1] is not None and writer.flavour == "fast":
        # A constant exponent other than 2: libm's pow equals the forward function here.
        return _Code(writer.call_function(math.pow, [c.text for c in codes]), writer)
    if op.name == "pow_dx" and values[1] is not None and math.isfinite(values[1]) \
            and exact_minus_one(values[1]):
        # y*x^(y-1) for a constant y whose y - 1 is exact: as the forward function computes it
        power = _emit(writer, OPS["pow"], (codes[0], _constant(writer, values[1] - 1.0)))
        return _emit(writer, OPS["zmul"], (codes[1], power))
    if op.name == "zmul" and any(v is not None and v != 0.0 and math.isfinite(v) for v in values):
        return _emit(writer, OPS["mul"], codes)  # a finite nonzero factor: a product
    if op.name == "neg" and codes[0].text.startswith("(-") and codes[0].text.endswith(")") \
            and _is_name(codes[0].text[2:-1]):
        return _Code(codes[0].text[2:-1], writer)
    return _Code(writer.call(op, [c.text for c in codes]), writer)


def _is_name(text: str) -> bool:
    return text.isidentifier()


def _code_algebra(writer: _Writer) -> Any:
    def apply(op: Op) -> Callable[..., _Code]:
        def emit(*args: Any) -> _Code:
            return _emit(writer, op, args)
        return emit
    return algebra(apply)


@dataclass(frozen=True, slots=True)
class Tape:
    """The straight-line program for one flavour: statements and the names they define."""

    params: tuple[str, ...]
    """Argument names, one per variable, in the program's variable order."""
    forward: tuple[str, ...]
    reverse: tuple[str, ...]
    output: str
    """The name (or constant) holding the value."""
    adjoints: tuple[str, ...]
    """The names holding the partial derivatives, one per variable in ``wrt``."""
    namespace: dict[str, Any]
    rounding: tuple[tuple[str, str], ...] = ()
    """With ``inspect``: (value, adjoint) of every operation that depends on a variable in
    ``wrt`` and that the reverse sweep reaches, in evaluation order: what a rounding-error
    bound sums (:func:`autodiff_cli.check.rounding_error`)."""
    kinks: tuple[tuple[ast.Apply, str], ...] = ()
    """With ``inspect``: each operation with a kink that depends on a variable in ``wrt``,
    and the text of its registry's ``kink`` test on its arguments."""


def build_tape(program: ast.Program, wrt: Sequence[str], flavour: Flavour = "fast",
               namespace: _Namespace | None = None, inspect: bool = False) -> Tape:
    """Write the forward and reverse statements of ``program`` for one flavour; with
    ``inspect``, also what a gradient check reads (``Tape.rounding`` and ``Tape.kinks``)."""
    ns = namespace or _Namespace()
    writer = _Writer(flavour, ns)
    m = _code_algebra(writer)
    order = ast.postorder(program.result)
    position = {id(node): i for i, node in enumerate(order)}
    params = tuple(f"v{i}" for i in range(len(program.variables)))
    param_of = dict(zip(program.variables, params))
    wanted = set(wrt)

    name: dict[int, str] = {}
    constant: dict[int, float] = {}
    needs_grad: set[int] = set()
    forward: list[str] = []
    for index, node in enumerate(order):
        key = id(node)
        if isinstance(node, ast.Var):
            name[key] = param_of[node.name]
            if node.name in wanted:
                needs_grad.add(key)
        elif isinstance(node, (ast.Num, ast.Const)):
            constant[key] = node.value
            name[key] = ns.constant(node.value)
        elif all(id(a) in constant for a in node.args):
            # No variable below: fold now, with the same forward function as the Scalar graph.
            constant[key] = node.op.forward(*[constant[id(a)] for a in node.args])
            name[key] = ns.constant(constant[key])
        else:
            name[key] = f"t{index}"
            args = [_Code(name[id(a)], writer, constant.get(id(a))) for a in node.args]
            forward.append(f"t{index} = {_emit(writer, node.op, args).text}")
            if any(id(a) in needs_grad for a in node.args):
                needs_grad.add(key)
    output = name[id(program.result)]

    # Reverse sweep, in the order of Scalar.backward: nodes last-to-first, arguments left to
    # right.  An adjoint is a name, or a float while it is still a known constant (the seed 1.0).
    adjoint: dict[int, str | float] = {id(program.result): 1.0}
    writer.lines = []
    for node in reversed(order):
        if not isinstance(node, ast.Apply) or id(node) not in adjoint:
            continue
        g = adjoint[id(node)]
        values = [_Code(name[id(a)], writer, constant.get(id(a))) for a in node.args]
        out = _Code(name[id(node)], writer, constant.get(id(node)))
        for rule, arg in zip(node.op.partials, node.args):
            if id(arg) not in needs_grad:
                continue
            term = _product(writer, g, rule(m, *values, out))
            known = adjoint.get(id(arg))
            if known is None and isinstance(term, float):
                adjoint[id(arg)] = term
                continue
            target = f"g{position[id(arg)]}"
            if known is None and isinstance(term, str) and term.isidentifier():
                adjoint[id(arg)] = term  # the same value under another name: no copy
                continue
            if known is None:
                writer.lines.append(f"{target} = {term}")
            elif isinstance(known, float) and isinstance(term, float):
                adjoint[id(arg)] = known + term
                continue
            else:
                left = known if isinstance(known, str) else ns.constant(known)
                right = term if isinstance(term, str) else ns.constant(term)
                if right.startswith("(-") and right.endswith(")") and right[2:-1].isidentifier():
                    # a + (-b) is exactly a - b in IEEE arithmetic
                    writer.lines.append(f"{target} = {left} - {right[2:-1]}")
                else:
                    writer.lines.append(f"{target} = {left} + {right}")
            adjoint[id(arg)] = target
    reverse = list(writer.lines)

    var_ids = {n.name: id(n) for n in order if isinstance(n, ast.Var)}
    grads: list[str] = []
    for variable in wrt:
        found = adjoint.get(var_ids.get(variable, -1), 0.0)
        grads.append(found if isinstance(found, str) else ns.constant(found))
    rounding: list[tuple[str, str]] = []
    kinks: list[tuple[ast.Apply, str]] = []
    for node in order if inspect else ():
        if not isinstance(node, ast.Apply) or id(node) not in needs_grad:
            continue
        if id(node) in adjoint:
            found = adjoint[id(node)]
            rounding.append((name[id(node)], found if isinstance(found, str) else ns.constant(found)))
        if node.op.kink is not None:
            kinks.append((node, writer.call_function(node.op.kink, [name[id(a)] for a in node.args])))
    return Tape(params, tuple(forward), tuple(reverse), output, tuple(grads), ns.values,
                tuple(rounding), tuple(kinks))


def _product(writer: _Writer, adjoint: str | float, partial: Any) -> str | float:
    """``adjoint * partial`` exactly as Scalar.backward computes it, with exact shortcuts:
    ``x * 1.0 == x`` and ``x * -1.0 == -x``; two constants multiply now."""
    mul, neg = OPS["mul"], OPS["neg"]
    if isinstance(partial, _Code) and partial.value is not None:
        partial = partial.value
    if not isinstance(partial, _Code):
        value = float(partial)
        if isinstance(adjoint, float):
            return adjoint * value
        if value == 1.0:
            return adjoint
        if value == -1.0:
            return writer.call(neg, [adjoint])
        return writer.call(mul, [adjoint, writer.ns.constant(value)])
    if isinstance(adjoint, float):
        if adjoint == 1.0:
            return partial.text
        if adjoint == -1.0:
            return writer.call(neg, [partial.text])
        return writer.call(mul, [writer.ns.constant(adjoint), partial.text])
    return writer.call(mul, [adjoint, partial.text])


# ---------------------------------------------------------------- assembling functions

_FALLBACK = "(ArithmeticError, ValueError)"


def _indent(lines: Sequence[str], depth: int) -> str:
    pad = "    " * depth
    return "".join(f"{pad}{line}\n" for line in lines or ["pass"])


@dataclass(frozen=True, slots=True, eq=False)
class Compiled:
    """A program compiled once; call it many times.

    ``value_and_grad(*values)`` takes the variables' values positionally, in
    ``variables`` order, and returns ``(value, gradient)`` with one partial per
    name in ``wrt``.  ``value(*values)`` computes the value alone.
    """

    variables: tuple[str, ...]
    wrt: tuple[str, ...]
    source: str
    value_and_grad: Callable[..., tuple[float, tuple[float, ...]]]
    value: Callable[..., float]
    program: ast.Program
    _lazy: dict[str, _NumpyFlavour] = field(default_factory=dict, repr=False)
    """Flavours written on first use (the NumPy one)."""

    def at_points(self, *columns: Any) -> tuple[Any, tuple[Any, ...]]:
        """Value and gradient at many points at once: one NumPy array per variable.

        Returns arrays of the broadcast shape.  NumPy's transcendental functions
        may differ from the math module's in the last bit, so these agree with
        ``value_and_grad`` to rounding, not bit for bit.
        """
        (value, grads), full = self._on_arrays("value_and_grad", columns)
        return full(value), tuple(full(g) for g in grads)

    def values_at(self, *columns: Any) -> Any:
        """The value alone at many points at once (no reverse sweep): an array."""
        value, full = self._on_arrays("value", columns)
        return full(value)

    def inspect_points(self, *columns: Any) -> PointsDetail:
        """:meth:`at_points`, with what a gradient check needs to know besides (:class:`PointsDetail`)."""
        (value, grads, terms, kinks), full = self._on_arrays("inspect", columns)
        return PointsDetail(full(value), tuple(full(g) for g in grads),
                            [(full(t), full(g)) for t, g in terms],
                            tuple((node, full(k, bool)) for node, k in zip(self._numpy().kinks, kinks)))

    def _on_arrays(self, function: str, columns: Sequence[Any]) -> tuple[Any, Callable[..., Any]]:
        """Call one of the NumPy functions on the columns; also a function that gives what it
        returned the columns' broadcast shape (a part that is constant comes back a number)."""
        import numpy as np

        arrays = [np.asarray(c, dtype=np.float64) for c in columns]
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        with np.errstate(all="ignore"):
            results = self._numpy().functions[function](*arrays)

        def full(value: Any, dtype: Any = np.float64) -> Any:
            return np.broadcast_to(np.asarray(value, dtype=dtype), shape).copy()

        return results, full

    def _numpy(self) -> _NumpyFlavour:
        """The NumPy flavour, written on first use: value_and_grad, value and inspect."""
        if "numpy" not in self._lazy:
            tape = build_tape(self.program, self.wrt, "numpy", inspect=True)
            args = ", ".join(tape.params)
            grads = _tuple(tape.adjoints)
            terms = _tuple([f"({t}, {g})" for t, g in tape.rounding])
            kinks = _tuple([test for _, test in tape.kinks])
            both = _indent(tape.forward + tape.reverse, 1)
            source = (f"def value_and_grad({args}):\n{both}    return {tape.output}, {grads}\n\n"
                      f"def value({args}):\n{_indent(tape.forward, 1)}    return {tape.output}\n\n"
                      f"def inspect({args}):\n{both}"
                      f"    return {tape.output}, {grads}, {terms}, {kinks}\n")
            defined = _define(source, tape.namespace)
            self._lazy["numpy"] = _NumpyFlavour(
                {name: defined[name] for name in ("value_and_grad", "value", "inspect")},
                tuple(node for node, _ in tape.kinks))
        return self._lazy["numpy"]


@dataclass(frozen=True, slots=True)
class _NumpyFlavour:
    functions: dict[str, Callable[..., Any]]
    kinks: tuple[ast.Apply, ...]
    """The operations whose kink tests ``inspect`` returns, in the same order."""


@dataclass(frozen=True, slots=True)
class PointsDetail:
    """What :meth:`Compiled.inspect_points` returns: arrays, one entry per point."""

    value: Any
    grads: tuple[Any, ...]
    """One array per variable in ``wrt``."""
    rounding: list[tuple[Any, Any]]
    """(value, adjoint) of each operation a rounding-error bound sums, as in :attr:`Tape.rounding`."""
    kinks: tuple[tuple[ast.Apply, Any], ...]
    """Each operation with a kink that depends on ``wrt``, and where it is exactly at its kink."""


def _tuple(items: Sequence[str]) -> str:
    return "(" + "".join(f"{item}, " for item in items) + ")"


def compile_program(program: ast.Program, wrt: Sequence[str] | None = None) -> Compiled:
    """Compile ``program`` into Python functions for its value and gradient.

    Compiled once: the result is cached per program (by identity; programs are
    immutable) and ``wrt``, for the last few programs, so that repeated descents,
    checks and plots of one parsed program share it.  The safe flavour is written
    and compiled only the first time the fast one raises: most programs never
    need it, and for a large program it would double the time and memory
    compiling takes.
    """
    return _compile(program, tuple(program.variables if wrt is None else wrt))


@functools.lru_cache(maxsize=8)
def _compile(program: ast.Program, names: tuple[str, ...]) -> Compiled:
    ns = _Namespace()
    fast = build_tape(program, names, "fast", ns)
    args = ", ".join(fast.params)
    grads = _tuple(fast.adjoints)
    source = (
        f"def value_and_grad({args}):\n"
        "    try:\n"
        + _indent(fast.forward + fast.reverse, 2)
        + f"    except {_FALLBACK}:\n"
        f"        return _safe_value_and_grad({args})\n"
        f"    return {fast.output}, {grads}\n\n"
        f"def value({args}):\n"
        "    try:\n"
        + _indent(fast.forward, 2)
        + f"    except {_FALLBACK}:\n"
        f"        return _safe_value({args})\n"
        f"    return {fast.output}\n"
    )
    namespace = _define(source, ns.values)

    def define_safe() -> None:
        safe = build_tape(program, names, "safe")
        safe_grads = _tuple(safe.adjoints)
        safe_source = (
            f"def _safe_value_and_grad({args}):\n"
            + _indent(safe.forward + safe.reverse, 1)
            + f"    return {safe.output}, {safe_grads}\n\n"
            f"def _safe_value({args}):\n"
            + _indent(safe.forward, 1)
            + f"    return {safe.output}\n"
        )
        defined = _define(safe_source, safe.namespace)
        namespace["_safe_value_and_grad"] = defined["_safe_value_and_grad"]
        namespace["_safe_value"] = defined["_safe_value"]

    def first_safe_value_and_grad(*values: float) -> Any:
        define_safe()
        return namespace["_safe_value_and_grad"](*values)

    def first_safe_value(*values: float) -> Any:
        define_safe()
        return namespace["_safe_value"](*values)

    # The generated functions look these names up when they run, so the first call
    # defines the safe flavour and later calls go straight to it.
    namespace["_safe_value_and_grad"] = first_safe_value_and_grad
    namespace["_safe_value"] = first_safe_value
    return Compiled(program.variables, names, source, namespace["value_and_grad"], namespace["value"],
                    program)


def _define(source: str, values: dict[str, Any]) -> dict[str, Any]:
    """Run generated definitions in a namespace holding only our constants and functions."""
    namespace = dict(values)
    code = compile(source, "<adcli compiled>", "exec")  # compiled-code: our own tape, no user text
    exec(code, namespace)  # compiled-code: runs only the definitions in our own source
    return namespace
