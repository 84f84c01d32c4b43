"""Gradient descent: the optimizers of torch.optim, run inside compiled code.

Each optimizer is written once, below, as a few lines of update formula.  The
descent loop is generated from those lines and the expression's tape (see
compile.py) and compiled once, so one step costs what a hand-written Python
loop of the same update costs: no graph, no function call per operation.  The
loop runs in chunks between display rows; Python regains control between
chunks to report progress, record the trajectory, and notice Ctrl-C.

Update rules (g is the gradient, negated under ``maximize``; t counts steps
from 1), with PyTorch's defaults:

- ``sgd``:      x ← x − lr·g                                    (lr = 1e-3)
- ``momentum``: b ← μ·b + g;  x ← x − lr·b                     (lr = 1e-3, μ = 0.9)
- ``nesterov``: b ← μ·b + g;  x ← x − lr·(g + μ·b)             (lr = 1e-3, μ = 0.9)
- ``adam``:     m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
                x ← x − (lr/(1−β1^t))·m / (√v/√(1−β2^t) + ε)   (lr = 1e-3, β = (0.9, 0.999), ε = 1e-8)
- ``rmsprop``:  v ← α·v + (1−α)·g²;  x ← x − lr·g/(√v + ε)      (lr = 1e-2, α = 0.99, ε = 1e-8)
- ``adagrad``:  s ← s + g²;  x ← x − lr_t·g/(√s + ε),  lr_t = lr/(1 + (t−1)·decay)
                                                                 (lr = 1e-2, decay = 0, ε = 1e-10)

State starts at -0.0, the exact identity of addition, so a first momentum step
is exactly ``b = g`` as in PyTorch.  ``--clip N`` scales g by N/(‖g‖ + 1e-6)
when that is below 1 (torch.nn.utils.clip_grad_norm_).  Line search
(``sgd`` only) backtracks from lr, halving until Armijo's condition
f(x − t·g) ≤ f(x) − 1e-4·t·‖g‖² holds.
"""

from __future__ import annotations

import functools
import math
import operator
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .. import expr as ast
from ..engine.emit import FALLBACK, Emitter, Namespace, define, indent, tuple_text
from ..engine.tape import names_in, needed, tape_of
from ..errors import AdcliError

DIVERGENCE_LIMIT = 1e300
"""A loss or variable beyond this magnitude (or non-finite) has diverged."""


@dataclass(frozen=True, slots=True)
class OptimizerRule:
    """One optimizer: its hyper-parameters with defaults, its state, and its update lines.

    In ``update``, ``{p}`` is the variable, ``{g}`` its gradient, ``{new}`` the
    name to assign the updated value to, and each state name in braces that
    variable's slot.  ``prologue`` runs once per step, before the updates.
    """

    name: str
    doc: str
    defaults: dict[str, float]
    state: tuple[str, ...]
    update: tuple[str, ...]
    prologue: tuple[str, ...] = ()
    step_size: str = "lr"
    """The expression shown as the step size."""


