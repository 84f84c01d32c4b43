"""The library's front door: each capability called with an expression's text and a point.

Every function here parses the expression (or takes a parsed :class:`Program`), reads
the values of its variables, and hands both to the interpreter that does the work, which
itself knows nothing of text.  Values may be numbers of any numeric type (int, float,
NumPy scalars, Fraction, Decimal) or constant expressions as text (``"pi/4"``, ``"inf"``).
A variable whose name clashes with a keyword (``wrt``) or is not a Python identifier
(``θ``) goes in the ``point`` mapping, the second positional argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from .errors import ValueInputError
from .expr import Program
from .language.inputs import resolve_point, resolve_wrt
from .language.parser import parse

if TYPE_CHECKING:
    from .engine.gradient import GradResult
    from .engine.hessian import HessianResult
    from .engine.symbolic import DiffResult
    from .views.graph import GraphView
    from .views.trace import Trace

Expression = Union[str, Program]
"""An expression's text, or a program already parsed."""
Point = Union[Mapping[str, Any], None]
"""Values for variables, by name (numbers, or constant expressions as text)."""


def program_of(expression: Expression) -> Program:
    """``expression`` parsed (a Program is taken as it is)."""
    if isinstance(expression, Program):
        return expression
    if not isinstance(expression, str):
        raise ValueInputError("an expression is text (or a parsed Program), not "
                              f"{type(expression).__name__}: {expression!r}")
    return parse(expression)


def _at(expression: Expression, point: Point, values: Mapping[str, Any]
        ) -> tuple[Program, dict[str, float]]:
    program = program_of(expression)
    given = [*(point or {}).items(), *values.items()]
    return program, resolve_point(program.variables, given)


def grad(expression: Expression, point: Point = None, /, *,
         wrt: str | Sequence[str] | None = None, **values: Any) -> GradResult:
    """The value and gradient of ``expression`` at the point given as keywords, by reverse mode.

    >>> r = grad("sin(x)+x*y", x=1, y=2)
    >>> r.value, r.gradient["x"], r.gradient["y"]
    (2.8414709848078967, 2.5403023058681398, 1.0)
    >>> grad("wrt^2 + θ", {"wrt": 3, "θ": "pi"}).gradient
    {'wrt': 6.0, 'θ': 1.0}
    """
    from .engine.gradient import gradient_at

    program, at = _at(expression, point, values)
    return gradient_at(program, at, resolve_wrt(program.variables, wrt))[0]


def forward_grad(expression: Expression, point: Point = None, /, *,
                 wrt: str | Sequence[str] | None = None, **values: Any) -> GradResult:
    """Like :func:`grad`, by forward mode (dual numbers, one sweep per variable).

    >>> r = forward_grad("sin(x)+x*y", x=1, y=2)
    >>> r.value, r.gradient["x"], r.gradient["y"]
    (2.8414709848078967, 2.5403023058681398, 1.0)
    """
    from .engine.forward import forward_gradient_at

    program, at = _at(expression, point, values)
    return forward_gradient_at(program, at, resolve_wrt(program.variables, wrt))


def hessian(expression: Expression, point: Point = None, /, *,
            wrt: str | Sequence[str] | None = None, **values: Any) -> HessianResult:
    """The Hessian of ``expression`` at the point given as keywords, and what kind of point it is.

    >>> r = hessian("x^2 - y^2", x=0, y=0)
    >>> r.matrix, r.classification
    (((2.0, 0.0), (0.0, -2.0)), 'saddle point')
    """
    from .engine.hessian import hessian_at

    program, at = _at(expression, point, values)
    return hessian_at(program, at, resolve_wrt(program.variables, wrt))


def diff(expression: Expression, wrt: str | Sequence[str] | None = None, order: int = 1) -> DiffResult:
    """Symbolic derivatives of ``expression``, printed in adcli's language.

    >>> diff("x^3 + sin(x)", "x").derivatives["x"]
    '3*x^2 + cos(x)'
    """
    from .engine.symbolic import differentiate

    program = program_of(expression)
    return differentiate(program, resolve_wrt(program.variables, wrt), order)


def trace(expression: Expression, point: Point = None, /, *,
          wrt: str | Sequence[str] | None = None, **values: Any) -> Trace:
    """The evaluation trace of ``expression`` at the point given as keywords.

    >>> t = trace("sin(x)+x*y", x=1, y=2)
    >>> [n.definition for n in t.nodes]
    ['x', 'y', 'sin(w1)', 'w1·w2', 'w3 + w4']
    >>> " + ".join("·".join(term.factors) for term in t.paths[0].terms)
    'cos(w1)·1 + w2·1'
    """
    from .views.trace import trace_at

    program, at = _at(expression, point, values)
    return trace_at(program, at, resolve_wrt(program.variables, wrt))[1]


def computation_graph(expression: Expression, point: Point = None, /, *,
                      wrt: str | Sequence[str] | None = None, **values: Any) -> GraphView:
    """The computation graph of ``expression`` at the point given as keywords.

    >>> g = computation_graph("sin(x)+x*y", x=1, y=2)
    >>> [(n.id, n.definition, n.gradient) for n in g.nodes][:3]
    [('w1', 'x', 2.5403023058681398), ('w3', 'sin(w1)', 1.0), ('w2', 'y', 1.0)]
    """
    from .views.graph import graph_at

    program, at = _at(expression, point, values)
    return graph_at(program, at, resolve_wrt(program.variables, wrt))


def clear_caches() -> None:
    """Forget every program adcli has compiled: the tapes, the compiled functions and the
    descent loops, which are each made once per program and kept for the last few.  For
    benchmarks that time a first compile, and for callers that compile many large programs."""
    from .engine.compile import _compile
    from .engine.tape import tape_of
    from .optimize.loop import compiled_loop

    _compile.cache_clear()
    tape_of.cache_clear()
    compiled_loop.cache_clear()
