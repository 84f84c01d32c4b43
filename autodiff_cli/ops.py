"""The one registry of operations.

Each entry gives an operation's forward function on IEEE float64 values and its
partial derivatives, one rule per argument.  A rule is written once against an
*algebra* ``m``: a namespace holding one function per operation name.  Given the
float algebra it computes a number; given the Scalar algebra it builds graph
nodes (derivatives of derivatives); given the symbolic algebra it builds
expressions.  Rules use ``+``, ``-`` (binary and unary) and ``*`` directly, which
are exception-free on floats; division, powers and functions go through ``m`` so
that every interpreter keeps IEEE semantics (``1/0`` is ``inf``, not an
exception).

A rule's signature is ``rule(m, *args, out)``: the algebra, the operation's
inputs, and its output (so ``exp`` can reuse its value).  Rules are evaluated
only for arguments that need a gradient, so the ``log(x)`` term of a power's
derivative never appears when the exponent is a constant.

Forward mode (dual numbers) needs no second table: :func:`jvp` derives an
operation's tangent from the same partial rules, unless the entry gives a
``tangent`` rule of its own.  Entries with a kink say where (``kink``), so that
a gradient check can tell a convention from a derivative.

Conventions at kinks follow PyTorch: ``abs`` and ``relu`` have derivative 0 at
0, ``sign`` has derivative 0 everywhere, ``max`` and ``min`` of equal arguments
split the gradient evenly; ``hypot`` has abs's derivative 0 at the origin.

Derivatives are accurate to a few ulps over the whole domain, second
derivatives too (tests/test_edges.py compares them with 50-digit references at
the edges).  Where a textbook formula loses the digits (1 - tanh(x)^2 once tanh
rounds to 1, x/(x^2 + y^2) once x^2 overflows, y*x^(y-1) once y - 1 rounds) the
rule calls a helper operation (``public=False``): a forward function that keeps
them, with partials (the second derivatives, through which Hessians go) written
to keep them too.  A helper gives its ``expansion`` in the language's own
operations, which symbolic derivatives and printed formulas show instead.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, TypeVar

Rule = Callable[..., Any]
"""``rule(m, *args, out)``: one partial derivative, written against an algebra ``m``."""

SUM, PRODUCT, UNARY, POWER, ATOM = 1, 2, 3, 4, 5
"""Precedence levels, loosest first: ``+ -`` < ``* /`` < unary minus < ``^`` < a call, a name
or a number.  The grammar (grammars/expr.lark) parses by the same levels; printers read
them from each operation's ``precedence``."""

_INF = math.inf
_NAN = math.nan


@dataclass(frozen=True, slots=True, eq=False)
class Op:
    """One operation: its name, forward function and partial derivatives."""

    name: str
    """Unique name; also the attribute that algebras expose."""
    forward: Callable[..., float]
    partials: tuple[Rule, ...]
    """One rule per argument: d(out)/d(arg_i)."""
    doc: str
    """The formula and its derivative, one line."""
    spellings: tuple[str, ...] = ()
    """Names by which the language calls this operation (``log`` and ``ln``)."""
    symbol: str | None = None
    """Operator symbol for infix (binary) or prefix (unary) printing."""
    precedence: int = ATOM
    """How tightly the operator binds (SUM ... ATOM); a call binds like an atom."""
    right_associative: bool = False
    """``a^b^c`` is ``a^(b^c)``; the other binary operators group to the left."""
    public: bool = True
    """False for helpers that derivative rules use but users do not call."""
    fast: Callable[..., float] | None = None
    """Compiled code's fast path: equal to ``forward`` wherever it does not raise
    (``math.log`` for ``log``); where it raises, compiled code reruns with ``forward``."""
    inline: str | None = None
    """A Python expression equal to ``forward`` wherever it does not raise (``"{0} + {1}"``),
    which compiled code writes inline instead of calling a function."""
    numpy: str | Callable[..., Any] | None = None
    """The same function on float64 arrays: a NumPy function's name (``"arcsin"``), or a
    function written with NumPy (``_relu_array``); None falls back to calling ``forward``
    per element."""
    tangent: Rule | None = None
    """Forward mode, ``tangent(m, args, tangents, out)``: the output's tangent.  None (the
    usual case) derives it from ``partials``; see :func:`jvp`."""
    expansion: Rule | None = None
    """For a helper (``public=False``), ``expansion(m, *args)``: the same function written with
    the operations the language has, which the symbolic algebra and printed formulas write in
    its place.  It may lose the digits that the helper's own forward function keeps."""
    kink: Callable[..., bool] | None = None
    """``kink(*args)``: True where the operation is not differentiable (a kink or a jump), so
    that its derivative there is a convention; None for smooth operations.  Written with
    comparisons only, so that on NumPy arrays it gives the answer at every point at once."""
    arity: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "arity", len(self.partials))

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


# ---------------------------------------------------------------- IEEE-safe forward functions
# Python's math module raises where IEEE 754 returns inf or nan; these return the IEEE result.


def _div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0.0 or a != a:
            return _NAN
        return math.copysign(_INF, a) * math.copysign(1.0, b)


def _is_odd_integer(y: float) -> bool:
    return math.isfinite(y) and y == math.floor(y) and math.fmod(y, 2.0) != 0.0


def _pow(x: float, y: float) -> float:
    if y == 2.0:
        return x * x  # the correctly rounded square (libm's pow is only within an ulp of it)
    try:
        return math.pow(x, y)
    except ValueError:  # 0 to a negative power, or a negative base to a fractional power
        if x == 0.0:
            return math.copysign(_INF, x) if _is_odd_integer(y) else _INF
        return _NAN
    except OverflowError:
        return -_INF if x < 0.0 and _is_odd_integer(y) else _INF


def _log(x: float) -> float:
    if x > 0.0:
        return math.log(x)
    return -_INF if x == 0.0 else _NAN


def _log2(x: float) -> float:
    if x > 0.0:
        return math.log2(x)
    return -_INF if x == 0.0 else _NAN


def _log10(x: float) -> float:
    if x > 0.0:
        return math.log10(x)
    return -_INF if x == 0.0 else _NAN


def _log_base(x: float, base: float) -> float:
    return _div(_log(x), _log(base))


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0.0 else _NAN


def _cbrt(x: float) -> float:
    cbrt: Callable[[float], float] | None = getattr(math, "cbrt", None)
    if cbrt is not None:
        return cbrt(x)
    return math.copysign(abs(x) ** (1.0 / 3.0), x)  # Python 3.10 has no math.cbrt


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return _INF


def _sinh(x: float) -> float:
    try:
        return math.sinh(x)
    except OverflowError:
        return math.copysign(_INF, x)


