"""Graphviz DOT of the computation graph, and pictures of it drawn by Graphviz's ``dot``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..errors import MissingProgramError, OutputFileError, command_line_spelling, option
from ..views.graph import GraphView, cut, hidden_note, node_lines, shown_edges, title

RENDERED_BY_DOT = (".svg", ".png", ".pdf")

INSTALL_GRAPHVIZ = ("install Graphviz: apt-get install graphviz (Debian, Ubuntu), "
                    "brew install graphviz (macOS), or see https://graphviz.org/download/")


def _dot_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(view: GraphView, depth: int | None = None) -> str:
    """Graphviz DOT: inputs on the left, the output on the right, local partials on the edges."""
    part = cut(view, depth)
    kept = set(part.kept)
    truncated = set(part.truncated)
    caption = title(view)
    if part.hidden:
        caption += "\n" + hidden_note(part.hidden, depth, command_line_spelling)
    lines = [
        "digraph adcli {",
        "  graph [rankdir=LR, labelloc=t, fontname=Helvetica, label="
        + _dot_string(caption) + "];",
        '  node [shape=box, style="rounded,filled", fillcolor="#f8fafc", fontname=Helvetica, '
        "fontsize=11];",
        "  edge [fontname=Helvetica, fontsize=9, color=\"#475569\"];",
    ]
    for node in view.nodes:
        if node.id not in kept:
            continue
        attributes = ["label=" + _dot_string("\n".join(node_lines(node)))]
        if node.kind == "variable":
            attributes.append('shape=ellipse, fillcolor="#dbeafe"')
        elif node.kind == "constant":
            attributes.append('shape=plaintext, style=""')
        if node.id == view.output:
            attributes.append('penwidth=2, fillcolor="#dcfce7"')
        if node.id in truncated:
            attributes.append('style="rounded,filled,dashed"')
        lines.append(f"  {node.id} [{', '.join(attributes)}];")
    for node_id in part.truncated:
        lines.append(f'  more_{node_id} [label="…", shape=plaintext];')
        lines.append(f"  more_{node_id} -> {node_id} [style=dashed];")
    for edge, label in shown_edges(view, part):
        shown = f" [label={_dot_string(label)}]" if label else " [style=dotted]"
        lines.append(f"  {edge.source} -> {edge.target}{shown};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_program() -> str:
    """The path of Graphviz's ``dot``."""
    found = shutil.which("dot")
    if found is None:
        raise MissingProgramError(
            "rendering a picture needs Graphviz's dot program, which is not installed; "
            f"{INSTALL_GRAPHVIZ} -- or write the DOT text with {option('output', 'graph.dot')}")
    return found


def render_dot(dot: str, path: Path) -> None:
    """Render DOT text to ``path`` (.svg, .png or .pdf) with Graphviz's ``dot``."""
    program = dot_program()
    kind = path.suffix.lower().lstrip(".")
    try:
        done = subprocess.run([program, f"-T{kind}", "-o", str(path)], input=dot.encode("utf-8"),
                              capture_output=True, check=False)
    except OSError as error:
        raise OutputFileError(f"cannot run {program}: {error.strerror or error}") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
        raise OutputFileError(f"dot could not render {path}: {reason}")
