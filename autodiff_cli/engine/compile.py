"""The AST compiled once into straight-line Python: value and gradient per call, no graph.

The program's tape of equations (:mod:`autodiff_cli.engine.tape`) is printed by an
emitter (:mod:`autodiff_cli.engine.emit`) into two functions, ``value_and_grad`` and
``value``.  For ``sin(x)+x*y`` with respect to x and y the code is, in effect::

    def value_and_grad(v0, v1):
        t2 = sin(v0)
        t3 = v0 * v1
        t4 = t2 + t3
        g0 = v1 + cos(v0)
        return t4, (g0, k5)

Safety: the source holds only names we made (``v0``, ``t3``, ``g3``, ``k7``, ``f9``) and
the registry's operator templates; every number and function reaches the code through
the namespace, never as text, so nothing the user typed is ever compiled.

Speed: the fast flavour calls raw ``math`` functions and Python operators, which raise
where IEEE 754 gives inf or nan.  When that happens the call is redone by the safe
flavour, printed from the same tape with the registry's IEEE-safe forward functions.  The
two agree wherever the fast one does not raise, so the result does not depend on which ran.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import expr as ast
from .emit import FALLBACK, Emitter, Namespace, define, indent, tuple_text
from .tape import needed, tape_of

# ---------------------------------------------------------------- assembling functions


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

    def at_points(self, *columns: Any, broadcast: bool = True) -> tuple[Any, tuple[Any, ...]]:
        """Value and gradient at many points at once: one NumPy array per variable.

        Returns arrays of the broadcast shape.  NumPy's transcendental functions
        may differ from the math module's in the last bit, so these agree with
        ``value_and_grad`` to rounding, not bit for bit.  With ``broadcast=False``, a
        part that does not vary comes back as it was computed (a number, or an array
        of a smaller shape), without a copy: for a caller that writes the parts into
        arrays of its own (a fit's Jacobian).
        """
        (value, grads), full = self._on_arrays("value_and_grad", columns)
        if not broadcast:
            return value, tuple(grads)
        return full(value), tuple(full(g) for g in grads)

    def values_at(self, *columns: Any, dtype: Any = None) -> Any:
        """The value alone at many points at once (no reverse sweep): an array.

        ``dtype`` evaluates in another floating type: ``numpy.longdouble`` gives extended
        precision where the platform has it (x86: a 64-bit significand), which a fit uses to
        compute residuals that are themselves at the level of float64 rounding.
        """
        value, full = self._on_arrays("value", columns, dtype)
        return full(value, dtype)

    def inspect_points(self, *columns: Any) -> PointsDetail:
        """:meth:`at_points`, with what a gradient check needs to know besides (:class:`PointsDetail`)."""
        (value, grads, terms, kinks), full = self._on_arrays("inspect", columns)
        return PointsDetail(full(value), tuple(full(g) for g in grads),
                            [(full(t), full(g)) for t, g in terms],
                            tuple((node, full(k, bool)) for node, k in zip(self._numpy().kinks, kinks)))

    def _on_arrays(self, function: str, columns: Sequence[Any],
                   dtype: Any = None) -> tuple[Any, Callable[..., Any]]:
        """Call one of the NumPy functions on the columns; also a function that gives what it
        returned the columns' broadcast shape (a part that is constant comes back a number)."""
        import numpy as np

        arrays = [np.asarray(c, dtype=dtype or np.float64) for c in columns]
        shape = np.broadcast_shapes(*{a.shape for a in arrays})  # thousands of columns, few shapes
        with np.errstate(all="ignore"):
            results = self._numpy().functions[function](*arrays)

        def full(value: Any, dtype: Any = None) -> Any:
            return np.broadcast_to(np.asarray(value, dtype=dtype or np.float64), shape).copy()

        return results, full

    def _numpy(self) -> _NumpyFlavour:
        """The NumPy flavour, written on first use: value_and_grad, value and inspect."""
        if "numpy" not in self._lazy:
            tape = tape_of(self.program, self.wrt, inspect=True)
            emitter = Emitter("numpy", tape, Namespace())
            args = ", ".join(tape.params)
            grads = tuple_text(tape.adjoints)
            terms = tuple_text([f"({t}, {g})" for t, g in tape.rounding])
            kinks = tuple_text([emitter.call(k.test, k.args) for k in tape.kinks])
            returned = [tape.output, *tape.adjoints]
            inspected = [*returned, *(n for pair in tape.rounding for n in pair),
                         *(n for k in tape.kinks for n in k.args)]
            swept = [*tape.forward, *tape.reverse]
            value = needed(tape.forward, [tape.output])
            sources = [f"def value_and_grad({args}):\n{indent(emitter.lines(swept, keep=returned), 1)}"
                       f"    return {tape.output}, {grads}\n",
                       f"def value({args}):\n{indent(emitter.lines(value, keep=[tape.output]), 1)}"
                       f"    return {tape.output}\n",
                       f"def inspect({args}):\n{indent(emitter.lines(swept, keep=inspected), 1)}"
                       f"    return {tape.output}, {grads}, {terms}, {kinks}\n"]
            defined = define(sources, emitter.ns.values)
            self._lazy["numpy"] = _NumpyFlavour(
                {name: defined[name] for name in ("value_and_grad", "value", "inspect")},
                tuple(k.node for k in tape.kinks))
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
    """(value, adjoint) of each operation a rounding-error bound sums, as in ``Tape.rounding``."""
    kinks: tuple[tuple[ast.Apply, Any], ...]
    """Each operation with a kink that depends on ``wrt``, and where it is exactly at its kink."""


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
    tape = tape_of(program, names)
    fast = Emitter("fast", tape, Namespace())
    args = ", ".join(tape.params)
    grads = tuple_text(tape.adjoints)
    forward = fast.lines(tape.forward)
    sources = [
        f"def value_and_grad({args}):\n"
        "    try:\n"
        + indent(forward + fast.lines(tape.reverse), 2)
        + f"    except {FALLBACK}:\n"
        f"        return _safe_value_and_grad({args})\n"
        f"    return {tape.output}, {grads}\n",
        f"def value({args}):\n"
        "    try:\n"
        + indent(forward, 2)
        + f"    except {FALLBACK}:\n"
        f"        return _safe_value({args})\n"
        f"    return {tape.output}\n",
    ]
    source = "\n".join(sources)
    namespace = define(sources, fast.ns.values)

    def define_safe() -> None:
        safe = Emitter("safe", tape, Namespace())
        safe_forward = safe.lines(tape.forward)
        safe_sources = [
            f"def _safe_value_and_grad({args}):\n"
            + indent(safe_forward + safe.lines(tape.reverse), 1)
            + f"    return {tape.output}, {grads}\n",
            f"def _safe_value({args}):\n"
            + indent(safe_forward, 1)
            + f"    return {tape.output}\n",
        ]
        defined = define(safe_sources, safe.ns.values)
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