def _cosh(x: float) -> float:
    try:
        return math.cosh(x)
    except OverflowError:
        return _INF


def _domain(fn: Callable[[float], float]) -> Callable[[float], float]:
    """Wrap a math function so that a domain error gives nan, as in IEEE 754."""

    def safe(x: float) -> float:
        try:
            return fn(x)
        except ValueError:
            return _NAN

    safe.__name__ = fn.__name__
    return safe


def _atanh(x: float) -> float:
    if abs(x) == 1.0:
        return math.copysign(_INF, x)
    return _domain(math.atanh)(x)


def _sign(x: float) -> float:
    if x != x:
        return _NAN
    return 0.0 if x == 0.0 else math.copysign(1.0, x)


def _relu(x: float) -> float:
    return 0.0 if x <= 0.0 else x  # nan stays nan


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = _exp(x)
    return z / (1.0 + z)


def _softplus(x: float) -> float:
    # log(1 + e^x) without overflow: log1p(e^-|x|) + max(x, 0)
    if x != x:
        return _NAN
    return math.log1p(math.exp(-abs(x))) + (x if x > 0.0 else 0.0)


def _max(a: float, b: float) -> float:
    if a != a or b != b:
        return _NAN
    return a if a >= b else b


def _min(a: float, b: float) -> float:
    if a != a or b != b:
        return _NAN
    return a if a <= b else b


def _hypot(a: float, b: float) -> float:
    try:
        return math.hypot(a, b)
    except OverflowError:
        return _INF


def _zmul(a: float, b: float) -> float:
    product = a * b
    if product != product and (a == 0.0 or b == 0.0):  # 0 * inf or 0 * nan
        return 0.0
    return product


# ---------------------------------------------------------------- helpers of the derivative rules
# Derivatives that a textbook formula computes inexactly at the edges of the domain (1 - tanh^2
# once tanh rounds to 1, x/(x^2 + y^2) once x^2 overflows) get a helper operation of their own:
# a forward function that keeps the digits, with partials (the second derivatives) written so
# that they keep them too.  Each is private (``public=False``): only derivative rules call it.

_MIN_NORMAL = 2.0 ** -1022


def _ldexp(x: float, n: int) -> float:
    """x * 2^n, rounded once; inf where it overflows (math.ldexp raises there)."""
    try:
        return math.ldexp(x, n)
    except OverflowError:
        return math.copysign(_INF, x)


def _scale(a: float, b: float) -> tuple[float, float, int]:
    """a and b divided by the same power of two 2^k, so that the larger is in [0.5, 1): exact,
    except that a number 2^1074 times smaller than the other may round (it is negligible)."""
    k = math.frexp(max(abs(a), abs(b)))[1]
    return math.ldexp(a, -k), math.ldexp(b, -k), k


def _one_minus_square(x: float) -> float:
    # (1 - x)(1 + x) rather than 1 - x^2: near |x| = 1, 1 - x is exact and x^2 is not
    return (1.0 - x) * (1.0 + x)


def _sech2(x: float) -> float:
    s = 1.0 / _cosh(x)  # never 1 - tanh(x)^2, which is 0 from x = 19.1 on
    return s * s


def _sigmoid_slope(x: float) -> float:
    # sigmoid(x)*sigmoid(-x) = z/(1 + z)^2 with z = e^-|x| <= 1: never 1 - sigmoid(x)
    z = math.exp(-abs(x)) if x == x else _NAN
    return z / (1.0 + z) / (1.0 + z)


def _gauss(x: float) -> float:
    """exp(-x^2), with x^2 = p + err exactly (Dekker's product): exp(-p)*(1 - err).  exp(-x*x)
    has the relative error of x*x times x^2, 1e-13 at x = 26."""
    if not abs(x) < 40.0:  # exp(-x^2) is 0 from 27.3 on; inf and nan go here too
        return _exp(-(x * x))
    split = 134217729.0 * x  # 2^27 + 1: x = high + low, each half of x's bits
    high = split - (split - x)
    low = x - high
    p = x * x
    err = ((high * high - p) + 2.0 * high * low) + low * low
    return math.exp(-p) * (1.0 - err)


def _hypot_ratio(a: float, b: float) -> float:
    """a/hypot(a, b), scaled so that hypot neither overflows nor loses digits; 0 where a is 0,
    the origin included (abs's convention: hypot(a, 0) is |a|)."""
    if a != a or b != b:
        return _NAN
    if a == 0.0:
        return a
    if math.isinf(a):
        return _NAN if math.isinf(b) else math.copysign(1.0, a)
    if math.isinf(b):
        return math.copysign(0.0, a)
    hypot = _hypot(a, b)
    if _MIN_NORMAL <= hypot < _INF:  # neither overflowed nor rounded to a subnormal
        return a / hypot
    sa, sb, _ = _scale(a, b)
    return sa / math.hypot(sa, sb)


def _atan2_ratio(p: float, q: float) -> float:
    """p/(p^2 + q^2), scaled: no overflow of p^2 + q^2 at 1e200, no underflow at 1e-200."""
    if p != p or q != q:
        return _NAN
    if math.isinf(p) or math.isinf(q):
        return math.copysign(0.0, p)  # at most 1/|p| or 1/|q|: 0 in the limit
    if p == 0.0 and q == 0.0:
        return _NAN
    if 1e-150 < abs(p) + abs(q) < 1e150:  # p^2 + q^2 neither overflows nor underflows
        return p / (p * p + q * q)
    sp, sq, k = _scale(p, q)
    return _ldexp(sp / (sp * sp + sq * sq), -k)


def _atan2_cross(p: float, q: float) -> float:
    """(q^2 - p^2)/(p^2 + q^2)^2, scaled, with the difference as (q - p)(q + p): 0 where |p| = |q|."""
    if p != p or q != q:
        return _NAN
    if math.isinf(p) or math.isinf(q):
        return 0.0
    if p == 0.0 and q == 0.0:
        return _NAN
    if 1e-75 < abs(p) + abs(q) < 1e75:  # (p^2 + q^2)^2 neither overflows nor underflows
        square = p * p + q * q
        return ((q - p) * (q + p)) / (square * square)
    sp, sq, k = _scale(p, q)
    square = sp * sp + sq * sq
    return _ldexp(((sq - sp) * (sq + sp)) / (square * square), -2 * k)


def _log_recip_slope(b: float) -> float:
    """1/(b log(b)^2), the slope of 1/log(b) but for its sign: inf at b = 0 (and 1)."""
    if b != b or b < 0.0:
        return _NAN
    if b == 0.0:
        return _INF
    if math.isinf(b):
        return 0.0
    log = math.log(b)
    if log == 0.0:
        return _INF
    # the product where b is small, the quotient where it is large: no overflow either way
    return 1.0 / (b * (log * log)) if b < 1.0 else (1.0 / b) / (log * log)


