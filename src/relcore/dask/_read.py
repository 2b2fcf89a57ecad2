"""Parquet and CSV datasets of events into a Dask frame, validated file by file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from .._optional import require
from ..errors import DataError
from ..models import EventLog
from ._frames import EVENT_COLUMNS, LABEL_COLUMNS, coded_ids, libraries, text_dtype

if TYPE_CHECKING:
    import pandas as pd

# Rows of one partition read from a parquet file (whole row groups; a file with more is
# split at row-group boundaries). A partition's log costs a few hundred bytes a row while
# it is checked, so this keeps a task well under a gigabyte.
_PARTITION_ROWS = 2_000_000
_PARQUET = (".parquet", ".parq", ".pq")
_CSV = (".csv", ".tsv", ".txt")

FileFormat = Literal["parquet", "csv"]


@attrs.frozen
class _Piece:
    """Rows of one file that become one partition: row groups of a parquet file (none
    for a CSV file, read whole), the first of them counted from 0 within the file."""

    path: str
    row_groups: tuple[int, ...] = ()
    first_row: int = 0


def read_events(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    customer_id: str = "customer_id",
    at: str = "at",
    kind: str | None = None,
    value: str | None = None,
    value_to_customer: str | None = None,
    channel: str | None = None,
    initiator: str | None = None,
    category: str | None = None,
    campaign: str | None = None,
    item: str | None = None,
    timezone: str | None = None,
    file_format: FileFormat | None = None,
    at_format: str | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    partition_rows: int = _PARTITION_ROWS,
    storage_options: Mapping[str, Any] | None = None,
) -> Any:
    """A parquet or CSV dataset of events as a Dask frame with relcore's column names.

    Each partition is checked as
    [`relcore.models.EventLog.from_pandas`][relcore.models.EventLog.from_pandas] (parquet) or
    [`read_csv`][relcore.models.EventLog.read_csv] (CSV) checks a table, when it is computed: the
    same [`DataError`][relcore.errors.DataError], naming the file, and rows counted from 0 within
    that file. A parquet file becomes one partition, or several of whole row groups when it holds
    more than ``partition_rows`` rows; a CSV file is read whole into one partition, so split large
    CSV datasets into many files.

    Parameters
    ----------
    path
        A file, a directory (every file below it, except names starting with ``_`` or
        ``.``), a glob (``"orders/*.parquet"``) or a list of them. Any fsspec URL
        (``s3://…``) works when its filesystem is installed; on a cluster of several
        machines, every worker must be able to read it.
    customer_id, at, kind, value, value_to_customer
        The dataset's column names, as in [`from_pandas`][relcore.models.EventLog.from_pandas]
        (without ``kind``, every event is a purchase).
    channel, initiator, category, campaign, item
        Label columns, likewise.
    timezone
        The zone of naive timestamps (stored without one, or CSV text without an offset).
    file_format
        ``"parquet"`` or ``"csv"``; by default read from the first file's extension.
    at_format, delimiter, encoding
        CSV only, as in [`read_csv`][relcore.models.EventLog.read_csv].
    partition_rows
        Most rows in a partition read from parquet (whole row groups; at least one).
    storage_options
        Passed to fsspec (credentials of a remote store).

    Returns
    -------
    dask.dataframe.DataFrame
        One row per event with relcore's names for the columns given (``customer_id``, ``at`` as UTC
        timestamps, ``kind``, ``value``…), text as pyarrow strings. Customer ids keep their type:
        integers stay integers. Rows are sorted by customer and time within a partition; a
        customer's events may lie in several partitions (the functions of
        [`relcore.dask`][relcore.dask] shuffle them together).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> days = pd.to_datetime(["2026-01-01", "2026-01-05", "2026-01-02"])
    >>> pd.DataFrame({"client": ["a", "a", "b"], "day": days, "amount": [1.0, 3.0, 2.0]}
    ...              ).to_parquet(folder / "orders-1.parquet")
    >>> events = read_events(folder, customer_id="client", at="day", value="amount",
    ...                      timezone="UTC")
    >>> list(events.columns)
    ['customer_id', 'at', 'value']
    >>> events.compute()["value"].tolist()
    [1.0, 3.0, 2.0]

    A second file with a missing amount in its second row:

    >>> pd.DataFrame({"client": ["c", "d"], "day": days[:2], "amount": [4.0, None]}
    ...              ).to_parquet(folder / "orders-2.parquet")
    >>> read_events(folder, customer_id="client", at="day", value="amount",
    ...             timezone="UTC").compute()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    relcore.errors.DataError: column 'amount', 1 row (1): ... (in .../orders-2.parquet)
    """
    dd, pandas = libraries()
    names = {
        k: v
        for k, v in {
            "customer_id": customer_id, "at": at, "kind": kind, "value": value,
            "value_to_customer": value_to_customer, "channel": channel,
            "initiator": initiator, "category": category, "campaign": campaign, "item": item,
        }.items()
        if v is not None
    }  # fmt: skip
    if int(partition_rows) < 1:
        raise ValueError(f"partition_rows must be at least 1, got {partition_rows}")
    fs, files = _files(path, storage_options)
    fmt = file_format or _format_of(files[0])
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"file_format must be 'parquet' or 'csv', got {fmt!r}")
    text = text_dtype()
    if fmt == "parquet":
        ids = _parquet_id_dtype(fs, files[0], customer_id, text)
        pieces = [p for f in files for p in _parquet_pieces(fs, f, int(partition_rows))]
    else:
        ids = text  # relcore's CSV reader keeps ids as text
        pieces = [_Piece(f) for f in files]
    columns: dict[str, Any] = {"customer_id": ids, "at": pandas.DatetimeTZDtype("us", "UTC")}
    for name in EVENT_COLUMNS[2:]:
        if name in names:
            columns[name] = text if name in LABEL_COLUMNS else np.dtype(np.float64)
    meta: pd.DataFrame = pandas.DataFrame(
        {k: pandas.Series([], dtype=v) for k, v in columns.items()}
    )
    reader = _Reader(fs, fmt, names, meta, timezone, at_format, delimiter, encoding)
    return dd.from_map(reader, pieces, meta=meta, label="read-events", enforce_metadata=False)


def _files(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    storage_options: Mapping[str, Any] | None,
) -> tuple[Any, list[str]]:
    """The filesystem and the sorted files that ``path`` names."""
    fsspec = require("fsspec", "dask")
    given = [path] if isinstance(path, str | os.PathLike) else list(path)
    if not given:
        raise ValueError("no path given")
    fs = None
    files: list[str] = []
    for one in given:
        fs, _, found = fsspec.core.get_fs_token_paths(
            os.fspath(one), storage_options=dict(storage_options or {})
        )
        matched = []
        for entry in found:
            if fs.isdir(entry):
                matched += [
                    f for f in fs.find(entry) if not os.path.basename(f).startswith(("_", "."))
                ]
            elif fs.exists(entry):
                matched.append(entry)
        if not matched:
            raise FileNotFoundError(f"no files found at {os.fspath(one)!r}")
        files += sorted(matched)
    return fs, files


def _format_of(path: str) -> FileFormat:
    lower = path.lower()
    if lower.endswith(_PARQUET):
        return "parquet"
    if lower.endswith(_CSV):
        return "csv"
    raise ValueError(f"cannot tell the format of {path!r} from its name; pass file_format=")


def _parquet_id_dtype(fs: Any, path: str, column: str, text: Any) -> Any:
    """int64 when the first file stores integer ids, else text."""
    pa = require("pyarrow", "arrow")
    pq = require("pyarrow.parquet", "arrow")
    with fs.open(path, "rb") as fh:
        schema = pq.read_schema(fh)
    if column not in schema.names:
        raise DataError(column, f"is not a column of {path} ({schema.names})")
    return np.dtype(np.int64) if pa.types.is_integer(schema.field(column).type) else text


def _parquet_pieces(fs: Any, path: str, partition_rows: int) -> list[_Piece]:
    """Runs of whole row groups of at most ``partition_rows`` rows (at least one group)."""
    pq = require("pyarrow.parquet", "arrow")
    with fs.open(path, "rb") as fh:
        meta = pq.ParquetFile(fh).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    pieces: list[_Piece] = []
    groups: list[int] = []
    first = rows = 0
    for i, size in enumerate(sizes):
        if groups and rows + size > partition_rows:
            pieces.append(_Piece(path, tuple(groups), first))
            first, groups, rows = first + rows, [], 0
        groups.append(i)
        rows += size
    if groups or not pieces:
        pieces.append(_Piece(path, tuple(groups), first))
    return pieces


@attrs.frozen
class _Reader:
    """Reads one piece, checks it as an event log, returns relcore's columns."""

    fs: Any
    fmt: FileFormat
    names: dict[str, str]
    meta: Any
    timezone: str | None
    at_format: str | None
    delimiter: str
    encoding: str

    def __call__(self, piece: _Piece) -> pd.DataFrame:
        try:
            log, ids = self._parquet(piece) if self.fmt == "parquet" else self._csv(piece)
        except DataError as exc:
            rows = [piece.first_row + r for r in exc.rows]
            raise DataError(
                exc.column, f"{exc.problem} (in {piece.path})", rows, exc.count
            ) from None
        return self._frame(log, ids, piece)

    def _parquet(self, piece: _Piece) -> tuple[EventLog, Any]:
        pandas = require("pandas", "pandas")
        pa = require("pyarrow", "arrow")
        pq = require("pyarrow.parquet", "arrow")
        wanted = list(dict.fromkeys(self.names.values()))
        with self.fs.open(piece.path, "rb") as fh:
            pf = pq.ParquetFile(fh)
            present = pf.schema_arrow.names
            missing = [c for c in wanted if c not in present]
            if missing:
                raise DataError(missing[0], f"is not a column of the file ({present})")
            table = pf.read_row_groups(list(piece.row_groups), columns=wanted)
        arrow_text = {
            pa.string(): pandas.StringDtype("pyarrow"),
            pa.large_string(): pandas.StringDtype("pyarrow"),
        }
        frame = table.to_pandas(types_mapper=arrow_text.get)
        column = self.names["customer_id"]
        coded = coded_ids(frame[column], column)  # see relcore.dask._frames.partition_log
        if coded is None:
            return EventLog.from_pandas(frame, **self.names, timezone=self.timezone), None
        codes, ids = coded
        frame[column] = codes
        return EventLog.from_pandas(frame, **self.names, timezone=self.timezone), ids

    def _csv(self, piece: _Piece) -> tuple[EventLog, Any]:
        options: dict[str, Any] = {
            "at_format": self.at_format,
            "timezone": self.timezone,
            "delimiter": self.delimiter,
            "encoding": self.encoding,
        }
        if _is_local(self.fs):
            return EventLog.read_csv(piece.path, **self.names, **options), None
        # relcore's CSV reader reads local files: a remote one is copied next to the worker
        with tempfile.TemporaryDirectory() as folder:
            local = os.path.join(folder, os.path.basename(piece.path) or "events.csv")
            self.fs.get(piece.path, local)
            return EventLog.read_csv(local, **self.names, **options), None

    def _frame(self, log: EventLog, ids: Any, piece: _Piece) -> pd.DataFrame:
        """relcore's columns of a checked log, with the dtypes of ``meta``; ``ids[c]`` is
        the id of the customer the log knows as ``c`` (None: the log holds the ids)."""
        pandas = require("pandas", "pandas")
        id_type = self.meta["customer_id"].dtype
        text = ids is not None or log.customers.dtype.kind not in "iu"
        if text != (id_type.kind not in "iu"):
            have, want = ("text", "integers") if text else ("integers", "text")
            raise DataError(
                self.names["customer_id"],
                f"holds {have} in {piece.path}, where the dataset's first file holds {want}",
            )
        codes = log.customer_codes
        data: dict[str, Any] = {}
        if ids is not None:
            data["customer_id"] = ids.take(log.customers[codes]).astype(id_type)
        elif text:
            data["customer_id"] = _text(log.customers, codes, id_type)
        else:
            data["customer_id"] = log.customers[codes]
        data["at"] = pandas.DatetimeIndex(log.times).tz_localize("UTC")
        for name in self.meta.columns:
            if name in ("customer_id", "at"):
                continue
            if name in LABEL_COLUMNS:
                labels = getattr(log, name)
                table = np.array(labels.categories, dtype=object)
                data[name] = _text(table, labels.codes, self.meta[name].dtype)
            else:
                data[name] = np.array(getattr(log, name), dtype=np.float64)
        out: pd.DataFrame = pandas.DataFrame(data, columns=self.meta.columns)
        return out


def _text(table: npt.NDArray[Any], codes: npt.NDArray[Any], dtype: Any) -> Any:
    """``table[codes]`` as a text column of ``dtype`` (code -1: missing), gathered by
    pyarrow when the column is pyarrow strings (ten times faster than converting the
    gathered numpy text)."""
    pandas = require("pandas", "pandas")
    if isinstance(dtype, np.dtype):  # object: no pyarrow
        return np.array([*table.tolist(), None], dtype=object)[codes]
    pa = require("pyarrow", "arrow")
    values = pa.array(table.tolist(), type=pa.string())
    return pandas.arrays.ArrowStringArray(values.take(pa.array(codes, mask=codes < 0)))


def _is_local(fs: Any) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")
