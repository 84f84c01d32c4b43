"""adcli fit and adcli predict at the edges a tester found: data files that end oddly, settings
out of range, data that overflows, Ctrl-C; each through the library or the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autodiff_cli.fit import FitConfig, fit
from autodiff_cli.fit.data import open_source
from tests.helpers import READERS, app, runner

LINE = "x,y\n1,3\n2,5\n3,7.1\n4,9\n"
"""y = 2x + 1 but for one point: least squares gives a = 2.01, b = 0.95."""


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def no_traceback(result: Any) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# ---------------------------------------------------------------- data files


@pytest.mark.parametrize("reader", READERS)
def test_a_file_without_a_final_newline_fits_as_with_one(tmp_path: Path, reader: str) -> None:
    """The extended-precision pass read the last line as a block of its own and kept only it."""
    ended, open_ended = tmp_path / "ended.csv", tmp_path / "open.csv"
    ended.write_text(LINE, encoding="utf-8")
    open_ended.write_text(LINE.rstrip("\n"), encoding="utf-8")
    out = run("fit", "a*x+b", "-d", str(open_ended), "--init", "1", "--reader", reader, "--json")
    no_traceback(out)
    assert out.exit_code == 0, out.output
    reference = fit("a*x+b", ended, init=1.0, config=FitConfig(reader=reader))
    assert json.loads(out.stdout)["parameters"] == reference.parameters
    assert reference.parameters["a"] == pytest.approx(2.01)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("digit", ["\u0663", "\uff13"], ids=["arabic-indic", "fullwidth"])
def test_digits_longdouble_refuses_fall_back_to_float64(tmp_path: Path, reader: str, digit: str) -> None:
    """'٣' and '３' are 3 to Python's float; numpy.longdouble refuses them: the extended
    precision, a refinement, is skipped rather than a traceback."""
    path = tmp_path / "digits.csv"
    path.write_text(LINE.replace("1,3\n", f"1,{digit}\n"), encoding="utf-8")
    out = run("fit", "a*x+b", "-d", str(path), "--init", "1", "--reader", reader, "--json")
    no_traceback(out)
    assert out.exit_code == 0, out.output
    plain = tmp_path / "plain.csv"
    plain.write_text(LINE, encoding="utf-8")
    expected = fit("a*x+b", plain, init=1.0).parameters["a"]
    assert json.loads(out.stdout)["parameters"]["a"] == pytest.approx(expected)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    "text", ["x,y\r1,3\r2,5\r3,7.1\r", "x,y\n1,3\r2,5\r3,7.1\r"], ids=["every-line", "after-the-header"]
)
def test_lines_ending_in_cr_alone_are_refused_clearly(tmp_path: Path, reader: str, text: str) -> None:
    path = tmp_path / "cr.csv"
    path.write_bytes(text.encode())
    params = tmp_path / "p.json"
    params.write_text('{"a": 1, "b": 2}', encoding="utf-8")
    for out in (
        run("fit", "a*x+b", "-d", str(path), "--init", "1", "--reader", reader),
        run("fit", "a*x+b", "-d", str(path), "--init", "1", "-O", "adam", "--batch-size", "2",
            "--epochs", "2", "--reader", reader),
        run("predict", "a*x+b", "-p", str(params), "-d", str(path), "--reader", reader),
    ):
        no_traceback(out)
        assert out.exit_code == 2, out.output
        assert "cr.csv" in out.stderr and "CR alone" in out.stderr


def test_crlf_line_endings_still_read(tmp_path: Path) -> None:
    path = tmp_path / "crlf.csv"
    path.write_bytes(LINE.replace("\n", "\r\n").encode())
    plain = tmp_path / "plain.csv"
    plain.write_text(LINE, encoding="utf-8")
    assert fit("a*x+b", path, init=1.0).parameters == fit("a*x+b", plain, init=1.0).parameters


def test_a_csv_file_whose_header_has_tabs_and_no_commas_is_tab_separated(tmp_path: Path) -> None:
    """As the README says: a .tsv file, or a header with tabs and no commas."""
    path = tmp_path / "tabs.csv"
    path.write_text(LINE.replace(",", "\t"), encoding="utf-8")
    assert open_source(path).columns == ("x", "y")
    out = run("fit", "a*x+b", "-d", str(path), "--init", "1", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["parameters"]["a"] == pytest.approx(2.01)
    commas = tmp_path / "commas.csv"
    commas.write_text("x,y,note\n1,3,a\tb\n", encoding="utf-8")
    assert open_source(commas).columns == ("x", "y", "note")


# ---------------------------------------------------------------- settings


def line(tmp_path: Path) -> Path:
    path = tmp_path / "line.csv"
    path.write_text(LINE + "5,11\n6,13\n7,15\n8,17\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "args",
    [["-O", "adam", "--validation", "0.3"], ["-O", "adam", "--batch-size", "2"], ["--validation", "0.3"]],
    ids=["validation", "batch-size", "lm-validation"],
)
def test_a_negative_seed_is_refused(tmp_path: Path, args: list[str]) -> None:
    data = str(line(tmp_path))
    out = run("fit", "a*x+b", "-d", data, "--init", "1", "--epochs", "2", "--seed", "-1", *args)
    no_traceback(out)
    assert out.exit_code == 2, out.output
    assert "--seed must be 0 or more, not -1" in out.stderr


@pytest.mark.parametrize("name", ["tol", "ftol", "xtol", "gtol"])
def test_a_tolerance_that_is_nan_is_named_as_given(tmp_path: Path, name: str) -> None:
    """--tol went to the minimize methods as their gtol, and the message named --gtol."""
    out = run("fit", "a*x+b", "-d", str(line(tmp_path)), "--init", "1", "--loss", "huber", f"--{name}", "nan")
    no_traceback(out)
    assert out.exit_code == 2, out.output
    assert f"--{name} must be 0 or more, not nan" in out.stderr
    assert name == "gtol" or "--gtol" not in out.stderr


@pytest.mark.parametrize("name", ["tol", "ftol", "xtol", "gtol"])
def test_a_tolerance_of_inf_is_refused_under_its_own_name(tmp_path: Path, name: str) -> None:
    """--ftol inf made least squares 'converge' at its first iteration; --tol inf was refused
    as --gtol by the minimize methods."""
    out = run("fit", "a*x+b", "-d", str(line(tmp_path)), "--init", "1", "--loss", "huber", f"--{name}", "inf")
    no_traceback(out)
    assert out.exit_code == 2, out.output
    message = f"--{name} must be finite, not inf: a tolerance of inf would call any point converged"
    assert message in out.stderr
    assert name == "gtol" or "--gtol" not in out.stderr


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"seed": -1, "optimizer": "adam", "validation": 0.3}, "'seed' must be 0 or more, not -1"),
        ({"batch_size": 0, "optimizer": "adam"}, "'batch_size' must be at least 1, not 0"),
        ({"every": 0}, "'every' must be at least 1, not 0"),
        ({"epochs": -1, "optimizer": "adam"}, "'epochs' must be 0 or more, not -1"),
        ({"iterations": 0}, "'iterations' must be at least 1, not 0"),
        ({"iterations": -3, "loss": "huber"}, "'iterations' must be at least 1, not -3"),
        ({"tol": float("nan"), "loss": "huber"}, "'tol' must be 0 or more, not nan"),
    ],
)
def test_the_library_checks_the_settings_the_command_line_checks(
    tmp_path: Path, settings: dict[str, Any], message: str
) -> None:
    from autodiff_cli.errors import AdcliError

    with pytest.raises(AdcliError, match=message.replace("(", r"\(")):
        fit("a*x+b", line(tmp_path), init=1.0, config=FitConfig(**settings))


# ---------------------------------------------------------------- Ctrl-C


def _interrupted_fit(tmp_path: Path, *args: str) -> tuple[dict[str, Any], list[list[str]]]:
    """A descent fit in a real process, sent SIGINT once its trajectory has some epochs."""
    import csv
    import signal
    import subprocess
    import sys
    import time

    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 50_000)
    data = tmp_path / "many.csv"
    np.savetxt(data, np.column_stack([x, 2 * x + 1 + rng.normal(0, 0.1, x.size)]), delimiter=",",
               header="x,y", comments="")
    trajectory = tmp_path / "traj.csv"
    process = subprocess.Popen(
        [sys.executable, "-m", "autodiff_cli", "fit", "a*x+b", "-d", str(data), "--init", "1", "-O", "adam",
         "--epochs", "10000000", "--tol", "0", "-o", str(trajectory), "--json", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if trajectory.exists() and trajectory.read_text(encoding="utf-8").count("\n") > 5:
            break
        time.sleep(0.05)
    time.sleep(0.3)  # into the middle of the run, whatever epoch it is at
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    with open(trajectory, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return json.loads(out), rows


@pytest.mark.parametrize("args", [[], ["--batch-size", "1000"]], ids=["whole", "mini-batches"])
def test_ctrl_c_keeps_every_finished_epoch_once_and_ends_at_the_reported_point(
    tmp_path: Path, args: list[str]
) -> None:
    """Ctrl-C cleared the records of epochs that had finished but were not yet written, and
    the result's point was inside an unfinished epoch."""
    result, rows = _interrupted_fit(tmp_path, *args)
    assert result["stop_reason"] == "interrupted"
    assert rows[0] == ["step", "loss", "grad_norm", "a", "b"]
    steps = [int(row[0]) for row in rows[1:]]
    assert steps == list(range(len(steps))) and len(steps) > 5
    assert steps[-1] == result["iterations"]
    last = rows[-1]
    assert [float(last[3]), float(last[4])] == [result["parameters"]["a"], result["parameters"]["b"]]


