"""Timing, the machine's description, and the report (plain text as it goes, Markdown at the end).

Absolute times on a shared machine move from run to run, so every comparison is
made side by side in one run: the implementations of a comparison are run in
turn (A B C, A B C, ...), so that noise from other work on the machine falls on
all of them alike, and each ratio compares their best rounds.
"""

from __future__ import annotations

import atexit
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

Runner = Callable[[], tuple[float, Any]]
"""One measurement: returns (seconds, payload). The runner times its own critical part,
so that set-up (building a graph, compiling) stays out of a per-step time."""


@dataclass
class Series:
    """Repeated measurements of one implementation."""

    name: str
    seconds: list[float] = field(default_factory=list)
    payloads: list[Any] = field(default_factory=list)

    @property
    def payload(self) -> Any:
        """What the last round returned."""
        return self.payloads[-1]

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def interleave(runners: dict[str, Runner], repeats: int, warmup: int = 1) -> dict[str, Series]:
    """Run every runner once per round, ``repeats`` rounds, after ``warmup`` untimed rounds."""
    series = {name: Series(name) for name in runners}
    for round_ in range(warmup + repeats):
        for name, run in runners.items():
            seconds, payload = run()
            if round_ >= warmup:
                series[name].seconds.append(seconds)
                series[name].payloads.append(payload)
    return series


def ratio(a: Series, b: Series, scale_a: float = 1.0, scale_b: float = 1.0) -> float:
    """(a's best time × scale_a) ÷ (b's best time × scale_b), both from the same interleaved rounds.

    The best of the rounds, not the median: on a shared machine other work only ever adds
    time, so the fastest round is the one closest to the code's own cost.
    """
    return (a.best * scale_a) / (b.best * scale_b)


def clear_compile_caches() -> None:
    """Forget every program and descent loop adcli has compiled (it compiles each once and
    caches it), so that the next compile is timed afresh and old ones hold no memory."""
    from autodiff_cli import clear_caches

    clear_caches()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Time one call with perf_counter."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


# Processes are started by a small helper Python, not by this process: a child's peak RSS
# (ru_maxrss) counts the memory it had before exec, which for a child forked from here (with
# PyTorch and JAX loaded) would be hundreds of MiB; forked from the helper it is a few MiB.
_SPAWNER_CODE = r"""
import json, os, sys, time
for line in sys.stdin:
    job = json.loads(line)
    names = [os.path.join(job["dir"], n) for n in ("in", "out", "err")]
    with open(names[0], "wb") as handle:
        handle.write(job["stdin"].encode())
    fds = [os.open(names[0], os.O_RDONLY)] + [os.open(n, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                                             for n in names[1:]]
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            os.execvpe(job["argv"][0], job["argv"], job["env"])
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    for fd in fds:
        os.close(fd)
    out, err = (open(n, "rb").read().decode(errors="replace") for n in names[1:])
    print(json.dumps([seconds, os.waitstatus_to_exitcode(status), out, err, usage.ru_maxrss]), flush=True)
"""
_spawner: subprocess.Popen[str] | None = None
_spawn_dir = ""


