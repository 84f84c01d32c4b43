"""User-facing errors: one hierarchy, each carrying what its message needs.

The CLI catches :class:`AdcliError` in one place, prints it to stderr and exits
with :attr:`AdcliError.exit_code` (2: the user's mistake).

A message that is about a setting or a variable names it with :func:`option` or
:func:`variable`, which mark the name as data rather than spelling it: ``str(error)``
spells a setting as the library's keyword (``eps``, ``x=VALUE``) and the CLI as its
option (``--eps``, ``--x VALUE``).  The library never names a command-line flag.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_MARK = re.compile("\ue000([ov])([^\ue000\ue001\ue002]*)\ue001([^\ue000\ue001\ue002]*)\ue002")
"""A marked name in a message: its kind (o: a setting, v: a variable), the name, and the
placeholder of its value (empty: the name alone)."""

Spelling = Callable[[str, str, str], str]
"""How to write a marked name: ``spell(kind, name, value)``."""


def option(name: str, value: str = "") -> str:
    """A setting named in a message (``eps``; with ``value``, how to give it)."""
    return f"\ue000o{name}\ue001{value}\ue002"


def variable(name: str, value: str = "") -> str:
    """A variable named in a message as something to give a value."""
    return f"\ue000v{name}\ue001{value}\ue002"


def python_spelling(kind: str, name: str, value: str) -> str:
    """How a Python caller gives it: ``'eps'``, ``x=VALUE``."""
    return f"{name}={value}" if value else f"'{name}'"


def command_line_spelling(kind: str, name: str, value: str) -> str:
    """How a command line gives it: ``--eps``, ``--line-search``, ``--x VALUE``."""
    flag = "--" + (name.replace("_", "-") if kind == "o" else name)
    return f"{flag} {value}" if value else flag


def spell(text: str, spelling: Spelling = python_spelling) -> str:
    """``text`` with the names it marks (:func:`option`, :func:`variable`) written by ``spelling``."""
    return _MARK.sub(lambda m: spelling(m.group(1), m.group(2), m.group(3)), text)


class AdcliError(Exception):
    """Base of every error caused by what the user gave us."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(spell(message))
        self.template = message

    @property
    def options(self) -> tuple[str, ...]:
        """The settings and variables the message is about, as data."""
        return tuple(match.group(2) for match in _MARK.finditer(self.template))

    def render(self, spell_with: Spelling = python_spelling) -> str:
        """The message, with the names it marks written by ``spell``."""
        return spell(self.template, spell_with)

    @property
    def message(self) -> str:
        return self.render()

    def __str__(self) -> str:
        return self.render()


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``name``, if any is close."""
    import difflib

    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'sin'?"`` or nothing."""
    best = suggest(name, candidates)
    return f"; did you mean '{best}'?" if best else ""


def caret(source: str, start: int, end: int | None = None) -> str:
    """The source line holding offset ``start``, with carets under ``start:end``."""
    start = max(0, min(start, len(source)))
    line_start = source.rfind("\n", 0, start) + 1
    line_end = source.find("\n", start)
    if line_end == -1:
        line_end = len(source)
    line = source[line_start:line_end]
    column = start - line_start
    width = 1 if end is None else max(1, min(end, line_end) - start)
    # Long lines are windowed around the column so the caret stays on screen.
    if len(line) > 76:
        left = max(0, column - 38)
        shown = line[left:left + 76]
        prefix = "..." if left > 0 else ""
        suffix = "..." if left + 76 < len(line) else ""
        line, column = prefix + shown + suffix, column - left + len(prefix)
        width = max(1, min(width, len(line) - column))  # the carets end where the window does
    printable = "".join(ch if ch.isprintable() else " " for ch in line)
    return f"  {printable}\n  {' ' * column}{'^' * width}"


def line_and_column(source: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``source``."""
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, column


class SourceError(AdcliError):
    """An error at a place in the expression: the message, then the line with a caret."""

    def __init__(self, message: str, source: str, start: int, end: int | None = None) -> None:
        self.source, self.start, self.end = source, start, end
        line, column = line_and_column(source, start)
        where = f"line {line}, column {column}" if "\n" in source else f"column {column}"
        super().__init__(f"{message} (at {where})\n{caret(source, start, end)}")
        self.reason = message


class ExpressionSyntaxError(SourceError):
    """The text is not in the language."""


class UnknownFunctionError(SourceError):
    """A call to a name that is neither a built-in nor a defined function."""


class ArityError(SourceError):
    """A function called with the wrong number of arguments."""


class NameUseError(SourceError):
    """A name assigned twice, used before assignment, or shadowing a built-in."""


class LimitError(AdcliError):
    """A request past one of adcli's documented limits on work or memory, refused before the
    work: the message names the limit (and the setting that raises it, where there is one)."""


class ExpressionSizeError(SourceError, LimitError):
    """An expression whose graph would be larger than allowed: calls of its functions copying
    more than the parser's limit, or more nodes than a caller (a server) allows."""


class VariableError(AdcliError):
    """A variable without a value, a value for no variable, or a value given twice."""


class UnknownVariableError(VariableError):
    """A value given for a name that is not one of the expression's variables."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class ValueInputError(AdcliError):
    """A value on the command line that is not a constant expression."""


class InputFileError(AdcliError):
    """An expression file that cannot be read."""


class DataError(AdcliError):
    """A data file that cannot be read as numbers: a missing column, a cell that is not a
    number, missing values, too few rows, a file over a limit."""


class OutputFileError(AdcliError):
    """An output file that cannot be written, or whose kind the format cannot produce."""


class MissingProgramError(AdcliError):
    """An external program (Graphviz's dot) that the request needs is not installed."""
