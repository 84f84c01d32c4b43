"""A run's progress log in the terminal, and a descent's summary."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from ..errors import command_line_spelling
from ..optimize.run import Sink
from .console import number, point_text, short

if TYPE_CHECKING:
    from ..optimize.descent import DescentResult


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 40) -> str:
    """The values as a row of block characters; log scale when they span decades."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    if len(finite) > width:  # keep the first and last, evenly between
        step = (len(finite) - 1) / (width - 1)
        finite = [finite[round(i * step)] for i in range(width)]
    low, high = min(finite), max(finite)
    if low > 0 and high / low > 1e3:
        finite = [math.log10(v) for v in finite]
        low, high = min(finite), max(finite)
    if high == low:
        return SPARK[0] * len(finite)
    return "".join(SPARK[min(7, int((v - low) / (high - low) * 8))] for v in finite)


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a progress log: its title, its width, and the cell of a row."""

    title: str
    width: int
    cell: Callable[[Any], str]


def descent_columns(variables: Sequence[str], width: int) -> list[Column]:
    """step, loss, ‖grad‖ and step size, then as many of the variables as fit in ``width``."""
    columns = [Column("step", 9, lambda row: str(row.step)),
               Column("loss", 12, lambda row: short(row.loss)),
               Column("‖grad‖", 12, lambda row: short(row.grad_norm)),
               Column("step size", 10, lambda row: short(row.step_size))]
    return with_coordinates(columns, variables, width)


def with_coordinates(columns: list[Column], names: Sequence[str], width: int) -> list[Column]:
    """``columns``, then a column for each of ``names`` (the row's ``point``) while they fit
    in ``width``: the progress logs of descend, minimize and fit."""
    used = sum(c.width + 1 for c in columns)
    for name in names:
        if used + 13 > width:
            break
        columns.append(Column(name[:12], 12, _coordinate(name)))
        used += 13
    return columns


def _coordinate(name: str) -> Callable[[Any], str]:
    return lambda row: short(row.point[name])


class ProgressLog(Sink):
    """A run's progress rows as a log in the terminal: a header, then a line per row, so that
    the rows stay in the scrollback as a training log's do.  Every row the run yields is
    printed: the run picks them (every ``every`` steps, about 20 by default, and at least one
    a second; a minimizer's first iterations, then fewer)."""

    def __init__(self, out: Console, columns: Sequence[Column], enabled: bool = True) -> None:
        self.out, self.columns, self.enabled = out, list(columns), enabled
        self._header = False

    def _line(self, cells: Sequence[str], style: str = "") -> Text:
        text = Text(" ".join(cell.rjust(column.width) for cell, column in zip(cells, self.columns)),
                    style=style)
        text.no_wrap = True
        return text

    def row(self, row: Any) -> None:
        if not self.enabled:
            return
        if not self._header:
            self.out.print(self._line([c.title for c in self.columns], "bold"), crop=False)
            self._header = True
        self.out.print(self._line([c.cell(row) for c in self.columns]), crop=False)


def descent_summary(result: DescentResult) -> RenderableType:
    """How the descent ended, with full-precision numbers."""
    style = "green" if result.ok else ("yellow" if result.stop_reason == "interrupted" else "red")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("stopped", Text(result.describe(command_line_spelling), style=style))
    grid.add_row("optimizer", result.optimizer + " (" + ", ".join(
        f"{k} = {number(v)}" for k, v in result.settings.items()) + ")")
    grid.add_row("steps", str(result.steps))
    grid.add_row("value", number(result.value))
    grid.add_row("‖grad‖", number(result.grad_norm))
    grid.add_row("point", point_text(result.point))
    grid.add_row("start", point_text(result.start))
    grid.add_row("elapsed", f"{result.elapsed:.3g} s")
    line = sparkline(result.losses)
    if line:
        grid.add_row("loss", Text(line, style="magenta"))
    return grid
