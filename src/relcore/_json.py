"""Reading relcore values back from JSON-safe dictionaries (``to_dict`` / ``from_dict``).

Values written by ``to_dict`` are plain JSON: strings, numbers, booleans, ``None``, lists
and dictionaries; instants are ISO 8601 strings with their UTC offset. Reading them back
is strict: an unknown key, a missing one or a value of the wrong type is a
[`DataError`][relcore.errors.DataError] naming the key path (``max_contacts[0].per``), so a service
that accepts JSON reports a bad request in the client's own terms.
"""

from __future__ import annotations

import datetime as _dt
import math
import reprlib
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import DataError

_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 2, 60, 60
_JSON_NAMES = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
    tuple: "an array",
    dict: "an object",
    type(None): "null",
}


def show(value: Any) -> str:
    """A value read from JSON, for an error message: its kind and a short repr."""
    return f"{_JSON_NAMES.get(type(value), type(value).__name__)} ({_SHORT.repr(value)})"


def path_of(prefix: str, key: str | int) -> str:
    """``("max_contacts", 0)`` -> ``"max_contacts[0]"``; ``("", "at")`` -> ``"at"``."""
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


def fields(
    data: Any,
    path: str,
    what: str,
    *,
    required: Iterable[str] = (),
    optional: Iterable[str] = (),
) -> dict[str, Any]:
    """``data`` as a dict whose keys are all known and whose required keys are present."""
    if not isinstance(data, Mapping):
        raise DataError(path or what, f"{what} must be an object, got {show(data)}")
    required = tuple(required)
    known = (*required, *optional)
    for key in data:
        if key not in known:
            raise DataError(
                path_of(path, str(key)), f"is not a key of {what}; known: {', '.join(known)}"
            )
    for key in required:
        if key not in data:
            raise DataError(path_of(path, key), f"is required in {what}")
    return dict(data)


def read_str(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataError(path, f"must be a non-empty string, got {show(value)}")
    return value


def read_optional_str(value: Any, path: str) -> str | None:
    return None if value is None else read_str(value, path)


def read_strs(value: Any, path: str) -> list[str]:
    if not isinstance(value, list | tuple):
        raise DataError(path, f"must be an array of strings, got {show(value)}")
    return [read_str(v, path_of(path, i)) for i, v in enumerate(value)]


def read_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise DataError(path, f"must be true or false, got {show(value)}")
    return value


def read_int(value: Any, path: str, minimum: int | None = None, *, bounded: bool = True) -> int:
    """A whole number (by default one that fits in 64 bits, as stores keep them)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(path, f"must be a whole number, got {show(value)}")
    if minimum is not None and value < minimum:
        raise DataError(path, f"must be >= {minimum}, got {value}")
    if bounded and abs(value) >= 2**63:
        raise DataError(path, f"must be a 64-bit integer, got {value}")
    return value


def read_float(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(path, f"must be a number, got {show(value)}")
    out = float(value)
    if not math.isfinite(out):
        raise DataError(path, f"must be a finite number, got {value!r}")
    return out


def write_instant(value: _dt.datetime) -> str:
    """An aware datetime as ISO 8601 with its UTC offset (microseconds when not zero)."""
    return value.isoformat()


def read_instant(value: Any, path: str) -> _dt.datetime:
    """An ISO 8601 datetime with a UTC offset (``Z`` accepted); naive ones are refused."""
    if not isinstance(value, str):
        raise DataError(path, f"must be an ISO 8601 datetime string, got {show(value)}")
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        out = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise DataError(
            path,
            f"must be an ISO 8601 datetime such as 2026-11-27T10:00:00-05:00, got {show(value)}",
        ) from None
    if out.tzinfo is None or out.utcoffset() is None:
        raise DataError(
            path,
            f"has no UTC offset ({_SHORT.repr(value)}); write one, e.g. 2026-11-27T10:00:00-05:00",
        )
    try:
        out.astimezone(_dt.UTC)
    except OverflowError:
        raise DataError(
            path, f"lies outside the years 1 to 9999 in UTC: {_SHORT.repr(value)}"
        ) from None
    return out


def read_optional_instant(value: Any, path: str) -> _dt.datetime | None:
    return None if value is None else read_instant(value, path)


def write_time(value: _dt.time) -> str:
    """A local time of day as ISO 8601 (``"21:00:00"``)."""
    return value.isoformat()


def read_time(value: Any, path: str) -> _dt.time:
    """A local time of day, ISO 8601 (``"21:00"``, ``"21:00:00"``), without an offset."""
    if not isinstance(value, str):
        raise DataError(path, f"must be a time of day such as '21:00', got {show(value)}")
    try:
        out = _dt.time.fromisoformat(value)
    except ValueError:
        raise DataError(path, f"must be a time of day such as '21:00', got {show(value)}") from None
    if out.tzinfo is not None:
        raise DataError(path, f"must be a local time of day without an offset, got {show(value)}")
    return out