OPTIMIZERS: dict[str, OptimizerRule] = {rule.name: rule for rule in (
    OptimizerRule("sgd", "x ← x − lr·g", {"lr": 1e-3}, (),
                  ("{new} = {p} - lr * {g}",)),
    OptimizerRule("momentum", "b ← μ·b + g; x ← x − lr·b", {"lr": 1e-3, "momentum": 0.9}, ("b",),
                  ("{b} = momentum * {b} + {g}", "{new} = {p} - lr * {b}")),
    OptimizerRule("nesterov", "b ← μ·b + g; x ← x − lr·(g + μ·b)", {"lr": 1e-3, "momentum": 0.9},
                  ("b",),
                  ("{b} = momentum * {b} + {g}", "{new} = {p} - lr * ({g} + momentum * {b})")),
    OptimizerRule("adam", "m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; "
                  "x ← x − (lr/(1−β1^t))·m/(√v/√(1−β2^t) + ε)",
                  {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, ("m", "v"),
                  ("{m} = beta1 * {m} + (1.0 - beta1) * {g}",
                   "{v} = beta2 * {v} + (1.0 - beta2) * {g} * {g}",
                   "{new} = {p} - step_size * ({m} / (sqrt({v}) / bias2_sqrt + eps))"),
                  prologue=("t += 1", "step_size = lr / (1.0 - beta1 ** t)",
                            "bias2_sqrt = sqrt(1.0 - beta2 ** t)")),
    OptimizerRule("rmsprop", "v ← α·v + (1−α)·g²; x ← x − lr·g/(√v + ε)",
                  {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8}, ("v",),
                  ("{v} = alpha * {v} + (1.0 - alpha) * {g} * {g}",
                   "{new} = {p} - lr * ({g} / (sqrt({v}) + eps))")),
    OptimizerRule("adagrad", "s ← s + g²; x ← x − lr_t·g/(√s + ε), lr_t = lr/(1 + (t−1)·decay)",
                  {"lr": 1e-2, "lr_decay": 0.0, "eps": 1e-10}, ("s",),
                  ("{s} = {s} + {g} * {g}", "{new} = {p} - clr * ({g} / (sqrt({s}) + eps))"),
                  prologue=("t += 1", "clr = lr / (1.0 + (t - 1) * lr_decay)"), step_size="clr"),
)}


@dataclass(frozen=True, slots=True)
class DescentConfig:
    """What to minimize, from where, and how."""

    optimizer: str = "sgd"
    hyper: dict[str, float] = field(default_factory=dict)
    """Hyper-parameters that override the optimizer's defaults (lr, momentum, beta1, ...)."""
    steps: int = 1000
    tol: float = 1e-8
    """Stop when the gradient norm falls below this (converged); 0 never stops."""
    ftol: float = 0.0
    """Stop when the loss changes by less than this in one step."""
    maximize: bool = False
    clip: float | None = None
    line_search: bool = False
    every: int | None = None
    """A progress row every this many steps; default: about 20 rows a run."""
    record: bool = False
    """Keep every step's (step, loss, gradient norm, point) for --output."""

    def settings(self) -> dict[str, float]:
        rule = OPTIMIZERS[self.optimizer]
        unknown = set(self.hyper) - set(rule.defaults)
        if unknown:
            raise AdcliError(f"{self.optimizer} takes no {', '.join(sorted(unknown))}; "
                             f"its settings: {', '.join(rule.defaults)}")
        return {**rule.defaults, **self.hyper}


class Row(NamedTuple):
    """Progress at one step: the point after ``step`` updates, its loss and gradient norm.

    A named tuple rather than a dataclass: a run makes one every few microseconds, most of
    them in the compiled loop (see ``run_rows`` in _loop_source)."""

    step: int
    loss: float
    grad_norm: float
    step_size: float
    point: dict[str, float]


STOP_REASONS = {
    "steps": "reached the step limit",
    "converged": "converged: the gradient norm fell below --tol",
    "ftol": "converged: the loss changed by less than --ftol",
    "diverged": "diverged: the loss or a variable became non-finite or exceeded 1e300",
    "line_search": "line search found no decrease (at a minimum to working precision?)",
    "interrupted": "interrupted",
}


@dataclass(frozen=True, slots=True)
class DescentResult:
    """How a descent ended."""

    expression: str
    optimizer: str
    settings: dict[str, float]
    start: dict[str, float]
    point: dict[str, float]
    """The final point; after divergence, the last finite one; after an interrupt, the best."""
    value: float
    grad_norm: float
    steps: int
    stop_reason: str
    elapsed: float
    losses: tuple[float, ...]
    """The loss at each progress row, for the sparkline."""

    @property
    def message(self) -> str:
        return STOP_REASONS[self.stop_reason]

    @property
    def ok(self) -> bool:
        return self.stop_reason not in ("diverged", "interrupted")


# ---------------------------------------------------------------- code generation

# Status codes the generated loop returns.
_RAN, _CONVERGED, _FTOL, _DIVERGED, _NO_DECREASE = range(5)
_STATUS = {_CONVERGED: "converged", _FTOL: "ftol", _DIVERGED: "diverged",
           _NO_DECREASE: "line_search"}


def _loop_source(program: ast.Program, free: Sequence[str], config: DescentConfig,
                 settings: dict[str, float]) -> tuple[str, dict[str, Any]]:
    """The source of ``run(n, <vars>, <state>, t, prev, rec)`` for this program and config."""
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
                                 "LIMIT": DIVERGENCE_LIMIT}
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
    with_loss = bool(config.ftol) or config.record or config.line_search

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
        body.append(f"    return {_DIVERGED}, r + k, {tuple_text(carried)}, t, prev, step")
    need_norm_always = config.clip is not None or config.line_search or config.record
    if need_norm_always:
        body.append("gn2 = " + (" + ".join(f"{d} * {d}" for d in grads) or "0.0"))
    if config.record:
        body.append(f"rec((r + k, {loss}, sqrt(gn2), {', '.join(moving)}))")
    if config.tol:
        # Every |g_i| < tol is necessary for ||g|| < tol and is cheap: the norm is computed
        # only then (usually the first comparison fails, and that is all a step pays).
        body.append("if " + " and ".join(f"-tol < {d} < tol" for d in grads) + ":")
        if not need_norm_always:
            body.append("    gn2 = " + " + ".join(f"{d} * {d}" for d in grads))
        body.append("    if gn2 < tol2:")
        body.append(f"        return {_CONVERGED}, r + k, {tuple_text(carried)}, t, prev, step")
    if config.ftol:
        body.append(f"if abs({loss} - prev) < ftol:")
        body.append(f"    return {_FTOL}, r + k, {tuple_text(carried)}, t, prev, step")
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
            body.append("    gn2 = " + " + ".join(f"{d} * {d}" for d in grads))
    after: list[str] = []
    if config.line_search:
        # Armijo backtracking on f (on -f when maximizing: the gradient was negated).
        news = [f"n{i}" for i in range(len(moving))]
        body.append("step = lr")
        body.append("for _ in range(60):")
        body += [f"    {n} = {p} - step * {d}" for n, p, d in zip(news, moving, grads)]
        trial = [dict(zip(moving, news)).get(p, p) for p in params]
        body += evaluate("trial", trial, False, 1)
        if config.maximize:
            body.append(f"    if trial >= {loss} + 1e-4 * step * gn2:")
        else:
            body.append(f"    if trial <= {loss} - 1e-4 * step * gn2:")
        body.append("        break")
        body.append("    step = step * 0.5")
        body.append("else:")
        body.append(f"    return {_NO_DECREASE}, r + k, {tuple_text(carried)}, t, prev, step")
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
    args = ", ".join(["n", *carried, "t", "prev", "step", "rec", *fixed, "*", *local])
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
              "point": "{" + ", ".join(f"{key}: {p}" for key, p in zip(keys, params)) + "}"}
    new_row = "tuple_new(Row, (" + ", ".join(fields[name] for name in Row._fields) + "))"
    row_namespace = {**dict(zip(keys, program.variables)), "Row": Row, "tuple_new": tuple.__new__,
                     "hypot": math.hypot}
    row_local = [*local, *(f"{name}={name}" for name in row_namespace)]
    namespace.update(row_namespace)
    row_args = ", ".join(["rows", "every", "base", *carried, "t", "prev", "step", "rec", "out", *fixed,
                          "*", *row_local])
    limits = " and ".join(f"-LIMIT <= {name} <= LIMIT" for name in ["row_loss", *moving])
    row_end = [*after, *row_evaluation,
               f"if not ({limits}):",
               f"    return {_DIVERGED}, r, {tuple_text(carried)}, t, prev, step",
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
        + f"    return {_RAN}, n, {tuple_text(carried)}, t, prev, step\n\n"
        f"def run_rows({row_args}):\n"
        "    for r in range(0, rows * every, every):\n"
        "        for k in range(every):\n"
        + indent(body, 3)
        + indent(row_end, 2)
        + f"    return {_RAN}, rows * every, {tuple_text(carried)}, t, prev, step\n"
    )
    return source, namespace


