"""The AST builder: a walk of Lark's parse tree with an explicit stack, resolving names as it
goes: assigned names become shared nodes, user-defined functions are expanded by substituting
their arguments (the nodes a call copies counted first, and bounded), and calls of built-in
functions are looked up in the operation registry.  Structurally equal subexpressions are
built once (hash-consing).  This walk is the reference for every error message; the inline
builder (:mod:`autodiff_cli.language.inline`) builds the same AST faster and hands anything
out of the ordinary back here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import expr as ast
from ..errors import (
    ArityError,
    ExpressionSizeError,
    ExpressionSyntaxError,
    NameUseError,
    UnknownFunctionError,
    did_you_mean,
)
from ..ops import CONSTANTS, FUNCTIONS, OPS, Op

_BINARY = {"add", "sub", "mul", "div", "pow"}


MAX_EXPANSION = 1_000_000
"""The most nodes that calls of the functions a program defines may copy, in all.

A call copies the function's body, so a function that calls another twice is twice that
one's size, and twenty such levels are a million times the first: ``f1(a) = f0(f0(a))``,
``f2(a) = f1(f1(a))``, ...  Each call's size is known before it is expanded (the body's
nodes, which :func:`substitute` walks), and a call that would take the total past this
limit is refused (:class:`~autodiff_cli.errors.ExpressionSizeError`, a
:class:`~autodiff_cli.errors.LimitError`).  A million nodes is ten times the 100,000-node
benchmarks, and about what a text at adcli's input limit (4,000,000 bytes) holds; they
take a few seconds and a few hundred MB to build.  A Python caller may raise it before
parsing."""


class _Fallback(Exception):
    """The inline parse declines: the parse-tree walk builds the program, or says what is wrong."""


@dataclass(eq=False)
class _Function:
    """A user-defined function: its parameters' placeholder nodes, its body, and how many
    nodes a call adds at most (the body's operations that depend on a parameter, which
    :func:`substitute` copies; hash-consing may find some of them built already)."""

    params: tuple[ast.Var, ...]
    body: ast.Expr
    size: int
    """How many nodes the body has: what each call walks to copy it, at most."""


@dataclass(eq=False)
class _Builder:
    """What building a program knows: its names, functions and variables, and every node
    built so far (hash-consed).  Two drivers call it: the walk of a parse tree
    (:class:`_TreeBuilder`) and the parser's callbacks during an inline parse
    (:class:`_InlineBuilder`); both call these methods in the same order, the parse's
    postorder, so they build the same program."""

    source: str
    bindings: dict[str, ast.Expr] = field(default_factory=dict)
    functions: dict[str, _Function] = field(default_factory=dict)
    variables: dict[str, ast.Var] = field(default_factory=dict)
    first_use: dict[str, int] = field(default_factory=dict)
    """Each free variable's first offset in the text."""
    names: dict[int, str] = field(default_factory=dict)
    interned: dict[tuple[object, ...], ast.Expr] = field(default_factory=dict)
    max_nodes: int | None = None
    """The most nodes the build may make or copy (None: no limit); see :func:`parse`."""
    copied: int = 0
    """Nodes walked by copying function bodies, so far (see MAX_EXPANSION)."""

    def apply(self, op: Op, args: tuple[ast.Expr, ...]) -> ast.Expr:
        """The node ``op(args)``, shared with any equal node built before."""
        key = (op.name, *map(id, args))  # the drivers inline this for binary operators
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
        """Offsets of a subtree's (or a token's) first and last token, found by walking its edges."""
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

    # -- names and definitions
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

    def _check_parameter(self, param: str, params: dict[str, ast.Var], where: Any) -> None:
        if param in CONSTANTS or param in FUNCTIONS:
            raise self._fail(NameUseError, f"parameter '{param}' would shadow a built-in", where)
        if param in params:
            raise self._fail(NameUseError, f"parameter '{param}' appears twice", where)

    def bind(self, name: str, node: ast.Expr) -> None:
        """``name = node``: later uses of the name are this node."""
        self.bindings[name] = node
        self.names.setdefault(id(node), name)

    def define(self, name: str, params: dict[str, ast.Var], body: ast.Expr) -> None:
        """``name(params) = body``: later calls expand the body."""
        self.functions[name] = _Function(tuple(params.values()), body, ast.count_nodes(body))

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
        at = token.start_pos
        if at < self.first_use.get(name, at + 1):  # the inline parse may meet a later use first
            self.first_use[name] = at
        if name not in self.variables:
            self.variables[name] = ast.Var(name)
        return self.variables[name]

    def call(self, name_token: Any, args: list[ast.Expr]) -> ast.Expr:
        """``name(args)``: a defined function expanded, or a built-in looked up in the registry.
        Errors underline the function's name."""
        name = str(name_token)
        if name in self.functions:
            function = self.functions[name]
            if len(args) != len(function.params):
                raise self._fail(ArityError, f"{name} takes {_count(len(function.params))}, "
                                 f"got {len(args)}", name_token)
            self._spend(name, function.size, name_token)
            return substitute(function.body, dict(zip(map(id, function.params), args)), self.apply)
        if name in FUNCTIONS:
            by_arity = FUNCTIONS[name]
            if len(args) not in by_arity:
                takes = " or ".join(str(n) for n in sorted(by_arity))
                noun = "argument" if takes == "1" else "arguments"
                raise self._fail(ArityError, f"{name} takes {takes} {noun}, got {len(args)}",
                                 name_token)
            return self.apply(by_arity[len(args)], tuple(args))
        if name in self.bindings or name in self.variables or name in CONSTANTS:
            raise self._fail(UnknownFunctionError,
                             f"'{name}' is not a function; for a product write {name}*(...)",
                             name_token)
        known = list(FUNCTIONS) + list(self.functions)
        raise self._fail(UnknownFunctionError,
                         f"unknown function '{name}'{did_you_mean(name, known)}", name_token)

    def _spend(self, name: str, copied: int, where: Any) -> None:
        """Count a call's copy of ``copied`` nodes before it is made: past
        :data:`MAX_EXPANSION` nodes copied by calls in all, or past ``max_nodes`` made and
        copied, the build stops here.

        Each call of a function copies its body, so a short program can ask for a huge
        graph (each function calling the one before twice doubles it): the work is counted
        before it is done, and bounded, whatever the text's length."""
        if self.copied + copied > MAX_EXPANSION:
            raise self._fail(
                ExpressionSizeError,
                f"this call of '{name}' would make the program too large: it copies {copied:,} "
                f"nodes, past the limit of {MAX_EXPANSION:,} copied by calls of the program's "
                f"functions in all ({self.copied:,} so far; MAX_EXPANSION in "
                "autodiff_cli.language.builder)", where)
        self.copied += copied
        if self.max_nodes is not None and self.copied + len(self.interned) > self.max_nodes:
            raise self._fail(ExpressionSizeError,
                             f"the expression is too large: its graph would have more than "
                             f"{self.max_nodes:,} nodes (each call of a function copies its body)",
                             where)

    def check_size(self) -> None:
        """The nodes made outside any call count too."""
        if self.max_nodes is not None and len(self.interned) > self.max_nodes:
            raise ExpressionSizeError(f"the expression is too large: its graph has more than "
                                      f"{self.max_nodes:,} nodes", self.source, 0,
                                      len(self.source))

    def finish(self, result: ast.Expr, statements: int) -> ast.Program:
        """The program whose last statement's value is ``result``."""
        order = tuple(sorted(self.first_use, key=self.first_use.__getitem__))
        if statements == 1:  # one expression: everything built is used
            return ast.Program(self.source, result, order)
        reachable = ast.postorder(result)
        used = {node.name for node in reachable if isinstance(node, ast.Var)}
        reachable_ids = {id(node) for node in reachable}
        names = {k: v for k, v in self.names.items() if k in reachable_ids}
        return ast.Program(self.source, result, tuple(name for name in order if name in used),
                           tuple(self.bindings.items()), names)


