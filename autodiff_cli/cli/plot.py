"""The ``plot`` command: a curve with its tangent, or a contour map."""

from typing import Annotated, Optional

import typer

from .core import VariableCommand, app
from .options import Expression, File, Var, assignments, read_program

PLOT_HELP = ("Give each plotted variable a range, --x -2:2 or --t -pi:pi, and every other variable "
             "a value, --z 1. One range draws a curve with its tangent, two a contour map. "
             "Needs matplotlib: pip install 'adcli\\[plot]'.")


@app.command("plot", cls=VariableCommand, epilog=PLOT_HELP)
def plot_command(
    ctx: typer.Context,
    output: Annotated[str, typer.Option(
        "--output", "-o", metavar="FILE", show_default=False,
        help="Where to write the picture: .png, .svg or .pdf.")],
    expression: Expression = None,
    at: Annotated[Optional[str], typer.Option(
        "--at", metavar="VALUE", show_default=False,
        help="Where the curve's tangent touches it (a constant expression). "
             "Default: the middle of the range.")] = None,
    points: Annotated[Optional[int], typer.Option(
        "--points", metavar="N", min=2, max=2000, show_default=False,
        help="Samples along each plotted axis. Default: 400 for a curve, 150 for a contour map.")] = None,
    arrows: Annotated[bool, typer.Option(
        "--arrows/--no-arrows", help="Draw the gradient's direction as arrows on a contour map.")] = True,
    file: File = None,
    var: Var = None,
) -> None:
    """Draw a curve of one variable with its tangent, or a contour map of two.

    Example:  adcli plot "sin(x)" --x -pi:pi --at 1 --output curve.png
    """
    from ..language.parser import parse_constant
    from ..views.plot import output_format, plot

    output_format(output)
    program = read_program(ctx, expression, file)
    point = None if at is None else parse_constant(at, "--at")
    written = plot(program, assignments(ctx, var), output, at=point, points=points, arrows=arrows)
    typer.echo(f"wrote {written}")
