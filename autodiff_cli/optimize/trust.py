"""Trust-region subproblems: the step that minimizes the quadratic model within a radius.

The model of f near x is m(p) = g·p + ½·pᵀHp.  Two solvers:

- :func:`exact_step` (Moré and Sorensen, 1983): the global minimizer of m over ‖p‖ ≤ Δ,
  from the eigendecomposition H = QΛQᵀ.  Either the Newton step -H⁻¹g when H is positive
  definite and the step fits; or p(σ) = -(H + σI)⁻¹g on the boundary, with σ ≥ max(0, -λ_min)
  found by Newton's method on 1/‖p(σ)‖ - 1/Δ; or, in the "hard case" where g has no
  component along the lowest eigenvector and λ_min < 0, p(-λ_min) plus a move along that
  eigenvector out to the boundary.  So an indefinite or singular Hessian is used, not
  repaired: negative curvature is a direction to follow, and a saddle point is left even
  when the gradient there is zero in the directions that lead down.
- :func:`steihaug_step` (Steihaug and Toint): conjugate gradients on Hp = -g that needs only
  products H·v, stopped at the boundary, at negative curvature (then followed to the
  boundary) or when the residual is small enough: Newton-CG for many variables.

Both work in the numbers NumPy gives; the matrices are small (Newton) or never formed (CG).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BOUNDARY_TOLERANCE = 1e-10
"""A boundary step's length is the radius to this relative tolerance (the root of the secular
equation is found by Newton's method, which converges from the left in a few steps)."""

EIGEN_TOLERANCE = 1e-12
"""Eigenvalues within this fraction of the largest of λ_min count as λ_min (the hard case
looks at all of them)."""


@dataclass(frozen=True, slots=True)
class Step:
    """A trust-region step and what the model says of it."""

    p: Any
    """The step (a NumPy vector)."""
    hp: Any
    """H·p, so that a shortened step's model value is known: m(αp) = α·g·p + ½α²·p·Hp."""
    predicted: float
    """m(p) = g·p + ½·pᵀHp: the model's change of f (negative: a decrease)."""
    boundary: bool
    """Whether the step reaches the trust region's boundary."""
    negative_curvature: bool
    """Whether the step follows a direction of negative (or zero) curvature: the model is
    unbounded below along it, so only the radius limits the step."""
    products: int = 0
    """Hessian-vector products used (CG)."""


def model(g: Any, hp: Any, p: Any) -> float:
    """m(p) = g·p + ½·p·(Hp), from the product Hp."""
    return float(g @ p + 0.5 * (p @ hp))


def exact_step(g: Any, eigenvalues: Any, vectors: Any, radius: float) -> Step:
    """The minimizer of m over ‖p‖ ≤ radius, given H's eigendecomposition (ascending
    ``eigenvalues``, ``vectors`` in columns, as numpy.linalg.eigh returns them)."""
    import numpy as np

    lam = np.asarray(eigenvalues, dtype=np.float64)
    gt = vectors.T @ g
    scale = max(float(np.max(np.abs(lam))), 1e-300) if lam.size else 1.0
    lowest = float(lam[0])
    tiny = EIGEN_TOLERANCE * scale

    def along(sigma: float) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return -gt / (lam + sigma)

    def step_of(coefficients: Any, boundary: bool) -> Step:
        p = vectors @ coefficients
        curvature = float(np.sum(lam * coefficients * coefficients))
        predicted = float(gt @ coefficients + 0.5 * curvature)
        negative = curvature <= 0.0 and bool(np.any(coefficients != 0.0))
        return Step(p, vectors @ (lam * coefficients), predicted, boundary, negative)

    if lowest > 0.0:  # positive definite (however badly conditioned): the Newton step, if it fits
        newton = along(0.0)
        if float(np.linalg.norm(newton)) <= radius:
            return step_of(newton, False)
    low = max(0.0, -lowest)
    # σ just above the lowest eigenvalue: ‖p(σ)‖ → ∞ unless g has no component along its
    # eigenvectors (the hard case).
    cluster = lam <= lowest + tiny
    gnorm = float(np.linalg.norm(gt))
    if lowest <= tiny and np.all(np.abs(gt[cluster]) <= 1e-12 * max(gnorm, 1e-300)):
        rest = np.where(cluster, 0.0, along(low))
        rest_norm = float(np.linalg.norm(rest))
        if rest_norm <= radius:
            if lowest >= -tiny:
                # Singular and positive semidefinite: any move along the null space leaves the
                # model unchanged; the shortest minimizer is the one to take.
                return step_of(rest, False)
            # The hard case: out to the boundary along the lowest eigenvector, the way that
            # does not climb (g has no component along it, so either way; take the first).
            tau = math.sqrt(max(radius * radius - rest_norm * rest_norm, 0.0))
            first = int(np.argmax(cluster))
            rest[first] += tau
            return step_of(rest, True)
    sigma = _boundary_sigma(gt, lam, radius, low)
    coefficients = along(sigma)
    norm = float(np.linalg.norm(coefficients))
    if norm > radius > 0.0:  # rounding in the root: land on the boundary exactly
        coefficients = coefficients * (radius / norm)
    return step_of(coefficients, True)


