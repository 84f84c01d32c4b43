"""adcli fit and adcli predict: the library API and the command line, on real files in tmp_path."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from autodiff_cli.cli import app
from autodiff_cli.errors import AdcliError, DataError
from autodiff_cli.fit import FitConfig, fit, objective, setup
from autodiff_cli.fit.data import open_source, read_table, stream_tables
from autodiff_cli.fit.model import FitError
from autodiff_cli.fit.predict import read_parameters
from autodiff_cli.optimize.optimizers import OPTIMIZERS

from .helpers import READERS

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def exponential(tmp_path: Path, n: int = 200, noise: float = 0.01, seed: int = 0) -> Path:
    """y = 3 exp(-0.5 x) + 1.5, with a little noise."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 10, n)
    y = 3.0 * np.exp(-0.5 * x) + 1.5 + rng.normal(0, noise, n)
    return write(tmp_path / "exp.csv", ["x", "y"], [[float(a), float(b)] for a, b in zip(x, y)])


def cli(*args: str) -> Any:
    return runner.invoke(app, ["fit", *args])


def perceptron(*args: str) -> Any:
    """fit's run on the two clusters of examples/perceptron.csv, by Adam from zero."""
    return cli(
        "sigmoid(w1*x1 + w2*x2 + b)",
        "--data",
        str(EXAMPLES / "perceptron.csv"),
        "--loss",
        "bce",
        "--init",
        "0",
        "-O",
        "adam",
        "--lr",
        "0.1",
        *args,
    )


# ---------------------------------------------------------------- least squares


def test_least_squares_matches_the_normal_equations_of_a_linear_model(tmp_path: Path) -> None:
    """A linear model: Levenberg–Marquardt's answer, standard errors and R² are the closed form's."""
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, 50)
    y = 0.5 + 2.0 * x + rng.normal(0, 0.1, 50)
    path = write(tmp_path / "line.csv", ["x", "y"], [[float(a), float(b)] for a, b in zip(x, y)])
    result = fit("a + b*x", path, a=0, b=0)
    design = np.column_stack([np.ones_like(x), x])
    coef, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
    cov = np.linalg.inv(design.T @ design) * rss[0] / 48
    assert result.parameters["a"] == pytest.approx(coef[0], rel=1e-12)
    assert result.parameters["b"] == pytest.approx(coef[1], rel=1e-12)
    assert result.standard_errors is not None and result.correlation is not None
    assert result.standard_errors["a"] == pytest.approx(math.sqrt(cov[0, 0]), rel=1e-9)
    assert result.standard_errors["b"] == pytest.approx(math.sqrt(cov[1, 1]), rel=1e-9)
    assert result.correlation[0][1] == pytest.approx(cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]), rel=1e-9)
    assert result.residual_sum_of_squares == pytest.approx(rss[0], rel=1e-10)
    assert result.degrees_of_freedom == 48
    assert result.r_squared == pytest.approx(1 - rss[0] / np.sum((y - y.mean()) ** 2), rel=1e-12)
    assert result.ok and result.stop_reason in ("ftol", "xtol", "gtol", "precision")


