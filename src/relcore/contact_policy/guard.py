"""The guard: decides, explains and records contacts against a policy and a ledger.

For one contact the guard gathers the rules that apply (the customer's hard stops, the
customer's preferences, the policy's rules for the contact's channel, category and
campaign; none of the latter two for an exempt category), reads the customer's recent
history once, and asks every rule. When some fail, ``next_allowed_at`` is found by
iteration: each failing rule proposes the earliest instant it could pass (never later
than the true one), the guard moves to the latest proposal and asks all rules again,
until they all pass (a fixed point: the earliest instant at which they pass together)
or one says never.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from .._durations import MAX_DURATION
from .._time import (
    US_PER_DAY,
    format_instant,
    from_micros,
    resolve_zone,
    timedelta_micros,
    to_micros,
    zone_name,
)
from ..errors import DataError, PolicyError, ReservationError
from ..models import ContactPreferences
from ._context import (
    ANY,
    FIRST_DECIDABLE,
    LAST_DECIDABLE,
    NEVER,
    BatchContext,
    OneContext,
    OrMissing,
    Targets,
)
from ._localtime import PERIOD_REACH, time_of_day
from .audit import AuditRecord
from .contact import Contact, Reserve
from .decision import OUTRANKED, Arbitration, BatchDecision, Decision, Reason, reason_codes
from .history import CustomerRows, Entry, History
from .ledger import KeyedEntry, Ledger, LedgerSession, MemoryLedger
from .policy import Policy
from .rules import FrequencyCap, OptOut, QuietHours, Rule, Snooze

__all__ = ["ContactGuard"]

Micros = npt.NDArray[np.int64]
Preferences = Mapping[str, ContactPreferences | None] | Sequence[ContactPreferences | None]
_Plan = tuple[tuple[Rule, Targets], ...]
_Key = tuple[str, str | None, str | None]  # a contact's channel, category, campaign
_Reader = Callable[[int | None], CustomerRows]  # since -> one customer's rows
_MAX_ROUNDS = 10_000  # fixed-point iterations before giving up on next_allowed_at
_UNBOUNDED = -1
_LEDGER_METHODS = tuple(
    name
    for name, value in vars(Ledger).items()
    if callable(value) and (not name.startswith("_") or name == "__len__")
)
_FOREVER_AGO = int(np.iinfo(np.int64).min)  # a snooze that ended before time began
_PREFERENCES_CACHED = 10_000  # distinct ContactPreferences whose rules are kept built
# Pruning keeps at least this much history, so customers' own calendar limits (which the
# policy's retention does not know of) still see their whole period.
_MIN_RETENTION = max(PERIOD_REACH.values())
_DEFAULT_TTL = _dt.timedelta(minutes=5)


def _lookback_us(rules: Iterable[Rule]) -> int:
    """The longest history any of ``rules`` reads (``_UNBOUNDED`` for all of it)."""
    longest = 0
    for rule in rules:
        back = rule.lookback
        if back is None:
            return _UNBOUNDED
        longest = max(longest, timedelta_micros(back))
    return longest


def _combine(a: int, b: int) -> int:
    return _UNBOUNDED if _UNBOUNDED in (a, b) else max(a, b)


class _CustomerRules:
    """The rules a customer's [`ContactPreferences`][relcore.models.ContactPreferences] add, built
    once per preferences."""

    __slots__ = ("_plans", "lookback", "opt_out", "snooze", "soft", "zone")

    def __init__(self, prefs: ContactPreferences) -> None:
        self.zone = None if prefs.timezone is None else resolve_zone(prefs.timezone)
        self.opt_out = (
            OptOut(channels=prefs.opted_out_channels, categories=prefs.opted_out_categories)
            if prefs.opted_out_channels or prefs.opted_out_categories
            else None
        )
        self.snooze = None if prefs.snoozed_until is None else Snooze(prefs.snoozed_until)
        soft: list[Rule] = [
            FrequencyCap(
                lim.count, per=lim.per, channel=lim.channel, category=lim.category, each=lim.each
            )
            for lim in prefs.max_contacts
        ]
        if prefs.quiet_hours is not None:
            soft.append(QuietHours(start=prefs.quiet_hours[0], end=prefs.quiet_hours[1]))
        self.soft = tuple(soft)
        self.lookback = _lookback_us(self.soft)
        self._plans: dict[tuple[_Key, bool], tuple[_Plan, _Plan]] = {}

    def plans(
        self, key: tuple[str, str | None, str | None], exempt: bool, counted: bool
    ) -> tuple[_Plan, _Plan]:
        """``(hard stops, customer limits)`` that apply to contacts with labels ``key``
        (``counted``: contacts without a category count under category scopes)."""
        plans = self._plans.get((key, counted))
        if plans is None:
            hard: list[tuple[Rule, Targets]] = []
            if self.opt_out is not None and self.opt_out.applies(*key):
                hard.append((self.opt_out, (ANY, ANY, ANY)))
            if self.snooze is not None:
                hard.append((self.snooze, (ANY, ANY, ANY)))
            plans = self._plans[(key, counted)] = (tuple(hard), _scoped(self.soft, key, counted))
        return plans[0], () if exempt else plans[1]


def _scoped(rules: Iterable[Rule], key: tuple[str, str | None, str | None], counted: bool) -> _Plan:
    """The rules among ``rules`` that apply to contacts labelled ``key``, with the labels
    of the history each counts.

    With ``counted`` (``Policy.uncategorized == "counted"``) a contact without a category
    could be of any: a rule scoped to a category applies to it, and history without a
    category counts toward every category (a rule kept for each category counts every
    category against a contact without one).
    """
    channel, category, campaign = key
    out = []
    for rule in rules:
        if not counted:
            if rule.applies(*key):
                out.append((rule, rule.targets(*key)))
            continue
        if not rule.applies(channel, rule.category if category is None else category, campaign):
            continue
        ch, cat, camp = rule.targets(*key)
        if cat is None:  # kept for each category, and this contact has none: count them all
            cat = ANY
        elif cat is not ANY:
            cat = OrMissing(cat)
        out.append((rule, (ch, cat, camp)))
    return tuple(out)


class ContactGuard:
    """Decides whether contacts may go out, says why not, and records those that do.

    Besides deciding ([`check`][relcore.contact_policy.ContactGuard.check],
    [`check_many`][relcore.contact_policy.ContactGuard.check_many],
    [`arbitrate`][relcore.contact_policy.ContactGuard.arbitrate]) and deciding-and-recording
    ([`request`][relcore.contact_policy.ContactGuard.request]), a guard serves a messaging service:
    an idempotency key makes a retried request harmless (``request(contact, key=...)``), and a send
    in two phases holds its slot until the message has gone out
    ([`reserve`][relcore.contact_policy.ContactGuard.reserve], then
    [`confirm`][relcore.contact_policy.ContactGuard.confirm] or
    [`release`][relcore.contact_policy.ContactGuard.release]). Customers' preferences stored in the
    ledger apply whenever a call passes none.

    Parameters
    ----------
    policy
        The company's rules.
    ledger
        Where contacts, reservations, customer events, stored preferences and the audit trail are
        kept (a fresh [`MemoryLedger`][relcore.contact_policy.MemoryLedger] when omitted).
    clock
        What time it is now: a function returning an aware datetime (the system clock,
        ``datetime.now(timezone.utc)``, when omitted). Reservations expire by it and
        audit records are stamped with it; it is read under the customer's lock. Guards
        sharing a ledger must share a clock (the processes of one host do; hosts, within
        far less than a reservation's ttl).
    audit
        Keep an [`AuditRecord`][relcore.contact_policy.AuditRecord] of every single-contact
        decision, allowed or refused, and every confirmation and release, in the ledger (read them
        back with ``ledger.decisions(...)``).

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> from relcore.contact_policy import Contact, FrequencyCap, MemoryLedger, Policy
    >>> guard = ContactGuard(Policy([FrequencyCap(1, per=timedelta(days=7))]), MemoryLedger())
    >>> monday = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
    >>> guard.request(Contact("c42", channel="email", at=monday)).allowed
    True
    >>> d = guard.check(Contact("c42", channel="email", at=monday + timedelta(days=2)))
    >>> d.allowed, d.next_allowed_at == monday + timedelta(days=7)
    (False, True)
    >>> print(d.reasons[0].message)
    1 of 1 contacts in the last 7 days; next allowed 2026-11-30 10:00 UTC
    """

    def __init__(
        self,
        policy: Policy,
        ledger: Ledger | None = None,
        *,
        clock: Callable[[], _dt.datetime] | None = None,
        audit: bool = False,
    ) -> None:
        if not isinstance(policy, Policy):
            raise TypeError(f"policy must be a Policy, got {type(policy).__name__}")
        if ledger is not None and not isinstance(ledger, Ledger):
            raise _not_a_ledger(ledger)
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be a function returning an aware datetime, got {clock!r}")
        if not isinstance(audit, bool):
            raise TypeError(f"audit must be True or False, got {audit!r}")
        self.policy = policy
        self.ledger: Ledger = MemoryLedger() if ledger is None else ledger
        self.clock: Callable[[], _dt.datetime] = _system_clock if clock is None else clock
        self.audit = audit
        self._policy_hash = policy.content_hash if audit else ""
        self._zone = policy.zone
        self._counted = policy.uncategorized == "counted"
        self._codes = reason_codes(policy.rules)
        self._bit = {code: np.uint64(1 << i) for i, code in enumerate(self._codes)}
        self._plans: dict[tuple[str, str | None, str | None], tuple[_Plan, int]] = {}
        self._customer_rules: dict[ContactPreferences, _CustomerRules] = {}

    def __repr__(self) -> str:
        return f"ContactGuard({len(self.policy.rules)} rules, {self.ledger!r})"

    @property
    def tenant(self) -> str:
        """The tenant whose rows the guard's ledger reads and writes (``ledger.tenant``;
        ``"default"`` for a ledger that has no tenants). A tenant's policy is the policy
        of the guards given that tenant's ledger."""
        return str(getattr(self.ledger, "tenant", "default"))

    # ------------------------------------------------------------------ planning

    def _plan(self, key: tuple[str, str | None, str | None]) -> tuple[_Plan, int]:
        """The policy rules (with their targets) for contacts labelled ``key``."""
        plan = self._plans.get(key)
        if plan is None:
            if key[1] is not None and key[1] in self.policy.exempt_categories:
                rules: _Plan = ()
            else:
                rules = _scoped(self.policy.rules, key, self._counted)
            plan = self._plans[key] = (rules, _lookback_us(r for r, _ in rules))
        return plan

    def _for_customer(self, prefs: ContactPreferences) -> _CustomerRules:
        if not isinstance(prefs, ContactPreferences):
            raise _not_preferences(prefs)
        found = self._customer_rules.get(prefs)
        if found is None:
            if len(self._customer_rules) > _PREFERENCES_CACHED:
                self._customer_rules.clear()
            found = self._customer_rules[prefs] = _CustomerRules(prefs)
        return found

    def _is_exempt(self, category: str | None) -> bool:
        return category is not None and category in self.policy.exempt_categories

    # ------------------------------------------------------------------ one contact

    def _now(self) -> int:
        """The clock's time, in microseconds."""
        return to_micros(self.clock(), "clock()")

    def check(self, contact: Contact, preferences: ContactPreferences | None = None) -> Decision:
        """Decide one contact without recording it.

        Reservations held now count like sent contacts.

        Parameters
        ----------
        contact
            The contact, at the instant it would go out.
        preferences
            The customer's own settings; they win wherever they are stricter. When
            ``None``, those stored in the ledger (if any) apply; a value passed replaces
            the stored ones for this call.

        Returns
        -------
        Decision
            ``allowed``, every failing rule as a [`Reason`][relcore.contact_policy.Reason], and
            ``next_allowed_at``.
        """
        if not isinstance(contact, Contact):
            raise TypeError(f"contact must be a Contact, got {type(contact).__name__}")
        cid = contact.customer_id
        now = self._now()
        prefs = preferences if preferences is not None else self.ledger.get_preferences(cid)
        decision = self._decide(contact, prefs, self._reader(cid, now), None)
        if self.audit:
            self.ledger.log_decisions([self._record("check", decision, prefs, now)])
        return decision

    def request(
        self,
        contact: Contact,
        preferences: ContactPreferences | None = None,
        *,
        key: str | None = None,
    ) -> Decision:
        """Decide one contact and, when allowed, record it: atomically.

        The read, the decision and the write happen under the customer's lock in the
        ledger (one ``BEGIN IMMEDIATE`` transaction on SQLite), so concurrent requests
        from any number of threads or processes cannot exceed a cap together.

        Parameters
        ----------
        contact
            The contact, at the instant it goes out.
        preferences
            As for [`check`][relcore.contact_policy.ContactGuard.check] (the stored ones when
            ``None``).
        key
            An idempotency key naming the message (its id). Asking again with the same key and
            contact returns the original decision and takes no second slot; the same key with
            another contact raises [`ReservationError`][relcore.errors.ReservationError]. A key
            binds when its contact is allowed: after a refusal, asking again with it decides afresh
            (a deferred message keeps its id). Without a key, every call is a new contact.

        Examples
        --------
        >>> from datetime import datetime, timezone
        >>> from relcore.contact_policy import Contact, FrequencyCap, Policy
        >>> guard = ContactGuard(Policy([FrequencyCap(1, per="calendar_day")]))
        >>> c = Contact("c42", channel="email", at=datetime(2026, 6, 1, 9, tzinfo=timezone.utc))
        >>> guard.request(c, key="msg-1").allowed, guard.request(c, key="msg-1").allowed
        (True, True)
        >>> len(guard.ledger), guard.request(c, key="msg-2").codes
        (1, ('frequency_cap',))
        """
        if not isinstance(contact, Contact):
            raise TypeError(f"contact must be a Contact, got {type(contact).__name__}")
        if key is not None:
            _check_key(key)
        with self.ledger.exclusive(contact.customer_id) as session:
            now = self._now()
            session.expire(now)
            if key is not None:
                found = session.keyed(key)
                if found is not None:
                    _same_contact(found, contact)
                    if found.held_until is not None:
                        raise ReservationError(
                            key,
                            "holds a reservation (made by reserve): confirm or release it, "
                            "or ask again with reserve",
                        )
                    return self._replay("request", found, contact, session, now)
            prefs = preferences if preferences is not None else session.get_preferences()
            decision = self._decide(contact, prefs, _session_reader(session, now), None)
            if decision.allowed:
                if key is None:
                    session.append([_entry(contact)])
                else:
                    session.add_keyed(KeyedEntry(key, _entry(contact), None))
            if self.audit:
                session.log_decisions([self._record("request", decision, prefs, now, key=key)])
        return decision

    def reserve(
        self,
        contact: Contact,
        preferences: ContactPreferences | None = None,
        *,
        key: str,
        ttl: _dt.timedelta = _DEFAULT_TTL,
    ) -> Decision:
        """Decide one contact and, when allowed, hold its slot until it is confirmed.

        The first phase of a send in two: reserve, send, then
        [`confirm`][relcore.contact_policy.ContactGuard.confirm] (the message went out) or
        [`release`][relcore.contact_policy.ContactGuard.release] (it did not). While held, the
        reservation counts against every rule exactly like a sent contact, for every guard sharing
        the ledger. Unless confirmed within ``ttl`` (by `clock`) it expires and its slot is free
        again.

        Parameters
        ----------
        contact
            The contact, at the instant it would go out.
        preferences
            As for [`check`][relcore.contact_policy.ContactGuard.check] (the stored ones when
            ``None``).
        key
            Names the reservation (the message id);
            [`confirm`][relcore.contact_policy.ContactGuard.confirm] and
            [`release`][relcore.contact_policy.ContactGuard.release] take it. Reserving again with
            the same key and contact returns the original decision and holds no second slot (the ttl
            is not extended); the same key with another contact raises
            [`ReservationError`][relcore.errors.ReservationError]. A released or expired key is free
            again.
        ttl
            How long the slot is held without a confirmation.

        Examples
        --------
        >>> from datetime import datetime, timedelta, timezone
        >>> from relcore.contact_policy import Contact, FrequencyCap, Policy
        >>> guard = ContactGuard(Policy([FrequencyCap(1, per="calendar_day")]))
        >>> at = datetime(2026, 6, 1, 9, tzinfo=timezone.utc)
        >>> first = Contact("c42", channel="email", at=at)
        >>> guard.reserve(first, key="msg-1", ttl=timedelta(minutes=5)).allowed
        True
        >>> second = Contact("c42", channel="sms", at=at)
        >>> guard.reserve(second, key="msg-2").codes  # the held slot counts
        ('frequency_cap',)
        >>> guard.release("msg-1")  # the email could not be sent
        True
        >>> guard.reserve(second, key="msg-2").allowed, guard.confirm("msg-2").allowed
        (True, True)
        """
        if not isinstance(contact, Contact):
            raise TypeError(f"contact must be a Contact, got {type(contact).__name__}")
        _check_key(key)
        span = _check_ttl(ttl)
        with self.ledger.exclusive(contact.customer_id) as session:
            now = self._now()
            session.expire(now)
            found = session.keyed(key)
            if found is not None:
                _same_contact(found, contact)
                return self._replay("reserve", found, contact, session, now)
            prefs = preferences if preferences is not None else session.get_preferences()
            decision = self._decide(contact, prefs, _session_reader(session, now), None)
            until = None
            if decision.allowed:
                until = now + span
                session.add_keyed(KeyedEntry(key, _entry(contact), until))
            if self.audit:
                record = self._record("reserve", decision, prefs, now, key=key, held_until=until)
                session.log_decisions([record])
        return decision

    def confirm(self, key: str) -> Decision:
        """Record the contact reserved under ``key``: the message went out.

        Confirming again is harmless (it returns the same decision). Returns the allowed
        decision of the contact as recorded (its priority is not kept: 0).

        Raises
        ------
        ReservationError
            When nothing is held under ``key``: it was never reserved, was released, or expired and
            its slot may have gone to another contact; or when the reservation's ttl has passed by
            the guard's clock. Nothing is recorded then: if the message went out anyway,
            [`record`][relcore.contact_policy.ContactGuard.record] it, so the ledger tells the truth
            (it then counts, whatever the caps).
        """
        _check_key(key)
        found = self.ledger.keyed(key)
        if found is None:
            raise _nothing_held(key)
        with self.ledger.exclusive(found.entry.customer_id) as session:
            now = self._now()
            k = session.keyed(key)
            if k is None or k.entry.customer_id != found.entry.customer_id:
                raise _nothing_held(key)
            contact = _contact(k.entry)
            if k.held_until is None:
                return self._replay("confirm", k, contact, session, now)
            if k.held_until <= now:
                raise ReservationError(
                    key,
                    f"the reservation expired at {from_micros(k.held_until).isoformat()} (the "
                    f"guard's clock reads {from_micros(now).isoformat()}); nothing was "
                    "recorded: its slot may have gone to another contact (if the message "
                    "went out anyway, record it with ContactGuard.record)",
                )
            session.confirm(key)
            decision = Decision(True, (), from_micros(k.entry.at), contact)
            if self.audit:
                prefs = session.get_preferences()
                session.log_decisions([self._record("confirm", decision, prefs, now, key=key)])
        return decision

    def release(self, key: str) -> bool:
        """Give back the slot held under ``key``: the message did not go out.

        Returns whether a reservation was held under it (releasing twice, or a key that
        expired and was reclaimed, is harmless and returns ``False``).

        Raises
        ------
        ReservationError
            When the contact under ``key`` was confirmed (or recorded by
            [`request`][relcore.contact_policy.ContactGuard.request]): a sent contact is never taken
            back.
        """
        _check_key(key)
        found = self.ledger.keyed(key)
        if found is None:
            return False
        with self.ledger.exclusive(found.entry.customer_id) as session:
            now = self._now()
            k = session.keyed(key)
            if k is None or k.entry.customer_id != found.entry.customer_id:
                return False
            if k.held_until is None:
                raise ReservationError(
                    key, "its contact was confirmed (recorded); a sent contact is never released"
                )
            released = session.release(key)
            if self.audit:
                contact = _contact(k.entry)
                decision = Decision(True, (), from_micros(k.entry.at), contact)
                prefs = session.get_preferences()
                session.log_decisions([self._record("release", decision, prefs, now, key=key)])
        return released

    def _replay(
        self, action: str, found: KeyedEntry, contact: Contact, session: LedgerSession, now: int
    ) -> Decision:
        """The original decision of a key asked again: allowed, nothing new taken."""
        decision = Decision(True, (), from_micros(found.entry.at), contact)
        if self.audit:
            held = None if found.held_until is None else from_micros(found.held_until)
            record = self._record(
                action, decision, session.get_preferences(), now, key=found.key, replayed=True
            )
            session.log_decisions([attrs.evolve(record, held_until=held)])
        return decision

    def _record(
        self,
        action: str,
        decision: Decision,
        prefs: ContactPreferences | None,
        now: int,
        *,
        key: str | None = None,
        held_until: int | None = None,
        replayed: bool = False,
    ) -> AuditRecord:
        """The audit record of a decision."""
        contact = decision.contact
        assert contact is not None
        zone = self._zone
        if prefs is not None:
            own = self._for_customer(prefs).zone
            zone = own if own is not None else zone
        return AuditRecord(
            decided_at=from_micros(now),
            action=action,
            customer_id=contact.customer_id,
            allowed=decision.allowed,
            codes=decision.codes,
            messages=tuple(r.message for r in decision.reasons),
            next_allowed_at=None if decision.allowed else decision.next_allowed_at,
            at=contact.at,
            local_at=from_micros(contact.at_micros, zone).isoformat(),
            timezone=zone_name(zone),
            channel=contact.channel,
            category=contact.category,
            campaign=contact.campaign,
            priority=None if action in ("confirm", "release") else contact.priority,
            key=key,
            held_until=None if held_until is None else from_micros(held_until),
            policy_name=self.policy.name,
            policy_hash=self._policy_hash,
            replayed=replayed,
        )

    def record(self, contact: Contact) -> None:
        """Record a contact that went out without asking (a receipt, a legal notice)."""
        if not isinstance(contact, Contact):
            raise TypeError(f"contact must be a Contact, got {type(contact).__name__}")
        self.ledger.append([_entry(contact)])

    def record_response(
        self,
        customer_id: str,
        at: _dt.datetime,
        kind: str = "response",
        *,
        channel: str | None = None,
        category: str | None = None,
        campaign: str | None = None,
    ) -> None:
        """Record something the customer did: a response, a purchase, a complaint…

        Cool-downs react to its ``kind``; outcome suppression and the fatigue score treat
        the kinds they are told to as answers. An ``"unsubscribe"`` with a ``category``
        opts the customer out of that category, else one with a ``channel`` out of that
        channel, in the preferences stored in the ledger (with the event, atomically),
        unless the policy's ``unsubscribe_opts_out`` is ``False``. The category wins
        because an opt-out is a hard stop: unsubscribing from a promotional email must
        not stop the receipts that come by email.

        Examples
        --------
        >>> from datetime import datetime, timezone
        >>> from relcore.contact_policy import Contact, Policy
        >>> guard = ContactGuard(Policy([]))
        >>> at = datetime(2026, 6, 1, 9, tzinfo=timezone.utc)
        >>> guard.record_response("c42", at, "unsubscribe", channel="email",
        ...                       category="promotional")
        >>> guard.ledger.get_preferences("c42").opted_out_categories
        frozenset({'promotional'})
        >>> guard.check(Contact("c42", channel="sms", category="promotional", at=at)).codes
        ('opted_out',)
        """
        entry = Entry(customer_id, to_micros(at), channel, category, campaign, kind, False)
        if kind != "unsubscribe" or not self.policy.unsubscribe_opts_out:
            self.ledger.append([entry])
            return
        if category is None and channel is None:
            self.ledger.append([entry])  # unsubscribed from what? nothing to opt out of
            return
        with self.ledger.exclusive(customer_id) as session:
            session.append([entry])
            prefs = session.get_preferences() or ContactPreferences()
            if category is not None:
                prefs = attrs.evolve(
                    prefs, opted_out_categories=prefs.opted_out_categories | {category}
                )
            elif channel is not None:
                prefs = attrs.evolve(prefs, opted_out_channels=prefs.opted_out_channels | {channel})
            session.set_preferences(prefs)

    def _reader(self, customer_id: str, now: int) -> _Reader:
        rows = self.ledger.customer_rows
        return lambda since: rows(customer_id, since=since, held_at=now)

    def _decide(
        self,
        contact: Contact,
        prefs: ContactPreferences | None,
        read: _Reader,
        reserve: Reserve | None,
        rows: CustomerRows | None = None,
    ) -> Decision:
        s = contact.at_micros
        if not FIRST_DECIDABLE <= s <= LAST_DECIDABLE:
            raise _undecidable(contact.at)
        key = (contact.channel, contact.category, contact.campaign)
        plan, lookback = self._plans.get(key) or self._plan(key)
        zone = self._zone
        hard: _Plan = ()
        own: _Plan = ()
        if prefs is not None:
            cr = self._for_customer(prefs)
            hard, own = cr.plans(key, self._is_exempt(contact.category), self._counted)
            if cr.zone is not None:
                zone = cr.zone
            if own:
                lookback = _combine(lookback, cr.lookback)
        if rows is None:
            rows = read(None if lookback == _UNBOUNDED else s - lookback)
        exempt = self.policy.exempt_categories
        reserve = reserve if reserve is not None else self.policy.reserve
        reduction = 0 if reserve is None else reserve.reduction(contact.priority)
        ctx = OneContext(
            rows,
            customer_id=contact.customer_id,
            channel=contact.channel,
            category=contact.category,
            campaign=contact.campaign,
            zone=zone,
            excluded=frozenset(rows.code(c) for c in exempt) if exempt else frozenset(),
            reduction=reduction,
        )
        # A reserve keeps slots of the company's caps: the customer's own limits are
        # theirs, read whole whatever the priority.
        own_ctx = ctx if not (reduction and own) else ctx.without_reduction()
        groups = ((hard, ctx, False), (own, own_ctx, True), (plan, ctx, False))
        failed = []
        for group, gctx, mine in groups:
            for rule, targets in group:
                p = rule._eval(gctx, targets, s)
                if p is not None:
                    failed.append((rule, targets, p, mine, gctx))
        if not failed:
            return Decision(True, (), from_micros(s), contact)
        nxt = _fixed_point(groups, max(f[2] for f in failed))
        suffix = "" if nxt is None else f"; next allowed {format_instant(nxt, zone)}"
        reasons = tuple(
            Reason(
                rule.code,
                rule,
                ("customer's preference: " if mine else "")
                + rule._explain(gctx, targets, s)
                + suffix,
            )
            for rule, targets, _, mine, gctx in failed
        )
        return Decision(False, reasons, None if nxt is None else from_micros(nxt), contact)

    # ------------------------------------------------------------------ an audience

    def _preference_variants(
        self,
        prefs: Sequence[ContactPreferences | None] | None,
        n: int,
        key: tuple[str, str | None, str | None],
        exempt: bool,
    ) -> tuple[npt.NDArray[np.bool_], Micros, npt.NDArray[np.int64], list[tuple[Any, _Plan]], int]:
        """Customers' preferences for a batch decision: who opted out, until when each is
        snoozed, and which variant (time zone and own limits) each belongs to, with the
        variants and how far back their own limits read. Preferences are read once per
        distinct object, as callers often pass one object for many customers."""
        opted = np.zeros(n, dtype=bool)
        snooze = np.full(n, _FOREVER_AGO, dtype=np.int64)
        variant_of = np.zeros(n, dtype=np.int64)
        variants: list[tuple[Any, _Plan]] = [(self._zone, ())]
        lookback = 0
        if prefs is None:
            return opted, snooze, variant_of, variants, lookback
        index: dict[Any, int] = {(self._zone, ()): 0}
        by_object: dict[int, tuple[bool, int, int]] = {}
        for i, p in enumerate(prefs):
            if p is None:
                continue
            found = by_object.get(id(p))
            if found is None:
                cr = self._for_customer(p)
                hard, own = cr.plans(key, exempt, self._counted)
                vkey = (cr.zone or self._zone, own)
                v = index.get(vkey)
                if v is None:
                    v = index[vkey] = len(variants)
                    variants.append(vkey)
                    lookback = _combine(lookback, cr.lookback)
                out = any(r is cr.opt_out for r, _ in hard)
                until = cr.snooze.until_micros if cr.snooze is not None else _FOREVER_AGO
                found = by_object[id(p)] = (out, int(until), v)
            opted[i], snooze[i], variant_of[i] = found
        return opted, snooze, variant_of, variants, lookback

    def check_many(
        self,
        customer_ids: Sequence[str] | npt.NDArray[Any],
        *,
        channel: str,
        at: _dt.datetime,
        category: str | None = None,
        campaign: str | None = None,
        preferences: Preferences | None = None,
        priority: int = 0,
    ) -> BatchDecision:
        """Decide the same contact for a whole audience at once (nothing is recorded).

        Vectorised over the ledger's columns: the cost grows with the audience and its
        history, not with a Python loop over customers.

        Parameters
        ----------
        customer_ids
            The audience.
        channel, category, campaign
            The contact's labels.
        at
            When it would go out.
        preferences
            Customers' own settings: a mapping from id, or a sequence aligned with
            ``customer_ids`` (``None`` where a customer has none).
        priority
            The contact's priority (matters with a policy
            [`Reserve`][relcore.contact_policy.Reserve]).

        Returns
        -------
        BatchDecision
            ``allowed``, ``reason_bits``/``reason_codes`` and ``next_allowed_at`` arrays.
        """
        s0 = to_micros(at)
        if not FIRST_DECIDABLE <= s0 <= LAST_DECIDABLE:
            raise _undecidable(at)
        raw = np.asarray(customer_ids)
        if raw.dtype.kind not in "UO":
            raise DataError(
                "customer_ids",
                f"must be strings (ledgers key customers by text), got dtype {raw.dtype}",
            )
        ids = raw.astype(object).reshape(-1)
        n = ids.size
        key = (channel, category, campaign)
        plan, lookback = self._plan(key)
        exempt = self._is_exempt(category)
        reserve = self.policy.reserve
        reduction = 0 if reserve is None else reserve.reduction(priority)

        # Customers' preferences: hard stops per customer; limits and zones per variant.
        now = self._now()
        prefs_list = self._with_stored(ids, _align(ids, preferences))
        grouped = self._preference_variants(prefs_list, n, key, exempt)
        opted, snooze, variant_of, variants, own_lookback = grouped
        lookback = _combine(lookback, own_lookback)

        since = None if lookback == _UNBOUNDED else s0 - lookback
        history = self.ledger.histories(ids.tolist(), since=since, held_at=now)
        bits = np.zeros(n, dtype=np.uint64)
        proposal = np.full(n, s0, dtype=np.int64)
        bits[opted] |= self._bit[OptOut.code]
        snoozed = snooze > s0
        bits[snoozed] |= self._bit[Snooze.code]
        proposal = np.where(snoozed, snooze, proposal)
        proposal[opted] = NEVER

        groups = (
            [np.arange(n)]
            if len(variants) == 1
            else [np.flatnonzero(variant_of == v) for v in range(len(variants))]
        )
        for v, idx in enumerate(groups):
            if not idx.size:
                continue
            zone, own = variants[v]
            sub = history if idx.size == n else history.subset(idx)
            ctx = self._batch_context(sub, key, zone, reduction, s0)
            own_ctx = self._batch_context(sub, key, zone, 0, s0) if own and reduction else ctx
            s = np.full(idx.size, s0, dtype=np.int64)
            for rule, targets, rctx in _with_contexts(own, own_ctx, plan, ctx):
                fails, props = rule._eval_many(rctx, targets, s)
                if fails.any():
                    hit = idx[fails]
                    bits[hit] |= self._bit[rule.code]
                    proposal[hit] = np.maximum(proposal[hit], props[fails])
        allowed = bits == 0

        # next_allowed_at: iterate the refused to the fixed point, all at once.
        nxt = np.where(allowed, s0, proposal)
        nxt[nxt > LAST_DECIDABLE] = NEVER
        for v, (_, own) in enumerate(variants):
            if _always_quiet((*own, *plan)):
                nxt[~allowed & (variant_of == v)] = NEVER
        todo = np.flatnonzero(~allowed & (nxt < NEVER))
        for _ in range(_MAX_ROUNDS):
            if not todo.size:
                break
            still = np.zeros(todo.size, dtype=bool)
            for v in np.unique(variant_of[todo]).tolist():
                pick = np.flatnonzero(variant_of[todo] == v)
                idx = todo[pick]
                zone, own = variants[v]
                t = nxt[idx]
                sub = history.take(idx)
                ctx = self._batch_context(sub, key, zone, reduction, None)
                own_ctx = self._batch_context(sub, key, zone, 0, None) if own and reduction else ctx
                fail_any = t < snooze[idx]
                best = np.where(fail_any, snooze[idx], t)
                for rule, targets, rctx in _with_contexts(own, own_ctx, plan, ctx):
                    fails, props = rule._eval_many(rctx, targets, t)
                    fail_any |= fails
                    best = np.where(fails, np.maximum(best, props), best)
                nxt[idx] = np.where(fail_any, np.where(best > LAST_DECIDABLE, NEVER, best), t)
                still[pick] = fail_any
            todo = todo[still & (nxt[todo] < NEVER)]
        else:
            raise PolicyError(
                "rules",
                "next_allowed_at did not settle: a rule keeps proposing a later time than "
                "it then allows; check the rules of your own (or report this policy)",
            )
        times = nxt.view("datetime64[us]").copy()
        times[nxt >= NEVER] = np.datetime64("NaT")
        return BatchDecision(ids, allowed, bits, times, s0, self._codes)

    def _with_stored(self, ids: npt.NDArray[Any], given: list[Any] | None) -> list[Any] | None:
        """Preferences per position: those given, else those stored in the ledger."""
        missing = (
            ids.tolist()
            if given is None
            else [c for c, p in zip(ids.tolist(), given, strict=True) if p is None]
        )
        if not missing:
            return given
        stored = self.ledger.get_preferences_many(missing)
        if not stored:
            return given
        if given is None:
            return [stored.get(c) for c in ids.tolist()]
        return [
            p if p is not None else stored.get(c) for c, p in zip(ids.tolist(), given, strict=True)
        ]

    def _batch_context(
        self,
        history: History,
        key: tuple[str, str | None, str | None],
        zone: _dt.tzinfo,
        reduction: int,
        uniform: int | None,
    ) -> BatchContext:
        return BatchContext(
            history,
            channel=key[0],
            category=key[1],
            campaign=key[2],
            zone=zone,
            exempt=self.policy.exempt_categories,
            reduction=reduction,
            uniform=uniform,
        )

    # ------------------------------------------------------------------ competing messages

    def arbitrate(
        self,
        candidates: Iterable[Contact],
        *,
        preferences: Preferences | None = None,
        per_customer: int = 1,
        reserve: Reserve | None = None,
        record: bool = False,
    ) -> Arbitration:
        """Choose among competing messages, per customer, by priority.

        For each customer the candidates are taken in order of priority (then value, then
        the order given); each is decided against the ledger *and the candidates already
        chosen*, and up to ``per_customer`` passing ones are chosen. So a cap's last slot
        goes to the higher-priority message, whoever asked first; opt-outs and snoozes
        refuse every priority.

        Parameters
        ----------
        candidates
            The competing contacts (any number per customer).
        preferences
            Customers' own settings (a mapping from id, or aligned with ``candidates``).
        per_customer
            How many messages a customer may get from this round.
        reserve
            Keep the last slots of every cap for high priorities (default: the policy's).
        record
            Record the chosen contacts, atomically per customer.

        Examples
        --------
        >>> from datetime import datetime, timezone
        >>> from relcore.contact_policy import Contact, FrequencyCap, Policy
        >>> guard = ContactGuard(Policy([FrequencyCap(1, per="calendar_day")]))
        >>> now = datetime(2026, 5, 4, 9, tzinfo=timezone.utc)
        >>> result = guard.arbitrate([
        ...     Contact("c1", channel="email", at=now, campaign="newsletter", priority=1),
        ...     Contact("c1", channel="sms", at=now, campaign="order-update", priority=9)])
        >>> [c.campaign for c in result.chosen], result.decisions[0].codes
        (['order-update'], ('frequency_cap',))
        """
        cands = list(candidates)
        for c in cands:
            if not isinstance(c, Contact):
                raise TypeError(f"candidates must be Contact values, got {type(c).__name__}")
        if isinstance(per_customer, bool) or not isinstance(per_customer, int) or per_customer < 1:
            raise ValueError(f"per_customer must be a whole number >= 1, got {per_customer!r}")
        given = _align(np.array([c.customer_id for c in cands], dtype=object), preferences)
        prefs_list: list[Any] = [None] * len(cands) if given is None else given
        by_customer: dict[str, list[int]] = {}
        for i, c in enumerate(cands):
            by_customer.setdefault(c.customer_id, []).append(i)
        decisions: list[Decision | None] = [None] * len(cands)
        chosen: list[Contact] = []
        for cid, idxs in by_customer.items():
            order = sorted(idxs, key=lambda i: (-cands[i].priority, -cands[i].value, i))
            if record:
                with self.ledger.exclusive(cid) as session:
                    now = self._now()
                    session.expire(now)
                    stored = session.get_preferences()
                    prefs = [p if p is not None else stored for p in prefs_list]
                    picked = self._arbitrate_one(
                        cands, order, prefs, reserve, per_customer, decisions, session, now
                    )
                    if picked:
                        session.append([_entry(c) for c in picked])
                    if self.audit:
                        session.log_decisions(self._arbitrated(order, decisions, prefs, now))
            else:
                now = self._now()
                stored = None
                if any(prefs_list[i] is None for i in idxs):
                    stored = self.ledger.get_preferences(cid)
                prefs = [p if p is not None else stored for p in prefs_list]
                picked = self._arbitrate_one(
                    cands, order, prefs, reserve, per_customer, decisions, None, now
                )
                if self.audit:
                    self.ledger.log_decisions(self._arbitrated(order, decisions, prefs, now))
            chosen.extend(picked)
        return Arbitration(tuple(chosen), tuple(d for d in decisions if d is not None))

    def _arbitrated(
        self,
        order: list[int],
        decisions: list[Decision | None],
        prefs: list[ContactPreferences | None],
        now: int,
    ) -> list[AuditRecord]:
        out = []
        for i in order:
            d = decisions[i]
            assert d is not None
            out.append(self._record("arbitrate", d, prefs[i], now))
        return out

    def _arbitrate_one(
        self,
        cands: list[Contact],
        order: list[int],
        prefs_list: list[ContactPreferences | None],
        reserve: Reserve | None,
        per_customer: int,
        decisions: list[Decision | None],
        session: LedgerSession | None,
        now: int,
    ) -> list[Contact]:
        cid = cands[order[0]].customer_id
        reader = self._reader(cid, now) if session is None else _session_reader(session, now)
        base = reader(None)
        picked: list[Contact] = []
        for i in order:
            c = cands[i]
            prefs = prefs_list[i]
            rows = base.with_entries([_entry(p) for p in picked]) if picked else base
            d = self._decide(c, prefs, reader, reserve, rows=rows)
            if d.allowed and len(picked) < per_customer:
                picked.append(c)
            elif d.allowed:
                winner = picked[0]
                d = Decision(
                    False,
                    (
                        Reason(
                            OUTRANKED,
                            None,
                            f"a message of higher priority ({winner.priority}, "
                            f"{winner.channel}"
                            + (f", campaign {winner.campaign}" if winner.campaign else "")
                            + ") was chosen for this customer",
                        ),
                    ),
                    from_micros(c.at_micros),
                    c,
                )
            decisions[i] = d
        return picked

    # ------------------------------------------------------------------ housekeeping

    def prune(self, at: _dt.datetime, *, keep: _dt.timedelta | None = None) -> int:
        """Delete ledger entries no rule can read any more; return how many.

        Keeps what the policy's rules read
        ([`Policy.retention`][relcore.contact_policy.Policy.retention]), at least 33 days (so
        customers' own calendar-month limits still see their month) and at least ``keep``, counted
        back from ``at``; and, for a customer whose preferences are stored in the ledger, as much
        more as their own limits read (a customer's "1 per 90 days" keeps 90 days more). Limits only
        ever passed to calls are not known here: keep them with ``keep=``, or store them. With a
        rule that reads all history nothing is deleted unless ``keep`` is given. The audit trail is
        kept.
        """
        now = to_micros(at)
        retention = self.policy.retention
        if retention is None and keep is None:
            return 0
        horizon = max(retention or _dt.timedelta(0), keep or _dt.timedelta(0), _MIN_RETENTION)
        return self.ledger.prune(now - timedelta_micros(horizon))


