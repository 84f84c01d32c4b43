"""A fit's model: which variables are data and which are parameters, the target, and the loss.

Variables named like a column of the data take that column's values; every other variable
is a parameter.  The loss is a program too, one value per row, made by putting the model
in place of ``pred`` in the loss's text (``(pred - y)^2`` for mse), so that one reverse
sweep of its compiled tape over the data's columns gives every row's loss and its gradient
with respect to every parameter.  ``bce`` is computed from the logit, the argument of the
model's final ``sigmoid``, as ``softplus(z) - t·z``, which neither overflows nor takes the
log of 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import expr as ast
from ..errors import AdcliError, DataError, VariableError, did_you_mean, option, variable
from ..language.inputs import value_of
from ..language.parser import parse, substitute

LOSSES = ("mse", "mae", "huber", "bce")
"""The losses by name; any other text is a loss expression in ``pred`` and the target."""

TARGET = "⟨target⟩"
SIGMA = "⟨sigma⟩"
"""The names the loss program gives the target and the per-row standard deviation: no
identifier the user can type, so they never clash with the model's variables."""

_TEMPLATES = {
    "mse": "(pred - target)^2",
    "mae": "abs(pred - target)",
    "huber": "m = min(abs(pred - target), delta); 0.5*m^2 + delta*(abs(pred - target) - m)",
    "bce": "softplus(pred) - target*pred",
}
"""Each loss per row; with a sigma column, the residual ``pred - target`` is divided by it
(mse, mae, huber).  ``bce``'s ``pred`` is the logit."""


class FitError(AdcliError):
    """A fit that cannot be set up as asked: the model, its parameters, the loss."""


