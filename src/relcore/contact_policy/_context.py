"""What a rule sees when it decides: one customer's rows, or an audience's columns.

A single decision (``ContactGuard.check``) must take microseconds, so rules read one
customer's few rows as Python lists ([`CustomerRows`][relcore.contact_policy.CustomerRows], inside
`OneContext`); numpy's per-call overhead would dominate at that size. An audience decision
(``ContactGuard.check_many``) reads columns for every customer at once
(`BatchContext`), one numpy operation per step. Both contexts carry the same
facts: the candidate contact's labels, the customer's zone, the categories exempt from
counting, and the slots kept back by a [`Reserve`][relcore.contact_policy.Reserve].
"""

from __future__ import annotations

import datetime as _dt
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from .._time import to_micros
from ._localtime import wall_one
from .history import CustomerRows, History

Micros = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

NEVER: Final = int(np.iinfo(np.int64).max)
"""A proposal meaning "this rule never passes" (an opt-out, a cap of zero)."""

FIRST_DECIDABLE: Final = to_micros(_dt.datetime(2, 1, 1, tzinfo=_dt.UTC))
LAST_DECIDABLE: Final = to_micros(_dt.datetime(9999, 1, 1, tzinfo=_dt.UTC)) - 1
"""Contacts are decided from 0002-01-01 to 9998-12-31 (UTC): a year inside what a datetime
holds on each side, so that the customer's calendar month around a contact and every
``next_allowed_at`` short of that can be written as one. An answer later than that is no
answer: the contact is not allowed within the calendar relcore handles."""


