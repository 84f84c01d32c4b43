"""What the user gives: the expression's text, and values for its variables."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import AdcliError, InputFileError, VariableError, did_you_mean
from ..ops import CONSTANTS
from .parser import parse_constant

Assignment = tuple[str, "str | float"]
"""A variable's name and its value: a number, or text such as ``pi/4``."""


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
            raise VariableError(
                f"the expression has no variable '{name}'{did_you_mean(name, variables)} "
                f"(its variables: {_listing(variables)})")


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
    given = {name: float(raw) if isinstance(raw, (int, float)) else parse_constant(raw, f"--{name}")
             for name, raw in pairs}
    point: dict[str, float] = {}
    for name in variables:
        if name in given:
            point[name] = given[name]
        elif defaults is not None:
            point[name] = defaults
        else:
            raise VariableError(
                f"no value for variable '{name}': give it as --{name} VALUE "
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
        raise VariableError("--wrt names no variable")
    check_names(names, variables, "differentiated against")
    return tuple(n for n in variables if n in names)


def read_expression(text: str | None, file: str | None) -> str:
    """The program's text: the argument, a file, or standard input for ``-``."""
    if text is not None and file is not None:
        raise AdcliError("give the expression either as an argument or with --file, not both")
    if file is None and text is None:
        raise AdcliError("no expression: give one as an argument, with --file FILE, or - for stdin")
    if text == "-" or file == "-":
        return sys.stdin.read()
    if file is not None:
        try:
            return Path(file).read_text(encoding="utf-8-sig")  # a byte-order mark is not text
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise InputFileError(f"cannot read {file}: {reason}") from None
    assert text is not None
    return text


def parse_assignment(text: str) -> tuple[str, str]:
    """``name=value`` from ``--var``."""
    name, eq, value = text.partition("=")
    if not eq or not name.strip() or not value.strip():
        raise VariableError(f"--var takes name=value, got {text!r}")
    return name.strip(), value.strip()
