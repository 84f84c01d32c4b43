"""Text to AST: the Lark grammar (LALR), then an iterative AST builder.

The grammar is loaded once per process and its LALR tables are cached on disk
by Lark, so start-up does not rebuild them.  The builder walks Lark's parse tree
with an explicit stack, resolving names as it goes: assigned names become shared
nodes, user-defined functions are expanded by substituting their arguments, and
calls of built-in functions are looked up in the operation registry.

Structurally equal subexpressions are built once (hash-consing): in
``sin(x*y) + cos(x*y)`` both calls take the same ``x*y`` node.  Every
interpreter (the Scalar graph, the compiled form, the views) sees the same
DAG, so each computes a repeated subexpression once and they agree bit for bit.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import expr as ast
from .errors import (
    ArityError,
    ExpressionSyntaxError,
    NameUseError,
    UnknownFunctionError,
    ValueInputError,
    did_you_mean,
)
from .ops import CONSTANTS, FUNCTIONS, OPS, Op

GRAMMAR_FILE = "expr.lark"


def grammar_text() -> str:
    """The grammar: inside the installed package, or in the source checkout's grammars/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "grammars" / GRAMMAR_FILE, here.parent / "grammars" / GRAMMAR_FILE):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    from importlib import resources  # a zipped install

    return resources.files("autodiff_cli").joinpath("grammars").joinpath(GRAMMAR_FILE).read_text(
        encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _lark() -> Any:
    from lark import Lark

    # cache=True stores the LALR tables in the temp directory, keyed by the grammar's hash.
    # Positions come from the tokens (see _span): propagate_positions would double parse time.
    # The basic lexer: the grammar's terminals never clash, and it loads faster than
    # the contextual one, which compiles a regular expression per parser state.
    return Lark(grammar_text(), parser="lalr", lexer="basic", postlex=_ContinueInParentheses(),
                cache=True)


class _ContinueInParentheses:
    """Inside parentheses a new line continues the statement, as in Python: the lexer's
    newline tokens are dropped there before the parser sees them."""

    always_accept = ("_NL",)

    def process(self, stream: Any) -> Any:
        depth = 0
        for token in stream:
            kind = token.type
            if kind == "LPAR":
                depth += 1
            elif kind == "RPAR":
                depth = depth - 1 if depth else 0
            elif kind == "_NL" and depth:
                continue
            yield token


# ---------------------------------------------------------------- syntax errors

_TERMINAL_WORDS = {
    "NUMBER": "a number",
    "NAME": "a name",
    "_NL": "a new line",
    "$END": "the end of the input",
    "_POW": "'^'",
}


def _describe_terminal(name: str) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    for terminal in _lark().terminals:
        if terminal.name == name and terminal.pattern.type == "str":
            return repr(terminal.pattern.value)
    return name.lower()


def _expected_phrase(expected: set[str] | frozenset[str]) -> str:
    words = sorted({_describe_terminal(t) for t in expected if not t.startswith("__")})
    if not words:
        return ""
    if len(words) > 8:
        words = [*words[:8], "..."]
    return "; expected " + (words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1])


def _unclosed_paren(source: str) -> int | None:
    """Offset of the last '(' never closed, ignoring comments."""
    opened: list[int] = []
    in_comment = False
    for i, ch in enumerate(source):
        if ch == "#":
            in_comment = True
        elif ch == "\n":
            in_comment = False
        elif in_comment:
            continue
        elif ch == "(":
            opened.append(i)
        elif ch == ")" and opened:
            opened.pop()
    return opened[-1] if opened else None


