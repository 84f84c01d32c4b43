"""A fit ready to run: its settings, the model, the start, and the rows (read whole, or
left in the file to stream), all checked before any work starts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import option
from ..optimize.bounds import Box, parse_bounds
from ..optimize.loop import Row
from ..optimize.optimizers import OPTIMIZERS, settings_of
from .data import Source, read_table
from .model import FitError, FitModel
from .rows import Rows, check_rows, make_rows

FitRow = Row
"""A fit's progress at one iteration or epoch: descend's row (the point after it, the loss,
the gradient's norm, the step size: λ for Levenberg–Marquardt, the trust radius or line
search step for the minimize methods) with the held-out loss."""


@dataclass(frozen=True, slots=True)
class FitConfig:
    """How to fit: the target, the loss, the method and its settings."""

    target: str | None = None
    """A column, or an expression of columns (``log(y)``); default: the column ``y``."""
    sigma: str | None = None
    """A column of per-row standard deviations: residuals are divided by it."""
    loss: str = "mse"
    delta: float = 1.0
    """huber: where the loss turns from quadratic to linear."""
    l2: float = 0.0
    """Adds l2·Σ b² to the mean loss."""
    optimizer: str | None = None
    """``lm`` (least squares; the default for mse), one of ``adcli minimize``'s methods
    (``lbfgs``, the default for other smooth losses; ``bfgs``, ``newton``, ``newton-cg``), or
    a descent optimizer (``adam``, the default for a loss with kinks such as mae)."""
    hyper: dict[str, float] = field(default_factory=dict)
    iterations: int = 1000
    """Levenberg–Marquardt and the minimize methods: the most iterations."""
    ftol: float = 1e-14
    """Levenberg–Marquardt's tests (see :class:`autodiff_cli.fit.leastsq.LMSettings`); ftol and
    xtol are also the minimize methods' (:class:`autodiff_cli.optimize.minimize.MinimizeConfig`)."""
    xtol: float = 1e-12
    gtol: float = 0.0
    epochs: int = 1000
    """Descent optimizers: passes over the data."""
    batch_size: int | None = None
    """Mini-batches of this many rows, streamed from the file; None: the whole data each step."""
    seed: int = 0
    validation: float = 0.0
    """The fraction of rows held out, whose loss is shown as the fit goes."""
    tol: float = 1e-8
    """Descent optimizers on whole data and the minimize methods: stop when the gradient's norm
    falls below this."""
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    drop_missing: bool = False
    reader: str = "auto"
    every: int | None = None
    """A progress row every this many iterations or epochs (default: about 20 rows)."""
    record: bool = False
    """Keep (step, loss, gradient norm, parameters) per iteration or epoch, for the trajectory."""

    def method(self, model: FitModel) -> str:
        if self.optimizer is not None:
            return self.optimizer
        if model.least_squares:
            return "lm"
        return "lbfgs" if model.smooth else "adam"


@dataclass(eq=False)
class Problem:
    """A fit ready to run: the model, where the rows come from, the start and the settings."""

    model: FitModel
    source: Source
    start: dict[str, float]
    config: FitConfig
    rows: Rows | None = None
    """The fitted rows, in memory (None when they stream from the file)."""
    validation: Rows | None = None
    dropped: int = 0
    notes: tuple[str, ...] = ()
    """What was changed from the settings as given (a start moved onto its bound)."""

    @property
    def method(self) -> str:
        return self.config.method(self.model)

    @property
    def streaming(self) -> bool:
        return self.rows is None


def check_settings(config: FitConfig) -> None:
    """The counts and tolerances, each in its range, under fit's own names (the minimize
    methods take tol as their gtol: a bad --tol must not be reported as --gtol)."""
    for name in ("tol", "ftol", "xtol", "gtol"):
        value = getattr(config, name)
        if not value >= 0.0:
            raise FitError(f"{option(name)} must be 0 or more, not {value!r}")
        if value == math.inf:
            raise FitError(f"{option(name)} must be finite, not inf: a tolerance of inf would call any "
                           "point converged")
    counts = (("iterations", config.iterations, 1), ("epochs", config.epochs, 0), ("seed", config.seed, 0),
              ("batch_size", config.batch_size, 1), ("every", config.every, 1))
    for name, count, least in counts:
        if count is None:
            continue
        if isinstance(count, bool) or not isinstance(count, int):
            raise FitError(f"{option(name)} must be a whole number, not {count!r}")
        if count < least:
            raise FitError(f"{option(name)} must be {'at least 1' if least else '0 or more'}, not {count}")


def prepare(model: FitModel, source: Source, start: dict[str, float], config: FitConfig) -> Problem:
    """Check the settings, then read the data (whole, unless mini-batches stream it)."""
    import numpy as np

    from .methods import METHODS

    method = config.method(model)
    if method != "lm" and method not in OPTIMIZERS and method not in METHODS:
        raise FitError(
            f"unknown optimizer '{method}'; choose lm (least squares), {', '.join(METHODS)}, or a "
            f"descent optimizer: {', '.join(OPTIMIZERS)}"
        )
    if method == "lm" and not model.least_squares:
        raise FitError(
            f"lm fits least squares (the mse loss), not {model.loss}; choose another method with "
            f"{option('optimizer')} ({', '.join(METHODS)}, or a descent optimizer: {', '.join(OPTIMIZERS)})"
        )
    if method in OPTIMIZERS:
        settings_of(method, config.hyper)
    else:
        what = "least squares (lm)" if method == "lm" else method
        if config.batch_size is not None:
            raise FitError(
                f"{what} uses every row at every iteration; {option('batch_size')} "
                f"is for the descent optimizers ({', '.join(OPTIMIZERS)})"
            )
        if config.hyper:
            raise FitError(
                f"{method} takes no {', '.join(sorted(config.hyper))}; those are the descent "
                "optimizers' settings"
            )
    check_settings(config)
    if not 0.0 <= config.validation < 1.0:
        raise FitError(f"{option('validation')} is a fraction of the rows, at least 0 and below 1")
    if not config.delta > 0 or not math.isfinite(config.delta):
        raise FitError(f"{option('delta')} is where huber turns linear: a positive number")
    if config.l2 < 0 or not math.isfinite(config.l2):
        raise FitError(f"{option('l2')} is a penalty weight, 0 or more")
    bounds = parse_bounds(config.bounds)  # (pairs from Python are checked here)
    for name in bounds:
        if name not in model.params:
            from ..errors import VariableError, did_you_mean

            raise VariableError(
                f"the model has no parameter '{name}'{did_you_mean(name, model.params)} to "
                f"bound (its parameters: {', '.join(model.params)})"
            )
    # A start outside the box starts on its edge, as adcli minimize's does.
    box = Box(model.params, bounds)
    clipped, notes = box.start(np.array([start[n] for n in model.params], dtype=np.float64))
    start = dict(zip(model.params, clipped.tolist()))
    problem = Problem(model, source, start, config, notes=tuple(notes))
    if config.batch_size is not None:
        return problem  # streamed, checked on the first pass
    table = read_table(
        source, model.columns, reader=config.reader, drop_missing=config.drop_missing, precise=method == "lm"
    )
    rows = make_rows(model, table, source.name)
    problem.dropped = table.dropped
    if config.validation > 0:
        rng = np.random.default_rng(config.seed)
        held = rng.random(rows.n) < config.validation
        problem.validation = rows.subset(np.flatnonzero(held))
        rows = rows.subset(np.flatnonzero(~held))
    problem.rows = rows
    check_rows(model, rows.n, source.name, config.validation > 0)
    return problem
