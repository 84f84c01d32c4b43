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
    "GradResult": "gradient",
    "Program": "expr",
    "Scalar": "scalar",
    "central_difference": "check",
    "compile_program": "compile",
    "diff": "symbolic",
    "grad": "gradient",
    "gradients": "scalar",
    "hessian": "hessians",
    "parse": "parser",
}

__all__ = ["AdcliError", "GradResult", "Program", "Scalar", "__version__", "central_difference",
           "compile_program", "diff", "grad", "gradients", "hessian", "parse"]

if TYPE_CHECKING:
    from .check import central_difference
    from .compile import compile_program
    from .errors import AdcliError
    from .expr import Program
    from .gradient import GradResult, grad
    from .hessians import hessian
    from .parser import parse
    from .scalar import Scalar, gradients
    from .symbolic import diff


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'autodiff_cli' has no attribute {name!r}")
