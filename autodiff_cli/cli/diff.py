"""The ``diff`` command: symbolic derivatives in adcli's language."""

from typing import Annotated

import typer

from .core import ASSIGNMENTS, VariableCommand, app
from .options import Expression, File, Json, Wrt, read_program

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
    from ..engine.symbolic import differentiate
    from ..errors import VariableError
    from ..language.inputs import resolve_wrt
    from ..render.diff import diff_text
    from ..render.json import diff_json

    for name, _ in ctx.meta.get(ASSIGNMENTS, []):
        raise VariableError(f"diff takes no values: --{name} is not one of its options "
                            "(see adcli diff --help)")
    program = read_program(ctx, expression, file)
    result = differentiate(program, resolve_wrt(program.variables, wrt), order, one_line)
    typer.echo(diff_json(result) if json else diff_text(result))
