"""Predictions of a fitted model on new data: the parameters from a fit's JSON, the inputs
from a data file's columns, streamed a block of rows at a time (memory: one block)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .. import expr as ast
from ..errors import DataError, did_you_mean, option
from .data import Source, stream_tables
from .model import FitError


def read_parameters(path: str | Path) -> dict[str, float]:
    """The parameters saved by a fit (``--save`` or ``--json``: its ``parameters``), or a plain
    JSON object of numbers."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path} is not JSON: {error}") from None
    values = data.get("parameters", data) if isinstance(data, dict) else None
    if not isinstance(values, dict) or not values:
        raise DataError(
            f'{path} holds no parameters: it needs an object of numbers, or a fit\'s JSON with "parameters"'
        )
    parameters: dict[str, float] = {}
    for name, value in values.items():
        if isinstance(value, str) and value in ("nan", "inf", "-inf"):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DataError(f"{path}: the parameter '{name}' is {value!r}, not a number")
        parameters[str(name)] = float(value)
    return parameters


def inputs_of(program: ast.Program, parameters: Mapping[str, float], source: Source) -> tuple[str, ...]:
    """The model's variables that the data must give: all but the parameters."""
    inputs = tuple(n for n in program.variables if n not in parameters)
    for name in inputs:
        if name not in source.columns:
            raise DataError(
                f"the model's variable '{name}' is neither a parameter nor a column of "
                f"{source.name}{did_you_mean(name, [*source.columns, *parameters])} "
                f"(its columns: {', '.join(source.columns)}; the parameters: "
                f"{', '.join(parameters)})"
            )
    clash = [n for n in parameters if n in program.variables and n in source.columns]
    if clash:
        raise DataError(
            f"the parameters file gives {', '.join(map(repr, clash))}, which "
            f"{'is a column' if len(clash) == 1 else 'are columns'} of {source.name} too: the model "
            f"would take the file's value at every row; rename the parameter or the column"
        )
    unused = [n for n in parameters if n not in program.variables]
    if unused:
        raise FitError(
            f"the parameters file names {', '.join(unused)}, which the model does not use: "
            "is it the same model?"
        )
    return inputs


def check_name(name: str, inputs: tuple[str, ...]) -> None:
    """The prediction column's name: not empty, and not an input column's (the CSV would
    have two columns of one name)."""
    if not name.strip():
        raise DataError(f"the prediction column needs a name ({option('name')})")
    if name in inputs:
        raise DataError(
            f"the prediction column's name '{name}' is an input column's too; choose another "
            f"with {option('name', 'COLUMN')}"
        )


def predictions(
    program: ast.Program, parameters: Mapping[str, float], source: Source, reader: str = "auto"
) -> Iterator[tuple[dict[str, Any], Any]]:
    """Each block of rows: the input columns, and the model's value at every row."""
    import numpy as np

    from ..engine.compile import compile_program

    inputs = inputs_of(program, parameters, source)
    compiled = compile_program(program, ())
    for table in stream_tables(source, inputs, reader=reader, droppable=False):
        n = table.rows
        args = [
            table.columns[name] if name in table.columns else parameters[name] for name in program.variables
        ]
        values = compiled.values_at(*args) if args else np.full(n, compiled.value())
        yield table.columns, np.broadcast_to(values, (n,))


def write_predictions(
    program: ast.Program,
    parameters: Mapping[str, float],
    source: Source,
    out: Any,
    name: str = "prediction",
    reader: str = "auto",
) -> int:
    """Write CSV to ``out``: the input columns and the prediction, one line per row; the rows."""
    import csv

    import numpy as np

    inputs = inputs_of(program, parameters, source)
    check_name(name, inputs)
    rows = 0
    for columns, values in predictions(program, parameters, source, reader):
        if rows == 0:  # the header once the first block has read well (not before an error)
            csv.writer(out, lineterminator="\n").writerow([*inputs, name])
        block = np.column_stack([*(columns[n] for n in inputs), values])
        out.write("\n".join(",".join(repr(float(v)) for v in row) for row in block.tolist()))
        out.write("\n")
        rows += len(values)
    return rows
