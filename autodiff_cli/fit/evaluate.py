"""The model, its Jacobian and the loss over rows, compiled once and evaluated over NumPy
columns; the sums the statistics are made of, gathered block by block."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .model import FitModel
from .result import Sums
from .rows import Rows


class Evaluator:
    """The model, its Jacobian and the loss over rows, compiled once."""

    def __init__(self, model: FitModel) -> None:
        from ..engine.compile import compile_program

        self.model = model
        self.compiled_model = compile_program(model.program, model.params)
        self.compiled_loss = compile_program(model.loss_program, model.params)
        self.compiled_logit = compile_program(model.logit, model.params) if model.logit else None
        self._buffer: Any = None

    def predictions(self, rows: Rows, x: Sequence[float]) -> Any:
        """The model's value at every row (one per row, also for a model that reads no column)."""
        import numpy as np

        values = self.compiled_model.values_at(*self.model.arguments(self.model.program, rows.columns, x))
        return np.broadcast_to(values, (rows.n,))

    def residuals(self, rows: Rows, x: Sequence[float]) -> Any:
        r = self.predictions(rows, x) - rows.target
        return r if rows.sigma is None else r / rows.sigma

    def precise_residuals(self, rows: Rows, x: Sequence[float]) -> Any:
        """The residuals computed in extended precision (then rounded to float64)."""
        import numpy as np

        if rows.precise is None:
            return self.residuals(rows, x)
        columns, target, sigma = rows.precise
        values = self.compiled_model.values_at(
            *self.model.arguments(self.model.program, columns, x), dtype=np.longdouble
        )
        r = values - target
        return np.asarray(r if sigma is None else r / sigma, dtype=np.float64)

    def jacobian(self, rows: Rows, x: Sequence[float]) -> tuple[Any, Any]:
        """The residuals and their Jacobian (rows × parameters)."""
        augmented = self.augmented(rows, x)
        return augmented[:, -1], augmented[:, :-1]

    def augmented(self, rows: Rows, x: Sequence[float], extra: int = 0, reuse: bool = False) -> Any:
        """``[J r]``: the Jacobian (rows × parameters) and the residuals as its last column,
        in Fortran order (what the blocked QR wants), written straight from the tape's
        results; ``extra`` rows are left for the caller to fill below the data's.

        ``reuse``: write into the same array as the last call that reused (valid until the
        next such call): a fresh array of a million rows costs its page faults every time,
        which was a third of an iteration's time."""
        import numpy as np

        values, grads = self.compiled_model.at_points(
            *self.model.arguments(self.model.program, rows.columns, x), broadcast=False
        )
        n, p = rows.n, len(grads)
        shape = (n + extra, p + 1)
        if reuse and self._buffer is not None and self._buffer.shape == shape:
            out = self._buffer
        else:
            out = np.empty(shape, order="F")
            if reuse:
                self._buffer = out
        for j, g in enumerate(grads):
            out[:n, j] = g
        np.subtract(values, rows.target, out=out[:n, p])
        if rows.sigma is not None:
            out[:n] /= rows.sigma[:, None]
        return out

    def loss(self, rows: Rows, x: Sequence[float]) -> tuple[Any, tuple[Any, ...]]:
        """Every row's loss and its gradient (arrays)."""
        args = self.model.arguments(self.model.loss_program, rows.columns, x, rows.target, rows.sigma)
        return self.compiled_loss.at_points(*args)

    def loss_values(self, rows: Rows, x: Sequence[float]) -> Any:
        args = self.model.arguments(self.model.loss_program, rows.columns, x, rows.target, rows.sigma)
        return self.compiled_loss.values_at(*args)

    def mean_loss(self, rows: Rows, x: Sequence[float], l2: float = 0.0) -> float:
        import numpy as np

        if rows.n == 0:
            return math.nan
        return float(np.mean(self.loss_values(rows, x))) + l2 * float(np.dot(x, x))

    def gather(self, sums: Sums, rows: Rows, x: Sequence[float]) -> None:
        """Add a block of rows to the sums the statistics are made of."""
        import numpy as np

        model = self.model
        if rows.n == 0:
            return
        sums.rows += rows.n
        sums.loss += float(np.sum(self.loss_values(rows, x)))
        if model.least_squares:
            r, jac = self.jacobian(rows, x)
            sums.rss += float(r @ r)
            sums.moments.add(rows.target, None if rows.sigma is None else 1.0 / rows.sigma**2)
            sums.jacobian(jac)
        elif model.classification and self.compiled_logit is not None:
            assert model.logit is not None
            z, grads = self.compiled_logit.at_points(*model.arguments(model.logit, rows.columns, x))
            prob = 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))
            sums.jacobian(np.column_stack(grads) * np.sqrt(prob * (1.0 - prob))[:, None])
            predicted = z >= 0.0
            actual = rows.target == 1.0
            counts = sums.confusion or {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
            counts["tp"] += int(np.sum(predicted & actual))
            counts["fp"] += int(np.sum(predicted & ~actual))
            counts["tn"] += int(np.sum(~predicted & ~actual))
            counts["fn"] += int(np.sum(~predicted & actual))
            sums.confusion = counts


def accuracy(confusion: dict[str, int] | None) -> float | None:
    if not confusion:
        return None
    total = sum(confusion.values())
    return (confusion["tp"] + confusion["tn"]) / total if total else None
