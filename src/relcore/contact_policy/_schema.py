"""The policy file's value types: how each is read, checked and written back.

A policy file is data. Every value is read by a parser chosen from a fixed table of kinds; nothing
is evaluated, imported or looked up by name outside these tables. Each parser reports a bad value as
a [`PolicyError`][relcore.errors.PolicyError] naming the key path (``rules[2].per``).

Durations are written ``"7d"``, ``"20h"``, ``"90m"``, ``"1d12h"`` (units ``w``, ``d``,
``h``, ``m``, ``s``, ``ms``, ``us``); times of day ``"21:00"`` (or a TOML local time).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import reprlib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from .._durations import check_duration, format_duration, parse_duration
from .._time import resolve_zone
from ..errors import PolicyError
from ._localtime import PERIODS

Check = Callable[[Any, "attrs.Attribute[Any]", Any], None]
INT64_MAX = 2**63 - 1


def parse_time(text: str) -> _dt.time:
    """``"21:00"``, ``"21:00:30"`` or ``"21:00:30.25"`` -> a local time of day (what
    `format_time` writes reads back); raises ``ValueError``."""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?", text.strip())
    if m is None:
        raise ValueError(f"must be a time of day such as '21:00', got {show(text)}")
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"must be a time of day such as '21:00', got {show(text)}")
    micro = int((m.group(4) or "").ljust(6, "0"))
    return _dt.time(hour, minute, second, micro)


def format_time(value: _dt.time) -> str:
    """``time(21)`` -> ``"21:00"``."""
    text = f"{value.hour:02d}:{value.minute:02d}"
    if value.second or value.microsecond:
        text += f":{value.second:02d}"
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text


def type_name(value: Any) -> str:
    """How a value read from TOML is named in errors."""
    names: dict[type, str] = {
        bool: "boolean",
        int: "integer",
        float: "float",
        str: "string",
        list: "array",
        dict: "table",
        _dt.datetime: "datetime",
        _dt.date: "date",
        _dt.time: "time",
    }
    return names.get(type(value), type(value).__name__)


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, 60, 60
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 6


def show(value: Any) -> str:
    """A value read from a file, for an error message: short, whatever its size or depth."""
    return _SHORT.repr(value)


def _show(value: Any) -> str:
    return f"{type_name(value)} {show(value)}"


# ------------------------------------------------------------------------- readers


def read_count(value: Any, path: str) -> int:
    return _read_integer(value, path, 0)


def read_positive_int(value: Any, path: str) -> int:
    return _read_integer(value, path, 1)


def read_int(value: Any, path: str) -> int:
    return _read_integer(value, path, -INT64_MAX)


def _read_integer(value: Any, path: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(path, f"must be an integer, got {_show(value)}")
    if value < minimum and minimum > -INT64_MAX:
        raise PolicyError(path, f"must be >= {minimum}, got {value}")
    if abs(value) > INT64_MAX:  # TOML's integers are 64-bit, and so are the ledger's
        raise PolicyError(path, f"must be a 64-bit integer (at most {INT64_MAX:_}), got {value}")
    return value


def read_number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(path, f"must be a number, got {_show(value)}")
    if isinstance(value, int) and abs(value) > INT64_MAX:
        raise PolicyError(path, f"must be a finite number >= 0 (a float), got {value}")
    if not math.isfinite(value) or value < 0:
        raise PolicyError(path, f"must be a finite number >= 0, got {value!r}")
    return float(value)


def read_duration(value: Any, path: str) -> _dt.timedelta:
    if not isinstance(value, str):
        raise PolicyError(path, f"must be a duration string such as '7d', got {_show(value)}")
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise PolicyError(path, str(exc)) from None


def read_window(value: Any, path: str) -> _dt.timedelta | str:
    if isinstance(value, str) and value in PERIODS:
        return value
    if isinstance(value, str) and value.startswith("calendar"):
        raise PolicyError(path, f"must be one of {', '.join(PERIODS)} or a duration, got {value!r}")
    return read_duration(value, path)


def read_time(value: Any, path: str) -> _dt.time:
    if isinstance(value, _dt.time):
        if value.tzinfo is not None:
            raise PolicyError(path, "must be a local time of day without an offset")
        return value
    if not isinstance(value, str):
        raise PolicyError(path, f"must be a time of day such as '21:00', got {_show(value)}")
    try:
        return parse_time(value)
    except ValueError as exc:
        raise PolicyError(path, str(exc)) from None


def read_label(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(path, f"must be a non-empty string, got {_show(value)}")
    return value


def read_labels(value: Any, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise PolicyError(path, f"must be an array of strings, got {_show(value)}")
    return tuple(read_label(v, f"{path}[{i}]") for i, v in enumerate(value))


def read_zone(value: Any, path: str) -> str:
    label = read_label(value, path)
    try:
        resolve_zone(label)
    except ValueError:
        raise PolicyError(
            path, f"unknown time zone {show(label)}: expected an IANA name such as 'Europe/Paris'"
        ) from None
    return label


# ------------------------------------------------------------------ values from Python
# A rule parameter given in Python is converted and checked by attrs: these are the
# converters and validators, one pair per kind. Their messages name the parameter.


def _duration(value: Any) -> Any:
    """Accept ``"20h"`` as well as ``timedelta(hours=20)``."""
    return parse_duration(value) if isinstance(value, str) else value


def _window(value: Any) -> Any:
    return value if isinstance(value, str) and value in PERIODS else _duration(value)


def _time(value: Any) -> Any:
    return parse_time(value) if isinstance(value, str) else value


def _positive_duration(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, _dt.timedelta) or value <= _dt.timedelta(0):
        raise ValueError(f"{attribute.name} must be a positive duration, got {value!r}")
    check_duration(value, attribute.name)


def _valid_window(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not (isinstance(value, str) and value in PERIODS):
        if isinstance(value, str):
            raise ValueError(
                f"{attribute.name} must be a duration or one of {', '.join(PERIODS)}, got {value!r}"
            )
        _positive_duration(inst, attribute, value)


def _whole(minimum: int) -> Check:
    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{attribute.name} must be a whole number >= {minimum}, got {value!r}")
        if value > INT64_MAX:
            raise ValueError(f"{attribute.name} must be at most {INT64_MAX:_}, got {value}")

    return check


def _non_negative_number(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{attribute.name} must be a number >= 0, got {value!r}")
    if value == float("inf") or value > INT64_MAX:
        raise ValueError(f"{attribute.name} must be finite, got {value!r}")


def _local_time(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, _dt.time) or value.tzinfo is not None:
        raise ValueError(f"{attribute.name} must be a local time of day (no zone), got {value!r}")


def _label(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{attribute.name} must be a non-empty string, got {value!r}")


def _optional_label(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"{attribute.name} must be a non-empty string or None, got {value!r}")


# ------------------------------------------------------------------ values written back


def _same(value: Any) -> Any:
    return value


def _write_duration(value: Any) -> Any:
    return format_duration(value) if isinstance(value, _dt.timedelta) else value


def _write_labels(value: Any) -> list[str]:
    return sorted(value) if isinstance(value, frozenset) else list(value)


# ------------------------------------------------------------------------- kinds


@attrs.frozen
class Kind:
    """One type of rule parameter: how a policy file spells it and Python gives it.

    ``read(value, path)`` reads the file's value (a [`PolicyError`][relcore.errors.PolicyError]
    naming ``path`` when it does not fit) and ``write(value)`` spells it back. ``convert`` and
    ``check`` are the attrs converter and validator of a value given in Python
    (``check_optional`` when the parameter defaults to ``None``).
    """

    name: str
    read: Callable[[Any, str], Any]
    write: Callable[[Any], Any] = _same
    convert: Callable[[Any], Any] | None = None
    check: Check | None = None
    check_optional: Check | None = None


KINDS: Mapping[str, Kind] = MappingProxyType(
    {
        kind.name: kind
        for kind in (
            Kind("count", read_count, check=_whole(0)),
            Kind("positive_int", read_positive_int, check=_whole(1)),
            Kind("int", read_int),
            Kind("number", read_number, check=_non_negative_number),
            Kind("duration", read_duration, _write_duration, _duration, _positive_duration),
            Kind("window", read_window, _write_duration, _window, _valid_window),
            Kind("time", read_time, format_time, _time, _local_time),
            Kind("label", read_label, check=_label, check_optional=_optional_label),
            Kind("labels", read_labels, _write_labels),
            Kind("zone", read_zone),
        )
    }
)
"""The value types of a policy file, by name."""


def write_value(kind: str, value: Any) -> Any:
    """The policy-file form of a value of ``kind``."""
    return KINDS[kind].write(value)


def check_keys(data: Any, allowed: tuple[str, ...], path: str, what: str) -> None:
    """``data`` must be a table whose keys are all in ``allowed``."""
    if not isinstance(data, dict):
        raise PolicyError(path, f"must be a table, got {_show(data)}")
    for key in data:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            raise PolicyError(where, f"unknown key; {what} takes {', '.join(allowed)}")


def to_toml(data: dict[str, Any]) -> str:
    """Write a policy dictionary (as [`Policy.to_dict`][relcore.contact_policy.Policy.to_dict] makes
    it) as TOML."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    arrays: list[tuple[str, list[dict[str, Any]]]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, table in tables:
        lines += ["", f"[{key}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    for key, items in arrays:
        for item in items:
            lines += ["", f"[[{key}]]"] + [f"{k} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
