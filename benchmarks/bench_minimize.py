"""Section 6: `adcli minimize` on the Moré–Garbow–Hillstrom problems, against scipy's BFGS.

Every problem of benchmarks/mgh.py (1–18 without 11) from the paper's standard start x0 and
from 10·x0, in one run and side by side:

- adcli's methods (newton, the default; bfgs, lbfgs, newton-cg), through the library: did the
  run reach f* (f - f* ≤ 1e-5·|f*| + 1e-8), or another published minimum, iterations,
  evaluations of f (points where f was computed; the first is the start), why it stopped and
  what kind of point it says it ended at;
- scipy.optimize.minimize(method="BFGS", jac=True) with adcli's exact gradients and scipy's
  defaults (benchmarks/mgh_scipy.py): the same counts;
- the whole process: `adcli minimize --file PROBLEM --json` per problem from x0, against
  adcli's start-up (`adcli grad "x" --x 1 --json`), interleaved.

    python benchmarks/bench_minimize.py              # the tables
    python benchmarks/bench_minimize.py --quick      # fewer process rounds
    python benchmarks/run.py --only minimize         # the same, as a section of the report

scipy comes with ``pip install -e '.[bench]'``; without it the scipy columns are left out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # this checkout's autodiff_cli, installed or not

from common import Report, Runner, Table, fmt_ratio, fmt_time, interleave, ratio, run_process  # noqa: E402
from mgh import PROBLEMS, Problem  # noqa: E402

import autodiff_cli as ad  # noqa: E402
from autodiff_cli.optimize.minimize import DEFAULT_METHOD, METHODS, MinimizeResult, minimize_program  # noqa: E402

SCALES = (1, 10)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One run of one method on one problem from one start, by adcli or scipy."""

    problem: Problem
    scale: int
    value: float
    iterations: int
    nfev: int
    detail: str
    """adcli: the stop reason and the kind of point; scipy: its message."""

    @property
    def reached(self) -> bool:
        return self.value - self.problem.fstar <= 1e-5 * abs(self.problem.fstar) + 1e-8

    @property
    def other(self) -> float | None:
        """The other published minimum the run ended at, if it did not reach f*."""
        if self.reached:
            return None
        for other in self.problem.others:
            if abs(self.value - other.f) <= 1e-5 * abs(other.f) + 1e-8:
                return other.f
        return None

    @property
    def verdict(self) -> str:
        if self.reached:
            return "f*"
        return f"{self.other:g}" if self.other is not None else "no"


def start(problem: Problem, scale: int) -> dict[str, float]:
    return problem.point([scale * v for v in problem.start])


def adcli_run(problem: Problem, scale: int, method: str) -> tuple[Outcome, MinimizeResult]:
    from autodiff_cli.optimize.minimize import MinimizeConfig

    program = ad.parse(problem.text)
    result, _ = minimize_program(program, start(problem, scale), None, MinimizeConfig(method=method))
    kind = result.classification.split(":")[0]
    return Outcome(problem, scale, result.value, result.iterations, result.evaluations.function,
                   f"{result.stop_reason}, {kind}"), result


def scipy_run(problem: Problem, scale: int) -> Outcome | None:
    try:
        import mgh_scipy
    except ImportError:  # scipy is not installed
        return None
    found = mgh_scipy.run(problem, scale)
    return Outcome(problem, scale, found.f, found.nit, found.nfev, found.message)


def label(problem: Problem) -> str:
    return f"{problem.name} ({problem.number})"


def median(values: Sequence[int]) -> str:
    return f"{statistics.median(values):g}" if values else "n/a"


def process(argv: list[str], env: dict[str, str]) -> Runner:
    def go() -> tuple[float, Any]:
        wall, code, out, err, _ = run_process(argv, env=env)
        if code not in (0, 1):  # 1: the run did not end at a minimum, which is a result too
            raise RuntimeError(f"{' '.join(argv)} failed ({code}): {err[-2000:]}")
        return wall, out
    return go


