"""The AST built as the parser reduces each rule, with no parse tree: the common case, fast.
Anything out of the ordinary (a mistake, a function definition's subtleties) raises
``_Fallback``, and the tree walk (:mod:`autodiff_cli.language.builder`) does it again, exactly."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import expr as ast
from ..ops import OPS
from .builder import _Builder, _Fallback
from .grammar import ContinueInParentheses

_NO_PARAMS: dict[str, ast.Var] = {}


def _binary_callback(name: str) -> Callable[[_InlineBuilder, list[Any]], ast.Expr]:
    """The parser's callback for ``left <op> right``: the expression loop's step, inline."""
    op = OPS[name]

    def callback(self: _InlineBuilder, children: list[Any]) -> ast.Expr:
        left, right = children
        token = self.token
        if left.__class__ is token:
            left = self.resolve(left)
        if right.__class__ is token:
            right = self.resolve(right)
        key = (name, id(left), id(right))
        node = self.interned.get(key)
        if node is None:
            node = self.interned[key] = ast.Apply(op, (left, right))
        return node

    callback.__name__ = name
    return callback


@dataclass(eq=False)
class _Target:
    """A function definition's left side, ``f(a, b)``, as the parser reduces it."""

    name: str
    params: dict[str, ast.Var]


@dataclass(eq=False)
class _Assigned:
    """An assignment statement: the node bound, or None for a function definition."""

    node: ast.Expr | None


class _InlineBuilder:
    """The parser's callbacks during an LALR parse (Lark's transformer run inline): each rule
    reduced becomes its AST node at once, so no parse tree is built, and the text goes to
    nodes in one pass.

    The rules are reduced in the order the tree walk visits them, so the builder's methods
    are called in the same order, with one difference: a name is kept as its token until the
    rule that uses it is reduced, since the parser meets ``f(a, b)`` before the ``=`` that
    makes it a definition's left side (``name`` and ``call`` see that ``=`` as the token the
    parser is being fed: :attr:`ContinueInParentheses.lookahead`).  Anything out of the
    ordinary (any error) declines, and the tree walk, the reference, builds the program or
    says exactly where it is wrong.
    """

    def __init__(self, token: type[Any], lexer: ContinueInParentheses) -> None:
        self.token = token
        """Lark's Token class: a value of this class is a name not resolved yet."""
        self.lexer = lexer
        self.builder = _Builder("")
        self.interned = self.builder.interned
        self.scope = _NO_PARAMS
        """The parameters of the function whose body is being parsed."""
        self.target: Any = None
        """The name token last seen before an ``=``, checked as a new name."""

    def begin(self, builder: _Builder) -> None:
        self.builder, self.interned, self.scope, self.target = builder, builder.interned, _NO_PARAMS, None

    def resolve(self, value: Any) -> ast.Expr:
        if value.__class__ is self.token:
            return self.builder.reference(value, self.scope)
        if value.__class__ is _Target or value.__class__ is _Assigned:
            raise _Fallback
        return value  # type: ignore[no-any-return]

    def _before_equals(self) -> bool:
        lookahead = self.lexer.lookahead
        return lookahead is not None and lookahead.type == "EQUAL"

    # -- rules (named after the grammar's rules and aliases)
    add = _binary_callback("add")
    sub = _binary_callback("sub")
    _mul = _binary_callback("mul")
    div = _binary_callback("div")
    pow = _binary_callback("pow")

    def mul(self, children: list[Any]) -> ast.Expr:
        right = children[1]
        if right.__class__ is self.token and str(right) in ("e", "E") and right.start_pos \
                and self.builder.source[right.start_pos - 1] in "0123456789.":
            raise _Fallback  # 1e: a number whose exponent lost its digits (_TreeBuilder._check_exponent)
        return self._mul(children)

    def neg(self, children: list[Any]) -> ast.Expr:
        return self.builder.apply(OPS["neg"], (self.resolve(children[0]),))

    def pos(self, children: list[Any]) -> ast.Expr:
        return self.resolve(children[0])

    def number(self, children: list[Any]) -> ast.Expr:
        return self.builder.number(children[0])

    def name(self, children: list[Any]) -> Any:
        token = children[0]
        if self._before_equals():  # z = ...: checked before the right side, as the tree walk does
            self.builder._check_new_name(str(token), token)
            self.target = token
        return token

    def call(self, children: list[Any]) -> Any:
        name_token, *args = children
        args = [a for a in args if a is not None]
        if self._before_equals():  # f(a, b) = ...: the body that follows sees the parameters
            name = str(name_token)
            self.builder._check_new_name(name, name_token)
            params: dict[str, ast.Var] = {}
            for arg in args:
                if arg.__class__ is not self.token:
                    raise _Fallback  # not a plain name
                param = str(arg)
                self.builder._check_parameter(param, params, arg)
                params[param] = ast.Var(param)
            self.scope = params
            return _Target(name, params)
        return self.builder.call(name_token, [self.resolve(a) for a in args])

    def assign(self, children: list[Any]) -> _Assigned:
        target, value = children
        node = self.resolve(value)
        self.scope = _NO_PARAMS
        if target is self.target:  # not (z) = ..., whose name was reduced before the ')'
            self.builder.bind(str(target), node)
            return _Assigned(node)
        if target.__class__ is _Target:
            self.builder.define(target.name, target.params, node)
            return _Assigned(None)
        raise _Fallback

    def start(self, children: list[Any]) -> ast.Program:
        statements = [s for s in children if s is not None]
        if not statements:
            raise _Fallback
        result: ast.Expr | None = None
        for index, statement in enumerate(statements):
            if statement.__class__ is _Assigned:
                result = statement.node
            elif index == len(statements) - 1:
                result = self.resolve(statement)
            else:
                raise _Fallback  # an unused value
        if result is None:
            raise _Fallback  # ends with a function definition
        program = self.builder.finish(result, len(statements))
        self.builder.check_size()
        return program


class _InlineParser:
    """The grammar's parser with :class:`_InlineBuilder` as its transformer.  One parse at a
    time: the callbacks and the post-lexer keep the parse's state."""

    def __init__(self) -> None:
        import threading

        from ._expr_lalr import Lark_StandAlone, Token
        from .lexer import RegexLexer

        self.lexer = ContinueInParentheses()
        self.callbacks = _InlineBuilder(Token, self.lexer)
        load: Callable[..., Any] = Lark_StandAlone  # generated code carries no annotations
        self.lark = load(postlex=self.lexer, transformer=self.callbacks,
                         _plugins={"BasicLexer": RegexLexer})
        self.lock = threading.Lock()

    def parse(self, source: str, max_nodes: int | None = None) -> ast.Program:
        with self.lock:
            self.callbacks.begin(_Builder(source, max_nodes=max_nodes))
            try:
                program: ast.Program = self.lark.parse(source)
            finally:
                self.callbacks.begin(_Builder(""))  # hold no node of this program
                self.lexer.lookahead = None
            return program


@functools.lru_cache(maxsize=1)
def _inline_parser() -> _InlineParser:
    """The same parser, building the AST as it parses (:class:`_InlineParser`)."""
    return _InlineParser()
