"""Parquet files: reading the columns of an event log (whole, or a batch of rows at a
time), writing result tables.

All need pyarrow (the ``arrow`` extra), imported when called.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .._columns import is_arrow_text
from .._optional import require
from .._validation import check_mask
from ..errors import DataError
from ._batches import BatchedEvents, FileError

__all__ = ["ParquetEventBatches", "ParquetTable", "read_columns", "write_columns"]


def read_columns(path: str | os.PathLike[str], columns: Sequence[str]) -> Any:
    """The named columns of a Parquet file, as a pyarrow Table.

    A column the file lacks is a [`DataError`][relcore.errors.DataError] naming it and listing the
    file's columns; a file that is not Parquet is one naming the file.
    """
    pa = require("pyarrow", "arrow")
    pq = require("pyarrow.parquet", "arrow")
    where = os.fspath(path)
    try:
        schema = pq.read_schema(where)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise FileError(where, f"could not be read as Parquet ({exc})") from None
    _check_columns(where, list(schema.names), columns)
    try:
        return pq.read_table(where, columns=list(columns))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise FileError(where, f"could not be read as Parquet ({exc})") from None


def write_columns(
    columns: Mapping[str, npt.NDArray[Any]],
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write equal-length numpy columns to a Parquet file (``metadata``: key-value pairs
    stored in the file's schema).

    Text columns are written as UTF-8 strings (``None`` as null), integers and floats as
    themselves, ``datetime64`` instants as timestamps in UTC (``NaT`` as null). The file is
    written whole or not at all: a failure leaves no partial file behind.
    """
    pa = require("pyarrow", "arrow")
    pq = require("pyarrow.parquet", "arrow")
    arrays = {}
    for name, values in columns.items():
        arr = np.asarray(values)
        if arr.dtype.kind == "U":  # pyarrow converts fixed-width text to string only
            arrays[name] = pa.array(arr).cast(pa.large_string())
        elif arr.dtype == object:
            arrays[name] = pa.array(arr, type=pa.large_string())
        elif arr.dtype.kind == "M":
            us = arr.astype("datetime64[us]")
            arrays[name] = pa.array(
                us.view(np.int64), mask=np.isnat(us), type=pa.timestamp("us", tz="UTC")
            )
        else:
            arrays[name] = pa.array(arr)
    table = pa.table(arrays)
    if metadata:
        table = table.replace_schema_metadata({str(k): str(v) for k, v in metadata.items()})
    target = os.fspath(path)
    try:
        pq.write_table(table, target)
    except BaseException:
        if os.path.exists(target):
            os.remove(target)
        raise


# ---------------------------------------------------------------------------- batches

# Rows read from a Parquet file at a time.
BATCH_ROWS = 1 << 20


class ParquetFile:
    """A Parquet file as a whole: its columns, rows read so far, and where a row is."""

    def __init__(self, path: str, file: Any) -> None:
        self.path = path
        self.header = tuple(file.schema_arrow.names)
        self.n_rows = 0
        self._file = file

    def locate(
        self, rows: Sequence[int], column: str | None = None
    ) -> list[tuple[int, int | None, str | None]]:
        """``(row, None, value)`` for rows of the file: a Parquet file has no lines."""
        wanted = sorted({int(r) for r in rows if 0 <= int(r) < self.n_rows})
        if column is None or column not in self.header:
            return [(r, None, None) for r in wanted]
        meta = self._file.metadata
        starts = np.cumsum([0, *(meta.row_group(i).num_rows for i in range(meta.num_row_groups))])
        out: list[tuple[int, int | None, str | None]] = []
        for row in wanted:
            group = int(np.searchsorted(starts, row, side="right")) - 1
            values = self._file.read_row_group(group, columns=[column]).column(0)
            value = values[row - int(starts[group])].as_py()
            out.append((row, None, None if value is None else str(value)))
        return out


