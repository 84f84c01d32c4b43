"""The ``adcli`` command line: options in, one library call, results to rendering.

Variables are given as options named after them (``--x 1 --y 2``), which no
fixed option list can declare; :class:`VariableCommand` takes every ``--NAME
VALUE`` that is not one of the command's own options before Typer parses the
rest.  User errors (:class:`AdcliError`) become a message on stderr and exit
status 2 here, in one place.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand

from . import __version__
from .errors import AdcliError

ASSIGNMENTS = "adcli.assignments"


class VariableCommand(TyperCommand):
    """A command that also takes ``--NAME VALUE`` (or ``--NAME=VALUE``) for any variable NAME."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        own: set[str] = set()
        takes_value: set[str] = set()
        for param in self.get_params(ctx):
            names = [*param.opts, *getattr(param, "secondary_opts", [])]
            own.update(names)
            if getattr(param, "param_type_name", "") == "option" and not (
                    getattr(param, "is_flag", False) or getattr(param, "count", False)):
                takes_value.update(names)
        options: list[str] = []
        positional: list[str] = []
        assignments: list[tuple[str, str]] = []
        i = 0
        while i < len(args):
            arg = args[i]
            flag, eq, inline = arg.partition("=")
            if arg == "--":
                positional.extend(args[i + 1:])
                break
            if flag in own:
                options.append(arg)
                if not eq and flag in takes_value and i + 1 < len(args):
                    options.append(args[i + 1])
                    i += 1
            elif arg.startswith("--") and len(flag) > 2:
                if eq:
                    value = inline
                elif i + 1 < len(args):
                    value = args[i + 1]
                    i += 1
                else:
                    ctx.fail(f"{arg} needs a value: {arg} VALUE")
                assignments.append((flag[2:], value))
            else:
                positional.append(arg)  # the expression, even when it starts with '-'
            i += 1
        ctx.meta[ASSIGNMENTS] = assignments
        return super().parse_args(ctx, [*options, "--", *positional])

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except AdcliError as error:
            from .render import console, error_text

            console(stderr=True).print(error_text(str(error)), soft_wrap=True)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


app = typer.Typer(
    name="adcli",
    help="Differentiate and optimize math expressions from the shell.\n\n"
         "Example:  adcli grad \"sin(x)+x*y\" --x 1 --y 2",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"adcli {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
) -> None:
    """Differentiate and optimize math expressions from the shell.

    Example:  adcli grad "sin(x)+x*y" --x 1 --y 2
    """


# ---------------------------------------------------------------- shared options

Expression = Annotated[Optional[str], typer.Argument(
    metavar="EXPR", show_default=False,
    help="The expression or program; - reads it from standard input.")]
File = Annotated[Optional[str], typer.Option(
    "--file", "-f", metavar="FILE", help="Read the expression from FILE (- for standard input).")]
Var = Annotated[Optional[list[str]], typer.Option(
    "--var", metavar="NAME=VALUE",
    help="Give a variable a value; for names that clash with an option. Repeatable.")]
