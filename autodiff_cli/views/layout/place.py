"""Coordinates: ports on the boxes' sides, least-squares placement of each layer, median
passes, and straight runs of dummies."""

from __future__ import annotations

import math
from itertools import pairwise

from .graph import Graph
from .shapes import PLACE_SWEEPS, PORT_GAP, REAL, STAY


def ports(g: Graph) -> None:
    """Spread the ends of a real node's edges along its sides, in the order of the
    vertices at their other ends (parallel edges in input order), so none cross there."""
    pos, head, tail = g.pos, g.head, g.tail
    for v in range(len(g.kind)):
        if g.kind[v] != REAL:
            continue
        side = g.high[v] - g.low[v]
        for es, far, ports in ((g.ins[v], tail, g.port_head),
                               (g.outs[v], head, g.port_tail)):
            k = len(es)
            if k < 2:
                continue
            gap = min(PORT_GAP, side * 0.6 / (k - 1))
            ranked = sorted((pos[far[e]], e) for e in es)
            for i, (_, e) in enumerate(ranked):
                ports[e] = (i - (k - 1) / 2) * gap


def _gaps(g: Graph, layer: list[int]) -> list[float]:
    """The least distance from each vertex of a layer to the next one."""
    high, low, kind = g.high, g.low, g.kind
    full, half = g.node_gap, g.node_gap / 2
    return [high[u] + (full if kind[u] == REAL and kind[v] == REAL else half) - low[v]
            for u, v in pairwise(layer)]


def place(g: Graph) -> None:
    """Positions within the layers: packed, then least squares, then medians."""
    p = g.p
    gaps = [_gaps(g, layer) for layer in g.layers]
    for layer, between in zip(g.layers, gaps):
        at = -sum(between) / 2
        for i, v in enumerate(layer):
            p[v] = at
            if i < len(between):
                at += between[i]
    # For each vertex: its neighbours with weights, and where they would have it be
    # (the neighbour's position plus this constant) for the edge to run straight.
    g.wishes = [[] for _ in p]
    for e, (u, v) in enumerate(zip(g.tail, g.head)):
        shift = g.port_tail[e] - g.port_head[e]
        g.wishes[v].append((u, shift, g.weight[e]))
        g.wishes[u].append((v, -shift, g.weight[e]))
    count = len(g.layers)
    order = [*range(count), *range(count - 1, -1, -1)]
    for _ in range(PLACE_SWEEPS):
        for r in order:
            _least_squares(g, g.layers[r], gaps[r])
    for _ in range(PLACE_SWEEPS // 2):
        for r in order:
            _medians(g, g.layers[r], gaps[r])
    _straighten(g, gaps)


def _least_squares(g: Graph, layer: list[int], gaps: list[float]) -> None:
    """Place a layer where the weighted squares of its edges' slants are least, keeping
    its order and separations: isotonic regression by pool-adjacent-violators, O(n)."""
    p, wishes = g.p, g.wishes
    # q_i = p_i - offset_i must not decrease; its targets are the wishes less the offsets.
    block_weight: list[float] = []
    block_mean: list[float] = []
    block_size: list[int] = []
    offset = 0.0
    for i, v in enumerate(layer):
        total, moment = STAY, STAY * p[v]
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


def _medians(g: Graph, layer: list[int], gaps: list[float]) -> None:
    """Move each vertex, within the room its neighbours in the layer leave, to a weighted
    median of its wishes: that makes one of its edges straight."""
    p, wishes = g.p, g.wishes
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


def _straighten(g: Graph, gaps: list[list[float]]) -> None:
    """Put each run of virtual vertices on one line where the room in their layers allows:
    in line with the edge's start or with its end (one bend, not a bend per layer), else
    as near their median as the room allows.  Longest runs first."""
    p, pos = g.p, g.pos
    for chain in sorted(g.chains, key=len, reverse=True):
        low, high = -math.inf, math.inf
        for v in chain:
            r = g.rank[v]
            layer = g.layers[r]
            i = pos[v]
            if i:
                low = max(low, p[layer[i - 1]] + gaps[r][i - 1])
            if i + 1 < len(layer):
                high = min(high, p[layer[i + 1]] - gaps[r][i])
        if low > high:
            continue
        first, last = chain[0], chain[-1]
        wanted = [p[g.tail[e]] + g.port_tail[e] for e in g.ins[first]]
        if len(g.outs[last]) == 1:
            e = g.outs[last][0]
            wanted.append(p[g.head[e]] + g.port_head[e])
        fits = [at for at in wanted if low <= at <= high]
        if fits:
            at = min(fits, key=lambda at: sum(abs(p[v] - at) for v in chain))
        else:
            at = min(max(sorted(p[v] for v in chain)[len(chain) // 2], low), high)
        for v in chain:
            p[v] = at
