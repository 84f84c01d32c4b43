"""Pictures of an expression: its curve with a tangent, its contour map, a descent's path.

Values on a grid come from the compiled NumPy flavour (one call for the whole
grid); the tangent's slope comes from reverse-mode autodiff at one point.

matplotlib is an optional extra (``pip install 'adcli[plot]'``), imported only
inside the drawing functions.  We draw on a bare :class:`matplotlib.figure.Figure`
and never import pyplot, so no GUI backend is chosen, no global state changes,
and ``savefig`` renders with Agg (PNG), the SVG or the PDF backend by extension.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine.compile import Compiled, compile_program
from ..errors import AdcliError, VariableError, option, variable
from ..expr import Program, one_line
from ..language.inputs import Assignment, check_names, resolve_point
from ..language.inputs import parse_range as parse_range_text
from ..optimize.run import Record, Sink
from ..render.files import check_writable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CURVE_POINTS = 400
"""Samples along a curve: smooth at any print size, still instant."""
CONTOUR_POINTS = 150
"""Samples along each side of a contour map (150 x 150 = 22,500 values in one NumPy call)."""
ARROWS = 17
"""Gradient arrows along each side of a contour map: coarse enough to read each one."""
FORMATS = ("png", "svg", "pdf")
"""Output formats, chosen by the file's extension."""
INSTALL_HINT = "pip install 'adcli[plot]'"


class MissingDependencyError(AdcliError):
    """An optional extra that a command needs is not installed."""


class PlotError(AdcliError):
    """A plot that cannot be drawn as asked: ranges, the tangent's point, the output file."""


@dataclass(frozen=True, slots=True)
class Range:
    """A plotted variable and its interval, ``low < high``."""

    name: str
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Tangent:
    """The tangent line of a curve at ``at``: ``y = value + slope * (x - at)``."""

    name: str
    at: float
    value: float
    slope: float

    def __call__(self, x: Any) -> Any:
        """The line's height at ``x`` (a float or an array)."""
        return self.value + self.slope * (x - self.at)


# ---------------------------------------------------------------- what to plot


def parse_range(name: str, text: str) -> Range:
    """``LO:HI`` for variable ``name``; each bound a constant expression (``-pi:pi``)."""
    return Range(name, *parse_range_text(text, variable(name)))


def split_assignments(variables: Sequence[str], assignments: Sequence[Assignment]
                      ) -> tuple[tuple[Range, ...], dict[str, float]]:
    """The plotted variables (values ``LO:HI``) and the fixed ones (plain values).

    There must be one or two ranges, and every other variable needs a value.
    """
    seen: set[str] = set()
    ranges: list[Range] = []
    fixed: list[Assignment] = []
    for name, raw in assignments:
        if name in seen:
            raise VariableError(f"'{name}' is given a value twice")
        seen.add(name)
        if isinstance(raw, str) and ":" in raw:
            ranges.append(parse_range(name, raw))
        else:
            fixed.append((name, raw))
    check_names(seen, variables, "given a value")
    if not ranges:
        raise PlotError(f"nothing to plot: give one variable a range for a curve ({variable('x', '-2:2')}), "
                        f"or two for a contour map ({variable('x', '-2:2')} {variable('y', '-1:3')})")
    if len(ranges) > 2:
        raise PlotError(f"{len(ranges)} ranges given ({', '.join(r.name for r in ranges)}); a plot has "
                        "one (a curve) or two (a contour map): give the others a single value, such as "
                        f"{variable(ranges[-1].name, '1')}")
    # The plotted variables stand in with their low ends, so a missing value's message lists
    # all of the expression's variables.
    point = resolve_point(variables, [*fixed, *((r.name, r.low) for r in ranges)])
    plotted = {r.name for r in ranges}
    return tuple(ranges), {name: v for name, v in point.items() if name not in plotted}


def output_format(output: str | Path) -> str:
    """``png``, ``svg`` or ``pdf``, from the file name's extension."""
    suffix = Path(output).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        shown = f"'.{suffix}'" if suffix else "no extension"
        raise PlotError(f"cannot tell the picture's format from {str(output)!r} ({shown}); "
                        f"name the file .png, .svg or .pdf")
    return suffix


def _require_matplotlib() -> None:
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            f"plotting needs matplotlib, an optional extra: {INSTALL_HINT}") from None


# ---------------------------------------------------------------- numbers


def _arguments(compiled: Compiled, values: Mapping[str, Any]) -> list[Any]:
    return [values[name] for name in compiled.variables]


