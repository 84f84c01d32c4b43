"""A fit's rows a pass at a time: mini-batches of the rows in memory, or blocks read from
the file and cut into mini-batches, so that a file larger than memory trains in a block's
memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .data import BLOCK_BYTES, stream_tables
from .problem import Problem
from .rows import Rows, concat, make_rows


class Batches:
    """The passes over a problem's rows, shuffled by ``rng``."""

    def __init__(self, problem: Problem, rng: Any) -> None:
        self.problem, self.rng = problem, rng
        self._blocks: list[tuple[Rows, Rows | None]] | None = None
        self.dropped = 0
        """Rows dropped for a missing cell (``drop_missing``), counted by a whole pass."""

    def in_memory(self, rows: Rows) -> Iterator[Rows]:
        size = self.problem.config.batch_size
        if size is None or size >= rows.n:
            yield rows
            return
        order = self.rng.permutation(rows.n)
        for i in range(0, rows.n, size):
            yield rows.subset(order[i : i + size])

    def blocks(self) -> Iterator[tuple[Rows, Rows | None]]:
        """One pass over the file: each block's fitted rows and held-out rows."""
        problem = self.problem
        if self._blocks is not None:
            yield from self._blocks
            return
        # A file of one block is read once and kept: streaming it again would only repeat
        # the parsing.
        keep: list[tuple[Rows, Rows | None]] | None = [] if problem.source.size <= BLOCK_BYTES else None
        for pair in self._read():
            if keep is not None:
                keep.append(pair)
            yield pair
        if keep is not None:
            self._blocks = keep

    def _read(self) -> Iterator[tuple[Rows, Rows | None]]:
        import numpy as np

        problem, config = self.problem, self.problem.config
        dropped = 0
        for index, table in enumerate(
            stream_tables(problem.source, problem.model.columns, reader=config.reader,
                          drop_missing=config.drop_missing)
        ):
            dropped += table.dropped
            self.dropped = max(self.dropped, dropped)
            if not table.rows:
                continue
            rows = make_rows(problem.model, table, problem.source.name)
            if config.validation > 0:
                # The same rows are held out at every pass: drawn from a generator seeded by
                # the block's index.
                held = np.random.default_rng([config.seed, index]).random(rows.n) < config.validation
                yield rows.subset(np.flatnonzero(~held)), rows.subset(np.flatnonzero(held))
            else:
                yield rows, None

    def streamed(self) -> Iterator[Rows | tuple[str, Rows]]:
        """Mini-batches of the fitted rows; held-out blocks come as ("held", rows)."""
        import numpy as np

        size = self.problem.config.batch_size
        assert size is not None
        carry: Rows | None = None
        for fitted, held in self.blocks():
            if held is not None and held.n:
                yield ("held", held)
            order = self.rng.permutation(fitted.n)
            block = fitted.subset(order)
            if carry is not None and carry.n:
                block = concat(carry, block)
            whole = block.n // size * size
            for i in range(0, whole, size):
                yield block.subset(np.arange(i, i + size))
            carry = block.subset(np.arange(whole, block.n))
        if carry is not None and carry.n:
            yield carry

    def count(self) -> tuple[int, int]:
        """A pass over the file: how many rows are fitted and how many held out."""
        fitted = held = 0
        for rows, validation in self.blocks():
            fitted += rows.n
            held += validation.n if validation is not None else 0
        return fitted, held
