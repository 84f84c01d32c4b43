"""Rendering: results to rich tables and text for people, and to JSON for programs.

The only module that imports rich.  Numbers are shown with ``repr``: the
shortest text that reads back as the same float64, so nothing is rounded away.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..expr import one_line

if TYPE_CHECKING:
    from ..check.point import CheckReport, PointCheck, VariableCheck
    from ..engine.gradient import GradResult
    from ..engine.hessian import HessianResult
    from ..engine.symbolic import DiffResult
    from ..optimize.descent import DescentResult, Row
    from ..views.graph import GraphNode, GraphView
    from ..views.trace import InputPaths, Trace, TraceNode

MAX_SHOWN_EXPRESSION = 120
"""Longer expressions are shortened in tables; JSON always carries them whole."""


def title_line(expression: str) -> Text:
    """``f = <the expression on one line>``."""
    return Text.assemble(("f", "bold"), " = ", (one_line(expression, MAX_SHOWN_EXPRESSION), "cyan"))


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


def grad_json(result: GradResult, trace: Trace | None = None) -> str:
    """The grad JSON object; with a trace, the trace under ``"trace"``."""
    data: dict[str, Any] = {
        "expression": result.expression,
        "point": result.point,
        "value": result.value,
        "gradient": result.gradient,
    }
    if trace is not None:
        from ..views.trace import trace_dict

        data["trace"] = trace_dict(trace)
    return to_json(data)


# ---------------------------------------------------------------- tables


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


# ---------------------------------------------------------------- check

CHECK_SHOWN_POINTS = 10
"""With many points, the table of points shows this many, worst first; JSON has them all."""

_METHOD_WORDS = {
    "central": "central differences",
    "forward": "forward differences",
    "richardson": "Richardson extrapolation of central differences",
}


def two_digits(value: float) -> str:
    """An error or a tolerance, to two significant digits (JSON keeps every digit)."""
    return f"{value:.2g}"


def _variable_json(check: VariableCheck) -> dict[str, Any]:
    fields = {"autodiff": check.autodiff, "numeric": check.numeric, "abs_error": check.abs_error,
              "rel_error": check.rel_error, "step": check.step,
              "error_estimate": check.error_estimate, "ok": check.ok, "kink": check.kink,
              "note": check.note}
    if check.forward is not None:
        fields["forward"] = check.forward
    return fields


def check_json(report: CheckReport) -> str:
    """The whole report: the verdict and largest errors first, then every point, worst first."""
    settings = report.settings
    head: dict[str, Any] = {
        "ok": report.ok,
        "max_abs_error": report.max_abs_error,
        "max_rel_error": report.max_rel_error,
        "failures": report.failures,
        "expression": report.expression,
        "method": settings.method,
        "mode": settings.mode,
        "eps": settings.eps,
        "rtol": settings.rtol,
        "atol": settings.atol,
        "wrt": list(report.wrt),
    }
    if settings.points is not None:
        head.update(seed=settings.seed, range=list(settings.sample_range), drawn=list(report.drawn))
    head["points"] = [{
        "index": point.index,
        "point": point.point,
        "value": point.value,
        "ok": point.ok,
        "max_abs_error": point.max_abs_error,
        "max_rel_error": point.max_rel_error,
        "note": point.note,
        "variables": {v.name: _variable_json(v) for v in point.variables},
    } for point in report.points]
    return to_json(head)


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


class LiveProgress:
    """The live progress table of a descent: the last rows, redrawn a few times a second at
    most (rows can arrive thousands of times a second), and once more at the end."""

    REFRESH_SECONDS = 0.2
    SHOWN_ROWS = 20

    def __init__(self, out: Console, variables: Sequence[str], enabled: bool = True) -> None:
        self.out, self.variables, self.enabled = out, variables, enabled
        self.rows: list[Row] = []
        self._shown = 0.0
        self._live: Any = None

    def __enter__(self) -> LiveProgress:
        if self.enabled:
            from rich.live import Live

            self._live = Live(console=self.out, auto_refresh=False, transient=False)
            self._live.__enter__()
        return self

    def add(self, row: Row) -> None:
        self.rows.append(row)
        del self.rows[:-self.SHOWN_ROWS]
        now = time.monotonic()
        if self._live is not None and now - self._shown >= self.REFRESH_SECONDS:
            self._draw()
            self._shown = now

    def _draw(self) -> None:
        self._live.update(descent_table(self.rows, self.variables, self.out.width), refresh=True)

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            if self.rows:
                self._draw()
            self._live.__exit__(*exc)


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


# ---------------------------------------------------------------- the computation graph and the trace
# (rich's Tree is only ever given an outline already cut at --depth, so it stays small)

MAX_TRACE_ROWS = 200
"""A longer trace shows its first and last rows; the JSON output always carries every row."""

MAX_SHOWN_TERMS = 12
"""Terms of a sum over paths shown in the terminal; the JSON output carries them all."""


def _node_label(node: GraphNode, role: str, drawn_above: bool) -> Text:
    from ..views.graph import node_title
    from ..views.trace import number_text

    label = Text(node_title(node), style="bold" if node.kind != "constant" else "")
    if role == "shared":
        label.stylize("dim")
        where = "above" if drawn_above else "below"
        label.append(f"  ↺ used again: drawn {where}", style="dim italic")
        return label
    if node.kind != "constant" or node.definition != number_text(node.value):
        label.append("  value ", style="dim")
        label.append(number(node.value), style="cyan")
    if node.gradient is not None:
        label.append("  grad ", style="dim")
        label.append(number(node.gradient), style="green")
    if role == "cut":
        label.append("  … arguments below --depth", style="dim italic")
    return label


def graph_tree(view: GraphView, depth: int) -> RenderableType:
    """The computation graph as a tree from the output down, each node with value and gradient."""
    from ..views.graph import hidden_note, outline

    shape = outline(view, depth)
    heading = title_line(view.expression)
    at = Text.assemble("at ", point_text(view.point) or "no variables")
    first = shape.lines[0]
    from rich.tree import Tree  # only this view needs it

    tree = Tree(_node_label(view.node(first.node), first.role, first.drawn_above),
                guide_style="dim")
    parents: list[Any] = [tree]
    for line in shape.lines[1:]:
        del parents[line.depth:]
        parents.append(parents[-1].add(_node_label(view.node(line.node), line.role,
                                                   line.drawn_above)))
    parts: list[RenderableType] = [heading, at, Text(""), tree]
    if shape.hidden:
        parts.append(Text(f"… {hidden_note(shape.hidden, depth)}; raise --depth to see more",
                          style="yellow"))
    return Group(*parts)


def _partial_lines(node: TraceNode, indent: str) -> list[Text]:
    """One line per local partial: ``∂w3/∂w1 = cos(w1) = 0.5403023058681398``."""
    from ..views.trace import partial_text

    lines = []
    for operand, form, value in zip(node.operands, node.partial_forms, node.partials):
        if value is not None:
            lines.append(Text.assemble(indent, (f"∂{node.label}/∂{operand} = ", "dim"),
                                       (partial_text(form, value), "yellow")))
    return lines


def _count_text(count: int) -> str:
    from ..views.trace import PATH_COUNT_CAP

    return f"at least {count:,}" if count >= PATH_COUNT_CAP else f"{count:,}"


def _paths_view(trace: Trace, entry: InputPaths) -> RenderableType:
    start, out = f"w{entry.node}", trace.output
    paths = "path" if entry.path_count == 1 else "paths"
    lines = [Text.assemble(("∂f/∂" + entry.variable, "bold"), " = ",
                           (number(entry.gradient), "green"),
                           f", the sum over {_count_text(entry.path_count)} {paths} from {start} "
                           f"to {out}")]
    if entry.grouped:
        from ..views.trace import MAX_PATHS

        why = "too many" if entry.path_count > MAX_PATHS else "too long"
        lines[0].append(f"; {why} to list, so grouped by first edge: ∂wj/∂{start}·∂f/∂wj",
                        style="dim")
    for term in entry.terms[:MAX_SHOWN_TERMS]:
        route = " → ".join(f"w{i}" for i in term.nodes) + (" → …" if entry.grouped else "")
        if len(term.nodes) == 1:
            route += " (f itself)"
        lines.append(Text.assemble("  ", (route, "dim"), ": ", "·".join(term.factors) or "1",
                                   " = ", (number(term.value), "cyan")))
    hidden = len(entry.terms) - MAX_SHOWN_TERMS
    if hidden > 0:
        lines.append(Text(f"  … and {hidden:,} more terms (--json lists them all)", style="dim"))
        formula = f"  the sum of the {len(entry.terms):,} terms"
    else:
        formula = "  " + " + ".join("·".join(t.factors) or "1" for t in entry.terms)
    total = Text.assemble(formula, " = ", (number(entry.total), "green"))
    if entry.total != entry.gradient:
        total.append(f"  (backpropagation, summing in another order: {number(entry.gradient)})",
                     style="dim")
    lines.append(total)
    return Group(*lines)


def trace_view(trace: Trace) -> RenderableType:
    """The evaluation trace w1 ... wn, then each input's gradient as a sum over paths."""
    heading = Text.assemble(("evaluation trace", "bold"), " of f = ",
                            (one_line(trace.expression, MAX_SHOWN_EXPRESSION), "cyan"))
    if not trace.nodes:
        return Group(heading, Text(f"f is the constant {trace.output} = {number(trace.value)}: "
                                   "there is nothing to trace"))
    rows = trace.nodes
    skipped = 0
    if len(rows) > MAX_TRACE_ROWS:
        half = MAX_TRACE_ROWS // 2
        skipped = len(rows) - 2 * half
        rows = rows[:half] + rows[-half:]
    # Aligned columns drawn by hand rather than a Table, so that the partials under each row
    # can run across the columns, and numbers are never cut short on a narrow terminal.
    labels = [n.label if n.name is None or n.op is None else f"{n.label} ({n.name})" for n in rows]
    values = [number(n.value) for n in rows]
    adjoints = [number(n.adjoint) if n.adjoint is not None else "—" for n in rows]
    definitions = min(24, max(len(n.definition) for n in rows))
    widths = (max(map(len, [*labels, "node"])), max(definitions, len("definition")),
              max(map(len, [*values, "value"])), max(map(len, [*adjoints, "adjoint ∂f/∂wi"])))
    table: list[Text] = [Text.assemble(
        ("node".ljust(widths[0]), "bold"), "  ", ("definition".ljust(widths[1]), "bold"), "  ",
        ("value".rjust(widths[2]), "bold"), "  ", ("adjoint ∂f/∂wi".rjust(widths[3]), "bold"))]
    for i, node in enumerate(rows):
        if skipped and i == MAX_TRACE_ROWS // 2:
            table.append(Text(f"⋮ {skipped:,} more nodes (--json gives them all)", style="dim"))
        table.append(Text.assemble(
            (labels[i].ljust(widths[0]), "bold"), "  ", node.definition.ljust(widths[1]), "  ",
            (values[i].rjust(widths[2]), "cyan"), "  ", (adjoints[i].rjust(widths[3]), "green")))
        table.extend(_partial_lines(node, " " * (widths[0] + 4)))
    parts: list[RenderableType] = [heading, Text(""), *table, Text(""),
                                   Text.assemble(("f", "bold"), f" = {trace.output} = ",
                                                 (number(trace.value), "cyan"))]
    if trace.paths:
        parts += [Text(""), Text("chain rule: ∂f/∂w = Σ over paths w → f of ∏ local partials "
                                 "along the path", style="bold")]
        for i, entry in enumerate(trace.paths):
            parts += [Text("")] if i else []
            parts.append(_paths_view(trace, entry))
    return Group(*parts)


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
