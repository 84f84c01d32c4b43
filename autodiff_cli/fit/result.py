"""What a fit returns: the parameters, their standard errors and correlations, the fit's
statistics; and the sums those are made of, gathered over the rows block by block."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import Spelling, option, python_spelling, spell
from .leastsq import STOP_REASONS as LM_STOP_REASONS
from .leastsq import Triangle, unscaled_covariance

MINIMIZER_STOP_REASONS = {
    "gtol": f"converged: the gradient norm fell below {option('tol')}",
    "xtol": f"converged: the step fell below {option('xtol')} (relative to the parameters)",
    "ftol": f"converged: two steps in a row changed the loss by less than {option('ftol')} (relative)",
    "precision": "converged to working precision: no step lowers the loss by more than its rounding error",
    "stalled": "stalled: no step decreases the loss further, yet the gradient is not small",
    "max_iter": "stopped at the iteration limit before converging",
    "unbounded": "the loss keeps falling along a direction: it looks unbounded below there",
    "interrupted": "interrupted",
}
"""The minimize methods' stop reasons (:data:`autodiff_cli.optimize.minimize_result.STOP_REASONS`),
in the fit's words: its loss, and its tol for the gradient."""

STOP_REASONS = {
    **LM_STOP_REASONS,
    "epochs": "reached the epoch limit",
    "converged": f"converged: the gradient norm fell below {option('tol')}",
    "diverged": "diverged: the loss or a parameter became non-finite or exceeded 1e300",
}


@dataclass(frozen=True, slots=True)
class FitResult:
    """How a fit ended, with its statistics.  Standard errors and correlations are there for
    least squares (from (JᵀJ)⁻¹·RSS/(n - p)) and bce (the inverse Fisher information); None
    for the other losses."""

    expression: str
    data: str
    target: str
    loss: str
    method: str
    settings: dict[str, float]
    parameters: dict[str, float]
    start: dict[str, float]
    rows: int
    """The rows fitted (without the held-out validation rows)."""
    iterations: int
    """Levenberg–Marquardt's iterations, or the optimizer's epochs."""
    steps: int
    """Evaluations of the residuals (least squares) or optimizer steps (one per batch)."""
    stop_reason: str
    elapsed: float
    loss_value: float
    """The loss per row, averaged over the rows fitted (mse: RSS/n)."""
    standard_errors: dict[str, float] | None = None
    correlation: tuple[tuple[float, ...], ...] | None = None
    residual_sum_of_squares: float | None = None
    residual_standard_deviation: float | None = None
    degrees_of_freedom: int = 0
    r_squared: float | None = None
    validation_rows: int = 0
    validation_loss: float | None = None
    accuracy: float | None = None
    validation_accuracy: float | None = None
    confusion: dict[str, int] | None = None
    """bce: true and false positives and negatives (predicted 1 where the sigmoid is ≥ 0.5)."""
    dropped: int = 0
    """Rows dropped for missing values (drop_missing)."""
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    losses: tuple[float, ...] = ()
    """The loss at each progress row, for the sparkline."""

    @property
    def message(self) -> str:
        """Why it stopped, the settings named as a Python caller gives them."""
        return self.describe()

    def describe(self, spelling: Spelling = python_spelling) -> str:
        """Why it stopped, the settings it names written by ``spelling``."""
        from ..optimize.minimize_result import METHODS

        reasons = MINIMIZER_STOP_REASONS if self.method in METHODS else STOP_REASONS
        return spell(reasons[self.stop_reason], spelling)

    @property
    def ok(self) -> bool:
        return self.stop_reason not in ("diverged", "unbounded", "interrupted")

    @property
    def relative_errors(self) -> dict[str, float] | None:
        """Each standard error over its parameter's magnitude."""
        if self.standard_errors is None:
            return None
        return {
            name: (se / abs(self.parameters[name]) if self.parameters[name] != 0 else math.inf)
            for name, se in self.standard_errors.items()
        }


# ---------------------------------------------------------------- sums over the rows


@dataclass
class Moments:
    """A weighted mean and sum of squared deviations, merged block by block (Chan et al.), so
    that R²'s total sum of squares has no cancellation."""

    weight: float = 0.0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, values: Any, weights: Any = None) -> None:
        import numpy as np

        w = np.ones_like(values) if weights is None else weights
        total = float(w.sum())
        if total == 0:
            return
        mean = float((w * values).sum() / total)
        m2 = float((w * (values - mean) ** 2).sum())
        delta = mean - self.mean
        combined = self.weight + total
        self.m2 += m2 + delta * delta * self.weight * total / combined
        self.mean += delta * total / combined
        self.weight = combined


@dataclass
class Sums:
    """What the statistics are made of, gathered over blocks of rows."""

    params: int
    rows: int = 0
    loss: float = 0.0
    rss: float = 0.0
    moments: Moments = field(default_factory=Moments)
    triangle: Triangle | None = None
    confusion: dict[str, int] | None = None

    def jacobian(self, rows: Any) -> None:
        if self.triangle is None:
            self.triangle = Triangle(self.params)
        self.triangle.add(rows)


@dataclass(frozen=True, slots=True)
class Statistics:
    standard_errors: dict[str, float] | None
    correlation: tuple[tuple[float, ...], ...] | None
    rss: float | None
    residual_sd: float | None
    dof: int
    r_squared: float | None
    warnings: tuple[str, ...]


def statistics(
    names: Sequence[str], sums: Sums, *, least_squares: bool, held: Sequence[str] = ()
) -> Statistics:
    """Standard errors, correlations and the fit statistics from the sums.

    ``held``: parameters at an active bound, whose standard errors are not meaningful (they
    are reported as nan and left out of the covariance of the others).
    """
    import numpy as np

    n, p = sums.rows, len(names)
    dof = n - p
    warnings: list[str] = []
    rss = sums.rss if least_squares else None
    residual_sd = math.sqrt(sums.rss / dof) if least_squares and dof > 0 else None
    r_squared = None
    if least_squares and sums.moments.m2 > 0:
        r_squared = 1.0 - sums.rss / sums.moments.m2
    if sums.triangle is None:
        return Statistics(None, None, rss, residual_sd, dof, r_squared, ())
    r = sums.triangle.value()
    free = [i for i, name in enumerate(names) if name not in held]
    cov = np.full((p, p), np.nan)
    unscaled = unscaled_covariance(r[:, free])
    scale = 1.0
    if least_squares:
        if dof <= 0:
            warnings.append(
                f"{n} rows for {p} parameters leave no degrees of freedom: the residual "
                "standard deviation and the standard errors are undefined"
            )
            scale = math.nan
        else:
            scale = sums.rss / dof
    cov[np.ix_(free, free)] = unscaled.matrix * scale
    if unscaled.singular:
        infinite = [names[i] for i in free if not math.isfinite(cov[i, i])]
        warnings.append(
            "the Jacobian is singular at the solution: the data do not determine "
            f"{', '.join(infinite)} (standard error inf); a parameter may be redundant"
        )
    for name in held:
        warnings.append(f"{name} is at a bound: its standard error is not defined (nan)")
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.diag(cov))
        outer = np.outer(se, se)
        corr = np.where(outer > 0, cov / np.where(outer > 0, outer, 1.0), np.nan)
    for i in range(p):
        if math.isfinite(se[i]) and se[i] > 0:
            corr[i, i] = 1.0
    return Statistics(
        {name: float(v) for name, v in zip(names, se)},
        tuple(tuple(float(v) for v in row) for row in corr),
        rss,
        residual_sd,
        dof,
        r_squared,
        tuple(warnings),
    )
