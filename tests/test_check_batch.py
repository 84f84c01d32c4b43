"""check --points on arrays (check_batch) against the per-point check, its reference."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_cli import expr as ast
from autodiff_cli.check import check
from autodiff_cli.check import points as check_batch
from autodiff_cli.check.differences import float_function
from autodiff_cli.check.point import check_point
from autodiff_cli.check.program import batchable, check_program, sample_points
from autodiff_cli.check.report import CheckSettings, PointCheck
from autodiff_cli.engine.compile import compile_program
from autodiff_cli.language.parser import parse
from autodiff_cli.ops import OPS, Op

from .strategies import smooth_expressions

# Only + - * / and sqrt: correctly rounded in NumPy and in the math module alike, so the
# two paths compute the same bits and must give equal reports.
EXACT = ("(1-x)^2 + 100*(y-x^2)^2", "x*y/(1 + x*x) - z", "sqrt(1 + x*x + y*y) * (x - 2*y*z)",
         "(x + y + z)^2 * x - x*y*z", "x / (2 + y*y) + sqrt(3 + z)")


def per_point(source: str, settings: CheckSettings, fixed: dict[str, float] | None = None
              ) -> list[PointCheck]:
    """The reference: every point checked on its own, in drawing order."""
    program = parse(source)
    fixed = fixed or {}
    assert settings.points is not None
    points = sample_points(program.variables, fixed, settings.points, settings.seed,
                           settings.sample_range)
    f = float_function(program)
    return [check_point(program, f, p, program.variables, settings, i) for i, p in enumerate(points)]


def batched(source: str, settings: CheckSettings, fixed: dict[str, float] | None = None
            ) -> list[PointCheck]:
    """check_program's points, back in drawing order."""
    report = check(source, settings=settings, **(fixed or {}))
    return sorted(report.points, key=lambda p: p.index)


def same(mine: list[PointCheck], reference: list[PointCheck]) -> bool:
    """Equal reports, nan equal to nan (the dataclasses' == says nan != nan)."""
    return repr(mine) == repr(reference)