@dataclass(frozen=True, slots=True, eq=False)
class FitModel:
    """The model and what each of its variables is; the target; the loss per row."""

    program: ast.Program
    inputs: tuple[str, ...]
    """The model's variables that are columns of the data, in the model's order."""
    params: tuple[str, ...]
    """The model's other variables, in the model's order."""
    target: str
    """The target as given: a column's name, or an expression of columns (``log(y)``)."""
    target_program: ast.Program | None
    """The target's expression when it is not a plain column."""
    sigma: str | None
    loss: str
    """mse, mae, huber, bce, or the loss expression's text."""
    loss_program: ast.Program
    """One row's loss: its variables are the model's, the target (``TARGET``) and ``SIGMA``."""
    logit: ast.Program | None
    """bce: the model without its final sigmoid."""
    smooth: bool = True
    """The loss has no kink where it depends on the parameters (see :func:`_smooth`)."""

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the fit reads."""
        names = list(self.inputs)
        target_columns = self.target_program.variables if self.target_program else (self.target,)
        for name in (*target_columns, *((self.sigma,) if self.sigma else ())):
            if name not in names:
                names.append(name)
        return tuple(names)

    @property
    def least_squares(self) -> bool:
        return self.loss == "mse"

    @property
    def classification(self) -> bool:
        return self.loss == "bce"

    # -- evaluating over columns
    def target_values(self, columns: Mapping[str, Any], dtype: Any = None) -> Any:
        """The target of every row: a column, or its expression evaluated over the columns."""
        if self.target_program is None:
            return columns[self.target]
        from ..engine.compile import compile_program

        compiled = compile_program(self.target_program, ())
        return compiled.values_at(*(columns[n] for n in self.target_program.variables), dtype=dtype)

    def arguments(
        self,
        program: ast.Program,
        columns: Mapping[str, Any],
        params: Sequence[float],
        target: Any = None,
        sigma: Any = None,
    ) -> list[Any]:
        """The arguments of ``program`` (the model, the logit or the loss) in its variable order."""
        values: dict[str, Any] = dict(zip(self.params, params))
        values[TARGET] = target
        values[SIGMA] = sigma
        return [values[name] if name in values else columns[name] for name in program.variables]


def _listing(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"


def build_model(
    program: ast.Program,
    columns: Sequence[str],
    *,
    data: str = "the data",
    target: str | None = None,
    sigma: str | None = None,
    loss: str = "mse",
    delta: float = 1.0,
) -> FitModel:
    """Decide what each of the model's variables is, and build the loss; FitError or DataError
    when the model, the target, the sigma column or the loss cannot be used."""
    known = set(columns)
    target_text = "y" if target is None else target.strip()
    target_program: ast.Program | None = None
    if target is None and "y" not in known:
        raise DataError(
            f"{data} has no column 'y', the default target: name the column to fit with "
            f"{option('target', 'COLUMN')} (its columns: {_listing(list(columns))})"
        )
    if target_text not in known:
        try:
            target_program = parse(target_text)
        except AdcliError:
            target_program = None
        if (
            target_program is None
            or target_program.variables == (target_text,)
            or not target_program.variables
        ):
            raise DataError(
                f"{data} has no column '{target_text}'{did_you_mean(target_text, columns)} "
                f"for the target (its columns: {_listing(list(columns))})"
            )
        for name in target_program.variables:
            if name not in known:
                raise DataError(
                    f"the target {target_text} uses '{name}', which is no column of {data}"
                    f"{did_you_mean(name, columns)} (its columns: {_listing(list(columns))})"
                )
    if sigma is not None and sigma not in known:
        raise DataError(
            f"{data} has no column '{sigma}'{did_you_mean(sigma, columns)} for "
            f"{option('sigma')} (its columns: {_listing(list(columns))})"
        )
    target_columns = target_program.variables if target_program else (target_text,)
    for name in program.variables:
        if name in target_columns:
            raise FitError(
                f"the model uses '{name}', the target's column: a model predicts the target "
                "from the other columns"
            )
    inputs = tuple(n for n in program.variables if n in known)
    params = tuple(n for n in program.variables if n not in known)
    if not params:
        raise FitError(
            f"the model names no parameter: every variable ({_listing(program.variables)}) is a "
            f"column of {data}; a parameter is a variable that is no column"
        )
    _check_dependence(program, params)
    loss_program, logit, loss_name = _loss(
        program, loss, target_text, target_program is not None, sigma is not None, delta
    )
    return FitModel(
        program, inputs, params, target_text, target_program, sigma, loss_name, loss_program, logit,
        _smooth(program, loss_program, loss_name, params),
    )


def _smooth(program: ast.Program, loss_program: ast.Program, loss: str, params: Sequence[str]) -> bool:
    """Whether the loss is differentiable in the parameters wherever it is finite, as far as its
    operations tell: no operation with a kink (abs, max, min, relu, sign, ...) that depends on
    a parameter.  mae is |r|, kinked at every row's zero; huber's min and abs meet in a curve
    with a continuous slope, so of the built-in losses only the model's own operations count."""
    if loss == "mae":
        return False
    checked = program if loss in LOSSES else loss_program
    order = ast.postorder(checked.result)
    dependent = ast.depends_on(order, params)
    return not any(isinstance(node, ast.Apply) and node.op.kink is not None and id(node) in dependent
                   for node in order)


def _check_dependence(program: ast.Program, params: tuple[str, ...]) -> None:
    """A parameter the model's value does not depend on (its derivative is the constant 0)
    cannot be fitted: its standard error would be infinite."""
    from ..engine.tape import tape_of

    tape = tape_of(program, params)
    for name, adjoint in zip(params, tape.adjoints):
        if adjoint in tape.constants and tape.constants[adjoint] == 0.0:
            raise FitError(
                f"the model's value does not depend on the parameter '{name}' (its derivative is "
                "0 everywhere), so the data cannot determine it and its standard error would be "
                "infinite; remove it from the model, or fix its value in the expression"
            )


def _unify(root: ast.Expr, model_vars: Mapping[str, ast.Var], rename: Mapping[str, str]) -> ast.Expr:
    """``root`` with each variable renamed by ``rename`` and every name the model has taken as
    the model's own Var node (a program has one node per variable name)."""
    replacements: dict[int, ast.Expr] = {}
    made: dict[str, ast.Var] = {}
    for node in ast.postorder(root):
        if isinstance(node, ast.Var):
            name = rename.get(node.name, node.name)
            if name in model_vars:
                replacements[id(node)] = model_vars[name]
            else:
                replacements[id(node)] = made.setdefault(name, ast.Var(name))
    return substitute(root, replacements)


