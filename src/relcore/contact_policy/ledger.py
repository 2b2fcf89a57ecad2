"""Ledgers: where the guard remembers every contact, reservation and customer event.

[`Ledger`][relcore.contact_policy.Ledger] is the contract (a `typing.Protocol`);
[`MemoryLedger`][relcore.contact_policy.MemoryLedger] keeps everything in process memory, columnar;
[`SQLiteLedger`][relcore.contact_policy.SQLiteLedger] keeps it in a SQLite file shared by threads
and processes. A server-backed ledger (PostgreSQL) implements the same methods and passes the same
contract tests (``tests/contact_policy/test_ledger_contract.py``).

The contract. Times are int microseconds since the epoch (UTC).

*Entries.* ``append(entries)`` stores entries; nothing is ever dropped or altered.
``customer_history(id, since=t)`` returns that customer's entries with ``at >= t`` (all when
``since`` is ``None``), sorted by time, as a one-customer
[`History`][relcore.contact_policy.History] whose columns hold exactly those rows;
``customer_rows(id, since=t)`` the same rows as
[`CustomerRows`][relcore.contact_policy.CustomerRows] (the single-decision fast path; a ledger that
subclasses [`Ledger`][relcore.contact_policy.Ledger] inherits a default built from
``customer_history``); ``histories(ids, since=t)`` the same for many customers at once, aligned with
``ids`` (unknown ids have no rows; its columns may hold more rows than asked for, so read them
through ``starts``/``ends``). ``len(ledger)`` counts the recorded entries.

*Keys and reservations.* An entry may be stored under a key (an idempotency key: a message id), as a
[`KeyedEntry`][relcore.contact_policy.KeyedEntry]: recorded (``held_until`` is ``None``: an entry
like any other), or held until ``held_until`` (a reservation: not recorded, and not counted by
``len``). Every read takes ``held_at=t``: with it, entries held at ``t`` (``held_until > t``) are
read as well, in time order with the recorded ones; without it, only recorded entries are read.
``keyed(key)`` finds the entry stored under a key, held or recorded (``None`` once it is released,
expired or pruned).

*Exclusive sections.* ``exclusive(id)`` is a context manager holding the customer's write lock for a
read-decide-write sequence: no other ``exclusive`` section for the same customer (in any thread, or
any process or host sharing the store) interleaves with it, and what it reads of keys is current.
Its [`LedgerSession`][relcore.contact_policy.LedgerSession] reads (as above, the customer's rows)
and writes: ``append``; ``add_keyed`` (a key used before, by any customer, raises
[`ReservationError`][relcore.errors.ReservationError]: a SQL store lets its unique index say so);
``confirm(key)`` (a held entry becomes recorded); ``release(key)`` (a held entry is removed);
``expire(now)`` (the customer's entries held until ``now`` or earlier are removed: a reservation
whose slot a decision has given away can never be confirmed);
``get_preferences``/``set_preferences`` and ``log_decisions``. Everything it wrote is committed when
the block exits normally, and nothing if it raises.

*Preferences.* ``set_preferences(id, prefs)`` stores a customer's
[`ContactPreferences`][relcore.models.ContactPreferences] (``None`` deletes them),
``get_preferences(id)`` reads them, ``get_preferences_many(ids)`` those of many (only customers who
have some).

*Audit.* ``log_decisions(records)`` stores [`AuditRecord`][relcore.contact_policy.AuditRecord]
values; ``decisions(customer_id=..., since=..., until=...)`` reads those with ``since <= decided_at
< until`` (aware datetimes or microseconds), ordered by ``decided_at`` then by the order they were
stored.

*Erasure.* ``forget(id)`` removes everything the ledger holds on a customer, in one transaction
under the customer's write lock: recorded entries and reservations (with their keys), stored
preferences and audit records, and returns an [`Erasure`][relcore.contact_policy.Erasure] counting
them. Where the customer had opted out of channels or categories (in their stored preferences, or by
an ``"unsubscribe"`` event), a suppression record remains: a salted hash of the id (HMAC-SHA256
under a secret drawn at random when the store was created) and the opted-out channels and
categories, nothing else (no time, no content, no id). Reading the preferences of an id whose hash
is suppressed returns its opt-outs (with whatever preferences are stored for it again), so a
customer imported again under the same id is still not contacted where they refused it.
``lift_suppression(id)`` removes the record (the customer has opted in again). A request racing a
``forget`` is ordered by the lock: wholly before it (and erased) or wholly after it.

*Tenants.* ``ledger.tenant`` names the tenant (a brand, a business unit) whose rows the
ledger reads and writes (``"default"`` unless told); ``for_tenant(name)`` is a ledger of
the same store for another tenant. No call on one tenant's ledger reads, counts, changes
or erases another tenant's rows.

*Pruning.* ``prune(before)`` deletes recorded entries with ``at < before``, except that
for a customer with stored preferences only those older than ``before`` minus the
longest window of the customer's own limits go (so the limits still see their whole
window); held entries go when ``at < before`` or ``held_until < before``. Keys go with
their entries. The audit trail is left alone. It returns how many entries it deleted.
``close()`` releases resources.
"""

from __future__ import annotations

import datetime as _dt
import hmac
import json
import re
import secrets
import threading
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from itertools import repeat
from typing import Any, NamedTuple, Protocol, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

from .._columns import (
    code_dtype,
    factorize_ids,
    factorize_labels,
    few_objects,
    sort_rows,
)
from .._threads import Pending, in_background
from .._time import datetimes_to_micros, timedelta_micros, to_micros
from .._validation import as_1d
from ..errors import DataError, LedgerError, ReservationError
from ..models import ContactPreferences
from ._localtime import PERIOD_REACH
from .audit import AuditRecord
from .history import (
    FIRST_ENTRY,
    LAST_ENTRY,
    CustomerRows,
    Entry,
    History,
    clamp_micros,
    gather_index,
)

__all__ = ["Erasure", "KeyedEntry", "Ledger", "LedgerSession", "MemoryLedger"]

Micros = npt.NDArray[np.int64]
_OUTSIDE = "must lie between 0001-01-01 and 9999-12-31 (UTC)"
_INT64_MIN = -(2**63)
DEFAULT_TENANT = "default"
_TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
UNSUBSCRIBE = "unsubscribe"


