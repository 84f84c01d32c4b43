"""Compiled second derivatives (forward over reverse on the tape's gradient) against the Scalar
graph's reverse over reverse, and the Hessian-vector product against the matrix."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_cli import parse
from autodiff_cli.engine.compile import compile_program
from autodiff_cli.engine.hessian import hessian_at
from autodiff_cli.engine.second import build_second, compile_hessian, compile_hvp, gradient_graph

from .strategies import points, programs


def bits(value: float) -> bytes:
    return b"nan" if math.isnan(value) else struct.pack("<d", value)


def close(a: float, b: float, scale: float) -> bool:
    """Equal, or within rounding of the matrix's size (two orders of differentiation)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-12 * (1.0 + scale)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_hessian_matches_reverse_over_reverse(data: st.DataObject) -> None:
    """Value and gradient bit for bit (the same tape), the matrix to rounding."""
    source, _ = data.draw(programs())
    program = parse(source)
    point = data.draw(points(program.variables))
    values = [point[name] for name in program.variables]
    reference = hessian_at(program, point)
    value, gradient, matrix = compile_hessian(program).hessian(*values)
    assert bits(value) == bits(reference.value)
    assert [bits(g) for g in gradient] == [bits(g) for g in reference.gradient.values()]
    scale = max((abs(v) for row in reference.matrix for v in row if math.isfinite(v)), default=0.0)
    for row, expected in zip(matrix, reference.matrix):
        assert all(close(a, b, scale) for a, b in zip(row, expected)), (source, point, matrix)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_hessian_vector_product_is_the_matrix_times_the_vector(data: st.DataObject) -> None:
    source, _ = data.draw(programs())
    program = parse(source)
    point = data.draw(points(program.variables))
    values = [point[name] for name in program.variables]
    u = data.draw(st.lists(st.floats(-2, 2), min_size=len(values), max_size=len(values)))
    _, _, matrix = compile_hessian(program).hessian(*values)
    value, gradient, product = compile_hvp(program).hvp(*values, *u)
    reference = compile_program(program).value_and_grad(*values)
    assert bits(value) == bits(reference[0])
    assert [bits(g) for g in gradient] == [bits(g) for g in reference[1]]
    if not all(math.isfinite(v) for row in matrix for v in row):
        return
    scale = max((abs(v) for row in matrix for v in row), default=0.0) * 3.0
    for got, row in zip(product, matrix):
        expected = math.fsum(h * ui for h, ui in zip(row, u))
        assert close(got, expected, scale), (source, point, u)


def test_rosenbrock_exactly() -> None:
    program = parse("(1-x)^2 + 100*(y-x^2)^2")
    _, _, matrix = compile_hessian(program).hessian(-1.2, 1.0)
    assert matrix == ((1330.0, 480.0), (480.0, 200.0))  # 1200x² - 400y + 2, -400x; 200
    assert compile_hvp(program).hvp(-1.2, 1.0, 0.0, 1.0)[2] == (480.0, 200.0)


def test_wrt_holds_the_other_variables_constant() -> None:
    program = parse("x^2*y^3 + z")
    _, gradient, matrix = compile_hessian(program, ("y",)).hessian(2.0, 1.0, 5.0)
    assert gradient == (12.0,) and matrix == ((24.0,),)  # d/dy = 3x²y², d²/dy² = 6x²y
    assert compile_hvp(program, ("x", "y")).hvp(2.0, 1.0, 5.0, 1.0, 0.0)[2] == (2.0, 12.0)


def test_constant_and_linear_programs() -> None:
    assert compile_hessian(parse("3*x + 2*y")).hessian(1.0, 1.0)[2] == ((0.0, 0.0), (0.0, 0.0))
    assert compile_hessian(parse("x^3")).hessian(2.0) == (8.0, (12.0,), ((12.0,),))


def test_the_gradient_graph_is_the_tape_read_back() -> None:
    """The gradient's AST evaluates to what the compiled gradient computes, bit for bit."""
    from autodiff_cli.expr import Program

    program = parse("z = sin(x*y); z*z + exp(x)/y")
    graph = gradient_graph(program, program.variables)
    for node, expected in zip(graph.gradient, compile_program(program).value_and_grad(0.3, -1.7)[1]):
        derivative = Program("d", node, program.variables)
        assert bits(compile_program(derivative).value(0.3, -1.7)) == bits(expected)


def test_the_generated_code_holds_no_user_text() -> None:
    program = parse("(payload_one - 1)^2 * exp(secret)")
    for second in (build_second(program, program.variables, product=True),
                   build_second(program, program.variables, product=False)):
        names = {eq.target for eq in second.equations}
        assert all(name[0] in "tdk" for name in names)
        assert not any("payload" in name or "secret" in name for name in names)


def test_a_domain_error_uses_the_safe_flavour() -> None:
    """log(0) raises in the fast flavour; the safe one gives IEEE values."""
    value, gradient, matrix = compile_hessian(parse("log(x)*y")).hessian(0.0, 1.0)
    assert value == -math.inf and gradient[0] == math.inf and matrix[0][0] == -math.inf


@pytest.mark.parametrize("n", [50])
def test_many_variables_product(n: int) -> None:
    """The product of the extended Rosenbrock function's Hessian, one sweep whatever n is."""
    terms = " + ".join(f"100*(x{i + 1} - x{i}^2)^2 + (1 - x{i})^2" for i in range(n - 1))
    program = parse(terms)
    values = [0.5] * len(program.variables)
    direction = [1.0] + [0.0] * (len(values) - 1)
    _, _, product = compile_hvp(program).hvp(*values, *direction)
    _, _, matrix = compile_hessian(program).hessian(*values)
    assert list(product) == [row[0] for row in matrix]
