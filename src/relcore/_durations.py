"""Durations written the way people write them: ``"7d"``, ``"20h"``, ``"1d12h"``.

Units ``w``, ``d``, ``h``, ``m``, ``s``, ``ms``, ``us``. Used by policy files, the command
line and reprs, so a duration reads the same everywhere.
"""

from __future__ import annotations

import datetime as _dt
import re

from ._time import timedelta_micros

__all__ = ["describe_duration", "format_duration", "parse_duration"]

_UNITS = {
    "w": 7 * 86_400_000_000,
    "d": 86_400_000_000,
    "h": 3_600_000_000,
    "m": 60_000_000,
    "s": 1_000_000,
    "ms": 1_000,
    "us": 1,
}
_PART = re.compile(r"(\d+)(ms|us|w|d|h|m|s)")
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
    """
    compact = text.replace(" ", "")
    pos, total = 0, 0
    for m in _PART.finditer(compact):
        if m.start() != pos:
            break
        total += int(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(compact) or not compact or total <= 0:
        raise ValueError(
            f"must be a positive duration such as '7d', '20h' or '1d12h', got {text!r}"
        )
    return _dt.timedelta(microseconds=total)


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