def _log_base_dx(x: float, b: float) -> float:
    """1/(x log(b)) as (1/log(b))/x: no overflow of x log(b)."""
    return _div(_div(1.0, _log(b)), x + 0.0)


def _log_base_db(x: float, b: float) -> float:
    """-log(x)/(b log(b)^2) as -((log(x)/log(b))/log(b))/b, which overflows only where it does
    (not 1/(b log(b)^2) alone at b = 5e-324); 0 where log(x) is 0, infinite at b = 0."""
    log_x = _log(x)
    if b == 0.0 or b == 1.0 or log_x == 0.0 or not math.isfinite(log_x):
        return -_zmul(log_x, _log_recip_slope(b))
    log_b = _log(b)
    return -((log_x / log_b) / log_b) / b


def _log_base_dxb(x: float, b: float) -> float:
    """1/(x b log(b)^2), scaled: x b neither over- nor underflows."""
    log_b = _log(b)
    if not (math.isfinite(x) and x != 0.0 and math.isfinite(log_b) and log_b != 0.0 and b > 0.0):
        slope = _log_recip_slope(b)
        if math.isinf(x) and slope == slope:
            return math.copysign(0.0, x)
        return _div(slope, x + 0.0)
    mx, ex = math.frexp(x)
    mb, eb = math.frexp(b)
    return _ldexp(1.0 / (mx * mb * (log_b * log_b)), -(ex + eb))


def _exact_minus(y: Any, k: float) -> Any:
    """Whether y - k is a float: Knuth's two-sum says the rounding error of y - k is 0.
    Elementwise on NumPy arrays."""
    e = y - k
    back = e - y
    return (y - (e - back)) + (-k - back) == 0.0


def exact_minus_one(y: Any) -> Any:
    """Whether y - 1 is a float: not for |y| >= 2^53, tiny y, or the last bit of some y in (-2, -1)."""
    return _exact_minus(y, 1.0)


def _power_minus(x: float, y: float, k: float) -> float:
    """x^(y-k) for k = 1 or 2, without rounding y - k: 1e200 - 1 rounds to the even 1e200, which
    gets the sign of (-2)^(1e200 - 1) wrong, and 1e-17 - 1 to -1, which changes 1e-300^(y - 1)."""
    e = y - k
    if _exact_minus(y, k) or not math.isfinite(y):
        return _pow(x, e)  # the usual case
    if x == 0.0 or math.isinf(x):  # y - k is an integer only for an integer y, then even
        magnitude = _pow(abs(x), e)
        return math.copysign(magnitude, x) if k == 1.0 and y == math.floor(y) else magnitude
    power = _pow(x, y)
    return power / x if k == 1.0 else power / x / x


def _pow_dx(x: float, y: float) -> float:
    """y x^(y-1), 0 when y is 0."""
    e = y - 1.0
    back = e - y
    if (y - (e - back)) + (-1.0 - back) == 0.0:  # y - 1 is exact (exact_minus_one): the usual case
        return _zmul(y, _pow(x, e))
    if not math.isfinite(x) or not math.isfinite(y) or x == 0.0:
        return _zmul(y, _power_minus(x, y, 1.0))
    power = _pow(x, y)  # y x^y/x, the product first where 1/x may overflow and y x^y not
    return (y * power) / x if abs(x) < 1.0 else y * (power / x)


def _pow_dx_fast(x: float, y: float) -> float:
    """_pow_dx where y - 1 is exact, y is not 0 and math.pow does not raise: compiled code's
    fast path, with the same values."""
    e = y - 1.0
    back = e - y
    if (y - (e - back)) + (-1.0 - back) == 0.0 and y != 0.0:
        return y * (x * x if e == 2.0 else math.pow(x, e))  # as _pow computes the power
    return _pow_dx(x, y)


def _pow_dxx(x: float, y: float) -> float:
    """y(y-1) x^(y-2), 0 when y is 0 or 1."""
    c = y * (y - 1.0)
    if not math.isfinite(x) or not math.isfinite(y) or x == 0.0:
        return _zmul(c, _power_minus(x, y, 2.0))
    if _exact_minus(y, 2.0):
        power = _pow(x, y - 2.0)
        if _MIN_NORMAL <= abs(power) < _INF or not exact_minus_one(y):
            return _zmul(c, power)
    if exact_minus_one(y):  # y near 1, where a tiny c meets a huge x^(y-2): c x^(y-1)/x
        return _zmul(c, _pow(x, y - 1.0)) / x
    power = _pow(x, y)
    return (_zmul(c, power) / x) / x if abs(x) < 1.0 else _zmul(c, (power / x) / x)


def _pow_dy(x: float, y: float) -> float:
    """x^y*log(x): 0 where x^y is 0 (at x = 0, y > 0), nan for x < 0 (no x^y between integers y)."""
    if x < 0.0:
        return _NAN
    power, log = _pow(x, y), _log(x)
    if (power < _MIN_NORMAL or math.isinf(power)) and log != 0.0 and math.isfinite(log):
        # x^y over- or underflows where x^y*log(x) need not: x^(y/2)*log(x)*x^(y/2)
        half = _pow(x, 0.5 * y)
        return (half * log) * half
    return _zmul(power, log)


def _pow_dy_fast(x: float, y: float) -> float:
    """_pow_dy where math.pow and math.log do not raise (x > 0, no overflow): compiled code's
    fast path, with the same values."""
    power, log = x * x if y == 2.0 else math.pow(x, y), math.log(x)
    return power * log if power >= _MIN_NORMAL else _pow_dy(x, y)



def _pow_dyy(x: float, y: float) -> float:
    """x^y log(x)^2: 0 where x^y is 0, nan for x < 0."""
    if x < 0.0:
        return _NAN
    power, log = _pow(x, y), _log(x)
    if (power < _MIN_NORMAL or math.isinf(power)) and log != 0.0 and math.isfinite(log):
        half = _pow(x, 0.5 * y) * log
        return half * half
    return _zmul(_zmul(power, log), log)


def _pow_dxy(x: float, y: float) -> float:
    """x^(y-1)*(1 + y*log(x)), the mixed second derivative of x^y: nan for x < 0."""
    if x < 0.0:
        return _NAN
    return _zmul(_power_minus(x, y, 1.0), 1.0 + _zmul(y, _log(x)))


# The same functions on NumPy arrays (imported only when an array form is used), with the
# same values at nan, infinities and signed zeros; both branches of a choice are computed,
# and the caller silences NumPy's floating-point warnings.


