"""A bound on the rounding error of f at a point, compiled from the tape.

Each operation rounds its result by up to half a unit in the last place, and that error
reaches f scaled by f's derivative with respect to the operation's value (its adjoint):
ε·Σ|v·∂f/∂v| over the operations that depend on a variable, the bound that
``adcli check`` weighs its finite differences against (:func:`autodiff_cli.check.point.
rounding_error`).  A minimizer asks it once per point where no step lowers f, to tell
"converged to working precision" from "stalled": the inspected tape's (value, adjoint)
pairs (:attr:`autodiff_cli.engine.tape.Tape.rounding`) printed as one scalar function.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

from .. import expr as ast
from .emit import FALLBACK, Emitter, Namespace, define, indent
from .tape import tape_of

EPS = 2.220446049250313e-16
"""The float64 machine epsilon."""


@functools.lru_cache(maxsize=8)
def _rounding(program: ast.Program, wrt: tuple[str, ...]) -> Callable[..., float]:
    tape = tape_of(program, wrt, inspect=True)
    args = ", ".join(tape.params)
    fast = Emitter("fast", tape, Namespace())
    fsum, absolute = fast.ns.bind("f", math.fsum), fast.ns.bind("f", abs)
    terms = "".join(f"{absolute}({t} * {g}), " for t, g in tape.rounding)
    returns = f"    return {fsum}(({terms}))\n"
    source = (f"def bound({args}):\n    try:\n" + indent(fast.lines([*tape.forward, *tape.reverse]), 2)
              + f"    except {FALLBACK}:\n        return _safe({args})\n" + returns)
    namespace = define(source, fast.ns.values)

    def first_safe(*values: float) -> float:
        # The safe flavour, written the first time the fast one raises (as compile.py does).
        safe = Emitter("safe", tape, Namespace())
        safe_fsum, safe_abs = safe.ns.bind("f", math.fsum), safe.ns.bind("f", abs)
        safe_terms = "".join(f"{safe_abs}({t} * {g}), " for t, g in tape.rounding)
        safe_source = (f"def _safe({args}):\n" + indent(safe.lines([*tape.forward, *tape.reverse]), 1)
                       + f"    return {safe_fsum}(({safe_terms}))\n")
        namespace["_safe"] = define(safe_source, safe.ns.values)["_safe"]
        result: float = namespace["_safe"](*values)
        return result

    namespace["_safe"] = first_safe
    total: Callable[..., float] = namespace["bound"]

    def bound(*values: float) -> float:
        return EPS * total(*values)

    return bound


def rounding_bound(program: ast.Program, wrt: Sequence[str] | None = None) -> Callable[..., float]:
    """``bound(*values)``: ε·Σ|v·∂f/∂v| at a point (every variable's value, in the program's
    order), over the operations that depend on a variable in ``wrt`` (default: all).
    Compiled once per program (by identity) and ``wrt``."""
    return _rounding(program, tuple(program.variables if wrt is None else wrt))
