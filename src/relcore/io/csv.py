"""Reading CSV files: the one reader behind event logs, summaries and contact plans.

Every CSV file relcore reads (``EventLog.read_csv``, ``relcore summarize``, ``relcore
score``, ``relcore policy simulate``) goes through `read_table`, so a file means the
same thing wherever it is read:

* The first record is the header; blank lines are not rows; a cell in quotes may hold the
  delimiter, doubled quotes and line breaks. A UTF-8 byte-order mark is skipped.
* Every row has as many cells as the header, and every column that is read appears once
  in the header; otherwise the error names the line or the column.
* Cells are text exactly as written. ``NA``, ``NULL``, ``null``, ``N/A`` or ``nan`` are
  ids like any other; only an empty cell is empty.
* Numbers are written the way programs write them: ``12``, ``-0.5``, ``1e3`` (spaces
  around them are allowed); ``1_000``, ``1,000``, ``true`` or an empty cell are errors that
  list the rows, and so are ``inf`` and ``nan``.
* Timestamps are ISO 8601. One written with a UTC offset (``2026-11-27T10:00:00-05:00``,
  ``...Z``) is that instant; one written without needs the time zone it was recorded in,
  and is an error otherwise. A ``strptime`` format reads other layouts; with ``%z`` in it
  the offset in the data wins, as it does for ISO timestamps. An instant must fall within
  the years 1 to 9999 in UTC.

Errors count data rows from 0 (the header is not a row), as everywhere in relcore; `Table.locate`
gives the file's own line of a row, which differs from ``row + 2`` when the file has blank lines or
line breaks inside quotes. A problem with the file's shape (a row with too many or too few cells,
bytes that are not text in the stated encoding) is a [`DataError`][relcore.errors.DataError] whose
message names the line.

pyarrow's multi-threaded reader (the ``arrow`` extra) reads the file when it is installed,
the standard library's `csv` module otherwise. Both read a file the same way: the fast
path only handles what it can read exactly, and anything else is read again cell by cell,
which is also what names the offending rows.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import os
import re
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .._time import resolve_zone, wall_to_micros
from ..errors import DataError
from ._batches import BatchedEvents
from ._batches import FileError as _FileError

__all__ = [
    "BLOCK_BYTES",
    "Engine",
    "EventBatches",
    "Table",
    "event_columns",
    "read_event_columns",
    "read_table",
]

Engine = Literal["arrow", "python"]

#: The engine `read_table` uses when none is named: pyarrow's when it is installed.
DEFAULT_ENGINE: Engine | None = None

_EPOCH = _dt.datetime(1970, 1, 1)
_US = _dt.timedelta(microseconds=1)
# Numbers as programs write them. ASCII digits only: Python's float() would also take
# "1_000" and Arabic-Indic digits, which are not numbers in a data file.
_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)", re.IGNORECASE | re.ASCII
)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_FIRST_US = (_dt.datetime.min - _EPOCH) // _US
_LAST_US = (_dt.datetime.max - _EPOCH) // _US
_SPACES = " \t"


class _Format:
    """How the file is written: delimiter and encoding, checked once."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        delimiter: str,
        encoding: str,
        arg_names: Mapping[str, str] | None,
    ) -> None:
        if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
            raise DataError(
                "delimiter", f"must be one character other than a quote or a line break, "
                f"got {delimiter!r}"
            )  # fmt: skip
        try:
            codec = codecs.lookup(encoding)
        except (LookupError, TypeError):
            raise DataError("encoding", f"is not an encoding Python knows: {encoding!r}") from None
        self.path = os.fspath(path)
        self.delimiter = delimiter
        self.encoding = codec.name
        self.arg_names = dict(arg_names or {})
        # utf-8-sig reads files with and without a byte-order mark alike.
        self.python_encoding = "utf-8-sig" if codec.name == "utf-8" else codec.name

    def arg(self, name: str) -> str:
        """How the caller spells the reader's argument ``name``, for error messages."""
        return self.arg_names.get(name, f"{name}=")

    def records(
        self, opened: list[Any] | None = None
    ) -> Generator[tuple[int, list[str]], None, None]:
        """``(first line, cells)`` of every record that is not a blank line.

        Undecodable bytes become lone surrogates (``surrogateescape``), so they can be
        reported in the cells that hold them rather than wherever the decoder fails.
        ``opened``, when given, receives the file's byte stream, whose position tells
        how far the reading has come.
        """
        with open(
            self.path, newline="", encoding=self.python_encoding, errors="surrogateescape"
        ) as fh:
            if opened is not None:
                opened.append(fh.buffer)
            reader = csv.reader(fh, delimiter=self.delimiter, strict=False)
            line = 1
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    # In practice: a quote opened here and never closed, whose cell grew
                    # past the csv module's field limit.
                    raise _FileError(
                        self.path,
                        f"could not be read as CSV ({exc}); is a quote left open here?",
                        line,
                    ) from None
                if cells:
                    yield line, cells
                line = reader.line_num + 1


