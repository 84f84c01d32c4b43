"""The Hessian matrix at a point, by reverse over reverse, and what its eigenvalues say.

A first backward pass runs over the Scalar graph with adjoints that are
themselves Scalars (:func:`autodiff_cli.scalar.gradients` with
``create_graph``, the same sweep as ``backward()``): the registry's
partial-derivative rules are evaluated in the Scalar algebra, so the gradient
comes out as graph nodes that remember how they were computed.  An ordinary
``backward()`` from each gradient component then gives one row of the Hessian.
Every derivative is exact to float64 rounding: no finite differences, and no
derivative written anywhere but in the registry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Union

from ..errors import LimitError, option
from ..expr import Program
from .graph import build_graph, first_nonfinite
from .scalar import Scalar, gradients

Adjoint = Union[Scalar, float]

ZERO_EIGENVALUE = 100.0
"""An eigenvalue within ``ZERO_EIGENVALUE * n * eps * max|eigenvalue|`` of zero counts as zero.

Rounding in the Hessian's entries moves its eigenvalues by about ``eps`` times
the largest; the margin keeps a singular matrix from passing as definite.
"""

CRITICAL_GRADIENT = 1e-8
"""The point counts as critical when every ``|df/dx_i| <= CRITICAL_GRADIENT * max(1, |f|)``."""


@dataclass(frozen=True, slots=True)
class HessianResult:
    """A program's value, gradient and Hessian at a point, and the Hessian's eigenvalues."""

    expression: str
    point: dict[str, float]
    value: float
    gradient: dict[str, float]
    variables: tuple[str, ...]
    """The rows and columns of ``matrix``, in order of first appearance."""
    matrix: tuple[tuple[float, ...], ...]
    """``matrix[i][j]`` is d²f/(dx_i dx_j)."""
    eigenvalues: tuple[float, ...] | None
    """Ascending; None when the matrix has an inf or nan entry."""
    definiteness: str
    """positive definite, negative definite, indefinite, semidefinite (singular), or undefined."""
    critical: bool
    """Whether the gradient vanishes here (within :data:`CRITICAL_GRADIENT`)."""
    classification: str
    """What the point is: local minimum, local maximum, saddle point, or why that cannot be said."""
    nonfinite: str | None = None
    """Where the first inf or nan of the value or gradient came from, when there is one."""


def hessian_rows(gradient: Sequence[Adjoint], leaves: Sequence[Scalar]) -> list[list[float]]:
    """One backward pass per gradient component: the rows of the Hessian."""
    rows: list[list[float]] = []
    for component in gradient:
        if isinstance(component, Scalar) and component.requires_grad:
            for leaf in leaves:
                leaf.grad = None
            component.backward()
            rows.append([0.0 if leaf.grad is None else leaf.grad for leaf in leaves])
        else:  # a component that depends on no variable: its row is zero
            rows.append([0.0] * len(leaves))
    return rows


def classify(eigenvalues: Sequence[float]) -> str:
    """The definiteness that the eigenvalues of a symmetric matrix show."""
    if not eigenvalues:
        return "empty"
    largest = max(abs(v) for v in eigenvalues)
    tolerance = ZERO_EIGENVALUE * len(eigenvalues) * 2.220446049250313e-16 * largest
    positive = sum(v > tolerance for v in eigenvalues)
    negative = sum(v < -tolerance for v in eigenvalues)
    if positive and negative:
        return "indefinite"
    if positive == len(eigenvalues):
        return "positive definite"
    if negative == len(eigenvalues):
        return "negative definite"
    return "semidefinite (singular)"


_MEANING = {
    "positive definite": "local minimum",
    "negative definite": "local maximum",
    "indefinite": "saddle point",
    "semidefinite (singular)": "inconclusive: higher derivatives decide",
}


def _classification(definiteness: str, critical: bool, finite: bool = True) -> str:
    if not finite:
        return "inconclusive: the value or the gradient is not finite"
    if definiteness == "undefined":
        return "inconclusive: the Hessian has non-finite entries"
    if definiteness == "empty":
        return "inconclusive: no variables"
    if not critical:
        return "not a critical point: the gradient is not zero"
    return _MEANING[definiteness]


def classification(definiteness: str, critical: bool) -> str:
    """What a point is, from its Hessian's definiteness and whether the gradient vanishes
    there: the words of the ``hessian`` command (and of ``minimize``'s summary)."""
    return _classification(definiteness, critical)


def eigenvalues_of(matrix: Sequence[Sequence[float]]) -> tuple[float, ...]:
    """Ascending eigenvalues of the symmetric part of ``matrix`` (numpy's eigvalsh)."""
    import numpy as np  # imported here: start-up of the other commands stays fast

    array = np.array(matrix, dtype=np.float64).reshape(len(matrix), len(matrix))
    symmetric = array / 2.0 + array.T / 2.0  # the two reverse passes round differently
    # Scaled by a power of two into [0.5, 1) and back (exact): entries near 1e308 would
    # overflow inside the eigensolver (x·y·1e308 gave nan eigenvalues).
    exponent = math.frexp(float(np.max(np.abs(symmetric))))[1] if symmetric.size else 0
    with np.errstate(over="ignore"):  # an eigenvalue past float64's range is inf
        values = np.ldexp(np.linalg.eigvalsh(np.ldexp(symmetric, -exponent)), exponent)
    return tuple(float(v) for v in values)


MAX_HESSIAN_VARIABLES = 2_000
"""The most variables a Hessian is formed over (its n² entries: 2,000 make 4,000,000)."""


def hessian_at(program: Program, point: Mapping[str, float],
               wrt: Sequence[str] | None = None) -> HessianResult:
    """The Hessian of ``program`` at ``point`` with respect to ``wrt`` (default: all variables).

    Raises:
        LimitError: more than :data:`MAX_HESSIAN_VARIABLES` variables.
    """
    names = tuple(program.variables if wrt is None else wrt)
    if len(names) > MAX_HESSIAN_VARIABLES:
        raise LimitError(
            f"the Hessian over {len(names):,} variables has {len(names) ** 2:,} entries; at most "
            f"{MAX_HESSIAN_VARIABLES:,} variables (MAX_HESSIAN_VARIABLES in autodiff_cli.engine.hessian): "
            f"choose some with {option('wrt')}")
    graph = build_graph(program, point, names)
    leaves = [graph.leaves[name] for name in names]
    components: list[Adjoint] = gradients(graph.output, leaves, create_graph=True)
    gradient = [float(g) for g in components]
    for leaf, g in zip(leaves, gradient):
        leaf.grad = g  # as after backward(), for the diagnosis of non-finite values
    nonfinite = first_nonfinite(graph)
    matrix = tuple(tuple(row) for row in hessian_rows(components, leaves))
    eigenvalues: tuple[float, ...] | None = None
    if all(math.isfinite(v) for row in matrix for v in row):
        eigenvalues = eigenvalues_of(matrix) if names else ()
    definiteness = "undefined" if eigenvalues is None else classify(eigenvalues)
    value = graph.output.data
    critical = math.isfinite(value) and all(
        math.isfinite(g) and abs(g) <= CRITICAL_GRADIENT * max(1.0, abs(value)) for g in gradient)
    return HessianResult(
        expression=program.source,
        point=dict(point),
        value=value,
        gradient=dict(zip(names, gradient)),
        variables=names,
        matrix=matrix,
        eigenvalues=eigenvalues,
        definiteness=definiteness,
        critical=critical,
        classification=_classification(definiteness, critical,
                                       math.isfinite(value) and all(math.isfinite(g) for g in gradient)),
        nonfinite=nonfinite,
    )