def run_process(argv: Sequence[str], env: dict[str, str] | None = None,
                stdin: str = "") -> tuple[float, int, str, str, int]:
    """Run a whole process: (wall seconds, exit status, stdout, stderr, its peak RSS in KiB)."""
    global _spawner, _spawn_dir
    if _spawner is None or _spawner.poll() is not None:
        _spawn_dir = tempfile.mkdtemp(prefix="adcli-bench-spawn-")
        atexit.register(shutil.rmtree, _spawn_dir, True)
        _spawner = subprocess.Popen([sys.executable, "-I", "-S", "-c", _SPAWNER_CODE], text=True,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert _spawner.stdin is not None and _spawner.stdout is not None
    job = {"argv": list(argv), "env": dict(os.environ if env is None else env), "stdin": stdin,
           "dir": _spawn_dir}
    _spawner.stdin.write(json.dumps(job) + "\n")
    _spawner.stdin.flush()
    seconds, code, out, err, rss = json.loads(_spawner.stdout.readline())
    return float(seconds), int(code), out, err, int(rss)


# ---------------------------------------------------------------- formatting


def fmt_time(seconds: float) -> str:
    """A duration with a sensible unit (three significant digits)."""
    if seconds != seconds:
        return "n/a"
    if seconds < 0.9995e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 0.9995e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 0.9995:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def fmt_ratio(ratio: float) -> str:
    if ratio != ratio:
        return "n/a"
    return f"{ratio:.2f}×" if ratio < 100 else f"{ratio:.0f}×"


def fmt_dev(dev: float) -> str:
    if dev != dev:
        return "n/a"
    return "0 (exact)" if dev == 0 else f"{dev:.1e}"


def relative_deviation(point: Sequence[float], reference: Sequence[float]) -> float:
    """max |a_i − b_i| ÷ max |b_i|: the difference relative to the point's scale (nan if any is nan).

    Relative to the whole point rather than per coordinate, since a coordinate of a minimum
    may be 0 (or 1e-8), where a difference in the last bits of the others would look huge.
    """
    a = [float(v) for v in point]
    b = [float(v) for v in reference]
    if any(v != v for v in a + b):
        return float("nan")
    scale = max(max(abs(v) for v in b), 1e-300)
    return max(abs(x - y) for x, y in zip(a, b)) / scale


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def numeric(self, column: int) -> bool:
        """Right-align a column whose every filled cell is a number (or a dash)."""
        cells = [row[column] for row in self.rows if column < len(row) and row[column]]
        return bool(cells) and all(c[0].isdigit() or c in ("—", "n/a") for c in cells)


class Report:
    """Prints tables as they are finished; keeps them for the Markdown file."""

    def __init__(self) -> None:
        self.items: list[Table | str] = []

    def heading(self, text: str) -> None:
        print(f"\n=== {text} ===", flush=True)
        self.items.append(f"## {text}")

    def note(self, text: str) -> None:
        print(text, flush=True)
        self.items.append(text)

    def table(self, table: Table) -> None:
        widths = [max(len(h), *(len(r[i]) for r in table.rows)) if table.rows else len(h)
                  for i, h in enumerate(table.headers)]
        print(f"\n{table.title}")
        print("  ".join(h.ljust(w) for h, w in zip(table.headers, widths)).rstrip())
        print("  ".join("-" * w for w in widths))
        for row in table.rows:
            cells = [c.rjust(w) if table.numeric(i) else c.ljust(w)
                     for i, (c, w) in enumerate(zip(row, widths))]
            print("  ".join(cells).rstrip())
        for note in table.notes:
            print(f"  {note}")
        sys.stdout.flush()
        self.items.append(table)

    def markdown(self) -> str:
        lines: list[str] = []
        for item in self.items:
            if isinstance(item, str):
                lines += ["", item, ""]
                continue
            lines += ["", f"**{item.title}**", "",
                      "| " + " | ".join(item.headers) + " |",
                      "|" + "|".join("---:" if item.numeric(i) else "---" for i in range(len(item.headers)))
                      + "|"]
            lines += ["| " + " | ".join(row) + " |" for row in item.rows]
            if item.notes:
                lines.append("")
                lines += [f"- {note}" for note in item.notes]
        return "\n".join(lines).strip() + "\n"


# ---------------------------------------------------------------- the machine


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return ""


def machine() -> dict[str, str]:
    """What this run ran on: CPU, cores, memory, OS, load, date."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kib = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                    if line.startswith("MemTotal:")), 0)
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB" if mem_kib else "unknown",
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "load average at start (1, 5, 15 min)": load,
    }


PACKAGES = ("adcli", "typer", "rich", "lark", "numpy", "torch", "jax", "jaxlib", "numdifftools",
            "sympy", "scipy")


def versions() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    if found["adcli"] == "not installed":
        import autodiff_cli

        found["adcli"] = f"{autodiff_cli.__version__} (run from the checkout, not installed)"
    return found


def git_commit(root: str) -> str:
    """HEAD, and the last commit that changed the measured code (autodiff_cli/, grammars/)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD")
        code = git("log", "-1", "--format=%h", "--", "autodiff_cli", "grammars")
        dirty = git("status", "--porcelain", "--", "autodiff_cli", "grammars")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (autodiff_cli/ as of {code}{', with uncommitted changes' if dirty else ''})"
