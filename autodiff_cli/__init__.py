"""adcli: differentiate and optimize math expressions, from the shell or from Python.

The names below are imported on first use (PEP 562), so that ``adcli`` starts
without loading what a command does not need.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AdcliError": "errors",
    "GradResult": "engine.gradient",
    "Program": "expr",
    "Scalar": "engine.scalar",
    "Dual": "engine.forward",
    "central_difference": "check.differences",
    "clear_caches": "api",
    "compile_program": "engine.compile",
    "computation_graph": "api",
    "diff": "api",
    "forward_grad": "api",
    "grad": "api",
    "gradients": "engine.scalar",
    "hessian": "api",
    "minimize": "optimize.minimize",
    "trace": "api",
    "parse": "language.parser",
}

__all__ = ["AdcliError", "Dual", "GradResult", "Program", "Scalar", "__version__", "central_difference",
           "clear_caches", "compile_program", "computation_graph", "diff", "forward_grad", "grad",
           "gradients", "hessian", "minimize", "parse", "trace"]

if TYPE_CHECKING:
    from .api import clear_caches, computation_graph, diff, forward_grad, grad, hessian, trace
    from .check.differences import central_difference
    from .engine.compile import compile_program
    from .engine.forward import Dual
    from .engine.gradient import GradResult
    from .engine.scalar import Scalar, gradients
    from .errors import AdcliError
    from .expr import Program
    from .language.parser import parse
    from .optimize.minimize import minimize


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'autodiff_cli' has no attribute {name!r}")
