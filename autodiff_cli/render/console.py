"""The terminal: consoles, full-precision numbers, titles, and pictures of what a console shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.console import Console, RenderableType
from rich.text import Text

from ..expr import one_line

if TYPE_CHECKING:
    pass


MAX_SHOWN_EXPRESSION = 120
"""Longer expressions are shortened in tables; JSON always carries them whole."""


def title_line(expression: str) -> Text:
    """``f = <the expression on one line>``."""
    return Text.assemble(("f", "bold"), " = ", (one_line(expression, MAX_SHOWN_EXPRESSION), "cyan"))


def number(value: float) -> str:
    """A float at full precision: ``repr`` round-trips."""
    return repr(float(value))


SHOWN_VALUES = 12
"""A point with more variables than this shows its first few in tables; JSON has them all."""


def point_text(point: Mapping[str, float]) -> str:
    """``x = 1.0, y = 2.0``; a point of many variables shows the first SHOWN_VALUES."""
    items = list(point.items())
    shown = ", ".join(f"{name} = {number(v)}" for name, v in items[:SHOWN_VALUES])
    if len(items) > SHOWN_VALUES:
        shown += f", … ({len(items):,} in all; --json has every one)"
    return shown


def two_digits(value: float) -> str:
    """An error or a tolerance, to two significant digits (JSON keeps every digit)."""
    return f"{value:.2g}"


def short(value: float) -> str:
    """A compact number for progress tables (the summary keeps full precision)."""
    return f"{value:.6g}"


def error_text(message: str) -> Text:
    return Text.assemble(("error: ", "bold red"), message)


def warning_text(message: str) -> Text:
    return Text.assemble(("warning: ", "bold yellow"), message)


def show(renderable: RenderableType, out: Console | None = None) -> None:
    """Print ``renderable``; when the output is not a terminal (a pipe, a file), without the
    spaces that pad table cells at the ends of lines."""
    out = out or console()
    if out.is_terminal:
        out.print(renderable)
        return
    with out.capture() as captured:
        out.print(renderable)
    text = "\n".join(line.rstrip() for line in captured.get().split("\n"))
    out.file.write(text)
    out.file.flush()


def console(stderr: bool = False) -> Console:
    """A console for stdout or stderr; rich honours NO_COLOR and non-terminal output."""
    return Console(stderr=stderr, highlight=False)


def picture(renderable: RenderableType, suffix: str, title: str = "adcli",
            width: int = 110) -> str:
    """What ``renderable`` looks like in a terminal, as an SVG picture (.svg) or plain text."""
    import io

    recorder = Console(record=True, file=io.StringIO(), width=width, force_terminal=True,
                       color_system="truecolor", highlight=False)
    recorder.print(renderable)
    if suffix == ".svg":
        return recorder.export_svg(title=title)
    return recorder.export_text(styles=False)
