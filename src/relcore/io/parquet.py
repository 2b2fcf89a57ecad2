"""Parquet files: reading the columns of an event log, writing result tables.

Both need pyarrow (the ``arrow`` extra), imported when called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .._optional import require
from ..errors import DataError
from .csv import _FileError

__all__ = ["read_columns", "write_columns"]


def read_columns(path: str | os.PathLike[str], columns: Sequence[str]) -> Any:
    """The named columns of a Parquet file, as a pyarrow Table.

    A column the file lacks is a :class:`~relcore.DataError` naming it and listing the
    file's columns; a file that is not Parquet is one naming the file.
    """
    pa = require("pyarrow", "arrow")
    pq = require("pyarrow.parquet", "arrow")
    where = os.fspath(path)
    try:
        schema = pq.read_schema(where)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise _FileError(where, f"could not be read as Parquet ({exc})") from None
    header = list(schema.names)
    for name in columns:
        if name not in header:
            shown = ", ".join(map(repr, header))
            raise DataError(name, f"is not a column of {where} (its columns: {shown})")
        if header.count(name) > 1:
            raise DataError(name, f"appears {header.count(name)} times in {where}")
    try:
        return pq.read_table(where, columns=list(columns))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise _FileError(where, f"could not be read as Parquet ({exc})") from None


def write_columns(
    columns: Mapping[str, npt.NDArray[Any]],
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write equal-length numpy columns to a Parquet file (``metadata``: key-value pairs
    stored in the file's schema).

    Text columns are written as UTF-8 strings, integers and floats as themselves. The
    file is written whole or not at all: a failure leaves no partial file behind.
    """
    pa = require("pyarrow", "arrow")
    pq = require("pyarrow.parquet", "arrow")
    arrays = {}
    for name, values in columns.items():
        arr = np.asarray(values)
        if arr.dtype.kind == "U" or arr.dtype == object:
            arrays[name] = pa.array(arr, type=pa.large_string())
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
