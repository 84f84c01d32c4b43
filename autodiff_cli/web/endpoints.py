"""The JSON API of ``adcli serve``: one function per endpoint, a request's data in, the
answer's data out.

Every number comes from the library the command line uses (parse, the Scalar graph and
its backward pass, the trace, the descent loop); the page only draws what it is given.
Each request is checked against :class:`Limits` before the work starts, so that no
request can cost more than a bounded amount of time: the text's length, the graph's size
(counted while parsing, see :func:`autodiff_cli.language.parser.parse`), the steps of a
descent and the points of a contour grid.  Mistakes are :class:`autodiff_cli.errors.AdcliError`
and become ``{"error": ...}`` answers with status 400 (:func:`error_data`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .. import __version__
from .. import expr as ast
from ..errors import AdcliError, SourceError, line_and_column, python_spelling, variable
from ..expr import Program
from ..language.inputs import check_names, resolve_point
from ..language.parser import parse, parse_constant
from ..render.json import graph_dict, trace_dict


@dataclass(frozen=True, slots=True)
class Limits:
    """What one request may ask for; past these it is answered with an error, not worked on."""

    body_bytes: int = 64 * 1024
    """A request's body."""
    expression_chars: int = 10_000
    nodes: int = 2_000
    """Nodes of a graph (counted while parsing, function calls included)."""
    steps: int = 10_000
    """Descent steps one request may add to a run."""
    run_steps: int = 1_000_000
    """Steps a run may have in all (each request replays the run from its start)."""
    descent_work: int = 20_000_000
    """Steps (from the run's start) times graph nodes, per request: about a second."""
    records: int = 500
    """Steps of a descent returned per request (the others are skipped evenly)."""
    grid: int = 120
    """Points along each side of a contour grid."""
    concurrent: int = 4
    """Requests computing at once; more wait for a moment, then get 503."""


LIMITS = Limits()


class RequestError(AdcliError):
    """A request that is not what the API takes: a missing or mistyped field, or a request
    beyond the limits."""


# ---------------------------------------------------------------- reading requests


