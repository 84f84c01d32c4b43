"""Order: the barycenter sweeps that reduce crossings between adjacent layers."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from .graph import Graph


def order(g: Graph, sweeps: int) -> None:
    """Barycenter sweeps; keep the layering with the fewest crossings."""
    head, tail = g.head, g.tail
    above = [[tail[e] for e in es] for es in g.ins]
    below = [[head[e] for e in es] for es in g.outs]
    count = len(g.layers)
    best = _crossings(g, below)
    best_layers = [layer[:] for layer in g.layers]
    for _ in range(sweeps):
        if best == 0:
            break
        improved = False
        for rows, neighbours in ((range(1, count), above), (range(count - 2, -1, -1), below)):
            for r in rows:
                _reorder(g, r, neighbours)
            crossed = _crossings(g, below)
            if crossed < best:
                best, improved = crossed, True
                best_layers = [layer[:] for layer in g.layers]
        if not improved:
            break
    g.layers = best_layers
    g._number()


def _reorder(g: Graph, r: int, neighbours: list[list[int]]) -> None:
    """Sort layer r by the mean position of each vertex's neighbours in the layer swept
    from; vertices without such neighbours keep their places."""
    pos = g.pos
    layer = g.layers[r]
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
    g.layers[r] = fresh
    for i, v in enumerate(fresh):
        pos[v] = i


def _crossings(g: Graph, below: list[list[int]]) -> int:
    pos = g.pos
    total = 0
    for layer in g.layers[:-1]:
        lower: list[int] = []
        for v in layer:
            ends = below[v]
            if len(ends) == 1:
                lower.append(pos[ends[0]])
            elif ends:
                lower.extend(sorted([pos[w] for w in ends]))
        if len(lower) > 1:
            total += inversions(lower)
    return total


def inversions(lowers: Sequence[int]) -> int:
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
