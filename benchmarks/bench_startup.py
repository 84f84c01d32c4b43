"""Section 4: the whole process, `adcli grad` against the imports it cannot avoid."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

from common import Report, Runner, Table, fmt_ratio, fmt_time, interleave, ratio, run_process, versions

TARGET = 1.3
"""The issue's target: a whole `adcli grad` at most this many times the import floor."""


@dataclass
class Settings:
    repeats: int
    command: list[str]
    env: dict[str, str]


def process(argv: list[str], env: dict[str, str]) -> Runner:
    def run() -> tuple[float, Any]:
        wall, code, _, err, rss = run_process(argv, env=env)
        if code != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({code}): {err[-2000:]}")
        return wall, rss
    return run


def import_profile(settings: Settings, top: int = 12) -> list[tuple[str, int, int]]:
    """The largest imports of `adcli grad` by cumulative time (python -X importtime): each
    top-level entry with everything it imported. An import made while the command runs (not
    while modules load) is a top-level entry of its own."""
    argv = [sys.executable, "-X", "importtime", "-m", "autodiff_cli", "grad", "sin(x)+x*y", "--x", "1",
            "--y", "2"]
    _, _, _, err, _ = run_process(argv, env=settings.env)
    found: list[tuple[str, int, int]] = []
    for line in err.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            found.append((match.group(4), int(match.group(2)), len(match.group(3)) // 2))
    top_level = [f for f in found if f[2] == 0]
    return sorted(top_level, key=lambda f: -f[1])[:top]


def run(report: Report, settings: Settings) -> dict[str, Any]:
    report.heading("4. Start-up: a whole `adcli grad` process")
    py = sys.executable
    runners = {
        "floor": process([py, "-c", "import typer, rich.table, lark"], settings.env),
        "sympy": process([py, "-c", "import sympy"], settings.env),
        "bare": process([py, "-c", "pass"], settings.env),
        "import": process([py, "-c", "import autodiff_cli.cli.grad"], settings.env),
        "grad": process([*settings.command, "grad", "sin(x)+x*y", "--x", "1", "--y", "2"], settings.env),
        "grad_json": process([*settings.command, "grad", "sin(x)+x*y", "--x", "1", "--y", "2", "--json"],
                             settings.env),
    }
    labels = {
        "floor": 'python -c "import typer, rich.table, lark"  (the floor)',
        "sympy": 'python -c "import sympy"',
        "bare": 'python -c "pass"',
        "import": 'python -c "import autodiff_cli.cli.grad"',
        "grad": 'adcli grad "sin(x)+x*y" --x 1 --y 2',
        "grad_json": 'adcli grad "sin(x)+x*y" --x 1 --y 2 --json',
    }
    got = interleave(runners, settings.repeats, warmup=2)
    rows = []
    ratios = {name: ratio(series, got["floor"]) for name, series in got.items()}
    for name, series in got.items():
        rows.append([labels[name], fmt_time(series.median), fmt_time(series.best), fmt_ratio(ratios[name]),
                     f"{max(series.payloads) / 1024:.0f} MiB"])
    report.table(Table(f"Whole processes, {settings.repeats} interleaved rounds (the adcli command: "
                       f"{' '.join(settings.command)})",
                       ["command", "median", "best", "× floor (best ÷ best)", "peak RSS"], rows,
                       [f"target: adcli grad ≤ {TARGET}× the floor: "
                        + ("met" if ratios["grad"] <= TARGET else "NOT met")
                        + f" ({fmt_ratio(ratios['grad'])} with the table, "
                        + f"{fmt_ratio(ratios['grad_json'])} with --json)"]))
    profile = import_profile(settings)
    notes = []
    pydantic = sum(us for name, us, _ in profile if name.startswith(("typer._adapters", "pydantic")))
    if pydantic:
        notes.append(f"typer {versions().get('typer')} imports pydantic while the command runs "
                     "(typer._adapters builds a pydantic TypeAdapter per parameter): "
                     f"{fmt_time(pydantic / 1e6)} of imports in this run that `import typer` alone "
                     "does not pay. typer 0.28 and older do not depend on pydantic.")
    report.table(Table("Largest top-level imports of `adcli grad` (python -X importtime, one run)",
                       ["module", "cumulative"], [[name, fmt_time(us / 1e6)] for name, us, _ in profile],
                       notes))
    return {"ratios": ratios, "median": {name: s.median for name, s in got.items()}}