def check_tenant(tenant: Any) -> str:
    """A tenant name: 1 to 40 letters, digits, ``_`` or ``-`` (it names tables)."""
    if not isinstance(tenant, str):
        raise TypeError(f"tenant must be a string, got {type(tenant).__name__}")
    if not _TENANT_NAME.fullmatch(tenant):
        raise DataError(
            "tenant",
            "must be 1 to 40 ASCII letters, digits, '_' or '-', starting with a letter or "
            f"digit, got {tenant!r}",
        )
    return tenant


@attrs.frozen
class Erasure:
    """What [`Ledger.forget`][relcore.contact_policy.Ledger.forget] removed of a customer, and what
    suppression remains.

    Attributes
    ----------
    entries
        Recorded entries removed: contacts and the customer's own events.
    reservations
        Reservations (held entries) removed, with their keys.
    decisions
        Audit records removed.
    preferences
        Whether stored preferences were removed.
    suppressed_channels, suppressed_categories
        The opt-outs kept in the suppression record (empty when none is kept).

    Examples
    --------
    >>> ledger = MemoryLedger()
    >>> ledger.append([Entry("c1", 10, "email", None, None, "message", True),
    ...                Entry("c1", 20, "email", None, None, "unsubscribe", False)])
    >>> e = ledger.forget("c1")
    >>> e.entries, e.suppressed, sorted(e.suppressed_channels)
    (2, True, ['email'])
    >>> len(ledger), ledger.get_preferences("c1").opted_out_channels
    (0, frozenset({'email'}))
    """

    entries: int
    reservations: int
    decisions: int
    preferences: bool
    suppressed_channels: frozenset[str] = frozenset()
    suppressed_categories: frozenset[str] = frozenset()

    @property
    def suppressed(self) -> bool:
        """Whether a suppression record remains."""
        return bool(self.suppressed_channels or self.suppressed_categories)

    def to_dict(self) -> dict[str, Any]:
        """The erasure as JSON-safe values (sets as sorted lists)."""
        return {
            "entries": self.entries,
            "reservations": self.reservations,
            "decisions": self.decisions,
            "preferences": self.preferences,
            "suppressed_channels": sorted(self.suppressed_channels),
            "suppressed_categories": sorted(self.suppressed_categories),
        }


Scopes = tuple[frozenset[str], frozenset[str]]  # opted-out channels, categories


def suppression_hash(salt: bytes, customer_id: str) -> bytes:
    """The key of a customer's suppression record: HMAC-SHA256 of the id under the
    store's secret salt (the same id always finds its record; the record alone does not
    give the id back, short of guessing ids with the salt in hand)."""
    return hmac.digest(salt, customer_id.encode("utf-8", "surrogatepass"), "sha256")


def new_salt() -> bytes:
    """A store's suppression salt: 32 random bytes."""
    return secrets.token_bytes(32)


def opt_out_scopes(
    preferences: ContactPreferences | None,
    unsubscribes: Iterable[tuple[str | None, str | None]],
    earlier: Scopes | None = None,
) -> Scopes:
    """The opt-outs a suppression record keeps: those of the stored preferences, those
    of ``"unsubscribe"`` events (``(channel, category)``: the category when there is one, else
    the channel, as
    [`ContactGuard.record_response`][relcore.contact_policy.ContactGuard.record_response] reads
    them) and those of an earlier record of the same id."""
    channels: set[str] = set()
    categories: set[str] = set()
    if preferences is not None:
        channels |= preferences.opted_out_channels
        categories |= preferences.opted_out_categories
    for channel, category in unsubscribes:
        if category is not None:
            categories.add(category)
        elif channel is not None:
            channels.add(channel)
    if earlier is not None:
        channels |= earlier[0]
        categories |= earlier[1]
    return frozenset(channels), frozenset(categories)


def scopes_text(scopes: Scopes) -> str:
    """A suppression record's scopes as stored (JSON)."""
    return json.dumps(
        {"channels": sorted(scopes[0]), "categories": sorted(scopes[1])}, ensure_ascii=False
    )


def read_scopes(text: str) -> Scopes:
    """Scopes stored by `scopes_text`."""
    data = json.loads(text)
    return frozenset(data["channels"]), frozenset(data["categories"])


def with_suppression(
    preferences: ContactPreferences | None, scopes: Scopes | None
) -> ContactPreferences | None:
    """Stored preferences with a suppression record's opt-outs added."""
    if scopes is None or not (scopes[0] or scopes[1]):
        return preferences
    if preferences is None:
        return ContactPreferences(opted_out_channels=scopes[0], opted_out_categories=scopes[1])
    if scopes[0] <= preferences.opted_out_channels and scopes[1] <= (
        preferences.opted_out_categories
    ):
        return preferences
    return attrs.evolve(
        preferences,
        opted_out_channels=preferences.opted_out_channels | scopes[0],
        opted_out_categories=preferences.opted_out_categories | scopes[1],
    )


def check_customer_id(customer_id: Any) -> str:
    """A customer id as the ledger takes one: a non-empty string."""
    if not isinstance(customer_id, str) or not customer_id:
        raise DataError("customer_id", f"must be a non-empty string, got {customer_id!r}")
    return customer_id


class KeyedEntry(NamedTuple):
    """An entry stored under a key: recorded, or held (a reservation) until an instant.

    Attributes
    ----------
    key
        The key (an idempotency key, a message id).
    entry
        The entry.
    held_until
        ``None`` when recorded; else the instant (microseconds since the epoch, UTC) at
        which the reservation stops holding its slot.

    Examples
    --------
    >>> k = KeyedEntry("m-1", Entry("c1", 10, "email", None, None, "message", True), 99)
    >>> k.held_until is not None, k.entry.customer_id
    (True, 'c1')
    """

    key: str
    entry: Entry
    held_until: int | None


