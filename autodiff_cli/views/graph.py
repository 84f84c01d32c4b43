"""The computation graph as data, and its pictures: an outline tree, Graphviz DOT, Mermaid, JSON.

Every node carries its operation, its forward value and its gradient (adjoint,
∂f/∂node); every edge its local partial derivative.  Variables and operations
are labelled ``w1 ... wn`` exactly as in the evaluation trace
(:mod:`autodiff_cli.trace`), constants ``c1 ... ck``.  A node used twice is one
node with two outgoing edges.

Pictures of big graphs are unreadable, so they can be cut at a depth: the
distance from the output, in edges, along the shortest way.  Everything here is
iterative, so a 100,000-node expression is fine.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .. import expr as ast
from ..engine.gradient import GradResult, gradient_at
from ..engine.graph import Graph
from ..errors import Spelling, option, python_spelling, spell
from .trace import build_trace, constant_text, number_nodes, number_text, partial_text

DEFAULT_TREE_DEPTH = 8
"""The terminal tree is cut this deep unless asked otherwise (at most 2^9 - 1 lines)."""

FORMATS = ("tree", "dot", "mermaid", "json")


@dataclass(frozen=True, slots=True)
class GraphNode:
    """One node: an input variable, a constant, or an operation's result."""

    id: str
    """``w3`` for variables and operations (as in the trace), ``c1`` for constants."""
    kind: str
    """``variable``, ``constant`` or ``operation``."""
    op: str | None
    """The registry operation (None for leaves)."""
    definition: str
    """``x``, ``2``, ``pi``, ``sin(w1)``, ``w1·w2``."""
    name: str | None
    """The program's name for the node (``u`` in ``u = x*y``), or the variable's name."""
    value: float
    gradient: float | None
    """∂f/∂node; None for constants and for nodes that depend on no differentiated variable."""
    arguments: tuple[str, ...]
    """The ids of the operation's arguments, in order (a repeated argument appears twice)."""


@dataclass(frozen=True, slots=True)
class GraphEdge:
    """From an argument to the operation using it, with the local partial ∂target/∂source."""

    source: str
    target: str
    position: int
    """Which argument of the target this is, from 0."""
    local_partial: float | None
    """None where no gradient flows (the source is constant)."""
    local_form: str | None
    """The local partial as a formula over the w-names, when it is simple."""


@dataclass(frozen=True, slots=True)
class GraphView:
    """The computation graph of a program at a point, after backpropagation."""

    expression: str
    point: dict[str, float]
    value: float
    gradient: dict[str, float]
    nodes: tuple[GraphNode, ...]
    """In evaluation order: arguments before the operations that use them."""
    edges: tuple[GraphEdge, ...]
    output: str
    index: dict[str, int]
    """Node id to its position in ``nodes``."""
    nonfinite: str | None = None
    """Where the first inf or nan came from, when there is one."""

    def node(self, node_id: str) -> GraphNode:
        return self.nodes[self.index[node_id]]


def build_graph_view(program: ast.Program, graph: Graph, result: GradResult) -> GraphView:
    """The graph view of ``program`` from its backpropagated Scalar graph."""
    trace = build_trace(program, graph, result)
    numbers = number_nodes(program, graph.order)
    ids: dict[int, str] = {}
    nodes: list[GraphNode] = []
    edges: list[GraphEdge] = []
    constants = 0
    for node in graph.order:
        if id(node) in numbers:
            step = trace.nodes[numbers[id(node)] - 1]
            node_id = step.label
        else:
            constants += 1
            node_id = f"c{constants}"
        ids[id(node)] = node_id
        if isinstance(node, ast.Var):
            nodes.append(GraphNode(node_id, "variable", None, node.name, step.name, step.value,
                                   step.adjoint, ()))
        elif isinstance(node, ast.Apply):
            arguments = tuple(ids[id(a)] for a in node.args)
            nodes.append(GraphNode(node_id, "operation", node.op.name, step.definition, step.name,
                                   step.value, step.adjoint, arguments))
            for position, source in enumerate(arguments):
                edges.append(GraphEdge(source, node_id, position, step.partials[position],
                                       step.partial_forms[position]))
        else:
            assert isinstance(node, (ast.Num, ast.Const))
            nodes.append(GraphNode(node_id, "constant", None, constant_text(node),
                                   program.names.get(id(node)), node.value, None, ()))
    return GraphView(result.expression, dict(result.point), result.value, dict(result.gradient),
                     tuple(nodes), tuple(edges), ids[id(program.result)],
                     {n.id: i for i, n in enumerate(nodes)}, result.nonfinite)


def graph_at(program: ast.Program, point: Mapping[str, float],
             wrt: Sequence[str] | None = None) -> GraphView:
    """Evaluate and backpropagate ``program`` at ``point``; its computation graph."""
    result, graph = gradient_at(program, point, wrt)
    return build_graph_view(program, graph, result)


# ---------------------------------------------------------------- cutting at a depth


def distances(view: GraphView) -> dict[str, int]:
    """Each node's distance from the output, in edges, along the shortest way (breadth first)."""
    dist = {view.output: 0}
    queue = deque([view.output])
    while queue:
        node_id = queue.popleft()
        for arg in view.node(node_id).arguments:
            if arg not in dist:
                dist[arg] = dist[node_id] + 1
                queue.append(arg)
    return dist


