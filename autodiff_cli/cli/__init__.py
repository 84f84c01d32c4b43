"""The ``adcli`` command line: options in, one library call, results to rendering.

Each command is a module of its own; importing it registers it with the app.  ``app`` (for
tests and other Python callers) has every command, in the order ``adcli --help`` lists
them.  ``main``, the console script, registers only the command it is asked to run when
the command line names one: Typer turns every registered command's signature into options
at each start, which for all eleven cost about as much as the rest of ``adcli grad``'s own
work.  Anything else (``adcli``, ``adcli -h``, a mistyped command) gets all of them.
"""

from importlib import import_module
from typing import Any

COMMANDS = ("grad", "graph", "plot", "check", "diff", "hessian", "descend", "minimize", "fit", "predict",
            "serve")

_GLOBAL_WITH_VALUE = ("--max-input",)
"""The app's own options that take a value, which come before the command's name."""


def _register(commands: tuple[str, ...]) -> None:
    for command in commands:
        import_module(f".{command}", __name__)


def _command_named(args: list[str]) -> str | None:
    """The command the arguments name (after the app's own options), if they name one."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in _GLOBAL_WITH_VALUE:
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        return arg if arg in COMMANDS else None
    return None


def main() -> None:
    """Entry point of the ``adcli`` console script."""
    import sys

    from .core import main as run

    command = _command_named(sys.argv[1:])
    _register((command,) if command is not None else COMMANDS)
    run()


def __getattr__(name: str) -> Any:
    if name == "app":
        from .core import app

        _register(COMMANDS)
        return app
    if name in COMMANDS:
        _register(COMMANDS)
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["COMMANDS", "app", "main"]
