"""The ``predict`` command: a fitted model's values on new data, as CSV."""

from typing import Annotated, Optional

import typer

from .core import VariableCommand, app
from .options import Expression, File, read_program


@app.command(cls=VariableCommand)
def predict(
    ctx: typer.Context,
    params: Annotated[
        str,
        typer.Option(
            "--params",
            "-p",
            metavar="FILE",
            show_default=False,
            help="The parameters: a fit's --save (or --json) output, or a JSON object of numbers.",
        ),
    ],
    data: Annotated[
        str,
        typer.Option(
            "--data",
            "-d",
            metavar="FILE",
            show_default=False,
            help="The rows to predict: CSV or TSV with a header naming the model's input columns.",
        ),
    ],
    expression: Expression = None,
    file: File = None,
    output: Annotated[
        Optional[str],
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write the CSV to FILE instead of standard output."
        ),
    ] = None,
    name: Annotated[
        str, typer.Option("--name", metavar="COLUMN", help="The prediction column's name.")
    ] = "prediction",
    reader: Annotated[
        str, typer.Option("--reader", help="The CSV parser: auto (pyarrow when installed), pyarrow or numpy.")
    ] = "auto",
) -> None:
    """Predict with a fitted model: the input columns and the model's value, one CSV line per row.

    Example:  adcli predict "b1*(1-exp(-b2*x))" --params params.json --data new.csv
    """
    import sys

    from ..errors import AdcliError
    from ..fit.data import open_source
    from ..fit.predict import check_name, inputs_of, read_parameters, write_predictions

    if ctx.meta.get("adcli.assignments"):
        flag = ctx.meta["adcli.assignments"][0][0]
        raise AdcliError(f"predict takes the parameters from --params, not --{flag}")
    program = read_program(ctx, expression, file)
    parameters = read_parameters(params)
    source = open_source(data)
    check_name(name, inputs_of(program, parameters, source))
    if output is None:
        write_predictions(program, parameters, source, sys.stdout, name, reader)
        return
    from ..render.files import check_writable

    path = check_writable(output)
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "w", encoding="utf-8", newline="") as handle:
            rows = write_predictions(program, parameters, source, handle, name, reader)
    except BaseException:  # (a bad cell further on, Ctrl-C: no half-written file is left)
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)
    typer.echo(f"wrote {rows} predictions to {output}", err=True)
