"""Finite differences: numeric partial derivatives of any float function, and the step ladder.

The step.  No fixed rule fits every function: a step scaled to the value,
``h*max(1, |x|)``, suits ``x^3`` at ``x = 1e6`` but is far too large for
``sin(x)`` at ``x = 1e4``, and a fixed small step fails the other way.  So by
default the step is chosen from an error estimate.  The difference D_k is
computed on a ladder of steps ``h_k = max(1, |x|) * 10^-k`` (k = 1 .. 15), and
each rung gets the error estimate

    max(|D_k - D_(k-1)|, |D_k - D_(k+1)|)  +  2 * noise / (2 h_k)

the spread between neighbouring steps (truncation error, and noise, seen
directly) plus the rounding error that a difference of two values of f can
carry, ``noise`` being a bound on f's rounding error
(:func:`autodiff_cli.check.point.rounding_error`); that term keeps the ladder
away from steps so small that f's computed values are coarse and neighbouring
estimates agree exactly, at a wrong value.  The rung with the smallest estimate
wins.  A fixed ``epsilon`` is the other choice.

The choice of rung (:func:`best_rungs`) and the kink test (:func:`kink_gaps`)
are written once, on NumPy arrays: the check at one point evaluates f on plain
floats and hands them its differences as arrays of one column; the check at
many points hands them one column per point.

Richardson extrapolation (Ridders' method, :func:`richardson`) extrapolates
central differences at halved steps to step 0, with an error estimate.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .. import expr as ast

Method = Literal["central", "forward", "richardson"]
Mode = Literal["reverse", "forward"]
METHODS: tuple[Method, ...] = ("central", "forward", "richardson")
MODES: tuple[Mode, ...] = ("reverse", "forward")


_EPS = sys.float_info.epsilon


LADDER = tuple(10.0 ** -k for k in range(1, 16))
"""Candidate steps, relative to max(1, |x|) (or to |x|, where those find nothing: :func:`rescale`)."""


FloatFunction = Callable[..., float]
"""``f(*values) -> float``: a program on plain floats, arguments in variable order."""


def float_function(program: ast.Program) -> FloatFunction:
    """The program as a plain float function of its variables, in ``program.variables`` order:
    its compiled value function, which builds no graph per call."""
    from ..engine.compile import compile_program

    return compile_program(program, ()).value


def _moved(values: Sequence[float], arg: int, x: float) -> list[float]:
    moved = list(values)
    moved[arg] = x
    return moved


def _steps(x: float, epsilon: float) -> tuple[float, float]:
    up, down = x + epsilon, x - epsilon
    if up == down:
        raise ValueError(f"the step {epsilon!r} is below the resolution of {x!r}")
    return up, down


def _central(f: FloatFunction, values: Sequence[float], arg: int, h: float) -> tuple[float, float]:
    """The central difference, and the distance it divides by."""
    up, down = _steps(values[arg], h)
    return (f(*_moved(values, arg, up)) - f(*_moved(values, arg, down))) / (up - down), up - down


def _forward(f: FloatFunction, values: Sequence[float], arg: int, h: float) -> tuple[float, float]:
    x = values[arg]
    up, _ = _steps(x, h)
    return (f(*_moved(values, arg, up)) - f(*values)) / (up - x), up - x


def central_difference(f: FloatFunction, *values: float, arg: int = 0,
                       epsilon: float = 1e-6) -> float:
    """(f(x+ε) - f(x-ε)) / 2ε in argument ``arg``; error O(ε²).

    The division is by the step as represented, (x+ε) - (x-ε), which removes
    the error of rounding x±ε.  Raises ValueError when ε vanishes next to x.
    """
    return _central(f, values, arg, epsilon)[0]


def forward_difference(f: FloatFunction, *values: float, arg: int = 0,
                       epsilon: float = 1e-6) -> float:
    """(f(x+ε) - f(x)) / ε in argument ``arg``; error O(ε)."""
    return _forward(f, values, arg, epsilon)[0]


@dataclass(frozen=True, slots=True)
class Estimate:
    """A numeric derivative, the step it used, and its estimated error (None: not estimated)."""

    value: float
    step: float
    error: float | None = None


Difference = Callable[[FloatFunction, Sequence[float], int, float], tuple[float, float]]


def best_rungs(h: Any, d: Any, distance: Any, noise: Any, count: Any) -> tuple[Any, Any, Any, Any]:
    """The rung of the ladder with the smallest estimated error, at every point at once.

    ``h``, ``d`` and ``distance`` are arrays of shape (rungs, points): each rung's step,
    its difference, and the distance the difference divides by; ``noise`` bounds f's
    rounding error at each point; ``count`` is how many rungs each point has (the ladder
    stops where x+h == x-h; later rows are ignored).  Returns the step, the difference, its
    error estimate and whether a rung was found, each an array of one entry per point.
    """
    import numpy as np

    rounding = 2.0 * noise / distance
    left, right = np.abs(d[1:-1] - d[:-2]), np.abs(d[1:-1] - d[2:])
    error = np.where(right > left, right, left) + rounding[1:-1]  # Python's max(left, right)
    inner = np.arange(1, len(h) - 1)[:, None]
    error = np.where((inner < count - 1) & ~np.isnan(error), error, math.inf)
    best = np.argmin(error, axis=0)  # the first smallest, as a scan with < finds it
    pick = (best, np.arange(error.shape[1]))
    return h[1:-1][pick], d[1:-1][pick], error[pick], error[pick] < math.inf


def kink_gaps(right: Any, left: Any, usable: Any, tolerance: Any) -> Any:
    """Where the one-sided differences disagree beyond ``tolerance`` in a way that a smaller
    step does not cure: a kink, not curvature or noise (an array of one bool per point).

    ``right`` and ``left`` have shape (3, points): the one-sided differences at 10 times
    the step, the step, and a tenth of it.  At a smooth point the gap between them is about
    h*f'', shrinking with the step, and rounding noise grows as 1/h; at a kink the gap is
    the jump in the derivative, the same at every step.  So the gap must exceed the
    tolerance and keep its size, within a factor of 2, from 10h to h to h/10.
    """
    import numpy as np

    wide, mid, narrow = np.abs(right - left)
    return usable & (mid > tolerance) & (0.5 * wide <= mid) & (mid <= 2.0 * wide) \
        & (0.5 * mid <= narrow) & (narrow <= 2.0 * mid)


def has_digits(value: Any, error: Any, found: Any) -> Any:
    """Whether an estimate knows at least its leading digit: found, with an estimated error
    below its own size (for floats or arrays alike).  An estimate without one is noise, or
    the difference across a feature much narrower than the steps tried."""
    return found & (error < abs(value))


def rescale(x: Any, value: Any, error: Any, found: Any) -> Any:
    """Whether the ladder should be tried again scaled to |x| itself: 0 < |x| < 1 and the
    usual ladder, scaled to 1, found no estimate with a digit (:func:`has_digits`).

    Steps of max(1, |x|)·10^-k suit functions whose features are of size 1 or of the size
    of x, and |x| above 1e-15 or so.  At x = 1e-300 every one of them reaches past 0
    (``sqrt(x)`` is nan there), and at x = 1e-10 the large ones straddle the pole of ``1/x``,
    where the differences are small numbers that agree with each other: the ladder then
    picks noise.  Steps of |x|·10^-k stay on the point's own side of 0.
    """
    return (abs(x) < 1.0) & (x != 0.0) & ~has_digits(value, error, found)


def _ladder(difference: Difference, f: FloatFunction, values: Sequence[float], arg: int,
            noise: float | None = None) -> Estimate:
    """The difference at the step of the ladder with the smallest estimated error
    (:func:`best_rungs`), at one point, with f evaluated on plain floats: steps
    max(1, |x|)·10^-k, and where they find nothing with a digit, |x|·10^-k (:func:`rescale`).

    ``noise`` bounds the rounding error of one evaluation of f near the point
    (default: one unit in the last place of f(x)).
    """
    x = values[arg]
    if noise is None:
        noise = _EPS * abs(f(*values))
    usual = _rungs(difference, f, values, arg, max(1.0, abs(x)), noise)
    found = usual.error is not None and not math.isnan(usual.error)
    if rescale(x, usual.value, usual.error if found else math.inf, found):
        scaled = _rungs(difference, f, values, arg, abs(x), noise)
        if scaled.error is not None and has_digits(scaled.value, scaled.error, True):
            return scaled
    return usual


def _rungs(difference: Difference, f: FloatFunction, values: Sequence[float], arg: int,
           scale: float, noise: float) -> Estimate:
    """The best rung of the ladder ``scale``·10^-k, k = 1 .. 15 (error nan: none found)."""
    import numpy as np

    x = values[arg]
    rungs: list[tuple[float, float, float]] = []
    for ratio in LADDER:
        h = scale * ratio
        if x + h == x - h:
            break
        rungs.append((h, *difference(f, values, arg, h)))
    if len(rungs) >= 3:
        h_k, d_k, distance = (np.array([[r[i]] for r in rungs]) for i in range(3))
        with np.errstate(all="ignore"):
            step, found_d, error, found = best_rungs(h_k, d_k, distance, noise, len(rungs))
        if found[0]:
            return Estimate(float(found_d[0]), float(step[0]), float(error[0]))
    # Nothing finite to compare (f is not finite near x): report the usual step's estimate.
    h = scale * _EPS ** (1 / 3)
    return Estimate(difference(f, values, arg, h)[0], h, math.nan)


def _ridders(f: FloatFunction, values: Sequence[float], arg: int, start: float,
             levels: int, noise: float) -> Estimate | None:
    """Ridders' table from ``start``: the entry with the smallest error estimate, or None."""
    best, best_error = None, math.inf
    previous: list[float] = []
    h = start
    for _ in range(levels):
        try:
            d = _central(f, values, arg, h)[0]
        except ValueError:  # the step vanished next to x
            break
        if not math.isfinite(d):
            previous = []
            h /= 2.0
            continue
        row = [d]
        factor = 4.0
        for j, above in enumerate(previous):
            row.append(row[j] + (row[j] - above) / (factor - 1.0))
            factor *= 4.0
            error = max(abs(row[j + 1] - row[j]), abs(row[j + 1] - above)) + noise / h
            if error <= best_error:
                best, best_error = Estimate(row[j + 1], h, error), error
        if previous and abs(row[-1] - previous[-1]) >= 2.0 * best_error:
            break
        previous = row
        h /= 2.0
    return best


