"""A minimization's progress log columns and its summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..errors import command_line_spelling
from .console import number, point_text, short
from .descent import Column, with_coordinates

if TYPE_CHECKING:
    from ..optimize.minimize import MinimizeResult

TRUST_REGION = ("newton", "newton-cg")


def minimize_columns(method: str, variables: Sequence[str], width: int) -> list[Column]:
    """iteration, f, ‖grad‖, the step's length, the trust radius (or the line search's α),
    function evaluations so far; then as many of the variables as fit in ``width``."""
    columns = [Column("iter", 4, lambda row: str(row.iteration)),
               Column("f", 12, lambda row: short(row.value)),
               Column("‖grad‖", 8, lambda row: f"{row.grad_norm:.3g}"),
               Column("‖step‖", 8, lambda row: f"{row.step:.3g}" if row.iteration else ""),
               Column("radius" if method in TRUST_REGION else "α", 8,
                      lambda row: "" if row.radius != row.radius else f"{row.radius:.3g}"),
               Column("evals", 5, lambda row: str(row.evaluations))]
    return with_coordinates(columns, variables, width)


SHOWN = 8
"""A point with more variables than this shows its first ones (--json has them all)."""


def _point(point: dict[str, float]) -> str:
    if len(point) <= SHOWN:
        return point_text(point)
    first = dict(list(point.items())[:SHOWN])
    return f"{point_text(first)}, … ({len(point)} variables; --json lists them all)"


def _bound(low: float, high: float) -> str:
    return f"[{number(low)}, {number(high)}]"


def minimize_summary(result: MinimizeResult) -> RenderableType:
    """How the minimization ended and what kind of point it ended at, full precision."""
    from ..optimize.minimize import METHODS

    ok = result.ok
    style = "green" if ok else ("yellow" if result.stop_reason == "interrupted" else "red")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("stopped", Text(result.describe(command_line_spelling), style=style))
    kind = result.classification
    wanted = "local maximum" if result.maximize else "local minimum"
    grid.add_row("point is", Text(kind, style="green" if kind.startswith(wanted) else "yellow"))
    if result.eigenvalues:  # (none when not computed, or when every variable is at a bound)
        values = result.eigenvalues
        shown = ", ".join(number(v) for v in values) if len(values) <= SHOWN else (
            f"{number(values[0])} … {number(values[-1])} ({len(values)}; --json lists them all)")
        grid.add_row("eigenvalues", shown + ("  (of the Hessian over the variables not held at a bound)"
                                             if result.active_bounds else ""))
    grid.add_row("method", f"{result.method}: {METHODS[result.method]}")
    grid.add_row("iterations", str(result.iterations))
    counts = result.evaluations
    evaluations = [f"{counts.function} of f", f"{counts.gradient} of the gradient"]
    if counts.hessian:
        evaluations.append(f"{counts.hessian} of the Hessian")
    if counts.hessian_vector:
        evaluations.append(f"{counts.hessian_vector} Hessian-vector products")
    grid.add_row("evaluations", ", ".join(evaluations))
    grid.add_row("value", number(result.value))
    projected = "  (projected on the bounds)" if result.bounds else ""
    grid.add_row("‖grad‖", number(result.grad_norm) + projected)
    grid.add_row("point", _point(result.point))
    grid.add_row("start", _point(result.start))
    if result.bounds:
        bounds = [f"{name} in {_bound(*interval)}" for name, interval in result.bounds.items()]
        grid.add_row("bounds", ", ".join(bounds[:SHOWN]) + (", …" if len(bounds) > SHOWN else ""))
        active = [f"{name} at its {side} bound" if side != "fixed" else f"{name} fixed by its bounds"
                  for name, side in result.active_bounds.items()]
        shown = ", ".join(active[:SHOWN]) + (f", … ({len(active)} in all)" if len(active) > SHOWN else "")
        grid.add_row("active", shown or "none")
    for note in result.notes:
        grid.add_row("note", note)
    grid.add_row("elapsed", f"{result.elapsed:.3g} s")
    return grid
