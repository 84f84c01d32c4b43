"""One JSON encoder for every result: strict JSON, full float64 precision, non-finite
numbers as the strings "nan", "inf" and "-inf" (which adcli reads back)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import command_line_spelling

if TYPE_CHECKING:
    from ..check.report import CheckReport, VariableCheck
    from ..engine.gradient import GradResult
    from ..engine.hessian import HessianResult
    from ..engine.symbolic import DiffResult
    from ..fit.result import FitResult
    from ..optimize.descent import DescentResult
    from ..optimize.minimize import MinimizeResult
    from ..views.graph import GraphView
    from ..views.trace import Trace


def jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as the strings "nan", "inf", "-inf"."""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """Strict JSON (no NaN or Infinity literals); floats keep full precision."""
    import json

    return json.dumps(jsonable(value), ensure_ascii=False, allow_nan=False)


def grad_json(result: GradResult, trace: Trace | None = None) -> str:
    """The grad JSON object; with a trace, the trace under ``"trace"``."""
    data: dict[str, Any] = {
        "expression": result.expression,
        "point": result.point,
        "value": result.value,
        "gradient": result.gradient,
    }
    if trace is not None:
        data["trace"] = trace_dict(trace)
    return to_json(data)


def _variable_json(check: VariableCheck) -> dict[str, Any]:
    fields = {"autodiff": check.autodiff, "numeric": check.numeric, "abs_error": check.abs_error,
              "rel_error": check.rel_error, "step": check.step,
              "error_estimate": check.error_estimate, "ok": check.ok, "kink": check.kink,
              "note": check.note}
    if check.forward is not None:
        fields["forward"] = check.forward
    return fields


def check_json(report: CheckReport) -> str:
    """The whole report: the verdict and largest errors first, then every point, worst first."""
    return "".join(check_json_parts(report))


def check_json_parts(report: CheckReport) -> Iterator[str]:
    """:func:`check_json` in pieces, a point at a time: a report of many points is written
    without its whole text (or a copy of it as plain data) in memory."""
    settings = report.settings
    head: dict[str, Any] = {
        "ok": report.ok,
        "max_abs_error": report.max_abs_error,
        "max_rel_error": report.max_rel_error,
        "failures": report.failures,
        "expression": report.expression,
        "method": settings.method,
        "mode": settings.mode,
        "eps": settings.eps,
        "rtol": settings.rtol,
        "atol": settings.atol,
        "wrt": list(report.wrt),
    }
    if settings.points is not None:
        head.update(seed=settings.seed, range=list(settings.sample_range), drawn=list(report.drawn))
    yield to_json(head)[:-1] + ', "points": ['
    for i, point in enumerate(report.points):
        yield (", " if i else "") + to_json({
            "index": point.index,
            "point": point.point,
            "value": point.value,
            "ok": point.ok,
            "max_abs_error": point.max_abs_error,
            "max_rel_error": point.max_rel_error,
            "note": point.note,
            "variables": {v.name: _variable_json(v) for v in point.variables},
        })
    yield "]}"


def descent_json(result: DescentResult) -> str:
    return to_json({
        "expression": result.expression,
        "optimizer": result.optimizer,
        "settings": result.settings,
        "start": result.start,
        "point": result.point,
        "value": result.value,
        "grad_norm": result.grad_norm,
        "steps": result.steps,
        "stop_reason": result.stop_reason,
        "message": result.describe(command_line_spelling),
        "elapsed": result.elapsed,
        "losses": list(result.losses),
    })


def minimize_json(result: MinimizeResult) -> str:
    """The summary of a minimization; bounds as [low, high] pairs (infinite ends "inf")."""
    counts = result.evaluations
    return to_json({
        "expression": result.expression,
        "method": result.method,
        "settings": result.settings,
        "maximize": result.maximize,
        "start": result.start,
        "point": result.point,
        "value": result.value,
        "gradient": result.gradient,
        "grad_norm": result.grad_norm,
        "iterations": result.iterations,
        "evaluations": {"function": counts.function, "gradient": counts.gradient,
                        "hessian": counts.hessian, "hessian_vector": counts.hessian_vector},
        "stop_reason": result.stop_reason,
        "message": result.describe(command_line_spelling),
        "ok": result.ok,
        "classification": result.classification,
        "definiteness": result.definiteness,
        "eigenvalues": None if result.eigenvalues is None else list(result.eigenvalues),
        "eigenvalues_over": list(result.eigenvalues_over),
        "bounds": {name: list(interval) for name, interval in result.bounds.items()},
        "active_bounds": result.active_bounds,
        "notes": list(result.notes),
        "elapsed": result.elapsed,
    })


