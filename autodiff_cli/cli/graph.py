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
    assignments,
    emit,
    emit_text,
    read_expression,
    wrote,
)


class GraphFormat(str, Enum):
    """What ``adcli graph`` draws."""

    tree = "tree"
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
        "--format", help="tree: in the terminal; dot: Graphviz; mermaid: a diagram for Markdown; "
        "json: nodes and edges.", case_sensitive=False)] = GraphFormat.tree,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", dir_okay=False,
        help="Write to FILE instead: tree .svg/.txt; dot .dot/.gv, or .svg/.png/.pdf drawn by "
        "Graphviz's dot; mermaid .mmd/.md; json .json.")] = None,
    depth: Annotated[Optional[int], typer.Option(
        "--depth", min=0, max=64, help="Show only the nodes at most this many steps from the "
        "output. Default: 8 for the tree, everything for dot and mermaid; json is never cut.")]
    = None,
) -> None:
    """The computation graph: every node's operation, value and gradient (adjoint ∂f/∂node).

    Example:  adcli graph "sin(x)+x*y" --x 1 --y 2 --format dot --output graph.svg
    """
    from ..language.inputs import resolve_point, resolve_wrt
    from ..language.parser import parse
    from ..render.graph import graph_tree
    from ..render.json import to_json
    from ..views.graph import (
        DEFAULT_TREE_DEPTH,
        check_output,
        graph_at,
        graph_dict,
        save,
        to_dot,
        to_mermaid,
    )

    kind = form.value
    if output is not None:
        check_output(kind, output)
    program = parse(read_expression(expression, file))
    point = resolve_point(program.variables, assignments(ctx, var))
    view = graph_at(program, point, resolve_wrt(program.variables, wrt))
    if view.nonfinite:
        from ..render.console import console, warning_text

        console(stderr=True).print(
            warning_text(f"non-finite result; the first came from {view.nonfinite}"),
            soft_wrap=True)
    if kind == "tree":
        emit(graph_tree(view, DEFAULT_TREE_DEPTH if depth is None else depth), output)
        return
    if kind == "dot":
        text = to_dot(view, depth)
    elif kind == "mermaid":
        text = to_mermaid(view, depth)
    else:
        text = to_json(graph_dict(view)) + "\n"
    if output is None:
        emit_text(text, None)
    else:
        save(text, kind, output)
        wrote(output)
