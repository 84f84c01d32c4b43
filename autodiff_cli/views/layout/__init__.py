"""A layered (Sugiyama-style) layout of a directed acyclic graph, in pure Python.

Generic: it knows boxes and edges, nothing of adcli's AST.  The steps are the
classic ones (Sugiyama, Tagawa and Toda 1981; Gansner et al., "A technique for
drawing directed graphs", 1993):

1. **Ranks.**  Longest path from the sources, so every edge goes from a lower
   rank to a strictly higher one; then each node that has at least as many uses
   as arguments is pulled up next to its first use (as far as its uses allow).
   That is the greedy half of dot's network simplex: an input used only deep in
   the graph sits next to its use, and the sum ``sin(x0) + ... + sin(xn)`` needs
   no dummy nodes at all (with every input on rank 0 it would need n²/2).  When
   edges carry labels the ranks are doubled and each label becomes a node of its
   own in the middle of its edge, as in dot, so labels overlap nothing.
2. **Dummies.**  Edges longer than one rank get a dummy node on every rank they
   pass.  Several long edges leaving the same node share one chain of dummies
   (a trunk) and branch off it just before their targets: a node used at every
   level of a chain costs one dummy per rank, not one per use and rank.  Some
   graphs still need a number of dummies quadratic in their size (x_i used at
   depths i and n - i); past a budget (``max_dummies``) the longest edges are
   drawn as shortcuts instead: straight over the layers between their ends, on
   top of what is there, with only their last step (and label) in the layers.
3. **Order.**  Barycenter sweeps, down and up, at most ``sweeps`` times and
   until a sweep finds nothing better; the ordering with the fewest crossings is
   kept.  Ties keep the current order, so the result depends only on the input.
4. **Coordinates.**  Within a layer, consecutive boxes keep a gap.  Each layer in
   turn is placed at the least-squares optimum given its neighbours (a weighted
   isotonic regression, solved exactly by pool-adjacent-violators), long edges
   weighing most; then median passes make edges straight where there is room,
   and each run of dummies is put on one line when its layers leave room.
   Edges attach to ports spread along the boxes' sides, in the order of their
   other ends, so they do not cross there.
5. **Routes.**  Each edge is a polyline: from its source's side, across each
   layer it passes at its dummy's position (so it never crosses a box), into its
   target's side.  Between layers the segments are slanted; a renderer may draw
   them as curves, which then stay inside the gap.

Everything is iterative, and the work is about O((V + E + dummies) · sweeps · log V).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .graph import Graph
from .order import inversions, order
from .place import place, ports
from .ranks import ranks
from .route import result
from .shapes import LABEL_PAD, ORDER_SWEEPS, PLACE_SWEEPS, PORT_GAP, Direction, Layout, PlacedEdge, PlacedNode

__all__ = ["LABEL_PAD", "ORDER_SWEEPS", "PLACE_SWEEPS", "PORT_GAP", "Direction", "Layout", "PlacedEdge",
           "PlacedNode", "crossings", "layered_layout"]


def crossings(layout: Layout) -> int:
    """How many pairs of segments cross between adjacent layers.

    Two segments between the same layers cross when their ends are in opposite
    orders; counted as inversions.
    """
    by_layer: dict[int, list[tuple[int, int]]] = {}
    for layer, upper, lower in layout.segments:
        by_layer.setdefault(layer, []).append((upper, lower))
    return sum(inversions([lower for _, lower in sorted(pairs)]) for pairs in by_layer.values())




def layered_layout(
    sizes: Mapping[str, tuple[float, float]],
    edges: Sequence[tuple[str, str]],
    *,
    labels: Sequence[tuple[float, float] | None] | None = None,
    direction: Direction = "LR",
    node_gap: float = 20.0,
    rank_gap: float = 40.0,
    sweeps: int = ORDER_SWEEPS,
    max_dummies: int | None = None,
) -> Layout:
    """Lay out the DAG whose nodes have the boxes ``sizes`` (id to width, height).

    ``edges`` are (source, target) pairs, parallel edges allowed; ``labels``, when
    given, has one (width, height) or None per edge.  ``node_gap`` separates
    boxes within a layer, ``rank_gap`` layers (more where edges are steep).
    ``max_dummies`` bounds the dummy nodes that long edges add (by default twice
    the number of nodes, plus 200); past it the longest edges become shortcuts.
    Labels have their own nodes whatever the budget.
    Raises ValueError for unknown ids, self-loops, cycles and bad sizes.
    """
    if direction not in ("LR", "TB"):
        raise ValueError(f"direction must be 'LR' or 'TB', not {direction!r}")
    if labels is not None and len(labels) != len(edges):
        raise ValueError(f"{len(labels)} labels for {len(edges)} edges")
    ids = list(sizes)
    index = {node_id: i for i, node_id in enumerate(ids)}
    for node_id, size in sizes.items():
        _check_size(size, f"node {node_id!r}")
    sources: list[int] = []
    targets: list[int] = []
    for source, target in edges:
        for end in (source, target):
            if end not in index:
                raise ValueError(f"edge {source!r} -> {target!r}: no node {end!r}")
        if source == target:
            raise ValueError(f"edge {source!r} -> {target!r} is a loop")
        sources.append(index[source])
        targets.append(index[target])
    label_sizes = list(labels) if labels is not None else [None] * len(edges)
    for label in label_sizes:
        if label is not None:
            _check_size(label, "a label")
    budget = 2 * len(ids) + 200 if max_dummies is None else max(0, max_dummies)
    graph = Graph(sources, targets, ranks(ids, sources, targets),
                  [sizes[i] for i in ids], label_sizes, direction == "LR", node_gap, budget)
    order(graph, max(0, sweeps))
    ports(graph)
    place(graph)
    return result(graph, ids, direction, rank_gap)


def _check_size(size: tuple[float, float], what: str) -> None:
    width, height = size
    if not (math.isfinite(width) and math.isfinite(height) and width >= 0 and height >= 0):
        raise ValueError(f"{what} has a bad size {width!r} x {height!r}")
