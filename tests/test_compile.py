"""The compiled form: bit-identical to the Scalar graph, shared subexpressions, safety, NumPy."""

from __future__ import annotations

import math
import re
import struct

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autodiff_cli import parse
from autodiff_cli.engine.compile import compile_program
from autodiff_cli.engine.gradient import gradient_at
from autodiff_cli.engine.tape import names_in, releases, tape_of
from autodiff_cli.ops import OPERATIONS

PUBLIC = [op for op in OPERATIONS if op.public]
INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "^"}


@st.composite
def expressions(draw: st.DrawFn, depth: int = 4) -> str:
    """Any public operation over x, y and constants; domains are not respected on purpose:
    nan and inf must agree too."""
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(["x", "y", "x", "y", "pi", "2", "0.5", "3", "1"]))
    op = draw(st.sampled_from(PUBLIC))
    args = [draw(expressions(depth - 1)) for _ in range(op.arity)]
    if op.name in INFIX:
        return f"({args[0]}){INFIX[op.name]}({args[1]})"
    if op.name == "neg":
        return f"-({args[0]})"
    return f"{op.spellings[0]}({', '.join(args)})"


POINTS = st.sampled_from([0.0, 1.0, -1.0, 2.0, -0.5]) | st.floats(-4, 4, allow_nan=False)


def bits(value: float) -> bytes:
    return b"nan" if math.isnan(value) else struct.pack("<d", value)


@settings(max_examples=400, deadline=None)
@given(expressions(), POINTS, POINTS)
def test_compiled_equals_scalar_graph_bit_for_bit(source: str, x: float, y: float) -> None:
    program = parse(source)
    point = {name: {"x": x, "y": y}[name] for name in program.variables}
    result, _ = gradient_at(program, point)
    value, gradient = compile_program(program).value_and_grad(*point.values())
    assert bits(value) == bits(result.value)
    assert [bits(g) for g in gradient] == [bits(g) for g in result.gradient.values()]


@settings(max_examples=100, deadline=None)
@given(expressions(), POINTS, POINTS)
def test_value_only_function_matches(source: str, x: float, y: float) -> None:
    program = parse(source)
    point = [{"x": x, "y": y}[name] for name in program.variables]
    compiled = compile_program(program)
    assert bits(compiled.value(*point)) == bits(compiled.value_and_grad(*point)[0])


def forward_lines(source: str) -> list[str]:
    fast = source.split("def value_and_grad(")[1].split("except")[0]
    return [line.strip() for line in fast.splitlines() if re.match(r"\s+t\d+ = ", line)]


def test_repeated_subexpression_is_computed_once() -> None:
    lines = forward_lines(compile_program(parse("sin(x*y) + cos(x*y)")).source)
    assert sum("(v0 * v1)" in line for line in lines) == 1
    assert len(lines) == 4  # x*y, sin, cos, +


def test_constant_subexpressions_are_folded() -> None:
    lines = forward_lines(compile_program(parse("x + 2*3 + sin(pi/2)")).source)
    assert len(lines) == 2  # (x + 6) + 1: the constants were folded


def test_gradient_with_respect_to_some_variables() -> None:
    compiled = compile_program(parse("x*y + y^2"), ["y"])
    assert compiled.value_and_grad(3.0, 2.0) == (10.0, (7.0,))


def test_fast_path_falls_back_to_ieee_results() -> None:
    compiled = compile_program(parse("log(x) + 1/x + sqrt(x)"))
    value, (gradient,) = compiled.value_and_grad(0.0)
    assert math.isnan(value)  # -inf + inf
    result, _ = gradient_at(parse("log(x) + 1/x + sqrt(x)"), {"x": 0.0})
    assert bits(gradient) == bits(result.gradient["x"])
    assert compile_program(parse("exp(x)")).value(1000.0) == math.inf


HOSTILE = ["__import__", "exec", "eval", "os", "sys", "__class__", "open", "lambda_", "k0",
           "v0", "t1", "f0", "g0", "print", "globals", "breakpoint"]


@pytest.mark.parametrize("name", HOSTILE)
def test_generated_source_never_contains_user_text(name: str) -> None:
    source_text = f"{name} * sin({name}) + 2.5e3 + {name}^2"
    compiled = compile_program(parse(source_text))
    allowed = {"def", "try", "except", "return", "pass", "ArithmeticError", "ValueError",
               "value_and_grad", "value", "_safe_value_and_grad", "_safe_value"}
    for identifier in re.findall(r"[A-Za-z_]\w*", compiled.source):
        assert identifier in allowed or re.fullmatch(r"[vtgkfrd]\d+", identifier), identifier
    assert "2500" not in compiled.source and "2.5e3" not in compiled.source
    assert compiled.value_and_grad(2.0)[0] == pytest.approx(2 * math.sin(2) + 2500 + 4)


