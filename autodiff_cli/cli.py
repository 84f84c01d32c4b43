"""The ``adcli`` command line: options in, one library call, results to rendering.

Variables are given as options named after them (``--x 1 --y 2``), which no
fixed option list can declare; :class:`VariableCommand` takes every ``--NAME
VALUE`` that is not one of the command's own options before Typer parses the
rest.  User errors (:class:`AdcliError`) become a message on stderr and exit
status 2 here, in one place.
"""

from __future__ import annotations

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


Order = Annotated[int, typer.Option(
    "--order", min=1, metavar="N", help="Differentiate N times (pure derivatives: d²f/dx², ...).")]
OneLine = Annotated[bool, typer.Option(
    "--one-line", help="Join the statements with '; ' instead of new lines.")]


@app.command(cls=VariableCommand)
def diff(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    wrt: Wrt = None,
    order: Order = 1,
    one_line: OneLine = False,
    json: Json = False,
) -> None:
    """The symbolic derivative, simplified, printed in adcli's language so it can be fed back in.

    Subexpressions used more than once are named (d1 = ...) on lines before the result.

    Example:  adcli diff "x^2*sin(x)" --wrt x
    """
    from .errors import VariableError
    from .inputs import read_expression, resolve_wrt
    from .parser import parse
    from .render import diff_json, diff_text
    from .symbolic import differentiate

    for name, _ in ctx.meta.get(ASSIGNMENTS, []):
        raise VariableError(f"diff takes no values: --{name} is not one of its options "
                            "(see adcli diff --help)")
    program = parse(read_expression(expression, file))
    result = differentiate(program, resolve_wrt(program.variables, wrt), order, one_line)
    typer.echo(diff_json(result) if json else diff_text(result))


@app.command(cls=VariableCommand, epilog=VARIABLES_HELP)
def hessian(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    var: Var = None,
    wrt: Wrt = None,
    json: Json = False,
) -> None:
    """The Hessian matrix by automatic differentiation (reverse over reverse), with its eigenvalues.

    Positive definite at a critical point: a local minimum; negative definite: a
    maximum; indefinite: a saddle.

    Example:  adcli hessian "x^2 - y^2" --x 0 --y 0
    """
    from .hessian import hessian_at
    from .inputs import read_expression, resolve_point, resolve_wrt
    from .parser import parse
    from .render import console, hessian_json, hessian_view, warning_text

    program = parse(read_expression(expression, file))
    point = resolve_point(program.variables, _assignments(ctx, var))
    result = hessian_at(program, point, resolve_wrt(program.variables, wrt))
    if result.nonfinite or result.eigenvalues is None:
        where = f"; the first came from {result.nonfinite}" if result.nonfinite else ""
        console(stderr=True).print(warning_text(f"non-finite result{where}"), soft_wrap=True)
    if json:
        typer.echo(hessian_json(result))
    else:
        console().print(hessian_view(result))


def main() -> None:
    """Entry point of the ``adcli`` console script."""
    app(prog_name="adcli")
