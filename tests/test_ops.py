"""The registry: every operation's derivatives against central differences, driven by ops.OPERATIONS.

A new operation in the registry is picked up here without a new test; it needs
one line in strategies.DOMAINS (where it is smooth), which
``test_domain_table_covers_the_registry`` demands.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from types import SimpleNamespace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autodiff_cli import ops
from autodiff_cli.engine.graph import build_graph
from autodiff_cli.engine.scalar import SCALAR, Scalar
from autodiff_cli.expr import Apply
from autodiff_cli.language import builder, inline, parser
from autodiff_cli.ops import FLOAT, FUNCTIONS, OPERATIONS, OPS, Op, public_operations

from .strategies import DOMAINS

PUBLIC = [op for op in OPERATIONS if op.public]
EXAMPLES = settings(max_examples=60, deadline=None)


def central_difference(f: Callable[..., float], args: Sequence[float], i: int) -> tuple[float, float, bool]:
    """d f / d args[i] by central differences, an error bound for it, and whether f looks smooth there.

    Near a kink (max of almost equal arguments, relu near 0) the one-sided differences
    disagree; the caller skips such points instead of testing a convention against a slope.
    """

    def at(step: float) -> float:
        moved = list(args)
        moved[i] += step
        return f(*moved)

    h = 1e-5 * max(1.0, abs(args[i]))
    here = f(*args)
    estimate = (at(h) - at(-h)) / (2 * h)
    coarse = (at(2 * h) - at(-2 * h)) / (4 * h)
    forward, backward = (at(h) - here) / h, (here - at(-h)) / h
    scale = max(abs(here), abs(estimate), 1.0)
    smooth = (math.isfinite(estimate) and math.isfinite(coarse)
              and abs(forward - backward) <= 1e-2 * max(1.0, abs(estimate)))
    # Truncation error is O(h^2): the gap between the two step sizes estimates it.
    # Rounding error is about eps*|f|/h.
    bound = 4 * abs(estimate - coarse) + 1e-9 * scale / h + 1e-7 * scale
    return estimate, bound, smooth


# ---------------------------------------------------------------- the tables agree


def test_domain_table_covers_the_registry() -> None:
    assert set(DOMAINS) == {op.name for op in public_operations()}
    for op in public_operations():
        assert len(DOMAINS[op.name]) == op.arity, op.name


def test_names_are_unique_and_every_op_has_a_rule_per_argument_and_a_doc() -> None:
    names = [op.name for op in OPERATIONS]
    assert len(names) == len(set(names))
    assert OPS == {op.name: op for op in OPERATIONS}
    for op in OPERATIONS:
        assert op.arity == len(op.partials) >= 1
        assert op.doc and "d/d" in op.doc, op.name


def test_the_function_table_is_read_from_the_registry() -> None:
    expected: dict[str, dict[int, Op]] = {}
    for op in OPERATIONS:
        for spelling in op.spellings:
            assert op.arity not in expected.get(spelling, {}), f"{spelling}/{op.arity} twice"
            expected.setdefault(spelling, {})[op.arity] = op
    assert expected == FUNCTIONS
    assert builder.FUNCTIONS is FUNCTIONS and builder.OPS is OPS and inline.OPS is OPS


def test_the_issue_s_functions_are_all_spelled() -> None:
    unary = ("sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh exp log ln log2 log10 "
             "sqrt cbrt abs sign relu sigmoid softplus erf").split()
    binary = "max min pow atan2 hypot log".split()
    for name in unary:
        assert 1 in FUNCTIONS[name], name
    for name in binary:
        assert 2 in FUNCTIONS[name], name
    assert FUNCTIONS["ln"][1] is FUNCTIONS["log"][1] is OPS["log"]
    assert FUNCTIONS["log"][2] is OPS["log_base"]


def test_helpers_expand_to_the_language_s_operations_with_the_same_values() -> None:
    """A helper of the rules (but zmul, which the symbolic algebra keeps) says how the language
    writes it: symbolic derivatives and printed formulas use that expansion, which must be the
    same function (it may round differently)."""
    for op in OPERATIONS:
        if op.public or op.name == "zmul":
            assert op.expansion is None, op.name
            continue
        assert op.expansion is not None, op.name
        for args in itertools.product((0.3, 0.7, 1.7, 2.5), repeat=op.arity):
            want, got = op.forward(*args), float(op.expansion(FLOAT, *args))
            assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-300), (op.name, args, got, want)


def test_every_algebra_and_the_scalar_class_have_every_operation() -> None:
    for op in OPERATIONS:
        assert getattr(FLOAT, op.name) is op.forward
        assert callable(getattr(SCALAR, op.name))
        assert callable(getattr(Scalar, op.name))


def test_a_new_registry_entry_is_usable_from_the_language_without_other_changes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The parser's function table and the evaluator read the registry: nothing names an op."""
    cube = Op("cube", lambda x: x * x * x, (lambda m, x, out: 3.0 * x * x,), "x^3; d/dx = 3x^2",
              spellings=("cube",))
    monkeypatch.setitem(ops.OPS, "cube", cube)
    monkeypatch.setitem(ops.FUNCTIONS, "cube", {1: cube})
    program = parser.parse("cube(x) + x")
    assert isinstance(program.result, Apply) and program.result.args[0].op is cube  # type: ignore[union-attr]
    graph = build_graph(program, {"x": 2.0})
    graph.output.backward()
    assert graph.output.data == 10.0
    assert graph.leaves["x"].grad == 13.0


