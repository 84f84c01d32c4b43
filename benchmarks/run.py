"""adcli's benchmarks: one command, ratios measured side by side in the same run.

    python benchmarks/run.py                  # everything (about 4 minutes on 2 cores)
    python benchmarks/run.py --quick          # fewer rounds and steps (a minute or two)
    python benchmarks/run.py --only descent,startup --markdown out.md

Sections: descent (1-2: per step against the hand-written floor, micrograd,
PyTorch, JAX), loop (1b: adcli's generated loop taken apart), size (3: grad
of 1,000 to 100,000 nodes), startup (4: the whole process against its
imports), check (5: gradients checked at 1,000 points), minimize (6: the
Moré–Garbow–Hillstrom problems against scipy's BFGS, and whole minimize processes),
fit (7: least squares against curve_fit, Adam against PyTorch and JAX, the CSV
readers, memory, NIST), serve (8: the page's layout and a round trip to ``adcli serve``).
PyTorch, JAX, numdifftools and scipy come with ``pip install -e '.[bench]'``; each is
skipped when missing.  Results and their reading: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))  # measure this checkout's autodiff_cli, installed or not

import bench_check  # noqa: E402
import bench_descent  # noqa: E402
import bench_fit  # noqa: E402
import bench_loop  # noqa: E402
import bench_minimize  # noqa: E402
import bench_serve  # noqa: E402
import bench_size  # noqa: E402
import bench_startup  # noqa: E402
from common import Report, Table, git_commit, machine, versions  # noqa: E402

SECTIONS = ("descent", "loop", "size", "startup", "check", "minimize", "fit", "serve")
ALIASES = {"1": "descent", "2": "descent", "3": "size", "4": "startup", "5": "check", "6": "minimize",
           "7": "fit", "8": "serve"}


def adcli_command() -> tuple[list[str], dict[str, str]]:
    """How to run adcli as a user does: the console script beside this Python, else ``-m``.

    Every process gets the same environment, with this checkout first on PYTHONPATH.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "100"
    script = Path(sys.executable).parent / "adcli"
    if script.exists():
        return [str(script)], env
    return [sys.executable, "-m", "autodiff_cli"], env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds, steps and sizes")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma list of sections: {', '.join(SECTIONS)} (or their numbers 1-8)")
    parser.add_argument("--sizes", help="node counts for the size section, e.g. 1000,10000,100000")
    parser.add_argument("--markdown", metavar="FILE", help="also write the report as Markdown to FILE")
    args = parser.parse_args(argv)
    chosen = []
    for name in args.only.split(","):
        name = ALIASES.get(name.strip(), name.strip())
        if name not in SECTIONS:
            parser.error(f"unknown section {name!r}; choose from {', '.join(SECTIONS)}")
        if name not in chosen:
            chosen.append(name)

    command, env = adcli_command()
    report = Report()
    began = time.perf_counter()
    report.heading("Machine and versions")
    facts = {**machine(), "adcli commit": git_commit(str(ROOT)), "adcli command": " ".join(command),
             "mode": "quick" if args.quick else "full"}
    report.table(Table("Machine", ["fact", "value"], [[k, v] for k, v in facts.items()]))
    report.table(Table("Versions", ["package", "version"], [[k, v] for k, v in versions().items()]))

    quick = args.quick
    if "descent" in chosen:
        bench_descent.run(report, bench_descent.Settings(
            repeats=5 if quick else 21, rival_repeats=1 if quick else 3,
            rival_steps=1000 if quick else None, cli_repeats=1 if quick else 5, command=command, env=env))
    if "loop" in chosen:
        bench_loop.run(report, repeats=5 if quick else 21)
    if "size" in chosen:
        sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else \
            ((1000, 10_000) if quick else (1000, 10_000, 100_000))
        bench_size.run(report, bench_size.Settings(
            sizes=sizes, repeats=1 if quick else 3, process_repeats=1 if quick else 3, command=command,
            env=env, compile_limit=max(sizes)))
    if "startup" in chosen:
        bench_startup.run(report, bench_startup.Settings(repeats=7 if quick else 21, command=command,
                                                         env=env))
    if "check" in chosen:
        bench_check.run(report, bench_check.Settings(points=1000, repeats=1 if quick else 3, command=command,
                                                     env=env))
    if "minimize" in chosen:
        bench_minimize.run(report, command, env, repeats=3 if quick else 11)
    if "fit" in chosen:
        bench_fit.run(report, bench_fit.Settings(repeats=2 if quick else 5, command=command, env=env))
    if "serve" in chosen:
        bench_serve.run(report, bench_serve.Settings(repeats=10 if quick else 30))
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    report.note(f"Finished in {time.perf_counter() - began:.0f} s; load average at the end: {load}.")
    if args.markdown:
        Path(args.markdown).write_text(report.markdown(), encoding="utf-8")
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
