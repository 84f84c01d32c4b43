"""Levenberg–Marquardt: nonlinear least squares with the exact Jacobian, as a trust region.

Minimizes ``‖r(x)‖²`` for residuals ``r`` (one per row: ``(model - target)/sigma``) and their
Jacobian ``J`` (one column per parameter), which the compiled tape gives exactly, every
column in one reverse sweep over the data's columns.  The method is Moré's (1978) version
of Levenberg–Marquardt, as MINPACK's ``lmder`` has it: a trust region of radius Δ in the
scaled norm ``‖D·p‖`` (D: the largest column norms of J seen so far), the step
``(JᵀJ + λ·D²)·p = Jᵀr`` with λ chosen so that the step just fits the region, and the
region grown or shrunk by how well the linear model predicted the decrease.  Two choices
differ from lmder and are made for accuracy and size:

- J is never squared.  Each iteration reduces ``[J r]`` to a small triangle ``R`` by QR in
  blocks of rows (TSQR: each block's R stacked and reduced again), so 1,000,000 rows cost
  a few tens of milliseconds and the condition number stays that of J, not of JᵀJ.  The
  step for any λ then comes from the singular values of ``R·D⁻¹`` (a p×p matrix).
- Bounds: a parameter at a bound whose gradient points out of the box is held there for
  the step, the step is projected into the box, and the decrease it predicts is computed
  for the projected step.

The covariance of the parameters is ``(JᵀJ)⁻¹·RSS/(n - p)`` at the solution, computed from
the singular values of R (a singular J gives infinite variances, reported as such).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import option

EPS = 2.220446049250313e-16
BLOCK_ROWS = 16384
"""Rows per block of the blocked QR (measured on 1,000,000 rows of 4 columns in Fortran
order: 18 ms in blocks of 16,384 rows, 23 ms of 4,096, 28 ms of 65,536, 82 ms in one LAPACK
call)."""


def triangle(a: Any, block: int = BLOCK_ROWS) -> Any:
    """The R of a QR factorization of the tall matrix ``a`` (n × k), by blocks of rows.

    R is determined up to the signs of its rows, which no use here depends on.
    """
    import numpy as np

    n, k = a.shape
    if n <= block:
        return np.linalg.qr(a, mode="r")[:k] if n >= k else _pad(np.linalg.qr(a, mode="r"), k)
    parts = [np.linalg.qr(a[i : i + block], mode="r") for i in range(0, n, block)]
    return triangle(np.vstack(parts), block)


def _pad(r: Any, k: int) -> Any:
    import numpy as np

    out = np.zeros((k, k))
    out[: r.shape[0]] = r
    return out


class Triangle:
    """A QR triangle kept up to date as rows arrive, in bounded memory: a stream's R."""

    def __init__(self, columns: int) -> None:
        import numpy as np

        self.r = np.zeros((0, columns))

    def add(self, rows: Any) -> None:
        import numpy as np

        if len(rows):
            self.r = triangle(np.vstack([self.r, rows]))

    def value(self) -> Any:
        return _pad(self.r, self.r.shape[1]) if self.r.shape[0] < self.r.shape[1] else self.r


# ---------------------------------------------------------------- the trust-region step


def damped_step(r: Any, qtr: Any, d: Any, delta: float, par: float) -> tuple[Any, float]:
    """The step p with ``‖D·p‖ ≈ Δ`` (within 10%) minimizing ``‖R·p - qtr‖² + λ‖D·p‖²``,
    and its λ; the Gauss–Newton step (λ = 0) when that fits in the region.

    With ``R·D⁻¹ = U·S·Vᵀ`` and ``c = Uᵀ·qtr``, ``D·p = V·(s·c/(s² + λ))``, so ``‖D·p‖`` is a
    decreasing function of λ, found by Newton's method on ``1/‖D·p‖ - 1/Δ`` (nearly linear
    in λ), kept within bounds that shrink at every iteration.
    """
    import numpy as np

    u, s, vt = np.linalg.svd(r / d, full_matrices=False)
    c = u.T @ qtr
    rank = s > s[0] * max(r.shape) * EPS if s.size and s[0] > 0 else np.zeros_like(s, dtype=bool)
    gauss_newton = np.where(rank, c / np.where(rank, s, 1.0), 0.0)
    norm = float(np.linalg.norm(gauss_newton))
    if norm <= 1.1 * delta:
        return (vt.T @ gauss_newton) / d, 0.0
    sc = s * c
    upper = float(np.linalg.norm(sc)) / delta
    lower = 0.0
    if upper == 0.0:
        return np.zeros_like(d), 0.0
    par = min(max(par, lower), upper)
    if par == 0.0:
        par = upper * 1e-3
    for _ in range(60):
        f = sc / (s * s + par)
        n = float(np.linalg.norm(f))
        if abs(n - delta) <= 0.1 * delta:
            break
        if n > delta:
            lower = max(lower, par)
        else:
            upper = min(upper, par)
        slope = float(np.sum(f * f / (s * s + par)))
        new = par + (n - delta) / delta * n * n / slope if slope > 0 else math.nan
        if not lower < new < upper:  # outside the bracket: bisect it (geometrically)
            new = math.sqrt(lower * upper) if lower > 0 else upper * 1e-3
        par = new
    return (vt.T @ (sc / (s * s + par))) / d, par


