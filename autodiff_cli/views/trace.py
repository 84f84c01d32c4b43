"""The evaluation trace: the intermediate variables w1 ... wn of a program at a point.

This is the table that textbooks of automatic differentiation draw: each
variable and each operation gets a number in topological order (inputs first),
with its value, the local partial derivatives on its incoming edges and its
adjoint ∂f/∂wi.  Then, for each input, the gradient as a sum over the paths from
the input to the output, each path contributing the product of the local
partials along it (the chain rule, made visible).

The numbers come from the Scalar graph that :func:`grad.gradient_at` builds and
backpropagates; the local partials are the registry's rules evaluated with the
float algebra, and their printed forms are the same rules evaluated with a tiny
string algebra (:data:`TEXT`), so there is still one calculus.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Union

from .. import expr as ast
from ..engine.gradient import GradResult, gradient_at
from ..engine.graph import Graph
from ..ops import ATOM, FLOAT, OPERATIONS, OPS, POWER, PRODUCT, SUM, Op, algebra

MAX_FORM = 48
"""A local partial's printed form longer than this is left out (its number stays)."""

MAX_PATHS = 16
"""An input with more paths to the output than this has its paths grouped by first edge."""

MAX_PATH_EDGES = 200
"""Nor are paths listed when, together, they have more edges than this."""

PATH_COUNT_CAP = 10**18
"""Path counts grow exponentially with sharing; they are counted up to this and no further."""


# ---------------------------------------------------------------- a string algebra for the rules

_ADD, _MUL, _POW, _ATOM = SUM, PRODUCT, POWER, ATOM
"""Precedence levels of printed forms, the registry's: a form is parenthesised inside a
tighter operator."""
_NEG = (SUM + PRODUCT) / 2
"""A negated form, ``-w1·w2``: looser than a product (``2·(-w1)``), tighter than a sum."""


@dataclass(frozen=True, slots=True)
class Form:
    """A printed formula and the precedence of its outermost operator."""

    text: str
    precedence: float = _ATOM

    def __add__(self, other: Term) -> Term:
        return _add(self, other)

    def __radd__(self, other: float) -> Term:
        return _add(other, self)

    def __sub__(self, other: Term) -> Term:
        return _sub(self, other)

    def __rsub__(self, other: float) -> Term:
        return _sub(other, self)

    def __mul__(self, other: Term) -> Term:
        return _mul(self, other)

    def __rmul__(self, other: float) -> Term:
        return _mul(other, self)

    def __neg__(self) -> Term:
        return _neg(self)


Term = Union[Form, float]
"""What the string algebra computes with: a formula, or a number (folded as it goes)."""