def _syntax_error(source: str, error: Exception) -> ExpressionSyntaxError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(error, UnexpectedCharacters):
        at: int = error.pos_in_stream or 0
        char = source[at] if at < len(source) else ""
        return ExpressionSyntaxError(
            f"unexpected character {char!r}" + _expected_phrase(set(error.allowed or ())), source, at)
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        token = error.token
        start = token.start_pos if token.start_pos is not None else len(source)
        if token.type == "RPAR" and "RPAR" not in error.expected and _unclosed_paren(source[:start]) is None:
            return ExpressionSyntaxError("unmatched ')'", source, start)
        if token.type == "EQUAL":
            return ExpressionSyntaxError(
                "unexpected '='; an assignment is a statement of its own: name = expression",
                source, start)
        return ExpressionSyntaxError(
            f"unexpected {str(token)!r}" + _expected_phrase(error.expected), source, start,
            token.end_pos)
    expected: set[str] = set()
    if isinstance(error, (UnexpectedToken, UnexpectedEOF)):
        expected = {str(t) for t in error.expected}
    unclosed = _unclosed_paren(source)
    if unclosed is not None and "RPAR" in expected:
        return ExpressionSyntaxError("'(' is never closed", source, unclosed)
    return ExpressionSyntaxError(
        "the expression ends too soon" + _expected_phrase(expected), source, len(source.rstrip()))


# ---------------------------------------------------------------- the AST builder

_BINARY = {"add", "sub", "mul", "div", "pow"}


@dataclass(eq=False)
class _Function:
    """A user-defined function: its parameters' placeholder nodes and its body."""

    params: tuple[ast.Var, ...]
    body: ast.Expr


