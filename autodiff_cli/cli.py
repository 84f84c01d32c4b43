"""The ``adcli`` command line: options in, one library call, results to rendering.

Variables are given as options named after them (``--x 1 --y 2``), which no
fixed option list can declare; :class:`VariableCommand` takes every ``--NAME
VALUE`` that is not one of the command's own options before Typer parses the
rest.  User errors (:class:`AdcliError`) become a message on stderr and exit
status 2 here, in one place.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand

from . import __version__
from .check import ATOL, RTOL
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
) -> None:
    """The value and every partial derivative, by reverse-mode autodiff.

    Example:  adcli grad "sin(x)+x*y" --x 1 --y 2
    """
    from .grad import gradient_at
    from .inputs import read_expression, resolve_point, resolve_wrt
    from .parser import parse
    from .render import console, grad_json, grad_view, warning_text

    program = parse(read_expression(expression, file))
    point = resolve_point(program.variables, _assignments(ctx, var))
    result, _ = gradient_at(program, point, resolve_wrt(program.variables, wrt))
    if result.nonfinite:
        console(stderr=True).print(
            warning_text(f"non-finite result; the first came from {result.nonfinite}"),
            soft_wrap=True)
    if json:
        typer.echo(grad_json(result))
    else:
        console().print(grad_view(result))


class CheckMethod(str, Enum):
    """How ``check`` estimates derivatives numerically (check.METHODS)."""

    central = "central"
    forward = "forward"
    richardson = "richardson"


class CheckMode(str, Enum):
    """Which autodiff ``check`` compares (check.MODES)."""

    reverse = "reverse"
    forward = "forward"


@app.command(cls=VariableCommand, epilog=VARIABLES_HELP)
def check(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    var: Var = None,
    wrt: Wrt = None,
    method: Annotated[CheckMethod, typer.Option(
        "--method", help="central: (f(x+h) - f(x-h))/2h; forward: (f(x+h) - f(x))/h; "
        "richardson: central differences extrapolated to h = 0, with an error estimate.")
    ] = CheckMethod.central,
    mode: Annotated[CheckMode, typer.Option(
        "--mode", help="forward: also compute the gradient by forward mode (dual numbers) and "
        "check reverse, forward and numeric against each other.")] = CheckMode.reverse,
    eps: Annotated[Optional[float], typer.Option(
        "--eps", metavar="H", show_default=False,
        help="Fixed finite-difference step. Default: chosen per variable from an error estimate.")
    ] = None,
    rtol: Annotated[float, typer.Option(
        "--rtol", min=0.0, metavar="TOL", help="Relative tolerance: pass when |autodiff - numeric| <= "
        "atol + rtol*|numeric|.")] = RTOL,
    atol: Annotated[float, typer.Option(
        "--atol", min=0.0, metavar="TOL", help="Absolute tolerance, for derivatives near 0.")] = ATOL,
    points: Annotated[Optional[int], typer.Option(
        "--points", min=1, metavar="N", show_default=False,
        help="Check at N random points: variables given stay fixed, the others are drawn "
        "uniformly from --range. The worst point is reported first.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the random points.")] = 0,
    sample_range: Annotated[str, typer.Option(
        "--range", metavar="LO:HI", help="Range for the random points.")] = "-2:2",
    json: Json = False,
) -> None:
    """Check the gradient against finite differences; exit status 1 when a derivative fails.

    Example:  adcli check "sin(x)+x*y" --x 1 --y 2
    """
    from .check import CheckSettings, check_program, parse_range
    from .inputs import read_expression
    from .parser import parse
    from .render import check_json, check_view, console

    settings = CheckSettings(method=method.value, mode=mode.value, eps=eps, rtol=rtol, atol=atol,
                             points=points, seed=seed, sample_range=parse_range(sample_range))
    program = parse(read_expression(expression, file))
    report = check_program(program, _assignments(ctx, var), wrt, settings)
    if json:
        typer.echo(check_json(report))
    else:
        console().print(check_view(report))
    if not report.ok:
        raise typer.Exit(1)


def main() -> None:
    """Entry point of the ``adcli`` console script."""
    app(prog_name="adcli")