def _boundary_sigma(gt: Any, lam: Any, radius: float, low: float) -> float:
    """σ > low with ‖p(σ)‖ = radius, by Newton's method on φ(σ) = 1/radius - 1/‖p(σ)‖
    (nearly linear in σ), safeguarded by bisection on a bracket."""
    import numpy as np

    def norms(sigma: float) -> tuple[float, float]:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            shifted = lam + sigma
            p2 = float(np.sum((gt / shifted) ** 2))
            q2 = float(np.sum(gt * gt / shifted ** 3))  # -½ d‖p‖²/dσ
        return p2, q2

    gnorm = float(np.linalg.norm(gt))
    high = gnorm / radius + max(0.0, -low) + float(np.max(np.abs(lam))) + 1.0
    lower = low
    sigma = low + max(1e-12 * (1.0 + low), 1e-300)
    p2, _ = norms(sigma)
    if not p2 > radius * radius:  # very close to the hard case: start from the middle
        sigma = 0.5 * (lower + high)
    for _ in range(100):
        p2, q2 = norms(sigma)
        pnorm = math.sqrt(p2) if math.isfinite(p2) else math.inf
        if math.isfinite(pnorm) and abs(pnorm - radius) <= BOUNDARY_TOLERANCE * radius:
            return sigma
        if pnorm > radius:
            lower = sigma
        else:
            high = sigma
        step = (pnorm / radius - 1.0) * p2 / q2 if math.isfinite(pnorm) and q2 > 0 else math.nan
        candidate = sigma + step
        if not (math.isfinite(candidate) and lower < candidate < high):
            candidate = 0.5 * (lower + high)
        if candidate == sigma or high - lower <= 1e-15 * high:  # as close as float64 gets
            return sigma
        sigma = candidate
    return sigma


def steihaug_step(g: Any, product: Callable[[Any], Any], radius: float, tolerance: float,
                  max_products: int) -> Step:
    """Conjugate gradients on H·p = -g within the radius (Steihaug–Toint), from p = 0."""
    import numpy as np

    p = np.zeros_like(g)
    r = g.copy()  # the residual H·p + g
    d = -r
    rr = float(r @ r)
    hp = np.zeros_like(g)  # H·p, kept to evaluate the model
    products = 0
    if math.sqrt(rr) <= tolerance:
        return Step(p, hp, 0.0, False, False, products)
    while products < max_products:
        hd = product(d)
        products += 1
        curvature = float(d @ hd)
        if not math.isfinite(curvature) or curvature <= 0.0:
            # Negative (or zero) curvature: follow d to the boundary.
            tau = _to_boundary(p, d, radius)
            p_new, hp = p + tau * d, hp + tau * hd
            negative = math.isfinite(curvature)
            return Step(p_new, hp, model(g, hp, p_new), True, negative, products)
        alpha = rr / curvature
        p_next = p + alpha * d
        if float(np.linalg.norm(p_next)) >= radius:
            tau = _to_boundary(p, d, radius)
            p_new, hp = p + tau * d, hp + tau * hd
            return Step(p_new, hp, model(g, hp, p_new), True, False, products)
        p, hp = p_next, hp + alpha * hd
        r = r + alpha * hd
        rr_next = float(r @ r)
        if math.sqrt(rr_next) <= tolerance:
            break
        d = -r + (rr_next / rr) * d
        rr = rr_next
    return Step(p, hp, model(g, hp, p), False, False, products)


def _to_boundary(p: Any, d: Any, radius: float) -> float:
    """τ ≥ 0 with ‖p + τ·d‖ = radius (p inside the region)."""
    dd, pd, pp = float(d @ d), float(p @ d), float(p @ p)
    if dd == 0.0:
        return 0.0
    root = math.sqrt(max(pd * pd + dd * (radius * radius - pp), 0.0))
    # the positive root of dd·τ² + 2·pd·τ + (pp - radius²) = 0, without cancellation
    return (radius * radius - pp) / (pd + root) if pd > 0.0 else (root - pd) / dd