class ParquetTable(ParquetFile):
    """Named columns of a Parquet file, read whole and converted as
    `relcore.io.csv.Table` converts a CSV file's (`ids`, `numbers`,
    `labels`): typed columns as they are, text by the CSV reader's rules; a null is a
    missing value. Errors name the file's columns and rows; `locate` finds a row's
    value.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pyarrow as pa, pyarrow.parquet as pq
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.parquet"
    >>> pq.write_table(pa.table({"id": ["00042", "NA"], "f": [1, 2.5]}), path)
    >>> table = ParquetTable(path, ["id", "f"])
    >>> table.ids("id").tolist(), table.numbers("f").tolist()
    (['00042', 'NA'], [1.0, 2.5])
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        columns: Sequence[str],
        *,
        optional: Sequence[str] = (),
    ) -> None:
        pa = require("pyarrow", "arrow")
        pq = require("pyarrow.parquet", "arrow")
        where = os.fspath(path)
        try:
            file = pq.ParquetFile(where)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise FileError(where, f"could not be read as Parquet ({exc})") from None
        super().__init__(where, file)
        wanted = [*columns, *(c for c in optional if c in self.header and c not in columns)]
        _check_columns(where, list(self.header), wanted)
        try:
            self._table = file.read(columns=wanted)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise FileError(where, f"could not be read as Parquet ({exc})") from None
        self.n_rows = int(self._table.num_rows)

    def __contains__(self, name: str) -> bool:
        return name in self._table.column_names

    def _column(self, name: str) -> Any:
        import pyarrow as pa

        col = self._table.column(name).combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        return col

    def ids(self, name: str) -> npt.NDArray[Any]:
        """Text ids exactly as written (an empty one is an error), or whole numbers."""
        import pyarrow as pa

        col = self._column(name)
        if col.null_count:
            check_mask(name, np.asarray(col.is_null()), "missing values")
        if pa.types.is_integer(col.type):
            return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.int64)
        if not is_arrow_text(col.type):
            raise DataError(name, f"holds {col.type}; ids are text or whole numbers")
        ids: npt.NDArray[Any] = _text_table(col, name, self.path, {}).ids(name)
        return ids

    def numbers(self, name: str) -> npt.NDArray[np.float64]:
        """Finite numbers: a numeric column, or text read as the CSV reader reads numbers."""
        col = self._column(name)
        if col.null_count:
            check_mask(name, np.asarray(col.is_null()), "missing values")
        return _numbers(col, name, self.path)

    def labels(self, name: str, *, required: bool = False) -> npt.NDArray[np.object_]:
        """Text labels, ``None`` for a null or empty one (an error if ``required``)."""
        col = self._column(name)
        if not is_arrow_text(col.type):
            raise DataError(name, f"holds {col.type}; labels are text")
        if required and col.null_count:
            check_mask(name, np.asarray(col.is_null()), "missing values")
        labels: npt.NDArray[np.object_] = _text_table(
            col.fill_null(""), name, self.path, {}
        ).labels(name, required=required)
        return labels


class ParquetEventBatches(BatchedEvents):
    """An event Parquet file read a batch of rows at a time, with the contract of
    `relcore.io.csv.EventBatches` (the same error for the whole file, rows counted
    from the first).

    Columns may be typed or text. Ids: text or whole numbers. ``at``: timestamps with a
    time zone (instants), without one or dates (wall-clock times in ``timezone``), or text
    read as the CSV reader reads it (ISO 8601, or ``at_format``). Values: numbers, or text
    read as the CSV reader reads numbers. Labels: text. A null is a missing value, an error
    except in a label. ``arg_names`` says how the caller spells ``timezone=``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        names: Mapping[str, str],
        *,
        at_format: str | None = None,
        timezone: str | None = None,
        arg_names: Mapping[str, str] | None = None,
        check: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__(dict(names), check)
        pa = require("pyarrow", "arrow")
        pq = require("pyarrow.parquet", "arrow")
        where = os.fspath(path)
        try:
            file = pq.ParquetFile(where)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise FileError(where, f"could not be read as Parquet ({exc})") from None
        self.table = ParquetFile(where, file)
        _check_columns(where, list(self.table.header), list(names.values()))
        self._file = file
        self._at_format = at_format
        self._timezone = timezone
        self._arg_names = dict(arg_names or {})

    def _batches(self) -> Iterator[Any]:
        columns = list(dict.fromkeys(self._names.values()))
        return iter(self._file.iter_batches(batch_size=BATCH_ROWS, columns=columns))

    def _size(self, batch: Any) -> int:
        return int(batch.num_rows)

    def extent(self) -> tuple[int, str]:
        """The file's rows: how far reading it goes."""
        return int(self._file.metadata.num_rows), "rows"

    def _convert(self, batch: Any) -> dict[str, Any]:
        return _arrow_events(
            batch, self._names, self._at_format, self._timezone, self._arg_names, self.table.path
        )

    def _cell(self, batch: Any, column: str, row: int) -> Any:
        return batch.column(column)[row]

    def _first_problem(self, column: str, cells: list[Any]) -> str | None:
        import pyarrow as pa

        values = pa.array([c.as_py() for c in cells], type=cells[0].type)
        ours = next(o for o, t in self._names.items() if t == column)
        try:
            _arrow_events(
                pa.record_batch([values], names=[column]), {ours: column}, self._at_format,
                self._timezone, self._arg_names, self.table.path,
            )  # fmt: skip
        except DataError as exc:
            return exc.problem
        return None


