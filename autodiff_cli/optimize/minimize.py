"""Minimize an expression in tens of steps: Newton's method with the exact Hessian,
quasi-Newton methods, and Newton-CG.

Every method uses derivatives that adcli computes exactly: the gradient from the compiled
tape, the Hessian and Hessian-vector products from :mod:`autodiff_cli.engine.second`
(forward over reverse through the registry).  No finite differences anywhere.

- ``newton``: Newton's method in a trust region, the subproblem solved exactly from the
  Hessian's eigendecomposition (Moré–Sorensen).  A trust region rather than a line search
  with a modified Hessian: an indefinite or singular Hessian needs no repair (no shift to
  choose, no Cholesky that may fail), its negative curvature is a direction the step uses
  (so a saddle point is left, not converged to), and the radius, not a guess of a step
  length, decides how far the quadratic model is trusted.  The eigendecomposition costs
  O(n³) per step, nothing next to the n tangent sweeps of the Hessian for the sizes where a
  dense Hessian is the right tool.
- ``bfgs``: the BFGS update of an inverse Hessian approximation, with a line search that
  satisfies the strong Wolfe conditions (:mod:`autodiff_cli.optimize.linesearch`), so that
  every update keeps the approximation positive definite.
- ``lbfgs``: the same with the last ``history`` steps instead of a matrix
  (Nocedal's two-loop recursion): memory and time per step linear in n.
- ``newton-cg``: a trust region whose subproblem is solved by conjugate gradients
  (Steihaug–Toint) that need only Hessian-vector products, each one sweep of forward mode
  over the gradient's graph: Newton's convergence without forming the Hessian, for many
  variables.

Bounds (:mod:`autodiff_cli.optimize.bounds`) work with every method by an active-set
strategy: variables held at a bound that the gradient pushes against, steps computed in
the others and shortened to land on the first bound they meet.

A run is a :class:`Minimizer`, driven by the run loop (:func:`autodiff_cli.optimize.run.run`)
like a descent: progress rows and trajectory records go to sinks, Ctrl-C ends it with the
best point.  When it ends, the exact Hessian at the point says what kind of point it is,
with :mod:`autodiff_cli.engine.hessian`'s classification.
"""

from __future__ import annotations

import functools
import math
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from .. import expr as ast
from ..errors import AdcliError, option
from .bounds import BoundSpec, Box, resolve_bounds
from .linesearch import LIMIT, strong_wolfe
from .run import Record, Sink, run
from .trust import Step, exact_step, steihaug_step

T = TypeVar("T")

METHODS: dict[str, str] = {
    "newton": "Newton's method, exact Hessian, trust region",
    "bfgs": "BFGS, strong Wolfe line search",
    "lbfgs": "L-BFGS, strong Wolfe line search",
    "newton-cg": "Newton-CG, Hessian-vector products, trust region",
}
"""The methods, and what each is in a few words."""

DEFAULT_METHOD = "newton"
"""Fewest evaluations on the Moré–Garbow–Hillstrom problems (benchmarks/bench_minimize.py)."""

DENSE_LIMIT = 400
"""``newton`` writes n tangent sweeps for the Hessian and decomposes it at every step; past
this many variables it is refused in favour of ``newton-cg``."""

CLASSIFY_LIMIT = 2000
"""Past this many variables the point is not classified (the Hessian would take n products
and an O(n³) eigendecomposition)."""

STOP_REASONS: dict[str, str] = {
    "gtol": "converged: the gradient norm fell below gtol",
    "xtol": "converged: the step fell below xtol (relative to the point)",
    "ftol": "converged: two steps in a row changed f by less than ftol (relative)",
    "precision": "converged to working precision: no step lowers f by more than its rounding "
                 "error",
    "stalled": "stalled: no step decreases f further, yet the gradient is not small",
    "max_iter": "stopped at the iteration limit before converging",
    "unbounded": "f keeps falling along a direction: it looks unbounded below there",
    "nonfinite": "f or its derivatives are not finite at the start",
    "interrupted": "interrupted",
}
"""Every way a run ends."""

NOISE_MARGIN = 10.0
"""A step that promises to lower f by less than this many times f's rounding error cannot be
told from no step: the run has converged to working precision."""

CONVERGED = frozenset({"gtol", "xtol", "ftol", "precision"})

TRUST_SHRINK, TRUST_GROW = 0.25, 2.0
ACCEPT = 1e-4
"""A trust-region step is taken when f falls by at least this fraction of the model's
prediction."""
PROBE_AFTER = 5
"""After this many very successful trust-region steps in a row, each out to the boundary, the
run looks further along the last one with a line search: f may be unbounded below there
(and if not, the search takes the longer step the radius would have taken several
iterations to allow)."""


GTOL, XTOL, FTOL, MAX_ITER, HISTORY, C1, C2 = 1e-8, 1e-12, 1e-14, 1000, 10, 1e-4, 0.9
"""The defaults of :class:`MinimizeConfig`: its stopping tests, L-BFGS's memory and the line
search's constants."""