def _richardson(f: FloatFunction, values: Sequence[float], arg: int, starts: Sequence[float],
                levels: int, noise: float | None) -> Estimate:
    if noise is None:
        noise = _EPS * abs(f(*values))
    found = [e for e in (_ridders(f, values, arg, start, levels, noise) for start in starts) if e]
    if not found:
        return Estimate(_central(f, values, arg, starts[0])[0], starts[0], math.nan)
    return min(found, key=lambda e: e.error if e.error is not None else math.inf)


def _starts(step: float, x: float) -> list[float]:
    cap = 0.1 * max(1.0, abs(x))
    return [min(step * factor, cap) for factor in (100.0, 10.0, 1.0)]


def richardson(f: FloatFunction, *values: float, arg: int = 0, epsilon: float | None = None,
               levels: int = 10, noise: float | None = None) -> Estimate:
    """Richardson extrapolation of central differences (Ridders' method), with its error.

    Central differences at steps ε, ε/2, ε/4, ... are extrapolated to step 0 in
    a triangular table; each entry's error estimate is the larger of its change
    from the entry to its left and from the one above, and the entry with the
    smallest wins, after adding the rounding error of a difference at its step
    (``noise`` as in :func:`estimate`).  The table stops when the diagonal's
    change grows to twice the best error so far (rounding has taken over), and
    restarts below a step whose value is not finite.  Without ``epsilon`` the table starts at 100, 10
    and 1 times the central difference's chosen step (at most 0.1*max(1, |x|)),
    and the start with the smallest error wins: a large start is accurate where
    f is smooth far around x, a small one where a kink or a singularity is near.
    """
    return _estimate(f, values, arg, "richardson", epsilon, levels=levels, noise=noise)


