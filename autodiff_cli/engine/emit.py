"""Emitters: a tape's equations printed as Python, in one of three flavours.

- ``fast``: Python operators and the raw ``math`` functions, which raise where IEEE 754
  gives inf or nan (``math.log(0)``, ``1/0``); compiled code then reruns the call with
- ``safe``: the registry's IEEE-safe forward functions.  The two agree wherever the fast
  one does not raise, so a result does not depend on which ran.
- ``numpy``: the registry's array forms, on float64 arrays (operators follow IEEE 754 there).

An emitter prints data (:mod:`autodiff_cli.engine.tape`); it never edits text.  Every
function and constant reaches the code through the namespace, bound to a name we made, so
the source holds only our own names and the registry's operator templates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..ops import Op, array_form
from .tape import Call, Eq, Tape, Term, releases

FLAVOURS = ("fast", "safe", "numpy")

FALLBACK = "(ArithmeticError, ValueError)"
"""What the fast flavour may raise, and the safe one then handles."""


class Namespace:
    """The globals of generated code: every constant and function, bound to a name we made."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self._by_id: dict[tuple[str, int], str] = {}

    def bind(self, prefix: str, value: Any) -> str:
        """The name of ``value`` (the same name for the same object)."""
        key = (prefix, id(value))
        if key not in self._by_id:
            name = f"{prefix}{len(self.values)}"
            self.values[name] = value
            self._by_id[key] = name
        return self._by_id[key]


class Emitter:
    """Prints a tape's terms and equations in one flavour, binding what they call in ``namespace``."""

    def __init__(self, flavour: str, tape: Tape, namespace: Namespace) -> None:
        if flavour not in FLAVOURS:
            raise ValueError(f"unknown flavour {flavour!r}")
        self.flavour, self.constants, self.ns = flavour, tape.constants, namespace
        namespace.values.update(tape.constants)

    def function(self, op: Op, args: Sequence[Term]) -> Callable[..., Any]:
        if self.flavour == "numpy":
            return array_form(op)
        if self.flavour == "fast":
            if op.name == "pow" and isinstance(args[1], str) and args[1] in self.constants:
                # A constant exponent (never 1 or 2: the tape made those x and x*x): libm's
                # pow equals the forward function here.
                return math.pow
            if op.fast is not None:
                return op.fast
        return op.forward

    def term(self, term: Term, rename: Mapping[str, str] | None = None) -> str:
        """The Python expression of ``term``; names in ``rename`` are printed as their values.

        Inline operators may raise (``1/0``), so only the fast and NumPy flavours write them
        (NumPy's operators follow IEEE 754 on arrays); the safe flavour calls ``forward``.
        Recursion here is bounded by the size of one registry rule, not by the input.
        """
        if isinstance(term, str):
            return rename.get(term, term) if rename else term
        args = [self.term(a, rename) for a in term.args]
        op = term.op
        if op.inline is not None and self.flavour != "safe":
            return "(" + op.inline.format(*args) + ")"
        return self.call(self.function(op, term.args), args)

    def call(self, function: Callable[..., Any], args: Sequence[str]) -> str:
        """The text of calling ``function`` (bound in the namespace) on ``args``."""
        return f"{self.ns.bind('f', function)}({', '.join(args)})"

    def line(self, eq: Eq, rename: Mapping[str, str] | None = None) -> str:
        target = rename.get(eq.target, eq.target) if rename else eq.target
        return f"{target} = {self.term(eq.value, rename)}"

    def lines(self, equations: Sequence[Eq], rename: Mapping[str, str] | None = None,
              keep: Iterable[str] | None = None) -> list[str]:
        """The equations as lines; with ``keep`` (the names the code returns), each other
        target is deleted after the line that last reads it (:func:`releases`): NumPy
        arrays are then freed as soon as they are dead, as a tracing compiler frees buffers."""
        if keep is None:
            return [self.line(eq, rename) for eq in equations]
        out: list[str] = []
        for eq, dead in zip(equations, releases(equations, keep)):
            out.append(self.line(eq, rename))
            if dead:
                out.append("del " + ", ".join(rename.get(n, n) if rename else n for n in dead))
        return out


def indent(lines: Sequence[str], depth: int) -> str:
    """Lines as a block at ``depth`` levels (``pass`` for none)."""
    pad = "    " * depth
    return "".join(f"{pad}{line}\n" for line in lines or ["pass"])


def tuple_text(items: Sequence[str]) -> str:
    """A tuple display: ``(a, b, )``, ``(a, )``, ``()``."""
    return "(" + "".join(f"{item}, " for item in items) + ")"


def define(source: str | Sequence[str], values: Mapping[str, Any]) -> dict[str, Any]:
    """Run generated definitions in a namespace holding only our constants and functions.

    ``source`` may be several definitions, compiled one at a time: compiling takes some
    3 to 7 KB a node of the program while it runs (CPython's syntax tree of the source), so
    the peak is then one function's rather than all of them together.
    """
    namespace = dict(values)
    for text in [source] if isinstance(source, str) else source:
        code = compile(text, "<adcli compiled>", "exec")  # compiled-code: our own tape, no user text
        exec(code, namespace)  # compiled-code: runs only the definitions in our own source
        del code
    return namespace


__all__ = ["FALLBACK", "FLAVOURS", "Call", "Emitter", "Namespace", "define", "indent", "tuple_text"]