def _relu_array(x: Any) -> Any:
    import numpy as np

    return np.where(x <= 0.0, 0.0, x)


def _sigmoid_array(x: Any) -> Any:
    import numpy as np

    z = np.exp(x)
    return np.where(x >= 0.0, 1.0 / (1.0 + np.exp(-x)), z / (1.0 + z))


def _softplus_array(x: Any) -> Any:
    import numpy as np

    return np.log1p(np.exp(-np.abs(x))) + np.where(x > 0.0, x, 0.0)


def _max_array(a: Any, b: Any) -> Any:
    import numpy as np

    # not np.maximum: max(-0.0, 0.0) is the first argument, as _max has it
    return np.where(np.isnan(a) | np.isnan(b), np.nan, np.where(a >= b, a, b))


def _min_array(a: Any, b: Any) -> Any:
    import numpy as np

    return np.where(np.isnan(a) | np.isnan(b), np.nan, np.where(a <= b, a, b))


def _zmul_array(a: Any, b: Any) -> Any:
    import numpy as np

    product = a * b
    return np.where(np.isnan(product) & ((a == 0.0) | (b == 0.0)), 0.0, product)


def _log_base_array(x: Any, base: Any) -> Any:
    import numpy as np

    return np.log(x) / np.log(base)


def _scale_array(a: Any, b: Any) -> tuple[Any, Any, Any]:
    import numpy as np

    k = np.frexp(np.maximum(np.abs(a), np.abs(b)))[1]
    return np.ldexp(a, -k), np.ldexp(b, -k), k


def _one_minus_square_array(x: Any) -> Any:
    return (1.0 - x) * (1.0 + x)


def _sech2_array(x: Any) -> Any:
    import numpy as np

    s = 1.0 / np.cosh(x)
    return s * s


def _sigmoid_slope_array(x: Any) -> Any:
    import numpy as np

    z = np.exp(-np.abs(x))
    return z / (1.0 + z) / (1.0 + z)


def _gauss_array(x: Any) -> Any:
    import numpy as np

    split = 134217729.0 * x
    high = split - (split - x)
    low = x - high
    p = x * x
    err = ((high * high - p) + 2.0 * high * low) + low * low
    return np.where(np.abs(x) < 40.0, np.exp(-p) * (1.0 - err), np.exp(-p))


def _hypot_ratio_array(a: Any, b: Any) -> Any:
    import numpy as np

    sa, sb, _ = _scale_array(a, b)
    hypot = np.hypot(a, b)
    ratio = np.where((hypot >= _MIN_NORMAL) & (hypot < np.inf), a / hypot, sa / np.hypot(sa, sb))
    ratio = np.where(np.isinf(a), np.where(np.isinf(b) | np.isnan(b), np.nan, np.copysign(1.0, a)), ratio)
    ratio = np.where(np.isinf(b) & np.isfinite(a), np.copysign(0.0, a), ratio)
    return np.where((a == 0.0) & ~np.isnan(b), a, ratio)


def _atan2_ratio_array(p: Any, q: Any) -> Any:
    import numpy as np

    sp, sq, k = _scale_array(p, q)
    size = np.abs(p) + np.abs(q)
    ratio = np.where((size > 1e-150) & (size < 1e150), p / (p * p + q * q),
                     np.ldexp(sp / (sp * sp + sq * sq), -k))
    infinite = (np.isinf(p) | np.isinf(q)) & ~np.isnan(p) & ~np.isnan(q)
    return np.where(infinite, np.copysign(0.0, p), ratio)


def _atan2_cross_array(p: Any, q: Any) -> Any:
    import numpy as np

    sp, sq, k = _scale_array(p, q)
    square, plain = sp * sp + sq * sq, p * p + q * q
    size = np.abs(p) + np.abs(q)
    cross = np.where((size > 1e-75) & (size < 1e75), ((q - p) * (q + p)) / (plain * plain),
                     np.ldexp(((sq - sp) * (sq + sp)) / (square * square), -2 * k))
    infinite = (np.isinf(p) | np.isinf(q)) & ~np.isnan(p) & ~np.isnan(q)
    return np.where(infinite, 0.0, cross)


def _log_recip_slope_array(b: Any) -> Any:
    import numpy as np

    log = np.log(b)
    slope = np.where(b < 1.0, 1.0 / (b * (log * log)), (1.0 / b) / (log * log))
    return np.where(b == 0.0, np.inf, np.where(log == 0.0, np.inf, slope))


def _log_base_dx_array(x: Any, b: Any) -> Any:
    import numpy as np

    return (1.0 / np.log(b)) / (x + 0.0)


def _log_base_db_array(x: Any, b: Any) -> Any:
    import numpy as np

    log_x, log_b = np.log(x), np.log(b)
    edge = (b == 0.0) | (b == 1.0) | (log_x == 0.0) | ~np.isfinite(log_x)
    return np.where(edge, -_zmul_array(log_x, _log_recip_slope_array(b)), -((log_x / log_b) / log_b) / b)


def _log_base_dxb_array(x: Any, b: Any) -> Any:
    import numpy as np

    log_b = np.log(b)
    slope = _log_recip_slope_array(b)
    edge = np.where(np.isinf(x) & ~np.isnan(slope), np.copysign(0.0, x), slope / (x + 0.0))
    mx, ex = np.frexp(x)
    mb, eb = np.frexp(b)
    scaled = np.ldexp(1.0 / (mx * mb * (log_b * log_b)), -(ex + eb))
    regular = np.isfinite(x) & (x != 0.0) & np.isfinite(log_b) & (log_b != 0.0) & (b > 0.0)
    return np.where(regular, scaled, edge)


def _pow_array(x: Any, y: Any) -> Any:
    """_pow on arrays: NumPy's power, but IEEE 754's (and math.pow's) values at x = -inf and -0
    for a y that is not an integer, |x|^y: NumPy makes (-inf)^0.5 nan and (-0)^0.5 -0."""
    import numpy as np

    if np.ndim(y) == 0 and (y == math.floor(y) or not math.isfinite(y)):
        return np.power(x, y)  # an integer (or infinite) exponent: NumPy agrees
    edge = (np.isneginf(x) | (x == 0.0)) & (y != np.floor(y))
    return np.where(edge, np.power(np.abs(x), y), np.power(x, y))


def _power_minus_array(x: Any, y: Any, k: float) -> Any:
    import numpy as np

    e = y - k
    exact = _exact_minus(y, k) | ~np.isfinite(y)
    magnitude = np.power(np.abs(x), e)
    odd = (k == 1.0) & (y == np.floor(y))
    edge = np.where(odd, np.copysign(magnitude, x), magnitude)
    power = _pow_array(x, y)
    inexact = power / x if k == 1.0 else power / x / x
    return np.where(exact, _pow_array(x, e), np.where((x == 0.0) | np.isinf(x), edge, inexact))


