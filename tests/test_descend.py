"""Gradient descent: every optimizer against a hand-written loop, stopping rules, the CLI."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import re
from collections.abc import Callable

import pytest

from autodiff_cli import parse
from autodiff_cli.engine.compile import compile_program
from autodiff_cli.optimize.descent import Descent, DescentConfig, DescentResult, Row

from .helpers import app, runner

ROSENBROCK = "(1-x)^2 + 100*(y-x^2)^2"
QUADRATIC = "3*x^2 + x*y + 2*y^2 - x + 4"


def descend(source: str, start: dict[str, float], **config: object) -> DescentResult:
    program = parse(source)
    free = tuple(n for n in program.variables if n not in config.get("fixed", ()))  # type: ignore[operator]
    config.pop("fixed", None)
    run = Descent(program, start, free, DescentConfig(**config))  # type: ignore[arg-type]
    for _ in run.rows():
        pass
    assert run.result is not None
    return run.result


def test_sgd_equals_the_hand_written_loop_to_the_last_bit() -> None:
    result = descend("sin(x)+x*y", {"x": 1.0, "y": 2.0}, hyper={"lr": 0.01}, steps=1000)
    x, y, lr = 1.0, 2.0, 0.01
    for _ in range(1000):
        new_x = x - lr * (math.cos(x) + y)
        new_y = y - lr * x
        x, y = new_x, new_y
    assert result.point == {"x": x, "y": y}
    assert result.steps == 1000 and result.stop_reason == "steps"


def test_sgd_through_the_cli_round_trips_the_bits() -> None:
    out = runner.invoke(app, ["descend", "sin(x)+x*y", "--x", "1", "--y", "2", "--lr", "0.01",
                              "--steps", "1000", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    x, y = 1.0, 2.0
    for _ in range(1000):
        x, y = x - 0.01 * (math.cos(x) + y), y - 0.01 * x
    assert (data["point"]["x"], data["point"]["y"]) == (x, y)
    for key in ("start", "point", "value", "steps", "stop_reason", "grad_norm"):
        assert key in data


Update = Callable[[list[float], list[float], dict[str, float], dict[str, list[float]], int], None]


def sgd(p: list[float], g: list[float], h: dict[str, float], s: dict[str, list[float]], t: int) -> None:
    for i in range(len(p)):
        p[i] = p[i] - h["lr"] * g[i]


def momentum(p: list[float], g: list[float], h: dict[str, float], s: dict[str, list[float]],
             t: int) -> None:
    b = s.setdefault("b", [None] * len(p))  # type: ignore[list-item]
    for i in range(len(p)):
        b[i] = g[i] if b[i] is None else h["momentum"] * b[i] + g[i]  # PyTorch: buf = grad first
        p[i] = p[i] - h["lr"] * b[i]


def nesterov(p: list[float], g: list[float], h: dict[str, float], s: dict[str, list[float]],
             t: int) -> None:
    b = s.setdefault("b", [None] * len(p))  # type: ignore[list-item]
    for i in range(len(p)):
        b[i] = g[i] if b[i] is None else h["momentum"] * b[i] + g[i]
        p[i] = p[i] - h["lr"] * (g[i] + h["momentum"] * b[i])


def adam(p: list[float], g: list[float], h: dict[str, float], s: dict[str, list[float]], t: int) -> None:
    m = s.setdefault("m", [0.0] * len(p))
    v = s.setdefault("v", [0.0] * len(p))
    step_size = h["lr"] / (1.0 - h["beta1"] ** t)
    bias2_sqrt = math.sqrt(1.0 - h["beta2"] ** t)
    for i in range(len(p)):
        m[i] = h["beta1"] * m[i] + (1.0 - h["beta1"]) * g[i]
        v[i] = h["beta2"] * v[i] + (1.0 - h["beta2"]) * g[i] * g[i]
        p[i] = p[i] - step_size * (m[i] / (math.sqrt(v[i]) / bias2_sqrt + h["eps"]))


def rmsprop(p: list[float], g: list[float], h: dict[str, float], s: dict[str, list[float]],
            t: int) -> None:
    v = s.setdefault("v", [0.0] * len(p))
    for i in range(len(p)):
        v[i] = h["alpha"] * v[i] + (1.0 - h["alpha"]) * g[i] * g[i]
        p[i] = p[i] - h["lr"] * (g[i] / (math.sqrt(v[i]) + h["eps"]))


def adagrad(p: list[float], g: list[float], h: dict[str, float], s: dict[str, list[float]],
            t: int) -> None:
    acc = s.setdefault("s", [0.0] * len(p))
    clr = h["lr"] / (1.0 + (t - 1) * h["lr_decay"])
    for i in range(len(p)):
        acc[i] = acc[i] + g[i] * g[i]
        p[i] = p[i] - clr * (g[i] / (math.sqrt(acc[i]) + h["eps"]))


REFERENCES: dict[str, tuple[Update, dict[str, float]]] = {
    "sgd": (sgd, {"lr": 1e-3}),
    "momentum": (momentum, {"lr": 1e-3, "momentum": 0.9}),
    "nesterov": (nesterov, {"lr": 1e-3, "momentum": 0.9}),
    "adam": (adam, {"lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    "rmsprop": (rmsprop, {"lr": 1e-3, "alpha": 0.99, "eps": 1e-8}),
    "adagrad": (adagrad, {"lr": 0.1, "lr_decay": 0.01, "eps": 1e-10}),
}


def reference(source: str, start: list[float], name: str, steps: int) -> list[float]:
    """The hand-written loop: the gradient from compiled code (tested against the Scalar graph
    elsewhere), the update written out in plain Python."""
    update, hyper = REFERENCES[name]
    gradient = compile_program(parse(source)).value_and_grad
    p, state = list(start), {}  # type: ignore[var-annotated]
    for t in range(1, steps + 1):
        _, g = gradient(*p)
        update(p, list(g), hyper, state, t)
    return p


@pytest.mark.parametrize("name", list(REFERENCES))
@pytest.mark.parametrize("source, start", [(QUADRATIC, [1.5, -2.0]), (ROSENBROCK, [-1.5, 2.0])])
def test_each_optimizer_equals_its_reference_loop(name: str, source: str, start: list[float]) -> None:
    steps = 3000
    result = descend(source, dict(zip("xy", start)), optimizer=name, hyper=REFERENCES[name][1],
                     steps=steps, tol=0.0)
    assert result.steps == steps
    assert [result.point["x"], result.point["y"]] == reference(source, start, name, steps)


def test_optimizers_reach_the_minimum_of_a_quadratic() -> None:
    # 3x^2 + xy + 2y^2 - x + 4: gradient (6x + y - 1, x + 4y) = 0 at x = 4/23, y = -1/23.
    for name, lr in [("sgd", 0.05), ("momentum", 0.02), ("nesterov", 0.02), ("adam", 0.05),
                     ("rmsprop", 0.01), ("adagrad", 0.5)]:
        result = descend(QUADRATIC, {"x": 1.5, "y": -2.0}, optimizer=name, hyper={"lr": lr},
                         steps=20000, tol=1e-9)
        assert result.point["x"] == pytest.approx(4 / 23, abs=1e-3), name
        assert result.point["y"] == pytest.approx(-1 / 23, abs=1e-3), name


def test_tol_stops_converged() -> None:
    result = descend("x^2", {"x": 3.0}, hyper={"lr": 0.1}, steps=10000, tol=1e-6)
    assert result.stop_reason == "converged" and result.grad_norm < 1e-6
    assert result.steps < 100


def test_ftol_stops_when_the_loss_stalls() -> None:
    result = descend("x^2", {"x": 3.0}, hyper={"lr": 0.1}, steps=10000, tol=0.0, ftol=1e-6)
    assert result.stop_reason == "ftol" and result.steps < 100


def test_divergence_stops_at_the_last_finite_point() -> None:
    result = descend("x^2", {"x": 1.0}, hyper={"lr": 1.5}, steps=5000)
    assert result.stop_reason == "diverged" and not result.ok
    assert math.isfinite(result.value) and abs(result.value) <= 1e300
    # one more step (x doubles and flips sign) would leave the finite range
    assert abs((-2 * result.point["x"]) ** 2) > 1e300


def test_divergence_of_a_variable_with_a_finite_loss() -> None:
    # sign(x) is flat, the gradient is 0... so use a loss whose value stays finite: -x with lr huge.
    result = descend("-atan(x)", {"x": 1.0}, hyper={"lr": 1e308}, steps=100)
    assert result.stop_reason == "diverged"
    assert abs(result.point["x"]) <= 1e300


def test_maximize_ascends() -> None:
    result = descend("-(x-1)^2 + 5", {"x": 4.0}, hyper={"lr": 0.1}, steps=1000, maximize=True)
    assert result.point["x"] == pytest.approx(1.0, abs=1e-6) and result.value == pytest.approx(5.0)


def test_fixed_variables_stay_put() -> None:
    result = descend("(x-y)^2", {"x": 0.0, "y": 3.0}, hyper={"lr": 0.1}, steps=1000, fixed=("y",))
    assert result.point["y"] == 3.0 and result.point["x"] == pytest.approx(3.0, abs=1e-6)


def test_clip_bounds_the_step() -> None:
    run = Descent(parse("100*x^2"), {"x": 10.0}, ("x",),
                  DescentConfig(hyper={"lr": 0.01}, steps=1, clip=1.0, every=1))
    rows = list(run.rows())
    assert abs(rows[-1].point["x"] - 10.0) <= 0.01 * 1.0 + 1e-12


def test_line_search_satisfies_armijo_and_converges() -> None:
    run = Descent(parse("x^4 + y^2"), {"x": 3.0, "y": -2.0}, ("x", "y"),
                  DescentConfig(hyper={"lr": 1.0}, steps=1, line_search=True, every=1))
    rows = list(run.rows())
    f = compile_program(parse("x^4 + y^2")).value
    step = rows[-1].step_size
    assert step < 1.0
    g2 = (4 * 27) ** 2 + 4.0**2
    assert f(rows[-1].point["x"], rows[-1].point["y"]) <= f(3.0, -2.0) - 1e-4 * step * g2
    result = descend("x^4 + y^2", {"x": 3.0, "y": -2.0}, hyper={"lr": 1.0}, steps=5000,
                     line_search=True, tol=1e-6)
    assert result.value < 1e-6


@pytest.mark.parametrize("lr", [1e20, 1e300])
def test_line_search_backtracks_from_any_learning_rate(lr: float) -> None:
    """Halving goes on until a step decreases f (it stopped after 60 halvings: 1e20/2^60 is
    still far too long, and the run ended at its start, 'at a minimum to working precision?')."""
    result = descend("x^2", {"x": 1.0}, hyper={"lr": lr}, steps=100, line_search=True)
    assert result.stop_reason == "converged" and abs(result.point["x"]) < 1e-8


def test_progress_rows_every_k_steps() -> None:
    run = Descent(parse("x^2"), {"x": 3.0}, ("x",), DescentConfig(hyper={"lr": 0.01}, steps=100, tol=0))
    steps = [row.step for row in run.rows()]
    assert steps == list(range(0, 101, 5))  # about 20 rows by default
    run = Descent(parse("x^2"), {"x": 3.0}, ("x",),
                  DescentConfig(hyper={"lr": 0.01}, steps=10, every=3, tol=0))
    assert [row.step for row in run.rows()] == [0, 3, 6, 9, 10]


def test_progress_rows_come_by_time_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """With rows far apart in steps (--steps 1e9), a row still comes every ROW_SECONDS."""
    monkeypatch.setattr(Descent, "CHUNK_SECONDS", 1e-4)
    monkeypatch.setattr(Descent, "ROW_SECONDS", 0.0)
    run = Descent(parse("x^2"), {"x": 3.0}, ("x",),
                  DescentConfig(hyper={"lr": 1e-9}, steps=200_000, every=200_000, tol=0))
    steps = [row.step for row in run.rows()]
    assert len(steps) > 3 and steps[0] == 0 and steps[-1] == 200_000 and steps == sorted(set(steps))


def _progress(source: str, start: dict[str, float], free: tuple[str, ...], config: DescentConfig,
              whole_rows: bool, chunk: int | None) -> tuple[list[Row], list[tuple[float, ...]], Descent]:
    """The rows progress() yields and every record, with or without whole-row calls; ``chunk``
    steps per call of the compiled loop, at first (it adapts to the time calls take)."""
    run = Descent(parse(source), start, free, config)
    if chunk is not None:
        run.CHUNK_SECONDS = 50e-9 * run._nodes * chunk
    if not whole_rows:
        run._whole_rows = lambda rows, every: None  # type: ignore[method-assign]
    rows, records = [], []
    for row in run.progress():
        if row is not None:
            rows.append(row)
        records += run.records
        run.records.clear()
    return rows, records, run


@pytest.mark.parametrize("source, start, free, config, chunk", [
    ("sin(x)+x*y", {"x": 1.0, "y": 2.0}, ("x", "y"), DescentConfig(hyper={"lr": 0.01}, tol=0.0), None),
    ("sin(x)+x*y", {"x": 1.0, "y": 2.0}, ("y", "x"),
     DescentConfig(optimizer="momentum", hyper={"lr": 0.01}, steps=997, every=7, record=True), None),
    (ROSENBROCK, {"x": -1.5, "y": 2.0}, ("x", "y"),
     DescentConfig(optimizer="adam", hyper={"lr": 0.01}, steps=3000, every=1, tol=1e-3), None),
    (QUADRATIC, {"x": 1.5, "y": -2.0}, ("x", "y"),
     DescentConfig(optimizer="nesterov", hyper={"lr": 0.02}, steps=5000, ftol=1e-12, every=5,
                   record=True), 40),
    ("(x-y)^2 + z*x", {"x": 0.0, "y": 3.0, "z": 0.5}, ("z", "x"),
     DescentConfig(optimizer="rmsprop", steps=400, every=3, clip=0.5, record=True), None),
    ("-(x-1)^2 + 5 + y", {"x": 4.0, "y": 1.0}, ("x",),
     DescentConfig(optimizer="adagrad", hyper={"lr": 0.5}, steps=300, every=4, maximize=True), 32),
    ("x^4 + y^2", {"x": 3.0, "y": -2.0}, ("x", "y"),
     DescentConfig(hyper={"lr": 1.0}, steps=500, line_search=True, tol=1e-9, record=True), None),
    ("x^2", {"x": 1.0}, ("x",), DescentConfig(hyper={"lr": 1.5}, steps=5000, every=10, record=True), 50),
    ("-atan(x)", {"x": 1.0}, ("x",), DescentConfig(hyper={"lr": 1e308}, steps=100, every=1), None),
])
def test_whole_rows_equal_the_step_by_step_path(source: str, start: dict[str, float],
                                                 free: tuple[str, ...], config: DescentConfig,
                                                 chunk: int | None) -> None:
    # The compiled loop makes whole rows itself; replaying the run one chunk at a time, with
    # each row made in Python, must give the same rows, records and result, to the bit.
    rows, records, run = _progress(source, start, free, config, True, chunk)
    reference_rows, reference_records, reference = _progress(source, start, free, config, False, chunk)
    assert rows == reference_rows
    assert all(type(row) is Row and type(row.point) is dict for row in rows)
    # Whichever code made a row, its loss and gradient norm are those of value_and_grad at its
    # point, to the bit (repr also tells nan and -0.0 apart).
    gradient = compile_program(parse(source), free).value_and_grad
    for row in rows:
        value, grads = gradient(*row.point.values())
        assert repr((row.loss, row.grad_norm)) == repr((value, math.hypot(*grads)))
    assert [list(row.point) for row in rows] == [list(start)] * len(rows)  # the expression's order
    assert records == reference_records
    assert run.result is not None and reference.result is not None
    same = ("point", "value", "grad_norm", "steps", "stop_reason", "losses")
    assert [getattr(run.result, k) for k in same] == [getattr(reference.result, k) for k in same]
    best, reference_best = run.interrupt(), reference.interrupt()  # Ctrl-C: the best point seen
    assert (best.point, best.value, best.grad_norm) == \
        (reference_best.point, reference_best.value, reference_best.grad_norm)


# ---------------------------------------------------------------- the command line


def test_cli_summary_when_not_a_terminal_has_no_progress_table() -> None:
    out = runner.invoke(app, ["descend", ROSENBROCK, "--x", "-1.5", "--y", "2", "--steps", "200"])
    assert out.exit_code == 0, out.output
    assert "reached the step limit" in out.stdout
    assert "step size" not in out.stdout  # the live table's header: no animation when piped


def test_cli_exit_status_on_divergence() -> None:
    out = runner.invoke(app, ["descend", "x^2", "--x", "1", "--lr", "1.5", "--steps", "5000"])
    assert out.exit_code == 1
    assert "diverged" in out.stdout


def test_cli_init_and_missing_start_value() -> None:
    out = runner.invoke(app, ["descend", "x^2+y^2", "--x", "1"])
    assert out.exit_code == 2 and "--init" in out.stderr and "'y'" in out.stderr
    out = runner.invoke(app, ["descend", "x^2+y^2", "--x", "1", "--init", "2", "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["start"] == {"x": 1.0, "y": 2.0}


def test_cli_fix_and_quiet() -> None:
    out = runner.invoke(app, ["descend", "(x-y)^2", "--x", "0", "--y", "3", "--fix", "y",
                              "--lr", "0.1", "--json"])
    data = json.loads(out.stdout)
    assert data["point"]["y"] == 3.0


@pytest.mark.parametrize("args, message", [
    (["--optimizer", "lbfgs"], "unknown optimizer"),
    (["--beta1", "0.8"], "takes no beta1"),
    (["--optimizer", "adam", "--line-search"], "--line-search"),
    (["--fix", "z"], "no variable 'z'"),
    (["--fix", "x"], "nothing to descend"),
    (["--output", "trace.txt"], ".csv or .jsonl"),
])
def test_cli_bad_options(args: list[str], message: str) -> None:
    out = runner.invoke(app, ["descend", "x^2", "--x", "1", *args])
    assert out.exit_code == 2, out.output
    assert message in out.stderr


def test_cli_output_csv_and_jsonl(tmp_path: object) -> None:
    import pathlib

    folder = pathlib.Path(str(tmp_path))
    out = runner.invoke(app, ["descend", "x^2+y", "--x", "1", "--y", "3", "--fix", "y",
                              "--lr", "0.1", "--steps", "50", "--tol", "0",
                              "--output", str(folder / "run.csv")])
    assert out.exit_code == 0, out.output
    rows = list(csv.reader((folder / "run.csv").open()))
    assert rows[0] == ["step", "loss", "grad_norm", "x"]
    assert [int(r[0]) for r in rows[1:]] == list(range(51))
    assert float(rows[1][3]) == 1.0 and float(rows[2][3]) == 0.8
    out = runner.invoke(app, ["descend", "x^2+y^2", "--init", "1", "--steps", "20", "--tol", "0",
                              "--optimizer", "adam", "--output", str(folder / "run.jsonl")])
    lines = [json.loads(line) for line in (folder / "run.jsonl").read_text().splitlines()]
    assert len(lines) == 21 and set(lines[0]) == {"step", "loss", "grad_norm", "x", "y"}


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_trajectory_columns_of_variables_named_like_the_run_s(tmp_path: object, suffix: str) -> None:
    """Variables named step, loss, grad_norm (and step_) keep their own columns: the run's are
    not overwritten and no header names a column twice."""
    import pathlib

    path = pathlib.Path(str(tmp_path)) / f"run{suffix}"
    out = runner.invoke(app, ["descend", "(step-1)^2 + (loss-2)^2 + grad_norm^2 + step_^2", "--init", "0",
                              "--steps", "3", "--tol", "0", "--output", str(path)])
    assert out.exit_code == 0, out.output
    columns = ["step", "loss", "grad_norm", "step__", "loss_", "grad_norm_", "step_"]
    if suffix == ".csv":
        rows = list(csv.reader(path.open()))
        assert rows[0] == columns
        records = [dict(zip(columns, map(float, row))) for row in rows[1:]]
    else:
        records = [json.loads(line) for line in path.read_text().splitlines()]
        assert list(records[0]) == columns
    assert [r["step"] for r in records] == [0, 1, 2, 3]
    assert records[0]["loss"] == 5.0 and records[0]["step__"] == 0.0
    assert records[1]["step__"] == pytest.approx(0.002) and records[1]["loss_"] == pytest.approx(0.004)


def test_cli_interrupt_prints_the_best_point_and_keeps_the_trajectory(
        tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import pathlib

    calls = {"n": 0}
    original = Descent._whole_rows

    def interrupted(self: Descent, rows: int, every: int) -> object:
        # One progress row per call of the compiled loop, and Ctrl-C during the fourth.
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return original(self, 1, every)

    monkeypatch.setattr(Descent, "_whole_rows", interrupted)
    path = pathlib.Path(str(tmp_path)) / "run.csv"
    out = runner.invoke(app, ["descend", "x^2", "--x", "3", "--lr", "0.01", "--steps", "100",
                              "--tol", "0", "--output", str(path)])
    assert out.exit_code == 130
    assert "interrupted" in out.stdout and "Traceback" not in out.output
    steps = [int(r[0]) for r in list(csv.reader(path.open()))[1:]]
    assert steps == list(range(16))  # three chunks of five steps were taken: states 0 to 15


def test_cli_interrupt_inside_the_compiled_loop_writes_each_step_once(
        tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the compiled loop runs (here: as it records its 1,234th step): the steps of
    the call it cut short are lost, every step before it is in the file once, in order, and
    the file ends with the step the run stopped at."""
    import pathlib

    def recorder(self: Descent) -> object:
        def rec(record: tuple[float, ...]) -> None:
            self.records.append(record)
            if record[0] == 1234:
                raise KeyboardInterrupt
        return rec

    monkeypatch.setattr(Descent, "_recorder", recorder)
    monkeypatch.setattr(Descent, "CHUNK_SECONDS", 1e-5)  # many calls of the loop before step 1234
    path = pathlib.Path(str(tmp_path)) / "run.csv"
    out = runner.invoke(app, ["descend", "x^2 + y^2", "--x", "3", "--y", "1", "--lr", "1e-6",
                              "--steps", "100000", "--every", "100", "--tol", "0", "--output", str(path)])
    assert out.exit_code == 130, out.output
    steps = [int(r[0]) for r in list(csv.reader(path.open()))[1:]]
    assert steps == list(range(len(steps))) and 0 < steps[-1] <= 1234
    summary = dict(line.split(None, 1) for line in out.stdout.splitlines() if line.strip())
    assert int(summary["steps"]) == steps[-1]


