"""Reading data: a CSV or TSV file with a header line, whole or in chunks, with located errors.

Each column the fit needs becomes a float64 NumPy array; the columns it does not need are
not converted.  Two parsers give the same arrays:

- ``pyarrow`` (the optional ``data`` extra): multi-threaded C++, about 0.1 s for 1,000,000
  rows of two columns on the 2-core machine the benchmarks run on;
- ``numpy``: :func:`numpy.loadtxt`, about 0.46 s for the same file (measured with
  benchmarks/bench_fit.py; Python's csv module takes 1.5-2.3 s).

A file is read in blocks of whole lines (one block when it is read whole); a block that
either parser refuses is read again line by line in Python, which finds the line and the
column at fault.  Missing values (an empty cell, or nan) are an error that says how many
there are and where, unless they are dropped (``drop_missing``), and then the result says
how many rows went.  Nothing is dropped silently.

Bounds: a file read whole (every method but mini-batches) is at most :data:`MAX_BYTES`,
checked before reading; a streamed file has no size limit (its memory is one block), but a
line is at most :data:`BLOCK_BYTES` long.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError, did_you_mean, option

MAX_BYTES = 1 << 30
"""The largest file read whole into memory: 1 GiB (about 30 million rows of two columns)."""
BLOCK_BYTES = 8 << 20
"""Rows are parsed in blocks of about this many bytes (8 MiB: some 250,000 rows of two
columns); a streamed file holds one block in memory at a time.  Also the longest line."""
SHOWN = 5
"""How many line numbers a message about missing values lists."""
PRECISE_ROWS = 100_000
"""Files of at most this many rows are also read in extended precision (numpy.longdouble,
a 64-bit significand on x86), for the residuals at the end of a least-squares fit: a fit
whose residuals are at the level of float64 rounding (NIST's Lanczos1: 1e-13 on values near
1) needs the data's decimal digits beyond float64 to get its statistics right."""
READERS = ("auto", "pyarrow", "numpy")
"""``auto`` is pyarrow when it is installed, else numpy."""


@dataclass(frozen=True, slots=True)
class Source:
    """A data file: where it is, how its cells are separated, and its columns."""

    path: Path
    delimiter: str
    columns: tuple[str, ...]
    size: int
    """In bytes."""
    start: int
    """The offset of the first row (after the header line)."""

    @property
    def name(self) -> str:
        return str(self.path)

    def check_columns(self, names: Sequence[str], what: str = "column") -> None:
        """Every name must be a column of the file, or a DataError says which is not."""
        for name in names:
            if name not in self.columns:
                raise DataError(
                    f"{self.name} has no {what} '{name}'{did_you_mean(name, self.columns)} "
                    f"(its columns: {_listing(self.columns)})"
                )


@dataclass(frozen=True, slots=True)
class Table:
    """Columns read from a file: one float64 array per name, all of one length."""

    columns: dict[str, Any]
    rows: int
    dropped: int = 0
    """Rows dropped because a cell was missing (only when asked to)."""
    precise: dict[str, Any] | None = None
    """The same columns in extended precision (numpy.longdouble), for small files."""


def _listing(names: Sequence[str], most: int = 12) -> str:
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown}, ... ({len(names)} in all)"


def delimiter_of(path: Path, header: str) -> str:
    """Tab for .tsv and .tab files; otherwise (.csv too, as the README says) tab when the
    header has tabs and no commas, else comma."""
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".tab"):
        return "\t"
    return "\t" if "\t" in header and "," not in header else ","


