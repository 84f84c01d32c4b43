"""Options that several commands share, defined once; and writing a command's output."""

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .core import ASSIGNMENTS

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


def assignments(ctx: typer.Context, var: list[str] | None) -> list[tuple[str, str]]:
    from ..language.inputs import parse_assignment

    given: list[tuple[str, str]] = list(ctx.meta.get(ASSIGNMENTS, []))
    return given + [parse_assignment(v) for v in var or []]


# ---------------------------------------------------------------- writing output


def check_output(path: Path, json: bool) -> None:
    from ..render.files import check_suffix

    if json:
        check_suffix(path, (".json",), "--json")
    else:
        check_suffix(path, (".svg", ".txt"), "--output", "; give --json to write .json")


def wrote(path: Path) -> None:
    from ..render.console import console

    console(stderr=True).print(f"wrote {path}", style="dim", soft_wrap=True)


def emit_text(text: str, output: Path | None) -> None:
    """Text to stdout, or to the output file."""
    if output is None:
        typer.echo(text.rstrip("\n"))
        return
    from ..render.files import write_text

    write_text(output, text if text.endswith("\n") else text + "\n")
    wrote(output)


def emit(renderable: Any, output: Path | None) -> None:
    """A rich renderable to the terminal, or as a picture (.svg) or plain text (.txt) to a file."""
    from ..render.console import console, picture

    if output is None:
        console().print(renderable)
        return
    from ..render.files import write_text

    write_text(output, picture(renderable, output.suffix.lower(), title=f"adcli: {output.name}"))
    wrote(output)


