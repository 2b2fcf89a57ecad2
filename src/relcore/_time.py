"""Time handling shared by every layer.

relcore keeps every instant as int64 microseconds since the Unix epoch, UTC. Anything
that arrives without a stated zone is refused: a naive ``datetime`` raises ``ValueError``
and a ``datetime64`` array needs ``timezone=`` naming the zone its wall-clock values
were recorded in.

Converting between wall-clock time and UTC in an IANA zone is done here, vectorised: the
UTC offset is constant between a zone's transitions, so an array is converted with one
``searchsorted`` against the transitions that fall inside its range (found through
`zoneinfo`, never hard-coded). Wall-clock times that do not exist (the hour skipped
when clocks go forward) or exist twice (the hour repeated when they go back) are errors,
not guesses.
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from ._validation import check_mask
from .errors import DataError

UTC = _dt.UTC
US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=UTC)

Micros = npt.NDArray[np.int64]
_COARSER_THAN_US = frozenset({"Y", "M", "W", "D", "h", "m", "s", "ms"})


def resolve_zone(zone: str | _dt.tzinfo) -> _dt.tzinfo:
    """Return a tzinfo for an IANA name (``"Europe/Paris"``) or pass a tzinfo through.

    Raises ``ValueError`` naming the zone when it is not a known IANA zone.
    """
    if isinstance(zone, _dt.tzinfo):
        return zone
    if not isinstance(zone, str) or not zone:
        raise ValueError(f"time zone must be an IANA name such as 'Europe/Paris', got {zone!r}")
    if zone.upper() == "UTC":
        return UTC
    return _zoneinfo(zone)


@lru_cache(maxsize=512)
def _zoneinfo(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long
        raise ValueError(
            f"unknown time zone {name!r}: expected an IANA name such as 'America/New_York'"
        ) from exc


def zone_name(zone: _dt.tzinfo) -> str:
    """The IANA key of a zone (``"UTC"`` for the UTC singleton), else its ``str``."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    return "UTC" if zone is UTC else str(zone)


def require_aware(value: _dt.datetime, name: str = "at") -> _dt.datetime:
    """Return ``value`` if it is a timezone-aware datetime, else raise ``ValueError``."""
    if not isinstance(value, _dt.datetime):
        raise TypeError(f"{name} must be a timezone-aware datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(
            f"{name} is a naive datetime ({value.isoformat()}); attach a time zone, e.g. "
            f"datetime(..., tzinfo=ZoneInfo('Europe/Paris')) or datetime.now(timezone.utc)"
        )
    return value


def to_micros(value: _dt.datetime, name: str = "at") -> int:
    """Microseconds since the epoch (UTC) of an aware datetime; naive ones are refused."""
    require_aware(value, name)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds


def from_micros(us: int, zone: _dt.tzinfo = UTC) -> _dt.datetime:
    """The aware datetime for microseconds since the epoch, expressed in ``zone``."""
    return (_EPOCH + _dt.timedelta(microseconds=int(us))).astimezone(zone)


def timedelta_micros(value: _dt.timedelta) -> int:
    """A timedelta as an integer number of microseconds."""
    return (value.days * 86_400 + value.seconds) * US_PER_SECOND + value.microseconds


# --------------------------------------------------------------------------- arrays


