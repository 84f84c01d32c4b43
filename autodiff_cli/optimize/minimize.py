"""Minimize an expression in tens of steps: Newton's method with the exact Hessian,
quasi-Newton methods, and Newton-CG.

Every method uses derivatives that adcli computes exactly: the gradient from the compiled
tape, the Hessian and Hessian-vector products from :mod:`autodiff_cli.engine.second`
(forward over reverse through the registry).  No finite differences anywhere.

- ``newton`` (the default) and ``newton-cg``: trust regions, the subproblem solved exactly
  from the Hessian or by conjugate gradients on Hessian-vector products
  (:mod:`autodiff_cli.optimize.newton`);
- ``bfgs`` and ``lbfgs``: quasi-Newton updates with a strong Wolfe line search
  (:mod:`autodiff_cli.optimize.quasi_newton`).

They run over any objective (:mod:`autodiff_cli.optimize.objective`) in a
:class:`autodiff_cli.optimize.search.Search`; here an expression is the objective.

Bounds (:mod:`autodiff_cli.optimize.bounds`) work with every method by an active-set
strategy: variables held at a bound that the gradient pushes against, steps computed in
the others and shortened to land on the first bound they meet.

A run is a :class:`Minimizer`, driven by the run loop (:func:`autodiff_cli.optimize.run.run`)
like a descent: progress rows and trajectory records go to sinks, Ctrl-C ends it with the
best point.  When it ends, the exact Hessian at the point says what kind of point it is,
with :mod:`autodiff_cli.engine.hessian`'s classification.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .. import expr as ast
from ..errors import AdcliError, option
from .bounds import BoundSpec, resolve_bounds
from .minimize_result import (
    C1,
    C2,
    CONVERGED,
    DEFAULT_METHOD,
    FTOL,
    GTOL,
    HISTORY,
    MAX_ITER,
    METHODS,
    STOP_REASONS,
    XTOL,
    MinimizeConfig,
    MinimizeResult,
    MinimizeRow,
    stop_message,
)
from .objective import Evaluations, ProgramObjective
from .run import Outcome, Sink, run
from .search import Search, check_config, finite

CLASSIFY_LIMIT = 2000
"""Past this many variables the point is not classified (the Hessian would take n products
and an O(n³) eigendecomposition)."""


class Minimizer(Search, Outcome[MinimizeResult]):
    """A minimization of an expression in progress: iterate :meth:`progress` (or hand it to
    :func:`autodiff_cli.optimize.run.run`), then read :attr:`outcome`."""

    WHAT = "minimization"

    def __init__(self, program: ast.Program, start: Mapping[str, float], free: Sequence[str],
                 config: MinimizeConfig | None = None) -> None:
        config = config or MinimizeConfig()
        check_config(config)
        if not free:
            raise AdcliError("every variable is fixed: nothing to minimize" if program.variables
                             else "the expression has no variables: nothing to minimize")
        self.program = program
        self.start = {name: float(start[name]) for name in program.variables}
        self.program_objective = ProgramObjective(program, free, self.start)
        bounds = resolve_bounds(config.bounds, program.variables, set(program.variables) - set(free))
        super().__init__(self.program_objective, free, [self.start[n] for n in free], config, bounds)
        self.bounds = bounds
        self.result: MinimizeResult | None = None
        self.eigenvalues_over: tuple[str, ...] = ()

    def point(self, x: Any) -> dict[str, float]:
        return self.program_objective.point(x)

    def finish(self, reason: str) -> None:
        super().finish(reason)
        self.result = self._result(reason)

    def interrupt(self) -> MinimizeResult:
        """The result after Ctrl-C: the current point, which is the best so far (every method
        here only ever moves to a lower value)."""
        self.stop()
        return self.outcome


    def _result(self, reason: str) -> MinimizeResult:
        x, f = self.x, self.sign * self.f
        gradient = dict(zip(self.free, (self.sign * self.g).tolist()))
        eigenvalues, definiteness, classification = self._classify(reason)
        message = stop_message(reason, self.config.maximize)  # the user's f, not the minimized -f
        if reason == "gtol" and self.grad_norm() >= self.config.gtol:  # (equal to it: 0 at --gtol 0)
            message = "converged: the gradient norm fell to " + (
                f"0 ({option('gtol')} 0)" if self.config.gtol == 0.0 else option("gtol"))
        if reason == "nonfinite":
            where = self.program_objective.nonfinite(x)
            message += f"; the first came from {where}" if where else \
                " (the Hessian is not; bfgs and lbfgs do without it)"
        if reason in CONVERGED:
            kind = classification.split(":")[0]
            wanted = "local maximum" if self.config.maximize else "local minimum"
            if kind in ("saddle point", "local minimum", "local maximum") and kind != wanted:
                message += f"; but this is a {kind}, not a {wanted.split()[1]}"
            elif kind == "not a critical point":
                message += f"; but the gradient is not small here: this is no {wanted.split()[1]}"
        return MinimizeResult(
            expression=self.program.source, method=self.config.method, settings=self.config.settings(),
            start=dict(self.start), point=self.point(x),
            value=f, gradient=gradient, grad_norm=self.grad_norm(), iterations=self.iteration,
            evaluations=self.objective.evaluations(), stop_reason=reason, message_template=message,
            eigenvalues=eigenvalues, definiteness=definiteness, classification=classification,
            eigenvalues_over=self.eigenvalues_over if eigenvalues is not None else (),
            maximize=self.config.maximize, bounds=dict(self.bounds), active_bounds=self.box.active(x),
            notes=tuple(self.notes), elapsed=time.perf_counter() - self.started)

    def _classify(self, reason: str) -> tuple[tuple[float, ...] | None, str, str]:
        """The Hessian's eigenvalues over the variables not held at a bound, its definiteness,
        and what that makes the point (engine/hessian's words)."""
        counts = dict(self.objective.counts)  # the method's work, not the classification's
        try:
            return self._classified(reason)
        finally:
            self.objective.counts.update(counts)

    def _classified(self, reason: str) -> tuple[tuple[float, ...] | None, str, str]:
        import numpy as np

        from ..engine.hessian import CRITICAL_GRADIENT, classification, classify, eigenvalues_of

        x = self.x
        n = len(self.free)
        if reason == "unbounded":
            return None, "not computed", ("no maximum: f keeps rising along the run's last direction"
                                          if self.config.maximize else
                                          "no minimum: f keeps falling along the run's last direction")
        if not (math.isfinite(self.f) and finite(self.g)):
            return None, "undefined", "inconclusive: f or its gradient is not finite here"
        if n > CLASSIFY_LIMIT:
            return None, "not computed", f"not classified: more than {CLASSIFY_LIMIT} variables"
        if reason == "interrupted" and self.h is None and n > 60:  # Ctrl-C should not wait
            return None, "not computed", "not classified: interrupted"
        if self.h is not None:
            h = self.h
        elif n <= 60:
            h = self.objective.hessian(x, new_point=False)[2]
        else:
            h = np.column_stack([self.objective.product(x, e) for e in np.eye(n)])
        pg = self.projected()
        # The hessian command's test; a run that converged (its own tests passed, or f's
        # rounding stops it) gets the square root of its margin, since a minimum found to
        # working precision has a gradient of about √ε relative, but never more: a clearly
        # non-zero gradient is no critical point, whatever the settings (--xtol 1e10).
        margin = CRITICAL_GRADIENT ** 0.5 if reason in CONVERGED else CRITICAL_GRADIENT
        critical = bool(pg.size == 0 or float(abs(pg).max()) <= margin * max(1.0, abs(self.f)))
        held, weak = self._held()
        free = ~(held | weak)
        self.eigenvalues_over = tuple(name for name, off in zip(self.free, free.tolist()) if off)
        user = self.sign * h  # the user's f, not the minimized one
        reduced = user[np.ix_(free, free)]
        if not (finite(reduced) and finite(h[np.ix_(~held, ~held)])):
            return None, "undefined", classification("undefined", False)
        eigenvalues = eigenvalues_of(reduced.tolist()) if free.any() else ()
        definiteness = classify(eigenvalues)
        if not critical:
            return eigenvalues, definiteness, classification("indefinite", False)
        wanted = "local maximum" if self.config.maximize else "local minimum"
        if not weak.any():
            if not free.any():
                return (), "empty", f"{wanted}: every variable is held at a bound"
            return eigenvalues, definiteness, classification(definiteness, critical)
        return eigenvalues, definiteness, self._on_the_bounds(h, free, weak, eigenvalues, wanted)

    def _held(self) -> tuple[Any, Any]:
        """The variables held at a bound for the second-order test: fixed ones (low = high) and
        those at a bound that the gradient pushes against (a positive multiplier, as the
        methods hold them); and the others at a bound (a zero gradient component there, or
        one that points into the box, which the critical-point test has seen)."""
        box, x = self.box, self.x
        held = (box.lower == box.upper) | box.binding(x, self.g)
        return held, ((x <= box.lower) | (x >= box.upper)) & ~held

    def _on_the_bounds(self, h: Any, free: Any, weak: Any, eigenvalues: tuple[float, ...],
                       wanted: str) -> str:
        """The second-order test where some variables sit at a bound with a gradient component
        about 0: f (as minimized, Hessian ``h``) must not fall to second order along any
        direction the bounds allow, which moves the ``free`` variables either way and the
        ``weak`` ones only into the box.  With the free variables eliminated (their Hessian
        positive definite), that is the copositivity of a Schur complement."""
        import numpy as np

        from ..engine.hessian import classify
        from .bounds import copositivity

        falls = "rises" if self.config.maximize else "falls"
        rises = "falls" if self.config.maximize else "rises"
        curvature = classify(tuple(self.sign * v for v in eigenvalues))  # as minimized
        if curvature in ("indefinite", "negative definite"):
            return f"saddle point: f {falls} along a direction the bounds allow"
        if curvature == "semidefinite (singular)":
            return "inconclusive: the Hessian over the variables off their bounds is singular"
        s = h[np.ix_(weak, weak)]
        if free.any():
            s = s - h[np.ix_(weak, free)] @ np.linalg.solve(h[np.ix_(free, free)], h[np.ix_(free, weak)])
        # a step into the box from an upper bound is negative: flip those rows and columns
        into = np.where((self.x >= self.box.upper)[weak], -1.0, 1.0)
        verdict = copositivity(s * np.outer(into, into))
        if verdict == "strict":
            return f"{wanted}: f {rises} along every direction the bounds allow"
        if verdict == "yes":
            return (f"inconclusive: f {falls} to second order along no direction the bounds allow, "
                    "but stays level along one; higher derivatives decide")
        if verdict == "no":
            return f"saddle point: f {falls} along a direction the bounds allow"
        return ("inconclusive: the second-order test over the variables at a bound with a zero "
                "gradient component was not made")


def minimize_program(program: ast.Program, start: Mapping[str, float], free: Sequence[str] | None = None,
                     config: MinimizeConfig | None = None,
                     sinks: Sequence[Sink] = ()) -> tuple[MinimizeResult, bool]:
    """Minimize ``program`` from ``start`` over the variables ``free`` (default: all; the
    others stay at their start values): the result, and whether Ctrl-C ended the run.

    Progress rows and the trajectory's records go to ``sinks`` (see
    :mod:`autodiff_cli.optimize.run`); ask for records with ``config.record``.
    """
    names = program.variables if free is None else tuple(free)
    return run(Minimizer(program, start, names, config), sinks)


def minimize(expression: str, method: str = DEFAULT_METHOD, *, bounds: Mapping[str, BoundSpec] | None = None,
             fix: Sequence[str] = (), init: float | None = None, maximize: bool = False,
             gtol: float = GTOL, xtol: float = XTOL, ftol: float = FTOL, max_iter: int = MAX_ITER,
             history: int = HISTORY, c1: float = C1, c2: float = C2, radius: float | None = None,
             **values: float) -> MinimizeResult:
    """Minimize ``expression`` from the point given as keywords (variables without one
    start at ``init``); ``fix`` names variables to hold at their values.  The settings are
    :class:`MinimizeConfig`'s (the command's options of the same names).

    >>> r = minimize("(1-x)^2 + 100*(y-x^2)^2", x=-1.2, y=1)
    >>> r.stop_reason, r.classification, round(r.point["x"], 9), round(r.point["y"], 9)
    ('gtol', 'local minimum', 1.0, 1.0)
    """
    from ..language.inputs import check_names, resolve_point
    from ..language.parser import parse

    program = parse(expression)
    start = resolve_point(program.variables, values.items(), init,
                          f"; or give every variable without one a start value with {option('init')}")
    check_names(fix, program.variables, "fixed")
    free = tuple(n for n in program.variables if n not in set(fix))
    checked = resolve_bounds(bounds, program.variables, fix)
    config = MinimizeConfig(method=method, gtol=gtol, xtol=xtol, ftol=ftol, max_iter=max_iter,
                            maximize=maximize, bounds=checked, history=history, c1=c1, c2=c2,
                            radius=radius)
    return minimize_program(program, start, free, config)[0]


__all__ = ["C1", "C2", "DEFAULT_METHOD", "FTOL", "GTOL", "HISTORY", "MAX_ITER", "METHODS", "STOP_REASONS",
           "XTOL", "Evaluations", "MinimizeConfig", "MinimizeResult", "MinimizeRow", "Minimizer", "minimize",
           "minimize_program"]
