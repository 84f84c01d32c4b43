"""Section 5: checking the gradient at 1,000 random points, adcli against numdifftools and torch.

A check compares the analytic gradient with a numerical one at each point.
adcli's rows: ``check_program`` as ``adcli check --points`` runs it (all points
at once on NumPy arrays, with the step chosen per point from the error
estimate and the kink test), the same check point by point (its reference
path), the compiled gradient alone, and the whole ``adcli check`` process.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import rivals
from common import Report, Runner, Table, fmt_ratio, fmt_time, interleave, ratio, run_process, timed
from problems import PROBLEMS, Problem

from autodiff_cli.check.differences import float_function
from autodiff_cli.check.point import check_point
from autodiff_cli.check.points import check_points
from autodiff_cli.check.report import CheckSettings
from autodiff_cli.engine.compile import compile_program
from autodiff_cli.language.parser import parse

CHECKED = ("rosenbrock", "ten")
CHECK = CheckSettings(points=1)
"""adcli's default check (step per point from the error estimate, rtol 1e-5, atol 1e-8)."""


@dataclass
class Settings:
    points: int
    repeats: int
    command: list[str]
    env: dict[str, str]


def adcli_check_cli(settings: Settings, problem: Problem) -> tuple[float, str] | None:
    """`adcli check EXPR --points N` as a whole process: (wall seconds, its last line of output).

    None when this adcli has no ``check`` command."""
    argv = [*settings.command, "check", problem.text, "--points", str(settings.points)]
    wall, code, out, err, _ = run_process(argv, env=settings.env)
    if code == 2 and ("No such command" in err or "no such command" in err.lower()):
        return None
    last = (out.strip().splitlines() or err.strip().splitlines() or [""])[-1]
    if code not in (0, 1):
        return float("nan"), f"failed with status {code}: {last[:120]}"
    return wall, last[:120]


def _max_error(analytic: Any, numeric: Any) -> float:
    import numpy as np

    a, n = np.asarray(analytic, dtype=float), np.asarray(numeric, dtype=float)
    return float(np.max(np.abs(a - n) / (1.0 + np.abs(a))))