# What surrogateescape leaves for a byte that was not text.
_UNDECODED = re.compile("[\udc80-\udcff]")


def _undecodable(text: str) -> bool:
    return _UNDECODED.search(text) is not None


def _encoding_hint(fmt: _Format) -> str:
    return (
        f"bytes that are not {fmt.encoding} text; if the file is in another encoding, pass "
        f"{fmt.arg('encoding')} naming it (such as latin-1 or cp1252)"
    )


class Table:
    """The columns read from one CSV file, each as the text of its cells.

    The conversions (`ids`, `labels`, `numbers`, `integers`,
    `instants`) check every cell and raise [`DataError`][relcore.errors.DataError] naming the
    column as it is written in the file and the offending rows.
    """

    def __init__(
        self,
        fmt: _Format,
        header: tuple[str, ...],
        columns: dict[str, Any],
        n_rows: int,
    ) -> None:
        self._fmt = fmt
        self.header = header
        self._columns = columns  # name -> list[str] (python) or a pyarrow ChunkedArray
        self.n_rows = n_rows
        # Of a block read in batches: the bytes of the file read once it was read.
        self.bytes_read = 0

    @property
    def path(self) -> str:
        return self._fmt.path

    def __contains__(self, name: str) -> bool:
        return name in self._columns

    # ------------------------------------------------------------------ cells

    def _arrow(self, name: str) -> Any | None:
        col = self._columns[name]
        return None if isinstance(col, list) else col

    def text(self, name: str) -> list[str]:
        """The cells of a column, exactly as written."""
        col = self._columns[name]
        if not isinstance(col, list):
            col = self._columns[name] = list(col.to_pylist())
        cells: list[str] = col
        return cells

    def _check_text(self, name: str, cells: list[str]) -> None:
        if not _undecodable("".join(cells)):  # one pass over the column, in C
            return
        bad = [i for i, c in enumerate(cells) if _undecodable(c)]
        if bad:
            raise DataError(name, _encoding_hint(self._fmt), bad)

    def ids(self, name: str) -> npt.NDArray[np.object_]:
        """Ids exactly as written (``00042`` stays ``00042``); an empty cell is an error."""
        arrow = self._arrow(name)
        if arrow is not None:
            pc = _compute()
            empty = np.asarray(pc.equal(pc.utf8_length(arrow), 0).to_numpy(zero_copy_only=False))
            if empty.any():
                raise DataError.from_mask(name, empty, "empty cells (every row needs an id)")
            return np.asarray(arrow.to_numpy(zero_copy_only=False), dtype=object)
        cells = self.text(name)
        self._check_text(name, cells)
        empty_rows = [i for i, c in enumerate(cells) if not c]
        if empty_rows:
            raise DataError(name, "empty cells (every row needs an id)", empty_rows)
        return np.array(cells, dtype=object)

    def id_text(self, name: str) -> Any:
        """As `ids`, but a pyarrow column stays one (no Python string per cell)."""
        arrow = self._arrow(name)
        if arrow is None:
            return self.ids(name)
        pc = _compute()
        empty = np.asarray(pc.equal(pc.utf8_length(arrow), 0).to_numpy(zero_copy_only=False))
        if empty.any():
            raise DataError.from_mask(name, empty, "empty cells (every row needs an id)")
        return arrow

    def label_text(self, name: str, *, required: bool = False) -> Any:
        """As `labels`, but a pyarrow column stays one: dictionary-encoded (a label
        column holds few distinct values), with nulls for empty cells."""
        arrow = self._arrow(name)
        if arrow is None:
            return self.labels(name, required=required)
        import pyarrow as pa

        pc = _compute()
        empty = pc.equal(arrow, "")
        if required and pc.any(empty).as_py():
            mask = np.asarray(empty.to_numpy(zero_copy_only=False))
            raise DataError.from_mask(name, mask, "empty cells")
        values = pc.if_else(empty, pa.scalar(None, arrow.type), arrow)
        return values.dictionary_encode()

    def cell(self, name: str, row: int) -> str:
        """The cell of ``row`` in column ``name``, as written."""
        col = self._columns[name]
        cell: str = col[row] if isinstance(col, list) else col[row].as_py()
        return cell

    def labels(self, name: str, *, required: bool = False) -> npt.NDArray[np.object_]:
        """Labels exactly as written, ``None`` for an empty cell (an error if ``required``)."""
        arrow = self._arrow(name)
        if arrow is not None:
            values = np.asarray(arrow.to_numpy(zero_copy_only=False), dtype=object)
        else:
            cells = self.text(name)
            self._check_text(name, cells)
            values = np.array(cells, dtype=object)
        empty = values == ""
        if required and empty.any():
            raise DataError.from_mask(name, empty, "empty cells")
        values[empty] = None
        return values

    def numbers(self, name: str) -> npt.NDArray[np.float64]:
        """Finite numbers; see the module docstring for what counts as one."""
        arrow = self._arrow(name)
        out = None
        if arrow is not None:
            out = _arrow_cast(arrow, "float64")
        if out is None:
            out = _parse_numbers(self.text(name), name)
        bad = ~np.isfinite(out)
        if bad.any():
            raise DataError.from_mask(name, bad, "values that are infinite or NaN")
        return out

    def integers(self, name: str, *, default: int) -> npt.NDArray[np.int64]:
        """Whole numbers (``-3``, ``12``), ``default`` for an empty cell."""
        cells = [c.strip(_SPACES) for c in self.text(name)]
        bad = [i for i, c in enumerate(cells) if c and not _INTEGER.fullmatch(c)]
        if bad:
            raise DataError(name, "values that are not whole numbers", bad)
        values = [int(c) if c else default for c in cells]
        limit = np.iinfo(np.int64)
        huge = [i for i, v in enumerate(values) if not limit.min <= v <= limit.max]
        if huge:
            raise DataError(name, "whole numbers too large (beyond ±2**63)", huge)
        return np.array(values, dtype=np.int64)

    def instants(
        self,
        name: str,
        *,
        timezone: str | _dt.tzinfo | None = None,
        at_format: str | None = None,
        zone_allowed: bool = True,
    ) -> npt.NDArray[np.int64]:
        """Timestamps as int64 microseconds since the epoch, UTC.

        A timestamp with a UTC offset is that instant; one without is a wall-clock time in
        ``timezone`` (a time skipped or repeated by a daylight-saving change is an error),
        or an error when no zone is given. ``at_format`` is a ``strptime`` format; with
        ``%z`` in it every timestamp carries its offset. ``zone_allowed=False`` words the
        errors for files whose timestamps must all carry an offset.
        """
        zone_option = self._fmt.arg("timezone") if zone_allowed else None
        zone = None if timezone is None else _zone(timezone, name)
        if at_format is not None:
            _check_format(at_format, name, zone is not None, zone_option)
        arrow = self._arrow(name)
        values = None if arrow is None else _arrow_instants(arrow, name, zone, at_format)
        if values is None:
            values = _parse_instants(self.text(name), name, zone, at_format, zone_option)
        # relcore could count these microseconds, but no datetime can show them: every
        # message or result that names such a time would fail.
        beyond = (values < _FIRST_US) | (values > _LAST_US)
        if beyond.any():
            raise DataError.from_mask(name, beyond, "times outside the years 1 to 9999 in UTC")
        return values

    # ------------------------------------------------------------------ locating rows

    def locate(
        self, rows: Sequence[int], column: str | None = None
    ) -> list[tuple[int, int, str | None]]:
        """``(row, line, cell)`` for data rows: the file's line where each row starts and,
        when ``column`` is a column of the file, the cell as written."""
        wanted = sorted({int(r) for r in rows if 0 <= int(r) < self.n_rows})
        if not wanted:
            return []
        records = self._fmt.records()
        found: dict[int, tuple[int, str | None]] = {}
        try:
            _, header = next(records)
            j = header.index(column) if column is not None and column in header else None
            for row, (line, cells) in enumerate(records):
                if row in wanted:
                    cell = cells[j] if j is not None and j < len(cells) else None
                    found[row] = (line, cell)
                    if len(found) == len(wanted):
                        break
        finally:
            records.close()
        return [(r, *found[r]) for r in sorted(found)]


