"""The ``graph`` command: the computation graph, drawn or as data."""

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .core import VariableCommand, app
from .options import (
    VARIABLES_HELP,
    Expression,
    File,
    Var,
    Wrt,
    emit,
    emit_text,
    program_at,
    wrote,
)


class GraphFormat(str, Enum):
    """What ``adcli graph`` draws."""

    tree = "tree"
    svg = "svg"
    dot = "dot"
    mermaid = "mermaid"
    json = "json"


@app.command(cls=VariableCommand, epilog=VARIABLES_HELP)
def graph(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    var: Var = None,
    wrt: Wrt = None,
    form: Annotated[GraphFormat, typer.Option(
        "--format", help="tree: in the terminal; svg: a picture, laid out by adcli; dot: Graphviz; "
        "mermaid: a diagram for Markdown; json: nodes and edges.", case_sensitive=False)] = GraphFormat.tree,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", dir_okay=False,
        help="Write to FILE instead: tree .svg/.txt (the terminal's text); svg .svg; dot .dot/.gv, "
        "or .svg/.png/.pdf drawn by Graphviz's dot; mermaid .mmd/.md; json .json.")] = None,
    depth: Annotated[Optional[int], typer.Option(
        "--depth", min=0, max=64, help="Show only the nodes at most this many steps from the "
        "output. Default: 8 for the tree, everything for svg, dot and mermaid; json is never cut.")]
    = None,
) -> None:
    """The computation graph: every node's operation, value and gradient (adjoint ∂f/∂node).

    Example:  adcli graph "sin(x)+x*y" --x 1 --y 2 --format svg --output graph.svg
    """
    from ..language.inputs import resolve_wrt
    from ..render.dot import to_dot
    from ..render.graph import graph_tree
    from ..render.json import graph_dict, to_json
    from ..render.mermaid import to_mermaid
    from ..views.graph import DEFAULT_TREE_DEPTH, graph_at

    kind = form.value
    if output is not None:
        _check_output(kind, output)
    program, point = program_at(ctx, expression, file, var)
    view = graph_at(program, point, resolve_wrt(program.variables, wrt))
    if view.nonfinite:
        from ..render.console import console, warning_text

        console(stderr=True).print(
            warning_text(f"non-finite result; the first came from {view.nonfinite}"),
            soft_wrap=True)
    if kind == "tree":
        emit(graph_tree(view, DEFAULT_TREE_DEPTH if depth is None else depth), output)
        return
    if kind == "svg":
        from ..render.svg import graph_svg

        text = graph_svg(view, depth)
    elif kind == "dot":
        text = to_dot(view, depth)
    elif kind == "mermaid":
        text = to_mermaid(view, depth)
    else:
        text = to_json(graph_dict(view)) + "\n"
    if output is None:
        emit_text(text, None)
    else:
        _save(text, kind, output)
        wrote(output)


OUTPUT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "tree": (".svg", ".txt"),
    "svg": (".svg",),
    "dot": (".dot", ".gv", ".svg", ".png", ".pdf"),
    "mermaid": (".mmd", ".md"),
    "json": (".json",),
}
"""The files each format can write; DOT renders .svg, .png and .pdf through Graphviz's dot."""


def _check_output(form: str, path: Path) -> None:
    """Fail early when ``form`` cannot write ``path``, or when rendering it needs a missing dot."""
    from ..render.dot import RENDERED_BY_DOT, dot_program
    from ..render.files import check_suffix

    suffix = path.suffix.lower()
    hint = ""
    if form not in ("dot", "svg") and suffix in RENDERED_BY_DOT:
        drawn_by = "svg" if suffix == ".svg" else "dot"
        hint = f"; for a {suffix} picture of the graph use --format {drawn_by} --output {path.name}"
    check_suffix(path, OUTPUT_SUFFIXES[form], f"--format {form}", hint)
    if form == "dot" and suffix in RENDERED_BY_DOT:
        dot_program()


def _save(text: str, form: str, path: Path) -> None:
    """Write a DOT, Mermaid or JSON text to ``path``; DOT to .svg/.png/.pdf is drawn by dot."""
    from ..render.dot import RENDERED_BY_DOT, render_dot
    from ..render.files import write_text

    suffix = path.suffix.lower()
    if form == "dot" and suffix in RENDERED_BY_DOT:
        render_dot(text, path)
    elif form == "mermaid" and suffix == ".md":
        write_text(path, f"```mermaid\n{text}```\n")
    else:
        write_text(path, text)
