"""What the user gives: the expression's text, and values for its variables."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import (
    UnknownVariableError,
    ValueInputError,
    VariableError,
    did_you_mean,
    option,
    variable,
)
from ..ops import CONSTANTS
from .parser import parse_constant

Assignment = tuple[str, Any]
"""A variable's name and its value: a number of any numeric type, or text such as ``pi/4``."""


def value_of(raw: Any, what: str) -> float:
    """A value as a float64: text is a constant expression (``pi/4``, ``inf``); anything else
    must be a number that converts to float without loss of meaning (int, float, bool, NumPy
    scalars and 0-d arrays, Fraction, Decimal); ``what`` names it in messages."""
    if isinstance(raw, str):
        return parse_constant(raw, what)
    if isinstance(raw, complex):
        raise ValueInputError(f"{what}: {raw!r} is complex; a value is a real number")
    try:
        return float(raw)
    except (TypeError, ValueError, OverflowError):
        raise ValueInputError(f"{what}: {raw!r} ({type(raw).__name__}) is not a number") from None


def _listing(names: Sequence[str], most: int = 12) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown}, ... ({len(names)} in all)"


def check_names(names: Iterable[str], variables: Sequence[str], what: str) -> None:
    """Every name must be one of the program's variables (constants are named as such)."""
    known = set(variables)
    for name in names:
        if name in CONSTANTS:
            raise VariableError(f"'{name}' is a constant ({CONSTANTS[name]!r}), not a variable; "
                                f"it cannot be {what}")
        if name not in known:
            raise UnknownVariableError(
                f"the expression has no variable '{name}'{did_you_mean(name, variables)} "
                f"(its variables: {_listing(variables)})", name)


def resolve_point(variables: Sequence[str], assignments: Iterable[Assignment],
                  defaults: float | None = None, missing_hint: str = "") -> dict[str, float]:
    """The point, in the program's variable order, from the user's assignments.

    Raises VariableError for a value given twice, a value for a name the
    program does not use, or a variable left without a value (unless
    ``defaults`` gives one); ``missing_hint`` ends the message for the last.
    """
    pairs = list(assignments)
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise VariableError(f"'{name}' is given a value twice")
        seen.add(name)
    check_names([name for name, _ in pairs], variables, "given a value")
    given = {name: value_of(raw, variable(name)) for name, raw in pairs}
    point: dict[str, float] = {}
    for name in variables:
        if name in given:
            point[name] = given[name]
        elif defaults is not None:
            point[name] = defaults
        else:
            raise VariableError(
                f"no value for variable '{name}': give it as {variable(name, 'VALUE')} "
                f"(the expression's variables: {_listing(variables)}){missing_hint}")
    return point


def comma_list(texts: Iterable[str] | None) -> list[str]:
    """Names from options such as ``--wrt x,y`` or a repeated ``--fix y --fix z,w``."""
    return [name.strip() for text in texts or () for name in text.split(",") if name.strip()]


def resolve_wrt(variables: Sequence[str], wrt: str | Sequence[str] | None) -> tuple[str, ...]:
    """The variables to differentiate with respect to: a comma list, or all of them."""
    if wrt is None:
        return tuple(variables)
    names = comma_list([wrt]) if isinstance(wrt, str) else [n for n in wrt if n]
    if not names:
        raise VariableError(f"{option('wrt')} names no variable")
    check_names(names, variables, "differentiated against")
    return tuple(n for n in variables if n in names)


def parse_range(text: str, what: str) -> tuple[float, float]:
    """``LO:HI``, each end a constant expression (``-pi:pi``), finite, ``LO < HI``; ``what``
    names the range in messages (a name marked with :func:`errors.option` or :func:`errors.variable`)."""
    low_text, _, high_text = text.partition(":")
    if ":" in high_text or not low_text.strip() or not high_text.strip():
        raise ValueInputError(f"{what}: {text!r} is not a range; write LO:HI, such as -2:2")
    low = parse_constant(low_text, f"{what} (the range's low end)")
    high = parse_constant(high_text, f"{what} (the range's high end)")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueInputError(f"{what}: the range {text!r} must have finite ends")
    if not low < high:
        raise ValueInputError(f"{what}: the range {text!r} is empty; its low end must be below its high end")
    if not math.isfinite(high - low):
        raise ValueInputError(f"{what}: the range {text!r} is too wide: its width overflows float64 "
                              "(at most about 1.8e308)")
    return low, high


#END
