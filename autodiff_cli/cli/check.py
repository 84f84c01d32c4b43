"""The ``check`` command: autodiff against finite differences, as a pass/fail gate."""

import itertools
from enum import Enum
from typing import Annotated, Optional

import typer

from .core import VariableCommand, app
from .options import (
    VARIABLES_HELP,
    Expression,
    File,
    Json,
    Var,
    Wrt,
    assignments,
    read_program,
    whole,
)


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
    # The defaults live in autodiff_cli.check (imported only when the command runs);
    # a test checks that this help quotes them.
    rtol: Annotated[Optional[float], typer.Option(
        "--rtol", min=0.0, metavar="TOL", show_default=False,
        help="Relative tolerance: pass when |autodiff - numeric| <= atol + rtol*|numeric|. "
        "Default: 1e-05.")] = None,
    atol: Annotated[Optional[float], typer.Option(
        "--atol", min=0.0, metavar="TOL", show_default=False,
        help="Absolute tolerance, for derivatives near 0. Default: 1e-08.")] = None,
    points: Annotated[Optional[int], typer.Option(
        "--points", parser=whole(1), metavar="N", show_default=False,
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
    from ..check.program import check_program
    from ..check.report import ATOL, RTOL, CheckSettings
    from ..errors import option
    from ..language.inputs import parse_range
    from ..render.check import check_view
    from ..render.console import show
    from ..render.json import check_json_parts

    settings = CheckSettings(method=method.value, mode=mode.value, eps=eps,
                             rtol=RTOL if rtol is None else rtol, atol=ATOL if atol is None else atol,
                             points=points, seed=seed,
                             sample_range=parse_range(sample_range, option("range")))
    program = read_program(ctx, expression, file)
    report = check_program(program, assignments(ctx, var), wrt, settings)
    if json:
        pieces = check_json_parts(report)  # written a thousand points at a time
        while text := "".join(itertools.islice(pieces, 1000)):
            typer.echo(text, nl=False)
        typer.echo("")
    else:
        show(check_view(report))
    if not report.ok:
        raise typer.Exit(1)