# ---------------------------------------------------------------- values and derivatives


def _draw_args(data: st.DataObject, op: Op) -> list[float]:
    return [data.draw(domain.points, label=f"{op.name} arg {i}") for i, domain in enumerate(DOMAINS[op.name])]


@pytest.mark.parametrize("op", PUBLIC, ids=lambda op: op.name)
@EXAMPLES
@given(data=st.data())
def test_derivative_matches_central_differences(op: Op, data: st.DataObject) -> None:
    args = _draw_args(data, op)
    inputs = [Scalar(a) for a in args]
    out = Scalar.apply(op, *inputs)
    assert out.data == op.forward(*args)
    assert out.op is op and out.inputs == tuple(inputs)
    out.backward()
    for i, x in enumerate(inputs):
        estimate, bound, smooth = central_difference(op.forward, args, i)
        assume(smooth)  # not on a kink
        assert x.grad is not None
        assert abs(x.grad - estimate) <= bound, (op.name, args, i, x.grad, estimate, bound)


@pytest.mark.parametrize("op", PUBLIC, ids=lambda op: op.name)
@EXAMPLES
@given(data=st.data())
def test_rules_give_the_same_numbers_in_the_scalar_algebra(op: Op, data: st.DataObject) -> None:
    """A rule evaluated to graph nodes computes the same float as in the float algebra."""
    args = _draw_args(data, op)
    inputs = [Scalar(a) for a in args]
    out = Scalar.apply(op, *inputs)
    for i, rule in enumerate(op.partials):
        as_float = rule(FLOAT, *args, out.data)
        as_node = rule(SCALAR, *inputs, out)
        value = as_node.data if isinstance(as_node, Scalar) else float(as_node)
        assert value == as_float or (math.isnan(value) and math.isnan(as_float)), (op.name, i)


@pytest.mark.parametrize("op", PUBLIC, ids=lambda op: op.name)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_second_derivatives_through_the_scalar_algebra(op: Op, data: st.DataObject) -> None:
    """Rules built as Scalar graphs differentiate again: d/dx_j of each partial matches differences."""
    args = _draw_args(data, op)
    for i, rule in enumerate(op.partials):

        def partial(*xs: float, rule: Callable[..., float] = rule) -> float:
            return float(rule(FLOAT, *xs, op.forward(*xs)))

        inputs = [Scalar(a) for a in args]
        node = rule(SCALAR, *inputs, Scalar.apply(op, *inputs))
        if not isinstance(node, Scalar) or not node.requires_grad:
            for j in range(len(args)):  # a constant partial: its own derivative is 0
                estimate, bound, smooth = central_difference(partial, args, j)
                assume(smooth)
                assert abs(estimate) <= bound + 1e-6, (op.name, i, j)
            continue
        node.backward()
        for j, x in enumerate(inputs):
            estimate, bound, smooth = central_difference(partial, args, j)
            assume(smooth)
            assert abs((x.grad or 0.0) - estimate) <= bound, (op.name, i, j, x.grad, estimate)