def _pow_dx_array(x: Any, y: Any) -> Any:
    import numpy as np

    exact = exact_minus_one(y) | ~np.isfinite(x) | ~np.isfinite(y) | (x == 0.0)
    power = _pow_array(x, y)
    inexact = np.where(np.abs(x) < 1.0, (y * power) / x, y * (power / x))
    return np.where(exact, _zmul_array(y, _power_minus_array(x, y, 1.0)), inexact)


def _pow_dxx_array(x: Any, y: Any) -> Any:
    import numpy as np

    c = y * (y - 1.0)
    edge = ~np.isfinite(x) | ~np.isfinite(y) | (x == 0.0)
    power2 = _pow_array(x, y - 2.0)
    normal = (np.abs(power2) >= _MIN_NORMAL) & (np.abs(power2) < np.inf)
    plain = _exact_minus(y, 2.0) & (normal | ~exact_minus_one(y))
    power = _pow_array(x, y)
    value = np.where(np.abs(x) < 1.0, (_zmul_array(c, power) / x) / x, _zmul_array(c, (power / x) / x))
    value = np.where(exact_minus_one(y), _zmul_array(c, _pow_array(x, y - 1.0)) / x, value)
    value = np.where(plain, _zmul_array(c, power2), value)
    return np.where(edge, _zmul_array(c, _power_minus_array(x, y, 2.0)), value)


def _pow_dy_array(x: Any, y: Any) -> Any:
    import numpy as np

    power, log = np.power(x, y), np.log(x)
    half = np.power(x, 0.5 * y)
    rescue = ((power < _MIN_NORMAL) | np.isinf(power)) & (log != 0.0) & np.isfinite(log)
    return np.where(x < 0.0, np.nan, np.where(rescue, (half * log) * half, _zmul_array(power, log)))


def _pow_dyy_array(x: Any, y: Any) -> Any:
    import numpy as np

    power, log = np.power(x, y), np.log(x)
    half = np.power(x, 0.5 * y) * log
    rescue = ((power < _MIN_NORMAL) | np.isinf(power)) & (log != 0.0) & np.isfinite(log)
    value = np.where(rescue, half * half, _zmul_array(_zmul_array(power, log), log))
    return np.where(x < 0.0, np.nan, value)


def _pow_dxy_array(x: Any, y: Any) -> Any:
    import numpy as np

    value = _zmul_array(_power_minus_array(x, y, 1.0), 1.0 + _zmul_array(y, np.log(x)))
    return np.where(x < 0.0, np.nan, value)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_LOG2_E = math.log2(math.e)  # 1/ln 2, correctly rounded
_LOG10_E = math.log10(math.e)  # 1/ln 10, correctly rounded (1/math.log(10) is not)

def _log_recip_curve(m: Any, b: Any, factor: Any = 1.0) -> Any:
    """factor*(log(b) + 2)/(b^2 log(b)^3), where the second is -d/db 1/(b log(b)^2): a product
    of factors that neither overflow nor underflow where it does not, 0 where factor is 0."""
    slope, log = m.log_recip_slope(b), m.log(b)
    return m.zmul(m.zmul(factor, m.zmul(slope, log)), m.zmul(slope, log + 2.0))


def _inverse_square(m: Any, p: Any, q: Any) -> Any:
    """1/(p^2 + q^2) as atan2_ratio(p, q)^2 + atan2_ratio(q, p)^2 (no overflow)."""
    a, b = m.atan2_ratio(p, q), m.atan2_ratio(q, p)
    return a * a + b * b


# ---------------------------------------------------------------- the registry

