"""The fit's iterative methods by name, each a :class:`autodiff_cli.optimize.run.Method` of
the one run loop: Levenberg–Marquardt for least squares (:mod:`autodiff_cli.fit.lm`), and
the descent optimizers (sgd, momentum, adam, ...) over whole data or mini-batches, in
memory or streamed from the file (:mod:`autodiff_cli.fit.gradient`).

Where other methods plug in: :data:`METHODS` maps a method's name to a factory that makes
the :class:`Method` from the fit's :class:`Problem`.  A smooth loss is also an
:class:`Objective` (value and gradient of the mean loss over the rows, at a parameter
vector), which is what a general minimizer (L-BFGS, BFGS, Newton: ``adcli minimize``'s
methods) takes; :func:`objective` makes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..optimize.optimizers import OPTIMIZERS
from .evaluate import Evaluator, accuracy
from .gradient import GradientFit
from .lm import LeastSquaresFit
from .objective import Objective, objective
from .problem import FitConfig, FitRow, Problem, prepare
from .rows import Rows, check_rows, check_target, make_rows

MethodFactory = Callable[[Problem], Any]
"""Makes a :class:`autodiff_cli.optimize.run.Method` whose result is a :class:`FitResult`."""

METHODS: dict[str, MethodFactory] = {}
"""Methods beyond lm and the descent optimizers, by name: adcli minimize's L-BFGS, BFGS and
Newton register here, each wrapping :func:`objective` (see the module's docstring)."""


def make_method(problem: Problem) -> Any:
    """The method that runs ``problem``."""
    name = problem.method
    if name == "lm":
        return LeastSquaresFit(problem)
    if name in OPTIMIZERS:
        return GradientFit(problem)
    return METHODS[name](problem)


__all__ = ["METHODS", "Evaluator", "FitConfig", "FitRow", "GradientFit", "LeastSquaresFit", "Objective",
           "Problem", "Rows", "accuracy", "check_rows", "check_target", "make_method", "make_rows",
           "objective", "prepare"]
