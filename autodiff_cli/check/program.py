"""A gradient check of a whole program: at the point given, or at many random points."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence

from .. import expr as ast
from ..language.inputs import Assignment, check_names, resolve_point, resolve_wrt
from .differences import float_function
from .point import check_point
from .report import RANGE, CheckReport, CheckSettings, _badness, _worst


def batchable(settings: CheckSettings) -> bool:
    """Whether many points are checked together on arrays (:mod:`autodiff_cli.check_batch`):
    the central and forward ladders are, in either mode; Richardson's adaptive tables run
    point by point."""
    return settings.method in ("central", "forward")


def sample_points(variables: Sequence[str], fixed: Mapping[str, float], count: int, seed: int,
                  bounds: tuple[float, float] = RANGE) -> list[dict[str, float]]:
    """``count`` points: the ``fixed`` values, the other variables uniform in ``bounds``."""
    generator = random.Random(seed)
    low, high = bounds
    return [{name: fixed[name] if name in fixed else generator.uniform(low, high)
             for name in variables} for _ in range(count)]


def check_program(program: ast.Program, assignments: Iterable[Assignment],
                  wrt: str | Sequence[str] | None = None,
                  settings: CheckSettings | None = None) -> CheckReport:
    """Check the gradient of ``program`` at the point given, or at ``settings.points`` points.

    Without ``points`` every variable needs a value; with it, the variables
    given stay fixed and the others are drawn.
    """
    settings = settings or CheckSettings()
    names = resolve_wrt(program.variables, wrt)
    given = list(assignments)
    drawn: tuple[str, ...] = ()
    if settings.points is None:
        points = [resolve_point(program.variables, given)]
    else:
        check_names([name for name, _ in given], program.variables, "given a value")
        named = {name for name, _ in given}
        fixed = resolve_point([v for v in program.variables if v in named], given)
        drawn = tuple(v for v in program.variables if v not in named)
        points = sample_points(program.variables, fixed, settings.points, settings.seed,
                               settings.sample_range)
    f = float_function(program)
    if settings.points is not None and batchable(settings):
        from .points import check_points  # NumPy: imported only for many points

        checked = check_points(program, f, points, names, settings)
    else:
        checked = [check_point(program, f, point, names, settings, i) for i, point in enumerate(points)]
    checked.sort(key=lambda p: (p.ok, -_badness(p, settings)))
    return CheckReport(program.source, settings, names, tuple(checked),
                       all(p.ok for p in checked), _worst(p.max_abs_error for p in checked),
                       _worst(p.max_rel_error for p in checked), sum(not p.ok for p in checked),
                       drawn)
