"""The SVG picture of the computation graph (autodiff_cli.render.svg): valid, complete, escaped,
deterministic, cut at a depth like the DOT text."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from autodiff_cli.api import computation_graph
from autodiff_cli.errors import command_line_spelling
from autodiff_cli.render.svg import graph_svg, num, scene, xml_text
from autodiff_cli.views.graph import (
    GraphEdge,
    GraphNode,
    GraphView,
    cut,
    edge_label,
    hidden_note,
    node_title,
    title,
)
from autodiff_cli.views.layout import Direction

SVG = "{http://www.w3.org/2000/svg}"

EXAMPLES: list[tuple[str, dict[str, float]]] = [
    ("sin(x)+x*y", {"x": 1, "y": 2}),
    ("u = x*y; sin(u) + u", {"x": 1, "y": 2}),
    ("x*x + 2*x + pi", {"x": 3}),
    ("u = x*y + z; v = sin(u)*exp(-x); w = v^2 + cos(u*y); "
     "log(1 + w*w) + tanh(v - z) + u/(1+x^2)", {"x": 0.5, "y": 2, "z": -1}),
]


def texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter(f"{SVG}text")]


def node_groups(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("id", "")[len("node-"):]: g for g in root.iter(f"{SVG}g")
            if (g.get("class") or "").startswith("node ")}


def border(group: ET.Element) -> ET.Element:
    rect = group.find(f"{SVG}rect")
    assert rect is not None
    return rect


@pytest.fixture(scope="module")
def example() -> GraphView:
    return computation_graph("sin(x)+x*y", x=1, y=2)


@pytest.mark.parametrize(("expression", "point"), EXAMPLES)
@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_the_svg_is_xml_with_every_node_and_every_partial(
        expression: str, point: dict[str, float], direction: Direction) -> None:
    view = computation_graph(expression, None, **point)
    picture = graph_svg(view, direction=direction)
    root = ET.fromstring(picture)
    assert root.tag == f"{SVG}svg"
    shown = texts(root)
    assert title(view) in shown
    assert root.findtext(f"{SVG}title") == title(view)
    for node in view.nodes:
        assert node_title(node) in shown
    labels = [edge_label(e) for e in view.edges]
    for label in labels:
        if label:
            assert shown.count(label) >= labels.count(label)  # x*x: the same partial twice
    assert set(node_groups(root)) == {n.id for n in view.nodes}
    # One arrow per edge, dotted where no gradient flows (from a constant).
    paths = [p for p in root.iter(f"{SVG}path") if p.get("marker-end")]
    assert len(paths) == len(view.edges)
    dotted = [p for p in paths if p.get("stroke-dasharray") == "2 3"]
    assert len(dotted) == sum(1 for label in labels if not label)


def test_sized_to_its_content(example: GraphView) -> None:
    root = ET.fromstring(graph_svg(example))
    width, height = float(root.get("width", "")), float(root.get("height", ""))
    assert root.get("viewBox") == f"0 0 {num(width)} {num(height)}"
    group = next(g for g in root.iter(f"{SVG}g") if g.get("transform"))
    match = re.fullmatch(r"translate\(([-\d.]+),([-\d.]+)\)", group.get("transform", ""))
    assert match is not None
    dx, dy = float(match[1]), float(match[2])
    for rect in group.iter(f"{SVG}rect"):
        x, y = dx + float(rect.get("x", "")), dy + float(rect.get("y", ""))
        assert 0 <= x and x + float(rect.get("width", "")) <= width + 0.1
        assert 0 <= y and y + float(rect.get("height", "")) <= height + 0.1
    inside = set(group.iter(f"{SVG}text"))
    for text in root.iter(f"{SVG}text"):
        shift = (dx, dy) if text in inside else (0.0, 0.0)
        assert 0 <= float(text.get("x", "")) + shift[0] <= width
        assert 0 <= float(text.get("y", "")) + shift[1] <= height


def test_the_dot_picture_s_shapes_and_colours() -> None:
    view = computation_graph("x*x + 2*x + pi", x=3)
    root = ET.fromstring(graph_svg(view))
    groups = node_groups(root)
    for node in view.nodes:
        rects = groups[node.id].findall(f"{SVG}rect")
        if node.id == view.output:
            assert rects[0].get("fill") == "#dcfce7" and rects[0].get("stroke-width") == "2"
        elif node.kind == "variable":  # a pill: its corners are half its height
            assert rects[0].get("fill") == "#dbeafe"
            assert float(rects[0].get("rx", "")) == pytest.approx(
                float(rects[0].get("height", "")) / 2, abs=0.1)
        elif node.kind == "constant":  # plain text
            assert rects == []
        else:
            assert rects[0].get("fill") == "#f8fafc"


def test_text_is_escaped() -> None:
    # A hand-made view whose names, definitions and forms hold every character XML reserves.
    nodes = (
        GraphNode("w1", "variable", None, 'x&"y', "x&'y", 1.0, 2.0, ()),
        GraphNode("c1", "constant", None, "<2>", None, 2.0, None, ()),
        GraphNode("w2", "operation", "mul", "w1 < c1 & 'q'", "a>b", 2.0, 1.0, ("w1", "c1")),
    )
    edges = (GraphEdge("w1", "w2", 0, 2.0, "c1 <&> 1"), GraphEdge("c1", "w2", 1, None, None))
    view = GraphView('x<y & "z" ]]> <!-- --> \x01', {'x&"y': 1.0}, 2.0, {'x&"y': 2.0},
                     nodes, edges, "w2", {"w1": 0, "c1": 1, "w2": 2})
    picture = graph_svg(view)
    root = ET.fromstring(picture)  # well-formed, so every '<' and '&' was escaped
    shown = texts(root)
    for node in nodes:
        assert node_title(node) in shown
    assert edge_label(edges[0]) in shown and "<&>" in edge_label(edges[0])
    # The control character, which XML cannot hold at all, is replaced.
    assert title(view).replace("\x01", "\ufffd") in shown
    assert re.search(r"&(?!(amp|lt|gt|quot|#x27);)", picture) is None
    for raw in ("<2>", "w1 < c1", "<&>", "<!--", "]]>", "\x01"):
        assert raw not in picture
    assert xml_text("<a & 'b' \"c\">") == "&lt;a &amp; &#x27;b&#x27; &quot;c&quot;&gt;"


def test_self_contained() -> None:
    expression, point = EXAMPLES[3]
    picture = graph_svg(computation_graph(expression, None, **point))
    for outside in ("href", "<script", "@import", "<image", "<foreignObject", "http://www.w3.org/1999"):
        assert outside not in picture
    assert set(re.findall(r"url\(([^)]*)\)", picture)) == {"#arrow"}
    assert re.findall(r"https?://[^\"]*", picture) == ["http://www.w3.org/2000/svg"]


def test_compact_numbers() -> None:
    assert [num(v) for v in (0.0, -0.0, -0.04, 2.0, 2.25, 1234.56, -7.06)] == [
        "0", "0", "0", "2", "2.2", "1234.6", "-7.1"]
    picture = graph_svg(computation_graph("sin(x)+x*y", x=1, y=2))
    for attribute in re.findall(r' (?:x|y|width|height|rx)="([^"]*)"', picture):
        assert re.fullmatch(r"-?\d+(\.\d)?", attribute), attribute


def test_the_same_graph_gives_the_same_bytes(example: GraphView) -> None:
    assert graph_svg(example) == graph_svg(example)
    assert graph_svg(example) == graph_svg(computation_graph("sin(x)+x*y", x=1, y=2))


def test_the_same_bytes_under_any_hash_seed() -> None:
    # Sets and dicts of strings iterate in an order that depends on PYTHONHASHSEED: nothing
    # the picture shows may depend on it.
    program = ("import sys; from autodiff_cli.api import computation_graph; "
               "from autodiff_cli.render.svg import graph_svg; "
               f"sys.stdout.write(graph_svg(computation_graph({EXAMPLES[3][0]!r}, "
               "x=0.5, y=2, z=-1), depth=3))")
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, env=env,
                              check=True)
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_depth_cut_like_dot(example: GraphView) -> None:
    # depth 1: the output and its two arguments; x and y are hidden.
    picture = graph_svg(example, depth=1)
    root = ET.fromstring(picture)
    part = cut(example, 1)
    groups = node_groups(root)
    assert set(groups) == set(part.kept) == {"w3", "w4", "w5"}
    shown = texts(root)
    assert hidden_note(2, 1, command_line_spelling) in shown
    assert "2 nodes are deeper than --depth 1 and not shown" in shown
    for node in example.nodes:
        assert (node_title(node) in shown) == (node.id in part.kept)
    # w3 and w4 lost their arguments: dashed borders and a "…" leading into each.
    for node_id in ("w3", "w4"):
        assert border(groups[node_id]).get("stroke-dasharray") == "5 3"
        assert "truncated" in (groups[node_id].get("class") or "")
    assert border(groups["w5"]).get("stroke-dasharray") is None
    assert shown.count("…") == 2
    paths = [p for p in root.iter(f"{SVG}path") if p.get("marker-end")]
    assert len(paths) == 4 and sum(p.get("stroke-dasharray") == "5 3" for p in paths) == 2
    # The markers are laid out like nodes: just before the node they lead into.
    layout = scene(example, 1).layout
    ranks = {n.id: n.rank for n in layout.nodes}
    assert ranks["more_w3"] < ranks["w3"] and ranks["more_w4"] < ranks["w4"]
    # Nothing hidden, no note.
    assert not any("deeper than" in t for t in texts(ET.fromstring(graph_svg(example))))


def test_depth_zero_and_a_leaf_output() -> None:
    root = ET.fromstring(graph_svg(computation_graph("sin(x)+x*y", x=1, y=2), depth=0))
    assert set(node_groups(root)) == {"w5"}
    root = ET.fromstring(graph_svg(computation_graph("x", x=1)))
    assert set(node_groups(root)) == {"w1"}


@pytest.mark.slow
def test_big_graphs_are_drawn() -> None:
    # 5,000 nodes in a chain: the AST, the layout and the picture are all iterative.
    levels = 2500
    view = computation_graph("sin(x + " * levels + "x" + ")" * levels, x=0.5)
    root = ET.fromstring(graph_svg(view))
    assert len(node_groups(root)) == len(view.nodes) == 5001
