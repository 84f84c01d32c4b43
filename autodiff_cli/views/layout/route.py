"""Routes: the layout's nodes and each edge's polyline, in the chosen direction."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from .graph import Graph
from .shapes import LABEL_PAD, Direction, Layout, PlacedEdge, PlacedNode


def result(g: Graph, ids: Sequence[str], direction: Direction, rank_gap: float) -> Layout:
    p, rank, head, tail = g.p, g.rank, g.head, g.tail
    count = len(g.layers)
    thickness = [max((g.thick[v] for v in layer), default=0.0) for layer in g.layers]
    steepest = [0.0] * count
    for e in range(len(tail)):
        slant = abs(p[head[e]] + g.port_head[e] - p[tail[e]] - g.port_tail[e])
        r = rank[tail[e]]
        steepest[r] = max(steepest[r], slant)
    # Steep edges get a little more room between layers, up to twice the gap.
    start = [0.0] * count
    at = 0.0
    for r in range(count):
        start[r] = at
        at += thickness[r]
        if r + 1 < count:
            at += min(max(rank_gap, steepest[r] / 4), 2 * rank_gap)

    low = min((p[v] + g.low[v] for v in range(len(p))), default=0.0)
    high = max((p[v] + g.high[v] for v in range(len(p))), default=0.0)

    def point(r_axis: float, p_axis: float) -> tuple[float, float]:
        return (r_axis, p_axis - low) if g.across else (p_axis - low, r_axis)

    def middle(v: int) -> float:
        return start[rank[v]] + thickness[rank[v]] / 2

    nodes = []
    for v, node_id in enumerate(ids):
        x, y = point(middle(v), p[v])
        along = g.high[v] - g.low[v]
        width, height = (g.thick[v], along) if g.across else (along, g.thick[v])
        nodes.append(PlacedNode(node_id, x, y, width, height, rank[v], g.pos[v]))

    def band(v: int) -> list[tuple[float, float]]:
        """Across the layer of a virtual vertex, at its position."""
        r = rank[v]
        return [(start[r], p[v]), (start[r] + thickness[r], p[v])]

    def leave(s: int, e: int) -> list[tuple[float, float]]:
        """From a source's side to the end of its layer, at the port of edge e."""
        at = p[s] + (g.port_tail[e] if e >= 0 else 0.0)
        return [(middle(s) + g.thick[s] / 2, at), (start[rank[s]] + thickness[rank[s]], at)]

    # A trunk's route is made once (without the points a straight run does not need);
    # each edge along it copies the part up to where it branches off.
    trunk_routes: dict[int, tuple[list[tuple[float, float]], list[int]]] = {}
    for s, trunk in g.trunks.items():
        raw = leave(s, trunk[0])
        for e in trunk:
            raw.extend(band(head[e]))
        trunk_routes[s] = _route(raw)

    placed = []
    for e, path in enumerate(g.paths):
        s, t = g.sources[e], g.targets[e]
        if g.via[e]:
            kept, indices = trunk_routes[s]
            # Vertex j of the trunk ends at raw point 2j + 3; this edge leaves at j = via - 1.
            end = 2 * g.via[e] + 1
            cut = bisect_right(indices, end)
            points = kept[:cut]
            if indices[cut - 1] < end:
                points.append((start[rank[tail[path[0]]]] + thickness[rank[tail[path[0]]]],
                               p[tail[path[0]]]))
        elif g.jumps[e]:
            points = leave(s, -1)
            if path:
                points.extend(band(tail[path[0]]))
        else:
            points = leave(s, path[0])
        for layered in path[:-1]:
            points.extend(band(head[layered]))
        arriving = p[t] + (g.port_head[path[-1]] if path else 0.0)
        points.append((start[rank[t]], arriving))
        points.append((middle(t) - g.thick[t] / 2, arriving))
        route = _route(points)[0]
        label = None
        v = g.label_vertex[e]
        if v >= 0:
            label = point(middle(v), p[v] + (g.low[v] + g.high[v]) / 2
                          + (-LABEL_PAD / 2 if g.across else LABEL_PAD / 2))
        placed.append(PlacedEdge(ids[s], ids[t], tuple(point(a, b) for a, b in route), label,
                                 g.jumps[e]))

    segments = tuple((rank[tail[e]], g.pos[tail[e]], g.pos[head[e]])
                     for e in range(len(tail)))
    extent = at
    size = (extent, high - low) if g.across else (high - low, extent)
    return Layout(tuple(nodes), tuple(placed), size[0], size[1], direction, count, segments)


def _route(points: Sequence[tuple[float, float]]) -> tuple[list[tuple[float, float]], list[int]]:
    """The points that shape a route: repeated points and the inner points of a straight run
    along a layer (same position within the layers) left out; with each kept point's index."""
    kept: list[tuple[float, float]] = []
    indices: list[int] = []
    for i, q in enumerate(points):
        if kept and q == kept[-1]:
            continue
        if len(kept) >= 2 and kept[-2][1] == kept[-1][1] == q[1]:
            kept[-1] = q
            indices[-1] = i
            continue
        kept.append(q)
        indices.append(i)
    return kept, indices
