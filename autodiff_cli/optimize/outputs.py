"""The files a run can write as it goes: its trajectory (CSV or JSON Lines) and its plot.

Both are sinks of the run loop (:mod:`autodiff_cli.optimize.run`), made, and so checked,
before the run starts: a path that cannot be written is an error now, not after the work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from .. import expr as ast
from .run import Sink

PLOT_STEPS = 20_000
"""A plot draws at most about this many steps of a run; longer runs are subsampled as they go."""


def plot_stride(steps: int) -> int:
    """Every how many steps a plot of a run of ``steps`` steps keeps one."""
    return max(1, steps // PLOT_STEPS)


def record_every(trajectory: str | Path | None, plot: str | Path | None, steps: int) -> int:
    """How often the run must record a step: every step for a trajectory file, every
    :func:`plot_stride` steps for a plot alone, never for neither."""
    if trajectory is not None:
        return 1
    return plot_stride(steps) if plot is not None else 0


def output_sinks(program: ast.Program, variables: Sequence[str], fixed: Mapping[str, float], *,
                 steps: int, trajectory: str | Path | None = None,
                 plot: str | Path | None = None) -> list[Sink]:
    """The sinks that write ``trajectory`` (.csv or .jsonl) and draw ``plot`` (.png, .svg,
    .pdf: the loss curve and, for one or two variables, the path), each checked now."""
    sinks: list[Sink] = []
    if plot is not None:
        from ..views.plot import PathPlot  # matplotlib: only when a picture is asked for

        sinks.append(PathPlot(program, variables, fixed, plot, plot_stride(steps)))
    if trajectory is not None:
        from .trajectory import TrajectoryFile

        sinks.append(TrajectoryFile(trajectory, variables))
    return sinks
