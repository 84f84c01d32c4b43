"""The trust-region Newton methods, as generators over a :class:`autodiff_cli.optimize.search.Search`.

- ``newton``: Newton's method in a trust region, the subproblem solved exactly from the
  Hessian's eigendecomposition (Moré–Sorensen).  A trust region rather than a line search
  with a modified Hessian: an indefinite or singular Hessian needs no repair (no shift to
  choose, no Cholesky that may fail), its negative curvature is a direction the step uses
  (so a saddle point is left, not converged to), and the radius, not a guess of a step
  length, decides how far the quadratic model is trusted.  The eigendecomposition costs
  O(n³) per step, nothing next to the n tangent sweeps of the Hessian for the sizes where a
  dense Hessian is the right tool.
- ``newton-cg``: a trust region whose subproblem is solved by conjugate gradients
  (Steihaug–Toint) that need only Hessian-vector products: Newton's convergence without
  forming the Hessian, for many variables.

The subproblem solvers are in :mod:`autodiff_cli.optimize.trust`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from .search import NOISE_MARGIN, finite, norm
from .trust import Step, exact_step, steihaug_step

if TYPE_CHECKING:
    from .search import Search

TRUST_SHRINK, TRUST_GROW = 0.25, 2.0
ACCEPT = 1e-4
"""A trust-region step is taken when f falls by at least this fraction of the model's
prediction."""
PROBE_AFTER = 5
"""After this many very successful trust-region steps in a row, each out to the boundary, the
run looks further along the last one with a line search: f may be unbounded below there
(and if not, the search takes the longer step the radius would have taken several
iterations to allow)."""

Subproblem = Callable[..., Step]
"""``subproblem(free, radius, exact=False)``: the model's step over the free variables (a
mask); ``exact``: as well as the solver can (CG to the end)."""


def newton(s: Search) -> Generator[None, None, str]:
    if not s.begin(with_hessian=True):
        return "nonfinite"
    g = s.projected()
    radius = _first_radius(s, g, lambda v: s.h @ v, functools.partial(_newton_length, s))
    yield
    return (yield from _trust_region(s, radius, functools.partial(_exact_subproblem, s)))


def newton_cg(s: Search) -> Generator[None, None, str]:
    if not s.begin(with_hessian=False):
        return "nonfinite"
    g = s.projected()
    radius = _first_radius(s, g, lambda v: s.objective.product(s.x, v))
    yield
    return (yield from _trust_region(s, radius, functools.partial(_cg_subproblem, s)))


def _first_radius(s: Search, g: Any, hv: Callable[[Any], Any],
                  newton_length: Callable[[], float | None] | None = None) -> float:
    """The configured radius; by default one on the problem's own scale rather than a fixed
    1: the length of the Newton step where the Hessian is positive definite
    (``newton_length()``; so a quadratic is minimized in one step), else of the Cauchy step,
    the minimizer of the model along -g, ‖g‖³/gᵀHg (``hv(v)`` is H·v; on a steep f, where
    those overflow, ‖g‖/uᵀHu with u = g/‖g‖), or ‖g‖ where the curvature along g is not
    positive."""
    radius = s.config.radius
    if radius is None:
        radius = newton_length() if newton_length is not None else None
        if radius is None:
            length = norm(g)
            curvature = float(g @ hv(g)) if length < 1e100 else math.inf
            if math.isfinite(curvature):
                radius = length ** 3 / curvature if curvature > 0.0 else length
            elif 0.0 < length < math.inf:  # ‖g‖³ or gᵀHg overflows: along u = g/‖g‖ instead
                unit = g / length
                curvature = float(unit @ hv(unit))
                radius = length / curvature if curvature > 0.0 else length
            else:
                radius = math.nan
        if not (math.isfinite(radius) and radius > 0.0):
            radius = 1.0
    s.at = s.at._replace(radius=radius)
    return radius


def _newton_length(s: Search) -> float | None:
    """‖H⁻¹g‖ over the free variables when H is positive definite there, else None."""
    import numpy as np

    free = ~s.box.binding(s.x, s.g)
    h = s.h[np.ix_(free, free)]
    eigenvalues, vectors = np.linalg.eigh((h + h.T) / 2.0)
    if not (eigenvalues.size and eigenvalues[0] > 0.0):
        return None
    return norm(vectors @ ((vectors.T @ s.g[free]) / eigenvalues))


def _steepest_step(s: Search, radius: float) -> Step:
    """The Cauchy step along the projected gradient (which never points out of the box):
    the step when the model's own step would leave the box in every variable it could move."""
    d = -s.projected()
    hd = s.h @ d if s.h is not None else s.objective.product(s.x, d)
    curvature, length = float(d @ hd), norm(d)
    tau = radius / length if length > 0.0 else 0.0
    if curvature > 0.0:
        tau = min(tau, float(d @ d) / curvature)
    return Step(tau * d, tau * hd, float(tau * (s.g @ d) + 0.5 * tau * tau * curvature),
                tau * length >= radius, curvature <= 0.0)


