"""The evaluation trace (adcli grad --trace): w1 ... wn, local partials, adjoints, sums over paths."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autodiff_cli.api import grad, trace
from autodiff_cli.language.parser import parse
from autodiff_cli.ops import public_operations
from autodiff_cli.views.trace import MAX_PATHS, Trace, trace_at

from .helpers import app, runner


def evaluate(formula: str, values: dict[str, float]) -> float:
    """A printed formula (``cos(w1)``, ``2·w6``), evaluated by adcli's own parser."""
    text = formula.replace("·", "*")
    names = parse(text).variables
    return grad(text, **{name: values[name] for name in names}).value


def sums_agree(total: float, terms: list[float]) -> bool:
    """``total`` is the sum of ``terms`` up to rounding, which scales with the terms' size
    (1e24 - 1e24 + 1 is 0 or 1 depending on the order of the additions)."""
    return abs(total - math.fsum(terms)) <= 1e-9 * math.fsum(map(abs, terms)) + 1e-12


def w_values(t: Trace) -> dict[str, float]:
    return {node.label: node.value for node in t.nodes}


# ---------------------------------------------------------------- the example, exactly


def test_sin_x_plus_x_y_trace_is_the_textbook_table() -> None:
    t = trace("sin(x)+x*y", x=1, y=2)
    assert [(n.label, n.definition) for n in t.nodes] == [
        ("w1", "x"), ("w2", "y"), ("w3", "sin(w1)"), ("w4", "w1·w2"), ("w5", "w3 + w4")]
    assert t.output == "w5"
    assert [n.value for n in t.nodes] == [1.0, 2.0, math.sin(1.0), 2.0, math.sin(1.0) + 2.0]
    w3, w4, w5 = t.nodes[2:]
    assert w3.inputs == (1,) and w4.inputs == (1, 2) and w5.inputs == (3, 4)
    assert w3.partials == (math.cos(1.0),) and w3.partial_forms == ("cos(w1)",)
    assert w4.partials == (2.0, 1.0) and w4.partial_forms == ("w2", "w1")
    assert w5.partials == (1.0, 1.0) and w5.partial_forms == ("1", "1")
    assert [n.adjoint for n in t.nodes] == [math.cos(1.0) + 2.0, 1.0, 1.0, 1.0, 1.0]


def test_sin_x_plus_x_y_gradient_is_the_sum_over_paths() -> None:
    t = trace("sin(x)+x*y", x=1, y=2)
    x, y = t.paths
    assert x.variable == "x" and x.path_count == 2 and not x.grouped
    assert [term.nodes for term in x.terms] == [(1, 3, 5), (1, 4, 5)]
    assert " + ".join("·".join(term.factors) for term in x.terms) == "cos(w1)·1 + w2·1"
    assert [term.value for term in x.terms] == [math.cos(1.0), 2.0]
    assert x.total == x.gradient == t.gradient["x"] == grad("sin(x)+x*y", x=1, y=2).gradient["x"]
    assert [term.nodes for term in y.terms] == [(2, 4, 5)]
    assert y.total == y.gradient == 1.0


def test_the_adjoints_of_the_inputs_are_the_gradient() -> None:
    source = "u = x*y; exp(u)/u + tan(x)^2 - sqrt(u) + max(x, y) + log(x, 2) + 3^x + x^pi"
    t = trace(source, x=1.25, y=2)
    expected = grad(source, x=1.25, y=2).gradient
    for node in t.nodes[:2]:
        assert node.adjoint == expected[node.definition]
    assert t.nodes[2].name == "u"  # the program's name for w3 = w1·w2


# ---------------------------------------------------------------- every operation of the registry


def _call(op_name: str) -> str:
    op = next(o for o in public_operations() if o.name == op_name)
    if op.symbol and op.arity == 2:
        return f"sin(x) {op.symbol} cos(y)"
    if op.symbol:
        return f"{op.symbol}sin(x) + y"
    if op.arity == 2:
        return f"{op.spellings[0]}(sin(x), 2*y)"
    inner = "exp(x)" if op_name == "acosh" else "sin(x)"  # inside every function's domain
    return f"{op.spellings[0]}({inner}) + y"


