"""Gradient checking: autodiff against finite differences.

For each variable in turn, the partial derivative from reverse mode (and, with
``mode="forward"``, from dual numbers too) is compared with a numeric estimate
from the same program evaluated on plain floats.  A variable passes when

    |autodiff - numeric| <= atol + rtol * |numeric|

and it fails, with a note saying why, where f or a derivative is not finite or
where the point is a kink (f is not differentiable there).

The step.  No fixed rule fits every function: a step scaled to the value,
``h*max(1, |x|)``, suits ``x^3`` at ``x = 1e6`` but is far too large for
``sin(x)`` at ``x = 1e4``, and a fixed small step fails the other way.  So by
default the step is chosen per variable from an error estimate.  The difference
D_k is computed on a ladder of steps ``h_k = max(1, |x|) * 10^-k`` (k = 1 .. 15),
and each rung gets the error estimate

    max(|D_k - D_(k-1)|, |D_k - D_(k+1)|)  +  2 * noise / (2 h_k)

the spread between neighbouring steps (truncation error, and noise, seen
directly) plus the rounding error that a difference of two values of f can
carry, ``noise`` being a bound on f's rounding error (:func:`rounding_error`);
that term keeps the ladder away from steps so small that f's computed values
are coarse and neighbouring estimates agree exactly, at a wrong value.  The
rung with the smallest estimate wins.  ``eps`` fixes the step instead.

Richardson extrapolation (Ridders' method, :func:`richardson`) extrapolates
central differences at halved steps to step 0, with an error estimate.

Many points (``points``) are checked together on NumPy arrays by
:mod:`autodiff_cli.check_batch`, which mirrors this module's ladder and kink
test and hands back to :func:`check_point` any point that does not plainly pass.

The library never prints: :func:`check_program` returns a :class:`CheckReport`.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .. import expr as ast
from ..engine.forward import forward_gradient_at
from ..engine.gradient import gradient_at
from ..engine.graph import Graph, _describe
from ..errors import ValueInputError, option
from ..language.inputs import Assignment, check_names, resolve_point, resolve_wrt

Method = Literal["central", "forward", "richardson"]
Mode = Literal["reverse", "forward"]
METHODS: tuple[Method, ...] = ("central", "forward", "richardson")
MODES: tuple[Mode, ...] = ("reverse", "forward")

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

_EPS = sys.float_info.epsilon
LADDER = tuple(10.0 ** -k for k in range(1, 16))
"""Candidate steps, relative to max(1, |x|)."""

FloatFunction = Callable[..., float]
"""``f(*values) -> float``: a program on plain floats, arguments in variable order."""


# ---------------------------------------------------------------- float evaluation


def float_function(program: ast.Program) -> FloatFunction:
    """The program as a plain float function of its variables, in ``program.variables`` order:
    its compiled value function, which builds no graph per call."""
    from ..engine.compile import compile_program

    return compile_program(program, ()).value


# ---------------------------------------------------------------- finite differences


def _moved(values: Sequence[float], arg: int, x: float) -> list[float]:
    moved = list(values)
    moved[arg] = x
    return moved


def _steps(x: float, epsilon: float) -> tuple[float, float]:
    up, down = x + epsilon, x - epsilon
    if up == down:
        raise ValueError(f"the step {epsilon!r} is below the resolution of {x!r}")
    return up, down


def _central(f: FloatFunction, values: Sequence[float], arg: int, h: float) -> tuple[float, float]:
    """The central difference, and the distance it divides by."""
    up, down = _steps(values[arg], h)
    return (f(*_moved(values, arg, up)) - f(*_moved(values, arg, down))) / (up - down), up - down


def _forward(f: FloatFunction, values: Sequence[float], arg: int, h: float) -> tuple[float, float]:
    x = values[arg]
    up, _ = _steps(x, h)
    return (f(*_moved(values, arg, up)) - f(*values)) / (up - x), up - x


def central_difference(f: FloatFunction, *values: float, arg: int = 0,
                       epsilon: float = 1e-6) -> float:
    """(f(x+ε) - f(x-ε)) / 2ε in argument ``arg``; error O(ε²).

    The division is by the step as represented, (x+ε) - (x-ε), which removes
    the error of rounding x±ε.  Raises ValueError when ε vanishes next to x.
    """
    return _central(f, values, arg, epsilon)[0]


def forward_difference(f: FloatFunction, *values: float, arg: int = 0,
                       epsilon: float = 1e-6) -> float:
    """(f(x+ε) - f(x)) / ε in argument ``arg``; error O(ε)."""
    return _forward(f, values, arg, epsilon)[0]


@dataclass(frozen=True, slots=True)
class Estimate:
    """A numeric derivative, the step it used, and its estimated error (None: not estimated)."""

    value: float
    step: float
    error: float | None = None


Difference = Callable[[FloatFunction, Sequence[float], int, float], tuple[float, float]]


def _ladder(difference: Difference, f: FloatFunction, values: Sequence[float], arg: int,
            noise: float | None = None) -> Estimate:
    """The difference at the step of the ladder with the smallest estimated error.

    ``noise`` bounds the rounding error of one evaluation of f near the point
    (default: one unit in the last place of f(x)).
    """
    x = values[arg]
    scale = max(1.0, abs(x))
    if noise is None:
        noise = _EPS * abs(f(*values))
    rungs: list[tuple[float, float, float]] = []
    for ratio in LADDER:
        h = scale * ratio
        if x + h == x - h:
            break
        d, distance = difference(f, values, arg, h)
        rungs.append((h, d, 2.0 * noise / distance))
    best, best_error = None, math.inf
    for k in range(1, len(rungs) - 1):
        h, d, rounding = rungs[k]
        error = max(abs(d - rungs[k - 1][1]), abs(d - rungs[k + 1][1])) + rounding
        if error < best_error:
            best, best_error = Estimate(d, h, error), error
    if best is not None:
        return best
    # Nothing finite to compare (f is not finite near x): report the usual step's estimate.
    h = scale * _EPS ** (1 / 3)
    return Estimate(difference(f, values, arg, h)[0], h, math.nan)


def _ridders(f: FloatFunction, values: Sequence[float], arg: int, start: float,
             levels: int, noise: float) -> Estimate | None:
    """Ridders' table from ``start``: the entry with the smallest error estimate, or None."""
    best, best_error = None, math.inf
    previous: list[float] = []
    h = start
    for _ in range(levels):
        try:
            d = _central(f, values, arg, h)[0]
        except ValueError:  # the step vanished next to x
            break
        if not math.isfinite(d):
            previous = []
            h /= 2.0
            continue
        row = [d]
        factor = 4.0
        for j, above in enumerate(previous):
            row.append(row[j] + (row[j] - above) / (factor - 1.0))
            factor *= 4.0
            error = max(abs(row[j + 1] - row[j]), abs(row[j + 1] - above)) + noise / h
            if error <= best_error:
                best, best_error = Estimate(row[j + 1], h, error), error
        if previous and abs(row[-1] - previous[-1]) >= 2.0 * best_error:
            break
        previous = row
        h /= 2.0
    return best


