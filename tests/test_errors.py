"""Bad input: every user mistake exits 2 with a short message on stderr and no traceback;
domain problems print IEEE results and warn about the first non-finite operation."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from autodiff_cli import AdcliError, grad, parse
from autodiff_cli.engine.gradient import gradient_at
from autodiff_cli.errors import ExpressionSyntaxError, SourceError, caret

from .helpers import app, runner
from .strategies import junk


def run(*args: str, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=input)


def fails(*args: str, input: str | None = None) -> str:
    """Run, demand exit status 2 with nothing on stdout and no traceback; the stderr text."""
    result = run(*args, input=input)
    assert result.exit_code == 2, (args, result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.strip(), "a message on stderr"
    assert len(result.stderr.splitlines()) <= 6, "the message is short"
    return result.stderr


def caret_column(message: str, source_line: str) -> int:
    """The column (0-based, in the source line) that the caret line points at."""
    lines = message.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip() == source_line.strip() and line)
    shown, marks = lines[index], lines[index + 1]
    assert set(marks.strip()) == {"^"}
    return marks.index("^") - shown.index(source_line.strip())


# ---------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(("source", "column", "expected"), [
    ("x + * 2", 4, "expected"),
    ("sin(x", 3, "never closed"),
    ("x)", 1, "unmatched ')'"),
    ("sin(x))", 6, "unmatched ')'"),
    ("x +", 3, "ends too soon"),
    ("x @ 2", 2, "unexpected character '@'"),
    ("2 3", 2, "unexpected '3'"),
    ("x = (1", 4, "never closed"),
    ("1 + x y", 6, "unexpected 'y'"),
])
def test_syntax_errors_show_the_expression_with_a_caret(source: str, column: int, expected: str) -> None:
    message = fails("grad", source, "--x", "1")
    assert message.startswith("error: ")
    assert expected in message
    assert caret_column(message, source) == column
    assert f"column {column + 1}" in message


@pytest.mark.parametrize(("source", "column"), [
    ("()", 1), ("(x+)", 3), ("sin(x,)", 6), ("max(x, )", 7), ("f() + ()", 7),
])
def test_a_closing_parenthesis_that_closes_something_is_not_called_unmatched(
        source: str, column: int) -> None:
    with pytest.raises(ExpressionSyntaxError) as raised:
        parse(source)
    assert "unmatched" not in str(raised.value)
    assert "expected" in str(raised.value)
    assert raised.value.start == column


def test_syntax_errors_say_what_was_expected() -> None:
    with pytest.raises(ExpressionSyntaxError) as raised:
        parse("x + * 2")
    assert "expected" in raised.value.reason
    assert "a name" in raised.value.reason and "a number" in raised.value.reason


def test_syntax_errors_on_later_lines_name_the_line() -> None:
    source = "a = x + 1\nb = a *\nb"
    with pytest.raises(ExpressionSyntaxError) as raised:
        parse(source)
    message = str(raised.value)
    assert "line 2" in message
    assert "  b = a *" in message.splitlines()


def test_a_caret_in_a_long_line_stays_on_screen() -> None:
    source = "x + " * 100 + "* 2"
    with pytest.raises(ExpressionSyntaxError) as raised:
        parse(source)
    for line in str(raised.value).splitlines()[1:]:
        assert len(line) < 100
    marker_line = str(raised.value).splitlines()[-1]
    shown_line = str(raised.value).splitlines()[-2]
    assert shown_line[marker_line.index("^")] == "*"


def test_caret_helper_marks_a_span() -> None:
    assert caret("sin(x, y)", 0, 9) == "  sin(x, y)\n  ^^^^^^^^^"
    assert caret("a\nbc d", 5) == "  bc d\n     ^"


# ---------------------------------------------------------------- names, functions, arguments


def test_unknown_function_suggests_the_closest() -> None:
    message = fails("grad", "sinn(x)", "--x", "1")
    assert "unknown function 'sinn'" in message and "did you mean 'sin'" in message
    assert caret_column(message, "sinn(x)") == 0
    message = fails("grad", "sqr(x)", "--x", "1")
    assert "did you mean 'sqrt'" in message


def test_wrong_number_of_arguments() -> None:
    assert "sin takes 1 argument, got 2" in fails("grad", "sin(x, x)", "--x", "1")
    assert "atan2 takes 2 arguments, got 1" in fails("grad", "atan2(x)", "--x", "1")
    assert "log takes 1 or 2 arguments, got 0" in fails("grad", "log()", "--x", "1")


def test_reassigned_name_and_shadowed_builtins() -> None:
    message = fails("grad", "a = x; a = 2*x; a", "--x", "1")
    assert "'a' is already defined" in message
    assert caret_column(message, "a = x; a = 2*x; a") == 7
    assert "built-in function" in fails("grad", "exp = 2; exp", "--x", "1")
    assert "built-in constant" in fails("grad", "tau = 2; tau")
    assert "used before it is assigned" in fails("grad", "b = a + x; a = 1; b", "--x", "1")


# ---------------------------------------------------------------- variables and values


def test_a_variable_without_a_value() -> None:
    message = fails("grad", "x + y", "--x", "1")
    assert "'y'" in message and "x, y" in message


def test_a_value_for_a_name_the_expression_does_not_use() -> None:
    message = fails("grad", "x + y", "--x", "1", "--y", "1", "--yy", "2")
    assert "'yy'" in message and "did you mean 'y'" in message and "x, y" in message
    message = fails("grad", "x + y", "--x", "1", "--y", "1", "--var", "q=2")
    assert "'q'" in message and "x, y" in message


def test_the_same_variable_twice() -> None:
    assert "'x' is given a value twice" in fails("grad", "x", "--x", "1", "--x", "2")
    assert "'x' is given a value twice" in fails("grad", "x", "--x", "1", "--var", "x=2")


@pytest.mark.parametrize("name", ["e", "pi", "tau"])
def test_a_constant_given_as_a_variable(name: str) -> None:
    message = fails("grad", f"x + {name}", "--x", "1", f"--{name}", "1")
    assert f"'{name}' is a constant" in message
    message = fails("grad", f"x + {name}", "--x", "1", "--var", f"{name}=1")
    assert f"'{name}' is a constant" in message


def test_wrt_errors() -> None:
    assert "'w'" in fails("grad", "x*y", "--x", "1", "--y", "1", "--wrt", "x,w")
    assert "constant" in fails("grad", "x*e", "--x", "1", "--wrt", "e")
    assert "names no variable" in fails("grad", "x", "--x", "1", "--wrt", ",")


@pytest.mark.parametrize("bad", ["foo", "1+", "sin(", "1 2", "", "x*2", "--"])
def test_malformed_values(bad: str) -> None:
    message = fails("grad", "x", f"--x={bad}")
    assert "--x" in message


@pytest.mark.parametrize("bad", ["x", "=1", "x=", "=", " = 2"])
def test_malformed_var_option(bad: str) -> None:
    assert "--var" in fails("grad", "x", "--var", bad)


def test_an_option_without_its_value() -> None:
    message = fails("grad", "x", "--x")
    assert "--x" in message


# ---------------------------------------------------------------- files and missing input


def test_unreadable_files(tmp_path: Path) -> None:
    assert "cannot read" in fails("grad", "--file", str(tmp_path / "missing.adx"), "--x", "1")
    assert "cannot read" in fails("grad", "--file", str(tmp_path), "--x", "1")
    binary = tmp_path / "binary.adx"
    binary.write_bytes(b"\xff\xfe\x00x")
    assert "is not UTF-8 text: byte 0xff at offset 0" in fails("grad", "--file", str(binary), "--x", "1")


# ---------------------------------------------------------------- hostile input and output streams


def adcli_process(*args: str, stdin: object = None, stdout: object = None,
                  timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """adcli as its own process, as a shell runs it."""
    return subprocess.run([sys.executable, "-m", "autodiff_cli", *args],
                          stdin=stdin if stdin is not None else subprocess.DEVNULL,  # type: ignore[arg-type]
                          stdout=stdout if stdout is not None else subprocess.PIPE,  # type: ignore[arg-type]
                          stderr=subprocess.PIPE, timeout=timeout, check=False)


def _close_stdin() -> None:
    import os

    os.close(0)  # in the child, before adcli starts: as `adcli grad - <&-`


def test_standard_input_closed_or_not_utf8() -> None:
    closed = subprocess.run([sys.executable, "-m", "autodiff_cli", "grad", "-"], stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=60, check=False, preexec_fn=_close_stdin)
    assert closed.returncode == 2 and b"standard input is closed" in closed.stderr
    done = subprocess.run([sys.executable, "-m", "autodiff_cli", "grad", "-", "--x", "1"],
                          input=b"x\xff", capture_output=True, timeout=60, check=False)
    assert done.returncode == 2 and b"standard input is not UTF-8 text: byte 0xff at offset 1" in done.stderr
    assert b"Traceback" not in done.stderr + closed.stderr


def test_input_larger_than_the_limit_is_refused_unread(tmp_path: Path) -> None:
    """/dev/zero and an endless pipe end with a message, not with the machine's memory."""
    endless = adcli_process("grad", "--file", "/dev/zero")
    assert endless.returncode == 2 and b"longer than 4,000,000 bytes" in endless.stderr
    assert b"--max-input BYTES" in endless.stderr
    big = tmp_path / "big.adx"
    big.write_text("x + " * 30 + "x", encoding="utf-8")
    assert "longer than 100 bytes" in fails("--max-input", "100", "grad", "--file", str(big), "--x", "1")
    assert runner.invoke(app, ["--max-input", "1000", "grad", "--file", str(big), "--x", "1"]).exit_code == 0
    assert "longer than 10 bytes" in fails("--max-input", "10", "grad", "x + x + x + x", "--x", "1")