def test_cli_plot_draws_the_descent(tmp_path: object) -> None:
    import pathlib

    path = pathlib.Path(str(tmp_path)) / "descent.png"
    out = runner.invoke(app, ["descend", ROSENBROCK, "--x", "-1.5", "--y", "2", "--steps", "500",
                              "--plot", str(path)])
    assert out.exit_code == 0, out.output
    assert f"wrote {path}" in out.stdout
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_plot_checks_the_file_before_running() -> None:
    out = runner.invoke(app, ["descend", "x^2", "--x", "1", "--plot", "path.txt"])
    assert out.exit_code == 2 and ".png" in out.stderr


def test_descents_of_one_program_share_its_compiled_loop() -> None:
    """The loop is compiled once per program and settings; it keeps no state, so a second
    descent through the same code gives exactly the rows and result of the first."""
    program = parse("(1-x)^2 + 100*(y-x^2)^2")
    config = DescentConfig(optimizer="adam", hyper={"lr": 0.01}, steps=300, every=7)
    first = Descent(program, {"x": -1.5, "y": 2.0}, ("x", "y"), config)
    rows = list(first.rows())
    second = Descent(program, {"x": -1.5, "y": 2.0}, ("x", "y"), config)
    assert second._run is first._run and second._run_rows is first._run_rows
    assert list(second.rows()) == rows
    assert first.result is not None and second.result is not None
    assert dataclasses.replace(second.result, elapsed=first.result.elapsed) == first.result
    other = Descent(program, {"x": -1.5, "y": 2.0}, ("x", "y"),
                    DescentConfig(optimizer="adam", hyper={"lr": 0.02}, steps=300, every=7))
    assert other._run is not first._run


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad"])
def test_the_loop_source_holds_no_user_text(optimizer: str) -> None:
    """Variables are v0, v1, ... in the generated loop and their names reach a progress row
    as values in its namespace: a name the user chose never appears in the source, even one
    that clashes with the loop's own names."""
    program = parse("(payload_one - 1)^2 + (r - 2)^2 + (rows - 3)^2 + (step - 4)^2")
    config = DescentConfig(optimizer=optimizer, hyper={"lr": 0.05}, steps=400, every=40, record=True,
                           ftol=1e-30)
    descent = Descent(program, dict.fromkeys(program.variables, 0.0), program.variables, config)
    assert "payload_one" not in descent.source
    list(descent.rows())
    # The same descent with plain names ends at exactly the same numbers.
    plain = parse("(a - 1)^2 + (b - 2)^2 + (c - 3)^2 + (d - 4)^2")
    reference = Descent(plain, dict.fromkeys(plain.variables, 0.0), plain.variables, config)
    list(reference.rows())
    assert descent.result is not None and reference.result is not None
    assert list(descent.result.point) == ["payload_one", "r", "rows", "step"]
    assert list(descent.result.point.values()) == list(reference.result.point.values())
    assert descent.records == reference.records


