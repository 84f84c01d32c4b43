"""Iterative methods: gradient descent, and the run loop they share."""

from .descent import Descent, DescentConfig, DescentResult, descend
from .loop import Row
from .optimizers import OPTIMIZERS
from .run import Record, Sink, run

__all__ = ["OPTIMIZERS", "Descent", "DescentConfig", "DescentResult", "Record", "Row", "Sink",
           "descend", "run"]