def tangent_line(program: Program, name: str, fixed: Mapping[str, float], at: float) -> Tangent:
    """The tangent of the curve ``name -> f`` at ``name = at``; the slope by reverse-mode autodiff."""
    return _tangent(compile_program(program, (name,)), fixed, at)


def _tangent(compiled: Compiled, fixed: Mapping[str, float], at: float) -> Tangent:
    (name,) = compiled.wrt
    value, (slope,) = compiled.value_and_grad(*_arguments(compiled, {**fixed, name: at}))
    if not (math.isfinite(value) and math.isfinite(slope)):
        raise PlotError(f"no tangent at {name} = {at!r}: the value there is {value!r} and the slope "
                        f"{slope!r}; choose another point with {option('at')}")
    return Tangent(name, at, value, slope)


def _values(compiled: Compiled, grid: Mapping[str, Any], fixed: Mapping[str, float]
            ) -> tuple[Any, tuple[Any, ...]]:
    """Values and partials on a grid (one compiled call), with inf and nan in the values as nan (gaps)."""
    import numpy as np

    value, grads = compiled.at_points(*_arguments(compiled, {**fixed, **grid}))
    value[~np.isfinite(value)] = np.nan
    return value, grads


def _nothing_finite(program: Program, ranges: Sequence[Range]) -> PlotError:
    where = ", ".join(f"{r.name} in [{r.low!r}, {r.high!r}]" for r in ranges)
    return PlotError(f"{one_line(program.source, 70)} has no finite value for {where}")


# ---------------------------------------------------------------- drawing


def _short(value: float) -> str:
    return f"{value:.4g}"


def _fixed_text(fixed: Mapping[str, float]) -> str:
    return ", ".join(f"{name} = {_short(v)}" for name, v in fixed.items())


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _title(axes: Axes, program: Program, fixed: Mapping[str, float], note: str = "") -> None:
    title = f"f = {one_line(program.source, 70)}"
    if fixed:
        title += f"\nat {_fixed_text(fixed)}"
    if note:
        title += f"\n{note}"
    axes.set_title(title, parse_math=False)


def _save(figure: Figure, output: str | Path) -> Path:
    """Draw ``figure`` in memory, then write the file: a failing disk is then one clear error,
    never a half-written file left to matplotlib's clean-up."""
    import io

    import numpy as np

    path = Path(output)
    drawn = io.BytesIO()
    # Ticks over spans near the largest float overflow inside matplotlib, harmlessly.
    with np.errstate(all="ignore"):
        figure.savefig(drawn, format=output_format(path), dpi=150)
    try:
        with open(path, "wb") as file:
            file.write(drawn.getbuffer())
    except OSError as error:
        raise PlotError(f"cannot write {str(output)!r}: {error.strerror or error}") from None
    return path


POLE_RATIO = 20
"""A curve whose full height exceeds this many times its central 90% is shown by that
central part (tripled): near a pole, as in 1/x, the few samples closest to it would
otherwise flatten everything else."""


def curve_view(ys: Any) -> tuple[float, float]:
    """The vertical range to show of a curve's finite values ``ys`` (nan elsewhere)."""
    import numpy as np

    low, high = float(np.nanmin(ys)), float(np.nanmax(ys))
    central_low, central_high = (float(q) for q in np.nanpercentile(ys, [5, 95]))
    central = central_high - central_low
    if central > 0 and high - low > POLE_RATIO * central:
        return max(low, central_low - central), min(high, central_high + central)
    return low, high


def _break_jumps(xs: Any, ys: Any, low: float, high: float) -> tuple[Any, Any]:
    """Gaps where the curve leaps from above the view to below it or back: a pole, not a line."""
    import numpy as np

    leaps = np.flatnonzero(((ys[:-1] > high) & (ys[1:] < low)) | ((ys[:-1] < low) & (ys[1:] > high)))
    middles = (xs[leaps] + xs[leaps + 1]) / 2
    return np.insert(xs, leaps + 1, middles), np.insert(ys, leaps + 1, np.nan)


def _set_ylim(axes: Axes, low: float, high: float) -> None:
    margin = (high - low) * 0.08 or max(1.0, abs(high)) * 0.1
    axes.set_ylim(low - margin, high + margin)


