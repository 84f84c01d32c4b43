"""The Hessian as a table, its eigenvalues, and what kind of point this is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .console import number, point_text, title_line

if TYPE_CHECKING:
    from ..engine.hessian import HessianResult


SHOWN_ROWS = 30
"""A larger Hessian shows this many rows in the terminal; --json has the whole matrix."""
SHOWN_EIGENVALUES = 12
"""More eigenvalues than this show the smallest and the largest halves of it."""


def _fitting_columns(names: Sequence[str], cells: Sequence[Sequence[str]], width: int) -> int:
    """How many of the matrix's columns fit in ``width`` beside the row names (at least one)."""
    used = max(len(name) for name in names)
    for j, name in enumerate(names):
        used += 4 + max(len(name), *(len(row[j]) for row in cells))  # padding 2 each side
        if used > width:
            return max(1, j)
    return len(names)


def _eigenvalues(values: Sequence[float]) -> str:
    if len(values) <= SHOWN_EIGENVALUES:
        return ", ".join(number(v) for v in values)
    half = SHOWN_EIGENVALUES // 2
    return (", ".join(number(v) for v in values[:half]) + f", … ({len(values) - 2 * half:,} more) …, "
            + ", ".join(number(v) for v in values[-half:]))


def hessian_view(result: HessianResult, width: int = 80) -> RenderableType:
    """The value and gradient, the Hessian as a table of what fits in ``width`` columns of
    text (and at most SHOWN_ROWS rows), its eigenvalues and what they say."""
    heading = title_line(result.expression)
    at = Text.assemble("at ", point_text(result.point) or "no variables")
    value = Text.assemble(("value ", "bold"), number(result.value))
    if not result.variables:
        return Group(heading, at, value, Text("(no variables to differentiate)", style="dim"))
    gradient = Text.assemble(("gradient ", "bold"), point_text(result.gradient))
    title = Text.assemble(("Hessian", "bold"), " ∂²f/∂row∂column")
    names = result.variables
    rows = min(len(names), SHOWN_ROWS)
    cells = [[number(v) for v in row] for row in result.matrix[:rows]]
    columns = _fitting_columns(names, cells, width)
    table = Table(show_edge=False, box=None, pad_edge=False, padding=(0, 2))
    table.add_column("", style="bold", no_wrap=True)
    for name in names[:columns]:
        table.add_column(name, justify="right", style="green", no_wrap=True)
    for name, row in zip(names[:rows], cells):
        table.add_row(name, *row[:columns])
    parts: list[RenderableType] = [heading, at, value, gradient, Text(""), title, table]
    if columns < len(names) or rows < len(names):
        parts.append(Text(f"… showing {columns} of {len(names)} columns and {rows} of {len(names)} rows; "
                          "--json prints the whole matrix", style="dim"))
    if result.eigenvalues is None:
        eigen = Text("eigenvalues: undefined (the Hessian has non-finite entries)", style="yellow")
        verdict = Text(result.classification)
    else:
        eigen = Text.assemble(("eigenvalues ", "bold"), _eigenvalues(result.eigenvalues))
        verdict = Text.assemble((result.definiteness, "bold"), ": ", result.classification)
    return Group(*parts, Text(""), eigen, verdict)
