"""Rendering: results to rich tables and text for people, and to JSON for programs.

The only module that imports rich.  Numbers are shown with ``repr``: the
shortest text that reads back as the same float64, so nothing is rounded away.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from .grad import GradResult
from .graphview import GraphNode, GraphView
from .trace import InputPaths, Trace, TraceNode

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


# ---------------------------------------------------------------- the computation graph and the trace
# (rich's Tree is only ever given an outline already cut at --depth, so it stays small)

MAX_TRACE_ROWS = 200
"""A longer trace shows its first and last rows; the JSON output always carries every row."""

MAX_SHOWN_TERMS = 12
"""Terms of a sum over paths shown in the terminal; the JSON output carries them all."""


def _node_label(node: GraphNode, role: str, drawn_above: bool) -> Text:
    from .graphview import node_title
    from .trace import number_text

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
    from .graphview import hidden_note, outline

    shape = outline(view, depth)
    heading = Text.assemble(("f", "bold"), " = ", (shorten(view.expression), "cyan"))
    at = Text.assemble("at ", point_text(view.point) or "no variables")
    first = shape.lines[0]
    tree = Tree(_node_label(view.node(first.node), first.role, first.drawn_above),
                guide_style="dim")
    parents: list[Tree] = [tree]
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
    from .trace import partial_text

    lines = []
    for operand, form, value in zip(node.operands, node.partial_forms, node.partials):
        if value is not None:
            lines.append(Text.assemble(indent, (f"∂{node.label}/∂{operand} = ", "dim"),
                                       (partial_text(form, value), "yellow")))
    return lines


def _count_text(count: int) -> str:
    from .trace import PATH_COUNT_CAP

    return f"at least {count:,}" if count >= PATH_COUNT_CAP else f"{count:,}"


def _paths_view(trace: Trace, entry: InputPaths) -> RenderableType:
    start, out = f"w{entry.node}", trace.output
    paths = "path" if entry.path_count == 1 else "paths"
    lines = [Text.assemble(("∂f/∂" + entry.variable, "bold"), " = ",
                           (number(entry.gradient), "green"),
                           f", the sum over {_count_text(entry.path_count)} {paths} from {start} "
                           f"to {out}")]
    if entry.grouped:
        from .trace import MAX_PATHS

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
                            (shorten(trace.expression), "cyan"))
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


def grad_trace_json(result: GradResult, trace: Trace) -> str:
    """The grad JSON object with the trace under ``"trace"``."""
    from .trace import trace_dict

    return to_json({
        "expression": result.expression,
        "point": result.point,
        "value": result.value,
        "gradient": result.gradient,
        "trace": trace_dict(trace),
    })


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
