"""The compiled rounding bound is the gradient check's bound, ε·Σ|v·∂f/∂v|, at one point."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_cli import parse
from autodiff_cli.engine.compile import compile_program
from autodiff_cli.engine.rounding import EPS, rounding_bound

from .strategies import points, programs


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_bound_equals_the_one_the_numpy_inspection_gives(data: st.DataObject) -> None:
    source, _ = data.draw(programs())
    program = parse(source)
    point = data.draw(points(program.variables))
    values = [point[name] for name in program.variables]
    detail = compile_program(program).inspect_points(*[np.array([v]) for v in values])
    expected = EPS * math.fsum(abs(float(t[0]) * float(g[0])) for t, g in detail.rounding)
    got = rounding_bound(program)(*values)
    # NumPy's transcendental functions may differ from math's in the last bit
    assert got == expected or (math.isnan(got) and math.isnan(expected)) \
        or abs(got - expected) <= 1e-12 * expected


def test_fixed_variables_and_domain_errors() -> None:
    program = parse("log(x)*y + exp(y)")
    assert rounding_bound(program, ("y",))(2.0, 1.0) > 0.0
    assert rounding_bound(program)(0.0, 1.0) == math.inf  # log(0) raises in the fast flavour
    assert rounding_bound(parse("3*x"))(1.0) == EPS * 3.0
