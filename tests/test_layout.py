"""The layered layout (autodiff_cli.views.layout): geometry that holds for any DAG, crossings on
graphs whose best drawing is known, determinism, bounded work on big graphs."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_cli.api import computation_graph
from autodiff_cli.render.svg import scene
from autodiff_cli.views.layout import (
    LABEL_PAD,
    Direction,
    Layout,
    PlacedEdge,
    PlacedNode,
    crossings,
    layered_layout,
)

EPS = 1e-6
DIRECTIONS: tuple[Direction, ...] = ("LR", "TB")
Sizes = dict[str, tuple[float, float]]
Edges = list[tuple[str, str]]
Labels = list[tuple[float, float] | None] | None

# ---------------------------------------------------------------- checks


def boxes_overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Boxes (centre x, centre y, width, height) share interior points (a box of no width
    counts when it lies strictly inside the other)."""
    return (abs(a[0] - b[0]) < (a[2] + b[2]) / 2 - EPS
            and abs(a[1] - b[1]) < (a[3] + b[3]) / 2 - EPS)


def box(node: PlacedNode) -> tuple[float, float, float, float]:
    return node.x, node.y, node.width, node.height


def label_boxes(layout: Layout, labels: Labels) -> list[tuple[float, float, float, float]]:
    if labels is None:
        return []
    out = []
    for edge, size in zip(layout.edges, labels):
        assert (edge.label is None) == (size is None)
        if edge.label is not None and size is not None:
            out.append((edge.label[0], edge.label[1], size[0], size[1]))
    return out


def segment_enters(p: tuple[float, float], q: tuple[float, float],
                   b: tuple[float, float, float, float]) -> bool:
    """Whether the straight segment pq passes through the interior of box b (Liang-Barsky)."""
    left, right = b[0] - b[2] / 2 + EPS, b[0] + b[2] / 2 - EPS
    top, bottom = b[1] - b[3] / 2 + EPS, b[1] + b[3] / 2 - EPS
    if left >= right or top >= bottom:
        return False
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for step, room in ((-dx, p[0] - left), (dx, right - p[0]), (-dy, p[1] - top),
                       (dy, bottom - p[1])):
        if step == 0:
            if room <= 0:
                return False
        else:
            t = room / step
            if step < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
    return t0 < t1


def on_side(point: tuple[float, float], node: PlacedNode, side: str) -> bool:
    x, y = point
    if side in ("left", "right"):
        edge_x = node.x + (node.width / 2 if side == "right" else -node.width / 2)
        return abs(x - edge_x) < EPS and abs(y - node.y) <= node.height / 2 + EPS
    edge_y = node.y + (node.height / 2 if side == "bottom" else -node.height / 2)
    return abs(y - edge_y) < EPS and abs(x - node.x) <= node.width / 2 + EPS


def brute_crossings(layout: Layout) -> int:
    """Pairs of segments between the same two layers whose ends are in opposite orders."""
    count = 0
    for a, b in itertools.combinations(layout.segments, 2):
        if a[0] == b[0] and (a[1] - b[1]) * (a[2] - b[2]) < 0:
            count += 1
    return count


def check(layout: Layout, sizes: Sizes, edges: Edges, labels: Labels = None) -> None:
    """Everything a layout promises, for any input."""
    nodes = {n.id: n for n in layout.nodes}
    assert [n.id for n in layout.nodes] == list(sizes)
    assert [(e.source, e.target) for e in layout.edges] == edges
    for node in layout.nodes:
        assert (node.width, node.height) == pytest.approx(sizes[node.id])
        assert -EPS <= node.x - node.width / 2 and node.x + node.width / 2 <= layout.width + EPS
        assert -EPS <= node.y - node.height / 2 and node.y + node.height / 2 <= layout.height + EPS
    # No two boxes overlap, nor labels with boxes or with each other.
    boxes = [box(n) for n in layout.nodes] + label_boxes(layout, labels)
    for a, b in itertools.combinations(boxes, 2):
        assert not boxes_overlap(a, b), (a, b)
    # Within a layer, the order is the order along the layer.
    axis = 1 if layout.direction == "LR" else 0
    for _, group in itertools.groupby(sorted(layout.nodes, key=lambda n: (n.rank, n.order)),
                                      key=lambda n: n.rank):
        placed = list(group)
        assert all(box(a)[axis] < box(b)[axis] for a, b in itertools.pairwise(placed))
        assert len({n.order for n in placed}) == len(placed)
    out_side, in_side = ("right", "left") if layout.direction == "LR" else ("bottom", "top")
    for edge in layout.edges:
        source, target = nodes[edge.source], nodes[edge.target]
        assert source.rank < target.rank
        assert on_side(edge.points[0], source, out_side), (edge, source)
        assert on_side(edge.points[-1], target, in_side), (edge, target)
        for x, y in edge.points:
            assert math.isfinite(x) and math.isfinite(y)
            assert -EPS <= x <= layout.width + EPS and -EPS <= y <= layout.height + EPS
        if not edge.shortcut:
            # Routed through the layers: no piece of the polyline goes through a box.
            for p, q in itertools.pairwise(edge.points):
                for other in layout.nodes:
                    assert not segment_enters(p, q, box(other)), (edge, other)
    if labels is not None:
        for edge, size in zip(layout.edges, labels):
            if edge.label is not None and size is not None:
                assert runs_along(edge, (*edge.label, *size), layout.direction), edge
    assert crossings(layout) == brute_crossings(layout)
    for layer, upper, lower in layout.segments:
        assert 0 <= layer < layout.layers - 1 and upper >= 0 and lower >= 0