def read_table(
    path: str | os.PathLike[str],
    columns: Sequence[str],
    *,
    optional: Sequence[str] = (),
    known: Sequence[str] | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    arg_names: Mapping[str, str] | None = None,
    engine: Engine | None = None,
) -> Table:
    """Read the named columns of a CSV file.

    Parameters
    ----------
    path
        The file.
    columns
        Columns that must be in the header (once each).
    optional
        Columns read when the header has them.
    known
        When given, the only columns the file may have: a misspelt column is an error
        rather than silently ignored.
    delimiter, encoding
        How the file is written (one character; a codec name Python knows).
    arg_names
        How the caller spells these arguments and ``timezone``, for error messages
        (``{"encoding": "--encoding"}`` on the command line); ``encoding=`` and so on by
        default.
    engine
        ``"arrow"`` (pyarrow) or ``"python"`` (the `csv` module); by default pyarrow
        when it is installed.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = path.write_text("id,amount\\nNA,1.5\\n00042,2\\n")
    >>> table = read_table(path, ["id", "amount"])
    >>> table.ids("id").tolist(), table.numbers("amount").tolist()
    (['NA', '00042'], [1.5, 2.0])
    """
    fmt, header, wanted = _open(path, columns, optional, known, delimiter, encoding, arg_names)
    if _engine(engine) == "arrow":
        table = _read_arrow(fmt, header, wanted)
        if table is not None:
            return table
    return _read_python(fmt, header, wanted)


