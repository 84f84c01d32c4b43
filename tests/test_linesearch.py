"""The strong Wolfe line search: both conditions hold at every step it accepts."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autodiff_cli import parse
from autodiff_cli.engine.compile import compile_program
from autodiff_cli.optimize import minimize as minimize_module
from autodiff_cli.optimize import search as search_module
from autodiff_cli.optimize.linesearch import LineSearch, strong_wolfe

from .strategies import points, programs


def wolfe_holds(search: LineSearch, value0: float, slope0: float, c1: float, c2: float) -> bool:
    return (search.value <= value0 + c1 * search.alpha * slope0
            and abs(search.slope) <= -c2 * slope0)


def along(source: str, point: dict[str, float], direction: list[float] | None = None) -> Any:
    """φ(α) = f(x + α·d) for a program, d the steepest descent direction by default."""
    program = parse(source)
    compiled = compile_program(program)
    x = [point[name] for name in program.variables]
    value0, gradient = compiled.value_and_grad(*x)
    d = [-g for g in gradient] if direction is None else direction

    def phi(alpha: float) -> tuple[float, float, Any]:
        f, g = compiled.value_and_grad(*[xi + alpha * di for xi, di in zip(x, d)])
        return f, math.fsum(gi * di for gi, di in zip(g, d)), None

    slope0 = math.fsum(g * di for g, di in zip(gradient, d))
    return phi, value0, slope0


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from([(1e-4, 0.9), (1e-4, 0.1), (0.3, 0.5)]),
       st.sampled_from([1.0, 1e-3, 10.0, 1e3]))
def test_accepted_steps_satisfy_the_strong_wolfe_conditions(
        data: st.DataObject, constants: tuple[float, float], alpha0: float) -> None:
    source, _ = data.draw(programs(max_leaves=6))
    program = parse(source)
    point = data.draw(points(program.variables))
    phi, value0, slope0 = along(source, point)
    assume(math.isfinite(value0) and math.isfinite(slope0) and slope0 < -1e-6)
    c1, c2 = constants
    search = strong_wolfe(phi, value0, slope0, alpha0, c1=c1, c2=c2)
    if search.status == "ok":
        assert wolfe_holds(search, value0, slope0, c1, c2), (source, point, search)
        value, slope, _ = phi(search.alpha)
        assert (value, slope) == (search.value, search.slope)
    else:
        assert search.status in ("failed", "unbounded")


def test_every_accepted_step_of_bfgs_and_lbfgs_satisfies_them(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    original = search_module.strong_wolfe

    def checked(phi: Any, value0: float, slope0: float, alpha0: float = 1.0, **kw: Any) -> LineSearch:
        search = original(phi, value0, slope0, alpha0, **kw)
        if search.status == "ok":
            seen.append(wolfe_holds(search, value0, slope0, kw["c1"], kw["c2"]))
        return search

    monkeypatch.setattr(search_module, "strong_wolfe", checked)
    for method in ("bfgs", "lbfgs"):
        for source, start in [("(1-x)^2 + 100*(y-x^2)^2", {"x": -1.2, "y": 1.0}),
                              ("exp(x - 1) + exp(1 - x) + (y - x)^4 + sin(z)^2",
                               {"x": 3.0, "y": -2.0, "z": 1.0})]:
            result = minimize_module.minimize(source, method=method, **start)
            assert result.converged
    assert len(seen) > 40 and all(seen)


def test_a_quadratic_gets_its_exact_minimizer_along_the_line() -> None:
    """φ(α) = (α - 3)², from 0 with slope -6: the cubic interpolation lands on 3 exactly."""
    def phi(alpha: float) -> tuple[float, float, Any]:
        return (alpha - 3.0) ** 2, 2.0 * (alpha - 3.0), "extra"

    search = strong_wolfe(phi, 9.0, -6.0, 1.0, c2=0.1)
    assert search.status == "ok" and search.alpha == 3.0 and search.extra == "extra"


def test_non_finite_values_shorten_the_step() -> None:
    """log(1 - α): inf and nan beyond α = 1; the search steps back inside."""
    def phi(alpha: float) -> tuple[float, float, Any]:
        if alpha >= 1.0:
            return math.nan, math.nan, None
        return -math.log1p(-alpha) - 2.0 * alpha, 1.0 / (1.0 - alpha) - 2.0, None

    search = strong_wolfe(phi, 0.0, -1.0, 8.0)
    assert search.status == "ok" and 0.0 < search.alpha < 1.0
    assert wolfe_holds(search, 0.0, -1.0, 1e-4, 0.9)


def test_unbounded_below() -> None:
    search = strong_wolfe(lambda a: (-a, -1.0, None), 0.0, -1.0, 1.0)
    assert search.status == "unbounded" and search.alpha > 1e12
    search = strong_wolfe(lambda a: (-a * a * 1e300, -2e300 * a, None), 0.0, -1e-300, 1.0)
    assert search.status == "unbounded"


def test_alpha_max_stops_the_search_at_a_bound() -> None:
    search = strong_wolfe(lambda a: (-a, -1.0, None), 0.0, -1.0, 1.0, alpha_max=5.0)
    assert search.status == "bound" and search.alpha == 5.0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="descent"):
        strong_wolfe(lambda a: (a, 1.0, None), 0.0, 1.0)
    with pytest.raises(ValueError, match="0 < c1 < c2 < 1"):
        strong_wolfe(lambda a: (-a, -1.0, None), 0.0, -1.0, c1=0.9, c2=0.1)


def test_a_concave_phi_gives_the_sufficient_decrease_it_found() -> None:
    """φ = log(0.5 - α): |φ'| only grows, so no step meets the curvature condition; the search
    returns its lowest sufficient-decrease trial (status ``decrease``), accepted."""
    def phi(alpha: float) -> tuple[float, float, Any]:
        x = 0.5 - alpha
        return (math.log(x), -1.0 / x, alpha) if x > 0.0 else (math.nan, math.nan, None)

    search = strong_wolfe(phi, math.log(0.5), -2.0, 1.0)
    assert search.status == "decrease" and search.accepted and 0.0 < search.alpha < 0.5
    assert search.value <= math.log(0.5) + 1e-4 * search.alpha * -2.0 and search.extra == search.alpha


def test_a_step_below_fs_rounding_is_walked_out_of_it() -> None:
    """Along a direction 1e-20 long f = y² (from y = 1) does not change at the first trials: the
    bracket grows by the most it may each time instead of zooming on rounding."""
    def phi(alpha: float) -> tuple[float, float, Any]:
        y = 1.0 - 1e-20 * alpha
        return y * y, -2e-20 * y, None

    search = strong_wolfe(phi, 1.0, -2e-20, 1.0)
    assert search.accepted and search.value < 1.0
