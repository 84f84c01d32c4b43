"""The gradient check at many points at once, on NumPy arrays.

``check --points N`` runs the check of :mod:`autodiff_cli.check.point` at every
point together: the compiled NumPy form gives the value, the gradient, the
rounding-error bound and the kink tests at all points in one call, and each
rung of the step ladder, and each step of the kink test, is one more call on
arrays.  No Python loop runs over the points to compute anything.

The per-point check in :mod:`autodiff_cli.check.point` is the reference.  Both
choose the ladder's rung and test for kinks with the same code
(:func:`autodiff_cli.check.differences.best_rungs` and ``kink_gaps``); only how f is
evaluated differs (plain floats there, arrays here), and a test holds the two
together.  A point goes to the per-point check instead, for its notes, whenever
anything about it is out of the ordinary: a variable fails, a value is not finite,
the ladder finds nothing to compare, or an operation sits exactly at its kink.
Forward mode runs on arrays too (one sweep per variable,
:func:`autodiff_cli.engine.forward.forward_gradient_arrays`); Richardson's adaptive
tables run per point.

NumPy's transcendental functions may differ from the math module's in the last
bit, so the numbers agree with the per-point check's to rounding.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import expr as ast
from ..engine.compile import Compiled, compile_program
from ..engine.forward import forward_gradient_arrays
from .differences import LADDER, FloatFunction, best_rungs, has_digits, kink_gaps, rescale
from .point import check_point
from .report import CheckSettings, PointCheck, VariableCheck

_RUNGS = np.asarray(LADDER)[:, None]
"""The ladder's steps relative to max(1, |x|), as a column: one row per rung."""


def check_points(program: ast.Program, f: FloatFunction, points: Sequence[Mapping[str, float]],
                 wrt: Sequence[str], settings: CheckSettings) -> list[PointCheck]:
    """:func:`autodiff_cli.check.check_point` at every point, in the order given."""
    if not program.variables:  # nothing to put in arrays
        return [check_point(program, f, point, wrt, settings, i) for i, point in enumerate(points)]
    with np.errstate(all="ignore"):
        return _check_points(program, f, points, wrt, settings)


def _check_points(program: ast.Program, f: FloatFunction, points: Sequence[Mapping[str, float]],
                  wrt: Sequence[str], settings: CheckSettings) -> list[PointCheck]:
    compiled = compile_program(program, wrt)
    columns = [np.array([point[name] for point in points], dtype=np.float64)
               for name in program.variables]
    detail = compiled.inspect_points(*columns)
    value = detail.value
    noise = sys.float_info.epsilon * _rounding_total(detail.rounding)
    forward: Sequence[Any | None] = [None] * len(wrt)
    if settings.mode == "forward":
        tangents = forward_gradient_arrays(program, dict(zip(program.variables, columns)), wrt)
        forward = [np.broadcast_to(np.asarray(t, dtype=np.float64), value.shape) for t in tangents]
    depends = {id(node): frozenset(ast.variables(node)) for node, _ in detail.kinks}
    plain = np.isfinite(value)
    checks: list[_Columns] = []
    for name, autodiff, tangent in zip(wrt, detail.grads, forward):
        arg = program.variables.index(name)
        for node, at_kink in detail.kinks:
            if name in depends[id(node)]:
                plain &= ~at_kink
        estimate, step, error, kink_step, found = _estimate(compiled, columns, arg, value, noise, settings)
        abs_error = np.abs(autodiff - estimate)
        finite = np.isfinite(autodiff) & np.isfinite(estimate)
        agree = np.ones(value.shape, dtype=bool)
        if tangent is not None:  # forward mode too: both against the estimate, and each other
            abs_error = np.maximum(abs_error, np.abs(tangent - estimate))
            finite &= np.isfinite(tangent)
            agree = np.abs(autodiff - tangent) <= settings.atol + settings.rtol * np.abs(autodiff)
        tolerance = settings.atol + settings.rtol * np.abs(estimate)
        agree &= abs_error <= tolerance
        kink = _kink_gap(compiled, columns, arg, kink_step, value, tolerance)
        plain &= found & agree & finite & ~kink
        checks.append(_Columns(name, autodiff, tangent, estimate, abs_error, step, error))

    checked: list[PointCheck | None] = [None] * len(points)
    for i in np.flatnonzero(~plain).tolist():
        checked[i] = check_point(program, f, points[i], wrt, settings, i)
    _fill_plain(checked, points, value, checks)
    return [c for c in checked if c is not None]


@dataclass(frozen=True, slots=True)
class _Columns:
    """One variable's check at every point: VariableCheck's fields as arrays."""

    name: str
    autodiff: Any
    forward: Any | None
    numeric: Any
    abs_error: Any
    step: Any
    error_estimate: Any | None


