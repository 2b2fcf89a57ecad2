"""What the customer has told us about being contacted.

These are the customer's own settings, not the company's: the contact policy treats them
as hard limits that override its own rules wherever they are stricter.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any, Literal

import attrs

from .._durations import check_duration
from .._validators import optional_aware, optional_non_empty_str, valid_zone

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
    snoozed_until: _dt.datetime | None = attrs.field(default=None, validator=optional_aware)
