"""The ``descend`` command: gradient descent with a live progress table."""

from typing import Annotated, Optional

import typer

from .core import VariableCommand, app
from .options import (
    VARIABLES_HELP,
    Alpha,
    Beta1,
    Beta2,
    Eps,
    Expression,
    File,
    Fix,
    Init,
    Json,
    Lr,
    LrDecay,
    Momentum,
    Quiet,
    Var,
    hyper_parameters,
    read_program,
    start_of,
    whole,
)


@app.command(cls=VariableCommand, epilog=VARIABLES_HELP + " Optimizers and their update rules: "
             "see the README. Exit status: 0 done, 1 diverged, 130 interrupted.")
def descend(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    var: Var = None,
    optimizer: Annotated[str, typer.Option(
        "--optimizer", "-O", help="sgd, momentum, nesterov, adam, rmsprop or adagrad.")] = "sgd",
    lr: Lr = None,
    steps: Annotated[int, typer.Option(
        "--steps", parser=whole(0), metavar="N", help="The most steps to take (1e6 is a count too).")] = 1000,
    momentum: Momentum = None,
    beta1: Beta1 = None,
    beta2: Beta2 = None,
    alpha: Alpha = None,
    lr_decay: LrDecay = None,
    eps: Eps = None,
    line_search: Annotated[bool, typer.Option(
        "--line-search", help="Backtracking (Armijo) line search from --lr (sgd).")] = False,
    clip: Annotated[Optional[float], typer.Option(
        "--clip", min=0.0, metavar="NORM", help="Clip the gradient's norm to NORM.")] = None,
    maximize: Annotated[bool, typer.Option("--maximize", help="Ascend instead.")] = False,
    tol: Annotated[float, typer.Option(
        "--tol", min=0.0, help="Stop when the gradient norm falls below this (0: never).")] = 1e-8,
    ftol: Annotated[float, typer.Option(
        "--ftol", min=0.0, help="Stop when the loss changes by less than this in a step.")] = 0.0,
    fix: Fix = None,
    init: Init = None,
    every: Annotated[Optional[int], typer.Option(
        "--every", parser=whole(1), metavar="K",
        help="A progress row every K steps (default: ~20 rows).")] = None,
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE", help="Write every step to FILE: .csv or .jsonl.")] = None,
    plot: Annotated[Optional[str], typer.Option(
        "--plot", metavar="FILE", help="Draw the loss curve, and the path on a contour map for "
        "two variables, to FILE (.png, .svg, .pdf; needs the plot extra).")] = None,
    json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Minimize an expression by gradient descent, with a live progress table.

    Example:  adcli descend "(1-x)^2 + 100*(y-x^2)^2" --x -1.5 --y 2 --lr 1e-3 --steps 20000
    """
    from ..optimize.descent import DescentConfig, descend
    from ..optimize.outputs import output_sinks, record_every
    from ..render.console import console, show
    from ..render.descent import ProgressLog, descent_columns, descent_summary
    from ..render.json import descent_json

    program = read_program(ctx, expression, file)
    start, fixed, free = start_of(ctx, program, var, init, fix)
    hyper = hyper_parameters(lr=lr, momentum=momentum, beta1=beta1, beta2=beta2, alpha=alpha,
                             lr_decay=lr_decay, eps=eps)
    config = DescentConfig(optimizer=optimizer, hyper=hyper, steps=steps, tol=tol, ftol=ftol,
                           maximize=maximize, clip=clip, line_search=line_search, every=every,
                           record=record_every(output, plot, steps))
    files = output_sinks(program, free, {n: start[n] for n in fixed}, steps=steps,
                         trajectory=output, plot=plot)
    out = console()
    # In a terminal, a log of progress rows; piped, redirected, --json or --quiet: none.
    log = ProgressLog(out, descent_columns(program.variables, out.width),
                      enabled=out.is_terminal and not (json or quiet))
    result, interrupted = descend(program, start, free, config, [log, *files])
    if json:
        typer.echo(descent_json(result))
    else:
        show(descent_summary(result), out)
        if plot:
            out.print(f"wrote {plot}")
    if interrupted or not result.ok:
        raise typer.Exit(130 if interrupted else 1)