def diff_json(result: DiffResult) -> str:
    return to_json({
        "expression": result.expression,
        "order": result.order,
        "derivatives": result.derivatives,
    })


def hessian_json(result: HessianResult) -> str:
    return to_json({
        "expression": result.expression,
        "point": result.point,
        "value": result.value,
        "gradient": result.gradient,
        "variables": list(result.variables),
        "hessian": [list(row) for row in result.matrix],
        "eigenvalues": None if result.eigenvalues is None else list(result.eigenvalues),
        "definiteness": result.definiteness,
        "critical": result.critical,
        "classification": result.classification,
    })


def graph_dict(view: GraphView) -> dict[str, Any]:
    """The whole graph as plain data (never cut); non-finite numbers are left to the JSON writer."""
    return {
        "expression": view.expression,
        "point": view.point,
        "value": view.value,
        "gradient": view.gradient,
        "output": view.output,
        "nodes": [{
            "id": n.id, "kind": n.kind, "op": n.op, "definition": n.definition, "name": n.name,
            "value": n.value, "gradient": n.gradient, "arguments": list(n.arguments),
        } for n in view.nodes],
        "edges": [{
            "from": e.source, "to": e.target, "argument": e.position,
            "local_partial": e.local_partial, "local_partial_form": e.local_form,
        } for e in view.edges],
    }


def trace_dict(trace: Trace) -> dict[str, Any]:
    """The trace as plain data for JSON (non-finite numbers are left to the JSON writer)."""
    from ..views.trace import PATH_COUNT_CAP

    nodes = []
    for node in trace.nodes:
        nodes.append({
            "node": node.label,
            "op": node.op,
            "definition": node.definition,
            "name": node.name,
            "value": node.value,
            "partials": [
                {"operand": operand, "form": form, "value": value}
                for operand, form, value in zip(node.operands, node.partial_forms, node.partials)
            ],
            "adjoint": node.adjoint,
        })
    paths = {}
    for entry in trace.paths:
        paths[entry.variable] = {
            "node": f"w{entry.node}",
            "gradient": entry.gradient,
            "path_count": entry.path_count,
            "path_count_is_lower_bound": entry.path_count >= PATH_COUNT_CAP,  # (counting stops there)
            "grouped_by_first_edge": entry.grouped,
            "terms": [{"nodes": [f"w{i}" for i in term.nodes], "factors": list(term.factors),
                       "value": term.value} for term in entry.terms],
            "sum": entry.total,
        }
    return {"nodes": nodes, "output": trace.output, "paths": paths}


def fit_dict(result: FitResult) -> dict[str, Any]:
    """A fit's result as a JSON object: everything the report shows, with every digit."""
    names = list(result.parameters)
    correlation = None
    if result.correlation is not None:
        correlation = {a: dict(zip(names, row)) for a, row in zip(names, result.correlation)}
    data: dict[str, Any] = {
        "expression": result.expression, "data": result.data, "target": result.target, "loss": result.loss,
        "method": result.method, "settings": result.settings, "parameters": result.parameters,
        "standard_errors": result.standard_errors, "relative_errors": result.relative_errors,
        "correlation": correlation, "rows": result.rows, "validation_rows": result.validation_rows,
        "dropped": result.dropped, "loss_value": result.loss_value,
        "residual_sum_of_squares": result.residual_sum_of_squares,
        "residual_standard_deviation": result.residual_standard_deviation,
        "degrees_of_freedom": result.degrees_of_freedom, "r_squared": result.r_squared,
        "validation_loss": result.validation_loss, "iterations": result.iterations, "steps": result.steps,
        "stop_reason": result.stop_reason, "message": result.describe(command_line_spelling),
        "start": result.start,
        "bounds": {k: list(v) for k, v in result.bounds.items()}, "warnings": list(result.warnings),
        "elapsed": result.elapsed,
    }
    if result.accuracy is not None or result.confusion is not None:
        data["accuracy"] = result.accuracy
        data["validation_accuracy"] = result.validation_accuracy
        data["confusion"] = result.confusion
    return data


def fit_json(result: FitResult) -> str:
    return to_json(fit_dict(result))