def _check_columns(where: str, header: list[str], columns: Sequence[str]) -> None:
    for name in columns:
        if name not in header:
            shown = ", ".join(map(repr, header))
            raise DataError(name, f"is not a column of {where} (its columns: {shown})")
        if header.count(name) > 1:
            raise DataError(name, f"appears {header.count(name)} times in {where}")


def _arrow_events(
    batch: Any,
    names: Mapping[str, str],
    at_format: str | None,
    timezone: str | None,
    arg_names: Mapping[str, str],
    path: str,
) -> dict[str, Any]:
    """A batch's columns keyed by relcore's names, as `ParquetEventBatches` reads
    them; errors name the file's columns and the batch's rows."""
    import pyarrow as pa

    out: dict[str, Any] = {}
    for ours, theirs in names.items():
        col = batch.column(theirs)
        kind = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        text = is_arrow_text(kind)
        if ours != "customer_id" and ours not in _LABELS and col.null_count:
            check_mask(theirs, np.asarray(col.is_null()), "missing values")
        if ours == "customer_id":
            if not (text or pa.types.is_integer(kind)):
                raise DataError(theirs, f"holds {col.type}; ids are text or whole numbers")
            out[ours] = pa.chunked_array([col])
        elif ours == "at":
            out[ours] = _instants(col, theirs, at_format, timezone, arg_names, path)
        elif ours in ("value", "value_to_customer"):
            out[ours] = _numbers(col, theirs, path)
        elif ours in _LABELS:
            if not text:
                raise DataError(theirs, f"holds {col.type}; labels are text")
            if ours == "kind" and col.null_count:
                check_mask(theirs, np.asarray(col.is_null()), "missing values")
            out[ours] = pa.chunked_array([col])
        else:
            raise DataError(ours, f"is not a column of an event log (file column {theirs!r})")
    return out


_LABELS = ("kind", "channel", "initiator", "category", "campaign", "item")


def _text_table(col: Any, name: str, path: str, arg_names: Mapping[str, str]) -> Any:
    """A text column as the CSV reader's table, to read it by the CSV reader's rules."""
    import pyarrow as pa

    from .csv import Table, _Format

    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if not pa.types.is_string(col.type):
        col = col.cast(pa.string())
    fmt = _Format(path, ",", "utf-8", arg_names)
    return Table(fmt, (name,), {name: pa.chunked_array([col])}, len(col))


def _instants(
    col: Any,
    name: str,
    at_format: str | None,
    timezone: str | None,
    arg_names: Mapping[str, str],
    path: str,
) -> npt.NDArray[np.int64]:
    import pyarrow as pa

    from .._time import datetimes_to_micros

    t = col.type
    if is_arrow_text(t):
        table = _text_table(col, name, path, arg_names)
        parsed: npt.NDArray[np.int64] = table.instants(name, timezone=timezone, at_format=at_format)
        return parsed
    if pa.types.is_timestamp(t) and t.tz is not None:
        zone = "UTC"  # Arrow keeps instants as UTC counts whatever zone it shows them in
    elif pa.types.is_timestamp(t) or pa.types.is_date(t):
        if timezone is None:
            option = arg_names.get("timezone", "timezone=")
            raise DataError(
                name,
                f"holds times without a time zone; pass {option} naming the zone they "
                "were recorded in",
            )
        zone = timezone
    else:
        raise DataError(name, f"holds {t}; times are timestamps, dates or ISO 8601 text")
    from .csv import _FIRST_US, _LAST_US

    values: npt.NDArray[np.int64] = datetimes_to_micros(
        col.to_numpy(zero_copy_only=False), column=name, timezone=zone
    )
    # as the CSV reader: no datetime could show a time beyond these years
    check_mask(
        name, (values < _FIRST_US) | (values > _LAST_US), "times outside the years 1 to 9999 in UTC"
    )
    return values


def _numbers(col: Any, name: str, path: str) -> npt.NDArray[np.float64]:
    import pyarrow as pa

    t = col.type
    if is_arrow_text(t):
        parsed: npt.NDArray[np.float64] = _text_table(col, name, path, {}).numbers(name)
        return parsed
    if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
        raise DataError(name, f"holds {t}; values are numbers")
    values = np.asarray(col.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    check_mask(name, ~np.isfinite(values), "values that are infinite or NaN")
    return values
