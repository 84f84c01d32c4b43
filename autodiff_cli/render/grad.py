"""The value and gradient as a table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .console import number, point_text, title_line
from .trace import trace_view

if TYPE_CHECKING:
    from ..engine.gradient import GradResult
    from ..views.trace import Trace


def grad_view(result: GradResult, trace: Trace | None = None) -> RenderableType:
    """The value, then a table of the partial derivatives; then the trace, if given."""
    if trace is not None:
        return Group(grad_view(result), Text(""), trace_view(trace))
    heading = title_line(result.expression)
    at = Text.assemble("at ", point_text(result.point) or "no variables")
    value = Text.assemble(("value ", "bold"), number(result.value))
    if not result.gradient:
        return Group(heading, at, value, Text("(no variables to differentiate)", style="dim"))
    table = Table(show_edge=False, box=None, pad_edge=False, padding=(0, 2))
    table.add_column("variable", style="bold")
    table.add_column("at", justify="right")
    table.add_column("∂f/∂variable", justify="right", style="green")
    for name, partial in result.gradient.items():
        table.add_row(name, number(result.point[name]), number(partial))
    return Group(heading, at, value, Text(""), table)