Wrt = Annotated[Optional[str], typer.Option(
    "--wrt", metavar="X,Y", help="Differentiate only with respect to these variables; "
    "the others are held constant. Default: all.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]

VARIABLES_HELP = ("Give each variable as an option named after it: --x 1 --y=-2 --t pi/4 "
                  "(values may be constant expressions).")


def _assignments(ctx: typer.Context, var: list[str] | None) -> list[tuple[str, str]]:
    from .inputs import parse_assignment

    given: list[tuple[str, str]] = list(ctx.meta.get(ASSIGNMENTS, []))
    return given + [parse_assignment(v) for v in var or []]


# ---------------------------------------------------------------- commands


@app.command(cls=VariableCommand, epilog=VARIABLES_HELP)
def grad(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    var: Var = None,
    wrt: Wrt = None,
    json: Json = False,
    trace: Annotated[bool, typer.Option(
        "--trace", help="Also show the evaluation trace w1 ... wn: each value, the local partials, "
        "the adjoint ∂f/∂wi, and each partial derivative as a sum over paths.")] = False,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", dir_okay=False,
        help="Write to FILE instead: .svg (a picture of the terminal output) or .txt; "
        ".json with --json.")] = None,
) -> None:
    """The value and every partial derivative, by reverse-mode autodiff.

    Example:  adcli grad "sin(x)+x*y" --x 1 --y 2 --trace
    """
    from .grad import gradient_at
    from .inputs import read_expression, resolve_point, resolve_wrt
    from .parser import parse
    from .render import console, grad_json, grad_view, warning_text

    if output is not None:
        _check_output(output, json)
    program = parse(read_expression(expression, file))
    point = resolve_point(program.variables, _assignments(ctx, var))
    names = resolve_wrt(program.variables, wrt)
    if trace:
        from .trace import trace_at

        result, steps = trace_at(program, point, names)
    else:
        result, _ = gradient_at(program, point, names)
    if result.nonfinite:
        console(stderr=True).print(
            warning_text(f"non-finite result; the first came from {result.nonfinite}"),
            soft_wrap=True)
    if json:
        if trace:
            from .render import grad_trace_json

            _emit_text(grad_trace_json(result, steps), output)
        else:
            _emit_text(grad_json(result), output)
    elif trace:
        from rich.console import Group
        from rich.text import Text

        from .render import trace_view

        _emit(Group(grad_view(result), Text(""), trace_view(steps)), output)
    else:
        _emit(grad_view(result), output)


# ---------------------------------------------------------------- writing output


def _check_output(path: Path, json: bool) -> None:
    from .files import check_suffix

    if json:
        check_suffix(path, (".json",), "--json")
    else:
        check_suffix(path, (".svg", ".txt"), "--output", "; give --json to write .json")


def _wrote(path: Path) -> None:
    from .render import console

    console(stderr=True).print(f"wrote {path}", style="dim", soft_wrap=True)


def _emit_text(text: str, output: Path | None) -> None:
    """Text to stdout, or to the output file."""
    if output is None:
        typer.echo(text.rstrip("\n"))
        return
    from .files import write_text

    write_text(output, text if text.endswith("\n") else text + "\n")
    _wrote(output)


def _emit(renderable: Any, output: Path | None) -> None:
    """A rich renderable to the terminal, or as a picture (.svg) or plain text (.txt) to a file."""
    from .render import console, picture

    if output is None:
        console().print(renderable)
        return
    from .files import write_text

    write_text(output, picture(renderable, output.suffix.lower(), title=f"adcli: {output.name}"))
    _wrote(output)


# ---------------------------------------------------------------- graph


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
    from .graphview import (
        DEFAULT_TREE_DEPTH,
        check_output,
        graph_at,
        graph_dict,
        save,
        to_dot,
        to_mermaid,
    )
    from .inputs import read_expression, resolve_point, resolve_wrt
    from .parser import parse
    from .render import graph_tree, to_json

    kind = form.value
    if output is not None:
        check_output(kind, output)
    program = parse(read_expression(expression, file))
    point = resolve_point(program.variables, _assignments(ctx, var))
    view = graph_at(program, point, resolve_wrt(program.variables, wrt))
    if view.nonfinite:
        from .render import console, warning_text

        console(stderr=True).print(
            warning_text(f"non-finite result; the first came from {view.nonfinite}"),
            soft_wrap=True)
    if kind == "tree":
        _emit(graph_tree(view, DEFAULT_TREE_DEPTH if depth is None else depth), output)
        return
    if kind == "dot":
        text = to_dot(view, depth)
    elif kind == "mermaid":
        text = to_mermaid(view, depth)
    else:
        text = to_json(graph_dict(view)) + "\n"
    if output is None:
        _emit_text(text, None)
    else:
        save(text, kind, output)
        _wrote(output)


def main() -> None:
    """Entry point of the ``adcli`` console script."""
    app(prog_name="adcli")
