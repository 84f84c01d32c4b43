"""adcli fit with adcli minimize's methods (lbfgs, bfgs, newton, newton-cg): the minimum of
smooth losses against closed forms and a hand-written Newton iteration, the exact Hessian
of the mean loss, the default optimizer, bounds, Ctrl-C, the trajectory, errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from autodiff_cli.fit import METHODS, FitConfig, fit, objective, setup
from autodiff_cli.optimize.search import Search

from .helpers import app, runner

MINIMIZERS = ["lbfgs", "bfgs", "newton", "newton-cg"]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def line_data(tmp_path: Path, n: int = 60, seed: int = 4) -> tuple[Path, np.ndarray, np.ndarray]:
    """y = 1.5 + 0.8 x with small noise: at the minimum every residual is well inside huber's
    quadratic zone (|r| < delta = 1), so huber's minimizer is least squares'."""
    rng = np.random.default_rng(seed)
    x = np.linspace(-2.0, 3.0, n)
    y = 1.5 + 0.8 * x + rng.normal(0.0, 0.05, n)
    path = tmp_path / "line.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x", "y"])
        writer.writerows([float(a), float(b)] for a, b in zip(x, y))
    return path, x, y


def design(x: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(x), x])


def cli(*args: str) -> object:
    return runner.invoke(app, ["fit", *args])


def test_the_minimize_methods_are_registered() -> None:
    assert list(METHODS) == MINIMIZERS
    out = runner.invoke(app, ["fit", "--help"], terminal_width=200)
    for name in MINIMIZERS:
        assert name in out.output


@pytest.mark.parametrize("method", MINIMIZERS)
def test_huber_on_a_line_is_least_squares(tmp_path: Path, method: str) -> None:
    """Mean huber loss, every residual in the quadratic zone: ½·mean(r²), minimized by the
    normal equations; with l2, by (XᵀX/n + 2·l2·I)θ = Xᵀy/n."""
    path, x, y = line_data(tmp_path)
    X = design(x)
    ols = np.linalg.solve(X.T @ X, X.T @ y)
    result = fit("a + b*x", path, a=0, b=0, config=FitConfig(loss="huber", optimizer=method))
    assert result.method == method and result.stop_reason in ("gtol", "xtol", "ftol", "precision")
    assert [result.parameters["a"], result.parameters["b"]] == pytest.approx(ols, rel=1e-7)
    l2 = 0.05
    ridge = np.linalg.solve(X.T @ X / len(x) + 2 * l2 * np.eye(2), X.T @ y / len(x))
    result = fit("a + b*x", path, a=0, b=0, config=FitConfig(loss="huber", optimizer=method, l2=l2))
    assert [result.parameters["a"], result.parameters["b"]] == pytest.approx(ridge, rel=1e-7)


@pytest.mark.parametrize("method", MINIMIZERS)
def test_a_loss_expression_has_its_closed_form_minimum(tmp_path: Path, method: str) -> None:
    """mean(2r² + r) with r = a + b·x - y: the gradient Xᵀ(4r + 1)/n vanishes at least squares
    on y - 1/4."""
    path, x, y = line_data(tmp_path)
    X = design(x)
    expected = np.linalg.solve(X.T @ X, X.T @ (y - 0.25))
    config = FitConfig(loss="2*(pred - y)^2 + (pred - y)", optimizer=method)
    result = fit("a + b*x", path, a=0, b=0, config=config)
    assert [result.parameters["a"], result.parameters["b"]] == pytest.approx(expected, rel=1e-7)


def logistic_data(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """Two overlapping clusters (no separating line: the unpenalized minimum exists)."""
    rng = np.random.default_rng(7)
    n = 80
    t = (rng.random(n) < 0.5).astype(float)
    x1 = rng.normal(0.0, 1.0, n) + 1.2 * t
    x2 = rng.normal(0.0, 1.0, n) - 0.7 * t
    path = tmp_path / "logistic.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x1", "x2", "y"])
        writer.writerows([float(a), float(b), float(c)] for a, b, c in zip(x1, x2, t))
    return path, np.column_stack([x1, x2, np.ones(n)]), t


def newton_logistic(X: np.ndarray, t: np.ndarray, l2: float) -> np.ndarray:
    """The minimum of mean bce + l2·|θ|² by Newton's method written out (IRLS)."""
    theta = np.zeros(X.shape[1])
    n = len(t)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-X @ theta))
        grad = X.T @ (p - t) / n + 2 * l2 * theta
        hess = X.T @ (X * (p * (1 - p))[:, None]) / n + 2 * l2 * np.eye(len(theta))
        theta = theta - np.linalg.solve(hess, grad)
    return theta