@pytest.mark.parametrize("args, message", [
    (["-O", "adam", "--beta1", "1"], "--beta1 must be at least 0 and below 1, got 1.0"),
    (["-O", "adam", "--beta2", "1"], "--beta2 must be at least 0 and below 1, got 1.0"),
    (["--lr", "nan"], "--lr must be a finite number, at least 0, got nan"),
    (["--lr", "inf"], "--lr must be a finite number, at least 0, got inf"),
    (["-O", "momentum", "--momentum", "nan"], "--momentum must be a finite number"),
    (["-O", "rmsprop", "--alpha", "nan"], "--alpha must be from 0 to 1, got nan"),
    (["--tol", "nan"], "--tol must be a finite number, at least 0, got nan"),
    (["--ftol", "nan"], "--ftol must be a finite number"),
    (["--clip", "nan"], "--clip must be a finite number"),
    (["-O", "adam", "--eps", "0"], "--eps must be above 0"),
])
def test_settings_outside_their_range_are_refused_before_the_run(args: list[str], message: str) -> None:
    """beta = 1 divided by zero; nan settings were taken, or silently ignored."""
    out = runner.invoke(app, ["descend", "x^2", "--x", "1", *args])
    assert out.exit_code == 2 and message in out.stderr, out.output
    assert "Traceback" not in out.output


