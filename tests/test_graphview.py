"""The computation graph (adcli graph): the data, the outline tree, DOT, Mermaid, JSON, files."""

from __future__ import annotations

import json
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autodiff_cli.api import computation_graph, grad
from autodiff_cli.render.dot import to_dot
from autodiff_cli.render.json import graph_dict
from autodiff_cli.render.mermaid import to_mermaid
from autodiff_cli.views.graph import GraphView, cut, distances, outline

from .helpers import app, runner

ARGS = ["sin(x)+x*y", "--x", "1", "--y", "2"]


@pytest.fixture(scope="module")
def example() -> GraphView:
    return computation_graph("sin(x)+x*y", x=1, y=2)


@pytest.fixture(scope="module")
def huge() -> GraphView:
    """x+x+...+x with 100,000 terms: an AST 100,000 deep."""
    return computation_graph("+".join(["x"] * 100_000), x=1)


def graph(*args: str) -> str:
    result = runner.invoke(app, ["graph", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


# ---------------------------------------------------------------- the data


def test_example_graph_nodes_edges_values_and_gradients(example: GraphView) -> None:
    assert len(example.nodes) == 5 and len(example.edges) == 5
    by_id = {n.id: n for n in example.nodes}
    assert sorted(by_id) == ["w1", "w2", "w3", "w4", "w5"] and example.output == "w5"
    assert [by_id[i].definition for i in ("w1", "w2", "w3", "w4", "w5")] == [
        "x", "y", "sin(w1)", "w1·w2", "w3 + w4"]
    assert by_id["w5"].value == math.sin(1.0) + 2.0
    expected = grad("sin(x)+x*y", x=1, y=2).gradient
    assert by_id["w1"].gradient == expected["x"] and by_id["w2"].gradient == expected["y"]
    assert by_id["w3"].gradient == by_id["w4"].gradient == by_id["w5"].gradient == 1.0
    # x is one node used twice: two edges leave it, with the local partials cos(x) and y.
    from_x = [(e.target, e.local_form, e.local_partial) for e in example.edges if e.source == "w1"]
    assert from_x == [("w3", "cos(w1)", math.cos(1.0)), ("w4", "w2", 2.0)]


def test_constants_are_nodes_without_gradients() -> None:
    view = computation_graph("u = 2*x; u^2 + pi", x=3)
    constants = [n for n in view.nodes if n.kind == "constant"]
    # The two 2s are one node: the parser builds equal subexpressions once.
    assert [(n.id, n.definition, n.value, n.gradient) for n in constants] == [
        ("c1", "2", 2.0, None), ("c2", "pi", math.pi, None)]
    named = [n for n in view.nodes if n.name == "u"]
    assert len(named) == 1 and named[0].definition == "2·w1" and named[0].gradient == 2 * 6.0
    into_u = [e for e in view.edges if e.target == named[0].id]
    assert [(e.source, e.local_partial) for e in into_u] == [("c1", None), ("w1", 2.0)]


# ---------------------------------------------------------------- the outline tree


def test_a_shared_variable_is_drawn_once_and_referred_to(example: GraphView) -> None:
    shape = outline(example)
    drawn = [(line.depth, line.node) for line in shape.lines if line.role == "node"]
    assert drawn == [(0, "w5"), (1, "w3"), (2, "w1"), (1, "w4"), (2, "w2")]
    shared = [(line.depth, line.node, line.drawn_above) for line in shape.lines
              if line.role == "shared"]
    assert shared == [(2, "w1", True)] and shape.hidden == 0


def test_cli_tree_draws_value_and_gradient_and_refers_to_shared_nodes() -> None:
    out = graph(*ARGS)
    assert "w5 = w3 + w4  value 2.8414709848078967  grad 1.0" in out
    assert "w3 = sin(w1)  value 0.8414709848078965  grad 1.0" in out
    assert out.count("w1 = x  value 1.0  grad 2.5403023058681398") == 1
    assert out.count("w1 = x  ↺ used again: drawn above") == 1


def test_a_named_intermediate_is_drawn_once_with_its_name() -> None:
    out = graph("u = x*y; sin(u) + u", "--x", "1", "--y", "2")
    assert out.count("w3 (u) = w1·w2  value 2.0") == 1
    assert out.count("w3 (u) = w1·w2  ↺ used again") == 1


def test_depth_cuts_the_tree_with_a_note() -> None:
    out = graph(*ARGS, "--depth", "1")
    assert "w1 = x" not in out and "w2 = y" not in out
    assert "w3 = sin(w1)  value 0.8414709848078965  grad 1.0  … arguments below --depth" in out
    assert "2 nodes are deeper than --depth 1 and not shown" in out


@pytest.mark.slow
def test_outline_draws_every_node_within_depth_once_and_stays_small(huge: GraphView) -> None:
    dist = distances(huge)
    for depth in (0, 3, 8):
        shape = outline(huge, depth)
        drawn = [line.node for line in shape.lines if line.role in ("node", "cut")]
        assert sorted(drawn) == sorted(n for n, d in dist.items() if d <= depth)
        assert len(shape.lines) <= 2 ** (depth + 1) - 1
        assert shape.hidden == len(huge.nodes) - len(drawn)


def test_outline_of_a_wide_balanced_graph_is_bounded() -> None:
    # 2^10 distinct leaves under a balanced tree of additions: the tree must be cut.
    terms = [f"x{i}" for i in range(1024)]
    while len(terms) > 1:
        terms = [f"({a} + {b})" for a, b in zip(terms[::2], terms[1::2])]
    program = terms[0]
    values = {f"x{i}": float(i) for i in range(1024)}
    view = computation_graph(program, **values)
    shape = outline(view, 4)
    assert len(shape.lines) == 2 ** 5 - 1 and shape.hidden == len(view.nodes) - 2 ** 5 + 1


def test_cli_tree_of_a_huge_graph_is_cut_by_default() -> None:
    out = graph("+".join(["x"] * 2000), "--x", "1")
    assert "1,990 nodes are deeper than --depth 8 and not shown" in out
    assert len(out.splitlines()) < 40


# ---------------------------------------------------------------- DOT


def _dot_nodes_and_edges(dot: str) -> tuple[list[str], list[tuple[str, str]]]:
    nodes = [n for n in re.findall(r"^  (\w+) \[", dot, flags=re.MULTILINE)
             if n not in ("graph", "node", "edge")]
    edges = re.findall(r"^  (\w+) -> (\w+)", dot, flags=re.MULTILINE)
    return nodes, edges


def test_dot_declares_each_node_once_and_every_edge(example: GraphView) -> None:
    dot = to_dot(example)
    assert dot.startswith("digraph adcli {") and dot.rstrip().endswith("}")
    nodes, edges = _dot_nodes_and_edges(dot)
    assert sorted(nodes) == ["w1", "w2", "w3", "w4", "w5"]
    assert sorted(edges) == [("w1", "w3"), ("w1", "w4"), ("w2", "w4"), ("w3", "w5"), ("w4", "w5")]
    assert 'w1 -> w3 [label="∂w3/∂w1 = cos(w1) = 0.5403023058681398"]' in dot
    assert "grad 2.5403023058681398" in dot


def test_dot_escapes_the_expression_text() -> None:
    dot = to_dot(computation_graph('x*2 # a "quoted" \\ comment', x=1))
    assert '\\"quoted\\" \\\\ comment' in dot


def test_dot_cut_marks_hidden_arguments(example: GraphView) -> None:
    dot = to_dot(example, depth=1)
    nodes, edges = _dot_nodes_and_edges(dot)
    assert sorted(nodes) == ["more_w3", "more_w4", "w3", "w4", "w5"]
    assert ("more_w3", "w3") in edges and "2 nodes are deeper than --depth 1" in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_accepts_the_dot_text(example: GraphView) -> None:
    for text in (to_dot(example), to_dot(example, 1),
                 to_dot(computation_graph('u = 2*x; u^2 + pi # "q"', x=1))):
        done = subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True,
                              check=False)
        assert done.returncode == 0, done.stderr
        assert b"<svg" in done.stdout


# ---------------------------------------------------------------- Mermaid


def test_mermaid_is_a_flowchart_with_every_node_and_edge(example: GraphView) -> None:
    text = to_mermaid(example)
    assert text.startswith("flowchart LR\n")
    declared = re.findall(r'^  (\w+)\(?\["', text, flags=re.MULTILINE)
    edges = re.findall(r"^  (\w+) -->\|[^|]*\| (\w+)$", text, flags=re.MULTILINE)
    assert sorted(declared) == ["w1", "w2", "w3", "w4", "w5"]
    assert sorted(edges) == [("w1", "w3"), ("w1", "w4"), ("w2", "w4"), ("w3", "w5"), ("w4", "w5")]
    assert 'w1 -->|"∂w3/∂w1 = cos(w1) = 0.5403023058681398"| w3' in text


def test_mermaid_escapes_quotes_and_cuts_with_a_note() -> None:
    text = to_mermaid(computation_graph('sin(x) # say "hi" <b>', x=1))
    assert '"hi"' not in text and "#quot;hi#quot;" in text and "#lt;b#gt;" in text
    cut_text = to_mermaid(computation_graph("sin(cos(x))", x=1), depth=1)
    assert 'more_w2["…"] -.-> w2' in cut_text and "1 node is deeper than --depth 1" in cut_text


# ---------------------------------------------------------------- JSON


def test_cli_json_has_nodes_and_edges_with_values_and_gradients() -> None:
    data = json.loads(graph(*ARGS, "--format", "json"))
    assert data["output"] == "w5" and data["gradient"]["x"] == math.cos(1.0) + 2.0
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes["w1"] == {"id": "w1", "kind": "variable", "op": None, "definition": "x",
                           "name": "x", "value": 1.0, "gradient": math.cos(1.0) + 2.0,
                           "arguments": []}
    assert nodes["w4"]["arguments"] == ["w1", "w2"] and nodes["w4"]["op"] == "mul"
    assert {"from": "w1", "to": "w3", "argument": 0, "local_partial": math.cos(1.0),
            "local_partial_form": "cos(w1)"} in data["edges"]


def test_json_is_never_cut_and_stays_valid_with_infinities() -> None:
    result = runner.invoke(app, ["graph", "log(x) + sin(cos(x))", "--x", "0", "--format", "json",
                                 "--depth", "1"])
    assert result.exit_code == 0
    assert "warning: non-finite result; the first came from log(0.0) = -inf" in result.stderr
    data = json.loads(result.stdout)
    assert len(data["nodes"]) == 5
    assert {"from": "w1", "to": "w2", "argument": 0, "local_partial": "inf",
            "local_partial_form": "1/w1"} in data["edges"]


# ---------------------------------------------------------------- 100,000 nodes


@pytest.mark.slow
def test_a_100000_node_graph_works(huge: GraphView) -> None:
    assert len(huge.nodes) == 100_000 and len(huge.edges) == 2 * 99_999
    assert huge.node("w1").gradient == 100_000.0
    assert cut(huge, 8).hidden == 100_000 - 10
    nodes, _ = _dot_nodes_and_edges(to_dot(huge, 8))
    assert len(nodes) == 10 + 1  # nine additions and x, plus one "…" for the cut
    assert len(graph_dict(huge)["nodes"]) == 100_000
    assert to_mermaid(huge).count("-->") == 2 * 99_999


# ---------------------------------------------------------------- files


def test_output_files_of_each_format(tmp_path: Path) -> None:
    for name, form in (("g.dot", "dot"), ("g.gv", "dot"), ("g.mmd", "mermaid"), ("g.md", "mermaid"),
                       ("g.json", "json"), ("g.svg", "tree"), ("g.txt", "tree")):
        target = tmp_path / name
        result = runner.invoke(app, ["graph", *ARGS, "--format", form, "--output", str(target)])
        assert result.exit_code == 0, result.output
        assert result.stdout == "" and f"wrote {target}" in result.stderr
    assert (tmp_path / "g.dot").read_text(encoding="utf-8").startswith("digraph")
    assert (tmp_path / "g.md").read_text(encoding="utf-8").startswith("```mermaid\nflowchart LR\n")
    assert (tmp_path / "g.mmd").read_text(encoding="utf-8").startswith("flowchart LR\n")
    assert json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))["output"] == "w5"
    assert (tmp_path / "g.svg").read_text(encoding="utf-8").lstrip().startswith("<svg")
    assert "w1 = x  ↺ used again: drawn above" in (tmp_path / "g.txt").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<svg"), (".png", b"\x89PNG")])
