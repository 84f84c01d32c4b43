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

import heapq
import math
from bisect import bisect_right
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

Direction = Literal["LR", "TB"]
"""``LR``: ranks from left to right (inputs left); ``TB``: from top to bottom."""

ORDER_SWEEPS = 8
"""At most this many down-and-up barycenter sweeps; the best ordering seen is kept."""

PLACE_SWEEPS = 4
"""Down-and-up least-squares passes over the layers, then half as many median passes."""

PORT_GAP = 10.0
"""Preferred distance between the ends of two edges on one side of a box."""

LABEL_PAD = 3.0
"""Between an edge and its label."""

_REAL, _DUMMY, _LABEL = 0, 1, 2
_WEIGHTS = ((1.0, 2.0, 2.0), (2.0, 8.0, 8.0), (2.0, 8.0, 8.0))
"""How much each layered edge wants to be straight, by the kinds of its ends (dot's 1, 2, 8):
long edges are straightened first."""

_STAY = 1e-3
"""A faint pull of each vertex to where it is, so that isolated ones keep their place."""


@dataclass(frozen=True, slots=True)
class PlacedNode:
    """A node's box: its centre, its size, and where it sits in the layering."""

    id: str
    x: float
    y: float
    width: float
    height: float
    rank: int
    """Its layer, from 0 (layers of labels and dummies count too)."""
    order: int
    """Its position within the layer, from 0, counting the dummies that pass there."""


@dataclass(frozen=True, slots=True)
class PlacedEdge:
    """An edge's route, from a point on its source's box to a point on its target's box."""

    source: str
    target: str
    points: tuple[tuple[float, float], ...]
    label: tuple[float, float] | None
    """The centre of the label's box, for a labelled edge."""
    shortcut: bool = False
    """Its first step (from the first to the second point after the source's layer) jumps
    over layers, over whatever is drawn there: the dummy budget had no room for it."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything goes; coordinates grow right and down from (0, 0)."""

    nodes: tuple[PlacedNode, ...]
    """In input order."""
    edges: tuple[PlacedEdge, ...]
    """In input order."""
    width: float
    height: float
    direction: Direction
    layers: int
    segments: tuple[tuple[int, int, int], ...]
    """Every drawn piece of an edge between adjacent layers, as (layer, order in that layer,
    order in the next layer); a trunk shared by several edges is one piece, a shortcut's
    jump is none."""


def crossings(layout: Layout) -> int:
    """How many pairs of segments cross between adjacent layers.

    Two segments between the same layers cross when their ends are in opposite
    orders; counted as inversions.
    """
    by_layer: dict[int, list[tuple[int, int]]] = {}
    for layer, upper, lower in layout.segments:
        by_layer.setdefault(layer, []).append((upper, lower))
    return sum(_inversions([lower for _, lower in sorted(pairs)]) for pairs in by_layer.values())


def _inversions(lowers: Sequence[int]) -> int:
    """Pairs i < j with lowers[i] > lowers[j]: the crossings of segments listed by their
    upper ends (and, for one upper end, by their lower ends).

    Insertion into a sorted list: O(n log n) comparisons and O(n²) moves, but the moves
    are one memmove each, faster than a Fenwick tree in Python for any layer we meet."""
    seen: list[int] = []
    count = 0
    for i, lower in enumerate(lowers):
        at = bisect_right(seen, lower)
        count += i - at
        seen.insert(at, lower)
    return count


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
    graph = _Graph(sources, targets, _ranks(ids, sources, targets),
                   [sizes[i] for i in ids], label_sizes, direction == "LR", node_gap, budget)
    graph.order(max(0, sweeps))
    graph.ports()
    graph.place()
    return graph.result(ids, direction, rank_gap)


def _check_size(size: tuple[float, float], what: str) -> None:
    width, height = size
    if not (math.isfinite(width) and math.isfinite(height) and width >= 0 and height >= 0):
        raise ValueError(f"{what} has a bad size {width!r} x {height!r}")