def estimate(f: FloatFunction, *values: float, arg: int = 0, method: Method = "central",
             epsilon: float | None = None, noise: float | None = None) -> Estimate:
    """The numeric partial derivative in argument ``arg`` by ``method``.

    Without ``epsilon`` the step is chosen from an error estimate (module
    docstring), in which ``noise`` bounds the rounding error of one evaluation
    of f near the point (default: one unit in the last place of f(x); see
    :func:`rounding_error`).
    """
    return _estimate(f, values, arg, method, epsilon, noise=noise)


def _estimate(f: FloatFunction, values: Sequence[float], arg: int, method: Method,
              epsilon: float | None, central: Estimate | None = None,
              levels: int = 10, noise: float | None = None) -> Estimate:
    """:func:`estimate`, reusing the central difference's ladder when it is at hand."""
    if epsilon is not None:
        if method == "richardson":
            return _richardson(f, values, arg, [epsilon], levels, noise)
        difference = _forward if method == "forward" else _central
        return Estimate(difference(f, values, arg, epsilon)[0], epsilon)
    if method == "forward":
        return _ladder(_forward, f, values, arg, noise)
    central = central or _ladder(_central, f, values, arg, noise)
    if method == "central":
        return central
    return _richardson(f, values, arg, _starts(central.step, values[arg]), levels, noise)