# ---------------------------------------------------------------- models that read no column; predict


def test_predict_a_model_that_reads_no_column_gives_one_value_per_row(tmp_path: Path) -> None:
    params = tmp_path / "p.json"
    params.write_text('{"a": 1.5}', encoding="utf-8")
    out = run("predict", "a*2", "-p", str(params), "-d", str(line(tmp_path)))
    no_traceback(out)
    assert out.exit_code == 0, out.output
    assert out.stdout == "prediction\n" + "3.0\n" * 8


def test_predict_a_model_that_reads_no_column_still_checks_the_rows(tmp_path: Path) -> None:
    params = tmp_path / "p.json"
    params.write_text('{"a": 1.5}', encoding="utf-8")
    data = tmp_path / "short.csv"
    data.write_text("x,y\n1,2\n3\n", encoding="utf-8")
    out = run("predict", "a*2", "-p", str(params), "-d", str(data))
    assert out.exit_code == 2, out.output
    assert "short.csv, line 3: 1 field, but the header names 2 columns" in out.stderr


def test_fit_plot_of_a_model_that_reads_no_column(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    plot = tmp_path / "c.png"
    out = run("fit", "b", "-d", str(line(tmp_path)), "--init", "0", "--plot", str(plot), "--json")
    no_traceback(out)
    assert out.exit_code == 0, out.output
    assert plot.stat().st_size > 0
    assert json.loads(out.stdout)["parameters"]["b"] == pytest.approx(80.1 / 8)  # the mean of y


def test_predict_refuses_a_parameter_that_is_also_a_column(tmp_path: Path) -> None:
    """{"a": 1, "x": 5} with a column x used x = 5 at every row, silently."""
    params = tmp_path / "p.json"
    params.write_text('{"a": 1, "x": 5}', encoding="utf-8")
    out = run("predict", "a*x", "-p", str(params), "-d", str(line(tmp_path)))
    no_traceback(out)
    assert out.exit_code == 2, out.output
    assert "'x', which is a column of" in out.stderr and "line.csv too" in out.stderr
    assert out.stdout == ""


# ---------------------------------------------------------------- overflow


@pytest.mark.parametrize("value", ["1e300", "1e200", "-1e300"])
def test_a_sum_of_squares_past_float64_at_the_start_is_an_error(tmp_path: Path, value: str) -> None:
    """It was 'converged' after 0 iterations with RSS inf, exit 0, and RuntimeWarnings on stderr."""
    path = tmp_path / "big.csv"
    path.write_text(f"x,y\n1,3\n2,5\n3,{value}\n4,9\n", encoding="utf-8")
    out = run("fit", "a*x+b", "-d", str(path), "--init", "1")
    no_traceback(out)
    assert out.exit_code == 2, out.output
    start = "error: the residual sum of squares is not finite at the start (a = 1.0, b = 1.0)"
    assert out.stderr.startswith(start)
    assert "data row 3" in out.stderr and "RuntimeWarning" not in out.stderr
    assert out.stdout == ""


def test_no_numpy_warning_leaks_from_a_fit_of_large_values(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "big.csv"
    path.write_text("x,y\n1,3\n2,5\n3,1e300\n4,9\n", encoding="utf-8")
    command = [sys.executable, "-m", "autodiff_cli", "fit", "a*x+b", "-d", str(path), "--init", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Warning" not in done.stderr and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_descent_that_diverges_on_large_values_says_so_quietly(tmp_path: Path, optimizer: str) -> None:
    """Gradients of 1e300: their norm is computed without overflow (no NumPy warning), the run
    diverges (exit 1), and the report shows no uncertainties of the point it stopped at."""
    import subprocess
    import sys

    path = tmp_path / "big.csv"
    path.write_text("x,y\n1,3\n2,1e300\n3,7\n", encoding="utf-8")
    command = [sys.executable, "-m", "autodiff_cli", "fit", "a*x+b", "-d", str(path), "--init", "1",
               "-O", optimizer, "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr == "", done.stderr
    result = json.loads(done.stdout)
    assert result["stop_reason"] == "diverged"
    assert result["standard_errors"] is None and result["correlation"] is None


# ---------------------------------------------------------------- dropped rows


@pytest.mark.parametrize("streamed", [[], ["--batch-size", "2"]], ids=["in-memory", "streamed"])
def test_dropped_rows_are_counted_when_streamed_too(tmp_path: Path, streamed: list[str]) -> None:
    path = tmp_path / "missing.csv"
    path.write_text("x,y\n1,3\n2,nan\n3,7.1\n4,\n5,11\n6,13\n", encoding="utf-8")
    args = ["fit", "a*x+b", "-d", str(path), "--init", "1", "-O", "adam", "--epochs", "3", "--drop-missing"]
    out = run(*args, "--json", *streamed)
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert (result["dropped"], result["rows"]) == (2, 4)
    text = run(*args, *streamed)
    assert "4 rows; 2 dropped for missing values" in text.stdout


# ---------------------------------------------------------------- predict's column name


def test_predict_quotes_the_prediction_column_name_as_csv(tmp_path: Path) -> None:
    import csv
    import io

    params = tmp_path / "p.json"
    params.write_text('{"a": 2, "b": 1}', encoding="utf-8")
    out = run("predict", "a*x+b", "-p", str(params), "-d", str(line(tmp_path)), "--name", 'pred, "y"')
    assert out.exit_code == 0, out.output
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["x", 'pred, "y"'] and rows[1] == ["1.0", "3.0"]


@pytest.mark.parametrize(
    "name, message", [("x", "'x' is an input column's too"), ("", "needs a name (--name)")]
)
def test_predict_refuses_a_column_name_that_would_clash(tmp_path: Path, name: str, message: str) -> None:
    params = tmp_path / "p.json"
    params.write_text('{"a": 2, "b": 1}', encoding="utf-8")
    target = tmp_path / "out.csv"
    data = str(line(tmp_path))
    out = run("predict", "a*x+b", "-p", str(params), "-d", data, "--name", name, "-o", str(target))
    assert out.exit_code == 2, out.output
    assert message in out.stderr
    assert list(tmp_path.glob("out.csv*")) == []


def test_predict_leaves_no_partial_file_after_a_bad_cell(tmp_path: Path) -> None:
    params = tmp_path / "p.json"
    params.write_text('{"a": 2, "b": 1}', encoding="utf-8")
    data = tmp_path / "bad.csv"
    data.write_text("x,y\n1,2\nzz,2\n", encoding="utf-8")
    out = run("predict", "a*x+b", "-p", str(params), "-d", str(data), "-o", str(tmp_path / "out.csv"))
    assert out.exit_code == 2, out.output
    assert "line 3, column 'x': 'zz' is not a number" in out.stderr
    assert list(tmp_path.glob("out.csv*")) == []


def test_predict_with_a_missing_input_says_so_without_offering_an_option_it_lacks(tmp_path: Path) -> None:
    """predict has no --drop-missing (a dropped row would have no prediction): its message does
    not offer it, and nothing reaches the output before the error."""
    data = tmp_path / "new.csv"
    data.write_text("x\n1\nnan\n3\n", encoding="utf-8")
    params = tmp_path / "params.json"
    params.write_text('{"a": 2}', encoding="utf-8")
    result = runner.invoke(app, ["predict", "a*x", "--params", str(params), "--data", str(data)])
    assert result.exit_code == 2 and result.stdout == ""
    assert "1 in column 'x' (line 3); a prediction needs every input: fix them" in result.stderr
    assert "drop-missing" not in result.stderr
