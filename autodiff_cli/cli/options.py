"""Options that several commands share, defined once; and writing a command's output."""

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import AdcliError, InputFileError, VariableError
from .core import ASSIGNMENTS


def whole(least: int) -> Any:
    """A parser of counts (``--steps``, ``--points``, ...): whole numbers written as integers
    or in float notation (``1e6``, ``2.5e3``), with ``_`` between digits, at least ``least``."""

    def parse(text: Any) -> int:
        if isinstance(text, int):
            number = text
        else:
            spelled = str(text).strip().replace("_", "")
            try:
                number = int(spelled)
            except ValueError:
                try:
                    value = float(spelled)
                except ValueError:
                    raise typer.BadParameter(f"{text!r} is not a whole number") from None
                if not value.is_integer():
                    raise typer.BadParameter(f"{text!r} is not a whole number") from None
                number = int(value)
        if number < least:
            raise typer.BadParameter(f"{text} is below {least}, the least it may be")
        return number

    return parse


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

# The descent optimizers' settings (descend and fit): defaults live in optimize/optimizers.py.
Lr = Annotated[Optional[float], typer.Option(
    "--lr", min=0.0, help="Learning rate. Default: the optimizer's, as in torch.optim "
    "(1e-3 for sgd, momentum, nesterov and adam; 1e-2 for rmsprop and adagrad).")]
Momentum = Annotated[Optional[float], typer.Option(
    "--momentum", min=0.0, help="momentum/nesterov: μ (default 0.9).")]
Beta1 = Annotated[Optional[float], typer.Option(
    "--beta1", min=0.0, max=1.0, help="adam: β1 (default 0.9).")]
Beta2 = Annotated[Optional[float], typer.Option(
    "--beta2", min=0.0, max=1.0, help="adam: β2 (default 0.999).")]
Alpha = Annotated[Optional[float], typer.Option(
    "--alpha", min=0.0, max=1.0, help="rmsprop: smoothing α (default 0.99).")]
LrDecay = Annotated[Optional[float], typer.Option(
    "--lr-decay", min=0.0, help="adagrad: learning-rate decay (default 0).")]
Eps = Annotated[Optional[float], typer.Option(
    "--eps", min=0.0, help="adam, rmsprop, adagrad: ε added to the denominator.")]


# What the iterative commands (descend, minimize) share.
Fix = Annotated[Optional[list[str]], typer.Option(
    "--fix", metavar="X,Y", help="Hold these variables constant.")]
Init = Annotated[Optional[str], typer.Option(
    "--init", metavar="VALUE", help="Start value for variables not given one.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary.")]


def hyper_parameters(**values: Optional[float]) -> dict[str, float]:
    """The optimizer settings given (lr, momentum, ...), without the ones left at None."""
    return {name: value for name, value in values.items() if value is not None}

VARIABLES_HELP = ("Give each variable as an option named after it: --x 1 --y=-2 --t pi/4 "
                  "(values may be constant expressions).")


def assignments(ctx: typer.Context, var: list[str] | None) -> list[tuple[str, str]]:
    """The variables' values: every ``--NAME VALUE``, then every ``--var NAME=VALUE``."""
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
    from ..render.console import picture, show

    if output is None:
        show(renderable)
        return
    from ..render.files import write_text

    write_text(output, picture(renderable, output.suffix.lower(), title=f"adcli: {output.name}"))
    wrote(output)


# ---------------------------------------------------------------- reading input


MAX_INPUT = 4_000_000
"""The most bytes of expression text adcli reads (about a million nodes, which take a few
hundred MB): more is refused before it is parsed.  ``adcli --max-input BYTES COMMAND``
raises it."""

MAX_INPUT_KEY = "adcli.max_input"


def input_limit(ctx: typer.Context) -> int:
    """The limit in force: ``--max-input`` if it was given, else :data:`MAX_INPUT`."""
    limit = ctx.find_root().meta.get(MAX_INPUT_KEY)
    return MAX_INPUT if limit is None else int(limit)


def _too_long(what: str, limit: int) -> InputFileError:
    return InputFileError(f"{what} is longer than {limit:,} bytes, the most adcli reads; "
                          "raise the limit with adcli --max-input BYTES COMMAND ...")


def _decoded(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8-sig")  # a byte-order mark is not text
    except UnicodeDecodeError as error:
        raise InputFileError(f"{what} is not UTF-8 text: byte 0x{data[error.start]:02x} at offset "
                             f"{error.start} cannot be decoded") from None


def read_expression(text: str | None, file: str | None, limit: int = MAX_INPUT) -> str:
    """The program's text: the argument, a file, or standard input for ``-``; at most
    ``limit`` bytes of it, decoded as UTF-8."""
    if text is not None and file is not None:
        raise AdcliError("give the expression either as an argument or with --file, not both")
    if file is None and text is None:
        raise AdcliError("no expression: give one as an argument, with --file FILE, or - for stdin")
    if text == "-" or file == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            raise InputFileError("standard input is closed: there is no expression to read from it")
        try:
            data = stream.read(limit + 1)
        except OSError as error:
            raise InputFileError(f"cannot read standard input: {error.strerror or error}") from None
        if len(data) > limit:
            raise _too_long("standard input", limit)
        return _decoded(data, "standard input")
    if file is not None:
        try:
            with open(file, "rb") as stream:
                data = stream.read(limit + 1)
        except OSError as error:
            raise InputFileError(f"cannot read {file}: {error.strerror or error}") from None
        if len(data) > limit:
            raise _too_long(file, limit)
        return _decoded(data, file)
    assert text is not None
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        raise _too_long("the expression", limit)
    return text


def parse_assignment(text: str) -> tuple[str, str]:
    """``name=value`` from ``--var``."""
    name, eq, value = text.partition("=")
    if not eq or not name.strip() or not value.strip():
        raise VariableError(f"--var takes name=value, got {text!r}")
    return name.strip(), value.strip()


def read_program(ctx: typer.Context, expression: str | None, file: str | None) -> Any:
    """The program the user gave: the argument, a file, or standard input, parsed."""
    from ..language.parser import parse

    return parse(read_expression(expression, file, input_limit(ctx)))


def start_of(ctx: typer.Context, program: Any, var: list[str] | None, init: str | None,
             fix: list[str] | None) -> tuple[dict[str, float], tuple[str, ...], tuple[str, ...]]:
    """Where an iterative command starts (``--NAME VALUE``, ``--var``, ``--init`` for the
    rest), the variables it holds (``--fix``) and those it moves."""
    from ..language.inputs import check_names, comma_list, resolve_point
    from ..language.parser import parse_constant

    default = parse_constant(init, "--init") if init is not None else None
    start = resolve_point(program.variables, assignments(ctx, var), default,
                          "; or give every variable without one a start value with --init VALUE")
    fixed = comma_list(fix)
    check_names(fixed, program.variables, "fixed")
    return start, tuple(fixed), tuple(n for n in program.variables if n not in fixed)


def program_at(ctx: typer.Context, expression: str | None, file: str | None,
               var: list[str] | None) -> tuple[Any, dict[str, float]]:
    """The program and the point given by ``--NAME VALUE`` and ``--var NAME=VALUE``."""
    from ..language.inputs import resolve_point

    program = read_program(ctx, expression, file)
    return program, resolve_point(program.variables, assignments(ctx, var))
