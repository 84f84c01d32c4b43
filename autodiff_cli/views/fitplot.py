"""A fit's picture: the data with the fitted curve (one input column), the decision boundary
over the points (bce with two input columns), or observed against fitted values (otherwise);
and the residuals.  Drawn when the run ends, as a sink of the run loop."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..expr import one_line
from ..optimize.run import Sink
from .plot import _figure, _require_matplotlib, _save, check_can_plot

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..fit.problem import Problem
    from ..fit.result import FitResult
    from ..fit.rows import Rows

MAX_POINTS = 20_000
"""At most this many rows are drawn (evenly spaced through the data)."""


class FitPlot(Sink):
    """Draws the fit when it ends; checks that it can draw before the run starts."""

    def __init__(self, problem: Problem, output: str | Path) -> None:
        check_can_plot(output)
        self.problem, self.output = problem, output

    def finish(self, result: Any) -> None:
        plot_fit(self.problem, result, self.output)


def _sample(problem: Problem) -> Rows:
    import numpy as np

    from ..fit.data import stream_tables
    from ..fit.rows import make_rows

    rows = problem.rows
    if rows is None:  # streamed: the first block
        table = next(
            iter(
                stream_tables(
                    problem.source,
                    problem.model.columns,
                    reader=problem.config.reader,
                    drop_missing=problem.config.drop_missing,
                )
            )
        )
        rows = make_rows(problem.model, table, problem.source.name)
    if rows.n > MAX_POINTS:
        rows = rows.subset(np.linspace(0, rows.n - 1, MAX_POINTS).astype(int))
    return rows


def plot_fit(problem: Problem, result: FitResult, output: str | Path) -> Path:
    """Draw the fit of ``result`` over (a sample of) the problem's rows."""
    _require_matplotlib()
    import numpy as np

    from ..fit.evaluate import Evaluator

    model = problem.model
    rows = _sample(problem)
    x = [result.parameters[n] for n in model.params]
    evaluator = Evaluator(model)
    with np.errstate(all="ignore"):
        predicted = evaluator.predictions(rows, x)
    figure = _figure(12, 5)
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    title = f"{one_line(model.program.source, 60)}"
    inputs = model.inputs
    with np.errstate(all="ignore"):
        if len(inputs) == 1:
            _curve(left, evaluator, rows, x, inputs[0], model.target)
            against, label = rows.columns[inputs[0]], inputs[0]
        elif len(inputs) == 2 and model.classification:
            _boundary(left, evaluator, rows, x, inputs, model.target)
            against, label = predicted, "predicted probability"
        else:
            left.scatter(predicted, rows.target, s=8, alpha=0.6, color="tab:blue")
            ends = [float(np.nanmin(rows.target)), float(np.nanmax(rows.target))]
            left.plot(ends, ends, color="tab:red", linewidth=1)
            left.set_xlabel("fitted")
            left.set_ylabel(model.target)
            against, label = predicted, "fitted"
        left.set_title(f"{title}\nfitted to {problem.source.path.name}", parse_math=False)
        residual = rows.target - predicted
        right.axhline(0.0, color="gray", linewidth=1)
        right.scatter(against, residual, s=8, alpha=0.6, color="tab:purple")
        right.set_xlabel(label)
        right.set_ylabel(f"{model.target} - prediction")
        extra = ""
        if result.residual_standard_deviation is not None and math.isfinite(
            result.residual_standard_deviation
        ):
            extra = f" (residual sd {result.residual_standard_deviation:.4g})"
        elif result.accuracy is not None:
            extra = f" (accuracy {result.accuracy:.4g})"
        right.set_title(f"residuals{extra}", parse_math=False)
    for axes in (left, right):
        axes.grid(True, alpha=0.3)
    return _save(figure, output)


def _curve(axes: Axes, evaluator: Any, rows: Rows, x: list[float], name: str, target: str) -> None:
    import numpy as np

    from ..fit.rows import Rows

    column = rows.columns[name]
    low, high = float(np.min(column)), float(np.max(column))
    span = high - low or 1.0
    grid = np.linspace(low - 0.02 * span, high + 0.02 * span, 400)
    curve = evaluator.predictions(Rows({name: grid}, grid, None), x)
    axes.scatter(column, rows.target, s=10, color="tab:blue", alpha=0.7, label="data", zorder=2)
    axes.plot(grid, curve, color="tab:red", linewidth=2, label="fit", zorder=3)
    axes.set_xlabel(name)
    axes.set_ylabel(target)
    axes.legend(loc="best")


def _boundary(
    axes: Axes, evaluator: Any, rows: Rows, x: list[float], names: tuple[str, ...], target: str
) -> None:
    import numpy as np

    from ..fit.rows import Rows

    a, b = (rows.columns[n] for n in names)
    pad = 0.05

    def span(v: Any) -> tuple[float, float]:
        low, high = float(np.min(v)), float(np.max(v))
        width = high - low or 1.0
        return low - pad * width, high + pad * width

    ga, gb = np.meshgrid(np.linspace(*span(a), 200), np.linspace(*span(b), 200))
    grid = Rows({names[0]: ga.ravel(), names[1]: gb.ravel()}, ga.ravel(), None)
    prob = evaluator.predictions(grid, x).reshape(ga.shape)
    filled = axes.contourf(ga, gb, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
    axes.contour(ga, gb, prob, levels=[0.5], colors="black", linewidths=2)
    ones = rows.target == 1.0
    axes.scatter(
        a[~ones], b[~ones], s=14, color="tab:blue", edgecolors="white", linewidths=0.3, label=f"{target} = 0"
    )
    axes.scatter(
        a[ones], b[ones], s=14, color="tab:red", edgecolors="white", linewidths=0.3, label=f"{target} = 1"
    )
    axes.figure.colorbar(filled, ax=axes, label="predicted probability")
    axes.set_xlabel(names[0])
    axes.set_ylabel(names[1])
    axes.legend(loc="best")