def _draw_curve(axes: Axes, compiled: Compiled, variable: Range, fixed: Mapping[str, float],
                points: int) -> tuple[float, float]:
    """f along ``variable``'s range; returns the vertical range worth showing (see curve_view)."""
    import numpy as np

    xs = np.linspace(variable.low, variable.high, points)
    ys, _ = _values(compiled, {variable.name: xs}, fixed)
    if not np.isfinite(ys).any():
        raise _nothing_finite(compiled.program, [variable])
    low, high = curve_view(ys)
    xs, ys = _break_jumps(xs, ys, low, high)
    axes.plot(xs, ys, color="tab:blue", linewidth=2, label=f"f({variable.name})")
    axes.set_xlim(variable.low, variable.high)
    _set_ylim(axes, low, high)
    axes.set_xlabel(variable.name)
    axes.set_ylabel(f"f({variable.name})")
    axes.grid(True, alpha=0.3)
    return low, high


def _contour(axes: Axes, figure: Figure, compiled: Compiled, x: Range, y: Range,
             fixed: Mapping[str, float], points: int) -> None:
    import numpy as np

    xs, ys = np.meshgrid(np.linspace(x.low, x.high, points), np.linspace(y.low, y.high, points))
    zs, _ = _values(compiled, {x.name: xs, y.name: ys}, fixed)
    if not np.isfinite(zs).any():
        raise _nothing_finite(compiled.program, [x, y])
    filled = axes.contourf(xs, ys, np.ma.masked_invalid(zs), levels=20, cmap="viridis")
    axes.contour(xs, ys, np.ma.masked_invalid(zs), levels=filled.levels, colors="black",
                 linewidths=0.4, alpha=0.5, linestyles="solid")
    figure.colorbar(filled, ax=axes, label="f")
    axes.set_xlim(x.low, x.high)
    axes.set_ylim(y.low, y.high)
    axes.set_xlabel(x.name)
    axes.set_ylabel(y.name)


def _arrows(axes: Axes, compiled: Compiled, x: Range, y: Range, fixed: Mapping[str, float]) -> None:
    """The gradient's direction on a coarse grid, as arrows of equal length (``compiled.wrt`` is x, y)."""
    import numpy as np

    # Inset half a cell so no arrow starts on the frame.
    def inset(r: Range) -> Any:
        half = (r.high - r.low) / (2 * ARROWS)
        return np.linspace(r.low + half, r.high - half, ARROWS)

    xs, ys = np.meshgrid(inset(x), inset(y))
    _, (gx, gy) = _values(compiled, {x.name: xs, y.name: ys}, fixed)
    # Direction only, every arrow the same length on screen: magnitudes span orders of magnitude,
    # and the colours already show height.  Each arrow points along the true gradient in data
    # coordinates (angles="xy"), so where the axes' scales differ it need not look perpendicular
    # to the contour lines.
    sx, sy = x.high - x.low, y.high - y.low
    with np.errstate(all="ignore"):  # (ranges of 1e-320 overflow the fractions: those arrows go)
        u, v = gx / sx, gy / sy  # the gradient in axis fractions: what the screen shows
        norm = np.hypot(u, v)
        u, v = u / norm * sx, v / norm * sy
    keep = np.isfinite(u) & np.isfinite(v) & (norm > 0)
    if keep.any():
        axes.quiver(xs[keep], ys[keep], u[keep], v[keep], color="white", alpha=0.85,
                    angles="xy", scale_units="xy", scale=1.6 * ARROWS, width=0.004)


def plot_curve(program: Program, variable: Range, fixed: Mapping[str, float], output: str | Path,
               at: float | None = None, points: int = CURVE_POINTS) -> Path:
    """Draw f along one variable with its tangent at ``at`` (default: the range's middle)."""
    output_format(output)
    _require_matplotlib()
    import numpy as np

    if at is None:
        at = (variable.low + variable.high) / 2
    elif not variable.low <= at <= variable.high:
        raise PlotError(f"{option('at')} {at!r} is outside the plotted range "
                        f"{variable.low!r}:{variable.high!r}")
    compiled = compile_program(program, (variable.name,))  # once, for the tangent and the curve
    tangent = _tangent(compiled, fixed, at)

    figure = _figure(7, 4.8)
    axes = figure.add_subplot()
    low, high = _draw_curve(axes, compiled, variable, fixed, points)
    xs = np.array([variable.low, variable.high])
    axes.plot(xs, tangent(xs), color="tab:orange", linewidth=1.5, linestyle="--",
              label=f"tangent at {variable.name} = {_short(at)}: slope {_short(tangent.slope)}")
    axes.plot([at], [tangent.value], "o", color="tab:red", markersize=7, zorder=3,
              label=f"f({_short(at)}) = {_short(tangent.value)}")
    # The curve's vertical range, not the tangent's: a steep tangent would flatten the curve.
    _set_ylim(axes, min(low, tangent.value), max(high, tangent.value))
    axes.legend(loc="best")
    _title(axes, program, fixed)
    return _save(figure, output)


