"""The computation graph as an SVG picture, laid out by :mod:`autodiff_cli.layout`: no Graphviz.

It draws what :func:`autodiff_cli.graphview.to_dot` describes, the same way: inputs on
the left, the output on the right; rounded boxes with each node's title, value and
gradient; variables as light blue pills, constants as plain text, the output with a
thicker border on light green; each edge an arrow with its local partial; the
title on top; and the same cut at a depth (nodes whose arguments are hidden get a
dashed border and a "…" leading into them).

Text is measured by counting characters in a monospace font (0.6 em each), so no
font metrics are needed; the picture names common monospace fonts and embeds none.
The output is deterministic: the same graph gives the same bytes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape

from ..errors import command_line_spelling
from ..views.graph import (
    Cut,
    GraphNode,
    GraphView,
    cut,
    edge_label,
    hidden_note,
    node_lines,
    title,
)
from ..views.layout import Direction, Layout, layered_layout

FONT_FAMILY = "'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace"
ADVANCE = 0.6
"""A monospace character's width, in em."""
NODE_FONT = 12.0
LINE = 15.0
"""Distance between the lines of a node's text."""
PAD_X, PAD_Y = 12.0, 6.0
LABEL_FONT = 10.0
TITLE_FONT = 14.0
NOTE_FONT = 11.0
MARGIN = 16.0

EDGE_COLOUR = "#475569"
TEXT_COLOUR = "#0f172a"
NOTE_COLOUR = "#64748b"
STYLES = {
    "operation": ('fill="#f8fafc" stroke="#334155" stroke-width="1"'),
    "variable": ('fill="#dbeafe" stroke="#1d4ed8" stroke-width="1"'),
    "output": ('fill="#dcfce7" stroke="#15803d" stroke-width="2"'),
}
DASHED = ' stroke-dasharray="5 3"'
MORE = "…"

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def text_width(text: str, size: float) -> float:
    """The estimated width of ``text`` at font ``size``: characters times a monospace advance."""
    return len(text) * size * ADVANCE


def xml_text(text: str) -> str:
    """``text`` escaped for XML content and attribute values; characters XML cannot hold
    (control characters, lone surrogates) become U+FFFD."""
    return escape(_NOT_XML.sub("\ufffd", text), quote=True)


def num(value: float) -> str:
    """A coordinate, compactly: one decimal, no ``.0``, no ``-0``."""
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def node_size(node: GraphNode) -> tuple[float, float]:
    """The box a node's lines need; a variable's pill adds room for its round ends."""
    lines = node_lines(node)
    width = max(text_width(line, NODE_FONT) for line in lines)
    height = len(lines) * LINE
    if node.kind == "constant":
        return width + 8, height + 4
    height += 2 * PAD_Y
    if node.kind == "variable":
        return width + 0.8 * height, height
    return width + 2 * PAD_X, height


@dataclass(frozen=True, slots=True)
class Scene:
    """What :func:`graph_svg` draws: the part of the graph within the depth, laid out."""

    part: Cut
    layout: Layout
    """Nodes: the kept nodes in evaluation order, then a ``more_<id>`` marker per truncated
    node; edges: the kept edges in order, then one from each marker to its node."""
    texts: tuple[str, ...]
    """Each layout edge's label ("" when no gradient flows, and for the markers' edges)."""
    markers: dict[str, str]
    """A marker's id to the id of the truncated node it leads into."""


def scene(view: GraphView, depth: int | None = None, direction: Direction = "LR") -> Scene:
    """Lay out ``view`` cut at ``depth`` as :func:`graph_svg` draws it (the same coordinates
    serve any other drawing of the graph)."""
    part = cut(view, depth)
    kept = set(part.kept)
    sizes: dict[str, tuple[float, float]] = {}
    for node_id in part.kept:
        sizes[node_id] = node_size(view.node(node_id))
    markers = {f"more_{node_id}": node_id for node_id in part.truncated}
    for marker in markers:
        sizes[marker] = (text_width(MORE, NODE_FONT) + 8, LINE + 4)
    edges = [e for e in view.edges if e.source in kept and e.target in kept]
    texts = [edge_label(e) for e in edges] + [""] * len(markers)
    pairs = [(e.source, e.target) for e in edges] + list(markers.items())
    labels: list[tuple[float, float] | None] = [
        (text_width(t, LABEL_FONT) + 4, LABEL_FONT + 2) if t else None for t in texts]
    layout = layered_layout(sizes, pairs, labels=labels, direction=direction)
    return Scene(part, layout, tuple(texts), markers)


