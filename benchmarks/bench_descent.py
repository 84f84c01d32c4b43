"""Sections 1 and 2: gradient descent per step, adcli against the hand-written floor and its rivals."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from typing import Any

import micrograd
import rivals
from common import (
    Report,
    Runner,
    Series,
    Table,
    clear_compile_caches,
    fmt_dev,
    fmt_ratio,
    fmt_time,
    interleave,
    ratio,
    relative_deviation,
    run_process,
    timed,
)
from problems import OPTIMIZERS, PROBLEMS, Problem

from autodiff_cli.language.parser import parse
from autodiff_cli.optimize.descent import Descent, DescentConfig

SAME_POINT = 1e-6
"""Final points closer than this (relative to the point's scale) count as the same point.
Plain descent and momentum agree to 1e-15 or exactly; Adam divides each gradient by its running
RMS, so near a minimum, where the gradient is tiny and its last bits are mostly rounding, two
correct implementations that round the gradient differently walk apart by up to ~1e-7."""
TARGET = 1.5
"""The issue's target: adcli's time per step at most this many times the hand-written floor."""


@dataclass
class Settings:
    repeats: int
    """Rounds for the fast implementations (the floor and adcli)."""
    rival_repeats: int
    rival_steps: int | None
    """Run PyTorch, JAX and micrograd for at most this many steps (None: the full run)."""
    cli_repeats: int
    command: list[str]
    env: dict[str, str]


def adcli_runner(program: Any, problem: Problem, optimizer: str, lr: float, steps: int,
                 every: int | None = None) -> Runner:
    """Descent through the library; the time counts iterating rows().  The set-up is compiling:
    adcli compiles a program's loop once and caches it, so the set-up reported is the first
    construction's, with the caches emptied; every round then builds its Descent from the cache,
    as a program descended again would."""
    start = dict(zip(problem.names, problem.start))
    config = DescentConfig(optimizer=optimizer, hyper={"lr": lr}, steps=steps, tol=0.0, every=every)
    clear_compile_caches()
    setup, _ = timed(lambda: Descent(program, start, problem.names, config))

    def run() -> tuple[float, Any]:
        descent = Descent(program, start, problem.names, config)
        seconds, _ = timed(lambda: [None for _ in descent.rows()])
        result = descent.result
        assert result is not None and result.steps == steps, result
        return seconds, (tuple(result.point[n] for n in problem.names), setup)

    return run


def cli_argv(settings: Settings, problem: Problem, optimizer: str, lr: float, steps: int) -> list[str]:
    argv = [*settings.command, "descend", problem.text]
    for name, value in zip(problem.names, problem.start):
        argv += [f"--{name}", repr(value)]
    return [*argv, "--optimizer", optimizer, "--lr", repr(lr), "--steps", str(steps), "--tol", "0",
            "--json", "--quiet"]


def run_group(problem: Problem, optimizer: str, settings: Settings, report_rows: list[list[str]],
              summary: dict[Any, Any]) -> None:
    lr, steps = problem.lr[optimizer], problem.steps
    hand = problem.hand[optimizer]
    program = parse(problem.text)
    floor_point = hand(problem.start, lr, steps)

    # 1. The floor and adcli: cheap, so many rounds.
    fast: dict[str, Runner] = {
        "floor": lambda: timed(lambda: hand(problem.start, lr, steps)),
        "adcli": adcli_runner(program, problem, optimizer, lr, steps),
        "adcli_one_row": adcli_runner(program, problem, optimizer, lr, steps, every=steps),
    }
    got = interleave(fast, settings.repeats)
    floor = got["floor"]
    fast_point = got["adcli"].payload[0]
    per_step = {name: s.best / steps for name, s in got.items()}
    ratio_floor = {name: ratio(s, floor) for name, s in got.items()}

    def row(label: str, n: int, series: Series, ratio_to_floor: float, ratio_to_adcli: float,
            setup: str, dev: float | None) -> None:
        report_rows.append([problem.key, label, str(n), fmt_time(series.best / n), fmt_ratio(ratio_to_floor),
                            fmt_ratio(ratio_to_adcli), setup, "—" if dev is None else fmt_dev(dev)])

    adcli_setup = fmt_time(statistics.median(p[1] for p in got["adcli"].payloads))
    row("hand-written loop (the floor)", steps, floor, 1.0, 1 / ratio_floor["adcli"], "—", None)
    row("adcli library: Descent(...).rows()", steps, got["adcli"], ratio_floor["adcli"], 1.0, adcli_setup,
        relative_deviation(got["adcli"].payload[0], floor_point))
    row("adcli library, no rows between (every=steps)", steps, got["adcli_one_row"],
        ratio_floor["adcli_one_row"], ratio(got["adcli_one_row"], got["adcli"]), adcli_setup,
        relative_deviation(got["adcli_one_row"].payload[0], floor_point))

    # The command line, whole process: start-up, parse, compile, loop, JSON.
    walls, elapsed, cli_dev = [], [], float("nan")
    for _ in range(settings.cli_repeats):
        wall, code, out, err, _ = run_process(cli_argv(settings, problem, optimizer, lr, steps),
                                              env=settings.env)
        if code != 0:
            raise RuntimeError(f"adcli descend failed ({code}): {err}")
        data = json.loads(out)
        walls.append(wall)
        elapsed.append(float(data["elapsed"]))
        cli_dev = relative_deviation([data["point"][n] for n in problem.names], floor_point)
    wall, inside = min(walls), min(elapsed)
    report_rows.append([problem.key, "adcli descend --json --quiet: its elapsed (compile + loop)", str(steps),
                        fmt_time(inside / steps), fmt_ratio(inside / floor.best), "", "", fmt_dev(cli_dev)])
    report_rows.append([problem.key, "adcli descend --json --quiet: whole process (not per step)",
                        str(steps), fmt_time(wall), fmt_ratio(wall / floor.best), "", "", ""])

    # 2. The rivals, fewer rounds (and with --quick fewer steps), with the floor and adcli again
    # in every round so that their ratios are measured side by side too.
    n = steps if settings.rival_steps is None else min(steps, settings.rival_steps)
    reference = floor_point if n == steps else hand(problem.start, lr, n)
    slow: dict[str, Runner] = {
        "floor": lambda: timed(lambda: hand(problem.start, lr, n)),
        "adcli": adcli_runner(program, problem, optimizer, lr, n),
        "micrograd": lambda: timed(
            lambda: micrograd.descend(problem.python, problem.start, optimizer, lr, n)),
    }
    setups: dict[str, str] = {"micrograd": "—"}
    labels = {"micrograd": "micrograd-style (graph rebuilt each step)"}
    torch = rivals.torch_module()
    if torch is not None:
        slow["torch"] = lambda: rivals.torch_descent(torch, problem, optimizer, lr, n)
        setups["torch"] = "—"
        labels["torch"] = "PyTorch eager, torch.optim"
    jax = rivals.jax_modules()
    if jax is not None:
        jit_loop = rivals.JaxPythonLoop(jax, problem, optimizer, lr)
        fori = rivals.JaxForiLoop(jax, problem, optimizer, lr, n)
        slow["jax_jit"] = lambda: jit_loop(n)
        slow["jax_fori"] = fori
        setups["jax_jit"], setups["jax_fori"] = fmt_time(jit_loop.setup), fmt_time(fori.setup)
        labels["jax_jit"] = "JAX jit(step with grad) in a Python loop"
        labels["jax_fori"] = "JAX jit(lax.fori_loop) of the whole run"
    got = interleave(slow, settings.rival_repeats, warmup=0)
    ratios: dict[str, float] = {}
    devs: dict[str, float] = {"adcli": relative_deviation(got["adcli"].payload[0], reference)}
    for name in labels:
        ratios[name] = ratio(got[name], got["adcli"])
        devs[name] = relative_deviation(got[name].payload, reference)
        row(labels[name], n, got[name], ratio(got[name], got["floor"]), ratios[name], setups[name],
            devs[name])
    for name in ("torch", "jax_jit", "jax_fori"):
        if name not in labels:
            report_rows.append([problem.key, f"{name}: not installed (pip install -e '.[bench]')",
                                "", "", "", "", "", ""])

    checked = [*devs.values(), cli_dev, relative_deviation(fast_point, floor_point)]
    summary[(problem.key, optimizer)] = {
        "floor": per_step["floor"], "adcli": per_step["adcli"], "ratio": ratio_floor["adcli"],
        "one_row": ratio_floor["adcli_one_row"], "cli_wall": wall, "cli_inside": inside / floor.best,
        "rivals": ratios, "rival_steps": n,
        "same_point": all(d <= SAME_POINT for d in checked),
        "worst_dev": float("nan") if any(d != d for d in checked) else max(checked),
    }


HEADERS = ["problem", "implementation", "steps", "per step (best)", "× floor", "× adcli", "set-up",
           "deviation from the floor's final point"]


def run(report: Report, settings: Settings, problems: tuple[Problem, ...] = PROBLEMS,
        optimizers: tuple[str, ...] = OPTIMIZERS) -> dict[Any, Any]:
    report.heading("1-2. Gradient descent per step")
    report.note("Per step = the run's time over its steps, best of the interleaved rounds; × columns are "
                "ratios of those best times. The floor is a hand-written closed-form Python loop; "
                "adcli's set-up (parse excluded: compile the loop) is not in its per-step time. "
                "Deviation: the largest relative difference of any coordinate of the final point from "
                "the floor's after the same number of steps.")
    summary: dict[Any, Any] = {}
    for optimizer in optimizers:
        rows: list[list[str]] = []
        for problem in problems:
            run_group(problem, optimizer, settings, rows, summary)
        table = Table(f"{optimizer}: " + "; ".join(f"{p.key} = {p.title}, lr {p.lr[optimizer]:g}, "
                                                    f"{p.steps} steps" for p in problems), HEADERS, rows)
        report.table(table)

    rows = []
    for (key, optimizer), s in summary.items():
        rows.append([key, optimizer, fmt_time(s["floor"]), fmt_time(s["adcli"]), fmt_ratio(s["ratio"]),
                     "yes" if s["ratio"] <= TARGET else "NO", fmt_ratio(s["one_row"]),
                     fmt_ratio(s["cli_inside"]), fmt_time(s["cli_wall"])])
    report.table(Table(f"Summary 1: adcli per step against the floor (target ≤ {TARGET}×)",
                       ["problem", "optimizer", "floor/step", "adcli/step", "adcli × floor", "target met",
                        "× floor, no rows between", "CLI in-process elapsed × floor", "CLI whole process"],
                       rows))
    names = [("micrograd", "micrograd-style"), ("torch", "PyTorch eager"), ("jax_jit", "JAX jit step loop"),
             ("jax_fori", "JAX fori_loop")]
    rows = []
    for (key, optimizer), s in summary.items():
        rows.append([key, optimizer, str(s["rival_steps"]),
                     *[fmt_ratio(s["rivals"][n]) if n in s["rivals"] else "not installed" for n, _ in names],
                     ("yes" if s["same_point"] else "NO") + f" ({fmt_dev(s['worst_dev'])})"])
    report.table(Table("Summary 2: time per step of each rival ÷ adcli's (above 1: adcli is faster)",
                       ["problem", "optimizer", "steps", *[label for _, label in names],
                        "same final point (worst deviation)"], rows))
    return summary
