"""Gradient checking: autodiff against finite differences."""

from .point import (
    CheckReport,
    CheckSettings,
    Estimate,
    PointCheck,
    VariableCheck,
    central_difference,
    check,
    check_program,
    estimate,
    float_function,
    forward_difference,
    richardson,
)

__all__ = ["CheckReport", "CheckSettings", "Estimate", "PointCheck", "VariableCheck",
           "central_difference", "check", "check_program", "estimate", "float_function",
           "forward_difference", "richardson"]