def _open(
    path: str | os.PathLike[str],
    columns: Sequence[str],
    optional: Sequence[str],
    known: Sequence[str] | None,
    delimiter: str,
    encoding: str,
    arg_names: Mapping[str, str] | None,
) -> tuple[_Format, tuple[str, ...], list[str]]:
    """The file's format and header, checked; and the columns to read, in order."""
    fmt = _Format(path, delimiter, encoding, arg_names)
    records = fmt.records()
    try:
        line, header_cells = next(records)
    except StopIteration:
        raise _FileError(fmt.path, "is empty: it has no header row") from None
    finally:
        records.close()
    header = tuple(header_cells)
    if any(_undecodable(h) for h in header):
        raise _FileError(fmt.path, _encoding_hint(fmt), line)
    return fmt, header, _check_header(fmt, line, header, columns, optional, known)


def _engine(engine: Engine | None) -> Engine:
    chosen = engine if engine is not None else DEFAULT_ENGINE
    if chosen is None:
        chosen = "arrow" if _has_pyarrow() else "python"
    return chosen


def _check_header(
    fmt: _Format,
    line: int,
    header: tuple[str, ...],
    columns: Sequence[str],
    optional: Sequence[str],
    known: Sequence[str] | None,
) -> list[str]:
    path = fmt.path
    if known is not None:
        for j, name in enumerate(header):
            if not name:
                raise _FileError(path, f"the header has no name for column {j + 1}", line)
            if name not in known:
                raise DataError(
                    name,
                    f"is not a known column of {path}; expected {', '.join(known)}"
                    f"{_delimiter_hint(fmt, header)}",
                )
    checked = list(header) if known is not None else [*columns, *optional]
    for name in dict.fromkeys(checked):
        places = [str(i + 1) for i, h in enumerate(header) if h == name]
        if len(places) > 1:
            raise DataError(
                name,
                f"appears {len(places)} times in the header of {path} "
                f"(columns {', '.join(places[:-1])} and {places[-1]}); which one is meant?",
            )
    for name in columns:
        if name not in header:
            shown = ", ".join(map(repr, header))
            spaced = [h for h in header if h.strip() == name]
            hint = (
                f"; {spaced[0]!r} differs only in spaces"
                if spaced
                else _delimiter_hint(fmt, header)
            )
            raise DataError(name, f"is not a column of {path} (its header: {shown}){hint}")
    return [c for c in dict.fromkeys([*columns, *optional]) if c in header]


def _delimiter_hint(fmt: _Format, header: tuple[str, ...]) -> str:
    """A header read as one column that holds another usual delimiter: say so."""
    if len(header) != 1:
        return ""
    for char, name in (("\t", "tabs"), (";", "';'"), ("|", "'|'"), (",", "','")):
        if char != fmt.delimiter and char in header[0]:
            return f"; is the file delimited by {name}? pass {fmt.arg('delimiter')}"
    return ""


