"""Plots: the files written, the tangent's slope, and every way a plot request can be wrong."""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import sympy

from autodiff_cli.engine.compile import compile_program
from autodiff_cli.errors import AdcliError, ValueInputError, VariableError, command_line_spelling
from autodiff_cli.language.parser import parse
from autodiff_cli.views import plot as plotting
from autodiff_cli.views.plot import (
    MissingDependencyError,
    PlotError,
    Range,
    curve_view,
    loss_scale,
    parse_range,
    plot,
    plot_contour,
    plot_curve,
    plot_descent,
    split_assignments,
    tangent_line,
)

from .helpers import app, runner

PNG = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def assert_png(path: Path) -> None:
    width, height = png_size(path)
    assert width > 300 and height > 300
    assert path.stat().st_size > 10_000  # a real picture, not an empty canvas


def invoke(*args: str) -> object:
    return runner.invoke(app, ["plot", *args])


# ---------------------------------------------------------------- ranges and fixed values


@pytest.mark.parametrize(("text", "low", "high"), [
    ("-2:2", -2.0, 2.0),
    ("-pi:pi", -math.pi, math.pi),
    ("0:2*pi", 0.0, 2 * math.pi),
    (" 1e-3 : 1 ", 1e-3, 1.0),
    ("-1:-0.5", -1.0, -0.5),
])
def test_parse_range(text: str, low: float, high: float) -> None:
    assert parse_range("x", text) == Range("x", low, high)


@pytest.mark.parametrize(("text", "message"), [
    ("1:2:3", "is not a range; write LO:HI"),
    (":2", "is not a range"),
    ("2:", "is not a range"),
    ("a:2", "is not a constant; it uses a"),
    ("1:2)", "is not a number or constant expression"),
    ("2:1", "is empty"),
    ("1:1", "is empty"),
    ("-1/0:0", "must have finite ends"),
])
def test_parse_range_errors(text: str, message: str) -> None:
    with pytest.raises(ValueInputError) as info:
        parse_range("x", text)
    assert message in str(info.value) and "--x" not in str(info.value)
    assert "--x" in info.value.render(command_line_spelling)


def test_split_assignments_ranges_and_fixed() -> None:
    ranges, fixed = split_assignments(("x", "z", "y"), [("y", "-1:3"), ("z", "pi/2"), ("x", "0:1")])
    assert ranges == (Range("y", -1.0, 3.0), Range("x", 0.0, 1.0))
    assert fixed == {"z": math.pi / 2}


@pytest.mark.parametrize(("assignments", "error", "message"), [
    ([("x", "1"), ("y", "2")], PlotError, "nothing to plot"),
    ([("x", "0:1"), ("y", "0:1"), ("z", "0:1")], PlotError, "3 ranges given (x, y, z)"),
    ([("x", "0:1")], VariableError, "no value for variable 'y'"),
    ([("x", "0:1"), ("y", "1"), ("w", "2")], VariableError, "no variable 'w'"),
    ([("x", "0:1"), ("x", "2")], VariableError, "'x' is given a value twice"),
    ([("x", "0:1"), ("y", "1"), ("pi", "1")], VariableError, "'pi' is a constant"),
])
def test_split_assignments_errors(assignments: list[tuple[str, str]], error: type[AdcliError],
                                  message: str) -> None:
    with pytest.raises(error) as info:
        split_assignments(("x", "y", "z"), assignments)
    assert message in str(info.value)


# ---------------------------------------------------------------- the tangent


@pytest.mark.parametrize(("source", "at"), [
    ("sin(x)", 1.0),
    ("x^3 - 2*x", -0.75),
    ("exp(-x^2) * cos(3*x)", 0.4),
    ("log(1 + x^2) / (2 + tanh(x))", 2.5),
    ("sqrt(x) + 1/x", 0.3),
])
def test_tangent_slope_is_the_derivative(source: str, at: float) -> None:
    program = parse(source)
    tangent = tangent_line(program, "x", {}, at)
    x = sympy.Symbol("x")
    expression = sympy.sympify(source.replace("^", "**"))
    assert tangent.slope == pytest.approx(float(sympy.diff(expression, x).subs(x, at)), rel=1e-12)
    assert tangent.value == pytest.approx(float(expression.subs(x, at)), rel=1e-12)
    # The line touches the curve at the point and rises by the slope per unit.
    assert tangent(at) == tangent.value
    assert tangent(at + 1.0) - tangent(at) == pytest.approx(tangent.slope)


