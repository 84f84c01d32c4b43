"""The ``serve`` command: the interactive page, on a local web server."""

import os
import sys
from typing import Annotated

import typer

from .core import VariableCommand, app
from .options import Expression, File, Var, assignments, read_expression

DEFAULT_EXPRESSION = "sin(x)+x*y"
DEFAULT_POINT = {"x": 1.0, "y": 2.0}
START_VALUE = 1.0
"""A variable given no value starts here on the page."""


@app.command(cls=VariableCommand, epilog="Give each variable as an option named after it: "
             "--x 1 --y=-2 (variables without a value start at 1). The page and its JSON API: "
             "see the README. Ctrl-C stops the server (exit status 130).")
def serve(
    ctx: typer.Context,
    expression: Expression = None,
    file: File = None,
    var: Var = None,
    port: Annotated[int, typer.Option(
        "--port", "-p", min=0, max=65535, help="The port to listen on (0: a free one).")] = 0,
    host: Annotated[str, typer.Option(
        "--host", help="The address to listen on. Anything but 127.0.0.1 (or ::1) lets other "
        "machines use the page: only on a network you trust.")] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option(
        "--no-browser", help="Do not open the page in a browser; just print its address.")] = False,
) -> None:
    """Show backpropagation happening: an interactive page in the browser, served locally.

    Type an expression; see its computation graph, step through the forward and backward
    passes, follow each input's paths to the output, and run gradient descent.

    Example:  adcli serve "sin(x)+x*y" --x 1 --y 2
    """
    from ..errors import AdcliError
    from ..language.inputs import resolve_point
    from ..render.console import console, warning_text
    from ..web.endpoints import LIMITS
    from ..web.server import is_loopback, make_server

    given = assignments(ctx, var)
    if expression is None and file is None:
        if given:
            raise AdcliError("values were given but no expression: adcli serve EXPR --x VALUE")
        start = {"expression": DEFAULT_EXPRESSION, "point": DEFAULT_POINT}
    else:
        from ..language.parser import parse

        text = read_expression(expression, file)
        program = parse(text, max_nodes=LIMITS.nodes)  # what the page can show, checked now
        start = {"expression": text, "point": resolve_point(program.variables, given, START_VALUE)}
    try:
        server = make_server(host, port, start)
    except OSError as error:
        raise AdcliError(f"cannot listen on {host} port {port}: {error.strerror or error}") from None
    err = console(stderr=True)
    if not is_loopback(server.host):
        err.print(warning_text(f"listening on {host}: anyone who can reach this machine can use "
                               "the page (and its processor)"), soft_wrap=True)
    typer.echo(f"adcli serve: {server.url}  (Ctrl-C stops it)")
    sys.stdout.flush()
    if not no_browser:
        open_browser(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        err.print("stopped", style="dim")
        raise typer.Exit(130) from None
    finally:
        server.server_close()


def open_browser(url: str) -> None:
    """Open ``url`` in the user's browser, unless there is no screen to show it on (where
    Python's webbrowser would start a text browser in this very terminal)."""
    import webbrowser

    if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("BROWSER")):
        typer.echo("no display to open a browser on: open the address above yourself", err=True)
        return
    try:
        webbrowser.open(url)
    except webbrowser.Error:
        typer.echo("could not open a browser: open the address above yourself", err=True)
