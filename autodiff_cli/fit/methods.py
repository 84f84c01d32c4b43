"""The fit's iterative methods by name, each a :class:`autodiff_cli.optimize.run.Method` of
the one run loop: Levenberg–Marquardt for least squares (:mod:`autodiff_cli.fit.lm`), and
the descent optimizers (sgd, momentum, adam, ...) over whole data or mini-batches, in
memory or streamed from the file (:mod:`autodiff_cli.fit.gradient`), and ``adcli
minimize``'s methods on the mean loss (:mod:`autodiff_cli.fit.minimizers`).

Where other methods plug in: :data:`METHODS` maps a method's name to a factory that makes
the :class:`Method` from the fit's :class:`Problem`.  A smooth loss is also an
:class:`Objective` (value and gradient of the mean loss over the rows, at a parameter
vector, with its Hessian), which is what a general minimizer takes; :func:`objective`
makes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..optimize.optimizers import OPTIMIZERS
from .evaluate import Evaluator, accuracy
from .gradient import GradientFit
from .lm import LeastSquaresFit
from .minimizers import MinimizerFit
from .objective import Objective, objective
from .problem import FitConfig, FitRow, Problem, prepare
from .rows import Rows, check_rows, check_target, make_rows

MethodFactory = Callable[[Problem], Any]
"""Makes a :class:`autodiff_cli.optimize.run.Method` whose result is a :class:`FitResult`."""

METHODS: dict[str, MethodFactory] = {name: MinimizerFit for name in ("lbfgs", "bfgs", "newton", "newton-cg")}
"""Methods beyond lm and the descent optimizers, by name: adcli minimize's L-BFGS, BFGS,
Newton and Newton-CG, each running over :func:`objective` (see the module's docstring)."""


def make_method(problem: Problem) -> Any:
    """The method that runs ``problem``."""
    name = problem.method
    if name == "lm":
        return LeastSquaresFit(problem)
    if name in OPTIMIZERS:
        return GradientFit(problem)
    return METHODS[name](problem)


__all__ = ["METHODS", "Evaluator", "FitConfig", "FitRow", "GradientFit", "LeastSquaresFit", "MinimizerFit",
           "Objective", "Problem", "Rows", "accuracy", "check_rows", "check_target", "make_method",
           "make_rows", "objective", "prepare"]