@pytest.mark.parametrize("op_name", [op.name for op in public_operations()])
def test_printed_partials_and_definitions_mean_what_the_numbers_say(op_name: str) -> None:
    # Each printed local partial, evaluated by the parser at the trace's values, gives the
    # partial's number; each definition gives the node's value.  So the string algebra and
    # the float algebra agree on every rule of the registry.
    t = trace(_call(op_name), x=0.375, y=0.625)
    values = w_values(t)
    assert any(n.op == op_name for n in t.nodes)
    for node in t.nodes[2:]:  # after the inputs x and y
        assert evaluate(node.definition, values) == pytest.approx(node.value, rel=1e-12, abs=1e-300)
        for source, form, number in zip(node.inputs, node.partial_forms, node.partials):
            if source is None:  # a constant operand: no gradient flows into it
                assert number is None and form is None
                continue
            assert number is not None and form is not None
            assert evaluate(form, values) == pytest.approx(number, rel=1e-12, abs=1e-300)


_LEAVES = st.sampled_from(["x", "y", "2", "0.5", "pi"])


def _expressions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        unary = st.tuples(st.sampled_from(["sin", "cos", "tanh", "atan", "sigmoid", "exp", "-"]),
                          inner).map(lambda t: f"{t[0]}({t[1]})")
        binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})")
        square = inner.map(lambda e: f"({e})^2")
        return unary | binary | square

    return st.recursive(_LEAVES, extend, max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_expressions(), st.floats(-2, 2), st.floats(-2, 2))
def test_random_programs_obey_the_chain_rule(source: str, x: float, y: float) -> None:
    program = parse(f"q = x*y + x; {source} + q")  # every input used; a named, shared node
    point = {"x": x, "y": y}
    result, t = trace_at(program, point)
    assume(all(math.isfinite(n.value) for n in t.nodes))
    assume(all(math.isfinite(p) for n in t.nodes for p in n.partials if p is not None))
    assume(all(math.isfinite(n.adjoint) for n in t.nodes if n.adjoint is not None))
    assume(all(math.isfinite(term.value) for entry in t.paths for term in entry.terms))
    values = w_values(t)
    for node in t.nodes:
        if node.op is None:
            assert node.adjoint == result.gradient[node.definition]
        for form, number in zip(node.partial_forms, node.partials):
            if form is not None and number is not None:
                assert evaluate(form, values) == pytest.approx(number, rel=1e-9, abs=1e-12)
    # The adjoint recurrence: each adjoint sums, over the edges leaving the node, the user's
    # adjoint times the local partial on the edge.
    for node in t.nodes[:-1]:
        if node.adjoint is None:  # a constant part such as 2^2: no gradient flows through it
            continue
        flows = [user.adjoint * p for user in t.nodes for src, p in zip(user.inputs, user.partials)
                 if src == node.index and p is not None and user.adjoint is not None]
        assert sums_agree(node.adjoint, flows)
    for entry in t.paths:
        assert entry.gradient == result.gradient[entry.variable]
        assert sums_agree(entry.total, [term.value for term in entry.terms])
        assert sums_agree(entry.gradient, [term.value for term in entry.terms])
        if not entry.grouped:
            assert len(entry.terms) == entry.path_count
            for term in entry.terms:
                assert term.nodes[0] == entry.node and f"w{term.nodes[-1]}" == t.output


# ---------------------------------------------------------------- sharing, grouping, edge cases


def test_a_shared_intermediate_doubles_the_paths() -> None:
    t = trace("u = x*y; u*u", x=1, y=2)
    x = t.paths[0]
    assert x.path_count == 2 and [term.nodes for term in x.terms] == [(1, 3, 4), (1, 3, 4)]
    assert [term.factors for term in x.terms] == [("w2", "w3"), ("w2", "w3")]
    assert x.total == x.gradient == 2 * (1 * 2) * 2


def test_too_many_paths_are_grouped_by_first_edge() -> None:
    n = MAX_PATHS + 4
    t = trace("+".join(["x"] * n), x=3)
    x = t.paths[0]
    assert x.grouped and x.path_count == n
    # x is used twice by the first addition, then once by each other: n edges, n terms.
    assert len(x.terms) == n
    assert x.terms[0].factors == ("1", "∂f/∂w2")
    assert x.total == x.gradient == float(n)


def test_a_variable_not_differentiated_has_no_adjoint_and_no_paths() -> None:
    t = trace("sin(x)+x*y", wrt="x", x=1, y=2)
    assert t.nodes[1].definition == "y" and t.nodes[1].adjoint is None
    assert t.nodes[3].partials == (2.0, None)  # no gradient flows into the constant y
    assert [entry.variable for entry in t.paths] == ["x"]


def test_constants_and_trivial_programs() -> None:
    assert trace("2").nodes == () and trace("2").output == "2"
    t = trace("x", x=3)
    assert t.output == "w1" and t.paths[0].terms[0].nodes == (1,) and t.paths[0].total == 1.0
    t = trace("x^2 + pi", x=3)
    assert [n.definition for n in t.nodes] == ["x", "w1^2", "w2 + pi"]
    assert t.nodes[1].partial_forms == ("2·w1", None) and t.nodes[1].partials == (6.0, None)
    assert t.nodes[2].partials == (1.0, None)