@pytest.mark.parametrize("args", [["grad", "x", "--x", "1"], ["grad", "x", "--x", "1", "--json"],
                                  ["graph", "x", "--x", "1", "--format", "svg"], ["diff", "x^2"],
                                  ["check", "x^2", "--x", "1"], ["descend", "x^2", "--x", "1", "--json"]])
def test_a_full_disk_on_standard_output_is_a_message(args: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        done = adcli_process(*args, stdout=full)
    assert done.returncode == 2, done.stderr
    assert b"cannot write the output: No space left on device" in done.stderr
    assert b"Traceback" not in done.stderr and b"Exception ignored" not in done.stderr


def test_a_full_disk_for_output_files_is_a_message(tmp_path: Path) -> None:
    for name in ("t.csv", "t.jsonl"):
        link = tmp_path / name
        link.symlink_to("/dev/full")
        message = fails("descend", "x^2", "--x", "1", "--output", str(link))
        assert f"cannot write {link}: No space left on device" in message
    svg = tmp_path / "trace.svg"
    svg.symlink_to("/dev/full")
    assert "No space left on device" in fails("grad", "x", "--x", "1", "--trace", "--output", str(svg))


def test_a_closed_pipe_ends_quietly() -> None:
    reader = subprocess.Popen([sys.executable, "-m", "autodiff_cli", "diff", "x^2"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    assert reader.stdout is not None
    reader.stdout.close()  # the reader has gone, as with | head -0
    _, err = reader.communicate(timeout=60)
    assert b"Traceback" not in err and b"Exception ignored" not in err


def test_no_expression_or_two_expressions(tmp_path: Path) -> None:
    assert "no expression" in fails("grad", "--x", "1")
    model = tmp_path / "m.adx"
    model.write_text("x", encoding="utf-8")
    assert "not both" in fails("grad", "x", "--file", str(model), "--x", "1")


def test_an_empty_expression() -> None:
    assert "empty" in fails("grad", "")
    assert "empty" in fails("grad", "-", input="# nothing here\n")


# ---------------------------------------------------------------- domain problems


@pytest.mark.parametrize(("expression", "x", "value", "culprit"), [
    ("log(x) + 1", "-1", "nan", "log(-1.0)"),
    ("2 + 1/x", "0", "inf", "div(1.0, 0.0)"),
    ("sqrt(x)*2", "-1", "nan", "sqrt(-1.0)"),
    ("exp(x) - 1", "1000", "inf", "exp(1000.0)"),
    ("x*1e308*10", "1", "inf", "mul(1e+308, 10.0)"),
    ("x^1000", "10", "inf", "pow(10.0, 1000.0)"),
    ("x + 1e999", "1", "inf", "literal"),
])
def test_domain_problems_print_ieee_results_and_warn(expression: str, x: str, value: str,
                                                     culprit: str) -> None:
    result = run("grad", expression, "--x", x)
    assert result.exit_code == 0
    assert f"value {value}" in result.stdout
    assert result.stderr.startswith("warning: ")
    assert culprit in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_the_warning_names_the_first_operation_in_evaluation_order() -> None:
    result = run("grad", "a = log(x - 2); b = sqrt(x - 3); a + b", "--x", "1")
    assert "log(-1.0)" in result.stderr and "sqrt" not in result.stderr


def test_a_non_finite_derivative_at_a_finite_value_is_named() -> None:
    result = run("grad", "sqrt(x) + 1", "--x", "0")
    assert result.exit_code == 0 and "value 1.0" in result.stdout
    assert "derivative of sqrt(0.0)" in result.stderr


def test_a_gradient_that_overflows_only_in_the_chain_rule_is_reported() -> None:
    """Every value and every local derivative is finite, but their product overflows."""
    result = grad("(x*1e200)*1e200", x=1e-300)
    assert result.value == 1e100
    assert result.gradient["x"] == math.inf
    assert result.nonfinite is not None and "mul" in result.nonfinite


def test_a_non_finite_variable_value_is_reported() -> None:
    result = grad("x + 1", x="1/0")
    assert result.value == math.inf
    assert result.nonfinite is not None and "x" in result.nonfinite


def test_finite_results_give_no_warning() -> None:
    result = run("grad", "log(x) + sqrt(x)", "--x", "2")
    assert result.exit_code == 0 and result.stderr == ""
    assert grad("log(x)", x=2).nonfinite is None


# ---------------------------------------------------------------- junk


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=junk())
def test_junk_never_raises_anything_but_adcli_errors(text: str) -> None:
    try:
        program = parse(text)
    except AdcliError as error:
        assert str(error)
        if isinstance(error, SourceError):
            assert "^" in str(error)
        return
    result, _ = gradient_at(program, {name: 0.5 for name in program.variables})
    assert isinstance(result.value, float)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=junk(), value=st.one_of(junk(8), st.sampled_from(["1", "-2", "pi/4", "1e-3"])))
def test_junk_on_the_command_line_never_gives_a_traceback(text: str, value: str) -> None:
    for args in (["grad", text, "--x", value], ["grad", text, "--json", f"--y={value}"],
                 ["grad", "-", "--x", value]):
        result = run(*args, input=text)
        assert result.exit_code in (0, 2), (args, result.exit_code, result.stderr)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            args, repr(result.exception))
        assert "Traceback" not in result.stderr
        if result.exit_code == 2:
            assert result.stderr.strip()
            assert not re.search(r"File \".*\", line \d+", result.stderr)


