"""Gradient descent: the optimizers of torch.optim, run inside compiled code.

The descent loop (:mod:`autodiff_cli.optimize.loop`) is generated from the optimizer's
update lines (:mod:`autodiff_cli.optimize.optimizers`) and the expression's tape, and
compiled once, so one step costs what a hand-written Python loop of the same update
costs.  :class:`Descent` runs it in chunks between progress rows; :func:`descend` drives
it through the run loop (:func:`autodiff_cli.optimize.run.run`), which hands the rows and
the trajectory to sinks and handles Ctrl-C.

``clip`` scales g by clip/(‖g‖ + 1e-6) when that is below 1
(torch.nn.utils.clip_grad_norm_).  Line search (``sgd`` only) backtracks from lr,
halving until Armijo's condition f(x − t·g) ≤ f(x) − 1e-4·t·‖g‖² holds.
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import expr as ast
from ..errors import AdcliError, Spelling, ValueInputError, option, python_spelling, spell
from .loop import DIVERGED, DIVERGENCE_LIMIT, RAN, STATUS, LoopSpec, Row, compiled_loop
from .optimizers import OPTIMIZERS, settings_of
from .run import Outcome, Record, Sink, run


@dataclass(frozen=True, slots=True)
class DescentConfig:
    """What to minimize, from where, and how."""

    optimizer: str = "sgd"
    hyper: dict[str, float] = field(default_factory=dict)
    """Hyper-parameters that override the optimizer's defaults (lr, momentum, beta1, ...)."""
    steps: int = 1000
    tol: float = 1e-8
    """Stop when the gradient norm falls below this (converged); 0 never stops."""
    ftol: float = 0.0
    """Stop when the loss changes by less than this in one step."""
    maximize: bool = False
    clip: float | None = None
    line_search: bool = False
    every: int | None = None
    """A progress row every this many steps; default: about 20 rows a run."""
    record: int = 0
    """Keep (step, loss, gradient norm, point) every this many steps, for the trajectory
    file or the plot (0: none; True is every step)."""

    def settings(self) -> dict[str, float]:
        """The optimizer's hyper-parameters, checked, and the run's own settings checked too."""
        for name, value, low in (("tol", self.tol, 0.0), ("ftol", self.ftol, 0.0),
                                 ("clip", self.clip, 0.0)):
            if value is not None and not (math.isfinite(value) and value >= low):
                raise ValueInputError(f"{option(name)} must be a finite number, at least {low:g}, "
                                      f"got {value!r}")
        if self.steps < 0:
            raise ValueInputError(f"{option('steps')} must be 0 or more, got {self.steps}")
        return settings_of(self.optimizer, self.hyper)


STOP_REASONS = {
    "steps": "reached the step limit",
    "converged": f"converged: the gradient norm fell below {option('tol')}",
    "ftol": f"converged: the loss changed by less than {option('ftol')}",
    "diverged": "diverged: the loss or a variable became non-finite or exceeded 1e300",
    "line_search": "line search found no decrease (at a minimum to working precision?)",
    "interrupted": "interrupted",
}


@dataclass(frozen=True, slots=True)
class DescentResult:
    """How a descent ended."""

    expression: str
    optimizer: str
    settings: dict[str, float]
    start: dict[str, float]
    point: dict[str, float]
    """The final point; after divergence, the last finite one; after an interrupt, the best."""
    value: float
    grad_norm: float
    steps: int
    stop_reason: str
    elapsed: float
    losses: tuple[float, ...]
    """The loss at each progress row, for the sparkline."""

    @property
    def message(self) -> str:
        return self.describe()

    def describe(self, spelling: Spelling = python_spelling) -> str:
        """Why the descent stopped, naming settings as ``spelling`` writes them."""
        return spell(STOP_REASONS[self.stop_reason], spelling)

    @property
    def ok(self) -> bool:
        return self.stop_reason not in ("diverged", "interrupted")


# ---------------------------------------------------------------- running