def datetimes_to_micros(
    values: Any, *, column: str = "at", timezone: str | _dt.tzinfo | None = None
) -> Micros:
    """Convert an array-like of instants to int64 UTC microseconds.

    Accepted forms:

    * aware ``datetime`` objects (any mix of zones);
    * ISO 8601 strings that carry an offset (``"2026-03-01T09:30:00+01:00"``, ``"...Z"``);
    * ``datetime64`` values, together with ``timezone=`` naming the zone their wall-clock
      values belong to (``"UTC"`` for values already in UTC).

    Anything else, a naive datetime, a string without an offset, a missing value or a
    wall-clock time that does not exist or is ambiguous in ``timezone`` raises
    [`DataError`][relcore.errors.DataError] naming the rows.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if np.issubdtype(arr.dtype, np.datetime64):
        if timezone is None:
            raise DataError(
                column,
                "holds datetime64 values, which carry no time zone; pass timezone='UTC' "
                "(or the IANA zone the values were recorded in)",
            )
        return wall_to_micros(arr, resolve_zone(timezone), column=column)
    if arr.dtype.kind in "iuf":
        raise DataError(
            column,
            f"holds {arr.dtype} numbers; pass aware datetimes, ISO 8601 strings with an offset, "
            "or datetime64 values with timezone=",
        )
    if timezone is not None:
        raise DataError(
            column,
            "timezone= applies only to datetime64 values; aware datetimes and ISO strings "
            "already carry their offset",
        )
    return _objects_to_micros(arr, column)


def _objects_to_micros(arr: npt.NDArray[Any], column: str) -> Micros:
    out = np.empty(arr.shape[0], dtype=np.int64)
    missing: list[int] = []
    naive: list[int] = []
    unparseable: list[int] = []
    for i, v in enumerate(arr.tolist()):
        if isinstance(v, str):
            try:
                v = _dt.datetime.fromisoformat(v)
            except ValueError:
                unparseable.append(i)
                continue
        if not isinstance(v, _dt.datetime):
            (missing if v is None or v != v else unparseable).append(i)
            continue
        if v.tzinfo is None or v.tzinfo.utcoffset(v) is None:
            naive.append(i)
            continue
        delta = v - _EPOCH
        out[i] = (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds
    if missing:
        raise DataError(column, "missing values", missing)
    if unparseable:
        raise DataError(column, "values that are not datetimes or ISO 8601 strings", unparseable)
    if naive:
        raise DataError(
            column,
            "naive datetimes (no time zone); attach a zone, or an offset such as +00:00",
            naive,
        )
    return out


def transitions(zone: _dt.tzinfo, start_us: int, end_us: int) -> tuple[Micros, Micros]:
    """UTC offsets of ``zone`` over ``[start_us, end_us]``.

    Returns ``(bounds, offsets)``: ``offsets[i]`` (µs) holds from ``bounds[i-1]`` to
    ``bounds[i]``, with ``bounds`` the transition instants found in the range. Days are
    scanned at their UTC midnights; a day whose ends differ is bisected to the second.
    The scan is done once per zone and calendar year and remembered.
    """
    day0 = start_us // US_PER_DAY
    day1 = end_us // US_PER_DAY + 1
    offsets = [_offset_at(zone, day0 * US_PER_DAY)]
    bounds: list[int] = []
    # A fixed-offset zone (UTC, timezone(timedelta(hours=2))) has no transitions at all.
    if isinstance(zone, _dt.timezone):
        return np.asarray(bounds, dtype=np.int64), np.asarray(offsets, dtype=np.int64)
    lo, hi = day0 * US_PER_DAY, day1 * US_PER_DAY
    for year in range(_year_of_day(day0), _year_of_day(day1) + 1):
        for bound, offset in _year_transitions(zone, year):
            if lo < bound <= hi:
                bounds.append(bound)
                offsets.append(offset)
    return np.asarray(bounds, dtype=np.int64), np.asarray(offsets, dtype=np.int64)


_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
_FIRST_DAY = _dt.date.min.toordinal() - _EPOCH_ORDINAL
_LAST_DAY = _dt.date.max.toordinal() - _EPOCH_ORDINAL


def _year_of_day(day: int) -> int:
    return _dt.date.fromordinal(min(max(day, _FIRST_DAY), _LAST_DAY) + _EPOCH_ORDINAL).year


def _offset_at(zone: _dt.tzinfo, us: int) -> int:
    off = from_micros(us, UTC).astimezone(zone).utcoffset()
    assert off is not None
    return timedelta_micros(off)


# zones x years remembered; a policy's customers live in a few dozen zones
_YEAR_CACHE_SIZE = 8192


@lru_cache(maxsize=_YEAR_CACHE_SIZE)
def _year_transitions(zone: _dt.tzinfo, year: int) -> tuple[tuple[int, int], ...]:
    """Transitions ``(instant, offset after it)`` of ``zone`` in the UTC days of ``year``
    (instants after its first midnight, up to and including the next year's first)."""
    # a day from the ends of the calendar, where a local time may fall outside it
    first = max(_dt.date(year, 1, 1).toordinal() - _EPOCH_ORDINAL, _FIRST_DAY + 1)
    last = _dt.date(year + 1, 1, 1).toordinal() - _EPOCH_ORDINAL if year < 9999 else _LAST_DAY
    last = min(last, _LAST_DAY - 1)
    found: list[tuple[int, int]] = []
    prev = _offset_at(zone, first * US_PER_DAY)
    for day in range(first + 1, last + 1):
        cur = _offset_at(zone, day * US_PER_DAY)
        if cur == prev:
            continue
        lo, hi = (day - 1) * US_PER_DAY // US_PER_SECOND, day * US_PER_DAY // US_PER_SECOND
        while hi - lo > 1:  # the offset at lo is prev, at hi cur
            mid = (lo + hi) // 2
            if _offset_at(zone, mid * US_PER_SECOND) == prev:
                lo = mid
            else:
                hi = mid
        found.append((hi * US_PER_SECOND, cur))
        prev = cur
    return tuple(found)


def utc_offsets(us: Micros, zone: _dt.tzinfo) -> Micros:
    """UTC offset (µs) of ``zone`` at each instant, vectorised."""
    us = np.asarray(us, dtype=np.int64)
    if us.size == 0:
        return np.zeros(0, dtype=np.int64)
    bounds, offsets = transitions(zone, int(us.min()), int(us.max()))
    if bounds.size == 0:
        return np.full(us.shape, offsets[0], dtype=np.int64)
    return offsets[np.searchsorted(bounds, us, side="right")]


def micros_to_wall(us: Micros, zone: _dt.tzinfo) -> Micros:
    """Wall-clock microseconds (as if UTC) of each instant in ``zone``."""
    us = np.asarray(us, dtype=np.int64)
    return us + utc_offsets(us, zone)


def wall_to_micros(values: npt.NDArray[Any], zone: _dt.tzinfo, *, column: str = "at") -> Micros:
    """UTC microseconds of wall-clock ``datetime64`` values recorded in ``zone``."""
    nat = np.isnat(values)
    if nat.any():
        raise DataError.from_mask(column, nat, "missing values (NaT)")
    as_us = values.astype("datetime64[us]", copy=False)
    if np.datetime_data(values.dtype)[0] in _COARSER_THAN_US:
        # numpy wraps around silently where microseconds overflow int64 (beyond about
        # 292,000 years from 1970): such values do not come back unchanged
        check_mask(
            column,
            as_us.astype(values.dtype) != values,
            "datetime64 values too far from 1970 to count in microseconds (±292,000 years)",
        )
    wall = as_us.view(np.int64)
    if wall.size == 0:
        return wall.copy()
    if isinstance(zone, _dt.timezone):  # a fixed offset, UTC included: no transitions
        offset = zone.utcoffset(None)
        return wall - timedelta_micros(offset)
    # Between transitions the offset is constant, so a wall time w maps to u = w - o for
    # each offset o the zone uses in range, and that u is genuine when o is in force at u.
    # None genuine: the time was skipped; two: it was repeated.
    lo, hi = int(wall.min()) - US_PER_DAY, int(wall.max()) + US_PER_DAY
    bounds, offsets = transitions(zone, lo, hi)
    result = np.empty_like(wall)
    n_valid = np.zeros(wall.shape, dtype=np.int8)
    for off in np.unique(offsets):
        cand = wall - off
        ok = offsets[np.searchsorted(bounds, cand, side="right")] == off
        result[ok] = cand[ok]
        n_valid += ok
    if (n_valid == 0).any():
        raise DataError.from_mask(
            column,
            n_valid == 0,
            f"wall-clock times that do not exist in {zone_name(zone)} (skipped by a "
            "daylight-saving change)",
        )
    if (n_valid > 1).any():
        raise DataError.from_mask(
            column,
            n_valid > 1,
            f"ambiguous wall-clock times in {zone_name(zone)} (repeated by a "
            "daylight-saving change); pass them as aware datetimes or in UTC",
        )
    return result


def micros_to_datetime64(us: Micros) -> npt.NDArray[np.datetime64]:
    """UTC microseconds as ``datetime64[us]`` (values in UTC)."""
    return np.asarray(us, dtype=np.int64).view("datetime64[us]")


def parse_instant(value: _dt.datetime | _dt.date | str, name: str = "at") -> int:
    """Microseconds of an aware datetime or an ISO 8601 string with an offset.

    A bare date (``"1998-06-30"``) is read as midnight UTC: relcore's period arithmetic
    is in UTC, so a day boundary without a zone is taken to be a UTC one.
    """
    if isinstance(value, str):
        try:
            parsed = _dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{name}: {value!r} is not an ISO 8601 date or datetime") from exc
        if len(value) == 10:  # a date alone
            parsed = parsed.replace(tzinfo=UTC)
        return to_micros(parsed, name)
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return to_micros(_dt.datetime(value.year, value.month, value.day, tzinfo=UTC), name)
    return to_micros(value, name)


def format_instant(us: int, zone: _dt.tzinfo = UTC) -> str:
    """``2026-11-30 10:00 America/New_York``: an instant the way messages show it.

    An instant whose local date a datetime cannot hold (a few hours from year 1 or 9999)
    is shown in UTC; one beyond that range as the end of the range it passed.
    """
    try:
        local = from_micros(us, zone)
    except (OverflowError, ValueError):
        if zone is not UTC:
            return format_instant(us, UTC)
        return "before 0001-01-01 00:00 UTC" if us < 0 else "after 9999-12-31 23:59 UTC"
    # not strftime: it drops the leading zeros of years before 1000 on some platforms
    text = f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"
    if local.second or local.microsecond:
        text += f":{local.second:02d}"
    return f"{text} {zone_name(zone)}"
