"""The gradient check at one point: autodiff against finite differences, with notes.

For each variable in turn, the partial derivative from reverse mode (and, with
``mode="forward"``, from dual numbers too) is compared with a numeric estimate
from the same program evaluated on plain floats (:mod:`autodiff_cli.check.differences`).
A variable passes when

    |autodiff - numeric| <= atol + rtol * |numeric|

and it fails, with a note saying why, where f or a derivative is not finite or
where the point is a kink (f is not differentiable there).  This is the reference
that the check at many points (:mod:`autodiff_cli.check.points`) hands every point
back to that does not plainly pass.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence

from .. import expr as ast
from ..engine.forward import forward_gradient_at
from ..engine.gradient import gradient_at
from ..engine.graph import Graph, _describe
from .differences import (
    Estimate,
    FloatFunction,
    _central,
    _estimate,
    _ladder,
    _moved,
    _steps,
    kink_gaps,
)
from .report import CheckSettings, PointCheck, VariableCheck, _relative, _within, _worst

_EPS = sys.float_info.epsilon


def _one_sided(f: FloatFunction, values: Sequence[float], arg: int, h: float,
               center: float) -> tuple[float, float]:
    x = values[arg]
    up, down = _steps(x, h)
    right = (f(*_moved(values, arg, up)) - center) / (up - x)
    left = (center - f(*_moved(values, arg, down))) / (x - down)
    return right, left


def _kink_gap(f: FloatFunction, values: Sequence[float], arg: int, step: float, center: float,
              tolerance: float) -> tuple[float, float] | None:
    """The one-sided differences, when they disagree beyond ``tolerance`` in a way that a
    smaller step does not cure (:func:`autodiff_cli.check.differences.kink_gaps`): a kink at
    the point, not curvature or noise."""
    import numpy as np

    try:
        sides = [_one_sided(f, values, arg, h, center) for h in (10.0 * step, step, step / 10.0)]
    except ValueError:
        return None
    right, left = np.array([[s[0]] for s in sides]), np.array([[s[1]] for s in sides])
    usable = np.isfinite(right).all(axis=0) & np.isfinite(left).all(axis=0)
    with np.errstate(all="ignore"):
        return sides[1] if kink_gaps(right, left, usable, np.array([tolerance]))[0] else None


def _kink_ops(graph: Graph) -> list[tuple[str, frozenset[str]]]:
    """Operations evaluated exactly at a kink: their description and the variables they depend on."""
    found: list[tuple[str, frozenset[str]]] = []
    for node, scalar in zip(graph.order, graph.made):
        if isinstance(node, ast.Apply) and node.op.kink is not None:
            values = [a.data for a in scalar.inputs]
            if node.op.kink(*values):
                found.append((_describe(node, values), frozenset(ast.variables(node))))
    return found


def rounding_error(graph: Graph) -> float:
    """A first-order bound on the rounding error of f that moves with the variables.

    Each operation rounds its result by up to half a unit in the last place,
    and that error reaches f scaled by f's derivative with respect to it (the
    node's adjoint, after backward): eps * sum |value * adjoint| over the
    operations that depend on a variable (the others are the same at every
    step, so cancel in a difference).  This, unlike eps*|f|, sees the rounding
    inside ``log(1 + t)`` for tiny t, where f's computed values are coarse.
    """
    total = 0.0
    for node, scalar in zip(graph.order, graph.made):
        if isinstance(node, ast.Apply):
            if scalar.requires_grad and scalar.grad:
                total += abs(scalar.data * scalar.grad)
    return _EPS * total


def _check_variable(name: str, arg: int, f: FloatFunction, values: list[float], value: float,
                    autodiff: float, forward: float | None, kink_ops: Sequence[str],
                    nonfinite: str | None, noise: float,
                    settings: CheckSettings) -> VariableCheck:
    notes: list[str] = []
    central = _ladder(_central, f, values, arg, noise)  # also sets the kink test's steps
    try:
        numeric = _estimate(f, values, arg, settings.method, settings.eps, central, noise=noise)
    except ValueError as error:  # a fixed step below the resolution of x
        numeric = Estimate(math.nan, settings.eps or math.nan)
        notes.append(str(error))
    abs_error = abs(autodiff - numeric.value)
    if forward is not None:
        abs_error = _worst([abs_error, abs(forward - numeric.value)])
    agree = _within(abs_error, numeric.value, settings)
    finite = math.isfinite(value) and math.isfinite(autodiff) and math.isfinite(numeric.value)
    if not math.isfinite(value):
        notes.append(f"f is not finite here: {nonfinite or repr(value)}")
    elif not math.isfinite(autodiff):
        notes.append(f"the autodiff derivative is {autodiff!r}: {nonfinite or 'non-finite'}")
    if forward is not None:
        finite = finite and math.isfinite(forward)
        if math.isfinite(value) and not math.isfinite(forward):
            notes.append(f"forward mode gives {forward!r}")
        elif math.isfinite(autodiff) and not _within(abs(autodiff - forward), autodiff, settings):
            agree = False
            notes.append(f"reverse and forward mode disagree by {abs(autodiff - forward):.3g}")
    if math.isfinite(value) and not math.isfinite(numeric.value) and not notes:
        notes.append(f"the numeric estimate is {numeric.value!r}: f is not finite within a "
                     f"step ({numeric.step!r}) of the point")
    kink = False
    if finite:
        tolerance = settings.atol + settings.rtol * abs(numeric.value)
        sides = _kink_gap(f, values, arg, central.step, value, tolerance)
        at = " and ".join(kink_ops)
        if sides is not None:
            kink = True
            why = f"{at} is at its kink and " if at else ""
            notes.append(f"kink: {why}the one-sided differences disagree (right {sides[0]!r}, "
                         f"left {sides[1]!r}): f is not differentiable in {name} here")
        elif at and not agree:
            kink = True
            notes.append(f"kink: {at} is at its kink, where the autodiff derivative is a convention")
        elif at:
            notes.append(f"{at} is at its kink, but the one-sided differences agree and match "
                         f"autodiff: f is differentiable in {name} here")
        if not agree and not kink and numeric.error is not None and numeric.error > tolerance:
            notes.append(f"the numeric estimate is itself uncertain by about {numeric.error:.3g}")
    ok = finite and agree and not kink
    if not ok and not notes:
        notes.append("autodiff and the numeric estimate disagree")
    return VariableCheck(name, autodiff, numeric.value, abs_error,
                         _relative(abs_error, numeric.value), numeric.step, numeric.error, ok,
                         forward, kink, "; ".join(notes) or None)


def check_point(program: ast.Program, f: FloatFunction, point: Mapping[str, float],
                wrt: Sequence[str], settings: CheckSettings, index: int = 0,
                done: Mapping[str, VariableCheck] | None = None) -> PointCheck:
    """Every variable in ``wrt`` checked at ``point``; ``f`` is :func:`float_function` (program).
    The variables in ``done`` are taken as checked already (by the check on arrays)."""
    done = done or {}
    todo = [name for name in wrt if name not in done]
    result, graph = gradient_at(program, point, wrt)
    forward = (forward_gradient_at(program, point, todo).gradient
               if settings.mode == "forward" and todo else {})
    values = [point[name] for name in program.variables]
    position = {name: i for i, name in enumerate(program.variables)}
    kinks = _kink_ops(graph)
    noise = rounding_error(graph)
    checks = tuple(
        done[name] if name in done else
        _check_variable(name, position[name], f, values, result.value,
                        result.gradient[name], forward.get(name),
                        [what for what, depends in kinks if name in depends], result.nonfinite,
                        noise, settings)
        for name in wrt)
    note = None
    if not math.isfinite(result.value):
        note = f"f is not finite here: {result.nonfinite or repr(result.value)}"
    return PointCheck(index, dict(point), result.value, checks, all(c.ok for c in checks),
                      _worst(c.abs_error for c in checks), _worst(c.rel_error for c in checks), note)