def test_a_file_with_a_byte_order_mark_reads_as_text(tmp_path: Path) -> None:
    path = tmp_path / "bom.adx"
    path.write_bytes(b"\xef\xbb\xbfx^2\n")
    result = CliRunner().invoke(app, ["grad", "--file", str(path), "--x", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["gradient"] == {"x": 6.0}


# ---------------------------------------------------------------- options: missing values and typos


@pytest.mark.parametrize("args, message", [
    (["grad", "sin(x)", "--x", "1", "--wrt"], "--wrt needs a value"),
    (["grad", "sin(x)", "--x", "1", "--wrt", "--json"], "--wrt needs a value"),
    (["grad", "sin(x)", "--x", "1", "--jsn"], "no such option: --jsn; did you mean --json?"),
    (["graph", "sin(x)", "--x", "1", "--json"], "no such option: --json; did you mean --format json?"),
    (["grad", "sin(x)", "--x", "1", "--jsonn", "1"],
     "no such option: --jsonn; did you mean --json? (and the expression has no variable 'jsonn')"),
    (["descend", "x^2", "--x", "1", "--tol2", "1e-3"], "no such option: --tol2; did you mean --tol?"),
    (["grad", "sin(x)", "--x", "--json"], "--x needs a value: --x VALUE"),
    (["grad", "sin(x)", "--zz", "--x", "1"], "--zz needs a value: --zz VALUE"),
    (["grad", "x^2", "x=0"], "unexpected argument 'x=0': give a variable's value as an option: --x 0"),
    (["fit", "a*x", "--a", "1", "-m", "adam"], "no such option: -m"),
    (["descend", "x^2", "--x", "1", "--steps", "1.5"],
     "Invalid value for '--steps': '1.5' is not a whole number"),
    (["descend", "x^2", "--x", "1", "--steps", "inf"], "'inf' is not a whole number"),
    (["check", "x^2", "--points", "0"], "Invalid value for '--points': 0 is below 1, the least it may be"),
    (["minimize", "x^2", "--x", "1", "--max-iter", "-1e3"], "-1e3 is below 0"),
    (["fit", "a*x", "--a", "1", "--batch-size", "ten"], "'ten' is not a whole number"),
    (["hessian", "x*y", "--x", "1", "y=-2"], "give a variable's value as an option: --y -2"),
    (["grad", "x", "+", "y", "--x", "1", "--y", "2"],
     'unexpected argument(s) after the expression: + y; quote an expression that has spaces: "x + y"'),
])
def test_a_missing_value_or_a_mistyped_option_is_named(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    unboxed = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # Typer's box wraps lines
    assert message in unboxed and "Traceback" not in result.output


def test_a_variable_close_to_an_option_is_still_a_variable_when_the_expression_has_it() -> None:
    result = run("grad", "jsn + 1", "--jsn", "2", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["gradient"] == {"jsn": 1.0}


def test_short_options_take_attached_values_and_negative_values_stay_values() -> None:
    result = run("descend", "x^2", "--x", "-1", "-Oadam", "--steps", "3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["optimizer"] == "adam"
    assert json.loads(run("grad", "-x^2", "--x", "-pi", "--json").stdout)["point"] == {"x": -math.pi}


def test_messages_at_non_finite_points_say_what_is_not_finite() -> None:
    hessian_out = run("hessian", "x^2", "--x", "nan")
    assert "inconclusive: the value or the gradient is not finite" in hessian_out.stdout
    assert "the gradient is not zero" not in hessian_out.stdout
    check_out = run("check", "x^2", "--x", "nan", "--mode", "forward")
    assert check_out.exit_code == 1 and "f is not finite here" in check_out.stdout
    assert "disagree by nan" not in check_out.stdout


@pytest.mark.parametrize("args", [["plot", "x", "--x", "-1e308:1e308", "--output", "p.png"],
                                  ["check", "x^2", "--points", "3", "--range", "-1e308:1e308"]])
def test_a_range_wider_than_float64_is_refused(args: list[str]) -> None:
    assert "is too wide: its width overflows float64" in fails(*args)


def test_what_adcli_writes_it_reads_back() -> None:
    """JSON writes inf and nan as strings; the same text is a value on the command line."""
    out = run("grad", "x*y", "--x", "inf", "--y", "-inf", "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["point"] == {"x": "inf", "y": "-inf"} and data["value"] == "-inf"
    again = run("grad", "x*y", "--x", data["point"]["x"], "--y", "nan", "--json")
    assert json.loads(again.stdout)["value"] == "nan"


def test_a_long_caret_span_ends_where_the_shown_window_ends() -> None:
    marked = caret("x+" * 200, 0, 400).splitlines()
    assert len(marked[1]) <= len(marked[0])


@pytest.mark.parametrize("spelled", ["1000", "1e3", "1_000", "1.0e3", "1000.0"])
def test_a_count_may_be_written_in_float_notation(spelled: str) -> None:
    result = run("descend", "x^2", "--x", "1", "--steps", spelled, "--every", "5e2", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["steps"] == 1000



@pytest.mark.parametrize(
    "args, message",
    [
        (["gard", "x"], "error: No such command 'gard'. Did you mean 'grad'?\nTry 'adcli -h' for help."),
        (["descend", "x^2", "--x", "1", "--steps", "-1"],
         "error: Invalid value for '--steps': -1 is below 0, the least it may be\n"
         "Try 'adcli descend -h' for help."),
        (["check", "x^2", "--x", "1", "--method", "foo"],
         "error: Invalid value for '--method': 'foo' is not one of 'central', 'forward', 'richardson'.\n"
         "Try 'adcli check -h' for help."),
        (["grad", "x^2", "--x", "1", "--jsn"],
         "error: no such option: --jsn; did you mean --json?\nTry 'adcli grad -h' for help."),
    ],
)
def test_usage_errors_print_as_adclis_own(args: list[str], message: str) -> None:
    """A usage error that Typer finds reads as adcli's errors do: one 'error:' line on stderr,
    a line on where to find help, exit status 2; no framed box (so a long message is not cut
    into the box's width)."""
    done = adcli_process(*args)
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().rstrip("\n") == message
    assert "error: " in fails(*args)  # the same through Typer's test runner


def test_no_arguments_prints_the_help_once() -> None:
    done = adcli_process()
    text = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 2 and text.count("Usage: adcli") == 1 and "error:" not in text


@pytest.mark.parametrize("args", [["minimize", "x^2", "--x", "0", "--fix", "a"],
                                  ["minimize", "x^2", "--x", "0", "--bounds", "q=0:1"],
                                  ["descend", "x^2", "--x", "1", "--fix", "gtl"]])
def test_a_name_given_to_an_option_is_not_taken_for_a_mistyped_option(args: list[str]) -> None:
    """'no such option: --a; did you mean ...?' only for a --NAME the user typed; a name that
    --fix or --bounds gives is just not a variable."""
    message = fails(*args)
    assert "no such option" not in message
    assert re.search(r"the expression has no variable '(a|q|gtl)' \(its variables: x\)", message)


def test_an_output_file_may_not_be_an_input_or_another_output(tmp_path: Path) -> None:
    """Refused before any work, by any name of the file (a symbolic or a hard link), so the
    data, the program or the other output is left as it was."""
    import os

    data = tmp_path / "data.csv"
    data.write_text("x,y\n1,3\n2,5\n3,7.1\n", encoding="utf-8")
    program = tmp_path / "f.csv"
    program.write_text("(x-1)^2", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(data)
    os.link(data, tmp_path / "hard.csv")
    params = tmp_path / "params.json"
    params.write_text('{"a": 2, "b": 1}', encoding="utf-8")
    cases = [
        (["fit", "a*x+b", "--data", str(data), "--init", "1", "-o", str(data)], "--output", "--data"),
        (["fit", "a*x+b", "--data", str(data), "--init", "1", "--save", str(tmp_path / "link.csv")],
         "--save", "--data"),
        (["fit", "a*x+b", "--data", str(data), "--init", "1", "-o", str(tmp_path / "t.csv"),
          "--save", str(tmp_path / "t.csv")], "--save", "--output"),
        (["predict", "a*x+b", "--params", str(params), "--data", str(data), "-o", str(tmp_path / "hard.csv")],
         "--output", "--data"),
        (["minimize", "--file", str(program), "--init", "0", "-o", str(program)], "--output", "--file"),
        (["descend", "--file", str(program), "--init", "0", "-o", str(program)], "--output", "--file"),
    ]
    for args, output, source in cases:
        message = fails(*args)
        assert f"is the file of {source} too: writing it would replace that" in message, message
        assert message.startswith(f"error: {output} ")
    assert data.read_text(encoding="utf-8") == "x,y\n1,3\n2,5\n3,7.1\n"
    assert program.read_text(encoding="utf-8") == "(x-1)^2" and not (tmp_path / "t.csv").exists()


@pytest.mark.parametrize("args, name", [(["grad", "file*x", "--x", "1"], "file"),
                                        (["grad", "wrt*x", "--wrt", "1", "--x", "2"], "wrt"),
                                        (["check", "eps*x", "--x", "1"], "eps")])
def test_a_variable_named_like_an_option_is_told_to_use_var(args: list[str], name: str) -> None:
    """--file VALUE would be the option: the advice is one that works."""
    message = fails(*args)
    assert f"no value for variable '{name}': give it as --var {name}=VALUE" in message
    given = " ".join(args).replace("--wrt 1 ", "").split(" ")
    followed = [*given, "--var", f"{name}=2"]
    assert run(*followed).exit_code == 0


def test_descending_an_expression_without_variables_says_so() -> None:
    assert "the expression has no variables: nothing to descend on" in fails("descend", "3")
    fixed = fails("descend", "x^2", "--x", "1", "--fix", "x")
    assert "every variable is fixed: nothing to descend on" in fixed