@runtime_checkable
class LedgerSession(Protocol):
    """The view of a ledger inside [`Ledger.exclusive`][relcore.contact_policy.Ledger.exclusive],
    for one customer."""

    def customer_history(self, *, since: int | None = None, held_at: int | None = None) -> History:
        """The customer's entries with ``at >= since`` (and those held at ``held_at``)."""
        ...

    def customer_rows(
        self, *, since: int | None = None, held_at: int | None = None
    ) -> CustomerRows:
        """The same rows as
        [`customer_history`][relcore.contact_policy.LedgerSession.customer_history], as lists
        (the fast path)."""
        return CustomerRows.from_history(self.customer_history(since=since, held_at=held_at))

    def append(self, entries: Sequence[Entry]) -> None:
        """Store entries (committed when the exclusive block ends normally)."""
        ...

    def keyed(self, key: str) -> KeyedEntry | None:
        """The entry stored under ``key`` (any customer's), held or recorded."""
        ...

    def add_keyed(self, keyed: KeyedEntry) -> None:
        """Store this customer's entry under a new key (ReservationError if it is used)."""
        ...

    def confirm(self, key: str) -> None:
        """Record the entry held under ``key`` (nothing when it is recorded already)."""
        ...

    def release(self, key: str) -> bool:
        """Remove the entry held under ``key``; whether there was one. A recorded entry
        is never removed: releasing it raises ReservationError."""
        ...

    def expire(self, now: int) -> int:
        """Remove the customer's entries held until ``now`` or earlier; how many."""
        ...

    def get_preferences(self) -> ContactPreferences | None:
        """The customer's stored preferences."""
        ...

    def set_preferences(self, preferences: ContactPreferences | None) -> None:
        """Store the customer's preferences (``None`` deletes them)."""
        ...

    def log_decisions(self, records: Sequence[AuditRecord]) -> None:
        """Store audit records (committed with the rest of the section)."""
        ...


@runtime_checkable
class Ledger(Protocol):
    """What [`ContactGuard`][relcore.contact_policy.ContactGuard] needs from a store."""

    def append(self, entries: Sequence[Entry]) -> None:
        """Store entries."""
        ...

    def customer_history(
        self, customer_id: str, *, since: int | None = None, held_at: int | None = None
    ) -> History:
        """One customer's entries with ``at >= since`` (and those held at ``held_at``)."""
        ...

    def customer_rows(
        self, customer_id: str, *, since: int | None = None, held_at: int | None = None
    ) -> CustomerRows:
        """The same rows as [`customer_history`][relcore.contact_policy.Ledger.customer_history], as
        lists (the fast path)."""
        return CustomerRows.from_history(
            self.customer_history(customer_id, since=since, held_at=held_at)
        )

    def histories(
        self, customer_ids: Sequence[str], *, since: int | None = None, held_at: int | None = None
    ) -> History:
        """Many customers' entries, aligned with ``customer_ids``."""
        ...

    def exclusive(self, customer_id: str) -> AbstractContextManager[LedgerSession]:
        """Hold the customer's write lock for an atomic read-decide-write."""
        ...

    def keyed(self, key: str) -> KeyedEntry | None:
        """The entry stored under ``key``, held or recorded."""
        ...

    def get_preferences(self, customer_id: str) -> ContactPreferences | None:
        """A customer's stored preferences."""
        ...

    def get_preferences_many(self, customer_ids: Sequence[str]) -> dict[str, ContactPreferences]:
        """The stored preferences of those of ``customer_ids`` who have some."""
        out: dict[str, ContactPreferences] = {}
        for cid in dict.fromkeys(customer_ids):
            prefs = self.get_preferences(cid)
            if prefs is not None:
                out[cid] = prefs
        return out

    def set_preferences(self, customer_id: str, preferences: ContactPreferences | None) -> None:
        """Store a customer's preferences (``None`` deletes them)."""
        ...

    def log_decisions(self, records: Sequence[AuditRecord]) -> None:
        """Store audit records."""
        ...

    def decisions(
        self,
        *,
        customer_id: str | None = None,
        since: _dt.datetime | int | None = None,
        until: _dt.datetime | int | None = None,
    ) -> list[AuditRecord]:
        """Audit records with ``since <= decided_at < until``, in the order decided."""
        ...

    def prune(self, before: int) -> int:
        """Delete entries no one can read any more (see the module docstring)."""
        ...

    def forget(self, customer_id: str) -> Erasure:
        """Remove everything held on a customer, keeping only a suppression record of
        their opt-outs (see the module docstring)."""
        raise LedgerError(f"{type(self).__name__} does not implement forget")

    def lift_suppression(self, customer_id: str) -> bool:
        """Remove the customer's suppression record; whether there was one."""
        raise LedgerError(f"{type(self).__name__} does not implement lift_suppression")

    def __len__(self) -> int: ...

    def close(self) -> None:
        """Release resources."""
        ...


def preferences_reach(preferences: ContactPreferences) -> int:
    """How far back (microseconds) a customer's own limits read the ledger.

    Examples
    --------
    >>> from datetime import timedelta
    >>> from relcore.models import ContactLimit
    >>> prefs = ContactPreferences(max_contacts=ContactLimit(1, per=timedelta(days=90)))
    >>> preferences_reach(prefs) == timedelta_micros(timedelta(days=90))
    True
    """
    reach = 0
    for limit in preferences.max_contacts:
        per = limit.per
        back = PERIOD_REACH[per] if isinstance(per, str) else per
        reach = max(reach, timedelta_micros(back))
    return reach


