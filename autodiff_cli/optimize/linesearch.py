"""A line search that satisfies the strong Wolfe conditions.

Along a descent direction p from x, with φ(α) = f(x + α·p) and φ'(α) = ∇f(x + α·p)·p, it
finds a step α with

    φ(α) ≤ φ(0) + c1·α·φ'(0)         (sufficient decrease, Armijo)
    |φ'(α)| ≤ c2·|φ'(0)|             (strong curvature)

with 0 < c1 < c2 < 1 (defaults 1e-4 and 0.9, as scipy's BFGS and
``torch.optim.LBFGS(line_search_fn="strong_wolfe")`` have them).  The algorithm is
Nocedal and Wright's (Numerical Optimization, 2nd ed., Algorithms 3.5 and 3.6): trial
steps grow until they bracket an acceptable one, then ``zoom`` shrinks the bracket by
safeguarded cubic interpolation.  Where φ is not finite (an overflow, a log of a negative
number), the step is too long: the bracket closes there and the next trial is well inside
it.

A step longer than ``alpha_max`` is never tried (the nearest bound of a box): when f still
falls at ``alpha_max`` the search stops there, with only sufficient decrease promised
(status ``bound``).  When φ keeps falling with φ' < 0 at every one of ``max_bracket``
trials, each at least 2.1 times the last (so out to more than 10^12 times the first step),
or falls below -``LIMIT``, f looks unbounded below along p (status ``unbounded``) — unless
``alpha_max`` is finite: then the bound is tried, and taken if f is lower there.

Where no step satisfies the curvature condition (along a concave f such as log, |φ'| only
grows) but some trial lowered f with sufficient decrease, the search returns the lowest
such trial (status ``decrease``), as scipy's and PyTorch's searches fall back: the caller
moves there and skips its quasi-Newton update if the curvature is not positive.  A trial
whose value equals the last one (a change below f's rounding, along a very short
direction) neither ends the bracketing nor counts as falling.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LIMIT = 1e300
"""A value below -LIMIT counts as unbounded."""
GROWTH = 4.0
"""How much a trial step may grow over the one before while bracketing (Moré and Thuente's)."""

Phi = Callable[[float], tuple[float, float, Any]]
"""φ(α): f(x + α·p), φ'(α), and whatever the caller wants back for the accepted step (the
gradient there, say)."""


@dataclass(frozen=True, slots=True)
class LineSearch:
    """How a line search ended."""

    status: str
    """``ok`` (both Wolfe conditions hold), ``bound`` (stopped at alpha_max with sufficient
    decrease), ``decrease`` (sufficient decrease only: no step met the curvature condition),
    ``unbounded``, or ``failed`` (no step lowered f enough)."""
    alpha: float
    value: float
    slope: float
    extra: Any
    """What φ returned at ``alpha`` besides value and slope (None when nothing was accepted)."""
    evaluations: int

    @property
    def accepted(self) -> bool:
        return self.status in ("ok", "bound", "decrease")


def strong_wolfe(phi: Phi, value0: float, slope0: float, alpha0: float = 1.0, *, c1: float = 1e-4,
                 c2: float = 0.9, alpha_max: float = math.inf, max_bracket: int = 40,
                 max_zoom: int = 40) -> LineSearch:
    """A step along a descent direction (``slope0`` = φ'(0) < 0) that satisfies the strong
    Wolfe conditions; ``alpha0`` is the first trial."""
    if not slope0 < 0.0:
        raise ValueError("the direction is not a descent direction: φ'(0) must be negative")
    if not 0.0 < c1 < c2 < 1.0:
        raise ValueError("the Wolfe constants need 0 < c1 < c2 < 1")
    evaluations = 0
    prev_alpha, prev_value, prev_slope, prev_extra = 0.0, value0, slope0, None
    alpha = min(alpha0, alpha_max)
    falling = True  # every trial lower than the one before
    for i in range(max_bracket):
        value, slope, extra = phi(alpha)
        evaluations += 1
        finite = math.isfinite(value) and math.isfinite(slope)
        if not finite or value > value0 + c1 * alpha * slope0 or (i > 0 and value > prev_value):
            return _zoom(phi, value0, slope0, c1, c2, prev_alpha, prev_value, prev_slope, prev_extra,
                         alpha, value if finite else math.inf, slope, max_zoom, evaluations)
        if abs(slope) <= -c2 * slope0:
            return LineSearch("ok", alpha, value, slope, extra, evaluations)
        if slope >= 0.0:
            return _zoom(phi, value0, slope0, c1, c2, alpha, value, slope, extra, prev_alpha, prev_value,
                         prev_slope, max_zoom, evaluations)
        falling = falling and value < prev_value
        if value < -LIMIT:
            return LineSearch("unbounded", alpha, value, slope, extra, evaluations)
        if alpha >= alpha_max:
            return LineSearch("bound", alpha, value, slope, extra, evaluations)
        # Still falling: extrapolate by the cubic through this trial and the one before,
        # kept within [α + 1.1·(α - α_prev), α + GROWTH·(α - α_prev)] (Moré and Thuente's
        # safeguards), so the bracket grows geometrically but not recklessly.
        # (Where f did not change visibly, the cubic has only rounding to go on: the largest
        # step out, so that a very short direction is walked out of f's rounding quickly.)
        guess = None if value == prev_value else _cubic_min(prev_alpha, prev_value, prev_slope,
                                                             alpha, value, slope)
        low, high = alpha + 1.1 * (alpha - prev_alpha), alpha + GROWTH * (alpha - prev_alpha)
        prev_alpha, prev_value, prev_slope, prev_extra = alpha, value, slope, extra
        alpha = min(high if guess is None else min(max(guess, low), high), alpha_max)
    if falling and math.isfinite(alpha_max):
        # A bound is in the way: f has no bottom before it that the trials found, so the
        # bound itself is the step (f may not be called unbounded where the box ends).
        value, slope, extra = phi(alpha_max)
        evaluations += 1
        if math.isfinite(value) and value <= value0 + c1 * alpha_max * slope0 and value < prev_value:
            return LineSearch("bound", alpha_max, value, slope, extra, evaluations)
    elif falling:
        return LineSearch("unbounded", prev_alpha, prev_value, prev_slope, prev_extra, evaluations)
    return _best(prev_alpha, prev_value, prev_slope, prev_extra, value0, evaluations)


def _zoom(phi: Phi, value0: float, slope0: float, c1: float, c2: float,
          lo: float, value_lo: float, slope_lo: float, extra_lo: Any, hi: float, value_hi: float,
          slope_hi: float, max_zoom: int, evaluations: int) -> LineSearch:
    """Shrink [lo, hi] (lo: the best step so far that satisfies sufficient decrease; hi: a
    step that does not, or where φ rises) until a step satisfies both conditions."""
    for _ in range(max_zoom):
        width = hi - lo
        if abs(width) <= 1e-15 * max(abs(lo), abs(hi)) or abs(width) < 1e-300:
            break
        if math.isfinite(value_hi) and math.isfinite(slope_hi):
            guess = _cubic_min(lo, value_lo, slope_lo, hi, value_hi, slope_hi)
        else:  # no curvature to interpolate from beyond a non-finite value: go well inside
            guess = lo + 0.1 * width
        # Safeguard: keep the trial away from the bracket's ends (they are known already).
        near, far = lo + 0.1 * width, hi - 0.1 * width
        if guess is None or not math.isfinite(guess) or abs(guess - lo) < abs(near - lo):
            guess = lo + 0.5 * width  # (a minimizer next to lo: bisect, as Nocedal and Wright do)
        else:  # one beyond the far safeguard is near hi: shrink by 10, not 2
            guess = min(guess, far) if hi > lo else max(guess, far)
        alpha = guess
        value, slope, extra = phi(alpha)
        evaluations += 1
        if not (math.isfinite(value) and math.isfinite(slope)):
            hi, value_hi, slope_hi = alpha, math.inf, math.nan
            continue
        if value > value0 + c1 * alpha * slope0 or value >= value_lo:
            hi, value_hi, slope_hi = alpha, value, slope
            continue
        if abs(slope) <= -c2 * slope0:
            return LineSearch("ok", alpha, value, slope, extra, evaluations)
        if slope * (hi - lo) >= 0.0:
            hi, value_hi, slope_hi = lo, value_lo, slope_lo
        lo, value_lo, slope_lo, extra_lo = alpha, value, slope, extra
    return _best(lo, value_lo, slope_lo, extra_lo, value0, evaluations)


def _best(alpha: float, value: float, slope: float, extra: Any, value0: float,
          evaluations: int) -> LineSearch:
    """No step met both conditions: the lowest trial with sufficient decrease, if one
    lowered f at all (``lo`` of a bracket always has sufficient decrease), else failure."""
    if alpha > 0.0 and extra is not None and value < value0:
        return LineSearch("decrease", alpha, value, slope, extra, evaluations)
    return LineSearch("failed", alpha, value, slope, None, evaluations)


def _cubic_min(a: float, fa: float, da: float, b: float, fb: float, db: float) -> float | None:
    """The minimizer of the cubic through (a, fa) and (b, fb) with slopes da and db, or None
    when it has none (or the arithmetic is not finite)."""
    try:
        d1 = da + db - 3.0 * (fa - fb) / (a - b)
        radicand = d1 * d1 - da * db
        if math.isfinite(radicand):
            root = math.sqrt(radicand) if radicand >= 0.0 else -1.0
        else:  # the squares overflow (slopes of 1e200): scaled as Moré and Thuente scale them
            scale = max(abs(d1), abs(da), abs(db))
            radicand = (d1 / scale) ** 2 - (da / scale) * (db / scale)
            root = scale * math.sqrt(radicand) if radicand >= 0.0 else -1.0
        if root < 0.0:
            return None
        d2 = math.copysign(root, b - a)
        denominator = db - da + 2.0 * d2
        if denominator == 0.0:
            return None
        result = b - (b - a) * (db + d2 - d1) / denominator
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    return result if math.isfinite(result) else None