def open_source(path: str | Path) -> Source:
    """The file's header: its columns and how cells are separated.  DataError when the file
    cannot be read, is empty, or its header is not a list of distinct names."""
    where = Path(path)
    try:
        with open(where, "rb") as handle:
            size = handle.seek(0, io.SEEK_END)
            handle.seek(0)
            first = handle.readline(BLOCK_BYTES + 1)
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from None
    if size == 0 or not first.strip():
        raise DataError(f"{path} is empty: it needs a header line naming the columns, then rows")
    if b"\r" in first.rstrip(b"\r\n"):
        raise DataError(
            f"{path}: its lines end in CR alone (carriage return, without a line feed): "
            "write it with LF or CRLF line endings"
        )
    if len(first) > BLOCK_BYTES:
        raise DataError(f"{path}: the header line is longer than {BLOCK_BYTES >> 20} MiB")
    try:
        header = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise DataError(f"{path}: the header line is not UTF-8 text") from None
    delimiter = delimiter_of(where, header)
    names = tuple(name.strip() for name in next(csv.reader([header], delimiter=delimiter)))
    for index, name in enumerate(names):
        if not name:
            raise DataError(f"{path}: column {index + 1} of the header has no name")
        if names.index(name) != index:
            raise DataError(f"{path}: the header names column '{name}' twice")
    return Source(where, delimiter, names, size, len(first))


# ---------------------------------------------------------------- blocks of lines


@dataclass(frozen=True, slots=True)
class Block:
    """Whole lines of a file: their bytes and the line number of the first (the header is 1)."""

    data: bytes
    first_line: int


def blocks(source: Source, block_bytes: int = BLOCK_BYTES) -> Iterator[Block]:
    """The file's rows in blocks of whole lines, each about ``block_bytes`` long."""
    line = 2
    try:
        with open(source.path, "rb") as handle:
            handle.seek(source.start)
            rest = b""
            while True:
                data = handle.read(block_bytes)
                if not data:
                    if rest.strip():
                        yield Block(rest, line)
                    return
                data = rest + data
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    if len(data) > block_bytes:
                        raise DataError(
                            f"{source.name}, line {line}: the line is longer than {block_bytes >> 20} MiB"
                        )
                    rest = data
                    continue
                block, rest = data[:cut], data[cut:]
                yield Block(block, line)
                line += block.count(b"\n")
    except OSError as error:
        raise DataError(f"cannot read {source.name}: {error.strerror or error}") from None


def _row_lines(block: Block) -> list[int]:
    """The line number of each row of a block (blank lines are no rows)."""
    return [block.first_line + i for i, text in enumerate(block.data.split(b"\n")) if text.strip()]


# ---------------------------------------------------------------- parsing a block


def _pyarrow_available() -> bool:
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


def choose_reader(reader: str = "auto") -> str:
    """The parser ``reader`` names: ``auto`` is pyarrow when installed, else numpy."""
    if reader not in READERS:
        raise DataError(f"unknown reader '{reader}'; choose from {', '.join(READERS)}")
    if reader == "auto":
        return "pyarrow" if _pyarrow_available() else "numpy"
    if reader == "pyarrow" and not _pyarrow_available():
        raise DataError("the pyarrow reader needs pyarrow, an optional extra: pip install 'adcli[data]'")
    return reader


def parse_block(source: Source, block: Block, names: Sequence[str], reader: str) -> dict[str, Any]:
    """The block's cells in the columns ``names``, as float64 arrays (nan where missing)."""
    data = block.data
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        # A line ending in CR alone: pyarrow takes it as a line, NumPy refuses it; Python's
        # csv module says where it is (or reads a CR inside quotes).
        return _parse_python(source, block, names)
    try:
        if reader == "pyarrow":
            return _parse_pyarrow(source, block, names)
        return _parse_numpy(source, block, names)
    except DataError:
        raise
    except Exception:  # the parser's own complaint: find the line and the column in Python
        return _parse_python(source, block, names)