@pytest.mark.parametrize("method", MINIMIZERS)
def test_logistic_regression_matches_newtons_iteration(tmp_path: Path, method: str) -> None:
    path, X, t = logistic_data(tmp_path)
    expected = newton_logistic(X, t, 0.01)
    result = fit("sigmoid(w1*x1 + w2*x2 + b)", path, init=0.0,
                 config=FitConfig(loss="bce", l2=0.01, optimizer=method))
    got = [result.parameters[n] for n in ("w1", "w2", "b")]
    assert got == pytest.approx(expected, rel=1e-7, abs=1e-9)
    assert result.accuracy is not None and result.standard_errors is not None


def test_the_hessian_of_the_mean_loss_is_exact(tmp_path: Path) -> None:
    """bce: Xᵀ·diag(p(1-p))·X / n + 2·l2·I, the true Hessian (here also the Fisher matrix);
    and H·v from the products."""
    path, X, t = logistic_data(tmp_path)
    problem = setup("sigmoid(w1*x1 + w2*x2 + b)", path, [("w1", 0.3), ("w2", -0.2), ("b", 0.1)],
                    config=FitConfig(loss="bce", l2=0.01))
    obj = objective(problem)
    theta = np.array([0.3, -0.2, 0.1])
    p = 1.0 / (1.0 + np.exp(-X @ theta))
    expected = X.T @ (X * (p * (1 - p))[:, None]) / len(t) + 0.02 * np.eye(3)
    value, grad, hessian = obj.hessian(theta)
    assert hessian == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert value == pytest.approx(obj.value(theta), rel=1e-14)
    assert grad == pytest.approx(np.array(obj.value_and_grad(theta)[1]), rel=1e-12, abs=1e-15)
    v = np.array([1.0, -2.0, 0.5])
    assert obj.product(theta, v) == pytest.approx(expected @ v, rel=1e-12, abs=1e-15)


def test_a_nonlinear_model_has_the_second_order_terms(tmp_path: Path) -> None:
    """huber of a·exp(-k·x): the Hessian of the mean loss includes the residuals times the
    model's second derivatives (which Gauss–Newton drops); compared with central differences
    of the exact gradient."""
    path, _, _ = line_data(tmp_path)
    problem = setup("a*exp(-k*x)", path, [("a", 1.0), ("k", 0.2)], config=FitConfig(loss="huber"))
    obj = objective(problem)
    theta = np.array([1.0, 0.2])
    _, _, hessian = obj.hessian(theta)
    h = 1e-6
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        up, down = obj.value_and_grad(theta + e)[1], obj.value_and_grad(theta - e)[1]
        column = (np.array(up) - np.array(down)) / (2 * h)
        assert hessian[:, j] == pytest.approx(column, rel=1e-6)


def test_the_descent_optimizers_reach_the_same_minimum(tmp_path: Path) -> None:
    path, x, y = line_data(tmp_path)
    X = design(x)
    ols = np.linalg.solve(X.T @ X, X.T @ y)
    result = fit("a + b*x", path, a=0, b=0,
                 config=FitConfig(loss="huber", optimizer="adam", hyper={"lr": 0.05}, epochs=4000, tol=0))
    assert [result.parameters["a"], result.parameters["b"]] == pytest.approx(ols, rel=1e-6)
    lbfgs = fit("a + b*x", path, a=0, b=0, config=FitConfig(loss="huber"))
    assert lbfgs.parameters == pytest.approx(result.parameters, rel=1e-6)


def test_lbfgs_is_the_default_for_smooth_losses(tmp_path: Path) -> None:
    path, _, _ = line_data(tmp_path)
    defaults = {"mse": "lm", "huber": "lbfgs", "mae": "adam", "(pred - y)^4": "lbfgs",
                "abs(pred - y)^1.5": "adam", "log(cosh(pred - y))": "lbfgs"}
    for loss, method in defaults.items():
        problem = setup("a + b*x", path, [("a", 0.0), ("b", 0.0)], config=FitConfig(loss=loss))
        assert problem.method == method, loss
    problem = setup("relu(a + b*x)", path, [("a", 0.0), ("b", 0.0)], config=FitConfig(loss="huber"))
    assert problem.method == "adam"


