"""Derivatives exact at the edges: every registry operation against 50-digit mpmath references.

For each operation in ``ops.OPERATIONS`` (so a new operation is tested without a
new test) the value, the first derivatives (``gradients``, the floats of
``backward``) and the Hessian (``gradients(..., create_graph=True)`` then one
backward pass per component, as ``adcli hessian`` does) are compared with closed
forms evaluated by mpmath at 50 digits, at special values: signed zeros, the
smallest subnormal and other tiny numbers, 1 plus or minus an ulp at the edges
of the domains of asin, acos, atanh and acosh, large numbers up to the largest
float, where sigmoid and tanh saturate and exp overflows, the infinities, and
every pair of such values for the binary operations (so atan2 and hypot at scales
1e+-200 and on the axes, pow at zero, negative and integer exponents).  Binary
operations are also tested with each argument held constant, which changes the
graph that the Hessian differentiates (``x^0``, ``0^y``).  The compiled form must
give the Scalar graph's bits at the same points.

Accurate means within ``ULPS`` units in the last place of the exact value, plus
``SUBNORMAL_ULPS`` units of the smallest subnormal (so a result that underflows
may be 0); an infinite or nan reference must be matched exactly.  Where the
function is singular the reference is its one-sided limit: from the side a
signed zero names, or the side on which the function is real.  Where no limit
exists (0/0, atan2 at the origin, a derivative outside the domain) the point is
not compared, except that conventions (the kinks of abs, relu, sign, max and
min, hypot at the origin) are part of the reference.  ``KNOWN_OFF`` lists, with
the reason, the few components that are still off.

``REFERENCES`` is the deliberate second table: one entry per registry operation,
the helpers of the derivative rules included (a test checks that its keys are the
registry's names).  Run this file as a script (``python -m tests.test_edges [-v]``)
for a count of the components that are off, per operation.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import pytest
from mpmath import mp

from autodiff_cli import compile_program, gradients, parse
from autodiff_cli.engine.compile import Compiled
from autodiff_cli.engine.graph import build_graph
from autodiff_cli.engine.hessian import hessian_rows
from autodiff_cli.engine.scalar import Scalar
from autodiff_cli.expr import Apply, Num, Program, Var
from autodiff_cli.language.printer import to_source
from autodiff_cli.ops import OPERATIONS, Op

Component = tuple[int, ...]
"""``()`` the value, ``(i,)`` d/d arg i, ``(i, j)`` d²/(d arg i d arg j)."""

Closed = Callable[..., Any]
"""A closed form over mpmath numbers."""

ULPS = (4, 4, 8)
"""The tolerance for values, first and second derivatives, in units in the last place of the
exact value (2**-52 relative): the rounding of a few operations, the partials of a
derivative rule over again for a second derivative."""
SUBNORMAL_ULPS = 64
"""And in units of the smallest subnormal (5e-324): a product rounded below the normal range
keeps its absolute error, which the factors that follow it scale (erf'' = -2x erf')."""

_EPS = 2.0 ** -52
_TINY = 2.0 ** -1074


# ---------------------------------------------------------------- the reference table


@dataclass(frozen=True)
class Reference:
    """One operation's value, gradient and Hessian as closed forms over mpmath numbers."""

    value: Closed
    grad: tuple[Closed, ...] | None
    """None: not compared (a helper whose value is a second derivative: these are third)."""
    hess: tuple[tuple[Closed, ...], ...] | None
    """None: not compared (a helper's Hessian is a third derivative of an operation)."""
    exact: bool = False
    """Evaluate exactly at the point, never as a limit: a convention decides at the kink."""
    periodic: bool = False
    """No limit at the infinities (sin, cos, tan)."""
    special: Callable[[tuple[float, ...]], dict[Component, float | None] | None] | None = None
    """Components the closed forms cannot give at some points (None: not compared there)."""
    order: int = 0
    """For a helper: which derivative of an operation its value is (1 or 2), so that its
    components are held to the tolerance of that order."""
    domain: Callable[..., bool] | None = None
    """Where the function is real, when mpmath's complex values cannot tell (log(x)/log(1))."""

    def closed(self, component: Component) -> Closed | None:
        if not component:
            return self.value
        if len(component) == 1:
            return None if self.grad is None else self.grad[component[0]]
        return None if self.hess is None else self.hess[component[0]][component[1]]


def _c(value: float) -> Closed:
    return lambda *args: mp.mpf(value)


_0, _1 = _c(0.0), _c(1.0)
_ZERO2 = ((_0, _0), (_0, _0))


def _unary(value: Closed, d1: Closed, d2: Closed, **flags: Any) -> Reference:
    return Reference(value, (d1,), ((d2,),), **flags)


def _sigmoid(x: Any) -> Any:
    return 1 / (1 + mp.exp(-x))


def _dsigmoid(x: Any) -> Any:
    return _sigmoid(x) * _sigmoid(-x)


def _real_cbrt(x: Any) -> Any:
    return mp.sign(x) * mp.cbrt(abs(x))


def _one_minus_square(x: Any) -> Any:
    return (1 - x) * (1 + x)


def _power(x: Any, y: Any) -> Any:
    """x^y at 50 digits, quickly: exp(y log x), not mpmath's exact integer powers (3^1e8)."""
    if x == 0 or mpmath.isinf(x) or mpmath.isinf(y) or mpmath.isnan(x) or mpmath.isnan(y):
        return mp.power(x, y)
    if x > 0:
        return mp.exp(y * mp.log(x))
    if y != mp.floor(y):
        return mp.power(x, y)  # complex
    return (-1 if int(y) % 2 else 1) * mp.exp(y * mp.log(-x))


def _ieee_zero_power(sign: float, e: Fraction) -> float:
    """(+-0)^e as IEEE 754 has it (e exact, so that oddness is that of the real exponent)."""
    if e > 0:
        return 0.0
    if e == 0:
        return 1.0
    odd = e.denominator == 1 and e.numerator % 2 != 0
    return -math.inf if sign < 0.0 and odd else math.inf


def _pow_special(args: tuple[float, ...]) -> dict[Component, float | None] | None:
    """x^y where the closed forms meet 0*inf: at a zero base, and IEEE's 1^y = x^0 = 1."""
    x, y = args
    table: dict[Component, float | None] = {}
    if x < 0.0:  # no derivative in y where x^y is real only at integers y
        table = {(1,): math.nan, (0, 1): math.nan, (1, 0): math.nan, (1, 1): math.nan}
    if math.isnan(x) and y in (0.0, 1.0, 2.0):  # x^0, x^1, x^2 are polynomials: d/dx anywhere
        table = {(0,): (0.0, 1.0, math.nan)[int(y)], (0, 0): (0.0, 0.0, 2.0)[int(y)]}
    if (x == 1.0 or y == 0.0) and not (math.isfinite(x) and math.isfinite(y)):
        # IEEE 754 says 1; 1^y is constant, but nan has no derivatives to speak of
        everything = ((0,), (1,), (0, 0), (0, 1), (1, 0), (1, 1))
        return {**table, (): 1.0, **({c: None for c in everything} if x == 1.0 and y != y else {})}
    if x == 0.0 and math.isinf(y):  # (-0)^-inf: no parity to give a derivative its sign
        return {c: None for c in ((0,), (1,), (0, 0), (0, 1), (1, 0), (1, 1))}
    if x != 0.0 or not math.isfinite(y):
        return table or None
    return _pow_at_zero(x, y)


def _pow_at_zero(x: float, y: float) -> dict[Component, float | None]:
    """x^y and its derivatives at x = +-0 (y finite): limits as x -> 0 from the side of its sign."""
    s = math.copysign(1.0, x)
    e = Fraction(y)

    def power(shift: int) -> float:
        return _ieee_zero_power(s, e - shift)

    log_zero = -math.inf
    # x^(y-1)(1 + y log x): the power wins for y > 1; else 1 + y log x is -inf, 1 or +inf
    mixed = 0.0 if y > 1.0 else power(1) * (log_zero if y > 0.0 else math.inf if y < 0.0 else 1.0)
    return {
        (): power(0),
        (0,): 0.0 if y == 0.0 else y * power(1),
        (1,): 0.0 if y > 0.0 else power(0) * log_zero,
        (0, 0): 0.0 if y in (0.0, 1.0) or power(2) == 0.0 else (y * (y - 1.0)) * power(2),
        (0, 1): mixed,
        (1, 0): mixed,
        (1, 1): 0.0 if y > 0.0 else power(0) * math.inf,
    }


def _atan2_special(args: tuple[float, ...]) -> dict[Component, float | None] | None:
    y, x = args
    if y == 0.0 and x < 0.0:  # on the branch cut: the sign of zero says which side
        return {(): math.copysign(math.pi, y)}
    if y == 0.0 and x == 0.0:  # the origin: IEEE's conventions for the value, no derivative
        nan = math.nan
        return {(): math.atan2(y, x), (0,): nan, (1,): nan,
                (0, 0): nan, (0, 1): nan, (1, 0): nan, (1, 1): nan}
    return None


def _hypot_special(args: tuple[float, ...]) -> dict[Component, float | None] | None:
    a, b = args
    if math.isinf(a) or math.isinf(b):
        return {(): math.inf}  # IEEE: hypot(inf, nan) = inf; derivatives by the closed forms
    if a == 0.0 and b == 0.0:  # the origin: a kink, whose convention is abs's: 0
        return {(): 0.0, (0,): 0.0, (1,): 0.0, (0, 0): 0.0, (0, 1): 0.0, (1, 0): 0.0, (1, 1): 0.0}
    return None


def _hypot_ratio_special(args: tuple[float, ...]) -> dict[Component, float | None] | None:
    a, b = args
    if a == 0.0 and b == 0.0:  # hypot's kink: its convention
        return {(): 0.0, (0,): 0.0, (1,): 0.0}
    return None


def _pow_part_special(parts: tuple[Component | None, ...]) \
        -> Callable[[tuple[float, ...]], dict[Component, float | None] | None]:
    """For a helper that is a derivative of pow: the value and partials that are pow's
    components ``parts`` (None: not compared), where pow's own table has them."""

    def special(args: tuple[float, ...]) -> dict[Component, float | None] | None:
        table = _pow_special(args)
        if table is None:
            return None
        mine = ((), (0,), (1,))
        return {own: table.get(part) if part is not None else None
                for own, part in zip(mine, parts) if part is None or part in table}

    return special


def _log_base_db_special(args: tuple[float, ...]) -> dict[Component, float | None] | None:
    x, b = args
    if x == 1.0 and math.isnan(b):  # log(1, b) is 0 for every b, and zmul says so: not compared
        return {(): None}
    return None


def _zmul_special(args: tuple[float, ...]) -> dict[Component, float | None] | None:
    a, b = args
    if a == 0.0 or b == 0.0:
        return {(): 0.0}  # zero wins over inf and nan
    return None


def _atan2_h(y: Any, x: Any) -> Any:
    return (x * x + y * y) ** 2


def _hypot_h3(a: Any, b: Any) -> Any:
    return mp.hypot(a, b) ** 3


REFERENCES: dict[str, Reference] = {
    "add": Reference(lambda a, b: a + b, (_1, _1), _ZERO2),
    "sub": Reference(lambda a, b: a - b, (_1, _c(-1.0)), _ZERO2),
    "mul": Reference(lambda a, b: a * b, (lambda a, b: b, lambda a, b: a), ((_0, _1), (_1, _0))),
    "div": Reference(lambda a, b: a / b, (lambda a, b: 1 / b, lambda a, b: -a / b**2),
                     ((_0, lambda a, b: -1 / b**2), (lambda a, b: -1 / b**2, lambda a, b: 2 * a / b**3))),
    "neg": _unary(lambda a: -a, _c(-1.0), _0),
    # y*x^(y-1) written y*x^y/x: mpmath rounds y - 1 (1e300 - 1 is 1e300 at 50 digits)
    "pow": Reference(
        lambda x, y: _power(x, y),
        (lambda x, y: y * _power(x, y) / x, lambda x, y: _power(x, y) * mp.log(x)),
        ((lambda x, y: y * (y - 1) * _power(x, y) / x**2,
          lambda x, y: _power(x, y) / x * (1 + y * mp.log(x))),
         (lambda x, y: _power(x, y) / x * (1 + y * mp.log(x)),
          lambda x, y: _power(x, y) * mp.log(x) ** 2)),
        special=_pow_special),
    "sin": _unary(mp.sin, mp.cos, lambda x: -mp.sin(x), periodic=True),
    "cos": _unary(mp.cos, lambda x: -mp.sin(x), lambda x: -mp.cos(x), periodic=True),
    "tan": _unary(mp.tan, lambda x: mp.sec(x) ** 2, lambda x: 2 * mp.tan(x) * mp.sec(x) ** 2,
                  periodic=True),
    "asin": _unary(mp.asin, lambda x: 1 / mp.sqrt(_one_minus_square(x)),
                   lambda x: x / _one_minus_square(x) ** 1.5),
    "acos": _unary(mp.acos, lambda x: -1 / mp.sqrt(_one_minus_square(x)),
                   lambda x: -x / _one_minus_square(x) ** 1.5),
    "atan": _unary(mp.atan, lambda x: 1 / (1 + x * x), lambda x: -2 * x / (1 + x * x) ** 2),
    "atan2": Reference(
        mp.atan2,
        (lambda y, x: x / (x * x + y * y), lambda y, x: -y / (x * x + y * y)),
        ((lambda y, x: -2 * x * y / _atan2_h(y, x), lambda y, x: (y - x) * (y + x) / _atan2_h(y, x)),
         (lambda y, x: (y - x) * (y + x) / _atan2_h(y, x), lambda y, x: 2 * x * y / _atan2_h(y, x))),
        special=_atan2_special),
    "sinh": _unary(mp.sinh, mp.cosh, mp.sinh),
    "cosh": _unary(mp.cosh, mp.sinh, mp.cosh),
    "tanh": _unary(mp.tanh, lambda x: mp.sech(x) ** 2, lambda x: -2 * mp.tanh(x) * mp.sech(x) ** 2),
    "asinh": _unary(mp.asinh, lambda x: 1 / mp.sqrt(x * x + 1), lambda x: -x / (x * x + 1) ** 1.5),
    "acosh": _unary(mp.acosh, lambda x: 1 / mp.sqrt((x - 1) * (x + 1)),
                    lambda x: -x / ((x - 1) * (x + 1)) ** 1.5),
    "atanh": _unary(mp.atanh, lambda x: 1 / _one_minus_square(x),
                    lambda x: 2 * x / _one_minus_square(x) ** 2),
    "exp": _unary(mp.exp, mp.exp, mp.exp),
    "log": _unary(mp.log, lambda x: 1 / x, lambda x: -1 / x**2),
    "log2": _unary(lambda x: mp.log(x) / mp.log(2), lambda x: 1 / (x * mp.log(2)),
                   lambda x: -1 / (x**2 * mp.log(2))),
    "log10": _unary(lambda x: mp.log(x) / mp.log(10), lambda x: 1 / (x * mp.log(10)),
                    lambda x: -1 / (x**2 * mp.log(10))),
    "log_base": Reference(
        lambda x, b: mp.log(x) / mp.log(b),
        (lambda x, b: 1 / (x * mp.log(b)), lambda x, b: -mp.log(x) / (b * mp.log(b) ** 2)),
        ((lambda x, b: -1 / (x**2 * mp.log(b)), lambda x, b: -1 / (x * b * mp.log(b) ** 2)),
         (lambda x, b: -1 / (x * b * mp.log(b) ** 2),
          lambda x, b: mp.log(x) * (mp.log(b) + 2) / (b**2 * mp.log(b) ** 3))),
        domain=lambda x, b: x >= 0.0 and b >= 0.0),
    "sqrt": _unary(mp.sqrt, lambda x: 1 / (2 * mp.sqrt(x)), lambda x: -1 / (4 * x * mp.sqrt(x))),
    "cbrt": _unary(_real_cbrt, lambda x: 1 / (3 * _real_cbrt(x) ** 2),
                   lambda x: -2 / (9 * _real_cbrt(x) ** 5)),
    "hypot": Reference(
        mp.hypot,
        (lambda a, b: a / mp.hypot(a, b), lambda a, b: b / mp.hypot(a, b)),
        ((lambda a, b: b * b / _hypot_h3(a, b), lambda a, b: -a * b / _hypot_h3(a, b)),
         (lambda a, b: -a * b / _hypot_h3(a, b), lambda a, b: a * a / _hypot_h3(a, b))),
        special=_hypot_special),
    # kinks: PyTorch's conventions, evaluated exactly at the point
    "abs": _unary(abs, mp.sign, _0, exact=True),
    "sign": _unary(mp.sign, _0, _0, exact=True),
    "relu": _unary(lambda x: max(x, 0), lambda x: 1 if x > 0 else 0, _0, exact=True),
    "max": Reference(lambda a, b: max(a, b), (lambda a, b: (1 + mp.sign(a - b)) / 2,
                                              lambda a, b: (1 - mp.sign(a - b)) / 2), _ZERO2, exact=True),
    "min": Reference(lambda a, b: min(a, b), (lambda a, b: (1 - mp.sign(a - b)) / 2,
                                              lambda a, b: (1 + mp.sign(a - b)) / 2), _ZERO2, exact=True),
    "sigmoid": _unary(_sigmoid, _dsigmoid, lambda x: -_dsigmoid(x) * mp.tanh(x / 2)),
    "softplus": _unary(lambda x: mp.log1p(mp.exp(x)), _sigmoid, _dsigmoid),
    "erf": _unary(mp.erf, lambda x: 2 / mp.sqrt(mp.pi) * mp.exp(-x * x),
                  lambda x: -4 * x / mp.sqrt(mp.pi) * mp.exp(-x * x)),
    # helpers of the derivative rules: their values and partials are first and second
    # derivatives of the operations above (a helper that is a second derivative: its value)
    "zmul": Reference(lambda a, b: a * b, (lambda a, b: b, lambda a, b: a), ((_0, _1), (_1, _0)),
                      exact=True, special=_zmul_special),
    "one_minus_square": _unary(_one_minus_square, lambda x: -2 * x, _c(-2.0)),
    "sech2": Reference(lambda x: mp.sech(x) ** 2, (lambda x: -2 * mp.tanh(x) * mp.sech(x) ** 2,), None,
                       order=1),
    "sigmoid_slope": Reference(_dsigmoid, (lambda x: -_dsigmoid(x) * mp.tanh(x / 2),), None, order=1),
    "gauss": Reference(lambda x: mp.exp(-x * x), (lambda x: -2 * x * mp.exp(-x * x),), None, order=1),
    "hypot_ratio": Reference(lambda a, b: a / mp.hypot(a, b),
                             (lambda a, b: b * b / _hypot_h3(a, b), lambda a, b: -a * b / _hypot_h3(a, b)),
                             None, order=1, special=_hypot_ratio_special),
    "atan2_ratio": Reference(lambda p, q: p / (p * p + q * q),
                             (lambda p, q: (q - p) * (q + p) / _atan2_h(q, p),
                              lambda p, q: -2 * p * q / _atan2_h(q, p)), None, order=1),
    "atan2_cross": Reference(lambda p, q: (q - p) * (q + p) / _atan2_h(q, p), None, None, order=2),
    "log_base_dx": Reference(lambda x, b: 1 / (x * mp.log(b)),
                             (lambda x, b: -1 / (x**2 * mp.log(b)),
                              lambda x, b: -1 / (x * b * mp.log(b) ** 2)),
                             None, order=1, domain=lambda x, b: x >= 0.0 and b >= 0.0),
    "log_base_db": Reference(lambda x, b: -mp.log(x) / (b * mp.log(b) ** 2),
                             (lambda x, b: -1 / (x * b * mp.log(b) ** 2),
                              lambda x, b: mp.log(x) * (mp.log(b) + 2) / (b**2 * mp.log(b) ** 3)),
                             None, order=1, domain=lambda x, b: x >= 0.0 and b >= 0.0,
                             special=_log_base_db_special),
    "log_base_dxb": Reference(lambda x, b: 1 / (x * b * mp.log(b) ** 2), None, None, order=2,
                              domain=lambda x, b: x >= 0.0 and b >= 0.0),
    "log_recip_slope": Reference(lambda b: 1 / (b * mp.log(b) ** 2), None, None, order=2,
                                 domain=lambda b: b >= 0.0),
    "pow_dx": Reference(lambda x, y: y * _power(x, y) / x,
                        (lambda x, y: y * (y - 1) * _power(x, y) / x**2,
                         lambda x, y: _power(x, y) / x * (1 + y * mp.log(x))), None, order=1,
                        special=_pow_part_special(((0,), (0, 0), (0, 1)))),
    "pow_dxx": Reference(lambda x, y: y * (y - 1) * _power(x, y) / x**2, None, None, order=2,
                         special=_pow_part_special(((0, 0), None, None))),
    "pow_dy": Reference(lambda x, y: _power(x, y) * mp.log(x),
                        (lambda x, y: _power(x, y) / x * (1 + y * mp.log(x)),
                         lambda x, y: _power(x, y) * mp.log(x) ** 2), None, order=1,
                        special=_pow_part_special(((1,), (1, 0), (1, 1)))),
    "pow_dyy": Reference(lambda x, y: _power(x, y) * mp.log(x) ** 2, None, None, order=2,
                         special=_pow_part_special(((1, 1), None, None))),
    "pow_dxy": Reference(lambda x, y: _power(x, y) / x * (1 + y * mp.log(x)), None, None, order=2,
                         special=_pow_part_special(((0, 1), None, None))),
}
"""Per registry operation: its value, gradient and Hessian over mpmath numbers."""


KNOWN_OFF: dict[tuple[str, tuple[float, ...], Component], str] = {
    **{("pow", (0.5, 1.5), c): "d2/dxdy x^y = x^(y-1)(1 + y log(x)), and 1 + 1.5 log(0.5) = -0.04 "
       "cancels: log(0.5)'s own rounding is 10 ulps of it (exact needs log in more than double)"
       for c in ((0, 1), (1, 0))},
    **{("pow", (1.0 - 2.0**-53, 2.0**53 + 2.0), c): "the same 1 + y log(x), here -2.8e-16: "
       "log(1 - 2^-53) rounded is 20% of it" for c in ((0, 1), (1, 0))},
    **{("div", (a, b), (1, 1)): "d2/db2 a/b at a = 0 and a subnormal b: the reverse pass "
       "multiplies d(out/b)/d out = 1/b, which overflows, by d out/db = 0 (nan, exact 0); "
       "a helper for -a/b^2 would cost every compiled division a function call"
       for a in (0.0, -0.0) for b in (5e-324, -5e-324)},
}
"""Components still off, with the reason: a test checks that these, and only these, are off."""


# ---------------------------------------------------------------- the points

_MAGNITUDES = (
    0.0, 5e-324, 1e-310, 1e-300, 1e-200, 1e-100, 1e-20, 1e-8, 0.1, 0.5,  # zero and tiny
    0.999999, 1.0 - 1e-10, 1.0 - 2.0**-53, 1.0, 1.0 + 2.0**-52, 1.0 + 1e-10,  # domain edges at 1
    1.5, 2.0, 3.0, math.pi / 2, math.pi, 5.0, 10.0,
    19.0, 20.0, 36.0, 37.0, 40.0, 100.0, 350.0, 355.0,  # tanh and sigmoid saturate, their slopes underflow
    5.3, 26.3, 26.0, 27.0,  # erf' = exp(-x^2): x*x rounds, then underflows
    700.0, 709.78, 710.0, 710.5, 745.0, 746.0,  # exp, sinh, cosh overflow, exp(-x) underflows
    1e8, 1e15, 1e16, 1e154, 1.4e154, 1e200, 1e300, sys.float_info.max, math.inf)  # x^2 overflows
UNARY_POINTS: tuple[float, ...] = (*_MAGNITUDES, *(-v for v in _MAGNITUDES), math.nan)

_PAIR_MAGNITUDES = (0.0, 5e-324, 1e-300, 1e-200, 0.5, 1.0 - 2.0**-53, 1.0, 1.0 + 2.0**-52, 2.0, 3.0,
                    math.pi, 1e8, 1e154, 1e200, 1e300, math.inf)
PAIR_VALUES: tuple[float, ...] = (*_PAIR_MAGNITUDES, *(-v for v in _PAIR_MAGNITUDES), math.nan)

_EXPONENTS = (-3.0, -1.0, -0.5, 1.0 / 3.0, 1.5, 2.5, 4.0, 1e-17, 2.0**53 + 2.0, 1e16)
"""More exponents for pow: integers, fractions, and ones where y - 1 is not a float."""


def points(op: Op) -> list[tuple[float, ...]]:
    """Where ``op`` is compared: the special values, or every pair of them."""
    if op.arity == 1:
        return [(x,) for x in UNARY_POINTS]
    pairs = list(itertools.product(PAIR_VALUES, repeat=op.arity))
    if op.name == "pow":
        pairs += list(itertools.product(PAIR_VALUES, _EXPONENTS))
    return pairs


def masks(op: Op) -> list[tuple[bool, ...]]:
    """Which arguments are variables: all of them, and for a binary op each one alone."""
    every = [tuple([True] * op.arity)]
    if op.arity == 1:
        return every
    return every + [tuple(i == j for j in range(op.arity)) for i in range(op.arity)]


# ---------------------------------------------------------------- the reference at a point

_NUDGE = mpmath.mpf("1e-700")
"""How far a one-sided limit looks: close enough that a pole's value is beyond any float
(1/sqrt(2e-700) is), far enough that 1 +- _NUDGE fits in _NUDGE_BITS."""
_NUDGE_BITS = 2600
_FAR = (mpmath.mpf("1e1000"), mpmath.mpf("1e1100"))
"""Where a limit at infinity looks, per argument (different, so that two infinities differ)."""


def _real(value: Any) -> Any:
    """The value as a real mpmath number, or None (complex, nan, or no number at all)."""
    if isinstance(value, mpmath.mpc):
        if value.imag != 0:
            return None
        value = value.real
    if isinstance(value, (int, float)):
        value = mpmath.mpf(value)
    if not isinstance(value, mpmath.mpf) or mpmath.isnan(value):
        return None
    return value


def _evaluate(fn: Closed, args: Sequence[Any]) -> Any:
    try:
        return _real(fn(*args))
    except (ZeroDivisionError, ValueError, OverflowError):
        return None


def _complex(fn: Closed, args: Sequence[Any]) -> bool:
    """Whether ``fn`` is complex at ``args``: outside the real function's domain."""
    try:
        value = fn(*args)
    except (ZeroDivisionError, ValueError, OverflowError):
        return False
    return isinstance(value, mpmath.mpc) and value.imag != 0


def _agreed(found: Sequence[float | None]) -> float | None:
    """The one value that every way to the limit gives (nan if there was none), else None."""
    if not found:
        return math.nan
    first = found[0]
    if first is None or any(f is None for f in found):
        return None
    if all(f == first or (math.isnan(f) and math.isnan(first)) for f in found):  # type: ignore[arg-type]
        return first
    return None


def _one_sided(ref: Reference, fn: Closed, args: tuple[float, ...], base: list[Any]) -> float | None:
    """The limit of ``fn`` where it cannot be evaluated at ``base`` (``args``, or with infinite
    arguments made large): a zero moves towards its sign, or the other way where the function
    is not real on that side; with no zero, the finite arguments move to each side where the
    function is real.  nan when the function is real on no side; None (not compared) when
    the sides disagree, the function has another singularity there, or two arguments are 0."""
    zeros = [i for i, a in enumerate(args) if a == 0.0]
    if len(zeros) > 1:
        return None
    if zeros:
        (i,) = zeros
        toward = math.copysign(1.0, args[i])
        for side in (toward, -toward):
            moved = list(base)
            moved[i] = side * _NUDGE
            if not _complex(ref.value, moved) and (ref.domain is None or ref.domain(*moved)):
                got = _evaluate(fn, moved)
                return None if got is None else float(got)
        return math.nan
    found: list[float | None] = []
    with mp.workprec(_NUDGE_BITS):  # room for 1 + 1e-700
        finite = [i for i, a in enumerate(args) if math.isfinite(a)]
        for sides in itertools.product((-1, 1), repeat=len(finite)):
            moved = list(base)
            for i, side in zip(finite, sides):
                moved[i] = base[i] * (1 + side * _NUDGE)
            if _complex(ref.value, moved):
                continue
            got = _evaluate(fn, moved)
            found.append(None if got is None else float(got))
    return _agreed(found)


def reference_at(op: Op, args: tuple[float, ...], components: Sequence[Component]) \
        -> dict[Component, float | None]:
    """The reference for each component at ``args`` (None: not compared there)."""
    ref = REFERENCES[op.name]
    table = (ref.special(args) if ref.special is not None else None) or {}
    found: dict[Component, float | None] = {}
    with mp.workdps(50):
        exact = [mpmath.mpf(a) for a in args]
        infinite = [i for i, a in enumerate(args) if math.isinf(a)]
        far = [[math.copysign(1.0, a) * spot[i] if math.isinf(a) else exact[i]
                for i, a in enumerate(args)] for spot in (_FAR, _FAR[::-1])]
        if ref.domain is not None:
            outside = not ref.domain(*args)
        else:
            outside = _complex(ref.value, exact) or bool(
                infinite and not ref.periodic and not ref.exact and _complex(ref.value, far[0]))
        # an infinite argument where the value is indeterminate (log(0)/log(inf)): no derivative
        indeterminate = bool(infinite) and not ref.exact and _evaluate(ref.value, exact) is None
        for component in components:
            if component in table:
                found[component] = table[component]
            elif any(math.isnan(a) for a in args):  # nan, but no derivative at nan
                found[component] = None if component or ref.order else math.nan
            elif (fn := ref.closed(component)) is None:
                found[component] = None
            elif outside:  # no derivative where the function is not real; the value is nan,
                # except that IEEE 754 gives (-inf)^0.5 = inf and (-2)^inf = inf, and that a
                # helper's value is itself a derivative
                found[component] = None if component or infinite or ref.order else math.nan
            elif component and indeterminate:
                found[component] = None
            else:
                found[component] = _limit(ref, fn, args, exact, infinite, far, value=not component)
    return found


def _limit(ref: Reference, fn: Closed, args: tuple[float, ...], exact: list[Any], infinite: list[int],
           far: list[list[Any]], value: bool) -> float | None:
    """One component: evaluated at the point, else its limit there."""
    direct = _evaluate(fn, exact)
    if direct is not None:
        return float(direct)
    if ref.exact or ref.periodic:
        return math.nan
    if not infinite:
        return _one_sided(ref, fn, args, exact)
    # IEEE 754 decides inf - inf and 0*inf in a value; the closed form of a derivative meets
    # them only on its way to a limit (x/(x^2 + 1) at inf)
    if value or len(infinite) > 1:
        return None
    found: list[float | None] = []
    for spot in far:
        got = _evaluate(fn, spot)
        found.append(float(got) if got is not None else _one_sided(ref, fn, args, spot))
    return _agreed(found)


# ---------------------------------------------------------------- what adcli computes


def computed(op: Op, args: tuple[float, ...], mask: tuple[bool, ...]) -> dict[Component, float]:
    """Value, gradient (reverse mode) and Hessian (reverse over reverse) of ``op`` at ``args``,
    differentiating with respect to the arguments in ``mask``; the others are constants."""
    leaves = [Scalar(a, requires_grad=m) for a, m in zip(args, mask)]
    out = Scalar.apply(op, *leaves)
    found: dict[Component, float] = {(): out.data}
    index = [i for i, m in enumerate(mask) if m]
    variables = [leaves[i] for i in index]
    first = gradients(out, variables)
    graph = gradients(out, variables, create_graph=True)
    rows = hessian_rows(graph, variables)
    for k, i in enumerate(index):
        found[(i,)] = float(first[k])
        for m, j in enumerate(index):
            found[(i, j)] = rows[k][m]
    return found


def accurate(got: float, want: float | None, order: int = 0) -> bool:
    """Within ``ULPS[order]`` ulps of ``want`` (a float rounded from the 50-digit value)."""
    if want is None:
        return True
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want):
        return got == want
    if not math.isfinite(got):
        return False
    return abs(got - want) <= ULPS[order] * _EPS * abs(want) + SUBNORMAL_ULPS * _TINY