@dataclass(frozen=True, slots=True)
class MinimizeConfig:
    """How to minimize."""

    method: str = DEFAULT_METHOD
    gtol: float = GTOL
    """Converged when the (projected) gradient's 2-norm is at most this."""
    xtol: float = XTOL
    """Converged when a step moves every variable by at most xtol times its size (0: never)."""
    ftol: float = FTOL
    """Converged when two steps in a row each change f by at most ftol·|f| (0: never)."""
    max_iter: int = MAX_ITER
    maximize: bool = False
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    """(low, high) per bounded variable."""
    history: int = HISTORY
    """lbfgs: how many steps the approximation remembers."""
    c1: float = C1
    """The line search's sufficient-decrease constant."""
    c2: float = C2
    """The line search's curvature constant."""
    radius: float | None = None
    """The first trust radius (newton, newton-cg); None: the length of the Newton step where
    the Hessian is positive definite, else of the Cauchy step."""
    record: int = 0
    """Keep (iteration, f, ‖grad‖, *free variables) every this many iterations (0: none)."""

    def settings(self) -> dict[str, float]:
        """The settings that apply to the method, for the summary."""
        chosen: dict[str, float] = {"gtol": self.gtol, "xtol": self.xtol, "ftol": self.ftol,
                                    "max_iter": self.max_iter}
        if self.method in ("bfgs", "lbfgs"):
            chosen.update(c1=self.c1, c2=self.c2)
        if self.method == "lbfgs":
            chosen["history"] = self.history
        if self.method in ("newton", "newton-cg") and self.radius is not None:
            chosen["radius"] = self.radius
        return chosen


@dataclass(frozen=True, slots=True)
class Evaluations:
    """How many times f and its derivatives were computed (each at one point)."""

    function: int = 0
    gradient: int = 0
    hessian: int = 0
    hessian_vector: int = 0


@dataclass(frozen=True, slots=True)
class MinimizeResult:
    """How a minimization ended, and what kind of point it ended at."""

    expression: str
    method: str
    settings: dict[str, float]
    start: dict[str, float]
    point: dict[str, float]
    value: float
    gradient: dict[str, float]
    """∂f/∂x at the point, for each free variable."""
    grad_norm: float
    """The 2-norm of the gradient (projected on the box: binding components are zero)."""
    iterations: int
    evaluations: Evaluations
    stop_reason: str
    message: str
    eigenvalues: tuple[float, ...] | None
    """The Hessian's (over the variables not held at a bound), ascending; None when not
    computed or not finite."""
    definiteness: str
    classification: str
    """What the point is: local minimum, saddle point, ... in :mod:`autodiff_cli.engine.hessian`'s words."""
    maximize: bool = False
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    active_bounds: dict[str, str] = field(default_factory=dict)
    """The variables at a bound: ``lower``, ``upper`` or ``fixed`` (low = high)."""
    notes: tuple[str, ...] = ()
    elapsed: float = 0.0

    @property
    def converged(self) -> bool:
        return self.stop_reason in CONVERGED

    @property
    def ok(self) -> bool:
        """Converged, to a point that is not known to be a saddle or the wrong extremum."""
        wrong = ("saddle point", "local minimum" if self.maximize else "local maximum")
        return self.converged and not self.classification.startswith(wrong)


class _At(NamedTuple):
    """Where a run is: the point and f, ∇f, ∇²f there (over the free variables, as minimized),
    after how many iterations, the last step's length and the radius (or α)."""

    x: Any
    f: float
    g: Any
    h: Any
    iteration: int
    step: float
    radius: float


class MinimizeRow(NamedTuple):
    """Progress after an iteration."""

    iteration: int
    value: float
    grad_norm: float
    step: float
    """‖x_k - x_(k-1)‖ (0 for a rejected trust-region step)."""
    radius: float
    """The trust radius for the next step (newton, newton-cg); the line search's step α
    (bfgs, lbfgs); nan at the start."""
    evaluations: int
    """Function evaluations so far."""
    point: dict[str, float]


# ---------------------------------------------------------------- f and its derivatives