def test_a_library_caller_sees_the_setting_by_its_keyword() -> None:
    from autodiff_cli.errors import ValueInputError

    with pytest.raises(ValueInputError, match=r"^'beta1' must be at least 0 and below 1"):
        Descent(parse("x^2"), {"x": 1.0}, ("x",), DescentConfig(optimizer="adam", hyper={"beta1": 1.0}))


@pytest.mark.slow
def test_thousands_of_variables_compile_and_run() -> None:
    """A sum of 3,000 squares in the generated loop made Python's compiler recurse too deep."""
    n = 3000
    program = parse(" + ".join(f"(x{i} - {i % 7})^2" for i in range(n)))
    config = DescentConfig(hyper={"lr": 0.25}, steps=3, tol=0.0, record=True, every=1)
    run = Descent(program, dict.fromkeys(program.variables, 0.0), program.variables, config)
    rows = list(run.rows())
    assert run.result is not None and run.result.steps == 3
    # x ← x − 0.25·2(x − c) halves the distance to c each step: 3 steps leave 1/8 of it
    assert run.result.point["x6"] == 6 - 6 / 8
    expected = math.sqrt(sum((2.0 * (i % 7)) ** 2 for i in range(n)))
    assert rows[0].grad_norm == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("flag, name", [("--plot", "x.png"), ("--output", "run.csv")])
