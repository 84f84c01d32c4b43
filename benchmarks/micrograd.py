"""A micrograd-style engine (after karpathy/micrograd's engine.py), written here for the benchmark.

It keeps micrograd's design on purpose, since that is what is measured: a
closure per operation for the backward step, parents in a set, a recursive
topological sort, and a fresh graph built at every step of a descent.  Only
``sin`` is added, in the same style, because the benchmark's first problem
needs it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from problems import BETA1, BETA2, EPS, MU


class Value:
    """Stores a single scalar value and its gradient."""

    def __init__(self, data: float, _children: tuple[Value, ...] = (), _op: str = "") -> None:
        self.data = data
        self.grad = 0.0
        self._backward: Callable[[], None] = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __add__(self, other: Value | float) -> Value:
        o = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + o.data, (self, o), "+")

        def _backward() -> None:
            self.grad += out.grad
            o.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        o = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * o.data, (self, o), "*")

        def _backward() -> None:
            self.grad += o.data * out.grad
            o.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other: float) -> Value:
        assert isinstance(other, (int, float)), "only supporting int/float powers for now"
        out = Value(self.data ** other, (self,), f"**{other}")

        def _backward() -> None:
            self.grad += (other * self.data ** (other - 1)) * out.grad
        out._backward = _backward
        return out

    def sin(self) -> Value:
        out = Value(math.sin(self.data), (self,), "sin")

        def _backward() -> None:
            self.grad += math.cos(self.data) * out.grad
        out._backward = _backward
        return out

    def backward(self) -> None:
        topo: list[Value] = []
        visited: set[Value] = set()

        def build_topo(v: Value) -> None:
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

    def __neg__(self) -> Value:
        return self * -1

    def __radd__(self, other: Value | float) -> Value:
        return self + other

    def __sub__(self, other: Value | float) -> Value:
        return self + (-other)

    def __rsub__(self, other: Value | float) -> Value:
        return other + (-self)

    def __rmul__(self, other: Value | float) -> Value:
        return self * other


def value_sin(v: Value) -> Value:
    return v.sin()


def descend(f: Callable[..., Value], start: Sequence[float], optimizer: str, lr: float,
            steps: int) -> tuple[float, ...]:
    """The usual micrograd loop: build the graph, backward, update ``.data`` by hand."""
    xs = list(start)
    n = len(xs)
    state_a = [0.0] * n
    state_b = [0.0] * n
    for t in range(1, steps + 1):
        params = [Value(x) for x in xs]
        loss = f(value_sin, *params)
        loss.backward()
        if optimizer == "sgd":
            for i, p in enumerate(params):
                xs[i] = xs[i] - lr * p.grad
        elif optimizer == "momentum":
            for i, p in enumerate(params):
                state_a[i] = MU * state_a[i] + p.grad
                xs[i] = xs[i] - lr * state_a[i]
        else:
            step_size = lr / (1.0 - BETA1 ** t)
            bias2_sqrt = math.sqrt(1.0 - BETA2 ** t)
            for i, p in enumerate(params):
                g = p.grad
                state_a[i] = BETA1 * state_a[i] + (1.0 - BETA1) * g
                state_b[i] = BETA2 * state_b[i] + (1.0 - BETA2) * g * g
                xs[i] = xs[i] - step_size * (state_a[i] / (math.sqrt(state_b[i]) / bias2_sqrt + EPS))
    return tuple(xs)
