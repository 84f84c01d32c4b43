"""adcli check: gradients against finite differences, through the library and the CLI."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner

from autodiff_cli import expr as ast
from autodiff_cli.check.point import (
    ATOL,
    METHODS,
    MODES,
    RTOL,
    CheckReport,
    CheckSettings,
    central_difference,
    check,
    check_program,
    estimate,
    float_function,
    forward_difference,
    parse_range,
    richardson,
    sample_points,
)
from autodiff_cli.cli import app as cli_app
from autodiff_cli.cli import check as check_command
from autodiff_cli.errors import AdcliError, VariableError
from autodiff_cli.language.parser import parse
from autodiff_cli.ops import FLOAT, FUNCTIONS, OPS, Op, public_operations
from autodiff_cli.render.check import check_view
from autodiff_cli.render.json import check_json

runner = CliRunner()

# ---------------------------------------------------------------- helpers (shared with test_forward)

_UNARY = ("sin({})", "cos({})", "tanh({})", "atan({})", "sigmoid({})", "softplus({})", "erf({})",
          "exp(sin({}))", "log(1 + ({})^2)", "sqrt(1 + ({})^2)", "exp(-({})^2)", "asinh({})",
          "cosh(tanh({}))", "atanh(tanh({})/2)")
_BINARY = ("({}) + ({})", "({}) - ({})", "({}) * ({})", "({}) / (1 + ({})^2)",
           "atan2({}, 2 + ({})^2)", "({}) * exp(tanh({}))", "hypot({}, 1 + ({})^2)",
           "({})^2 + ({})^3")


def expressions() -> st.SearchStrategy[str]:
    """Smooth expressions in x, y, z: every operation stays inside its domain and away from
    kinks, and values stay moderate, for variables in [-2, 2]."""
    leaf = st.one_of(st.sampled_from(("x", "y", "z")),
                     st.floats(-3, 3, allow_nan=False).map(lambda v: f"({v!r})"))
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(st.sampled_from(_UNARY), inner).map(lambda t: t[0].format(t[1])),
        st.tuples(st.sampled_from(_BINARY), inner, inner).map(lambda t: t[0].format(*t[1:]))),
        max_leaves=10)


def sample_point(op: Op) -> tuple[float, ...]:
    """Arguments where ``op`` is smooth, with a finite, not tiny, partial derivative."""
    candidates: dict[int, list[tuple[float, ...]]] = {
        1: [(0.3,), (0.7,), (1.5,)], 2: [(0.7, 1.3), (1.3, 0.6), (2.0, 3.0)]}
    for args in candidates[op.arity]:
        out = op.forward(*args)
        partials = [rule(FLOAT, *args, out) for rule in op.partials]
        if math.isfinite(out) and all(math.isfinite(p) for p in partials) and not (
                op.kink is not None and op.kink(*args)):
            return args
    raise AssertionError(f"no smooth sample point for {op.name}")


def one_op_program(op: Op) -> ast.Program:
    names = ("x", "y")[: op.arity]
    return ast.Program(f"{op.name}({', '.join(names)})",
                       ast.Apply(op, tuple(ast.Var(n) for n in names)), names)


def off_by_one_part_in_10000(op: Op) -> Op:
    """The operation with every partial rule wrong by one part in 10,000 (at least 1e-4).

    Written against the algebra ``m``, like the registry's rules, so that it works in
    every interpreter (floats, Scalars, compiled code)."""

    def wrong(rule: Callable[..., Any]) -> Callable[..., Any]:
        def rule_(m: Any, *args: Any) -> Any:
            value = rule(m, *args)
            return value + 1e-4 * m.sqrt(1.0 + value * value)  # sqrt(1+v^2) >= max(1, |v|)
        return rule_

    return Op(op.name, op.forward, tuple(wrong(r) for r in op.partials), op.doc,
              op.spellings, op.symbol, op.public, kink=op.kink)


def given_point(op: Op) -> list[tuple[str, float]]:
    return list(zip(("x", "y"), sample_point(op)))


def invoke(*args: str) -> Any:
    return runner.invoke(cli_app, ["check", *args])


# ---------------------------------------------------------------- finite differences


def test_central_difference_is_the_symmetric_quotient() -> None:
    # For a cubic the central difference is exactly 3x^2 + eps^2: the formula, not a guess.
    assert central_difference(lambda x: x ** 3, 2.0, epsilon=0.5) == 12.25
    assert central_difference(lambda x, y: x * y ** 2, 3.0, 2.0, arg=1, epsilon=0.25) == 12.0
    assert forward_difference(lambda x: x ** 2, 1.0, epsilon=0.5) == 2.5  # 2x + eps


def test_central_difference_refuses_a_step_below_the_resolution() -> None:
    with pytest.raises(ValueError, match="below the resolution"):
        central_difference(math.sin, 1.0, epsilon=1e-30)


def test_richardson_is_accurate_and_estimates_its_error() -> None:
    found = richardson(math.exp, 1.0)
    assert found.error is not None
    assert abs(found.value - math.e) <= found.error < 1e-10
    fixed = richardson(math.exp, 1.0, epsilon=0.1)
    assert fixed.step <= 0.1 and abs(fixed.value - math.e) < 1e-9


def test_float_function_agrees_with_the_scalar_graph() -> None:
    program = parse("a = sin(x)*y; a + a^2 - log(y)")
    f = float_function(program)
    assert f(0.7, 1.9) == check("a = sin(x)*y; a + a^2 - log(y)", x=0.7, y=1.9).points[0].value


@pytest.mark.parametrize(("source", "x"), [("sin(x)", 1e4), ("x^3", 1e6)])
def test_the_chosen_step_suits_both_hard_cases(source: str, x: float) -> None:
    """The example of the issue: neither a scaled step nor a fixed small one passes both."""
    f = float_function(parse(source))
    truth = math.cos(x) if source == "sin(x)" else 3 * x * x

    def fails(step: float) -> bool:
        return abs(central_difference(f, x, epsilon=step) - truth) > ATOL + RTOL * abs(truth)

    scaled, fixed = 6e-6 * max(1.0, abs(x)), 1e-6
    assert fails(scaled) if source == "sin(x)" else fails(fixed)
    assert check(source, x=x).ok
    assert invoke(source, "--x", repr(x)).exit_code == 0


def test_the_step_follows_the_error_estimate_not_the_scale() -> None:
    small = estimate(float_function(parse("sin(x)")), 1e4)
    large = estimate(float_function(parse("x^3")), 1e6)
    assert small.step < 1e-4 < 1.0 <= large.step


def test_a_coarse_function_does_not_fool_the_step_choice() -> None:
    # log(1 + t) for tiny t takes coarse values; tiny steps see no change at all, so their
    # neighbouring estimates agree exactly (at 0).  The rounding bound keeps the ladder off them.
    report = check("log(1 + (sigmoid(z)^3)^2 * 1e-7)", z=-1.19)
    assert report.ok, report.points[0].variables[0]


# ---------------------------------------------------------------- catching wrong rules


@pytest.mark.parametrize("op", list(public_operations()), ids=lambda op: op.name)
def test_every_registry_rule_passes_and_a_wrong_one_is_caught(op: Op) -> None:
    program = one_op_program(op)
    right = check_program(program, given_point(op))
    assert right.ok, right.points[0].variables
    args = program.result.args  # type: ignore[union-attr]
    wrong_op = off_by_one_part_in_10000(op)
    wrong = check_program(ast.Program(program.source, ast.Apply(wrong_op, args), program.variables),
                          given_point(op))
    assert not wrong.ok
    assert all(not v.ok for v in wrong.points[0].variables)
    assert wrong.max_rel_error >= 5e-5


def test_a_wrong_rule_injected_into_the_registry_fails_the_cli(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sin = OPS["sin"]
    wrong = Op("sin", sin.forward, (lambda m, x, out: m.cos(x) * 1.0001,), sin.doc, sin.spellings)
    monkeypatch.setitem(FUNCTIONS["sin"], 1, wrong)
    result = invoke("sin(x)*y + y", "--points", "5", "--seed", "3")
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.stdout and "5 of 5 points fail" in result.stdout
    monkeypatch.undo()
    assert invoke("sin(x)*y + y", "--points", "5", "--seed", "3").exit_code == 0


def test_a_wrong_tangent_rule_is_caught_in_forward_mode() -> None:
    cos = OPS["cos"]
    wrong = Op("cos", cos.forward, cos.partials, cos.doc, cos.spellings,
               tangent=lambda m, args, tangents, out: m.sin(args[0]) * tangents[0])
    program = ast.Program("cos(x)", ast.Apply(wrong, (ast.Var("x"),)), ("x",))
    assert check_program(program, [("x", 0.8)]).ok  # reverse mode is right
    report = check_program(program, [("x", 0.8)], settings=CheckSettings(mode="forward"))
    assert not report.ok
    only = report.points[0].variables[0]
    assert only.forward == pytest.approx(math.sin(0.8))
    assert only.note is not None and "reverse and forward mode disagree" in only.note


# ---------------------------------------------------------------- random smooth expressions pass


@settings(max_examples=40, deadline=None)
@given(source=expressions(), seed=st.integers(0, 2**32 - 1),
       method=st.sampled_from(("central", "richardson")))
def test_random_smooth_expressions_pass_at_random_points(source: str, seed: int,
                                                         method: str) -> None:
    report = check(source, settings=CheckSettings(method=method, points=3,  # type: ignore[arg-type]
                                                  seed=seed, mode="forward"))
    assert report.ok, [(p.point, p.variables) for p in report.points if not p.ok]


@settings(max_examples=25, deadline=None)
@given(source=expressions(), seed=st.integers(0, 2**32 - 1))
def test_random_expressions_with_a_wrong_rule_fail(source: str, seed: int) -> None:
    inner = parse(source)
    assume(inner.variables)

    def wrapped(op: Op) -> ast.Program:
        return ast.Program(f"sin({source})", ast.Apply(op, (inner.result,)), inner.variables)

    at = CheckSettings(points=2, seed=seed)
    right = check_program(wrapped(OPS["sin"]), [], settings=at)
    assert right.ok
    assume(any(abs(v.autodiff) > 1e-3 for p in right.points for v in p.variables))
    assert not check_program(wrapped(off_by_one_part_in_10000(OPS["sin"])), [], settings=at).ok


# ---------------------------------------------------------------- kinks and non-finite values


@pytest.mark.parametrize(("source", "x"), [("relu(x)", 0.0), ("abs(x)", 0.0), ("max(x, 1)", 1.0),
                                           ("min(x, 2 - x)", 1.0), ("abs(x - 1) + x^2", 1.0)])
def test_a_kink_fails_with_a_note_not_a_crash(source: str, x: float) -> None:
    report = check(source, x=x)
    variable = report.points[0].variables[0]
    assert not report.ok and variable.kink
    assert variable.note is not None and variable.note.startswith("kink:")
    assert "one-sided differences disagree" in variable.note and "is at its kink" in variable.note
    result = invoke(source, "--x", repr(x))
    assert result.exit_code == 1 and "kink" in result.stdout


def test_a_jump_fails_as_a_kink() -> None:
    variable = check("sign(x)", x=0.0).points[0].variables[0]
    assert not variable.ok and variable.kink
    assert variable.note == "kink: sign(0.0) is at its kink, where the autodiff derivative is a convention"


def test_a_kink_that_the_function_smooths_over_passes_with_a_note() -> None:
    variable = check("abs(x)^2", x=0.0).points[0].variables[0]
    assert variable.ok and not variable.kink
    assert variable.note is not None and "differentiable in x here" in variable.note


def test_a_kink_in_another_variable_only_concerns_that_variable() -> None:
    report = check("relu(x) + y^2", x=0.0, y=1.5)
    by_name = {v.name: v for v in report.points[0].variables}
    assert not by_name["x"].ok and by_name["y"].ok and by_name["y"].note is None


@pytest.mark.parametrize("x", [1e-3, 1e-5, 1e-7, -1e-7])
@pytest.mark.parametrize("method", METHODS)
def test_near_a_kink_is_not_a_kink(x: float, method: str) -> None:
    report = check("relu(x)", settings=CheckSettings(method=method), x=x)  # type: ignore[arg-type]
    assert report.ok, report.points[0].variables


def test_a_non_finite_value_fails_with_its_reason() -> None:
    variable = check("log(x)", x=-1.0).points[0].variables[0]
    assert not variable.ok
    assert variable.note == "f is not finite here: log(-1.0) = nan"
    assert check("log(x)", x=-1.0).points[0].note == "f is not finite here: log(-1.0) = nan"


def test_a_non_finite_derivative_fails_with_its_reason() -> None:
    variable = check("sqrt(x)", x=0.0).points[0].variables[0]
    assert not variable.ok and variable.autodiff == math.inf
    assert variable.note == "the autodiff derivative is inf: the derivative of sqrt(0.0) is inf"


def test_a_step_below_the_resolution_fails_with_its_reason() -> None:
    variable = check("sin(x)", settings=CheckSettings(eps=1e-30), x=1.0).points[0].variables[0]
    assert not variable.ok and math.isnan(variable.numeric)
    assert variable.note == "the step 1e-30 is below the resolution of 1.0"


# ---------------------------------------------------------------- many points


def test_points_draw_the_missing_variables_and_keep_the_given_ones() -> None:
    report = check("x*y + z", settings=CheckSettings(points=20, seed=7, sample_range=(1.0, 3.0)),
                   y=-5)
    assert len(report.points) == 20 and report.drawn == ("x", "z")
    assert all(p.point["y"] == -5.0 for p in report.points)
    assert all(1.0 <= p.point[v] <= 3.0 for p in report.points for v in ("x", "z"))
    assert sorted(p.index for p in report.points) == list(range(20))
    again = check("x*y + z", settings=CheckSettings(points=20, seed=7, sample_range=(1.0, 3.0)),
                  y=-5)
    assert again == report
    assert sample_points(["x", "y"], {"y": 1.0}, 2, 7) == sample_points(["x", "y"], {"y": 1.0}, 2, 7)


def test_the_worst_point_comes_first() -> None:
    report = check("log(x)", settings=CheckSettings(points=30, seed=1, sample_range=(-1.0, 1.0)))
    oks = [p.ok for p in report.points]
    assert oks == sorted(oks) and not oks[0] and oks[-1]
    assert report.failures == oks.count(False)
    assert all(p.point["x"] < 0 for p in report.points if not p.ok)
    # Among the passing points, the first is the one closest to its tolerance.
    def margin(point: Any) -> float:
        return max(v.abs_error / (ATOL + RTOL * abs(v.numeric)) for v in point.variables)

    passing = [p for p in report.points if p.ok]
    assert margin(passing[0]) == max(margin(p) for p in passing)


def test_without_points_every_variable_needs_a_value() -> None:
    with pytest.raises(VariableError, match="no value for variable 'y'"):
        check("x*y", x=1)
    with pytest.raises(VariableError, match="no variable 'q'"):
        check("x*y", settings=CheckSettings(points=2), q=1)


def test_wrt_checks_only_those_variables() -> None:
    report = check("x*y + log(z)", wrt="y", x=1, y=2, z=-1)
    assert [v.name for v in report.points[0].variables] == ["y"]


def test_no_variables_is_a_pass() -> None:
    report = check("2 + 3")
    assert report.ok and report.points[0].variables == ()
    assert invoke("2 + 3").exit_code == 0


# ---------------------------------------------------------------- settings and input errors


@pytest.mark.parametrize("bad", [dict(eps=0.0), dict(eps=-1.0), dict(eps=math.nan),
                                 dict(rtol=-1.0), dict(atol=math.inf), dict(points=0),
                                 dict(sample_range=(2.0, 1.0)), dict(method="secant"),
                                 dict(mode="sideways")])
def test_bad_settings_are_user_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(AdcliError):
        CheckSettings(**bad)


def test_parse_range() -> None:
    assert parse_range("-pi:pi") == (-math.pi, math.pi)
    for bad in ("1", "2:1", "a:b", "0:1e999"):
        with pytest.raises(AdcliError):
            parse_range(bad)


def test_cli_choices_are_the_library_ones() -> None:
    assert [m.value for m in check_command.CheckMethod] == list(METHODS)
    assert [m.value for m in check_command.CheckMode] == list(MODES)


# ---------------------------------------------------------------- the command line


def test_exit_status_0_on_pass_with_the_table() -> None:
    result = invoke("sin(x)+x*y", "--x", "1", "--y", "2")
    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["var", "step", "autodiff", "numeric", "abs", "err", "rel", "err", "result"] in rows
    assert any(row[0] == "x" and row[-1] == "pass" for row in rows if row)
    assert "2.5403023058681398" in result.stdout  # the autodiff value, at full precision
    assert "\nPASS: every derivative agrees (max abs error " in result.stdout


def test_exit_status_1_on_failure() -> None:
    assert invoke("relu(x)", "--x", "0").exit_code == 1
    assert invoke("log(x)", "--points", "10", "--range", "-1:1").exit_code == 1
    assert invoke("sin(x)", "--x", "1", "--eps", "1e-30").exit_code == 1


@pytest.mark.parametrize("args", [
    ["sin(x)", "--x", "1", "--eps", "0"],
    ["sin(x)", "--x", "1", "--eps", "-1e-3"],
    ["sin(x)", "--x", "1", "--rtol", "-1"],
    ["sin(x)", "--x", "1", "--atol", "nan"],
    ["sin(x)", "--points", "0"],
    ["sin(x)", "--points", "3", "--range", "2:1"],
    ["sin(x)", "--points", "3", "--range", "1"],
    ["sin(x)", "--x", "1", "--method", "secant"],
    ["sin(x)", "--x", "1", "--mode", "sideways"],
    ["sin(x)*y", "--x", "1"],
    ["sin(x)", "--x", "1", "--z", "2"],
    ["sin(x", "--x", "1"],
    ["sin(x)", "--x", "one"],
    [],
])
def test_exit_status_2_on_bad_input(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_cli_reads_a_file_and_takes_wrt(tmp_path: Path) -> None:
    source = tmp_path / "f.txt"
    source.write_text("a = x*y\na + sin(y)\n", encoding="utf-8")
    result = invoke("--file", str(source), "--x", "2", "--y", "1", "--wrt", "y", "--json")
    assert result.exit_code == 0
    assert list(json.loads(result.stdout)["points"][0]["variables"]) == ["y"]


def test_json_carries_the_whole_report() -> None:
    result = invoke("sin(x)+x*y", "--y", "2", "--points", "4", "--seed", "5", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert list(data)[:3] == ["ok", "max_abs_error", "max_rel_error"]
    assert data["ok"] is True and data["seed"] == 5 and data["range"] == [-2.0, 2.0]
    assert len(data["points"]) == 4
    for point in data["points"]:
        assert point["point"]["y"] == 2.0
        x = point["variables"]["x"]
        assert x["autodiff"] == math.cos(point["point"]["x"]) + 2.0
        assert abs(x["numeric"] - x["autodiff"]) == pytest.approx(x["abs_error"])
        assert x["rel_error"] == pytest.approx(x["abs_error"] / abs(x["numeric"]))
    assert data["max_abs_error"] == max(p["max_abs_error"] for p in data["points"])


def test_json_is_valid_with_non_finite_numbers() -> None:
    result = invoke("log(x)", "--x", "-1", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["max_abs_error"] == "nan"
    assert data["points"][0]["variables"]["x"]["note"] == "f is not finite here: log(-1.0) = nan"


def test_forward_mode_and_richardson_columns() -> None:
    result = invoke("sin(x)+x*y", "--x", "1", "--y", "2", "--mode", "forward",
                    "--method", "richardson")
    assert result.exit_code == 0
    header = next(line.split() for line in result.stdout.splitlines() if line.startswith("var"))
    assert "fwd-rev" in header and "±" in header and header[-1] == "result"
    assert "reverse mode, forward mode and the numeric estimates agree" in result.stdout
    data = json.loads(invoke("sin(x)", "--x", "1", "--mode", "forward", "--json").stdout)
    assert data["points"][0]["variables"]["x"]["forward"] == math.cos(1.0)


def test_many_points_view_lists_the_worst_first_and_counts_the_rest() -> None:
    result = invoke("log(x)", "--points", "30", "--seed", "1", "--range", "-1:1")
    assert result.exit_code == 1
    out = result.stdout
    assert "30 points: x drawn from [-1.0, 1.0] (seed 1)" in out
    assert "worst point x = -" in out and "points, worst first" in out
    assert "… and 20 more" in out and "FAIL: " in out and "of 30 points fail" in out


def test_check_view_renders_notes_on_a_plain_console() -> None:
    report: CheckReport = check("relu(x)", x=0.0)
    console = Console(width=100, color_system=None, record=True)
    console.print(check_view(report))
    text = console.export_text()
    assert "x: kink: relu(0.0) is at its kink" in text
    assert text.rstrip().endswith("FAIL: x fails (max abs error 0.5, max rel error 1)")
    assert json.loads(check_json(report))["points"][0]["variables"]["x"]["kink"] is True


def test_a_deep_expression_is_checked_without_recursion() -> None:
    node: ast.Expr = ast.Var("x")
    for _ in range(20_000):
        node = ast.Apply(OPS["add"], (ast.Apply(OPS["sin"], (node,)), ast.Num(0.5)))
    report = check_program(ast.Program("deep", node, ("x",)), [("x", 0.3)])
    assert report.ok, report.points[0].variables


def test_help_quotes_the_default_tolerances() -> None:
    from typer.testing import CliRunner

    from autodiff_cli.check.point import ATOL, RTOL
    from autodiff_cli.cli import app

    out = CliRunner().invoke(app, ["check", "--help"], env={"COLUMNS": "200"})
    assert f"Default: {RTOL!r}." in out.stdout and f"Default: {ATOL!r}." in out.stdout