class _TreeBuilder(_Builder):
    """The builder walking a parse tree, with an explicit stack: the reference, whose errors
    point at exactly the right place (every subtree knows its span)."""

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
        return self.finish(result, len(statements))

    def assignment(self, tree: Any) -> ast.Expr | None:
        """``name = expr`` binds a shared node; ``f(a, b) = expr`` defines a function (None)."""
        target, value = tree.children
        if target.data == "name":
            name_token = target.children[0]
            name = str(name_token)
            self._check_new_name(name, name_token)
            node = self.expression(value, {})
            self.bind(name, node)
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
                self._check_parameter(param, params, arg)
                params[param] = ast.Var(param)
            self.define(name, params, self.expression(value, params))
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
                if data == "mul" and len(kids) == 2:
                    self._check_exponent(kids)
                push((item, len(kids)))
                for kid in reversed(kids):
                    push(kid)
        assert len(built) == 1
        return built[0]

    def _check_exponent(self, kids: list[Any]) -> None:
        """``1e`` or ``2E`` written as one word is a number whose exponent lost its digits, not
        ``1*e``: the grammar reads it as the number times the constant e (or a variable E),
        which is almost certainly not what was meant, so it is refused."""
        number, name = kids
        if getattr(number, "data", None) != "number" or getattr(name, "data", None) != "name":
            return
        digits, letter = number.children[0], name.children[0]
        if str(letter) in ("e", "E") and letter.start_pos == digits.end_pos:
            raise ExpressionSyntaxError(
                f"'{digits}{letter}' is not a number: an exponent needs digits, as in {digits}{letter}5; "
                f"for {digits} times {letter}, write {digits}*{letter}",
                self.source, digits.start_pos, letter.end_pos)

    def combine(self, tree: Any, data: str, args: list[ast.Expr]) -> ast.Expr:
        """A node that is not a binary operator (those the expression loop builds itself)."""
        if data == "neg":
            return self.apply(OPS["neg"], (args[0],))
        if data == "pos":
            return args[0]
        if data == "call":
            return self.call(tree.children[0], args)
        raise AssertionError(f"unknown parse tree node {data}")


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