def _with_contexts(
    own: _Plan, own_ctx: BatchContext, plan: _Plan, ctx: BatchContext
) -> Iterator[tuple[Rule, Targets, BatchContext]]:
    """The customer's limits read through ``own_ctx`` (no reserve), then the policy's."""
    for rule, targets in own:
        yield rule, targets, own_ctx
    for rule, targets in plan:
        yield rule, targets, ctx


def _always_quiet(rules: _Plan) -> bool:
    """Whether the quiet hours among ``rules`` together cover the whole day.

    Every other rule passes once enough time has gone by, and quiet hours repeat daily,
    so this is the one way a contact can be refused forever short of an opt-out (or a
    cap of zero, which says so itself); the iteration would otherwise never end.
    """
    spans = []
    for rule, _ in rules:
        if isinstance(rule, QuietHours):
            a, b = time_of_day(rule.start), time_of_day(rule.end)
            spans += [(a, b)] if a < b else [(a, US_PER_DAY), (0, b)]
    reach = 0
    for a, b in sorted(spans):
        if a > reach:
            return False
        reach = max(reach, b)
    return reach >= US_PER_DAY


def _fixed_point(groups: Sequence[tuple[_Plan, OneContext, bool]], t: int) -> int | None:
    """Earliest instant ``>= t`` at which every rule of ``groups`` (each read through
    its context) passes (``None``: never)."""
    if _always_quiet(tuple(r for group, _, _ in groups for r in group)):
        return None
    for _ in range(_MAX_ROUNDS):
        if t > LAST_DECIDABLE:
            return None
        latest = None
        for rules, ctx, _ in groups:
            for rule, targets in rules:
                p = rule._eval(ctx, targets, t)
                if p is not None and (latest is None or p > latest):
                    latest = p
        if latest is None:
            return t
        t = latest
    raise PolicyError(
        "rules",
        "next_allowed_at did not settle: a rule keeps proposing a later time than "
        "it then allows; check the rules of your own (or report this policy)",
    )