# ---------------------------------------------------------------- the method


@dataclass(frozen=True, slots=True)
class LMSettings:
    """When Levenberg–Marquardt stops (MINPACK's tests, tighter by default: the NIST
    datasets' certified values are met to 6 digits and more at these)."""

    iterations: int = 1000
    """The most iterations (Jacobian evaluations)."""
    ftol: float = 1e-14
    """Converged when the residual sum of squares and its predicted change fall below this,
    relatively, in an iteration."""
    xtol: float = 1e-12
    """Converged when the trust region shrinks below this relative to the scaled parameters."""
    gtol: float = 0.0
    """Converged when every column of J is orthogonal to the residuals to within this (the
    cosine of their angle)."""
    factor: float = 100.0
    """The first trust region's radius, relative to the scaled start point."""


STOP_REASONS = {
    "ftol": f"converged: the residual sum of squares changed by less than {option('ftol')} (relative)",
    "xtol": f"converged: the parameters changed by less than {option('xtol')} (relative)",
    "gtol": f"converged: the residuals are orthogonal to the Jacobian's columns ({option('gtol')})",
    "exact": "converged: every residual is zero",
    "precision": "converged to working precision: no step decreases the sum of squares",
    "iterations": "reached the iteration limit",
    "interrupted": "interrupted",
}


Residuals = Callable[[Any], Any]
"""The residual vector at a point (nan where not finite)."""
Linearized = Callable[[Any], tuple[Any, Any, float]]
"""At a point: the triangle R and ``Qᵀr`` of the QR of ``[J r]`` (R is p×p, Qᵀr has p
entries), and ``‖r‖²``; see :func:`linearize`."""


def linearize(residuals: Any, jacobian: Any) -> tuple[Any, Any, float]:
    """R, Qᵀr and ‖r‖² from the residuals (n) and the Jacobian (n × p)."""
    import numpy as np

    n, p = jacobian.shape
    augmented = np.empty((n, p + 1), order="F")
    augmented[:, :p] = jacobian
    augmented[:, p] = residuals
    return triangulate(augmented)


def triangulate(augmented: Any) -> tuple[Any, Any, float]:
    """R, Qᵀr and ‖r‖² from ``[J r]`` (n × (p + 1), best in Fortran order)."""
    p = augmented.shape[1] - 1
    rj = triangle(augmented)
    residuals = augmented[:, p]
    return rj[:p, :p], rj[:p, p], float(residuals @ residuals)


@dataclass
class Iteration:
    """Where Levenberg–Marquardt is: after ``iteration`` accepted steps."""

    iteration: int
    x: Any
    rss: float
    grad_norm: float
    par: float
    evaluations: int


