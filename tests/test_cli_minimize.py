"""adcli minimize: the summary, JSON, exit statuses, bounds errors, files, Ctrl-C, the log."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import pytest
from rich.console import Console

from autodiff_cli import parse
from autodiff_cli.optimize import minimize as library
from autodiff_cli.optimize.minimize import MinimizeConfig, Minimizer, minimize_program
from autodiff_cli.render.descent import ProgressLog
from autodiff_cli.render.minimize import minimize_columns

from .helpers import app, runner

ROSENBROCK = "(1-x)^2 + 100*(y-x^2)^2"
REQUIRED = {"expression", "method", "start", "point", "value", "grad_norm", "iterations", "evaluations",
            "stop_reason", "message", "classification"}


def summary(text: str) -> dict[str, str]:
    """The summary's rows: the first word, then the rest (rows that wrap are joined)."""
    rows: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith(" "):
            rows[last] += " " + line.strip()
            continue
        key, _, rest = line.partition("  ")
        last = key.strip()
        rows[last] = rest.strip()
    return rows


def test_the_summary() -> None:
    out = runner.invoke(app, ["minimize", ROSENBROCK, "--x", "-1.2", "--y", "1"])
    assert out.exit_code == 0, out.output
    rows = summary(out.stdout)
    assert rows["stopped"] == "converged: the gradient norm fell below --gtol"
    assert rows["point is"] == "local minimum"
    assert rows["method"].startswith("newton: Newton's method, exact Hessian, trust region")
    assert rows["evaluations"].endswith("of the Hessian") and rows["start"] == "x = -1.2, y = 1.0"
    assert len(rows["eigenvalues"].split(", ")) == 2
    assert not out.stdout.startswith("iter")  # not a terminal: no progress log