def _not_preferences(value: object) -> TypeError:
    # A mapping is refused rather than read: in check_many a mapping means "by customer
    # id", and one spelling for both would misread either.
    hint = "; build one with ContactPreferences(**fields)" if isinstance(value, Mapping) else ""
    return TypeError(
        "preferences must be ContactPreferences (or None), e.g. "
        f"ContactPreferences(opted_out_channels={{'sms'}}), got {type(value).__name__}{hint}"
    )


def _undecidable(at: _dt.datetime) -> DataError:
    return DataError(
        "at",
        f"{at.isoformat()} is outside the instants the contact policy decides, from "
        "0002-01-01 to 9998-12-31 (UTC)",
    )


def _not_a_ledger(value: object) -> TypeError:
    missing = [m for m in _LEDGER_METHODS if not callable(getattr(value, m, None))]
    return TypeError(
        f"ledger must implement the Ledger protocol (missing {', '.join(missing)}); "
        "subclass relcore.contact_policy.Ledger to inherit its defaults"
    )


def _session_reader(session: LedgerSession, now: int) -> _Reader:
    rows = session.customer_rows
    return lambda since: rows(since=since, held_at=now)


def _system_clock() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _check_key(key: Any) -> None:
    if not isinstance(key, str):
        raise TypeError(f"key must be a str (a message id), got {type(key).__name__}")
    if not key.strip():
        raise DataError("key", f"must be a non-empty string, got {key!r}")


