"""What a ledger remembers: entries, and the columnar history rules read.

A ledger stores two kinds of entry for each customer: **contacts** the company made
(``company=True``: a promotional email, a reminder SMS) and **events** the customer had
(``company=False``: a response, a purchase, a complaint, an unsubscribe). Rules count the
first and react to the second.

Histories are handed out as columns, not objects, so that a rule (or a fatigue scorer)
can decide for a million customers with a few numpy operations.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from .._time import micros_to_datetime64, to_micros
from .._validation import readonly

__all__ = ["CustomerRows", "Entry", "History"]

Codes = npt.NDArray[np.int32]
Micros = npt.NDArray[np.int64]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
FIRST_ENTRY: Final = to_micros(_dt.datetime.min.replace(tzinfo=_dt.UTC))
LAST_ENTRY: Final = to_micros(_dt.datetime.max.replace(tzinfo=_dt.UTC))
"""Entries lie between 0001-01-01 and 9999-12-31 (UTC), where a datetime can show them."""


def clamp_micros(t: int) -> int:
    """``t`` moved into int64: an instant beyond it lies before or after every entry."""
    return min(max(int(t), _INT64_MIN), _INT64_MAX)


class Entry(NamedTuple):
    """One row of a ledger.

    Attributes
    ----------
    customer_id
        Whose entry it is.
    at
        When, as int64 microseconds since the Unix epoch, UTC.
    channel, category, campaign
        Labels of the contact (``None`` when not known).
    kind
        ``"message"`` for a contact; for customer events the event's kind
        (``"response"``, ``"complaint"``, ``"purchase"``…).
    company
        ``True`` when the company initiated it (a contact), ``False`` when the customer did.

    Examples
    --------
    >>> e = Entry("c42", 1_790_000_000_000_000, "email", "promotional", None, "message", True)
    >>> e.company, e.kind
    (True, 'message')
    """

    customer_id: str
    at: int
    channel: str | None
    category: str | None
    campaign: str | None
    kind: str
    company: bool


class History:
    """The ledger rows of several customers, as columns.

    Customer ``i`` (the ``i``-th id asked for) owns rows ``starts[i]:ends[i]``, sorted by
    time. The columns may hold more rows than the customers own (a ledger can hand out
    its whole store and point into it), and customers asked for twice share their rows;
    always go through ``starts``/``ends``.

    Label columns (``channel``, ``category``, ``campaign``, ``kind``) hold int32 codes into
    ``labels`` (one table for all of them); ``-1`` is a missing label.

    Attributes
    ----------
    customer_ids
        The customers, in the order they were asked for.
    at
        Entry times, int64 microseconds since the epoch (UTC).
    channel, category, campaign, kind
        Label codes into ``labels``.
    company
        ``True`` for company contacts, ``False`` for customer events.
    labels
        The label table.
    starts, ends
        Row range of each customer.

    Examples
    --------
    >>> import numpy as np
    >>> h = History.from_entries(
    ...     ["c1", "c2"],
    ...     [Entry("c1", 10, "email", None, None, "message", True),
    ...      Entry("c1", 20, None, None, None, "response", False),
    ...      Entry("c2", 15, "sms", None, None, "message", True)],
    ... )
    >>> h.counts().tolist()
    [2, 1]
    >>> h.decode(h.kind)[h.starts[0]:h.ends[0]].tolist()
    ['message', 'response']
    """

    __slots__ = (
        "_codes",
        "_owner",
        "at",
        "campaign",
        "category",
        "channel",
        "company",
        "customer_ids",
        "ends",
        "kind",
        "labels",
        "starts",
    )

    customer_ids: npt.NDArray[Any]
    at: Micros
    channel: Codes
    category: Codes
    campaign: Codes
    kind: Codes
    company: npt.NDArray[np.bool_]
    labels: tuple[str, ...]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]

    def __init__(
        self,
        customer_ids: npt.NDArray[Any],
        *,
        at: Micros,
        channel: Codes,
        category: Codes,
        campaign: Codes,
        kind: Codes,
        company: npt.NDArray[np.bool_],
        labels: tuple[str, ...],
        starts: npt.NDArray[np.int64],
        ends: npt.NDArray[np.int64],
        label_codes: Mapping[str, int] | None = None,
        owner: npt.NDArray[np.int64] | None = None,
    ) -> None:
        # Internal: ledgers build histories from columns they already hold in order.
        self.customer_ids = customer_ids
        self.at = readonly(at)
        self.channel = readonly(channel)
        self.category = readonly(category)
        self.campaign = readonly(campaign)
        self.kind = readonly(kind)
        self.company = readonly(company)
        self.labels = labels
        self.starts = readonly(starts)
        self.ends = readonly(ends)
        self._codes = label_codes
        self._owner = owner

    # ------------------------------------------------------------------ building

    @classmethod
    def from_entries(cls, customer_ids: Any, entries: Any) -> History:
        """The history of ``customer_ids`` made of ``entries`` (any order, other ids ignored)."""
        ids = np.asarray(list(customer_ids), dtype=object)
        mine: dict[str, list[Entry]] = {str(c): [] for c in ids.tolist()}
        for e in entries:
            bucket = mine.get(e.customer_id)
            if bucket is not None:
                bucket.append(Entry(*e))
        rows: list[Entry] = []
        starts = np.empty(ids.size, dtype=np.int64)
        ends = np.empty(ids.size, dtype=np.int64)
        seen: dict[str, tuple[int, int]] = {}
        for i, cid in enumerate(ids.tolist()):
            if cid not in seen:
                got = sorted(mine[cid], key=lambda e: e.at)
                seen[cid] = (len(rows), len(rows) + len(got))
                rows.extend(got)
            starts[i], ends[i] = seen[cid]
        return cls.from_rows(ids, rows, starts, ends)

    @classmethod
    def from_rows(
        cls,
        customer_ids: npt.NDArray[Any],
        rows: list[Entry] | list[tuple[Any, ...]],
        starts: npt.NDArray[np.int64],
        ends: npt.NDArray[np.int64],
    ) -> History:
        """Columns from rows ``(customer_id, at, channel, category, campaign, kind, company)``."""
        table: dict[str, int] = {}

        def codes(values: list[Any]) -> Codes:
            out = np.empty(len(values), dtype=np.int32)
            for j, v in enumerate(values):
                out[j] = -1 if v is None else table.setdefault(v, len(table))
            return out

        cols: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [()] * 7
        return cls(
            customer_ids,
            at=np.asarray(cols[1], dtype=np.int64),
            channel=codes(list(cols[2])),
            category=codes(list(cols[3])),
            campaign=codes(list(cols[4])),
            kind=codes(list(cols[5])),
            company=np.asarray(cols[6], dtype=bool),
            labels=tuple(table),
            starts=starts,
            ends=ends,
            label_codes=table,
        )

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    def __repr__(self) -> str:
        return f"History({len(self):,} customers, {int(self.counts().sum()):,} entries)"

    def counts(self) -> npt.NDArray[np.int64]:
        """Number of entries of each customer."""
        return self.ends - self.starts

    def code(self, label: str | None) -> int:
        """The code of ``label`` (``-1`` for ``None``, ``-2`` when it never occurs)."""
        if label is None:
            return -1
        if self._codes is None:
            self._codes = {lab: i for i, lab in enumerate(self.labels)}
        return self._codes.get(label, -2)

    def decode(self, codes: Codes) -> npt.NDArray[np.object_]:
        """Labels of a code column (``None`` where missing)."""
        table = np.array([*self.labels, None], dtype=object)
        return table[np.where(codes < 0, len(self.labels), codes)]

    def times(self) -> npt.NDArray[np.datetime64]:
        """The ``at`` column as ``datetime64[us]`` (UTC)."""
        return micros_to_datetime64(self.at)

    def entries(self, i: int) -> list[Entry]:
        """Customer ``i``'s rows as [`Entry`][relcore.contact_policy.Entry] values."""
        a, b = int(self.starts[i]), int(self.ends[i])
        cid = str(self.customer_ids[i])
        lab = [*self.labels, None]
        return [
            Entry(cid, t, lab[ch], lab[ca], lab[cp], str(lab[k]), bool(co))
            for t, ch, ca, cp, k, co in zip(
                self.at[a:b].tolist(),
                self.channel[a:b].tolist(),
                self.category[a:b].tolist(),
                self.campaign[a:b].tolist(),
                self.kind[a:b].tolist(),
                self.company[a:b].tolist(),
                strict=True,
            )
        ]

    # ------------------------------------------------------------------ reshaping

    def is_compact(self) -> bool:
        """Whether the rows are exactly the customers' rows, one after the other."""
        n = len(self)
        if n == 0:
            return bool(self.at.shape[0] == 0)
        return bool(
            self.starts[0] == 0
            and self.ends[-1] == self.at.shape[0]
            and np.array_equal(self.starts[1:], self.ends[:-1])
        )

    def owner(self) -> npt.NDArray[np.int64]:
        """For a compact history, the customer position of every row."""
        if self._owner is None:
            if not self.is_compact():
                raise ValueError("owner() needs a compact history; call take() first")
            self._owner = np.repeat(np.arange(len(self), dtype=np.int64), self.counts())
        return self._owner

    def subset(self, index: npt.NDArray[np.int64]) -> History:
        """Customers ``index`` only, sharing these columns (no copy)."""
        return History(
            self.customer_ids[index],
            at=self.at,
            channel=self.channel,
            category=self.category,
            campaign=self.campaign,
            kind=self.kind,
            company=self.company,
            labels=self.labels,
            starts=self.starts[index],
            ends=self.ends[index],
            label_codes=self._codes,
        )

    def take(self, index: npt.NDArray[np.int64] | None = None) -> History:
        """Customers ``index`` (all when ``None``) with their rows gathered: compact."""
        idx = np.arange(len(self)) if index is None else np.asarray(index, dtype=np.int64)
        starts, ends = self.starts[idx], self.ends[idx]
        lengths = ends - starts
        new_ends = np.cumsum(lengths)
        new_starts = new_ends - lengths
        rows = gather_index(starts, lengths)
        return History(
            self.customer_ids[idx],
            at=self.at[rows],
            channel=self.channel[rows],
            category=self.category[rows],
            campaign=self.campaign[rows],
            kind=self.kind[rows],
            company=self.company[rows],
            labels=self.labels,
            starts=new_starts,
            ends=new_ends,
            label_codes=self._codes,
        )

    def since(self, t: int) -> History:
        """Only the rows with ``at >= t`` (each customer keeps its contiguous range)."""
        keep = self.at >= clamp_micros(t)
        if keep.all():
            return self
        csum = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
        return History(
            self.customer_ids,
            at=self.at[keep],
            channel=self.channel[keep],
            category=self.category[keep],
            campaign=self.campaign[keep],
            kind=self.kind[keep],
            company=self.company[keep],
            labels=self.labels,
            starts=csum[self.starts],
            ends=csum[self.ends],
            label_codes=self._codes,
        )


