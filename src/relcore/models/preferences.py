"""What the customer has told us about being contacted.

These are the customer's own settings, not the company's: the contact policy treats them
as hard limits that override its own rules wherever they are stricter.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any, Literal

import attrs

from .. import _json
from .._durations import check_duration, format_duration, parse_duration
from .._time import to_micros
from .._validators import optional_aware, optional_non_empty_str, valid_zone
from ..errors import DataError

__all__ = ["CALENDAR_WINDOWS", "ContactLimit", "ContactPreferences", "Window"]

CALENDAR_WINDOWS: tuple[str, ...] = ("calendar_day", "calendar_week", "calendar_month")
Window = _dt.timedelta | Literal["calendar_day", "calendar_week", "calendar_month"]


def _valid_window(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, _dt.timedelta):
        if value <= _dt.timedelta(0):
            raise ValueError(f"{attribute.name} must be a positive duration, got {value}")
        check_duration(value, attribute.name)
    elif value not in CALENDAR_WINDOWS:
        raise ValueError(
            f"{attribute.name} must be a timedelta or one of {', '.join(CALENDAR_WINDOWS)}; "
            f"got {value!r}"
        )


def _non_negative_int(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{attribute.name} must be a whole number >= 0, got {value!r}")
    if value >= 2**63:
        raise ValueError(f"{attribute.name} must be below 2**63, got {value}")


def _each(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    dims = (value,) if isinstance(value, str) else tuple(value)
    for d in dims:
        if d not in ("channel", "category"):
            raise ValueError(f"each must name 'channel' and/or 'category', got {d!r}")
    return tuple(sorted(set(dims)))


@attrs.frozen
class ContactLimit:
    """At most ``count`` contacts ``per`` window, optionally only on one channel/category.

    ``per`` is a rolling window (a ``timedelta``) or a calendar window in the customer's
    time zone: ``"calendar_day"``, ``"calendar_week"`` (ISO, from Monday) or
    ``"calendar_month"``. ``each=("channel",)`` makes the limit apply to every channel
    separately ("1 per week per channel") instead of to all channels together.

    Examples
    --------
    >>> from datetime import timedelta
    >>> ContactLimit(1, per=timedelta(days=7), channel="sms")
    ContactLimit(count=1, per=datetime.timedelta(days=7), channel='sms', category=None, each=())
    >>> ContactLimit(1, per="calendar_week", each="channel").each
    ('channel',)
    """

    count: int = attrs.field(validator=_non_negative_int)
    per: Window = attrs.field(validator=_valid_window)
    channel: str | None = attrs.field(default=None, validator=optional_non_empty_str)
    category: str | None = attrs.field(default=None, validator=optional_non_empty_str)
    each: tuple[str, ...] = attrs.field(default=(), kw_only=True, converter=_each)

    def __attrs_post_init__(self) -> None:
        for dim in self.each:
            if getattr(self, dim) is not None:
                raise ValueError(f"{dim} is both fixed ({getattr(self, dim)!r}) and in each")

    def to_dict(self) -> dict[str, Any]:
        """The limit as JSON-safe values (``per`` as ``"7d"`` or a calendar window).

        Examples
        --------
        >>> ContactLimit(1, per="calendar_week", each="channel").to_dict()
        {'count': 1, 'per': 'calendar_week', 'channel': None, 'category': None, 'each': ['channel']}
        """
        return {
            "count": self.count,
            "per": self.per if isinstance(self.per, str) else format_duration(self.per),
            "channel": self.channel,
            "category": self.category,
            "each": list(self.each),
        }

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> ContactLimit:
        """Read a limit written by [`to_dict`][relcore.models.ContactLimit.to_dict]; a bad value is
        a [`DataError`][relcore.errors.DataError] naming it."""
        d = _json.fields(
            data,
            path,
            "a contact limit",
            required=("count", "per"),
            optional=("channel", "category", "each"),
        )

        def at(key: str) -> str:
            return _json.path_of(path, key)

        per_value = d["per"]
        per: Window
        if isinstance(per_value, str) and per_value in CALENDAR_WINDOWS:
            per = per_value  # type: ignore[assignment]
        else:
            if not isinstance(per_value, str):
                raise DataError(
                    at("per"),
                    "must be a duration such as '7d' or one of "
                    f"{', '.join(CALENDAR_WINDOWS)}, got {_json.show(per_value)}",
                )
            try:
                per = parse_duration(per_value)
            except ValueError as exc:
                raise DataError(at("per"), str(exc)) from None
        each = _json.read_strs(d.get("each", []), at("each"))
        count = _json.read_int(d["count"], at("count"), 0)
        channel = _json.read_optional_str(d.get("channel"), at("channel"))
        category = _json.read_optional_str(d.get("category"), at("category"))
        try:
            return cls(count, per=per, channel=channel, category=category, each=each)
        except (ValueError, TypeError) as exc:
            raise DataError(path or "contact limit", str(exc)) from None


def _str_set(values: Iterable[str] | str | None) -> frozenset[str]:
    if values is None:
        return frozenset()
    if isinstance(values, str):
        return frozenset({values})
    return frozenset(values)


def _limits(values: ContactLimit | Iterable[ContactLimit] | None) -> tuple[ContactLimit, ...]:
    if values is None:
        return ()
    if isinstance(values, ContactLimit):
        return (values,)
    out = tuple(values)
    for v in out:
        if not isinstance(v, ContactLimit):
            raise TypeError(f"max_contacts must hold ContactLimit values, got {v!r}")
    return out


def _quiet(value: tuple[_dt.time, _dt.time] | None) -> tuple[_dt.time, _dt.time] | None:
    if value is None:
        return None
    start, end = value
    for t in (start, end):
        if not isinstance(t, _dt.time) or t.tzinfo is not None:
            raise ValueError(
                f"quiet_hours must be two local times of day without a zone, got {value!r}"
            )
    if start == end:
        raise ValueError("quiet_hours start and end must differ")
    return (start, end)


def _instant(value: _dt.datetime | None) -> int | None:
    # Compared by instant: the same instant in another zone, or read back from ISO 8601
    # with a fixed offset, is the same snooze (datetime's own == says otherwise in a
    # repeated hour).
    return None if value is None else to_micros(value, "snoozed_until")


@attrs.frozen
class ContactPreferences:
    """The customer's own contact settings; they win wherever they are stricter.

    Attributes
    ----------
    opted_out_channels, opted_out_categories
        Channels (``"sms"``) and categories (``"promotional"``) the customer refuses. Hard
        stops: no priority and no exemption overrides them.
    max_contacts
        The customer's own caps, e.g. ``ContactLimit(1, per="calendar_week")``; each replaces
        a looser company cap over the same scope.
    quiet_hours
        ``(start, end)`` local times during which the customer wants no contact; may cross
        midnight (``(time(21), time(8))``).
    timezone
        The customer's IANA time zone, used for quiet hours and calendar windows.
    snoozed_until
        No contact at all before this instant (aware datetime).

    Examples
    --------
    >>> from datetime import time
    >>> p = ContactPreferences(opted_out_channels={"sms"}, quiet_hours=(time(21), time(8)),
    ...                        timezone="Europe/Paris")
    >>> "sms" in p.opted_out_channels
    True
    """

    opted_out_channels: frozenset[str] = attrs.field(factory=frozenset, converter=_str_set)
    opted_out_categories: frozenset[str] = attrs.field(factory=frozenset, converter=_str_set)
    max_contacts: tuple[ContactLimit, ...] = attrs.field(factory=tuple, converter=_limits)
    quiet_hours: tuple[_dt.time, _dt.time] | None = attrs.field(default=None, converter=_quiet)
    timezone: str | None = attrs.field(default=None, validator=valid_zone)
    snoozed_until: _dt.datetime | None = attrs.field(
        default=None, validator=optional_aware, eq=_instant
    )

    def to_dict(self) -> dict[str, Any]:
        """The preferences as JSON-safe values: sets as sorted lists, times of day and
        instants in ISO 8601 (``snoozed_until`` with its UTC offset).

        Examples
        --------
        >>> from datetime import time
        >>> p = ContactPreferences(opted_out_channels={"sms"}, quiet_hours=(time(21), time(8)))
        >>> p.to_dict()["quiet_hours"]
        ['21:00:00', '08:00:00']
        >>> ContactPreferences.from_dict(p.to_dict()) == p
        True
        """
        return {
            "opted_out_channels": sorted(self.opted_out_channels),
            "opted_out_categories": sorted(self.opted_out_categories),
            "max_contacts": [limit.to_dict() for limit in self.max_contacts],
            "quiet_hours": (
                None
                if self.quiet_hours is None
                else [_json.write_time(t) for t in self.quiet_hours]
            ),
            "timezone": self.timezone,
            "snoozed_until": (
                None if self.snoozed_until is None else _json.write_instant(self.snoozed_until)
            ),
        }

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> ContactPreferences:
        """Read preferences written by [`to_dict`][relcore.models.ContactPreferences.to_dict] (every
        key optional); a bad value is a [`DataError`][relcore.errors.DataError] naming it."""
        d = _json.fields(data, path, "contact preferences", optional=_PREFERENCE_KEYS)

        def at(key: str) -> str:
            return _json.path_of(path, key)

        limits_value = d.get("max_contacts", [])
        if not isinstance(limits_value, list | tuple):
            raise DataError(
                at("max_contacts"), f"must be an array of limits, got {_json.show(limits_value)}"
            )
        limits = [
            ContactLimit.from_dict(v, _json.path_of(at("max_contacts"), i))
            for i, v in enumerate(limits_value)
        ]
        quiet_value = d.get("quiet_hours")
        quiet: tuple[_dt.time, _dt.time] | None = None
        if quiet_value is not None:
            if not isinstance(quiet_value, list | tuple) or len(quiet_value) != 2:
                raise DataError(
                    at("quiet_hours"),
                    f"must be [start, end], e.g. ['21:00', '08:00'], got {_json.show(quiet_value)}",
                )
            start, end = (
                _json.read_time(v, _json.path_of(at("quiet_hours"), i))
                for i, v in enumerate(quiet_value)
            )
            if start == end:
                raise DataError(at("quiet_hours"), "start and end must differ")
            quiet = (start, end)
        snoozed = _json.read_optional_instant(d.get("snoozed_until"), at("snoozed_until"))
        zone = _json.read_optional_str(d.get("timezone"), at("timezone"))
        channels = _json.read_strs(d.get("opted_out_channels", []), at("opted_out_channels"))
        categories = _json.read_strs(d.get("opted_out_categories", []), at("opted_out_categories"))
        try:
            return cls(
                opted_out_channels=channels,
                opted_out_categories=categories,
                max_contacts=limits,
                quiet_hours=quiet,
                timezone=zone,
                snoozed_until=snoozed,
            )
        except (ValueError, TypeError) as exc:
            # the one check left to the class is the zone, and its message names it
            raise DataError(at("timezone"), str(exc)) from None


_PREFERENCE_KEYS = (
    "opted_out_channels",
    "opted_out_categories",
    "max_contacts",
    "quiet_hours",
    "timezone",
    "snoozed_until",
)
