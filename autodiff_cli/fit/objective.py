"""A smooth loss as a function of the parameters: the seam where a general minimizer plugs in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .evaluate import Evaluator
from .model import FitError
from .problem import Problem


@dataclass(frozen=True, slots=True, eq=False)
class Objective:
    """A smooth loss as a function of the parameters: the mean loss over the fitted rows plus
    the L2 penalty, with its exact gradient.  What a general minimizer takes."""

    names: tuple[str, ...]
    start: tuple[float, ...]
    value: Callable[[Sequence[float]], float]
    value_and_grad: Callable[[Sequence[float]], tuple[float, tuple[float, ...]]]


def objective(problem: Problem) -> Objective:
    """The fit's loss over the rows in memory as an :class:`Objective`."""
    import numpy as np

    if problem.rows is None:
        raise FitError("a general minimizer needs the rows in memory (no mini-batches)")
    evaluator, rows, l2 = Evaluator(problem.model), problem.rows, problem.config.l2

    def value(x: Sequence[float]) -> float:
        return evaluator.mean_loss(rows, x, l2)

    def value_and_grad(x: Sequence[float]) -> tuple[float, tuple[float, ...]]:
        values, grads = evaluator.loss(rows, x)
        point = np.asarray(x, dtype=np.float64)
        loss = float(np.mean(values)) + l2 * float(point @ point)
        return loss, tuple(float(np.mean(g)) + 2.0 * l2 * float(v) for g, v in zip(grads, point))

    return Objective(
        problem.model.params, tuple(problem.start[n] for n in problem.model.params), value, value_and_grad
    )