def test_sigma_weights_the_residuals(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    x = np.linspace(0, 1, 40)
    s = np.where(x < 0.5, 0.1, 1.0)
    y = 1.0 + 2.0 * x + rng.normal(0, 1, 40) * s
    path = write(
        tmp_path / "w.csv", ["x", "y", "s"], [[float(a), float(b), float(c)] for a, b, c in zip(x, y, s)]
    )
    result = fit("a + b*x", path, a=0, b=0, config=FitConfig(sigma="s"))
    design = np.column_stack([np.ones_like(x), x]) / s[:, None]
    coef = np.linalg.lstsq(design, y / s, rcond=None)[0]
    assert [result.parameters["a"], result.parameters["b"]] == pytest.approx(coef, rel=1e-10)


def test_bounds_hold_a_parameter_and_say_so(tmp_path: Path) -> None:
    path = exponential(tmp_path)
    result = fit("a*exp(-k*x) + c", path, a=1, k=1, c=0, config=FitConfig(bounds={"c": (-math.inf, 1.0)}))
    assert result.parameters["c"] == 1.0
    assert result.standard_errors is not None and math.isnan(result.standard_errors["c"])
    assert any("c is at a bound" in w for w in result.warnings)
    free = fit("a*exp(-k*x) + c", path, a=1, k=1, c=0)
    assert free.parameters["c"] == pytest.approx(1.5, abs=0.01)


def test_target_expression_and_extra_columns(tmp_path: Path) -> None:
    x = np.linspace(1, 5, 30)
    path = write(
        tmp_path / "t.csv", ["note", "x", "y"], [[1, float(a), float(math.exp(2 * a + 1))] for a in x]
    )
    result = fit("p*x + q", path, p=0, q=0, config=FitConfig(target="log(y)"))
    assert result.parameters == pytest.approx({"p": 2.0, "q": 1.0}, abs=1e-9)


def test_singular_jacobian_is_reported_not_hidden(tmp_path: Path) -> None:
    path = exponential(tmp_path, 30)
    result = fit("a*b*x + c", path, a=1, b=1, c=0)
    assert result.standard_errors is not None
    assert math.isinf(result.standard_errors["a"]) and math.isinf(result.standard_errors["b"])
    assert any("singular" in w for w in result.warnings)


def test_l2_penalty_shrinks_least_squares(tmp_path: Path) -> None:
    path = exponential(tmp_path, 50)
    plain = fit("a + b*x", path, a=0, b=0)
    ridge = fit("a + b*x", path, a=0, b=0, config=FitConfig(l2=1.0))
    assert abs(ridge.parameters["b"]) < abs(plain.parameters["b"])


def test_validation_rows_are_held_out(tmp_path: Path) -> None:
    path = exponential(tmp_path, 200)
    result = fit("a*exp(-k*x) + c", path, a=1, k=1, c=0, config=FitConfig(validation=0.25, seed=3))
    assert result.rows + result.validation_rows == 200 and 20 < result.validation_rows < 80
    assert result.validation_loss is not None and result.validation_loss < 1e-3


# ---------------------------------------------------------------- other losses and optimizers


def test_perceptron_reaches_accuracy_one() -> None:
    result = fit(
        "sigmoid(w1*x1 + w2*x2 + b)",
        EXAMPLES / "perceptron.csv",
        init=0.0,
        config=FitConfig(loss="bce", optimizer="adam", hyper={"lr": 0.1}, epochs=300),
    )
    assert result.accuracy == 1.0
    assert result.confusion == {"tp": 100, "fp": 0, "tn": 100, "fn": 0}
    assert result.method == "adam" and result.iterations == 300


def test_bce_is_computed_from_the_logit_without_overflow(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", ["x", "y"], [[-1000.0, 0], [1000.0, 1], [-1.0, 1], [1.0, 0]])
    problem = setup("sigmoid(w*x)", path, [("w", 1.0)], config=FitConfig(loss="bce"))
    value, grad = objective(problem).value_and_grad([1.0])
    softplus = [
        math.log1p(math.exp(-1000.0)),
        0.0,
        math.log1p(math.exp(-1.0)) + 1.0,
        math.log1p(math.exp(-1.0)) + 1.0,
    ]
    assert value == pytest.approx(sum(softplus) / 4, rel=1e-12) and math.isfinite(grad[0])


@pytest.mark.parametrize("loss", ["mse", "mae", "huber", "abs(pred - y)^1.5"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_descent_optimizers_fit_a_line(tmp_path: Path, loss: str, optimizer: str) -> None:
    x = np.linspace(-1, 1, 101)
    path = write(tmp_path / "l.csv", ["x", "y"], [[float(a), float(2 * a + 1)] for a in x])
    lr = {"sgd": 0.01, "adam": 0.01}[optimizer]
    result = fit(
        "a*x + b",
        path,
        a=0,
        b=0,
        config=FitConfig(loss=loss, optimizer=optimizer, hyper={"lr": lr}, epochs=5000, tol=0),
    )
    assert result.parameters["a"] == pytest.approx(2.0, abs=0.05)
    assert result.parameters["b"] == pytest.approx(1.0, abs=0.05)
    assert (result.standard_errors is None) == (loss != "mse")


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_full_batch_step_is_the_descent_loops_update(tmp_path: Path, name: str) -> None:
    """The same update rules as descend (optimizers.py), applied to the mean gradient."""
    from autodiff_cli import parse
    from autodiff_cli.optimize.descent import Descent, DescentConfig

    path = write(tmp_path / "one.csv", ["x", "y"], [[2.0, 3.0]])
    result = fit("(a*x)", path, a=0.5, config=FitConfig(optimizer=name, epochs=7, tol=0))
    descent = Descent(parse("(a*2 - 3)^2"), {"a": 0.5}, ("a",), DescentConfig(optimizer=name, steps=7, tol=0))
    for _ in descent.rows():
        pass
    assert descent.result is not None
    assert result.parameters["a"] == pytest.approx(descent.result.point["a"], rel=1e-14)


def test_mini_batches_stream_and_converge(tmp_path: Path) -> None:
    path = exponential(tmp_path, 3000, noise=0.0)
    config = FitConfig(optimizer="adam", hyper={"lr": 0.05}, epochs=40, batch_size=64, seed=1, validation=0.1)
    result = fit("a*exp(-k*x) + c", path, a=1, k=1, c=0, config=config)
    assert result.steps > 40 * 40
    assert result.validation_rows > 0 and result.validation_loss is not None
    assert result.parameters["c"] == pytest.approx(1.5, abs=0.05)
    again = fit("a*exp(-k*x) + c", path, a=1, k=1, c=0, config=config)
    assert again.parameters == result.parameters  # the seed makes it reproducible


def test_divergence_is_a_stop_reason(tmp_path: Path) -> None:
    path = exponential(tmp_path, 20)
    result = fit("a*x", path, a=1, config=FitConfig(optimizer="sgd", hyper={"lr": 1e6}, epochs=100))
    assert result.stop_reason == "diverged" and not result.ok


def test_objective_gradient_is_exact(tmp_path: Path) -> None:
    """The seam a general minimizer plugs into: value and gradient of the mean loss."""
    path = exponential(tmp_path, 20)
    problem = setup(
        "a*exp(-k*x) + c", path, [("a", 2.0), ("k", 0.3), ("c", 1.0)], config=FitConfig(loss="huber", l2=0.01)
    )
    obj = objective(problem)
    value, grad = obj.value_and_grad(obj.start)
    assert value == obj.value(obj.start)
    for i in range(3):
        h = 1e-6
        up, down = list(obj.start), list(obj.start)
        up[i] += h
        down[i] -= h
        assert grad[i] == pytest.approx((obj.value(up) - obj.value(down)) / (2 * h), rel=1e-6, abs=1e-9)


# ---------------------------------------------------------------- reading data


@pytest.mark.parametrize("reader", READERS)
def test_readers_agree_and_read_tsv(tmp_path: Path, reader: str) -> None:
    path = tmp_path / "d.tsv"
    path.write_text("x\ty\tname\n1.5\t-2e3\tfoo\n\n.5\t3\tbar\n", encoding="utf-8")
    source = open_source(path)
    assert source.delimiter == "\t" and source.columns == ("x", "y", "name")
    table = read_table(source, ["x", "y"], reader=reader)
    assert table.columns["x"].tolist() == [1.5, 0.5] and table.columns["y"].tolist() == [-2000.0, 3.0]


def test_streamed_blocks_equal_the_whole_file(tmp_path: Path) -> None:
    path = exponential(tmp_path, 5000)
    source = open_source(path)
    whole = read_table(source, ["x", "y"])
    parts = list(stream_tables(source, ["x", "y"], block_bytes=1000))
    assert len(parts) > 10
    assert np.concatenate([p.columns["y"] for p in parts]).tolist() == whole.columns["y"].tolist()


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    "text, message",
    [
        ("x,y\n1,2\n3,abc\n", "line 3, column 'y': 'abc' is not a number"),
        ("x,y\n1,2\n3\n", "line 3: 1 field, but the header names 2 columns"),
        (
            "x,y\n1,2\n3,\n5,nan\n,7\n",
            "has 3 missing values (empty or nan): 1 in column 'x' (line 5); 2 in column 'y' (lines 3, 4)",
        ),
        ("x,y\n1,inf\n", "line 2, column 'y': inf is not a finite number"),
        ("x,y\n", "has a header but no rows"),
        ("", "is empty"),
        ("x,x\n1,2\n", "names column 'x' twice"),
    ],
)
def test_bad_data_is_a_located_error(tmp_path: Path, reader: str, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_table(open_source(path), ["x", "y"], reader=reader)


def test_drop_missing_drops_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("x,y\n0,1\n1,\n2,5\nnan,3\n3,7\n4,9\n", encoding="utf-8")
    result = fit("a*x + b", path, a=0, b=0, config=FitConfig(drop_missing=True))
    assert result.dropped == 2 and result.rows == 4
    assert result.parameters == pytest.approx({"a": 2.0, "b": 1.0})


def test_file_size_limit_is_checked_first(tmp_path: Path) -> None:
    path = exponential(tmp_path, 100)
    with pytest.raises(DataError, match="more than the 1000 bytes that a fit reads into memory; stream it"):
        read_table(open_source(path), ["x", "y"], limit=1000)


# ---------------------------------------------------------------- the command line


def test_cli_report_and_json(tmp_path: Path) -> None:
    path = exponential(tmp_path)
    out = cli("a*exp(-k*x) + c", "--data", str(path), "--a", "1", "--k", "1", "--c", "0")
    assert out.exit_code == 0, out.output
    for text in (
        "standard error",
        "relative",
        "residual sum of squares",
        "residual standard deviation",
        "degrees of freedom",
        "R²",
        "correlation",
        "Levenberg–Marquardt",
    ):
        assert text in out.output
    out = cli("a*exp(-k*x) + c", "--data", str(path), "--init", "1", "--json")
    data = json.loads(out.stdout)
    for key in (
        "parameters",
        "standard_errors",
        "correlation",
        "residual_sum_of_squares",
        "r_squared",
        "iterations",
        "stop_reason",
        "degrees_of_freedom",
        "relative_errors",
    ):
        assert key in data
    assert data["parameters"]["c"] == pytest.approx(1.5, abs=0.01)
    assert data["correlation"]["a"]["a"] == 1.0


def test_cli_classification_json_has_accuracy(tmp_path: Path) -> None:
    out = perceptron("--epochs", "300", "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["accuracy"] == 1.0 and data["confusion"]["fp"] == 0


def test_save_predict_and_trajectory(tmp_path: Path) -> None:
    path = exponential(tmp_path)
    saved, trajectory = tmp_path / "params.json", tmp_path / "steps.csv"
    out = cli(
        "a*exp(-k*x) + c",
        "--data",
        str(path),
        "--init",
        "1",
        "--save",
        str(saved),
        "--output",
        str(trajectory),
        "--quiet",
    )
    assert out.exit_code == 0, out.output
    parameters = read_parameters(saved)
    assert set(parameters) == {"a", "k", "c"}
    with open(trajectory, encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["step", "loss", "grad_norm", "a", "k", "c"] and len(rows) > 3
    new = write(tmp_path / "new.csv", ["x"], [[0.0], [2.0]])
    predicted = tmp_path / "pred.csv"
    out = runner.invoke(
        app,
        [
            "predict",
            "a*exp(-k*x) + c",
            "--params",
            str(saved),
            "--data",
            str(new),
            "--output",
            str(predicted),
        ],
    )
    assert out.exit_code == 0, out.output
    lines = predicted.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "x,prediction"
    a, k, c = parameters["a"], parameters["k"], parameters["c"]
    assert float(lines[2].split(",")[1]) == pytest.approx(a * math.exp(-2 * k) + c, rel=1e-12)
    out = runner.invoke(app, ["predict", "a*exp(-k*x) + c", "--params", str(saved), "--data", str(new)])
    assert out.stdout.splitlines()[1].startswith("0.0,")


def test_cli_plot_draws(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = exponential(tmp_path)
    picture = tmp_path / "fit.png"
    out = cli("a*exp(-k*x) + c", "--data", str(path), "--init", "1", "--plot", str(picture), "--quiet")
    assert out.exit_code == 0, out.output
    assert picture.stat().st_size > 10_000
    boundary = tmp_path / "boundary.png"
    out = perceptron("--epochs", "50", "--plot", str(boundary), "-q")
    assert out.exit_code == 0, out.output
    assert boundary.stat().st_size > 10_000


@pytest.mark.parametrize(
    "args, message",
    [
        (["a*x", "--data", "{data}", "--target", "yy", "--a", "1"], "has no column 'yy'; did you mean 'y'?"),
        (["a*x + b*0", "--data", "{data}", "--init", "1"], "does not depend on the parameter 'b'"),
        (["x*2", "--data", "{data}"], "the model names no parameter"),
        (
            ["a*x + b", "--data", "{data}", "--a", "1"],
            "no start value for the parameter 'b': give it as --b VALUE",
        ),
        (["a*x", "--data", "{data}", "--x", "1", "--a", "1"], "'x' is a column of"),
        (
            ["a*x", "--data", "{data}", "--init", "1", "--loss", "bce"],
            "bce loss needs a model that ends in sigmoid",
        ),
        (
            ["sigmoid(a*x)", "--data", "{data}", "--init", "1", "--loss", "bce"],
            "bce loss needs targets 0 or 1",
        ),
        (["a*x", "--data", "{data}", "--init", "1", "--loss", "abs(pred - z)"], "not z"),
        (["a*x", "--data", "{data}", "--init", "1", "--loss", "mae", "-O", "lm"], "lm fits least squares"),
        (
            ["a*x", "--data", "{data}", "--init", "1", "--batch-size", "4"],
            "least squares (lm) uses every row",
        ),
        (["a*x", "--data", "{data}", "--init", "1", "--bounds", "a=2:"], "write the bounds as NAME=LO:HI"),
        (["a*x", "--data", "{data}", "--init", "1", "--bounds", "a=2:1"], "the bounds of a are empty"),
        (["a*x", "--data", "{data}", "--init", "1", "--bounds", "q=0:1"], "no parameter 'q' to bound"),
        (
            ["a*x", "--data", "{data}", "--init", "1", "-O", "adam", "--momentum", "0.5"],
            "adam takes no momentum",
        ),
        (["a*x", "--data", "{missing}", "--init", "1"], "cannot read"),
        (["a*x + b*x^2 + c*x^3", "--data", "{tiny}", "--init", "1"], "2 rows for 3 parameters"),
        (["a*y", "--data", "{data}", "--init", "1"], "the model uses 'y', the target's column"),
    ],
)
def test_cli_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    data = exponential(tmp_path, 10)
    tiny = write(tmp_path / "tiny.csv", ["x", "y"], [[1, 2], [2, 3]])
    names = {"data": str(data), "missing": str(tmp_path / "nope.csv"), "tiny": str(tiny)}
    out = cli(*(a.format(**names) for a in args))
    assert out.exit_code == 2, out.output
    assert message in out.output
    assert "Traceback" not in out.output


def test_errors_name_settings_for_python_callers(tmp_path: Path) -> None:
    data = exponential(tmp_path, 10)
    with pytest.raises(AdcliError, match="give it as b=VALUE"):
        fit("a*x + b", data, a=1)
    with pytest.raises(FitError, match="'validation' is a fraction"):
        fit("a*x", data, a=1, config=FitConfig(validation=1.5))


def test_nan_start_is_an_error(tmp_path: Path) -> None:
    data = exponential(tmp_path, 10)
    out = cli("log(a - x)", "--data", str(data), "--a", "0")
    assert out.exit_code == 2 and "not finite at the start" in out.output


def test_a_descent_s_first_row_has_the_start_s_gradient(tmp_path: Path) -> None:
    """Row 0 of a full-batch descent shows the gradient at the start, not nan: for mse of
    a*x + b at a = b = 0, (-2 mean(x*y), -2 mean(y))."""
    xs = [float(i) for i in range(10)]
    ys = [2 * x + 1 for x in xs]
    data = write(tmp_path / "line.csv", ["x", "y"], [[x, y] for x, y in zip(xs, ys)])
    trajectory = tmp_path / "run.csv"
    result = CliRunner().invoke(app, ["fit", "a*x + b", "--data", str(data), "--a", "0", "--b", "0",
                                      "-O", "adam", "--epochs", "3", "--output", str(trajectory), "--json"])
    assert result.exit_code == 0, result.output
    first = next(csv.DictReader(trajectory.open()))
    want = math.hypot(-2 * sum(x * y for x, y in zip(xs, ys)) / 10, -2 * sum(ys) / 10)
    assert float(first["grad_norm"]) == pytest.approx(want, rel=1e-12)


def test_least_squares_log_shows_the_iterations_minimize_shows() -> None:
    """Levenberg–Marquardt's rows: each of the first ten iterations, every tenth up to 100,
    every hundredth after, and the last (MGH09 takes over 300 iterations); --every K instead."""
    from autodiff_cli.optimize.run import Sink

    class Rows(Sink):
        def __init__(self) -> None:
            self.steps: list[int] = []

        def row(self, row: Any) -> None:
            self.steps.append(row.step)

    model = "b1*(x^2+x*b2) / (x^2+x*b3+b4)"
    data = EXAMPLES / "mgh09.csv"
    start = {"b1": 25.0, "b2": 39.0, "b3": 41.5, "b4": 39.0}
    shown = Rows()
    result = fit(model, data, sinks=[shown], **start)
    assert result.iterations > 300
    assert shown.steps[:11] == list(range(11)) and shown.steps[-1] == result.iterations
    middle = shown.steps[11:-1]
    # (a row at least every second may add others on a slow machine)
    assert {10 * k for k in range(2, 10)} | {100, 200, 300} <= set(middle)
    assert len(middle) < 30
    chosen = Rows()
    result = fit(model, data, sinks=[chosen], config=FitConfig(every=50), **start)
    assert [k for k in chosen.steps if k != result.iterations] == list(range(0, result.iterations, 50))


@pytest.mark.parametrize("stop_after", [1, 5, 40, 200])
def test_least_squares_interrupted_keeps_every_iteration_recorded(stop_after: int) -> None:
    """Ctrl-C during Levenberg–Marquardt: the records of the iterations taken are kept (the run
    loop has taken some already, the rest are still in the method's list), and the result's
    point is the last record's."""
    from autodiff_cli.fit import make_method, setup

    problem = setup("b1*(x^2+x*b2) / (x^2+x*b3+b4)", EXAMPLES / "mgh09.csv",
                    [("b1", 25.0), ("b2", 39.0), ("b3", 41.5), ("b4", 39.0)],
                    config=FitConfig(record=True))
    method = make_method(problem)
    taken: list[tuple[float, ...]] = []
    for count, _ in enumerate(method.progress()):
        taken += method.records  # as the run loop drains them
        method.records.clear()
        if count == stop_after:
            break
    result = method.interrupt()
    taken += method.records
    steps = [int(r[0]) for r in taken]
    assert steps == list(range(len(steps))) and steps[-1] == result.iterations
    assert list(taken[-1][3:]) == [result.parameters[n] for n in ("b1", "b2", "b3", "b4")]
    assert result.stop_reason == "interrupted"


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_full_batch_descent_s_records_pair_each_point_with_its_own_loss(tmp_path: Path,
                                                                         optimizer: str) -> None:
    """Every row at once: record k is the point after k steps with the loss and gradient norm
    there (not the loss before the step), so the last record's loss is the result's."""
    xs = [float(i) for i in range(10)]
    ys = [2 * x + 1 + 0.1 * (-1) ** i for i, x in enumerate(xs)]
    data = write(tmp_path / "line.csv", ["x", "y"], [[x, y] for x, y in zip(xs, ys)])
    trajectory = tmp_path / "run.csv"
    out = CliRunner().invoke(app, ["fit", "a*x + b", "--data", str(data), "--a", "0", "--b", "0",
                                   "-O", optimizer, "--lr", "0.01", "--epochs", "5", "--tol", "0",
                                   "--output", str(trajectory), "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    rows = list(csv.DictReader(trajectory.open()))
    assert [int(r["step"]) for r in rows] == list(range(6))
    for row in rows:
        a, b = float(row["a"]), float(row["b"])
        residuals = [a * x + b - y for x, y in zip(xs, ys)]
        loss = sum(r * r for r in residuals) / len(xs)
        grad = (2 * sum(r * x for r, x in zip(residuals, xs)) / len(xs), 2 * sum(residuals) / len(xs))
        assert float(row["loss"]) == pytest.approx(loss, rel=1e-12)
        assert float(row["grad_norm"]) == pytest.approx(math.hypot(*grad), rel=1e-12)
    assert float(rows[-1]["loss"]) == pytest.approx(result["loss_value"], rel=1e-12)
