"""The expression language: numbers, names, constants, operators, precedence, implicit
products, functions, programs (statements, comments, shared intermediates, user functions)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_cli import AdcliError, grad, parse
from autodiff_cli.errors import (
    ArityError,
    ExpressionSizeError,
    ExpressionSyntaxError,
    NameUseError,
    UnknownFunctionError,
)
from autodiff_cli.expr import Apply, Const, Num, Var, count_nodes, postorder
from autodiff_cli.ops import CONSTANTS, FUNCTIONS, OPS

from .strategies import Tree, evaluate, expressions, fold_tree, points, trees


def value(source: str, **point: float) -> float:
    return grad(source, **point).value


def gradient(source: str, **point: float) -> dict[str, float]:
    return grad(source, **point).gradient


# ---------------------------------------------------------------- numbers, names, constants


@pytest.mark.parametrize(("text", "number"), [
    ("3", 3.0), ("3.14", 3.14), (".5", 0.5), ("1e-3", 1e-3), ("2.5E+4", 2.5e4), ("7.", 7.0),
    ("1E3", 1000.0), ("0.000001", 1e-6), ("12345678901234567890", 12345678901234567890.0),
])
def test_number_literals(text: str, number: float) -> None:
    program = parse(text)
    assert isinstance(program.result, Num)
    assert program.result.value == number
    assert program.variables == ()


@pytest.mark.parametrize("name", ["x", "y1", "w_2", "theta", "θ", "_t", "α_1", "xy", "x2", "sin2"])
def test_identifiers_are_variables(name: str) -> None:
    program = parse(f"{name} * 2")
    assert program.variables == (name,)
    assert gradient(f"{name} * 2", **{name: 5.0}) == {name: 2.0}


@pytest.mark.parametrize(("name", "number"), sorted(CONSTANTS.items()))
def test_constants_are_not_variables(name: str, number: float) -> None:
    assert number == {"pi": math.pi, "e": math.e, "tau": math.tau}[name]
    program = parse(f"2*{name}")
    assert program.variables == ()
    assert value(f"2*{name}") == 2 * number
    assert gradient(f"x*{name}", x=1.0) == {"x": number}


def test_two_identifiers_never_multiply() -> None:
    assert parse("xy").variables == ("xy",)
    assert parse("x*y1").variables == ("x", "y1")
    with pytest.raises(ExpressionSyntaxError):
        parse("x y")
    assert parse("pie").variables == ("pie",)  # not pi*e
    assert parse("ex").variables == ("ex",)


# ---------------------------------------------------------------- operators and precedence


def test_arithmetic_operators() -> None:
    assert value("7 + 2") == 9.0
    assert value("7 - 2") == 5.0
    assert value("7 * 2") == 14.0
    assert value("7 / 2") == 3.5
    assert value("2 ^ 10") == 1024.0
    assert value("2 ** 10") == 1024.0
    assert value("-3") == -3.0
    assert value("+3") == 3.0
    assert value("-(2 + 3)") == -5.0
    assert value("(2 + 3) * 4") == 20.0
    assert value("2 + 3 * 4") == 14.0
    assert value("10 - 4 - 3") == 3.0  # left-associative
    assert value("64 / 4 / 2") == 8.0
    assert value("2 * -3") == -6.0
    assert value("2 - -3") == 5.0
    assert value("--3") == 3.0
    assert value("-+-3") == 3.0


def test_power_is_right_associative_and_binds_tighter_than_unary_minus() -> None:
    assert value("2^3^2") == 512.0
    assert value("2**3**2") == 512.0
    assert value("(2^3)^2") == 64.0
    assert value("-x^2", x=3.0) == -9.0
    assert gradient("-x^2", x=3.0) == {"x": -6.0}
    assert value("-2^2") == -4.0
    assert value("(-2)^2") == 4.0
    assert value("2^-1") == 0.5
    assert value("2^-x", x=2.0) == 0.25
    assert value("2^+1") == 2.0
    assert value("-x^-2", x=2.0) == -0.25
    assert value("2*3^2") == 18.0
    assert value("x^2^3", x=1.5) == 1.5 ** 8
    assert value("4^0.5^2") == 4 ** 0.25


def test_the_ast_of_minus_x_squared_is_neg_of_pow() -> None:
    result = parse("-x^2").result
    assert isinstance(result, Apply) and result.op is OPS["neg"]
    inner = result.args[0]
    assert isinstance(inner, Apply) and inner.op is OPS["pow"]
    assert isinstance(inner.args[0], Var) and isinstance(inner.args[1], Num)


@pytest.mark.parametrize(("source", "x", "expected", "slope"), [
    ("2x", 3.0, 6.0, 2.0),
    ("3sin(x)", 1.0, 3 * math.sin(1.0), 3 * math.cos(1.0)),
    ("2(x+1)", 3.0, 8.0, 2.0),
    ("(x+1)(x-1)", 3.0, 8.0, 6.0),
    ("2x^2", 3.0, 18.0, 12.0),  # 2*(x^2), not (2x)^2
    (".5x", 4.0, 2.0, 0.5),
    ("1e-3x", 2.0, 2e-3, 1e-3),
    ("2pi", 0.0, 2 * math.pi, 0.0),
    ("2(x)(x)", 3.0, 18.0, 12.0),
    ("(x+1)^2(x-1)", 3.0, 32.0, 32.0),
    ("-2x", 3.0, -6.0, -2.0),
    ("2 x", 3.0, 6.0, 2.0),
    ("3x + 2(x - 1)", 1.0, 3.0, 5.0),
    ("x/2x", 4.0, 0.5, 0.0),  # 2x is one factor: x/(2x), not (x/2)*x
    ("3^2*x", 1.0, 9.0, 9.0),
])
def test_implicit_multiplication(source: str, x: float, expected: float, slope: float) -> None:
    point = {"x": x} if "x" in source else {}
    assert value(source, **point) == pytest.approx(expected, rel=1e-15)
    if point:
        assert gradient(source, **point)["x"] == pytest.approx(slope, rel=1e-15)


@pytest.mark.parametrize("source", ["x 2", "(x)2", "2 3", "x(x+1)y", "x^2(x+1)"])
def test_juxtaposition_elsewhere_is_a_syntax_error(source: str) -> None:
    with pytest.raises((ExpressionSyntaxError, UnknownFunctionError)):
        parse(source)


# ---------------------------------------------------------------- functions


UNARY_REFERENCE = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos,
    "atan": math.atan, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh,
    "asinh": math.asinh, "acosh": lambda v: math.acosh(v + 1), "atanh": math.atanh,
    "exp": math.exp, "log": math.log, "ln": math.log, "log2": math.log2, "log10": math.log10,
    "sqrt": math.sqrt, "cbrt": lambda v: v ** (1 / 3), "abs": abs, "sign": lambda v: 1.0,
    "relu": lambda v: v, "sigmoid": lambda v: 1 / (1 + math.exp(-v)),
    "softplus": lambda v: math.log(1 + math.exp(v)), "erf": math.erf,
}


@pytest.mark.parametrize("name", sorted(UNARY_REFERENCE))
def test_unary_functions_by_name(name: str) -> None:
    source = f"{name}(x + 1)" if name == "acosh" else f"{name}(x)"
    assert value(source, x=0.25) == pytest.approx(UNARY_REFERENCE[name](0.25), rel=1e-14)


@pytest.mark.parametrize(("source", "expected"), [
    ("max(2, 3)", 3.0), ("min(2, 3)", 2.0), ("pow(2, 5)", 32.0),
    ("atan2(1, -1)", math.atan2(1, -1)), ("atan2(-1, 0)", -math.pi / 2), ("hypot(3, 4)", 5.0),
    ("log(8, 2)", 3.0), ("log(100, 10)", 2.0), ("ln(e)", 1.0), ("log(e^2)", 2.0),
])
def test_two_argument_functions(source: str, expected: float) -> None:
    assert value(source) == pytest.approx(expected, rel=1e-15)


def test_atan2_takes_y_first() -> None:
    assert gradient("atan2(y, x)", y=1.0, x=2.0) == pytest.approx({"y": 2 / 5, "x": -1 / 5})


def test_log_with_base_differentiates_in_both_arguments() -> None:
    g = gradient("log(x, b)", x=8.0, b=2.0)
    assert g["x"] == pytest.approx(1 / (8 * math.log(2)))
    assert g["b"] == pytest.approx(-3.0 / (2 * math.log(2)))


def test_kinks_through_the_language() -> None:
    assert gradient("abs(x)", x=0.0) == {"x": 0.0}
    assert gradient("relu(x)", x=0.0) == {"x": 0.0}
    assert gradient("sign(x)", x=0.3) == {"x": 0.0}
    assert gradient("max(x, y)", x=1.0, y=1.0) == {"x": 0.5, "y": 0.5}
    assert gradient("min(x, y)", x=1.0, y=1.0) == {"x": 0.5, "y": 0.5}
    assert gradient("max(x, x)", x=1.0) == {"x": 1.0}
    assert gradient("max(x, 2)", x=2.0) == {"x": 0.5}


def test_functions_are_looked_up_in_the_registry() -> None:
    for spelling, by_arity in FUNCTIONS.items():
        for arity, operation in by_arity.items():
            args = ", ".join(["x"] * arity)
            result = parse(f"{spelling}({args})").result
            assert isinstance(result, Apply) and result.op is operation


# ---------------------------------------------------------------- programs


EXAMPLE = "z = 2*x + 2 + x; q = relu(z) + z*x; h = relu(z*z); h + q + q*x"


def test_the_issue_s_example_program() -> None:
    x = 1.5
    z, dz = 3 * x + 2, 3.0
    q, dq = z + z * x, dz + dz * x + z  # relu(z) = z for z > 0
    h, dh = z * z, 2 * z * dz
    result = grad(EXAMPLE, x=x)
    assert result.value == pytest.approx(h + q + q * x, rel=1e-15)
    assert result.gradient["x"] == pytest.approx(dh + dq + dq * x + q, rel=1e-15)


def test_separators_newlines_and_comments() -> None:
    source = "# a model\nz = 2*x + 2 + x   # trailing comment\n\nq = relu(z) + z*x; h = relu(z*z)\n" \
             "h + q + q*x  # the result\n"
    lines, one_line = grad(source, x=1.5), grad(EXAMPLE, x=1.5)
    assert (lines.value, lines.gradient) == (one_line.value, one_line.gradient)
    assert value("a = 1;;\n; b = a + x;\n", x=2.0) == 3.0
    assert value("x\r\n", x=2.0) == 2.0
    assert value("# only a comment\nx", x=2.0) == 2.0


def test_an_assigned_name_is_one_shared_node() -> None:
    program = parse("z = 2*x + 2 + x; z*z + z")
    result = program.result
    assert isinstance(result, Apply)
    product, z = result.args
    assert isinstance(product, Apply)
    assert product.args[0] is product.args[1] is z
    assert dict(program.bindings)["z"] is z
    assert program.names[id(z)] == "z"
    # Copies would make 2^60 nodes; sharing makes a few hundred.
    chain = "; ".join([f"a{i} = a{i - 1} * a{i - 1}" for i in range(1, 61)])
    program = parse(f"a0 = x + 1; {chain}; a60")
    assert count_nodes(program.result) < 200
    r = grad(f"a0 = x + 1; {chain}; a60", x=0.0)
    assert r.value == 1.0 and r.gradient == {"x": 2.0 ** 60}


def test_a_shared_node_is_one_scalar_whose_gradient_sums_its_uses() -> None:
    from autodiff_cli.engine.graph import build_graph

    program = parse("z = x*x; z + z + z")
    graph = build_graph(program, {"x": 3.0})
    z_nodes = [n for n in postorder(program.result) if isinstance(n, Apply) and n.op is OPS["mul"]]
    assert len(z_nodes) == 1
    graph.output.backward()
    assert graph.scalars[id(z_nodes[0])].grad == 3.0
    assert graph.leaves["x"].grad == 18.0


def test_user_functions() -> None:
    assert value("f(a, b) = a*b + 1; f(x, 3)", x=2.0) == 7.0
    assert gradient("f(a, b) = a*b + 1; f(x, y) + f(y, y)", x=2.0, y=3.0) == {"x": 3.0, "y": 8.0}
    assert value("sq(t) = t^2; sq(sq(x))", x=2.0) == 16.0
    assert value("g() = 5; g() + x", x=1.0) == 6.0
    # a function's free names are variables of the program
    assert parse("f(a) = a*w; f(x)").variables == ("w", "x")
    # functions may call functions defined before them
    assert value("f(a) = a + 1; g(b) = 2f(b); g(x)", x=1.0) == 4.0
    # a parameter may have the name of a variable used elsewhere
    assert gradient("f(x) = x^2; f(y) + x", x=1.0, y=3.0) == {"y": 6.0, "x": 1.0}


def test_the_last_statement_is_the_result() -> None:
    assert value("a = 1; b = 2; a + b") == 3.0
    assert value("a = x + 1", x=1.0) == 2.0
    with pytest.raises(ExpressionSyntaxError, match="unused"):
        parse("x + 1; x + 2")
    with pytest.raises(ExpressionSyntaxError, match="function definition"):
        parse("f(a) = a")
    with pytest.raises(ExpressionSyntaxError, match="empty"):
        parse("  # nothing\n;;")


def test_variables_in_order_of_first_appearance() -> None:
    assert parse("y*x + z").variables == ("y", "x", "z")
    assert parse("a = y + 1; x*a + y").variables == ("y", "x")
    assert parse("b = q; x").variables == ("x",)  # an unused intermediate contributes nothing
    assert list(grad("b*a + c", a=1, b=2, c=3).gradient) == ["b", "a", "c"]


@pytest.mark.parametrize(("source", "error", "fragment"), [
    ("a = y + 1; y = 2; a", NameUseError, "used before it is assigned"),
    ("x = 1; x = 2; x", NameUseError, "already defined"),
    ("f(a) = a; f(b) = b; f(1)", NameUseError, "already defined"),
    ("f(a) = a; f = 2; f", NameUseError, "already defined"),
    ("sin = 2; sin", NameUseError, "built-in function"),
    ("log(a) = a; log(2)", NameUseError, "built-in function"),
    ("pi = 3; pi", NameUseError, "built-in constant"),
    ("e = 3; e", NameUseError, "built-in constant"),
    ("f(tau) = tau; f(1)", NameUseError, "shadow a built-in"),
    ("f(exp) = exp; f(1)", NameUseError, "shadow a built-in"),
    ("f(a, a) = a; f(1, 2)", NameUseError, "appears twice"),
    ("f(2) = 3; f(1)", ExpressionSyntaxError, "plain names"),
    ("2 = x; 2", ExpressionSyntaxError, "cannot assign"),
    ("a = b = 1; a", ExpressionSyntaxError, "assignment is a statement"),
    ("sinx(x)", UnknownFunctionError, "did you mean 'sin'"),
    ("x = 2; x(3)", UnknownFunctionError, "not a function"),
    ("sin + 1", NameUseError, "is a function"),
    ("f(a) = a; f + 1", NameUseError, "is a function"),
    ("sin(1, 2)", ArityError, "sin takes 1 argument, got 2"),
    ("max(1)", ArityError, "max takes 2 arguments, got 1"),
    ("log(1, 2, 3)", ArityError, "log takes 1 or 2 arguments, got 3"),
    ("f(a, b) = a; f(1)", ArityError, "f takes 2 arguments, got 1"),
    ("f(a) = f(a); f(1)", UnknownFunctionError, "unknown function 'f'"),
])
def test_program_errors(source: str, error: type[AdcliError], fragment: str) -> None:
    with pytest.raises(error, match=fragment.replace("(", r"\(")):
        parse(source)


# ---------------------------------------------------------------- random programs


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_generated_expressions_parse_to_what_the_tree_computes(data: st.DataObject) -> None:
    """Rendering a random tree and parsing it back gives the tree's value and variables."""
    tree = data.draw(trees(max_leaves=8))
    program = parse(tree.text)
    assert program.variables == tree.variables
    point = data.draw(points(tree.variables))
    assert grad(tree.text, **point).value == pytest.approx(evaluate(tree, point), rel=1e-12, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_the_expressions_strategy_gives_text_and_its_variables(data: st.DataObject) -> None:
    """What other tests reuse: parseable text, its variables in order, finite results in range."""
    text, names = data.draw(expressions(variables=("x", "θ", "w_2")))
    program = parse(text)
    assert program.variables == names
    result = grad(text, **data.draw(points(names)))
    assert math.isfinite(result.value) and result.nonfinite is None
    assert all(math.isfinite(g) for g in result.gradient.values())


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_named_intermediates_do_not_change_the_result(data: st.DataObject) -> None:
    """Binding a subexpression to a name and using it gives the same value and gradient."""
    inner = data.draw(trees(max_leaves=4))
    outer = data.draw(trees(variables=("x", "t"), max_leaves=4))
    point = data.draw(points(("x", "y", "z")))
    inline = fold_tree(outer, lambda leaf: inner if leaf.kind == "var" and leaf.name == "t" else leaf,
                       lambda node, args: Tree("op", node.name, tuple(args), node.spelling)).text
    named = f"t = {inner.text}\n{outer.text}"
    names = [n for n in dict.fromkeys([*parse(named).variables, *parse(inline).variables])]
    values = {n: point[n] for n in names}
    a, b = grad(named, **values), grad(inline, **values)
    assert a.value == pytest.approx(b.value, rel=1e-12, abs=1e-12)
    assert a.gradient.keys() == b.gradient.keys()
    for name in a.gradient:
        assert a.gradient[name] == pytest.approx(b.gradient[name], rel=1e-9, abs=1e-9)


def test_const_nodes_carry_their_names() -> None:
    result = parse("tau").result
    assert isinstance(result, Const) and result.name == "tau" and result.value == math.tau


def test_a_new_line_inside_parentheses_continues_the_statement() -> None:
    program = parse("f = (sin(x) +\n   x*y   # a comment inside\n   + 2)\nf")
    assert program.variables == ("x", "y")
    assert grad("a = (x\n+ 1)\nb = a*2\nb", x=1).gradient == {"x": 2.0}


def test_the_facade_takes_a_mapping_for_awkward_names() -> None:
    result = grad("wrt^2 + θ", {"wrt": 3, "θ": "pi"})
    assert result.gradient == {"wrt": 6.0, "θ": 1.0}
    assert result.value == 9.0 + math.pi


@pytest.mark.parametrize("source, shown", [("1e", "1e"), ("2E + x", "2E"), ("2e*x", "2e"), ("1.5e", "1.5e"),
                                           ("x + 3e", "3e")])
def test_a_number_that_lost_its_exponent_digits_is_an_error(source: str, shown: str) -> None:
    """1e silently meant 1·e (2.718...); it is almost certainly a typo for a number."""
    with pytest.raises(ExpressionSyntaxError) as info:
        parse(source)
    assert f"'{shown}' is not a number: an exponent needs digits" in str(info.value)


@pytest.mark.parametrize("source, value", [("1e5", 1e5), ("2 e", 2 * math.e), ("2*e", 2 * math.e),
                                           ("2exp(0)", 2.0), ("3(e)", 3 * math.e)])
def test_numbers_and_products_with_e_that_are_meant(source: str, value: float) -> None:
    assert grad(source).value == value


# ---------------------------------------------------------------- a bound on the work of a parse


def doubling_functions(levels: int) -> str:
    """A short program whose graph doubles with each level: 2^levels copies of f0's body."""
    lines = ["f0(a) = sin(a)*cos(a)"]
    lines += [f"f{i}(a) = f{i - 1}(sin(a)) + f{i - 1}(cos(a))" for i in range(1, levels + 1)]
    return "\n".join([*lines, f"f{levels}(x)"])


def test_max_nodes_stops_a_program_whose_functions_multiply_its_graph() -> None:
    # Forty levels would be 2^40 nodes from 1,300 characters; the limit stops the build at
    # the call that goes past it, before the work is done, with a caret under that call.
    text = doubling_functions(40)
    with pytest.raises(ExpressionSizeError) as caught:
        parse(text, max_nodes=5_000)
    assert "more than 5,000 nodes" in str(caught.value)
    assert caught.value.source == text
    assert text[caught.value.start:caught.value.end].startswith("f")


def test_max_nodes_counts_the_nodes_of_a_plain_expression_too() -> None:
    with pytest.raises(ExpressionSizeError, match="its graph has more than 100 nodes"):
        parse(" + ".join(f"x{i}" for i in range(200)), max_nodes=100)


def test_max_nodes_leaves_a_program_within_it_as_it_was() -> None:
    text = doubling_functions(4)
    bounded, free = parse(text, max_nodes=5_000), parse(text)
    assert count_nodes(bounded.result) == count_nodes(free.result) == 94
    assert grad(bounded, x=0.5).gradient == grad(free, x=0.5).gradient