@pytest.mark.slow
def test_a_100000_term_sum_is_traced() -> None:
    t = trace("+".join(["x"] * 100_000), x=1)
    assert len(t.nodes) == 100_000  # x, then 99,999 additions
    assert t.gradient["x"] == t.paths[0].total == 100_000.0
    assert t.paths[0].grouped and t.paths[0].path_count == 100_000


# ---------------------------------------------------------------- the command line


def test_cli_grad_trace_prints_the_table_and_the_paths() -> None:
    result = runner.invoke(app, ["grad", "sin(x)+x*y", "--x", "1", "--y", "2", "--trace"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "∂f/∂variable" in out  # the usual table comes first
    for line in ("w3    sin(w1)", "w4    w1·w2", "w5    w3 + w4", "∂w3/∂w1 = cos(w1) = 0.5403023058681398",
                 "w1 → w3 → w5: cos(w1)·1 = 0.5403023058681398",
                 "cos(w1)·1 + w2·1 = 2.5403023058681398"):
        assert line in out


def test_cli_grad_trace_json_carries_the_trace() -> None:
    result = runner.invoke(app, ["grad", "sin(x)+x*y", "--x", "1", "--y", "2", "--trace", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["gradient"] == {"x": math.cos(1.0) + 2.0, "y": 1.0}
    nodes = data["trace"]["nodes"]
    assert [n["definition"] for n in nodes] == ["x", "y", "sin(w1)", "w1·w2", "w3 + w4"]
    assert nodes[2]["partials"] == [{"operand": "w1", "form": "cos(w1)", "value": math.cos(1.0)}]
    x = data["trace"]["paths"]["x"]
    assert [t["nodes"] for t in x["terms"]] == [["w1", "w3", "w5"], ["w1", "w4", "w5"]]
    assert x["sum"] == data["gradient"]["x"]
    assert x["path_count"] == 2 and x["path_count_is_lower_bound"] is False


def test_cli_grad_trace_json_says_when_the_path_count_is_a_lower_bound() -> None:
    """64 squarings make 2^64 paths: counting stops at PATH_COUNT_CAP, and the JSON says so as
    the text does ("at least ...")."""
    from autodiff_cli.views.trace import PATH_COUNT_CAP

    program = "; ".join(["a0 = x*x", *(f"a{i} = a{i - 1}*a{i - 1}" for i in range(1, 64)), "a63"])
    result = runner.invoke(app, ["grad", program, "--x", "1", "--trace", "--json"])
    assert result.exit_code == 0, result.output
    x = json.loads(result.stdout)["trace"]["paths"]["x"]
    assert x["path_count"] == PATH_COUNT_CAP and x["path_count_is_lower_bound"] is True


def test_cli_grad_trace_json_keeps_non_finite_numbers_valid() -> None:
    result = runner.invoke(app, ["grad", "sqrt(x)", "--x", "0", "--trace", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["trace"]["nodes"][1]["partials"][0]["value"] == "inf"


def test_cli_grad_output_saves_a_picture_or_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    svg, txt, js = tmp_path / "trace.svg", tmp_path / "trace.txt", tmp_path / "trace.json"
    for path, extra in ((svg, []), (txt, []), (js, ["--json"])):
        result = runner.invoke(app, ["grad", "sin(x)+x*y", "--x", "1", "--y", "2", "--trace",
                                     "--output", str(path), *extra])
        assert result.exit_code == 0, result.output
        assert result.stdout == "" and f"wrote {path}" in result.stderr
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<svg")
    assert "cos(w1)·1 + w2·1 = 2.5403023058681398" in txt.read_text(encoding="utf-8")
    assert "\x1b[" not in txt.read_text(encoding="utf-8")
    assert json.loads(js.read_text(encoding="utf-8"))["trace"]["output"] == "w5"


@pytest.mark.parametrize("args, message", [
    (["--output", "t.png"], "--output writes .svg or .txt files, not .png"),
    (["--json", "--output", "t.svg"], "--json writes .json files, not .svg"),
    (["--output", "t"], "not a file without a suffix"),
])
def test_cli_grad_output_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["grad", "x*y", "--x", "1", "--y", "2", "--trace", *args])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_cli_grad_output_to_a_missing_directory_is_an_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "no" / "such" / "trace.svg"
    result = runner.invoke(app, ["grad", "x", "--x", "1", "--trace", "--output", str(target)])
    assert result.exit_code == 2 and "cannot write" in result.stderr
