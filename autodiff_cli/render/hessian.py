"""The Hessian as a table, its eigenvalues, and what kind of point this is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .console import number, point_text, title_line

if TYPE_CHECKING:
    from ..engine.hessian import HessianResult


def hessian_view(result: HessianResult) -> RenderableType:
    """The value and gradient, the Hessian as a table, its eigenvalues and what they say."""
    heading = title_line(result.expression)
    at = Text.assemble("at ", point_text(result.point) or "no variables")
    value = Text.assemble(("value ", "bold"), number(result.value))
    if not result.variables:
        return Group(heading, at, value, Text("(no variables to differentiate)", style="dim"))
    gradient = Text.assemble(("gradient ", "bold"), point_text(result.gradient))
    title = Text.assemble(("Hessian", "bold"), " ∂²f/∂row∂column")
    table = Table(show_edge=False, box=None, pad_edge=False, padding=(0, 2))
    table.add_column("", style="bold")
    for name in result.variables:
        table.add_column(name, justify="right", style="green")
    for name, row in zip(result.variables, result.matrix):
        table.add_row(name, *(number(v) for v in row))
    if result.eigenvalues is None:
        eigen = Text("eigenvalues: undefined (the Hessian has non-finite entries)", style="yellow")
    else:
        eigen = Text.assemble(("eigenvalues ", "bold"), ", ".join(number(v) for v in result.eigenvalues))
    if result.eigenvalues is None:
        verdict = Text(result.classification)
    else:
        verdict = Text.assemble((result.definiteness, "bold"), ": ", result.classification)
    return Group(heading, at, value, gradient, Text(""), title, table, Text(""), eigen, verdict)