def levenberg_marquardt(
    residuals: Residuals,
    linearized: Linearized,
    x0: Sequence[float],
    settings: LMSettings = LMSettings(),
    lower: Any = None,
    upper: Any = None,
) -> Generator[Iteration | None, None, str]:
    """Minimize ``‖residuals(x)‖²`` from ``x0``: an :class:`Iteration` for the start and after
    every accepted step, None after each rejected trial; the generator's return value is the
    stop reason (see :data:`STOP_REASONS`).
    """
    import numpy as np

    x = np.array(x0, dtype=np.float64)
    p = len(x)
    lo = np.full(p, -np.inf) if lower is None else np.asarray(lower, dtype=np.float64)
    hi = np.full(p, np.inf) if upper is None else np.asarray(upper, dtype=np.float64)
    r, qtr, fnorm2 = linearized(x)
    evaluations = 1
    fnorm = math.sqrt(fnorm2)
    d = np.linalg.norm(r, axis=0)
    d[d == 0] = 1.0
    xnorm = float(np.linalg.norm(d * x))
    delta = settings.factor * xnorm if xnorm > 0 else settings.factor
    par = 0.0
    iteration = 0
    grad = r.T @ qtr
    yield Iteration(0, x.copy(), fnorm2, float(np.linalg.norm(grad)), par, evaluations)
    if fnorm == 0.0:
        return "exact"
    while True:
        norms = np.linalg.norm(r, axis=0)
        d = np.maximum(d, norms)
        grad = r.T @ qtr  # ½∇‖r‖² = Jᵀr
        if settings.gtol > 0:
            cosines = np.abs(grad) / np.where(norms > 0, norms * fnorm, np.inf)
            if float(cosines.max(initial=0.0)) <= settings.gtol:
                return "gtol"
        # Parameters at a bound that the step would push out of the box stay there.
        free = ~(((x <= lo) & (grad > 0)) | ((x >= hi) & (grad < 0)))
        if not free.any():
            return "gtol"
        accepted = False
        while not accepted:
            step = np.zeros(p)
            step[free], par = damped_step(r[:, free], qtr, d[free], delta, par)
            trial = np.clip(x - step, lo, hi)
            step = x - trial
            pnorm = float(np.linalg.norm(d * step))
            if iteration == 0:
                delta = min(delta, pnorm) if pnorm > 0 else delta
            trial_r = residuals(trial)
            evaluations += 1
            with np.errstate(over="ignore", invalid="ignore"):
                trial_norm2 = float(trial_r @ trial_r)
            trial_norm = math.sqrt(trial_norm2) if math.isfinite(trial_norm2) else math.inf
            jp = r @ step
            # predicted and actual reductions, relative to ‖r‖² (MINPACK's scaling)
            prered = (2.0 * float(step @ grad) - float(jp @ jp)) / fnorm2
            dirder = -float(step @ grad) / fnorm2
            actred = 1.0 - (trial_norm / fnorm) ** 2 if 0.1 * trial_norm < fnorm else -1.0
            ratio = actred / prered if prered > 0 else 0.0
            if ratio <= 0.25:
                shrink = 0.5 if actred >= 0 else 0.5 * dirder / (dirder + 0.5 * actred)
                if 0.1 * trial_norm >= fnorm or not 0.1 <= shrink:
                    shrink = 0.1
                delta = shrink * min(delta, pnorm / 0.1)
                par = par / shrink
            elif par == 0.0 or ratio >= 0.75:
                delta = pnorm / 0.5
                par = 0.5 * par
            if ratio >= 1e-4:
                accepted = True
                x, fnorm, fnorm2 = trial, trial_norm, trial_norm2
                xnorm = float(np.linalg.norm(d * x))
                iteration += 1
                if fnorm == 0.0:
                    yield Iteration(iteration, x.copy(), 0.0, 0.0, par, evaluations)
                    return "exact"
            if abs(actred) <= settings.ftol and prered <= settings.ftol and 0.5 * ratio <= 1.0:
                if accepted:
                    r, qtr, _ = linearized(x)
                    yield Iteration(
                        iteration, x.copy(), fnorm2, float(np.linalg.norm(r.T @ qtr)), par, evaluations
                    )
                return "ftol"
            if delta <= settings.xtol * xnorm or delta <= EPS * xnorm:
                if accepted:
                    r, qtr, _ = linearized(x)
                    yield Iteration(
                        iteration, x.copy(), fnorm2, float(np.linalg.norm(r.T @ qtr)), par, evaluations
                    )
                return "xtol" if delta <= settings.xtol * xnorm else "precision"
            if abs(actred) <= EPS and prered <= EPS and 0.5 * ratio <= 1.0:
                if accepted:
                    r, qtr, _ = linearized(x)
                    yield Iteration(
                        iteration, x.copy(), fnorm2, float(np.linalg.norm(r.T @ qtr)), par, evaluations
                    )
                return "precision"
            if not accepted:
                yield None
        r, qtr, fnorm2_now = linearized(x)
        fnorm2 = fnorm2_now
        evaluations += 1
        yield Iteration(iteration, x.copy(), fnorm2, float(np.linalg.norm(r.T @ qtr)), par, evaluations)
        if iteration >= settings.iterations:
            return "iterations"


# ---------------------------------------------------------------- statistics


@dataclass(frozen=True, slots=True)
class Covariance:
    """``(JᵀJ)⁻¹`` from the triangle R of J (so that RᵀR = JᵀJ), by its singular values."""

    matrix: Any
    singular: bool
    """J's columns are linearly dependent (to working precision): some variances are inf."""


def unscaled_covariance(r: Any) -> Covariance:
    import numpy as np

    p = r.shape[1]
    if p == 0:
        return Covariance(np.zeros((0, 0)), False)
    _, s, vt = np.linalg.svd(r, full_matrices=False)
    rank = s > (s[0] if s.size else 0.0) * max(r.shape) * EPS
    if s.size == 0 or s[0] == 0.0:
        rank[:] = False
    inv = np.where(rank, 1.0 / np.where(rank, s, 1.0) ** 2, 0.0)
    cov = (vt.T * inv) @ vt
    cov = (cov + cov.T) / 2  # exactly symmetric, so that the correlations are too
    if rank.all():
        return Covariance(cov, False)
    # A direction J cannot see has infinite variance: every parameter along it too.
    blind = vt[~rank]
    touched = np.abs(blind).max(axis=0) > 1e-12
    cov[touched, :] = np.inf
    cov[:, touched] = np.inf
    return Covariance(cov, True)


def elapsed_since(started: float) -> float:
    return time.perf_counter() - started
