"""PyTorch and JAX versions of the descents, each used the way its documentation shows.

Both are optional (``pip install -e '.[bench]'``): :func:`torch_module` and
:func:`jax_modules` return None when the library is not installed.  Both run in
float64 on the CPU.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from problems import BETA1, BETA2, EPS, MU, Problem


def torch_module() -> Any:
    try:
        import torch
    except ImportError:
        return None
    # Scalar tensors use no intra-op threads anyway; one thread keeps the other core quiet.
    torch.set_num_threads(1)
    return torch


def jax_modules() -> Any:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


# ---------------------------------------------------------------- PyTorch (eager)


def torch_descent(torch: Any, problem: Problem, optimizer: str, lr: float, steps: int
                  ) -> tuple[float, tuple[float, ...]]:
    """torch.optim on 0-d float64 tensors, one eager forward and backward per step."""
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in problem.start]
    if optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr)
    elif optimizer == "momentum":
        opt = torch.optim.SGD(params, lr=lr, momentum=MU)
    else:
        opt = torch.optim.Adam(params, lr=lr, betas=(BETA1, BETA2), eps=EPS)
    f, sin = problem.python, torch.sin
    start = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        loss = f(sin, *params)
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - start
    return seconds, tuple(p.item() for p in params)


# ---------------------------------------------------------------- JAX


def _jax_step(jax: Any, problem: Problem, optimizer: str, lr: float) -> Callable[..., Any]:
    """One step ``(p, a, b, t) -> (p, a, b, t)`` on a float64 vector p (a, b: optimizer state)."""
    jnp = jax.numpy
    n = len(problem.start)

    def loss(p: Any) -> Any:
        return problem.python(jnp.sin, *[p[i] for i in range(n)])

    grad = jax.grad(loss)

    def step(p: Any, a: Any, b: Any, t: Any) -> tuple[Any, Any, Any, Any]:
        g = grad(p)
        if optimizer == "sgd":
            return p - lr * g, a, b, t
        if optimizer == "momentum":
            a = MU * a + g
            return p - lr * a, a, b, t
        t = t + 1
        step_size = lr / (1.0 - BETA1 ** t)
        bias2_sqrt = jnp.sqrt(1.0 - BETA2 ** t)
        a = BETA1 * a + (1.0 - BETA1) * g
        b = BETA2 * b + (1.0 - BETA2) * g * g
        return p - step_size * (a / (jnp.sqrt(b) / bias2_sqrt + EPS)), a, b, t

    return step


def _jax_state(jax: Any, problem: Problem) -> tuple[Any, Any, Any, Any]:
    jnp = jax.numpy
    n = len(problem.start)
    return (jnp.asarray(problem.start, dtype=jnp.float64), jnp.zeros(n, dtype=jnp.float64),
            jnp.zeros(n, dtype=jnp.float64), jnp.asarray(0.0, dtype=jnp.float64))


class JaxPythonLoop:
    """``jax.jit`` of one step (its gradient by ``jax.grad``), called from a Python loop."""

    def __init__(self, jax: Any, problem: Problem, optimizer: str, lr: float) -> None:
        self.jax, self.problem = jax, problem
        start = time.perf_counter()
        self.step = jax.jit(_jax_step(jax, problem, optimizer, lr))
        self.step(*_jax_state(jax, problem))[0].block_until_ready()  # compile now
        self.setup = time.perf_counter() - start

    def __call__(self, steps: int) -> tuple[float, tuple[float, ...]]:
        state = _jax_state(self.jax, self.problem)
        step = self.step
        start = time.perf_counter()
        for _ in range(steps):
            state = step(*state)
        state[0].block_until_ready()
        seconds = time.perf_counter() - start
        return seconds, tuple(float(v) for v in state[0])


class JaxForiLoop:
    """The whole descent inside ``jax.jit`` as one ``lax.fori_loop``, compiled once per step count."""

    def __init__(self, jax: Any, problem: Problem, optimizer: str, lr: float, steps: int) -> None:
        self.jax, self.problem = jax, problem
        step = _jax_step(jax, problem, optimizer, lr)

        def run(p: Any, a: Any, b: Any, t: Any) -> Any:
            return jax.lax.fori_loop(0, steps, lambda i, s: step(*s), (p, a, b, t))

        start = time.perf_counter()
        self.run = jax.jit(run)
        self.run(*_jax_state(jax, problem))[0].block_until_ready()  # compile now
        self.setup = time.perf_counter() - start

    def __call__(self) -> tuple[float, tuple[float, ...]]:
        state = _jax_state(self.jax, self.problem)
        start = time.perf_counter()
        out = self.run(*state)
        out[0].block_until_ready()
        seconds = time.perf_counter() - start
        return seconds, tuple(float(v) for v in out[0])