class _Objective:
    """f, its gradient, Hessian and Hessian-vector products over the free variables, as
    NumPy vectors, with the sign that turns a maximization into a minimization, counted."""

    def __init__(self, program: ast.Program, free: Sequence[str], start: Mapping[str, float],
                 sign: float) -> None:
        from ..engine.compile import compile_program

        self.program, self.free, self.sign = program, tuple(free), sign
        compiled = compile_program(program, self.free)
        self._value, self._value_and_grad = compiled.value, compiled.value_and_grad
        index = {name: i for i, name in enumerate(program.variables)}
        self.slots = [index[name] for name in self.free]
        self.base = [float(start[name]) for name in program.variables]
        self.whole = self.slots == list(range(len(self.base)))
        self.counts = {"function": 0, "gradient": 0, "hessian": 0, "hessian_vector": 0}

    def full(self, x: Any) -> list[float]:
        """Every variable's value, in the program's order."""
        values: list[float] = x.tolist()
        if self.whole:
            return values
        point = list(self.base)
        for i, v in zip(self.slots, values):
            point[i] = v
        return point

    def value(self, x: Any) -> float:
        self.counts["function"] += 1
        return self.sign * self._value(*self.full(x))

    def value_and_grad(self, x: Any) -> tuple[float, Any]:
        import numpy as np

        self.counts["function"] += 1
        self.counts["gradient"] += 1
        f, g = self._value_and_grad(*self.full(x))
        return self.sign * f, self.sign * np.array(g, dtype=np.float64)

    def hessian(self, x: Any, new_point: bool = True) -> tuple[float, Any, Any]:
        """f, ∇f and ∇²f; ``new_point``: f has not been counted at x yet."""
        import numpy as np

        from ..engine.second import compile_hessian

        self.counts["function"] += new_point
        self.counts["gradient"] += 1
        self.counts["hessian"] += 1
        f, g, h = compile_hessian(self.program, self.free).hessian(*self.full(x))
        return (self.sign * f, self.sign * np.array(g, dtype=np.float64),
                self.sign * np.array(h, dtype=np.float64).reshape(len(g), len(g)))

    def product(self, x: Any, v: Any) -> Any:
        """H·v."""
        import numpy as np

        from ..engine.second import compile_hvp

        self.counts["hessian_vector"] += 1
        _, _, hv = compile_hvp(self.program, self.free).hvp(*self.full(x), *v.tolist())
        return self.sign * np.array(hv, dtype=np.float64)

    def evaluations(self) -> Evaluations:
        return Evaluations(**self.counts)


def _finite(*arrays: Any) -> bool:
    import numpy as np

    return all(bool(np.all(np.isfinite(a))) for a in arrays)


def _norm(v: Any) -> float:
    """The 2-norm, as descend's rows compute it (math.hypot: no overflow, correctly rounded)."""
    return math.hypot(*v.tolist())


# ---------------------------------------------------------------- the run