def _read_python(fmt: _Format, header: tuple[str, ...], wanted: list[str]) -> Table:
    index = [header.index(c) for c in wanted]
    cells: list[list[str]] = [[] for _ in wanted]
    n = 0
    records = fmt.records()
    next(records)
    for line, record in records:
        if len(record) != len(header):
            raise _FileError(
                fmt.path,
                f"has {len(record)} cells where the header has {len(header)} columns",
                line,
            )
        for out, j in zip(cells, index, strict=True):
            out.append(record[j])
        n += 1
    return Table(fmt, header, dict(zip(wanted, cells, strict=True)), n)


def _has_pyarrow() -> bool:
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


def _compute() -> Any:
    import pyarrow.compute as pc

    return pc


def _read_arrow(fmt: _Format, header: tuple[str, ...], wanted: list[str]) -> Table | None:
    """The table through pyarrow, or ``None`` when pyarrow cannot read the file as
    written (a ragged row, bytes that are not text...): the careful reader then names the
    line."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        table = pcsv.read_csv(
            fmt.path,
            read_options=pcsv.ReadOptions(encoding=fmt.encoding),
            parse_options=pcsv.ParseOptions(
                delimiter=fmt.delimiter, newlines_in_values=True, ignore_empty_lines=True
            ),
            convert_options=pcsv.ConvertOptions(
                include_columns=wanted,
                column_types={name: pa.string() for name in wanted},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError, pa.ArrowNotImplementedError, UnicodeError):
        return None
    if tuple(table.column_names) != tuple(wanted):  # header read differently: be careful
        return None
    columns = {name: table.column(name) for name in wanted}
    return Table(fmt, header, columns, table.num_rows)


# ---------------------------------------------------------------------------- batches

#: Bytes of the file pyarrow reads at a time when a file is read in batches, at most: a
#: file of less than eight such blocks is read in eighths (of at least `_LEAST_BLOCK_BYTES`),
#: so that a small file is not held whole as text while it is read either.
BLOCK_BYTES = 32 << 20
_LEAST_BLOCK_BYTES = 1 << 20
# Rows the careful reader collects at a time when a file is read in batches.
_PYTHON_BATCH_ROWS = 1 << 16


def _batches(
    fmt: _Format, header: tuple[str, ...], wanted: list[str], engine: Engine
) -> Iterator[Table]:
    """The file's data rows as consecutive tables, each a block of the file.

    pyarrow reads block after block while it can read the file exactly; should it fail
    (a ragged row, bytes that are not text...), the careful reader goes on from the first
    row pyarrow did not deliver, and names the line.
    """
    done = 0
    if engine == "arrow":
        import pyarrow as pa

        opened = _open_arrow(fmt, wanted)
        while opened is not None:
            reader, stream = opened
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, pa.ArrowKeyError, pa.ArrowNotImplementedError, UnicodeError):
                break
            if batch.num_rows:
                columns = {name: pa.chunked_array([batch.column(name)]) for name in wanted}
                table = Table(fmt, header, columns, batch.num_rows)
                # pyarrow reads ahead: the position runs a block or two before the rows
                table.bytes_read = stream.tell()
                yield table
                done += batch.num_rows
    yield from _python_batches(fmt, header, wanted, skip=done)


def _block_bytes(path: str) -> int:
    """The block size to read ``path`` in (see `BLOCK_BYTES`)."""
    try:
        eighth = os.path.getsize(path) // 8
    except OSError:
        return BLOCK_BYTES
    return max(min(BLOCK_BYTES, _LEAST_BLOCK_BYTES), min(BLOCK_BYTES, eighth))


def _open_arrow(fmt: _Format, wanted: list[str]) -> tuple[Any, Any] | None:
    """pyarrow's block reader of the file, and the stream it reads (for its position)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        stream = pa.input_stream(fmt.path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    try:
        reader = pcsv.open_csv(
            stream,
            read_options=pcsv.ReadOptions(encoding=fmt.encoding, block_size=_block_bytes(fmt.path)),
            parse_options=pcsv.ParseOptions(
                delimiter=fmt.delimiter, newlines_in_values=True, ignore_empty_lines=True
            ),
            convert_options=pcsv.ConvertOptions(
                include_columns=wanted,
                column_types={name: pa.string() for name in wanted},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError, pa.ArrowNotImplementedError, UnicodeError):
        stream.close()
        return None
    if tuple(reader.schema.names) != tuple(wanted):  # header read differently: be careful
        stream.close()
        return None
    return reader, stream


def _python_batches(
    fmt: _Format, header: tuple[str, ...], wanted: list[str], *, skip: int
) -> Iterator[Table]:
    index = [header.index(c) for c in wanted]
    cells: list[list[str]] = [[] for _ in wanted]
    row = 0
    opened: list[Any] = []
    records = fmt.records(opened)
    try:
        next(records)
        for line, record in records:
            if len(record) != len(header):
                raise _FileError(
                    fmt.path,
                    f"has {len(record)} cells where the header has {len(header)} columns",
                    line,
                )
            row += 1
            if row <= skip:
                continue
            for out, j in zip(cells, index, strict=True):
                out.append(record[j])
            if len(cells[0]) == _PYTHON_BATCH_ROWS:
                table = Table(fmt, header, dict(zip(wanted, cells, strict=True)), len(cells[0]))
                table.bytes_read = opened[0].tell()
                yield table
                cells = [[] for _ in wanted]
    finally:
        records.close()
    if cells and cells[0]:
        table = Table(fmt, header, dict(zip(wanted, cells, strict=True)), len(cells[0]))
        table.bytes_read = os.path.getsize(fmt.path)
        yield table


def _arrow_cast(col: Any, type_name: str) -> npt.NDArray[Any] | None:
    import pyarrow as pa

    try:
        cast = col.cast(getattr(pa, type_name)())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    out: npt.NDArray[Any] = np.asarray(cast.to_numpy(zero_copy_only=False))
    return out


def _parse_numbers(cells: list[str], column: str) -> npt.NDArray[np.float64]:
    stripped = [c.strip(_SPACES) for c in cells]
    empty = [i for i, c in enumerate(stripped) if not c]
    if empty:
        raise DataError(column, "empty cells", empty)
    bad = [i for i, c in enumerate(stripped) if not _NUMBER.fullmatch(c)]
    if bad:
        raise DataError(column, "values that are not numbers", bad)
    return np.fromiter((float(c) for c in stripped), dtype=np.float64, count=len(stripped))


# ---------------------------------------------------------------------------- time


def _zone(timezone: str | _dt.tzinfo, column: str) -> _dt.tzinfo:
    try:
        return resolve_zone(timezone)
    except ValueError as exc:
        raise DataError(column, f"is read in an unknown time zone: {exc}") from None


def _check_format(at_format: str, column: str, has_zone: bool, zone_option: str | None) -> None:
    # A format Python's strptime cannot read (%s, %Q...) would otherwise fail every cell.
    sample = _dt.datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=_dt.UTC)
    try:
        _dt.datetime.strptime(sample.strftime(at_format), at_format)
    except ValueError as exc:
        raise DataError(
            column, f"is read with the format {at_format!r}, which strptime cannot read: {exc}"
        ) from None
    if "%Z" in at_format:
        raise DataError(
            column,
            f"is read with the format {at_format!r}: %Z (a zone name) cannot be read "
            f"reliably; use %z for offsets such as +0100{_or_zone(zone_option)}",
        )
    if "%z" not in at_format and not has_zone:
        raise DataError(
            column,
            f"is read with the format {at_format!r}, which has no UTC offset (%z): "
            f"{_pass_zone(zone_option)}",
        )