OPERATIONS: tuple[Op, ...] = (
    # arithmetic (the grammar's operators)
    Op("add", lambda a, b: a + b, (lambda m, a, b, out: 1.0, lambda m, a, b, out: 1.0),
       "a + b; d/da = 1, d/db = 1", symbol="+", precedence=SUM, inline="{0} + {1}"),
    Op("sub", lambda a, b: a - b, (lambda m, a, b, out: 1.0, lambda m, a, b, out: -1.0),
       "a - b; d/da = 1, d/db = -1", symbol="-", precedence=SUM, inline="{0} - {1}"),
    Op("mul", lambda a, b: a * b, (lambda m, a, b, out: b, lambda m, a, b, out: a),
       "a * b; d/da = b, d/db = a", symbol="*", precedence=PRODUCT, inline="{0} * {1}"),
    Op("div", _div, (lambda m, a, b, out: m.div(1.0, b), lambda m, a, b, out: -m.div(out, b)),
       "a / b; d/da = 1/b, d/db = -a/b^2", symbol="/", precedence=PRODUCT, inline="{0} / {1}"),
    Op("neg", lambda a: -a, (lambda m, a, out: -1.0,), "-a; d/da = -1", symbol="-", precedence=UNARY,
       inline="-{0}"),
    Op("pow", _pow, (lambda m, x, y, out: m.pow_dx(x, y), lambda m, x, y, out: m.pow_dy(x, y)),
       "x^y; d/dx = y*x^(y-1) (0 when y = 0), d/dy = x^y*log(x) (0 when x^y = 0)",
       spellings=("pow",), symbol="^", precedence=POWER, right_associative=True, numpy=_pow_array),
    # trigonometric
    Op("sin", _domain(math.sin), (lambda m, x, out: m.cos(x),), "sin(x); d/dx = cos(x)",
       spellings=("sin",), fast=math.sin, numpy="sin"),
    Op("cos", _domain(math.cos), (lambda m, x, out: -m.sin(x),), "cos(x); d/dx = -sin(x)",
       spellings=("cos",), fast=math.cos, numpy="cos"),
    Op("tan", _domain(math.tan), (lambda m, x, out: 1.0 + out * out,),
       "tan(x); d/dx = 1 + tan(x)^2", spellings=("tan",), fast=math.tan, numpy="tan"),
    Op("asin", _domain(math.asin), (lambda m, x, out: m.div(1.0, m.sqrt(m.one_minus_square(x))),),
       "asin(x); d/dx = 1/sqrt(1 - x^2)", spellings=("asin",), fast=math.asin, numpy="arcsin"),
    Op("acos", _domain(math.acos), (lambda m, x, out: -m.div(1.0, m.sqrt(m.one_minus_square(x))),),
       "acos(x); d/dx = -1/sqrt(1 - x^2)", spellings=("acos",), fast=math.acos, numpy="arccos"),
    Op("atan", math.atan, (lambda m, x, out: m.atan2_ratio(1.0, x),),
       "atan(x); d/dx = 1/(1 + x^2)", spellings=("atan",), numpy="arctan"),
    Op("atan2", math.atan2,
       (lambda m, y, x, out: m.atan2_ratio(x, y), lambda m, y, x, out: -m.atan2_ratio(y, x)),
       "atan2(y, x); d/dy = x/(x^2 + y^2), d/dx = -y/(x^2 + y^2)", spellings=("atan2",), numpy="arctan2"),
    # hyperbolic
    Op("sinh", _sinh, (lambda m, x, out: m.cosh(x),), "sinh(x); d/dx = cosh(x)",
       spellings=("sinh",), fast=math.sinh, numpy="sinh"),
    Op("cosh", _cosh, (lambda m, x, out: m.sinh(x),), "cosh(x); d/dx = sinh(x)",
       spellings=("cosh",), fast=math.cosh, numpy="cosh"),
    Op("tanh", math.tanh, (lambda m, x, out: m.sech2(x),), "tanh(x); d/dx = 1 - tanh(x)^2 = sech(x)^2",
       spellings=("tanh",), numpy="tanh"),
    Op("asinh", math.asinh, (lambda m, x, out: m.div(1.0, m.hypot(1.0, x)),),
       "asinh(x); d/dx = 1/sqrt(x^2 + 1) = 1/hypot(1, x)", spellings=("asinh",), numpy="arcsinh"),
    Op("acosh", _domain(math.acosh),
       (lambda m, x, out: m.div(m.div(1.0, m.sqrt(x - 1.0)), m.sqrt(x + 1.0)),),
       "acosh(x); d/dx = 1/sqrt(x^2 - 1)", spellings=("acosh",), fast=math.acosh, numpy="arccosh"),
    Op("atanh", _atanh, (lambda m, x, out: m.div(1.0, m.one_minus_square(x)),),
       "atanh(x); d/dx = 1/(1 - x^2)", spellings=("atanh",), fast=math.atanh, numpy="arctanh"),
    # exponentials and logarithms
    Op("exp", _exp, (lambda m, x, out: out,), "exp(x); d/dx = exp(x)", spellings=("exp",),
       fast=math.exp, numpy="exp"),
    Op("log", _log, (lambda m, x, out: m.div(1.0, x + 0.0),), "log(x), natural; d/dx = 1/x",
       spellings=("log", "ln"), fast=math.log, numpy="log"),
    Op("log2", _log2, (lambda m, x, out: m.div(_LOG2_E, x + 0.0),), "log2(x); d/dx = 1/(x*ln 2)",
       spellings=("log2",), fast=math.log2, numpy="log2"),
    Op("log10", _log10, (lambda m, x, out: m.div(_LOG10_E, x + 0.0),),
       "log10(x); d/dx = 1/(x*ln 10)", spellings=("log10",), fast=math.log10, numpy="log10"),
    Op("log_base", _log_base,
       (lambda m, x, b, out: m.log_base_dx(x, b), lambda m, x, b, out: m.log_base_db(x, b)),
       "log(x, b) = ln x/ln b; d/dx = 1/(x ln b), d/db = -log(x, b)/(b ln b)",
       spellings=("log",), numpy=_log_base_array),
    Op("sqrt", _sqrt, (lambda m, x, out: m.div(0.5, out + 0.0),), "sqrt(x); d/dx = 1/(2 sqrt(x))",
       spellings=("sqrt",), fast=math.sqrt, numpy="sqrt"),
    Op("cbrt", _cbrt, (lambda m, x, out: m.div(m.div(1.0, 3.0 * out), out),),
       "cbrt(x), real cube root; d/dx = 1/(3 cbrt(x)^2)", spellings=("cbrt",), numpy="cbrt"),
    Op("hypot", _hypot,
       (lambda m, a, b, out: m.hypot_ratio(a, b), lambda m, a, b, out: m.hypot_ratio(b, a)),
       "hypot(a, b) = sqrt(a^2 + b^2); d/da = a/hypot, d/db = b/hypot (0 at the origin, as abs)",
       spellings=("hypot",), fast=math.hypot, numpy="hypot", kink=lambda a, b: (a == 0.0) & (b == 0.0)),
    # piecewise: PyTorch's conventions at the kinks
    Op("abs", math.fabs, (lambda m, x, out: m.sign(x),), "|x|; d/dx = sign(x), 0 at 0",
       spellings=("abs",), numpy="abs", kink=lambda x: x == 0.0),
    Op("sign", _sign, (lambda m, x, out: 0.0,), "sign(x) in {-1, 0, 1}; d/dx = 0",
       spellings=("sign",), numpy="sign", kink=lambda x: x == 0.0),
    Op("relu", _relu, (lambda m, x, out: m.relu(m.sign(x)),),
       "max(x, 0); d/dx = 1 for x > 0, else 0 (0 at 0)", spellings=("relu",), numpy=_relu_array,
       kink=lambda x: x == 0.0),
    Op("max", _max,
       (lambda m, a, b, out: (1.0 + m.sign(a - b)) * 0.5,
        lambda m, a, b, out: (1.0 - m.sign(a - b)) * 0.5),
       "max(a, b); d/da = 1 where a > b, 1/2 where a = b, else 0", spellings=("max",),
       numpy=_max_array, kink=lambda a, b: a == b),
    Op("min", _min,
       (lambda m, a, b, out: (1.0 - m.sign(a - b)) * 0.5,
        lambda m, a, b, out: (1.0 + m.sign(a - b)) * 0.5),
       "min(a, b); d/da = 1 where a < b, 1/2 where a = b, else 0", spellings=("min",),
       numpy=_min_array, kink=lambda a, b: a == b),
    # smooth activations and special functions
    Op("sigmoid", _sigmoid, (lambda m, x, out: m.sigmoid_slope(x),),
       "1/(1 + e^-x); d/dx = sigmoid(x)(1 - sigmoid(x))", spellings=("sigmoid",), numpy=_sigmoid_array),
    Op("softplus", _softplus, (lambda m, x, out: m.sigmoid(x),),
       "log(1 + e^x); d/dx = sigmoid(x)", spellings=("softplus",), numpy=_softplus_array),
    # erf: NumPy has none (SciPy does), so arrays call math.erf per element
    Op("erf", math.erf, (lambda m, x, out: _TWO_OVER_SQRT_PI * m.gauss(x),),
       "erf(x); d/dx = 2/sqrt(pi) e^(-x^2)", spellings=("erf",)),
    # helper for derivative rules: a product whose zero factor wins over inf and nan
    Op("zmul", _zmul, (lambda m, a, b, out: b, lambda m, a, b, out: a),
       "a*b, but 0 when a factor is 0 (0*x^-1 at x = 0 and inf*0.5^inf are 0); d/da = b, d/db = a",
       symbol="*", precedence=PRODUCT, public=False, numpy=_zmul_array),
    # helpers of the derivative rules, with forward functions that keep the digits at the edges
    # (see the section above): each one's partials are its own derivatives, which Hessians use
    Op("one_minus_square", _one_minus_square, (lambda m, x, out: -2.0 * x,),
       "(1 - x)(1 + x) = 1 - x^2, exact near |x| = 1; d/dx = -2x", public=False,
       numpy=_one_minus_square_array, expansion=lambda m, x: 1.0 - x * x),
    Op("sech2", _sech2, (lambda m, x, out: -2.0 * out * m.tanh(x),),
       "sech(x)^2 = 1 - tanh(x)^2; d/dx = -2 sech(x)^2 tanh(x)", public=False, numpy=_sech2_array,
       expansion=lambda m, x: 1.0 - m.tanh(x) * m.tanh(x)),
    Op("sigmoid_slope", _sigmoid_slope, (lambda m, x, out: -out * m.tanh(0.5 * x),),
       "sigmoid(x) sigmoid(-x) = sigmoid(x)(1 - sigmoid(x)); d/dx = -sigmoid_slope(x) tanh(x/2)",
       public=False, numpy=_sigmoid_slope_array,
       expansion=lambda m, x: m.sigmoid(x) * (1.0 - m.sigmoid(x))),
    Op("gauss", _gauss, (lambda m, x, out: -2.0 * m.zmul(x, out),),
       "exp(-x^2) with x^2 exact; d/dx = -2x exp(-x^2) (0 at infinity)", public=False,
       numpy=_gauss_array, expansion=lambda m, x: m.exp(-(x * x))),
    Op("hypot_ratio", _hypot_ratio,
       (lambda m, a, b, out: m.zmul(m.hypot_ratio(b, a), m.atan2_ratio(b, a)),
        lambda m, a, b, out: -m.zmul(out, m.atan2_ratio(b, a))),
       "a/hypot(a, b), 0 where a = 0; d/da = b^2/hypot^3, d/db = -ab/hypot^3 (0 at the origin)",
       public=False, numpy=_hypot_ratio_array, expansion=lambda m, a, b: m.div(a, m.hypot(a, b))),
    Op("atan2_ratio", _atan2_ratio,
       (lambda m, p, q, out: m.atan2_cross(p, q),
        lambda m, p, q, out: -2.0 * m.zmul(out, m.atan2_ratio(q, p))),
       "p/(p^2 + q^2), scaled; d/dp = (q^2 - p^2)/(p^2 + q^2)^2, d/dq = -2pq/(p^2 + q^2)^2",
       public=False, numpy=_atan2_ratio_array, expansion=lambda m, p, q: m.div(p, p * p + q * q)),
    Op("atan2_cross", _atan2_cross,
       (lambda m, p, q, out: -2.0 * m.atan2_ratio(p, q) * _inverse_square(m, p, q)
        - 4.0 * m.atan2_ratio(p, q) * out,
        lambda m, p, q, out: 2.0 * m.atan2_ratio(q, p) * _inverse_square(m, p, q)
        - 4.0 * m.atan2_ratio(q, p) * out),
       "(q^2 - p^2)/(p^2 + q^2)^2, scaled, 0 where |p| = |q|; "
       "d/dp = -2p/r^4 - 4p(q^2 - p^2)/r^6, d/dq = 2q/r^4 - 4q(q^2 - p^2)/r^6 (r^2 = p^2 + q^2)",
       public=False, numpy=_atan2_cross_array,
       expansion=lambda m, p, q: m.div(q * q - p * p, (p * p + q * q) * (p * p + q * q))),
    Op("log_recip_slope", _log_recip_slope, (lambda m, b, out: -_log_recip_curve(m, b),),
       "1/(b log(b)^2), inf at b = 0; d/db = -(log(b) + 2)/(b^2 log(b)^3)", public=False,
       numpy=_log_recip_slope_array, expansion=lambda m, b: m.div(1.0, b * m.log(b) * m.log(b))),
    Op("log_base_dx", _log_base_dx,
       (lambda m, x, b, out: -m.div(out, x + 0.0), lambda m, x, b, out: -m.log_base_dxb(x, b)),
       "1/(x log(b)); d/dx = -1/(x^2 log(b)), d/db = -1/(x b log(b)^2)", public=False,
       numpy=_log_base_dx_array, expansion=lambda m, x, b: m.div(1.0, x * m.log(b))),
    Op("log_base_db", _log_base_db,
       (lambda m, x, b, out: -m.log_base_dxb(x, b), lambda m, x, b, out: _log_recip_curve(m, b, m.log(x))),
       "-log(x)/(b log(b)^2), 0 where log(x) = 0; d/dx = -1/(x b log(b)^2), "
       "d/db = log(x)(log(b) + 2)/(b^2 log(b)^3)", public=False, numpy=_log_base_db_array,
       expansion=lambda m, x, b: -m.div(m.log_base(x, b), b * m.log(b))),
    Op("log_base_dxb", _log_base_dxb,
       (lambda m, x, b, out: -m.div(out, x + 0.0),
        lambda m, x, b, out: -m.div(out, b) * (1.0 + m.div(2.0, m.log(b)))),
       "1/(x b log(b)^2), scaled; d/dx = -1/(x^2 b log(b)^2), d/db = -(1 + 2/log(b))/(x b^2 log(b)^2)",
       public=False, numpy=_log_base_dxb_array,
       expansion=lambda m, x, b: m.div(1.0, x * b * m.log(b) * m.log(b))),
    Op("pow_dx", _pow_dx, (lambda m, x, y, out: m.pow_dxx(x, y), lambda m, x, y, out: m.pow_dxy(x, y)),
       "y x^(y-1), 0 when y = 0, without rounding y - 1; d/dx = y(y-1)x^(y-2), "
       "d/dy = x^(y-1)(1 + y log(x))", public=False, fast=_pow_dx_fast, numpy=_pow_dx_array,
       expansion=lambda m, x, y: m.zmul(y, m.pow(x, y - 1.0))),
    Op("pow_dxx", _pow_dxx,
       (lambda m, x, y, out: m.zmul(y * (y - 1.0), m.pow_dx(x, y - 2.0)),
        lambda m, x, y, out: m.zmul(m.pow(x, y - 2.0), 2.0 * y - 1.0 + m.zmul(y * (y - 1.0), m.log(x)))),
       "y(y-1) x^(y-2), 0 when y = 0 or 1, without rounding y - 2; d/dx = y(y-1)(y-2)x^(y-3), "
       "d/dy = x^(y-2)(2y - 1 + y(y-1) log(x))", public=False, numpy=_pow_dxx_array,
       expansion=lambda m, x, y: m.zmul(y * (y - 1.0), m.pow(x, y - 2.0))),
    Op("pow_dy", _pow_dy, (lambda m, x, y, out: m.pow_dxy(x, y), lambda m, x, y, out: m.pow_dyy(x, y)),
       "x^y log(x), 0 where x^y = 0, nan for x < 0; d/dx = x^(y-1)(1 + y log(x)), "
       "d/dy = x^y log(x)^2", public=False, fast=_pow_dy_fast, numpy=_pow_dy_array,
       expansion=lambda m, x, y: m.zmul(m.pow(x, y), m.log(x))),
    Op("pow_dyy", _pow_dyy,
       (lambda m, x, y, out: m.zmul(m.pow_dy(x, y - 1.0), 2.0 + m.zmul(y, m.log(x))),
        lambda m, x, y, out: m.zmul(out, m.log(x))),
       "x^y log(x)^2, 0 where x^y = 0, nan for x < 0; d/dx = x^(y-1) log(x)(2 + y log(x)), "
       "d/dy = x^y log(x)^3", public=False, numpy=_pow_dyy_array,
       expansion=lambda m, x, y: m.zmul(m.zmul(m.pow(x, y), m.log(x)), m.log(x))),
    Op("pow_dxy", _pow_dxy,
       (lambda m, x, y, out: m.zmul(m.pow_dx(x, y - 1.0), 1.0 + m.zmul(y, m.log(x)))
        + m.zmul(y, m.pow(x, y - 2.0)),
        lambda m, x, y, out: m.zmul(m.pow_dy(x, y - 1.0), 2.0 + m.zmul(y, m.log(x)))),
       "x^(y-1)(1 + y log(x)), the mixed second derivative of x^y, nan for x < 0; "
       "d/dx = (y-1)x^(y-2)(1 + y log(x)) + y x^(y-2), d/dy = x^(y-1) log(x)(2 + y log(x))",
       public=False, numpy=_pow_dxy_array,
       expansion=lambda m, x, y: m.zmul(m.pow(x, y - 1.0), 1.0 + m.zmul(y, m.log(x)))),
)

