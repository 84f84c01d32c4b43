"""The independent oracles' tables: each registry operation as sympy writes it.

The one deliberate second table of operations; tests/test_oracle.py checks that its keys
equal the registry's public operation names.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy

# The piecewise functions are written algebraically (|a| = sqrt(a^2), ...), valid off their kinks,
# because sympy's Abs, sign and Max query its assumption system, which recurses without end on
# some nested expressions.  The symbols are plain (not real=True) so that sqrt(a^2) stays as it is.
SYMPY: dict[str, Callable[..., sympy.Expr]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "neg": lambda a: -a,
    "pow": lambda a, b: a ** b,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "asin": sympy.asin,
    "acos": sympy.acos,
    "atan": sympy.atan,
    "atan2": sympy.atan2,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "asinh": sympy.asinh,
    "acosh": sympy.acosh,
    "atanh": sympy.atanh,
    "exp": sympy.exp,
    "log": sympy.log,
    "log2": lambda a: sympy.log(a, 2),
    "log10": lambda a: sympy.log(a, 10),
    "log_base": lambda a, b: sympy.log(a) / sympy.log(b),
    "sqrt": sympy.sqrt,
    "cbrt": lambda a: a / (a ** 2) ** sympy.Rational(1, 3),  # the real cube root, for a != 0
    "hypot": lambda a, b: sympy.sqrt(a ** 2 + b ** 2),
    "abs": lambda a: sympy.sqrt(a ** 2),
    "sign": lambda a: a / sympy.sqrt(a ** 2),
    "relu": lambda a: (a + sympy.sqrt(a ** 2)) / 2,
    "max": lambda a, b: (a + b + sympy.sqrt((a - b) ** 2)) / 2,
    "min": lambda a, b: (a + b - sympy.sqrt((a - b) ** 2)) / 2,
    "sigmoid": lambda a: 1 / (1 + sympy.exp(-a)),
    "softplus": lambda a: sympy.log(1 + sympy.exp(a)),
    "erf": sympy.erf,
}

SYMPY_CONSTANTS = {"pi": sympy.pi, "e": sympy.E, "tau": 2 * sympy.pi}
