"""Second derivatives, compiled: the Hessian and Hessian-vector products, forward over reverse.

The gradient is already data: the tape's reverse equations (:mod:`autodiff_cli.engine.tape`).
Read back as AST nodes (:func:`gradient_graph`), they are a program like any other, whose
results are the value and the partial derivatives.  Forward mode over that graph gives
second derivatives: a tangent sweep seeded with a direction ``u`` on the variables carries
every node's derivative along ``u``, so the gradient's tangents are the product ``H·u``.
Each operation's tangent comes from :func:`autodiff_cli.ops.jvp`, that is from the same
registry rules as every other derivative, evaluated in the tape algebra; so no rule is
written twice and no finite difference is taken anywhere.

- :func:`compile_hvp`: ``hvp(*values, *u)`` gives the value, the gradient and ``H·u``, in
  one forward sweep over the gradient's graph: a small multiple of the gradient's cost,
  whatever the number of variables (Newton-CG on a thousand variables).
- :func:`compile_hessian`: ``hessian(*values)`` gives the value, the gradient and the whole
  matrix, by one tangent sweep per variable seeded with a unit vector.  A seed of 1 on one
  variable and structural zeros elsewhere fold away: each sweep writes only the equations
  that depend on its variable.

Both are printed by the emitters as straight-line Python in the fast flavour, falling back
to the safe one where the fast one raises, exactly as :mod:`autodiff_cli.engine.compile`
does.  ``H[i][j]`` is ``∂g_i/∂x_j``; the two orders of differentiation round differently,
so the matrix is symmetric to rounding, not bit for bit (as the Scalar graph's
reverse-over-reverse :func:`autodiff_cli.engine.hessian.hessian_at`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from .. import expr as ast
from ..ops import jvp
from .emit import FALLBACK, Emitter, Namespace, define, indent, tuple_text
from .tape import Call, Eq, Tape, Term, _Builder, _Value, needed, tape_of

Tangent = Union[_Value, float]
"""A tangent in the tape algebra; the number 0.0 is a structural zero (skipped by ``jvp``)."""


@dataclass(frozen=True, slots=True, eq=False)
class GradientGraph:
    """A program's value and gradient as AST nodes: the tape's equations read back."""

    value: ast.Expr
    gradient: tuple[ast.Expr, ...]
    """One node per name in ``wrt``."""
    variables: tuple[str, ...]
    wrt: tuple[str, ...]


def _to_expr(term: Term, node_of: Callable[[str], ast.Expr]) -> ast.Expr:
    """A tape term as AST nodes, names resolved by ``node_of`` (with an explicit stack:
    a term is one registry rule's size, but nothing here assumes it)."""
    if isinstance(term, str):
        return node_of(term)
    done: dict[int, ast.Expr] = {}
    stack: list[tuple[Call, bool]] = [(term, False)]
    while stack:
        call, ready = stack.pop()
        if ready:
            args = tuple(node_of(a) if isinstance(a, str) else done[id(a)] for a in call.args)
            done[id(call)] = ast.Apply(call.op, args)
            continue
        stack.append((call, True))
        stack.extend((a, False) for a in call.args if isinstance(a, Call))
    return done[id(term)]


def gradient_graph(program: ast.Program, wrt: Sequence[str]) -> GradientGraph:
    """The value and the gradient of ``program`` with respect to ``wrt`` as AST nodes, read
    from its tape: the very equations the compiled gradient computes, so differentiating
    them differentiates what adcli computes."""
    wrt = tuple(wrt)
    tape = tape_of(program, wrt)
    nodes: dict[str, ast.Expr] = {p: ast.Var(name) for p, name in zip(tape.params, program.variables)}

    def node_of(name: str) -> ast.Expr:
        if name not in nodes:  # a constant (every other name is assigned before it is read)
            nodes[name] = ast.Num(tape.constants[name])
        return nodes[name]

    # In order: an adjoint's name is assigned again as its sum grows, and every read sees the
    # value assigned last, as the straight-line code does.
    for eq in (*tape.forward, *tape.reverse):
        nodes[eq.target] = _to_expr(eq.value, node_of)
    return GradientGraph(node_of(tape.output), tuple(node_of(a) for a in tape.adjoints),
                         program.variables, wrt)


# ---------------------------------------------------------------- building the second tape


@dataclass(frozen=True, slots=True, eq=False)
class SecondTape:
    """Equations for the value, the gradient and tangents of the gradient."""

    params: tuple[str, ...]
    """The variables' names (``v0``...), then the direction's (``u0``...) for a product."""
    equations: tuple[Eq, ...]
    output: str
    gradient: tuple[str, ...]
    tangents: tuple[tuple[str, ...], ...]
    """One tuple per sweep: the gradient's tangents (``H·u``, or the Hessian's column j)."""
    constants: dict[str, float]

    def as_tape(self) -> Tape:
        """The emitters read a tape's constants; the equations go to them one by one."""
        return Tape(self.params, self.equations, (), self.output, self.gradient, self.constants)


class _Sweeps:
    """The gradient graph evaluated in the tape algebra, and tangent sweeps over it."""

    def __init__(self, graph: GradientGraph) -> None:
        self.builder = _Builder()
        self.graph = graph
        self.order = ast.postorder([graph.value, *graph.gradient])
        self.params = tuple(f"v{i}" for i in range(len(graph.variables)))
        param_of = dict(zip(graph.variables, self.params))
        self.equations: list[Eq] = []
        self.values: dict[int, _Value] = {}
        builder = self.builder
        for index, node in enumerate(self.order):
            if isinstance(node, ast.Var):
                value = _Value(builder, param_of[node.name])
            elif isinstance(node, (ast.Num, ast.Const)):
                value = builder.known(node.value)
            else:
                value = self._named(builder.apply(node.op, [self.values[id(a)] for a in node.args]),
                                    f"t{index}")
            self.values[id(node)] = value

    def _named(self, value: _Value, target: str) -> _Value:
        """A constant or a plain name stays as it is; an operation becomes an equation."""
        if value.value is not None or isinstance(value.term, str):
            return value
        self.equations.append(Eq(target, value.term))
        return _Value(self.builder, target)

    def name(self, node: ast.Expr) -> str:
        return self.values[id(node)].term  # type: ignore[return-value]  # always a name here

    def tangent_sweep(self, seed: Mapping[str, Tangent], prefix: str) -> tuple[str, ...]:
        """Tangents of every node along ``seed`` (a variable's tangent; the others are
        structural zeros), appended as equations; the names of the gradient's tangents."""
        m = self.builder.algebra
        tangent: dict[int, Tangent] = {}
        for index, node in enumerate(self.order):
            t: Tangent = 0.0
            if isinstance(node, ast.Var):
                t = seed.get(node.name, 0.0)
            elif isinstance(node, ast.Apply):
                args = [tangent[id(a)] for a in node.args]
                if any(not _structural_zero(a) for a in args):
                    values = [self.values[id(a)] for a in node.args]
                    made = jvp(node.op, m, values, args, self.values[id(node)])
                    if not isinstance(made, _Value):  # numbers all the way: a known constant
                        made = self.builder.known(float(made))
                    t = self._named(made, f"{prefix}{index}")
            tangent[id(node)] = t
        return tuple(self._term_name(tangent[id(g)]) for g in self.graph.gradient)

    def _term_name(self, t: Tangent) -> str:
        if isinstance(t, _Value):
            assert isinstance(t.term, str)  # a name: _named made every operation one
            return t.term
        return self.builder.constant(t)


def _structural_zero(t: Tangent) -> bool:
    return isinstance(t, float) and t == 0.0


def build_second(program: ast.Program, wrt: Sequence[str], product: bool) -> SecondTape:
    """The equations of the Hessian-vector product (``product``) or of the whole Hessian."""
    sweeps = _Sweeps(gradient_graph(program, wrt))
    builder = sweeps.builder
    wrt = tuple(wrt)
    tangents: tuple[tuple[str, ...], ...]
    if product:
        direction = tuple(f"u{i}" for i in range(len(wrt)))
        tangents = (sweeps.tangent_sweep({n: _Value(builder, u) for n, u in zip(wrt, direction)}, "d"),)
        params = (*sweeps.params, *direction)
    else:
        tangents = tuple(sweeps.tangent_sweep({name: 1.0}, f"d{j}_") for j, name in enumerate(wrt))
        params = sweeps.params
    output = sweeps.name(sweeps.graph.value)
    gradient = tuple(sweeps.name(g) for g in sweeps.graph.gradient)
    uses = [output, *gradient, *(name for column in tangents for name in column)]
    return SecondTape(params, tuple(needed(sweeps.equations, uses)), output, gradient, tangents,
                      builder.constants)


# ---------------------------------------------------------------- compiling


def _functions(second: SecondTape, returns: str) -> Callable[..., Any]:
    """``second``'s equations as one function returning ``returns``: the fast flavour, and
    the safe one written and used the first time the fast one raises."""
    tape = second.as_tape()
    args = ", ".join(second.params)
    fast = Emitter("fast", tape, Namespace())
    source = (f"def second({args}):\n    try:\n"
              + indent(fast.lines(second.equations), 2)
              + f"    except {FALLBACK}:\n        return _safe({args})\n"
              f"    return {returns}\n")
    namespace = define(source, fast.ns.values)

    def first_safe(*values: float) -> Any:
        safe = Emitter("safe", tape, Namespace())
        safe_source = (f"def _safe({args}):\n" + indent(safe.lines(second.equations), 1)
                       + f"    return {returns}\n")
        namespace["_safe"] = define(safe_source, safe.ns.values)["_safe"]
        return namespace["_safe"](*values)

    namespace["_safe"] = first_safe
    function: Callable[..., Any] = namespace["second"]
    return function


def _on_arrays(second: SecondTape, returns: str, lazy: dict[str, Callable[..., Any]],
               values: Sequence[Any]) -> Any:
    """``second``'s equations in the NumPy flavour (written on first use and kept in ``lazy``),
    called on ``values``: NumPy arrays (columns of data) or numbers."""
    import numpy as np

    if "numpy" not in lazy:
        emitter = Emitter("numpy", second.as_tape(), Namespace())
        keep = [second.output, *second.gradient, *(name for column in second.tangents for name in column)]
        source = (f"def second({', '.join(second.params)}):\n"
                  + indent(emitter.lines(second.equations, keep=keep), 1) + f"    return {returns}\n")
        lazy["numpy"] = define(source, emitter.ns.values)["second"]
    with np.errstate(all="ignore"):
        return lazy["numpy"](*values)


@dataclass(frozen=True, slots=True, eq=False)
class HessianFunction:
    """``hessian(*values)``: (value, gradient, matrix) with ``matrix[i][j] = ∂²f/∂x_i∂x_j``
    over ``wrt``; the values are every variable's, in ``variables`` order."""

    variables: tuple[str, ...]
    wrt: tuple[str, ...]
    hessian: Callable[..., tuple[float, tuple[float, ...], tuple[tuple[float, ...], ...]]]
    tape: SecondTape
    returns: str
    _lazy: dict[str, Callable[..., Any]] = field(default_factory=dict, repr=False)

    def at_points(self, *values: Any) -> tuple[Any, tuple[Any, ...], tuple[tuple[Any, ...], ...]]:
        """:attr:`hessian` at many points at once: each value a NumPy array (a column of data)
        or a number; each part of the result an array, or a number where it does not vary."""
        result: tuple[Any, tuple[Any, ...], tuple[tuple[Any, ...], ...]] = _on_arrays(
            self.tape, self.returns, self._lazy, values)
        return result


@dataclass(frozen=True, slots=True, eq=False)
class ProductFunction:
    """``hvp(*values, *u)``: (value, gradient, H·u) over ``wrt``; the values are every
    variable's in ``variables`` order, then one direction component per name in ``wrt``."""

    variables: tuple[str, ...]
    wrt: tuple[str, ...]
    hvp: Callable[..., tuple[float, tuple[float, ...], tuple[float, ...]]]
    tape: SecondTape
    returns: str
    _lazy: dict[str, Callable[..., Any]] = field(default_factory=dict, repr=False)

    def at_points(self, *values: Any) -> tuple[Any, tuple[Any, ...], tuple[Any, ...]]:
        """:attr:`hvp` at many points at once, as :meth:`HessianFunction.at_points`."""
        result: tuple[Any, tuple[Any, ...], tuple[Any, ...]] = _on_arrays(
            self.tape, self.returns, self._lazy, values)
        return result


@functools.lru_cache(maxsize=8)
def _hessian(program: ast.Program, wrt: tuple[str, ...]) -> HessianFunction:
    second = build_second(program, wrt, product=False)
    # the sweeps give columns (the tangents along x_j); row i of the matrix reads them across
    rows = [tuple_text([column[i] for column in second.tangents]) for i in range(len(wrt))]
    returns = f"{second.output}, {tuple_text(second.gradient)}, {tuple_text(rows)}"
    return HessianFunction(program.variables, wrt, _functions(second, returns), second, returns)


@functools.lru_cache(maxsize=8)
def _product(program: ast.Program, wrt: tuple[str, ...]) -> ProductFunction:
    second = build_second(program, wrt, product=True)
    returns = f"{second.output}, {tuple_text(second.gradient)}, {tuple_text(second.tangents[0])}"
    return ProductFunction(program.variables, wrt, _functions(second, returns), second, returns)


def compile_hessian(program: ast.Program, wrt: Sequence[str] | None = None) -> HessianFunction:
    """The value, gradient and Hessian of ``program`` as one compiled function (cached per
    program, by identity, and ``wrt``; default: every variable)."""
    return _hessian(program, tuple(program.variables if wrt is None else wrt))


def compile_hvp(program: ast.Program, wrt: Sequence[str] | None = None) -> ProductFunction:
    """The value, gradient and a Hessian-vector product of ``program`` as one compiled
    function (cached per program, by identity, and ``wrt``; default: every variable)."""
    return _product(program, tuple(program.variables if wrt is None else wrt))


__all__ = ["GradientGraph", "HessianFunction", "ProductFunction", "SecondTape", "build_second",
           "compile_hessian", "compile_hvp", "gradient_graph"]