class Minimizer:
    """A minimization in progress: iterate :meth:`progress` (or hand it to
    :func:`autodiff_cli.optimize.run.run`), then read :attr:`outcome`."""

    ROW_SECONDS = 1.0
    """A progress row at least this often, whatever the schedule of rows says."""

    def __init__(self, program: ast.Program, start: Mapping[str, float], free: Sequence[str],
                 config: MinimizeConfig | None = None) -> None:
        import numpy as np

        config = config or MinimizeConfig()
        if config.method not in METHODS:
            raise AdcliError(f"unknown method '{config.method}'; choose from {', '.join(METHODS)}")
        for name in ("gtol", "xtol", "ftol"):
            if not getattr(config, name) >= 0.0:
                raise AdcliError(f"{option(name)} must be 0 or more, not {getattr(config, name)!r}")
        if config.max_iter < 0:
            raise AdcliError(f"{option('max_iter')} must be 0 or more")
        if config.history < 1:
            raise AdcliError(f"{option('history')} must be at least 1")
        if not 0.0 < config.c1 < config.c2 < 1.0:
            raise AdcliError(f"the line search needs 0 < {option('c1')} < {option('c2')} < 1")
        if config.radius is not None and not (config.radius > 0.0 and math.isfinite(config.radius)):
            raise AdcliError(f"{option('radius')} must be a positive number")
        if not free:
            raise AdcliError("every variable is fixed: nothing to minimize" if program.variables
                             else "the expression has no variables: nothing to minimize")
        if config.method == "newton" and len(free) > DENSE_LIMIT:
            raise AdcliError(f"newton forms the {len(free)}×{len(free)} Hessian at every step; for more "
                             f"than {DENSE_LIMIT} variables use {option('method')} newton-cg (Hessian-vector "
                             "products) or lbfgs")
        self.program, self.config, self.free = program, config, tuple(free)
        self.bounds = resolve_bounds(config.bounds, program.variables, set(program.variables) - set(free))
        self.box = Box(self.free, self.bounds)
        self.start = {name: float(start[name]) for name in program.variables}
        x0 = np.array([self.start[n] for n in self.free], dtype=np.float64)
        clipped = self.box.clip(x0)
        self.notes: list[str] = []
        for name, before, after in zip(self.free, x0.tolist(), clipped.tolist()):
            if before != after:
                self.notes.append(f"{name} starts at {after!r}, its bound, not at {before!r}")
        self.sign = -1.0 if config.maximize else 1.0
        self.objective = _Objective(program, self.free, self.start, self.sign)
        self.records: list[Record] = []
        self.result: MinimizeResult | None = None
        self._at = _At(clipped, math.nan, np.full(len(self.free), math.nan), None, 0, 0.0, math.nan)
        self._recorded = -1
        self._flat = 0
        self._noise_at: tuple[Any, float] = (None, math.nan)
        self._started = time.perf_counter()

    # -- the state the methods update, in one assignment (so Ctrl-C finds it whole)
    @property
    def _x(self) -> Any:
        return self._at.x

    @property
    def _f(self) -> float:
        return self._at.f

    @property
    def _g(self) -> Any:
        return self._at.g

    @property
    def _h(self) -> Any:
        return self._at.h

    @property
    def _iteration(self) -> int:
        return self._at.iteration

    def _moved(self, x: Any, f: float, g: Any, step: float, radius: float, h: Any = None,
               advance: bool = True) -> None:
        """An iteration is done (``advance``; the first evaluation is not one): the run is now
        at x (the same x after a rejected trust-region step)."""
        self._at = _At(x, f, g, h, self._at.iteration + advance, step, radius)
        self._record()

    def _record(self) -> None:
        every = self.config.record
        if every and self._iteration % every == 0 and self._recorded < self._iteration:
            self.records.append((self._iteration, self.sign * self._f, self._grad_norm(),
                                 *self._x.tolist()))
            self._recorded = self._iteration

    def _projected(self) -> Any:
        return self.box.projected_gradient(self._x, self._g)

    def _grad_norm(self) -> float:
        return _norm(self._projected())

    def _row(self) -> MinimizeRow:
        self._row_made = time.perf_counter()
        return MinimizeRow(self._iteration, self.sign * self._f, self._grad_norm(), self._at.step,
                           self._at.radius, self.objective.counts["function"],
                           dict(zip(self.program.variables, self.objective.full(self._x))))

    def _row_due(self) -> bool:
        k = self._iteration
        return (k < 10 or (k < 100 and k % 10 == 0) or k % 100 == 0
                or time.perf_counter() - self._row_made >= self.ROW_SECONDS)

    # -- convergence tests shared by the methods
    def _converged(self, x_old: Any, f_old: float, limited: bool = False) -> str | None:
        """After an accepted step from (x_old, f_old) to the current point.  A step that a trust
        region ``limited`` is short because of the region, not because the run is near the
        end: its length and the change in f it made say nothing of xtol and ftol."""
        config = self.config
        if self._grad_norm() <= config.gtol:
            return "gtol"
        if limited:
            self._flat = 0
            return None
        # Two such steps in a row: one can be a step across a valley far from its bottom, which
        # hardly changes f when f is large.
        flat = config.ftol > 0.0 and abs(f_old - self._f) <= config.ftol * max(abs(f_old), abs(self._f))
        self._flat = self._flat + 1 if flat else 0
        if self._flat >= 2:
            return "ftol"
        if config.xtol > 0.0 and _small_step(x_old, self._x, config.xtol):
            return "xtol"
        return None

    def _no_progress(self, promised: float | None) -> str:
        """No step decreases f: at a minimum to working precision, or stalled.  Working
        precision when the gradient passes the ``hessian`` command's critical-point test, or
        when the decrease that the exact second-order model ``promised`` (a trust region's;
        None for a quasi-Newton model, which proves nothing) is within a few times the
        rounding error of f here: no comparison of two values of f could then see it."""
        from ..engine.hessian import CRITICAL_GRADIENT

        pg = self._projected()
        if pg.size == 0 or float(abs(pg).max()) <= CRITICAL_GRADIENT * max(1.0, abs(self._f)):
            return "precision"
        if promised is not None and promised <= NOISE_MARGIN * self._noise():
            return "precision"
        return "stalled"

    def _noise(self) -> float:
        """A bound on f's rounding error at the current point: ε·Σ|v·∂f/∂v| over the operations
        that depend on the variables (as ``adcli check`` bounds it), and at least ε·|f|."""
        from ..engine.rounding import EPS, rounding_bound

        if self._noise_at[0] is not self._x:
            bound = rounding_bound(self.program, self.free)(*self.objective.full(self._x))
            self._noise_at = (self._x, max(bound, EPS * abs(self._f)))
        return self._noise_at[1]

    def _tiny(self, length: float) -> bool:
        """A step or radius too small to change x in float64."""
        return length <= 1e-15 * max(1.0, _norm(self._x))

    def _free_step(self, solve: Callable[[Any], tuple[Any, T]]) -> tuple[Any, Any, T | None]:
        """The step in the variables not held at a bound, from ``solve(free)`` (a mask), which
        returns the step's free components and anything else; a variable at a bound that
        the step would push out is held too, and the step computed again.  Returns the mask,
        the whole step, and what ``solve`` gave besides."""
        import numpy as np

        held = self.box.binding(self._x, self._g)
        while True:
            free = ~held
            p, extra = np.zeros_like(self._x), None
            if free.any():
                p[free], extra = solve(free)
            out = self.box.outward(self._x, p)
            if not out.any():
                return free, p, extra
            held = held | out

    # -- the run loop's protocol
    def progress(self) -> Iterator[MinimizeRow | None]:
        """Run the method: a row at the start, after each of the first ten iterations, every
        tenth up to 100, every hundredth after (and at least every ROW_SECONDS), and at the
        end; None after the other iterations."""
        methods = {"newton": self._newton, "bfgs": self._quasi_newton, "lbfgs": self._quasi_newton,
                   "newton-cg": self._newton_cg}
        import numpy as np

        self._row_made = time.perf_counter()
        steps = methods[self.config.method]()
        last = -1
        while True:
            try:
                # inf and nan are handled where they matter (a step refused, a search cut
                # short), so NumPy's warnings about them would only be noise
                with np.errstate(all="ignore"):
                    next(steps)
            except StopIteration as stop:
                reason: str = stop.value
                break
            if self._iteration == 0 or self._row_due():
                last = self._iteration
                yield self._row()
            else:
                yield None
        with np.errstate(all="ignore"):
            self.result = self._result(reason)
        if last != self._iteration:
            yield self._row()

    def interrupt(self) -> MinimizeResult:
        """The result after Ctrl-C: the current point, which is the best so far (every method
        here only ever moves to a lower value)."""
        import numpy as np

        with np.errstate(all="ignore"):
            self.result = self._result("interrupted")
        return self.result

    @property
    def outcome(self) -> MinimizeResult:
        if self.result is None:
            raise RuntimeError("the minimization has not finished")
        return self.result

    # -- the methods: generators that yield after each iteration and return the stop reason
    def _start(self, with_hessian: bool) -> bool:
        """Evaluate at the start; False when something there is not finite."""
        x = self._x
        if with_hessian:
            f, g, h = self.objective.hessian(x)
            self._moved(x, f, g, 0.0, math.nan, h, advance=False)
            return math.isfinite(f) and _finite(g, h)
        f, g = self.objective.value_and_grad(x)
        self._moved(x, f, g, 0.0, math.nan, advance=False)
        return math.isfinite(f) and _finite(g)

    def _newton(self) -> Generator[None, None, str]:
        if not self._start(with_hessian=True):
            return "nonfinite"
        g = self._projected()
        radius = self._first_radius(g, lambda: self._h @ g, self._newton_length)
        yield
        return (yield from self._trust_region(radius, self._exact_subproblem))

    def _first_radius(self, g: Any, hg: Callable[[], Any],
                      newton: Callable[[], float | None] | None = None) -> float:
        """The configured radius; by default one on the problem's own scale rather than a fixed
        1: the length of the Newton step where the Hessian is positive definite (``newton()``;
        so a quadratic is minimized in one step), else of the Cauchy step, the minimizer of the
        model along -g, ‖g‖³/gᵀHg (``hg()`` is H·g), or ‖g‖ where the curvature along g is not
        positive."""
        radius = self.config.radius
        if radius is None:
            radius = newton() if newton is not None else None
            if radius is None:
                curvature, norm = float(g @ hg()), _norm(g)
                radius = norm ** 3 / curvature if curvature > 0.0 else norm
            if not (math.isfinite(radius) and radius > 0.0):
                radius = 1.0
        self._at = self._at._replace(radius=radius)
        return radius

    def _newton_length(self) -> float | None:
        """‖H⁻¹g‖ over the free variables when H is positive definite there, else None."""
        import numpy as np

        free = ~self.box.binding(self._x, self._g)
        h = self._h[np.ix_(free, free)]
        eigenvalues, vectors = np.linalg.eigh((h + h.T) / 2.0)
        if not (eigenvalues.size and eigenvalues[0] > 0.0):
            return None
        return _norm(vectors @ ((vectors.T @ self._g[free]) / eigenvalues))

    def _free_all(self) -> Any:
        import numpy as np

        return np.ones(len(self.free), dtype=bool)

    def _steepest_step(self, radius: float) -> Step:
        """The Cauchy step along the projected gradient (which never points out of the box):
        the step when the model's own step would leave the box in every variable it could move."""
        d = -self._projected()
        hd = self._h @ d if self._h is not None else self.objective.product(self._x, d)
        curvature, length = float(d @ hd), _norm(d)
        tau = radius / length if length > 0.0 else 0.0
        if curvature > 0.0:
            tau = min(tau, float(d @ d) / curvature)
        return Step(tau * d, tau * hd, float(tau * (self._g @ d) + 0.5 * tau * tau * curvature),
                    tau * length >= radius, curvature <= 0.0)

    def _exact_subproblem(self, free: Any, radius: float) -> Step:
        import numpy as np

        h = self._h[np.ix_(free, free)]
        eigenvalues, vectors = np.linalg.eigh((h + h.T) / 2.0)
        return exact_step(self._g[free], eigenvalues, vectors, radius)

    def _newton_cg(self) -> Generator[None, None, str]:
        if not self._start(with_hessian=False):
            return "nonfinite"
        g = self._projected()
        radius = self._first_radius(g, lambda: self.objective.product(self._x, g))
        yield
        return (yield from self._trust_region(radius, self._cg_subproblem))

    def _cg_subproblem(self, free: Any, radius: float) -> Step:
        import numpy as np

        x = self._x
        g = self._g[free]

        def product(v: Any) -> Any:
            full = np.zeros_like(x)
            full[free] = v
            return self.objective.product(x, full)[free]

        gnorm = _norm(g)
        tolerance = min(0.5, math.sqrt(gnorm)) * gnorm  # superlinear near the minimum
        return steihaug_step(g, product, radius, tolerance, max_products=max(10, 2 * int(free.sum())))

    def _trust_region(self, radius: float, subproblem: Any) -> Generator[None, None, str]:
        """The trust-region loop around a subproblem solver ``subproblem(free, radius)``."""
        config, box, objective = self.config, self.box, self.objective
        dense = config.method == "newton"
        very_good_in_a_row = 0
        refused = 0.0  # the decrease the first of the latest run of rejected steps promised
        while True:
            if self._grad_norm() <= config.gtol:
                return "gtol"
            if self._iteration >= config.max_iter:
                return "max_iter"
            free, p, step = self._free_step(functools.partial(_solved, subproblem, radius))
            if step is None or not step.predicted < 0.0:
                # The model's step would leave the box in every variable that could move, or the
                # variables it leaves free offer no decrease: along the projected gradient instead.
                free, step = self._free_all(), self._steepest_step(radius)
                p = step.p
            # A step that would cross a bound is cut short at it; the model tells what the
            # shorter step should gain.
            alpha_max = box.max_step(self._x, p)
            alpha = min(1.0, alpha_max)
            predicted = step.predicted if alpha == 1.0 else float(
                alpha * (self._g @ p) + 0.5 * alpha * alpha * (p[free] @ step.hp))
            length = alpha * _norm(p)
            if not predicted < 0.0:  # the model has no decrease to offer
                return self._no_progress(0.0)
            x_new = box.step(self._x, p, alpha, alpha_max)
            f_new = objective.value(x_new)
            rho = (f_new - self._f) / predicted if math.isfinite(f_new) else -math.inf
            if rho >= ACCEPT:
                if dense:
                    f_new, g_new, h_new = objective.hessian(x_new, new_point=False)
                    good = math.isfinite(f_new) and _finite(g_new, h_new)
                else:
                    g_new = objective.value_and_grad(x_new)[1]
                    objective.counts["function"] -= 1  # f at x_new is counted already
                    h_new, good = None, _finite(g_new)
                if not good:  # f is finite there, its derivatives are not: as if f were not
                    rho = -math.inf
            if rho < ACCEPT:  # rejected: a smaller region
                refused = refused or -predicted
                radius = TRUST_SHRINK * length
                very_good_in_a_row = 0
                self._moved(self._x, self._f, self._g, 0.0, radius, self._h)
                yield
                # A decrease too small to see in f's rounding: smaller steps promise less.
                if self._tiny(radius) or -predicted <= NOISE_MARGIN * self._noise():
                    return self._no_progress(refused)
                continue
            refused = 0.0
            x_old, f_old = self._x, self._f
            on_boundary = step.boundary and alpha == 1.0
            if rho < 0.25:
                radius = TRUST_SHRINK * length
            elif rho > 0.75 and on_boundary:
                radius = TRUST_GROW * radius
            self._moved(x_new, f_new, g_new, _norm(x_new - x_old), radius, h_new)
            yield
            if f_new < -LIMIT:
                return "unbounded"
            # f follows the model out to the boundary step after step: look further along the
            # last step at once (where f is unbounded below, doubling the radius would take
            # a thousand steps to show it).
            if rho <= 0.9:
                very_good_in_a_row = 0
            elif on_boundary:  # (a very good step inside the region neither counts nor resets)
                very_good_in_a_row += 1
            if very_good_in_a_row >= PROBE_AFTER:
                very_good_in_a_row = 0
                if self._probe(x_new - x_old):
                    return "unbounded"
                if dense and self._x is not x_new:
                    h_new = objective.hessian(self._x, new_point=False)[2]
                    objective.counts["gradient"] -= 1  # the search has the gradient there
                    self._at = self._at._replace(h=h_new)
                radius = max(radius, _norm(self._x - x_new))
            reason = self._converged(x_old, f_old, limited=on_boundary or alpha < 1.0)
            if reason is not None:
                return reason

    def _probe(self, direction: Any) -> bool:
        """A line search along ``direction`` from the current point: True if f keeps falling
        along it (unbounded below, it seems); otherwise the run moves to the step the search
        accepts, if any."""
        slope = float(self._g @ direction)
        if not slope < 0.0:
            return False
        alpha_max = self.box.max_step(self._x, direction)
        search = strong_wolfe(self._phi(direction, alpha_max), self._f, slope, 1.0,
                              c1=self.config.c1, c2=self.config.c2, alpha_max=alpha_max)
        if search.extra is not None and (search.accepted or search.status == "unbounded"):
            x, g = search.extra
            self._moved(x, search.value, g, _norm(x - self._x), self._at.radius, self._h)
        return search.status == "unbounded"

    def _phi(self, direction: Any, alpha_max: float) -> Any:
        """φ(α) = f(x + α·d) for the line search, with its slope and (point, gradient)."""
        import numpy as np

        x0, box, objective = self._x, self.box, self.objective

        def phi(alpha: float) -> tuple[float, float, Any]:
            x = box.step(x0, direction, alpha, alpha_max)
            f, g = objective.value_and_grad(x)
            with np.errstate(all="ignore"):  # an overflow is a non-finite slope: step shorter
                slope = float(g @ direction)
            return f, slope, (x, g)

        return phi

    def _quasi_newton(self) -> Generator[None, None, str]:
        import numpy as np

        config, box = self.config, self.box
        if not self._start(with_hessian=False):
            return "nonfinite"
        yield
        n = len(self.free)
        limited = config.method == "lbfgs"
        inverse: Any = None  # bfgs: the inverse Hessian approximation (None: the identity)
        pairs: deque[tuple[Any, Any, float]] = deque(maxlen=config.history)  # lbfgs: (s, y, 1/s·y)
        first = True
        while True:
            if self._grad_norm() <= config.gtol:
                return "gtol"
            if self._iteration >= config.max_iter:
                return "max_iter"
            g = self._g
            memory = pairs if limited else None
            _, d, _ = self._free_step(functools.partial(_quasi_newton_step, g, inverse, memory))
            slope = float(g @ d)
            if not slope < 0.0:  # rounding has spoilt the approximation: start it again
                inverse, first = None, True
                pairs.clear()
                _, d, _ = self._free_step(functools.partial(_quasi_newton_step, g, None, None))
                slope = float(g @ d)
                if not slope < 0.0:
                    return self._no_progress(None)
            alpha_max = box.max_step(self._x, d)
            # The first step is as long as the gradient is steep (its length is 1 at most);
            # after it, the quasi-Newton step's natural length, 1.
            alpha0 = min(1.0, 1.0 / _norm(d)) if first else 1.0
            search = strong_wolfe(self._phi(d, alpha_max), self._f, slope, alpha0,
                                  c1=config.c1, c2=config.c2, alpha_max=alpha_max)
            if not search.accepted and search.status != "unbounded":
                return self._no_progress(None)
            if search.extra is None:
                return "unbounded"
            x_new, g_new = search.extra
            x_old, f_old, g_old = self._x, self._f, self._g
            self._moved(x_new, search.value, g_new, _norm(x_new - x_old), search.alpha)
            yield
            if search.status == "unbounded":
                return "unbounded"
            s, y = x_new - x_old, g_new - g_old
            sy = float(s @ y)
            # Skip an update that would lose positive definiteness (only possible after a
            # step cut short at a bound, where the curvature condition is not enforced).
            if sy > 1e-10 * _norm(s) * _norm(y):
                if limited:
                    pairs.append((s, y, 1.0 / sy))
                else:
                    if inverse is None:
                        # The identity, as scipy's BFGS starts.  Scaling it by s·y/y·y after
                        # the first step (Nocedal & Wright, 6.20) shrinks every direction that
                        # step did not see: on Meyer's function the run then stalls far from
                        # the minimum (benchmarks/bench_minimize.py).
                        inverse = np.eye(n)
                    rho = 1.0 / sy
                    hy = inverse @ y
                    inverse = (inverse - rho * (np.outer(hy, s) + np.outer(s, hy))
                               + (rho * rho * float(y @ hy) + rho) * np.outer(s, s))
                first = False
            reason = self._converged(x_old, f_old)
            if reason is not None:
                return reason

    # -- the result
    def _result(self, reason: str) -> MinimizeResult:
        x, f = self._x, self.sign * self._f
        gradient = dict(zip(self.free, (self.sign * self._g).tolist()))
        eigenvalues, definiteness, classification = self._classify(reason)
        message = STOP_REASONS[reason]
        if reason == "nonfinite":
            from ..engine.gradient import gradient_at

            point = dict(zip(self.program.variables, self.objective.full(x)))
            where = gradient_at(self.program, point, self.free)[0].nonfinite
            message += f"; the first came from {where}" if where else \
                " (the Hessian is not; bfgs and lbfgs do without it)"
        if reason in CONVERGED:
            kind = classification.split(":")[0]
            wanted = "local maximum" if self.config.maximize else "local minimum"
            if kind in ("saddle point", "local minimum", "local maximum") and kind != wanted:
                message += f"; but this is a {kind}, not a {wanted.split()[1]}"
        return MinimizeResult(
            expression=self.program.source, method=self.config.method, settings=self.config.settings(),
            start=dict(self.start), point=dict(zip(self.program.variables, self.objective.full(x))),
            value=f, gradient=gradient, grad_norm=self._grad_norm(), iterations=self._iteration,
            evaluations=self.objective.evaluations(), stop_reason=reason, message=message,
            eigenvalues=eigenvalues, definiteness=definiteness, classification=classification,
            maximize=self.config.maximize, bounds=dict(self.bounds), active_bounds=self.box.active(x),
            notes=tuple(self.notes), elapsed=time.perf_counter() - self._started)

    def _classify(self, reason: str) -> tuple[tuple[float, ...] | None, str, str]:
        """The Hessian's eigenvalues over the variables not held at a bound, its definiteness,
        and what that makes the point (engine/hessian's words)."""
        counts = dict(self.objective.counts)  # the method's work, not the classification's
        try:
            return self._classified(reason)
        finally:
            self.objective.counts.update(counts)

    def _classified(self, reason: str) -> tuple[tuple[float, ...] | None, str, str]:
        import numpy as np

        from ..engine.hessian import CRITICAL_GRADIENT, classification, classify, eigenvalues_of

        x = self._x
        n = len(self.free)
        if reason == "unbounded":
            return None, "not computed", "no minimum: f keeps falling along the run's last direction"
        if not (math.isfinite(self._f) and _finite(self._g)):
            return None, "undefined", "inconclusive: f or its gradient is not finite here"
        if n > CLASSIFY_LIMIT:
            return None, "not computed", f"not classified: more than {CLASSIFY_LIMIT} variables"
        if reason == "interrupted" and self._h is None and n > 60:  # Ctrl-C should not wait
            return None, "not computed", "not classified: interrupted"
        if self._h is not None:
            h = self._h
        elif n <= 60:
            h = self.objective.hessian(x, new_point=False)[2]
        else:
            h = np.column_stack([self.objective.product(x, e) for e in np.eye(n)])
        h = self.sign * h  # the user's f, not the minimized one
        free = ~self.box.binding(x, self._g)
        if not free.any():
            return (), "empty", ("local maximum: every variable is held at a bound" if self.config.maximize
                                 else "local minimum: every variable is held at a bound")
        reduced = h[np.ix_(free, free)]
        if not _finite(reduced):
            return None, "undefined", classification("undefined", False)
        eigenvalues = eigenvalues_of(reduced.tolist())
        definiteness = classify(eigenvalues)
        pg = self._projected()
        critical = reason in CONVERGED or bool(
            float(abs(pg).max()) <= CRITICAL_GRADIENT * max(1.0, abs(self._f)))
        return eigenvalues, definiteness, classification(definiteness, critical)


