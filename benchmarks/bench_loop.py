"""Where adcli's time per step goes: its generated descent loop, taken apart.

Diagnostic, for whoever optimizes the core.  It takes the loop that
``Descent`` generates (``Descent(...).source`` and the namespace it runs in),
applies one change at a time to the source text, and times each variant
against the hand-written floor, side by side:

1. the generated loop as it is, called once for all steps (no progress rows);
2. the namespace's names (functions, constants, hyper-parameters) bound as the
   function's locals instead of globals;
3. then without the divergence check on the loss;
4. then without computing the value at all (lines nothing else reads removed);
5. then ``pow(a, 2.0)`` written ``a * a``.  Not always the same number: ``a * a`` is the
   correctly rounded square, while the C library's pow is only within an ulp of it
   (glibc 2.36 differs from a*a for about 1 in 1,000 arguments), so this variant may end
   at a point a few ulps away.

It leans on internals (the generated source's shape), so it reports "not
available" rather than failing when they change.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from common import Report, Runner, Table, fmt_ratio, fmt_time, interleave, ratio, timed
from problems import PROBLEMS, Problem

from autodiff_cli.language.parser import parse
from autodiff_cli.optimize.descent import Descent, DescentConfig

NAME = re.compile(r"[A-Za-z_]\w*")
ASSIGN = re.compile(r"^(\s*)([A-Za-z_]\w*) = (.*)$")


def _bind_locals(source: str, namespace: dict[str, Any]) -> str:
    if ", *," in source.split("\n", 1)[0]:
        return source  # the generated loop binds its names as locals already
    used = sorted({n for n in NAME.findall(source)
                   if n in namespace and not n.startswith("__") and n != "run"})
    extra = ", ".join(f"{n}={n}" for n in used)
    return re.sub(r"^def run\((.*?)\):", lambda m: f"def run({m.group(1)}, *, {extra}):", source, count=1)


def _drop_divergence_check(source: str) -> str:
    lines = source.splitlines()
    out: list[str] = []
    skip = False
    for line in lines:
        if line.strip().startswith("if not -LIMIT <="):
            skip = True
            continue
        if skip:
            skip = False
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def _drop_dead_code(source: str) -> str:
    """Remove the loop's assignments to t…/g… names that nothing after them reads, repeatedly.

    The fast path (the try block) and the safe path (its except block) are alternatives: a
    line of one counts as read only by later lines of its own block or by the lines after both.
    """
    lines = source.splitlines()

    def later(i: int) -> list[str]:
        start = next(j for j in range(i, -1, -1) if lines[j].strip() in ("try:",) or
                     lines[j].strip().startswith("except "))
        if lines[start].strip() == "try:":
            end = next(j for j in range(start + 1, len(lines)) if lines[j].strip().startswith("except "))
            indent = len(lines[start]) - len(lines[start].lstrip())
            after = next((j for j in range(end + 1, len(lines))
                          if len(lines[j]) - len(lines[j].lstrip()) <= indent), len(lines))
            return lines[i + 1:end] + lines[after:]
        return lines[i + 1:]

    def reads(line: str) -> list[str]:
        match = ASSIGN.match(line)
        return NAME.findall(match.group(3) if match else line)

    changed = True
    while changed:
        changed = False
        for i, line in enumerate(lines):
            match = ASSIGN.match(line)
            if not match or not match.group(2).startswith(("t", "g")):
                continue
            target = match.group(2)
            if not any(target in reads(other) for other in later(i)):
                del lines[i]
                changed = True
                break
    return "\n".join(lines) + "\n"


def _square(source: str, namespace: dict[str, Any]) -> str:
    pows = {n for n, v in namespace.items() if v is math.pow}
    twos = {n for n, v in namespace.items() if isinstance(v, float) and v == 2.0}

    def replace(match: re.Match[str]) -> str:
        fn, arg, exponent = match.group(1), match.group(2), match.group(3)
        return f"({arg} * {arg})" if fn in pows and exponent in twos else match.group(0)

    return re.sub(r"\b(\w+)\((\w+), (\w+)\)", replace, source)


def _define(source: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    scope = dict(namespace)
    exec(compile(source, "<variant>", "exec"), scope)  # our own benchmark's text, no user input
    run: Callable[..., Any] = scope["run"]
    return run


def variants(problem: Problem, optimizer: str) -> tuple[dict[str, Callable[..., Any]], list[Any], int]:
    """The loop functions, the arguments they take after n, and the index of the first variable."""
    program = parse(problem.text)
    config = DescentConfig(optimizer=optimizer, hyper={"lr": problem.lr[optimizer]}, steps=1, tol=0.0)
    descent = Descent(program, dict(zip(problem.names, problem.start)), problem.names, config)
    source: str = descent.source
    namespace: dict[str, Any] = dict(descent._run.__globals__)
    found: dict[str, Callable[..., Any]] = {"generated": descent._run}
    local = _bind_locals(source, namespace)
    found["+ names as locals"] = _define(local, namespace)
    unchecked = _drop_divergence_check(local)
    found["+ no divergence check"] = _define(unchecked, namespace)
    valueless = _drop_dead_code(unchecked)
    found["+ value not computed"] = _define(valueless, namespace)
    found["+ pow(a, 2) as a*a"] = _define(_square(valueless, namespace), namespace)
    state = len(descent._carried) - len(problem.names)
    args = [0, *problem.start, *([-0.0] * state), 0, math.inf, problem.lr[optimizer], None]  # base 0
    return found, args, 1


def _floor_runner(problem: Problem, optimizer: str) -> Runner:
    hand, lr = problem.hand[optimizer], problem.lr[optimizer]
    return lambda: timed(lambda: hand(problem.start, lr, problem.steps))


def _loop_runner(loop: Callable[..., Any], steps: int, args: list[Any]) -> Runner:
    return lambda: timed(lambda: loop(steps, *args))


def run(report: Report, repeats: int, optimizers: tuple[str, ...] = ("sgd", "adam")) -> None:
    report.heading("1b. Where adcli's time per step goes (its generated loop, taken apart)")
    report.note("adcli's generated descent loop (Descent(...).source), called once for all the steps "
                "(no progress rows), then changed one thing at a time, each variant timed side by side "
                "with the hand-written floor: names bound as locals instead of globals; then no divergence "
                "check on the loss; then the value not computed at all (lines nothing reads removed); "
                "then pow(a, 2.0) written a*a (not always the same number: a*a is the correctly rounded "
                "square, glibc's pow is only within an ulp of it).")
    rows: list[list[str]] = []
    for optimizer in optimizers:
        for problem in PROBLEMS:
            try:
                loops, args, _ = variants(problem, optimizer)
            except Exception as error:  # internals changed: say so, do not fail the run
                rows.append([problem.key, optimizer, f"not available ({type(error).__name__}: {error})",
                             "", ""])
                continue
            runners: dict[str, Runner] = {"floor": _floor_runner(problem, optimizer)}
            for label, loop in loops.items():
                runners[label] = _loop_runner(loop, problem.steps, args)
            steps = problem.steps
            got = interleave(runners, repeats)
            floor = got["floor"]
            expected = got["generated"].payload[2][:len(problem.names)]
            for label, series in got.items():
                same = ""
                if label != "floor":
                    point = series.payload[2][:len(problem.names)]
                    same = "same point" if point == expected else "DIFFERENT point"
                rows.append([problem.key, optimizer, label, fmt_time(series.best / steps),
                             fmt_ratio(ratio(series, floor)) + ("" if not same else f" ({same})")])
    report.table(Table("The generated loop, one change at a time (each line keeps the changes above it)",
                       ["problem", "optimizer", "variant", "per step (best)", "× floor"], rows))
