"""The quasi-Newton methods, as a generator over a :class:`autodiff_cli.optimize.search.Search`.

- ``bfgs``: the BFGS update of an inverse Hessian approximation, with a line search that
  satisfies the strong Wolfe conditions (:mod:`autodiff_cli.optimize.linesearch`), so that
  every update keeps the approximation positive definite.
- ``lbfgs``: the same with the last ``history`` steps instead of a matrix (Nocedal's
  two-loop recursion): memory and time per step linear in n.

Both need only f and its gradient.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

from .search import norm, small_step

if TYPE_CHECKING:
    from .search import Search


def quasi_newton(s: Search) -> Generator[None, None, str]:
    import numpy as np

    config = s.config
    if not s.begin(with_hessian=False):
        return "nonfinite"
    yield
    n = len(s.free)
    limited = config.method == "lbfgs"
    inverse: Any = None  # bfgs: the inverse Hessian approximation (None: the identity)
    pairs: deque[tuple[Any, Any, float]] = deque(maxlen=config.history)  # lbfgs: (s, y, 1/s·y)
    first = True
    while True:
        if s.grad_norm() <= config.gtol:
            return "gtol"
        if s.iteration >= config.max_iter:
            return "max_iter"
        g = s.g
        memory = pairs if limited else None
        _, d, _ = s.free_step(functools.partial(_quasi_newton_step, g, inverse, memory))
        slope = _slope(g, d)
        if not slope < 0.0:  # rounding has spoilt the approximation: start it again
            inverse, first = None, True
            pairs.clear()
            _, d, _ = s.free_step(functools.partial(_quasi_newton_step, g, None, None))
            slope = _slope(g, d)
            if not slope < 0.0:
                return s.no_progress(None)
        # The first step is as long as the gradient is steep (its length is 1 at most);
        # after it, the quasi-Newton step's natural length, 1.
        natural = d  # the model's step, α = 1
        length = norm(d)
        alpha0 = min(1.0, 1.0 / length) if first else 1.0
        if not math.isfinite(slope) or not math.isfinite(length):
            # g·d overflows on a steep f (1e160·x²): search along the unit vector instead, the
            # first trial as long as before
            unit = _unit(d)
            alpha0 = min(1.0, length) if first else length
            d, slope = unit, float(g @ unit)
            if not (math.isfinite(slope) and math.isfinite(alpha0)):
                return s.no_progress(None)
        search = s.line_search(d, slope, alpha0)
        if not search.accepted and search.status != "unbounded":
            if first:
                return s.no_progress(None)
            # The approximation may be what fails (L-BFGS scaled by a pair that saw a
            # curvature 1e40 times the one left to walk makes a step too short for f's
            # rounding): start it again from the gradient before giving up.
            inverse, first = None, True
            pairs.clear()
            continue
        if search.extra is None:
            return "unbounded"
        x_new, g_new = search.extra
        x_old, f_old, g_old = s.x, s.f, s.g
        s.moved(x_new, search.value, g_new, norm(x_new - x_old), search.alpha)
        yield
        if search.status == "unbounded":
            return "unbounded"
        step, y = x_new - x_old, g_new - g_old
        sy = _curvature(step, y)
        # Skip an update that would lose positive definiteness (after a step cut short at a
        # bound, or one that satisfies sufficient decrease only, where the curvature
        # condition does not hold) or whose 1/s·y is not a number.
        if sy is not None:
            if limited:
                pairs.append((step, y, 1.0 / sy))
            else:
                if inverse is None:
                    # The identity, as scipy's BFGS starts.  Scaling it by s·y/y·y after
                    # the first step (Nocedal & Wright, 6.20) shrinks every direction that
                    # step did not see: on Meyer's function the run then stalls far from
                    # the minimum (benchmarks/bench_minimize.py).
                    inverse = np.eye(n)
                # The product form (I - ρsyᵀ)·H·(I - ρysᵀ) + ρssᵀ, as scipy computes it: the
                # expanded form subtracts terms of H's size to leave one of ρss's, and on a
                # steep f (1e40·x²) that difference is all rounding.
                # Applied as two rank-one updates, V·H then (V·H)·Vᵀ with V = I - ρsyᵀ: the same
                # factors in O(n²), not two O(n³) matrix products per iteration.
                rho = 1.0 / sy
                left = inverse - np.outer(rho * step, y @ inverse)
                inverse = left - np.outer(left @ y, rho * step) + rho * np.outer(step, step)
            first = False
        if (search.status != "bound" and s.config.xtol > 0.0 and small_step(x_old, x_new, s.config.xtol)
                and not small_step(x_old, x_old + natural, s.config.xtol)):
            # The search found a lower f only a sliver along a step the model wanted long
            # (at a kink, or after a step that met sufficient decrease only): a stall, not
            # the short step of a run that has arrived.
            return s.no_progress(None)
        reason = s.converged(x_old, f_old)
        if reason is not None:
            return reason


def _quasi_newton_step(g: Any, inverse: Any, pairs: Sequence[tuple[Any, Any, float]] | None,
                       free: Any) -> tuple[Any, None]:
    """-H·g over the free variables: L-BFGS's two loops (with ``pairs``), the BFGS matrix, or
    (neither) the identity."""
    import numpy as np

    if pairs is not None:
        return -_two_loop(g, free, pairs), None
    if inverse is None:
        return -g[free], None
    return -(inverse[np.ix_(free, free)] @ g[free]), None


def _two_loop(g: Any, free: Any, pairs: Sequence[tuple[Any, Any, float]]) -> Any:
    """H·g over the free variables by L-BFGS's two-loop recursion (the pairs restricted to
    them; a pair whose restriction has lost positive curvature is left out)."""
    q = g[free].copy()
    kept = []
    for s, y, _ in pairs:
        sf, yf = s[free], y[free]
        sy = _curvature(sf, yf)
        if sy is not None:
            kept.append((sf, yf, 1.0 / sy))
    alphas = []
    for s, y, rho in reversed(kept):
        a = rho * float(s @ q)
        alphas.append(a)
        q = q - a * y
    if kept:
        s, y, rho = kept[-1]
        q = q * _gamma(s, y, rho)
    for (s, y, rho), a in zip(kept, reversed(alphas)):
        b = rho * float(y @ q)
        q = q + (a - b) * s
    return q


def _largest(v: Any) -> float:
    import numpy as np

    return float(np.max(np.abs(v))) if v.size else 0.0


def _unit(v: Any) -> Any:
    """v/‖v‖, scaled first by its largest component (‖v‖ may overflow)."""
    scaled = v / _largest(v)
    return scaled / norm(scaled)


def _slope(g: Any, d: Any) -> float:
    """g·d (inf or nan when it overflows; the caller then searches along d/‖d‖)."""
    return float(g @ d)


def _curvature(step: Any, y: Any) -> float | None:
    """s·y when the pair (s, y) can update the approximation: the angle between s and y is
    below 90° by a margin (cos > 1e-10, computed on unit vectors so that it cannot overflow),
    and s·y and 1/s·y are finite and not zero.  None otherwise: skip the update, as scipy's
    and PyTorch's L-BFGS do."""
    ls, ly = _largest(step), _largest(y)
    if not (ls > 0.0 and ly > 0.0 and math.isfinite(ls) and math.isfinite(ly)):
        return None
    if not float(_unit(step) @ _unit(y)) > 1e-10:
        return None
    sy = float(step @ y)
    if not (math.isfinite(sy) and sy > 0.0 and 0.0 < 1.0 / sy < math.inf):
        return None
    return sy


def _gamma(s: Any, y: Any, rho: float) -> float:
    """γ = s·y / y·y = 1/(ρ·y·y), L-BFGS's scale of the initial matrix; where y·y overflows or
    underflows to 0 (y large or tiny), computed with y divided by its largest component; 1
    where even that is not a positive number."""
    import numpy as np

    with np.errstate(all="ignore"):
        product = rho * float(y @ y)
    if math.isfinite(product) and product > 0.0 and math.isfinite(1.0 / product):
        return 1.0 / product
    largest = _largest(y)
    scaled = y / largest
    gamma = float(s @ scaled) / float(scaled @ scaled) / largest
    return gamma if math.isfinite(gamma) and gamma > 0.0 else 1.0
