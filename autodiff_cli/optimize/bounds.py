"""Simple bounds, lower ≤ x_i ≤ upper, and the active set of a box.

A bound is given as text ``NAME=LO:HI`` (each end a constant expression, or ``inf``,
``-inf``) or, from Python, as a pair of numbers.  The methods of
:mod:`autodiff_cli.optimize.minimize` keep every iterate inside the box with an active-set
strategy, as L-BFGS-B does in spirit: a variable at a bound whose gradient pushes it out
is held there (it is *binding*), the step is computed in the other variables, and a step
that would cross a bound is shortened to land on it exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Union

from ..errors import ValueInputError, VariableError, option
from ..language.inputs import check_names
from ..language.parser import parse_constant

BoundSpec = Union[str, tuple[float, float], Sequence[float]]
"""How a caller gives one variable's bounds: ``"0:inf"``, or ``(0.0, math.inf)``."""

_INFINITE = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "infinity": math.inf,
             "+infinity": math.inf, "-infinity": -math.inf, "∞": math.inf, "-∞": -math.inf}


def _end(text: str, what: str) -> float:
    word = text.strip().lower()
    if word in _INFINITE:
        return _INFINITE[word]
    return parse_constant(text, what)


def parse_interval(name: str, text: str) -> tuple[float, float]:
    """``LO:HI`` for variable ``name``."""
    low_text, colon, high_text = text.partition(":")
    given = f"{option('bounds')} {name}={text}"
    if not colon or ":" in high_text or not low_text.strip() or not high_text.strip():
        raise ValueInputError(f"{given}: write the bounds as NAME=LO:HI, e.g. {name}=0:inf")
    low = _end(low_text, f"{given} (the low end)")
    return _checked(name, low, _end(high_text, f"{given} (the high end)"))


def parse_bound(text: str) -> tuple[str, float, float]:
    """``NAME=LO:HI``: the variable and its interval."""
    name, eq, interval = text.partition("=")
    if not eq or not name.strip():
        raise ValueInputError(f"{option('bounds')} {text}: write the bounds as NAME=LO:HI, e.g. x=0:inf")
    low, high = parse_interval(name.strip(), interval.strip())
    return name.strip(), low, high


def _checked(name: str, low: float, high: float) -> tuple[float, float]:
    if math.isnan(low) or math.isnan(high):
        raise ValueInputError(f"{option('bounds')}: the bounds of {name} are not numbers ({low}:{high})")
    if low > high:
        raise ValueInputError(f"{option('bounds')}: the bounds of {name} are empty: "
                              f"its low end {low!r} is above its high end {high!r}")
    if low == math.inf or high == -math.inf:
        raise ValueInputError(f"{option('bounds')}: the bounds of {name} leave no finite value "
                              f"({low}:{high})")
    return low, high


def _pair(name: str, spec: object) -> tuple[float, float]:
    """A (low, high) pair from Python: two numbers, or two texts each a constant expression
    or ±inf (as in ``"LO:HI"``)."""
    given = f"{option('bounds')} {name}={spec!r}"
    if not isinstance(spec, Sequence) or len(spec) != 2:
        raise ValueInputError(f"{given}: give the bounds as a pair (low, high) or as 'LO:HI', "
                              f"e.g. (0, math.inf) or '0:inf'")
    ends = []
    for end, which in zip(spec, ("low", "high")):
        if isinstance(end, str):
            ends.append(_end(end, f"{given} (the {which} end)"))
        elif isinstance(end, (int, float)) and not isinstance(end, bool):
            ends.append(float(end))
        else:
            raise ValueInputError(f"{given}: the {which} end is not a number")
    return ends[0], ends[1]


def parse_bounds(given: Mapping[str, BoundSpec] | Iterable[str] | None) -> dict[str, tuple[float, float]]:
    """Each bounded name's (low, high), from texts ``NAME=LO:HI`` or a mapping from names to
    ``"LO:HI"`` or pairs: every end a constant expression, ``inf`` or ``-inf`` (an end left
    empty is a mistake, not a silent infinity; a comma cannot separate items, since an end
    such as ``hypot(3, 4)`` may hold one), low ≤ high (equal ends hold a variable fixed)."""
    pairs: list[tuple[str, float, float]] = []
    if isinstance(given, Mapping):
        for name, spec in given.items():
            if isinstance(spec, str):
                pairs.append((name, *parse_interval(name, spec)))
            else:
                pairs.append((name, *_checked(name, *_pair(name, spec))))
    else:
        pairs = [parse_bound(text) for text in given or ()]
    found: dict[str, tuple[float, float]] = {}
    for name, low, high in pairs:
        if name in found:
            raise VariableError(f"{option('bounds')}: {name} is given bounds twice")
        found[name] = (low, high)
    return found


def resolve_bounds(given: Mapping[str, BoundSpec] | Iterable[str] | None, variables: Sequence[str],
                   fixed: Iterable[str] = ()) -> dict[str, tuple[float, float]]:
    """:func:`parse_bounds`, in the program's variable order, checked against the program's
    variables and the fixed ones."""
    found = parse_bounds(given)
    check_names(found, variables, "bounded")
    held = set(fixed) & set(found)
    if held:
        raise VariableError(f"{option('bounds')}: {', '.join(sorted(held))} is fixed; a fixed variable "
                            "takes no bounds")
    return {name: found[name] for name in variables if name in found}