def _exact_subproblem(s: Search, free: Any, radius: float, exact: bool = False) -> Step:
    import numpy as np

    h = s.h[np.ix_(free, free)]
    eigenvalues, vectors = np.linalg.eigh((h + h.T) / 2.0)
    return exact_step(s.g[free], eigenvalues, vectors, radius)


def _cg_subproblem(s: Search, free: Any, radius: float, exact: bool = False) -> Step:
    """Steihaug's CG, stopped at a residual relative to ‖g‖ (superlinear near the minimum),
    or (``exact``) run to the end: 2n + 10 products at most."""
    import numpy as np

    x = s.x
    g = s.g[free]

    def product(v: Any) -> Any:
        full = np.zeros_like(x)
        full[free] = v
        return s.objective.product(x, full)[free]

    gnorm = norm(g)
    tolerance = 0.0 if exact else min(0.5, math.sqrt(gnorm)) * gnorm  # superlinear near the minimum
    products = 10 + 2 * int(free.sum()) if exact else max(10, 2 * int(free.sum()))
    largest = float(np.max(np.abs(g))) if g.size else 0.0
    if 1e-100 <= largest <= 1e100 or not math.isfinite(largest) or largest == 0.0:
        return steihaug_step(g, product, radius, tolerance, max_products=products)
    # CG is homogeneous in g: solve for g·c (c a power of 2, exact) so that r·r cannot
    # overflow (g of 1e200) or underflow, and scale the step back.
    c = math.ldexp(1.0, -math.frexp(largest)[1])
    step = steihaug_step(g * c, product, radius * c, tolerance * c, max_products=products)
    return Step(step.p / c, step.hp / c, step.predicted / c / c, step.boundary, step.negative_curvature,
                step.products)


def _solved(subproblem: Subproblem, radius: float, free: Any) -> tuple[Any, Step]:
    step = subproblem(free, radius)
    return step.p, step