def _parse_pyarrow(source: Source, block: Block, names: Sequence[str]) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.csv as pc

    table = pc.read_csv(
        pa.py_buffer(block.data),
        read_options=pc.ReadOptions(column_names=list(source.columns), block_size=1 << 24),
        parse_options=pc.ParseOptions(delimiter=source.delimiter),
        convert_options=pc.ConvertOptions(
            include_columns=list(names),
            column_types={name: pa.float64() for name in names},
            null_values=[""],
            strings_can_be_null=False,
            quoted_strings_can_be_null=True,
        ),
    )
    import numpy as np

    columns: dict[str, Any] = {}
    for name in names:
        column = table.column(name)
        if column.null_count:
            column = column.fill_null(float("nan"))
        columns[name] = np.ascontiguousarray(column.to_numpy(), dtype=np.float64)
    return columns


def _load_text(source: Source, text: str, names: Sequence[str], dtype: Any) -> Any:
    """NumPy's reader over a block's text: the named columns, as a two-dimensional array."""
    import numpy as np

    return np.loadtxt(
        io.StringIO(text),
        delimiter=source.delimiter,
        usecols=[source.columns.index(name) for name in names],
        dtype=dtype,
        ndmin=2,
        quotechar='"',
        comments=None,
    )


def _parse_numpy(source: Source, block: Block, names: Sequence[str]) -> dict[str, Any]:
    import numpy as np

    text = block.data.decode("utf-8")
    values = _load_text(source, text, names, np.float64)
    if values.shape[1] != len(names):
        raise ValueError("ragged")
    # loadtxt reads only the columns it is asked for: a short or long line elsewhere would
    # pass unnoticed, so the field count is checked here (cheaply, on the whole block).
    delimiters = text.count(source.delimiter)
    if delimiters != values.shape[0] * (len(source.columns) - 1) and '"' not in text:
        raise ValueError("a line has the wrong number of fields")
    return {name: np.ascontiguousarray(values[:, i]) for i, name in enumerate(names)}


def _number(text: str) -> float:
    """A cell's number as both parsers read it (Python's float also takes '1_000': not here)."""
    if "_" in text:
        raise ValueError(text)
    return float(text)


def _rows(source: Source, block: Block) -> Iterator[tuple[int, list[str]]]:
    """Each row of a block that is not blank, with its line number, by Python's csv reader,
    checked for its number of fields; what the reader refuses (the text not UTF-8, a line
    ending in CR alone, a quote left open) as a DataError with the line."""
    try:
        lines = block.data.decode("utf-8").split("\n")
    except UnicodeDecodeError as error:
        line = block.first_line + block.data[: error.start].count(b"\n")
        raise DataError(f"{source.name}, line {line}: the text is not UTF-8") from None
    reader = csv.reader(lines, delimiter=source.delimiter)
    width = len(source.columns)
    for offset in itertools.count():
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line = block.first_line + reader.line_num - 1
            if "new-line character" in str(error):
                raise DataError(
                    f"{source.name}, line {line}: the line ends in CR alone (carriage return, "
                    "without a line feed): write the file with LF or CRLF line endings"
                ) from None
            raise DataError(f"{source.name}, line {line}: {error}") from None
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        line = block.first_line + offset
        if len(fields) != width:
            raise DataError(
                f"{source.name}, line {line}: {len(fields)} "
                f"{'field' if len(fields) == 1 else 'fields'}, but the header names "
                f"{width} columns"
            )
        yield line, fields


def _parse_python(source: Source, block: Block, names: Sequence[str]) -> dict[str, Any]:
    """Line by line, for a block a fast parser refused: the first bad line is the error."""
    import numpy as np

    use = [source.columns.index(name) for name in names]
    out: list[list[float]] = [[] for _ in names]
    for line, fields in _rows(source, block):
        for target, index in zip(out, use):
            cell = fields[index].strip()
            if not cell:
                target.append(float("nan"))
                continue
            try:
                target.append(_number(cell))
            except ValueError:
                shown = cell if len(cell) <= 40 else cell[:37] + "..."
                raise DataError(
                    f"{source.name}, line {line}, column '{source.columns[index]}': {shown!r} is not a number"
                ) from None
    return {name: np.array(values, dtype=np.float64) for name, values in zip(names, out)}