@dataclass(frozen=True)
class Finding:
    """One component at one point: what adcli computed and what the reference says."""

    op: str
    args: tuple[float, ...]
    mask: tuple[bool, ...]
    component: Component
    got: float
    want: float | None

    @property
    def ok(self) -> bool:
        order = REFERENCES[self.op].order + len(self.component)
        return accurate(self.got, self.want, min(order, 2))

    def __str__(self) -> str:
        held = "" if all(self.mask) else " with " + ", ".join(
            f"arg {i} constant" for i, m in enumerate(self.mask) if not m)
        what = {0: "value", 1: "d/d", 2: "d2/d"}[len(self.component)]
        if self.component:
            what += "".join(f"a{i}" for i in self.component)
        return f"{self.op}{self.args}{held}: {what} = {self.got!r}, exact {self.want!r}"


def survey(op: Op) -> Iterator[Finding]:
    """Every component of ``op`` at every one of its points, for each choice of variables."""
    everything = [(), *[(i,) for i in range(op.arity)], *itertools.product(range(op.arity), repeat=2)]
    for args in points(op):
        want = reference_at(op, args, everything)
        for mask in masks(op):
            for component, got in computed(op, args, mask).items():
                yield Finding(op.name, args, mask, component, got, want[component])


# ---------------------------------------------------------------- compiled code, bit for bit


