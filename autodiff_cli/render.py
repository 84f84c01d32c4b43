"""Rendering: results to rich tables and text for people, and to JSON for programs.

The only module that imports rich.  Numbers are shown with ``repr``: the
shortest text that reads back as the same float64, so nothing is rounded away.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from .expr import one_line

if TYPE_CHECKING:
    from .grad import GradResult
    from .optimize import DescentResult, Row

MAX_SHOWN_EXPRESSION = 120
"""Longer expressions are shortened in tables; JSON always carries them whole."""


def number(value: float) -> str:
    """A float at full precision: ``repr`` round-trips."""
    return repr(float(value))


def point_text(point: Mapping[str, float]) -> str:
    return ", ".join(f"{name} = {number(v)}" for name, v in point.items())


# ---------------------------------------------------------------- JSON


def jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as the strings "nan", "inf", "-inf"."""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """Strict JSON (no NaN or Infinity literals); floats keep full precision."""
    import json

    return json.dumps(jsonable(value), ensure_ascii=False, allow_nan=False)


def grad_json(result: GradResult) -> str:
    return to_json({
        "expression": result.expression,
        "point": result.point,
        "value": result.value,
        "gradient": result.gradient,
    })


# ---------------------------------------------------------------- tables


def grad_view(result: GradResult) -> RenderableType:
    """The value, then a table of the partial derivatives."""
    heading = Text.assemble(("f", "bold"), " = ", (one_line(result.expression, MAX_SHOWN_EXPRESSION), "cyan"))
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


def error_text(message: str) -> Text:
    return Text.assemble(("error: ", "bold red"), message)


def warning_text(message: str) -> Text:
    return Text.assemble(("warning: ", "bold yellow"), message)


def console(stderr: bool = False) -> Console:
    """A console for stdout or stderr; rich honours NO_COLOR and non-terminal output."""
    return Console(stderr=stderr, highlight=False)


# ---------------------------------------------------------------- descent

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


def short(value: float) -> str:
    """A compact number for progress tables (the summary keeps full precision)."""
    return f"{value:.6g}"


def descent_table(rows: Sequence[Row], variables: Sequence[str], width: int) -> Table:
    """Progress rows; the variables' columns when they fit in ``width``."""
    table = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold")
    table.add_column("step", justify="right")
    table.add_column("loss", justify="right")
    table.add_column("‖grad‖", justify="right")
    table.add_column("step size", justify="right")
    shown = [v for v in variables][: max(0, (width - 48) // 13)]
    for name in shown:
        table.add_column(name, justify="right", style="cyan")
    for row in rows:
        table.add_row(str(row.step), short(row.loss), short(row.grad_norm), short(row.step_size),
                      *[short(row.point[n]) for n in shown])
    return table


def descent_summary(result: DescentResult) -> RenderableType:
    """How the descent ended, with full-precision numbers."""
    style = "green" if result.ok else ("yellow" if result.stop_reason == "interrupted" else "red")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("stopped", Text(result.message, style=style))
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


def descent_json(result: DescentResult) -> str:
    return to_json({
        "expression": result.expression,
        "optimizer": result.optimizer,
        "settings": result.settings,
        "start": result.start,
        "point": result.point,
        "value": result.value,
        "grad_norm": result.grad_norm,
        "steps": result.steps,
        "stop_reason": result.stop_reason,
        "message": result.message,
        "elapsed": result.elapsed,
        "losses": list(result.losses),
    })
