"""Fitting an expression's parameters to data: least squares with the exact Jacobian, other
losses with the descent optimizers, mini-batches streamed from the file.

    >>> from autodiff_cli.fit import fit
    >>> result = fit("b1*(1-exp(-b2*x))", "misra1a.csv", b1=500, b2=1e-4)  # doctest: +SKIP

Variables named like a column of the data take that column's values; the others are the
parameters, started at the values given.  :func:`setup` and :func:`run_fit` split the work
for a caller that needs the problem before it runs (the command line makes its progress
log and plot from it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import expr as ast
from ..optimize.bounds import parse_bounds
from ..optimize.run import Sink, run
from .data import open_source
from .methods import METHODS, FitConfig, FitRow, Objective, Problem, make_method, objective, prepare
from .model import FitError, FitModel, build_model, resolve_start
from .result import FitResult

__all__ = [
    "METHODS",
    "FitConfig",
    "FitError",
    "FitModel",
    "FitResult",
    "FitRow",
    "Objective",
    "Problem",
    "fit",
    "objective",
    "parse_bounds",
    "run_fit",
    "setup",
]


def setup(
    program: ast.Program | str,
    data: str | Path,
    assignments: Sequence[tuple[str, Any]] = (),
    init: float | None = None,
    config: FitConfig | None = None,
) -> Problem:
    """Read the data's header, decide what each variable is, check everything, read the data."""
    from ..language.parser import parse

    config = config or FitConfig()
    if isinstance(program, str):
        program = parse(program)
    source = open_source(data)
    model = build_model(
        program,
        source.columns,
        data=source.name,
        target=config.target,
        sigma=config.sigma,
        loss=config.loss,
        delta=config.delta,
    )
    start = resolve_start(model, list(assignments), init, source.name)
    return prepare(model, source, start, config)


def run_fit(problem: Problem, sinks: Sequence[Sink] = ()) -> tuple[FitResult, bool]:
    """Run the fit through the run loop: the result, and whether Ctrl-C ended it."""
    return run(make_method(problem), sinks)


def fit(
    program: ast.Program | str,
    data: str | Path,
    *,
    init: float | None = None,
    config: FitConfig | None = None,
    sinks: Sequence[Sink] = (),
    **start: float,
) -> FitResult:
    """Fit ``program``'s parameters to ``data``; start values as keywords (``b1=500``)."""
    result, _ = run_fit(setup(program, data, list(start.items()), init, config), sinks)
    return result


def start_values(result: FitResult) -> Mapping[str, float]:
    return dict(result.parameters)