def _ranks(ids: Sequence[str], sources: Sequence[int], targets: Sequence[int]) -> list[int]:
    """Longest path from the sources, then nodes pulled up next to their first use."""
    n = len(ids)
    uses: list[list[int]] = [[] for _ in range(n)]
    arguments = [0] * n
    for s, t in zip(sources, targets):
        uses[s].append(t)
        arguments[t] += 1
    waiting = arguments[:]
    queue = deque(v for v in range(n) if waiting[v] == 0)
    topological: list[int] = []
    while queue:
        v = queue.popleft()
        topological.append(v)
        for t in uses[v]:
            waiting[t] -= 1
            if waiting[t] == 0:
                queue.append(t)
    if len(topological) < n:
        stuck = next(ids[v] for v in range(n) if waiting[v] > 0)
        raise ValueError(f"the graph has a cycle (through {stuck!r})")
    rank = [0] * n
    for v in topological:
        for t in uses[v]:
            if rank[t] <= rank[v]:
                rank[t] = rank[v] + 1
    # Moving a node up shortens its out-edges and lengthens its in-edges by the same step:
    # worth it (or no loss) when it has at least as many uses as arguments.  Its uses are
    # final already (reverse topological order), and it only moves up, so its arguments
    # stay below it.
    for v in reversed(topological):
        if uses[v] and len(uses[v]) >= arguments[v]:
            rank[v] = min(rank[t] for t in uses[v]) - 1
    low = min(rank, default=0)
    return [r - low for r in rank]


def _shortcuts(sources: Sequence[int], targets: Sequence[int], rank: Sequence[int],
               private: int, budget: int) -> set[int]:
    """The edges to draw as shortcuts so that the dummies fit in ``budget``.

    Every edge keeps its last ``private`` steps to itself (and a vertex for its label
    there, which is not counted); before that, a source's long edges share a trunk up to
    where the longest leaves it (one long edge alone is its own trunk).  So removing the
    longest ones (all of one length at once) saves the trunk down to the next length.
    Greedy, biggest saving first; ties go to the earlier source.
    """
    groups: dict[int, list[int]] = {}
    total = 0
    for s, t in zip(sources, targets):
        if rank[t] - rank[s] > private:
            groups.setdefault(s, []).append(rank[t] - rank[s])
    for spans in groups.values():
        spans.sort()
        total += spans[-1] - private
    if total <= budget:
        return set()

    def saving(spans: list[int]) -> int:
        top = spans[-1]
        rest = next((span for span in reversed(spans) if span < top), private)
        return top - rest

    heap = [(-saving(spans), s) for s, spans in groups.items()]
    heapq.heapify(heap)
    cut_at: dict[int, int] = {}
    while total > budget and heap:
        negative, s = heapq.heappop(heap)
        spans = groups[s]
        top = spans[-1]
        while spans and spans[-1] == top:
            spans.pop()
        cut_at[s] = top
        total += negative
        if spans:
            heapq.heappush(heap, (-saving(spans), s))
    return {e for e, (s, t) in enumerate(zip(sources, targets))
            if s in cut_at and rank[t] - rank[s] >= cut_at[s]}