def test_tangent_holds_the_other_variables_fixed() -> None:
    program = parse("x*y + sin(x)*z")
    tangent = tangent_line(program, "x", {"y": 2.0, "z": 3.0}, 1.0)
    assert tangent.slope == pytest.approx(2.0 + 3.0 * math.cos(1.0), rel=1e-15)
    assert tangent.value == pytest.approx(2.0 + 3.0 * math.sin(1.0), rel=1e-15)
    # The same as the compiled gradient: the autodiff derivative, not a difference quotient.
    assert tangent.slope == compile_program(program, ("x",)).value_and_grad(1.0, 2.0, 3.0)[1][0]


def test_no_tangent_where_the_value_is_not_finite() -> None:
    with pytest.raises(PlotError, match=r"no tangent at x = 0\.0.*choose another point with 'at'"):
        tangent_line(parse("log(x)"), "x", {}, 0.0)


# ---------------------------------------------------------------- files


def test_curve_png(tmp_path: Path) -> None:
    out = tmp_path / "curve.png"
    assert plot_curve(parse("sin(x)"), Range("x", -3.0, 3.0), {}, out, at=1.0, points=50) == out
    assert_png(out)


def test_curve_svg_and_pdf(tmp_path: Path) -> None:
    program = parse("x^2 + y")
    svg, pdf = tmp_path / "f.svg", tmp_path / "f.PDF"
    plot_curve(program, Range("x", -1.0, 1.0), {"y": 1.0}, svg, points=20)
    plot_curve(program, Range("x", -1.0, 1.0), {"y": 1.0}, pdf, points=20)
    text = svg.read_text(encoding="utf-8")
    assert text.startswith("<?xml") and "<svg" in text
    assert pdf.read_bytes().startswith(b"%PDF")


def test_contour_png_with_and_without_arrows(tmp_path: Path) -> None:
    program = parse("sin(x)*cos(y) + x*z")
    with_arrows, without = tmp_path / "a.png", tmp_path / "b.png"
    plot_contour(program, Range("x", -3.0, 3.0), Range("y", -2.0, 2.0), {"z": 0.2}, with_arrows, points=30)
    plot_contour(program, Range("x", -3.0, 3.0), Range("y", -2.0, 2.0), {"z": 0.2}, without, points=30,
                 arrows=False)
    assert_png(with_arrows)
    assert_png(without)
    assert with_arrows.read_bytes() != without.read_bytes()


def test_plot_dispatches_on_the_number_of_ranges(tmp_path: Path) -> None:
    program = parse("x^2 + y^2")
    curve = plot(program, [("x", "-1:1"), ("y", "0.5")], tmp_path / "c.png", points=20)
    contour = plot(program, [("x", "-1:1"), ("y", "-1:1")], tmp_path / "k.png", points=20)
    # A curve is wider than tall; the contour map is taller (it has a colour bar and a longer title).
    (cw, ch), (kw, kh) = png_size(curve), png_size(contour)
    assert cw == kw and ch < kh


def test_gaps_where_the_function_is_not_finite(tmp_path: Path) -> None:
    # 1/x has a pole inside the range, sqrt is nan on half of it: both draw, with gaps.
    plot(parse("1/x + sqrt(x)"), [("x", "-1:1")], tmp_path / "g.png", at=0.5, points=41)
    plot(parse("log(x*y)"), [("x", "-1:1"), ("y", "-1:1")], tmp_path / "h.png", points=21)
    assert_png(tmp_path / "g.png")
    assert_png(tmp_path / "h.png")


def test_curve_view_near_a_pole() -> None:
    import numpy as np

    xs = np.linspace(-1.0, 1.0, 400)
    low, high = curve_view(1 / xs)
    # The samples next to the pole reach +-400; the view keeps the central part, tripled.
    assert max(abs(1 / xs)) > 300
    assert -60 < low < -10 and 10 < high < 60
    # Steep but no pole: everything is shown.
    growth = np.exp(np.linspace(0.0, 10.0, 400))
    assert curve_view(growth) == (1.0, float(growth[-1]))
    # nan (not finite) values are ignored; a constant has an empty range, widened when drawn.
    assert curve_view(np.array([np.nan, 2.0, 2.0])) == (2.0, 2.0)


def test_nothing_finite_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PlotError, match="has no finite value for x in"):
        plot(parse("sqrt(-1 - x^2 - y^2)"), [("x", "-1:1"), ("y", "-1:1")], tmp_path / "n.png", points=10)
    assert not (tmp_path / "n.png").exists()