@dataclass(eq=False)
class _Builder:
    source: str
    bindings: dict[str, ast.Expr] = field(default_factory=dict)
    functions: dict[str, _Function] = field(default_factory=dict)
    variables: dict[str, ast.Var] = field(default_factory=dict)
    first_use: dict[str, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    interned: dict[tuple[object, ...], ast.Expr] = field(default_factory=dict)

    def apply(self, op: Op, args: tuple[ast.Expr, ...]) -> ast.Expr:
        """The node ``op(args)``, shared with any equal node built before."""
        key = (op.name, *map(id, args))  # the expression loop inlines this for binary operators
        node = self.interned.get(key)
        if node is None:
            node = self.interned[key] = ast.Apply(op, args)
        return node

    def number(self, text: str) -> ast.Expr:
        value = float(text)
        key = ("#", repr(value))
        node = self.interned.get(key)
        if node is None:
            node = self.interned[key] = ast.Num(value)
        return node

    # -- positions
    def _span(self, tree: Any) -> tuple[int, int]:
        """Offsets of a subtree's first and last token, found by walking its edges."""
        first = last = tree
        while hasattr(first, "children"):
            first = next((c for c in first.children if c is not None), None)
        while hasattr(last, "children"):
            last = next((c for c in reversed(last.children) if c is not None), None)
        start = getattr(first, "start_pos", None) or 0
        end = getattr(last, "end_pos", None) or start + 1
        if getattr(tree, "data", None) == "call":
            end = getattr(first, "end_pos", None) or end  # underline the function's name
        return start, end

    def _fail(self, cls: type[Any], message: str, tree: Any) -> Exception:
        start, end = self._span(tree)
        return cls(message, self.source, start, end)  # type: ignore[no-any-return]

    # -- statements
    def program(self, tree: Any) -> ast.Program:
        statements = [s for s in tree.children if s is not None]
        if not statements:
            raise ExpressionSyntaxError("the expression is empty", self.source, 0)
        result: ast.Expr | None = None
        for index, statement in enumerate(statements):
            last = index == len(statements) - 1
            if getattr(statement, "data", None) == "assign":
                result = self.assignment(statement)
                if last and result is None:
                    raise self._fail(
                        ExpressionSyntaxError,
                        "the program ends with a function definition; its last statement must be "
                        "an expression, the result", statement)
            elif last:
                result = self.expression(statement, {})
            else:
                raise self._fail(
                    ExpressionSyntaxError,
                    "this statement's value is unused: only the last statement is the result "
                    "(assign it with name = ... to use it later)", statement)
        assert result is not None
        if len(statements) == 1:  # one expression: everything built is used
            return ast.Program(self.source, result, tuple(self.first_use))
        reachable = ast.postorder(result)
        used = {node.name for node in reachable if isinstance(node, ast.Var)}
        order = tuple(name for name in self.first_use if name in used)
        reachable_ids = {id(node) for node in reachable}
        names = {k: v for k, v in self.names.items() if k in reachable_ids}
        return ast.Program(self.source, result, order, tuple(self.bindings.items()), names)

    def _check_new_name(self, name: str, token: Any) -> None:
        if name in CONSTANTS:
            raise self._fail(NameUseError, f"'{name}' is a built-in constant and cannot be redefined",
                             token)
        if name in FUNCTIONS:
            raise self._fail(NameUseError, f"'{name}' is a built-in function and cannot be redefined",
                             token)
        if name in self.bindings or name in self.functions:
            raise self._fail(NameUseError, f"'{name}' is already defined; a name is assigned once",
                             token)
        if name in self.first_use:
            raise self._fail(NameUseError,
                             f"'{name}' is used before it is assigned; assign it before its first use",
                             token)

    def assignment(self, tree: Any) -> ast.Expr | None:
        """``name = expr`` binds a shared node; ``f(a, b) = expr`` defines a function (None)."""
        target, value = tree.children
        if target.data == "name":
            name_token = target.children[0]
            name = str(name_token)
            self._check_new_name(name, name_token)
            node = self.expression(value, {})
            self.bindings[name] = node
            self.names.setdefault(id(node), name)
            return node
        if target.data == "call":
            name_token, *arg_trees = target.children
            name = str(name_token)
            self._check_new_name(name, name_token)
            params: dict[str, ast.Var] = {}
            for arg in arg_trees:
                if arg is None:
                    continue
                if getattr(arg, "data", None) != "name":
                    raise self._fail(ExpressionSyntaxError,
                                     f"the parameters of '{name}' must be plain names", arg)
                param = str(arg.children[0])
                if param in CONSTANTS or param in FUNCTIONS:
                    raise self._fail(NameUseError,
                                     f"parameter '{param}' would shadow a built-in", arg)
                if param in params:
                    raise self._fail(NameUseError, f"parameter '{param}' appears twice", arg)
                params[param] = ast.Var(param)
            body = self.expression(value, params)
            self.functions[name] = _Function(tuple(params.values()), body)
            return None
        raise self._fail(
            ExpressionSyntaxError,
            "cannot assign to this; assign to a name (z = ...) or define a function (f(a, b) = ...)",
            target)

    # -- expressions
    def expression(self, root: Any, params: dict[str, ast.Var]) -> ast.Expr:
        """Build the AST of one expression tree, without recursion."""
        built: list[ast.Expr] = []
        # A tree is pushed once to expand it and once more, as (tree, arity), to combine.
        stack: list[Any] = [root]
        pop, push, take, put = stack.pop, stack.append, built.pop, built.append
        interned = self.interned
        while stack:
            item = pop()
            if item.__class__ is tuple:
                tree, count = item
                data = tree.data
                if data in _BINARY:
                    right = take()
                    left = take()
                    key = (data, id(left), id(right))
                    node = interned.get(key)
                    if node is None:
                        node = interned[key] = ast.Apply(OPS[data], (left, right))
                    put(node)
                else:
                    args = built[len(built) - count:] if count else []
                    del built[len(built) - count:]
                    put(self.combine(tree, data, args))
                continue
            data = item.data
            if data == "name":
                put(self.reference(item.children[0], params))
            elif data == "number":
                put(self.number(item.children[0]))
            else:
                kids = [c for c in item.children if c is not None and not isinstance(c, str)]
                push((item, len(kids)))
                for kid in reversed(kids):
                    push(kid)
        assert len(built) == 1
        return built[0]

    def combine(self, tree: Any, data: str, args: list[ast.Expr]) -> ast.Expr:
        if data in _BINARY:
            return self.apply(OPS[data], (args[0], args[1]))
        if data == "neg":
            return self.apply(OPS["neg"], (args[0],))
        if data == "pos":
            return args[0]
        if data == "call":
            return self.call(tree, args)
        raise AssertionError(f"unknown parse tree node {data}")

    def reference(self, token: Any, params: dict[str, ast.Var]) -> ast.Expr:
        name = str(token)
        if name in params:
            return params[name]
        if name in self.bindings:
            return self.bindings[name]
        if name in CONSTANTS:
            key = ("const", name)
            if key not in self.interned:
                self.interned[key] = ast.Const(name, CONSTANTS[name])
            return self.interned[key]
        if name in FUNCTIONS or name in self.functions:
            raise self._fail(NameUseError, f"'{name}' is a function; call it as {name}(...)", token)
        self.first_use.setdefault(name, token.start_pos)
        if name not in self.variables:
            self.variables[name] = ast.Var(name)
        return self.variables[name]

    def call(self, tree: Any, args: list[ast.Expr]) -> ast.Expr:
        name_token = tree.children[0]
        name = str(name_token)
        if name in self.functions:
            function = self.functions[name]
            if len(args) != len(function.params):
                raise self._fail(ArityError, f"{name} takes {_count(len(function.params))}, "
                                 f"got {len(args)}", tree)
            return substitute(function.body, dict(zip(map(id, function.params), args)), self.apply)
        if name in FUNCTIONS:
            by_arity = FUNCTIONS[name]
            if len(args) not in by_arity:
                takes = " or ".join(str(n) for n in sorted(by_arity))
                noun = "argument" if takes == "1" else "arguments"
                raise self._fail(ArityError, f"{name} takes {takes} {noun}, got {len(args)}", tree)
            return self.apply(by_arity[len(args)], tuple(args))
        if name in self.bindings or name in self.variables or name in CONSTANTS:
            raise self._fail(UnknownFunctionError,
                             f"'{name}' is not a function; for a product write {name}*(...)",
                             name_token)
        known = list(FUNCTIONS) + list(self.functions)
        raise self._fail(UnknownFunctionError,
                         f"unknown function '{name}'{did_you_mean(name, known)}", name_token)


def _count(n: int) -> str:
    return f"{n} argument" if n == 1 else f"{n} arguments"


def substitute(body: ast.Expr, replacements: dict[int, ast.Expr],
               apply: Callable[[Op, tuple[ast.Expr, ...]], ast.Expr] = ast.Apply) -> ast.Expr:
    """A copy of ``body`` with the nodes whose ids are keys replaced; untouched parts are shared.

    ``apply`` makes the new nodes (the builder passes its hash-consing constructor).
    """
    new: dict[int, ast.Expr] = {}
    for node in ast.postorder(body):
        if id(node) in replacements:
            new[id(node)] = replacements[id(node)]
        elif isinstance(node, ast.Apply):
            args = tuple(new[id(a)] for a in node.args)
            changed = any(a is not b for a, b in zip(args, node.args))
            new[id(node)] = apply(node.op, args) if changed else node
        else:
            new[id(node)] = node
    return new[id(body)]


# ---------------------------------------------------------------- entry points


def parse(source: str) -> ast.Program:
    """Parse a program or expression into its AST.

    Raises:
        ExpressionSyntaxError, UnknownFunctionError, ArityError, NameUseError:
            with the source line and a caret under the offending place.
    """
    from lark.exceptions import UnexpectedInput

    try:
        tree = _lark().parse(source)
    except UnexpectedInput as error:
        raise _syntax_error(source, error) from None
    return _Builder(source).program(tree)


_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
"""A decimal number, as the grammar's NUMBER with an optional sign (no inf, nan or _)."""


def parse_constant(text: str, what: str = "value") -> float:
    """A number or constant expression given as a value, such as ``pi/4`` or ``-1e-3``."""
    from .errors import AdcliError

    if _PLAIN_NUMBER.fullmatch(text.strip()):
        return float(text)  # the common case, without a parse

    try:
        program = parse(text)
    except AdcliError as error:
        reason = getattr(error, "reason", str(error))
        raise ValueInputError(f"{what}: {text!r} is not a number or constant expression ({reason})") \
            from None
    if program.variables:
        raise ValueInputError(
            f"{what}: {text!r} is not a constant; it uses {', '.join(program.variables)}")
    value: float = ast.fold(
        program.result,
        lambda leaf: leaf.value,  # type: ignore[union-attr]
        lambda node, args: node.op.forward(*args),
    )
    return value