def run(report: Report, settings: Settings) -> dict[str, Any]:
    import numpy as np

    report.heading(f"5. Checking the gradient at {settings.points:,} random points")
    report.note("Each check computes the analytic gradient and a numerical one at every point and "
                "reports the largest difference (relative to 1 + |analytic|). Points: uniform in [-2, 2], "
                "seed 0. adcli's set-up (parse and compile, once) is inside its time.")
    torch = rivals.torch_module()
    try:
        import numdifftools
    except ImportError:
        numdifftools = None
    results: dict[str, Any] = {}
    for key in CHECKED:
        problem = next(p for p in PROBLEMS if p.key == key)
        points = np.random.default_rng(0).uniform(-2.0, 2.0, size=(settings.points, len(problem.names)))
        rows_list = [tuple(float(v) for v in row) for row in points]

        def adcli_check(problem: Problem = problem, rows: list[tuple[float, ...]] = rows_list,
                        per_point: bool = False) -> tuple[float, Any]:
            def run() -> float:
                program = parse(problem.text)
                at = [dict(zip(program.variables, row)) for row in rows]
                f = float_function(program)
                if per_point:  # the reference path: every point on its own
                    checked = [check_point(program, f, p, program.variables, CHECK, i)
                               for i, p in enumerate(at)]
                else:
                    checked = check_points(program, f, at, program.variables, CHECK)
                if not all(p.ok for p in checked):
                    return math.inf
                return max(v.abs_error / (1.0 + abs(v.autodiff)) for p in checked for v in p.variables)
            return timed(run)

        def adcli_grad_only(problem: Problem = problem, points: Any = points) -> tuple[float, Any]:
            compiled = compile_program(parse(problem.text))
            columns = [points[:, i] for i in range(points.shape[1])]
            return timed(lambda: (compiled.at_points(*columns), 0.0)[1])

        runners: dict[str, Runner] = {
            "numpy": adcli_check, "loop": lambda problem=problem: adcli_check(problem, per_point=True),
            "grad_only": adcli_grad_only}
        labels = {"numpy": "adcli check on NumPy arrays, all points at once "
                           "(check_batch, as `adcli check --points` runs)",
                  "loop": "adcli, the same check point by point (its reference path)",
                  "grad_only": "adcli at_points, gradient only (compiled beforehand; no check)"}
        if numdifftools is not None:
            def nd_check(problem: Problem = problem, rows: list[tuple[float, ...]] = rows_list
                         ) -> tuple[float, Any]:
                def fun(vector: Any, f: Callable[..., Any] = problem.python) -> Any:
                    return f(np.sin, *vector)
                gradient = numdifftools.Gradient(fun)

                def check() -> float:
                    worst = 0.0
                    for point in rows:
                        worst = max(worst, _max_error(problem.gradient(*point), gradient(np.asarray(point))))
                    return worst
                return timed(check)
            runners["numdifftools"] = nd_check
            labels["numdifftools"] = "numdifftools.Gradient per point against the closed form"
        if torch is not None:
            def torch_check(problem: Problem = problem, rows: list[tuple[float, ...]] = rows_list
                            ) -> tuple[float, Any]:
                def f(*xs: Any) -> Any:
                    return problem.python(torch.sin, *xs)

                def check() -> float:
                    for point in rows:
                        inputs = tuple(torch.tensor(x, dtype=torch.float64, requires_grad=True)
                                       for x in point)
                        torch.autograd.gradcheck(f, inputs)  # raises if the check fails
                    return 0.0
                return timed(check)
            runners["torch"] = torch_check
            labels["torch"] = "torch.autograd.gradcheck per point"
        got = interleave(runners, settings.repeats)
        rows = []
        for name, series in got.items():
            error = series.payload
            rows.append([labels[name], fmt_time(series.best), fmt_time(series.best / settings.points),
                         fmt_ratio(ratio(series, got["numpy"])),
                         "passed (raises otherwise)" if name == "torch" else
                         ("—" if name == "grad_only" else f"{error:.1e}")])
        for name in ("numdifftools", "torch"):
            if name not in runners:
                rows.append([f"{name}: not installed (pip install -e '.[bench]')", "", "", "", ""])
        cli = adcli_check_cli(settings, problem)
        if cli is None:
            rows.append([f"adcli check --points {settings.points} (whole process)", "not available", "", "",
                         "this adcli has no check command"])
        else:
            rows.append([f"adcli check --points {settings.points} (whole process)", fmt_time(cli[0]),
                         fmt_time(cli[0] / settings.points), fmt_ratio(cli[0] / got["numpy"].best), cli[1]])
        report.table(Table(f"{problem.title}: {settings.points:,} points",
                           ["check", "time (best)", "per point", "× adcli check", "largest difference"],
                           rows))
        results[key] = {name: s.best for name, s in got.items()}
    results["many"] = many_variables(report, settings)
    return results


def chain(n: int) -> tuple[str, dict[str, float]]:
    """Σ (x_i - 1)²·sin(x_{i+1}), n variables coupled in a ring, at a point in (0, 1)."""
    text = " + ".join(f"(x{i} - 1)^2*sin(x{(i + 1) % n})" for i in range(n))
    return text, {f"x{i}": 0.1 + 0.8 * ((i * 37) % 101) / 101 for i in range(n)}


def many_variables(report: Report, settings: Settings) -> dict[str, float]:
    """One point with many variables: each variable's ladder and kink test (36 evaluations of f),
    evaluated for blocks of variables together on arrays."""
    from autodiff_cli import clear_caches
    from autodiff_cli.check import check

    rows, results = [], {}
    for n in (300, 3000):
        text, point = chain(n)
        for mode in ("reverse", "forward"):
            def run(text: str = text, point: dict[str, float] = point, mode: Any = mode) -> tuple[float, Any]:
                clear_caches()
                return timed(lambda: float(check(text, settings=CheckSettings(mode=mode), **point).ok))
            series = interleave({"check": run}, 1 if n > 1000 else max(1, settings.repeats))["check"]
            results[f"{n}-{mode}"] = series.best
            rows.append([f"{n:,}", mode, fmt_time(series.best), fmt_time(series.best / n),
                         "pass" if series.payloads[-1] == 1.0 else "FAIL"])
    report.table(Table("One point, many variables: Σ (x_i - 1)²·sin(x_{i+1}) (parse, compile and check, "
                       "in the library)", ["variables", "mode", "time", "per variable", "result"], rows))
    return results
