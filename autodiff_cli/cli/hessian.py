"""The ``hessian`` command: second derivatives and what kind of point this is."""


import typer

from .core import VariableCommand, app
from .options import (
    VARIABLES_HELP,
    Expression,
    File,
    Json,
    Var,
    Wrt,
    program_at,
)


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
    from ..engine.hessian import hessian_at
    from ..language.inputs import resolve_wrt
    from ..render.console import console, show, warning_text
    from ..render.hessian import hessian_view
    from ..render.json import hessian_json

    program, point = program_at(ctx, expression, file, var)
    result = hessian_at(program, point, resolve_wrt(program.variables, wrt))
    if result.nonfinite or result.eigenvalues is None:
        where = f"; the first came from {result.nonfinite}" if result.nonfinite else ""
        console(stderr=True).print(warning_text(f"non-finite result{where}"), soft_wrap=True)
    if json:
        typer.echo(hessian_json(result))
    else:
        out = console()
        show(hessian_view(result, out.width), out)
