"""The parser builds the AST as it parses: the inline builder against the parse-tree walk.

``parse`` runs Lark's LALR parser with the builder's callbacks inline (no parse tree),
and falls back to the walk of a parse tree (the reference) whenever the inline pass
finds anything wrong.  These tests hold the two together: the same program, node for
node and shared where the other shares, for every text either accepts; the lexer
matches Lark's own token for token; no parse tree is kept while the AST is built.
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff_cli import AdcliError
from autodiff_cli.expr import Apply, Const, Expr, Num, Program, Var, count_nodes
from autodiff_cli.language import builder, grammar
from autodiff_cli.language import inline as inline_module
from autodiff_cli.language.parser import parse

from .strategies import expressions, junk, programs

ROOT = Path(__file__).resolve().parent.parent


def by_tree(source: str) -> Program:
    """The reference: the parse tree, walked."""
    return builder._TreeBuilder(source).program(grammar._lark().parse(source))


def inline(source: str) -> Program:
    return inline_module._inline_parser().parse(source)


def same_dag(a: Expr, b: Expr) -> bool:
    """Whether two DAGs are equal node for node, with the same sharing (iteratively)."""
    pairs: list[tuple[Any, Any]] = [(a, b)]
    mapped: dict[int, Any] = {}
    backwards: dict[int, Any] = {}
    while pairs:
        x, y = pairs.pop()
        if id(x) in mapped or id(y) in backwards:
            if mapped.get(id(x)) is not y or backwards.get(id(y)) is not x:
                return False
            continue
        mapped[id(x)], backwards[id(y)] = y, x
        if type(x) is not type(y):
            return False
        if isinstance(x, Apply):
            if x.op is not y.op or len(x.args) != len(y.args):
                return False
            pairs.extend(zip(x.args, y.args))
        elif isinstance(x, Num):
            if repr(x.value) != repr(y.value):
                return False
        elif isinstance(x, (Const, Var)) and x.name != y.name:
            return False
    return True


def assert_same_program(a: Program, b: Program) -> None:
    assert a.variables == b.variables
    assert same_dag(a.result, b.result)
    assert [name for name, _ in a.bindings] == [name for name, _ in b.bindings]
    assert sorted(a.names.values()) == sorted(b.names.values())
    for (_, x), (_, y) in zip(a.bindings, b.bindings):
        assert same_dag(x, y)


def assert_alike(source: str) -> None:
    """Both builders accept ``source`` and build the same program, or the inline one declines."""
    try:
        reference = by_tree(source)
    except AdcliError:
        reference = None
    except Exception as error:  # a syntax error: Lark's, before our message
        assert type(error).__name__.startswith("Unexpected")
        reference = None
    try:
        fast = inline(source)
    except Exception:
        return  # declined: parse() takes the reference's result or error
    assert reference is not None, f"the inline parse accepts what the tree walk refuses: {source!r}"
    assert_same_program(fast, reference)


PROGRAMS = [
    "sin(x)+x*y", "2x*(y+1)^-2", "x**2 # note\n", "-x^2", "+x", "--x", "-+-x", "2^-3^2", "y + x*sin(y)",
    "a = y + 1; x*a + y", "b = q; x", "f(a, b) = a*b\nf(x,\n  y)", "f(a) = a; f(f(f(x)))",
    "g(b) = b + a\nf(a) = g(a) * a\nf(x) + a", "a = 1; f(a) = a*2; f(x) + a", "x = x + 1; x",
    "(z) = 3; z", "(f(a)) = a^2; f(x)", "f() = 3; f() + x", "f(a) = a\n\n;;f(2)",
    "z = pi*e + tau; sin(z*x)", "max(x, y) + min(x, 2) + atan2(y, x) + log(x, 2) + log(x)",
    "(x+1)(x-1)", "3sin(x)", "2(x+1)", "x2 + x_3 + θ", "f(a, b) = a/b - b/a\nf(x, y)*f(y, x)",
    "u = sin(x)\nv = u*u\nw = v + u\nw*v", "1e3*x + 2.5E-2 + .5 + 7.", "x^y^z", "(x)^(y)(z)",
]


@pytest.mark.parametrize("source", PROGRAMS)
def test_the_inline_parse_builds_what_the_tree_walk_builds(source: str) -> None:
    assert_same_program(parse(source), by_tree(source))
    assert_alike(source)


def test_the_examples_parse_alike() -> None:
    for path in sorted((ROOT / "examples").glob("*.adx")):
        assert_alike(path.read_text("utf-8"))


@settings(max_examples=150, deadline=None)
@given(st.one_of(expressions(max_leaves=10), programs()))
def test_random_programs_parse_alike(drawn: tuple[str, tuple[str, ...]]) -> None:
    source, names = drawn
    assert parse(source).variables == names
    assert_alike(source)


@settings(max_examples=300, deadline=None)
@given(junk())
def test_junk_is_refused_alike(source: str) -> None:
    """Whatever the inline parse accepts, the tree walk accepts alike; whatever is refused,
    is refused with the tree walk's message."""
    assert_alike(source)
    try:
        reference: Any = by_tree(source)
    except Exception as error:
        reference = error
    try:
        result: Any = parse(source)
    except AdcliError as error:
        assert isinstance(reference, Exception)
        if isinstance(reference, AdcliError):
            assert str(error) == str(reference)
        return
    assert isinstance(reference, Program)
    assert_same_program(result, reference)


