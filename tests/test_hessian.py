"""The Hessian by reverse over reverse: against sympy, against differences of the gradient,
and what its eigenvalues say about the point."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autodiff_cli import expr as ast
from autodiff_cli.api import hessian
from autodiff_cli.engine.gradient import gradient_at
from autodiff_cli.engine.hessian import classify, eigenvalues_of, hessian_at
from autodiff_cli.errors import VariableError
from autodiff_cli.language.parser import parse
from autodiff_cli.ops import OPS

from .helpers import app, runner
from .oracles import SYMPY, SYMPY_CONSTANTS

# ---------------------------------------------------------------- sympy, the independent oracle

# The one table from our operation names to sympy's lives in test_oracle.py.
_SYMBOLS = {name: sympy.Symbol(name) for name in ("x", "y", "z")}


def to_sympy(root: ast.Expr) -> Any:
    def leaf(node: ast.Expr) -> Any:
        if isinstance(node, ast.Var):
            return _SYMBOLS[node.name]
        if isinstance(node, ast.Const):
            return SYMPY_CONSTANTS[node.name]
        assert isinstance(node, ast.Num)
        return sympy.Rational(node.value)  # exact: 0.5 is 1/2, 2.0 is 2

    return ast.fold(root, leaf, lambda node, args: SYMPY[node.op.name](*args))


def sympy_hessian(source: str, point: dict[str, float]) -> list[list[float]] | None:
    program = parse(source)
    f = to_sympy(program.result)
    names = program.variables
    subs = {_SYMBOLS[n]: sympy.Float(point[n], 30) for n in names}
    rows = []
    for a in names:
        row = []
        for b in names:
            value = sympy.diff(f, _SYMBOLS[a], _SYMBOLS[b]).subs(subs).evalf(30)
            if not value.is_real or not value.is_finite:
                return None
            row.append(float(value))
        rows.append(row)
    return rows


# ---------------------------------------------------------------- documented results, exactly


@pytest.mark.parametrize(("source", "point", "matrix", "eigen", "definiteness", "classification"), [
    ("x^2 - y^2", {"x": 0, "y": 0}, ((2.0, 0.0), (0.0, -2.0)), (-2.0, 2.0), "indefinite", "saddle point"),
    ("x^2 + y^2", {"x": 0, "y": 0}, ((2.0, 0.0), (0.0, 2.0)), (2.0, 2.0), "positive definite",
     "local minimum"),
    ("-x^2 - x*y - y^2", {"x": 0, "y": 0}, ((-2.0, -1.0), (-1.0, -2.0)), (-3.0, -1.0),
     "negative definite", "local maximum"),
    ("x*y", {"x": 0, "y": 0}, ((0.0, 1.0), (1.0, 0.0)), (-1.0, 1.0), "indefinite", "saddle point"),
    ("x^4 + y^2", {"x": 0, "y": 0}, ((0.0, 0.0), (0.0, 2.0)), (0.0, 2.0), "semidefinite (singular)",
     "inconclusive: higher derivatives decide"),
    ("(1 - x)^2 + 100*(y - x^2)^2", {"x": 1, "y": 1}, ((802.0, -400.0), (-400.0, 200.0)), None,
     "positive definite", "local minimum"),
    ("x^3", {"x": 2}, ((12.0,),), (12.0,), "positive definite",
     "not a critical point: the gradient is not zero"),
    ("x^2 - y^2 + 3*x", {"x": 0, "y": 0}, ((2.0, 0.0), (0.0, -2.0)), (-2.0, 2.0), "indefinite",
     "not a critical point: the gradient is not zero"),
])
def test_documented_points(source: str, point: dict[str, float], matrix: tuple[tuple[float, ...], ...],
                           eigen: tuple[float, ...] | None, definiteness: str,
                           classification: str) -> None:
    result = hessian(source, **point)
    assert result.matrix == matrix
    if eigen is not None:
        assert result.eigenvalues == pytest.approx(eigen, rel=1e-12, abs=1e-12)
    assert result.definiteness == definiteness
    assert result.classification == classification


def test_rosenbrock_eigenvalues() -> None:
    result = hessian("(1 - x)^2 + 100*(y - x^2)^2", x=1, y=1)
    # eigenvalues of [[802, -400], [-400, 200]]: 501 -+ sqrt(301^2 + 400^2)
    root = math.sqrt(301.0**2 + 400.0**2)
    assert result.eigenvalues == pytest.approx((501 - root, 501 + root), rel=1e-12)
    assert result.critical


@pytest.mark.parametrize(("eigenvalues", "expected"), [
    ((1.0, 2.0), "positive definite"),
    ((-1.0, -2.0), "negative definite"),
    ((-1.0, 2.0), "indefinite"),
    ((-1.0, 0.0, 2.0), "indefinite"),  # a zero eigenvalue does not hide a saddle
    ((0.0, 2.0), "semidefinite (singular)"),
    ((1e-18, 2.0), "semidefinite (singular)"),  # zero within rounding of the largest
    ((1e-10, 2.0), "positive definite"),
    ((0.0,), "semidefinite (singular)"),
    ((1e-300,), "positive definite"),  # alone, any nonzero eigenvalue is itself the scale
    ((), "empty"),
])
def test_classify(eigenvalues: tuple[float, ...], expected: str) -> None:
    assert classify(eigenvalues) == expected


def test_eigenvalues_use_the_symmetric_part() -> None:
    assert eigenvalues_of([[1.0, 2.0], [0.0, 1.0]]) == pytest.approx((0.0, 2.0), abs=1e-15)


def test_wrt_holds_the_others_constant() -> None:
    result = hessian("x^2*y^3 + z", wrt="y", x=2, y=1, z=5)
    assert result.variables == ("y",)
    assert result.matrix == ((24.0,),)
    assert result.gradient == {"y": 12.0}


def test_no_variables() -> None:
    result = hessian("2 + 3")
    assert result.matrix == () and result.eigenvalues == ()
    assert result.classification == "inconclusive: no variables"


def test_linear_function_has_zero_hessian() -> None:
    result = hessian("2*x + 3*y", x=1, y=1)
    assert result.matrix == ((0.0, 0.0), (0.0, 0.0))


def test_nonfinite_hessian() -> None:
    result = hessian("log(x)*y", x=0, y=1)
    assert result.eigenvalues is None
    assert result.definiteness == "undefined"
    assert result.nonfinite == "log(0.0) = -inf"
    assert not result.critical


def test_errors() -> None:
    with pytest.raises(VariableError, match="no value for variable 'y'"):
        hessian("x*y", x=1)
    with pytest.raises(VariableError, match="no variable 'q'"):
        hessian("x*y", wrt="q", x=1, y=1)


@pytest.mark.slow
def test_deep_expression() -> None:
    """100,000 nodes: both backward passes are iterative."""
    x, y = ast.Var("x"), ast.Var("y")
    node: ast.Expr = x
    for _ in range(50_000):
        node = ast.Apply(OPS["add"], (ast.Apply(OPS["sin"], (node,)), y))
    result = hessian_at(ast.Program("deep", node, ("x", "y")), {"x": 0.3, "y": 0.2})
    assert all(math.isfinite(v) for row in result.matrix for v in row)
    # f = sin(g) + y with g the 49,999-deep rest: d²f/dy² = -sin(g)*(dg/dy)^2 + cos(g)*d²g/dy², < 0 here
    assert result.matrix[1][1] < 0.0


# ---------------------------------------------------------------- random smooth expressions

_SMOOTH_UNARY = ["sin", "cos", "tan", "atan", "sinh", "cosh", "tanh", "asinh", "exp", "log", "sqrt",
                 "sigmoid", "softplus", "erf"]
_SMOOTH_BINARY = ["atan2", "hypot", "log"]


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    unary = st.tuples(st.sampled_from(_SMOOTH_UNARY), children).map(lambda t: f"{t[0]}({t[1]})")
    infix = st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
        lambda t: f"({t[0]}){t[1]}({t[2]})")
    power = st.tuples(children, st.sampled_from(["2", "3", "0.5", "-1"])).map(lambda t: f"({t[0]})^{t[1]}")
    calls = st.tuples(st.sampled_from(_SMOOTH_BINARY), children, children).map(
        lambda t: f"{t[0]}({t[1]}, {t[2]})")
    return st.one_of(unary, infix, infix, power, calls)


smooth = st.recursive(st.sampled_from(["x", "y", "x", "y", "2", "0.5", "pi"]), _combine, max_leaves=6)
points = st.fixed_dictionaries({"x": st.floats(0.2, 1.8), "y": st.floats(-1.8, -0.2)})


def _fair(result: Any) -> bool:
    values = [result.value, *result.gradient.values(), *(v for row in result.matrix for v in row)]
    return result.nonfinite is None and all(math.isfinite(v) and abs(v) < 1e4 for v in values)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                 HealthCheck.too_slow])
@given(source=smooth, point=points)
def test_against_sympy(source: str, point: dict[str, float]) -> None:
    program = parse(source)
    point = {n: point[n] for n in program.variables}
    result = hessian_at(program, point)
    assume(program.variables and _fair(result))
    expected = sympy_hessian(source, point)
    assume(expected is not None)
    assert expected is not None
    for got_row, want_row in zip(result.matrix, expected):
        for got, want in zip(got_row, want_row):
            assert math.isclose(got, want, rel_tol=1e-8, abs_tol=1e-9), (source, point, got, want)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(source=smooth, point=points)
def test_against_central_differences_of_the_gradient(source: str, point: dict[str, float]) -> None:
    program = parse(source)
    names = program.variables
    point = {n: point[n] for n in names}
    result = hessian_at(program, point)
    assume(names and _fair(result))
    for j, name in enumerate(names):
        h = 1e-5 * max(1.0, abs(point[name]))
        plus = gradient_at(program, {**point, name: point[name] + h})[0].gradient
        minus = gradient_at(program, {**point, name: point[name] - h})[0].gradient
        for i, row_name in enumerate(names):
            difference = (plus[row_name] - minus[row_name]) / (2 * h)
            assume(math.isfinite(difference))
            # truncation ~ h^2 f'''' and rounding ~ eps |grad| / h
            assert math.isclose(result.matrix[i][j], difference, rel_tol=1e-4, abs_tol=1e-4), (
                source, point, row_name, name, result.matrix[i][j], difference)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(source=smooth, point=points)
def test_symmetric_and_gradient_agrees_with_grad(source: str, point: dict[str, float]) -> None:
    program = parse(source)
    point = {n: point[n] for n in program.variables}
    result = hessian_at(program, point)
    assume(_fair(result))
    n = len(result.variables)
    for i in range(n):
        for j in range(i):
            assert math.isclose(result.matrix[i][j], result.matrix[j][i], rel_tol=1e-9, abs_tol=1e-12)
    assert result.gradient == pytest.approx(gradient_at(program, point)[0].gradient, rel=1e-12, abs=1e-15)


# ---------------------------------------------------------------- the command line


def test_cli_table() -> None:
    out = runner.invoke(app, ["hessian", "x^2 - y^2", "--x", "0", "--y", "0"])
    assert out.exit_code == 0, out.output
    lines = [line.rstrip() for line in out.stdout.splitlines()]
    assert "x    2.0     0.0" in lines
    assert "y    0.0    -2.0" in lines
    assert "eigenvalues -2.0, 2.0" in lines
    assert "indefinite: saddle point" in lines


def test_cli_json() -> None:
    out = runner.invoke(app, ["hessian", "sin(x)*y", "--x", "0", "--y=2", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["variables"] == ["x", "y"]
    assert data["hessian"] == [[-0.0, 1.0], [1.0, 0.0]]
    assert data["eigenvalues"] == pytest.approx([-1.0, 1.0])
    assert data["definiteness"] == "indefinite"
    assert data["critical"] is False
    assert data["gradient"] == {"x": 2.0, "y": 0.0}


def test_cli_nonfinite_warns_and_json_stays_valid() -> None:
    out = runner.invoke(app, ["hessian", "log(x)*y", "--x", "0", "--y", "1", "--json"])
    assert out.exit_code == 0
    assert "warning: non-finite result" in out.stderr
    data = json.loads(out.stdout)
    assert data["eigenvalues"] is None
    assert data["hessian"][0][0] == "-inf"


@pytest.mark.parametrize(("args", "message"), [
    (["hessian", "x*y", "--x", "1"], "no value for variable 'y'"),
    (["hessian", "x*y", "--x", "1", "--y", "2", "--wrt", "q"], "no variable 'q'"),
    (["hessian", "x*y", "--x", "1", "--y", "2", "--z", "3"], "no variable 'z'"),
    (["hessian", "x*", "--x", "1"], "ends too soon"),
    (["hessian", "x", "--x", "one"], "is not a constant"),
])
def test_cli_errors(args: list[str], message: str) -> None:
    out = runner.invoke(app, args)
    assert out.exit_code == 2
    assert message in out.output
    assert "Traceback" not in out.output


@pytest.mark.parametrize("count", [12, 300])
def test_a_large_hessian_shows_what_fits_and_says_where_the_rest_is(count: int) -> None:
    source = " + ".join(f"x{i}^3*x{i + 1}/3" for i in range(count - 1))
    values = [arg for i in range(count) for arg in (f"--x{i}", f"1.{i}")]
    out = runner.invoke(app, ["hessian", source, *values], env={"COLUMNS": "80"})
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    table = lines[lines.index("Hessian ∂²f/∂row∂column") + 1:]
    assert all(line.strip() for line in table[:table.index("")])  # no blank rows
    assert f"columns and {min(count, 30)} of {count} rows; --json prints the whole matrix" in out.stdout
    whole = json.loads(runner.invoke(app, ["hessian", source, *values, "--json"]).stdout)
    assert len(whole["hessian"]) == count and len(whole["eigenvalues"]) == count


def test_eigenvalues_of_entries_near_float64_s_limit() -> None:
    """The eigensolver works on the matrix scaled by a power of two: entries of 1e308 gave inf
    and nan eigenvalues (and a NumPy warning), and the definiteness 'semidefinite (singular)'."""
    import warnings

    from autodiff_cli.api import hessian

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = hessian("x^2*5e307", x=1)
        two = hessian("x*y*1e308", x=1, y=1)
    assert one.eigenvalues == (1e308,) and one.definiteness == "positive definite"
    assert two.eigenvalues == (-1e308, 1e308) and two.definiteness == "indefinite"


def test_a_hessian_over_too_many_variables_is_refused_before_the_work() -> None:
    from autodiff_cli.api import hessian
    from autodiff_cli.engine.hessian import MAX_HESSIAN_VARIABLES
    from autodiff_cli.errors import LimitError

    n = MAX_HESSIAN_VARIABLES + 1
    point = {f"v{i}": 1.0 for i in range(n)}
    with pytest.raises(LimitError, match=f"the Hessian over {n:,} variables has {n * n:,} entries"):
        hessian(" + ".join(point), **point)