def runs_along(edge: PlacedEdge, label: tuple[float, float, float, float], direction: str) -> bool:
    """The edge passes along the label's side (below it in LR, left of it in TB), the whole
    width of the label."""
    x, y, w, h = label
    pieces = [*itertools.pairwise(edge.points), *((p, p) for p in edge.points)]
    for p, q in pieces:
        if direction == "LR":
            line = y + h / 2 + LABEL_PAD
            if (abs(p[1] - line) < EPS and abs(q[1] - line) < EPS
                    and min(p[0], q[0]) <= x - w / 2 + EPS and max(p[0], q[0]) >= x + w / 2 - EPS):
                return True
        else:
            line = x - w / 2 - LABEL_PAD
            if (abs(p[0] - line) < EPS and abs(q[0] - line) < EPS
                    and min(p[1], q[1]) <= y - h / 2 + EPS and max(p[1], q[1]) >= y + h / 2 - EPS):
                return True
    return False


# ---------------------------------------------------------------- random DAGs


@st.composite
def dags(draw: st.DrawFn, max_nodes: int = 14) -> tuple[Sizes, Edges, Labels, Direction]:
    """A DAG whose node ids are not in topological order, with parallel edges at times,
    boxes of any size (zero included), labels on some edges or none."""
    n = draw(st.integers(1, max_nodes))
    size = st.floats(0, 160, allow_nan=False)
    sizes = {f"n{i}": (draw(size), draw(st.floats(0, 60))) for i in range(n)}
    rank = draw(st.permutations(range(n)))  # the hidden topological order
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                          max_size=3 * n))
    edges = [(f"n{rank[min(a, b)]}", f"n{rank[max(a, b)]}") for a, b in pairs if a != b]
    labels: Labels = None
    if draw(st.booleans()):
        labels = [draw(st.none() | st.tuples(st.floats(0, 120), st.floats(0, 16)))
                  for _ in edges]
    return sizes, edges, labels, draw(st.sampled_from(DIRECTIONS))


@settings(max_examples=150, deadline=None)
@given(dags())
def test_random_dags_keep_every_promise(case: tuple[Sizes, Edges, Labels, Direction]) -> None:
    sizes, edges, labels, direction = case
    layout = layered_layout(sizes, edges, labels=labels, direction=direction)
    check(layout, sizes, edges, labels)
    assert not any(e.shortcut for e in layout.edges)  # small graphs fit the default budget
    assert layered_layout(sizes, edges, labels=labels, direction=direction) == layout


@settings(max_examples=60, deadline=None)
@given(dags(), st.integers(0, 6))
def test_a_small_dummy_budget_makes_shortcuts_that_still_join_their_boxes(
        case: tuple[Sizes, Edges, Labels, Direction], budget: int) -> None:
    sizes, edges, labels, direction = case
    layout = layered_layout(sizes, edges, labels=labels, direction=direction,
                            max_dummies=budget)
    check(layout, sizes, edges, labels)
    # Each trunk or long edge costs a dummy per layer it passes; not counted: with labels,
    # the one vertex each edge keeps before its target (its label, or a dummy in its place).
    passing = {(layer + 1, lower) for layer, _, lower in layout.segments} - {
        (n.rank, n.order) for n in layout.nodes}
    own = len(edges) if labels is not None and any(labels) else 0
    assert len(passing) - own <= budget