@dataclass(frozen=True, slots=True)
class Cut:
    """The part of a graph within ``depth`` edges of the output."""

    depth: int | None
    """None: nothing is cut."""
    kept: tuple[str, ...]
    """Ids of the nodes shown, in evaluation order."""
    truncated: tuple[str, ...]
    """Shown nodes whose arguments are (some or all) hidden."""
    hidden: int
    """How many nodes are hidden."""


def cut(view: GraphView, depth: int | None) -> Cut:
    """The nodes at most ``depth`` edges from the output (all of them for None)."""
    if depth is None:
        return Cut(None, tuple(n.id for n in view.nodes), (), 0)
    dist = distances(view)
    kept = tuple(n.id for n in view.nodes if dist[n.id] <= depth)
    truncated = tuple(n.id for n in view.nodes if dist[n.id] == depth and n.arguments)
    return Cut(depth, kept, truncated, len(view.nodes) - len(kept))


def shown_edges(view: GraphView, part: Cut) -> list[tuple[GraphEdge, str]]:
    """The edges between nodes that ``part`` keeps, each with its label (empty when no
    gradient flows along it)."""
    kept = set(part.kept)
    return [(edge, edge_label(edge)) for edge in view.edges
            if edge.source in kept and edge.target in kept]


@dataclass(frozen=True, slots=True)
class OutlineLine:
    """One line of the outline (the terminal tree), in display order."""

    depth: int
    node: str
    role: str
    """``node``: drawn here, its arguments on the lines below; ``shared``: drawn on another
    line, referred to here; ``cut``: drawn here, its arguments hidden by the depth limit."""
    drawn_above: bool = False
    """For ``shared``: whether the line that draws it comes earlier."""


@dataclass(frozen=True, slots=True)
class Outline:
    """The graph as an indented tree, with each node drawn once, cut at a depth."""

    lines: tuple[OutlineLine, ...]
    depth: int
    hidden: int
    """Nodes deeper than ``depth`` (shortest distance from the output), so not shown at all."""


def outline(view: GraphView, depth: int = DEFAULT_TREE_DEPTH) -> Outline:
    """The tree to draw: each node is drawn where it is nearest the output, referred to elsewhere.

    Drawing a node where it is first nearest the output means every node within
    ``depth`` edges of the output is drawn, and the tree has at most
    2^(depth + 1) - 1 lines whatever the size of the graph.
    """
    dist = distances(view)
    drawn: set[str] = set()
    lines: list[OutlineLine] = []
    stack: list[tuple[str, int]] = [(view.output, 0)]
    while stack:
        node_id, level = stack.pop()
        arguments = view.node(node_id).arguments
        if node_id in drawn or level > dist[node_id]:
            lines.append(OutlineLine(level, node_id, "shared", node_id in drawn))
        elif arguments and level >= depth:
            drawn.add(node_id)
            lines.append(OutlineLine(level, node_id, "cut"))
        else:
            drawn.add(node_id)
            lines.append(OutlineLine(level, node_id, "node"))
            stack.extend((arg, level + 1) for arg in reversed(arguments))
    hidden = sum(1 for d in dist.values() if d > depth)
    return Outline(tuple(lines), depth, hidden)


# ---------------------------------------------------------------- labels


def number(value: float | None) -> str:
    """Full precision: ``repr`` round-trips."""
    return "—" if value is None else repr(float(value))


def node_title(node: GraphNode) -> str:
    """``w3 = sin(w1)``, ``w4 (u) = w1·w2``, ``w1 = x``, ``2``, ``pi``."""
    if node.kind == "constant":
        return node.definition if node.name is None else f"{node.name} = {node.definition}"
    named = f" ({node.name})" if node.name and node.name != node.definition else ""
    return f"{node.id}{named} = {node.definition}"


def node_lines(node: GraphNode) -> list[str]:
    """The title, the value, and the gradient when the node has one."""
    lines = [node_title(node)]
    if node.kind != "constant" or node.definition != number_text(node.value):
        lines.append(f"value {number(node.value)}")
    if node.gradient is not None:
        lines.append(f"grad {number(node.gradient)}")
    return lines


def edge_label(edge: GraphEdge) -> str:
    """The local partial: ``∂w3/∂w1 = cos(w1) = 0.5403023058681398``; empty when none flows."""
    if edge.local_partial is None:
        return ""
    return f"∂{edge.target}/∂{edge.source} = {partial_text(edge.local_form, edge.local_partial)}"


def title(view: GraphView) -> str:
    """``f = sin(x)+x*y at x = 1.0, y = 2.0``, on one line."""
    statements = (line.strip() for line in view.expression.strip().splitlines())
    flat = " ".join("; ".join(line for line in statements if line).split())
    if len(flat) > 100:
        flat = flat[:99] + "…"
    at = ", ".join(f"{k} = {number(v)}" for k, v in view.point.items())
    return f"f = {flat}" + (f" at {at}" if at else "")


def hidden_note(hidden: int, depth: int | None, spelling: Spelling = python_spelling) -> str:
    """``2 nodes are deeper than depth 1 and not shown``, the setting written by ``spelling``."""
    nodes = "node is" if hidden == 1 else "nodes are"
    return spell(f"{hidden:,} {nodes} deeper than {option('depth')} {depth} and not shown", spelling)


# ---------------------------------------------------------------- DOT


# ---------------------------------------------------------------- Mermaid


# ---------------------------------------------------------------- JSON


# ---------------------------------------------------------------- files
