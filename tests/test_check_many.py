"""A check of many variables costs about n evaluations of f per rung, done in a few calls on
arrays: counted here, not timed.  (Checking 3,000 variables took 29 s of CPU, and 88 s in
forward mode: each variable's ladder was 36 calls of f, each call O(n).)"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from autodiff_cli.check import check, point
from autodiff_cli.check import points as on_arrays
from autodiff_cli.check import program as check_program_module
from autodiff_cli.check.report import CheckSettings
from autodiff_cli.engine import forward
from autodiff_cli.engine.compile import Compiled
from autodiff_cli.expr import postorder
from autodiff_cli.language.parser import parse


def chain(n: int, exact: bool = False) -> tuple[str, dict[str, float]]:
    """A sum coupling each variable to the next: n variables."""
    term = "(x{i} - 1)^2 * (x{j} + 2)" if exact else "(x{i} - 1)^2 * sin(x{j})"
    text = " + ".join(term.format(i=i, j=(i + 1) % n) for i in range(n))
    return text, {f"x{i}": 0.1 + 0.8 * ((i * 37) % 101) / 101 for i in range(n)}


def count_evaluations(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Calls of the compiled function on arrays, and the points they evaluate f at."""
    seen = {"calls": 0, "points": 0, "largest": 0}
    real = Compiled.values_at

    def counted(self: Compiled, *columns: Any, dtype: Any = None) -> Any:
        values = real(self, *columns, dtype=dtype)
        seen["calls"] += 1
        seen["points"] += int(np.size(values))
        seen["largest"] = max(seen["largest"], int(np.size(values)))
        return values

    monkeypatch.setattr(Compiled, "values_at", counted)
    return seen


def test_n_variables_cost_n_evaluations_per_rung_in_a_few_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    n = 300
    text, values = chain(n)
    seen = count_evaluations(monkeypatch)
    alone: list[int] = []
    monkeypatch.setattr(point, "_check_variable", lambda *args, **kwargs: alone.append(1))
    report = check(text, **values)
    assert report.ok and len(report.points[0].variables) == n
    assert not alone  # no variable went to the per-variable check on floats
    # Per variable: the ladder's 15 rungs on each side and the kink test's 3 steps on each.
    assert seen["points"] == n * (30 + 6)
    assert seen["calls"] <= 6


def test_forward_mode_sweeps_a_block_of_variables_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    n = 300
    text, values = chain(n)
    sweeps: list[int] = []
    real = forward._block_sweep

    def counted(*args: Any) -> Any:
        sweeps.append(len(args[2]))
        return real(*args)

    monkeypatch.setattr(forward, "_block_sweep", counted)
    report = check(text, settings=CheckSettings(mode="forward"), **values)
    assert report.ok
    assert sweeps == [n]


def test_on_arrays_a_point_gets_the_report_of_the_check_on_floats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only + - * /: NumPy and the math module round alike, so both give the same report."""
    text, values = chain(40, exact=True)
    arrays = check(text, **values)
    monkeypatch.setattr(check_program_module, "ON_ARRAYS", 10**9)
    floats = check(text, **values)
    assert repr(arrays) == repr(floats)


def test_only_the_variables_that_need_notes_are_checked_on_floats(monkeypatch: pytest.MonkeyPatch) -> None:
    text, values = chain(30)
    text += " + abs(x7 - 0.25) + relu(x3)"
    values["x7"] = 0.25  # at the kink of abs
    checked: list[str] = []
    real = point._check_variable

    def counted(name: str, *args: Any, **kwargs: Any) -> Any:
        checked.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(point, "_check_variable", counted)
    report = check(text, **values)
    assert checked == ["x7"]
    assert not report.ok
    by_name = {v.name: v for v in report.points[0].variables}
    assert by_name["x7"].kink and not by_name["x7"].ok
    assert all(v.ok for name, v in by_name.items() if name != "x7")


@pytest.mark.parametrize("source", [
    "sqrt(x) + y*z", "x*y + log(z - 1)", "max(x, y)*z + abs(x)", "x^y + z^0.5", "atan2(y, x)*exp(z)",
])
def test_a_block_sweep_gives_each_variable_s_own_sweep_bit_for_bit(source: str) -> None:
    """Rows that a variable does not reach skip their rules, as a sweep of their own does: no
    nan from an infinite partial times a zero tangent (sqrt at 0, log at 0)."""
    from autodiff_cli.ops import array_algebra, array_form

    program = parse(source)
    columns = {"x": np.array([0.0, 1.0, 4.0, -1.0]), "y": np.array([0.0, 2.0, 0.5, 3.0]),
               "z": np.array([1.0, 2.0, 0.0, 9.0])}
    order = postorder(program.result)
    with np.errstate(all="ignore"):
        together = forward.forward_gradient_arrays(program, columns, program.variables)
        alone = [forward._sweep(order, columns, name, array_form, array_algebra())[1]
                 for name in program.variables]
    for mine, reference in zip(together, alone):
        a, b = np.broadcast_to(mine, (4,)), np.broadcast_to(reference, (4,))
        assert [repr(v) for v in a.tolist()] == [repr(v) for v in b.tolist()]


def test_the_arrays_stay_within_their_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of variables are as many as keep points × rows × variables × nodes under the
    budget: with a budget below one variable's ladder, one variable at a time."""
    text, values = chain(60)
    nodes = len(postorder(parse(text).result))
    monkeypatch.setattr(on_arrays, "_BUDGET", 30 * nodes)
    seen = count_evaluations(monkeypatch)
    assert check(text, **values).ok
    assert seen["points"] == 60 * 36
    assert seen["largest"] == 30  # one variable's ladder: 15 rungs on each side
