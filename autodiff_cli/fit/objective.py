"""A smooth loss as a function of the parameters, for ``adcli minimize``'s methods: the mean
loss over the fitted rows plus the L2 penalty, with its exact gradient, Hessian and
Hessian-vector products.

Each is the mean over the rows of one row's, evaluated over the data's columns at once:
the gradient by a reverse sweep of the loss's compiled tape, the Hessian and H·v by forward
mode over that gradient (:mod:`autodiff_cli.engine.second`, in its NumPy flavour).  So
``newton`` on a fit uses the true Hessian of the mean loss, second-order terms of the model
included, not a Gauss–Newton or Fisher approximation (which drops them and is exact only
where the residuals vanish).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .evaluate import Evaluator
from .model import FitError
from .problem import Problem


class LossObjective:
    """The fit's loss over the rows in memory, at a vector of the parameters (``names``, in
    the model's order); an :class:`autodiff_cli.optimize.objective.Objective` with the
    Hessian and products."""

    def __init__(self, problem: Problem, evaluator: Evaluator | None = None) -> None:
        if problem.rows is None:
            raise FitError("a general minimizer needs the rows in memory (no mini-batches)")
        self.model, self.rows, self.l2 = problem.model, problem.rows, problem.config.l2
        self.evaluator = evaluator or Evaluator(problem.model)
        self.names = problem.model.params
        self.start = tuple(problem.start[n] for n in self.names)

    def _arguments(self, x: Sequence[float]) -> list[Any]:
        rows = self.rows
        return self.model.arguments(self.model.loss_program, rows.columns, x, rows.target, rows.sigma)

    def value(self, x: Sequence[float]) -> float:
        return self.evaluator.mean_loss(self.rows, x, self.l2)

    def value_and_grad(self, x: Sequence[float]) -> tuple[float, tuple[float, ...]]:
        import numpy as np

        values, grads = self.evaluator.loss(self.rows, x)
        point = np.asarray(x, dtype=np.float64)
        loss = float(np.mean(values)) + self.l2 * float(point @ point)
        return loss, tuple(float(np.mean(g)) + 2.0 * self.l2 * float(v) for g, v in zip(grads, point))

    def hessian(self, x: Sequence[float]) -> tuple[float, Any, Any]:
        """The mean loss, its gradient and its Hessian: each row's, averaged (2·l2 added on
        the diagonal)."""
        import numpy as np

        from ..engine.second import compile_hessian

        value, grads, matrix = compile_hessian(self.model.loss_program, self.names).at_points(
            *self._arguments(x))
        point = np.asarray(x, dtype=np.float64)
        h = np.array([[np.mean(entry) for entry in row] for row in matrix], dtype=np.float64)
        h += 2.0 * self.l2 * np.eye(len(point))
        g = np.array([np.mean(entry) for entry in grads], dtype=np.float64) + 2.0 * self.l2 * point
        return float(np.mean(value)) + self.l2 * float(point @ point), g, h

    def product(self, x: Sequence[float], v: Any) -> Any:
        """The Hessian of the mean loss times v."""
        import numpy as np

        from ..engine.second import compile_hvp

        direction = np.asarray(v, dtype=np.float64)
        hv = compile_hvp(self.model.loss_program, self.names).at_points(
            *self._arguments(x), *direction.tolist())[2]
        return np.array([np.mean(entry) for entry in hv], dtype=np.float64) + 2.0 * self.l2 * direction


Objective = LossObjective
"""The name this seam had before the minimizers plugged in."""


def objective(problem: Problem) -> LossObjective:
    """The fit's loss over the rows in memory as an objective."""
    return LossObjective(problem)


__all__ = ["LossObjective", "Objective", "objective"]