# ---------------------------------------------------------------- IEEE behaviour and kinks


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_forward_and_rules_never_raise_on_any_float(op: Op, data: st.DataObject) -> None:
    """IEEE semantics: nan and inf come out as values, never as Python exceptions."""
    args = [data.draw(st.floats(allow_nan=True, allow_infinity=True)) for _ in range(op.arity)]
    out = op.forward(*args)
    assert isinstance(out, float)
    for rule in op.partials:
        assert isinstance(float(rule(FLOAT, *args, out)), float)


@pytest.mark.parametrize(("name", "x", "value"), [
    ("log", 0.0, -math.inf), ("log", -1.0, math.nan), ("log2", 0.0, -math.inf),
    ("log10", -2.0, math.nan), ("sqrt", -1.0, math.nan), ("exp", 1000.0, math.inf),
    ("sinh", -1000.0, -math.inf), ("cosh", 1000.0, math.inf), ("atanh", 1.0, math.inf),
    ("atanh", -1.0, -math.inf), ("asin", 2.0, math.nan), ("acosh", 0.5, math.nan),
    ("sin", math.inf, math.nan), ("tan", math.inf, math.nan), ("sigmoid", -1000.0, 0.0),
    ("sigmoid", 1000.0, 1.0), ("softplus", 1000.0, 1000.0), ("softplus", -1000.0, 0.0),
    ("sign", -0.0, 0.0), ("sign", -3.0, -1.0), ("relu", -2.0, 0.0), ("cbrt", -8.0, -2.0),
    ("abs", -0.0, 0.0),
])
def test_unary_ieee_results(name: str, x: float, value: float) -> None:
    out = OPS[name].forward(x)
    assert out == value or (math.isnan(value) and math.isnan(out)), (name, x, out)


@pytest.mark.parametrize(("name", "a", "b", "value"), [
    ("div", 1.0, 0.0, math.inf), ("div", -1.0, 0.0, -math.inf), ("div", 1.0, -0.0, -math.inf),
    ("div", 0.0, 0.0, math.nan), ("pow", 0.0, -1.0, math.inf), ("pow", -0.0, -1.0, -math.inf),
    ("pow", 10.0, 400.0, math.inf), ("pow", -10.0, 401.0, -math.inf), ("pow", -8.0, 1 / 3, math.nan),
    ("pow", 2.0, 3.0, 8.0), ("hypot", 1.5e308, 1.5e308, math.inf), ("log_base", 8.0, 2.0, 3.0),
    ("log_base", 8.0, 1.0, math.inf), ("max", math.nan, 1.0, math.nan), ("min", 1.0, math.nan, math.nan),
    ("atan2", 1.0, 0.0, math.pi / 2),
])
def test_binary_ieee_results(name: str, a: float, b: float, value: float) -> None:
    out = OPS[name].forward(a, b)
    assert out == value or (math.isnan(value) and math.isnan(out)), (name, a, b, out)


def _partials(name: str, *args: float) -> list[float]:
    xs = [Scalar(a) for a in args]
    Scalar.apply(OPS[name], *xs).backward()
    return [x.grad for x in xs]  # type: ignore[misc]


def test_kinks_follow_pytorch() -> None:
    assert _partials("abs", 0.0) == [0.0]
    assert _partials("abs", -0.0) == [0.0]
    assert _partials("abs", -2.0) == [-1.0]
    assert _partials("relu", 0.0) == [0.0]
    assert _partials("relu", 1e-300) == [1.0]
    assert _partials("relu", -1e-300) == [0.0]
    assert _partials("max", 1.5, 1.5) == [0.5, 0.5]
    assert _partials("min", -2.0, -2.0) == [0.5, 0.5]
    assert _partials("max", 2.0, 1.0) == [1.0, 0.0]
    assert _partials("min", 2.0, 1.0) == [0.0, 1.0]
    for x in (-3.0, -0.0, 0.0, 0.5, 7.0):
        assert _partials("sign", x) == [0.0]


@settings(max_examples=300, deadline=None)
@given(x=st.floats(allow_nan=False), c=st.floats(allow_nan=False))
def test_power_rule_is_never_nan_where_the_power_is_finite(x: float, c: float) -> None:
    """d/dx x^c = c x^(c-1) for a constant c: finite power, no NaN (0^2 -> 0, (-2)^2 -> -4)."""
    base = Scalar(x)
    out = base ** c
    assume(math.isfinite(out.data))
    out.backward()
    assert base.grad is not None and not math.isnan(base.grad), (x, c, base.grad)


