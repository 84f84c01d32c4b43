"""The ``adcli`` command line: options in, one library call, results to rendering.

Each command is a module of its own; importing it registers it with the app, so they are
imported here in the order ``adcli --help`` lists them.
"""

from importlib import import_module

from .core import app, main

for _command in ("grad", "graph", "plot", "check", "diff", "hessian", "descend", "minimize", "fit", "predict",
                 "serve"):
    import_module(f".{_command}", __name__)

__all__ = ["app", "main"]
