"""Rendering: results to rich tables and text for people, and to JSON for programs.

The only module that imports rich.  Numbers are shown with ``repr``: the
shortest text that reads back as the same float64, so nothing is rounded away.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from .grad import GradResult

if TYPE_CHECKING:
    from .hessian import HessianResult
    from .symbolic import DiffResult

MAX_SHOWN_EXPRESSION = 120
"""Longer expressions are shortened in tables; JSON always carries them whole."""


def number(value: float) -> str:
    """A float at full precision: ``repr`` round-trips."""
    return repr(float(value))


def shorten(text: str, limit: int = MAX_SHOWN_EXPRESSION) -> str:
    """One line of at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


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
    heading = Text.assemble(("f", "bold"), " = ", (shorten(result.expression), "cyan"))
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


# ---------------------------------------------------------------- diff: symbolic derivatives


def _derivative_label(name: str, order: int) -> str:
    return f"∂/∂{name}" if order == 1 else f"∂^{order}/∂{name}^{order}"


def diff_text(result: DiffResult) -> str:
    """The derivatives as adcli programs; several are headed by comments, so each block reads back."""
    if not result.derivatives:
        return "# no variables to differentiate"
    if len(result.derivatives) == 1:
        return next(iter(result.derivatives.values()))
    return "\n\n".join(f"# {_derivative_label(name, result.order)}\n{text}"
                       for name, text in result.derivatives.items())


def diff_json(result: DiffResult) -> str:
    return to_json({
        "expression": result.expression,
        "order": result.order,
        "derivatives": result.derivatives,
    })


# ---------------------------------------------------------------- hessian


def hessian_json(result: HessianResult) -> str:
    return to_json({
        "expression": result.expression,
        "point": result.point,
        "value": result.value,
        "gradient": result.gradient,
        "variables": list(result.variables),
        "hessian": [list(row) for row in result.matrix],
        "eigenvalues": None if result.eigenvalues is None else list(result.eigenvalues),
        "definiteness": result.definiteness,
        "critical": result.critical,
        "classification": result.classification,
    })


def hessian_view(result: HessianResult) -> RenderableType:
    """The value and gradient, the Hessian as a table, its eigenvalues and what they say."""
    heading = Text.assemble(("f", "bold"), " = ", (shorten(result.expression), "cyan"))
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