def test_power_rule_exact_values() -> None:
    assert _pow_grad(-2.0, 2.0) == -4.0
    assert _pow_grad(0.0, 2.0) == 0.0
    assert _pow_grad(0.0, 0.0) == 0.0
    assert _pow_grad(0.0, 1.0) == 1.0
    assert _pow_grad(-2.0, 3.0) == 12.0
    assert _pow_grad(4.0, 0.5) == 0.25
    assert _pow_grad(0.0, 0.5) == math.inf


def _pow_grad(x: float, c: float) -> float:
    base = Scalar(x)
    (base ** Scalar(c, requires_grad=False)).backward()
    assert base.grad is not None
    return base.grad


def test_the_log_term_appears_only_for_an_exponent_that_depends_on_a_variable() -> None:
    x, c = Scalar(-2.0), Scalar(2.0, requires_grad=False)
    calls: list[float] = []

    def logged(v: float) -> float:
        calls.append(v)
        return float(FLOAT.log(v))

    spy = SimpleNamespace(**{name: getattr(FLOAT, name) for name in OPS})
    spy.log = logged
    pow_op = OPS["pow"]
    assert pow_op.partials[0](spy, -2.0, 2.0, 4.0) == -4.0
    assert calls == []  # the base's rule never takes a log
    (x ** c).backward()
    assert x.grad == -4.0 and c.grad is None
    # An exponent that is a variable does get the log term: d/dy 2^y = 2^y ln 2.
    y = Scalar(3.0)
    (2.0 ** y).backward()
    assert y.grad == 8.0 * math.log(2.0)
    # and at a negative base that term is nan (log(-2)), while the base's partial is fine.
    x, y = Scalar(-2.0), Scalar(2.0)
    (x ** y).backward()
    assert x.grad == -4.0 and y.grad is not None and math.isnan(y.grad)


# ---------------------------------------------------------------- compiled code's fast functions


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.fast is not None], ids=lambda op: op.name)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_fast_function_gives_forward_s_bits_wherever_it_does_not_raise(op: Op, data: st.DataObject) -> None:
    """Compiled code calls ``fast`` and reruns with ``forward`` only where it raises."""
    special = st.sampled_from((*_SPECIAL, 2.0, -2.0, 3.0, 0.5 + 2.0**-53, 2.0**53 + 2.0, 1e-17))
    args = [data.draw(special | st.floats()) for _ in range(op.arity)]
    assert op.fast is not None
    try:
        fast = op.fast(*args)
    except (ArithmeticError, ValueError):
        return
    want = op.forward(*args)
    assert (fast == want and math.copysign(1.0, fast) == math.copysign(1.0, want)) \
        or (math.isnan(fast) and math.isnan(want)), (op.name, args, fast, want)


# ---------------------------------------------------------------- array forms

_SPECIAL = (-math.inf, -1e300, -3.5, -1.0, -0.5, -1e-300, -0.0, 0.0, 1e-300, 0.5, 1.0, 2.0, 3.5,
            1e300, math.inf, math.nan)


def _same_float(got: float, want: float) -> bool:
    """Equal with the same sign of zero, both nan, or within a few ulps (NumPy's
    transcendental functions may round differently from libm's)."""
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    if want == 0.0 or math.isinf(want):
        return got == want and math.copysign(1.0, got) == math.copysign(1.0, want)
    return abs(got - want) <= 4 * math.ulp(want)


@pytest.mark.parametrize("op", list(OPS.values()), ids=lambda op: op.name)
def test_array_form_agrees_with_forward_everywhere(op: Op) -> None:
    """What the NumPy path computes for an operation, element by element, is what its
    forward function computes: at nan, the infinities and signed zeros too."""
    np = pytest.importorskip("numpy")
    from autodiff_cli.ops import array_form

    rows = list(itertools.product(_SPECIAL, repeat=op.arity))
    columns = [np.array([row[i] for row in rows]) for i in range(op.arity)]
    with np.errstate(all="ignore"):
        got = np.broadcast_to(array_form(op)(*columns), (len(rows),)).tolist()
    bad = [(row, g, op.forward(*row)) for row, g in zip(rows, got)
           if not _same_float(g, op.forward(*row))]
    assert not bad, bad[:5]