OPS: dict[str, Op] = {op.name: op for op in OPERATIONS}
"""Operations by name."""

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}
"""Named constants of the language."""


def _spelling_table() -> dict[str, dict[int, Op]]:
    table: dict[str, dict[int, Op]] = {}
    for op in OPERATIONS:
        for spelling in op.spellings:
            table.setdefault(spelling, {})[op.arity] = op
    return table


FUNCTIONS: dict[str, dict[int, Op]] = _spelling_table()
"""What the language can call: a name, then its operation for each number of arguments."""

RESERVED: frozenset[str] = frozenset(FUNCTIONS) | frozenset(CONSTANTS)
"""Names a program may not assign or use as a variable."""


def algebra(apply: Callable[[Op], Callable[..., Any]]) -> SimpleNamespace:
    """An algebra for derivative rules: one attribute per operation, made by ``apply``."""
    return SimpleNamespace(**{op.name: apply(op) for op in OPERATIONS})


FLOAT = algebra(lambda op: op.forward)
"""The float algebra: derivative rules evaluated to numbers."""


ValueT = TypeVar("ValueT", bound="Arithmetic")


def _binary(op: Op, reflected: bool = False) -> Callable[[ValueT, Any], ValueT]:
    """Python's operator method for ``op``: ``self op other``, or ``other op self`` when
    ``reflected`` (``__radd__``)."""
    def method(self: ValueT, other: Any) -> ValueT:
        return self._apply(op, other, self) if reflected else self._apply(op, self, other)
    return method


