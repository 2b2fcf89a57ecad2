"""Periods of a customer-base summary: the grid they lie on and where each one starts.

Shared by the summary and the purchase models' diagnostics, which must cut time into
exactly the same periods.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .._time import US_PER_DAY, parse_instant, timedelta_micros

if TYPE_CHECKING:
    from .summary import Period

# pandas' weekly periods ("W" = "W-SUN") run Monday to Sunday; the Unix epoch fell on a
# Thursday, so weeks are counted from Monday 1969-12-29.
_WEEK_ANCHOR_US = -3 * US_PER_DAY


def period_grid(period: Period) -> tuple[int, int]:
    """``(length, anchor)`` in microseconds: period k is ``[anchor + k*length, ...)``."""
    if period == "D":
        return US_PER_DAY, 0
    if period == "W":
        return 7 * US_PER_DAY, _WEEK_ANCHOR_US
    if isinstance(period, _dt.timedelta):
        length = timedelta_micros(period)
        if length <= 0:
            raise ValueError(f"period must be a positive duration, got {period}")
        return length, 0
    raise ValueError(f"period must be 'D', 'W' or a timedelta, got {period!r}")


def end_instant(value: _dt.datetime | _dt.date | str, name: str) -> int:
    """An inclusive end: a date (or ``"YYYY-MM-DD"``) includes the whole of that UTC day."""
    if isinstance(value, str) and len(value) == 10:
        value = _dt.date.fromisoformat(value)
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return parse_instant(value, name) + US_PER_DAY - 1
    return parse_instant(value, name)


def period_starts(
    codes: npt.NDArray[np.int32], periods: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Mark the first row of each (customer, period) run.

    Rows are sorted by (customer, time), so periods are non-decreasing within a customer
    and each (customer, period) group is one contiguous run.
    """
    new = np.empty(codes.size, dtype=bool)
    if codes.size:
        new[0] = True
        np.not_equal(codes[1:], codes[:-1], out=new[1:])
        new[1:] |= periods[1:] != periods[:-1]
    return new