def test_the_perceptron_with_lbfgs_reaches_accuracy_one() -> None:
    result = fit("sigmoid(w1*x1 + w2*x2 + b)", EXAMPLES / "perceptron.csv", init=0.0,
                 config=FitConfig(loss="bce"))
    assert result.method == "lbfgs" and result.ok
    assert result.accuracy == 1.0 and result.confusion == {"tp": 100, "fp": 0, "tn": 100, "fn": 0}


@pytest.mark.parametrize("method", MINIMIZERS)
def test_bounds_are_respected(tmp_path: Path, method: str) -> None:
    """b held at 0.5 (its free value is about 0.8): then a minimizes ½·mean((a + 0.5x - y)²),
    a = mean(y - 0.5x); a start outside the box starts on its edge, with a warning."""
    path, x, y = line_data(tmp_path)
    result = fit("a + b*x", path, a=0, b=2,
                 config=FitConfig(loss="huber", optimizer=method, bounds={"b": (-1.0, 0.5)}))
    assert result.parameters["b"] == 0.5
    assert result.parameters["a"] == pytest.approx(float(np.mean(y - 0.5 * x)), rel=1e-7)
    assert "b starts at 0.5, its bound, not at 2.0" in result.warnings


def test_the_cli_with_lbfgs_writes_the_trajectory(tmp_path: Path) -> None:
    path, _, _ = line_data(tmp_path)
    trajectory = tmp_path / "run.csv"
    out = cli("a + b*x", "--data", str(path), "--init", "0", "--loss", "huber", "--output", str(trajectory),
              "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["method"] == "lbfgs" and data["stop_reason"] == "gtol"
    assert data["message"] == "converged: the gradient norm fell below --tol"
    rows = list(csv.reader(trajectory.open()))
    assert rows[0][:3] == ["step", "loss", "grad_norm"]
    assert [int(r[0]) for r in rows[1:]] == list(range(data["iterations"] + 1))
    assert [float(v) for v in rows[-1][3:]] == [data["parameters"]["a"], data["parameters"]["b"]]


def test_ctrl_c_keeps_the_point_and_the_trajectory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _, _ = line_data(tmp_path)
    original = Search.moved

    def interrupted(self: Search, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        if self.iteration == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(Search, "moved", interrupted)
    trajectory = tmp_path / "run.jsonl"
    out = cli("a + b*x", "--data", str(path), "--init", "0", "--loss", "huber", "-O", "bfgs",
              "--output", str(trajectory))
    assert out.exit_code == 130 and "Traceback" not in out.output
    assert "interrupted" in out.stdout
    records = [json.loads(line) for line in trajectory.read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "args, message",
    [
        (["-O", "newton", "--batch-size", "10"], "newton uses every row at every iteration"),
        (["-O", "lbfgs", "--lr", "0.1"], "lbfgs takes no lr"),
        (["-O", "bogus"], "choose lm (least squares), lbfgs, bfgs, newton, newton-cg, or a descent"),
        (["-O", "bfgs", "--bounds", "b=1:0"], "the bounds of b are empty"),
    ],
)
def test_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    path, _, _ = line_data(tmp_path)
    out = cli("a + b*x", "--data", str(path), "--init", "0", "--loss", "huber", *args)
    assert out.exit_code == 2, out.output
    assert message in out.output and "Traceback" not in out.output


def test_a_start_where_the_loss_is_not_finite_is_an_error(tmp_path: Path) -> None:
    path, _, _ = line_data(tmp_path)
    out = cli("a + log(b)*x", "--data", str(path), "--a", "0", "--b", "-1", "--loss", "huber")
    assert out.exit_code == 2, out.output
    assert "not finite at the start (a = 0.0, b = -1.0)" in out.output


def test_a_loss_unbounded_below_says_so_and_exits_1(tmp_path: Path) -> None:
    path, _, _ = line_data(tmp_path)
    out = cli("a + b*x", "--data", str(path), "--init", "0", "--loss", "pred - y", "--json")
    assert out.exit_code == 1, out.output
    data = json.loads(out.stdout)
    assert data["method"] == "lbfgs" and data["stop_reason"] == "unbounded"
    assert data["message"].startswith("the loss keeps falling")
