"""A gradient check's report: what was compared and how, the worst point, the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .console import number, point_text, title_line, two_digits

if TYPE_CHECKING:
    from ..check.report import CheckReport, PointCheck


CHECK_SHOWN_POINTS = 10
"""With many points, the table of points shows this many, worst first; JSON has them all."""


_METHOD_WORDS = {
    "central": "central differences",
    "forward": "forward differences",
    "richardson": "Richardson extrapolation of central differences",
}


def _verdict(report: CheckReport) -> Text:
    errors = (f"max abs error {two_digits(report.max_abs_error)}, "
              f"max rel error {two_digits(report.max_rel_error)}")
    count = len(report.points)
    if report.ok:
        where = f" at all {count} points" if count > 1 else ""
        agree = ("reverse mode, forward mode and the numeric estimates agree"
                 if report.settings.mode == "forward" else "every derivative agrees")
        return Text.assemble(("PASS", "bold green"), f": {agree}{where} ({errors})")
    if count > 1:
        return Text.assemble(("FAIL", "bold red"), f": {report.failures} of {count} points fail, "
                             f"the worst shown first ({errors})")
    failed = [v.name for v in report.points[0].variables if not v.ok]
    verb = "fails" if len(failed) == 1 else "fail"
    return Text.assemble(("FAIL", "bold red"), f": {', '.join(failed)} {verb} ({errors})")


def _point_table(point: PointCheck, report: CheckReport) -> RenderableType:
    """One row per variable: the step, both derivatives (digits fold rather than vanish when
    the console is narrow), the errors and the result; then the notes."""
    forward = report.settings.mode == "forward"
    estimate = report.settings.method == "richardson"
    table = Table(show_edge=False, box=None, pad_edge=False, padding=(0, 1),
                  collapse_padding=True)
    table.add_column("var", style="bold", overflow="fold")
    table.add_column("step", justify="right")
    table.add_column("autodiff", justify="right", overflow="fold", style="green")
    table.add_column("numeric", justify="right", overflow="fold")
    if estimate:
        table.add_column("± est.", justify="right")
    table.add_column("abs err", justify="right")
    table.add_column("rel err", justify="right")
    if forward:
        table.add_column("fwd-rev", justify="right")
    table.add_column("result")
    for v in point.variables:
        row = [v.name, two_digits(v.step), number(v.autodiff), number(v.numeric)]
        if estimate:
            row.append(two_digits(v.error_estimate) if v.error_estimate is not None else "")
        row += [two_digits(v.abs_error), two_digits(v.rel_error)]
        if forward:
            row.append(two_digits(v.forward - v.autodiff) if v.forward is not None else "")
        table.add_row(*row, Text("pass", "green") if v.ok else Text("FAIL", "bold red"))
    notes = [Text.assemble((f"{v.name}: ", "bold"), (v.note, "yellow" if v.ok else "red"))
             for v in point.variables if v.note]
    return Group(table, *notes) if notes else table


def _points_table(report: CheckReport) -> RenderableType:
    table = Table(show_edge=False, box=None, pad_edge=False, padding=(0, 1),
                  collapse_padding=True)
    table.add_column("#", justify="right")
    table.add_column("point")
    table.add_column("max abs err", justify="right")
    table.add_column("max rel err", justify="right")
    table.add_column("result")
    for point in report.points[:CHECK_SHOWN_POINTS]:
        table.add_row(str(point.index), point_text(point.point), two_digits(point.max_abs_error),
                      two_digits(point.max_rel_error),
                      Text("pass", "green") if point.ok else Text("FAIL", "bold red"))
    rows: list[RenderableType] = [Text("points, worst first", style="bold"), table]
    hidden = report.points[CHECK_SHOWN_POINTS:]
    if hidden:
        failing = sum(not p.ok for p in hidden)
        state = f"{failing} of them failing" if failing else "all passing"
        rows.append(Text(f"… and {len(hidden)} more, {state} (--json lists every point)",
                         style="dim"))
    return Group(*rows)


def check_view(report: CheckReport) -> RenderableType:
    """What was compared and how, the worst point's table, the points, and the verdict."""
    settings = report.settings
    heading = title_line(report.expression)
    step = "step chosen per variable" if settings.eps is None else f"step {number(settings.eps)}"
    how = Text(f"{_METHOD_WORDS[settings.method]}, {step}\n"
               f"pass: |autodiff - numeric| <= {two_digits(settings.atol)} + "
               f"{two_digits(settings.rtol)}*|numeric|", style="dim")
    parts: list[RenderableType] = [heading]
    worst, many = report.points[0], len(report.points) > 1
    if many:
        low, high = settings.sample_range
        drawn = ", ".join(report.drawn) or "no variable"
        parts.append(Text(f"{len(report.points)} points: {drawn} drawn from "
                          f"[{number(low)}, {number(high)}] (seed {settings.seed})"))
    parts.append(how)
    if not worst.variables:
        parts += [Text(""), Text("(no variables to check)", style="dim")]
    else:
        at = Text.assemble(("worst point", "bold") if many else "at", " ",
                           point_text(worst.point), "  (value ", number(worst.value), ")")
        parts += [Text(""), at, _point_table(worst, report)]
    if many:
        parts += [Text(""), _points_table(report)]
    parts += [Text(""), _verdict(report)]
    return Group(*parts)