# ---------------------------------------------------------------- crossings on known graphs


def two_layers(left: Sequence[str], right: Sequence[str], edges: Edges) -> Layout:
    sizes = {name: (30.0, 20.0) for name in [*left, *right]}
    layout = layered_layout(sizes, edges)
    check(layout, sizes, edges)
    assert {n.rank for n in layout.nodes if n.id in left} == {0}
    assert {n.rank for n in layout.nodes if n.id in right} == {1}
    return layout


def drawn_crossings(order_left: Sequence[str], order_right: Sequence[str], edges: Edges) -> int:
    """Crossings of a two-layer drawing with the given orders (straight edges)."""
    a = {name: i for i, name in enumerate(order_left)}
    b = {name: i for i, name in enumerate(order_right)}
    return sum(1 for (s1, t1), (s2, t2) in itertools.combinations(edges, 2)
               if (a[s1] - a[s2]) * (b[t1] - b[t2]) < 0)


def fewest_crossings(left: Sequence[str], right: Sequence[str], edges: Edges) -> int:
    return min(drawn_crossings(p, q, edges) for p in itertools.permutations(left)
               for q in itertools.permutations(right))


def complete_bipartite(m: int, n: int) -> tuple[list[str], list[str], Edges]:
    left = [f"a{i}" for i in range(m)]
    right = [f"b{j}" for j in range(n)]
    return left, right, [(a, b) for a in left for b in right]


@pytest.mark.parametrize(("m", "n"), [(2, 2), (3, 3), (2, 4)])
def test_complete_bipartite_graphs_get_their_two_layer_crossing_number(m: int, n: int) -> None:
    # In two layers, each pair of left nodes and pair of right nodes gives exactly one
    # crossing, whatever the orders: K_{m,n} has C(m,2)·C(n,2) crossings in every two-layer
    # drawing (K2,2: 1, K3,3: 9, K2,4: 6). (Its crossing number in the plane is smaller:
    # K3,3's is 1; a layered drawing cannot reach it.)
    left, right, edges = complete_bipartite(m, n)
    expected = math.comb(m, 2) * math.comb(n, 2)
    assert fewest_crossings(left, right, edges) == expected
    assert crossings(two_layers(left, right, edges)) == expected


def test_a_scrambled_matching_is_untangled() -> None:
    # a_i -> b_perm(i), the b's listed so that the input order has 10 crossings: 0 is possible.
    perm = [4, 2, 0, 3, 1]
    left = [f"a{i}" for i in range(5)]
    right = [f"b{j}" for j in range(5)]
    edges = [(f"a{i}", f"b{perm[i]}") for i in range(5)]
    assert drawn_crossings(left, right, edges) > 0
    assert crossings(two_layers(left, right, edges)) == 0


def test_trees_are_drawn_without_crossings() -> None:
    # A complete binary tree of 31 nodes, leaves first, listed in a scrambled order: a tree
    # always has a drawing without crossings.
    edges = [(f"t{2 * i + k}", f"t{i}") for i in range(15) for k in (1, 2)]
    names = [f"t{i}" for i in range(31)]
    scrambled = sorted(names, key=lambda name: (int(name[1:]) * 7919) % 31)
    sizes = {name: (40.0, 20.0) for name in scrambled}
    for direction in DIRECTIONS:
        layout = layered_layout(sizes, edges, direction=direction)
        check(layout, sizes, edges)
        assert crossings(layout) == 0


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.data())
def test_two_layers_never_worse_than_the_input_order(m: int, n: int, data: st.DataObject) -> None:
    # The ordering starts from the input order and keeps the best one seen.
    left = [f"a{i}" for i in range(m)]
    right = [f"b{j}" for j in range(n)]
    chosen = data.draw(st.lists(st.tuples(st.sampled_from(left), st.sampled_from(right)),
                                min_size=1, max_size=12))
    edges = list(dict.fromkeys(chosen))
    used_left = [a for a in left if any(s == a for s, _ in edges)]
    used_right = [b for b in right if any(t == b for _, t in edges)]
    layout = two_layers(used_left, used_right, edges)
    drawn = crossings(layout)
    assert drawn <= drawn_crossings(used_left, used_right, edges)
    assert drawn >= fewest_crossings(used_left, used_right, edges)


