"""Writing a descent's trajectory as it goes: CSV or JSON Lines, by the file's extension."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

from ..errors import AdcliError

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _plain(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


class TrajectoryWriter:
    """Appends (step, loss, grad_norm, variables...) rows and flushes after each batch,
    so an interrupted run keeps every step it computed."""

    def __init__(self, path: str, variables: Sequence[str]) -> None:
        suffix = Path(path).suffix.lower()
        if suffix not in FORMATS:
            raise AdcliError(f"--output {path}: use a .csv or .jsonl file")
        self.format = FORMATS[suffix]
        self.columns = ["step", "loss", "grad_norm", *variables]
        try:
            self._file: IO[str] = open(path, "w", encoding="utf-8", newline="")
        except OSError as error:
            raise AdcliError(f"cannot write {path}: {error.strerror}") from None
        self._csv = csv.writer(self._file) if self.format == "csv" else None
        if self._csv is not None:
            self._csv.writerow(self.columns)

    def write(self, rows: Iterable[Sequence[float]]) -> None:
        for row in rows:
            values = [int(row[0]), *(_plain(float(v)) for v in row[1:])]
            if self._csv is not None:
                self._csv.writerow([repr(v) if isinstance(v, float) else v for v in values])
            else:
                self._file.write(json.dumps(dict(zip(self.columns, values))) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
