"""The descent loop, generated: the expression's tape and an optimizer's update lines, one
compiled Python loop.

The loop is printed from the program's tape of equations (:mod:`autodiff_cli.engine.tape`)
by its emitters, renamed and pruned on the data, around the optimizer's update lines
(:mod:`autodiff_cli.optimize.optimizers`), and compiled once, so one step costs what a
hand-written Python loop of the same update costs: no graph, no function call per
operation.  ``run(n, ...)`` takes up to n steps; ``run_rows(rows, every, ...)`` takes
whole progress rows, each ending with its :class:`Row`, made in the loop.  Both return a
status code and the carried state; Python regains control between calls to report
progress, write the trajectory, and notice Ctrl-C (:class:`autodiff_cli.optimize.descent.Descent`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .. import expr as ast
from ..engine.emit import FALLBACK, Emitter, Namespace, define, indent, tuple_text
from ..engine.tape import names_in, needed, tape_of
from .optimizers import OPTIMIZERS

DIVERGENCE_LIMIT = 1e300
"""A loss or variable beyond this magnitude (or non-finite) has diverged."""


class Row(NamedTuple):
    """Progress at one step: the point after ``step`` updates, its loss and gradient norm.

    A named tuple rather than a dataclass: a run makes one every few microseconds, most of
    them in the compiled loop (``run_rows``)."""

    step: int
    loss: float
    grad_norm: float
    step_size: float
    point: dict[str, float]
    validation: float = math.nan
    """A fit's held-out loss (nan without held-out rows)."""


@dataclass(frozen=True, slots=True)
class LoopSpec:
    """Everything the generated loop's code depends on."""

    free: tuple[str, ...]
    optimizer: str
    settings: tuple[tuple[str, float], ...]
    """The optimizer's hyper-parameters, sorted by name."""
    clip: float | None = None
    tol: float = 0.0
    ftol: float = 0.0
    maximize: bool = False
    line_search: bool = False
    record_every: int = 0
    """Record every this many steps (0: none)."""


# ---------------------------------------------------------------- code generation

# Status codes the generated loop returns.
RAN, CONVERGED, FTOL, DIVERGED, NO_DECREASE = range(5)
STATUS = {CONVERGED: "converged", FTOL: "ftol", DIVERGED: "diverged", NO_DECREASE: "line_search"}


INLINE_TERMS = 64
"""A sum of more squares than this is computed by a function, not written out: Python's
compiler recurses into a chain of additions and fails near a thousand terms."""


def sum_of_squares(*values: float) -> float:
    """v0*v0 + v1*v1 + ..., added left to right, as the written-out sum is."""
    total = values[0] * values[0]
    for value in values[1:]:
        total = total + value * value
    return total


def _sum_of_squares_text(names: Sequence[str]) -> str:
    if not names:
        return "0.0"
    if len(names) > INLINE_TERMS:
        return f"sum_of_squares({', '.join(names)})"
    return " + ".join(f"{d} * {d}" for d in names)