@functools.lru_cache(maxsize=8)
def _compiled_loop(program: ast.Program, free: tuple[str, ...], optimizer: str,
                   settings: tuple[tuple[str, float], ...], clip: float | None, tol: float, ftol: float,
                   maximize: bool, line_search: bool, record: bool) -> tuple[str, Any, Any]:
    """The loop's source and its ``run`` and ``run_rows``, compiled once per program (by
    identity) and everything the code depends on (not ``steps`` or ``every``): the
    functions keep no state between calls, so descents of one program share them."""
    config = DescentConfig(optimizer=optimizer, tol=tol, ftol=ftol, maximize=maximize, clip=clip,
                           line_search=line_search, record=record)
    source, namespace = _loop_source(program, free, config, dict(settings))
    defined = define(source, namespace)
    return source, defined["run"], defined["run_rows"]


# ---------------------------------------------------------------- running


@dataclass(eq=False)
class Descent:
    """A descent in progress: iterate :meth:`rows` for progress, then read :attr:`result`."""

    program: ast.Program
    start: dict[str, float]
    free: tuple[str, ...]
    config: DescentConfig = field(default_factory=DescentConfig)
    records: list[tuple[float, ...]] = field(default_factory=list)
    """With ``config.record``: (step, loss, gradient norm, *free variables) per step; drained
    by the caller as it writes them out."""
    result: DescentResult | None = None

    def __post_init__(self) -> None:
        if self.config.optimizer not in OPTIMIZERS:
            raise AdcliError(f"unknown optimizer '{self.config.optimizer}'; "
                             f"choose from {', '.join(OPTIMIZERS)}")
        if self.config.line_search and self.config.optimizer != "sgd":
            raise AdcliError("--line-search works with --optimizer sgd")
        if not self.free:
            raise AdcliError("every variable is fixed: nothing to descend on")
        self.settings = self.config.settings()
        config = self.config
        self.source, self._run, self._run_rows = _compiled_loop(
            self.program, tuple(self.free), config.optimizer, tuple(sorted(self.settings.items())),
            config.clip, config.tol, config.ftol, config.maximize, config.line_search, config.record)
        from ..engine.compile import compile_program

        self._eval = compile_program(self.program, self.free).value_and_grad
        index = {name: i for i, name in enumerate(self.program.variables)}
        self._moving = [index[n] for n in self.free]
        self._fixed = [self.start[n] for n in self.program.variables if n not in self.free]
        slots = len(OPTIMIZERS[self.config.optimizer].state) * len(self.free)
        self._point = [self.start[n] for n in self.program.variables]
        self._carried = [*[self._point[i] for i in self._moving], *([-0.0] * slots)]
        self._t = 0
        self._prev = math.inf
        self._step_size = self.settings.get("lr", 0.0)
        self._steps = 0
        self._losses: list[float] = []
        self._best: tuple[float, list[float]] | None = None
        self._last: tuple[tuple[float, ...], tuple[list[float], float, float]] | None = None
        self._started = time.perf_counter()
        self._nodes = len(ast.postorder(self.program.result))

    # -- helpers
    def _full_point(self, carried: Sequence[float]) -> list[float]:
        point = list(self._point)
        for i, value in zip(self._moving, carried):
            point[i] = value
        return point

    def _evaluate(self, carried: Sequence[float]) -> tuple[list[float], float, float]:
        """The point, its loss and gradient norm; the last answer is kept, since the end of
        a chunk is evaluated to check it and again for its progress row."""
        key = tuple(carried)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        answer = self._evaluate_now(carried)
        self._last = (key, answer)
        return answer

    def _evaluate_now(self, carried: Sequence[float]) -> tuple[list[float], float, float]:
        point = self._full_point(carried)
        loss, grads = self._eval(*point)
        return point, loss, math.hypot(*grads)

    def _good(self, carried: Sequence[float]) -> bool:
        """Every coordinate and the loss are finite and within the divergence limit."""
        return _within_limit(carried[:len(self._moving)]) and _within_limit((self._evaluate(carried)[1],))

    def _recorder(self, base: int) -> Any:
        """What the compiled loop calls to record a step (None when not recording): its
        step numbers count from the call, the records' from the start of the run."""
        if not self.config.record:
            return None
        record = self.records.append

        def rec(row: tuple[float, ...]) -> None:
            record((base + row[0], *row[1:]))

        return rec

    def _row(self) -> Row:
        point, loss, norm = self._evaluate(self._carried)
        self._losses.append(loss)
        self._note_best(point, loss)
        return Row(self._steps, loss, norm, self._step_size,
                   dict(zip(self.program.variables, point)))

    def _better(self, loss: float, than: float) -> bool:
        return loss > than if self.config.maximize else loss < than

    def _call(self, n: int, state: tuple[list[float], int, float, float],
              rec: Any) -> tuple[int, int, tuple[list[float], int, float, float]]:
        carried, t, prev, step = state
        status, done, out, t, prev, step = self._run(n, *carried, t, prev, step, rec, *self._fixed)
        return status, done, (list(out), t, prev, step)

    def _chunk(self, n: int) -> int:
        """Run up to ``n`` steps and return the status; on divergence, stop at the last good point."""
        state = (self._carried, self._t, self._prev, self._step_size)
        base = self._steps
        status, done, after = self._call(n, state, self._recorder(base))
        if status == _DIVERGED or not self._good(after[0]):
            # The loop is deterministic: rerun from the chunk's start to find the last
            # step whose point is still good (bisection over the step count).
            low, high = 0, done
            while high - low > 1:
                mid = (low + high) // 2
                if self._good(self._call(mid, state, _ignore)[2][0]):
                    low = mid
                else:
                    high = mid
            status, done = _DIVERGED, low
            after = self._call(low, state, _ignore)[2] if low else state
            last = base + low
            self.records[:] = [r for r in self.records if r[0] <= last]
        self._carried, self._t, self._prev, self._step_size = after
        self._steps = base + done
        return status

    # -- the public loop
    def every(self) -> int:
        return self.config.every or max(1, math.ceil(self.config.steps / 20))

    CHUNK_SECONDS = 0.05
    """About how long the compiled loop runs between returns to Python, whatever ``every`` is."""

    def rows(self) -> Iterator[Row]:
        """Run the descent, yielding a progress row at step 0, every ``every()`` steps, and at the end."""
        return filter(None, self.progress())  # a Row, a non-empty tuple, is never false

    def progress(self) -> Iterator[Row | None]:
        """Run the descent: a Row at step 0, every ``every()`` steps and at the end, and None
        between rows about every CHUNK_SECONDS, so that the caller can write out ``records``
        and Ctrl-C is noticed without losing more than a moment's work."""
        every = self.every()
        row = self._row()
        yield row
        reason = "steps"
        if not -DIVERGENCE_LIMIT <= row.loss <= DIVERGENCE_LIMIT:
            reason = "diverged"
        # Steps per call of the compiled loop, adapted to CHUNK_SECONDS; the first guess
        # assumes about 50 ns per node and step.
        budget = max(1, min(1 << 20, int(self.CHUNK_SECONDS / (50e-9 * self._nodes))))
        while reason == "steps" and self._steps < self.config.steps:
            whole = (self.config.steps - self._steps) // every if self._steps % every == 0 else 0
            if whole and budget >= every:
                started = time.perf_counter()
                made = self._whole_rows(min(whole, budget // every), every)
                if made is not None:
                    spent = time.perf_counter() - started
                    if spent < self.CHUNK_SECONDS / 2:
                        budget = min(budget * 2, 1 << 24)
                    elif spent > self.CHUNK_SECONDS * 2:
                        budget = max(1, budget // 2)
                    yield from made
                    continue
            n = min(every - self._steps % every, self.config.steps - self._steps, budget)
            started = time.perf_counter()
            status = self._chunk(n)
            spent = time.perf_counter() - started
            if spent < self.CHUNK_SECONDS / 2 and n == budget:
                budget = min(budget * 2, 1 << 24)
            elif spent > self.CHUNK_SECONDS * 2:
                budget = max(1, budget // 2)
            if status != _RAN:
                reason = _STATUS[status]
            if status != _RAN or self._steps % every == 0 or self._steps == self.config.steps:
                yield self._row()
            else:
                point, loss, _ = self._evaluate(self._carried)
                self._note_best(point, loss)
                yield None
        self.result = self._result(reason)
        if self.config.record and (not self.records or self.records[-1][0] < self._steps):
            result = self.result
            self.records.append((self._steps, result.value, result.grad_norm,
                                 *[result.point[n] for n in self.free]))

    def _whole_rows(self, rows: int, every: int) -> list[Row] | None:
        """Run ``rows`` whole progress rows in one call of the compiled loop.

        None when the run must stop or diverges within them: then nothing has changed
        (the records they made are dropped), and the step-by-step path, which is
        deterministic, replays those steps and stops exactly where it should.
        """
        base, mark = self._steps, len(self.records)
        made: list[Row] = []
        status, done, carried, t, prev, step = self._run_rows(
            rows, every, base, *self._carried, self._t, self._prev, self._step_size,
            self._recorder(base), made, *self._fixed)
        if status != _RAN:
            del self.records[mark:]
            return None
        self._losses += map(_LOSS, made)
        # The first best row, as noting each in turn would find it.
        best = (max if self.config.maximize else min)(made, key=_LOSS)
        self._note_best(list(best.point.values()), best.loss)
        # The last row's point is where the run is now: keep its loss and gradient norm, as
        # _evaluate would (the same tape, so the same bits), for the next row or the result.
        last = made[-1]
        self._last = (tuple(carried), (list(last.point.values()), last.loss, last.grad_norm))
        self._carried, self._t, self._prev, self._step_size = list(carried), t, prev, step
        self._steps = base + done
        return made

    def _note_best(self, point: list[float], loss: float) -> None:
        if math.isfinite(loss) and (self._best is None or self._better(loss, self._best[0])):
            self._best = (loss, point)

    def interrupt(self) -> DescentResult:
        """Finish after Ctrl-C with the best point seen between calls of the compiled loop."""
        self.result = self._result("interrupted")
        return self.result

    def _result(self, reason: str) -> DescentResult:
        carried = self._carried
        point, loss, norm = self._evaluate(carried)
        if reason == "interrupted" and self._best is not None and self._better(self._best[0], loss):
            point = self._best[1]
            loss, grads = self._eval(*point)
            norm = math.sqrt(math.fsum(g * g for g in grads))
        return DescentResult(
            expression=self.program.source, optimizer=self.config.optimizer, settings=self.settings,
            start=dict(self.start), point=dict(zip(self.program.variables, point)), value=loss,
            grad_norm=norm, steps=self._steps, stop_reason=reason,
            elapsed=time.perf_counter() - self._started, losses=tuple(self._losses))


_LOSS = operator.itemgetter(Row._fields.index("loss"))
"""A Row's loss, as a C-level key function."""


def _within_limit(values: Iterable[float]) -> bool:
    """Finite and at most DIVERGENCE_LIMIT in magnitude, every one (nan fails the test)."""
    return all(-DIVERGENCE_LIMIT <= v <= DIVERGENCE_LIMIT for v in values)


def _ignore(row: tuple[float, ...]) -> None:
    """The recorder for reruns: their steps were recorded the first time."""