def _check_ttl(ttl: Any) -> int:
    if not isinstance(ttl, _dt.timedelta):
        raise TypeError(f"ttl must be a timedelta, got {type(ttl).__name__}")
    if ttl <= _dt.timedelta(0) or ttl > MAX_DURATION:
        raise DataError("ttl", f"must be a positive duration of at most 1000 years, got {ttl}")
    return timedelta_micros(ttl)


def _same_contact(found: KeyedEntry, contact: Contact) -> None:
    """A key asked again must name the same contact (its recorded fields)."""
    if found.entry != _entry(contact):
        e = found.entry
        raise ReservationError(
            found.key,
            f"was used for another contact ({e.customer_id}, {e.channel}, "
            f"{from_micros(e.at).isoformat()}); a key names one contact: use a new key",
        )


def _contact(entry: Entry) -> Contact:
    """The contact of a keyed entry (what the ledger keeps of it)."""
    return Contact(
        entry.customer_id,
        channel=str(entry.channel),
        at=from_micros(entry.at),
        category=entry.category,
        campaign=entry.campaign,
    )


def _nothing_held(key: str) -> ReservationError:
    return ReservationError(
        key,
        "nothing is held under this key: it was never reserved, was released, or expired "
        "and its slot may have gone to another contact; nothing was recorded (if the "
        "message went out anyway, record it with ContactGuard.record)",
    )


def _entry(contact: Contact) -> Entry:
    return Entry(
        contact.customer_id,
        contact.at_micros,
        contact.channel,
        contact.category,
        contact.campaign,
        "message",
        True,
    )


def _align(ids: npt.NDArray[Any], preferences: Preferences | None) -> list[Any] | None:
    """Preferences per position: from a mapping by id, or a sequence aligned with ids."""
    if preferences is None:
        return None
    if isinstance(preferences, Mapping):
        get = preferences.get
        return [get(c) for c in ids.tolist()]
    out = list(preferences)
    if len(out) != ids.size:
        raise ValueError(
            f"preferences has {len(out)} entries for {ids.size} customers; pass a mapping "
            "from customer id or one entry per customer"
        )
    return out
