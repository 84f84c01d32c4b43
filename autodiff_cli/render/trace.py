"""The evaluation trace w1 ... wn and each gradient as a sum over paths."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text

from ..expr import one_line
from .console import MAX_SHOWN_EXPRESSION, number

if TYPE_CHECKING:
    from ..views.trace import InputPaths, Trace, TraceNode


MAX_TRACE_ROWS = 200
"""A longer trace shows its first and last rows; the JSON output always carries every row."""


MAX_SHOWN_TERMS = 12
"""Terms of a sum over paths shown in the terminal; the JSON output carries them all."""


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
