"""The graph as the page draws it: boxes sized by their text, laid out in layers.

The page shows each node's title, value and adjoint, and each edge's local partial, as
:mod:`autodiff_cli.render.svg` does, but the boxes are sized for numbers of a fixed width
(the page prints them to six significant digits) rather than for the numbers at hand.  So
the layout depends on the program alone: it holds still while a slider moves the values,
and it is computed once per program (:func:`page_layout` keeps the last few).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from ..views.graph import GraphEdge, GraphNode, GraphView, node_title
from ..views.layout import layered_layout
from ..views.trace import number_text

NODE_FONT = 12.0
"""The page's font size in nodes, in pixels (the stylesheet says the same)."""
LABEL_FONT = 10.0
ADVANCE = 0.6
"""A monospace character's width, in em."""
LINE = 15.0
PAD_X, PAD_Y = 10.0, 5.0
NUMBER_CHARS = 12
"""Room for a number as the page prints it: ``-1.23457e-10``."""


def edge_form(edge: GraphEdge) -> str | None:
    """The local partial's formula when it says more than its number (``cos(w1)``, ``w2``),
    else None (``1``, ``2``: the number is the formula)."""
    form = edge.local_form
    if form is None or edge.local_partial is None:
        return None
    if form in (repr(float(edge.local_partial)), number_text(edge.local_partial)):
        return None
    return form


def node_shape(node: GraphNode) -> tuple[str, int]:
    """A node's title and how many lines it has: title, value, adjoint (a constant: its
    text, and its value when the text is a name such as ``pi``)."""
    title = node_title(node)
    if node.kind == "constant":
        return title, 1 if node.definition == number_text(node.value) else 2
    return title, 3


def _box(node: GraphNode) -> tuple[float, float]:
    title, lines = node_shape(node)
    chars = max(len(title), len("value ") + NUMBER_CHARS,
                len(f"∂f/∂{node.id} ") + NUMBER_CHARS if lines == 3 else 0)
    width = chars * NODE_FONT * ADVANCE + 2 * PAD_X
    height = lines * LINE + 2 * PAD_Y
    if node.kind == "variable":
        width += height / 2  # the round ends of a pill
    return width, height


def _label(edge: GraphEdge) -> str:
    """The label's text with a placeholder of the widest number: its size, not its content."""
    form = edge_form(edge)
    return f"∂{edge.target}/∂{edge.source} = " + (f"{form} = " if form else "") + "0" * NUMBER_CHARS


def layout_data(view: GraphView) -> dict[str, Any]:
    """Where the page draws each node and edge (inputs left, the output right), and the text
    of the parts that do not change with the values."""
    sizes = {node.id: _box(node) for node in view.nodes}
    pairs = [(edge.source, edge.target) for edge in view.edges]
    labels: list[tuple[float, float] | None] = [
        (len(_label(edge)) * LABEL_FONT * ADVANCE + 6, LABEL_FONT + 4)
        if edge.local_partial is not None else None for edge in view.edges]
    layout = layered_layout(sizes, pairs, labels=labels, direction="LR")
    return {
        "width": layout.width,
        "height": layout.height,
        "nodes": [{
            "id": placed.id, "x": placed.x, "y": placed.y, "width": placed.width,
            "height": placed.height, "title": node_shape(view.node(placed.id))[0],
        } for placed in layout.nodes],
        "edges": [{
            "from": placed.source, "to": placed.target, "argument": edge.position,
            "points": [list(point) for point in placed.points],
            "label": list(placed.label) if placed.label is not None else None,
            "form": edge_form(edge), "shortcut": placed.shortcut,
        } for placed, edge in zip(layout.edges, view.edges)],
    }


_CACHE: OrderedDict[str, dict[str, Any]] = OrderedDict()
_LOCK = threading.Lock()
CACHED = 16
"""Layouts kept, by the program's text: a slider's requests reuse the layout of their program."""


def page_layout(view: GraphView) -> dict[str, Any]:
    """:func:`layout_data` of ``view``, computed once per program text (the layout depends on
    the program, not on the point)."""
    key = view.expression
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    data = layout_data(view)
    with _LOCK:
        _CACHE[key] = data
        while len(_CACHE) > CACHED:
            _CACHE.popitem(last=False)
    return data