def _fill_plain(checked: list[PointCheck | None], points: Sequence[Mapping[str, float]],
                value: Any, checks: Sequence[_Columns]) -> None:
    """The PointCheck of every point that passed plainly (the empty places in ``checked``):
    every number finite, so the largest errors are plain maxima."""
    n = len(points)
    relative = [np.where(c.abs_error == 0.0, 0.0, c.abs_error / np.abs(c.numeric))  # x/0 = inf
                for c in checks]
    lists = [(c.name, c.autodiff.tolist(), c.numeric.tolist(), c.abs_error.tolist(), rel.tolist(),
              c.step.tolist(), [None] * n if c.error_estimate is None else c.error_estimate.tolist(),
              [None] * n if c.forward is None else c.forward.tolist())
             for c, rel in zip(checks, relative)]
    values = value.tolist()
    largest_gap = np.max([c.abs_error for c in checks], axis=0).tolist()
    largest_rel = np.max(relative, axis=0).tolist()
    for i, done in enumerate(checked):
        if done is None:
            variables = tuple(VariableCheck(name, g[i], e[i], gap[i], rel[i], step[i], error[i], True,
                                            fwd[i])
                              for name, g, e, gap, rel, step, error, fwd in lists)
            checked[i] = PointCheck(i, dict(points[i]), values[i], variables, True,
                                    largest_gap[i], largest_rel[i])


def _rounding_total(terms: Sequence[tuple[Any, Any]]) -> Any:
    """:func:`autodiff_cli.check.rounding_error` without its factor eps: the sum of
    |value * adjoint| over the operations whose adjoint is not zero."""
    total = np.zeros(())
    for value, adjoint in terms:
        total = total + np.where(adjoint != 0.0, np.abs(value * adjoint), 0.0)
    return total


def _moved(columns: Sequence[Any], arg: int, x: Any) -> list[Any]:
    moved = list(columns)
    moved[arg] = x
    return moved


def _estimate(compiled: Compiled, columns: Sequence[Any], arg: int, value: Any, noise: Any,
              settings: CheckSettings) -> tuple[Any, Any, Any, Any, Any]:
    """The numeric derivative in argument ``arg`` at every point, as in check's ``_estimate``:
    (estimate, its step, its error estimate or None, the central ladder's step, which the kink
    test starts from, and where all of it was found)."""
    step, central, error, found = _ladder(compiled, columns, arg, value, noise, central=True)
    if settings.eps is not None:
        x = columns[arg]
        up, down = x + settings.eps, x - settings.eps
        found = found & (up != down)  # else the step is below the resolution of x
        if settings.method == "forward":
            down = x
        f = compiled.values_at
        estimate = (f(*_moved(columns, arg, up)) - f(*_moved(columns, arg, down))) / (up - down)
        return estimate, np.full_like(x, settings.eps), None, step, found
    if settings.method == "forward":
        at, estimate, error, found_forward = _ladder(compiled, columns, arg, value, noise, central=False)
        return estimate, at, error, step, found & found_forward
    return central, step, error, step, found


def _ladder(compiled: Compiled, columns: Sequence[Any], arg: int, value: Any, noise: Any,
            central: bool) -> tuple[Any, Any, Any, Any]:
    """check's ``_ladder`` at every point: the step, the difference and its error estimate at the
    rung with the smallest estimated error, and where there was one; scaled to |x| where the
    usual ladder finds nothing with a digit (:func:`autodiff_cli.check.differences.rescale`)."""
    x = columns[arg]
    step, d, error, found = _rungs(compiled, columns, arg, value, noise, central,
                                   np.maximum(1.0, np.abs(x)))
    again = np.flatnonzero(rescale(x, d, error, found))
    if len(again):
        part = [c[again] if np.ndim(c) else c for c in columns]
        at_noise = np.broadcast_to(noise, x.shape)[again]
        scaled = _rungs(compiled, part, arg, value[again], at_noise, central, np.abs(x[again]))
        better = has_digits(scaled[1], scaled[2], scaled[3])
        for whole, part_result in zip((step, d, error, found), scaled):
            whole[again[better]] = part_result[better]
    return step, d, error, found


def _rungs(compiled: Compiled, columns: Sequence[Any], arg: int, value: Any, noise: Any,
           central: bool, scale: Any) -> tuple[Any, Any, Any, Any]:
    """The best rung of the ladder ``scale``·10^-k at every point (:func:`best_rungs`)."""
    x = columns[arg]
    h = scale * _RUNGS
    up, down = x + h, x - h
    rungs = np.cumprod(up != down, axis=0).sum(axis=0)  # the ladder stops where x+h == x-h
    if central:
        f = compiled.values_at
        d = (f(*_moved(columns, arg, up)) - f(*_moved(columns, arg, down))) / (up - down)  # D_k
        distance = up - down
    else:
        d = (compiled.values_at(*_moved(columns, arg, up)) - value) / (up - x)
        distance = up - x
    return best_rungs(h, d, distance, noise, rungs)


def _kink_gap(compiled: Compiled, columns: Sequence[Any], arg: int, step: Any, center: Any,
              tolerance: Any) -> Any:
    """check's ``_kink_gap`` at every point: where the one-sided differences disagree beyond
    ``tolerance`` by the same amount, within a factor of 2, at 10 times the step, the step and
    a tenth of it."""
    x = columns[arg]
    f = compiled.values_at
    h = step * np.array([[10.0], [1.0], [0.1]])
    up, down = x + h, x - h
    right = (f(*_moved(columns, arg, up)) - center) / (up - x)
    left = (center - f(*_moved(columns, arg, down))) / (x - down)
    usable = np.all(up != down, axis=0) & np.all(np.isfinite(right) & np.isfinite(left), axis=0)
    return kink_gaps(right, left, usable, tolerance)
