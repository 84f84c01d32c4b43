"""The ``minimize`` command: Newton's method, quasi-Newton methods and Newton-CG, with exact
derivatives, a live progress log, and what kind of point the run ended at."""

from typing import Annotated, Optional

import typer

from .core import VariableCommand, app
from .options import (
    VARIABLES_HELP,
    Expression,
    File,
    Fix,
    Init,
    Json,
    Quiet,
    Var,
    read_program,
    start_of,
    whole,
)


@app.command(cls=VariableCommand, epilog=VARIABLES_HELP + " Methods, stop reasons and bounds: see the "
             "README. Exit status: 0 converged to a minimum (or an inconclusive point), 1 anything "
             "else (a saddle, a stall, f unbounded below, the iteration limit), 130 interrupted.")
def minimize(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    var: Var = None,
    method: Annotated[str, typer.Option(
        "--method", "-m", help="newton (exact Hessian, trust region), bfgs, lbfgs (strong Wolfe line "
        "search) or newton-cg (Hessian-vector products, for many variables).")] = "newton",
    bounds: Annotated[Optional[list[str]], typer.Option(
        "--bounds", metavar="NAME=LO:HI", help="Keep a variable in [LO, HI]; each end a constant "
        "expression, inf or -inf. Repeatable.")] = None,
    gtol: Annotated[Optional[float], typer.Option(
        "--gtol", help="Converged when the gradient's norm falls to this (default 1e-8).")] = None,
    xtol: Annotated[Optional[float], typer.Option(
        "--xtol", help="Converged when a step moves every variable by at most this fraction of "
        "its size (default 1e-12).")] = None,
    ftol: Annotated[Optional[float], typer.Option(
        "--ftol", help="Converged when two steps in a row change f by at most this fraction "
        "(default 1e-14).")] = None,
    max_iter: Annotated[Optional[int], typer.Option(
        "--max-iter", parser=whole(0), metavar="N", help="The most iterations (default 1000).")] = None,
    history: Annotated[Optional[int], typer.Option(
        "--history", min=1, help="lbfgs: how many steps it remembers (default 10).")] = None,
    c1: Annotated[Optional[float], typer.Option(
        "--c1", help="bfgs, lbfgs: the line search's sufficient decrease constant (default 1e-4).")] = None,
    c2: Annotated[Optional[float], typer.Option(
        "--c2", help="bfgs, lbfgs: its curvature constant (default 0.9).")] = None,
    radius: Annotated[Optional[float], typer.Option(
        "--radius", help="newton, newton-cg: the first trust radius (default: the length of the "
        "Newton step where the Hessian is positive definite, else of the Cauchy step).")] = None,
    maximize: Annotated[bool, typer.Option("--maximize", help="Find a maximum instead.")] = False,
    fix: Fix = None,
    init: Init = None,
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE", help="Write every iteration to FILE: .csv or .jsonl.")] = None,
    plot: Annotated[Optional[str], typer.Option(
        "--plot", metavar="FILE", help="Draw f per iteration, and the path on a contour map for "
        "two variables, to FILE (.png, .svg, .pdf; needs the plot extra).")] = None,
    json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Find a minimum in tens of steps with exact derivatives; say what kind of point it is.

    Newton's method with exact Hessians (the default), BFGS, L-BFGS or Newton-CG.

    Example:  adcli minimize "(1-x)^2 + 100*(y-x^2)^2" --x -1.2 --y 1
    """
    from ..optimize import minimize as library
    from ..optimize.bounds import resolve_bounds
    from ..optimize.outputs import output_sinks, record_every
    from ..render.console import console, show
    from ..render.descent import ProgressLog
    from ..render.json import minimize_json
    from ..render.minimize import minimize_columns, minimize_summary

    program = read_program(ctx, expression, file)
    start, fixed, free = start_of(ctx, program, var, init, fix)
    steps = library.MAX_ITER if max_iter is None else max_iter
    config = library.MinimizeConfig(
        method=method, maximize=maximize, radius=radius, max_iter=steps,
        gtol=library.GTOL if gtol is None else gtol, xtol=library.XTOL if xtol is None else xtol,
        ftol=library.FTOL if ftol is None else ftol, history=library.HISTORY if history is None else history,
        c1=library.C1 if c1 is None else c1, c2=library.C2 if c2 is None else c2,
        bounds=resolve_bounds(bounds, program.variables, fixed), record=record_every(output, plot, steps))
    files = output_sinks(program, free, {n: start[n] for n in fixed}, steps=steps,
                         trajectory=output, plot=plot)
    out = console()
    # In a terminal, a log of the rows the run picks (all of the first ten iterations, then
    # fewer); piped, redirected, --json or --quiet: none.
    log = ProgressLog(out, minimize_columns(method, program.variables, out.width),
                      enabled=out.is_terminal and not (json or quiet))
    result, interrupted = library.minimize_program(program, start, free, config, [log, *files])
    if json:
        typer.echo(minimize_json(result))
    else:
        show(minimize_summary(result), out)
        if plot:
            out.print(f"wrote {plot}")
    if interrupted or not result.ok:
        raise typer.Exit(130 if interrupted else 1)
