"""AST to adcli source text: the fewest parentheses, repeated subexpressions named once.

The output is a program in adcli's own language, so it can be fed back in: it
parses (:func:`autodiff_cli.parser.parse`) to an expression of the same
structure, hence the same values.  Precedence, loosest first: ``+ -`` <
``* /`` < unary minus < ``^`` (right-associative; ``-x^2`` is ``-(x^2)``, ``2^3^2``
is ``2^(3^2)``, and an exponent may carry a sign: ``x^-2``).  Functions print
by their first spelling in the registry; ``log_base`` prints as ``log(x, b)``.

A node used more than once is printed once, as a statement ``d1 = ...`` before
the result (a name the program gave it is kept), so the text is the size of
the DAG rather than of the tree it unfolds to.  Printing walks an explicit
stack and emits pieces into one list, so depth is unlimited and the time is
linear in the output.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Union

from .. import expr as ast
from ..expr import Apply, Const, Expr, Num, Var
from ..ops import ATOM, POWER, PRODUCT, RESERVED, SUM, UNARY, Op

_ANY = 0
_EXPONENT = -1
"""Position of an exponent: a power or an atom, or a signed exponent (``x^-y``)."""
_DEFINE = -2
"""The top of a statement: the node itself, never its name."""


def _infix(op: Op) -> str:
    """How a binary operator is written between its operands: sums spaced, products not."""
    return f" {op.symbol} " if op.precedence == SUM else str(op.symbol)


Item = Union[str, tuple[Expr, int]]


def number_text(value: float) -> tuple[str, int]:
    """A float as the shortest source that reads back as it, and that text's precedence level.

    Whole numbers print without ``.0``; infinity prints as ``1e999`` (which
    reads back as inf) and nan as ``0/0``.
    """
    if math.isnan(value):
        return "0/0", PRODUCT
    if value < 0.0 or (value == 0.0 and math.copysign(1.0, value) < 0.0):
        return "-" + number_text(-value)[0], UNARY
    if math.isinf(value):
        return "1e999", ATOM
    if value == math.floor(value) and value < 1e16:
        return str(int(value)), ATOM
    return repr(value), ATOM


def _is_product(node: Expr, named: Mapping[int, str]) -> bool:
    return isinstance(node, Apply) and node.op.precedence == PRODUCT and id(node) not in named


def _level(node: Expr, named: Mapping[int, str]) -> int:
    if isinstance(node, Num):
        return number_text(node.value)[1]
    if isinstance(node, Apply):
        if node.op.precedence == UNARY and _is_product(node.args[0], named):
            return PRODUCT  # printed -a*b: see _pieces
        return node.op.precedence
    return ATOM


def _starts_with_minus(node: Expr, named: Mapping[int, str]) -> bool:
    """Whether the text of ``node`` (printed at product level or tighter) begins with '-'."""
    while _is_product(node, named):
        node = node.args[0]  # type: ignore[union-attr]
    if id(node) in named:
        return False
    if isinstance(node, Num):
        return number_text(node.value)[0].startswith("-")
    return isinstance(node, Apply) and node.op.precedence == UNARY


def _parenthesized(node: Expr, position: int, named: Mapping[int, str]) -> bool:
    """Whether ``node`` needs parentheses at ``position``."""
    if position == _DEFINE or id(node) in named:
        return False
    level = _level(node, named)
    if position == _EXPONENT:  # a power, an atom, or a signed exponent
        return level < POWER and not (level == UNARY and isinstance(node, Num))
    return level < position


def _sign(operand: Expr, position: int, named: Mapping[int, str]) -> str:
    """A unary minus before ``operand``, spaced when the operand's text starts with one too."""
    if not _parenthesized(operand, position, named) and _starts_with_minus(operand, named):
        return "- "
    return "-"