def _same_bits(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _program(op: Op, args: tuple[float, ...], mask: tuple[bool, ...]) -> Program:
    """``op`` applied to variables (and number literals where ``mask`` holds an argument constant):
    parsed from its printed form for a public operation, built directly for a helper."""
    names = ("x", "y")
    operands = tuple(Var(names[i]) if m else Num(a) for i, (a, m) in enumerate(zip(args, mask)))
    root = Apply(op, operands)
    variables = tuple(names[i] for i, m in enumerate(mask) if m)
    if op.public:
        program = parse(to_source(root))
        assert program.variables == variables, (op.name, program.variables)
        return program
    return Program(op.name, root, variables)


def compiled_mismatches(op: Op) -> Iterator[str]:
    """Where the compiled value and gradient differ, in any bit, from the Scalar graph's."""
    for mask in masks(op):
        constant_positions = [i for i, m in enumerate(mask) if not m]
        programs: dict[tuple[str, ...], tuple[Program, Compiled]] = {}
        for args in points(op):
            if any(not math.isfinite(args[i]) for i in constant_positions):
                continue  # a literal is a finite number
            key = tuple(repr(args[i]) for i in constant_positions)  # 0.0 and -0.0 apart
            if key not in programs:
                program = _program(op, args, mask)
                programs[key] = program, compile_program(program)
            program, compiled = programs[key]
            point = {name: args[i] for i, name in enumerate(("x", "y")[:op.arity]) if mask[i]}
            graph = build_graph(program, point)
            leaves = [graph.leaves[name] for name in program.variables]
            want_value = graph.output.data
            want_grad = [float(g) for g in gradients(graph.output, leaves)] if leaves else []
            value, grad = compiled.value_and_grad(*[point[n] for n in program.variables])
            if not _same_bits(value, want_value) or not all(map(_same_bits, grad, want_grad)):
                yield (f"{op.name}{args} mask {mask}: compiled {value!r}, {grad!r}; "
                       f"Scalar graph {want_value!r}, {want_grad!r}")


# ---------------------------------------------------------------- the tests


def test_the_reference_table_covers_the_registry() -> None:
    """One reference per operation, helpers included; only a helper may leave its
    derivatives out (they are the third derivatives of an operation)."""
    assert set(REFERENCES) == {op.name for op in OPERATIONS}
    for op in OPERATIONS:
        ref = REFERENCES[op.name]
        assert ref.order in ((0,) if op.public else (0, 1, 2)), op.name
        if ref.order == 0:  # an operation, or a helper that is no derivative (zmul)
            assert ref.grad is not None and ref.hess is not None, op.name
        assert ref.grad is None or len(ref.grad) == op.arity, op.name
        assert ref.hess is None or (len(ref.hess) == op.arity and all(len(r) == op.arity for r in ref.hess))
        assert ref.grad is not None or ref.hess is None, op.name


@pytest.mark.parametrize("op", [op for op in OPERATIONS if not REFERENCES[op.name].exact],
                         ids=lambda op: op.name)
def test_the_closed_forms_are_the_derivatives(op: Op) -> None:
    """The table's derivatives agree with mpmath's numerical differentiation of its value,
    at ordinary points: the reference is checked before it checks anything."""
    ref = REFERENCES[op.name]
    ordinary = {1: [(0.3,), (0.7,), (1.7,)], 2: [(0.3, 0.7), (1.7, 0.4), (2.5, 1.3)]}[op.arity]
    with mp.workdps(40):
        for point in ordinary:
            args = [mpmath.mpf(a) for a in point]
            if _evaluate(ref.value, args) is None:
                continue
            for i in range(op.arity):
                order = tuple(int(k == i) for k in range(op.arity))
                if ref.grad is not None:
                    numeric = mpmath.diff(ref.value, args, order)
                    assert abs(numeric - ref.grad[i](*args)) < 1e-25 * max(1, abs(numeric)), \
                        (op.name, args, i)
                for j in range(op.arity if ref.hess is not None else 0):
                    order2 = tuple(int(k == i) + int(k == j) for k in range(op.arity))
                    numeric = mpmath.diff(ref.value, args, order2)
                    assert abs(numeric - ref.hess[i][j](*args)) < 1e-20 * max(1, abs(numeric)), \
                        (op.name, args, i, j)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_value_gradient_and_hessian_are_accurate_at_the_edges(op: Op) -> None:
    findings = [finding for finding in survey(op) if not finding.ok]
    off = [f for f in findings if (f.op, f.args, f.component) not in KNOWN_OFF]
    assert not off, f"{len(off)} components off, such as\n" + "\n".join(map(str, off[:12]))
    known = {key for key in KNOWN_OFF if key[0] == op.name}
    still = {(f.op, f.args, f.component) for f in findings}
    assert known <= still, f"no longer off, so no longer in KNOWN_OFF: {sorted(known - still)}"


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_compiled_code_gives_the_scalar_graph_s_bits_at_the_edges(op: Op) -> None:
    bad = list(compiled_mismatches(op))
    assert not bad, f"{len(bad)} points differ, such as\n" + "\n".join(bad[:8])


def main() -> None:
    """Count the components that are off, per operation; with -v, show a few of each."""
    kinds = ("value", "first", "second")
    totals = {group: {kind: [0, 0] for kind in kinds} for group in ("operations", "helpers")}
    lines: list[str] = []
    for op in OPERATIONS:
        counts = {kind: [0, 0] for kind in kinds}
        examples: list[str] = []
        for finding in survey(op):
            kind = kinds[len(finding.component)]
            counts[kind][1] += 1
            if not finding.ok:
                counts[kind][0] += 1
                if len(examples) < 4:
                    examples.append(f"    {finding}")
        compiled = len(list(compiled_mismatches(op)))
        group = totals["operations" if op.public else "helpers"]
        for kind in kinds:
            group[kind][0] += counts[kind][0]
            group[kind][1] += counts[kind][1]
        if any(off for off, _ in counts.values()) or compiled:
            lines.append(f"{op.name:16} off: " + ", ".join(f"{kind} {counts[kind][0]}" for kind in kinds)
                         + f"; compiled differs at {compiled} points")
            if "-v" in sys.argv:
                lines.extend(examples)
    for group, table in totals.items():
        lines.append(f"{group}: " + ", ".join(f"{kind} {off} of {n} off" for kind, (off, n) in table.items()))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
