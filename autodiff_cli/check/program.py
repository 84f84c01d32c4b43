"""A gradient check of a whole program: at the point given, or at many random points."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence

from .. import expr as ast
from ..errors import LimitError, option
from ..language.inputs import Assignment, check_names, resolve_point, resolve_wrt
from .differences import FloatFunction, float_function
from .point import check_point
from .report import MAX_CHECKED, RANGE, CheckReport, CheckSettings, PointCheck, _badness, _worst

ON_ARRAYS = 16
"""A single point with this many variables to check, or more, is checked on arrays as many
points are (:mod:`autodiff_cli.check.points`): each variable's ladder of steps is some 36
evaluations of f, which on plain floats cost n² work for n variables; on arrays, the
variables' ladders are evaluated together, in a few calls.  (Below it, f is evaluated on
plain floats, whose last bits NumPy's transcendental functions may not match.)"""


def batchable(settings: CheckSettings) -> bool:
    """Whether many points are checked together on arrays (:mod:`autodiff_cli.check_batch`):
    the central and forward ladders are, in either mode; Richardson's adaptive tables run
    point by point."""
    return settings.method in ("central", "forward")


def sample_points(variables: Sequence[str], fixed: Mapping[str, float], count: int, seed: int,
                  bounds: tuple[float, float] = RANGE) -> list[dict[str, float]]:
    """``count`` points: the ``fixed`` values, the other variables uniform in ``bounds``."""
    return list(_draw(variables, fixed, count, seed, bounds))


def _draw(variables: Sequence[str], fixed: Mapping[str, float], count: int, seed: int,
          bounds: tuple[float, float]) -> Iterator[dict[str, float]]:
    """:func:`sample_points`, one at a time."""
    generator = random.Random(seed)
    low, high = bounds
    for _ in range(count):
        yield {name: fixed[name] if name in fixed else generator.uniform(low, high)
               for name in variables}


def _when_needed(program: ast.Program) -> FloatFunction:
    """:func:`float_function`, compiled at its first call: the check on arrays calls it only
    for the points it hands to the per-point check."""
    compiled: list[FloatFunction] = []

    def f(*values: float) -> float:
        if not compiled:
            compiled.append(float_function(program))
        return compiled[0](*values)

    return f


def check_program(program: ast.Program, assignments: Iterable[Assignment],
                  wrt: str | Sequence[str] | None = None,
                  settings: CheckSettings | None = None) -> CheckReport:
    """Check the gradient of ``program`` at the point given, or at ``settings.points`` points.

    Without ``points`` every variable needs a value; with it, the variables
    given stay fixed and the others are drawn.
    """
    settings = settings or CheckSettings()
    names = resolve_wrt(program.variables, wrt)
    if settings.points is not None and settings.points * len(names) > MAX_CHECKED:
        raise LimitError(
            f"{option('points')} {settings.points:,} with {len(names):,} variables to check would be "
            f"{settings.points * len(names):,} derivatives, past the limit of {MAX_CHECKED:,} "
            "(MAX_CHECKED in autodiff_cli.check.report): the report keeps every point; check "
            f"at most {max(1, MAX_CHECKED // max(1, len(names))):,} points")
    given = list(assignments)
    drawn: tuple[str, ...] = ()
    if settings.points is None:
        points: Iterator[dict[str, float]] = iter([resolve_point(program.variables, given)])
    else:
        check_names([name for name, _ in given], program.variables, "given a value")
        named = {name for name, _ in given}
        fixed = resolve_point([v for v in program.variables if v in named], given)
        drawn = tuple(v for v in program.variables if v not in named)
        points = _draw(program.variables, fixed, settings.points, settings.seed, settings.sample_range)
    checked: list[PointCheck] = []
    if batchable(settings) and (settings.points is not None or len(names) >= ON_ARRAYS):
        from .points import check_points, chunk  # NumPy: imported only for many points

        f = _when_needed(program)
        size = chunk(program)
        while part := list(itertools.islice(points, size)):  # a chunk's arrays at a time
            checked += check_points(program, f, part, names, settings, len(checked))
    else:
        f = float_function(program)
        checked = [check_point(program, f, point, names, settings, i) for i, point in enumerate(points)]
    checked.sort(key=lambda p: (p.ok, -_badness(p, settings)))
    return CheckReport(program.source, settings, names, tuple(checked),
                       all(p.ok for p in checked), _worst(p.max_abs_error for p in checked),
                       _worst(p.max_rel_error for p in checked), sum(not p.ok for p in checked),
                       drawn)
