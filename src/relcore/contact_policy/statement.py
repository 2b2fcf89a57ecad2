"""The customer's own view: what relcore holds on them, in plain language and as JSON.

[`customer_statement`][relcore.contact_policy.customer_statement] reads a ledger (and, when given,
an event log and fitted purchase models) and returns a
[`CustomerStatement`][relcore.contact_policy.CustomerStatement]: the contacts sent to the customer
(when, channel, category, campaign), what they did that the ledger recorded, the contacts the
company held back and why (from the audit trail: only guards built with ``audit=True`` keep one),
their preferences and how to change them, and the scores computed about them, each with a one-line
meaning. ``relcore policy statement LEDGER CUSTOMER_ID`` prints it.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from typing import Any

import attrs

from .._time import format_instant, from_micros, resolve_zone, to_micros
from ..models import ContactPreferences
from .audit import AuditRecord
from .ledger import DEFAULT_TENANT, Ledger, check_customer_id

__all__ = ["CustomerStatement", "StatementEntry", "StatementScore", "customer_statement"]

_HOW_TO_CHANGE = (
    "Tell us which channels or kinds of message you no longer want, when you do not want "
    "to hear from us, or how often at most, and we will keep to it; you may also ask us "
    "to erase what we hold on you."
)


@attrs.frozen
class StatementEntry:
    """A contact sent to the customer, or something they did, as the ledger holds it."""

    at: _dt.datetime
    kind: str
    channel: str | None
    category: str | None
    campaign: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "channel": self.channel,
            "category": self.category,
            "campaign": self.campaign,
        }


@attrs.frozen
class StatementScore:
    """A score computed about the customer: its name, value, meaning and source."""

    name: str
    value: float
    meaning: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "meaning": self.meaning,
            "source": self.source,
        }


@attrs.frozen
class CustomerStatement:
    """What relcore holds on one customer;
    [`to_text`][relcore.contact_policy.CustomerStatement.to_text] in plain language,
    [`to_dict`][relcore.contact_policy.CustomerStatement.to_dict] as JSON-safe values.

    Attributes
    ----------
    customer_id, tenant
        Whose statement it is (and for which brand).
    as_of
        When it was drawn up.
    contacts
        The contacts the company sent, oldest first.
    events
        What the customer did that the ledger recorded (opens, purchases, unsubscribes).
    held_back
        The contacts the company decided not to send, with why (audit records).
    preferences
        The customer's contact preferences as they apply (``None``: none).
    how_to_change
        How the customer changes them.
    scores
        Scores computed about the customer, each with a one-line meaning.
    """

    customer_id: str
    tenant: str
    as_of: _dt.datetime
    contacts: tuple[StatementEntry, ...]
    events: tuple[StatementEntry, ...]
    held_back: tuple[AuditRecord, ...]
    preferences: ContactPreferences | None
    how_to_change: str
    scores: tuple[StatementScore, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The statement as JSON-safe values (instants in ISO 8601 with their offset)."""
        return {
            "customer_id": self.customer_id,
            "tenant": self.tenant,
            "as_of": self.as_of.isoformat(),
            "contacts": [c.to_dict() for c in self.contacts],
            "events": [e.to_dict() for e in self.events],
            "held_back": [
                {
                    "decided_at": r.decided_at.isoformat(),
                    "at": r.at.isoformat(),
                    "channel": r.channel,
                    "category": r.category,
                    "campaign": r.campaign,
                    "reasons": list(r.codes),
                    "why": list(r.messages),
                    "next_allowed_at": (
                        None if r.next_allowed_at is None else r.next_allowed_at.isoformat()
                    ),
                }
                for r in self.held_back
            ],
            "preferences": None if self.preferences is None else self.preferences.to_dict(),
            "how_to_change": self.how_to_change,
            "scores": [s.to_dict() for s in self.scores],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """[`to_dict`][relcore.contact_policy.CustomerStatement.to_dict] as JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def to_text(self) -> str:
        """The statement in plain language, times on the customer's clock."""
        prefs = self.preferences
        zone = (
            resolve_zone(prefs.timezone)
            if prefs is not None and prefs.timezone is not None
            else _dt.UTC
        )

        def when(t: _dt.datetime) -> str:
            return format_instant(to_micros(t), zone)

        def labels(c: StatementEntry | AuditRecord) -> str:
            parts = [c.channel or "no channel"]
            if c.category:
                parts.append(c.category)
            if c.campaign:
                parts.append(f"campaign {c.campaign}")
            return ", ".join(parts)

        lines = [f"What we hold about you (customer {self.customer_id}), as of {when(self.as_of)}"]
        if self.tenant != DEFAULT_TENANT:
            lines[0] += f", at {self.tenant}"
        lines += ["", _heading("Messages we sent you", len(self.contacts))]
        lines += [f"  {when(c.at)}: {labels(c)}" for c in self.contacts]
        lines += ["", _heading("What you did that we recorded", len(self.events))]
        lines += [f"  {when(e.at)}: {e.kind} ({labels(e)})" for e in self.events]
        lines += ["", _heading("Messages we decided not to send you", len(self.held_back))]
        for r in self.held_back:
            lines.append(f"  {when(r.at)}: {labels(r)}, because:")
            lines += [f"    - {m}" for m in r.messages]
        lines += ["", "Your preferences:"]
        lines += [f"  {line}" for line in _describe_preferences(prefs)]
        lines.append(f"  How to change them: {self.how_to_change}")
        if self.scores:
            lines += ["", "What we estimated about you:"]
            lines += [f"  {s.name} = {s.value:.3g}: {s.meaning} ({s.source})" for s in self.scores]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_text()


def _heading(title: str, n: int) -> str:
    return f"{title}: none" if n == 0 else f"{title} ({n}):"


def _describe_preferences(prefs: ContactPreferences | None) -> list[str]:
    if prefs is None or prefs == ContactPreferences():
        return ["You have told us of none: our own rules alone apply."]
    out = []
    if prefs.opted_out_channels:
        out.append(
            "You opted out of these channels: " + ", ".join(sorted(prefs.opted_out_channels))
        )
    if prefs.opted_out_categories:
        out.append(
            "You opted out of these kinds of message: "
            + ", ".join(sorted(prefs.opted_out_categories))
        )
    for limit in prefs.max_contacts:
        per = limit.per if isinstance(limit.per, str) else f"{limit.per}"
        scope = " ".join(x for x in (limit.channel, limit.category) if x)
        out.append(f"At most {limit.count} {scope + ' ' if scope else ''}contacts per {per}")
    if prefs.quiet_hours is not None:
        a, b = prefs.quiet_hours
        out.append(f"No contact between {a:%H:%M} and {b:%H:%M}")
    if prefs.timezone is not None:
        out.append(f"Your time zone: {prefs.timezone}")
    if prefs.snoozed_until is not None:
        out.append(f"No contact at all before {format_instant(to_micros(prefs.snoozed_until))}")
    return out


def customer_statement(
    customer_id: str,
    ledger: Ledger,
    *,
    log: Any = None,
    models: Sequence[Any] = (),
    at: _dt.datetime | None = None,
    period: Any = "D",
    horizon: float = 90.0,
    how_to_change: str = _HOW_TO_CHANGE,
) -> CustomerStatement:
    """What relcore holds on one customer, for them to read.

    Parameters
    ----------
    customer_id
        The customer.
    ledger
        The ledger (of the customer's tenant) holding their contacts and preferences;
        the audit trail says what was held back.
    log, models
        An [`EventLog`][relcore.models.EventLog] and fitted purchase models: each model with
        ``p_alive`` and ``expected_purchases`` (BG/NBD, MBG/NBD, Pareto/NBD) adds the probability
        the customer is still active and their expected purchases over ``horizon`` periods; a
        Gamma-Gamma model adds their expected spend per purchase. A log alone gives their engagement
        score. The customer's purchases are summarised up to ``at`` in ``period`` (as
        [`summarize`][relcore.scoring.summary.summarize], which the models must have been fitted
        on).
    at
        The instant of the statement (aware; now when omitted).
    how_to_change
        How the customer changes their preferences (your preference centre, an address).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> from relcore.contact_policy import Contact, ContactGuard, FrequencyCap, Policy
    >>> guard = ContactGuard(Policy([FrequencyCap(1, per="calendar_day")]), audit=True)
    >>> t = datetime(2026, 6, 1, 9, tzinfo=timezone.utc)
    >>> guard.request(Contact("c42", channel="email", campaign="spring", at=t)).allowed
    True
    >>> guard.request(Contact("c42", channel="sms", at=t)).allowed
    False
    >>> s = customer_statement("c42", guard.ledger, at=t,
    ...                        how_to_change="visit example.com/preferences")
    >>> print(s.to_text(), end="")
    What we hold about you (customer c42), as of 2026-06-01 09:00 UTC
    <BLANKLINE>
    Messages we sent you (1):
      2026-06-01 09:00 UTC: email, campaign spring
    <BLANKLINE>
    What you did that we recorded: none
    <BLANKLINE>
    Messages we decided not to send you (1):
      2026-06-01 09:00 UTC: sms, because:
        - 1 of 1 contacts this calendar day (UTC); next allowed 2026-06-02 00:00 UTC
    <BLANKLINE>
    Your preferences:
      You have told us of none: our own rules alone apply.
      How to change them: visit example.com/preferences
    >>> s.to_dict()["held_back"][0]["reasons"]
    ['frequency_cap']
    """
    check_customer_id(customer_id)
    if not isinstance(ledger, Ledger):
        raise TypeError(f"ledger must be a Ledger, got {type(ledger).__name__}")
    as_of = _dt.datetime.now(_dt.UTC) if at is None else from_micros(to_micros(at, "at"))
    h = ledger.customer_history(customer_id)
    contacts: list[StatementEntry] = []
    events: list[StatementEntry] = []
    for e in h.entries(0):
        item = StatementEntry(from_micros(e.at), e.kind, e.channel, e.category, e.campaign)
        (contacts if e.company else events).append(item)
    held_back = tuple(
        r for r in ledger.decisions(customer_id=customer_id) if not r.allowed and not r.replayed
    )
    scores = _scores(customer_id, log, models, as_of, period, horizon)
    return CustomerStatement(
        customer_id=customer_id,
        tenant=str(getattr(ledger, "tenant", DEFAULT_TENANT)),
        as_of=as_of,
        contacts=tuple(contacts),
        events=tuple(events),
        held_back=held_back,
        preferences=ledger.get_preferences(customer_id),
        how_to_change=how_to_change,
        scores=scores,
    )


def _scores(
    customer_id: str,
    log: Any,
    models: Sequence[Any],
    as_of: _dt.datetime,
    period: Any,
    horizon: float,
) -> tuple[StatementScore, ...]:
    models = tuple(models)
    if log is None:
        if models:
            raise TypeError("models need the event log they score: pass log= as well")
        return ()
    from ..models import EventLog
    from ..scoring.summary import summarize

    if not isinstance(log, EventLog):
        raise TypeError(f"log must be an EventLog, got {type(log).__name__}")
    try:
        mine = log.for_customer(customer_id)
    except KeyError:
        return ()  # nothing in the log about them: nothing computed
    mine = mine.filter(end=as_of)
    from ..scoring.scores import engagement

    out: list[StatementScore] = [
        StatementScore(
            "engagement",
            float(engagement(mine, as_of).engagement[0]),
            "how actively you have reached out to us lately, from 0 (not at all) towards 1",
            "relcore's engagement score (30-day half-life)",
        )
    ]
    if len(mine.filter(kind="purchase")) == 0:
        return tuple(out)
    rfm = summarize(mine, period=period, observation_end=as_of)
    x, tx, big_t, m = (
        float(rfm.frequency[0]),
        float(rfm.recency[0]),
        float(rfm.T[0]),
        float(rfm.monetary_value[0]),
    )
    for model in models:
        name = type(model).__name__
        if hasattr(model, "p_alive") and hasattr(model, "expected_purchases"):
            out.append(
                StatementScore(
                    "p_alive",
                    float(model.p_alive(x, tx, big_t)),
                    "how likely we think it is that you still buy from us",
                    f"{name} model",
                )
            )
            out.append(
                StatementScore(
                    "expected_purchases",
                    float(model.expected_purchases(horizon, x, tx, big_t)),
                    f"how many more purchases we expect from you in the next {horizon:g} periods",
                    f"{name} model",
                )
            )
        elif hasattr(model, "expected_average_value"):
            if x > 0:
                out.append(
                    StatementScore(
                        "expected_average_value",
                        float(model.expected_average_value(x, m)),
                        "what we expect you to spend on an average purchase",
                        f"{name} model",
                    )
                )
        else:
            raise TypeError(
                f"models: {name} is not a model the statement can read; pass fitted BG/NBD, "
                "MBG/NBD, Pareto/NBD or Gamma-Gamma models"
            )
    return tuple(out)