def test_json_reads_back_and_has_every_field() -> None:
    out = runner.invoke(app, ["minimize", ROSENBROCK, "--x", "-1.2", "--y", "1", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert REQUIRED <= set(data)
    assert set(data["evaluations"]) == {"function", "gradient", "hessian", "hessian_vector"}
    assert data["stop_reason"] == "gtol" and data["classification"] == "local minimum" and data["ok"]
    direct = library.minimize(ROSENBROCK, x=-1.2, y=1)
    assert data["point"] == direct.point and data["value"] == direct.value
    assert data["iterations"] == direct.iterations and data["eigenvalues"] == list(direct.eigenvalues or ())


def test_json_with_bounds_and_non_finite_numbers() -> None:
    out = runner.invoke(app, ["minimize", "(x-3)^2 + y^2", "--x", "0", "--y", "1",
                              "--bounds", "x=-inf:1", "--bounds", "y=-1:inf", "--json"])
    data = json.loads(out.stdout)
    assert data["bounds"] == {"x": ["-inf", 1.0], "y": [-1.0, "inf"]}
    assert data["active_bounds"] == {"x": "upper"} and data["point"]["x"] == 1.0


@pytest.mark.parametrize("method", list(library.METHODS))
def test_every_method_from_the_command_line(method: str) -> None:
    out = runner.invoke(app, ["minimize", ROSENBROCK, "--x", "-1.2", "--y", "1", "-m", method, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["method"] == method


def test_a_saddle_exits_1_and_says_so() -> None:
    out = runner.invoke(app, ["minimize", "x^2 - y^2", "--x", "1", "--y", "0", "--method", "bfgs"])
    assert out.exit_code == 1
    rows = summary(out.stdout)
    assert rows["point is"] == "saddle point" and "saddle point, not a minimum" in rows["stopped"]


def test_unbounded_exits_1() -> None:
    out = runner.invoke(app, ["minimize", "x^2 - y^2", "--x", "1", "--y", "0"])
    assert out.exit_code == 1 and "unbounded below" in out.stdout


def test_the_iteration_limit_exits_1() -> None:
    out = runner.invoke(app, ["minimize", ROSENBROCK, "--x", "-1.2", "--y", "1", "--max-iter", "2", "--json"])
    assert out.exit_code == 1 and json.loads(out.stdout)["stop_reason"] == "max_iter"


@pytest.mark.parametrize("args, message", [
    (["--bounds", "x=3:1"], "--bounds: the bounds of x are empty: its low end 3.0 is above its high end 1.0"),
    (["--bounds", "q=0:1"], "the expression has no variable 'q'"),
    (["--bounds", "x=0"], "--bounds x=0: write the bounds as NAME=LO:HI"),
    (["--bounds", "x0:1"], "write the bounds as NAME=LO:HI"),
    (["--bounds", "x=a:1"], "not a constant"),
    (["--bounds", "x=0:1", "--bounds", "x=0:2"], "x is given bounds twice"),
    (["--bounds", "y=0:1", "--fix", "y"], "a fixed variable takes no bounds"),
    (["--method", "adam"], "unknown method 'adam'"),
    (["--gtol", "-1"], "--gtol must be a finite number, 0 or more"),
    (["--gtol", "inf"], "--gtol must be a finite number, 0 or more, not inf"),
    (["--xtol", "1e400"], "--xtol must be a finite number, 0 or more, not inf"),
    (["--ftol", "inf"], "--ftol must be a finite number"),
    (["--gtol", "nan"], "--gtol must be a finite number"),
    (["--c1", "0.95"], "0 < --c1 < --c2 < 1"),
    (["--plot", "path.txt"], ".png"),
    (["--output", "path.txt"], ".csv or .jsonl"),
])
def test_mistakes_exit_2_with_a_message(args: list[str], message: str) -> None:
    out = runner.invoke(app, ["minimize", "x^2 + y^2", "--x", "1", "--y", "1", *args])
    assert out.exit_code == 2, out.output
    assert message in out.stderr and "Traceback" not in out.output


def test_fix_init_maximize_and_quiet() -> None:
    out = runner.invoke(app, ["minimize", "-(x-1)^2 - (y-2)^2 - z^2", "--init", "0", "--fix", "z",
                              "--maximize", "--quiet", "--json"])
    data = json.loads(out.stdout)
    assert out.exit_code == 0 and data["maximize"] and data["classification"] == "local maximum"
    assert data["point"] == {"x": 1.0, "y": 2.0, "z": 0.0} and list(data["gradient"]) == ["x", "y"]


def test_output_csv_and_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    out = runner.invoke(app, ["minimize", ROSENBROCK, "--x", "-1.2", "--y", "1", "--output", str(path),
                              "--json"])
    assert out.exit_code == 0, out.output
    iterations = json.loads(out.stdout)["iterations"]
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["step", "loss", "grad_norm", "x", "y"]
    assert [int(r[0]) for r in rows[1:]] == list(range(iterations + 1))
    assert (float(rows[1][3]), float(rows[1][4])) == (-1.2, 1.0)
    path = tmp_path / "run.jsonl"
    runner.invoke(app, ["minimize", "x^2 + y^2", "--x", "1", "--y", "1", "-m", "lbfgs",
                        "--output", str(path)])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0] == {"step": 0, "loss": 2.0, "grad_norm": math.hypot(2.0, 2.0), "x": 1.0, "y": 1.0}


def test_plot_draws_the_path(tmp_path: Path) -> None:
    path = tmp_path / "minimize.png"
    out = runner.invoke(app, ["minimize", ROSENBROCK, "--x", "-1.2", "--y", "1", "--plot", str(path)])
    assert out.exit_code == 0, out.output
    assert f"wrote {path}" in out.stdout and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ctrl_c_gives_the_best_point_and_keeps_the_trajectory(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    original = Minimizer.moved

    def interrupted(self: Minimizer, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        if self.iteration == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(Minimizer, "moved", interrupted)
    path = tmp_path / "run.csv"
    out = runner.invoke(app, ["minimize", ROSENBROCK, "--x", "-1.2", "--y", "1", "--output", str(path)])
    assert out.exit_code == 130 and "Traceback" not in out.output
    rows = summary(out.stdout)
    assert rows["stopped"] == "interrupted" and rows["iterations"] == "5"
    steps = [int(r[0]) for r in list(csv.reader(path.open()))[1:]]
    assert steps == list(range(6))
    last = list(csv.reader(path.open()))[-1]
    assert rows["point"] == f"x = {float(last[3])!r}, y = {float(last[4])!r}"


def test_the_progress_log_in_a_terminal() -> None:
    """Every one of the first ten iterations, then every tenth; iteration, f, ‖grad‖, the step,
    the trust radius, the evaluations so far, and the variables as fit in 80 columns."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, force_terminal=True, color_system=None)
    program = parse(ROSENBROCK)
    log = ProgressLog(console, minimize_columns("newton", program.variables, 80))
    result, _ = minimize_program(program, {"x": -1.2, "y": 1.0}, None, MinimizeConfig(), [log])
    lines = buffer.getvalue().splitlines()
    assert lines[0].split() == ["iter", "f", "‖grad‖", "‖step‖", "radius", "evals", "x", "y"]
    iterations = [int(line.split()[0]) for line in lines[1:]]
    assert iterations[:11] == list(range(11)) and iterations[-1] == result.iterations
    assert all(len(line) <= 80 for line in lines)
    columns = minimize_columns("bfgs", program.variables, 80)
    assert [c.title for c in columns][4] == "α"


def test_help_states_the_library_defaults() -> None:
    out = runner.invoke(app, ["minimize", "--help"], env={"COLUMNS": "200"})
    text = " ".join(out.stdout.split())
    for option, value in (("gtol", library.GTOL), ("xtol", library.XTOL), ("ftol", library.FTOL),
                          ("max-iter", library.MAX_ITER), ("history", library.HISTORY), ("c1", library.C1),
                          ("c2", library.C2)):
        found = re.search(rf"--{option} .*?\(default ([^)]+)\)", text)
        assert found is not None and float(found.group(1)) == value, option
    assert "Example:" in text


def test_maximize_unbounded_says_rising_and_no_maximum() -> None:
    out = runner.invoke(app, ["minimize", "x^2 + y^2", "--x", "1", "--y", "1", "--maximize"])
    assert out.exit_code == 1, out.output
    rows = summary(out.stdout)
    assert rows["stopped"] == "f keeps rising along a direction: it looks unbounded above there"
    assert rows["point is"] == "no maximum: f keeps rising along the run's last direction"
    assert "below" not in out.stdout and "minimum" not in out.stdout


@pytest.mark.parametrize("args", [["--x", "nan"], ["--init", "nan"], ["--x", "inf"], ["--x", "-inf"]])
def test_a_non_finite_start_is_no_bound_and_moves_nothing(args: list[str]) -> None:
    """A start of nan or ±inf stops as 'nonfinite' (exit 1, saying where it came from), with
    no note of a bound and no active bound where none was given."""
    out = runner.invoke(app, ["minimize", "x^2", *args, "--json"])
    assert out.exit_code == 1, out.output
    data = json.loads(out.stdout)
    assert data["stop_reason"] == "nonfinite" and "the value given to x" in data["message"]
    assert data["notes"] == [] and data["active_bounds"] == {} and data["bounds"] == {}


def test_a_variable_fixed_by_its_bounds_makes_no_saddle() -> None:
    out = runner.invoke(app, ["minimize", "x^2 - y^2", "--x", "1", "--y", "0", "--bounds", "y=0:0"])
    assert out.exit_code == 0, out.output
    rows = summary(out.stdout)
    assert rows["stopped"] == "converged: the gradient norm fell below --gtol"
    assert rows["point is"] == "local minimum" and rows["eigenvalues"].startswith("2.0 ")
    assert rows["active"] == "y fixed by its bounds"


@pytest.mark.parametrize("method", ["newton", "bfgs"])
def test_a_corner_of_the_box_with_a_zero_gradient_is_no_saddle(method: str) -> None:
    out = runner.invoke(app, ["minimize", "x*y", "--x", "0", "--y", "0", "--bounds", "x=0:1",
                              "--bounds", "y=0:1", "-m", method, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert "saddle" not in out.stdout and data["ok"]
    assert data["classification"].startswith("inconclusive: f falls to second order along no direction")
    assert data["eigenvalues"] == [] and data["eigenvalues_over"] == []


@pytest.mark.parametrize("method", ["lbfgs", "bfgs", "newton-cg", "newton"])
def test_unbounded_below_past_the_limit_with_every_method(method: str) -> None:
    out = runner.invoke(app, ["minimize", "-exp(x)", "--x", "0", "-m", method])
    assert out.exit_code == 1, out.output
    rows = summary(out.stdout)
    assert rows["stopped"] == "f keeps falling along a direction: it looks unbounded below there"
    assert rows["point is"] == "no minimum: f keeps falling along the run's last direction"


def test_maximize_stalled_says_increases_not_decreases() -> None:
    out = runner.invoke(app, ["minimize", "-abs(x)-abs(y)+0.1*x", "--x", "1", "--y", "1", "-m", "bfgs",
                              "--maximize"])
    assert out.exit_code == 1, out.output
    rows = summary(out.stdout)
    assert rows["stopped"] == "stalled: no step increases f further, yet the gradient is not small"
    assert "decrease" not in out.stdout and "lower" not in out.stdout


def test_gtol_0_says_the_gradient_fell_to_0() -> None:
    out = runner.invoke(app, ["minimize", "exp(-x)", "--x", "1", "--gtol", "0"])
    assert summary(out.stdout)["stopped"] == "converged: the gradient norm fell to 0 (--gtol 0)"


def test_a_far_finite_bound_is_reached() -> None:
    out = runner.invoke(app, ["minimize", "-x", "--x", "0", "--bounds", "x=-inf:1e30"])
    assert out.exit_code == 0, out.output
    rows = summary(out.stdout)
    assert rows["point"] == "x = 1e+30" and rows["active"] == "x at its upper bound"
