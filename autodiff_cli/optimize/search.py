"""A minimization in progress, over any :class:`autodiff_cli.optimize.objective.Objective`:
the state the methods update, the tests they share, and the run loop's protocol.

The methods themselves are generators over a :class:`Search` that yield after each
iteration and return the stop reason: the trust-region Newton methods
(:mod:`autodiff_cli.optimize.newton`) and the quasi-Newton ones
(:mod:`autodiff_cli.optimize.quasi_newton`).  A caller that wants its own rows or result
(``adcli minimize``'s :class:`autodiff_cli.optimize.minimize.Minimizer`, a fit's
:class:`autodiff_cli.fit.minimizers.MinimizerFit`) overrides :meth:`Search.point` or
:meth:`Search.finish`, or wraps the search.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from ..errors import AdcliError, option
from .bounds import Box
from .linesearch import LIMIT, LineSearch, strong_wolfe
from .minimize_result import METHODS, MinimizeConfig, MinimizeRow
from .objective import Counted, Objective
from .run import Record, row_due

T = TypeVar("T")

DENSE_LIMIT = 400
"""``newton`` writes n tangent sweeps for the Hessian and decomposes it at every step; past
this many variables it is refused in favour of ``newton-cg``."""

NOISE_MARGIN = 10.0
"""A step that promises to lower f by less than this many times f's rounding error cannot be
told from no step: the run has converged to working precision."""

Steps = Callable[["Search"], Generator[None, None, str]]
"""A method: iterations over a search, ending with the stop reason."""


class At(NamedTuple):
    """Where a run is: the point and f, ∇f, ∇²f there (over the free variables, as minimized),
    after how many iterations, the last step's length and the radius (or α)."""

    x: Any
    f: float
    g: Any
    h: Any
    iteration: int
    step: float
    radius: float


def finite(*arrays: Any) -> bool:
    import numpy as np

    return all(bool(np.all(np.isfinite(a))) for a in arrays)


def norm(v: Any) -> float:
    """The 2-norm, as descend's rows compute it (math.hypot: no overflow, correctly rounded)."""
    return math.hypot(*v.tolist())


def check_config(config: MinimizeConfig) -> None:
    """The settings, each in its range."""
    if config.method not in METHODS:
        raise AdcliError(f"unknown method '{config.method}'; choose from {', '.join(METHODS)}")
    for name in ("gtol", "xtol", "ftol"):
        value = getattr(config, name)
        if not (value >= 0.0 and math.isfinite(value)):
            raise AdcliError(f"{option(name)} must be a finite number, 0 or more, not {value!r}"
                             + (" (a tolerance of inf would call any point converged)"
                                if value == math.inf else ""))
    steps: object = config.max_iter  # (from Python it may be anything)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise AdcliError(f"{option('max_iter')} must be a whole number, not {config.max_iter!r}")
    if config.max_iter < 0:
        raise AdcliError(f"{option('max_iter')} must be 0 or more")
    if config.history < 1:
        raise AdcliError(f"{option('history')} must be at least 1")
    if not 0.0 < config.c1 < config.c2 < 1.0:
        raise AdcliError(f"the line search needs 0 < {option('c1')} < {option('c2')} < 1")
    if config.radius is not None and not (config.radius > 0.0 and math.isfinite(config.radius)):
        raise AdcliError(f"{option('radius')} must be a positive number")