def test_an_output_path_that_cannot_be_written_is_refused_before_the_run(
        tmp_path: object, flag: str, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import pathlib

    started: list[int] = []
    original = Descent.progress

    def progress(self: Descent) -> object:
        started.append(1)
        return original(self)

    monkeypatch.setattr(Descent, "progress", progress)
    target = pathlib.Path(str(tmp_path)) / "nodir" / name
    out = runner.invoke(app, ["descend", "x^2", "--x", "1", "--steps", "1000000", flag, str(target)])
    assert (out.exit_code == 2 and "does not exist" in out.stderr) or "cannot write" in out.stderr, out.output
    assert not started  # refused before a single step


# ---------------------------------------------------------------- the progress log in a real terminal


def in_a_terminal(*args: str) -> str:
    """What adcli writes to a terminal (a pseudo-terminal of 100 columns), colours removed."""
    import fcntl
    import os
    import pty
    import re
    import struct
    import subprocess
    import sys
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(TERM="xterm-256color", NO_COLOR="1")
    process = subprocess.Popen([sys.executable, "-m", "autodiff_cli", *args], stdin=subprocess.DEVNULL,
                               stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process has ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(leader)
    text = b"".join(chunks).decode()
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r\n", "\n")


@pytest.mark.parametrize("command", [
    ["descend", ROSENBROCK, "--x", "-1.5", "--y", "2", "--lr", "0.001", "--steps", "1000"],
    ["fit", "a*x + b", "--data", "{data}", "--a", "0", "--b", "0", "-O", "adam", "--lr", "0.1",
     "--epochs", "400"],
])
def test_a_fast_run_logs_every_row_it_picks_in_a_terminal(command: list[str], tmp_path: object) -> None:
    """About 20 rows whatever the speed: all of them stay in the scrollback, none dropped
    because the run was quick."""
    from pathlib import Path

    data = Path(str(tmp_path)) / "line.csv"
    data.write_text("x,y\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(10)))
    text = in_a_terminal(*[str(data) if a == "{data}" else a for a in command])
    steps = [int(line.split()[0]) for line in text.splitlines() if re.match(r"\s*\d+\s", line)]
    last = int(command[-1])
    assert steps == list(range(0, last + 1, last // 20)), text


@pytest.mark.parametrize("args", [["x^2", "--x", "0"], ["x^2", "--x", "1", "--lr", "1e308"]])
def test_a_run_that_stops_at_its_start_writes_step_0_once(tmp_path: object, args: list[str]) -> None:
    """Converged at the start, or diverged on the first step: the trajectory is the start, once."""
    import pathlib

    path = pathlib.Path(str(tmp_path)) / "run.csv"
    runner.invoke(app, ["descend", *args, "--output", str(path), "--quiet"])
    rows = list(csv.reader(path.open()))
    assert [row[0] for row in rows] == ["step", "0"]