class Box:
    """The bounds of the free variables as NumPy vectors, and the active-set operations."""

    def __init__(self, names: Sequence[str], bounds: Mapping[str, tuple[float, float]]) -> None:
        import numpy as np

        self.names = tuple(names)
        self.lower = np.array([bounds.get(n, (-math.inf, math.inf))[0] for n in names], dtype=np.float64)
        self.upper = np.array([bounds.get(n, (-math.inf, math.inf))[1] for n in names], dtype=np.float64)
        self.bounded = bool(np.any(np.isfinite(self.lower)) or np.any(np.isfinite(self.upper)))

    def clip(self, x: Any) -> Any:
        import numpy as np

        return np.minimum(np.maximum(x, self.lower), self.upper) if self.bounded else x

    def start(self, x: Any) -> tuple[Any, list[str]]:
        """A start in the box: outside it, on its edge, with a note for each variable moved."""
        clipped = self.clip(x)
        # (a start of nan stays nan, which is no move: the run stops as 'nonfinite' and says
        # where the nan came from)
        notes = [f"{name} starts at {after!r}, its bound, not at {before!r}"
                 for name, before, after in zip(self.names, x.tolist(), clipped.tolist())
                 if before != after and not (math.isnan(before) and math.isnan(after))]
        return clipped, notes

    def binding(self, x: Any, g: Any) -> Any:
        """Variables at a bound whose gradient points out of the box: held there."""
        return ((x <= self.lower) & (g > 0.0)) | ((x >= self.upper) & (g < 0.0))

    def outward(self, x: Any, p: Any) -> Any:
        """Variables at a bound that the step ``p`` would push out of the box."""
        return ((x <= self.lower) & (p < 0.0)) | ((x >= self.upper) & (p > 0.0))

    def projected_gradient(self, x: Any, g: Any) -> Any:
        """The gradient with the binding variables' components zero: what must vanish at a
        minimum on the box (first-order conditions)."""
        import numpy as np

        return np.where(self.binding(x, g), 0.0, g) if self.bounded else g

    def max_step(self, x: Any, p: Any) -> float:
        """The largest α with x + α·p in the box (inf when no bound is in the way)."""
        import numpy as np

        if not self.bounded:
            return math.inf
        with np.errstate(all="ignore"):
            to_upper = np.where(p > 0.0, (self.upper - x) / p, math.inf)
            to_lower = np.where(p < 0.0, (self.lower - x) / p, math.inf)
        return max(0.0, float(min(np.min(to_upper), np.min(to_lower))))

    def step(self, x: Any, p: Any, alpha: float, alpha_max: float) -> Any:
        """x + α·p, in the box; at α = alpha_max the variables that reach a bound there are set
        to it exactly (rounding must neither cross it nor stop just short)."""
        import numpy as np

        moved = x + alpha * p
        if not self.bounded:
            return moved
        if alpha >= alpha_max:
            with np.errstate(all="ignore"):
                hits_upper = (p > 0.0) & ((self.upper - x) / p <= alpha_max * (1.0 + 1e-12))
                hits_lower = (p < 0.0) & ((self.lower - x) / p <= alpha_max * (1.0 + 1e-12))
            moved = np.where(hits_upper, self.upper, np.where(hits_lower, self.lower, moved))
        return self.clip(moved)

    def active(self, x: Any) -> dict[str, str]:
        """The variables at a finite bound: ``lower`` or ``upper`` (``fixed`` when the two
        are equal)."""
        found: dict[str, str] = {}
        for name, value, low, high in zip(self.names, x.tolist(), self.lower.tolist(), self.upper.tolist()):
            if low == high and value == low:
                found[name] = "fixed"
            elif value <= low and math.isfinite(low):  # (a start of -inf meets no bound)
                found[name] = "lower"
            elif value >= high and math.isfinite(high):
                found[name] = "upper"
        return found


COPOSITIVE_LIMIT = 12
"""The second-order test on a box looks at every subset of the variables at a bound with a
zero gradient component: past this many it is not made (2^n eigendecompositions)."""


def copositivity(matrix: Any) -> str:
    """Whether dᵀ·M·d ≥ 0 for every d ≥ 0 (M symmetric): ``strict`` (> 0 for d ≠ 0),
    ``yes`` (≥ 0, = 0 along some d), ``no`` (< 0 along some d ≥ 0) or ``unknown`` (too many
    variables, or a repeated negative eigenvalue, where one eigenvector could miss the
    positive direction of its eigenspace).

    Kaplan's criterion (Linear Algebra Appl. 313, 2000): M is copositive if and only if no
    principal submatrix has an eigenvector v > 0 with eigenvalue λ < 0; strictly
    copositive if and only if none has one with λ ≤ 0.  Eigenvalues within rounding of
    zero count as zero."""
    import itertools

    import numpy as np

    from ..engine.hessian import ZERO_EIGENVALUE

    n = len(matrix)
    if n > COPOSITIVE_LIMIT:
        return "unknown"
    m = (matrix + matrix.T) / 2.0
    scale = float(np.max(np.abs(m))) if n else 0.0
    tolerance = ZERO_EIGENVALUE * max(n, 1) * 2.220446049250313e-16 * scale
    strict = True
    for size in range(1, n + 1):
        for subset in itertools.combinations(range(n), size):
            values, vectors = np.linalg.eigh(m[np.ix_(subset, subset)])
            for k, value in enumerate(values.tolist()):
                if value > tolerance:
                    break  # ascending: the rest are positive
                v = vectors[:, k]
                one_signed = bool(np.all(v > 0.0) or np.all(v < 0.0))
                repeated = (k > 0 and abs(values[k - 1] - value) <= tolerance) or (
                    k + 1 < size and abs(values[k + 1] - value) <= tolerance)
                if value < -tolerance:
                    if one_signed:
                        return "no"
                    if repeated:
                        return "unknown"
                elif one_signed or repeated:  # a zero eigenvalue
                    strict = False
    return "strict" if strict else "yes"
