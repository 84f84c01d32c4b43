"""scipy's BFGS, with adcli's exact gradients, on the Moré–Garbow–Hillstrom problems 1–18 (without 11).

The baseline that ``adcli minimize`` will be measured against: every problem of
benchmarks/mgh.py from the paper's standard start x0 and from 10·x0, with
``scipy.optimize.minimize(method="BFGS", jac=True)`` and its default options (gtol 1e-5 on
the gradient's largest component, at most 200·n iterations), the value and gradient coming
from adcli's compiled program. A run counts as having reached the minimum when
f - f* ≤ 1e-5·|f*| + 1e-8, with f* the published minimum of the problem; a run that ends,
by the same test, at another published minimum (Freudenstein–Roth's local 48.9842, Biggs
EXP6's 5.65565e-3) is named in the last column.

    python benchmarks/mgh_scipy.py             # the table, as plain text
    python benchmarks/mgh_scipy.py --markdown  # the same as a Markdown table

Needs scipy (not one of adcli's dependencies).
"""

from __future__ import annotations

import argparse
import statistics
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from mgh import PROBLEMS, Minimum, Problem
from numpy.typing import NDArray
from scipy.optimize import minimize

import autodiff_cli as ad

Objective = Callable[[NDArray[np.float64]], tuple[float, NDArray[np.float64]]]


@dataclass(frozen=True, slots=True)
class Run:
    problem: Problem
    scale: int
    """1 for the standard start x0, 10 for 10·x0."""
    f: float
    nit: int
    nfev: int
    njev: int
    message: str

    @property
    def excess(self) -> float:
        return self.f - self.problem.fstar

    @property
    def reached(self) -> bool:
        return self.excess <= 1e-5 * abs(self.problem.fstar) + 1e-8

    @property
    def other(self) -> Minimum | None:
        """The other published minimum (a local one) where the run ended, if it ended at one."""
        if self.reached:
            return None
        for other in self.problem.others:
            if abs(self.f - other.f) <= 1e-5 * abs(other.f) + 1e-8:
                return other
        return None


def objective(problem: Problem) -> Objective:
    """f and its exact gradient, in the problem's variable order, from adcli's compiled form."""
    compiled = ad.compile_program(ad.parse(problem.text))
    # The compiled function takes its variables in the order the program first uses them.
    where = [compiled.variables.index(name) for name in problem.names]
    slots = [0.0] * len(where)

    def fun(x: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        for k, j in enumerate(where):
            slots[j] = float(x[k])
        value, gradient = compiled.value_and_grad(*slots)
        return value, np.array([gradient[j] for j in where])

    return fun


def run(problem: Problem, scale: int) -> Run:
    x0 = scale * np.array(problem.start, dtype=float)
    with warnings.catch_warnings():
        # Some line searches step where exp overflows; the run goes on, and its end is reported.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = minimize(objective(problem), x0, jac=True, method="BFGS")
    return Run(
        problem,
        scale,
        float(result.fun),
        int(result.nit),
        int(result.nfev),
        int(result.njev),
        str(result.message),
    )


HEADER = ("problem", "n", "start", "f at the end", "f - f*", "reached", "iterations", "nfev", "njev",
          "or ended at")  # fmt: skip


def row(r: Run) -> tuple[str, ...]:
    return (
        f"{r.problem.number} {r.problem.name}",
        str(r.problem.n),
        "x0" if r.scale == 1 else f"{r.scale}·x0",
        f"{r.f:.6g}",
        f"{r.excess:.2e}",
        "yes" if r.reached else "no",
        str(r.nit),
        str(r.nfev),
        str(r.njev),
        "" if r.other is None else f"the local {r.other.f:g}",
    )


def text_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(line[k]) for line in [HEADER, *rows]) for k in range(len(HEADER))]
    left = {0, 2, len(HEADER) - 1}

    def fmt(line: tuple[str, ...]) -> str:
        cells = [c.ljust(w) if k in left else c.rjust(w) for k, (c, w) in enumerate(zip(line, widths))]
        return "  ".join(cells).rstrip()

    return "\n".join([fmt(HEADER), *(fmt(line) for line in rows)])


def markdown_table(rows: list[tuple[str, ...]]) -> str:
    align = ["---" if k in (0, 2, len(HEADER) - 1) else "---:" for k in range(len(HEADER))]
    lines = [HEADER, tuple(align), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def summary(runs: list[Run], scale: int) -> str:
    these = [r for r in runs if r.scale == scale]
    reached = [r for r in these if r.reached]
    start = "x0" if scale == 1 else f"{scale}·x0"
    line = f"from {start}: reached {len(reached)} of {len(these)}"
    if reached:
        nit = [r.nit for r in reached]
        line += f", in {min(nit)} to {max(nit)} iterations (median {statistics.median(nit):g})"
    local = [f"{r.problem.number} (f = {r.f:.6g})" for r in these if r.other is not None]
    if local:
        line += "; ended at a published local minimum: " + ", ".join(local)
    missed = [
        f"{r.problem.number} (f = {r.f:.6g}: {r.message})" for r in these if not r.reached and r.other is None
    ]
    if missed:
        line += "; neither: " + ", ".join(missed)
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    runs = [run(problem, scale) for problem in PROBLEMS for scale in (1, 10)]
    rows = [row(r) for r in runs]
    print(markdown_table(rows) if args.markdown else text_table(rows))
    print()
    for scale in (1, 10):
        print(summary(runs, scale))


if __name__ == "__main__":
    main()
