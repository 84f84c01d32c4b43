"""The ``fit`` command: an expression's parameters fitted to data, with a live progress log."""

from typing import Annotated, Any, Optional

import typer

from .core import VariableCommand, app
from .options import (
    Alpha,
    Beta1,
    Beta2,
    Eps,
    Expression,
    File,
    Json,
    Lr,
    LrDecay,
    Momentum,
    Var,
    assignments,
    hyper_parameters,
    read_program,
    whole,
)

FIT_HELP = (
    "Variables named like a column of the data take its values; every other variable is a "
    "parameter: give its start as --NAME VALUE, or --init VALUE for all. Exit status: 0 done, "
    "1 diverged (or the loss looks unbounded below), 2 a mistake in the input, 130 interrupted."
)


@app.command(cls=VariableCommand, epilog=FIT_HELP)
def fit(
    ctx: typer.Context,
    data: Annotated[
        str,
        typer.Option(
            "--data",
            "-d",
            metavar="FILE",
            show_default=False,
            help="The data: CSV (or TSV: .tsv, or tabs in the header) with a header line naming the columns.",
        ),
    ],
    expression: Expression = None,
    file: File = None,
    var: Var = None,
    target: Annotated[
        Optional[str],
        typer.Option(
            "--target",
            "-t",
            metavar="COLUMN",
            show_default=False,
            help="The column to fit (or an expression of columns, such as log(y)). Default: y.",
        ),
    ] = None,
    sigma: Annotated[
        Optional[str],
        typer.Option(
            "--sigma",
            metavar="COLUMN",
            show_default=False,
            help="A column of per-row standard deviations: each residual is divided by it.",
        ),
    ] = None,
    loss: Annotated[
        str,
        typer.Option(
            "--loss",
            metavar="LOSS",
            help="mse (least squares), mae, huber, bce (a model ending in sigmoid, "
            "0/1 targets), or an expression per row in pred and the target's name, such as "
            '"abs(pred - y)^1.5".',
        ),
    ] = "mse",
    delta: Annotated[
        float, typer.Option("--delta", min=0.0, help="huber: where the loss turns from quadratic to linear.")
    ] = 1.0,
    l2: Annotated[
        float,
        typer.Option("--l2", min=0.0, metavar="LAMBDA", help="Add LAMBDA·Σ parameter² to the mean loss."),
    ] = 0.0,
    optimizer: Annotated[
        Optional[str],
        typer.Option(
            "--optimizer",
            "-O",
            show_default=False,
            help="lm (Levenberg–Marquardt, least squares); lbfgs, bfgs, newton, newton-cg (adcli "
            "minimize's methods; newton with the exact Hessian of the mean loss); or a descent optimizer: "
            "sgd, momentum, nesterov, adam, rmsprop, adagrad. Default: lm for mse; lbfgs for the other "
            "smooth losses; adam for mae and losses with abs, max, min, relu or sign.",
        ),
    ] = None,
    lr: Lr = None,
    momentum: Momentum = None,
    beta1: Beta1 = None,
    beta2: Beta2 = None,
    alpha: Alpha = None,
    lr_decay: LrDecay = None,
    eps: Eps = None,
    epochs: Annotated[
        int,
        typer.Option(
            "--epochs", parser=whole(0), metavar="N", help="Descent optimizers: passes over the data."
        ),
    ] = 1000,
    batch_size: Annotated[
        Optional[int],
        typer.Option(
            "--batch-size",
            parser=whole(1),
            metavar="N",
            show_default=False,
            help="Mini-batches of N rows, streamed from the file (shuffled within each block of rows read); "
            "default: every row at every step.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the shuffling and the held-out rows.")] = 0,
    validation: Annotated[
        float,
        typer.Option(
            "--validation",
            min=0.0,
            max=1.0,
            metavar="FRACTION",
            help="Hold out this fraction of the rows; their loss is shown as the fit goes.",
        ),
    ] = 0.0,
    tol: Annotated[
        float,
        typer.Option(
            "--tol",
            min=0.0,
            help="Descent optimizers on whole data, and lbfgs, bfgs, newton, newton-cg: stop when the "
            "gradient norm falls below this (0: never).",
        ),
    ] = 1e-8,
    iterations: Annotated[
        int,
        typer.Option("--iterations", min=1, help="lm, lbfgs, bfgs, newton, newton-cg: the most iterations."),
    ] = 1000,
    ftol: Annotated[
        float,
        typer.Option(
            "--ftol",
            min=0.0,
            help="lm: converged when the sum of squares changes by less than this, relatively (lbfgs, bfgs, "
            "newton, newton-cg: the loss, two steps in a row).",
        ),
    ] = 1e-14,
    xtol: Annotated[
        float,
        typer.Option(
            "--xtol",
            min=0.0,
            help="lm, lbfgs, bfgs, newton, newton-cg: converged when the parameters change by less than "
            "this, relatively.",
        ),
    ] = 1e-12,
    gtol: Annotated[
        float,
        typer.Option(
            "--gtol",
            min=0.0,
            help="lm: converged when the residuals are orthogonal to the Jacobian's columns to within this.",
        ),
    ] = 0.0,
    bounds: Annotated[
        Optional[list[str]],
        typer.Option(
            "--bounds",
            metavar="NAME=LO:HI",
            show_default=False,
            help="Keep a parameter in [LO, HI] (b1=0:inf); each end a constant expression, inf or -inf, "
            "as for adcli minimize. Repeatable.",
        ),
    ] = None,
    init: Annotated[
        Optional[str],
        typer.Option("--init", metavar="VALUE", help="Start value for the parameters not given one."),
    ] = None,
    drop_missing: Annotated[
        bool,
        typer.Option(
            "--drop-missing",
            help="Drop rows with empty or nan cells (the report says how many); "
            "without it they are an error.",
        ),
    ] = False,
    reader: Annotated[
        str, typer.Option("--reader", help="The CSV parser: auto (pyarrow when installed), pyarrow or numpy.")
    ] = "auto",
    every: Annotated[
        Optional[int],
        typer.Option(
            "--every", parser=whole(1), metavar="K", help="A progress row every K iterations or epochs."
        ),
    ] = None,
    output: Annotated[
        Optional[str],
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write each iteration or epoch (step, loss, gradient "
            "norm, parameters) to FILE: .csv or .jsonl.",
        ),
    ] = None,
    plot: Annotated[
        Optional[str],
        typer.Option(
            "--plot",
            metavar="FILE",
            help="Draw the data with the fitted curve (one input column) or the "
            "decision boundary (two), and the residuals, to FILE (.png, .svg, .pdf; needs the plot extra).",
        ),
    ] = None,
    save: Annotated[
        Optional[str],
        typer.Option(
            "--save", metavar="FILE", help="Write the result as JSON to FILE (for adcli predict --params)."
        ),
    ] = None,
    json: Json = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the report.")] = False,
) -> None:
    """Fit an expression's parameters to data: least squares with standard errors, or other losses.

    Example:  adcli fit "b1*(1-exp(-b2*x))" --data misra1a.csv --b1 500 --b2 1e-4
    """
    from ..fit import FitConfig, run_fit, setup
    from ..language.parser import parse_constant
    from ..optimize.bounds import parse_bounds
    from ..render.console import console, show
    from ..render.descent import ProgressLog
    from ..render.fit import fit_columns, fit_summary
    from ..render.json import fit_json

    program = read_program(ctx, expression, file)
    start_default = parse_constant(init, "--init") if init is not None else None
    hyper = hyper_parameters(
        lr=lr, momentum=momentum, beta1=beta1, beta2=beta2, alpha=alpha, lr_decay=lr_decay, eps=eps
    )
    config = FitConfig(
        target=target,
        sigma=sigma,
        loss=loss,
        delta=delta,
        l2=l2,
        optimizer=optimizer,
        hyper=hyper,
        iterations=iterations,
        ftol=ftol,
        xtol=xtol,
        gtol=gtol,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        validation=validation,
        tol=tol,
        bounds=parse_bounds(bounds or []),
        drop_missing=drop_missing,
        reader=reader,
        every=every,
        record=output is not None,
    )
    sinks: list[Any] = []
    if save is not None:
        from ..render.files import check_writable

        check_writable(save)
    if output is not None:
        from ..optimize.trajectory import check_trajectory_path
        from ..render.files import check_writable

        check_trajectory_path(output)
        check_writable(output)
    if plot is not None:
        from ..views.plot import check_can_plot

        check_can_plot(plot)
    problem = setup(program, data, assignments(ctx, var), start_default, config)
    if output is not None:
        from ..optimize.trajectory import TrajectoryFile

        sinks.append(TrajectoryFile(output, problem.model.params))
    if plot is not None:
        from ..views.fitplot import FitPlot

        sinks.append(FitPlot(problem, plot))
    out = console()
    columns = fit_columns(
        problem.model.params,
        out.width,
        method=problem.method,
        validation=config.validation > 0,
    )
    log = ProgressLog(out, columns, enabled=out.is_terminal and not (json or quiet))
    result, interrupted = run_fit(problem, [log, *sinks])
    if save is not None:
        from pathlib import Path

        from ..render.files import write_text

        write_text(Path(save), fit_json(result) + "\n")
    if json:
        typer.echo(fit_json(result))
    else:
        show(fit_summary(result), out)
        for name in (plot, save):
            if name:
                out.print(f"wrote {name}")
    if interrupted or not result.ok:
        raise typer.Exit(130 if interrupted else 1)
