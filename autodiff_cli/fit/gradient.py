"""The descent optimizers (sgd, momentum, adam, ...) as a fit method: the update rules of
``adcli descend`` (:mod:`autodiff_cli.optimize.optimizers`) on the mean loss, over the whole
data or mini-batches (:mod:`autodiff_cli.fit.batches`)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from typing import Any

from ..optimize.loop import Row
from ..optimize.optimizers import OPTIMIZERS, array_step, settings_of
from ..optimize.search import norm as vector_norm
from .batches import Batches
from .evaluate import accuracy
from .problem import Problem
from .result import FitResult, Sums
from .rows import check_rows
from .running import FitMethod

DIVERGENCE_LIMIT = 1e300


class GradientFit(FitMethod):
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
        self.batches = Batches(problem, np.random.default_rng(self.config.seed))
        self.train_rows = problem.rows.n if problem.rows is not None else 0
        self.stream_validation = (0.0, 0)
        self.grad_norm = math.nan
        self.best: tuple[float, Any] | None = None
        self.done: tuple[int, Any, int, float, float] | None = None
        """The last whole epoch: (epoch, x, steps, loss, gradient norm), where Ctrl-C ends."""

    def _validation_rows(self) -> int:
        return self.stream_validation[1]

    def _mean(self, loss_values: Any, grads: Sequence[Any]) -> tuple[float, Any, float]:
        """The mean loss over a batch's rows, its gradient and the gradient's norm, at x (with
        the l2 penalty)."""
        import numpy as np

        x = self.x
        loss = float(np.mean(loss_values))
        g = np.array([float(np.mean(v)) for v in grads])
        if self.config.l2:
            loss += self.config.l2 * float(x @ x)
            g += 2.0 * self.config.l2 * x
        return loss, g, vector_norm(g)

    def _update(self, mean: tuple[float, Any, float]) -> tuple[float, float]:
        """One optimizer step from a batch's mean loss, gradient and norm (:meth:`_mean`)."""
        import numpy as np

        x = self.x
        loss, g, norm = mean
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

    def check_stream(self) -> None:
        """The first pass over a streamed file: every value checked, the rows counted."""
        fitted, held = self.batches.count()
        self.problem.dropped = self.batches.dropped
        check_rows(self.model, fitted, self.problem.source.name, self.config.validation > 0)
        self.train_rows, self.stream_validation = fitted, (math.nan, held)

    def progress(self) -> Iterator[Row | None]:
        import numpy as np

        problem = self.problem
        epochs = self.config.epochs
        every = self.every(epochs)
        if problem.streaming:
            self.check_stream()
        evaluator = self.evaluator
        first = self._full_loss()
        self.grad_norm = self._full_gradient_norm()
        self.losses.append(first)
        self.done = (0, self.x.copy(), 0, first, self.grad_norm)
        self.record(0, first, self.grad_norm, self.x)
        yield self.row(0, first, self.grad_norm, self.step_size, self.x, self._validation_now())
        reason = "epochs"
        last_yield = time.perf_counter()
        # Every row at once (in memory, one batch an epoch): the loss and gradient at the point
        # each step reaches are computed right after it, for that epoch's row and record (the
        # loss belongs to the point beside it), and the next step uses them.
        whole = problem.rows is not None and (self.config.batch_size is None
                                              or self.config.batch_size >= problem.rows.n)
        ahead: tuple[float, Any, float] | None = None
        while self.epoch < epochs:
            total, count = 0.0, 0
            val_total, val_count = 0.0, 0
            batches: Iterator[Any]
            if problem.rows is None:
                batches = self.batches.streamed()
            else:
                batches = self.batches.in_memory(problem.rows)
            with np.errstate(all="ignore"):
                for batch in batches:
                    if isinstance(batch, tuple):
                        val_total += float(np.sum(evaluator.loss_values(batch[1], self.x)))
                        val_count += batch[1].n
                        continue
                    loss, norm = self._update(ahead or self._mean(*evaluator.loss(batch, self.x)))
                    if math.isnan(loss):
                        reason = "diverged"
                        break
                    if whole:
                        ahead = self._mean(*evaluator.loss(batch, self.x))
                        loss, _, norm = ahead
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
            self.done = (self.epoch, self.x.copy(), self.steps, epoch_loss, self.grad_norm)
            self.record(self.epoch, epoch_loss, self.grad_norm, self.x)
            converged = (
                self.config.batch_size is None and self.config.tol > 0 and self.grad_norm < self.config.tol
            )
            if self.epoch % every == 0 or self.epoch == epochs or converged:
                self.losses.append(epoch_loss)
                last_yield = time.perf_counter()
                yield self.row(self.epoch, epoch_loss, self.grad_norm, self.step_size, self.x,
                               self._validation_now())
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

    def _full_gradient_norm(self) -> float:
        """The norm of the whole data's gradient at the start (as a step would take it, with
        l2); unknown (nan) for a file streamed in batches, which has not been read yet."""
        import numpy as np

        if self.problem.rows is None:
            return math.nan
        with np.errstate(all="ignore"):
            _values, grads = self.evaluator.loss(self.problem.rows, self.x)
        g = np.array([float(np.mean(v)) for v in grads])
        if self.config.l2:
            g += 2.0 * self.config.l2 * self.x
        return vector_norm(g)

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
                for rows, validation_rows in self.batches.blocks():
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
        # (no parameter counts as held at a bound: a descent's last gradient is a batch's)
        stats = self.statistics(sums, x, np.zeros(len(x)))
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
        """Finish after Ctrl-C where the last whole epoch ended: the steps of an epoch cut
        short are dropped, and so the trajectory's last record is the result's point.  The
        records of whole epochs are kept (and the last one added, when Ctrl-C came between
        the epoch's end and its record)."""
        if self.done is not None:
            epoch, x, steps, loss, norm = self.done
            self.epoch, self.x, self.steps, self.grad_norm = epoch, x, steps, norm
            self.records[:] = [r for r in self.records if r[0] <= epoch]
            last = self.last_recorded[0] if self.last_recorded is not None else -1
            if last < epoch:
                self.record(epoch, loss, norm, x)
        self.result = self._result("interrupted", summarize=False)
        return self.result
