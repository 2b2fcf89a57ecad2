"""CSV input through pyarrow's multi-threaded reader (the ``arrow`` extra)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._optional import require
from ..errors import DataError

_TEXT_COLUMNS = ("customer_id", "kind", "channel", "initiator", "category", "campaign", "item")


def read_event_columns(
    path: str | os.PathLike[str],
    names: Mapping[str, str],
    *,
    at_format: str | None = None,
    timezone: str | None = None,
    delimiter: str = ",",
) -> tuple[dict[str, Any], str | None]:
    """Read the named columns of a CSV file as numpy arrays keyed by relcore's names.

    Returns the columns and the zone ``at`` must be read in (``timezone``, or ``"UTC"`` for
    timestamps that carried an offset). Text columns come back as object arrays with
    ``None`` for empty cells; ids are never parsed as numbers, so ``00042`` stays ``00042``.
    """
    pa = require("pyarrow", "arrow")
    pcsv = require("pyarrow.csv", "arrow")
    pc = require("pyarrow.compute", "arrow")
    column_types = {names[k]: pa.string() for k in (*_TEXT_COLUMNS, "at") if k in names}
    try:
        table = pcsv.read_csv(
            os.fspath(path),
            parse_options=pcsv.ParseOptions(delimiter=delimiter),
            convert_options=pcsv.ConvertOptions(
                include_columns=list(names.values()),
                column_types=column_types,
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        message = str(exc)
        for theirs in names.values():
            if f"'{theirs}'" in message and "not exist" in message:
                raise DataError(theirs, f"is not a column of {os.fspath(path)}") from None
        raise DataError(os.fspath(path), f"could not be read as CSV: {message}") from None

    out: dict[str, Any] = {}
    for ours, theirs in names.items():
        col = table.column(theirs)
        if ours == "at":
            continue
        if ours in _TEXT_COLUMNS:
            out[ours] = np.array(col.to_pylist(), dtype=object)
        else:
            if not pa.types.is_floating(col.type) and not pa.types.is_integer(col.type):
                if pa.types.is_null(col.type):
                    raise DataError(theirs, "is empty in every row")
                bad = _non_numeric_rows(col.to_pylist())
                raise DataError(theirs, "values that are not numbers", bad)
            out[ours] = col.to_numpy(zero_copy_only=False).astype(np.float64)
            nulls = np.asarray(col.is_null().to_numpy(zero_copy_only=False))
            if nulls.any():
                raise DataError.from_mask(theirs, nulls, "empty cells")

    text = table.column(names["at"])
    if at_format is not None:
        if timezone is None:
            raise DataError(
                names["at"],
                f"is read with at_format={at_format!r}, which has no zone: pass timezone=",
            )
        try:
            parsed = pc.strptime(text, format=at_format, unit="us", error_is_null=True)
        except pa.ArrowInvalid as exc:
            raise DataError(names["at"], f"could not be parsed with {at_format!r}: {exc}") from None
        failed = np.asarray(parsed.is_null().to_numpy(zero_copy_only=False))
        if failed.any():
            raise DataError.from_mask(
                names["at"], failed, f"values that do not match {at_format!r}"
            )
        out["at"] = parsed.to_numpy(zero_copy_only=False).astype("datetime64[us]")
        return out, timezone
    if timezone is not None:
        # Naive ISO timestamps in a stated zone: let arrow parse, we localise exactly.
        try:
            parsed = pc.cast(text, pa.timestamp("us"))
        except pa.ArrowInvalid:
            out["at"] = np.array(text.to_pylist(), dtype=object)
            return out, None  # the object path reports the offending rows
        out["at"] = parsed.to_numpy(zero_copy_only=False).astype("datetime64[us]")
        return out, timezone
    # Timestamps with offsets: the object path parses and validates each one, and names
    # the rows that are naive or unparseable.
    try:
        parsed = pc.cast(text, pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        out["at"] = np.array(text.to_pylist(), dtype=object)
        return out, None
    out["at"] = parsed.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    return out, "UTC"


def _non_numeric_rows(values: list[Any]) -> list[int]:
    bad = []
    for i, v in enumerate(values):
        try:
            float(v)
        except (TypeError, ValueError):
            bad.append(i)
    return bad
