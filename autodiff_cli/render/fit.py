"""A fit's progress columns and its report: parameters with standard errors, the fit
statistics, the correlations (as gnuplot's and lmfit's reports have them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..errors import command_line_spelling
from .console import number, short, title_line
from .descent import Column, sparkline, with_coordinates

if TYPE_CHECKING:
    from ..fit.result import FitResult


def fit_columns(params: Sequence[str], width: int, *, method: str, validation: bool) -> list[Column]:
    """iteration (or epoch), loss, ‖grad‖, λ (lm), the trust radius or line search step (the
    minimize methods) or the step size (descent), the held-out loss, then as many parameters
    as fit in ``width``."""
    from .minimize import TRUST_REGION

    least_squares, minimizer = method == "lm", _minimizer(method)
    step = "step size"
    if least_squares or minimizer:
        step = "λ" if least_squares else "radius" if method in TRUST_REGION else "α"
    columns = [
        Column("iter" if least_squares or minimizer else "epoch", 7, lambda row: str(row.step)),
        Column("rss" if least_squares else "loss", 12, lambda row: short(row.loss)),
        Column("‖grad‖", 11, lambda row: short(row.grad_norm)),
        Column(step, 10, lambda row: short(row.step_size)),
    ]
    if validation:
        columns.append(Column("held-out", 12, lambda row: short(row.validation)))
    return with_coordinates(columns, params, width)


def _percent(value: float) -> str:
    if not math.isfinite(value):
        return number(value)
    return f"{100 * value:.3g}%"


METHOD_NAMES = {"lm": "Levenberg–Marquardt (least squares, exact Jacobian)"}


def _minimizer(method: str) -> bool:
    from ..optimize.minimize_result import METHODS

    return method in METHODS


def _method_name(method: str) -> str:
    """lm's full name; a minimize method with what it is, as ``adcli minimize`` says it."""
    from ..optimize.minimize_result import METHODS

    if method in METHODS:
        return f"{method}: {METHODS[method]}"
    return METHOD_NAMES.get(method, method)


def fit_summary(result: FitResult) -> RenderableType:
    """The report: how the fit ended, the parameters, the statistics, the correlations."""
    style = "green" if result.ok else ("yellow" if result.stop_reason == "interrupted" else "red")
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    rows = f"{result.rows} rows"
    if result.validation_rows:
        rows += f" (and {result.validation_rows} held out)"
    if result.dropped:
        rows += f"; {result.dropped} dropped for missing values"
    head.add_row("data", f"{result.data}: {rows}; target {result.target}")
    method = _method_name(result.method)
    settings = ", ".join(
        f"{k} = {number(v) if isinstance(v, float) else v}" for k, v in result.settings.items()
    )
    head.add_row("method", f"{method} ({settings})" if settings and result.method != "lm" else method)
    head.add_row("loss", result.loss)
    head.add_row("stopped", Text(result.describe(command_line_spelling), style=style))
    iterative = result.method == "lm" or _minimizer(result.method)
    unit = "iterations" if iterative else "epochs"
    count = f"{result.iterations}"
    if result.method == "lm":
        count += f" ({result.steps} evaluations of the residuals)"
    elif iterative:
        count += f" ({result.steps} evaluations of the loss)"
    elif result.steps != result.iterations:
        count += f" ({result.steps} steps)"
    head.add_row(unit, count)
    parts: list[RenderableType] = [title_line(result.expression), head, Text("")]

    table = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False)
    table.add_column("parameter", style="bold")
    table.add_column("value", justify="right")
    errors = result.standard_errors
    relative = result.relative_errors
    if errors is not None and relative is not None:
        table.add_column("standard error", justify="right")
        table.add_column("relative", justify="right")
    for name, value in result.parameters.items():
        cells = [name, number(value)]
        if errors is not None and relative is not None:
            cells += [number(errors[name]), _percent(relative[name])]
        table.add_row(*cells)
    parts += [table, Text("")]

    stats = Table.grid(padding=(0, 2))
    stats.add_column(style="bold")
    stats.add_column()
    if result.residual_sum_of_squares is not None:
        stats.add_row("residual sum of squares", number(result.residual_sum_of_squares))
        stats.add_row(
            "residual standard deviation",
            "undefined"
            if result.residual_standard_deviation is None
            else number(result.residual_standard_deviation),
        )
        stats.add_row("degrees of freedom", str(result.degrees_of_freedom))
        if result.r_squared is not None:
            stats.add_row("R²", number(result.r_squared))
    else:
        stats.add_row(f"loss ({result.loss}, per row)", number(result.loss_value))
    if result.validation_loss is not None:
        stats.add_row("held-out loss", number(result.validation_loss))
    if result.accuracy is not None:
        stats.add_row("accuracy", number(result.accuracy))
    if result.validation_accuracy is not None:
        stats.add_row("held-out accuracy", number(result.validation_accuracy))
    if result.confusion is not None:
        c = result.confusion
        stats.add_row(
            "confusion",
            f"tp {c['tp']}, fp {c['fp']}, tn {c['tn']}, fn {c['fn']} (positive: {result.target} = 1)",
        )
    line = sparkline(result.losses)
    if line:
        stats.add_row("loss", Text(line, style="magenta"))
    stats.add_row("elapsed", f"{result.elapsed:.3g} s")
    parts.append(stats)

    if result.correlation is not None and len(result.parameters) > 1:
        names = list(result.parameters)
        corr = Table(
            box=None,
            padding=(0, 1),
            show_edge=False,
            pad_edge=False,
            title="correlation",
            title_justify="left",
            title_style="bold",
        )
        corr.add_column("")
        for name in names:
            corr.add_column(name, justify="right")
        for name, row in zip(names, result.correlation):
            corr.add_row(name, *(f"{v:.3f}" if math.isfinite(v) else number(v) for v in row))
        parts += [Text(""), corr]
    for warning in result.warnings:
        parts.append(Text.assemble(("warning: ", "bold yellow"), warning))
    return Group(*parts)
