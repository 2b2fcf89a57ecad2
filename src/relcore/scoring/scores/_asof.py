"""The "as of" instant and exponential decay shared by the relationship scores.

Every score is computed as of an instant ``at``: events after it are ignored (they had not
happened yet), so one log can be scored at several past instants, e.g. to back-test a
score against what followed. Each event counts with weight ``2 ** (-(at - t) / half_life)``:
1 for an event at ``at``, 1/2 for one a half-life earlier.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import numpy.typing as npt

from ..._time import from_micros, parse_instant, timedelta_micros

FloatArray = npt.NDArray[np.float64]


def as_of(at: _dt.datetime | str) -> int:
    """Microseconds (UTC) of the scoring instant; a naive datetime raises ``ValueError``."""
    if isinstance(at, _dt.date) and not isinstance(at, _dt.datetime):
        raise TypeError("at must be a timezone-aware datetime, not a date")
    return parse_instant(at, "at")


def as_of_datetime(now_us: int) -> _dt.datetime:
    """The scoring instant as an aware UTC datetime, for result objects."""
    return from_micros(now_us)


def duration_micros(value: _dt.timedelta, name: str) -> float:
    """A positive duration in microseconds (``ValueError`` otherwise)."""
    if not isinstance(value, _dt.timedelta):
        raise TypeError(f"{name} must be a datetime.timedelta, got {type(value).__name__}")
    us = timedelta_micros(value)
    if us <= 0:
        raise ValueError(f"{name} must be a positive duration, got {value}")
    return float(us)


def decay(
    times: npt.NDArray[np.int64], now_us: int | npt.NDArray[np.int64], half_life_us: float
) -> FloatArray:
    """``2 ** ((t - now) / half_life)`` for event times ``t <= now`` (values in (0, 1])."""
    out: FloatArray = np.exp2((times - now_us) / half_life_us)
    return out
