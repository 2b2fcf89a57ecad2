"""pandas and polars DataFrames to the numpy columns ``EventLog.from_arrays`` takes.

Each adapter imports its library only when called. Text columns become object arrays with
``None`` for missing cells (so the log reports them rather than reading ``"nan"``);
timezone-aware timestamps become UTC ``datetime64`` values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._optional import require
from ..errors import DataError


def _check_present(names: Mapping[str, str], columns: list[str]) -> None:
    missing = [c for c in names.values() if c not in columns]
    if missing:
        raise DataError(missing[0], f"is not a column of the DataFrame ({columns})")


def pandas_columns(
    df: Any, names: Mapping[str, str], timezone: str | None
) -> tuple[dict[str, Any], str | None]:
    """Columns of a pandas DataFrame keyed by relcore's names, and the zone of ``at``."""
    pd = require("pandas", "pandas")
    _check_present(names, list(df.columns))

    def column(name: str) -> Any:
        s = df[name]
        textual = isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype)
        if textual or s.dtype == object:
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


def polars_columns(
    df: Any, names: Mapping[str, str], timezone: str | None
) -> tuple[dict[str, Any], str | None]:
    """Columns of a polars DataFrame keyed by relcore's names, and the zone of ``at``."""
    pl = require("polars", "polars")
    _check_present(names, list(df.columns))

    def column(name: str) -> Any:
        s = df.get_column(name)
        if s.dtype in (pl.String, pl.Categorical, pl.Enum):
            return np.array(s.cast(pl.String).to_list(), dtype=object)
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