@settings(max_examples=200, deadline=None)
@given(st.one_of(junk(60), expressions(max_leaves=8).map(lambda d: d[0])))
def test_the_lexer_matches_lark_s_token_for_token(source: str) -> None:
    """adcli's lexer (autodiff_cli.language.lexer) against Lark's basic lexer, on the same
    terminals: the same tokens, or the same unexpected character."""
    from autodiff_cli.language._expr_lalr import LexerState, TextSlice, UnexpectedCharacters
    from autodiff_cli.language.lexer import RegexLexer

    lark = grammar._lark()
    conf = lark.lexer_conf

    def tokens(lexer: Any) -> Any:
        found = []
        try:
            for token in lexer.lex(LexerState(TextSlice.cast_from(source)), None):
                found.append((token.type, str(token), token.start_pos, token.end_pos))
        except UnexpectedCharacters as error:
            return found, error.pos_in_stream, error.allowed
        return found, None, None

    from autodiff_cli.language._expr_lalr import BasicLexer

    assert tokens(RegexLexer(conf)) == tokens(BasicLexer(conf))


def test_no_parse_tree_is_kept_while_the_ast_is_built() -> None:
    """Peak memory of a parse, per node: the AST and the builder's table of nodes, not a
    parse tree besides (which took 640-850 bytes a node at 100,000 nodes)."""
    text = " + ".join(f"sin(x{i})*x{(i * 7) % 3001}" for i in range(10_000))
    parse(text)
    gc.collect()
    tracemalloc.start()
    try:
        program = parse(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    nodes = count_nodes(program.result)
    assert nodes >= 39_999
    assert peak / nodes < 400, f"{peak / nodes:.0f} bytes a node at the peak of a parse"


@pytest.mark.parametrize("source", ["1e", "2E + x", "x*3.e", "2e^2", "2 e", "2*e", "1e3e"])
def test_a_number_that_lost_its_exponent_is_refused_by_both_alike(source: str) -> None:
    """``1e`` is refused (the tree walk's check); the inline parse declines it rather than
    building 1·e."""
    assert_alike(source)
    try:
        reference: Any = by_tree(source)
    except AdcliError as error:
        reference = str(error)
    try:
        result: Any = parse(source)
    except AdcliError as error:
        assert str(error) == reference
        return
    assert_same_program(result, reference)
