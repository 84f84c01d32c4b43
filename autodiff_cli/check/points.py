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
from .report import CheckSettings, PointCheck, VariableCheck, _worst

_RUNGS = np.asarray(LADDER)[:, None]
"""The ladder's steps relative to max(1, |x|), as a column: one row per rung."""


CHUNK = 16_384
"""The most points whose arrays are made at once (fewer for a large program: :func:`chunk`)."""


def chunk(program: ast.Program) -> int:
    """How many points to check on arrays at a time: the arrays of one variable's ladder (30
    rows per point) for every node of the program stay within :data:`_BUDGET`."""
    return max(1, min(CHUNK, _BUDGET // (30 * ast.count_nodes(program.result))))


def check_points(program: ast.Program, f: FloatFunction, points: Sequence[Mapping[str, float]],
                 wrt: Sequence[str], settings: CheckSettings, first: int = 0) -> list[PointCheck]:
    """:func:`autodiff_cli.check.check_point` at every point, in the order given; the points'
    indices start at ``first``."""
    if not program.variables:  # nothing to put in arrays
        return [check_point(program, f, point, wrt, settings, first + i) for i, point in enumerate(points)]
    with np.errstate(all="ignore"):
        return _check_points(program, f, points, wrt, settings, first)


def _check_points(program: ast.Program, f: FloatFunction, points: Sequence[Mapping[str, float]],
                  wrt: Sequence[str], settings: CheckSettings, first: int) -> list[PointCheck]:
    compiled = compile_program(program, wrt)
    columns = [np.array([point[name] for point in points], dtype=np.float64)
               for name in program.variables]
    detail = compiled.inspect_points(*columns)
    value = detail.value
    noise = np.broadcast_to(sys.float_info.epsilon * _rounding_total(detail.rounding), value.shape)
    along = _Along(compiled, columns, value, ast.count_nodes(program.result))
    position = {name: i for i, name in enumerate(program.variables)}
    args = [position[name] for name in wrt]
    forward: Sequence[Any | None] = [None] * len(wrt)
    if settings.mode == "forward":
        tangents = forward_gradient_arrays(program, dict(zip(program.variables, columns)), wrt)
        forward = [np.broadcast_to(np.asarray(t, dtype=np.float64), value.shape) for t in tangents]
    step, central, error, found = along.ladders(args, noise, central=True)
    if settings.eps is not None:
        estimates, found = along.fixed(args, settings.eps, settings.method == "forward", found)
        steps: list[Any] = [np.full_like(value, settings.eps)] * len(args)
        errors: list[Any | None] = [None] * len(args)
    elif settings.method == "forward":
        steps, estimates, errors, found_forward = along.ladders(args, noise, central=False)
        found = [a & b for a, b in zip(found, found_forward)]
    else:
        steps, estimates, errors = step, central, error
    tolerances = [settings.atol + settings.rtol * np.abs(e) for e in estimates]
    kinks = along.kinks(args, step, tolerances)

    at_kinks = [(node, at) for node, at in detail.kinks if at.any()]  # usually none
    depends = {id(node): frozenset(ast.variables(node)) for node, _ in at_kinks}
    finite_value = np.isfinite(value)
    checks: list[_Columns] = []
    plain: list[Any] = []
    for i, (name, autodiff, tangent) in enumerate(zip(wrt, detail.grads, forward)):
        estimate, tolerance = estimates[i], tolerances[i]
        abs_error = np.abs(autodiff - estimate)
        finite = np.isfinite(autodiff) & np.isfinite(estimate)
        agree = np.ones(value.shape, dtype=bool)
        if tangent is not None:  # forward mode too: both against the estimate, and each other
            abs_error = np.maximum(abs_error, np.abs(tangent - estimate))
            finite &= np.isfinite(tangent)
            agree = np.abs(autodiff - tangent) <= settings.atol + settings.rtol * np.abs(autodiff)
        agree &= abs_error <= tolerance
        ok = finite_value & found[i] & agree & finite & ~kinks[i]
        for node, at_kink in at_kinks:
            if name in depends[id(node)]:
                ok &= ~at_kink
        plain.append(ok)
        checks.append(_Columns(name, autodiff, tangent, estimate, abs_error, steps[i], errors[i]))
    return _assemble(program, f, points, wrt, settings, first, value, checks, plain)


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


def _assemble(program: ast.Program, f: FloatFunction, points: Sequence[Mapping[str, float]],
              wrt: Sequence[str], settings: CheckSettings, first: int, value: Any,
              checks: Sequence[_Columns], plain: Sequence[Any]) -> list[PointCheck]:
    """Every point's PointCheck: from the arrays where every variable passed plainly (every
    number finite, so the largest errors are plain maxima); otherwise from the per-point check,
    which computes only the variables that did not pass plainly, for their notes."""
    n = len(points)
    lists = [(c.name, c.autodiff.tolist(), c.numeric.tolist(), c.abs_error.tolist(),
              np.where(c.abs_error == 0.0, 0.0, c.abs_error / np.abs(c.numeric)).tolist(),  # x/0 = inf
              c.step.tolist(), [None] * n if c.error_estimate is None else c.error_estimate.tolist(),
              [None] * n if c.forward is None else c.forward.tolist(), ok.tolist())
             for c, ok in zip(checks, plain)]
    values = value.tolist()
    every = np.logical_and.reduce([np.isfinite(value), *plain]).tolist()
    checked: list[PointCheck] = []
    for i, point in enumerate(points):
        if every[i]:
            variables = tuple(VariableCheck(name, g[i], e[i], gap[i], rel[i], step[i], error[i], True,
                                            fwd[i])
                              for name, g, e, gap, rel, step, error, fwd, _ in lists)
            checked.append(PointCheck(first + i, dict(point), values[i], variables, True,
                                      _worst(v.abs_error for v in variables),
                                      _worst(v.rel_error for v in variables)))
            continue
        done = {name: VariableCheck(name, g[i], e[i], gap[i], rel[i], step[i], error[i], True, fwd[i])
                for name, g, e, gap, rel, step, error, fwd, ok in lists if ok[i]}
        checked.append(check_point(program, f, point, wrt, settings, first + i, done))
    return checked


def _rounding_total(terms: Sequence[tuple[Any, Any]]) -> Any:
    """:func:`autodiff_cli.check.rounding_error` without its factor eps: the sum of
    |value * adjoint| over the operations whose adjoint is not zero."""
    total = np.zeros(())
    for value, adjoint in terms:
        total = total + np.where(adjoint != 0.0, np.abs(value * adjoint), 0.0)
    return total


_BUDGET = 1 << 24
"""The most floats (128 MB) that one evaluation of f on arrays may make, counting an array
of (points × rungs × variables) for every operation: the variables moved together in one
call are as many as keep that under it.  (Operations that depend on none of them stay the
size of the points, so the real peak is typically a fifth of this.)"""


_CALL = 1 << 14
"""The most floats per array (128 KB) that moving variables together should give: a block
saves the Python cost of a call per operation, but every operation of a block's call is as
large as the block, where moving one variable leaves the operations that do not depend on it
the size of the points.  Past arrays of about this size the arithmetic outweighs the calls
(at 1,000 points the ladders of ten variables take half the time one at a time as
together), so at many points variables are moved one at a time, and at one point by the
thousand."""


class _Along:
    """f at points moved along one variable at a time, for many variables in one call.

    A call moves a block of variables: variable b's column becomes an array of shape
    (block, rows, points) holding x_b + h in its own slice and x_b elsewhere, and the other
    columns stay as they are, so NumPy broadcasts them.  Checking n variables is then about
    n × rows evaluations of f done as a few calls on arrays, instead of one call per rung
    of each variable's ladder (which, with thousands of variables, was n² work in calls).
    """

    def __init__(self, compiled: Compiled, columns: Sequence[Any], value: Any, nodes: int) -> None:
        self.compiled, self.columns, self.value, self.nodes = compiled, list(columns), value, nodes

    def blocks(self, args: Sequence[int], rows: int) -> list[list[int]]:
        """Positions in ``args``, in blocks small enough for :data:`_BUDGET` and :data:`_CALL`."""
        size = rows * len(self.value)
        most = min(_BUDGET // max(1, size * self.nodes), int((_BUDGET / size) ** 0.5), _CALL // size)
        step = max(1, most)
        return [list(range(i, min(i + step, len(args)))) for i in range(0, len(args), step)]

    def at(self, args: Sequence[int], moved: Any) -> Any:
        """f where variable ``args[b]`` takes the values ``moved[b]`` (shape (block, rows, points))."""
        columns = list(self.columns)
        for b, arg in enumerate(args):
            column = np.empty(moved.shape)
            column[...] = self.columns[arg]
            column[b] = moved[b]
            columns[arg] = column
        return self.compiled.values_at(*columns)

    def ladders(self, args: Sequence[int], noise: Any, central: bool) -> tuple[list[Any], ...]:
        """check's ``_ladder`` for each variable at every point: the step, the difference and
        its error estimate at the rung with the smallest estimated error, and where there was
        one; scaled to |x| where the usual ladder finds nothing with a digit
        (:func:`autodiff_cli.check.differences.rescale`)."""
        results: list[list[Any]] = [[], [], [], []]
        for block in self.blocks(args, len(_RUNGS) * (2 if central else 1)):
            xs = [self.columns[args[i]] for i in block]
            for whole, part in zip(results, self._rungs([args[i] for i in block], noise, central,
                                                        [np.maximum(1.0, np.abs(x)) for x in xs])):
                whole.extend(part)
        step, d, error, found = results
        again = [i for i, arg in enumerate(args)
                 if rescale(self.columns[arg], d[i], error[i], found[i]).any()]
        for block in self.blocks(again, len(_RUNGS) * (2 if central else 1)):
            chosen = [again[i] for i in block]
            scaled = self._rungs([args[i] for i in chosen], noise, central,
                                 [np.abs(self.columns[args[i]]) for i in chosen])
            for j, i in enumerate(chosen):
                x = self.columns[args[i]]
                better = rescale(x, d[i], error[i], found[i]) & has_digits(scaled[1][j], scaled[2][j],
                                                                            scaled[3][j])
                for whole, part in zip(results, scaled):
                    whole[i] = np.where(better, part[j], whole[i])
        return step, d, error, found

    def _rungs(self, args: Sequence[int], noise: Any, central: bool,
               scales: Sequence[Any]) -> tuple[list[Any], ...]:
        """The best rung of the ladders ``scale``·10^-k of a block of variables (:func:`best_rungs`)."""
        k, n, r = len(args), len(self.value), len(_RUNGS)
        x = np.stack([self.columns[a] for a in args])[:, None, :]  # (block, 1, points)
        h = np.stack(scales)[:, None, :] * _RUNGS  # (block, rungs, points)
        up, down = x + h, x - h
        count = np.cumprod(up != down, axis=1).sum(axis=1)  # the ladder stops where x+h == x-h
        if central:
            values = self.at(args, np.concatenate([up, down], axis=1))
            d = (values[:, :r] - values[:, r:]) / (up - down)  # D_k
            distance = up - down
        else:
            d = (self.at(args, up) - self.value) / (up - x)
            distance = up - x

        def rungs_first(a: Any) -> Any:
            return np.moveaxis(a, 1, 0).reshape(r, k * n)

        found = best_rungs(rungs_first(h), rungs_first(d), rungs_first(distance), np.tile(noise, k),
                           count.reshape(k * n))
        return tuple(list(a.reshape(k, n)) for a in found)

    def fixed(self, args: Sequence[int], eps: float, one_sided: bool,
              found: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        """Each variable's difference at the fixed step ``eps`` (central, or forward with
        ``one_sided``), and where it was found (the step is not below the resolution of x)."""
        estimates: list[Any] = []
        usable: list[Any] = []
        for block in self.blocks(args, 2):
            x = np.stack([self.columns[args[i]] for i in block])[:, None, :]
            up, down = x + eps, (x if one_sided else x - eps)
            values = self.at([args[i] for i in block], np.concatenate([up, down], axis=1))
            estimates.extend((values[:, 0] - values[:, 1]) / (up - down)[:, 0])
            usable.extend((x + eps != x - eps)[:, 0])
        return estimates, [a & b for a, b in zip(found, usable)]

    def kinks(self, args: Sequence[int], steps: Sequence[Any], tolerances: Sequence[Any]) -> list[Any]:
        """check's ``_kink_gap`` for each variable at every point: where the one-sided
        differences disagree beyond the tolerance by the same amount, within a factor of 2, at 10
        times the step, the step and a tenth of it."""
        gaps: list[Any] = []
        n = len(self.value)
        for block in self.blocks(args, 6):
            k = len(block)
            x = np.stack([self.columns[args[i]] for i in block])[:, None, :]
            h = np.stack([steps[i] for i in block])[:, None, :] * np.array([[10.0], [1.0], [0.1]])
            up, down = x + h, x - h
            values = self.at([args[i] for i in block], np.concatenate([up, down], axis=1))
            right = (values[:, :3] - self.value) / (up - x)
            left = (self.value - values[:, 3:]) / (x - down)
            usable = np.all(up != down, axis=1) & np.all(np.isfinite(right) & np.isfinite(left), axis=1)
            gap = kink_gaps(np.moveaxis(right, 1, 0).reshape(3, k * n),
                            np.moveaxis(left, 1, 0).reshape(3, k * n), usable.reshape(k * n),
                            np.concatenate([tolerances[i] for i in block]))
            gaps.extend(gap.reshape(k, n))
        return gaps
