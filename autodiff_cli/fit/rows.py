"""A fit's rows in memory: the columns the model reads, the target and the sigmas, checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import DataError, option
from .data import Table
from .model import FitModel


@dataclass(frozen=True, slots=True, eq=False)
class Rows:
    """Rows in memory: the columns the model reads, the target and the sigmas."""

    columns: dict[str, Any]
    target: Any
    sigma: Any
    precise: tuple[dict[str, Any], Any, Any] | None = None
    """The same in extended precision (small files), for the last steps of least squares."""

    @property
    def n(self) -> int:
        return len(self.target)

    def subset(self, index: Any) -> Rows:
        columns = {name: values[index] for name, values in self.columns.items()}
        sigma = None if self.sigma is None else self.sigma[index]
        precise = None
        if self.precise is not None:
            cols, target, sig = self.precise
            precise = (
                {name: v[index] for name, v in cols.items()},
                target[index],
                None if sig is None else sig[index],
            )
        return Rows(columns, self.target[index], sigma, precise)


def make_rows(model: FitModel, table: Table, data: str) -> Rows:
    """The target and sigmas of a table's rows, checked: finite, positive sigmas, 0/1 for bce."""
    import numpy as np

    target = np.asarray(model.target_values(table.columns), dtype=np.float64)
    check_target(model, target, data)
    sigma = None
    if model.sigma is not None:
        sigma = table.columns[model.sigma]
        bad = ~(sigma > 0)
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(
                f"{option('sigma')} column '{model.sigma}' of {data} has {int(bad.sum())} "
                f"values that are not positive (the first, {float(sigma[row])!r}, in data row "
                f"{row + 1}): a standard deviation is positive"
            )
    precise = None
    if table.precise is not None:
        target_ld = model.target_values(table.precise, dtype=np.longdouble)
        precise = (table.precise, target_ld, None if model.sigma is None else table.precise[model.sigma])
    return Rows(table.columns, target, sigma, precise)


def check_target(model: FitModel, target: Any, data: str, first_row: int = 0) -> None:
    import numpy as np

    bad = ~np.isfinite(target)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(
            f"the target {model.target} is not finite in {int(bad.sum())} rows of {data} "
            f"(the first: data row {first_row + row + 1}, {float(target[row])!r})"
        )
    if model.classification:
        bad = (target != 0.0) & (target != 1.0)
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(
                f"the bce loss needs targets 0 or 1; {model.target} in {data} has "
                f"{int(bad.sum())} other values (the first, {float(target[row])!r}, in data "
                f"row {first_row + row + 1})"
            )


def check_rows(model: FitModel, n: int, data: str, held: bool) -> None:
    p = len(model.params)
    if n < p:
        kept = " after the validation rows are held out" if held else ""
        raise DataError(
            f"{data} has {n} row{'s' if n != 1 else ''}{kept} for {p} parameters: a fit needs "
            "at least as many rows as parameters"
        )


def concat(a: Rows, b: Rows) -> Rows:
    import numpy as np

    columns = {name: np.concatenate([a.columns[name], b.columns[name]]) for name in a.columns}
    sigma = None if a.sigma is None else np.concatenate([a.sigma, b.sigma])
    return Rows(columns, np.concatenate([a.target, b.target]), sigma)