def _trust_region(s: Search, radius: float, subproblem: Subproblem) -> Generator[None, None, str]:
    """The trust-region loop around a subproblem solver."""
    config, box, objective = s.config, s.box, s.objective
    dense = config.method == "newton"
    very_good_in_a_row = 0
    refused = 0.0  # the decrease the first of the latest run of rejected steps promised
    while True:
        if s.grad_norm() <= config.gtol:
            return "gtol"
        if s.iteration >= config.max_iter:
            return "max_iter"
        free, p, step = s.free_step(functools.partial(_solved, subproblem, radius))
        if not dense and step is not None and -step.predicted <= NOISE_MARGIN * s.noise():
            # CG stops when its residual is small next to ‖g‖; on a badly scaled f
            # (1e100·x² + y²) the components that make ‖g‖ can promise nothing while the
            # others still promise much: solve to the end before believing the promise.
            free, p, step = s.free_step(functools.partial(_solved, functools.partial(subproblem, exact=True),
                                                          radius))
        if step is None or not step.predicted < 0.0:
            # The model's step would leave the box in every variable that could move, or the
            # variables it leaves free offer no decrease: along the projected gradient instead.
            free, step = _free_all(s), _steepest_step(s, radius)
            p = step.p
        # A step that would cross a bound is cut short at it; the model tells what the
        # shorter step should gain.
        alpha_max = box.max_step(s.x, p)
        alpha = min(1.0, alpha_max)
        predicted = step.predicted if alpha == 1.0 else float(
            alpha * (s.g @ p) + 0.5 * alpha * alpha * (p[free] @ step.hp))
        length = alpha * norm(p)
        if not predicted < 0.0:  # the model has no decrease to offer
            return s.no_progress(0.0)
        x_new = box.step(s.x, p, alpha, alpha_max)
        f_new = objective.value(x_new)
        rho = (f_new - s.f) / predicted if math.isfinite(f_new) else -math.inf
        if rho >= ACCEPT:
            if dense:
                f_new, g_new, h_new = objective.hessian(x_new, new_point=False)
                good = math.isfinite(f_new) and finite(g_new, h_new)
            else:
                g_new = objective.value_and_grad(x_new)[1]
                objective.counts["function"] -= 1  # f at x_new is counted already
                h_new, good = None, finite(g_new)
            if not good:  # f is finite there, its derivatives are not: as if f were not
                rho = -math.inf
        if rho < ACCEPT:
            unseen = s.tiny(length) or -predicted <= NOISE_MARGIN * s.noise()
            if unseen and step.boundary and alpha == 1.0 and not refused:
                # A step too short for f (or x) to show what it gains, cut short by the region
                # alone, and no longer step refused since the last one taken: the region is
                # too small to judge the model by (--radius 1e-20), not the model bad.  A
                # larger one, by as much as the promise falls short of f's rounding.
                shortfall = NOISE_MARGIN * s.noise() / max(-predicted, 1e-300)
                radius = length * min(max(TRUST_GROW, 10.0 * shortfall), 1e6)
                s.moved(s.x, s.f, s.g, 0.0, radius, s.h)
                yield
                continue
            # rejected: a smaller region
            refused = refused or -predicted
            radius = TRUST_SHRINK * length
            very_good_in_a_row = 0
            s.moved(s.x, s.f, s.g, 0.0, radius, s.h)
            yield
            # A decrease too small to see in f's rounding: smaller steps promise less.
            if s.tiny(radius) or -predicted <= NOISE_MARGIN * s.noise():
                return s.no_progress(refused)
            continue
        refused = 0.0
        x_old, f_old = s.x, s.f
        on_boundary = step.boundary and alpha == 1.0
        if rho < 0.25:
            radius = TRUST_SHRINK * length
        elif rho > 0.75 and on_boundary:
            radius = TRUST_GROW * radius
        s.moved(x_new, f_new, g_new, norm(x_new - x_old), radius, h_new)
        yield  # (past -LIMIT the run stops here: Search.progress's test, shared by the methods)
        # f follows the model out to the boundary step after step: look further along the
        # last step at once (where f is unbounded below, doubling the radius would take
        # a thousand steps to show it).
        if rho <= 0.9:
            very_good_in_a_row = 0
        elif on_boundary:  # (a very good step inside the region neither counts nor resets)
            very_good_in_a_row += 1
        if very_good_in_a_row >= PROBE_AFTER:
            very_good_in_a_row = 0
            if _probe(s, x_new - x_old):
                return "unbounded"
            if dense and s.x is not x_new:
                h_new = objective.hessian(s.x, new_point=False)[2]
                objective.counts["gradient"] -= 1  # the search has the gradient there
                s.at = s.at._replace(h=h_new)
            radius = max(radius, norm(s.x - x_new))
        reason = s.converged(x_old, f_old, limited=on_boundary or alpha < 1.0)
        if reason is not None:
            return reason


def _free_all(s: Search) -> Any:
    import numpy as np

    return np.ones(len(s.free), dtype=bool)


def _probe(s: Search, direction: Any) -> bool:
    """A line search along ``direction`` from the current point: True if f keeps falling
    along it (unbounded below, it seems); otherwise the run moves to the step the search
    accepts, if any."""
    slope = float(s.g @ direction)
    if not slope < 0.0:
        return False
    search = s.line_search(direction, slope, 1.0)
    if search.extra is not None and (search.accepted or search.status == "unbounded"):
        x, g = search.extra
        s.moved(x, search.value, g, norm(x - s.x), s.at.radius, s.h)
    return search.status == "unbounded"