def plot_contour(program: Program, x: Range, y: Range, fixed: Mapping[str, float], output: str | Path,
                 points: int = CONTOUR_POINTS, arrows: bool = True) -> Path:
    """Draw a filled contour map of f over two variables, with the gradient field as arrows."""
    output_format(output)
    _require_matplotlib()
    # Compiled once with the gradient: on NumPy arrays the reverse sweep costs less than the
    # forward functions, so the map's values come from the same function as the arrows.
    compiled = compile_program(program, (x.name, y.name))
    figure = _figure(7, 5.6)
    axes = figure.add_subplot()
    _contour(axes, figure, compiled, x, y, fixed, points)
    _title(axes, program, fixed, "arrows: the gradient's direction (uphill)" if arrows else "")
    if arrows:
        _arrows(axes, compiled, x, y, fixed)
    return _save(figure, output)


def plot(program: Program, assignments: Sequence[Assignment], output: str | Path, *,
         at: float | None = None, points: int | None = None, arrows: bool = True) -> Path:
    """A curve (one ``LO:HI`` range among the assignments) or a contour map (two); the file written."""
    output_format(output)
    _require_matplotlib()
    ranges, fixed = split_assignments(program.variables, assignments)
    if len(ranges) == 1:
        return plot_curve(program, ranges[0], fixed, output, at, points or CURVE_POINTS)
    if at is not None:
        raise PlotError(f"{option('at')} places the tangent on a curve of one variable; "
                        "a contour map has none")
    return plot_contour(program, ranges[0], ranges[1], fixed, output, points or CONTOUR_POINTS, arrows)


# ---------------------------------------------------------------- descent


def _around(values: Any) -> tuple[float, float]:
    """An interval around ``values`` with a margin, never empty."""
    low, high = float(values.min()), float(values.max())
    span = high - low
    if span <= 1e-12 * max(1.0, abs(low), abs(high)):
        span = max(1.0, abs(low), abs(high)) * 0.5
        return low - span, high + span
    return low - 0.15 * span, high + 0.15 * span


def _draw_losses(axes: Axes, program: Program, losses: Sequence[float]) -> None:
    """The loss per step; non-finite losses are gaps."""
    import numpy as np

    scale = loss_scale(losses)
    loss = np.array(losses, dtype=np.float64)
    loss[~np.isfinite(loss)] = np.nan
    if scale == "log10":
        loss = np.log10(loss)
    axes.plot(np.arange(len(loss)), loss, color="tab:blue", marker="." if len(loss) <= 60 else None,
              linewidth=1.5)
    if scale == "log":
        axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel("log10(loss)" if scale == "log10" else "loss")
    axes.set_title(f"loss of {one_line(program.source, 50)}", parse_math=False)
    axes.grid(True, alpha=0.3, which="both")


def _draw_path(axes: Axes, figure: Figure, compiled: Compiled, path: Any, heights: Any,
               fixed: Mapping[str, float]) -> None:
    """The path on the curve (one variable) or on the contour map (two) around it."""
    names, program = compiled.wrt, compiled.program
    try:
        if len(names) == 1:
            variable = Range(names[0], *_around(path[:, 0]))
            low, high = _draw_curve(axes, compiled, variable, fixed, CURVE_POINTS)
            _set_ylim(axes, min(low, float(heights.min())), max(high, float(heights.max())))
        else:
            x, y = (Range(name, *_around(path[:, i])) for i, name in enumerate(names))
            _contour(axes, figure, compiled, x, y, fixed, CONTOUR_POINTS)
    except PlotError:
        axes.text(0.5, 0.5, "f has no finite value here", transform=axes.transAxes,
                  ha="center", va="center")
        axes.set_xlabel(names[0])
        axes.set_ylabel(f"f({names[0]})" if len(names) == 1 else names[1])
    xs, ys = (path[:, 0], heights) if len(names) == 1 else (path[:, 0], path[:, 1])
    marker = "." if len(xs) <= 60 else None
    axes.plot(xs, ys, color="tab:red", linewidth=1.5, marker=marker, markersize=5, label="path", zorder=3)
    axes.plot(xs[:1], ys[:1], "o", color="white", markeredgecolor="black", markersize=9,
              label="start", zorder=4)
    axes.plot(xs[-1:], ys[-1:], "*", color="gold", markeredgecolor="black", markersize=15,
              label="end", zorder=4)
    axes.legend(loc="best")
    title = f"path over f = {one_line(program.source, 50)}"
    if fixed:
        title += f"\nat {_fixed_text(fixed)}"
    axes.set_title(title, parse_math=False)


