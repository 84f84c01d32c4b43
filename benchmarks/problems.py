"""The descent problems, and the hand-written closed-form loops that are the floor for Python.

Each problem is given three ways: as adcli text, as a generic Python function
``python(sin, *xs)`` that the other implementations (micrograd-style, PyTorch,
JAX) evaluate with their own ``sin`` and operator overloading, and as
hand-written loops with the gradient worked out by hand and inlined, one per
optimizer: the fastest a plain Python loop of the same updates can be.

The optimizers are torch.optim's update rules (as adcli's README gives them):

- sgd:      x ← x − lr·g
- momentum: b ← μ·b + g; x ← x − lr·b                                  (μ = 0.9)
- adam:     m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
            x ← x − (lr/(1−β1^t))·m/(√v/√(1−β2^t) + ε)   (β1 = 0.9, β2 = 0.999, ε = 1e-8)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import cos, sqrt
from typing import Any

MU = 0.9
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
OPTIMIZERS = ("sgd", "momentum", "adam")

HandLoop = Callable[[tuple[float, ...], float, int], tuple[float, ...]]


@dataclass(frozen=True)
class Problem:
    key: str
    title: str
    text: str
    """The expression in adcli's language."""
    names: tuple[str, ...]
    start: tuple[float, ...]
    steps: int
    lr: dict[str, float]
    """The learning rate per optimizer."""
    python: Callable[..., Any]
    """``python(sin, *xs)``: the expression for libraries that overload operators."""
    hand: dict[str, HandLoop]
    """Hand-written closed-form loops: ``loop(start, lr, steps) -> final point``."""
    gradient: Callable[..., tuple[float, ...]]
    """The closed-form gradient at one point (for the gradient-check comparison)."""


# ---------------------------------------------------------------- sin(x) + x*y


def sin_xy(sin: Callable[[Any], Any], x: Any, y: Any) -> Any:
    return sin(x) + x * y


def sin_xy_gradient(x: float, y: float) -> tuple[float, float]:
    return cos(x) + y, x


def sin_xy_sgd(start: tuple[float, ...], lr: float, steps: int) -> tuple[float, ...]:
    x, y = start
    for _ in range(steps):
        gx = cos(x) + y
        gy = x
        x = x - lr * gx
        y = y - lr * gy
    return x, y


def sin_xy_momentum(start: tuple[float, ...], lr: float, steps: int) -> tuple[float, ...]:
    x, y = start
    bx = by = 0.0
    for _ in range(steps):
        gx = cos(x) + y
        gy = x
        bx = MU * bx + gx
        by = MU * by + gy
        x = x - lr * bx
        y = y - lr * by
    return x, y


def sin_xy_adam(start: tuple[float, ...], lr: float, steps: int) -> tuple[float, ...]:
    x, y = start
    mx = vx = my = vy = 0.0
    for t in range(1, steps + 1):
        gx = cos(x) + y
        gy = x
        step_size = lr / (1.0 - BETA1 ** t)
        bias2_sqrt = sqrt(1.0 - BETA2 ** t)
        mx = BETA1 * mx + (1.0 - BETA1) * gx
        vx = BETA2 * vx + (1.0 - BETA2) * gx * gx
        x = x - step_size * (mx / (sqrt(vx) / bias2_sqrt + EPS))
        my = BETA1 * my + (1.0 - BETA1) * gy
        vy = BETA2 * vy + (1.0 - BETA2) * gy * gy
        y = y - step_size * (my / (sqrt(vy) / bias2_sqrt + EPS))
    return x, y


# ---------------------------------------------------------------- Rosenbrock


def rosenbrock(sin: Callable[[Any], Any], x: Any, y: Any) -> Any:
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def rosenbrock_gradient(x: float, y: float) -> tuple[float, float]:
    a = y - x * x
    return -2.0 * (1.0 - x) - 400.0 * x * a, 200.0 * a


def rosenbrock_sgd(start: tuple[float, ...], lr: float, steps: int) -> tuple[float, ...]:
    x, y = start
    for _ in range(steps):
        a = y - x * x
        gx = -2.0 * (1.0 - x) - 400.0 * x * a
        gy = 200.0 * a
        x = x - lr * gx
        y = y - lr * gy
    return x, y


def rosenbrock_momentum(start: tuple[float, ...], lr: float, steps: int) -> tuple[float, ...]:
    x, y = start
    bx = by = 0.0
    for _ in range(steps):
        a = y - x * x
        gx = -2.0 * (1.0 - x) - 400.0 * x * a
        gy = 200.0 * a
        bx = MU * bx + gx
        by = MU * by + gy
        x = x - lr * bx
        y = y - lr * by
    return x, y