def count_per_point(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the points that check_batch hands to the per-point check."""
    calls: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> PointCheck:
        calls.append(1)
        return check_point(*args, **kwargs)

    monkeypatch.setattr(check_batch, "check_point", counted)
    return calls


@pytest.mark.parametrize("source", EXACT)
@pytest.mark.parametrize("options", [{}, {"method": "forward"}, {"eps": 1e-5},
                                     {"eps": 1e-4, "method": "forward"}, {"mode": "forward"}])
def test_arrays_give_exactly_the_per_point_report(source: str, options: dict[str, Any]) -> None:
    at = CheckSettings(points=40, seed=5, **options)
    assert same(batched(source, at), per_point(source, at))


@pytest.mark.parametrize("source", EXACT[:2])
def test_no_point_is_checked_alone_when_all_is_plain(source: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_per_point(monkeypatch)
    report = check(source, settings=CheckSettings(points=200, seed=1))
    assert report.ok and len(report.points) == 200 and not calls


@settings(max_examples=40, deadline=None)
@given(source=smooth_expressions(), seed=st.integers(0, 2**32 - 1),
       method=st.sampled_from(["central", "forward"]), mode=st.sampled_from(["reverse", "forward"]))
def test_arrays_agree_with_the_per_point_check_to_rounding(source: str, seed: int,
                                                          method: str, mode: str) -> None:
    at = CheckSettings(points=4, seed=seed, method=method, mode=mode)  # type: ignore[arg-type]
    for mine, reference in zip(batched(source, at), per_point(source, at), strict=True):
        assert mine.point == reference.point and mine.ok == reference.ok
        assert math.isclose(mine.value, reference.value, rel_tol=1e-12, abs_tol=1e-12)
        for v, r in zip(mine.variables, reference.variables, strict=True):
            assert v.name == r.name and v.ok == r.ok
            assert math.isclose(v.autodiff, r.autodiff, rel_tol=1e-12, abs_tol=1e-12)
            if mode == "forward":
                assert v.forward is not None and r.forward is not None
                assert math.isclose(v.forward, r.forward, rel_tol=1e-12, abs_tol=1e-12)
            # Both estimates are within their tolerance of the same derivative.
            assert abs(v.numeric - r.numeric) <= 2 * (at.atol + at.rtol * abs(r.numeric))


def test_a_point_at_a_kink_gets_the_per_point_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_per_point(monkeypatch)
    at = CheckSettings(points=6, seed=2)
    mine = batched("relu(x) * y", at, {"x": 0.0})
    assert same(mine, per_point("relu(x) * y", at, {"x": 0.0}))
    assert len(calls) == 6 and not any(p.ok for p in mine)
    assert all(p.variables[0].kink and "relu(0.0) is at its kink" in (p.variables[0].note or "")
               for p in mine)
    # y is smooth, but its check shares the point, and a point is checked whole.
    assert all(p.variables[1].ok for p in mine)


def test_a_kink_near_no_operation_is_found_by_the_one_sided_differences() -> None:
    # x - 0.1 + 1e-17 is 1e-17 at x = 0.1: abs is not at its kink, but every step crosses it.
    at = CheckSettings(points=3, seed=0)
    source = "abs(x - 0.1 + 1e-17) + y"
    mine = batched(source, at, {"x": 0.1})
    assert same(mine, per_point(source, at, {"x": 0.1}))
    assert all(not p.ok and p.variables[0].kink for p in mine)
    assert "the one-sided differences disagree" in (mine[0].variables[0].note or "")


def test_the_kink_test_on_arrays() -> None:
    compiled = compile_program(parse("abs(x) + y"))
    columns = [np.array([0.0, 1.0, -1e-20]), np.array([2.0, 2.0, 2.0])]
    center = compiled.values_at(*columns)
    step = np.full(3, 1e-6)
    along = check_batch._Along(compiled, columns, center, 4)
    kink, smooth = along.kinks([0, 1], [step, step], [np.full(3, 1e-5)] * 2)
    assert kink.tolist() == [True, False, True]
    assert smooth.tolist() == [False, False, False]


def test_variables_move_together_at_one_point_and_one_at_a_time_at_many() -> None:
    """A block of variables makes every operation of the call the block's size: worth it at one
    point (the calls dominate), not at a thousand (the arithmetic does)."""
    compiled = compile_program(parse(" + ".join(f"x{i}*x{i + 1}" for i in range(30))))
    for points, together in ((1, 31), (1000, 1)):
        columns = [np.linspace(0.5, 1.5, points) for _ in compiled.variables]
        along = check_batch._Along(compiled, columns, compiled.values_at(*columns), 60)
        blocks = along.blocks(list(range(31)), 32)
        assert len(blocks[0]) == together
        assert sorted(i for b in blocks for i in b) == list(range(31))


def test_non_finite_points_and_passing_points_mix_in_one_report() -> None:
    at = CheckSettings(points=30, seed=1, sample_range=(-1.0, 1.0))
    mine = batched("log(x) + y", at)
    reference = per_point("log(x) + y", at)
    assert [p.ok for p in mine] == [p.ok for p in reference] == [p.point["x"] > 0 for p in mine]
    assert [p.note for p in mine] == [p.note for p in reference]


def test_a_fixed_step_below_the_resolution_of_x_fails_with_the_reason() -> None:
    at = CheckSettings(points=3, seed=0, eps=1e-30)
    mine = batched("x * y", at, {"x": 1.0})
    assert same(mine, per_point("x * y", at, {"x": 1.0}))
    assert "below the resolution" in (mine[0].variables[0].note or "")


def test_richardson_runs_point_by_point(monkeypatch: pytest.MonkeyPatch) -> None:
    assert batchable(CheckSettings()) and batchable(CheckSettings(method="forward"))
    assert batchable(CheckSettings(mode="forward"))
    assert not batchable(CheckSettings(method="richardson"))
    calls = count_per_point(monkeypatch)
    assert check_program(parse("x*y"), [], settings=CheckSettings(points=3, method="richardson")).ok
    assert not calls  # check_batch was not used


def test_forward_mode_on_arrays_catches_a_wrong_tangent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forward mode is checked against reverse mode and the estimate at every point: a tangent
    rule that is wrong by one part in 10,000 fails everywhere, through the arrays."""
    sin = OPS["sin"]
    wrong = Op(sin.name, sin.forward, sin.partials, sin.doc, sin.spellings, sin.symbol, sin.public,
               numpy=sin.numpy, tangent=lambda m, args, tangents, out: 1.0001 * m.cos(args[0]) * tangents[0])
    x, y = ast.Var("x"), ast.Var("y")
    program = ast.Program("sin(x) * y", ast.Apply(OPS["mul"], (ast.Apply(wrong, (x,)), y)), ("x", "y"))
    report = check_program(program, [], settings=CheckSettings(points=20, mode="forward"))
    assert report.failures == 20
    assert all("reverse and forward mode disagree" in (p.variables[0].note or "") for p in report.points)


@pytest.mark.parametrize(("source", "low", "high"), [
    ("sqrt(x)*sqrt(y)", 1e-300, 1e-290), ("1/x + 1/y", 1e-12, 1e-8), ("x*y/(x*x + y*y)", 1e-9, 1e-7),
])
@pytest.mark.parametrize("method", ["central", "forward"])
def test_at_tiny_arguments_both_paths_scale_the_ladder_alike(source: str, low: float, high: float,
                                                            method: Any) -> None:
    """Where the usual ladder reaches past 0 or across a pole, both paths try the ladder
    scaled to |x| (differences.rescale) and pass, with the same report."""
    at = CheckSettings(points=30, seed=2, sample_range=(low, high), method=method,
                       rtol=1e-5 if method == "central" else 1e-4)
    reference = per_point(source, at)
    assert all(p.ok for p in reference)
    assert same(batched(source, at), reference)