def _richardson(f: FloatFunction, values: Sequence[float], arg: int, starts: Sequence[float],
                levels: int, noise: float | None) -> Estimate:
    if noise is None:
        noise = _EPS * abs(f(*values))
    found = [e for e in (_ridders(f, values, arg, start, levels, noise) for start in starts) if e]
    if not found:
        return Estimate(_central(f, values, arg, starts[0])[0], starts[0], math.nan)
    return min(found, key=lambda e: e.error if e.error is not None else math.inf)


def _starts(step: float, x: float) -> list[float]:
    cap = 0.1 * max(1.0, abs(x))
    return [min(step * factor, cap) for factor in (100.0, 10.0, 1.0)]


def richardson(f: FloatFunction, *values: float, arg: int = 0, epsilon: float | None = None,
               levels: int = 10, noise: float | None = None) -> Estimate:
    """Richardson extrapolation of central differences (Ridders' method), with its error.

    Central differences at steps ε, ε/2, ε/4, ... are extrapolated to step 0 in
    a triangular table; each entry's error estimate is the larger of its change
    from the entry to its left and from the one above, and the entry with the
    smallest wins, after adding the rounding error of a difference at its step
    (``noise`` as in :func:`estimate`).  The table stops when the diagonal's
    change grows to twice the best error so far (rounding has taken over), and
    restarts below a step whose value is not finite.  Without ``epsilon`` the table starts at 100, 10
    and 1 times the central difference's chosen step (at most 0.1*max(1, |x|)),
    and the start with the smallest error wins: a large start is accurate where
    f is smooth far around x, a small one where a kink or a singularity is near.
    """
    return _estimate(f, values, arg, "richardson", epsilon, levels=levels, noise=noise)


