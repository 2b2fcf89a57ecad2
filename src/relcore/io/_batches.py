"""What the readers of event files share: errors about a file, and reading in batches.

A file read a batch of rows at a time must mean what it means read whole, hostile files
included: `BatchedEvents` raises, once the whole file is read, the very
[`DataError`][relcore.errors.DataError] a reader of the whole file would raise.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._columns import release_arrow_memory
from ..errors import DataError


class FileError(DataError):
    """A problem with the shape of the file, at a line rather than in a column."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        super().__init__(path, problem)

    def _message(self) -> str:
        where = self.path if self.line is None else f"{self.path}, line {self.line}"
        return f"{where}: {self.problem}"

    def __reduce__(self) -> Any:
        return (type(self), (self.path, self.problem, self.line))


class BatchedEvents(ABC):
    """An event file read a batch of rows at a time, so that it is never held whole.

    Iterating yields each batch's columns keyed by relcore's names, in the file's row
    order: ``at`` as int64 microseconds since the epoch (UTC), numbers as float64, text as
    the reader holds it (pyarrow columns, or object arrays).

    A file with a problem is read to its end before the problem is raised, and then it is
    the [`DataError`][relcore.errors.DataError] the whole file would raise: the first check, in the
    order of the columns, that any row fails, with every row of the file that fails it
    (rows count from the file's first data row). Batches after the first with a problem
    are read and checked but no longer yielded. A problem with the file's shape
    (`FileError`) is raised at once. ``check``, when given, is run on each batch's
    columns after them: a [`DataError`][relcore.errors.DataError] it raises names rows of the batch
    and ranks after every problem of the columns.
    """

    table: Any  # the file as a whole: path, n_rows read so far, locate()

    def __init__(
        self, names: dict[str, str], check: Callable[[dict[str, Any]], None] | None
    ) -> None:
        self._names = names
        self._check = check

    @abstractmethod
    def _batches(self) -> Iterator[Any]:
        """The file's rows in consecutive batches."""

    @abstractmethod
    def _size(self, batch: Any) -> int:
        """Rows in a batch."""

    @abstractmethod
    def extent(self) -> tuple[int, str]:
        """How far reading the file goes, and in what: ``(size, "B")`` or ``(rows,
        "rows")``; `read` reports its progress in the same unit."""

    def _done(self, batch: Any) -> int:
        """How far reading has come once ``batch`` is read (rows by default)."""
        return int(self.table.n_rows)

    @abstractmethod
    def _convert(self, batch: Any) -> dict[str, Any]:
        """A batch's columns keyed by relcore's names; a bad value raises DataError."""

    @abstractmethod
    def _cell(self, batch: Any, column: str, row: int) -> Any:
        """One value of a batch, as the file holds it."""

    @abstractmethod
    def _first_problem(self, column: str, cells: list[Any]) -> str | None:
        """The problem the checks of ``column`` find first among ``cells`` (each failing
        a check of its own): which of two problems the whole file would report."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._iterate(None)

    def _iterate(self, progress: Callable[[int], None] | None) -> Iterator[dict[str, Any]]:
        table = self.table
        table.n_rows = 0
        first: _Problem | None = None
        order = list(self._names.values())
        for batch in self._batches():
            start = table.n_rows
            table.n_rows += self._size(batch)
            if progress is not None:
                progress(self._done(batch))
            stage = 0
            try:
                columns = self._convert(batch)
                stage = 1
                if self._check is not None:
                    self._check(columns)
            except FileError:
                raise
            except DataError as exc:
                cell = None
                if stage == 0 and exc.rows and exc.column in order:
                    cell = self._cell(batch, exc.column, exc.rows[0])
                position = order.index(exc.column) if exc.column in order else len(order)
                found = _Problem((stage, position), exc, start, cell)
                first = found if first is None else first.merged(found, self._first_problem)
                continue
            if first is None:
                yield columns
        if first is not None:
            raise first.error()

    def read(self, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Every batch's columns joined: pyarrow text as one chunked column (object arrays
        if a batch held text as Python strings), numbers as one array.

        ``progress``, when given, is called after each batch with how far reading has
        come, in the unit of `extent` (bytes of a CSV file, rows of a Parquet file).
        """
        parts = list(self._iterate(progress))
        out: dict[str, Any] = {}
        for name in self._names:
            pieces = [part.pop(name) for part in parts]
            out[name] = _joined(pieces)
            del pieces
        release_arrow_memory()
        return out


def _joined(pieces: list[Any]) -> Any:
    if not pieces:
        return np.zeros(0, dtype=object)
    if all(isinstance(p, np.ndarray) for p in pieces):
        return np.concatenate(pieces)
    if not any(isinstance(p, np.ndarray) for p in pieces):
        import pyarrow as pa

        return pa.chunked_array([c for p in pieces for c in p.chunks], type=pieces[0].type)
    # pyarrow gave way to the careful reader part way through: text as Python strings
    return np.concatenate(
        [p if isinstance(p, np.ndarray) else p.to_numpy(zero_copy_only=False) for p in pieces]
    )


class _Problem:
    """The first problem found in a file read in batches, as far as it has been read."""

    def __init__(self, rank: tuple[int, int], error: DataError, start: int, cell: Any) -> None:
        self.rank = rank
        self.column = error.column
        self.problem = error.problem
        self.rows = [start + r for r in error.rows]
        self.count = error.count
        self.cell = cell

    def merged(
        self, other: _Problem, first_problem: Callable[[str, list[Any]], str | None]
    ) -> _Problem:
        """The problem the file read so far shows: the earlier check, or the rows of
        both batches when it is the same one."""
        if other.rank != self.rank:
            return self if self.rank < other.rank else other
        if other.problem == self.problem:
            self.rows = (self.rows + other.rows)[:5]
            self.count += other.count
            return self
        cells = [self.cell, other.cell]
        if None not in cells and first_problem(self.column, cells) == other.problem:
            return other
        return self

    def error(self) -> DataError:
        return DataError(self.column, self.problem, self.rows, self.count)
