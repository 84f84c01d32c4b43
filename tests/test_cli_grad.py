"""`adcli grad` through the command line, `python -m autodiff_cli`, help and version, and the
`autodiff_cli.grad` facade."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import Result

import autodiff_cli

from .helpers import app, runner

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=input)


def run_json(*args: str, input: str | None = None) -> Any:
    result = run(*args, "--json", input=input)
    assert result.exit_code == 0, result.stderr
    return strict_json(result.stdout)


def strict_json(text: str) -> Any:
    """Parse JSON, refusing the NaN/Infinity extensions that are not valid JSON."""

    def refuse(name: str) -> None:
        raise AssertionError(f"invalid JSON literal {name}")

    assert text.endswith("\n") and text.count("\n") == 1, "one JSON object on one line"
    return json.loads(text, parse_constant=refuse)


SIN_X_PLUS_XY = math.sin(1.0) + 2.0
D_DX = math.cos(1.0) + 2.0


# ---------------------------------------------------------------- the headline example


def test_grad_prints_the_value_and_a_table_of_partials() -> None:
    result = run("grad", "sin(x)+x*y", "--x", "1", "--y", "2")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert repr(SIN_X_PLUS_XY) == "2.8414709848078967"
    assert repr(D_DX) == "2.5403023058681398"
    lines = [line.split() for line in result.stdout.splitlines()]
    assert ["value", "2.8414709848078967"] in lines
    assert any(line and line[0] == "variable" and "∂f/∂variable" in line for line in lines)
    assert ["x", "1.0", "2.5403023058681398"] in lines
    assert ["y", "2.0", "1.0"] in lines
    rows = [line[0] for line in lines if line and line[0] in ("x", "y")]
    assert rows == ["x", "y"]
    assert "sin(x)+x*y" in result.stdout


def test_grad_json_is_one_object_at_full_precision() -> None:
    data = run_json("grad", "sin(x)+x*y", "--x", "1", "--y", "2")
    assert data == {"expression": "sin(x)+x*y", "point": {"x": 1.0, "y": 2.0},
                    "value": SIN_X_PLUS_XY, "gradient": {"x": D_DX, "y": 1.0}}
    assert list(data) == ["expression", "point", "value", "gradient"]
    assert data["value"] == 2.8414709848078967 and data["gradient"]["x"] == 2.5403023058681398
    assert isinstance(data["point"]["x"], float) and isinstance(data["gradient"]["y"], float)


def test_json_lists_variables_in_order_of_first_appearance() -> None:
    data = run_json("grad", "b*a + c*b", "--c", "3", "--a", "1", "--b", "2")
    assert list(data["point"]) == ["b", "a", "c"]
    assert list(data["gradient"]) == ["b", "a", "c"]
    assert data["gradient"] == {"b": 1.0 + 3.0, "a": 2.0, "c": 2.0}


def test_json_floats_round_trip() -> None:
    data = run_json("grad", "x/3 + exp(x)", "--x", "0.1")
    assert data["value"] == 0.1 / 3 + math.exp(0.1)
    assert data["gradient"]["x"] == 1 / 3 + math.exp(0.1)
    data = run_json("grad", "x*1e-300", "--x", "3")
    assert data["value"] == 3e-300


@pytest.mark.parametrize(("expression", "x", "value", "partial"), [
    ("log(x)", "0", "-inf", "inf"),
    ("sqrt(x)", "-1", "nan", "nan"),
    ("1/x", "0", "inf", "-inf"),
    ("exp(x)", "1000", "inf", "inf"),
])
def test_json_non_finite_numbers_are_strings(expression: str, x: str, value: str, partial: str) -> None:
    result = run("grad", expression, "--x", x, "--json")
    assert result.exit_code == 0
    data = strict_json(result.stdout)
    assert data["value"] == value and data["gradient"]["x"] == partial
    assert result.stderr.startswith("warning:")


# ---------------------------------------------------------------- entry points, help, version


def test_python_dash_m_autodiff_cli() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "autodiff_cli", "grad", "sin(x)+x*y", "--x", "1",
                           "--y", "2", "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert strict_json(done.stdout)["gradient"] == {"x": D_DX, "y": 1.0}
    done = subprocess.run([sys.executable, "-m", "autodiff_cli", "grad", "sin(", "--x", "1"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "never closed" in done.stderr


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"adcli {autodiff_cli.__version__}"
    assert autodiff_cli.__version__ in result.stdout


def _commands() -> list[str]:
    names = []
    for info in app.registered_commands:
        names.append(info.name or typer.main.get_command_name(info.callback.__name__))  # type: ignore[union-attr]
    return names


def test_top_level_help_shows_a_worked_example() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout and "adcli grad" in result.stdout
    for name in _commands():
        assert name in result.stdout


@pytest.mark.parametrize("command", _commands())
def test_every_command_s_help_shows_a_worked_example(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0, result.stderr
    assert "Example" in result.stdout
    assert f"adcli {command}" in result.stdout


def test_no_arguments_shows_help() -> None:
    result = run()
    assert "Usage" in result.stdout + result.stderr


# ---------------------------------------------------------------- where the expression comes from


def test_expression_from_a_file(tmp_path: Path) -> None:
    model = tmp_path / "model.adx"
    model.write_text("# a model\nz = 2*x + 2 + x\nq = relu(z) + z*x; h = relu(z*z)\nh + q + q*x\n",
                     encoding="utf-8")
    for flag in ("--file", "-f"):
        data = run_json("grad", flag, str(model), "--x", "1")
        assert data["value"] == 45.0 and data["gradient"] == {"x": 62.0}
        assert data["expression"] == model.read_text(encoding="utf-8")


def test_expression_from_stdin() -> None:
    assert run_json("grad", "-", "--x", "3", input="x^2\n")["gradient"] == {"x": 6.0}
    assert run_json("grad", "--file", "-", "--x", "3", input="x^3")["gradient"] == {"x": 27.0}


# ---------------------------------------------------------------- values


@pytest.mark.parametrize(("args", "point"), [
    (["--x", "1", "--y", "2"], {"x": 1.0, "y": 2.0}),
    (["--x=1", "--y=2"], {"x": 1.0, "y": 2.0}),
    (["--x", "-1", "--y=-2"], {"x": -1.0, "y": -2.0}),
    (["--x", "pi/4", "--y", "1e-3"], {"x": math.pi / 4, "y": 1e-3}),
    (["--x", "-e", "--y", "2^-2"], {"x": -math.e, "y": 0.25}),
    (["--x", "sqrt(2)", "--y", "-(1+1)"], {"x": math.sqrt(2), "y": -2.0}),
    (["--var", "x=3", "--y", "2"], {"x": 3.0, "y": 2.0}),
    (["--y", "2", "--x", " 5 "], {"x": 5.0, "y": 2.0}),
])
def test_ways_to_give_values(args: list[str], point: dict[str, float]) -> None:
    data = run_json("grad", "x*y", *args)
    assert data["point"] == point
    assert data["gradient"] == {"x": point["y"], "y": point["x"]}


def test_var_gives_values_to_names_that_collide_with_options() -> None:
    data = run_json("grad", "json*file + wrt + help + var", "--var", "json=2", "--var", "file=3",
                    "--var", "wrt=1", "--var", "help=1", "--var", "var=5")
    assert data["value"] == 13.0
    assert data["gradient"] == {"json": 3.0, "file": 2.0, "wrt": 1.0, "help": 1.0, "var": 1.0}


def test_an_expression_starting_with_minus_is_the_expression() -> None:
    assert run_json("grad", "-x^2", "--x", "3")["value"] == -9.0
    assert run_json("grad", "--x", "3", "-x^2")["value"] == -9.0


def test_wrt_picks_the_variables_that_get_gradients() -> None:
    data = run_json("grad", "x*y*z", "--x", "1", "--y", "2", "--z", "3", "--wrt", "x,z")
    assert data["gradient"] == {"x": 6.0, "z": 2.0}
    assert data["point"] == {"x": 1.0, "y": 2.0, "z": 3.0}
    data = run_json("grad", "x*y*z", "--x", "1", "--y", "2", "--z", "3", "--wrt", "z, x")
    assert list(data["gradient"]) == ["x", "z"]  # in the expression's order


def test_wrt_holds_the_others_constant_so_no_log_term_appears() -> None:
    """x^y with y held constant at a negative base: the partial is -4 and nothing is non-finite."""
    result = run("grad", "x^y", "--x", "-2", "--y", "2", "--wrt", "x", "--json")
    assert result.exit_code == 0
    assert strict_json(result.stdout)["gradient"] == {"x": -4.0}
    assert result.stderr == ""
    result = run("grad", "x^(1+1) + x^2", "--x", "-2", "--json")
    assert strict_json(result.stdout)["gradient"] == {"x": -8.0}
    assert result.stderr == ""
    result = run("grad", "x^2", "--x", "0", "--json")
    assert strict_json(result.stdout)["gradient"] == {"x": 0.0} and result.stderr == ""


def test_an_expression_without_variables() -> None:
    result = run("grad", "2^3^2")
    assert result.exit_code == 0
    assert "512.0" in result.stdout
    assert run_json("grad", "2^3^2") == {"expression": "2^3^2", "point": {}, "value": 512.0,
                                         "gradient": {}}


def test_unicode_variable_names() -> None:
    assert run_json("grad", "θ^2 + w_2", "--θ", "3", "--w_2", "1")["gradient"] == {"θ": 6.0, "w_2": 1.0}


# ---------------------------------------------------------------- the facade


def test_the_facade_returns_value_and_gradient() -> None:
    result = autodiff_cli.grad("sin(x)+x*y", x=1, y=2)
    assert result.value == SIN_X_PLUS_XY
    assert result.gradient == {"x": D_DX, "y": 1.0}
    assert result.point == {"x": 1.0, "y": 2.0}
    assert result.expression == "sin(x)+x*y"
    assert result.nonfinite is None


def test_the_facade_takes_wrt_and_constant_expressions() -> None:
    result = autodiff_cli.grad("x*y*z", wrt="x,z", x=1, y=2, z=3)
    assert result.gradient == {"x": 6.0, "z": 2.0}
    assert autodiff_cli.grad("x*y", wrt=["y"], x=2, y=3).gradient == {"y": 2.0}
    assert autodiff_cli.grad("x", x="pi/4").value == math.pi / 4


def test_the_facade_accepts_a_variable_named_expression() -> None:
    assert autodiff_cli.grad("expression^2", expression=3).gradient == {"expression": 6.0}


def test_the_facade_reports_non_finite_results() -> None:
    result = autodiff_cli.grad("log(x) + 1", x=0)
    assert result.value == -math.inf
    assert result.nonfinite is not None and "log(0.0)" in result.nonfinite


def test_the_facade_raises_adcli_errors() -> None:
    with pytest.raises(autodiff_cli.AdcliError, match="no value for variable 'y'"):
        autodiff_cli.grad("x + y", x=1)
    with pytest.raises(autodiff_cli.AdcliError, match="did you mean 'y'"):
        autodiff_cli.grad("x + y", x=1, y=2, yy=3)


def test_piped_output_has_no_trailing_spaces() -> None:
    """Tables pad their cells; piped or redirected, no line ends in spaces."""
    import subprocess
    import sys

    for args in (["descend", "x^2", "--x", "1"], ["check", "x^2 + y", "--x", "1", "--y", "2"],
                 ["grad", "sin(x) + x*y", "--x", "1", "--y", "2", "--trace"],
                 ["hessian", "x*y", "--x", "1", "--y", "2"]):
        done = subprocess.run([sys.executable, "-m", "autodiff_cli", *args], capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines and not [line for line in lines if line != line.rstrip()], args


# ---------------------------------------------------------------- the console script registers what it runs


@pytest.mark.parametrize("args, named", [
    (["grad", "x"], "grad"),
    (["--max-input", "100", "fit", "x"], "fit"),
    (["--max-input=100", "check"], "check"),
    (["-h"], None),
    ([], None),
    (["grda", "x"], None),
    (["--version"], None),
])
def test_the_command_named_on_the_command_line(args: list[str], named: str | None) -> None:
    from autodiff_cli.cli import _command_named

    assert _command_named(args) == named


def test_the_console_script_imports_only_the_command_it_runs() -> None:
    """Typer turns each registered command's signature into options at every start: main
    registers the one it runs, and everything when it is asked for help or a command it lacks."""
    probe = ("import sys; from autodiff_cli.cli import main; sys.argv = ['adcli'] + sys.argv[1:]\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('autodiff_cli.cli.')"
             " and m.rsplit('.', 1)[1] in __import__('autodiff_cli.cli').cli.COMMANDS), file=sys.stderr)")
    for args, commands in ((["grad", "x^2", "--x", "3"], ["grad"]), (["-h"], None), (["grda"], None)):
        done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True,
                              timeout=60, cwd=ROOT)
        imported = json.loads(done.stderr.strip().splitlines()[-1].replace("'", '"'))
        assert imported == (commands or sorted(autodiff_cli.cli.COMMANDS)), done.stderr
    assert "Commands" in subprocess.run([sys.executable, "-m", "autodiff_cli", "-h"], capture_output=True,
                                        text=True, timeout=60, cwd=ROOT).stdout
