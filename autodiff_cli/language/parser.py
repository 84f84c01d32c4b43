"""Text to AST: the entry points (``parse``, ``parse_constant``) over the grammar's LALR parser
(:mod:`~autodiff_cli.language.grammar`), the inline AST builder (:mod:`~autodiff_cli.language.inline`)
and the tree walk it falls back on (:mod:`~autodiff_cli.language.builder`).

The grammar's LALR tables are built ahead of time: Lark's standalone tool
writes them, with Lark's lexer and parser, into ``_expr_lalr``
(grammars/generate_parser.py), so start-up neither rebuilds them nor imports
lark.  The builder walks Lark's parse tree
with an explicit stack, resolving names as it goes: assigned names become shared
nodes, user-defined functions are expanded by substituting their arguments, and
calls of built-in functions are looked up in the operation registry.

Structurally equal subexpressions are built once (hash-consing): in
``sin(x*y) + cos(x*y)`` both calls take the same ``x*y`` node.  Every
interpreter (the Scalar graph, the compiled form, the views) sees the same
DAG, so each computes a repeated subexpression once and they agree bit for bit.
"""

from __future__ import annotations

import re

from .. import expr as ast
from ..errors import (
    AdcliError,
    ExpressionSizeError,
    ValueInputError,
)
from .builder import MAX_EXPANSION, _Fallback, _TreeBuilder, substitute
from .grammar import ContinueInParentheses, _lark, _syntax_error, grammar_text
from .inline import _inline_parser

__all__ = ["MAX_EXPANSION", "ContinueInParentheses", "grammar_text", "parse", "parse_constant", "substitute"]


def parse(source: str, *, max_nodes: int | None = None) -> ast.Program:
    """Parse a program or expression into its AST.

    The text is parsed once, building AST nodes as the parser reduces each rule
    (:class:`_InlineBuilder`).  When that finds anything wrong, the text is parsed again
    into a parse tree, whose walk (:class:`_TreeBuilder`) reports the first mistake, with
    its place, exactly.

    ``max_nodes`` bounds the work further: the nodes made, plus those walked to copy
    function bodies at their calls (a server sets it).

    Raises:
        ExpressionSyntaxError, UnknownFunctionError, ArityError, NameUseError:
            with the source line and a caret under the offending place.
        ExpressionSizeError: calls of the program's functions would walk more than
            :data:`MAX_EXPANSION` nodes, or the build would pass ``max_nodes``; a caret
            under the call that went past.
    """
    from ._expr_lalr import UnexpectedInput

    try:
        return _inline_parser().parse(source, max_nodes)
    except UnexpectedInput as error:  # the same token stream the tree parse would stop at
        raise _syntax_error(source, error) from None
    except ExpressionSizeError as error:  # not built twice: only a syntax error comes first
        try:
            _lark().parse(source)
        except UnexpectedInput as syntax:
            raise _syntax_error(source, syntax) from None
        raise error from None
    except (AdcliError, _Fallback):
        pass
    try:
        tree = _lark().parse(source)
    except UnexpectedInput as error:
        raise _syntax_error(source, error) from None
    builder = _TreeBuilder(source, max_nodes=max_nodes)
    program = builder.program(tree)
    builder.check_size()
    return program


_PLAIN_NUMBER = re.compile(r"[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|inf|nan)", re.IGNORECASE)
"""A decimal number, as the grammar's NUMBER with an optional sign; or inf or nan, which
adcli writes (JSON has no other way to say them) and so reads back as values."""


def parse_constant(text: str, what: str = "value", *, max_nodes: int | None = None) -> float:
    """A number or constant expression given as a value, such as ``pi/4``, ``-1e-3`` or
    ``inf``; ``what`` names the value in messages (marked with :func:`errors.option`);
    ``max_nodes`` bounds its parse as :func:`parse`'s does."""
    if _PLAIN_NUMBER.fullmatch(text.strip()):
        return float(text)  # the common case, without a parse

    try:
        program = parse(text, max_nodes=max_nodes)
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
