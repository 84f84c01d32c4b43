"""A run's trajectory written as it goes: CSV or JSON Lines, by the file's extension."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from ..errors import OutputFileError
from ..render.json import jsonable
from .run import Record, Sink

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def check_trajectory_path(path: str | Path) -> str:
    """The format (``csv`` or ``jsonl``) that ``path`` names, or OutputFileError."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise OutputFileError(f"{path}: a trajectory is written as .csv or .jsonl, not "
                              f"{suffix or 'a file without a suffix'}")
    return FORMATS[suffix]


RUN_COLUMNS = ("step", "loss", "grad_norm")


def trajectory_columns(variables: Sequence[str]) -> list[str]:
    """The file's columns: the run's, then one per variable, named after it; a variable named
    like a run column (``step``) gets a ``_`` at the end (``step_``), more while that is taken."""
    taken = {*RUN_COLUMNS, *variables}
    columns = list(RUN_COLUMNS)
    for name in variables:
        column = name
        if name in RUN_COLUMNS:
            column = name + "_"
            while column in taken:
                column += "_"
            taken.add(column)
        columns.append(column)
    return columns


class TrajectoryFile(Sink):
    """Appends (step, loss, grad_norm, variables...) rows and flushes after each batch, so an
    interrupted run keeps every step it computed.  The file is opened (and so checked) when
    this is made, before the run starts."""

    def __init__(self, path: str | Path, variables: Sequence[str]) -> None:
        self.path = Path(path)
        self.format = check_trajectory_path(path)
        self.columns = trajectory_columns(variables)
        try:
            self._file: IO[str] = open(self.path, "w", encoding="utf-8", newline="")
        except OSError as error:
            raise OutputFileError(f"cannot write {path}: {error.strerror or error}") from None
        self._csv = csv.writer(self._file) if self.format == "csv" else None
        self._guarded(lambda: self._csv.writerow(self.columns) if self._csv is not None else None)

    def _guarded(self, action: object) -> None:
        try:
            action()  # type: ignore[operator]
            self._file.flush()
        except OSError as error:  # a full disk
            raise OutputFileError(f"cannot write {self.path}: {error.strerror or error}") from None

    def records(self, records: Sequence[Record]) -> None:
        self._guarded(lambda: self._write(records))

    def _write(self, records: Sequence[Record]) -> None:
        for row in records:
            values = [int(row[0]), *(jsonable(float(v)) for v in row[1:])]
            if self._csv is not None:
                self._csv.writerow([repr(v) if isinstance(v, float) else v for v in values])
            else:
                self._file.write(json.dumps(dict(zip(self.columns, values))) + "\n")

    def close(self) -> None:
        try:
            self._file.close()
        except OSError:
            pass  # already reported by the write that failed