def rosenbrock_adam(start: tuple[float, ...], lr: float, steps: int) -> tuple[float, ...]:
    x, y = start
    mx = vx = my = vy = 0.0
    for t in range(1, steps + 1):
        a = y - x * x
        gx = -2.0 * (1.0 - x) - 400.0 * x * a
        gy = 200.0 * a
        step_size = lr / (1.0 - BETA1 ** t)
        bias2_sqrt = sqrt(1.0 - BETA2 ** t)
        mx = BETA1 * mx + (1.0 - BETA1) * gx
        vx = BETA2 * vx + (1.0 - BETA2) * gx * gx
        x = x - step_size * (mx / (sqrt(vx) / bias2_sqrt + EPS))
        my = BETA1 * my + (1.0 - BETA1) * gy
        vy = BETA2 * vy + (1.0 - BETA2) * gy * gy
        y = y - step_size * (my / (sqrt(vy) / bias2_sqrt + EPS))
    return x, y


# ---------------------------------------------------------------- ten variables
# f = Σ_{i=1..10} (x_i − i)² + Σ_{i=1..9} x_i·x_{i+1}: convex (its Hessian, 2I plus ones beside
# the diagonal, has eigenvalues 2 + 2cos(kπ/11) > 0), so every method heads for one minimum.
# ∂f/∂x_i = 2(x_i − i) + x_{i−1} + x_{i+1}. Unrolled by hand: the floor, not the nicest code.

TEN_TEXT = (" + ".join(f"(x{i}-{i})^2" for i in range(1, 11)) + " + "
            + " + ".join(f"x{i}*x{i + 1}" for i in range(1, 10)))


def ten(sin: Callable[[Any], Any], *xs: Any) -> Any:
    total = (xs[0] - 1) ** 2
    for i in range(1, 10):
        total = total + (xs[i] - (i + 1)) ** 2
    for i in range(9):
        total = total + xs[i] * xs[i + 1]
    return total


def ten_gradient(*xs: float) -> tuple[float, ...]:
    n = len(xs)
    return tuple(2.0 * (xs[i] - (i + 1)) + (xs[i - 1] if i > 0 else 0.0) + (xs[i + 1] if i < n - 1 else 0.0)
                 for i in range(n))


def ten_sgd(start: tuple[float, ...], lr: float, steps: int) -> tuple[float, ...]:
    x1, x2, x3, x4, x5, x6, x7, x8, x9, x10 = start
    for _ in range(steps):
        g1 = 2.0 * (x1 - 1.0) + x2
        g2 = 2.0 * (x2 - 2.0) + x1 + x3
        g3 = 2.0 * (x3 - 3.0) + x2 + x4
        g4 = 2.0 * (x4 - 4.0) + x3 + x5
        g5 = 2.0 * (x5 - 5.0) + x4 + x6
        g6 = 2.0 * (x6 - 6.0) + x5 + x7
        g7 = 2.0 * (x7 - 7.0) + x6 + x8
        g8 = 2.0 * (x8 - 8.0) + x7 + x9
        g9 = 2.0 * (x9 - 9.0) + x8 + x10
        g10 = 2.0 * (x10 - 10.0) + x9
        x1 = x1 - lr * g1
        x2 = x2 - lr * g2
        x3 = x3 - lr * g3
        x4 = x4 - lr * g4
        x5 = x5 - lr * g5
        x6 = x6 - lr * g6
        x7 = x7 - lr * g7
        x8 = x8 - lr * g8
        x9 = x9 - lr * g9
        x10 = x10 - lr * g10
    return x1, x2, x3, x4, x5, x6, x7, x8, x9, x10


def ten_momentum(start: tuple[float, ...], lr: float, steps: int) -> tuple[float, ...]:
    x1, x2, x3, x4, x5, x6, x7, x8, x9, x10 = start
    b1 = b2 = b3 = b4 = b5 = b6 = b7 = b8 = b9 = b10 = 0.0
    for _ in range(steps):
        g1 = 2.0 * (x1 - 1.0) + x2
        g2 = 2.0 * (x2 - 2.0) + x1 + x3
        g3 = 2.0 * (x3 - 3.0) + x2 + x4
        g4 = 2.0 * (x4 - 4.0) + x3 + x5
        g5 = 2.0 * (x5 - 5.0) + x4 + x6
        g6 = 2.0 * (x6 - 6.0) + x5 + x7
        g7 = 2.0 * (x7 - 7.0) + x6 + x8
        g8 = 2.0 * (x8 - 8.0) + x7 + x9
        g9 = 2.0 * (x9 - 9.0) + x8 + x10
        g10 = 2.0 * (x10 - 10.0) + x9
        b1 = MU * b1 + g1
        b2 = MU * b2 + g2
        b3 = MU * b3 + g3
        b4 = MU * b4 + g4
        b5 = MU * b5 + g5
        b6 = MU * b6 + g6
        b7 = MU * b7 + g7
        b8 = MU * b8 + g8
        b9 = MU * b9 + g9
        b10 = MU * b10 + g10
        x1 = x1 - lr * b1
        x2 = x2 - lr * b2
        x3 = x3 - lr * b3
        x4 = x4 - lr * b4
        x5 = x5 - lr * b5
        x6 = x6 - lr * b6
        x7 = x7 - lr * b7
        x8 = x8 - lr * b8
        x9 = x9 - lr * b9
        x10 = x10 - lr * b10
    return x1, x2, x3, x4, x5, x6, x7, x8, x9, x10


