"""What a minimizer minimizes: an objective over a vector of variables.

An :class:`Objective` gives f and its gradient at a point (a NumPy vector); it may also
give the Hessian (:class:`WithHessian`, which Newton's method needs), Hessian-vector
products (:class:`WithProduct`, Newton-CG), a bound on f's rounding error
(:class:`WithRounding`, so that a run can tell convergence to working precision from a
stall).  An expression
plugs in as a :class:`ProgramObjective`; a fit's mean loss over its rows as
:class:`autodiff_cli.fit.objective.LossObjective`.  The minimizer wraps either in
:class:`Counted`, which counts the evaluations and turns a maximization into a
minimization, so that no objective has to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from .. import expr as ast


class Objective(Protocol):
    """f and ∇f at a point x (a float64 vector over the variables being minimized)."""

    def value(self, x: Any) -> float:
        ...

    def value_and_grad(self, x: Any) -> tuple[float, Any]:
        """f and ∇f (any sequence of floats)."""
        ...


@runtime_checkable
class WithHessian(Protocol):
    def hessian(self, x: Any) -> tuple[float, Any, Any]:
        """f, ∇f and ∇²f (an n×n array)."""
        ...


@runtime_checkable
class WithProduct(Protocol):
    def product(self, x: Any, v: Any) -> Any:
        """∇²f·v."""
        ...


@runtime_checkable
class WithRounding(Protocol):
    def rounding(self, x: Any) -> float:
        """A bound on the rounding error of f at x."""
        ...


@dataclass(frozen=True, slots=True)
class Evaluations:
    """How many times f and its derivatives were computed (each at one point)."""

    function: int = 0
    gradient: int = 0
    hessian: int = 0
    hessian_vector: int = 0


class Counted:
    """An objective's f, ∇f, ∇²f and ∇²f·v as NumPy arrays, with the sign that turns a
    maximization into a minimization, each evaluation counted."""

    def __init__(self, objective: Objective, sign: float = 1.0) -> None:
        self.objective, self.sign = objective, sign
        self.has_hessian = isinstance(objective, WithHessian)
        self.has_product = isinstance(objective, WithProduct)
        self.counts = {"function": 0, "gradient": 0, "hessian": 0, "hessian_vector": 0}

    def value(self, x: Any) -> float:
        self.counts["function"] += 1
        return self.sign * self.objective.value(x)

    def value_and_grad(self, x: Any) -> tuple[float, Any]:
        import numpy as np

        self.counts["function"] += 1
        self.counts["gradient"] += 1
        f, g = self.objective.value_and_grad(x)
        return self.sign * f, self.sign * np.array(g, dtype=np.float64)

    def hessian(self, x: Any, new_point: bool = True) -> tuple[float, Any, Any]:
        """f, ∇f and ∇²f; ``new_point``: f has not been counted at x yet."""
        import numpy as np

        assert isinstance(self.objective, WithHessian)
        self.counts["function"] += new_point
        self.counts["gradient"] += 1
        self.counts["hessian"] += 1
        f, g, h = self.objective.hessian(x)
        return (self.sign * f, self.sign * np.array(g, dtype=np.float64),
                self.sign * np.array(h, dtype=np.float64).reshape(len(g), len(g)))

    def product(self, x: Any, v: Any) -> Any:
        """H·v."""
        import numpy as np

        assert isinstance(self.objective, WithProduct)
        self.counts["hessian_vector"] += 1
        return self.sign * np.array(self.objective.product(x, v), dtype=np.float64)

    def rounding(self, x: Any) -> float:
        """The objective's bound on f's rounding error at x; 0 when it has none."""
        return self.objective.rounding(x) if isinstance(self.objective, WithRounding) else 0.0

    def evaluations(self) -> Evaluations:
        return Evaluations(**self.counts)


class ProgramObjective:
    """A parsed expression over its free variables (the others held at their start values):
    the gradient from the compiled tape, the Hessian and H·v from
    :mod:`autodiff_cli.engine.second`, the rounding bound from :mod:`autodiff_cli.engine.rounding`."""

    def __init__(self, program: ast.Program, free: Sequence[str], start: Mapping[str, float]) -> None:
        from ..engine.compile import compile_program

        self.program, self.free = program, tuple(free)
        compiled = compile_program(program, self.free)
        self._value, self._value_and_grad = compiled.value, compiled.value_and_grad
        index = {name: i for i, name in enumerate(program.variables)}
        self.slots = [index[name] for name in self.free]
        self.base = [float(start[name]) for name in program.variables]
        self.whole = self.slots == list(range(len(self.base)))

    def full(self, x: Any) -> list[float]:
        """Every variable's value, in the program's order."""
        values: list[float] = x.tolist()
        if self.whole:
            return values
        point = list(self.base)
        for i, v in zip(self.slots, values):
            point[i] = v
        return point

    def point(self, x: Any) -> dict[str, float]:
        return dict(zip(self.program.variables, self.full(x)))

    def value(self, x: Any) -> float:
        return self._value(*self.full(x))

    def value_and_grad(self, x: Any) -> tuple[float, Any]:
        return self._value_and_grad(*self.full(x))

    def hessian(self, x: Any) -> tuple[float, Any, Any]:
        from ..engine.second import compile_hessian

        return compile_hessian(self.program, self.free).hessian(*self.full(x))

    def product(self, x: Any, v: Any) -> Any:
        from ..engine.second import compile_hvp

        return compile_hvp(self.program, self.free).hvp(*self.full(x), *v.tolist())[2]

    def rounding(self, x: Any) -> float:
        """ε·Σ|v·∂f/∂v| over the operations that depend on the variables, as ``adcli check``
        bounds it."""
        from ..engine.rounding import rounding_bound

        return rounding_bound(self.program, self.free)(*self.full(x))

    def nonfinite(self, x: Any) -> str | None:
        """Where the first inf or nan of f or its gradient at x came from."""
        from ..engine.gradient import gradient_at

        return gradient_at(self.program, self.point(x), self.free)[0].nonfinite


__all__ = ["Counted", "Evaluations", "Objective", "ProgramObjective", "WithHessian",
           "WithProduct", "WithRounding"]