class CustomerRows:
    """One customer's ledger rows as parallel Python lists, sorted by time.

    The single-decision fast path: a rule deciding one contact reads a handful of rows, where
    numpy's per-call overhead would dominate, so
    [`ContactGuard.check`][relcore.contact_policy.ContactGuard.check] reads them as lists. A ledger
    hands them out through ``customer_rows`` (part of the [`Ledger`][relcore.contact_policy.Ledger]
    protocol, whose default builds them from ``customer_history``).

    Attributes
    ----------
    at
        Entry times, int microseconds since the epoch (UTC).
    channel, category, campaign, kind
        Labels as the ledger stores them: int codes into ``labels``, or the strings.
    company
        ``True`` for company contacts, ``False`` for customer events.
    code
        Maps a label (or ``None``) to its stored representation (by default the label
        itself: labels stored as strings).
    labels
        The code table when labels are stored as int codes, else ``None``.

    Examples
    --------
    >>> h = History.from_entries(
    ...     ["c1"], [Entry("c1", 10, "email", None, None, "message", True)])
    >>> rows = CustomerRows.from_history(h)
    >>> rows.at, rows.channel == [rows.code("email")]
    ([10], True)
    """

    __slots__ = ("at", "campaign", "category", "channel", "code", "company", "kind", "labels")

    def __init__(
        self,
        at: list[int],
        channel: list[Any],
        category: list[Any],
        campaign: list[Any],
        kind: list[Any],
        company: list[bool],
        code: Callable[[str | None], Any] | None = None,
        labels: Sequence[str] | None = None,
    ) -> None:
        self.at = at
        self.channel = channel
        self.category = category
        self.campaign = campaign
        self.kind = kind
        self.company = company
        self.code = _identity if code is None else code
        self.labels = labels  # the code table when labels are stored as int codes

    @classmethod
    def from_history(cls, h: History, i: int = 0) -> CustomerRows:
        """Customer ``i``'s rows of ``h``."""
        a, b = int(h.starts[i]), int(h.ends[i])
        return cls(
            h.at[a:b].tolist(),
            h.channel[a:b].tolist(),
            h.category[a:b].tolist(),
            h.campaign[a:b].tolist(),
            h.kind[a:b].tolist(),
            h.company[a:b].tolist(),
            h.code,
            h.labels,
        )

    def with_entries(self, entries: Sequence[Any]) -> CustomerRows:
        """These rows and ``entries`` (not yet stored), with labels as plain strings."""
        rows = [
            (t, self._label(ch), self._label(ca), self._label(cp), self._label(k), co)
            for t, ch, ca, cp, k, co in zip(
                self.at,
                self.channel,
                self.category,
                self.campaign,
                self.kind,
                self.company,
                strict=True,
            )
        ]
        rows.extend((e.at, e.channel, e.category, e.campaign, e.kind, e.company) for e in entries)
        rows.sort(key=lambda r: r[0])
        if not rows:
            return CustomerRows([], [], [], [], [], [])
        at, ch, ca, cp, kind, co = (list(c) for c in zip(*rows, strict=True))
        return CustomerRows(at, ch, ca, cp, kind, co)

    def to_history(self, customer_id: str) -> History:
        """These rows as a one-customer [`History`][relcore.contact_policy.History] (for fatigue
        scorers)."""
        table: dict[str, int] = {}
        labels: list[str] = []

        def recode(values: list[Any]) -> npt.NDArray[np.int32]:
            out = np.empty(len(values), dtype=np.int32)
            for j, v in enumerate(values):
                lab = self._label(v)
                if lab is None:
                    out[j] = -1
                else:
                    if lab not in table:
                        table[lab] = len(labels)
                        labels.append(lab)
                    out[j] = table[lab]
            return out

        n = len(self.at)
        return History(
            np.array([customer_id], dtype=object),
            at=np.array(self.at, dtype=np.int64),
            channel=recode(self.channel),
            category=recode(self.category),
            campaign=recode(self.campaign),
            kind=recode(self.kind),
            company=np.array(self.company, dtype=bool),
            labels=tuple(labels),
            starts=np.zeros(1, dtype=np.int64),
            ends=np.full(1, n, dtype=np.int64),
            label_codes=table,
        )

    def _label(self, value: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        if self.labels is None or value < 0:
            return None
        return str(self.labels[value])


def _identity(label: str | None) -> str | None:
    return label


def gather_index(starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> Micros:
    """Row indices ``starts[i] .. starts[i] + lengths[i] - 1`` for all ``i``, concatenated."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    # Each row's index is its range start plus its position inside the range.
    return np.repeat(starts - offsets, lengths) + np.arange(total, dtype=np.int64)