def ten_adam(start: tuple[float, ...], lr: float, steps: int) -> tuple[float, ...]:
    x1, x2, x3, x4, x5, x6, x7, x8, x9, x10 = start
    m1 = m2 = m3 = m4 = m5 = m6 = m7 = m8 = m9 = m10 = 0.0
    v1 = v2 = v3 = v4 = v5 = v6 = v7 = v8 = v9 = v10 = 0.0
    c1, c2 = 1.0 - BETA1, 1.0 - BETA2
    for t in range(1, steps + 1):
        g1 = 2.0 * (x1 - 1.0) + x2
        g2 = 2.0 * (x2 - 2.0) + x1 + x3
        g3 = 2.0 * (x3 - 3.0) + x2 + x4
        g4 = 2.0 * (x4 - 4.0) + x3 + x5
        g5 = 2.0 * (x5 - 5.0) + x4 + x6
        g6 = 2.0 * (x6 - 6.0) + x5 + x7
        g7 = 2.0 * (x7 - 7.0) + x6 + x8
        g8 = 2.0 * (x8 - 8.0) + x7 + x9
        g9 = 2.0 * (x9 - 9.0) + x8 + x10
        g10 = 2.0 * (x10 - 10.0) + x9
        s = lr / (1.0 - BETA1 ** t)
        b = sqrt(1.0 - BETA2 ** t)
        m1 = BETA1 * m1 + c1 * g1
        v1 = BETA2 * v1 + c2 * g1 * g1
        x1 = x1 - s * (m1 / (sqrt(v1) / b + EPS))
        m2 = BETA1 * m2 + c1 * g2
        v2 = BETA2 * v2 + c2 * g2 * g2
        x2 = x2 - s * (m2 / (sqrt(v2) / b + EPS))
        m3 = BETA1 * m3 + c1 * g3
        v3 = BETA2 * v3 + c2 * g3 * g3
        x3 = x3 - s * (m3 / (sqrt(v3) / b + EPS))
        m4 = BETA1 * m4 + c1 * g4
        v4 = BETA2 * v4 + c2 * g4 * g4
        x4 = x4 - s * (m4 / (sqrt(v4) / b + EPS))
        m5 = BETA1 * m5 + c1 * g5
        v5 = BETA2 * v5 + c2 * g5 * g5
        x5 = x5 - s * (m5 / (sqrt(v5) / b + EPS))
        m6 = BETA1 * m6 + c1 * g6
        v6 = BETA2 * v6 + c2 * g6 * g6
        x6 = x6 - s * (m6 / (sqrt(v6) / b + EPS))
        m7 = BETA1 * m7 + c1 * g7
        v7 = BETA2 * v7 + c2 * g7 * g7
        x7 = x7 - s * (m7 / (sqrt(v7) / b + EPS))
        m8 = BETA1 * m8 + c1 * g8
        v8 = BETA2 * v8 + c2 * g8 * g8
        x8 = x8 - s * (m8 / (sqrt(v8) / b + EPS))
        m9 = BETA1 * m9 + c1 * g9
        v9 = BETA2 * v9 + c2 * g9 * g9
        x9 = x9 - s * (m9 / (sqrt(v9) / b + EPS))
        m10 = BETA1 * m10 + c1 * g10
        v10 = BETA2 * v10 + c2 * g10 * g10
        x10 = x10 - s * (m10 / (sqrt(v10) / b + EPS))
    return x1, x2, x3, x4, x5, x6, x7, x8, x9, x10


PROBLEMS: tuple[Problem, ...] = (
    Problem("sin", "sin(x)+x*y from (1, 2)", "sin(x)+x*y", ("x", "y"), (1.0, 2.0), 1000,
            # sin(x)+x*y has no minimum: the run heads off to -inf; momentum at 0.01 would
            # reach 1e27 in 1000 steps, so it takes 0.001.
            {"sgd": 0.01, "momentum": 0.001, "adam": 0.01},
            sin_xy, {"sgd": sin_xy_sgd, "momentum": sin_xy_momentum, "adam": sin_xy_adam},
            sin_xy_gradient),
    Problem("rosenbrock", "Rosenbrock (1-x)^2+100*(y-x^2)^2 from (-1.5, 2)", "(1-x)^2+100*(y-x^2)^2",
            ("x", "y"), (-1.5, 2.0), 20_000, {"sgd": 1e-3, "momentum": 1e-3, "adam": 1e-3},
            rosenbrock, {"sgd": rosenbrock_sgd, "momentum": rosenbrock_momentum, "adam": rosenbrock_adam},
            rosenbrock_gradient),
    Problem("ten", "10 variables: Σ(x_i−i)² + Σ x_i·x_{i+1} from 0", TEN_TEXT,
            tuple(f"x{i}" for i in range(1, 11)), (0.0,) * 10, 2000,
            {"sgd": 0.01, "momentum": 0.01, "adam": 0.01},
            ten, {"sgd": ten_sgd, "momentum": ten_momentum, "adam": ten_adam}, ten_gradient),
)
