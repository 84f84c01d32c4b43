"""The computation graph as a tree in the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.text import Text

from ..errors import command_line_spelling
from .console import number, point_text, title_line

if TYPE_CHECKING:
    from ..views.graph import GraphNode, GraphView


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
        note = hidden_note(shape.hidden, depth, command_line_spelling)
        parts.append(Text(f"… {note}; raise --depth to see more", style="yellow"))
    return Group(*parts)