@settings(max_examples=60, deadline=None)
@given(expressions(depth=3))
def test_numpy_path_matches_pointwise(source: str) -> None:
    program = parse(source)
    assume(program.variables)
    compiled = compile_program(program)
    grid = np.linspace(-2.5, 2.5, 7)
    columns = [grid + 0.1 * i for i in range(len(program.variables))]
    values, grads = compiled.at_points(*columns)
    for j in range(len(grid)):
        value, gradient = compiled.value_and_grad(*[float(c[j]) for c in columns])
        np.testing.assert_allclose(values[j], value, rtol=1e-9, atol=1e-12)
        for column, g in zip(grads, gradient):
            np.testing.assert_allclose(column[j], g, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("source", ["x^y", "x^0.5", "x^-0.5", "x^1.5*y", "(x+log(x))^0.5"])
def test_numpy_powers_follow_ieee_at_minus_infinity_and_minus_zero(source: str) -> None:
    """NumPy's power makes (-inf)^0.5 nan and (-0)^0.5 -0; math.pow (IEEE 754) makes them inf
    and +0.  Both paths give the standard's values, signs of zero included."""
    compiled = compile_program(parse(source))
    edges = [-math.inf, -0.0, 0.0, -1.0, 0.5, math.inf]
    exponents = [-math.inf, -2.5, -2.0, -0.5, -0.0, 0.5, 1.0, 1.5, 3.0, 1e-17, math.inf]
    points = [(x, y) for x in edges for y in exponents] if "y" in source else [(x,) for x in edges]
    for point in points:
        args = point
        value, gradient = compiled.value_and_grad(*args)
        values, grads = compiled.at_points(*[np.array([a]) for a in args])
        for want, got in zip([value, *gradient], [values[0], *(g[0] for g in grads)]):
            same = struct.pack("<d", want) == struct.pack("<d", got)
            assert same or (math.isnan(want) and math.isnan(got)), (point, want, got)


def test_numpy_path_frees_each_array_after_its_last_use() -> None:
    """A sum of 100 terms over 100,000 points makes some 300 arrays of 800 KB; each is freed
    after the line that last reads it, so the value holds a few at a time, not all of them.
    (The gradient must hold what its reverse sweep reads: two arrays a term here.)"""
    import tracemalloc

    compiled = compile_program(parse(" + ".join(f"sin(x + {i})*y" for i in range(100))))
    x, y = np.linspace(0.0, 1.0, 100_000), np.linspace(1.0, 2.0, 100_000)
    compiled.at_points(x, y)  # written on first use, outside the measurement
    array = x.nbytes
    for run, most in ((lambda: compiled.values_at(x, y), 12), (lambda: compiled.at_points(x, y), 215)):
        tracemalloc.start()
        try:
            run()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < most * array, peak / array
    value, (gx, gy) = compiled.at_points(x[:3], y[:3])
    for j in range(3):
        want_value, (want_x, want_y) = compiled.value_and_grad(float(x[j]), float(y[j]))
        assert value[j] == pytest.approx(want_value, rel=1e-12)
        assert (gx[j], gy[j]) == pytest.approx((want_x, want_y), rel=1e-12)


def test_released_names_are_each_freed_once_after_their_last_read() -> None:
    tape = tape_of(parse("sin(x*y) + x*y*exp(x)"), ("x", "y"))
    swept = [*tape.forward, *tape.reverse]
    keep = [tape.output, *tape.adjoints]
    freed = releases(swept, keep)
    names = [n for dead in freed for n in dead]
    assert len(names) == len(set(names)) and not set(names) & set(keep)
    assert set(names) | set(keep) >= {eq.target for eq in swept}
    for i, dead in enumerate(freed):
        for name in dead:
            assert not any(name in names_in(eq.value) for eq in swept[i + 1:])


def test_numpy_path_broadcasts_constants_and_scalars() -> None:
    compiled = compile_program(parse("x + 2*y"))
    values, (gx, gy) = compiled.at_points(np.array([1.0, 2.0, 3.0]), 1.0)
    assert values.tolist() == [3.0, 4.0, 5.0]
    assert gx.tolist() == [1.0, 1.0, 1.0] and gy.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.slow
def test_long_chain_compiles_without_recursion() -> None:
    program = parse("+".join(["x"] * 20_000))
    assert compile_program(program).value_and_grad(1.5) == (30_000.0, (20_000.0,))
    nested = "x"
    for _ in range(5_000):
        nested = f"sin({nested})"
    value, (gradient,) = compile_program(parse(nested)).value_and_grad(0.5)
    assert math.isfinite(value) and 0.0 < gradient < 1.0


def test_a_program_is_compiled_once_per_wrt() -> None:
    program = parse("sin(x) + x*y")
    assert compile_program(program) is compile_program(program, ("x", "y"))
    assert compile_program(program, ("x",)) is not compile_program(program)
    # Another parse of the same text is another program: compiled on its own.
    assert compile_program(parse("sin(x) + x*y")) is not compile_program(program)