class Search:
    """Minimizes ``objective`` over the variables ``names`` from ``x0`` inside the box of
    ``bounds``: iterate :meth:`progress` (or hand a subclass that makes a result to
    :func:`autodiff_cli.optimize.run.run`)."""

    def __init__(self, objective: Objective, names: Sequence[str], x0: Sequence[float],
                 config: MinimizeConfig, bounds: Mapping[str, tuple[float, float]],
                 every: int | None = None) -> None:
        import numpy as np

        check_config(config)
        self.config, self.free, self.every = config, tuple(names), every
        self.sign = -1.0 if config.maximize else 1.0
        self.objective = Counted(objective, self.sign)
        if config.method == "newton" and len(self.free) > DENSE_LIMIT:
            raise AdcliError(f"newton forms the {len(self.free)}×{len(self.free)} Hessian at every step; "
                             f"for more than {DENSE_LIMIT} variables use {option('method')} newton-cg "
                             "(Hessian-vector products) or lbfgs")
        if config.method == "newton" and not self.objective.has_hessian:
            raise AdcliError("newton needs the Hessian, which this objective does not give; choose "
                             "newton-cg, bfgs or lbfgs")
        if config.method == "newton-cg" and not self.objective.has_product:
            raise AdcliError("newton-cg needs Hessian-vector products, which this objective does not "
                             "give; choose bfgs or lbfgs")
        self.box = Box(self.free, bounds)
        clipped, self.notes = self.box.start(np.array(x0, dtype=np.float64))
        self.records: list[Record] = []
        self.reason: str | None = None
        self.at = At(clipped, math.nan, np.full(len(self.free), math.nan), None, 0, 0.0, math.nan)
        self._recorded = -1
        self._flat = 0
        self._noise_at: tuple[Any, float] = (None, math.nan)
        self._start_f = math.nan
        self.started = time.perf_counter()
        self._row_made = self.started

    # -- the state the methods update, in one assignment (so Ctrl-C finds it whole)
    @property
    def x(self) -> Any:
        return self.at.x

    @property
    def f(self) -> float:
        return self.at.f

    @property
    def g(self) -> Any:
        return self.at.g

    @property
    def h(self) -> Any:
        return self.at.h

    @property
    def iteration(self) -> int:
        return self.at.iteration

    def moved(self, x: Any, f: float, g: Any, step: float, radius: float, h: Any = None,
              advance: bool = True) -> None:
        """An iteration is done (``advance``; the first evaluation is not one): the run is now
        at x (the same x after a rejected trust-region step)."""
        self.at = At(x, f, g, h, self.at.iteration + advance, step, radius)
        self._record()

    def _record(self) -> None:
        every = self.config.record
        if every and self.iteration % every == 0 and self._recorded < self.iteration:
            self.records.append((self.iteration, self.sign * self.f, self.grad_norm(), *self.x.tolist()))
            self._recorded = self.iteration

    def projected(self) -> Any:
        return self.box.projected_gradient(self.x, self.g)

    def grad_norm(self) -> float:
        return norm(self.projected())

    def point(self, x: Any) -> dict[str, float]:
        """The values by name at x, for a row (every variable's, for a subclass that holds
        some fixed)."""
        return dict(zip(self.free, x.tolist()))

    def row(self) -> MinimizeRow:
        self._row_made = time.perf_counter()
        return MinimizeRow(self.iteration, self.sign * self.f, self.grad_norm(), self.at.step,
                           self.at.radius, self.objective.counts["function"], self.point(self.x))

    def _row_due(self) -> bool:
        return row_due(self.iteration, self.every, time.perf_counter() - self._row_made)

    # -- convergence tests shared by the methods
    def converged(self, x_old: Any, f_old: float, limited: bool = False) -> str | None:
        """After an accepted step from (x_old, f_old) to the current point.  A step that a trust
        region ``limited`` is short because of the region, not because the run is near the
        end: its length and the change in f it made say nothing of xtol and ftol."""
        config = self.config
        if self.grad_norm() <= config.gtol:
            return "gtol"
        if limited:
            self._flat = 0
            return None
        # Two such steps in a row: one can be a step across a valley far from its bottom, which
        # hardly changes f when f is large.
        flat = config.ftol > 0.0 and abs(f_old - self.f) <= config.ftol * max(abs(f_old), abs(self.f))
        self._flat = self._flat + 1 if flat else 0
        if self._flat >= 2:
            return "ftol"
        if config.xtol > 0.0 and small_step(x_old, self.x, config.xtol):
            return "xtol"
        return None

    def no_progress(self, promised: float | None) -> str:
        """No step decreases f: at a minimum to working precision, or stalled.  Working
        precision when the gradient passes the ``hessian`` command's critical-point test, or
        when the decrease that the exact second-order model ``promised`` (a trust region's;
        None for a quasi-Newton model, which proves nothing) is within a few times the
        rounding error of f here: no comparison of two values of f could then see it."""
        from ..engine.hessian import CRITICAL_GRADIENT

        pg = self.projected()
        if pg.size == 0 or float(abs(pg).max()) <= CRITICAL_GRADIENT * max(1.0, abs(self.f)):
            return "precision"
        if promised is not None and promised <= NOISE_MARGIN * self.noise():
            return "precision"
        return "stalled"

    def noise(self) -> float:
        """A bound on f's rounding error at the current point: the objective's own (for an
        expression, ε·Σ|v·∂f/∂v| over the operations that depend on the variables, as
        ``adcli check`` bounds it), and at least ε·|f|."""
        from ..engine.rounding import EPS

        if self._noise_at[0] is not self.x:
            self._noise_at = (self.x, max(self.objective.rounding(self.x), EPS * abs(self.f)))
        return self._noise_at[1]

    def unbounded(self) -> bool:
        """f has fallen below -LIMIT (risen above it, maximized) on the way from the start: it
        counts as unbounded, whatever the method (so every method stops there, before f
        overflows)."""
        return self.f < -LIMIT and self.iteration > 0 and self.f < self._start_f

    def tiny(self, length: float) -> bool:
        """A step or radius too small to change x in float64."""
        return length <= 1e-15 * max(1.0, norm(self.x))

    def free_step(self, solve: Callable[[Any], tuple[Any, T]]) -> tuple[Any, Any, T | None]:
        """The step in the variables not held at a bound, from ``solve(free)`` (a mask), which
        returns the step's free components and anything else; a variable at a bound that
        the step would push out is held too, and the step computed again.  Returns the mask,
        the whole step, and what ``solve`` gave besides."""
        import numpy as np

        held = self.box.binding(self.x, self.g)
        while True:
            free = ~held
            p, extra = np.zeros_like(self.x), None
            if free.any():
                p[free], extra = solve(free)
            out = self.box.outward(self.x, p)
            if not out.any():
                return free, p, extra
            held = held | out

    def line_search(self, direction: Any, slope: float, alpha0: float) -> LineSearch:
        """A strong Wolfe line search from the current point along ``direction`` (where f's
        slope is ``slope``), cut short at the box; its ``extra`` is (point, gradient)."""
        import numpy as np

        x0, box, objective = self.x, self.box, self.objective
        alpha_max = box.max_step(x0, direction)

        def phi(alpha: float) -> tuple[float, float, Any]:
            x = box.step(x0, direction, alpha, alpha_max)
            f, g = objective.value_and_grad(x)
            with np.errstate(all="ignore"):  # an overflow is a non-finite slope: step shorter
                slope = float(g @ direction)
            return f, slope, (x, g)

        return strong_wolfe(phi, self.f, slope, alpha0, c1=self.config.c1, c2=self.config.c2,
                            alpha_max=alpha_max)

    def begin(self, with_hessian: bool) -> bool:
        """Evaluate at the start; False when something there is not finite."""
        x = self.x
        if with_hessian:
            f, g, h = self.objective.hessian(x)
            self.moved(x, f, g, 0.0, math.nan, h, advance=False)
            self._start_f = f
            return math.isfinite(f) and finite(g, h)
        f, g = self.objective.value_and_grad(x)
        self.moved(x, f, g, 0.0, math.nan, advance=False)
        self._start_f = f
        return math.isfinite(f) and finite(g)

    # -- the run
    def progress(self) -> Iterator[MinimizeRow | None]:
        """Run the method: a row at the start, at the iterations :func:`~.run.row_due` picks
        and at the end; None after the other iterations."""
        import numpy as np

        from .newton import newton, newton_cg
        from .quasi_newton import quasi_newton

        methods: dict[str, Steps] = {"newton": newton, "bfgs": quasi_newton, "lbfgs": quasi_newton,
                                     "newton-cg": newton_cg}
        self._row_made = time.perf_counter()
        steps = methods[self.config.method](self)
        last = -1
        while True:
            try:
                # inf and nan are handled where they matter (a step refused, a search cut
                # short), so NumPy's warnings about them would only be noise
                with np.errstate(all="ignore"):
                    next(steps)
            except StopIteration as stop:
                reason: str = stop.value
                if reason not in ("nonfinite", "unbounded") and self.unbounded():
                    reason = "unbounded"  # (a method's last move, a probe say, went past the limit)
                break
            if self.unbounded():
                steps.close()
                reason = "unbounded"
                if self.iteration == 0 or self._row_due():
                    last = self.iteration
                    yield self.row()
                else:
                    yield None
                break
            if self.iteration == 0 or self._row_due():
                last = self.iteration
                yield self.row()
            else:
                yield None
        with np.errstate(all="ignore"):
            self.finish(reason)
        if last != self.iteration:
            yield self.row()

    def finish(self, reason: str) -> None:
        """The run has ended (or been interrupted) for ``reason``: a subclass makes its result here."""
        self.reason = reason

    def stop(self) -> None:
        """After Ctrl-C: the current point is the best so far (every method here only ever
        moves to a lower value)."""
        import numpy as np

        with np.errstate(all="ignore"):
            self.finish("interrupted")


def small_step(before: Any, after: Any, xtol: float) -> bool:
    """Every variable moved by at most xtol times its size (so a variable of size 1e-5 is
    judged on its own scale, not against one of size 1e4)."""
    import numpy as np

    return bool(np.all(np.abs(after - before) <= xtol * np.maximum(np.abs(after), np.abs(before))))


__all__ = ["DENSE_LIMIT", "At", "Search", "check_config", "finite", "norm", "small_step"]