def graph_svg(view: GraphView, depth: int | None = None, direction: Direction = "LR") -> str:
    """An SVG picture of ``view``, cut at ``depth`` edges from the output like :func:`to_dot`."""
    drawn = scene(view, depth, direction)
    part, layout, texts, more = drawn.part, drawn.layout, list(drawn.texts), drawn.markers
    truncated = set(part.truncated)

    heading = [(title(view), TITLE_FONT, TEXT_COLOUR)]
    if part.hidden:
        heading.append((hidden_note(part.hidden, depth, command_line_spelling), NOTE_FONT, NOTE_COLOUR))
    heading_height = sum(size * 1.4 for _, size, _ in heading)
    inner = max([layout.width] + [text_width(t, size) for t, size, _ in heading])
    width = inner + 2 * MARGIN
    height = MARGIN + heading_height + 8 + layout.height + MARGIN
    dx = MARGIN + (inner - layout.width) / 2
    dy = MARGIN + heading_height + 8

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{num(width)}" height="{num(height)}" '
        f'viewBox="0 0 {num(width)} {num(height)}" font-family="{xml_text(FONT_FAMILY)}">',
        f"<title>{xml_text(title(view))}</title>",
        "<defs>",
        '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{EDGE_COLOUR}"/></marker>',
        "</defs>",
        f'<rect width="{num(width)}" height="{num(height)}" fill="#ffffff"/>',
    ]
    y = MARGIN
    for text, size, colour in heading:
        y += size * 1.1
        out.append(f'<text x="{num(width / 2)}" y="{num(y)}" text-anchor="middle" '
                   f'font-size="{num(size)}" fill="{colour}">{xml_text(text)}</text>')
        y += size * 0.3

    out.append(f'<g transform="translate({num(dx)},{num(dy)})">')
    out.extend(_edges(view, layout, texts, more))
    out.extend(_nodes(view, layout, truncated, more))
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _edges(view: GraphView, layout: Layout, texts: list[str], more: dict[str, str]) -> list[str]:
    out = [f'<g class="edges" fill="none" stroke="{EDGE_COLOUR}" stroke-width="1.2">']
    places = {n.id: n for n in layout.nodes}
    for placed, text in zip(layout.edges, texts):
        points = list(placed.points)
        source = places[placed.source]
        if placed.source in view.index and view.node(placed.source).kind == "variable":
            points[0] = _on_pill(points[0], source.x, source.y, source.width, source.height,
                                 layout.direction)
        style = ""
        if placed.source in more:
            style = DASHED
        elif not text:
            style = ' stroke-dasharray="2 3"'
        if placed.shortcut:
            style += ' stroke-opacity="0.4"'  # it crosses whatever lies between its ends
        out.append(f'<path d="{_path(points, layout.direction)}"{style} '
                   f'marker-end="url(#arrow)"/>')
    out.append("</g>")
    out.append(f'<g class="edge-labels" font-size="{num(LABEL_FONT)}" fill="{EDGE_COLOUR}" '
               'text-anchor="middle">')
    for placed, text in zip(layout.edges, texts):
        if placed.label is not None and text:
            x, y = placed.label
            out.append(f'<text x="{num(x)}" y="{num(y + LABEL_FONT * 0.35)}">'
                       f"{xml_text(text)}</text>")
    out.append("</g>")
    return out


def _on_pill(point: tuple[float, float], cx: float, cy: float, width: float, height: float,
             direction: Direction) -> tuple[float, float]:
    """Move an edge's start from the pill's bounding box onto its round end (LR only: in TB
    edges leave from the flat side)."""
    y = point[1]
    radius = height / 2
    if direction != "LR" or radius <= 0:
        return point
    dy = min(abs(y - cy), radius)
    return (cx + width / 2 - radius + math.sqrt(radius * radius - dy * dy), y)


def _path(points: list[tuple[float, float]], direction: Direction) -> str:
    """Straight along a layer, an S-curve across the gap between layers."""
    x0, y0 = points[0]
    parts = [f"M{num(x0)},{num(y0)}"]
    for x1, y1 in points[1:]:
        across = num(y0) != num(y1) if direction == "LR" else num(x0) != num(x1)
        if not across:
            parts.append(f"L{num(x1)},{num(y1)}")
        elif direction == "LR":
            mx = (x0 + x1) / 2
            parts.append(f"C{num(mx)},{num(y0)} {num(mx)},{num(y1)} {num(x1)},{num(y1)}")
        else:
            my = (y0 + y1) / 2
            parts.append(f"C{num(x0)},{num(my)} {num(x1)},{num(my)} {num(x1)},{num(y1)}")
        x0, y0 = x1, y1
    return " ".join(parts)


def _nodes(view: GraphView, layout: Layout, truncated: set[str],
           more: dict[str, str]) -> list[str]:
    out = [f'<g class="nodes" font-size="{num(NODE_FONT)}" fill="{TEXT_COLOUR}" '
           'text-anchor="middle">']
    for placed in layout.nodes:
        left, top = placed.x - placed.width / 2, placed.y - placed.height / 2
        if placed.id in more:
            out.append(f'<text class="more" x="{num(placed.x)}" '
                       f'y="{num(placed.y + NODE_FONT * 0.35)}">{MORE}</text>')
            continue
        node = view.node(placed.id)
        kind = node.kind
        classes = [kind] + (["output"] if node.id == view.output else []) + (
            ["truncated"] if node.id in truncated else [])
        out.append(f'<g id="node-{xml_text(node.id)}" class="node {" ".join(classes)}">')
        if kind != "constant" or node.id == view.output:
            style = STYLES["output" if node.id == view.output else
                           "variable" if kind == "variable" else "operation"]
            radius = placed.height / 2 if kind == "variable" else 6.0
            dashes = DASHED if node.id in truncated else ""
            out.append(f'<rect x="{num(left)}" y="{num(top)}" width="{num(placed.width)}" '
                       f'height="{num(placed.height)}" rx="{num(radius)}" {style}{dashes}/>')
        lines = node_lines(node)
        for i, line in enumerate(lines):
            y = placed.y + (i - (len(lines) - 1) / 2) * LINE + NODE_FONT * 0.35
            out.append(f'<text x="{num(placed.x)}" y="{num(y)}">{xml_text(line)}</text>')
        out.append("</g>")
    out.append("</g>")
    return out
