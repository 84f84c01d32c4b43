"""The ``grad`` command: the value and every partial derivative, and the trace."""

from pathlib import Path
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
    check_output,
    emit,
    emit_text,
    program_at,
)


@app.command(cls=VariableCommand, epilog=VARIABLES_HELP)
def grad(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    var: Var = None,
    wrt: Wrt = None,
    json: Json = False,
    trace: Annotated[bool, typer.Option(
        "--trace", help="Also show the evaluation trace w1 ... wn: each value, the local partials, "
        "the adjoint ∂f/∂wi, and each partial derivative as a sum over paths.")] = False,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", dir_okay=False,
        help="Write to FILE instead: .svg (a picture of the terminal output) or .txt; "
        ".json with --json.")] = None,
) -> None:
    """The value and every partial derivative, by reverse-mode autodiff.

    Example:  adcli grad "sin(x)+x*y" --x 1 --y 2 --trace
    """
    from ..engine.gradient import gradient_at
    from ..language.inputs import resolve_wrt
    from ..render.console import console, warning_text
    from ..render.grad import grad_view
    from ..render.json import grad_json

    if output is not None:
        check_output(output, json)
    program, point = program_at(ctx, expression, file, var)
    names = resolve_wrt(program.variables, wrt)
    steps = None
    if trace:
        from ..views.trace import trace_at

        result, steps = trace_at(program, point, names)
    else:
        result, _ = gradient_at(program, point, names)
    if result.nonfinite:
        console(stderr=True).print(
            warning_text(f"non-finite result; the first came from {result.nonfinite}"),
            soft_wrap=True)
    if json:
        emit_text(grad_json(result, steps), output)
    else:
        emit(grad_view(result, steps), output)
