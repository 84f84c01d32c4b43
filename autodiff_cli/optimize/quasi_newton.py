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
from collections import deque
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

from .search import norm

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
        slope = float(g @ d)
        if not slope < 0.0:  # rounding has spoilt the approximation: start it again
            inverse, first = None, True
            pairs.clear()
            _, d, _ = s.free_step(functools.partial(_quasi_newton_step, g, None, None))
            slope = float(g @ d)
            if not slope < 0.0:
                return s.no_progress(None)
        # The first step is as long as the gradient is steep (its length is 1 at most);
        # after it, the quasi-Newton step's natural length, 1.
        alpha0 = min(1.0, 1.0 / norm(d)) if first else 1.0
        search = s.line_search(d, slope, alpha0)
        if not search.accepted and search.status != "unbounded":
            return s.no_progress(None)
        if search.extra is None:
            return "unbounded"
        x_new, g_new = search.extra
        x_old, f_old, g_old = s.x, s.f, s.g
        s.moved(x_new, search.value, g_new, norm(x_new - x_old), search.alpha)
        yield
        if search.status == "unbounded":
            return "unbounded"
        step, y = x_new - x_old, g_new - g_old
        sy = float(step @ y)
        # Skip an update that would lose positive definiteness (only possible after a
        # step cut short at a bound, where the curvature condition is not enforced).
        if sy > 1e-10 * norm(step) * norm(y):
            if limited:
                pairs.append((step, y, 1.0 / sy))
            else:
                if inverse is None:
                    # The identity, as scipy's BFGS starts.  Scaling it by s·y/y·y after
                    # the first step (Nocedal & Wright, 6.20) shrinks every direction that
                    # step did not see: on Meyer's function the run then stalls far from
                    # the minimum (benchmarks/bench_minimize.py).
                    inverse = np.eye(n)
                rho = 1.0 / sy
                hy = inverse @ y
                inverse = (inverse - rho * (np.outer(hy, step) + np.outer(step, hy))
                           + (rho * rho * float(y @ hy) + rho) * np.outer(step, step))
            first = False
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
        sy = float(sf @ yf)
        if sy > 1e-10 * norm(sf) * norm(yf):
            kept.append((sf, yf, 1.0 / sy))
    alphas = []
    for s, y, rho in reversed(kept):
        a = rho * float(s @ q)
        alphas.append(a)
        q = q - a * y
    if kept:
        s, y, rho = kept[-1]
        q = q * (1.0 / (rho * float(y @ y)))  # γ = s·y / y·y
    for (s, y, rho), a in zip(kept, reversed(alphas)):
        b = rho * float(y @ q)
        q = q + (a - b) * s
    return q