def _solved(subproblem: Callable[[Any, float], Step], radius: float, free: Any) -> tuple[Any, Step]:
    step = subproblem(free, radius)
    return step.p, step


def _quasi_newton_step(g: Any, inverse: Any, pairs: Sequence[tuple[Any, Any, float]] | None,
                       free: Any) -> tuple[Any, None]:
    """-H·g over the free variables: L-BFGS's two loops (with ``pairs``), the BFGS matrix, or
    (neither) the identity."""
    import numpy as np

    if pairs is not None:
        return -_two_loop(g, free, pairs), None
    if inverse is None:
        return -g[free], None
    return -(inverse[np.ix_(free, free)] @ g[free]), None


def _small_step(before: Any, after: Any, xtol: float) -> bool:
    """Every variable moved by at most xtol times its size (so a variable of size 1e-5 is
    judged on its own scale, not against one of size 1e4)."""
    import numpy as np

    return bool(np.all(np.abs(after - before) <= xtol * np.maximum(np.abs(after), np.abs(before))))


def _two_loop(g: Any, free: Any, pairs: Sequence[tuple[Any, Any, float]]) -> Any:
    """H·g over the free variables by L-BFGS's two-loop recursion (the pairs restricted to
    them; a pair whose restriction has lost positive curvature is left out)."""
    q = g[free].copy()
    kept = []
    for s, y, _ in pairs:
        sf, yf = s[free], y[free]
        sy = float(sf @ yf)
        if sy > 1e-10 * _norm(sf) * _norm(yf):
            kept.append((sf, yf, 1.0 / sy))
    alphas = []
    for s, y, rho in reversed(kept):
        a = rho * float(s @ q)
        alphas.append(a)
        q = q - a * y
    if kept:
        s, y, rho = kept[-1]
        q = q * (1.0 / (rho * float(y @ y)))  # γ = s·y / y·y
    for (s, y, rho), a in zip(kept, reversed(alphas)):
        b = rho * float(y @ q)
        q = q + (a - b) * s
    return q