def number_text(value: float) -> str:
    """A number as a formula shows it: ``2`` for 2.0, otherwise the round-tripping ``repr``."""
    if math.isfinite(value) and value == math.floor(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _form(term: Term) -> Form:
    if isinstance(term, Form):
        return term
    value = float(term)
    return Form(number_text(value), _NEG if value < 0 or value != value else _ATOM)


def _wrap(term: Term, at_least: float) -> str:
    form = _form(term)
    return f"({form.text})" if form.precedence < at_least else form.text


def _is(term: Term, value: float) -> bool:
    return not isinstance(term, Form) and term == value


def _add(a: Term, b: Term) -> Term:
    if not isinstance(a, Form) and not isinstance(b, Form):
        return a + b
    if _is(a, 0.0):
        return b
    if _is(b, 0.0):
        return a
    if not isinstance(b, Form) and b < 0:
        return Form(f"{_wrap(a, _ADD)} - {_wrap(-b, _MUL)}", _ADD)
    return Form(f"{_wrap(a, _ADD)} + {_wrap(b, _MUL)}", _ADD)


def _sub(a: Term, b: Term) -> Term:
    if not isinstance(a, Form) and not isinstance(b, Form):
        return a - b
    if _is(b, 0.0):
        return a
    if _is(a, 0.0):
        return _neg(b)
    return Form(f"{_wrap(a, _ADD)} - {_wrap(b, _MUL)}", _ADD)


def _mul(a: Term, b: Term) -> Term:
    if not isinstance(a, Form) and not isinstance(b, Form):
        return a * b
    if _is(a, 1.0):
        return b
    if _is(b, 1.0):
        return a
    if _is(a, -1.0):
        return _neg(b)
    if _is(b, -1.0):
        return _neg(a)
    if isinstance(a, Form) and isinstance(b, Form) and a.text == b.text:
        return _pow(a, 2.0)
    if isinstance(a, Form) and not isinstance(b, Form):
        a, b = b, a  # numbers first: 2·w1, not w1·2
    return Form(f"{_wrap(a, _MUL)}·{_wrap(b, _MUL + 0.5)}", _MUL)


def _zmul(a: Term, b: Term) -> Term:
    if not isinstance(a, Form) and not isinstance(b, Form):
        return OPS["zmul"].forward(a, b)
    return _mul(a, b)


def _div(a: Term, b: Term) -> Term:
    if not isinstance(a, Form) and not isinstance(b, Form):
        return OPS["div"].forward(a, b)
    if _is(b, 1.0):
        return a
    return Form(f"{_wrap(a, _MUL)}/{_wrap(b, _MUL + 0.5)}", _MUL)


def _neg(a: Term) -> Term:
    if not isinstance(a, Form):
        return -a
    return Form(f"-{_wrap(a, _MUL)}", _NEG)


def _pow(a: Term, b: Term) -> Term:
    if not isinstance(a, Form) and not isinstance(b, Form):
        return OPS["pow"].forward(a, b)
    if _is(b, 1.0):
        return a
    if _is(b, 0.0):
        return 1.0
    return Form(f"{_wrap(a, _POW + 0.5)}^{_wrap(b, _POW)}", _POW)


def function_name(op: Op) -> str:
    """How the language spells a call of ``op``: ``log`` for log_base, ``sin`` for sin."""
    return op.spellings[0] if op.spellings else op.name


def _text_op(op: Op) -> Any:
    special = {"add": _add, "sub": _sub, "mul": _mul, "zmul": _zmul, "div": _div, "neg": _neg,
               "pow": _pow}
    if op.name in special:
        return special[op.name]

    def call(*args: Term) -> Term:
        if not any(isinstance(a, Form) for a in args):
            return op.forward(*args)
        if op.expansion is not None:  # a helper of the rules: written as the language would
            return op.expansion(TEXT, *args)  # type: ignore[no-any-return]
        return Form(f"{function_name(op)}({', '.join(_form(a).text for a in args)})")

    return call


TEXT = algebra(_text_op)
"""The string algebra: derivative rules evaluated to printed formulas over named values."""


# ---------------------------------------------------------------- the trace


@dataclass(frozen=True, slots=True)
class TraceNode:
    """One intermediate variable wi: an input or one operation's result."""

    index: int
    """i in wi, from 1, in topological order."""
    op: str | None
    """The registry operation, or None for an input variable."""
    definition: str
    """``x`` for an input, ``sin(w1)`` or ``w1·w2`` for an operation."""
    operands: tuple[str, ...]
    """What the operation is applied to: ``w1`` or a constant's text (``2``, ``pi``)."""
    inputs: tuple[int | None, ...]
    """The operands' node numbers (None for constants)."""
    value: float
    partials: tuple[float | None, ...]
    """∂wi/∂operand for each operand; None where no gradient flows (a constant operand)."""
    partial_forms: tuple[str | None, ...]
    """The same partials as formulas over the w-names (``cos(w1)``), None when not simple."""
    adjoint: float | None
    """∂f/∂wi; None when wi depends on no variable that is differentiated."""
    name: str | None = None
    """The name the program gave this value (``z = ...``), or the input's variable name."""

    @property
    def label(self) -> str:
        return f"w{self.index}"


@dataclass(frozen=True, slots=True)
class PathTerm:
    """One term of a gradient's sum over paths.

    Either a whole path from the input to the output, contributing the product of
    the local partials along it; or, when there are too many paths to list, all
    the paths through one first edge, contributing ∂wj/∂input · ∂f/∂wj.
    """

    nodes: tuple[int, ...]
    """Node numbers along the path, from the input; for a grouped term, (input, wj)."""
    factors: tuple[str, ...]
    """The factors as formulas, ready to be joined by ``·``."""
    value: float


@dataclass(frozen=True, slots=True)
class InputPaths:
    """How one input's partial derivative is the sum over its paths to the output."""

    variable: str
    node: int
    gradient: float
    """∂f/∂variable, as backpropagation computed it."""
    path_count: int
    """How many paths lead from the input to the output (at most :data:`PATH_COUNT_CAP`)."""
    grouped: bool
    """True when the terms group the paths by their first edge rather than list them."""
    terms: tuple[PathTerm, ...]
    total: float
    """The sum of the terms: the gradient again, up to rounding."""


@dataclass(frozen=True, slots=True)
class Trace:
    """A program's evaluation trace at a point, and its gradient as sums over paths."""

    expression: str
    point: dict[str, float]
    nodes: tuple[TraceNode, ...]
    """w1 ... wn: the inputs in order of first appearance, then every operation, inputs first."""
    output: str
    """The output's label (``w5``), or a constant's text when the program is constant."""
    value: float
    gradient: dict[str, float]
    paths: tuple[InputPaths, ...]
    """One entry per differentiated variable."""

    def node(self, label: str) -> TraceNode:
        """The node labelled ``w<i>``."""
        return self.nodes[int(label[1:]) - 1]


def constant_text(node: ast.Expr) -> str:
    """How a constant leaf is shown: ``2``, ``0.5``, ``pi``."""
    if isinstance(node, ast.Const):
        return node.name
    assert isinstance(node, ast.Num)
    return number_text(node.value)


def number_nodes(program: ast.Program, order: Sequence[ast.Expr] | None = None) -> dict[int, int]:
    """``id(ast node)`` to its number i in wi: the variables first, then the operations.

    Constants (numbers, ``pi``) get no number: they are shown where they are used.
    ``order`` is the program's postorder, when the caller has it already.
    """
    if order is None:
        order = ast.postorder(program.result)
    numbers: dict[int, int] = {}
    by_name = {node.name: node for node in order if isinstance(node, ast.Var)}
    for name in program.variables:
        numbers[id(by_name[name])] = len(numbers) + 1
    for node in order:
        if isinstance(node, ast.Apply):
            numbers[id(node)] = len(numbers) + 1
    return numbers


def _operand_form(node: ast.Expr, numbers: Mapping[int, int]) -> Term:
    if id(node) in numbers:
        return Form(f"w{numbers[id(node)]}")
    if isinstance(node, ast.Const):
        return Form(node.name)
    assert isinstance(node, ast.Num)
    return node.value


def definition_text(op: Op, operands: Sequence[str]) -> str:
    """``w1 + w2``, ``-w1``, ``w1^2``, ``sin(w1)``: an operation on already-named operands,
    written with the registry's symbol (a product with a centred dot)."""
    shown = [f"({o})" if o.startswith("-") else o for o in operands]
    if op.symbol is not None and op.arity == 2:
        symbol = "·" if op.precedence == PRODUCT and op.symbol == "*" else op.symbol
        return (f" {symbol} " if op.precedence == SUM else symbol).join(shown)
    if op.symbol is not None:
        return f"{op.symbol}{shown[0]}"
    return f"{function_name(op)}({', '.join(operands)})"


def partial_text(form: str | None, value: float) -> str:
    """``cos(w1) = 0.5403023058681398``; just ``1`` when the formula is the number itself."""
    shown = repr(float(value))
    if form is None:
        return shown
    if form in (shown, number_text(value)):
        return form
    return f"{form} = {shown}"


@dataclass(frozen=True, slots=True)
class LocalPartial:
    """∂(user)/∂(argument) on one edge of the graph, as a number and as a formula."""

    value: float
    form: str | None
    """The formula, or None when it is longer than :data:`MAX_FORM`."""
    factor: str
    """The formula (or the number) ready to be a factor of a product."""


def local_partials(node: ast.Apply, graph: Graph,
                   numbers: Mapping[int, int]) -> tuple[LocalPartial | None, ...]:
    """The local partials on the edges into ``node``; None where the argument needs no gradient.

    Evaluated from the registry's rules exactly as backpropagation evaluates them.
    """
    scalar = graph.scalars[id(node)]
    values = [graph.scalars[id(a)].data for a in node.args]
    forms = [_operand_form(a, numbers) for a in node.args]
    out = Form(f"w{numbers[id(node)]}")
    text = _naming(node.op, forms, out)
    partials: list[LocalPartial | None] = []
    for rule, arg in zip(node.op.partials, node.args):
        if not graph.scalars[id(arg)].requires_grad:
            partials.append(None)
            continue
        value = float(rule(FLOAT, *values, scalar.data))
        form = _form(rule(text, *forms, out))
        simple = form.text if len(form.text) <= MAX_FORM else None
        # Factors of a product: 1/w3 and 2·w6 are bracketed so that the chain reads unambiguously.
        factor = _wrap(form if simple is not None else value, _MUL + 0.5)
        partials.append(LocalPartial(value, simple, factor))
    return tuple(partials)


def _naming(op: Op, forms: Sequence[Term], out: Form) -> Any:
    """The string algebra, in which ``op`` of the node's own operands is the node's name: a
    helper's expansion that recomputes the node (sigmoid(w1) in sigmoid(w1)·(1 - sigmoid(w1)))
    prints as w2·(1 - w2)."""
    own = [_form(f).text for f in forms]
    general = getattr(TEXT, op.name)
    m = SimpleNamespace(**vars(TEXT))

    def named(*args: Term) -> Term:
        if [_form(a).text for a in args] == own:
            return out
        return general(*args)  # type: ignore[no-any-return]

    def expanded(helper: Op) -> Any:
        def call(*args: Term) -> Term:
            if not any(isinstance(a, Form) for a in args):
                return helper.forward(*args)
            return helper.expansion(m, *args)  # type: ignore[misc, no-any-return]
        return call

    for helper in OPERATIONS:
        if helper.expansion is not None:
            setattr(m, helper.name, expanded(helper))
    setattr(m, op.name, named)
    return m


def _users(nodes: Sequence[TraceNode]) -> list[list[tuple[int, int]]]:
    """For each node (by index), the edges leaving it that carry a gradient: (user, operand)."""
    users: list[list[tuple[int, int]]] = [[] for _ in range(len(nodes) + 1)]
    for node in nodes:
        for position, (source, partial) in enumerate(zip(node.inputs, node.partials)):
            if source is not None and partial is not None:
                users[source].append((node.index, position))
    return users


def _count_paths(nodes: Sequence[TraceNode], users: Sequence[Sequence[tuple[int, int]]],
                 output: int) -> tuple[list[int], list[int]]:
    """Paths from each node to the output, and their total number of edges (both capped)."""
    count = [0] * (len(nodes) + 1)
    edges = [0] * (len(nodes) + 1)
    count[output] = 1
    for node in reversed(nodes):
        i = node.index
        if i == output:
            continue
        for user, _ in users[i]:
            count[i] = min(PATH_COUNT_CAP, count[i] + count[user])
            edges[i] = min(PATH_COUNT_CAP, edges[i] + edges[user] + count[user])
    return count, edges


def _list_paths(start: int, users: Sequence[Sequence[tuple[int, int]]],
                factors: Mapping[tuple[int, int], LocalPartial], output: int) -> list[PathTerm]:
    """Every path from ``start`` to the output (the caller has checked there are few)."""
    terms: list[PathTerm] = []
    # Depth-first with an explicit stack of (node, next user to try); the path is the stack.
    stack: list[tuple[int, int]] = [(start, 0)]
    taken: list[LocalPartial] = []
    while stack:
        node, i = stack[-1]
        if node == output:
            value = 1.0
            for partial in reversed(taken):  # from the output down, as backpropagation multiplies
                value = value * partial.value
            terms.append(PathTerm(tuple(n for n, _ in stack), tuple(p.factor for p in taken), value))
        if node != output and i < len(users[node]):
            stack[-1] = (node, i + 1)
            user, position = users[node][i]
            taken.append(factors[(user, position)])
            stack.append((user, 0))
        else:
            stack.pop()
            if stack:
                taken.pop()
    return terms


def _input_paths(variable: str, start: int, gradient: float, nodes: Sequence[TraceNode],
                 users: Sequence[Sequence[tuple[int, int]]], count: Sequence[int],
                 edges: Sequence[int], factors: Mapping[tuple[int, int], LocalPartial],
                 output: int) -> InputPaths:
    if count[start] <= MAX_PATHS and edges[start] <= MAX_PATH_EDGES:
        terms = _list_paths(start, users, factors, output)
        grouped = False
    else:
        grouped = True
        terms = []
        for user, position in users[start]:
            partial = factors[(user, position)]
            adjoint = nodes[user - 1].adjoint or 0.0
            terms.append(PathTerm((start, user), (partial.factor, f"∂f/∂w{user}"),
                                  partial.value * adjoint))
    total = 0.0
    for term in terms:
        total += term.value
    return InputPaths(variable, start, gradient, count[start], grouped, tuple(terms), total)


def build_trace(program: ast.Program, graph: Graph, result: GradResult) -> Trace:
    """The trace of ``program`` from its backpropagated Scalar graph (see :func:`gradient_at`)."""
    numbers = number_nodes(program, graph.order)
    order = [n for n in graph.order if id(n) in numbers]
    order.sort(key=lambda n: numbers[id(n)])
    names = program.names
    nodes: list[TraceNode] = []
    factors: dict[tuple[int, int], LocalPartial] = {}
    for node in order:
        index = numbers[id(node)]
        scalar = graph.scalars[id(node)]
        adjoint = float(scalar.grad) if scalar.grad is not None else None
        if isinstance(node, ast.Var):
            nodes.append(TraceNode(index, None, node.name, (), (), scalar.data, (), (), adjoint,
                                   names.get(id(node), node.name)))
            continue
        assert isinstance(node, ast.Apply)
        operands = tuple(f"w{numbers[id(a)]}" if id(a) in numbers else constant_text(a)
                         for a in node.args)
        inputs = tuple(numbers.get(id(a)) for a in node.args)
        partials = local_partials(node, graph, numbers)
        for position, partial in enumerate(partials):
            if partial is not None:
                factors[(index, position)] = partial
        nodes.append(TraceNode(
            index, node.op.name, definition_text(node.op, operands), operands, inputs, scalar.data,
            tuple(p.value if p else None for p in partials),
            tuple(p.form if p else None for p in partials), adjoint, names.get(id(node))))
    root = program.result
    output = f"w{numbers[id(root)]}" if id(root) in numbers else constant_text(root)
    paths: list[InputPaths] = []
    if id(root) in numbers and graph.output.requires_grad:
        out_index = numbers[id(root)]
        users = _users(nodes)
        count, edges = _count_paths(nodes, users, out_index)
        by_name = {n.definition: n.index for n in nodes if n.op is None}
        for variable, gradient in result.gradient.items():
            paths.append(_input_paths(variable, by_name[variable], gradient, nodes, users, count,
                                      edges, factors, out_index))
    return Trace(result.expression, dict(result.point), tuple(nodes), output, result.value,
                 dict(result.gradient), tuple(paths))


def trace_at(program: ast.Program, point: Mapping[str, float],
             wrt: Sequence[str] | None = None) -> tuple[GradResult, Trace]:
    """Evaluate, backpropagate and trace ``program`` at ``point``."""
    result, graph = gradient_at(program, point, wrt)
    return result, build_trace(program, graph, result)