def _count_rows(source: Source, block: Block) -> int:
    """How many rows a block has, each checked for its number of fields."""
    return sum(1 for _ in _rows(source, block))


# ---------------------------------------------------------------- checking values


def check_values(
    source: Source, block: Block, columns: dict[str, Any], drop_missing: bool
) -> tuple[dict[str, Any], int, dict[str, tuple[int, list[int]]]]:
    """Infinities are an error; missing cells (nan) are dropped with ``drop_missing``, else
    counted per column with their first few line numbers.  Returns the columns, how many rows
    were dropped, and the missing cells found (empty when dropped)."""
    import numpy as np

    lines: list[int] | None = None
    missing: dict[str, tuple[int, list[int]]] = {}
    bad = None
    for name, values in columns.items():
        infinite = np.isinf(values)
        if infinite.any():
            lines = lines or _row_lines(block)
            row = int(np.argmax(infinite))
            raise DataError(
                f"{source.name}, line {lines[row]}, column '{name}': {float(values[row])!r} is "
                "not a finite number"
            )
        nan = np.isnan(values)
        if nan.any():
            bad = nan if bad is None else bad | nan
            if not drop_missing:
                lines = lines or _row_lines(block)
                rows = np.flatnonzero(nan)
                missing[name] = (len(rows), [lines[int(r)] for r in rows[:SHOWN]])
    if bad is None or not drop_missing:
        return columns, 0, missing
    keep = ~bad
    return {name: values[keep] for name, values in columns.items()}, int(bad.sum()), {}


def missing_error(source: Source, missing: dict[str, tuple[int, list[int]]],
                  droppable: bool = True) -> DataError:
    """How many cells are missing, and where (and, when the rows may be dropped, how)."""
    total = sum(count for count, _ in missing.values())
    parts = []
    for name, (count, lines) in missing.items():
        shown = ", ".join(map(str, lines)) + (", ..." if count > len(lines) else "")
        parts.append(f"{count} in column '{name}' (line{'s' if count > 1 else ''} {shown})")
    return DataError(
        f"{source.name} has {total} missing value{'s' if total > 1 else ''} (empty or nan): "
        + (f"{'; '.join(parts)}; fix them, or drop those rows with {option('drop_missing')}" if droppable
           else f"{'; '.join(parts)}; a prediction needs every input: fix them")
    )


def _merge(found: dict[str, tuple[int, list[int]]], more: dict[str, tuple[int, list[int]]]) -> None:
    for name, (count, lines) in more.items():
        before, shown = found.get(name, (0, []))
        found[name] = (before + count, (shown + lines)[:SHOWN])


# ---------------------------------------------------------------- whole files and streams


def read_table(
    source: Source,
    names: Sequence[str],
    *,
    reader: str = "auto",
    drop_missing: bool = False,
    limit: int = MAX_BYTES,
    precise: bool = False,
) -> Table:
    """The columns ``names`` of the whole file, in memory.

    DataError for a file larger than ``limit`` (checked before reading), a header without
    rows, a cell that is not a number (with its line and column), an infinity, or missing
    values (unless ``drop_missing``).
    """
    if source.size > limit:
        raise DataError(
            f"{source.name} is {_size(source.size)}, more than the {_size(limit)} that a fit "
            f"reads into memory; stream it in mini-batches with {option('batch_size', 'N')}"
        )
    # One block: the parsers split the work among threads themselves, and a whole file in one
    # call is faster than in many (pyarrow: 0.1 s against 0.5 s in 8 MiB blocks).
    table = _collect(
        source,
        list(
            stream_tables(
                source,
                names,
                reader=reader,
                drop_missing=drop_missing,
                block_bytes=max(1, source.size),
                collect_missing=True,
            )
        ),
        names,
    )
    if precise and table.rows + table.dropped <= PRECISE_ROWS:
        return Table(table.columns, table.rows, table.dropped, _read_precise(source, names, table))
    return table


