"""The fit's iterative methods, each a :class:`autodiff_cli.optimize.run.Method` of the one run
loop: Levenberg–Marquardt for least squares, and the descent optimizers (sgd, momentum,
adam, ...) over whole data or mini-batches, in memory or streamed from the file.

Where other methods plug in: :data:`METHODS` maps a method's name to a factory that makes
the :class:`Method` from the fit's :class:`Problem`.  A smooth loss is also an
:class:`Objective` (value and gradient of the mean loss over the rows, at a parameter
vector), which is what a general minimizer (L-BFGS, BFGS, Newton: ``adcli minimize``'s
methods) takes; :func:`objective` makes it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import DataError, option
from ..optimize.optimizers import OPTIMIZERS, array_step, settings_of
from ..optimize.run import Record
from .data import BLOCK_BYTES, Source, Table, read_table, stream_tables
from .leastsq import LMSettings, Triangle, levenberg_marquardt, triangle, triangulate
from .model import FitError, FitModel
from .result import FitResult, Statistics, Sums, statistics

DIVERGENCE_LIMIT = 1e300


class FitRow(NamedTuple):
    """Progress at one iteration or epoch: the point after it, the loss, the gradient's norm,
    the step size (λ for Levenberg–Marquardt), and the held-out loss (nan without)."""

    step: int
    loss: float
    grad_norm: float
    step_size: float
    validation: float
    point: dict[str, float]


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
    """``lm`` (least squares; the default for mse), or a descent optimizer (the default for
    other losses: adam)."""
    hyper: dict[str, float] = field(default_factory=dict)
    iterations: int = 1000
    """Levenberg–Marquardt: the most iterations."""
    ftol: float = 1e-14
    """Levenberg–Marquardt's tests (see :class:`autodiff_cli.fit.leastsq.LMSettings`)."""
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
    """Descent optimizers on whole data: stop when the gradient's norm falls below this."""
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
        return "lm" if model.least_squares else "adam"


# ---------------------------------------------------------------- rows in memory


@dataclass(frozen=True, slots=True, eq=False)
class Rows:
    """Rows in memory: the columns the model reads, the target and the sigmas."""

    columns: dict[str, Any]
    target: Any
    sigma: Any
    precise: tuple[dict[str, Any], Any, Any] | None = None
    """The same in extended precision (small files), for the last steps of least squares."""

    @property
    def n(self) -> int:
        return len(self.target)

    def subset(self, index: Any) -> Rows:
        columns = {name: values[index] for name, values in self.columns.items()}
        sigma = None if self.sigma is None else self.sigma[index]
        precise = None
        if self.precise is not None:
            cols, target, sig = self.precise
            precise = (
                {name: v[index] for name, v in cols.items()},
                target[index],
                None if sig is None else sig[index],
            )
        return Rows(columns, self.target[index], sigma, precise)


def make_rows(model: FitModel, table: Table, data: str) -> Rows:
    """The target and sigmas of a table's rows, checked: finite, positive sigmas, 0/1 for bce."""
    import numpy as np

    target = np.asarray(model.target_values(table.columns), dtype=np.float64)
    check_target(model, target, data)
    sigma = None
    if model.sigma is not None:
        sigma = table.columns[model.sigma]
        bad = ~(sigma > 0)
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(
                f"{option('sigma')} column '{model.sigma}' of {data} has {int(bad.sum())} "
                f"values that are not positive (the first, {float(sigma[row])!r}, in data row "
                f"{row + 1}): a standard deviation is positive"
            )
    precise = None
    if table.precise is not None:
        target_ld = model.target_values(table.precise, dtype=np.longdouble)
        precise = (table.precise, target_ld, None if model.sigma is None else table.precise[model.sigma])
    return Rows(table.columns, target, sigma, precise)


def check_target(model: FitModel, target: Any, data: str, first_row: int = 0) -> None:
    import numpy as np

    bad = ~np.isfinite(target)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(
            f"the target {model.target} is not finite in {int(bad.sum())} rows of {data} "
            f"(the first: data row {first_row + row + 1}, {float(target[row])!r})"
        )
    if model.classification:
        bad = (target != 0.0) & (target != 1.0)
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(
                f"the bce loss needs targets 0 or 1; {model.target} in {data} has "
                f"{int(bad.sum())} other values (the first, {float(target[row])!r}, in data "
                f"row {first_row + row + 1})"
            )


# ---------------------------------------------------------------- the problem


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

    @property
    def method(self) -> str:
        return self.config.method(self.model)

    @property
    def streaming(self) -> bool:
        return self.rows is None