def _unary(op: Op) -> Callable[[ValueT], ValueT]:
    """Python's operator method for the unary ``op``."""
    def method(self: ValueT) -> ValueT:
        return self._apply(op, self)
    return method


class Arithmetic:
    """Python's arithmetic operators for the values of an algebra (Scalars, duals, terms of a
    tape, symbolic expressions): each operator applies the registry's operation through the
    one method a value class defines, ``_apply(op, *args)``; plain numbers mixed in are the
    other arguments.  The derivative rules use ``+``, ``-`` and ``*`` directly, so every
    algebra needs them; ``/`` and ``**`` come along."""

    __slots__ = ()

    def _apply(self: ValueT, op: Op, *args: Any) -> ValueT:
        raise NotImplementedError

    __add__, __radd__ = _binary(OPS["add"]), _binary(OPS["add"], reflected=True)
    __sub__, __rsub__ = _binary(OPS["sub"]), _binary(OPS["sub"], reflected=True)
    __mul__, __rmul__ = _binary(OPS["mul"]), _binary(OPS["mul"], reflected=True)
    __truediv__, __rtruediv__ = _binary(OPS["div"]), _binary(OPS["div"], reflected=True)
    __pow__, __rpow__ = _binary(OPS["pow"]), _binary(OPS["pow"], reflected=True)
    __neg__ = _unary(OPS["neg"])


def array_form(op: Op) -> Callable[..., Any]:
    """``op`` on NumPy float64 arrays: its ``numpy`` entry, else ``forward`` per element."""
    import numpy as np

    if isinstance(op.numpy, str):
        fn: Callable[..., Any] = getattr(np, op.numpy)
        return fn
    if op.numpy is not None:
        return op.numpy
    return np.vectorize(op.forward, otypes=[float])


@functools.lru_cache(maxsize=1)
def array_algebra() -> SimpleNamespace:
    """The array algebra: derivative rules evaluated on NumPy arrays, at many points at once."""
    return algebra(array_form)


def _is_zero(tangent: Any) -> bool:
    return isinstance(tangent, (int, float)) and tangent == 0.0


def jvp(op: Op, m: Any, args: Sequence[Any], tangents: Sequence[Any], out: Any) -> Any:
    """The tangent of ``op``'s output, given its arguments' tangents (forward mode).

    The entry's own ``tangent`` rule if it has one; otherwise the sum of
    ``partial_i * tangent_i`` from its partial rules, so the calculus stays in one
    place.  Arguments whose tangent is zero are skipped, rule and all, just as
    reverse mode skips constants: the ``log(x)`` term of ``x^2`` never appears.
    """
    if op.tangent is not None:
        return op.tangent(m, args, tangents, out)
    total: Any = None
    for rule, tangent in zip(op.partials, tangents):
        if not _is_zero(tangent):
            term = rule(m, *args, out) * tangent
            total = term if total is None else total + term
    return 0.0 if total is None else total


def public_operations() -> Iterator[Op]:
    """The operations a user can reach through the language."""
    return (op for op in OPERATIONS if op.public)