class _Graph:
    """The proper layered graph (every edge spans one layer) and the state of the layout.

    Vertices 0..n-1 are the real nodes, the rest dummies and labels.  Coordinates are
    kept along two axes: ``p`` within a layer (y for LR), and the rank axis (x for LR).
    """

    def __init__(self, sources: Sequence[int], targets: Sequence[int], ranks: list[int],
                 sizes: Sequence[tuple[float, float]],
                 label_sizes: Sequence[tuple[float, float] | None], across: bool,
                 node_gap: float, budget: int) -> None:
        labelled = any(size is not None for size in label_sizes)
        # An edge keeps its last `private` steps to itself: its label and its arrival.
        private = 2 if labelled else 1
        self.node_gap = node_gap
        self.across = across
        self.rank = [r * private for r in ranks]
        n = len(ranks)
        self.kind = [_REAL] * n
        self.low: list[float] = []
        self.high: list[float] = []
        self.thick: list[float] = []
        for width, height in sizes:
            along, thick = (height, width) if across else (width, height)
            self.low.append(-along / 2)
            self.high.append(along / 2)
            self.thick.append(thick)
        self.ins: list[list[int]] = [[] for _ in range(n)]
        self.outs: list[list[int]] = [[] for _ in range(n)]
        self.tail: list[int] = []
        self.head: list[int] = []
        self.weight: list[float] = []
        self.paths: list[list[int]] = []
        """Per input edge, its own layered edges to its target: after its source's trunk, or
        after the jump of a shortcut."""
        self.via: list[int] = []
        """Per input edge, how many edges of its source's trunk it runs along first."""
        self.jumps: list[bool] = []
        self.label_vertex: list[int] = []
        self.chains: list[list[int]] = []
        """Runs of virtual vertices to straighten: each trunk, and each edge's own dummies."""

        jumping = _shortcuts(sources, targets, self.rank, private, budget)
        long_edges: dict[int, list[int]] = {}
        for e, (s, t) in enumerate(zip(sources, targets)):
            if self.rank[t] - self.rank[s] > private and e not in jumping:
                long_edges.setdefault(s, []).append(e)
        trunks: dict[int, list[int]] = {}  # a source's layered edges along its trunk, upwards
        for s, group in long_edges.items():
            if len(group) < 2:
                continue
            top = max(self.rank[targets[e]] for e in group) - private
            previous, trunk = s, []
            for r in range(self.rank[s] + 1, top + 1):
                vertex = self._vertex(r, _DUMMY, 0.0, 0.0, 0.0)
                trunk.append(self._edge(previous, vertex))
                previous = vertex
            trunks[s] = trunk
            self.chains.append([self.head[e] for e in trunk])

        for e, (s, t) in enumerate(zip(sources, targets)):
            label = label_sizes[e]
            rank_s, rank_t = self.rank[s], self.rank[t]
            path: list[int] = []
            via = 0
            previous = s
            first = rank_s + 1
            middle = (rank_s + rank_t) // 2
            if e in jumping:
                previous = -1
                first = middle = rank_t - private + 1
            elif s in trunks and rank_t - rank_s > private:
                # The trunk's edges are shared; this edge leaves it at rank_t - private.
                via = rank_t - private - rank_s
                previous = self.head[trunks[s][via - 1]]
                first = middle = rank_t - private + 1
            label_at = -1
            chain: list[int] = []
            for r in range(first, rank_t):
                if r == middle and label is not None:
                    vertex = label_at = self._label(r, label)
                else:
                    vertex = self._vertex(r, _DUMMY, 0.0, 0.0, 0.0)
                if previous >= 0:
                    path.append(self._edge(previous, vertex))
                chain.append(vertex)
                previous = vertex
            if previous >= 0:
                path.append(self._edge(previous, t))
            if chain:
                self.chains.append(chain)
            self.paths.append(path)
            self.via.append(via)
            self.jumps.append(e in jumping)
            self.label_vertex.append(label_at)
        self.sources, self.targets = sources, targets
        self.trunks = trunks

        self.layers: list[list[int]] = [[] for _ in range(max(self.rank, default=-1) + 1)]
        for v, r in enumerate(self.rank):
            self.layers[r].append(v)
        self.pos = [0] * len(self.rank)
        self._number()
        self.port_tail = [0.0] * len(self.tail)
        self.port_head = [0.0] * len(self.tail)
        self.p = [0.0] * len(self.rank)

    def _vertex(self, rank: int, kind: int, low: float, high: float, thick: float) -> int:
        self.rank.append(rank)
        self.kind.append(kind)
        self.low.append(low)
        self.high.append(high)
        self.thick.append(thick)
        self.ins.append([])
        self.outs.append([])
        return len(self.rank) - 1

    def _label(self, rank: int, size: tuple[float, float]) -> int:
        # The edge runs along one side of its label: above it across layers (LR), to its
        # left down layers (TB).
        width, height = size
        if self.across:
            return self._vertex(rank, _LABEL, -(height + LABEL_PAD), 0.0, width)
        return self._vertex(rank, _LABEL, 0.0, width + LABEL_PAD, height)

    def _edge(self, tail: int, head: int) -> int:
        self.tail.append(tail)
        self.head.append(head)
        self.weight.append(_WEIGHTS[self.kind[tail]][self.kind[head]])
        e = len(self.tail) - 1
        self.outs[tail].append(e)
        self.ins[head].append(e)
        return e

    def _number(self) -> None:
        pos = self.pos
        for layer in self.layers:
            for i, v in enumerate(layer):
                pos[v] = i

    # ------------------------------------------------------------ order

    def order(self, sweeps: int) -> None:
        """Barycenter sweeps; keep the layering with the fewest crossings."""
        head, tail = self.head, self.tail
        above = [[tail[e] for e in es] for es in self.ins]
        below = [[head[e] for e in es] for es in self.outs]
        count = len(self.layers)
        best = self._crossings(below)
        best_layers = [layer[:] for layer in self.layers]
        for _ in range(sweeps):
            if best == 0:
                break
            improved = False
            for rows, neighbours in ((range(1, count), above), (range(count - 2, -1, -1), below)):
                for r in rows:
                    self._reorder(r, neighbours)
                crossed = self._crossings(below)
                if crossed < best:
                    best, improved = crossed, True
                    best_layers = [layer[:] for layer in self.layers]
            if not improved:
                break
        self.layers = best_layers
        self._number()

    def _reorder(self, r: int, neighbours: list[list[int]]) -> None:
        """Sort layer r by the mean position of each vertex's neighbours in the layer swept
        from; vertices without such neighbours keep their places."""
        pos = self.pos
        layer = self.layers[r]
        keyed: list[tuple[float, int, int]] = []
        for i, v in enumerate(layer):
            ns = neighbours[v]
            if len(ns) == 1:
                keyed.append((pos[ns[0]], i, v))
            elif ns:
                keyed.append((sum([pos[u] for u in ns]) / len(ns), i, v))
        if not keyed:
            return
        keyed.sort()
        if len(keyed) == len(layer):
            fresh = [v for _, _, v in keyed]
        else:
            moving = iter(keyed)
            fresh = [next(moving)[2] if neighbours[v] else v for v in layer]
        self.layers[r] = fresh
        for i, v in enumerate(fresh):
            pos[v] = i

    def _crossings(self, below: list[list[int]]) -> int:
        pos = self.pos
        total = 0
        for layer in self.layers[:-1]:
            lower: list[int] = []
            for v in layer:
                ends = below[v]
                if len(ends) == 1:
                    lower.append(pos[ends[0]])
                elif ends:
                    lower.extend(sorted([pos[w] for w in ends]))
            if len(lower) > 1:
                total += _inversions(lower)
        return total

    # ------------------------------------------------------------ coordinates

    def ports(self) -> None:
        """Spread the ends of a real node's edges along its sides, in the order of the
        vertices at their other ends (parallel edges in input order), so none cross there."""
        pos, head, tail = self.pos, self.head, self.tail
        for v in range(len(self.kind)):
            if self.kind[v] != _REAL:
                continue
            side = self.high[v] - self.low[v]
            for es, far, ports in ((self.ins[v], tail, self.port_head),
                                   (self.outs[v], head, self.port_tail)):
                k = len(es)
                if k < 2:
                    continue
                gap = min(PORT_GAP, side * 0.6 / (k - 1))
                ranked = sorted((pos[far[e]], e) for e in es)
                for i, (_, e) in enumerate(ranked):
                    ports[e] = (i - (k - 1) / 2) * gap

    def _gaps(self, layer: list[int]) -> list[float]:
        """The least distance from each vertex of a layer to the next one."""
        high, low, kind = self.high, self.low, self.kind
        full, half = self.node_gap, self.node_gap / 2
        return [high[u] + (full if kind[u] == _REAL and kind[v] == _REAL else half) - low[v]
                for u, v in pairwise(layer)]

    def place(self) -> None:
        """Positions within the layers: packed, then least squares, then medians."""
        p = self.p
        gaps = [self._gaps(layer) for layer in self.layers]
        for layer, between in zip(self.layers, gaps):
            at = -sum(between) / 2
            for i, v in enumerate(layer):
                p[v] = at
                if i < len(between):
                    at += between[i]
        # For each vertex: its neighbours with weights, and where they would have it be
        # (the neighbour's position plus this constant) for the edge to run straight.
        self.wishes: list[list[tuple[int, float, float]]] = [[] for _ in p]
        for e, (u, v) in enumerate(zip(self.tail, self.head)):
            shift = self.port_tail[e] - self.port_head[e]
            self.wishes[v].append((u, shift, self.weight[e]))
            self.wishes[u].append((v, -shift, self.weight[e]))
        count = len(self.layers)
        order = [*range(count), *range(count - 1, -1, -1)]
        for _ in range(PLACE_SWEEPS):
            for r in order:
                self._least_squares(self.layers[r], gaps[r])
        for _ in range(PLACE_SWEEPS // 2):
            for r in order:
                self._medians(self.layers[r], gaps[r])
        self._straighten(gaps)

    def _least_squares(self, layer: list[int], gaps: list[float]) -> None:
        """Place a layer where the weighted squares of its edges' slants are least, keeping
        its order and separations: isotonic regression by pool-adjacent-violators, O(n)."""
        p, wishes = self.p, self.wishes
        # q_i = p_i - offset_i must not decrease; its targets are the wishes less the offsets.
        block_weight: list[float] = []
        block_mean: list[float] = []
        block_size: list[int] = []
        offset = 0.0
        for i, v in enumerate(layer):
            total, moment = _STAY, _STAY * p[v]
            for u, shift, w in wishes[v]:
                total += w
                moment += w * (p[u] + shift)
            mean, size = moment / total - offset, 1
            while block_mean and block_mean[-1] > mean:
                w = block_weight.pop()
                mean = (mean * total + block_mean.pop() * w) / (total + w)
                total += w
                size += block_size.pop()
            block_weight.append(total)
            block_mean.append(mean)
            block_size.append(size)
            if i < len(gaps):
                offset += gaps[i]
        i = 0
        offset = 0.0
        for mean, size in zip(block_mean, block_size):
            for _ in range(size):
                p[layer[i]] = mean + offset
                if i < len(gaps):
                    offset += gaps[i]
                i += 1

    def _medians(self, layer: list[int], gaps: list[float]) -> None:
        """Move each vertex, within the room its neighbours in the layer leave, to a weighted
        median of its wishes: that makes one of its edges straight."""
        p, wishes = self.p, self.wishes
        last = len(layer) - 1
        for i, v in enumerate(layer):
            mine = wishes[v]
            if not mine:
                continue
            if len(mine) == 1:
                u, shift, _ = mine[0]
                lower = upper = p[u] + shift
            elif len(mine) == 2:
                (u, shift, w), (u2, shift2, w2) = mine
                lower, upper = p[u] + shift, p[u2] + shift2
                if w > w2:
                    upper = lower
                elif w2 > w:
                    lower = upper
                elif lower > upper:
                    lower, upper = upper, lower
            else:
                points = sorted([(p[u] + shift, w) for u, shift, w in mine])
                half = sum([w for _, w in points]) / 2
                seen = 0.0
                lower = upper = points[-1][0]
                for j, (at, w) in enumerate(points):
                    seen += w
                    if seen >= half:
                        lower = upper = at
                        if seen == half and j + 1 < len(points):
                            upper = points[j + 1][0]
                        break
            target = p[v]
            if target < lower:
                target = lower
            elif target > upper:
                target = upper
            if i and target < p[layer[i - 1]] + gaps[i - 1]:
                target = p[layer[i - 1]] + gaps[i - 1]
            if i < last and target > p[layer[i + 1]] - gaps[i]:
                target = p[layer[i + 1]] - gaps[i]
            p[v] = target

    def _straighten(self, gaps: list[list[float]]) -> None:
        """Put each run of virtual vertices on one line where the room in their layers allows:
        in line with the edge's start or with its end (one bend, not a bend per layer), else
        as near their median as the room allows.  Longest runs first."""
        p, pos = self.p, self.pos
        for chain in sorted(self.chains, key=len, reverse=True):
            low, high = -math.inf, math.inf
            for v in chain:
                r = self.rank[v]
                layer = self.layers[r]
                i = pos[v]
                if i:
                    low = max(low, p[layer[i - 1]] + gaps[r][i - 1])
                if i + 1 < len(layer):
                    high = min(high, p[layer[i + 1]] - gaps[r][i])
            if low > high:
                continue
            first, last = chain[0], chain[-1]
            wanted = [p[self.tail[e]] + self.port_tail[e] for e in self.ins[first]]
            if len(self.outs[last]) == 1:
                e = self.outs[last][0]
                wanted.append(p[self.head[e]] + self.port_head[e])
            fits = [at for at in wanted if low <= at <= high]
            if fits:
                at = min(fits, key=lambda at: sum(abs(p[v] - at) for v in chain))
            else:
                at = min(max(sorted(p[v] for v in chain)[len(chain) // 2], low), high)
            for v in chain:
                p[v] = at

    # ------------------------------------------------------------ the result

    def result(self, ids: Sequence[str], direction: Direction, rank_gap: float) -> Layout:
        p, rank, head, tail = self.p, self.rank, self.head, self.tail
        count = len(self.layers)
        thickness = [max((self.thick[v] for v in layer), default=0.0) for layer in self.layers]
        steepest = [0.0] * count
        for e in range(len(tail)):
            slant = abs(p[head[e]] + self.port_head[e] - p[tail[e]] - self.port_tail[e])
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

        low = min((p[v] + self.low[v] for v in range(len(p))), default=0.0)
        high = max((p[v] + self.high[v] for v in range(len(p))), default=0.0)

        def point(r_axis: float, p_axis: float) -> tuple[float, float]:
            return (r_axis, p_axis - low) if self.across else (p_axis - low, r_axis)

        def middle(v: int) -> float:
            return start[rank[v]] + thickness[rank[v]] / 2

        nodes = []
        for v, node_id in enumerate(ids):
            x, y = point(middle(v), p[v])
            along = self.high[v] - self.low[v]
            width, height = (self.thick[v], along) if self.across else (along, self.thick[v])
            nodes.append(PlacedNode(node_id, x, y, width, height, rank[v], self.pos[v]))

        def band(v: int) -> list[tuple[float, float]]:
            """Across the layer of a virtual vertex, at its position."""
            r = rank[v]
            return [(start[r], p[v]), (start[r] + thickness[r], p[v])]

        def leave(s: int, e: int) -> list[tuple[float, float]]:
            """From a source's side to the end of its layer, at the port of edge e."""
            at = p[s] + (self.port_tail[e] if e >= 0 else 0.0)
            return [(middle(s) + self.thick[s] / 2, at), (start[rank[s]] + thickness[rank[s]], at)]

        # A trunk's route is made once (without the points a straight run does not need);
        # each edge along it copies the part up to where it branches off.
        trunk_routes: dict[int, tuple[list[tuple[float, float]], list[int]]] = {}
        for s, trunk in self.trunks.items():
            raw = leave(s, trunk[0])
            for e in trunk:
                raw.extend(band(head[e]))
            trunk_routes[s] = _route(raw)

        placed = []
        for e, path in enumerate(self.paths):
            s, t = self.sources[e], self.targets[e]
            if self.via[e]:
                kept, indices = trunk_routes[s]
                # Vertex j of the trunk ends at raw point 2j + 3; this edge leaves at j = via - 1.
                end = 2 * self.via[e] + 1
                cut = bisect_right(indices, end)
                points = kept[:cut]
                if indices[cut - 1] < end:
                    points.append((start[rank[tail[path[0]]]] + thickness[rank[tail[path[0]]]],
                                   p[tail[path[0]]]))
            elif self.jumps[e]:
                points = leave(s, -1)
                if path:
                    points.extend(band(tail[path[0]]))
            else:
                points = leave(s, path[0])
            for layered in path[:-1]:
                points.extend(band(head[layered]))
            arriving = p[t] + (self.port_head[path[-1]] if path else 0.0)
            points.append((start[rank[t]], arriving))
            points.append((middle(t) - self.thick[t] / 2, arriving))
            route = _route(points)[0]
            label = None
            v = self.label_vertex[e]
            if v >= 0:
                label = point(middle(v), p[v] + (self.low[v] + self.high[v]) / 2
                              + (-LABEL_PAD / 2 if self.across else LABEL_PAD / 2))
            placed.append(PlacedEdge(ids[s], ids[t], tuple(point(a, b) for a, b in route), label,
                                     self.jumps[e]))

        segments = tuple((rank[tail[e]], self.pos[tail[e]], self.pos[head[e]])
                         for e in range(len(tail)))
        extent = at
        size = (extent, high - low) if self.across else (high - low, extent)
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
