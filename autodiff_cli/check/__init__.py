"""Gradient checking: autodiff against finite differences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .differences import (
    Estimate,
    central_difference,
    estimate,
    float_function,
    forward_difference,
    richardson,
)
from .program import check_program
from .report import CheckReport, CheckSettings, PointCheck, VariableCheck


def check(expression: Any, point: Mapping[str, Any] | None = None, /, *,
          wrt: str | Sequence[str] | None = None, settings: CheckSettings | None = None,
          **values: Any) -> CheckReport:
    """Check the gradient of ``expression`` (text or a parsed Program) at the point given as
    keywords, or at ``settings.points`` random points (the variables given stay fixed).

    >>> check("sin(x)+x*y", x=1, y=2).ok
    True
    """
    from ..api import program_of

    return check_program(program_of(expression), [*(point or {}).items(), *values.items()], wrt,
                         settings)

__all__ = ["CheckReport", "CheckSettings", "Estimate", "PointCheck", "VariableCheck",
           "central_difference", "check", "check_program", "estimate", "float_function",
           "forward_difference", "richardson"]