def estimate(f: FloatFunction, *values: float, arg: int = 0, method: Method = "central",
             epsilon: float | None = None, noise: float | None = None) -> Estimate:
    """The numeric partial derivative in argument ``arg`` by ``method``.

    Without ``epsilon`` the step is chosen from an error estimate (module
    docstring), in which ``noise`` bounds the rounding error of one evaluation
    of f near the point (default: one unit in the last place of f(x); see
    :func:`rounding_error`).
    """
    return _estimate(f, values, arg, method, epsilon, noise=noise)


def _estimate(f: FloatFunction, values: Sequence[float], arg: int, method: Method,
              epsilon: float | None, central: Estimate | None = None,
              levels: int = 10, noise: float | None = None) -> Estimate:
    """:func:`estimate`, reusing the central difference's ladder when it is at hand."""
    if epsilon is not None:
        if method == "richardson":
            return _richardson(f, values, arg, [epsilon], levels, noise)
        difference = _forward if method == "forward" else _central
        return Estimate(difference(f, values, arg, epsilon)[0], epsilon)
    if method == "forward":
        return _ladder(_forward, f, values, arg, noise)
    central = central or _ladder(_central, f, values, arg, noise)
    if method == "central":
        return central
    return _richardson(f, values, arg, _starts(central.step, values[arg]), levels, noise)


# ---------------------------------------------------------------- the report


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
    smaller step does not cure: a kink at the point, not curvature or noise.

    At a smooth point the gap between them is about h*f'', shrinking with the
    step, and rounding noise grows as 1/h; at a kink the gap is the jump in the
    derivative, the same at every step.  So the gap must exceed the tolerance
    and keep its size, within a factor of 2, from 10h to h to h/10.
    """
    try:
        sides = [_one_sided(f, values, arg, h, center) for h in (10.0 * step, step, step / 10.0)]
    except ValueError:
        return None
    if not all(math.isfinite(v) for side in sides for v in side):
        return None
    wide, mid, narrow = (abs(right - left) for right, left in sides)
    if mid > tolerance and 0.5 * wide <= mid <= 2.0 * wide and 0.5 * mid <= narrow <= 2.0 * mid:
        return sides[1]
    return None


def _kink_ops(graph: Graph) -> list[tuple[str, frozenset[str]]]:
    """Operations evaluated exactly at a kink: their description and the variables they depend on."""
    hits: list[ast.Apply] = []
    for node in graph.order:
        if isinstance(node, ast.Apply) and node.op.kink is not None:
            if node.op.kink(*[graph.scalars[id(a)].data for a in node.args]):
                hits.append(node)
    if not hits:
        return []
    depends = _dependencies(graph.order)
    return [(_describe(node, [graph.scalars[id(a)].data for a in node.args]), depends[id(node)])
            for node in hits]


def _dependencies(order: Iterable[ast.Expr]) -> dict[int, frozenset[str]]:
    """The variables each node depends on, by id; ``order`` lists arguments before their users."""
    depends: dict[int, frozenset[str]] = {}
    for node in order:
        if isinstance(node, ast.Var):
            depends[id(node)] = frozenset((node.name,))
        else:
            depends[id(node)] = frozenset().union(*(depends[id(a)] for a in ast.children(node)))
    return depends


def dependencies(program: ast.Program) -> dict[int, frozenset[str]]:
    """The variables each node of ``program`` depends on, by the node's id."""
    return _dependencies(ast.postorder(program.result))


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
    for node in graph.order:
        if isinstance(node, ast.Apply):
            scalar = graph.scalars[id(node)]
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
        elif not _within(abs(autodiff - forward), autodiff, settings):
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
                wrt: Sequence[str], settings: CheckSettings, index: int = 0) -> PointCheck:
    """Every variable in ``wrt`` checked at ``point``; ``f`` is :func:`float_function` (program)."""
    result, graph = gradient_at(program, point, wrt)
    forward = forward_gradient_at(program, point, wrt).gradient if settings.mode == "forward" else {}
    values = [point[name] for name in program.variables]
    kinks = _kink_ops(graph)
    noise = rounding_error(graph)
    checks = tuple(
        _check_variable(name, program.variables.index(name), f, values, result.value,
                        result.gradient[name], forward.get(name),
                        [what for what, depends in kinks if name in depends], result.nonfinite,
                        noise, settings)
        for name in wrt)
    note = None
    if not math.isfinite(result.value):
        note = f"f is not finite here: {result.nonfinite or repr(result.value)}"
    return PointCheck(index, dict(point), result.value, checks, all(c.ok for c in checks),
                      _worst(c.abs_error for c in checks), _worst(c.rel_error for c in checks), note)


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