def minimize_program(program: ast.Program, start: Mapping[str, float], free: Sequence[str] | None = None,
                     config: MinimizeConfig | None = None,
                     sinks: Sequence[Sink] = ()) -> tuple[MinimizeResult, bool]:
    """Minimize ``program`` from ``start`` over the variables ``free`` (default: all; the
    others stay at their start values): the result, and whether Ctrl-C ended the run.

    Progress rows and the trajectory's records go to ``sinks`` (see
    :mod:`autodiff_cli.optimize.run`); ask for records with ``config.record``.
    """
    names = program.variables if free is None else tuple(free)
    return run(Minimizer(program, start, names, config), sinks)


def minimize(expression: str, method: str = DEFAULT_METHOD, *, bounds: Mapping[str, BoundSpec] | None = None,
             fix: Sequence[str] = (), init: float | None = None, maximize: bool = False,
             gtol: float = GTOL, xtol: float = XTOL, ftol: float = FTOL, max_iter: int = MAX_ITER,
             history: int = HISTORY, **values: float) -> MinimizeResult:
    """Minimize ``expression`` from the point given as keywords (variables without one
    start at ``init``); ``fix`` names variables to hold at their values.

    >>> r = minimize("(1-x)^2 + 100*(y-x^2)^2", x=-1.2, y=1)
    >>> r.stop_reason, r.classification, round(r.point["x"], 9), round(r.point["y"], 9)
    ('gtol', 'local minimum', 1.0, 1.0)
    """
    from ..language.inputs import check_names, resolve_point
    from ..language.parser import parse

    program = parse(expression)
    start = resolve_point(program.variables, values.items(), init,
                          f"; or give every variable without one a start value with {option('init')}")
    check_names(fix, program.variables, "fixed")
    free = tuple(n for n in program.variables if n not in set(fix))
    checked = resolve_bounds(bounds, program.variables, fix)
    config = MinimizeConfig(method=method, gtol=gtol, xtol=xtol, ftol=ftol, max_iter=max_iter,
                            maximize=maximize, bounds=checked, history=history)
    return minimize_program(program, start, free, config)[0]


__all__ = ["DEFAULT_METHOD", "METHODS", "STOP_REASONS", "Evaluations", "MinimizeConfig", "MinimizeResult",
           "MinimizeRow", "Minimizer", "minimize", "minimize_program"]