def prepare(model: FitModel, source: Source, start: dict[str, float], config: FitConfig) -> Problem:
    """Check the settings, then read the data (whole, unless mini-batches stream it)."""
    import numpy as np

    method = config.method(model)
    if method != "lm" and method not in OPTIMIZERS and method not in METHODS:
        raise FitError(
            f"unknown optimizer '{method}'; choose lm (least squares) or one of {', '.join(OPTIMIZERS)}"
        )
    if method == "lm":
        if not model.least_squares:
            raise FitError(
                f"lm fits least squares (the mse loss), not {model.loss}; choose a descent "
                f"optimizer with {option('optimizer')} ({', '.join(OPTIMIZERS)})"
            )
        if config.batch_size is not None:
            raise FitError(
                f"least squares (lm) uses every row at every iteration; {option('batch_size')} "
                f"is for the descent optimizers ({', '.join(OPTIMIZERS)})"
            )
        if config.hyper:
            raise FitError(
                f"lm takes no {', '.join(sorted(config.hyper))}; those are the descent optimizers' settings"
            )
    elif method in OPTIMIZERS:
        settings_of(method, config.hyper)
    if not 0.0 <= config.validation < 1.0:
        raise FitError(f"{option('validation')} is a fraction of the rows, at least 0 and below 1")
    if not config.delta > 0 or not math.isfinite(config.delta):
        raise FitError(f"{option('delta')} is where huber turns linear: a positive number")
    if config.l2 < 0 or not math.isfinite(config.l2):
        raise FitError(f"{option('l2')} is a penalty weight, 0 or more")
    for name, (low, high) in config.bounds.items():
        if name not in model.params:
            from ..errors import VariableError, did_you_mean

            raise VariableError(
                f"the model has no parameter '{name}'{did_you_mean(name, model.params)} to "
                f"bound (its parameters: {', '.join(model.params)})"
            )
        if not low <= start[name] <= high:
            raise FitError(f"the start of {name}, {start[name]!r}, is outside its bounds {low!r}:{high!r}")
    problem = Problem(model, source, dict(start), config)
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


def check_rows(model: FitModel, n: int, data: str, held: bool) -> None:
    p = len(model.params)
    if n < p:
        kept = " after the validation rows are held out" if held else ""
        raise DataError(
            f"{data} has {n} row{'s' if n != 1 else ''}{kept} for {p} parameters: a fit needs "
            "at least as many rows as parameters"
        )


# ---------------------------------------------------------------- evaluation


