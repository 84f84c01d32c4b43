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
    "central_difference": "check.point",
    "compile_program": "engine.compile",
    "diff": "engine.symbolic",
    "grad": "engine.gradient",
    "gradients": "engine.scalar",
    "hessian": "engine.hessian",
    "minimize": "optimize.minimize",
    "parse": "language.parser",
}

__all__ = ["AdcliError", "GradResult", "Program", "Scalar", "__version__", "central_difference",
           "compile_program", "diff", "grad", "gradients", "hessian", "minimize", "parse"]

if TYPE_CHECKING:
    from .check.point import central_difference
    from .engine.compile import compile_program
    from .engine.gradient import GradResult, grad
    from .engine.hessian import hessian
    from .engine.scalar import Scalar, gradients
    from .engine.symbolic import diff
    from .errors import AdcliError
    from .expr import Program
    from .language.parser import parse
    from .optimize.minimize import minimize


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'autodiff_cli' has no attribute {name!r}")
