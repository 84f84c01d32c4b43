"""What a gradient check is asked and what it reports: settings and frozen results."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import ValueInputError, option
from .differences import METHODS, MODES, Method, Mode

RTOL = 1e-5
"""Default relative tolerance.  Central differences at the chosen step are good
to about 1e-10 relative, and no worse than about 1e-7 on thousands of random
smooth expressions: 100 times inside.  An error of one part in 10,000 is 10
times outside."""


ATOL = 1e-8
"""Default absolute tolerance: where the derivative is near zero, the numeric
estimate's error is absolute (about 1e-11 times f's scale), not relative."""


RANGE = (-2.0, 2.0)
"""Default range for the variables that ``points`` draws."""


MAX_CHECKED = 500_000
"""The most partial derivatives a check at many points makes: points × variables checked.

The report keeps every point, as the JSON lists them: about 550 bytes a point (its values,
f's value, its largest errors) and 250 a derivative (both derivatives, the errors, the step),
so this keeps a report under about 250 MB, and its work under a few seconds, whatever the
shape: 250,000 points of two variables, 500 points of a thousand.  (The arrays are computed
a chunk of points at a time, so they add a bounded amount to that.)  A million points of two
variables took 38 s and 1.7 GB, and ten million 14.7 GB before they were stopped."""


@dataclass(frozen=True, slots=True)
class CheckSettings:
    """How to check: the numeric method, the modes compared, the step and the tolerances.

    ``eps`` None chooses the step per variable (module docstring).  ``points``
    None checks the one point given; a number draws that many points, the
    variables not given being uniform in ``sample_range``.
    """

    method: Method = "central"
    mode: Mode = "reverse"
    eps: float | None = None
    rtol: float = RTOL
    atol: float = ATOL
    points: int | None = None
    seed: int = 0
    sample_range: tuple[float, float] = RANGE

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueInputError(f"unknown method {self.method!r}; one of {', '.join(METHODS)}")
        if self.mode not in MODES:
            raise ValueInputError(f"unknown mode {self.mode!r}; one of {', '.join(MODES)}")
        if self.eps is not None and not (math.isfinite(self.eps) and self.eps > 0.0):
            raise ValueInputError(f"{option('eps')} must be a positive number, got {self.eps!r}")
        for name, tolerance in (("rtol", self.rtol), ("atol", self.atol)):
            if not (math.isfinite(tolerance) and tolerance >= 0.0):
                raise ValueInputError(f"{option(name)} must be a number >= 0, got {tolerance!r}")
        if self.points is not None and self.points < 1:
            raise ValueInputError(f"{option('points')} must be at least 1, got {self.points}")
        low, high = self.sample_range
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueInputError(f"{option('range')} needs finite LO < HI, got {low!r}:{high!r}")


@dataclass(frozen=True, slots=True)
class VariableCheck:
    """One partial derivative at one point: autodiff against the numeric estimate."""

    name: str
    autodiff: float
    """Reverse mode."""
    numeric: float
    abs_error: float
    """|autodiff - numeric| (the larger of the two modes' with ``forward``)."""
    rel_error: float
    """abs_error / |numeric|: 0 when both are 0, inf when only numeric is."""
    step: float
    """The finite-difference step used."""
    error_estimate: float | None
    """The numeric estimate's own estimated error (None for a fixed central or forward step)."""
    ok: bool
    forward: float | None = None
    """Forward mode (dual numbers), with ``mode="forward"``."""
    kink: bool = False
    """The point is a kink (or jump) in this variable: f is not differentiable there."""
    note: str | None = None
    """Why it failed, or what to know about a pass."""


@dataclass(frozen=True, slots=True)
class PointCheck:
    """Every variable checked at one point."""

    index: int
    """Position in the order the points were drawn (0 for a single point)."""
    point: dict[str, float]
    value: float
    variables: tuple[VariableCheck, ...]
    ok: bool
    max_abs_error: float
    max_rel_error: float
    note: str | None = None
    """Why every variable failed, when f itself is not finite here."""


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The whole check: every point, worst first."""

    expression: str
    settings: CheckSettings
    wrt: tuple[str, ...]
    points: tuple[PointCheck, ...]
    ok: bool
    max_abs_error: float
    max_rel_error: float
    failures: int = 0
    """How many points fail."""
    drawn: tuple[str, ...] = ()
    """The variables drawn at random (with ``points``); the others were given."""


def _worst(values: Iterable[float]) -> float:
    """The largest, nan if any is nan, 0 for none."""
    result = 0.0
    for value in values:
        if math.isnan(value):
            return math.nan
        result = max(result, value)
    return result


def _relative(error: float, reference: float) -> float:
    if error == 0.0:
        return 0.0
    return error / abs(reference) if reference != 0.0 else math.inf


def _within(error: float, reference: float, settings: CheckSettings) -> bool:
    return error <= settings.atol + settings.rtol * abs(reference)  # False for nan


def _badness(point: PointCheck, settings: CheckSettings) -> float:
    """How far outside its tolerance the point's worst variable is (> 1 fails; nan counts as inf)."""
    worst = 0.0
    for v in point.variables:
        allowed = settings.atol + settings.rtol * abs(v.numeric)
        ratio = v.abs_error / allowed if allowed > 0.0 else (0.0 if v.abs_error == 0.0 else math.inf)
        worst = math.inf if math.isnan(ratio) else max(worst, ratio)
    return worst