def field(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ...,
          ) -> Any:
    """``data[name]``, checked to be of ``kind`` (a missing field takes ``default``)."""
    if name not in data:
        if default is ...:
            raise RequestError(f"the request has no '{name}'")
        return default
    value = data[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:  # JSON true is not a number here
        raise RequestError(f"'{name}' must be {_kind_names(kinds)}, not {_json_type(value)}")
    if not isinstance(value, kinds):
        raise RequestError(f"'{name}' must be {_kind_names(kinds)}, not {_json_type(value)}")
    return value


def _kind_names(kinds: Sequence[type]) -> str:
    names = {str: "text", int: "a number", float: "a number", bool: "true or false",
             dict: "an object", list: "a list", type(None): "null"}
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


def _json_type(value: Any) -> str:
    return {bool: "true/false", str: "text", int: "a number", float: "a number", dict: "an object",
            list: "a list", type(None): "null"}.get(type(value), type(value).__name__)


def whole(data: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = field(data, name, (int, float), default)
    if isinstance(value, float):
        if not (math.isfinite(value) and value == int(value)):
            raise RequestError(f"'{name}' must be a whole number, not {value!r}")
        value = int(value)
    assert isinstance(value, int)
    if not low <= value <= high:
        raise RequestError(f"'{name}' must be between {low:,} and {high:,}, not {value:,}")
    return value


@functools.lru_cache(maxsize=32)
def _parse(text: str, max_nodes: int) -> Program:
    """Programs by their text: the page asks about the same one again and again, and the
    compiled code and descent loops are cached per program."""
    return parse(text, max_nodes=max_nodes)


def program_of(data: Mapping[str, Any], limits: Limits = LIMITS) -> Program:
    """The request's ``expression``, parsed within the limits."""
    text = field(data, "expression", str)
    if len(text) > limits.expression_chars:
        raise RequestError(f"the expression has {len(text):,} characters; the page takes at "
                           f"most {limits.expression_chars:,}")
    program = _parse(text, limits.nodes)
    nodes = ast.count_nodes(program.result)
    if nodes > limits.nodes:  # parse counts what it makes; this is what is left
        raise RequestError(f"the graph has {nodes:,} nodes; the page takes at most {limits.nodes:,}")
    return program


def point_of(data: Mapping[str, Any], program: Program, name: str = "point",
             limits: Limits = LIMITS) -> dict[str, float]:
    """The request's values for the program's variables (numbers, or constant expressions as
    text such as ``"pi/4"``, each parsed within the page's node limit), every variable given."""
    given = dict(field(data, name, dict, {}))
    for key, value in given.items():
        if not isinstance(value, (int, float, str)) or isinstance(value, bool):
            raise RequestError(f"the value of '{key}' must be a number or text, not {_json_type(value)}")
        if isinstance(value, str):
            if len(value) > 200:
                raise RequestError(f"the value of '{key}' is too long ({len(value):,} characters)")
            given[key] = parse_constant(value, variable(key), max_nodes=limits.nodes)
    return resolve_point(program.variables, given.items())


# ---------------------------------------------------------------- answers


def error_data(error: AdcliError) -> dict[str, Any]:
    """An error as the page shows it: the message as the command line prints it (with the
    caret lines for an error in the expression), and where it is, as data."""
    data: dict[str, Any] = {"kind": type(error).__name__, "message": error.render(python_spelling)}
    if isinstance(error, SourceError):
        line, column = line_and_column(error.source, error.start)
        data.update(reason=error.reason, start=error.start,
                    end=error.end if error.end is not None else error.start + 1,
                    line=line, column=column)
    return data


def info(start: Mapping[str, Any] | None = None, limits: Limits = LIMITS) -> dict[str, Any]:
    """``GET /api/info``: the version, the limits, the optimizers with their defaults, and
    the expression and point the page opens on."""
    from ..ops import CONSTANTS, FUNCTIONS
    from ..optimize.optimizers import OPTIMIZERS

    return {
        "version": __version__,
        "limits": asdict(limits),
        "optimizers": {name: {"update": rule.doc, "defaults": rule.defaults}
                       for name, rule in OPTIMIZERS.items()},
        "functions": sorted(FUNCTIONS),
        "constants": sorted(CONSTANTS),
        "start": dict(start) if start else None,
    }


def parse_request(data: Mapping[str, Any], limits: Limits = LIMITS) -> dict[str, Any]:
    """``POST /api/parse``: the program's variables, the names it assigns, its size."""
    program = program_of(data, limits)
    return {
        "expression": program.source,
        "variables": list(program.variables),
        "names": [name for name, _ in program.bindings],
        "nodes": ast.count_nodes(program.result),
    }


def evaluate(data: Mapping[str, Any], limits: Limits = LIMITS) -> dict[str, Any]:
    """``POST /api/evaluate``: the value and gradient at the point (``adcli grad --json``);
    ``wrt`` (a list of names) differentiates with respect to some variables only."""
    from ..engine.gradient import gradient_at

    program = program_of(data, limits)
    point = point_of(data, program, limits=limits)
    wrt = field(data, "wrt", (list, type(None)), None)
    if wrt is not None:
        if not all(isinstance(name, str) for name in wrt):
            raise RequestError("'wrt' must be a list of variable names")
        check_names(wrt, program.variables, "differentiated against")
        wrt = [name for name in program.variables if name in wrt]
    result, _ = gradient_at(program, point, wrt)
    return {"expression": result.expression, "point": result.point, "value": result.value,
            "gradient": result.gradient, "nonfinite": result.nonfinite}


def chain_rule(graph: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """For each node with an adjoint, the chain rule's sum over the nodes that use it:
    ∂f/∂w = Σ over edges w → c of ∂f/∂c · ∂c/∂w, each term's factors and product, in the
    order of the edges (the output's adjoint is the seed, 1)."""
    adjoint = {node["id"]: node["gradient"] for node in graph["nodes"]}
    sums: dict[str, dict[str, Any]] = {}
    for node in graph["nodes"]:
        if node["gradient"] is not None:
            sums[node["id"]] = {"adjoint": node["gradient"], "terms": [],
                                "seed": node["id"] == graph["output"]}
    for edge in graph["edges"]:
        source, target, partial = edge["from"], edge["to"], edge["local_partial"]
        if partial is None or source not in sums or adjoint[target] is None:
            continue
        sums[source]["terms"].append({
            "consumer": target, "argument": edge["argument"], "consumer_adjoint": adjoint[target],
            "local_partial": partial, "local_partial_form": edge["local_partial_form"],
            "product": adjoint[target] * partial})
    return sums


def trace(data: Mapping[str, Any], limits: Limits = LIMITS) -> dict[str, Any]:
    """``POST /api/trace``: everything the page shows at a point: the graph (``adcli graph
    --format json``), the trace with its sums over paths (``adcli grad --trace --json``), the
    chain rule's sum at each node, and with ``"layout": true`` where to draw it all."""
    from ..engine.gradient import gradient_at
    from ..views.graph import build_graph_view
    from ..views.trace import build_trace
    from .page import page_layout

    program = program_of(data, limits)
    point = point_of(data, program, limits=limits)
    with_layout = field(data, "layout", bool, False)
    result, graph = gradient_at(program, point)
    view = build_graph_view(program, graph, result)
    steps = build_trace(program, graph, result)
    graph_data = graph_dict(view)
    answer: dict[str, Any] = {
        "expression": program.source,
        "variables": list(program.variables),
        "point": result.point,
        "value": result.value,
        "gradient": result.gradient,
        "nonfinite": result.nonfinite,
        "graph": graph_data,
        "trace": trace_dict(steps),
        "chain_rule": chain_rule(graph_data),
    }
    if with_layout:
        answer["layout"] = page_layout(view)
    return answer


def svg(data: Mapping[str, Any], limits: Limits = LIMITS) -> str:
    """``POST /api/svg``: the graph at the point as ``adcli graph --format svg`` draws it."""
    from ..render.svg import graph_svg
    from ..views.graph import graph_at

    program = program_of(data, limits)
    return graph_svg(graph_at(program, point_of(data, program, limits=limits)))


def contour(data: Mapping[str, Any], limits: Limits = LIMITS) -> dict[str, Any]:
    """``POST /api/contour``: the values on a grid over two variables (``x``, ``y``: their
    names; ``x_range``, ``y_range``: [low, high]; ``size``: points per side), the others at
    the point; rows run along y.  For the path of a descent on a contour map."""
    import numpy as np

    from ..engine.compile import compile_program

    program = program_of(data, limits)
    point = point_of(data, program, limits=limits)
    names = [field(data, "x", str), field(data, "y", str)]
    check_names(names, program.variables, "an axis of the map")
    if names[0] == names[1]:
        raise RequestError("'x' and 'y' must be two different variables")
    size = whole(data, "size", 60, 2, limits.grid)
    axes = []
    for key in ("x_range", "y_range"):
        bounds = field(data, key, list)
        if (len(bounds) != 2 or not all(isinstance(b, (int, float)) and not isinstance(b, bool)
                                        and math.isfinite(b) for b in bounds)
                or not bounds[0] < bounds[1]):
            raise RequestError(f"'{key}' must be [low, high], two finite numbers with low < high")
        if not math.isfinite(float(bounds[1]) - float(bounds[0])):
            raise RequestError(f"'{key}' is too wide: its width overflows float64 (at most about 1.8e308)")
        axes.append(np.linspace(float(bounds[0]), float(bounds[1]), size))
    xs, ys = np.meshgrid(axes[0], axes[1])
    columns = [xs if name == names[0] else ys if name == names[1] else np.full_like(xs, point[name])
               for name in program.variables]
    with np.errstate(all="ignore"):
        values = np.asarray(compile_program(program).values_at(*columns), dtype=float)
    values = np.broadcast_to(values, xs.shape)
    # Seven significant digits are plenty to draw with, and keep the answer small.
    rows = [[float(f"{v:.7g}") for v in row] for row in values.tolist()]
    return {"x": names[0], "y": names[1], "xs": axes[0].tolist(), "ys": axes[1].tolist(),
            "values": rows}


def descend(data: Mapping[str, Any], limits: Limits = LIMITS) -> dict[str, Any]:
    """``POST /api/descend``: steps of gradient descent, by the descent loop ``adcli descend``
    runs.

    A run is its start point, optimizer and settings; a request asks for ``steps`` more
    steps after the first ``done``.  The server keeps nothing between requests: it replays
    the run from its start (the loop is deterministic, so the steps are those of one long
    run, optimizer state included) and answers with the new steps, at most
    ``limits.records`` of them (evenly spaced, the last always), and where the run is.
    """
    from ..optimize.descent import DescentConfig
    from ..optimize.descent import descend as run_descent
    from ..optimize.optimizers import OPTIMIZERS
    from ..optimize.run import Record, Sink

    program = program_of(data, limits)
    start = point_of(data, program, "start", limits)
    optimizer = field(data, "optimizer", str, "sgd")
    if optimizer not in OPTIMIZERS:
        raise RequestError(f"unknown optimizer '{optimizer}'; choose from {', '.join(OPTIMIZERS)}")
    settings = field(data, "settings", dict, {})
    for key, value in settings.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise RequestError(f"setting '{key}' must be a finite number")
    free = field(data, "free", (list, type(None)), None)
    if free is None:
        free = list(program.variables)
    if not all(isinstance(name, str) for name in free):
        raise RequestError("'free' must be a list of variable names")
    check_names(free, program.variables, "descended on")
    free = [name for name in program.variables if name in free]
    done = whole(data, "done", 0, 0, limits.run_steps)
    steps = whole(data, "steps", 100, 1, limits.steps)
    total = done + steps
    if total > limits.run_steps:
        raise RequestError(f"a run on the page has at most {limits.run_steps:,} steps")
    nodes = ast.count_nodes(program.result)
    if total * nodes > limits.descent_work:
        raise RequestError(
            f"this run is too long for one request: {total:,} steps of a {nodes:,}-node graph "
            f"(the page replays a run from its start, at most {limits.descent_work:,} node-steps "
            "a request); start a new run from here")
    tol = field(data, "tol", (int, float), 1e-8)
    if not (math.isfinite(tol) and tol >= 0):
        raise RequestError("'tol' must be a finite number, 0 or more")
    # every stride-th step and the last: at most limits.records of them in any span of steps + 1
    stride = max(1, math.ceil((steps + 1) / (limits.records - 1)))

    class Keep(Sink):
        """The run's steps after the first ``done`` (the loop records every ``stride``-th
        step, counted from the start, and the last)."""

        def __init__(self) -> None:
            self.kept: list[Record] = []
            self.last: Record | None = None

        def records(self, records: Sequence[Record]) -> None:
            for record in records:
                step = int(record[0])
                if step < done or (done > 0 and step == done):
                    continue
                self.last = record
                self.kept.append(record)

    keep = Keep()
    # Recording every stride-th step, not every step, keeps the replay of the first ``done``
    # steps almost as fast as the loop itself.
    config = DescentConfig(optimizer=optimizer, hyper=dict(settings), steps=total, tol=float(tol),
                           every=total, record=stride)
    result, _ = run_descent(program, start, free, config, [keep])
    kept = keep.kept
    if keep.last is not None and (not kept or kept[-1][0] != keep.last[0]):
        kept.append(keep.last)
    return {
        "expression": program.source,
        "optimizer": result.optimizer,
        "settings": result.settings,
        "free": free,
        "start": result.start,
        "records": [[int(r[0]), *r[1:]] for r in kept],
        "record_fields": ["step", "loss", "grad_norm", *free],
        "step": result.steps,
        "point": result.point,
        "value": result.value,
        "grad_norm": result.grad_norm,
        "stop_reason": result.stop_reason,
        "message": result.describe(python_spelling),
        "finished": result.stop_reason != "steps",
    }


ENDPOINTS: dict[str, Callable[[Mapping[str, Any], Limits], Any]] = {
    "parse": parse_request,
    "evaluate": evaluate,
    "trace": trace,
    "descend": descend,
    "contour": contour,
    "svg": svg,
}
"""``POST /api/<name>``: the function that answers it."""
