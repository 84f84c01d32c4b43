"""What every fit method shares: the run loop's records, progress rows, timing, the
held-out scores and the :class:`FitResult` it ends with."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from ..optimize.loop import Row
from ..optimize.run import Outcome, Record
from .evaluate import Evaluator, accuracy
from .problem import Problem
from .result import FitResult, Statistics, Sums, statistics


class FitMethod(Outcome[FitResult]):
    """What every fit method shares: records, rows, timing, the held-out scores, the result."""

    CHUNK_SECONDS = 0.05
    WHAT = "fit"

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.model = problem.model
        self.config = problem.config
        self.evaluator = Evaluator(problem.model)
        self.records: list[Record] = []
        self.result: FitResult | None = None
        self.losses: list[float] = []
        self.started = time.perf_counter()
        self.names = problem.model.params
        self.x: Any = None
        self.last_recorded: tuple[int, Any] | None = None
        """The step and point of the last record made (the run loop may have taken it since):
        where Ctrl-C ends a run, so that the trajectory's last row is the result's point."""


    def every(self, total: int) -> int:
        return self.config.every or max(1, math.ceil(total / 20))

    def point(self, x: Sequence[float]) -> dict[str, float]:
        return {name: float(v) for name, v in zip(self.names, x)}

    def row(self, step: int, loss: float, grad_norm: float, step_size: float, x: Sequence[float],
            validation: float | None = None) -> Row:
        """A progress row at x, with the held-out loss there unless ``validation`` is given."""
        held = self.held_out_loss(x) if validation is None else validation
        return Row(step, loss, grad_norm, step_size, self.point(x), held)

    def record(self, step: int, loss: float, grad_norm: float, x: Sequence[float]) -> None:
        if self.config.record:
            self.records.append((step, loss, grad_norm, *(float(v) for v in x)))
        self.last_recorded = (step, x)

    def finish(
        self,
        method: str,
        settings: dict[str, float],
        x: Sequence[float],
        reason: str,
        iterations: int,
        steps: int,
        stats: Statistics | None,
        sums: Sums | None,
        validation: tuple[float | None, float | None],
        warnings: Sequence[str] = (),
    ) -> FitResult:
        problem = self.problem
        loss_value = sums.loss / sums.rows if sums is not None and sums.rows else math.nan
        if sums is not None and self.config.l2:
            loss_value += self.config.l2 * float(sum(v * v for v in x))
        return FitResult(
            expression=self.model.program.source,
            data=problem.source.name,
            target=self.model.target,
            loss=self.model.loss,
            method=method,
            settings=settings,
            parameters=self.point(x),
            start=dict(problem.start),
            rows=sums.rows if sums is not None else 0,
            iterations=iterations,
            steps=steps,
            stop_reason=reason,
            elapsed=time.perf_counter() - self.started,
            loss_value=loss_value,
            # (at a point where the run diverged, uncertainties would describe nothing)
            standard_errors=stats.standard_errors if stats and reason != "diverged" else None,
            correlation=stats.correlation if stats and reason != "diverged" else None,
            residual_sum_of_squares=stats.rss if stats else None,
            residual_standard_deviation=stats.residual_sd if stats else None,
            degrees_of_freedom=stats.dof if stats else 0,
            r_squared=stats.r_squared if stats else None,
            validation_rows=problem.validation.n
            if problem.validation is not None
            else self._validation_rows(),
            validation_loss=validation[0],
            accuracy=accuracy(sums.confusion) if sums else None,
            validation_accuracy=validation[1],
            confusion=sums.confusion if sums else None,
            dropped=problem.dropped,
            bounds=dict(self.config.bounds),
            warnings=tuple([*problem.notes, *warnings, *(stats.warnings if stats else ())]),
            losses=tuple(self.losses),
        )

    def statistics(self, sums: Sums, x: Sequence[float], grad: Any) -> Statistics | None:
        """The statistics of the rows gathered in ``sums`` at x (None without rows); ``grad``
        tells which parameters are held at a bound.  bce's have no residuals."""
        if not sums.rows:
            return None
        stats = statistics(self.names, sums, least_squares=self.model.least_squares,
                           held=held_at_bounds(self.names, x, self.config.bounds, grad))
        if self.model.classification:
            stats = Statistics(stats.standard_errors, stats.correlation, None, None, stats.dof, None,
                               stats.warnings)
        return stats

    def _validation_rows(self) -> int:
        return 0

    def validation_scores(self, x: Sequence[float]) -> tuple[float | None, float | None]:
        held = self.problem.validation
        if held is None or held.n == 0:
            return None, None
        sums = Sums(len(self.names))
        self.evaluator.gather(sums, held, x)
        return sums.loss / sums.rows + self.config.l2 * float(sum(v * v for v in x)), accuracy(sums.confusion)

    def held_out_loss(self, x: Sequence[float]) -> float:
        held = self.problem.validation
        if held is None or held.n == 0:
            return math.nan
        return self.evaluator.mean_loss(held, x, self.config.l2)


def held_at_bounds(
    names: Sequence[str], x: Sequence[float], bounds: dict[str, tuple[float, float]], grad: Any
) -> list[str]:
    """Parameters at a bound that the gradient pushes against."""
    held = []
    for name, value, g in zip(names, x, grad):
        if name in bounds:
            low, high = bounds[name]
            if (value <= low and g > 0) or (value >= high and g < 0):
                held.append(name)
    return held
