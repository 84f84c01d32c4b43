"""The value and gradient of a program at a point, through the Scalar graph."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..expr import Program
from .graph import Graph, build_graph, first_nonfinite


@dataclass(frozen=True, slots=True)
class GradResult:
    """A program's value and partial derivatives at a point."""

    expression: str
    point: dict[str, float]
    value: float
    gradient: dict[str, float]
    """Partial derivatives, for the variables asked for, in order of first appearance."""
    nonfinite: str | None = None
    """Where the first inf or nan came from, when there is one."""


def gradient_at(program: Program, point: Mapping[str, float],
                wrt: Sequence[str] | None = None) -> tuple[GradResult, Graph]:
    """Evaluate and backpropagate; the result and the graph it came from."""
    names = tuple(program.variables if wrt is None else wrt)
    graph = build_graph(program, point, names)
    if graph.output.requires_grad:
        graph.output.backward()
    gradient = {name: _grad_or_zero(graph.leaves[name].grad) for name in names}
    result = GradResult(program.source, dict(point), graph.output.data, gradient,
                        first_nonfinite(graph))
    return result, graph


def _grad_or_zero(grad: float | None) -> float:
    # Not `grad or 0.0`: that would turn -0.0 into 0.0.
    return 0.0 if grad is None else grad
