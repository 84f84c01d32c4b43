"""What a minimization is asked and what it gives back: the methods and their settings,
every reason a run stops, the progress rows and the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ..errors import Spelling, option, python_spelling, spell
from .objective import Evaluations

METHODS: dict[str, str] = {
    "newton": "Newton's method, exact Hessian, trust region",
    "bfgs": "BFGS, strong Wolfe line search",
    "lbfgs": "L-BFGS, strong Wolfe line search",
    "newton-cg": "Newton-CG, Hessian-vector products, trust region",
}
"""The methods, and what each is in a few words."""

DEFAULT_METHOD = "newton"
"""Fewest evaluations on the Moré–Garbow–Hillstrom problems (benchmarks/bench_minimize.py)."""

STOP_REASONS: dict[str, str] = {
    "gtol": f"converged: the gradient norm fell below {option('gtol')}",
    "xtol": f"converged: the step fell below {option('xtol')} (relative to the point)",
    "ftol": f"converged: two steps in a row changed f by less than {option('ftol')} (relative)",
    "precision": "converged to working precision: no step lowers f by more than its rounding "
                 "error",
    "stalled": "stalled: no step decreases f further, yet the gradient is not small",
    "max_iter": "stopped at the iteration limit before converging",
    "unbounded": "f keeps falling along a direction: it looks unbounded below there",
    "nonfinite": "f or its derivatives are not finite at the start",
    "interrupted": "interrupted",
}
"""Every way a run ends (settings marked as data: :func:`autodiff_cli.errors.spell`)."""

MAXIMIZING: dict[str, str] = {
    "precision": "converged to working precision: no step raises f by more than its rounding "
                 "error",
    "stalled": "stalled: no step increases f further, yet the gradient is not small",
    "unbounded": "f keeps rising along a direction: it looks unbounded above there",
}
"""The reasons whose words differ when the run maximizes f."""


def stop_message(reason: str, maximize: bool = False) -> str:
    """Why a run stopped, in words that read right for a maximization too."""
    return MAXIMIZING[reason] if maximize and reason in MAXIMIZING else STOP_REASONS[reason]


CONVERGED = frozenset({"gtol", "xtol", "ftol", "precision"})

GTOL, XTOL, FTOL, MAX_ITER, HISTORY, C1, C2 = 1e-8, 1e-12, 1e-14, 1000, 10, 1e-4, 0.9
"""The defaults of :class:`MinimizeConfig`: its stopping tests, L-BFGS's memory and the line
search's constants."""


@dataclass(frozen=True, slots=True)
class MinimizeConfig:
    """How to minimize."""

    method: str = DEFAULT_METHOD
    gtol: float = GTOL
    """Converged when the (projected) gradient's 2-norm is at most this."""
    xtol: float = XTOL
    """Converged when a step moves every variable by at most xtol times its size (0: never)."""
    ftol: float = FTOL
    """Converged when two steps in a row each change f by at most ftol·|f| (0: never)."""
    max_iter: int = MAX_ITER
    maximize: bool = False
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    """(low, high) per bounded variable."""
    history: int = HISTORY
    """lbfgs: how many steps the approximation remembers."""
    c1: float = C1
    """The line search's sufficient-decrease constant."""
    c2: float = C2
    """The line search's curvature constant."""
    radius: float | None = None
    """The first trust radius (newton, newton-cg); None: the length of the Newton step where
    the Hessian is positive definite, else of the Cauchy step."""
    record: int = 0
    """Keep (iteration, f, ‖grad‖, *free variables) every this many iterations (0: none)."""

    def settings(self) -> dict[str, float]:
        """The settings that apply to the method, for the summary."""
        chosen: dict[str, float] = {"gtol": self.gtol, "xtol": self.xtol, "ftol": self.ftol,
                                    "max_iter": self.max_iter}
        if self.method in ("bfgs", "lbfgs"):
            chosen.update(c1=self.c1, c2=self.c2)
        if self.method == "lbfgs":
            chosen["history"] = self.history
        if self.method in ("newton", "newton-cg") and self.radius is not None:
            chosen["radius"] = self.radius
        return chosen


@dataclass(frozen=True, slots=True)
class MinimizeResult:
    """How a minimization ended, and what kind of point it ended at."""

    expression: str
    method: str
    settings: dict[str, float]
    start: dict[str, float]
    point: dict[str, float]
    value: float
    gradient: dict[str, float]
    """∂f/∂x at the point, for each free variable."""
    grad_norm: float
    """The 2-norm of the gradient (projected on the box: binding components are zero)."""
    iterations: int
    evaluations: Evaluations
    stop_reason: str
    message_template: str
    """Why it stopped, the settings it names marked as data (:meth:`describe` spells them)."""
    eigenvalues: tuple[float, ...] | None
    """The Hessian's (over the variables not held at a bound), ascending; None when not
    computed or not finite."""
    definiteness: str
    classification: str
    """What the point is: local minimum, saddle point, ... in :mod:`autodiff_cli.engine.hessian`'s words."""
    eigenvalues_over: tuple[str, ...] = ()
    """The variables the eigenvalues are over: those off their bounds.  The variables at a
    bound are left out: those the gradient pushes against, or fixed by equal bounds, are held
    there; those at a bound with a zero gradient component get their own second-order test
    (f must not fall along a direction that moves them into the box), which the
    classification states."""
    maximize: bool = False
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    active_bounds: dict[str, str] = field(default_factory=dict)
    """The variables at a bound: ``lower``, ``upper`` or ``fixed`` (low = high)."""
    notes: tuple[str, ...] = ()
    elapsed: float = 0.0

    @property
    def message(self) -> str:
        """Why it stopped, the settings named as a Python caller gives them."""
        return self.describe()

    def describe(self, spelling: Spelling = python_spelling) -> str:
        """Why it stopped, the settings it names written by ``spelling``."""
        return spell(self.message_template, spelling)

    @property
    def converged(self) -> bool:
        return self.stop_reason in CONVERGED

    @property
    def ok(self) -> bool:
        """Converged, to a point that is not known to be a saddle, the wrong extremum, or no
        critical point at all."""
        wrong = ("saddle point", "local minimum" if self.maximize else "local maximum",
                 "not a critical point")
        return self.converged and not self.classification.startswith(wrong)


class MinimizeRow(NamedTuple):
    """Progress after an iteration."""

    iteration: int
    value: float
    grad_norm: float
    step: float
    """‖x_k - x_(k-1)‖ (0 for a rejected trust-region step)."""
    radius: float
    """The trust radius for the next step (newton, newton-cg); the line search's step α
    (bfgs, lbfgs); nan at the start."""
    evaluations: int
    """Function evaluations so far."""
    point: dict[str, float]


__all__ = ["CONVERGED", "DEFAULT_METHOD", "MAXIMIZING", "METHODS", "STOP_REASONS", "Evaluations",
           "MinimizeConfig", "MinimizeResult", "MinimizeRow", "stop_message"]