def _emit(root: Expr, named: Mapping[int, str], out: list[str]) -> None:
    """Append the text of ``root`` to ``out``; nodes in ``named`` below it print as their names."""
    stack: list[Item] = [(root, _DEFINE)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        node, position = item
        if position != _DEFINE and id(node) in named:
            out.append(named[id(node)])
            continue
        if isinstance(node, (Var, Const)):
            out.append(node.name)
            continue
        if position == _EXPONENT and isinstance(node, Apply) and node.op.precedence == UNARY:
            operand = node.args[0]
            stack.extend(((operand, _EXPONENT), _sign(operand, _EXPONENT, named)))
            continue
        if _parenthesized(node, position, named):
            stack.extend((")", (node, _ANY), "("))
            continue
        if isinstance(node, Num):
            out.append(number_text(node.value)[0])
            continue
        assert isinstance(node, Apply)
        stack.extend(reversed(_pieces(node, named)))


def _pieces(node: Apply, named: Mapping[int, str]) -> list[Item]:
    """The parts of one node's text, left to right, by the registry's symbol and precedence."""
    op = node.op
    if op.symbol is not None and op.arity == 2 and op.right_associative:
        return [(node.args[0], ATOM), op.symbol, (node.args[1], _EXPONENT)]
    if op.symbol is not None and op.arity == 2:
        left, right = node.args
        return [(left, op.precedence), _infix(op), (right, op.precedence + 1)]
    if op.symbol is not None:
        # -(a*b) prints as -a*b, which reads back as (-a)*b: the same value exactly,
        # since negation is exact and rounding is symmetric in sign.
        # The same holds for the negation of such a negation: -(-(a*b)) prints as - -a*b, not
        # -(-a*b), which would read back as -((-a)*b) and print differently.
        operand = node.args[0]
        position = PRODUCT if _level(operand, named) == PRODUCT else UNARY
        return [_sign(operand, position, named), (operand, position)]
    if not op.spellings:
        raise ValueError(f"operation {op.name!r} has no spelling in the language")
    pieces: list[Item] = [op.spellings[0], "("]
    for index, arg in enumerate(node.args):
        if index:
            pieces.append(", ")
        pieces.append((arg, _ANY))
    pieces.append(")")
    return pieces


def shared_nodes(root: Expr) -> list[Expr]:
    """Operations used more than once under ``root`` (not ``root`` itself), arguments first."""
    order = ast.postorder(root)
    uses: dict[int, int] = {}
    for node in order:
        for arg in ast.children(node):
            uses[id(arg)] = uses.get(id(arg), 0) + 1
    return [node for node in order
            if isinstance(node, Apply) and uses.get(id(node), 0) > 1 and node is not root]


def to_source(root: Expr, *, names: Mapping[int, str] | None = None, reserved: Iterable[str] = (),
              one_line: bool = False, share: bool = True) -> str:
    """``root`` as a program in adcli's language.

    Args:
        root: the expression (a DAG).
        names: preferred names for nodes, by ``id`` (the program's own names).
        reserved: names that made-up intermediates must not take (the built-ins,
            the expression's variables and the preferred names are always avoided).
        one_line: join the statements with ``"; "`` instead of new lines.
        share: name the nodes used more than once; without it a DAG prints as
            the whole tree it unfolds to, which can be exponentially long.
    """
    preferred = names or {}
    shared = shared_nodes(root) if share else []
    blocked = set(RESERVED) | set(ast.variables(root))
    # Made-up names also avoid every name the program used, so as not to confuse.
    avoid = blocked | set(reserved) | set(preferred.values())
    named: dict[int, str] = {}
    used: set[str] = set()
    counter = 0
    for node in shared:
        name = preferred.get(id(node))
        if name is None or name in blocked or name in used:
            counter += 1
            while f"d{counter}" in avoid or f"d{counter}" in used:
                counter += 1
            name = f"d{counter}"
        used.add(name)
        named[id(node)] = name
    statements: list[str] = []
    for node in shared:
        out = [named[id(node)], " = "]
        _emit(node, named, out)
        statements.append("".join(out))
    out = []
    _emit(root, named, out)
    statements.append("".join(out))
    return ("; " if one_line else "\n").join(statements)