def test_at_must_be_in_the_range_and_only_for_curves(tmp_path: Path) -> None:
    with pytest.raises(PlotError, match="outside the plotted range"):
        plot(parse("x"), [("x", "0:1")], tmp_path / "a.png", at=2.0)
    with pytest.raises(PlotError, match="a contour map has none"):
        plot(parse("x*y"), [("x", "0:1"), ("y", "0:1")], tmp_path / "a.png", at=0.5)


@pytest.mark.parametrize("name", ["f.jpg", "f", "f.png.txt"])
def test_output_needs_a_known_extension(tmp_path: Path, name: str) -> None:
    with pytest.raises(PlotError, match=r"name the file \.png, \.svg or \.pdf"):
        plot(parse("x"), [("x", "0:1")], tmp_path / name)


def test_unwritable_output(tmp_path: Path) -> None:
    with pytest.raises(PlotError, match="cannot write"):
        plot(parse("x"), [("x", "0:1")], tmp_path / "no such dir" / "f.png", points=5)


def test_matplotlib_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'adcli\[plot\]'"):
        plot(parse("x"), [("x", "0:1")], tmp_path / "f.png")
    result = invoke("x", "--x", "0:1", "--output", str(tmp_path / "f.png"))
    assert result.exit_code == 2
    assert "plotting needs matplotlib" in result.stderr
    assert "pip install 'adcli[plot]'" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "f.png").exists()


# ---------------------------------------------------------------- descent


def _descent(source: str, start: tuple[float, ...], rate: float, steps: int,
             fixed: dict[str, float] | None = None) -> tuple[list[tuple[float, ...]], list[float]]:
    """A hand-made gradient descent: the points visited and the loss at each."""
    program = parse(source)
    names = tuple(v for v in program.variables if v not in (fixed or {}))
    compiled = compile_program(program, names)
    point, trajectory, losses = start, [start], []
    for _ in range(steps):
        values = dict(zip(names, point), **(fixed or {}))
        loss, grad = compiled.value_and_grad(*[values[v] for v in program.variables])
        losses.append(loss)
        point = tuple(p - rate * g for p, g in zip(point, grad))
        trajectory.append(point)
    return trajectory, losses


def test_descent_two_variables(tmp_path: Path) -> None:
    source = "(x-1)^2 + 10*(y-x^2)^2"
    trajectory, losses = _descent(source, (-1.0, 1.5), 0.01, 60)
    out = plot_descent(parse(source), ("x", "y"), trajectory, losses, tmp_path / "d.png")
    width, height = png_size(out)
    assert width > 2 * height  # two panels side by side


def test_descent_one_variable_with_a_fixed_one(tmp_path: Path) -> None:
    source = "x^4 - 3*x^2 + a*x"
    trajectory, losses = _descent(source, (2.0,), 0.02, 30, {"a": 0.5})
    out = plot_descent(parse(source), ("x",), trajectory, losses, tmp_path / "d.svg", fixed={"a": 0.5})
    assert "<svg" in out.read_text(encoding="utf-8")


def test_descent_three_variables_draws_the_loss_only(tmp_path: Path) -> None:
    source = "x^2 + y^2 + z^2"
    trajectory, losses = _descent(source, (1.0, -2.0, 3.0), 0.1, 20)
    out = plot_descent(parse(source), ("x", "y", "z"), trajectory, losses, tmp_path / "d.png")
    width, height = png_size(out)
    assert width < 2 * height  # one panel


def test_descent_that_diverged(tmp_path: Path) -> None:
    # Too large a step: the loss overflows to inf, then the path to inf and nan; still drawn.
    source = "x^2 + y^2"
    trajectory, losses = _descent(source, (1.0, 1.0), 1.5, 1100)
    assert math.inf in losses and math.isnan(losses[-1]) and math.isnan(trajectory[-1][0])
    assert_png(plot_descent(parse(source), ("x", "y"), trajectory, losses, tmp_path / "d.png"))


def test_descent_errors(tmp_path: Path) -> None:
    program = parse("x*y + z")
    with pytest.raises(VariableError, match="no value for variable 'z'"):
        plot_descent(program, ("x", "y"), [(0.0, 0.0)], [0.0], tmp_path / "d.png")
    with pytest.raises(VariableError, match="no variable 'w'"):
        plot_descent(program, ("x", "w"), [(0.0, 0.0)], [0.0], tmp_path / "d.png", fixed={"z": 1.0})
    with pytest.raises(PlotError, match="name the file"):
        plot_descent(program, ("x", "y"), [(0.0, 0.0)], [0.0], tmp_path / "d.gif", fixed={"z": 1.0})
    with pytest.raises(ValueError, match="one coordinate per variable"):
        plot_descent(program, ("x", "y"), [(0.0, 0.0, 1.0)], [0.0], tmp_path / "d.png", fixed={"z": 1.0})


