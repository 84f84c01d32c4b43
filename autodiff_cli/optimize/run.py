"""One run loop for every iterative method: progress rows and records to sinks, Ctrl-C.

An iterative method (gradient descent, a Newton or quasi-Newton minimizer, a fit) is a
:class:`Method`: a generator of progress rows, a list of records it fills as it goes (one
per step it keeps: step, loss, gradient norm, then the variables), and a result when it
ends, or after :meth:`Method.interrupt`.  :func:`run` drives it and hands what it makes
to sinks: the live table, the trajectory file, the plot, anything that watches.  It owns
what every method would otherwise repeat: draining the records after every chunk of
work, Ctrl-C (the method's best point so far, stop reason ``interrupted``), and closing
every sink whatever happens.  The stop reasons themselves belong to each method.

Records are written once and in order, whatever Ctrl-C interrupts: a method drops the
records of a chunk of work it did not finish, and while the sinks take a batch of
records, Ctrl-C waits (it is handled the moment they have it).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar

Record = tuple[float, ...]
"""(step, loss, gradient norm, *variables): one step of a run."""

ResultT = TypeVar("ResultT", covariant=True)
R = TypeVar("R")


ROW_SECONDS = 1.0
"""An iterative method's progress row at least this often, whatever its schedule says."""


def row_due(iteration: int, every: int | None, since_row: float) -> bool:
    """Whether an iterative method (a minimizer, a least-squares fit) shows iteration
    ``iteration`` in its progress log: every ``every``-th when chosen; else each of the first
    ten, every tenth up to 100 and every hundredth after, as a log of tens to thousands of
    iterations reads well, and at least every :data:`ROW_SECONDS` (``since_row``: the seconds
    since the last row)."""
    k = iteration
    if every is not None:
        return k % every == 0
    return k < 10 or (k < 100 and k % 10 == 0) or k % 100 == 0 or since_row >= ROW_SECONDS


class Method(Protocol[ResultT]):
    """What :func:`run` drives."""

    records: list[Record]
    """Steps kept since the last time the run took them, in order."""

    def progress(self) -> Iterator[Any]:
        """Do the work: a progress row now and then, and None between rows, often enough
        (every few hundredths of a second) that the run can take the records and notice
        Ctrl-C.  Ends with the result set."""
        ...

    def interrupt(self) -> ResultT:
        """The result after Ctrl-C: the best point so far, and the records of the steps
        taken (a chunk of work cut short leaves none)."""
        ...

    @property
    def outcome(self) -> ResultT:
        """The result, once :meth:`progress` has finished."""
        ...


class Outcome(Generic[R]):
    """A method's :attr:`outcome` from the ``result`` it sets when it ends."""

    result: R | None = None
    WHAT = "run"
    """What the method is called in the error of an outcome asked for too soon."""

    @property
    def outcome(self) -> R:
        """The result, once :meth:`Method.progress` has finished (or after an interrupt)."""
        if self.result is None:
            raise RuntimeError(f"the {self.WHAT} has not finished")
        return self.result


class Sink:
    """Something that watches a run.  Every method does nothing; override what you need."""

    def row(self, row: Any) -> None:
        """A progress row."""

    def records(self, records: Sequence[Record]) -> None:
        """Steps, in order, each handed over once."""

    def finish(self, result: Any) -> None:
        """The run ended (normally or by Ctrl-C) with this result."""

    def close(self) -> None:
        """The run is over: release what was opened, even after an error."""


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C back until the block is done, then raise it (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def run(method: Method[ResultT], sinks: Sequence[Sink] = ()) -> tuple[ResultT, bool]:
    """Drive ``method`` to its end, handing rows and records to ``sinks``.

    Returns the result and whether Ctrl-C ended the run.  A sink's error (a full disk)
    ends the run and propagates after every sink is closed.
    """
    interrupted = False

    def drain() -> None:
        if method.records:
            with interrupts_deferred():
                batch = method.records[:]
                method.records.clear()
                for sink in sinks:
                    sink.records(batch)

    try:
        try:
            for row in method.progress():
                drain()
                if row is not None:
                    for sink in sinks:
                        sink.row(row)
            result = method.outcome
        except KeyboardInterrupt:
            result = method.interrupt()
            interrupted = True
        drain()
        for sink in sinks:
            sink.finish(result)
    finally:
        for sink in sinks:
            sink.close()
    return result, interrupted
