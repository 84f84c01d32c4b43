"""The proper layered graph: every edge of the input split into steps of one layer, through
dummy and label vertices, with the state the later phases fill in."""

from __future__ import annotations

from collections.abc import Sequence

from .ranks import shortcuts
from .shapes import DUMMY, LABEL, LABEL_PAD, REAL, WEIGHTS


class Graph:
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
        self.kind = [REAL] * n
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

        jumping = shortcuts(sources, targets, self.rank, private, budget)
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
                vertex = self._vertex(r, DUMMY, 0.0, 0.0, 0.0)
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
                    vertex = self._vertex(r, DUMMY, 0.0, 0.0, 0.0)
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
        self.wishes: list[list[tuple[int, float, float]]] = []
        """Per vertex, where its edges would put it: (the other end, the offset, the weight)."""

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
            return self._vertex(rank, LABEL, -(height + LABEL_PAD), 0.0, width)
        return self._vertex(rank, LABEL, 0.0, width + LABEL_PAD, height)

    def _edge(self, tail: int, head: int) -> int:
        self.tail.append(tail)
        self.head.append(head)
        self.weight.append(WEIGHTS[self.kind[tail]][self.kind[head]])
        e = len(self.tail) - 1
        self.outs[tail].append(e)
        self.ins[head].append(e)
        return e

    def _number(self) -> None:
        pos = self.pos
        for layer in self.layers:
            for i, v in enumerate(layer):
                pos[v] = i


