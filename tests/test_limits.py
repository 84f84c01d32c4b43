"""Bounded cost: inputs whose work or memory would grow without bound are refused up front,
with a message that names the limit (README, "Limits").

Each test checks a count, a size or a limit, never a time; where memory is the point, a
subprocess runs under an address-space limit (RLIMIT_AS) that the unbounded work would pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autodiff_cli.errors import ExpressionSizeError, LimitError
from autodiff_cli.language import builder
from autodiff_cli.language.parser import parse


def nested(levels: int) -> str:
    """``f_i(a) = f_{i-1}(f_{i-1}(a))``: each level twice the size of the one below."""
    lines = ["f0(a) = sin(a) + a"]
    lines += [f"f{i}(a) = f{i - 1}(f{i - 1}(a))" for i in range(1, levels + 1)]
    return "\n".join([*lines, f"f{levels}(x)"])


def run_limited(args: list[str], limit: int, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m autodiff_cli ARGS`` with its address space limited to ``limit`` bytes."""
    import resource

    def apply_limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "autodiff_cli", *args], capture_output=True, text=True,
                          env=env, preexec_fn=apply_limit, timeout=300, cwd=cwd, check=False)


# ---------------------------------------------------------------- functions that call functions


def test_a_call_s_expansion_is_counted_before_it_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """Level n adds about 6 * 2**n nodes in all: with a limit of 10,000, ten levels are built
    and eleven are refused, at the call that would pass the limit."""
    monkeypatch.setattr(builder, "MAX_EXPANSION", 10_000)
    program = parse(nested(10))
    assert program.variables == ("x",)
    with pytest.raises(ExpressionSizeError) as caught:
        parse(nested(11))
    message = str(caught.value)
    assert "past the limit of 10,000" in message and "MAX_EXPANSION" in message
    assert message.endswith("f11(x)\n  ^^^")  # the call that would pass it
    assert isinstance(caught.value, LimitError)


def test_the_refused_program_was_not_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing past the limit is made: count the nodes that substitute creates."""
    monkeypatch.setattr(builder, "MAX_EXPANSION", 10_000)
    made = 0
    real = builder._Builder.apply

    def counting(self: builder._Builder, op: object, args: tuple[object, ...]) -> object:
        nonlocal made
        made += 1
        return real(self, op, args)

    monkeypatch.setattr(builder._Builder, "apply", counting)
    with pytest.raises(ExpressionSizeError):
        parse(nested(30))
    assert made <= 10_000 + 100


def test_a_syntax_error_is_reported_before_the_size() -> None:
    with pytest.raises(Exception, match="unmatched"):
        parse(nested(30) + "\n)")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced this way on Linux")
def test_twenty_two_levels_are_refused_within_a_bounded_memory(tmp_path: Path) -> None:
    """22 levels took 2.3 GB and more than a minute; refused now, in 600 MB of address space."""
    path = tmp_path / "nested.adx"
    path.write_text(nested(22), encoding="utf-8")
    done = run_limited(["grad", "--file", str(path), "--x", "0.5"], 600 << 20)
    assert done.returncode == 2, done.stderr
    assert "too large" in done.stderr and "MAX_EXPANSION" in done.stderr


# ---------------------------------------------------------------- derivatives of high order


def test_a_high_order_derivative_stops_as_it_grows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The builder counts its nodes as it makes them: it stops at the limit, and the error says
    at which order (the 20th derivative of tan(x) would have billions)."""
    from autodiff_cli.engine import simplify, symbolic

    builder = simplify.Builder(limit=5_000)
    root = builder.simplify(parse("tan(x)").result)
    with pytest.raises(LimitError) as caught:
        symbolic.derivative_trees(builder, root, ["x"], 20)
    assert len(builder._table) <= 5_000
    message = str(caught.value)
    assert "past 5,000 nodes at order 11 of 20" in message and "MAX_DIFF_NODES" in message
    assert "'order'" in message  # the setting, named as the library spells it

    monkeypatch.setattr(simplify, "MAX_DIFF_NODES", 5_000)
    assert symbolic.differentiate(parse("tan(x)"), ["x"], 10).derivatives["x"]  # 2,070 nodes


def test_diff_refuses_an_order_past_the_limit_on_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from autodiff_cli.engine import simplify

    from .helpers import app, runner

    monkeypatch.setattr(simplify, "MAX_DIFF_NODES", 5_000)
    out = runner.invoke(app, ["diff", "x^x", "--order", "14"])
    assert out.exit_code == 2
    assert "grows past 5,000 nodes at order 9 of 14" in out.stderr and "--order" in out.stderr