@pytest.mark.parametrize(("losses", "scale"), [
    ([100.0, 10.0, 1.0, 0.1], "log"),
    ([5.0, 4.0, 3.0], "linear"),            # a small range
    ([100.0, 1.0, 0.0], "linear"),          # not all positive
    ([100.0, -1.0], "linear"),
    ([1e6, math.inf, 1.0], "log"),          # inf and nan are gaps: a diverged descent
    ([0.5, math.inf, math.nan], "linear"),
    ([2.0, 1e300, math.inf, math.nan], "log10"),  # beyond what a log axis can draw
    ([1e-120, 1.0], "log10"),
    ([1e6], "linear"),
    ([], "linear"),
])
def test_loss_scale(losses: list[float], scale: str) -> None:
    assert loss_scale(losses) == scale


# ---------------------------------------------------------------- the command


def test_cli_curve(tmp_path: Path) -> None:
    out = tmp_path / "f.png"
    result = invoke("sin(x)", "--x", "-pi:pi", "--at", "pi/4", "--points", "40", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out}\n"
    assert_png(out)


def test_cli_contour_with_fixed_variable_and_var_option(tmp_path: Path) -> None:
    out = tmp_path / "f.svg"
    result = invoke("x^2 - y^2 + output", "--x=-2:2", "--y", "-1:3", "--var", "output=1",
                    "--points", "20", "--no-arrows", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "<svg" in out.read_text(encoding="utf-8")


def test_cli_reads_the_expression_from_a_file(tmp_path: Path) -> None:
    source = tmp_path / "f.txt"
    source.write_text("r = x^2 + y^2\nexp(-r)\n", encoding="utf-8")
    out = tmp_path / "f.png"
    result = invoke("--file", str(source), "--x", "-2:2", "--y", "-2:2", "--points", "20", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert_png(out)


@pytest.mark.parametrize(("args", "message"), [
    (["x*y", "--x", "1", "--y", "2"], "nothing to plot"),
    (["x+y+z", "--x", "0:1", "--y", "0:1", "--z", "0:1"], "3 ranges given"),
    (["x", "--x", "0:1:2"], "is not a range; write LO:HI"),
    (["x", "--x", "1..2:3"], "is not a number or constant expression"),
    (["x", "--x", "2:-2"], "is empty"),
    (["x*y+z", "--x", "0:1", "--y", "0:1"],
     "no value for variable 'z': give it as --z VALUE (the expression's variables: x, y, z)"),
    (["x", "--x", "0:1", "--y", "1"], "no variable 'y'"),
    (["x", "--x", "0:1", "--at", "5"], "outside the plotted range"),
    (["x", "--x", "0:1", "--at", "t"], "--at: 't' is not a constant"),
    (["log(x)", "--x", "-1:1"], "choose another point with --at"),
    (["x", "--x", "0:1", "--output", "f.jpg"], "name the file .png, .svg or .pdf"),
    (["x", "--x", "0:1", "--points", "1"], "--points"),
    (["x", "--x", "0:1"], "Missing option '--output'"),
    (["x +", "--x", "0:1"], "column"),
])
def test_cli_errors(tmp_path: Path, args: list[str], message: str) -> None:
    if "--output" not in args and "Missing option" not in message:
        args = [*args, "--output", str(tmp_path / "f.png")]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_help_names_the_extra() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "adcli[plot]" in result.stdout


def test_the_library_never_imports_pyplot(tmp_path: Path) -> None:
    # pyplot would pick a GUI backend and keep every figure alive; we draw on bare Figures.
    code = ("import sys; from autodiff_cli.language.parser import parse; "
            "from autodiff_cli.views.plot import plot; "
            f"plot(parse('x^2'), [('x', '0:1')], {str(tmp_path / 'f.png')!r}, points=5); "
            "print('matplotlib.pyplot' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(Path(plotting.__file__).parents[1])})
    assert done.stdout.strip() == "False"


def test_a_map_over_tiny_ranges_prints_no_numpy_warning(tmp_path: Path) -> None:
    """Ranges of 1e-320 make the arrows' fractions overflow: those arrows are left out quietly."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "p.png"
    done = subprocess.run([sys.executable, "-m", "autodiff_cli", "plot", "x+y", "--x", "0:1e-320",
                           "--y", "0:1e-320", "--output", str(out)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr
    assert out.stat().st_size > 10_000
