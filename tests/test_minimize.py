"""minimize, the library: quadratics exactly, bounds, every stop reason, saddles, the
classification against the hessian command's, non-finite values, a few MGH problems, and
a thousand variables."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autodiff_cli import parse
from autodiff_cli.engine.compile import compile_program
from autodiff_cli.engine.hessian import hessian_at
from autodiff_cli.errors import AdcliError
from autodiff_cli.optimize.minimize import (
    DEFAULT_METHOD,
    METHODS,
    STOP_REASONS,
    Evaluations,
    MinimizeConfig,
    Minimizer,
    MinimizeResult,
    minimize,
    minimize_program,
)
from autodiff_cli.optimize.minimize_result import stop_message

from .strategies import points, programs
from .test_mgh_problems import mgh

ALL = list(METHODS)
ROSENBROCK = "(1-x)^2 + 100*(y-x^2)^2"
QUADRATIC = "(x-1)^2 + 2*(y+3)^2 + x*y + (z-x)^2 + 3*(w - z + x)^2"
QUADRATIC_MINIMUM = {"x": 20 / 7, "y": -26 / 7, "z": 20 / 7, "w": 0.0}  # solves ∇f = 0
QUADRATIC_START = {"x": 10.0, "y": -7.0, "z": 2.0, "w": 1.0}


def run(source: str, start: dict[str, float], **config: object) -> MinimizeResult:
    program = parse(source)
    result, interrupted = minimize_program(program, start, None, MinimizeConfig(**config))  # type: ignore[arg-type]
    assert not interrupted
    return result


# ---------------------------------------------------------------- quadratics, exactly


def test_newton_minimizes_a_quadratic_in_one_step() -> None:
    result = run(QUADRATIC, QUADRATIC_START, method="newton")
    assert result.iterations == 1 and result.stop_reason == "gtol"
    assert all(abs(result.point[n] - v) <= 1e-14 * max(1.0, abs(v)) for n, v in QUADRATIC_MINIMUM.items())
    assert result.evaluations == Evaluations(function=2, gradient=2, hessian=2)
    assert result.classification == "local minimum" and result.ok


@pytest.mark.parametrize("method", ["bfgs", "lbfgs"])
def test_quasi_newton_with_an_exact_line_search_takes_at_most_n_plus_1_steps(method: str) -> None:
    """With c2 tiny the line search is exact (on a quadratic, the cubic fit is exact): BFGS
    then spans the conjugate directions, n = 4 of them."""
    result = run(QUADRATIC, QUADRATIC_START, method=method, c1=1e-9, c2=1e-8, gtol=1e-9)
    assert result.stop_reason == "gtol" and result.iterations <= 4 + 1
    assert all(abs(result.point[n] - v) <= 1e-9 for n, v in QUADRATIC_MINIMUM.items())


@pytest.mark.parametrize("method", ALL)
def test_every_method_minimizes_the_quadratic(method: str) -> None:
    result = run(QUADRATIC, QUADRATIC_START, method=method)
    assert result.ok and result.classification == "local minimum"
    assert all(abs(result.point[n] - v) <= 1e-8 for n, v in QUADRATIC_MINIMUM.items())


@pytest.mark.parametrize("method", ALL)
def test_rosenbrock(method: str) -> None:
    result = minimize(ROSENBROCK, method=method, x=-1.2, y=1)
    assert result.stop_reason == "gtol" and result.grad_norm <= 1e-8
    assert abs(result.point["x"] - 1.0) <= 1e-8 and abs(result.point["y"] - 1.0) <= 1e-8
    assert result.iterations <= 50


def test_the_default_method() -> None:
    assert DEFAULT_METHOD == "newton" and minimize(ROSENBROCK, x=-1.2, y=1).method == "newton"


# ---------------------------------------------------------------- bounds


@pytest.mark.parametrize("method", ALL)
def test_a_minimum_outside_the_box_ends_on_the_box(method: str) -> None:
    result = minimize("(x-3)^2 + (y+2)^2 + x*y", method=method, bounds={"x": "0:1", "y": (-1.0, 5.0)},
                      x=0.5, y=0.5)
    assert result.point == {"x": 1.0, "y": -1.0}  # on the bounds exactly
    assert result.active_bounds == {"x": "upper", "y": "lower"}
    assert result.ok and result.classification.startswith("local minimum")


@pytest.mark.parametrize("method", ALL)
def test_one_bound_active_the_other_variable_free(method: str) -> None:
    """min (x-3)² + (y-x/2)² over x ≤ 1: x = 1 on the bound, y = 1/2 inside."""
    result = minimize("(x-3)^2 + (y - x/2)^2", method=method, bounds={"x": "-inf:1"}, x=-2, y=4)
    # f = 4 + (y - 1/2)² at x = 1: y is known to sqrt(ε·4) only, whatever stopped the run
    assert result.point["x"] == 1.0 and abs(result.point["y"] - 0.5) <= 1e-7
    assert result.active_bounds == {"x": "upper"} and result.converged
    assert result.classification == "local minimum"  # over the free variable y
    assert abs(result.gradient["x"] - -4.0) <= 1e-7  # pushes x out of the box


@pytest.mark.parametrize("method", ALL)
def test_inactive_bounds_change_nothing(method: str) -> None:
    free = minimize(ROSENBROCK, method=method, x=-1.2, y=1)
    boxed = minimize(ROSENBROCK, method=method, bounds={"x": "-2:2", "y": "-inf:inf"}, x=-1.2, y=1)
    assert boxed.point == free.point and boxed.active_bounds == {}


@pytest.mark.parametrize("method", ALL)
def test_a_model_step_out_of_the_box_does_not_stop_the_run(method: str) -> None:
    """At (0, 0) with x ≥ 0 the gradient (-1, 0) points into the box, but Newton's step
    (-0.02, 0.1) points out of it in x; held there, y alone offers no decrease.  The run
    steps along the projected gradient instead and goes on to the minimum inside."""
    result = minimize("-x + 10*x*y + y^2 + x^4", method=method, bounds={"x": "0:inf"}, x=0, y=0)
    assert result.ok and result.active_bounds == {} and result.classification == "local minimum"
    assert abs(result.point["x"] - 3.5454917965) <= 1e-6


def test_a_start_outside_the_box_is_moved_onto_it() -> None:
    result = minimize("(x-3)^2", bounds={"x": "0:1"}, x=5)
    assert result.point == {"x": 1.0} and result.start == {"x": 5.0}
    assert result.notes == ("x starts at 1.0, its bound, not at 5.0",)


def test_bounds_with_constant_expressions_and_equal_ends() -> None:
    result = minimize("(x-3)^2 + (y-1)^2", bounds={"x": "-pi:pi/4", "y": "2:2"}, x=0, y=2)
    assert result.point == {"x": math.pi / 4, "y": 2.0}
    assert result.active_bounds == {"x": "upper", "y": "fixed"}


@pytest.mark.parametrize("method", ALL)
def test_a_variable_fixed_by_its_bounds_is_left_out_of_the_classification(method: str) -> None:
    """With y fixed at 0, x² - y² is x²: (0, 0) is a minimum, not the saddle that the Hessian
    over both variables shows (its gradient component in y is 0, so y is not 'pushed')."""
    result = minimize("x^2 - y^2", method=method, bounds={"y": "0:0"}, x=1, y=0)
    assert result.classification == "local minimum" and result.ok
    assert result.eigenvalues == (2.0,) and result.eigenvalues_over == ("x",)
    assert result.active_bounds == {"y": "fixed"}


@pytest.mark.parametrize("method", ALL)
def test_a_corner_with_a_zero_gradient_is_no_saddle(method: str) -> None:
    """x·y on [0, 1]² at (0, 0): both variables at their lower bounds with a zero gradient.
    The Hessian's negative curvature lies along (1, -1), which leaves the box; along every
    direction into it f stays ≥ 0, level along the axes: not a saddle, and (to second order)
    not provably a strict minimum either."""
    result = minimize("x*y", method=method, bounds={"x": "0:1", "y": "0:1"}, x=0, y=0)
    assert result.classification.startswith("inconclusive") and "no direction the bounds allow" \
        in result.classification
    assert result.ok and result.eigenvalues == () and result.eigenvalues_over == ()
    assert "saddle" not in result.message


@pytest.mark.parametrize("source, start, bounds, kind", [
    # strictly positive along the directions into the box (x·y + x² + y² at the corner)
    ("x*y + x^2 + y^2", {"x": 0, "y": 0}, {"x": "0:1", "y": "0:1"}, "local minimum"),
    # f falls along (1, 1), which the box allows: a saddle, however the Hessian is split
    ("-x*y + x^2/4 + y^2/4", {"x": 0, "y": 0}, {"x": "0:1", "y": "0:1"}, "saddle point"),
    # from the upper bound of y, a step into the box is negative: x·y falls along (1, -1)
    ("x*y + z^2", {"x": 0, "y": 0, "z": 0}, {"x": "0:1", "y": "-1:0"}, "saddle point"),
    # a free variable (z) eliminated first: its coupling to x makes -x² + ... fall
    ("x^2 + z^2 - 3*x*z", {"x": 0, "z": 0}, {"x": "0:1"}, "saddle point"),
    ("x^2 + z^2 - x*z", {"x": 0, "z": 0}, {"x": "0:1"}, "local minimum"),
])
def test_the_second_order_test_at_a_bound_with_a_zero_gradient(
        source: str, start: dict[str, float], bounds: dict[str, str], kind: str) -> None:
    result = minimize(source, bounds=bounds, **start)
    assert result.point == {n: float(v) for n, v in start.items()}
    assert result.classification.split(":")[0] == kind
    assert result.ok == (kind == "local minimum")


def test_the_second_order_test_at_a_bound_mirrors_for_maximize() -> None:
    result = minimize("-(x*y + x^2 + y^2)", bounds={"x": "0:1", "y": "0:1"}, maximize=True, x=0, y=0)
    assert result.classification.startswith("local maximum: f falls along every direction") and result.ok
    result = minimize("x*y - x^2/4 - y^2/4", bounds={"x": "0:1", "y": "0:1"}, maximize=True, x=0, y=0)
    assert result.classification.startswith("saddle point: f rises") and not result.ok


@pytest.mark.parametrize("bounds, message", [
    ({"x": "3:1"}, "empty"), ({"q": "0:1"}, "no variable 'q'"), ({"x": "0"}, "NAME=LO:HI"),
    ({"x": "0:z"}, "not a constant"), ({"x": (math.nan, 1.0)}, "not numbers"),
])
def test_bad_bounds(bounds: dict[str, object], message: str) -> None:
    with pytest.raises(AdcliError, match=message):
        minimize("x^2 + y^2", bounds=bounds, x=1, y=1)  # type: ignore[arg-type]


def test_a_fixed_variable_takes_no_bounds() -> None:
    with pytest.raises(AdcliError, match="fixed"):
        minimize("x^2 + y^2", bounds={"y": "0:1"}, fix=["y"], x=1, y=1)


# ---------------------------------------------------------------- stop reasons


SMOOTH = "exp(x) - 2*x + cosh(y - 1/3)"  # the minimum (ln 2, 1/3) is not a float


@pytest.mark.parametrize("method", ALL)
def test_stop_gtol(method: str) -> None:
    result = minimize(SMOOTH, method=method, gtol=1e-6, x=0, y=0)
    assert result.stop_reason == "gtol" and result.grad_norm <= 1e-6 and result.ok


@pytest.mark.parametrize("method", ALL)
def test_stop_xtol(method: str) -> None:
    result = minimize(SMOOTH, method=method, gtol=0, ftol=0, xtol=1e-3, x=0, y=0)
    assert result.stop_reason == "xtol" and result.ok


@pytest.mark.parametrize("method", ALL)
def test_stop_ftol(method: str) -> None:
    result = minimize(SMOOTH, method=method, gtol=0, xtol=0, ftol=1e-4, x=0, y=0)
    assert result.stop_reason == "ftol" and result.ok


@pytest.mark.parametrize("method", ALL)
def test_stop_precision_when_nothing_else_can_stop_it(method: str) -> None:
    result = minimize(SMOOTH, method=method, gtol=0, xtol=0, ftol=0, x=0, y=0)
    assert result.stop_reason in ("precision", "gtol") and result.ok  # gtol: ∇f rounded to 0
    assert abs(result.point["x"] - math.log(2)) <= 1e-7 and result.classification == "local minimum"


@pytest.mark.parametrize("method", ALL)
def test_stop_max_iter(method: str) -> None:
    result = minimize(ROSENBROCK, method=method, max_iter=3, x=-1.2, y=1)
    assert result.stop_reason == "max_iter" and result.iterations == 3 and not result.ok
    assert result.classification == "not a critical point: the gradient is not zero"


@pytest.mark.parametrize("method", ALL)
def test_stop_stalled_at_a_kink(method: str) -> None:
    """At the kink the gradient jumps: a run stalls there, never claims to have converged
    beside it (unless it lands on the minimum itself, where abs' derivative is 0)."""
    result = minimize("abs(x - 0.3) + y^2", method=method, x=1, y=1)
    if result.ok:
        assert result.point == {"x": 0.3, "y": 0.0} and result.grad_norm == 0.0
    else:
        assert result.stop_reason == "stalled"


@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize("source, start", [("-x", {"x": 1.0}), ("-x + y^2", {"x": 1.0, "y": 1.0}),
                                           ("x^2 - y^2", {"x": 1.0, "y": 1e-3})])
def test_stop_unbounded(method: str, source: str, start: dict[str, float]) -> None:
    result = minimize(source, method=method, **start)
    assert result.stop_reason == "unbounded" and not result.ok and result.value < -1e20
    assert "unbounded below" in result.message and result.classification.startswith("no minimum")


@pytest.mark.parametrize("method", ALL)
def test_stop_nonfinite_start(method: str) -> None:
    result = minimize("log(x) + y^2", method=method, x=-1, y=1)
    assert result.stop_reason == "nonfinite" and result.iterations == 0 and not result.ok
    assert result.message.endswith("; the first came from log(-1.0) = nan")


def test_every_stop_reason_has_a_message() -> None:
    assert set(STOP_REASONS) == {"gtol", "xtol", "ftol", "precision", "stalled", "max_iter", "unbounded",
                                 "nonfinite", "interrupted"}


@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize("source, start", [("log(x) + 1/x", {"x": 3.0}), ("sqrt(x) + (x - 2)^2", {"x": 0.3})])
def test_non_finite_values_mid_run_are_stepped_back_from(method: str, source: str,
                                                         start: dict[str, float]) -> None:
    """Newton and the quasi-Newton methods step where log and sqrt give nan: a trust region
    rejects the step, a line search steps back; the run goes on to the minimum."""
    result = minimize(source, method=method, **start)
    assert result.ok and result.classification == "local minimum"
    assert math.isfinite(result.value)


# ---------------------------------------------------------------- what kind of point


@pytest.mark.parametrize("method", ALL)
def test_a_saddle_is_never_reported_as_a_minimum(method: str) -> None:
    """From a point on the x-axis the gradient has no y component: methods built on the
    gradient converge to the saddle (and say so, not ok); Newton's trust region follows the
    negative curvature off the axis and finds f unbounded below."""
    result = minimize("x^2 - y^2", method=method, x=1, y=0)
    assert not result.ok and "minimum" not in result.classification.replace("no minimum", "")
    if result.stop_reason == "gtol":
        assert result.classification == "saddle point" and "saddle point, not a minimum" in result.message
        assert result.eigenvalues == (-2.0, 2.0)
    else:
        assert method == "newton" and result.stop_reason == "unbounded"


@pytest.mark.parametrize("source, start", [
    (ROSENBROCK, {"x": -1.2, "y": 1.0}),
    ("x^3 - 3*x + y^2 - 2*y", {"x": 0.5, "y": 0.0}),
    ("x^4 + y^4 + x*y", {"x": 1.0, "y": -0.3}),
    ("sin(x)*cos(y) + 0.1*(x^2 + y^2)", {"x": 1.0, "y": 0.5}),
])
@pytest.mark.parametrize("method", ALL)
def test_the_classification_agrees_with_the_hessian_command(source: str, start: dict[str, float],
                                                             method: str) -> None:
    result = minimize(source, method=method, **start)
    assert result.converged
    reference = hessian_at(parse(source), result.point)
    assert result.classification == reference.classification == "local minimum"
    assert result.definiteness == reference.definiteness
    assert result.eigenvalues is not None and reference.eigenvalues is not None
    scale = max(abs(v) for v in reference.eigenvalues)
    assert all(abs(a - b) <= 1e-9 * scale for a, b in zip(result.eigenvalues, reference.eigenvalues))


def test_the_hessian_commands_saddle_and_maximum() -> None:
    result = minimize("x^3 - 3*x + y^2 - 2*y", method="bfgs", x=-1.0, y=0.0)  # from -1: a saddle
    assert result.classification == hessian_at(parse("x^3 - 3*x + y^2 - 2*y"),
                                               result.point).classification == "saddle point"
    assert not result.ok


@pytest.mark.parametrize("method", ALL)
def test_maximize(method: str) -> None:
    result = minimize("sin(x)*cos(y)", method=method, maximize=True, x=1, y=0.5)
    assert result.ok and result.classification == "local maximum" and result.maximize
    assert abs(result.point["x"] - math.pi / 2) <= 1e-7 and abs(result.value - 1.0) <= 1e-14
    assert result.gradient["x"] == pytest.approx(0.0, abs=1e-8)


def test_maximize_ending_at_a_minimum_is_not_ok() -> None:
    result = minimize("x^2", method="bfgs", maximize=True, x=0.0)
    assert result.classification == "local minimum" and not result.ok
    assert "local minimum, not a maximum" in result.message


# ---------------------------------------------------------------- fix, init, records


def test_fix_and_init() -> None:
    result = minimize("(x - y)^2 + (y - 2)^2 + z^2", fix=["y"], init=5.0, y=1.0)
    assert result.point == {"x": 1.0, "y": 1.0, "z": 0.0}
    assert list(result.gradient) == ["x", "z"]


def test_records_and_rows() -> None:
    program = parse(ROSENBROCK)
    minimizer = Minimizer(program, {"x": -1.2, "y": 1.0}, program.variables, MinimizeConfig(record=1))
    rows = [row for row in minimizer.progress() if row is not None]
    result = minimizer.outcome
    records = minimizer.records
    assert [int(r[0]) for r in records] == list(range(result.iterations + 1))
    compiled = compile_program(program)
    for _, loss, norm, x, y in records:
        value, gradient = compiled.value_and_grad(x, y)
        assert loss == value and norm == math.hypot(*gradient)
    assert records[-1][3:] == (result.point["x"], result.point["y"])
    # rows: every one of the first ten iterations, then every tenth, and the last
    shown = [row.iteration for row in rows]
    assert shown[:11] == list(range(11)) and shown[-1] == result.iterations
    assert all(k % 10 == 0 for k in shown[11:-1])
    assert rows[-1].evaluations == result.evaluations.function


def test_unknown_method_and_bad_settings() -> None:
    with pytest.raises(AdcliError, match="unknown method 'sgd'; choose from newton, bfgs, lbfgs, newton-cg"):
        minimize("x^2", method="sgd", x=1)
    with pytest.raises(AdcliError, match="'gtol' must be a finite number, 0 or more"):
        minimize("x^2", gtol=-1, x=1)
    with pytest.raises(AdcliError, match="0 < 'c1' < 'c2' < 1"):
        run("x^2", {"x": 1.0}, c1=0.5, c2=0.1)
    with pytest.raises(AdcliError, match="every variable is fixed"):
        minimize("x^2", fix=["x"], x=1)
    with pytest.raises(AdcliError, match="no value for variable 'y'"):
        minimize("x^2 + y^2", x=1)


def test_newton_refuses_many_variables() -> None:
    source = " + ".join(f"x{i}^2" for i in range(401))
    with pytest.raises(AdcliError, match="newton-cg"):
        minimize(source, init=1.0)


def test_a_thousand_variables_with_newton_cg() -> None:
    """The extended Rosenbrock function of MGH (problem 21), n = 1000, from its standard start:
    Hessian-vector products, never the 1000×1000 matrix."""
    n = 1000
    source = " + ".join(f"100*(y{i} - x{i}^2)^2 + (1 - x{i})^2" for i in range(n // 2))
    start = {**{f"x{i}": -1.2 for i in range(n // 2)}, **{f"y{i}": 1.0 for i in range(n // 2)}}
    result = minimize(source, method="newton-cg", **start)
    assert result.stop_reason == "gtol" and result.value <= 1e-15 and result.iterations <= 100
    assert result.evaluations.hessian == 0 and result.evaluations.hessian_vector > 0
    assert result.classification == "local minimum"


# ---------------------------------------------------------------- Moré, Garbow and Hillstrom


def reached(problem: object, value: float) -> bool:
    fstar: float = problem.fstar  # type: ignore[attr-defined]
    return value - fstar <= 1e-5 * abs(fstar) + 1e-8


@pytest.mark.parametrize("number", [1, 4, 5, 7, 8, 13, 14, 15])
def test_mgh_problems_from_the_standard_start(number: int) -> None:
    problem = next(p for p in mgh.PROBLEMS if p.number == number)
    result = minimize(problem.text, **problem.point(problem.start))
    assert reached(problem, result.value) and result.converged, (problem.name, result)
    assert result.evaluations.function <= 60


def test_mgh_freudenstein_roth_ends_at_its_local_minimum_and_says_so() -> None:
    problem = next(p for p in mgh.PROBLEMS if p.number == 2)
    result = minimize(problem.text, **problem.point(problem.start))
    assert abs(result.value - 48.9842) <= 1e-4 and result.classification == "local minimum"


# ---------------------------------------------------------------- random problems in random boxes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(ALL))
def test_random_programs_in_random_boxes_end_inside_without_error(data: st.DataObject, method: str) -> None:
    """Whatever the expression (kinks, nan, inf, no minimum): the run ends with a stop reason,
    inside the box, at a point whose value is what f is there, and never worse than the start."""
    source, _ = data.draw(programs(max_leaves=5))
    program = parse(source)
    names = program.variables
    assume(names)
    start = data.draw(points(names))
    bounds: dict[str, tuple[float, float]] = {}
    for name in names:
        low = data.draw(st.sampled_from([-math.inf, -3.0, -1.0, 0.0, start[name]]))
        high = data.draw(st.sampled_from([math.inf, 3.0, 1.0, start[name]]))
        if low <= high:
            bounds[name] = (low, high)
    config = MinimizeConfig(method=method, bounds=bounds, max_iter=200)
    result, _ = minimize_program(program, start, None, config)
    assert result.stop_reason in STOP_REASONS
    for name, (low, high) in bounds.items():
        assert low <= result.point[name] <= high
    value = compile_program(program).value(*result.point.values())
    assert value == result.value or (math.isnan(value) and math.isnan(result.value))
    first = compile_program(program).value(*[min(max(start[n], bounds.get(n, (-math.inf, math.inf))[0]),
                                                 bounds.get(n, (-math.inf, math.inf))[1]) for n in names])
    if math.isfinite(first) and result.stop_reason != "nonfinite":
        assert result.value <= first


# ---------------------------------------------------------------- steep, flat and badly scaled


@pytest.mark.parametrize("method", ["newton", "newton-cg"])
def test_the_first_radius_of_a_steep_function_does_not_overflow(method: str) -> None:
    """‖g‖³ and gᵀHg overflow at 1e110·x² from x = 5: the Cauchy length is ‖g‖/uᵀHu, u = g/‖g‖."""
    result = minimize("1e110*x^2", method=method, x=5)
    assert result.stop_reason == "gtol" and result.ok and result.point == {"x": 0.0}


def test_lbfgs_scaling_never_divides_by_zero() -> None:
    """1/(1+x²) flattens out to the right: y·y underflows to 0, and γ = s·y/y·y is computed
    with y scaled (or left at 1), not as 1/(ρ·y·y)."""
    result = minimize("1/(1+x^2)", method="lbfgs", gtol=0.0, x=1)
    assert result.point["x"] > 1e10 and result.stop_reason in STOP_REASONS


@pytest.mark.parametrize("method", ["bfgs", "lbfgs"])
@pytest.mark.parametrize("scale", ["1e30", "1e40", "1e70", "1e80", "1e90"])
def test_quasi_newton_on_a_steep_quadratic(method: str, scale: str) -> None:
    """The expanded inverse-Hessian update cancels to rounding at 1e40·x²: the product form
    (I - ρsyᵀ)H(I - ρysᵀ) + ρssᵀ, as scipy's, does not."""
    result = minimize(f"{scale}*x^2", method=method, x=5)
    assert result.stop_reason == "gtol" and result.ok and abs(result.point["x"]) <= 1e-8


@pytest.mark.parametrize("method", ["bfgs", "lbfgs"])
@pytest.mark.parametrize("source, minimum", [("1e20*x^2+y^2", {"x": 0.0, "y": 0.0}),
                                             ("1e40*x^2+y^2", {"x": 0.0, "y": 0.0}),
                                             ("1e160*((x-1)^2+y^2)", {"x": 1.0, "y": 0.0})])
def test_quasi_newton_on_badly_scaled_and_overflowing_quadratics(method: str, source: str,
                                                                 minimum: dict[str, float]) -> None:
    """g·g overflows at 1e160 (the first search goes along the unit vector); L-BFGS's γ from a
    pair that saw 1e20 times the curvature left makes a step below f's rounding (the search
    walks it out, or the memory starts again)."""
    result = minimize(source, method=method, x=5 if "1e160" in source else 1, y=1)
    assert all(abs(result.point[n] - v) <= 1e-8 for n, v in minimum.items())
    if "1e160" in source and result.stop_reason == "stalled":
        # the minimum to the last bits, where a gradient of 1e160·2e-16 cannot fall below the
        # (absolute) gtol: stalled, said so, not claimed as converged
        assert not result.ok and all(abs(result.point[n] - v) <= 2e-16 for n, v in minimum.items())
    else:
        assert result.stop_reason == "gtol" and result.ok


@pytest.mark.parametrize("method", ["bfgs", "lbfgs"])
@pytest.mark.parametrize("bounds", [None, {"x": "0:1"}])
def test_a_concave_f_is_walked_down_not_stalled_at_the_start(method: str,
                                                              bounds: dict[str, str] | None) -> None:
    """Along log's concave slope the curvature condition never holds: the search takes the
    sufficient-decrease point it found (no update), and the run goes on toward 0."""
    result = minimize("log(x)", method=method, bounds=bounds, x=0.5)
    assert result.iterations > 1 and result.point["x"] < 1e-10 and result.value < -20
    assert not result.ok and "minimum" not in result.classification


def test_a_tiny_first_radius_grows_instead_of_claiming_convergence() -> None:
    """--radius 1e-20: a step too short for f to show its gain says nothing of the model; the
    region grows (it used to stop at once, 'converged to working precision', ‖g‖ = 233)."""
    config = MinimizeConfig(radius=1e-20)
    result, _ = minimize_program(parse(ROSENBROCK), {"x": -1.2, "y": 1.0}, config=config)
    assert result.stop_reason == "gtol" and result.ok
    assert abs(result.point["x"] - 1.0) <= 1e-8 and abs(result.point["y"] - 1.0) <= 1e-8


@pytest.mark.parametrize("source", ["1e100*x^2+y^2", "1e200*(x^2+y^2)", "1e300*x^2+y^2",
                                    "1e160*((x-1)^2+y^2)"])
def test_newton_cg_on_badly_scaled_quadratics_reaches_the_minimum(source: str) -> None:
    """CG's residual test is relative to ‖g‖, which the steep variable makes: before a
    'precision' stop the subproblem is solved to the end (it stopped at y = 1 with ‖g‖ =
    3e36); and r·r, overflowing at ‖g‖ = 1e200, is computed on g scaled by a power of 2."""
    result = minimize(source, method="newton-cg", x=1, y=1)
    assert result.stop_reason == "gtol" and result.ok
    assert abs(result.point["y"]) <= 1e-8


@pytest.mark.parametrize("setting", [{"xtol": 1e10}, {"ftol": 1e10}, {"gtol": 1e300}])
def test_a_clearly_non_zero_gradient_is_no_minimum_whatever_the_tolerances(setting: dict[str, float]) -> None:
    """A huge tolerance stops the run early; the point is then 'not a critical point' (the
    hessian command's words), the message says so, and the result is not ok."""
    result = minimize(ROSENBROCK, x=-1.2, y=1, **setting)  # type: ignore[arg-type]
    assert result.converged and not result.ok and result.grad_norm > 1.0
    assert result.classification == "not a critical point: the gradient is not zero"
    assert result.message.endswith("; but the gradient is not small here: this is no minimum")


def test_the_line_search_and_trust_region_settings_from_python() -> None:
    """c1, c2 and radius are keywords of minimize(), as --c1, --c2, --radius are options."""
    result = minimize(ROSENBROCK, method="bfgs", c1=1e-3, c2=0.5, x=-1.2, y=1)
    assert result.ok and result.settings["c1"] == 1e-3 and result.settings["c2"] == 0.5
    assert minimize(ROSENBROCK, radius=0.01, x=-1.2, y=1).settings["radius"] == 0.01
    with pytest.raises(AdcliError, match="0 < 'c1' < 'c2' < 1"):
        minimize("x^2", c1=0, x=1)


@pytest.mark.parametrize("bounds, message", [
    ({"x": (0,)}, "give the bounds as a pair (low, high)"), ({"x": 5}, "give the bounds as a pair"),
    ({"x": ("a", 1)}, "not a constant"), ({"x": (None, 1)}, "the low end is not a number")])
def test_malformed_bounds_from_python_are_the_librarys_errors(bounds: dict[str, object],
                                                               message: str) -> None:
    with pytest.raises(AdcliError, match=re.escape(message)):
        minimize("x^2", bounds=bounds, x=1)  # type: ignore[arg-type]


def test_bound_ends_as_texts_in_a_pair() -> None:
    result = minimize("x^2", bounds={"x": ("pi/2", "inf")}, x=3)
    assert result.point == {"x": math.pi / 2} and result.active_bounds == {"x": "lower"}


def test_max_iter_must_be_whole() -> None:
    with pytest.raises(AdcliError, match=re.escape("'max_iter' must be a whole number, not 1.5")):
        minimize("x^2", max_iter=1.5, x=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize("maximize", [False, True])
def test_every_method_stops_as_unbounded_past_the_limit(method: str, maximize: bool) -> None:
    """-exp(x) falls past -1e300 (exp(x) rises past 1e300, maximized): every method says
    unbounded there, rather than 'stalled' or 'converged' at an f of -1.8e308."""
    result = minimize("exp(x)" if maximize else "-exp(x)", method=method, maximize=maximize, x=0)
    assert result.stop_reason == "unbounded" and not result.ok
    assert abs(result.value) > 1e300 and math.isfinite(result.value)
    assert result.classification.startswith("no maximum" if maximize else "no minimum")


def test_a_start_below_the_limit_is_not_unbounded_by_itself() -> None:
    result = minimize("x^2 - 1e305", x=0)
    assert result.stop_reason == "gtol" and result.classification == "local minimum"


def test_stalled_and_precision_read_right_when_maximizing() -> None:
    stalled = minimize("-abs(x)-abs(y)+0.1*x", method="bfgs", maximize=True, x=1, y=1)
    assert stalled.stop_reason == "stalled"
    assert stalled.message == "stalled: no step increases f further, yet the gradient is not small"
    precise = minimize("-(exp(x)-x)*1e10", method="newton", maximize=True, gtol=0, x=3)
    assert precise.stop_reason == "precision"
    assert precise.message == ("converged to working precision: no step raises f by more than its "
                               "rounding error")
    for reason in STOP_REASONS:  # no minimize-only word in any of them
        words = stop_message(reason, maximize=True)
        assert not re.search(r"lower|decrease|falling|below there", words), (reason, words)


def test_gtol_0_is_met_by_a_gradient_of_0_which_did_not_fall_below_it() -> None:
    result = minimize("exp(-x)", gtol=0, x=1)
    assert result.stop_reason == "gtol" and result.grad_norm == 0.0
    assert result.message == "converged: the gradient norm fell to 0 ('gtol' 0)"
    assert minimize("x^2", x=1).message == "converged: the gradient norm fell below 'gtol'"


@pytest.mark.parametrize("method", ALL)
def test_a_far_finite_bound_is_reached_not_called_unbounded(method: str) -> None:
    """-x with x ≤ 1e30: the bound is far beyond a line search's bracketing (4^40 steps), but
    finite, so the run goes to it and ends there, rather than call f unbounded at 6e24."""
    result = minimize("-x", method=method, bounds={"x": "-inf:1e30"}, x=0)
    assert result.stop_reason == "gtol" and result.point == {"x": 1e30}
    assert result.active_bounds == {"x": "upper"} and result.ok