# ---------------------------------------------------------------- checks at many points


def test_too_many_points_are_refused_before_any_is_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    from autodiff_cli.check import check
    from autodiff_cli.check import program as check_program
    from autodiff_cli.check.report import MAX_CHECKED, CheckSettings

    def no_drawing(*args: object) -> None:
        raise AssertionError("points were drawn")

    monkeypatch.setattr(check_program, "_draw", no_drawing)
    with pytest.raises(LimitError) as caught:
        check("sin(x)*y + x^2", settings=CheckSettings(points=10_000_000))
    message = str(caught.value)
    assert f"past the limit of {MAX_CHECKED:,}" in message and "MAX_CHECKED" in message
    assert "'points' 10,000,000 with 2 variables" in message
    assert f"check at most {MAX_CHECKED // 2:,} points" in message


def test_the_limit_counts_the_variables_checked() -> None:
    from autodiff_cli.check import check
    from autodiff_cli.check.report import MAX_CHECKED, CheckSettings

    with pytest.raises(LimitError):
        check("x*y*z", settings=CheckSettings(points=MAX_CHECKED // 3 + 1))
    report = check("x*y*z", wrt="x", settings=CheckSettings(points=10))  # one variable checked
    assert report.ok and len(report.points) == 10


def test_the_command_line_names_the_option() -> None:
    from .helpers import app, runner

    out = runner.invoke(app, ["check", "sin(x)*y", "--points", "10000000"])
    assert out.exit_code == 2
    assert "--points 10,000,000 with 2 variables" in out.stderr and "MAX_CHECKED" in out.stderr


def test_points_are_checked_a_chunk_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The arrays hold a chunk's points, and the report is the one made all at once."""
    import numpy as np

    from autodiff_cli.check import check
    from autodiff_cli.check import points as on_arrays
    from autodiff_cli.check.report import CheckSettings
    from autodiff_cli.engine.compile import Compiled

    at = CheckSettings(points=1000, seed=4, sample_range=(-1.0, 1.0))
    source = "log(x + 1.5)*y + abs(x - 0.3)"  # some points go to the check on floats
    whole = check(source, settings=at)
    largest = [0]
    real = Compiled.values_at

    def counted(self: Compiled, *columns: object, dtype: object = None) -> object:
        values = real(self, *columns, dtype=dtype)
        largest[0] = max(largest[0], int(np.size(values)))
        return values

    monkeypatch.setattr(on_arrays, "CHUNK", 64)
    monkeypatch.setattr(Compiled, "values_at", counted)
    chunked = check(source, settings=at)
    assert repr(chunked) == repr(whole)
    assert largest[0] <= 2 * 30 * 64  # both variables, 30 rows each, a chunk of points
    assert sorted(p.index for p in chunked.points) == list(range(1000))


def test_the_json_of_many_points_is_written_a_point_at_a_time() -> None:
    import json

    from autodiff_cli.check import check
    from autodiff_cli.check.report import CheckSettings
    from autodiff_cli.render.json import check_json, check_json_parts

    report = check("log(x)*y", settings=CheckSettings(points=50, sample_range=(-1.0, 2.0)))
    parts = list(check_json_parts(report))
    assert len(parts) == 50 + 2
    data = json.loads(check_json(report))
    assert len(data["points"]) == 50 and data["failures"] == report.failures > 0
    assert [p["index"] for p in data["points"]] == [p.index for p in report.points]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced this way on Linux")
def test_the_most_points_fit_in_bounded_memory_json_and_all() -> None:
    """250,000 points of two variables (the limit), as JSON, in 900 MB of address space: the
    JSON of a million points took 4 GB, as its whole text and a copy of the report as data."""
    done = run_limited(["check", "sin(x)*y + x^2", "--points", "250000", "--json"], 900 << 20)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count('"index": ') == 250_000


# ---------------------------------------------------------------- memory per node


def test_each_generated_function_is_compiled_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """CPython's compiler takes 3-7 KB a node while it runs: compiling the functions one at a
    time keeps the peak at the largest one's, not their sum (a 100,000-node program's
    compile_program peaked at 7.0 KB a node, 4.5 now; its NumPy flavour 12.4, 6.5 now)."""
    import builtins

    from autodiff_cli.engine import emit
    from autodiff_cli.engine.compile import compile_program

    texts: list[str] = []

    def spy(text: str, *args: object) -> object:
        texts.append(text)
        return builtins.compile(text, *args)  # type: ignore[call-overload]

    monkeypatch.setattr(emit, "compile", spy, raising=False)
    compiled = compile_program(parse("sin(x)*y + x^y + log(y)"))
    compiled.at_points(1.0, 2.0)
    assert len(texts) == 2 + 3  # value_and_grad and value; the NumPy flavour's three
    assert all(text.count("\ndef ") == 0 and text.startswith("def ") for text in texts)


def test_the_gradient_keeps_no_table_of_nodes() -> None:
    """A graph's Scalars are kept in evaluation order; the table from a node's id to its Scalar
    is made only when a view asks for it (an integer and a dict entry per node)."""
    import gc
    import tracemalloc

    from autodiff_cli.engine.gradient import gradient_at

    text = " + ".join(f"sin(x{i})" for i in range(3000))
    program = parse(text)
    point = {name: 0.5 for name in program.variables}
    result, graph = gradient_at(program, point)
    assert not graph._by_id and result.nonfinite is None
    assert graph.scalars[id(program.result)] is graph.output  # made on demand
    del result, graph
    gc.collect()
    tracemalloc.start()
    try:
        _, graph = gradient_at(program, point)
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    nodes = len(graph.order)
    assert kept / nodes < 250, f"{kept / nodes:.0f} bytes a node"  # 283 with the table


# ---------------------------------------------------------------- compiling


def test_a_program_too_large_to_compile_is_refused_before_its_tape(monkeypatch: pytest.MonkeyPatch) -> None:
    from autodiff_cli import grad
    from autodiff_cli.check import check
    from autodiff_cli.engine import tape
    from autodiff_cli.engine.compile import compile_program

    from .helpers import app, runner

    monkeypatch.setattr(tape, "MAX_COMPILED_NODES", 100)
    text = " + ".join(f"sin(x{i})" for i in range(40))  # 119 nodes
    with pytest.raises(LimitError) as caught:
        compile_program(parse(text))
    assert "119 nodes, too many to compile: the limit is 100 (MAX_COMPILED_NODES" in str(caught.value)
    point = {f"x{i}": 0.5 for i in range(40)}
    assert grad(text, **point).value == pytest.approx(40 * 0.479425538604203)  # grad does not compile
    with pytest.raises(LimitError):
        check(text, **point)  # 40 variables: checked on arrays, compiled
    out = runner.invoke(app, ["check", text, "--points", "3"])
    assert out.exit_code == 2 and "MAX_COMPILED_NODES" in out.stderr


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced this way on Linux")
def test_a_four_megabyte_expression_does_not_take_the_machine(tmp_path: Path) -> None:
    """4 MB of text (785,000 nodes): checking it took more than 6 GB while compiling; now it
    is refused after parsing, in 600 MB of address space, and its grad fits there too."""
    terms, size, i = [], 0, 0
    while size < 3_900_000:
        terms.append(f"sin(x{i % 500} + {i})*x{(i * 7) % 500}")
        size += len(terms[-1]) + 3
        i += 1
    path = tmp_path / "big.adx"
    path.write_text(" + ".join(terms), encoding="utf-8")
    done = run_limited(["check", "--file", str(path), "--points", "1"], 600 << 20)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "too many to compile" in done.stderr
    point = [arg for j in range(500) for arg in (f"--x{j}", "0.5")]
    done = run_limited(["grad", "--file", str(path), *point, "--json"], 600 << 20)
    assert done.returncode == 0, done.stderr[-2000:]


def test_diff_order_is_bounded_and_stops_once_the_derivative_is_zero() -> None:
    """--order past MAX_DIFF_ORDER is refused up front (it ran for hours: a pass per order);
    within it, a derivative that reaches 0 ends the work (every higher one is 0)."""
    from autodiff_cli import diff
    from autodiff_cli.engine.symbolic import MAX_DIFF_ORDER
    from autodiff_cli.errors import ValueInputError

    with pytest.raises(LimitError, match=r"'order' 10,001 is past 10,000, the highest diff takes"):
        diff("x^2", order=MAX_DIFF_ORDER + 1)
    for order in (0, 2.0, "2", True):
        with pytest.raises(ValueInputError, match="'order' must be a whole number, 1 or more"):
            diff("x^2", order=order)  # type: ignore[arg-type]
    assert diff("x^3*y", order=MAX_DIFF_ORDER).derivatives == {"x": "0", "y": "0"}
    assert diff("sin(x)", order=MAX_DIFF_ORDER - 1).derivatives == {"x": "-cos(x)"}
