"""Replay a contact plan against a policy before rolling the policy out.

[`simulate`][relcore.contact_policy.simulate] sends every planned contact, in time order, through a
[`ContactGuard`][relcore.contact_policy.ContactGuard] over a private in-memory copy of the history,
and reports what would have been sent, deferred or suppressed, and why.
"""

from __future__ import annotations

import datetime as _dt
import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from .._result import CountsMethod, Labels, Table, TableResult
from .._time import micros_to_datetime64, timedelta_micros, to_micros
from ..errors import DataError
from ..models import ContactPreferences, EventLog
from ._context import FIRST_DECIDABLE, LAST_DECIDABLE
from .contact import Contact
from .decision import Decision
from .guard import ContactGuard
from .history import Entry, History
from .ledger import Ledger, MemoryLedger
from .policy import Policy

__all__ = ["SimulationResult", "simulate"]

OUTCOMES: tuple[str, ...] = ("sent", "deferred", "suppressed")
_MAX_RETRIES = 100
_PROGRESS_EVERY = 1024  # decisions between calls of simulate's progress callback


@attrs.frozen
class SimulationResult(TableResult):
    """What a policy would have done to a plan.

    Attributes
    ----------
    outcomes
        Per planned contact, in the order given: ``"sent"`` (at its planned time),
        ``"deferred"`` (refused, but allowed later: at ``next_allowed_at``) or
        ``"suppressed"`` (refused for good: opted out, or deferred beyond ``max_delay``).
    decisions
        The decision each planned contact got at its planned time.
    sent_at
        When each went out in the replay (``None`` if it did not): the planned time, or
        with ``reschedule=True`` the time a deferred contact was finally allowed.

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> from relcore.contact_policy import Contact, FrequencyCap, Policy
    >>> t = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
    >>> plan = [Contact("c1", channel="email", at=t + timedelta(hours=h)) for h in range(3)]
    >>> result = simulate(Policy([FrequencyCap(2, per="calendar_day")]), plan)
    >>> result.counts(), result.reason_counts()
    ({'sent': 2, 'deferred': 1, 'suppressed': 0}, {'frequency_cap': 1})
    """

    outcomes: tuple[str, ...]
    decisions: tuple[Decision, ...]
    sent_at: tuple[_dt.datetime | None, ...]

    @property
    def counts(self) -> CountsMethod:
        """How many planned contacts ended in each outcome: ``result.counts()``.

        (Read without the call, as the property it was, it still works but warns.)
        """
        c = Counter(self.outcomes)
        return CountsMethod({k: c.get(k, 0) for k in OUTCOMES}, "SimulationResult.counts")

    def reasons(self, outcome: str | None = None) -> dict[str, int]:
        """Refused contacts counted by reason code (once per code), optionally of one outcome."""
        c: Counter[str] = Counter()
        for o, d in zip(self.outcomes, self.decisions, strict=True):
            if not d.allowed and (outcome is None or o == outcome):
                c.update(set(d.codes))
        return dict(c.most_common())

    @property
    def reason_counts(self) -> CountsMethod:
        """All refused contacts, counted by reason code: ``result.reason_counts()``, the
        same as ``result.reasons()``.

        (Read without the call, as the property it was, it still works but warns.)
        """
        return CountsMethod(self.reasons(), "SimulationResult.reason_counts")

    def _table(self) -> Table:
        """One row per planned contact, in the order given."""
        contacts = [d.contact for d in self.decisions]

        def text(values: list[Any]) -> npt.NDArray[Any]:
            return np.array(values, dtype=object)

        def instants(values: list[_dt.datetime | None]) -> npt.NDArray[np.datetime64]:
            us = [np.iinfo(np.int64).min if v is None else to_micros(v) for v in values]
            return micros_to_datetime64(np.array(us, dtype=np.int64))

        columns: dict[str, Any] = {
            "customer_id": text([c.customer_id if c else None for c in contacts]),
            "channel": text([c.channel if c else None for c in contacts]),
            "category": text([c.category if c else None for c in contacts]),
            "campaign": text([c.campaign if c else None for c in contacts]),
            "planned_at": instants([c.at if c else None for c in contacts]),
            "outcome": Labels(np.array(self.outcomes, dtype=object), OUTCOMES),
            "reasons": text([",".join(d.codes) for d in self.decisions]),
            "next_allowed_at": instants([d.next_allowed_at for d in self.decisions]),
            "sent_at": instants(list(self.sent_at)),
        }
        return Table({}, columns)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.counts().items())
        return f"SimulationResult({len(self.outcomes):,} planned contacts; {counts})"

    def summary(self) -> str:
        """A small plain-text report."""
        n = len(self.outcomes)
        lines = [f"{n:,} planned contacts"]
        width = max(len(k) for k in OUTCOMES)
        for k, v in self.counts().items():
            share = f"{100 * v / n:5.1f}%" if n else "    -"
            lines.append(f"  {k:<{width}}  {v:>9,}  {share}")
        for outcome in ("deferred", "suppressed"):
            by = self.reasons(outcome)
            if by:
                lines.append(f"{outcome}, by reason (a contact counts under each failing rule):")
                lines += [f"  {code:<20} {v:>9,}" for code, v in by.items()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def simulate(
    policy: Policy,
    planned_contacts: Iterable[Contact],
    history: Ledger | History | EventLog | Iterable[Entry] | None = None,
    *,
    preferences: Mapping[str, ContactPreferences] | None = None,
    reschedule: bool = False,
    max_delay: _dt.timedelta | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Replay planned contacts through ``policy`` and report what it would do.

    Contacts are replayed in time order (higher priority first at equal times); each
    allowed one is recorded, so later ones see it. The history given is copied, never
    changed.

    Parameters
    ----------
    policy
        The policy to try.
    planned_contacts
        The plan.
    history
        What the customers already received and did: a ledger (only the planned customers' entries
        are copied), a [`History`][relcore.contact_policy.History], an
        [`EventLog`][relcore.models.EventLog] (rows whose initiator is ``"company"`` are contacts,
        all others customer events) or entries.
    preferences
        Customers' own settings, by customer id.
    reschedule
        Retry each deferred contact at its ``next_allowed_at`` (as a send pipeline would)
        and record it when then allowed.
    max_delay
        A contact that could only go out more than this after its planned time counts as
        suppressed (it would be stale).
    progress
        Called now and then with how many planned contacts have had their first decision
        (for a progress bar); last with their number.
    """
    plan = list(planned_contacts)
    for c in plan:
        if not isinstance(c, Contact):
            raise TypeError(f"planned_contacts must be Contact values, got {type(c).__name__}")
    undecidable = [
        i for i, c in enumerate(plan) if not FIRST_DECIDABLE <= c.at_micros <= LAST_DECIDABLE
    ]
    if undecidable:
        raise DataError(
            "at",
            "instants outside those the contact policy decides, 0002-01-01 to 9998-12-31 (UTC)",
            undecidable,
        )
    guard = ContactGuard(policy, _private_ledger(history, {c.customer_id for c in plan}))
    prefs = preferences or {}
    delay = None if max_delay is None else timedelta_micros(max_delay)
    first: list[Decision | None] = [None] * len(plan)
    outcome: list[str] = ["suppressed"] * len(plan)
    sent: list[_dt.datetime | None] = [None] * len(plan)
    queue = [(c.at_micros, -c.priority, i, 0, c) for i, c in enumerate(plan)]
    heapq.heapify(queue)
    decided = 0
    while queue:
        _, _, i, tries, contact = heapq.heappop(queue)
        d = guard.request(contact, prefs.get(contact.customer_id))
        if first[i] is None:
            first[i] = d
            decided += 1
            if progress is not None and decided % _PROGRESS_EVERY == 0:
                progress(decided)
        if d.allowed:
            outcome[i] = "sent" if tries == 0 else "deferred"
            sent[i] = contact.at
            continue
        nxt = d.next_allowed_at
        late = nxt is not None and delay is not None
        if nxt is None or (late and to_micros(nxt) - plan[i].at_micros > delay):  # type: ignore[operator]
            outcome[i] = "suppressed"
        elif reschedule and tries < _MAX_RETRIES:
            retry = contact.at_time(nxt)
            heapq.heappush(queue, (retry.at_micros, -retry.priority, i, tries + 1, retry))
        else:
            outcome[i] = "deferred" if tries < _MAX_RETRIES else "suppressed"
    if progress is not None:
        progress(decided)
    return SimulationResult(tuple(outcome), tuple(d for d in first if d is not None), tuple(sent))


def _private_ledger(history: Any, customers: set[str]) -> MemoryLedger:
    if history is None:
        return MemoryLedger()
    if isinstance(history, History):
        return MemoryLedger.from_history(history)
    if isinstance(history, EventLog):
        log = history
        ids = np.asarray(log.customers, dtype=object)[log.customer_codes].astype(str)
        initiator = log.initiator.to_numpy()
        return MemoryLedger.from_arrays(
            ids,
            np.asarray(log.at, dtype=np.int64),
            channel=log.channel.to_numpy(),
            category=log.category.to_numpy(),
            campaign=log.campaign.to_numpy(),
            kind=log.kind.to_numpy(),
            initiator=np.where(initiator == "company", "company", "customer"),
        )
    if hasattr(history, "histories"):
        return MemoryLedger.from_history(history.histories(sorted(customers)))
    ledger = MemoryLedger()
    ledger.append(list(history))
    return ledger
