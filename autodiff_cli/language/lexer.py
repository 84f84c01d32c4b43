"""The lexer Lark's parser runs with: the grammar's terminals, matched as Lark's basic lexer
matches them, in a loop that does only what adcli needs.

Lark's basic lexer (in the generated ``_expr_lalr``) tries the grammar's terminals as one
regular expression of named groups, in Lark's order of priority, at each position.  This
lexer builds the same expression from the same terminals (so the grammar stays the one
source of truth) and runs it with ``finditer``; it keeps no line and column counts (a caret
is placed from offsets: :func:`autodiff_cli.errors.caret`), so each token costs a match and a
``Token``.  That is about five times faster, and lexing was the largest part of parsing a
large program.  Lark is given the class as its basic lexer (``_plugins={"BasicLexer": ...}``
when the parser is loaded), and still drives it, with the post-lexer, exactly as its own.

Where the grammar would need what Lark's lexer does besides (a terminal that another
terminal's pattern also matches, which Lark resolves with a callback), this lexer defers to
Lark's own loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._expr_lalr import BasicLexer, Token, UnexpectedCharacters


class RegexLexer(BasicLexer):
    """Lark's basic lexer with a tighter loop: offsets, no line counting."""

    def lex(self, state: Any, parser_state: Any) -> Iterator[Any]:
        scanner = self.scanner  # built on first use: the terminals in Lark's order
        if self.callback or self.use_bytes:
            yield from super().lex(state, parser_state)
            return
        pattern = self.re.compile("|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})"
                                           for t in scanner.terminals), self.g_regex_flags)
        text, end = state.text.text, state.text.end
        ignore = self.ignore_types
        new = str.__new__
        at = state.text.start
        for match in pattern.finditer(text, at, end):
            start = match.start()
            if start != at:  # finditer skipped what no terminal matches
                break
            kind = match.lastgroup
            at = match.end()
            if kind in ignore:
                continue
            value = match.group()
            token = new(Token, value)  # Token(kind, value, start, end_pos=at), without its checks
            token.type, token.value, token.start_pos, token.end_pos = kind, value, start, at
            token.line = token.column = token.end_line = token.end_column = None
            yield token
        if at < end:
            line = text.count("\n", 0, at) + 1
            column = at - (text.rfind("\n", 0, at) + 1) + 1
            allowed = (scanner.allowed_types - self.ignore_types) or {"<END-OF-FILE>"}
            unexpected: Any = UnexpectedCharacters  # generated code carries no annotations
            raise unexpected(text, at, line, column, allowed=allowed, state=parser_state,
                             terminals_by_name=self.terminals_by_name)