def audit_instant(value: _dt.datetime | int | None, name: str) -> int | None:
    """``since``/``until`` of [`Ledger.decisions`][relcore.contact_policy.Ledger.decisions] as
    microseconds."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return to_micros(value, name)
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an aware datetime or int microseconds, got {value!r}")
    return clamp_micros(int(value))


def decisions_filter(
    customer_id: str | None,
    since: _dt.datetime | int | None,
    until: _dt.datetime | int | None,
    *,
    mark: str,
    cast: str = "",
) -> tuple[str, list[str | int]]:
    """The ``WHERE`` clause (empty when nothing filters) and its parameters that select
    audit records for [`Ledger.decisions`][relcore.contact_policy.Ledger.decisions] in an
    SQL ledger: ``mark`` is the driver's parameter placeholder, ``cast`` what the instants'
    placeholders need after it."""
    where: list[str] = []
    params: list[str | int] = []
    if customer_id is not None:
        where.append(f"customer_id = {mark}")
        params.append(customer_id)
    lo, hi = audit_instant(since, "since"), audit_instant(until, "until")
    if lo is not None:
        where.append(f"decided_at >= {mark}{cast}")
        params.append(lo)
    if hi is not None:
        where.append(f"decided_at < {mark}{cast}")
        params.append(hi)
    return (" WHERE " + " AND ".join(where) if where else ""), params


def check_keyed(keyed: Any, customer_id: str) -> KeyedEntry:
    """A [`KeyedEntry`][relcore.contact_policy.KeyedEntry] with checked types, of the session's
    customer."""
    if not isinstance(keyed, KeyedEntry):
        raise TypeError(f"add_keyed takes a KeyedEntry, got {type(keyed).__name__}")
    if not isinstance(keyed.key, str) or not keyed.key:
        raise DataError("key", f"must be a non-empty string, got {keyed.key!r}")
    entry = check_entry(keyed.entry)
    if entry.customer_id != customer_id:
        raise DataError(
            "customer_id",
            f"an exclusive section of {customer_id!r} cannot store an entry of "
            f"{entry.customer_id!r}",
        )
    held = keyed.held_until
    if held is not None and (isinstance(held, bool) or not isinstance(held, int | np.integer)):
        raise DataError("held_until", f"must be int microseconds or None, got {held!r}")
    return KeyedEntry(keyed.key, entry, None if held is None else clamp_micros(int(held)))


def check_entry(e: Any) -> Entry:
    """An [`Entry`][relcore.contact_policy.Entry] with checked types (the ledger stores nothing
    malformed)."""
    entry: Entry = e if isinstance(e, Entry) else Entry(*e)
    if not isinstance(entry.customer_id, str) or not entry.customer_id:
        raise DataError("customer_id", f"must be a non-empty string, got {entry.customer_id!r}")
    if isinstance(entry.at, bool) or not isinstance(entry.at, int | np.integer):
        raise DataError("at", f"must be int microseconds since the epoch, got {entry.at!r}")
    if not FIRST_ENTRY <= entry.at <= LAST_ENTRY:
        raise DataError("at", f"{_OUTSIDE}, got {entry.at}")
    for name in ("channel", "category", "campaign"):
        v = getattr(entry, name)
        if v is not None and (not isinstance(v, str) or not v):
            raise DataError(name, f"must be a non-empty string or None, got {v!r}")
    if not isinstance(entry.kind, str) or not entry.kind:
        raise DataError("kind", f"must be a non-empty string, got {entry.kind!r}")
    return entry


_Row = tuple[int, int, int, int, int, bool]  # at, channel, category, campaign, kind, company
_COLUMN_TYPES = (np.int32, np.int64, np.int32, np.int32, np.int32, np.int32, np.bool_)


class _Columns(NamedTuple):
    """The sorted store: customer code, time, label codes, initiator."""

    cust: npt.NDArray[Any]
    at: npt.NDArray[Any]
    channel: npt.NDArray[Any]
    category: npt.NDArray[Any]
    campaign: npt.NDArray[Any]
    kind: npt.NDArray[Any]
    company: npt.NDArray[Any]

    @classmethod
    def empty(cls) -> _Columns:
        return cls(*(np.zeros(0, dtype=t) for t in _COLUMN_TYPES))

    def _take(self, index: npt.NDArray[Any]) -> _Columns:
        return _Columns(*(c[index] for c in self))


class MemoryLedger(Ledger):
    """A ledger in process memory, stored as sorted numpy columns.

    History lives in columns sorted by (customer, time) with a small append buffer that is merged in
    from time to time, so an audience of millions is decided with a few array operations and a
    single customer's rows are one slice. Safe across threads of one process (a lock guards it); it
    is not shared between processes and is gone when the process ends: use
    [`SQLiteLedger`][relcore.contact_policy.SQLiteLedger] for that.

    Examples
    --------
    >>> ledger = MemoryLedger()
    >>> ledger.append([Entry("c1", 20, "sms", None, None, "message", True),
    ...                Entry("c1", 10, "email", None, None, "message", True)])
    >>> h = ledger.customer_history("c1")
    >>> h.at.tolist(), h.decode(h.channel).tolist()
    ([10, 20], ['email', 'sms'])
    >>> len(ledger), ledger.prune(15), len(ledger)
    (2, 1, 1)
    """

    _FLUSH_AT = 4096  # buffered entries before a merge (at least; grows with the store)

    def __init__(self, *, tenant: str = DEFAULT_TENANT) -> None:
        self.tenant = check_tenant(tenant)
        self._family: dict[str, MemoryLedger] = {self.tenant: self}
        self._family_lock = threading.Lock()
        self._salt = new_salt()
        self._suppressed: dict[bytes, Scopes] = {}
        self._lock = threading.RLock()
        self._ids: dict[str, int] = {}
        self._id_list: list[str] = []
        self._labels: dict[str, int] = {}
        self._label_list: list[str] = []
        self._set_main(_Columns.empty())
        self._buffer: dict[int, list[_Row]] = {}
        self._n_buffer = 0
        # Reservations stay out of the columns (they come and go): by customer, by key.
        self._held: dict[str, dict[str, tuple[int, _Row]]] = {}
        self._keys: dict[str, KeyedEntry] = {}
        self._prefs: dict[str, tuple[ContactPreferences, int]] = {}
        self._decisions: list[AuditRecord] = []

    # ------------------------------------------------------------------ building

    @classmethod
    def from_arrays(
        cls,
        customer_id: Any,
        at: Any,
        *,
        channel: Any = None,
        category: Any = None,
        campaign: Any = None,
        kind: Any = "message",
        initiator: Any = "company",
        timezone: str | None = None,
    ) -> MemoryLedger:
        """A ledger holding the given entries, built column-wise (the bulk path).

        Parameters
        ----------
        customer_id
            Customer ids: strings (a missing one is an error), or integers, which the
            ledger keeps as their decimal text.
        at
            Aware datetimes, ISO 8601 strings with an offset, ``datetime64`` values with
            ``timezone=``, or int64 microseconds since the epoch (UTC).
        channel, category, campaign, kind
            One label for every row, or one per row (``None`` for missing).
        initiator
            ``"company"`` for contacts, ``"customer"`` for customer events; one or per row.
        """
        # The ids are coded on another thread while this one checks the times and codes
        # the labels (Python objects, mostly); an error in the ids is still reported first.
        pending = in_background(factorize_ids, customer_id, "customer_id")
        try:
            ledger, times, rest = cls._bulk_columns(
                _length(customer_id, pending),
                at,
                timezone,
                (channel, category, campaign, kind, initiator),
            )
        except BaseException:
            pending.result()
            raise
        codes, table = pending.result()
        ids = table.tolist() if table.dtype.kind == "U" else table.astype(str).tolist()
        ledger._id_list = ids
        ledger._ids = dict(zip(ids, range(len(ids)), strict=True))
        given = (channel, category, campaign, kind, initiator)
        # by customer, time, position; the sorted codes and times come with the order
        order, sorted_codes, sorted_times, _ = sort_rows(codes, times, table.size)
        if order is not None:  # a label given once for all rows needs no reordering
            rest = [
                c if v is None or isinstance(v, str) else c[order]
                for c, v in zip(rest, given, strict=True)
            ]
        ledger._set_main(
            _Columns(
                sorted_codes,
                sorted_times,
                *(c.astype(t, copy=False) for c, t in zip(rest, _COLUMN_TYPES[2:], strict=True)),
            )
        )
        return ledger

    @classmethod
    def _bulk_columns(
        cls, n: int, at: Any, timezone: str | None, given: tuple[Any, ...]
    ) -> tuple[MemoryLedger, npt.NDArray[np.int64], list[npt.NDArray[Any]]]:
        """`from_arrays`' times (checked) and label columns (coded in a new ledger)."""
        arr = np.asarray(at)
        if arr.dtype.kind in "iu":
            arr = arr.reshape(-1)  # checked before a cast could wrap
            times = arr.astype(np.int64, copy=False)  # only read: sort_rows returns new arrays
        else:
            arr = times = datetimes_to_micros(arr, column="at", timezone=timezone)
        if times.size != n:
            raise DataError("at", f"has {times.size} values for {n} customer ids")
        # two reductions; the mask naming the rows only when there are some
        if n and (arr.min() < FIRST_ENTRY or arr.max() > LAST_ENTRY):
            outside = (arr < FIRST_ENTRY) | (arr > LAST_ENTRY)
            raise DataError.from_mask("at", outside, f"instants that {_OUTSIDE}")
        ledger = cls()
        names = ("channel", "category", "campaign", "kind")
        rest = [
            *(ledger._label_column(v, n, name) for v, name in zip(given, names, strict=False)),
            _initiator_column(given[-1], n),
        ]
        return ledger, times, rest

    @classmethod
    def from_history(cls, history: History) -> MemoryLedger:
        """A ledger holding the rows of ``history``."""
        h = history.take(np.unique(history.customer_ids, return_index=True)[1])
        ids = np.repeat(h.customer_ids.astype(str), h.counts())
        labels = np.array([*h.labels, None], dtype=object)

        def lab(codes: npt.NDArray[np.int32]) -> Any:
            return labels[np.where(codes < 0, len(h.labels), codes)]

        kinds = lab(h.kind)
        return cls.from_arrays(
            ids,
            h.at,
            channel=lab(h.channel),
            category=lab(h.category),
            campaign=lab(h.campaign),
            kind=kinds,
            initiator=np.where(h.company, "company", "customer"),
        )

    def _label_column(self, values: Any, n: int, name: str) -> npt.NDArray[np.signedinteger[Any]]:
        if values is None or isinstance(values, str):
            return np.full(n, self._code_for(values), dtype=np.int32)
        column = factorize_labels(values, n, name)
        # the column's codes index its categories, -1 (missing) the last entry of the table
        codes = [*map(self._code_for, column.categories), -1]
        # the narrowest type: reordered by customer and time, a column of a few megabytes
        # is gathered from cache, one of tens from memory
        table = np.array(codes, dtype=code_dtype(len(self._label_list)))
        out: npt.NDArray[np.signedinteger[Any]] = table[column.codes]
        return out

    def _code_for(self, label: str | None) -> int:
        if label is None:
            return -1
        code = self._labels.get(label)
        if code is None:
            code = self._labels[label] = len(self._label_list)
            self._label_list.append(label)
        return code

    def _code(self, label: str | None) -> int:
        """The stored code of ``label`` (-1 for None, -2 when never stored)."""
        return -1 if label is None else self._labels.get(label, -2)

    def _set_main(self, main: _Columns) -> None:
        self._main = main
        # aliases for the hot paths
        self._at, self._channel, self._category = main.at, main.channel, main.category
        self._campaign, self._kind, self._company = main.campaign, main.kind, main.company
        n_codes = len(self._id_list)
        counts = np.bincount(main.cust, minlength=n_codes)
        self._offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)

    # A copy (pickle, copy.deepcopy) is a snapshot of this tenant's entries, reservations,
    # stored preferences and suppressions: how relcore.dask ships a ledger to its worker
    # processes. The locks and the store's other tenants stay behind; the copy is a store
    # of its own, with its own locks.
    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            self._flush()
            state = dict(self.__dict__)
        for name in ("_lock", "_family", "_family_lock"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self._family = {self.tenant: self}
        self._family_lock = threading.Lock()

    # ------------------------------------------------------------------ the contract

    def __len__(self) -> int:
        return int(self._at.size) + self._n_buffer

    def __repr__(self) -> str:
        tenant = "" if self.tenant == DEFAULT_TENANT else f", tenant {self.tenant!r}"
        return f"MemoryLedger({len(self):,} entries, {len(self._ids):,} customers{tenant})"

    def for_tenant(self, tenant: str) -> MemoryLedger:
        """The ledger of another tenant of the same store (this process's memory).

        Examples
        --------
        >>> a = MemoryLedger()
        >>> b = a.for_tenant("brand-b")
        >>> b.append([Entry("c1", 10, "email", None, None, "message", True)])
        >>> len(a), len(b), a.for_tenant("brand-b") is b
        (0, 1, True)
        """
        check_tenant(tenant)
        with self._family_lock:
            found = self._family.get(tenant)
            if found is None:
                found = MemoryLedger(tenant=tenant)
                found._family, found._family_lock = self._family, self._family_lock
                self._family[tenant] = found
        return found

    def _row(self, e: Entry) -> _Row:
        return (
            int(e.at),
            self._code_for(e.channel),
            self._code_for(e.category),
            self._code_for(e.campaign),
            self._code_for(e.kind),
            bool(e.company),
        )

    def append(self, entries: Sequence[Entry]) -> None:
        checked = [check_entry(e) for e in entries]
        with self._lock:
            for e in checked:
                code = self._ids.get(e.customer_id)
                if code is None:
                    code = self._ids[e.customer_id] = len(self._id_list)
                    self._id_list.append(e.customer_id)
                row = self._row(e)
                insort(self._buffer.setdefault(code, []), row, key=lambda r: r[0])
                self._n_buffer += 1
            if self._n_buffer > max(self._FLUSH_AT, self._at.size // 32):
                self._flush()

    def _flush(self) -> None:
        """Merge the append buffer into the sorted columns."""
        if not self._n_buffer:
            return
        n_main = self._offsets.size - 1
        positions: list[int] = []
        rows: list[tuple[int, ...]] = []
        for code in sorted(self._buffer):
            buf = self._buffer[code]
            if code < n_main:
                a, b = int(self._offsets[code]), int(self._offsets[code + 1])
                times = np.array([r[0] for r in buf], dtype=np.int64)
                positions.extend((a + np.searchsorted(self._at[a:b], times, "right")).tolist())
            else:
                positions.extend([self._at.size] * len(buf))
            rows.extend((code, *r) for r in buf)
        cols = list(zip(*rows, strict=True))
        pos = np.asarray(positions, dtype=np.int64)
        self._buffer = {}
        self._n_buffer = 0
        self._set_main(
            _Columns(
                *(
                    np.insert(col, pos, np.asarray(new, dtype=t))
                    for col, new, t in zip(self._main, cols, _COLUMN_TYPES, strict=True)
                )
            )
        )

    def customer_rows(
        self, customer_id: str, *, since: int | None = None, held_at: int | None = None
    ) -> CustomerRows:
        """One customer's rows as lists (the single-decision fast path)."""
        since = None if since is None else clamp_micros(since)
        with self._lock:
            code = self._ids.get(customer_id)
            extra = self._live_holds(customer_id, held_at)
            if code is None and not extra:
                return CustomerRows([], [], [], [], [], [], self._code, self._label_list)
            if code is not None and code < self._offsets.size - 1:
                a, b = int(self._offsets[code]), int(self._offsets[code + 1])
                # A long history is cut by numpy before the copy to lists; a short one
                # after it (numpy's call overhead is the larger cost there).
                if since is not None and b - a > 64:
                    a += int(np.searchsorted(self._at[a:b], since, "left"))
            else:
                a = b = 0
            at = self._at[a:b].tolist()
            ch = self._channel[a:b].tolist()
            cat = self._category[a:b].tolist()
            camp = self._campaign[a:b].tolist()
            kind = self._kind[a:b].tolist()
            comp = self._company[a:b].tolist()
            buf = None if code is None else self._buffer.get(code)
            if buf:
                extra = [*buf, *extra]
            if extra:
                merged = sorted(
                    [*zip(at, ch, cat, camp, kind, comp, strict=True), *extra], key=lambda r: r[0]
                )
                at, ch, cat, camp, kind, comp = (list(c) for c in zip(*merged, strict=True))
            if since is not None and at and at[0] < since:
                j = bisect_left(at, since)
                at, ch, cat, camp = at[j:], ch[j:], cat[j:], camp[j:]
                kind, comp = kind[j:], comp[j:]
            return CustomerRows(at, ch, cat, camp, kind, comp, self._code, self._label_list)

    def _live_holds(self, customer_id: str, held_at: int | None) -> list[_Row]:
        """The rows of the customer's reservations held at ``held_at`` (none if None)."""
        if held_at is None or not self._held:
            return []
        holds = self._held.get(customer_id)
        if not holds:
            return []
        return [row for until, row in holds.values() if until > held_at]

    def customer_history(
        self, customer_id: str, *, since: int | None = None, held_at: int | None = None
    ) -> History:
        return self.histories([customer_id], since=since, held_at=held_at).take()

    def histories(
        self, customer_ids: Sequence[str], *, since: int | None = None, held_at: int | None = None
    ) -> History:
        ids = np.asarray(customer_ids, dtype=object).reshape(-1)
        with self._lock:
            held: dict[int, list[_Row]] = {}
            if held_at is not None and self._held:
                for i, cid in enumerate(ids.tolist()):
                    live = self._live_holds(cid, held_at)
                    if live:
                        held[i] = live
            self._flush()
            codes = np.fromiter(map(self._ids.get, ids.tolist(), repeat(-1)), np.int64, ids.size)
            main_codes = self._offsets.size - 1
            known = (codes >= 0) & (codes < main_codes)
            starts = np.zeros(ids.size, dtype=np.int64)
            ends = np.zeros(ids.size, dtype=np.int64)
            starts[known] = self._offsets[codes[known]]
            ends[known] = self._offsets[codes[known] + 1]
            labels = tuple(self._label_list)
            columns = (
                self._at,
                self._channel,
                self._category,
                self._campaign,
                self._kind,
                self._company,
            )
        lengths = ends - starts
        if int(lengths.sum()) * 4 < self._at.size:
            rows = gather_index(starts, lengths)
            columns = tuple(c[rows] for c in columns)  # type: ignore[assignment]
            new_ends = np.cumsum(lengths)
            starts, ends = new_ends - lengths, new_ends
        h = History(
            ids,
            at=columns[0],
            channel=columns[1],
            category=columns[2],
            campaign=columns[3],
            kind=columns[4],
            company=columns[5],
            labels=labels,
            starts=starts.astype(np.int64),
            ends=ends.astype(np.int64),
            label_codes=self._labels,
        )
        if held:
            h = _insert_rows(h, held)
        return h if since is None else h.since(since)

    @contextmanager
    def _exclusive(self, customer_id: str) -> Iterator[LedgerSession]:
        with self._lock:
            session = _MemorySession(self, customer_id)
            try:
                yield session
            except BaseException:
                for undo in reversed(session.undo):
                    undo()
                raise
            self.append(session.pending)

    def exclusive(self, customer_id: str) -> AbstractContextManager[LedgerSession]:
        return self._exclusive(customer_id)

    # ------------------------------------------------------------------ keys, preferences

    def keyed(self, key: str) -> KeyedEntry | None:
        with self._lock:
            return self._keys.get(key)

    def _hold(self, keyed: KeyedEntry) -> None:
        assert keyed.held_until is not None
        holds = self._held.setdefault(keyed.entry.customer_id, {})
        holds[keyed.key] = (keyed.held_until, self._row(keyed.entry))

    def _unhold(self, customer_id: str, key: str) -> None:
        holds = self._held[customer_id]
        del holds[key]
        if not holds:
            del self._held[customer_id]

    def get_preferences(self, customer_id: str) -> ContactPreferences | None:
        with self._lock:
            found = self._prefs.get(customer_id)
            stored = None if found is None else found[0]
            if not self._suppressed:
                return stored
            scopes = self._suppressed.get(suppression_hash(self._salt, customer_id))
        return with_suppression(stored, scopes)

    def get_preferences_many(self, customer_ids: Sequence[str]) -> dict[str, ContactPreferences]:
        with self._lock:
            if self._suppressed:
                out = {}
                for c in dict.fromkeys(customer_ids):
                    merged = self.get_preferences(c)
                    if merged is not None:
                        out[c] = merged
                return out
            if not self._prefs:
                return {}
            get = self._prefs.get
            return {c: p[0] for c in dict.fromkeys(customer_ids) if (p := get(c)) is not None}

    def set_preferences(self, customer_id: str, preferences: ContactPreferences | None) -> None:
        check_preferences(customer_id, preferences)
        with self._lock:
            self._store_preferences(customer_id, preferences)

    def _store_preferences(self, customer_id: str, preferences: ContactPreferences | None) -> None:
        if preferences is None:
            self._prefs.pop(customer_id, None)
        else:
            self._prefs[customer_id] = (preferences, preferences_reach(preferences))

    def log_decisions(self, records: Sequence[AuditRecord]) -> None:
        checked = check_records(records)
        with self._lock:
            self._decisions.extend(checked)

    def decisions(
        self,
        *,
        customer_id: str | None = None,
        since: _dt.datetime | int | None = None,
        until: _dt.datetime | int | None = None,
    ) -> list[AuditRecord]:
        lo = audit_instant(since, "since")
        hi = audit_instant(until, "until")
        with self._lock:
            found = [
                (to_micros(r.decided_at), i, r)
                for i, r in enumerate(self._decisions)
                if customer_id is None or r.customer_id == customer_id
            ]
        return [
            r
            for t, _, r in sorted(found, key=lambda x: x[:2])
            if (lo is None or t >= lo) and (hi is None or t < hi)
        ]

    # ------------------------------------------------------------------ erasure

    def forget(self, customer_id: str) -> Erasure:
        check_customer_id(customer_id)
        with self._lock:
            self._flush()
            code = self._ids.get(customer_id)
            entries = 0
            unsubscribes: list[tuple[str | None, str | None]] = []
            if code is not None and code < self._offsets.size - 1:
                a, b = int(self._offsets[code]), int(self._offsets[code + 1])
                entries = b - a
                unsub = self._labels.get(UNSUBSCRIBE, -2)
                labels = self._label_list
                for i in np.flatnonzero((self._kind[a:b] == unsub) & ~self._company[a:b]):
                    ch, cat = int(self._channel[a + i]), int(self._category[a + i])
                    unsubscribes.append(
                        (None if ch < 0 else labels[ch], None if cat < 0 else labels[cat])
                    )
                if entries:
                    self._set_main(self._main._take(self._main.cust != code))
            if code is not None:
                # the code stays (the columns index by it), the id goes
                del self._ids[customer_id]
                self._id_list[code] = ""
            held = self._held.pop(customer_id, {})
            for key in [k for k, v in self._keys.items() if v.entry.customer_id == customer_id]:
                del self._keys[key]
            stored = self._prefs.pop(customer_id, None)
            before = len(self._decisions)
            self._decisions[:] = [r for r in self._decisions if r.customer_id != customer_id]
            digest = suppression_hash(self._salt, customer_id)
            scopes = opt_out_scopes(
                None if stored is None else stored[0], unsubscribes, self._suppressed.get(digest)
            )
            if scopes[0] or scopes[1]:
                self._suppressed[digest] = scopes
            return Erasure(
                entries, len(held), before - len(self._decisions), stored is not None, *scopes
            )

    def lift_suppression(self, customer_id: str) -> bool:
        check_customer_id(customer_id)
        with self._lock:
            return self._suppressed.pop(suppression_hash(self._salt, customer_id), None) is not None

    # ------------------------------------------------------------------ housekeeping

    def prune(self, before: int) -> int:
        before = clamp_micros(before)
        with self._lock:
            self._flush()
            # each customer's cutoff: before, or earlier where their own limits read back
            cutoffs: dict[str, int] = {
                cid: max(before - reach, _INT64_MIN)
                for cid, (_, reach) in self._prefs.items()
                if reach
            }
            cutoff = np.full(len(self._id_list), before, dtype=np.int64)
            for cid, c in cutoffs.items():
                code = self._ids.get(cid)
                if code is not None:
                    cutoff[code] = c
            keep = self._at >= cutoff[self._main.cust]
            removed = int(keep.size - keep.sum())
            if removed:
                self._set_main(self._main._take(keep))
            for cid, holds in list(self._held.items()):
                for key, (until, row) in list(holds.items()):
                    if row[0] < before or until < before:
                        self._unhold(cid, key)
                        del self._keys[key]
                        removed += 1
            for key, k in list(self._keys.items()):
                if k.held_until is None and k.entry.at < cutoffs.get(k.entry.customer_id, before):
                    del self._keys[key]
            return removed

    def close(self) -> None:
        """Nothing to release."""


class _MemorySession(LedgerSession):
    """Works on the ledger under its lock: appends are held until the block ends
    normally; every other change is made at once and undone if the block raises."""

    def __init__(self, ledger: MemoryLedger, customer_id: str) -> None:
        self._ledger = ledger
        self._customer_id = customer_id
        self.pending: list[Entry] = []
        self.undo: list[Callable[[], None]] = []

    def customer_history(self, *, since: int | None = None, held_at: int | None = None) -> History:
        h = self._ledger.customer_history(self._customer_id, since=since, held_at=held_at)
        if not self.pending:
            return h
        return History.from_entries([self._customer_id], [*h.entries(0), *self.pending]).since(
            since if since is not None else np.iinfo(np.int64).min
        )

    def customer_rows(
        self, *, since: int | None = None, held_at: int | None = None
    ) -> CustomerRows:
        if self.pending:
            return CustomerRows.from_history(self.customer_history(since=since, held_at=held_at))
        return self._ledger.customer_rows(self._customer_id, since=since, held_at=held_at)

    def append(self, entries: Sequence[Entry]) -> None:
        self.pending.extend(check_entry(e) for e in entries)

    def keyed(self, key: str) -> KeyedEntry | None:
        return self._ledger._keys.get(key)

    def add_keyed(self, keyed: KeyedEntry) -> None:
        k = check_keyed(keyed, self._customer_id)
        ledger = self._ledger
        if k.key in ledger._keys:
            raise ReservationError(k.key, "is used already; a key names one contact")
        ledger._keys[k.key] = k
        self.undo.append(lambda: ledger._keys.__delitem__(k.key))
        if k.held_until is None:
            self.pending.append(k.entry)
        else:
            ledger._hold(k)
            self.undo.append(lambda: ledger._unhold(self._customer_id, k.key))

    def _mine(self, key: str) -> KeyedEntry | None:
        k = self._ledger._keys.get(key)
        if k is not None and k.entry.customer_id != self._customer_id:
            raise ReservationError(
                key, f"belongs to customer {k.entry.customer_id!r}, not {self._customer_id!r}"
            )
        return k

    def confirm(self, key: str) -> None:
        k = self._mine(key)
        if k is None:
            raise ReservationError(key, "nothing is held under this key")
        if k.held_until is None:
            return
        ledger = self._ledger
        ledger._unhold(self._customer_id, key)
        ledger._keys[key] = k._replace(held_until=None)
        self.pending.append(k.entry)

        def undo() -> None:
            ledger._keys[key] = k
            ledger._hold(k)

        self.undo.append(undo)

    def release(self, key: str) -> bool:
        k = self._mine(key)
        if k is None:
            return False
        if k.held_until is None:
            raise ReservationError(key, "its contact is recorded; a recorded contact stays")
        self._drop(k)
        return True

    def _drop(self, k: KeyedEntry) -> None:
        ledger = self._ledger
        ledger._unhold(self._customer_id, k.key)
        del ledger._keys[k.key]

        def undo() -> None:
            ledger._keys[k.key] = k
            ledger._hold(k)

        self.undo.append(undo)

    def expire(self, now: int) -> int:
        holds = self._ledger._held.get(self._customer_id)
        if not holds:
            return 0
        gone = [key for key, (until, _) in holds.items() if until <= now]
        for key in gone:
            self._drop(self._ledger._keys[key])
        return len(gone)

    def get_preferences(self) -> ContactPreferences | None:
        return self._ledger.get_preferences(self._customer_id)

    def set_preferences(self, preferences: ContactPreferences | None) -> None:
        check_preferences(self._customer_id, preferences)
        ledger, cid = self._ledger, self._customer_id
        old = ledger._prefs.get(cid)
        ledger._store_preferences(cid, preferences)
        self.undo.append(lambda: ledger._store_preferences(cid, None if old is None else old[0]))

    def log_decisions(self, records: Sequence[AuditRecord]) -> None:
        checked = check_records(records)
        log = self._ledger._decisions
        n = len(log)
        log.extend(checked)
        self.undo.append(lambda: log.__delitem__(slice(n, None)))


def check_preferences(customer_id: Any, preferences: Any) -> None:
    """Types of [`Ledger.set_preferences`][relcore.contact_policy.Ledger.set_preferences]'s
    arguments."""
    if not isinstance(customer_id, str) or not customer_id:
        raise DataError("customer_id", f"must be a non-empty string, got {customer_id!r}")
    if preferences is not None and not isinstance(preferences, ContactPreferences):
        raise TypeError(
            f"preferences must be ContactPreferences or None, got {type(preferences).__name__}"
        )


def check_records(records: Sequence[AuditRecord]) -> list[AuditRecord]:
    """Audit records, checked to be [`AuditRecord`][relcore.contact_policy.AuditRecord] values."""
    out = list(records)
    for r in out:
        if not isinstance(r, AuditRecord):
            raise TypeError(f"decisions are logged as AuditRecord values, got {type(r).__name__}")
    return out


def _insert_rows(h: History, extra: Mapping[int, list[_Row]]) -> History:
    """``h`` with more rows for some customers (by position), each kept in time order."""
    h = h.take()
    positions: list[int] = []
    rows: list[_Row] = []
    counts = h.counts().copy()
    for i in sorted(extra):
        a, b = int(h.starts[i]), int(h.ends[i])
        mine = sorted(extra[i], key=lambda r: r[0])
        times = np.array([r[0] for r in mine], dtype=np.int64)
        positions.extend((a + np.searchsorted(h.at[a:b], times, "right")).tolist())
        rows.extend(mine)
        counts[i] += len(mine)
    cols = list(zip(*rows, strict=True))
    pos = np.asarray(positions, dtype=np.int64)
    ends = np.cumsum(counts)
    return History(
        h.customer_ids,
        at=np.insert(h.at, pos, np.asarray(cols[0], dtype=np.int64)),
        channel=np.insert(h.channel, pos, np.asarray(cols[1], dtype=np.int32)),
        category=np.insert(h.category, pos, np.asarray(cols[2], dtype=np.int32)),
        campaign=np.insert(h.campaign, pos, np.asarray(cols[3], dtype=np.int32)),
        kind=np.insert(h.kind, pos, np.asarray(cols[4], dtype=np.int32)),
        company=np.insert(h.company, pos, np.asarray(cols[5], dtype=bool)),
        labels=h.labels,
        starts=(ends - counts).astype(np.int64),
        ends=ends.astype(np.int64),
    )


def _length(values: Any, pending: Pending[tuple[npt.NDArray[np.int32], Any]]) -> int:
    """Rows of a column of ids: its length, or (for a single id, a table, an iterator)
    the number of ids its coding found."""
    if not isinstance(values, (str, bytes)) and getattr(values, "ndim", 1) == 1:
        try:
            return len(values)
        except TypeError:
            pass
    return int(pending.result()[0].size)


def _initiator_column(values: Any, n: int) -> npt.NDArray[np.bool_]:
    if isinstance(values, str):
        if values not in ("company", "customer"):
            raise DataError("initiator", f"must be 'company' or 'customer', got {values!r}")
        return np.full(n, values == "company", dtype=bool)
    given = as_1d(values, "initiator")
    if given.size != n:
        raise DataError("initiator", f"has {given.size} values for {n} entries")
    few = few_objects(given)
    if few is not None:
        groups, objects = few
        if all(isinstance(o, str) and o in ("company", "customer") for o in objects):
            return np.array([o == "company" for o in objects])[groups]
    if given.dtype == object:
        # valid rows (the common case): one comparison per row, a second only for the
        # rows that are not contacts, no copy; otherwise the general path names the rows
        company = np.asarray(np.equal(given, "company"), dtype=bool)
        if np.all(np.equal(given[~company], "customer")):
            return company
    arr = given.astype(object)
    company = arr == "company"
    bad = ~company & (arr != "customer")
    if bad.any():
        raise DataError.from_mask("initiator", bad, "values other than 'company' or 'customer'")
    return np.asarray(company, dtype=bool)