class Evaluator:
    """The model, its Jacobian and the loss over rows, compiled once."""

    def __init__(self, model: FitModel) -> None:
        from ..engine.compile import compile_program

        self.model = model
        self.compiled_model = compile_program(model.program, model.params)
        self.compiled_loss = compile_program(model.loss_program, model.params)
        self.compiled_logit = compile_program(model.logit, model.params) if model.logit else None
        self._buffer: Any = None

    def predictions(self, rows: Rows, x: Sequence[float]) -> Any:
        return self.compiled_model.values_at(*self.model.arguments(self.model.program, rows.columns, x))

    def residuals(self, rows: Rows, x: Sequence[float]) -> Any:
        r = self.predictions(rows, x) - rows.target
        return r if rows.sigma is None else r / rows.sigma

    def precise_residuals(self, rows: Rows, x: Sequence[float]) -> Any:
        """The residuals computed in extended precision (then rounded to float64)."""
        import numpy as np

        if rows.precise is None:
            return self.residuals(rows, x)
        columns, target, sigma = rows.precise
        values = self.compiled_model.values_at(
            *self.model.arguments(self.model.program, columns, x), dtype=np.longdouble
        )
        r = values - target
        return np.asarray(r if sigma is None else r / sigma, dtype=np.float64)

    def jacobian(self, rows: Rows, x: Sequence[float]) -> tuple[Any, Any]:
        """The residuals and their Jacobian (rows × parameters)."""
        augmented = self.augmented(rows, x)
        return augmented[:, -1], augmented[:, :-1]

    def augmented(self, rows: Rows, x: Sequence[float], extra: int = 0, reuse: bool = False) -> Any:
        """``[J r]``: the Jacobian (rows × parameters) and the residuals as its last column,
        in Fortran order (what the blocked QR wants), written straight from the tape's
        results; ``extra`` rows are left for the caller to fill below the data's.

        ``reuse``: write into the same array as the last call that reused (valid until the
        next such call): a fresh array of a million rows costs its page faults every time,
        which was a third of an iteration's time."""
        import numpy as np

        values, grads = self.compiled_model.at_points(
            *self.model.arguments(self.model.program, rows.columns, x), broadcast=False
        )
        n, p = rows.n, len(grads)
        shape = (n + extra, p + 1)
        if reuse and self._buffer is not None and self._buffer.shape == shape:
            out = self._buffer
        else:
            out = np.empty(shape, order="F")
            if reuse:
                self._buffer = out
        for j, g in enumerate(grads):
            out[:n, j] = g
        np.subtract(values, rows.target, out=out[:n, p])
        if rows.sigma is not None:
            out[:n] /= rows.sigma[:, None]
        return out

    def loss(self, rows: Rows, x: Sequence[float]) -> tuple[Any, tuple[Any, ...]]:
        """Every row's loss and its gradient (arrays)."""
        args = self.model.arguments(self.model.loss_program, rows.columns, x, rows.target, rows.sigma)
        return self.compiled_loss.at_points(*args)

    def loss_values(self, rows: Rows, x: Sequence[float]) -> Any:
        args = self.model.arguments(self.model.loss_program, rows.columns, x, rows.target, rows.sigma)
        return self.compiled_loss.values_at(*args)

    def mean_loss(self, rows: Rows, x: Sequence[float], l2: float = 0.0) -> float:
        import numpy as np

        if rows.n == 0:
            return math.nan
        return float(np.mean(self.loss_values(rows, x))) + l2 * float(np.dot(x, x))

    def gather(self, sums: Sums, rows: Rows, x: Sequence[float]) -> None:
        """Add a block of rows to the sums the statistics are made of."""
        import numpy as np

        model = self.model
        if rows.n == 0:
            return
        sums.rows += rows.n
        sums.loss += float(np.sum(self.loss_values(rows, x)))
        if model.least_squares:
            r, jac = self.jacobian(rows, x)
            sums.rss += float(r @ r)
            sums.moments.add(rows.target, None if rows.sigma is None else 1.0 / rows.sigma**2)
            sums.jacobian(jac)
        elif model.classification and self.compiled_logit is not None:
            assert model.logit is not None
            z, grads = self.compiled_logit.at_points(*model.arguments(model.logit, rows.columns, x))
            prob = 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))
            sums.jacobian(np.column_stack(grads) * np.sqrt(prob * (1.0 - prob))[:, None])
            predicted = z >= 0.0
            actual = rows.target == 1.0
            counts = sums.confusion or {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
            counts["tp"] += int(np.sum(predicted & actual))
            counts["fp"] += int(np.sum(predicted & ~actual))
            counts["tn"] += int(np.sum(~predicted & ~actual))
            counts["fn"] += int(np.sum(~predicted & actual))
            sums.confusion = counts


def accuracy(confusion: dict[str, int] | None) -> float | None:
    if not confusion:
        return None
    total = sum(confusion.values())
    return (confusion["tp"] + confusion["tn"]) / total if total else None


# ---------------------------------------------------------------- the objective (the seam)


@dataclass(frozen=True, slots=True, eq=False)
class Objective:
    """A smooth loss as a function of the parameters: the mean loss over the fitted rows plus
    the L2 penalty, with its exact gradient.  What a general minimizer takes."""

    names: tuple[str, ...]
    start: tuple[float, ...]
    value: Callable[[Sequence[float]], float]
    value_and_grad: Callable[[Sequence[float]], tuple[float, tuple[float, ...]]]


def objective(problem: Problem) -> Objective:
    """The fit's loss over the rows in memory as an :class:`Objective`."""
    import numpy as np

    if problem.rows is None:
        raise FitError("a general minimizer needs the rows in memory (no mini-batches)")
    evaluator, rows, l2 = Evaluator(problem.model), problem.rows, problem.config.l2

    def value(x: Sequence[float]) -> float:
        return evaluator.mean_loss(rows, x, l2)

    def value_and_grad(x: Sequence[float]) -> tuple[float, tuple[float, ...]]:
        values, grads = evaluator.loss(rows, x)
        point = np.asarray(x, dtype=np.float64)
        loss = float(np.mean(values)) + l2 * float(point @ point)
        return loss, tuple(float(np.mean(g)) + 2.0 * l2 * float(v) for g, v in zip(grads, point))

    return Objective(
        problem.model.params, tuple(problem.start[n] for n in problem.model.params), value, value_and_grad
    )


# ---------------------------------------------------------------- shared by the methods


class _FitMethod:
    """What both methods share: records, rows, timing, the result."""

    CHUNK_SECONDS = 0.05

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.model = problem.model
        self.config = problem.config
        self.evaluator = Evaluator(problem.model)
        self.records: list[Record] = []
        self.result: FitResult | None = None
        self.losses: list[float] = []
        self.started = time.perf_counter()
        self.names = problem.model.params
        self.x: Any = None

    @property
    def outcome(self) -> FitResult:
        if self.result is None:
            raise RuntimeError("the fit has not finished")
        return self.result

    def every(self, total: int) -> int:
        return self.config.every or max(1, math.ceil(total / 20))

    def point(self, x: Sequence[float]) -> dict[str, float]:
        return {name: float(v) for name, v in zip(self.names, x)}

    def record(self, step: int, loss: float, grad_norm: float, x: Sequence[float]) -> None:
        if self.config.record:
            self.records.append((step, loss, grad_norm, *(float(v) for v in x)))

    def finish(
        self,
        method: str,
        settings: dict[str, float],
        x: Sequence[float],
        reason: str,
        iterations: int,
        steps: int,
        stats: Statistics | None,
        sums: Sums | None,
        validation: tuple[float | None, float | None],
        warnings: Sequence[str] = (),
    ) -> FitResult:
        problem = self.problem
        loss_value = sums.loss / sums.rows if sums is not None and sums.rows else math.nan
        if sums is not None and self.config.l2:
            loss_value += self.config.l2 * float(sum(v * v for v in x))
        return FitResult(
            expression=self.model.program.source,
            data=problem.source.name,
            target=self.model.target,
            loss=self.model.loss,
            method=method,
            settings=settings,
            parameters=self.point(x),
            start=dict(problem.start),
            rows=sums.rows if sums is not None else 0,
            iterations=iterations,
            steps=steps,
            stop_reason=reason,
            elapsed=time.perf_counter() - self.started,
            loss_value=loss_value,
            standard_errors=stats.standard_errors if stats else None,
            correlation=stats.correlation if stats else None,
            residual_sum_of_squares=stats.rss if stats else None,
            residual_standard_deviation=stats.residual_sd if stats else None,
            degrees_of_freedom=stats.dof if stats else 0,
            r_squared=stats.r_squared if stats else None,
            validation_rows=problem.validation.n
            if problem.validation is not None
            else self._validation_rows(),
            validation_loss=validation[0],
            accuracy=accuracy(sums.confusion) if sums else None,
            validation_accuracy=validation[1],
            confusion=sums.confusion if sums else None,
            dropped=problem.dropped,
            bounds=dict(self.config.bounds),
            warnings=tuple([*warnings, *(stats.warnings if stats else ())]),
            losses=tuple(self.losses),
        )

    def _validation_rows(self) -> int:
        return 0

    def validation_scores(self, x: Sequence[float]) -> tuple[float | None, float | None]:
        held = self.problem.validation
        if held is None or held.n == 0:
            return None, None
        sums = Sums(len(self.names))
        self.evaluator.gather(sums, held, x)
        return sums.loss / sums.rows + self.config.l2 * float(sum(v * v for v in x)), accuracy(sums.confusion)

    def held_out_loss(self, x: Sequence[float]) -> float:
        held = self.problem.validation
        if held is None or held.n == 0:
            return math.nan
        return self.evaluator.mean_loss(held, x, self.config.l2)


def _held(
    names: Sequence[str], x: Sequence[float], bounds: dict[str, tuple[float, float]], grad: Any
) -> list[str]:
    """Parameters at a bound that the gradient pushes against."""
    held = []
    for name, value, g in zip(names, x, grad):
        if name in bounds:
            low, high = bounds[name]
            if (value <= low and g > 0) or (value >= high and g < 0):
                held.append(name)
    return held


# ---------------------------------------------------------------- Levenberg–Marquardt


class LeastSquaresFit(_FitMethod):
    """Levenberg–Marquardt on the residuals ``(model - target)/sigma`` of the rows in memory.

    When a run ends where the Jacobian is singular (a parameter the model no longer depends
    on: BoxBOD from its first start runs off to b2 = 110, where exp(-b2·x) is 0 at every
    row), it is run again from the start with a trust region 100 times smaller, and the
    better of the two is kept.  At the end, up to three Gauss–Newton steps with the residuals
    computed in extended precision refine the solution (for fits whose residuals are near
    float64's rounding), and the statistics use those residuals.
    """

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        import numpy as np

        assert problem.rows is not None
        self.rows = problem.rows
        self.x = np.array([problem.start[n] for n in self.names], dtype=np.float64)
        inf = math.inf
        self.lower = np.array([self.config.bounds.get(n, (-inf, inf))[0] for n in self.names])
        self.upper = np.array([self.config.bounds.get(n, (-inf, inf))[1] for n in self.names])
        self.ridge = math.sqrt(self.config.l2 * self.rows.n) if self.config.l2 else 0.0
        self.iteration = 0
        self.evaluations = 0
        self.restarts = 0
        self._last: Any = None
        self._cache: tuple[bytes, tuple[Any, Any, float]] | None = None
        self._final_grad = math.nan

    def _residuals(self, x: Any) -> Any:
        import numpy as np

        with np.errstate(all="ignore"):
            r = self.evaluator.residuals(self.rows, x)
            if self.ridge:
                r = np.concatenate([r, self.ridge * x])
            r[~np.isfinite(r)] = np.inf
        return r

    def _linearized(self, x: Any) -> tuple[Any, Any, float]:
        """R, Qᵀr and ‖r‖² at x (the last one is kept: the end of a run asks for it again)."""
        key = x.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        answer = self._linearize_now(x)
        self._cache = (key, answer)
        return answer

    def _linearize_now(self, x: Any) -> tuple[Any, Any, float]:
        import numpy as np

        p = len(x)
        with np.errstate(all="ignore"):
            augmented = self.evaluator.augmented(self.rows, x, p if self.ridge else 0, reuse=True)
            if self.ridge:
                n = self.rows.n
                augmented[n:, :p] = self.ridge * np.eye(p)
                augmented[n:, p] = self.ridge * x
        if not np.isfinite(augmented.sum()):
            bad = ~np.isfinite(augmented).all(axis=1)
            row = int(np.argmax(bad))
            raise FitError(
                f"the model or its derivatives are not finite at {self._where(x)} in "
                f"{int(bad.sum())} rows (the first: data row {row + 1}); start elsewhere"
            )
        return triangulate(augmented)

    def _where(self, x: Any) -> str:
        return ", ".join(f"{n} = {float(v)!r}" for n, v in zip(self.names, x))

    def progress(self) -> Iterator[FitRow | None]:
        from ..errors import AdcliError

        settings = LMSettings(
            iterations=self.config.iterations,
            ftol=self.config.ftol,
            xtol=self.config.xtol,
            gtol=self.config.gtol,
        )
        every = self.every(min(self.config.iterations, 50))
        start = self.x.copy()
        best: tuple[float, Any, str] | None = None
        warnings: list[str] = []
        try:
            self._linearized(start)
        except AdcliError:
            raise FitError(
                f"the model or its derivatives are not finite at the start ({self._where(start)}); "
                "choose other start values"
            ) from None
        for factor in (settings.factor, settings.factor / 100):
            attempt = LMSettings(settings.iterations, settings.ftol, settings.xtol, settings.gtol, factor)
            gen = levenberg_marquardt(
                self._residuals, self._linearized, start, attempt, self.lower, self.upper
            )
            reason = "iterations"
            base, base_evaluations = self.iteration, self.evaluations
            last_row = time.perf_counter()
            while True:
                try:
                    item = next(gen)
                except StopIteration as stop:
                    reason = stop.value
                    break
                if item is None:
                    if time.perf_counter() - last_row > self.CHUNK_SECONDS:
                        yield None
                    continue
                self.iteration = base + item.iteration
                self.evaluations = base_evaluations + item.evaluations
                self.x = item.x
                self.record(self.iteration, item.rss, item.grad_norm, item.x)
                if item.iteration % every == 0 or item.iteration == 0:
                    last_row = time.perf_counter()
                    self.losses.append(item.rss)
                    yield FitRow(
                        self.iteration,
                        item.rss,
                        item.grad_norm,
                        item.par,
                        self.held_out_loss(item.x),
                        self.point(item.x),
                    )
                self._last = item
            rss = float(self._residuals(self.x) @ self._residuals(self.x))
            if best is None or rss < best[0]:
                best = (rss, self.x.copy(), reason)
            r, _, _ = self._linearized(self.x)
            if factor != settings.factor or not self._singular(r):
                break
            self.restarts += 1
            warnings.append(
                f"restarted from the start with a trust region 100 times smaller: the first run "
                f"ended where the Jacobian is singular (residual sum of squares {rss!r})"
            )
            yield FitRow(self.iteration, rss, math.nan, math.nan, math.nan, self.point(self.x))
        assert best is not None
        _, self.x, reason = best
        self.x = self._polish(self.x)
        last = self.losses[-1] if self.losses else math.nan
        result = self._result(reason, warnings)
        final = result.residual_sum_of_squares
        if final is not None and final != last:
            self.losses.append(final)
            yield FitRow(
                self.iteration,
                final,
                self._final_grad,
                self._last.par,
                self.held_out_loss(self.x),
                self.point(self.x),
            )
            result = dataclasses.replace(result, losses=tuple(self.losses))
        self.result = result

    def _singular(self, r: Any) -> bool:
        import numpy as np

        s = np.linalg.svd(r, compute_uv=False)
        return bool(s.size and (s[0] == 0 or s[-1] <= s[0] * max(r.shape) * 1e-14))

    def _polish(self, x: Any) -> Any:
        """Gauss–Newton steps with residuals in extended precision, while they decrease ‖r‖."""
        import numpy as np

        if self.rows.precise is None or self.ridge or (x <= self.lower).any() or (x >= self.upper).any():
            return x
        with np.errstate(all="ignore"):
            current = self.evaluator.precise_residuals(self.rows, x)
            for _ in range(3):
                _, jac = self.evaluator.jacobian(self.rows, x)
                tri = triangle(np.column_stack([jac, current]))
                p = len(x)
                step = np.linalg.lstsq(tri[:p, :p], tri[:p, p], rcond=None)[0]
                trial = x - step
                after = self.evaluator.precise_residuals(self.rows, trial)
                if not np.isfinite(after).all() or float(after @ after) >= float(current @ current):
                    break
                x, current = trial, after
        return x

    def _result(self, reason: str, warnings: list[str]) -> FitResult:
        import numpy as np

        x = self.x
        p = len(x)
        sums = Sums(p)
        with np.errstate(all="ignore"):
            if self.rows.precise is not None:
                augmented = self.evaluator.augmented(self.rows, x)
                augmented[:, p] = self.evaluator.precise_residuals(self.rows, x)
                r, qtr, rss = triangulate(augmented)
            else:
                r, qtr, rss = self._linearized(x)
                if self.ridge:  # the statistics are the data's: without the penalty's rows
                    _, _, rss = triangulate(self.evaluator.augmented(self.rows, x))
            sums.rows = self.rows.n
            sums.rss = rss
            sums.loss = rss
            sums.moments.add(self.rows.target, None if self.rows.sigma is None else 1.0 / self.rows.sigma**2)
            sums.triangle = Triangle(p)
            sums.triangle.r = r
            grad = r.T @ qtr
            self._final_grad = float(np.sqrt(grad @ grad))
        held = _held(self.names, x, self.config.bounds, grad)
        stats = statistics(self.names, sums, least_squares=True, held=held)
        settings = {"ftol": self.config.ftol, "xtol": self.config.xtol, "gtol": self.config.gtol}
        if self.config.l2:
            settings["l2"] = self.config.l2
        return self.finish(
            "lm",
            settings,
            x,
            reason,
            self.iteration,
            self.evaluations,
            stats,
            sums,
            self.validation_scores(x),
            warnings,
        )

    def interrupt(self) -> FitResult:
        self.records.clear()
        self.result = self._result("interrupted", [])
        return self.result


# ---------------------------------------------------------------- descent optimizers


class GradientFit(_FitMethod):
    """A descent optimizer's steps on the mean loss: the whole data per step, or mini-batches
    of ``batch_size`` rows streamed from the file (shuffled within each block of rows read)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        import numpy as np

        self.name = problem.method
        rule = OPTIMIZERS[self.name]
        self.settings = settings_of(self.name, self.config.hyper)
        self.step_fn = array_step(self.name, self.settings)
        self.x = np.array([problem.start[n] for n in self.names], dtype=np.float64)
        self.state = [np.full(len(self.names), -0.0) for _ in rule.state]
        self.t = 0
        self.steps = 0
        self.epoch = 0
        self.step_size = self.settings.get("lr", 0.0)
        inf = math.inf
        self.lower = np.array([self.config.bounds.get(n, (-inf, inf))[0] for n in self.names])
        self.upper = np.array([self.config.bounds.get(n, (-inf, inf))[1] for n in self.names])
        self.bounded = bool(self.config.bounds)
        self.rng = np.random.default_rng(self.config.seed)
        self.train_rows = problem.rows.n if problem.rows is not None else 0
        self.stream_validation = (0.0, 0)
        self.grad_norm = math.nan
        self.best: tuple[float, Any] | None = None
        self._blocks: list[tuple[Rows, Rows | None]] | None = None

    def _validation_rows(self) -> int:
        return self.stream_validation[1]

    def _update(self, loss_values: Any, grads: Sequence[Any]) -> tuple[float, float]:
        """One optimizer step from a batch's per-row losses and gradients."""
        import numpy as np

        x = self.x
        loss = float(np.mean(loss_values))
        g = np.array([float(np.mean(v)) for v in grads])
        if self.config.l2:
            loss += self.config.l2 * float(x @ x)
            g += 2.0 * self.config.l2 * x
        norm = float(np.sqrt(g @ g))
        if not (-DIVERGENCE_LIMIT <= loss <= DIVERGENCE_LIMIT and math.isfinite(norm)):
            return math.nan, norm
        new, self.t, self.step_size = self.step_fn(x, g, self.t, self.state)
        if self.bounded:
            new = np.clip(new, self.lower, self.upper)
        if not np.all(np.abs(new) <= DIVERGENCE_LIMIT):
            return math.nan, norm
        self.x = new
        self.steps += 1
        return loss, norm

    def _batches_in_memory(self, rows: Rows) -> Iterator[Rows]:
        size = self.config.batch_size
        if size is None or size >= rows.n:
            yield rows
            return
        order = self.rng.permutation(rows.n)
        for i in range(0, rows.n, size):
            yield rows.subset(order[i : i + size])

    def _stream_blocks(self) -> Iterator[tuple[Rows, Rows | None]]:
        """One pass over the file: each block's fitted rows and held-out rows."""

        problem = self.problem
        if self._blocks is not None:
            yield from self._blocks
            return
        # A file of one block is read once and kept: streaming it again would only repeat
        # the parsing.
        keep: list[tuple[Rows, Rows | None]] | None = [] if problem.source.size <= BLOCK_BYTES else None
        for pair in self._read_blocks():
            if keep is not None:
                keep.append(pair)
            yield pair
        if keep is not None:
            self._blocks = keep

    def _read_blocks(self) -> Iterator[tuple[Rows, Rows | None]]:
        import numpy as np

        problem = self.problem
        offset = 0
        for index, table in enumerate(
            stream_tables(
                problem.source,
                self.model.columns,
                reader=self.config.reader,
                drop_missing=self.config.drop_missing,
            )
        ):
            rows = make_rows(self.model, table, problem.source.name) if table.rows else None
            if rows is None:
                continue
            offset += rows.n
            if self.config.validation > 0:
                # The same rows are held out at every pass: drawn from a generator seeded by
                # the block's index.
                held = (
                    np.random.default_rng([self.config.seed, index]).random(rows.n) < self.config.validation
                )
                yield rows.subset(np.flatnonzero(~held)), rows.subset(np.flatnonzero(held))
            else:
                yield rows, None

    def _batches_streamed(self) -> Iterator[Rows | tuple[str, Rows]]:
        """Mini-batches of the fitted rows; held-out blocks come as ("held", rows)."""
        import numpy as np

        size = self.config.batch_size
        assert size is not None
        carry: Rows | None = None
        for fitted, held in self._stream_blocks():
            if held is not None and held.n:
                yield ("held", held)
            order = self.rng.permutation(fitted.n)
            block = fitted.subset(order)
            if carry is not None and carry.n:
                block = _concat(carry, block)
            whole = block.n // size * size
            for i in range(0, whole, size):
                yield block.subset(np.arange(i, i + size))
            carry = block.subset(np.arange(whole, block.n))
        if carry is not None and carry.n:
            yield carry

    def check_stream(self) -> None:
        """The first pass over a streamed file: every value checked, the rows counted."""
        fitted = held = 0
        for rows, validation in self._stream_blocks():
            fitted += rows.n
            held += validation.n if validation is not None else 0
        check_rows(self.model, fitted, self.problem.source.name, self.config.validation > 0)
        self.train_rows, self.stream_validation = fitted, (math.nan, held)

    def progress(self) -> Iterator[FitRow | None]:
        import numpy as np

        problem = self.problem
        epochs = self.config.epochs
        every = self.every(epochs)
        if problem.streaming:
            self.check_stream()
        evaluator = self.evaluator
        first = self._full_loss()
        self.losses.append(first)
        yield FitRow(0, first, math.nan, self.step_size, self._validation_now(), self.point(self.x))
        self.record(0, first, math.nan, self.x)
        reason = "epochs"
        last_yield = time.perf_counter()
        while self.epoch < epochs:
            total, count = 0.0, 0
            val_total, val_count = 0.0, 0
            batches: Iterator[Any]
            if problem.rows is None:
                batches = self._batches_streamed()
            else:
                batches = self._batches_in_memory(problem.rows)
            with np.errstate(all="ignore"):
                for batch in batches:
                    if isinstance(batch, tuple):
                        val_total += float(np.sum(evaluator.loss_values(batch[1], self.x)))
                        val_count += batch[1].n
                        continue
                    values, grads = evaluator.loss(batch, self.x)
                    loss, norm = self._update(values, grads)
                    if math.isnan(loss):
                        reason = "diverged"
                        break
                    total += loss * batch.n
                    count += batch.n
                    self.grad_norm = norm
                    if time.perf_counter() - last_yield > self.CHUNK_SECONDS:
                        last_yield = time.perf_counter()
                        yield None
            if reason == "diverged":
                break
            self.epoch += 1
            epoch_loss = total / count if count else math.nan
            if val_count:
                self.stream_validation = (
                    val_total / val_count + self.config.l2 * float(self.x @ self.x),
                    val_count,
                )
            self._note_best(epoch_loss)
            self.record(self.epoch, epoch_loss, self.grad_norm, self.x)
            converged = (
                self.config.batch_size is None and self.config.tol > 0 and self.grad_norm < self.config.tol
            )
            if self.epoch % every == 0 or self.epoch == epochs or converged:
                self.losses.append(epoch_loss)
                last_yield = time.perf_counter()
                yield FitRow(
                    self.epoch,
                    epoch_loss,
                    self.grad_norm,
                    self.step_size,
                    self._validation_now(),
                    self.point(self.x),
                )
            if converged:
                reason = "converged"
                break
        self.result = self._result(reason)

    def _note_best(self, loss: float) -> None:
        if math.isfinite(loss) and (self.best is None or loss < self.best[0]):
            self.best = (loss, self.x.copy())

    def _validation_now(self) -> float:
        if self.problem.streaming:
            return self.stream_validation[0] if self.stream_validation[1] else math.nan
        return self.held_out_loss(self.x)

    def _full_loss(self) -> float:
        import numpy as np

        if self.problem.rows is not None:
            with np.errstate(all="ignore"):
                return self.evaluator.mean_loss(self.problem.rows, self.x, self.config.l2)
        return math.nan

    def _result(self, reason: str, summarize: bool = True) -> FitResult:
        import numpy as np

        x = self.x
        problem = self.problem
        sums = Sums(len(self.names))
        validation: tuple[float | None, float | None] = (None, None)
        warnings: list[str] = []
        with np.errstate(all="ignore"):
            if problem.rows is not None:
                self.evaluator.gather(sums, problem.rows, x)
                validation = self.validation_scores(x)
            elif summarize:
                held = Sums(len(self.names))
                for rows, validation_rows in self._stream_blocks():
                    self.evaluator.gather(sums, rows, x)
                    if validation_rows is not None:
                        self.evaluator.gather(held, validation_rows, x)
                if held.rows:
                    validation = (
                        held.loss / held.rows + self.config.l2 * float(x @ x),
                        accuracy(held.confusion),
                    )
            else:
                warnings.append(
                    "interrupted: the statistics need a pass over the whole file, which was skipped"
                )
        stats = None
        if sums.rows:
            grad = np.zeros(len(x))
            stats = statistics(
                self.names,
                sums,
                least_squares=self.model.least_squares,
                held=_held(self.names, x, self.config.bounds, grad),
            )
            if self.model.classification:
                stats = Statistics(
                    stats.standard_errors, stats.correlation, None, None, stats.dof, None, stats.warnings
                )
        settings = dict(self.settings)
        if self.config.batch_size is not None:
            settings["batch_size"] = self.config.batch_size
        if self.config.l2:
            settings["l2"] = self.config.l2
        return self.finish(
            self.name,
            settings,
            x,
            reason,
            self.epoch,
            self.steps,
            stats,
            sums if sums.rows else None,
            validation,
            warnings,
        )

    def interrupt(self) -> FitResult:
        self.records.clear()
        self.result = self._result("interrupted", summarize=False)
        return self.result


def _concat(a: Rows, b: Rows) -> Rows:
    import numpy as np

    columns = {name: np.concatenate([a.columns[name], b.columns[name]]) for name in a.columns}
    sigma = None if a.sigma is None else np.concatenate([a.sigma, b.sigma])
    return Rows(columns, np.concatenate([a.target, b.target]), sigma)


MethodFactory = Callable[[Problem], Any]
"""Makes a :class:`autodiff_cli.optimize.run.Method` whose result is a :class:`FitResult`."""

METHODS: dict[str, MethodFactory] = {}
"""Methods beyond lm and the descent optimizers, by name: adcli minimize's L-BFGS, BFGS and
Newton register here, each wrapping :func:`objective` (see the module's docstring)."""


def make_method(problem: Problem) -> Any:
    """The method that runs ``problem``."""
    name = problem.method
    if name == "lm":
        return LeastSquaresFit(problem)
    if name in OPTIMIZERS:
        return GradientFit(problem)
    return METHODS[name](problem)
