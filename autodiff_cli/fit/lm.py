"""Levenberg–Marquardt as a fit method: least squares on the rows in memory, restarted once
where it ends on a singular Jacobian, polished in extended precision.  The algorithm
itself is :mod:`autodiff_cli.fit.leastsq`."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator
from typing import Any

from ..optimize.loop import Row
from ..optimize.run import row_due
from ..optimize.search import norm as vector_norm
from .leastsq import LMSettings, Triangle, levenberg_marquardt, triangle, triangulate
from .model import FitError
from .problem import Problem
from .result import FitResult, Sums, statistics
from .running import FitMethod, held_at_bounds


class LeastSquaresFit(FitMethod):
    """Levenberg–Marquardt on the residuals ``(model - target)/sigma`` of the rows in memory.

    When a run ends where the Jacobian is singular (a parameter the model no longer depends
    on: BoxBOD from its first start runs off to b2 = 110, where exp(-b2·x) is 0 at every
    row), it is run again from the start with a trust region 100 times smaller, and the
    better of the two is kept.  At the end, up to three Gauss–Newton steps with the residuals
    computed in extended precision refine the solution (for fits whose residuals are near
    float64's rounding), and the statistics use those residuals.
    """

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        import numpy as np

        assert problem.rows is not None
        self.rows = problem.rows
        self.x = np.array([problem.start[n] for n in self.names], dtype=np.float64)
        inf = math.inf
        self.lower = np.array([self.config.bounds.get(n, (-inf, inf))[0] for n in self.names])
        self.upper = np.array([self.config.bounds.get(n, (-inf, inf))[1] for n in self.names])
        self.ridge = math.sqrt(self.config.l2 * self.rows.n) if self.config.l2 else 0.0
        self.iteration = 0
        self.evaluations = 0
        self.restarts = 0
        self._last: Any = None
        self._cache: tuple[bytes, tuple[Any, Any, float]] | None = None
        self._final_grad = math.nan

    def _residuals(self, x: Any) -> Any:
        import numpy as np

        with np.errstate(all="ignore"):
            r = self.evaluator.residuals(self.rows, x)
            if self.ridge:
                r = np.concatenate([r, self.ridge * x])
            r[~np.isfinite(r)] = np.inf
        return r

    def _linearized(self, x: Any) -> tuple[Any, Any, float]:
        """R, Qᵀr and ‖r‖² at x (the last one is kept: the end of a run asks for it again)."""
        key = x.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        answer = self._linearize_now(x)
        self._cache = (key, answer)
        return answer

    def _linearize_now(self, x: Any) -> tuple[Any, Any, float]:
        import numpy as np

        p = len(x)
        with np.errstate(all="ignore"):
            augmented = self.evaluator.augmented(self.rows, x, p if self.ridge else 0, reuse=True)
            if self.ridge:
                n = self.rows.n
                augmented[n:, :p] = self.ridge * np.eye(p)
                augmented[n:, p] = self.ridge * x
        if not np.isfinite(augmented.sum()):
            bad = ~np.isfinite(augmented).all(axis=1)
            row = int(np.argmax(bad))
            raise FitError(
                f"the model or its derivatives are not finite at {self._where(x)} in "
                f"{int(bad.sum())} rows (the first: data row {row + 1}); start elsewhere"
            )
        with np.errstate(all="ignore"):  # (a sum of squares past float64's range is inf, checked)
            return triangulate(augmented)

    def _where(self, x: Any) -> str:
        return ", ".join(f"{n} = {float(v)!r}" for n, v in zip(self.names, x))

    def progress(self) -> Iterator[Row | None]:
        import numpy as np

        from ..errors import AdcliError

        settings = LMSettings(
            iterations=self.config.iterations,
            ftol=self.config.ftol,
            xtol=self.config.xtol,
            gtol=self.config.gtol,
        )
        start = self.x.copy()
        best: tuple[float, Any, str] | None = None
        warnings: list[str] = []
        try:
            _, _, rss = self._linearized(start)
        except AdcliError:
            raise FitError(
                f"the model or its derivatives are not finite at the start ({self._where(start)}); "
                "choose other start values"
            ) from None
        if not math.isfinite(rss):
            self._overflow(start)
        for factor in (settings.factor, settings.factor / 100):
            attempt = LMSettings(settings.iterations, settings.ftol, settings.xtol, settings.gtol, factor)
            gen = levenberg_marquardt(
                self._residuals, self._linearized, start, attempt, self.lower, self.upper
            )
            reason = "iterations"
            base, base_evaluations = self.iteration, self.evaluations
            last_row = time.perf_counter()
            while True:
                try:
                    item = next(gen)
                except StopIteration as stop:
                    reason = stop.value
                    break
                if item is None:
                    if time.perf_counter() - last_row > self.CHUNK_SECONDS:
                        yield None
                    continue
                self.iteration = base + item.iteration
                self.evaluations = base_evaluations + item.evaluations
                self.x = item.x
                self.record(self.iteration, item.rss, item.grad_norm, item.x)
                if row_due(item.iteration, self.config.every, time.perf_counter() - last_row):
                    last_row = time.perf_counter()
                    self.losses.append(item.rss)
                    yield self.row(self.iteration, item.rss, item.grad_norm, item.par, item.x)
                self._last = item
            with np.errstate(all="ignore"):
                rss = float(self._residuals(self.x) @ self._residuals(self.x))
            if best is None or rss < best[0]:
                best = (rss, self.x.copy(), reason)
            r, _, _ = self._linearized(self.x)
            if factor != settings.factor or not self._singular(r):
                break
            self.restarts += 1
            warnings.append(
                f"restarted from the start with a trust region 100 times smaller: the first run "
                f"ended where the Jacobian is singular (residual sum of squares {rss!r})"
            )
            yield self.row(self.iteration, rss, math.nan, math.nan, self.x, validation=math.nan)
        assert best is not None
        _, self.x, reason = best
        self.x = self._polish(self.x)
        last = self.losses[-1] if self.losses else math.nan
        result = self._result(reason, warnings)
        final = result.residual_sum_of_squares
        if final is not None and final != last:
            self.losses.append(final)
            yield self.row(self.iteration, final, self._final_grad, self._last.par, self.x)
            result = dataclasses.replace(result, losses=tuple(self.losses))
        self.result = result

    def _overflow(self, x: Any) -> None:
        """The residual sum of squares at x is past float64's range: say where, and stop."""
        import numpy as np

        r = np.abs(self._residuals(x))
        row = int(np.argmax(r))
        raise FitError(
            f"the residual sum of squares is not finite at the start ({self._where(x)}): the "
            f"residuals are too large to square in float64 (the largest, {float(r[row])!r}, in "
            f"data row {row + 1}); rescale the data or choose other start values"
        )

    def _singular(self, r: Any) -> bool:
        import numpy as np

        s = np.linalg.svd(r, compute_uv=False)
        return bool(s.size and (s[0] == 0 or s[-1] <= s[0] * max(r.shape) * 1e-14))

    def _polish(self, x: Any) -> Any:
        """Gauss–Newton steps with residuals in extended precision, while they decrease ‖r‖."""
        import numpy as np

        if self.rows.precise is None or self.ridge or (x <= self.lower).any() or (x >= self.upper).any():
            return x
        with np.errstate(all="ignore"):
            current = self.evaluator.precise_residuals(self.rows, x)
            for _ in range(3):
                _, jac = self.evaluator.jacobian(self.rows, x)
                tri = triangle(np.column_stack([jac, current]))
                p = len(x)
                step = np.linalg.lstsq(tri[:p, :p], tri[:p, p], rcond=None)[0]
                trial = x - step
                after = self.evaluator.precise_residuals(self.rows, trial)
                if not np.isfinite(after).all() or float(after @ after) >= float(current @ current):
                    break
                x, current = trial, after
        return x

    def _result(self, reason: str, warnings: list[str]) -> FitResult:
        import numpy as np

        x = self.x
        p = len(x)
        sums = Sums(p)
        with np.errstate(all="ignore"):
            if self.rows.precise is not None:
                augmented = self.evaluator.augmented(self.rows, x)
                augmented[:, p] = self.evaluator.precise_residuals(self.rows, x)
                r, qtr, rss = triangulate(augmented)
            else:
                r, qtr, rss = self._linearized(x)
                if self.ridge:  # the statistics are the data's: without the penalty's rows
                    _, _, rss = triangulate(self.evaluator.augmented(self.rows, x))
            sums.rows = self.rows.n
            sums.rss = rss
            sums.loss = rss
            sums.moments.add(self.rows.target, None if self.rows.sigma is None else 1.0 / self.rows.sigma**2)
            sums.triangle = Triangle(p)
            sums.triangle.r = r
            grad = r.T @ qtr
            self._final_grad = vector_norm(grad)
        held = held_at_bounds(self.names, x, self.config.bounds, grad)
        stats = statistics(self.names, sums, least_squares=True, held=held)
        settings = {"ftol": self.config.ftol, "xtol": self.config.xtol, "gtol": self.config.gtol}
        if self.config.l2:
            settings["l2"] = self.config.l2
        return self.finish(
            "lm",
            settings,
            x,
            reason,
            self.iteration,
            self.evaluations,
            stats,
            sums,
            self.validation_scores(x),
            warnings,
        )

    def interrupt(self) -> FitResult:
        """Finish after Ctrl-C at the point of the last iteration recorded: the records of the
        iterations taken are kept, and the trajectory's last record is the result's point."""
        if self.last_recorded is not None:
            self.iteration, self.x = self.last_recorded
        self.result = self._result("interrupted", [])
        return self.result