def _read_precise(source: Source, names: Sequence[str], table: Table) -> dict[str, Any] | None:
    """The columns in extended precision, rows as in ``table``; None when a cell that the
    float64 pass read is not one that numpy.longdouble reads (fullwidth or Arabic-Indic
    digits, which Python's float takes): the extended precision is only a refinement."""
    import numpy as np

    parts: list[dict[str, Any]] = []
    try:
        # A file without a newline at its end has its last line in a block of its own.
        for block in blocks(source, max(1, source.size)):
            parts.append(_parse_precise(source, block, names))
    except (ValueError, csv.Error, IndexError, UnicodeDecodeError):
        return None
    if not parts or not names:
        return None
    columns = {name: np.concatenate([part[name] for part in parts]) for name in names}
    keep = ~np.any([np.isnan(v) for v in columns.values()], axis=0)
    if not keep.all():
        columns = {name: values[keep] for name, values in columns.items()}
    if any(len(values) != table.rows for values in columns.values()):
        return None
    return columns


def _parse_precise(source: Source, block: Block, names: Sequence[str]) -> dict[str, Any]:
    """A block's columns in extended precision (the text is known to be valid: it was read once)."""
    import numpy as np

    use = [source.columns.index(name) for name in names]
    text = block.data.decode("utf-8")
    try:
        values = _load_text(source, text, names, np.longdouble)
        return {name: np.ascontiguousarray(values[:, i]) for i, name in enumerate(names)}
    except ValueError:  # empty cells: by way of Python's csv module
        cells: list[list[str]] = [[] for _ in names]
        for fields in csv.reader(text.split("\n"), delimiter=source.delimiter):
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            for target, index in zip(cells, use):
                target.append(fields[index].strip() or "nan")
        return {name: np.array(values, dtype=np.longdouble) for name, values in zip(names, cells)}


def stream_tables(
    source: Source,
    names: Sequence[str],
    *,
    reader: str = "auto",
    drop_missing: bool = False,
    block_bytes: int = BLOCK_BYTES,
    collect_missing: bool = False,
    droppable: bool = True,
) -> Iterator[Table]:
    """The columns ``names``, a block of rows at a time (memory: one block).  ``droppable``:
    whether the message about missing values may offer to drop their rows.

    Missing values raise at the block that has them (or, with ``collect_missing``, after
    every block has been read, so that the message counts them all).
    """
    source.check_columns(names)
    parser = choose_reader(reader)
    found: dict[str, tuple[int, list[int]]] = {}
    any_rows = False
    for block in blocks(source, block_bytes):
        if not names:  # (a model that reads no column: its rows are still counted)
            counted = _count_rows(source, block)
            any_rows = any_rows or counted > 0
            yield Table({}, counted)
            continue
        columns = parse_block(source, block, names, parser)
        columns, dropped, missing = check_values(source, block, columns, drop_missing)
        if missing:
            if not collect_missing:
                raise missing_error(source, missing, droppable)
            _merge(found, missing)
        rows = len(next(iter(columns.values())))
        any_rows = any_rows or rows + dropped > 0
        yield Table(columns, rows, dropped)
    if found:
        raise missing_error(source, found, droppable)
    if not any_rows:
        raise DataError(f"{source.name} has a header but no rows")


def _collect(source: Source, tables: list[Table], names: Sequence[str]) -> Table:
    import numpy as np

    if len(tables) == 1:
        return tables[0]
    columns = {name: np.concatenate([t.columns[name] for t in tables]) for name in names}
    return Table(columns, sum(t.rows for t in tables), sum(t.dropped for t in tables))


def _size(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            value = size / scale
            return f"{value:.3g} {unit}" if value != int(value) else f"{int(value)} {unit}"
    return f"{size} bytes"