def _loss(
    model: ast.Program, loss: str, target: str, target_is_expression: bool, weighted: bool, delta: float
) -> tuple[ast.Program, ast.Program | None, str]:
    """The loss per row as a program over the model's variables, TARGET and SIGMA; bce's logit."""
    model_vars = {n.name: n for n in ast.postorder(model.result) if isinstance(n, ast.Var)}
    logit: ast.Program | None = None
    prediction = model.result
    if loss in LOSSES:
        name = loss
        text = _TEMPLATES[loss]
        if loss == "bce":
            if not (isinstance(model.result, ast.Apply) and model.result.op.name == "sigmoid"):
                raise FitError(
                    "the bce loss needs a model that ends in sigmoid(...): the loss is computed "
                    "from the logit, the sigmoid's argument, so that it never takes the log of 0"
                )
            if weighted:
                raise FitError(f"{option('sigma')} weighs residuals; the bce loss has none")
            prediction = model.result.args[0]
            logit = ast.Program(
                model.source,
                prediction,
                tuple(
                    n
                    for n in model.variables
                    if n in {v.name for v in ast.postorder(prediction) if isinstance(v, ast.Var)}
                ),
            )
        elif weighted:
            text = text.replace("pred - target", "(pred - target)/sigma")
        text = text.replace("delta", repr(float(delta)))
        template = parse(text)
        rename = {"target": TARGET, "sigma": SIGMA}
    else:
        name = loss.strip()
        if target_is_expression:
            raise FitError(
                "a loss expression names the target by its column; the target here is an "
                f"expression ({target})"
            )
        if "pred" in model_vars:
            raise FitError(
                "the model has a variable named 'pred', which a loss expression uses for the "
                "model's prediction; rename it"
            )
        try:
            template = parse(name)
        except AdcliError as error:
            raise FitError(
                f"the loss is none of {', '.join(LOSSES)}, and not an expression: "
                f"{getattr(error, 'reason', error)}"
            ) from None
        extra = [v for v in template.variables if v not in ("pred", target)]
        if extra:
            raise FitError(
                f"a loss expression may use pred (the model's prediction) and {target} (the "
                f"target), not {', '.join(extra)}"
            )
        if "pred" not in template.variables:
            raise FitError("the loss expression does not use pred, the model's prediction")
        if weighted:
            raise FitError(
                f"{option('sigma')} weighs the built-in losses; a loss expression can divide by "
                "a column itself"
            )
        rename = {target: TARGET}
    body = _unify(template.result, model_vars, rename)
    pred_nodes = [n for n in ast.postorder(body) if isinstance(n, ast.Var) and n.name == "pred"]
    result = substitute(body, {id(n): prediction for n in pred_nodes})
    order = [n for n in model.variables]
    for node in ast.postorder(result):
        if isinstance(node, ast.Var) and node.name not in order:
            order.append(node.name)
    used = {n.name for n in ast.postorder(result) if isinstance(n, ast.Var)}
    return ast.Program(f"loss {name}", result, tuple(n for n in order if n in used)), logit, name


def resolve_start(
    model: FitModel,
    assignments: Sequence[tuple[str, str | float]],
    init: float | None,
    data: str = "the data",
) -> dict[str, float]:
    """The parameters' start values: each given as NAME VALUE, or ``init`` for the rest."""
    given: dict[str, float] = {}
    for name, raw in assignments:
        if name in given:
            raise VariableError(f"'{name}' is given a value twice")
        if name in model.inputs:
            raise VariableError(
                f"'{name}' is a column of {data}: its values come from the file; only "
                f"parameters take a start value ({_listing(model.params)})"
            )
        if name not in model.params:
            raise VariableError(
                f"the model has no parameter '{name}'{did_you_mean(name, model.params)} "
                f"(its parameters: {_listing(model.params)})"
            )
        given[name] = value_of(raw, variable(name))
    start: dict[str, float] = {}
    for name in model.params:
        if name in given:
            start[name] = given[name]
        elif init is not None:
            start[name] = init
        else:
            raise VariableError(
                f"no start value for the parameter '{name}': give it as {variable(name, 'VALUE')}, "
                f"or give every parameter without one a start with {option('init', 'VALUE')}"
            )
    return start
