"""``adcli minimize``'s methods as fit methods: L-BFGS (the default for smooth losses other
than mse), BFGS, Newton with the exact Hessian of the mean loss, and Newton-CG, each run by
the minimizer's own :class:`autodiff_cli.optimize.search.Search` over the fit's
:class:`autodiff_cli.fit.objective.LossObjective`.  Nothing of the methods is copied here:
this module turns the search's rows into the fit's and its end into a :class:`FitResult`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..optimize.loop import Row
from ..optimize.minimize_result import MinimizeConfig
from ..optimize.search import Search
from .model import FitError
from .objective import LossObjective
from .problem import Problem
from .result import FitResult, Sums
from .running import FitMethod


class MinimizerFit(FitMethod):
    """One of the minimize methods on the rows in memory."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        config = self.config
        self.name = problem.method
        self.minimize_config = MinimizeConfig(
            method=self.name, gtol=config.tol, xtol=config.xtol, ftol=config.ftol,
            max_iter=config.iterations, record=1 if config.record else 0)
        objective = LossObjective(problem, self.evaluator)
        self.search = Search(objective, self.names, objective.start, self.minimize_config,
                             config.bounds, every=config.every)
        self.records = self.search.records  # the run loop takes them from here

    def progress(self) -> Iterator[Row | None]:
        for row in self.search.progress():
            if row is None:
                yield None
                continue
            self.losses.append(row.value)
            yield self.row(row.iteration, row.value, row.grad_norm, row.radius, self.search.x)
        if self.search.reason == "nonfinite":
            where = ", ".join(f"{n} = {v!r}" for n, v in self.point(self.search.x).items())
            raise FitError(f"the loss or its gradient is not finite at the start ({where}); choose "
                           "other start values")
        self.result = self._result()

    def _result(self) -> FitResult:
        import numpy as np

        search = self.search
        x = search.x
        reason = search.reason or "interrupted"
        sums = Sums(len(self.names))
        assert self.problem.rows is not None  # (the objective needs them)
        with np.errstate(all="ignore"):
            self.evaluator.gather(sums, self.problem.rows, x)
            validation = self.validation_scores(x)
            stats = self.statistics(sums, x, search.g)
        # the settings by the fit's names for them (the line search's constants are not among them)
        names = {"gtol": "tol", "xtol": "xtol", "ftol": "ftol", "max_iter": "iterations"}
        settings: dict[str, Any] = {names[k]: v for k, v in self.minimize_config.settings().items()
                                    if k in names}
        if self.config.l2:
            settings["l2"] = self.config.l2
        return self.finish(self.name, settings, x, reason, search.iteration,
                           search.objective.counts["function"], stats, sums, validation)

    def interrupt(self) -> FitResult:
        self.search.stop()
        self.result = self._result()
        return self.result