@pytest.mark.parametrize(("expression", "point"), [
    ("sin(x)+x*y", {"x": 1, "y": 2}),
    ("u = x*y; sin(u) + u", {"x": 1, "y": 2}),
    ("x*x + 2*x + pi", {"x": 3}),
    ("exp(sin(x*y) + cos(y/z)) + log(z)", {"x": 1, "y": 2, "z": 3}),
])
def test_small_adcli_graphs_are_drawn_without_crossings(expression: str,
                                                         point: dict[str, float]) -> None:
    # Each of these has a planar layered drawing (checked by eye, and found by the layout).
    view = computation_graph(expression, None, **point)
    for direction in DIRECTIONS:
        drawn = scene(view, direction=direction)
        layout = drawn.layout
        sizes = {n.id: (n.width, n.height) for n in layout.nodes}
        edges = [(e.source, e.target) for e in view.edges]
        assert [(e.source, e.target) for e in layout.edges] == edges
        labels = [None if e.label is None else _label_size(drawn.texts[i])
                  for i, e in enumerate(layout.edges)]
        check(layout, sizes, edges, labels)
        assert crossings(layout) == 0


def _label_size(text: str) -> tuple[float, float]:
    from autodiff_cli.render.svg import LABEL_FONT, text_width

    return text_width(text, LABEL_FONT) + 4, LABEL_FONT + 2


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["sin(x)", "x*y", "y+z", "exp(z)", "x*x", "2*y", "cos(x*z)",
                                  "u", "u*u", "sin(u)*x"]), max_size=10))
def test_adcli_graphs_keep_every_promise(terms: list[str]) -> None:
    # u uses every variable; the terms share nodes with it and with each other.
    view = computation_graph("u = x*y + z; " + " + ".join([*terms, "u"]), x=1, y=2, z=3)
    drawn = scene(view)
    layout = drawn.layout
    sizes = {n.id: (n.width, n.height) for n in layout.nodes}
    edges = [(e.source, e.target) for e in layout.edges]
    labels = [None if e.label is None else _label_size(drawn.texts[i])
              for i, e in enumerate(layout.edges)]
    check(layout, sizes, edges, labels)


# ---------------------------------------------------------------- shapes


def test_parallel_edges_get_their_own_routes_and_ports() -> None:
    sizes = {"x": (40.0, 30.0), "m": (40.0, 30.0)}
    both: list[tuple[float, float] | None] = [(50.0, 12.0), (50.0, 12.0)]
    for labels in (None, both):
        layout = layered_layout(sizes, [("x", "m"), ("x", "m")], labels=labels)
        check(layout, sizes, [("x", "m"), ("x", "m")], labels)
        first, second = layout.edges
        assert first.points[0] != second.points[0] and first.points[-1] != second.points[-1]
        # In the order of their other ends: they do not cross each other.
        assert (first.points[0][1] < second.points[0][1]) == (first.points[-1][1]
                                                              < second.points[-1][1])


def test_a_node_used_at_every_level_shares_one_trunk() -> None:
    # x feeds c1 ... c40 of a chain: 40 edges of lengths 1..40 would need 780 dummies
    # each on its own; sharing a trunk they need 39 (one per layer the trunk passes).
    chain = [f"c{i}" for i in range(41)]
    sizes = {"x": (20.0, 20.0)} | {c: (30.0, 20.0) for c in chain}
    edges = [(a, b) for a, b in itertools.pairwise(chain)] + [("x", c) for c in chain[1:]]
    layout = layered_layout(sizes, edges)
    check(layout, sizes, edges)
    dummies = {(layer + 1, lower) for layer, _, lower in layout.segments} - {
        (n.rank, n.order) for n in layout.nodes}
    assert len(dummies) <= 40
    assert crossings(layout) == 0 and not any(e.shortcut for e in layout.edges)


def test_inputs_sit_next_to_their_first_use() -> None:
    # z is used only by the last operation: it is drawn beside it, not at the far left.
    view = computation_graph("sin(cos(exp(x))) + z", x=1, z=2)
    layout = scene(view).layout
    ranks = {n.id: n.rank for n in layout.nodes}
    z = next(n.id for n in view.nodes if n.definition == "z")
    assert ranks[z] == ranks[view.output] - 2  # one rank of labels between
    assert min(ranks.values()) == 0