def _pass_zone(zone_option: str | None) -> str:
    return (
        "write each with an offset"
        if zone_option is None
        else f"pass {zone_option} naming the zone they were recorded in"
    )


def _or_zone(zone_option: str | None) -> str:
    return "" if zone_option is None else f", or pass {zone_option} naming the time zone"


def _arrow_instants(
    col: Any, column: str, zone: _dt.tzinfo | None, at_format: str | None
) -> npt.NDArray[np.int64] | None:
    """Timestamps through pyarrow when every cell parses, else ``None``."""
    import pyarrow as pa

    pc = _compute()
    try:
        if at_format is not None:
            parsed = pc.strptime(col, format=at_format, unit="us", error_is_null=True)
            if parsed.null_count:
                return None
        elif zone is None:
            parsed = col.cast(pa.timestamp("us", tz="UTC"))  # only strings with an offset
        else:
            parsed = col.cast(pa.timestamp("us"))  # only strings without one
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    values = np.asarray(parsed.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    if at_format is not None and not _same_as_python(col, parsed, values, at_format):
        return None
    if parsed.type.tz is not None:
        return values
    if zone is None:  # at_format without %z: _check_format required a zone
        return None
    return wall_to_micros(values.view("datetime64[us]"), zone, column=column)


def _same_as_python(col: Any, parsed: Any, values: npt.NDArray[np.int64], at_format: str) -> bool:
    """Whether pyarrow's ``strptime`` read every cell as Python's does.

    pyarrow's ``strptime`` rolls impossible dates over (``2026-02-30`` becomes March 2nd)
    where Python's refuses them. A cell that prints back as written was read exactly; the
    others (no zero padding, another spelling of the offset...) are read again by Python.
    """
    import pyarrow as pa

    pc = _compute()
    try:
        echo = pc.strftime(parsed, format=at_format)
        differ = np.asarray(pc.not_equal(echo, col).to_numpy(zero_copy_only=False), dtype=bool)
    except pa.ArrowException:  # a format pyarrow cannot print: check every cell
        differ = np.ones(len(values), dtype=bool)
    rows = np.flatnonzero(differ)
    if rows.size == 0:
        return True
    cells = col.take(rows).to_pylist()
    try:
        again = _parse_instants(cells, "", _dt.UTC, at_format, None)
    except DataError:
        return False
    # Naive cells were read as wall-clock times in UTC, the way pyarrow's values are.
    return bool(np.array_equal(again, values[rows]))


def _parse_instants(
    cells: list[str],
    column: str,
    zone: _dt.tzinfo | None,
    at_format: str | None,
    zone_option: str | None,
) -> npt.NDArray[np.int64]:
    n = len(cells)
    out = np.zeros(n, dtype=np.int64)
    empty: list[int] = []
    bad: list[int] = []
    naive: list[int] = []
    naive_wall: list[int] = []
    for i, cell in enumerate(cells):
        text = cell.strip(_SPACES)
        if not text:
            empty.append(i)
            continue
        try:
            t = (
                _dt.datetime.strptime(text, at_format)
                if at_format is not None
                else _dt.datetime.fromisoformat(text)
            )
        except ValueError:
            bad.append(i)
            continue
        offset = t.utcoffset()
        # Arithmetic on timedeltas, not datetimes: an instant such as
        # 0001-01-01T00:00+01:00 lies before datetime.min in UTC but is still an instant.
        wall = (t.replace(tzinfo=None) - _EPOCH) // _US
        if offset is None:
            naive.append(i)
            naive_wall.append(wall)
        else:
            out[i] = wall - offset // _US
    if empty:
        raise DataError(column, "empty cells", empty)
    if bad:
        what = (
            f"values that do not match the format {at_format!r}"
            if at_format is not None
            else "values that are not ISO 8601 timestamps (such as 2026-11-27T10:00:00-05:00)"
        )
        raise DataError(column, what, bad)
    if naive and zone is None:
        problem = (
            "naive timestamps (no UTC offset); write them with one, such as "
            "2026-11-27T10:00:00-05:00"
            if zone_option is None
            else f"naive timestamps (no UTC offset); {_pass_zone(zone_option)}, or write "
            "them with an offset such as +00:00"
        )
        raise DataError(column, problem, naive)
    if naive:
        assert zone is not None
        rows = np.array(naive, dtype=np.int64)
        wall_us = np.array(naive_wall, dtype=np.int64).view("datetime64[us]")
        try:
            out[rows] = wall_to_micros(wall_us, zone, column=column)
        except DataError as exc:  # rows of the naive subset -> rows of the file
            raise DataError(exc.column, exc.problem, rows[list(exc.rows)], exc.count) from None
    return out


# ---------------------------------------------------------------------------- event logs


_TEXT_COLUMNS = ("kind", "channel", "initiator", "category", "campaign", "item")
_NUMBER_COLUMNS = ("value", "value_to_customer")


def read_event_columns(
    path: str | os.PathLike[str],
    names: Mapping[str, str],
    *,
    at_format: str | None = None,
    timezone: str | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    engine: Engine | None = None,
) -> dict[str, Any]:
    """The columns of an event file keyed by relcore's names, in the file's row order.

    ``names`` maps relcore's column (``customer_id``, ``at``, ``value``, ``kind``...) to
    the file's; see `event_columns`.
    """
    table = read_table(
        path, list(names.values()), delimiter=delimiter, encoding=encoding, engine=engine
    )
    return event_columns(table, names, at_format=at_format, timezone=timezone)


def event_columns(
    table: Table,
    names: Mapping[str, str],
    *,
    at_format: str | None = None,
    timezone: str | None = None,
) -> dict[str, Any]:
    """An event table's columns keyed by relcore's names (``names``: ours -> the file's).

    ``at`` comes back as int64 microseconds since the epoch, UTC; ``customer_id`` as
    text; ``value`` and ``value_to_customer`` as float64; labels as object arrays with
    ``None`` for empty cells (``kind`` may not be empty). Errors name the file's columns.
    """
    return _event_table_columns(table, names, at_format, timezone, as_read=False)


def _event_batch(
    table: Table,
    names: Mapping[str, str],
    at_format: str | None,
    timezone: str | None,
) -> dict[str, Any]:
    """`event_columns`, but text as the reader holds it: pyarrow columns stay
    pyarrow (labels dictionary-encoded, nulls for empty cells)."""
    return _event_table_columns(table, names, at_format, timezone, as_read=True)


def _event_table_columns(
    table: Table,
    names: Mapping[str, str],
    at_format: str | None,
    timezone: str | None,
    *,
    as_read: bool,
) -> dict[str, Any]:
    ids = table.id_text if as_read else table.ids
    labels = table.label_text if as_read else table.labels
    out: dict[str, Any] = {}
    for ours, theirs in names.items():
        if ours == "customer_id":
            out[ours] = ids(theirs)
        elif ours == "at":
            out[ours] = table.instants(theirs, timezone=timezone, at_format=at_format)
        elif ours in _NUMBER_COLUMNS:
            out[ours] = table.numbers(theirs)
        elif ours in _TEXT_COLUMNS:
            out[ours] = labels(theirs, required=ours == "kind")
        else:
            raise DataError(ours, f"is not a column of an event log (file column {theirs!r})")
    return out


class EventBatches(BatchedEvents):
    """An event file read a block of rows at a time, so that its text is never all held.

    Iterating yields each block's columns keyed by relcore's names, in the file's row
    order: ``at`` as int64 microseconds since the epoch (UTC), numbers as float64, text as
    the reader holds it (pyarrow columns, or object arrays from the careful reader);
    `read` joins them.

    A file with a problem is read to its end before the problem is raised, and then it is the
    [`DataError`][relcore.errors.DataError] `event_columns` raises for the whole file: the first
    check, in the order of ``names``, that any row fails, with every row of the file that fails it
    (rows count from the first data row of the file). A problem with the file's shape is raised at
    once, naming its line. ``check``, when given, is run on each block's columns after them (a
    [`DataError`][relcore.errors.DataError] it raises names rows of the block, and ranks after every
    problem of the columns).

    `table` stands for the whole file: its header, its rows counted so far, and
    `Table.locate` to find the line of a row.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "orders.csv"
    >>> _ = path.write_text("who,when\\na,2026-01-05T10:00Z\\nb,2026-01-06T11:00Z\\n")
    >>> batches = EventBatches(path, {"customer_id": "who", "at": "when"})
    >>> [len(b["at"]) for b in batches], batches.table.n_rows
    ([2], 2)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        names: Mapping[str, str],
        *,
        at_format: str | None = None,
        timezone: str | None = None,
        delimiter: str = ",",
        encoding: str = "utf-8",
        arg_names: Mapping[str, str] | None = None,
        engine: Engine | None = None,
        check: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__(dict(names), check)
        columns = list(names.values())
        fmt, header, wanted = _open(path, columns, (), None, delimiter, encoding, arg_names)
        self.table = Table(fmt, header, {}, 0)
        self._wanted = wanted
        self._at_format = at_format
        self._timezone = timezone
        self._engine = _engine(engine)

    def _batches(self) -> Iterator[Table]:
        return _batches(self.table._fmt, self.table.header, self._wanted, self._engine)

    def _size(self, batch: Table) -> int:
        return batch.n_rows

    def extent(self) -> tuple[int, str]:
        """The file's size in bytes: how far reading it goes."""
        return os.path.getsize(self.table.path), "B"

    def _done(self, batch: Table) -> int:
        return batch.bytes_read

    def _convert(self, batch: Table) -> dict[str, Any]:
        return _event_batch(batch, self._names, self._at_format, self._timezone)

    def _cell(self, batch: Table, column: str, row: int) -> str:
        return batch.cell(column, row)

    def _first_problem(self, column: str, cells: list[Any]) -> str | None:
        table = Table(self.table._fmt, self.table.header, {column: cells}, len(cells))
        ours = next(o for o, t in self._names.items() if t == column)
        try:
            _event_batch(table, {ours: column}, self._at_format, self._timezone)
        except DataError as exc:
            return exc.problem
        return None