def loss_scale(losses: Sequence[float]) -> str:
    """How to draw the loss axis: ``"linear"``, ``"log"``, or ``"log10"`` (log10 of the loss, linear).

    A log axis when the finite losses are all positive and span over 100x; log10 values on a
    linear axis when they also reach beyond 1e±100 (a diverged descent), where matplotlib's log
    axis overflows.  Non-finite losses are gaps in the curve and do not count.
    """
    finite = [v for v in losses if math.isfinite(v)]
    if len(finite) < 2 or min(finite) <= 0 or max(finite) / min(finite) <= 100:
        return "linear"
    return "log" if 1e-100 <= min(finite) and max(finite) <= 1e100 else "log10"


def plot_descent(program: Program, variables: Sequence[str], trajectory: Sequence[Sequence[float]],
                 losses: Sequence[float], output: str | Path,
                 fixed: Mapping[str, float] | None = None) -> Path:
    """Draw a descent: the loss per step and, for one or two variables, the path on f.

    ``trajectory`` holds the points visited, each in ``variables`` order;
    ``losses`` the loss per step.  The variables of ``program`` that are not
    descended take their values from ``fixed``.  The loss axis is logarithmic
    when the losses are positive and span more than two decades (see :func:`loss_scale`).
    """
    output_format(output)
    _require_matplotlib()
    import numpy as np

    fixed = dict(fixed or {})
    names = tuple(variables)
    check_names(names, program.variables, "descended")
    missing = [v for v in program.variables if v not in names and v not in fixed]
    if missing:
        raise VariableError(f"no value for variable '{missing[0]}': give it a fixed value")
    if any(len(p) != len(names) for p in trajectory):
        raise ValueError("every point of the trajectory needs one coordinate per variable")
    path = np.array(trajectory, dtype=np.float64).reshape(len(trajectory), len(names))
    # The map frames the points where f is finite: a diverged path would stretch it to 1e308.
    with_map = len(names) in (1, 2) and len(path) > 0
    if with_map:
        compiled = compile_program(program, names)
        heights, _ = _values(compiled, dict(zip(names, path.T)), fixed)
        keep = np.isfinite(path).all(axis=1) & np.isfinite(heights)
        path, heights = path[keep], heights[keep]
        with_map = len(path) > 0

    figure = _figure(12 if with_map else 7, 5 if with_map else 4.5)
    # A diverged descent has values near the largest floats, where matplotlib's tick and
    # scale arithmetic overflows harmlessly.
    with np.errstate(all="ignore"):
        _draw_losses(figure.add_subplot(1, 2 if with_map else 1, 1), program, losses)
        if with_map:
            _draw_path(figure.add_subplot(1, 2, 2), figure, compiled, path, heights, fixed)
    return _save(figure, output)


def check_can_plot(output: str | Path) -> None:
    """Raise now, before a long run, if ``output`` cannot be drawn: a bad extension, a folder
    that does not exist, or no matplotlib."""
    output_format(output)
    check_writable(output)
    _require_matplotlib()


class PathPlot(Sink):
    """Draws a run's loss curve and path (:func:`plot_descent`) when it ends, from every
    ``stride``-th step and the last one; checks that it can draw before the run starts."""

    def __init__(self, program: Program, variables: Sequence[str], fixed: Mapping[str, float],
                 output: str | Path, stride: int = 1) -> None:
        check_can_plot(output)
        self.program, self.variables, self.fixed = program, tuple(variables), dict(fixed)
        self.output, self.stride = output, max(1, stride)
        self.kept: list[Record] = []
        self.last: Record | None = None

    def records(self, records: Sequence[Record]) -> None:
        stride = self.stride
        self.kept.extend(r for r in records if int(r[0]) % stride == 0)
        self.last = records[-1]

    def finish(self, result: Any) -> None:
        if self.last is not None and (not self.kept or self.kept[-1][0] != self.last[0]):
            self.kept.append(self.last)
        if self.kept:
            plot_descent(self.program, self.variables, [r[3:] for r in self.kept],
                         [r[1] for r in self.kept], self.output, fixed=self.fixed)
