"""A contact the company wants to make, and the slots it may keep for important ones."""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import attrs

from .. import _json
from .._time import to_micros
from .._validators import aware, non_empty_str, optional_non_empty_str

__all__ = ["Contact", "Reserve"]


def _int(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{attribute.name} must be an int, got {value!r}")


def _finite(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{attribute.name} must be a finite number, got {value!r}")


@attrs.frozen
class Contact:
    """One message the company would like to send a customer, at one instant.

    Attributes
    ----------
    customer_id
        Whom to contact.
    channel
        ``"email"``, ``"sms"``, ``"push"``, ``"phone"``…
    at
        When it would go out (timezone-aware; a naive datetime raises ``ValueError``).
    category
        ``"promotional"``, ``"transactional"``, ``"service"``… (``None`` when not known).
    campaign
        The campaign it belongs to, if any.
    priority
        Higher wins in [`ContactGuard.arbitrate`][relcore.contact_policy.ContactGuard.arbitrate]; a
        policy's [`Reserve`][relcore.contact_policy.Reserve] keeps the last slots of every cap for
        high priorities.
    value
        Expected value, breaking ties between equal priorities.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> c = Contact("c42", channel="email", category="promotional",
    ...             at=datetime(2026, 11, 27, 15, tzinfo=timezone.utc))
    >>> c.channel, c.priority
    ('email', 0)
    >>> Contact("c42", channel="email", at=datetime(2026, 11, 27, 15))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: at is a naive datetime (2026-11-27T15:00:00); attach a time zone, ...
    """

    customer_id: str = attrs.field(validator=non_empty_str)
    channel: str = attrs.field(kw_only=True, validator=non_empty_str)
    # compared by instant (below, as microseconds): the same instant written in another
    # zone, or read back from ISO 8601 with a fixed offset, is the same contact
    at: _dt.datetime = attrs.field(kw_only=True, validator=aware, eq=False)
    category: str | None = attrs.field(default=None, kw_only=True, validator=optional_non_empty_str)
    campaign: str | None = attrs.field(default=None, kw_only=True, validator=optional_non_empty_str)
    priority: int = attrs.field(default=0, kw_only=True, validator=_int)
    value: float = attrs.field(default=0.0, kw_only=True, validator=_finite)
    _at_us: int = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_at_us", to_micros(self.at))

    @property
    def at_micros(self) -> int:
        """``at`` as microseconds since the epoch, UTC."""
        return self._at_us

    def at_time(self, at: _dt.datetime) -> Contact:
        """The same contact at another instant (how a deferred message is retried)."""
        return attrs.evolve(self, at=at)

    def to_dict(self) -> dict[str, Any]:
        """The contact as JSON-safe values (``at`` in ISO 8601 with its UTC offset).

        Examples
        --------
        >>> from datetime import datetime, timezone
        >>> c = Contact("c42", channel="email", at=datetime(2026, 11, 27, 15, tzinfo=timezone.utc))
        >>> c.to_dict()["at"]
        '2026-11-27T15:00:00+00:00'
        >>> Contact.from_dict(c.to_dict()) == c
        True
        """
        return {
            "customer_id": self.customer_id,
            "channel": self.channel,
            "at": _json.write_instant(self.at),
            "category": self.category,
            "campaign": self.campaign,
            "priority": self.priority,
            "value": self.value,
        }

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> Contact:
        """Read a contact written by [`to_dict`][relcore.contact_policy.Contact.to_dict] (only
        ``customer_id``, ``channel`` and ``at`` are required); a bad value is a
        [`DataError`][relcore.errors.DataError] naming it."""
        d = _json.fields(
            data,
            path,
            "a contact",
            required=("customer_id", "channel", "at"),
            optional=("category", "campaign", "priority", "value"),
        )

        def at(key: str) -> str:
            return _json.path_of(path, key)

        return cls(
            _json.read_str(d["customer_id"], at("customer_id")),
            channel=_json.read_str(d["channel"], at("channel")),
            at=_json.read_instant(d["at"], at("at")),
            category=_json.read_optional_str(d.get("category"), at("category")),
            campaign=_json.read_optional_str(d.get("campaign"), at("campaign")),
            priority=_json.read_int(d.get("priority", 0), at("priority"), bounded=False),
            value=_json.read_float(d.get("value", 0.0), at("value")),
        )


def _non_negative(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{attribute.name} must be a whole number >= 0, got {value!r}")


@attrs.frozen
class Reserve:
    """Keep the last ``slots`` of every frequency cap for contacts of high priority.

    A contact whose priority is below ``min_priority`` sees every cap ``k`` as
    ``k - slots``: it cannot use the last ``slots`` contacts a window allows, which stay
    free for an important message later in the window.

    Attributes
    ----------
    slots
        How many of each cap's slots are kept back.
    min_priority
        The priority a contact needs to use them.

    Examples
    --------
    >>> Reserve(slots=1, min_priority=10)
    Reserve(slots=1, min_priority=10)
    """

    slots: int = attrs.field(validator=_non_negative)
    min_priority: int = attrs.field(validator=_int)

    def reduction(self, priority: int) -> int:
        """How many slots a contact of ``priority`` may not use."""
        return 0 if priority >= self.min_priority else self.slots