def test_dot_renders_pictures(tmp_path: Path, suffix: str, magic: bytes) -> None:
    target = tmp_path / f"graph{suffix}"
    result = runner.invoke(app, ["graph", *ARGS, "--format", "dot", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert magic in target.read_bytes()[:400]


def _fake_dot(directory: Path, script: str) -> None:
    """A Python script named dot, first on PATH."""
    program = directory / "dot"
    program.write_text(f"#!{sys.executable}\nimport sys\n{script}", encoding="utf-8")
    program.chmod(0o755)


@pytest.mark.skipif(sys.platform == "win32", reason="a script stands in for dot")
def test_dot_is_run_with_the_format_and_the_output_file(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in for Graphviz that records its arguments and copies its input to the -o file.
    _fake_dot(tmp_path, "from pathlib import Path\n"
                        "Path(sys.argv[0]).with_name('args').write_text(' '.join(sys.argv[1:]))\n"
                        "Path(sys.argv[3]).write_bytes(sys.stdin.buffer.read())\n")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    target = tmp_path / "out.png"
    result = runner.invoke(app, ["graph", *ARGS, "--format", "dot", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "args").read_text().split() == ["-Tpng", "-o", str(target)]
    assert target.read_text(encoding="utf-8") == to_dot(computation_graph("sin(x)+x*y", x=1, y=2))


@pytest.mark.skipif(sys.platform == "win32", reason="a script stands in for dot")
def test_dot_failing_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dot(tmp_path, "sys.stderr.write('Error: syntax error in line 1')\nsys.exit(1)\n")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    result = runner.invoke(app, ["graph", *ARGS, "--format", "dot", "--output",
                                 str(tmp_path / "g.svg")])
    assert result.exit_code == 2
    assert "dot could not render" in result.stderr and "syntax error in line 1" in result.stderr


def test_dot_missing_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no dot anywhere
    result = runner.invoke(app, ["graph", *ARGS, "--format", "dot", "--output",
                                 str(tmp_path / "g.svg")])
    assert result.exit_code == 2
    assert "needs Graphviz's dot program" in result.stderr
    assert "apt-get install graphviz" in result.stderr and "brew install graphviz" in result.stderr
    assert not (tmp_path / "g.svg").exists() and "Traceback" not in result.output
    # Writing the DOT text itself needs no Graphviz.
    result = runner.invoke(app, ["graph", *ARGS, "--format", "dot", "--output",
                                 str(tmp_path / "g.dot")])
    assert result.exit_code == 0


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("args, message", [
    (["--format", "png"], "Invalid value for '--format'"),
    (["--format", "mermaid", "--output", "g.png"],
     "--format mermaid writes .mmd or .md files, not .png; for a .png picture of the graph use "
     "--format dot --output g.png"),
    (["--format", "json", "--output", "g.dot"], "--format json writes .json files, not .dot"),
    (["--output", "g.png"], "--format tree writes .svg or .txt files, not .png"),
    (["--format", "dot", "--output", "graph"], "not a file without a suffix"),
    (["--depth", "-1"], "Invalid value for '--depth'"),
    (["--depth", "65"], "Invalid value for '--depth'"),
])
def test_cli_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["graph", *ARGS, *args])
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.replace("│", " ").split())
    assert "Traceback" not in result.output


def test_cli_errors_of_the_expression_and_the_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["graph", "sin(x", "--x", "1"])
    assert result.exit_code == 2 and "never closed" in result.stderr
    result = runner.invoke(app, ["graph", "x*y", "--x", "1"])
    assert result.exit_code == 2 and "no value for variable 'y'" in result.stderr
    result = runner.invoke(app, ["graph", "x", "--x", "1", "--format", "json", "--output",
                                 str(tmp_path / "missing" / "g.json")])
    assert result.exit_code == 2 and "cannot write" in result.stderr


def test_the_module_runs_as_a_program() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-m", "autodiff_cli", "graph", *ARGS, "--format", "mermaid"],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0 and done.stdout.startswith("flowchart LR")


def test_cli_svg_draws_without_graphviz(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--format svg lays the graph out itself: it works with no dot on PATH, to stdout or a file."""
    import xml.etree.ElementTree as ET

    monkeypatch.setenv("PATH", str(tmp_path))
    out = runner.invoke(app, ["graph", *ARGS, "--format", "svg"])
    assert out.exit_code == 0, out.output
    root = ET.fromstring(out.stdout)
    assert root.tag.endswith("svg") and "w3 = sin(w1)" in out.stdout
    target = tmp_path / "g.svg"
    out = runner.invoke(app, ["graph", *ARGS, "--format", "svg", "--output", str(target)])
    assert out.exit_code == 0, out.output
    printed = runner.invoke(app, ["graph", *ARGS, "--format", "svg"]).stdout
    assert target.read_text(encoding="utf-8") == printed
    bad = runner.invoke(app, ["graph", *ARGS, "--format", "svg", "--output", str(tmp_path / "g.png")])
    assert bad.exit_code == 2 and "svg writes .svg files" in bad.stderr
    hint = runner.invoke(app, ["graph", *ARGS, "--format", "mermaid", "--output", str(tmp_path / "g.svg")])
    assert hint.exit_code == 2 and "use --format svg --output g.svg" in hint.stderr
