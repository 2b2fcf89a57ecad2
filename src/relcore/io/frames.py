"""pandas, polars and pyarrow tables to the columns ``EventLog.from_arrays`` takes.

Each adapter imports its library only when called. Text columns stay in pyarrow where the
frame already holds them there (pandas' ``str`` dtype, polars, Arrow tables), so ids are
hashed in place rather than turned into millions of Python strings; missing cells become
nulls (or ``None``), which the log reports rather than reading ``"nan"``. Timezone-aware
timestamps become UTC ``datetime64`` values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._columns import is_arrow_text
from .._optional import require
from ..errors import DataError


def _check_present(names: Mapping[str, str], columns: list[str]) -> None:
    missing = [c for c in names.values() if c not in columns]
    if missing:
        raise DataError(missing[0], f"is not a column of the DataFrame ({columns})")


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def pandas_columns(
    df: Any, names: Mapping[str, str], timezone: str | None
) -> tuple[dict[str, Any], str | None]:
    """Columns of a pandas DataFrame keyed by relcore's names, and the zone of ``at``."""
    pd = require("pandas", "pandas")
    _check_present(names, list(df.columns))
    arrow = _has_pyarrow()

    def column(name: str) -> Any:
        s = df[name]
        dtype = s.dtype
        if arrow and _pandas_arrow_text(pd, dtype):
            return _arrow_column(s.array)
        textual = isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)
        if textual or dtype == np.dtype(object):
            return s.astype(object).where(s.notna(), None).to_numpy(dtype=object)
        return s.to_numpy()

    out = {ours: column(theirs) for ours, theirs in names.items() if ours != "at"}
    times = df[names["at"]]
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        if timezone is not None:
            raise DataError(names["at"], "is timezone-aware already; drop timezone=")
        out["at"] = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        return out, "UTC"
    out["at"] = times.to_numpy() if timezone is not None else column(names["at"])
    return out, timezone


def _pandas_arrow_text(pd: Any, dtype: Any) -> bool:
    """Whether a pandas column holds its text in pyarrow already (pandas 3's ``str``,
    ``string[pyarrow]``, an Arrow string dtype) or is a categorical of strings."""
    import pyarrow as pa

    if isinstance(dtype, pd.CategoricalDtype):
        return bool(pd.api.types.infer_dtype(dtype.categories, skipna=False) == "string")
    if isinstance(dtype, pd.StringDtype):
        return bool(dtype.storage == "pyarrow")
    if isinstance(dtype, pd.ArrowDtype):
        t = dtype.pyarrow_dtype
        return bool(pa.types.is_string(t) or pa.types.is_large_string(t))
    return False


def _arrow_column(values: Any) -> Any:
    import pyarrow as pa

    col = pa.array(values)
    return col if isinstance(col, pa.ChunkedArray) else pa.chunked_array([col])


def polars_columns(
    df: Any, names: Mapping[str, str], timezone: str | None
) -> tuple[dict[str, Any], str | None]:
    """Columns of a polars DataFrame (or LazyFrame, collected with just these columns)
    keyed by relcore's names, and the zone of ``at``."""
    pl = require("polars", "polars")
    if isinstance(df, pl.LazyFrame):
        _check_present(names, df.collect_schema().names())
        df = df.select(list(dict.fromkeys(names.values()))).collect()
    _check_present(names, list(df.columns))
    arrow = _has_pyarrow()

    def column(name: str) -> Any:
        s = df.get_column(name)
        if s.dtype in (pl.String, pl.Categorical, pl.Enum):
            if arrow:
                return _arrow_column(s.to_arrow())
            return s.cast(pl.String).to_numpy()
        if s.dtype.is_float() or s.dtype.is_integer():
            return s.to_numpy()
        return np.array(s.to_list(), dtype=object)

    out = {ours: column(theirs) for ours, theirs in names.items() if ours != "at"}
    times = df.get_column(names["at"])
    if isinstance(times.dtype, pl.Datetime) and times.dtype.time_zone is not None:
        if timezone is not None:
            raise DataError(names["at"], "is timezone-aware already; drop timezone=")
        utc = times.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        out["at"] = utc.to_numpy()
        return out, "UTC"
    is_datetime = isinstance(times.dtype, pl.Datetime)
    out["at"] = times.to_numpy() if is_datetime else column(names["at"])
    return out, timezone


def arrow_columns(
    table: Any, names: Mapping[str, str], timezone: str | None
) -> tuple[dict[str, Any], str | None]:
    """Columns of a pyarrow Table (or RecordBatch) keyed by relcore's names, and the zone
    of ``at``.

    Text and dictionary columns stay in pyarrow; numbers become numpy (a null number is
    NaN, which the log refuses by row). ``at`` may be a timestamp column (with a time zone:
    instants; without one: wall-clock times in ``timezone``), a date column (with
    ``timezone``) or text (ISO 8601 with offsets).
    """
    pa = require("pyarrow", "arrow")
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    if not isinstance(table, pa.Table):
        raise TypeError(f"expected a pyarrow Table or RecordBatch, got {type(table).__name__}")
    header = list(table.column_names)
    _check_present(names, header)
    for name in dict.fromkeys(names.values()):
        if header.count(name) > 1:
            raise DataError(name, f"appears {header.count(name)} times in the table")

    def column(name: str) -> Any:
        col = table.column(name)
        t = col.type
        if pa.types.is_dictionary(t) or is_arrow_text(t):
            return col
        return col.to_numpy()

    out = {
        ours: column(theirs) for ours, theirs in names.items() if ours not in ("customer_id", "at")
    }
    out["customer_id"] = table.column(names["customer_id"])  # integers or text: the log decides
    times = table.column(names["at"])
    if pa.types.is_timestamp(times.type) and times.type.tz is not None:
        if timezone is not None:
            raise DataError(names["at"], "is timezone-aware already; drop timezone=")
        # Arrow keeps instants as UTC counts whatever zone it shows them in: datetime64 UTC.
        out["at"] = times.to_numpy()
        return out, "UTC"
    out["at"] = times.to_numpy()
    return out, timezone