def test_directions_swap_the_axes() -> None:
    sizes = {"a": (80.0, 20.0), "b": (80.0, 20.0), "c": (80.0, 20.0)}
    edges = [("a", "c"), ("b", "c")]
    across = layered_layout(sizes, edges, direction="LR")
    down = layered_layout(sizes, edges, direction="TB")
    check(across, sizes, edges)
    check(down, sizes, edges)
    a, c = across.nodes[0], across.nodes[2]
    assert a.x < c.x and across.width > across.height
    a, c = down.nodes[0], down.nodes[2]
    assert a.y < c.y and down.height < down.width


def test_empty_and_single_graphs() -> None:
    empty = layered_layout({}, [])
    assert (empty.nodes, empty.edges, empty.width, empty.height, empty.layers) == ((), (), 0, 0, 0)
    single = layered_layout({"a": (30.0, 10.0)}, [])
    assert single.nodes == (PlacedNode("a", 15.0, 5.0, 30.0, 10.0, 0, 0),)
    assert (single.width, single.height) == (30.0, 10.0)


@pytest.mark.parametrize(("sizes", "edges", "labels", "message"), [
    ({"a": (1.0, 1.0)}, [("a", "b")], None, "no node 'b'"),
    ({"a": (1.0, 1.0)}, [("a", "a")], None, "loop"),
    ({"a": (1.0, 1.0), "b": (1.0, 1.0)}, [("a", "b"), ("b", "a")], None, "cycle"),
    ({"a": (-1.0, 1.0)}, [], None, "bad size"),
    ({"a": (math.nan, 1.0)}, [], None, "bad size"),
    ({"a": (1.0, 1.0), "b": (1.0, 1.0)}, [("a", "b")], [], "0 labels for 1 edges"),
    ({"a": (1.0, 1.0), "b": (1.0, 1.0)}, [("a", "b")], [(math.inf, 1.0)], "bad size"),
])
def test_bad_input_is_refused(sizes: Sizes, edges: Edges, labels: Labels, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        layered_layout(sizes, edges, labels=labels)


def test_direction_must_be_known() -> None:
    with pytest.raises(ValueError, match="direction"):
        layered_layout({}, [], direction="RL")  # type: ignore[arg-type]


# ---------------------------------------------------------------- determinism and size


def test_the_same_input_gives_the_same_layout() -> None:
    view = computation_graph("u = x*y + z; v = sin(u)*exp(-x); w = v^2 + cos(u*y); "
                             "log(1 + w*w) + tanh(v - z) + u/(1+x^2)", x=0.5, y=2, z=-1)
    again = computation_graph(view.expression, None, **view.point)
    assert scene(view) == scene(view)
    assert scene(view).layout == scene(again).layout


def chain_and_fan(n: int) -> tuple[Sizes, Edges, Sizes, Edges]:
    chain_sizes = {f"c{i}": (60.0, 30.0) for i in range(n)}
    chain = [(f"c{i}", f"c{i + 1}") for i in range(n - 1)]
    fan_sizes = {f"x{i}": (40.0, 20.0) for i in range(n - 1)} | {"sum": (60.0, 30.0)}
    fan = [(f"x{i}", "sum") for i in range(n - 1)]
    return chain_sizes, chain, fan_sizes, fan


def test_five_thousand_nodes_in_a_chain_or_a_fan() -> None:
    chain_sizes, chain, fan_sizes, fan = chain_and_fan(5000)
    layout = layered_layout(chain_sizes, chain)
    assert layout.layers == 5000 and crossings(layout) == 0
    layout = layered_layout(fan_sizes, fan)
    assert layout.layers == 2 and crossings(layout) == 0
    tall = max(n.y + n.height / 2 for n in layout.nodes)
    assert tall == pytest.approx(layout.height)


@pytest.mark.slow
def test_five_thousand_node_adcli_graphs() -> None:
    # A chain (each level's sin nests the next: the AST is 5,000 deep) and a wide sum.
    levels = 2500
    deep = computation_graph("sin(x + " * levels + "x" + ")" * levels, x=0.5)
    wide = computation_graph(" + ".join(f"sin(x{i})" for i in range(1667)), None,
                             **{f"x{i}": 0.5 for i in range(1667)})
    for view in (deep, wide):
        assert len(view.nodes) >= 5000
        layout = scene(view).layout
        assert len(layout.nodes) == len(view.nodes)
        assert crossings(layout) == 0
        nodes = {n.id: n for n in layout.nodes}
        for edge in layout.edges:
            assert nodes[edge.source].rank < nodes[edge.target].rank
