"""The customer's wall clock: calendar periods and times of day in an IANA zone.

Contact rules speak in the customer's local time ("no more than one contact per calendar
day", "nothing between 21:00 and 08:00") while the ledger keeps UTC microseconds. Two
facts make the conversion exact across daylight-saving changes:

* the UTC offset is constant between a zone's transitions, so the wall clock advances
  with real time inside each stretch and jumps only at a transition;
* hence the first instant at which the wall clock shows ``W`` or later is either an
  instant where it shows exactly ``W`` (``W - offset`` with that offset in force), or a
  transition at which the clock jumps over ``W`` (the hour skipped in spring).

Every boundary here (start of a local day, week or month; the end of quiet hours) is
such a "first instant at wall time ``W``", computed both for one instant (``*_one``,
through `zoneinfo`, for single decisions) and for arrays (through the transitions
that `relcore._time` finds, for a whole audience).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from .._time import US_PER_DAY, US_PER_SECOND, micros_to_wall, timedelta_micros, transitions
from ..models import CALENDAR_WINDOWS

Micros = npt.NDArray[np.int64]

_EPOCH_NAIVE = _dt.datetime(1970, 1, 1)
_EPOCH_UTC = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_MARGIN = 2 * US_PER_DAY  # no zone's offset reaches two days
PERIODS: tuple[str, ...] = CALENDAR_WINDOWS
PERIOD_REACH: Mapping[str, _dt.timedelta] = MappingProxyType(
    {
        # the longest such period plus the largest UTC offsets a zone can have
        "calendar_day": _dt.timedelta(days=2),
        "calendar_week": _dt.timedelta(days=8),
        "calendar_month": _dt.timedelta(days=33),
    }
)
"""How far back from an instant the calendar period holding it can start."""


# --------------------------------------------------------------------------- one instant


def offset_one(us: int, zone: _dt.tzinfo) -> int:
    """UTC offset (µs) of ``zone`` at the instant ``us``."""
    off = (_EPOCH_UTC + _dt.timedelta(microseconds=us)).astimezone(zone).utcoffset()
    assert off is not None
    return timedelta_micros(off)


def wall_one(us: int, zone: _dt.tzinfo) -> int:
    """Wall-clock microseconds (as if UTC) of the instant ``us`` in ``zone``."""
    return us + offset_one(us, zone)


def first_instant_one(wall: int, zone: _dt.tzinfo) -> int:
    """The first instant at which the wall clock of ``zone`` shows ``wall`` or later."""
    naive = _EPOCH_NAIVE + _dt.timedelta(microseconds=wall)
    found: list[int] = []
    for fold in (0, 1):
        off = zone.utcoffset(naive.replace(fold=fold))
        assert off is not None
        u = wall - timedelta_micros(off)
        if offset_one(u, zone) == timedelta_micros(off):
            found.append(u)
    if found:
        return min(found)
    # ``wall`` was skipped: the answer is the transition that jumps over it, which lies
    # between the two readings zoneinfo offers (before and after the change).
    off0 = zone.utcoffset(naive.replace(fold=0))
    off1 = zone.utcoffset(naive.replace(fold=1))
    assert off0 is not None
    assert off1 is not None
    lo, hi = sorted((wall - timedelta_micros(off0), wall - timedelta_micros(off1)))
    before = offset_one(lo - 1, zone)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if offset_one(mid, zone) == before:
            lo = mid
        else:
            hi = mid
    return hi if offset_one(lo, zone) == before else lo


def _wall_period_start(wall: int, unit: str) -> tuple[int, int]:
    """Wall-clock start of the period holding ``wall`` and of the next one."""
    day = wall // US_PER_DAY
    if unit == "calendar_day":
        return day * US_PER_DAY, (day + 1) * US_PER_DAY
    if unit == "calendar_week":
        start = day - (day + 3) % 7  # 1970-01-01 was a Thursday; weeks start on Monday
        return start * US_PER_DAY, (start + 7) * US_PER_DAY
    date = _EPOCH_NAIVE + _dt.timedelta(days=day)
    first = _dt.datetime(date.year, date.month, 1)
    nxt = _dt.datetime(date.year + date.month // 12, date.month % 12 + 1, 1)
    return (
        timedelta_micros(first - _EPOCH_NAIVE),
        timedelta_micros(nxt - _EPOCH_NAIVE),
    )


@lru_cache(maxsize=4096)
def _bounds_for_wall_start(wall_start: int, wall_end: int, zone: _dt.tzinfo) -> tuple[int, int]:
    return first_instant_one(wall_start, zone), first_instant_one(wall_end, zone)


def period_bounds_one(
    us: int, zone: _dt.tzinfo, unit: str, wall: int | None = None
) -> tuple[int, int]:
    """``[start, end)`` instants of the local calendar period that holds ``us``.

    A period runs from the first instant the local clock shows its first day to the
    first instant it shows the next period's first day, so periods tile time even where
    a clock goes back across midnight.
    """
    if wall is None:
        wall = wall_one(us, zone)
    wall_start, wall_end = _wall_period_start(wall, unit)
    start, end = _bounds_for_wall_start(wall_start, wall_end, zone)
    while us >= end:
        wall_start, wall_end = wall_end, _wall_period_start(wall_end, unit)[1]
        start, end = _bounds_for_wall_start(wall_start, wall_end, zone)
    while us < start:
        wall_start, wall_end = _wall_period_start(wall_start - 1, unit)[0], wall_start
        start, end = _bounds_for_wall_start(wall_start, wall_end, zone)
    return start, end


def transitions_between(lo: int, hi: int, zone: _dt.tzinfo) -> list[int]:
    """Instants in ``(lo, hi)`` at which ``zone`` changes its UTC offset."""
    if hi <= lo or isinstance(zone, _dt.timezone):
        return []
    bounds, _ = transitions(zone, lo, hi)
    return [int(b) for b in bounds.tolist() if lo < b < hi]


# --------------------------------------------------------------------------- arrays


def first_instant(wall: Micros, zone: _dt.tzinfo) -> Micros:
    """Vectorised `first_instant_one`."""
    wall = np.asarray(wall, dtype=np.int64)
    if wall.size == 0:
        return wall.copy()
    bounds, offsets = transitions(zone, int(wall.min()) - _MARGIN, int(wall.max()) + _MARGIN)
    best = np.full(wall.shape, np.iinfo(np.int64).max, dtype=np.int64)
    for off in np.unique(offsets).tolist():
        cand = wall - off
        ok = offsets[np.searchsorted(bounds, cand, side="right")] == off
        np.minimum(best, np.where(ok, cand, best), out=best)
    for i, b in enumerate(bounds.tolist()):
        lo, hi = b + int(offsets[i]), b + int(offsets[i + 1])
        if hi > lo:  # clocks jump forward over [lo, hi): the transition is the first instant
            skipped = (wall >= lo) & (wall < hi)
            np.minimum(best, np.where(skipped, b, best), out=best)
    return best


def _wall_period_starts(wall: Micros, unit: str) -> tuple[Micros, Micros]:
    day = wall // US_PER_DAY
    if unit == "calendar_day":
        return day * US_PER_DAY, (day + 1) * US_PER_DAY
    if unit == "calendar_week":
        start = day - (day + 3) % 7
        return start * US_PER_DAY, (start + 7) * US_PER_DAY
    month = wall.view("datetime64[us]").astype("datetime64[M]")
    first = month.astype("datetime64[us]").view(np.int64)
    nxt = (month + 1).astype("datetime64[us]").view(np.int64)
    return first, nxt


def period_bounds(us: Micros, zone: _dt.tzinfo, unit: str) -> tuple[Micros, Micros]:
    """Vectorised `period_bounds_one`."""
    us = np.asarray(us, dtype=np.int64)
    wall_start, wall_end = _wall_period_starts(micros_to_wall(us, zone), unit)
    start = first_instant(wall_start, zone)
    end = first_instant(wall_end, zone)
    # Only where a clock goes back across midnight does an instant fall outside the
    # stretch its wall date names; step to the neighbouring period then.
    for _ in range(4):
        late, early = us >= end, us < start
        if not (late.any() or early.any()):
            break
        if late.any():
            nxt = _wall_period_starts(wall_end[late], unit)[1]
            wall_start[late], wall_end[late] = wall_end[late], nxt
        if early.any():
            prev = _wall_period_starts(wall_start[early] - 1, unit)[0]
            wall_start[early], wall_end[early] = prev, wall_start[early]
        start = first_instant(wall_start, zone)
        end = first_instant(wall_end, zone)
    return start, end


def time_of_day(t: _dt.time) -> int:
    """Microseconds since local midnight of a wall-clock time of day."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * US_PER_SECOND + t.microsecond