@dataclass(eq=False)
class Descent(Outcome["DescentResult"]):
    """A descent in progress: iterate :meth:`rows` for progress, then read :attr:`result`."""

    WHAT = "descent"

    program: ast.Program
    start: dict[str, float]
    free: tuple[str, ...]
    config: DescentConfig = field(default_factory=DescentConfig)
    records: list[Record] = field(default_factory=list)
    """With ``config.record``: (step, loss, gradient norm, *free variables) per step kept;
    drained by the run loop as it hands them to its sinks."""
    result: DescentResult | None = None

    def __post_init__(self) -> None:
        if self.config.optimizer not in OPTIMIZERS:
            raise AdcliError(f"unknown optimizer '{self.config.optimizer}'; "
                             f"choose from {', '.join(OPTIMIZERS)}")
        if self.config.line_search and self.config.optimizer != "sgd":
            raise AdcliError(f"{option('line_search')} works with {option('optimizer', 'sgd')}")
        if not self.free:
            raise AdcliError("every variable is fixed: nothing to descend on" if self.program.variables
                             else "the expression has no variables: nothing to descend on")
        self.settings = self.config.settings()
        config = self.config
        spec = LoopSpec(tuple(self.free), config.optimizer, tuple(sorted(self.settings.items())),
                        config.clip, config.tol, config.ftol, config.maximize, config.line_search,
                        int(config.record))
        self.source, self._run, self._run_rows = compiled_loop(self.program, spec)
        from ..engine.compile import compile_program

        self._eval = compile_program(self.program, self.free).value_and_grad
        index = {name: i for i, name in enumerate(self.program.variables)}
        self._moving = [index[n] for n in self.free]
        self._fixed = [self.start[n] for n in self.program.variables if n not in self.free]
        slots = len(OPTIMIZERS[self.config.optimizer].state) * len(self.free)
        self._point = [self.start[n] for n in self.program.variables]
        self._carried = [*[self._point[i] for i in self._moving], *([-0.0] * slots)]
        self._t = 0
        self._prev = math.inf
        self._step_size = self.settings.get("lr", 0.0)
        self._steps = 0
        self._handed = -1
        """The last step whose record the run loop may have taken (it empties ``records``)."""
        self._losses: list[float] = []
        self._best: tuple[float, list[float]] | None = None
        self._last: tuple[tuple[float, ...], tuple[list[float], float, float]] | None = None
        self._started = self._row_made = time.perf_counter()
        self._nodes = len(ast.postorder(self.program.result))

    # -- helpers
    def _full_point(self, carried: Sequence[float]) -> list[float]:
        point = list(self._point)
        for i, value in zip(self._moving, carried):
            point[i] = value
        return point

    def _evaluate(self, carried: Sequence[float]) -> tuple[list[float], float, float]:
        """The point, its loss and gradient norm; the last answer is kept, since the end of
        a chunk is evaluated to check it and again for its progress row."""
        key = tuple(carried)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        answer = self._evaluate_now(carried)
        self._last = (key, answer)
        return answer

    def _evaluate_now(self, carried: Sequence[float]) -> tuple[list[float], float, float]:
        point = self._full_point(carried)
        loss, grads = self._eval(*point)
        return point, loss, math.hypot(*grads)

    def _good(self, carried: Sequence[float]) -> bool:
        """Every coordinate and the loss are finite and within the divergence limit."""
        return _within_limit(carried[:len(self._moving)]) and _within_limit((self._evaluate(carried)[1],))

    def _recorder(self) -> Any:
        """What the compiled loop calls to record a step (None when not recording)."""
        return self.records.append if self.config.record else None

    def _row(self) -> Row:
        self._row_made = time.perf_counter()
        point, loss, norm = self._evaluate(self._carried)
        self._losses.append(loss)
        self._note_best(point, loss)
        return Row(self._steps, loss, norm, self._step_size,
                   dict(zip(self.program.variables, point)))

    def _better(self, loss: float, than: float) -> bool:
        return loss > than if self.config.maximize else loss < than

    def _call(self, n: int, base: int, state: tuple[list[float], int, float, float],
              rec: Any) -> tuple[int, int, tuple[list[float], int, float, float]]:
        carried, t, prev, step = state
        status, done, out, t, prev, step = self._run(n, base, *carried, t, prev, step, rec, *self._fixed)
        return status, done, (list(out), t, prev, step)

    def _chunk(self, n: int) -> int:
        """Run up to ``n`` steps and return the status; on divergence, stop at the last good point."""
        state = (self._carried, self._t, self._prev, self._step_size)
        base = self._steps
        status, done, after = self._call(n, base, state, self._recorder())
        if status == DIVERGED or not self._good(after[0]):
            # The loop is deterministic: rerun from the chunk's start to find the last
            # step whose point is still good (bisection over the step count).
            low, high = 0, done
            while high - low > 1:
                mid = (low + high) // 2
                if self._good(self._call(mid, base, state, _ignore)[2][0]):
                    low = mid
                else:
                    high = mid
            status, done = DIVERGED, low
            after = self._call(low, base, state, _ignore)[2] if low else state
            last = base + low
            self.records[:] = [r for r in self.records if r[0] <= last]
        self._carried, self._t, self._prev, self._step_size = after
        self._steps = base + done
        return status

    # -- the public loop
    def every(self) -> int:
        return self.config.every or max(1, math.ceil(self.config.steps / 20))

    CHUNK_SECONDS = 0.05
    """About how long the compiled loop runs between returns to Python, whatever ``every`` is."""
    ROW_SECONDS = 1.0
    """A progress row at least this often, however far apart ``every`` puts them."""

    def rows(self) -> Iterator[Row]:
        """Run the descent, yielding a progress row at step 0, every ``every()`` steps (and at
        least every ROW_SECONDS), and at the end."""
        return filter(None, self.progress())  # a Row, a non-empty tuple, is never false

    def progress(self) -> Iterator[Row | None]:
        """Run the descent: a Row at step 0, every ``every()`` steps and at the end, and None
        between rows about every CHUNK_SECONDS, so that the caller can write out ``records``
        and Ctrl-C is noticed without losing more than a moment's work."""
        every = self.every()
        row = self._row()
        yield self._handing(row)
        reason = "steps"
        if not -DIVERGENCE_LIMIT <= row.loss <= DIVERGENCE_LIMIT:
            reason = "diverged"
        # Steps per call of the compiled loop, adapted to CHUNK_SECONDS; the first guess
        # assumes about 50 ns per node and step.
        budget = max(1, min(1 << 20, int(self.CHUNK_SECONDS / (50e-9 * self._nodes))))
        while reason == "steps" and self._steps < self.config.steps:
            whole = (self.config.steps - self._steps) // every if self._steps % every == 0 else 0
            if whole and budget >= every:
                started = time.perf_counter()
                made = self._whole_rows(min(whole, budget // every), every)
                if made is not None:
                    spent = time.perf_counter() - started
                    if spent < self.CHUNK_SECONDS / 2:
                        budget = min(budget * 2, 1 << 24)
                    elif spent > self.CHUNK_SECONDS * 2:
                        budget = max(1, budget // 2)
                    yield from map(self._handing, made)
                    continue
            n = min(every - self._steps % every, self.config.steps - self._steps, budget)
            started = time.perf_counter()
            status = self._chunk(n)
            spent = time.perf_counter() - started
            if spent < self.CHUNK_SECONDS / 2 and n == budget:
                budget = min(budget * 2, 1 << 24)
            elif spent > self.CHUNK_SECONDS * 2:
                budget = max(1, budget // 2)
            if status != RAN:
                reason = STATUS[status]
            if (status != RAN or self._steps % every == 0 or self._steps == self.config.steps
                    or time.perf_counter() - self._row_made >= self.ROW_SECONDS):
                yield self._handing(self._row())
            else:
                point, loss, _ = self._evaluate(self._carried)
                self._note_best(point, loss)
                yield self._handing(None)
        self.result = self._result(reason)
        self._record_end()

    def _handing(self, item: Row | None) -> Row | None:
        """``item``, about to be yielded; the records so far may be taken then."""
        if self.records:
            self._handed = max(self._handed, int(self.records[-1][0]))
        return item

    def _record_end(self) -> None:
        """Record the step the run stopped at, unless it is recorded already."""
        last = max(self._handed, int(self.records[-1][0]) if self.records else -1)
        if self.config.record and last < self._steps:
            point, loss, norm = self._evaluate(self._carried)
            self.records.append((self._steps, loss, norm, *[point[i] for i in self._moving]))

    def _whole_rows(self, rows: int, every: int) -> list[Row] | None:
        """Run ``rows`` whole progress rows in one call of the compiled loop.

        None when the run must stop or diverges within them: then nothing has changed
        (the records they made are dropped), and the step-by-step path, which is
        deterministic, replays those steps and stops exactly where it should.
        """
        base, mark = self._steps, len(self.records)
        made: list[Row] = []
        status, done, carried, t, prev, step = self._run_rows(
            rows, every, base, *self._carried, self._t, self._prev, self._step_size,
            self._recorder(), made, *self._fixed)
        if status != RAN:
            del self.records[mark:]
            return None
        self._losses += map(_LOSS, made)
        # The first best row, as noting each in turn would find it.
        best = (max if self.config.maximize else min)(made, key=_LOSS)
        self._note_best(list(best.point.values()), best.loss)
        # The last row's point is where the run is now: keep its loss and gradient norm, as
        # _evaluate would (the same tape, so the same bits), for the next row or the result.
        last = made[-1]
        self._last = (tuple(carried), (list(last.point.values()), last.loss, last.grad_norm))
        self._carried, self._t, self._prev, self._step_size = list(carried), t, prev, step
        self._steps = base + done
        return made

    def _note_best(self, point: list[float], loss: float) -> None:
        if math.isfinite(loss) and (self._best is None or self._better(loss, self._best[0])):
            self._best = (loss, point)

    def interrupt(self) -> DescentResult:
        """Finish after Ctrl-C with the best point seen between calls of the compiled loop.

        The steps of a call that Ctrl-C cut short are lost (the state is where the last
        whole call left it), and so are their records; the step the run stopped at is
        recorded with the point it is at (the result has the best point)."""
        del self.records[next((i for i, r in enumerate(self.records) if r[0] >= self._steps),
                              len(self.records)):]
        self.result = self._result("interrupted")
        self._record_end()
        return self.result


    def _result(self, reason: str) -> DescentResult:
        carried = self._carried
        point, loss, norm = self._evaluate(carried)
        if reason == "interrupted" and self._best is not None and self._better(self._best[0], loss):
            point = self._best[1]
            loss, grads = self._eval(*point)
            norm = math.sqrt(math.fsum(g * g for g in grads))
        return DescentResult(
            expression=self.program.source, optimizer=self.config.optimizer, settings=self.settings,
            start=dict(self.start), point=dict(zip(self.program.variables, point)), value=loss,
            grad_norm=norm, steps=self._steps, stop_reason=reason,
            elapsed=time.perf_counter() - self._started, losses=tuple(self._losses))


_LOSS = operator.itemgetter(Row._fields.index("loss"))
"""A Row's loss, as a C-level key function."""


def _within_limit(values: Iterable[float]) -> bool:
    """Finite and at most DIVERGENCE_LIMIT in magnitude, every one (nan fails the test)."""
    return all(-DIVERGENCE_LIMIT <= v <= DIVERGENCE_LIMIT for v in values)


def _ignore(row: tuple[float, ...]) -> None:
    """The recorder for reruns: their steps were recorded the first time."""


def descend(program: ast.Program, start: dict[str, float], free: Sequence[str],
            config: DescentConfig | None = None, sinks: Sequence[Sink] = ()) -> tuple[DescentResult, bool]:
    """Minimize ``program`` from ``start`` over the variables ``free`` (the others stay at
    their start values): the result, and whether Ctrl-C ended the run.

    Progress rows and the trajectory's records go to ``sinks`` (see
    :mod:`autodiff_cli.optimize.run`); ask for records with ``config.record``.
    """
    return run(Descent(program, dict(start), tuple(free), config or DescentConfig()), sinks)
