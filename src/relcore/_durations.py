"""Durations written the way people write them: ``"7d"``, ``"20h"``, ``"1d12h"``.

Units ``w``, ``d``, ``h``, ``m``, ``s``, ``ms``, ``us``. Used by policy files, the command
line and reprs, so a duration reads the same everywhere.

A duration is at most `MAX_DURATION` (1000 years): longer ones mean nothing in a
contact policy, and bounding them keeps every instant relcore computes from one (a window
before a contact, a fatigue horizon of 20 half-lives) inside 64-bit microseconds, which
is what numpy and SQLite hold.
"""

from __future__ import annotations

import datetime as _dt
import re
import reprlib

from ._time import timedelta_micros

__all__ = [
    "MAX_DURATION",
    "check_duration",
    "describe_duration",
    "format_duration",
    "parse_duration",
]

_UNITS = {
    "w": 7 * 86_400_000_000,
    "d": 86_400_000_000,
    "h": 3_600_000_000,
    "m": 60_000_000,
    "s": 1_000_000,
    "ms": 1_000,
    "us": 1,
}
MAX_DURATION = _dt.timedelta(days=365_250)
"""The longest duration relcore accepts: 1000 years of 365.25 days."""
_TOO_LONG = "at most 365250 days (1000 years)"
_SHORT = reprlib.Repr()
_SHORT.maxstring = 60  # error messages quote what was given, but not a megabyte of it
_PART = re.compile(r"(\d+)(ms|us|w|d|h|m|s)")
_MAX_US = timedelta_micros(MAX_DURATION)
_NAMES = {
    "w": ("week", "weeks"),
    "d": ("day", "days"),
    "h": ("hour", "hours"),
    "m": ("minute", "minutes"),
    "s": ("second", "seconds"),
    "ms": ("millisecond", "milliseconds"),
    "us": ("microsecond", "microseconds"),
}


def parse_duration(text: str) -> _dt.timedelta:
    """``"1d12h"`` -> ``timedelta(days=1, hours=12)``; raises ``ValueError``.

    Examples
    --------
    >>> parse_duration("1d12h")
    datetime.timedelta(days=1, seconds=43200)
    >>> parse_duration("-1d")
    Traceback (most recent call last):
    ...
    ValueError: must be a positive duration such as '7d', '20h' or '1d12h', got '-1d'
    >>> parse_duration("99999999999w")
    Traceback (most recent call last):
    ...
    ValueError: must be a duration of at most 365250 days (1000 years), got '99999999999w'
    """
    compact = text.replace(" ", "")
    pos, total = 0, 0
    for m in _PART.finditer(compact):
        if m.start() != pos:
            break
        digits = m.group(1).lstrip("0")
        # more digits than any duration of at most MAX_DURATION has: too long, whatever
        # the unit (and int() refuses very long digit strings)
        total += int(digits or "0") * _UNITS[m.group(2)] if len(digits) <= 18 else _MAX_US + 1
        pos = m.end()
    if pos != len(compact) or not compact or total <= 0:
        raise ValueError(
            f"must be a positive duration such as '7d', '20h' or '1d12h', got {_SHORT.repr(text)}"
        )
    if total > _MAX_US:
        raise ValueError(f"must be a duration of {_TOO_LONG}, got {_SHORT.repr(text)}")
    return _dt.timedelta(microseconds=total)


def check_duration(value: _dt.timedelta, name: str) -> None:
    """Raise ``ValueError`` naming ``name`` when ``value`` is longer than `MAX_DURATION`."""
    if value > MAX_DURATION:
        raise ValueError(f"{name} must be {_TOO_LONG}, got {describe_duration(value)}")


def format_duration(value: _dt.timedelta) -> str:
    """The policy-file spelling of a duration: ``timedelta(hours=36)`` -> ``"1d12h"``."""
    us = timedelta_micros(value)
    parts = []
    for unit in ("d", "h", "m", "s", "ms", "us"):
        n, us = divmod(us, _UNITS[unit])
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"


def describe_duration(value: _dt.timedelta) -> str:
    """Plain words: ``timedelta(hours=36)`` -> ``"1 day 12 hours"``."""
    us = timedelta_micros(value)
    parts = []
    for unit in ("d", "h", "m", "s", "ms", "us"):
        n, us = divmod(us, _UNITS[unit])
        if n:
            parts.append(f"{n} {_NAMES[unit][n != 1]}")
    return " ".join(parts) or "0 seconds"
