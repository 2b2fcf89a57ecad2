"""The audit trail: every decision a guard made, as data.

A guard built with ``audit=True`` writes an [`AuditRecord`][relcore.contact_policy.AuditRecord] for
every single-contact decision (``check``, ``request``, ``reserve``, ``arbitrate``) and every
confirmation and release, allowed or refused, into its ledger, in the same transaction as the
contact it records. ``ledger.decisions(customer_id=..., since=..., until=...)`` reads them back, and
``relcore policy audit`` exports them to CSV, Parquet or JSON lines.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any

import attrs

from .. import _json
from .._time import to_micros
from ..errors import DataError

__all__ = ["ACTIONS", "AuditRecord"]

ACTIONS: tuple[str, ...] = ("check", "request", "reserve", "confirm", "release", "arbitrate")
"""What a guard did when it wrote an audit record."""


def _action(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, got {value!r}")


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _instant(value: _dt.datetime | None) -> int | None:
    return None if value is None else to_micros(value)


@attrs.frozen
class AuditRecord:
    """One decision of a guard, with what it needs to be understood later.

    Attributes
    ----------
    decided_at
        When the guard decided, by its clock (UTC).
    action
        ``"check"``, ``"request"``, ``"reserve"``, ``"confirm"``, ``"release"`` or
        ``"arbitrate"``.
    customer_id
        Whose contact it was.
    allowed
        The answer (for ``confirm``: recorded; for ``release``: the slot given back).
    codes, messages
        The reasons of a refusal: their codes and what a person reads.
    next_allowed_at
        When the same contact would be allowed (``None`` when allowed or never).
    at, channel, category, campaign, priority
        The contact (``priority`` is ``None`` where a confirmation does not know it).
    local_at
        The contact's instant on the customer's clock, ISO 8601 with its offset
        (``"2026-11-27T22:00:00-05:00"``), as quiet hours and calendar caps read it.
    timezone
        The zone of that clock: the customer's own, else the policy's.
    key
        The idempotency key or reservation key, if any.
    held_until
        For a reservation granted: until when it holds its slot (the guard's clock).
    policy_name, policy_hash
        The policy that decided (`Policy.name`,
        [`Policy.content_hash`][relcore.contact_policy.Policy.content_hash]).
    replayed
        ``True`` when this answered a repeated key with the original decision (nothing
        new was decided or recorded).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> r = AuditRecord(decided_at=datetime(2026, 6, 1, 9, tzinfo=timezone.utc),
    ...                 action="check", customer_id="c1", allowed=True,
    ...                 at=datetime(2026, 6, 1, 9, tzinfo=timezone.utc), channel="email",
    ...                 policy_hash="0" * 64)
    >>> AuditRecord.from_dict(r.to_dict()) == r
    True
    """

    decided_at: _dt.datetime = attrs.field(eq=_instant)
    action: str = attrs.field(validator=_action)
    customer_id: str
    allowed: bool
    at: _dt.datetime = attrs.field(eq=_instant)
    channel: str
    policy_hash: str
    codes: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    messages: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    next_allowed_at: _dt.datetime | None = attrs.field(default=None, eq=_instant)
    category: str | None = None
    campaign: str | None = None
    priority: int | None = None
    local_at: str | None = None
    timezone: str | None = None
    key: str | None = None
    held_until: _dt.datetime | None = attrs.field(default=None, eq=_instant)
    policy_name: str | None = None
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-safe values, instants in ISO 8601 with their offset."""
        return {
            "decided_at": _json.write_instant(self.decided_at),
            "action": self.action,
            "customer_id": self.customer_id,
            "allowed": self.allowed,
            "codes": list(self.codes),
            "messages": list(self.messages),
            "next_allowed_at": (
                None if self.next_allowed_at is None else _json.write_instant(self.next_allowed_at)
            ),
            "at": _json.write_instant(self.at),
            "local_at": self.local_at,
            "timezone": self.timezone,
            "channel": self.channel,
            "category": self.category,
            "campaign": self.campaign,
            "priority": self.priority,
            "key": self.key,
            "held_until": (
                None if self.held_until is None else _json.write_instant(self.held_until)
            ),
            "policy_name": self.policy_name,
            "policy_hash": self.policy_hash,
            "replayed": self.replayed,
        }

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> AuditRecord:
        """Read a record written by [`to_dict`][relcore.contact_policy.AuditRecord.to_dict]."""
        d = _json.fields(data, path, "an audit record", required=_REQUIRED, optional=_OPTIONAL)

        def at(key: str) -> str:
            return _json.path_of(path, key)

        def opt(key: str) -> str | None:
            return _json.read_optional_str(d.get(key), at(key))

        priority = d.get("priority")
        return cls(
            decided_at=_json.read_instant(d["decided_at"], at("decided_at")),
            action=_json.read_str(d["action"], at("action")),
            customer_id=_json.read_str(d["customer_id"], at("customer_id")),
            allowed=_json.read_bool(d["allowed"], at("allowed")),
            at=_json.read_instant(d["at"], at("at")),
            channel=_json.read_str(d["channel"], at("channel")),
            policy_hash=_json.read_str(d["policy_hash"], at("policy_hash")),
            codes=_json.read_strs(d.get("codes", []), at("codes")),
            messages=_messages(d.get("messages", []), at("messages")),
            next_allowed_at=_json.read_optional_instant(
                d.get("next_allowed_at"), at("next_allowed_at")
            ),
            category=opt("category"),
            campaign=opt("campaign"),
            priority=(
                None
                if priority is None
                else _json.read_int(priority, at("priority"), bounded=False)
            ),
            local_at=opt("local_at"),
            timezone=opt("timezone"),
            key=opt("key"),
            held_until=_json.read_optional_instant(d.get("held_until"), at("held_until")),
            policy_name=opt("policy_name"),
            replayed=_json.read_bool(d.get("replayed", False), at("replayed")),
        )


_REQUIRED = ("decided_at", "action", "customer_id", "allowed", "at", "channel", "policy_hash")
_OPTIONAL = (
    "codes",
    "messages",
    "next_allowed_at",
    "local_at",
    "timezone",
    "category",
    "campaign",
    "priority",
    "key",
    "held_until",
    "policy_name",
    "replayed",
)
COLUMNS: tuple[str, ...] = (
    "decided_at",
    "action",
    "customer_id",
    "allowed",
    "codes",
    "messages",
    "next_allowed_at",
    "at",
    "local_at",
    "timezone",
    "channel",
    "category",
    "campaign",
    "priority",
    "key",
    "held_until",
    "policy_name",
    "policy_hash",
    "replayed",
)
"""The keys of [`AuditRecord.to_dict`][relcore.contact_policy.AuditRecord.to_dict], in order (the
columns of an export)."""


def _messages(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise DataError(path, f"must be an array of strings, got {_json.show(value)}")
    return tuple(value)