class _AnyLabel:
    """Marks a scope dimension a rule does not restrict."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ANY"


ANY: Final = _AnyLabel()


class OrMissing(NamedTuple):
    """A target label that also matches rows without a label in that dimension.

    A policy that counts contacts without a category (``uncategorized="counted"``)
    counts them toward every rule scoped to a category: such a rule's category target
    is ``OrMissing("promotional")``.
    """

    label: str


Targets = tuple[Any, Any, Any]  # channel, category, campaign: a label, None, OrMissing or ANY


class OneContext:
    """Everything a rule needs to decide one contact."""

    __slots__ = (
        "_history",
        "_wall",
        "campaign",
        "category",
        "channel",
        "customer_id",
        "excluded",
        "reduction",
        "rows",
        "zone",
    )

    def __init__(
        self,
        rows: CustomerRows,
        *,
        customer_id: str,
        channel: str,
        category: str | None,
        campaign: str | None,
        zone: _dt.tzinfo,
        excluded: frozenset[Any],
        reduction: int = 0,
    ) -> None:
        self.rows = rows
        self.customer_id = customer_id
        self.channel = channel
        self.category = category
        self.campaign = campaign
        self.zone = zone
        self.excluded = excluded  # category values (as stored) not counted: the exempt ones
        self.reduction = reduction
        self._history: History | None = None
        self._wall: tuple[int, int] | None = None

    def without_reduction(self) -> OneContext:
        """The same context with no slots kept back (for the customer's own limits)."""
        return OneContext(
            self.rows,
            customer_id=self.customer_id,
            channel=self.channel,
            category=self.category,
            campaign=self.campaign,
            zone=self.zone,
            excluded=self.excluded,
        )

    def wall(self, s: int) -> int:
        """Wall-clock microseconds of ``s`` in the customer's zone (remembered: several
        rules ask for the same instant)."""
        if self._wall is None or self._wall[0] != s:
            self._wall = (s, wall_one(s, self.zone))
        return self._wall[1]

    def history(self) -> History:
        if self._history is None:
            self._history = self.rows.to_history(self.customer_id)
        return self._history

    def contact_times(self, targets: Targets, lo_time: int, hi_time: int) -> list[int]:
        """Times of company contacts in scope with ``lo_time < t < hi_time``."""
        r = self.rows
        at = r.at
        lo = bisect_right(at, lo_time)
        hi = bisect_left(at, hi_time)
        if lo >= hi:
            return []
        conds = []
        for col, lab in (
            (r.channel, targets[0]),
            (r.category, targets[1]),
            (r.campaign, targets[2]),
        ):
            if lab is ANY:
                continue
            if type(lab) is OrMissing:
                conds.append((col, r.code(lab.label), r.code(None)))
            else:
                code = r.code(lab)
                conds.append((col, code, code))
        company = r.company
        category = r.category
        excluded = self.excluded
        out = []
        for i in range(lo, hi):
            if not company[i] or (excluded and category[i] in excluded):
                continue
            for col, code, alt in conds:
                v = col[i]
                if v != code and v != alt:
                    break
            else:
                out.append(at[i])
        return out

    def event_times(
        self, kinds: Sequence[str], lo_time: int, hi_time: int, *, customer_only: bool
    ) -> list[int]:
        """Times of entries of the given kinds with ``lo_time < t < hi_time``."""
        r = self.rows
        at = r.at
        lo = bisect_right(at, lo_time)
        hi = bisect_left(at, hi_time)
        codes = {r.code(k) for k in kinds}
        kind = r.kind
        company = r.company
        return [
            at[i] for i in range(lo, hi) if kind[i] in codes and not (customer_only and company[i])
        ]


class BatchContext:
    """Everything a rule needs to decide one contact for many customers at once.

    ``uniform`` is the decision instant when it is the same for every customer (the
    first pass of ``check_many``); then the history may be a view into a ledger's whole
    store. Otherwise the history is compact and each row knows its customer.
    """

    __slots__ = (
        "_compact",
        "_masks",
        "campaign",
        "category",
        "channel",
        "customer_ids",
        "exempt",
        "history",
        "reduction",
        "uniform",
        "zone",
    )

    def __init__(
        self,
        history: History,
        *,
        channel: str,
        category: str | None,
        campaign: str | None,
        zone: _dt.tzinfo,
        exempt: frozenset[str],
        reduction: int,
        uniform: int | None,
    ) -> None:
        if uniform is None and not history.is_compact():
            history = history.take()
        self.history = history
        self.customer_ids = history.customer_ids
        self.channel = channel
        self.category = category
        self.campaign = campaign
        self.zone = zone
        self.exempt = exempt
        self.reduction = reduction
        self.uniform = uniform
        self._masks: dict[Any, Mask] = {}
        self._compact: BatchContext | None = None

    def __len__(self) -> int:
        return len(self.history)

    def compacted(self) -> BatchContext:
        """This context over a compact history (rows gathered per customer)."""
        if self.uniform is None or self.history.is_compact():
            return self
        if self._compact is None:
            self._compact = BatchContext(
                self.history.take(),
                channel=self.channel,
                category=self.category,
                campaign=self.campaign,
                zone=self.zone,
                exempt=self.exempt,
                reduction=self.reduction,
                uniform=self.uniform,
            )
        return self._compact

    def row_instants(self, s: Micros) -> Micros | int:
        """The decision instant of each row's customer (a scalar when uniform)."""
        if self.uniform is not None:
            return self.uniform
        out: Micros = s[self.history.owner()]
        return out

    def contact_mask(self, targets: Targets) -> Mask:
        """Rows that are company contacts in scope (exempt categories left out)."""
        key = ("contacts", targets)
        mask = self._masks.get(key)
        if mask is None:
            h = self.history
            mask = h.company.copy()
            for col, lab in (
                (h.channel, targets[0]),
                (h.category, targets[1]),
                (h.campaign, targets[2]),
            ):
                if lab is ANY:
                    continue
                if type(lab) is OrMissing:
                    mask &= (col == h.code(lab.label)) | (col < 0)  # -1: no label
                else:
                    mask &= col == h.code(lab)
            if self.exempt:
                codes = [h.code(c) for c in self.exempt]
                mask &= ~np.isin(h.category, codes)
            self._masks[key] = mask
        return mask

    def kind_mask(self, kinds: Sequence[str], *, customer_only: bool) -> Mask:
        """Rows whose kind is one of ``kinds``."""
        key = ("kinds", tuple(kinds), customer_only)
        mask = self._masks.get(key)
        if mask is None:
            h = self.history
            mask = np.isin(h.kind, [h.code(k) for k in kinds])
            if customer_only:
                mask &= ~h.company
            self._masks[key] = mask
        return mask

    def count(self, mask: Mask) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Per customer: how many of its rows are in ``mask``, and the masked rows before it."""
        csum = np.empty(mask.shape[0] + 1, dtype=np.int64)
        csum[0] = 0
        np.cumsum(mask, out=csum[1:])
        base = csum[self.history.starts]
        return csum[self.history.ends] - base, base

    def nth_time(self, mask: Mask, base: npt.NDArray[np.int64], j: npt.NDArray[np.int64]) -> Micros:
        """Time of each customer's ``j``-th masked row (0-based; ``j`` must be in range)."""
        rows = np.flatnonzero(mask)
        out: Micros = self.history.at[rows[base + j]]
        return out

    def one(self, i: int) -> OneContext:
        """Customer ``i`` as a single-decision context (for rare cases done one by one)."""
        h = self.history
        excluded = frozenset(h.code(c) for c in self.exempt)
        return OneContext(
            CustomerRows.from_history(h, i),
            customer_id=str(h.customer_ids[i]),
            channel=self.channel,
            category=self.category,
            campaign=self.campaign,
            zone=self.zone,
            excluded=excluded,
            reduction=self.reduction,
        )
