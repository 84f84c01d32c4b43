"""Ranks: which layer each node goes in, and which long edges are drawn as shortcuts."""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence


def ranks(ids: Sequence[str], sources: Sequence[int], targets: Sequence[int]) -> list[int]:
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


def shortcuts(sources: Sequence[int], targets: Sequence[int], rank: Sequence[int],
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