def run(report: Report, command: list[str] | None = None, env: dict[str, str] | None = None,
        repeats: int = 5) -> dict[str, Any]:
    report.heading("6. minimize: the Moré–Garbow–Hillstrom problems, adcli against scipy's BFGS")
    rows: list[list[str]] = []
    default: dict[int, list[Outcome]] = {scale: [] for scale in SCALES}
    rival: dict[int, list[Outcome]] = {scale: [] for scale in SCALES}
    others: dict[tuple[str, int], list[Outcome]] = {}
    for problem in PROBLEMS:
        for scale in SCALES:
            ours, result = adcli_run(problem, scale, DEFAULT_METHOD)
            theirs = scipy_run(problem, scale)
            default[scale].append(ours)
            if theirs is not None:
                rival[scale].append(theirs)
            for method in METHODS:
                if method != DEFAULT_METHOD:
                    others.setdefault((method, scale), []).append(adcli_run(problem, scale, method)[0])
            scipy_cells = [theirs.verdict, str(theirs.iterations), str(theirs.nfev)] if theirs else ["—"] * 3
            rows.append([label(problem), "x0" if scale == 1 else f"{scale}·x0",
                         ours.verdict, str(ours.iterations), str(ours.nfev),
                         str(result.evaluations.hessian), ours.detail, *scipy_cells])
    notes = []
    for scale in SCALES:
        ours, theirs = default[scale], rival[scale]
        where = "x0" if scale == 1 else f"{scale}·x0"
        line = (f"from {where}: adcli {DEFAULT_METHOD} reached f* on {sum(o.reached for o in ours)} of "
                f"{len(ours)} (a published local minimum on {sum(o.other is not None for o in ours)}), "
                f"median evaluations of f {median([o.nfev for o in ours])}")
        if theirs:
            line += (f"; scipy BFGS reached f* on {sum(o.reached for o in theirs)} "
                     f"(a local minimum on {sum(o.other is not None for o in theirs)}), "
                     f"median evaluations of f {median([o.nfev for o in theirs])}")
        notes.append(line)
    if not any(rival.values()):
        notes.append("scipy is not installed (pip install -e '.[bench]'): no side-by-side columns")
    notes.append("reached: f* (f - f* ≤ 1e-5·|f*| + 1e-8), another published minimum by its value, or no; "
                 "evaluations of f count the points where f was computed, the start included "
                 "(scipy's nfev with jac=True counts the same)")
    report.table(Table(f"adcli minimize (default method: {DEFAULT_METHOD}) and scipy BFGS, exact gradients",
                       ["problem", "start", "adcli", "iter", "f evals", "Hessians", "stop, point",
                        "scipy", "iter", "f evals"], rows, notes))

    summary = []
    for method in METHODS:
        for scale in SCALES:
            runs = default[scale] if method == DEFAULT_METHOD else others[(method, scale)]
            missed = [f"{o.problem.number}" for o in runs if not o.reached and o.other is None]
            summary.append([method, "x0" if scale == 1 else f"{scale}·x0", str(sum(o.reached for o in runs)),
                            str(sum(o.other is not None for o in runs)), ", ".join(missed) or "none",
                            median([o.nfev for o in runs])])
        if method == DEFAULT_METHOD and any(rival.values()):
            for scale in SCALES:
                theirs = rival[scale]
                missed = [f"{o.problem.number}" for o in theirs if not o.reached and o.other is None]
                local = sum(o.other is not None for o in theirs)
                summary.append(["scipy BFGS", "x0" if scale == 1 else f"{scale}·x0",
                                str(sum(o.reached for o in theirs)), str(local),
                                ", ".join(missed) or "none", median([o.nfev for o in theirs])])
    report.table(Table("Every method on the 17 problems", ["method", "start", "reached f*", "local minimum",
                                                            "neither (problem)", "median f evals"], summary))

    if command is not None:
        timings(report, command, env or dict(os.environ), repeats)
    return {"default": default, "scipy": rival}


def timings(report: Report, command: list[str], env: dict[str, str], repeats: int) -> None:
    """The whole `adcli minimize --file ... --json` process per problem from x0, against
    adcli's start-up, interleaved."""
    folder = Path(tempfile.mkdtemp(prefix="adcli-bench-minimize-"))
    runners = {"start-up": process([*command, "grad", "x", "--x", "1", "--json"], env),
               "numpy": process([*command, "hessian", "x^2", "--x", "1", "--json"], env)}
    for problem in PROBLEMS:
        path = folder / f"mgh{problem.number}.adx"
        path.write_text(problem.text, encoding="utf-8")
        values = [arg for name, value in start(problem, 1).items() for arg in (f"--{name}", repr(value))]
        runners[str(problem.number)] = process([*command, "minimize", "--file", str(path), *values, "--json"],
                                               env)
    got = interleave(runners, repeats, warmup=1)
    base, floor = got["start-up"], got["numpy"]
    rows = [["adcli grad x --x 1 --json (start-up)", fmt_time(base.median), fmt_time(base.best), "1.00×",
             fmt_ratio(ratio(base, floor))],
            ["adcli hessian x^2 --x 1 --json (start-up and NumPy)", fmt_time(floor.median),
             fmt_time(floor.best), fmt_ratio(ratio(floor, base)), "1.00×"]]
    for problem in PROBLEMS:
        series = got[str(problem.number)]
        rows.append([f"adcli minimize: {label(problem)}", fmt_time(series.median), fmt_time(series.best),
                     fmt_ratio(ratio(series, base)), fmt_ratio(ratio(series, floor))])
    ratios = sorted(ratio(got[str(p.number)], base) for p in PROBLEMS)
    report.table(Table(f"Whole processes from x0, {repeats} interleaved rounds (the adcli command: "
                       f"{' '.join(command)})",
                       ["command", "median", "best", "× start-up", "× start-up and NumPy"], rows,
                       [f"adcli minimize takes {fmt_ratio(ratios[0])} to {fmt_ratio(ratios[-1])} adcli's "
                        f"start-up (median {fmt_ratio(statistics.median(ratios))}), best round against best "
                        "round; a minimize process also imports NumPy (for the eigendecompositions), "
                        "compiles the gradient, the Hessian's tangent sweeps and f's rounding bound, and "
                        "iterates"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds of the whole processes")
    parser.add_argument("--no-processes", action="store_true", help="leave out the whole-process timings")
    parser.add_argument("--markdown", metavar="FILE", help="also write the report as Markdown to FILE")
    args = parser.parse_args(argv)
    from run import adcli_command

    command, env = adcli_command()
    report = Report()
    run(report, None if args.no_processes else command, env, repeats=3 if args.quick else 11)
    if args.markdown:
        Path(args.markdown).write_text(report.markdown(), encoding="utf-8")
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
