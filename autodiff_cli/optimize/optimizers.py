"""The optimizers of torch.optim as data: each one's hyper-parameters, state and update lines.

Update rules (g is the gradient, negated under ``maximize``; t counts steps from 1), with
PyTorch's defaults:

- ``sgd``:      x ← x − lr·g                                    (lr = 1e-3)
- ``momentum``: b ← μ·b + g;  x ← x − lr·b                     (lr = 1e-3, μ = 0.9)
- ``nesterov``: b ← μ·b + g;  x ← x − lr·(g + μ·b)             (lr = 1e-3, μ = 0.9)
- ``adam``:     m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
                x ← x − (lr/(1−β1^t))·m / (√v/√(1−β2^t) + ε)   (lr = 1e-3, β = (0.9, 0.999), ε = 1e-8)
- ``rmsprop``:  v ← α·v + (1−α)·g²;  x ← x − lr·g/(√v + ε)      (lr = 1e-2, α = 0.99, ε = 1e-8)
- ``adagrad``:  s ← s + g²;  x ← x − lr_t·g/(√s + ε),  lr_t = lr/(1 + (t−1)·decay)
                                                                 (lr = 1e-2, decay = 0, ε = 1e-10)

State starts at -0.0, the exact identity of addition, so a first momentum step is
exactly ``b = g`` as in PyTorch.  The update lines are printed into the descent loop
(:mod:`autodiff_cli.optimize.loop`) with our own names for the variable, its gradient
and its state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import ValueInputError, option


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


HYPER_RANGES: dict[str, tuple[float, float, bool]] = {
    "lr": (0.0, math.inf, False),
    "momentum": (0.0, math.inf, False),
    "beta1": (0.0, 1.0, True),
    "beta2": (0.0, 1.0, True),
    "alpha": (0.0, 1.0, False),
    "eps": (0.0, math.inf, False),
    "lr_decay": (0.0, math.inf, False),
}
"""Each hyper-parameter's finite range: (low, high, whether high itself is excluded).  β = 1
would divide by 1 − β^t = 0; nan or inf would make a run that "diverges" at step 0."""


def settings_of(name: str, hyper: dict[str, float]) -> dict[str, float]:
    """The optimizer's hyper-parameters: its defaults, overridden by ``hyper``, each checked
    against :data:`HYPER_RANGES` (an error names the setting and what it may be)."""
    if name not in OPTIMIZERS:
        raise ValueInputError(f"unknown optimizer '{name}'; choose from {', '.join(OPTIMIZERS)}")
    rule = OPTIMIZERS[name]
    unknown = set(hyper) - set(rule.defaults)
    if unknown:
        raise ValueInputError(f"{name} takes no {', '.join(sorted(unknown))}; "
                              f"its settings: {', '.join(rule.defaults)}")
    settings = {**rule.defaults, **{key: float(value) for key, value in hyper.items()}}
    for key, value in settings.items():
        low, high, open_high = HYPER_RANGES[key]
        if not (low <= value and (value < high if open_high else value <= high) and math.isfinite(value)):
            wanted = (f"at least {low:g} and below {high:g}" if open_high
                      else f"from {low:g} to {high:g}" if math.isfinite(high)
                      else f"a finite number, at least {low:g}")
            raise ValueInputError(f"{option(key)} must be {wanted}, got {value!r}")
    if settings.get("eps", 1.0) == 0.0:
        raise ValueInputError(f"{option('eps')} must be above 0: it keeps a zero gradient's step from 0/0")
    return settings


def array_step(name: str, settings: dict[str, float]) -> Any:
    """The optimizer's update of every variable at once, on NumPy vectors: the same update
    lines as the descent loop, printed with vector names (a fit's parameters move together).

    Returns ``step(p, g, t, state) -> (p, t, step_size)``: ``p`` and ``g`` are float64
    vectors, ``t`` the step count before this step, ``state`` a list of vectors (one per
    state name of the rule, starting at -0.0 as in the descent loop), updated in place.
    """
    import numpy as np

    from ..engine.emit import define, indent

    rule = OPTIMIZERS[name]
    slots = {state: f"state[{i}]" for i, state in enumerate(rule.state)}
    lines = [*rule.prologue, *(line.format(p="p", g="g", new="p", **slots) for line in rule.update)]
    source = (f"def step(p, g, t, state):\n{indent(lines, 1)}"
              f"    return p, t, {rule.step_size}\n")
    namespace: dict[str, Any] = {**settings, "sqrt": np.sqrt}
    return define(source, namespace)["step"]