def loop_source(program: ast.Program, spec: LoopSpec) -> tuple[str, dict[str, Any]]:
    """The source of ``run`` and ``run_rows`` for this program and spec, and the namespace
    it runs in."""
    config, free, settings = spec, spec.free, dict(spec.settings)
    rule = OPTIMIZERS[config.optimizer]
    tape = tape_of(program, tuple(free))
    ns = Namespace()
    fast, safe = Emitter("fast", tape, ns), Emitter("safe", tape, ns)
    index = {name: i for i, name in enumerate(program.variables)}
    params = list(tape.params)
    moving = [params[index[name]] for name in free]
    state = [f"{s}_{p}" for p in moving for s in rule.state]
    carried = [*moving, *state]
    namespace: dict[str, Any] = {**ns.values, "sqrt": math.sqrt,
                                 **settings, "clip": config.clip or 0.0,
                                 "tol": config.tol, "tol2": config.tol * config.tol, "ftol": config.ftol,
                                 "LIMIT": DIVERGENCE_LIMIT, "record_every": config.record_every,
                                 "sum_of_squares": sum_of_squares}
    fixed = [p for p in params if p not in moving]

    # The gradient's names: the tape's own adjoint names where the tape assigns them (no
    # copying in the hot loop), else d0, d1, ... assigned after the sweep.  A gradient that is
    # a variable itself (d(x*y)/dx = y) or a constant is copied: the updates reassign it.
    # A line search evaluates the tape again within the step, which reassigns its names:
    # then the loss and gradient are copied out.
    shared = not config.line_search
    assigned = tape.defines()
    grads = [a if shared and a in assigned else f"d{i}" for i, a in enumerate(tape.adjoints)]
    loss = tape.output if shared and tape.output in assigned else "loss"

    # The loss itself is needed in the loop only to record it, to compare it (--ftol), or
    # for a line search; otherwise only the forward lines the reverse sweep reads are kept,
    # and divergence is caught where the loop hands back (see Descent._chunk).
    with_loss = bool(config.ftol) or config.record_every or config.line_search

    def evaluate(target: str | None, at: Sequence[str], with_grad: bool, depth: int) -> list[str]:
        """Lines that compute the value into ``target`` (if any) and the gradient at ``at``."""
        rename = dict(zip(params, at))
        reverse = list(tape.reverse if with_grad else ())
        uses = [name for eq in reverse for name in names_in(eq.value)]
        uses += [*(tape.adjoints if with_grad else ()), *((tape.output,) if target else ())]
        body = [*needed(tape.forward, uses), *reverse]
        lines = ["try:"]
        for emitter in (fast, safe):
            lines += ["    " + line for line in emitter.lines(body, rename)] or ["    pass"]
            if target and target != tape.output:
                lines.append(f"    {target} = {emitter.term(tape.output, rename)}")
            if with_grad:
                lines += [f"    {d} = {emitter.term(a, rename)}" for d, a in zip(grads, tape.adjoints)
                          if d != a]
            if emitter is fast:
                lines.append(f"except {FALLBACK}:")
        return ["    " * depth + line for line in lines]

    body: list[str] = []
    body += evaluate(loss if with_loss else None, params, True, 0)
    if with_loss:
        body.append(f"if not -LIMIT <= {loss} <= LIMIT:")
        body.append(f"    return {DIVERGED}, r + k, {tuple_text(carried)}, t, prev, step")
    need_norm_always = config.clip is not None or config.line_search or config.record_every == 1
    squares = _sum_of_squares_text(grads)
    norm = "gn2 = " + squares
    if need_norm_always:
        body.append(norm)
    record = f"rec((base + r + k, {loss}, sqrt(gn2), {', '.join(moving)}))"
    if config.record_every == 1:
        body.append(record)
    elif config.record_every:  # every so many steps, counted from the start of the run
        body += ["if not (base + r + k) % record_every:", "    " + norm, "    " + record]
    if config.tol:
        # Every |g_i| < tol is necessary for ||g|| < tol and is cheap: the norm is computed
        # only then (usually the first comparison fails, and that is all a step pays).
        body.append("if " + " and ".join(f"-tol < {d} < tol" for d in grads) + ":")
        if not need_norm_always:
            body.append("    gn2 = " + squares)
        body.append("    if gn2 < tol2:")
        body.append(f"        return {CONVERGED}, r + k, {tuple_text(carried)}, t, prev, step")
    if config.ftol:
        body.append(f"if abs({loss} - prev) < ftol:")
        body.append(f"    return {FTOL}, r + k, {tuple_text(carried)}, t, prev, step")
        body.append(f"prev = {loss}")
    if config.maximize or config.clip is not None:
        # Work on copies: the tape's adjoint names are reassigned by the next evaluation.
        new_grads = [f"d{i}" for i in range(len(grads))]
        sign = "-" if config.maximize else ""
        body += [f"{n} = {sign}{d}" for n, d in zip(new_grads, grads)]
        grads = new_grads
    if config.clip is not None:
        body.append("coef = clip / (sqrt(gn2) + 1e-6)")
        body.append("if coef < 1.0:")
        body += [f"    {d} = {d} * coef" for d in grads]
        if config.line_search:
            body.append("    gn2 = " + squares)
    after: list[str] = []
    if config.line_search:
        # Armijo backtracking on f (on -f when maximizing: the gradient was negated).
        news = [f"n{i}" for i in range(len(moving))]
        body.append("step = lr")
        # Halving from any --lr down past the smallest step that still moves a variable (2^1100
        # spans float64's range); a trial that no longer moves one ends the search there.
        body.append("for _ in range(1100):")
        body += [f"    {n} = {p} - step * {d}" for n, p, d in zip(news, moving, grads)]
        body.append(f"    if {' and '.join(f'{n} == {p}' for n, p in zip(news, moving))}:")
        body.append(f"        return {NO_DECREASE}, r + k, {tuple_text(carried)}, t, prev, step")
        trial = [dict(zip(moving, news)).get(p, p) for p in params]
        body += evaluate("trial", trial, False, 1)
        if config.maximize:
            body.append(f"    if trial >= {loss} + 1e-4 * step * gn2:")
        else:
            body.append(f"    if trial <= {loss} - 1e-4 * step * gn2:")
        body.append("        break")
        body.append("    step = step * 0.5")
        body.append("else:")
        body.append(f"    return {NO_DECREASE}, r + k, {tuple_text(carried)}, t, prev, step")
        body += [f"{p} = {n}" for p, n in zip(moving, news)]
    else:
        body += list(rule.prologue)
        for p, d in zip(moving, grads):
            slots = {s: f"{s}_{p}" for s in rule.state}
            body += [line.format(p=p, g=d, new=p, **slots) for line in rule.update]
        after.append(f"step = {rule.step_size}")

    row_evaluation = evaluate("row_loss", params, True, 0)
    # Every constant and function is also a keyword-only parameter defaulting to itself,
    # which makes it a fast local in the loop instead of a global look-up.
    namespace.update(ns.values)  # the functions the emitters bound as they printed
    local = [f"{name}={name}" for name in namespace]
    args = ", ".join(["n", "base", *carried, "t", "prev", "step", "rec", *fixed, "*", *local])
    # run_rows: whole progress rows in one call, each ending with the loss and gradient at
    # the row's point and the Row itself, so that a row costs no trip through Python.  Its
    # point is a dict display keyed by name0, name1, ...: the variables' names are values in
    # the namespace, never text in the source.  The Row is made as Row._make makes it, by
    # tuple.__new__, which saves the call of Row.__new__ (about 0.1 µs a row).  A row beyond
    # the divergence limit ends the call (Descent._whole_rows then replays its steps one
    # chunk at a time).
    keys = [f"name{i}" for i in range(len(params))]
    fields = {"step": "base + r + every", "loss": "row_loss",
              "grad_norm": f"hypot({', '.join(grads)})", "step_size": "step",
              "point": "{" + ", ".join(f"{key}: {p}" for key, p in zip(keys, params)) + "}",
              "validation": "no_validation"}
    new_row = "tuple_new(Row, (" + ", ".join(fields[name] for name in Row._fields) + "))"
    row_namespace = {**dict(zip(keys, program.variables)), "Row": Row, "tuple_new": tuple.__new__,
                     "hypot": math.hypot, "no_validation": math.nan}
    row_local = [*local, *(f"{name}={name}" for name in row_namespace)]
    namespace.update(row_namespace)
    row_args = ", ".join(["rows", "every", "base", *carried, "t", "prev", "step", "rec", "out", *fixed,
                          "*", *row_local])
    limits = " and ".join(f"-LIMIT <= {name} <= LIMIT" for name in ["row_loss", *moving])
    row_end = [*after, *row_evaluation,
               f"if not ({limits}):",
               f"    return {DIVERGED}, r, {tuple_text(carried)}, t, prev, step",
               f"out.append({new_row})"]
    # The body's step number (for records and early returns) is r + k: r where the row (or
    # the call) began, k the step within it.  In run_rows k counts from 0 again in every
    # row: below 257 it is one of Python's cached small ints, not a new int object per step
    # (with every = 50, that was a third of what a row cost).
    source = (
        f"def run({args}):\n"
        "    r = 0\n"
        "    for k in range(n):\n"
        + indent(body, 2)
        + indent(after, 1)
        + f"    return {RAN}, n, {tuple_text(carried)}, t, prev, step\n\n"
        f"def run_rows({row_args}):\n"
        "    for r in range(0, rows * every, every):\n"
        "        for k in range(every):\n"
        + indent(body, 3)
        + indent(row_end, 2)
        + f"    return {RAN}, rows * every, {tuple_text(carried)}, t, prev, step\n"
    )
    return source, namespace


@functools.lru_cache(maxsize=8)
def compiled_loop(program: ast.Program, spec: LoopSpec) -> tuple[str, Any, Any]:
    """The loop's source and its ``run`` and ``run_rows``, compiled once per program (by
    identity) and spec (everything the code depends on, not ``steps`` or ``every``): the
    functions keep no state between calls, so descents of one program share them."""
    source, namespace = loop_source(program, spec)
    defined = define(source, namespace)
    return source, defined["run"], defined["run_rows"]
