r"""Plan a campaign: who gets which message, and when, before anything is sent.

[`plan_campaign`][relcore.contact_policy.plan_campaign] takes candidate messages (one row per
customer and message, each with a window ``[earliest, latest]`` in which it may go out), a
[`ContactGuard`][relcore.contact_policy.ContactGuard] (the policy, the ledger and the customers'
stored preferences), audience-wide [`Budget`][relcore.contact_policy.Budget]\ s and
[`RateLimit`][relcore.contact_policy.RateLimit]\ s, and returns a
[`CampaignPlan`][relcore.contact_policy.CampaignPlan]: a send time for every scheduled message and,
for every candidate left out, why.

The objective
-------------
When budgets or caps bind, the plan keeps the candidates of highest expected net value

.. math:: v_i = p_i \, V_i - \lambda \, (F_i + 1)

where :math:`V_i` is the candidate's value (the ``value`` column: a campaign value per message, or a
customer's expected CLV), :math:`p_i` the customer's probability of responding on the candidate's
channel ([`relcore.scoring.response_propensity`][relcore.scoring.scores.response_propensity]; 1 when
not given), :math:`F_i` the customer's fatigue score at ``earliest`` (a
[`ContactFatigue`][relcore.contact_policy.ContactFatigue] over the ledger, so :math:`F_i + 1` is the
fatigue the send leaves) and :math:`\lambda` the ``fatigue_cost`` (0 by default).

The algorithm
-------------
Greedy by net value with exact rule checks, in rounds. Candidates are ranked by
:math:`v_i` (then priority, then a seeded hash). Round :math:`r` takes each customer's
best candidate not yet decided (so every customer's candidates are decided best first,
each against the ledger *and the sends planned for the customer in earlier rounds*):

1. every rule, and the customer's own preferences, are asked exactly as
   [`ContactGuard.request`][relcore.contact_policy.ContactGuard.request] asks them (the same code
   path, vectorised), at ``earliest``; a refused candidate moves to the earliest instant at which
   every rule passes (deferral), or is left out with the failing rule codes when that instant is
   after ``latest`` (or never comes);
2. the round's candidates take budget in order of net value (exactly greedy: a candidate
   is admitted when every budget it counts against still has room); a candidate that
   only a per-day budget stops moves to the next day when its window allows. So that a
   customer's poor first choice cannot take the budget their better second choice needs
   (rounds meet first choices first), a look-ahead pass without budgets and rate limits
   finds what the rules allow, and greedy by value over it sets, for each budget that
   fills, the value below which the planning pass refuses; what that sets aside may use
   what is left at the end;
3. each rate-limited channel sends on a grid of instants ``spacing = per / rate`` apart
   (with a seeded phase), so that no window of length ``per`` ever holds more than
   ``rate`` sends; candidates take the first free grid instant at or after their time, in
   time order (ties by net value), and those pushed past ``latest`` are left out;
4. a candidate moved by step 3 is asked again at its new instant; when a rule now fails
   it moves on to the rules' next allowed instant and steps 2-4 repeat for it.

A customer gets at most ``per_customer`` messages; the candidates behind them are left
out as ``"outranked"`` (lower value than the chosen alternative).

Caps and gaps count contacts recorded for later times too, so a send planned before one already
planned is checked against it; with a rule that reads only the past (a fatigue limit, outcome
suppression, a rule of your own), or a [`Reserve`][relcore.contact_policy.Reserve] that leaves
some candidates fewer slots than others, each customer's sends are planned in time order instead.
Every
scheduled send then passes [`ContactGuard.request`][relcore.contact_policy.ContactGuard.request]
when the plan's sends are replayed in time order on the ledger (with rules that, like relcore's,
only ever pass more easily with fewer contacts).

[`compare`][relcore.contact_policy.compare] runs one calendar of planned contacts through several
policies.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from .._columns import factorize_ids
from .._hashing import hash_ids, mix64, salt_seed, unit_interval
from .._optional import require
from .._result import Labels, Table, TableResult
from .._time import (
    datetimes_to_micros,
    format_instant,
    from_micros,
    micros_to_datetime64,
    timedelta_micros,
)
from .._validation import readonly
from ..errors import DataError
from ..models import ContactPreferences
from ._context import NEVER
from ._localtime import period_bounds
from ._rowdecide import decide_rows
from .contact import Contact
from .decision import Decision
from .fatigue import ContactFatigue, FatigueScorer
from .guard import ContactGuard
from .history import History
from .rules import Cooldown, FrequencyCap, GlobalControl, MinimumGap, QuietHours

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

__all__ = [
    "Budget",
    "CampaignPlan",
    "CommitResult",
    "PolicyComparison",
    "RateLimit",
    "compare",
    "plan_campaign",
]

Micros = npt.NDArray[np.int64]

STATUSES: tuple[str, ...] = ("scheduled", "left_out", "held_out")
BUDGET = "budget"
RATE_LIMIT = "rate_limit"
OUTRANKED = "outranked"
HOLDOUT = "holdout"
BELOW_MIN_VALUE = "below_min_value"
_SCHEDULED, _LEFT_OUT, _HELD_OUT, _UNDECIDED = 0, 1, 2, 3
_MAX_PASSES = 1_000  # budget / slot / re-check passes per round before giving up


# ----------------------------------------------------------------------------- limits


def _count(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{attribute.name} must be a whole number >= 0, got {value!r}")


def _label(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError(f"{attribute.name} must be a non-empty string or None, got {value!r}")


@attrs.frozen
class Budget:
    """At most ``limit`` sends of the plan (per calendar day with ``per_day``).

    A budget counts the sends in its scope: those of ``campaign`` and/or on ``channel``
    (every send when both are ``None``). With ``per_day`` it holds for each calendar day of
    the policy's time zone separately. Budgets count the plan's own sends only (not the
    ledger's).

    Examples
    --------
    >>> Budget(50_000, campaign="spring").name
    'campaign spring'
    >>> Budget.parse("channel:sms/day=1000")
    Budget(limit=1000, campaign=None, channel='sms', per_day=True)
    """

    limit: int = attrs.field(validator=_count)
    campaign: str | None = attrs.field(default=None, kw_only=True, validator=_label)
    channel: str | None = attrs.field(default=None, kw_only=True, validator=_label)
    per_day: bool = attrs.field(default=False, kw_only=True)

    @property
    def name(self) -> str:
        """The budget in a few words (how a refusal names it)."""
        parts = []
        if self.campaign is not None:
            parts.append(f"campaign {self.campaign}")
        if self.channel is not None:
            parts.append(f"channel {self.channel}")
        text = " ".join(parts) or "all sends"
        return text + (" per day" if self.per_day else "")

    def applies(self, channel: str, campaign: str | None) -> bool:
        """Whether a send on ``channel`` of ``campaign`` counts against the budget."""
        return (self.channel is None or self.channel == channel) and (
            self.campaign is None or self.campaign == campaign
        )

    @classmethod
    def parse(cls, text: str) -> Budget:
        """Read ``"NAME=N"`` (campaign NAME), ``"campaign:NAME=N"``, ``"channel:NAME=N"``,
        ``"all=N"``, each optionally with ``/day`` before ``=`` (``"day=N"``: all sends
        per day)."""
        m = re.fullmatch(r"\s*(?:(campaign|channel):)?([^=/:]+?)(/day)?\s*=\s*(\d+)\s*", text)
        if m is None:
            raise DataError(
                "budget",
                f"cannot read {text!r}; write NAME=N (a campaign), channel:NAME=N, "
                "campaign:NAME=N, all=N or day=N, with /day before = for a daily budget",
            )
        dim, name, daily, limit = m.groups()
        per_day = daily is not None
        if dim is None and name in ("all", "day"):
            return cls(int(limit), per_day=per_day or name == "day")
        if dim == "channel":
            return cls(int(limit), channel=name, per_day=per_day)
        return cls(int(limit), campaign=name, per_day=per_day)


def _positive(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a whole number >= 1, got {value!r}")


def _period(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, _dt.timedelta) or value <= _dt.timedelta(0):
        raise ValueError(f"{attribute.name} must be a positive timedelta, got {value!r}")


_UNITS = {"s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


@attrs.frozen
class RateLimit:
    """At most ``rate`` sends on ``channel`` in any ``per`` (a second, a minute...).

    The plan sends on a channel at instants at least ``per / rate`` apart, so the limit
    holds over every window of length ``per``, not only over calendar minutes. A channel
    with several limits is spaced by the strictest.

    Examples
    --------
    >>> from datetime import timedelta
    >>> RateLimit.parse("email=600/min")
    RateLimit(rate=600, per=datetime.timedelta(seconds=60), channel='email')
    >>> RateLimit(600, per=timedelta(minutes=1), channel="email").spacing
    datetime.timedelta(microseconds=100000)
    """

    rate: int = attrs.field(validator=_positive)
    per: _dt.timedelta = attrs.field(kw_only=True, validator=_period)
    channel: str = attrs.field(kw_only=True, validator=_label)

    @property
    def spacing(self) -> _dt.timedelta:
        """The least time between two sends (``per / rate``, rounded up to a microsecond)."""
        return _dt.timedelta(microseconds=self.spacing_micros)

    @property
    def spacing_micros(self) -> int:
        return -(-timedelta_micros(self.per) // self.rate)

    @property
    def name(self) -> str:
        return f"{self.channel} {self.rate}/{_describe_per(self.per)}"

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """Read ``"CHANNEL=R/s"``, ``"CHANNEL=R/min"`` or ``"CHANNEL=R/h"``."""
        m = re.fullmatch(r"\s*([^=]+?)\s*=\s*(\d+)\s*/\s*([a-z]+)\s*", text)
        if m is None or m.group(3) not in _UNITS:
            raise DataError(
                "rate", f"cannot read {text!r}; write CHANNEL=R/s, CHANNEL=R/min or CHANNEL=R/h"
            )
        return cls(
            int(m.group(2)), per=_dt.timedelta(seconds=_UNITS[m.group(3)]), channel=m.group(1)
        )


def _describe_per(per: _dt.timedelta) -> str:
    seconds = per.total_seconds()
    for unit, length in (("h", 3600), ("min", 60), ("s", 1)):
        if seconds == length:
            return unit
    return f"{seconds:g}s"


# ----------------------------------------------------------------------------- input


# The columns a table of candidates may hold (relcore policy plan reads the same).
CANDIDATE_COLUMNS = (
    "customer_id",
    "message_id",
    "channel",
    "category",
    "campaign",
    "priority",
    "earliest",
    "latest",
    "value",
)


def _columns(candidates: Any, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    if isinstance(candidates, Mapping):
        data = dict(candidates)
    elif hasattr(candidates, "columns") and hasattr(candidates, "__getitem__"):
        data = {str(c): candidates[c] for c in candidates.columns}
        for k, v in list(data.items()):
            if hasattr(v, "dt") and getattr(v.dt, "tz", None) is not None:  # pandas aware
                data[k] = (
                    v.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")
                )
                data[k] = _UTC(data[k])
            elif hasattr(v, "dtype") and getattr(v.dtype, "time_zone", None) is not None:
                data[k] = _UTC(  # polars aware
                    v.dt.convert_time_zone("UTC").dt.replace_time_zone(None).to_numpy()
                )
            elif hasattr(v, "to_numpy"):
                data[k] = v.to_numpy()
    else:
        raise TypeError(
            "candidates must be a mapping of columns or a pandas/polars DataFrame, got "
            f"{type(candidates).__name__}"
        )
    unknown = sorted(set(data) - set(CANDIDATE_COLUMNS) - set(extra))
    if unknown:
        raise DataError(
            "candidates",
            f"unknown columns {unknown}; the columns are {', '.join(CANDIDATE_COLUMNS)}",
        )
    for required in ("customer_id", "channel", *(extra or ("earliest", "latest"))):
        if required not in data:
            raise DataError(required, "is required")
    return data


class _UTC:
    """datetime64 values known to be UTC wall clock (from an aware frame column)."""

    def __init__(self, values: Any) -> None:
        self.values = np.asarray(values).astype("datetime64[us]")


def _times(values: Any, column: str, timezone: str | None, n: int) -> Micros:
    if isinstance(values, _UTC):
        out = datetimes_to_micros(values.values, column=column, timezone="UTC")
    else:
        arr = np.asarray(values)
        if arr.ndim == 0:
            arr = np.full(n, arr.item(), dtype=object if arr.dtype == object else arr.dtype)
        tz = timezone if np.issubdtype(arr.dtype, np.datetime64) else None
        out = datetimes_to_micros(arr, column=column, timezone=tz)
    if out.size != n:
        raise DataError(column, f"has {out.size} values for {n} candidates")
    return out


def _labels(values: Any, column: str, n: int, *, required: bool) -> tuple[Any, tuple[str, ...]]:
    """Codes into a sorted table of labels, ``-1`` where missing."""
    if values is None or isinstance(values, str):
        if values is None and required:
            raise DataError(column, "is required")
        if values == "":
            raise DataError(column, "must be a non-empty string")
        code = -1 if values is None else 0
        return np.full(n, code, dtype=np.int32), (() if values is None else (values,))
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size != n:
        raise DataError(column, f"has {arr.size} values for {n} candidates")
    labels: list[Any]
    if arr.dtype.kind == "U":
        table, codes = np.unique(arr, return_inverse=True)
        labels = [str(v) for v in table.tolist()]
    elif arr.dtype == object:
        # One dict lookup per row, then the few distinct values are checked and sorted.
        rows = arr.tolist()
        labels = list(dict.fromkeys(rows))
        try:
            seen = {v: i for i, v in enumerate(labels)}
        except TypeError:  # an unhashable value
            raise DataError(column, "values that are not non-empty strings") from None
        codes = np.fromiter(map(seen.__getitem__, rows), dtype=np.int64, count=n)
    else:
        raise DataError(column, f"must hold strings, got dtype {arr.dtype}")
    missing = [v is None or (isinstance(v, float) and v != v) for v in labels]
    bad = [
        i
        for i, v in enumerate(labels)
        if (missing[i] and required) or not (missing[i] or (isinstance(v, str) and v))
    ]
    if bad:
        problem = "missing values" if missing[bad[0]] else "values that are not non-empty strings"
        raise DataError.from_mask(column, np.isin(codes, bad), problem)
    present = sorted((v, i) for i, v in enumerate(labels) if not missing[i])
    remap = np.full(len(labels) + 1, -1, dtype=np.int32)
    for j, (_, i) in enumerate(present):
        remap[i] = j
    return remap[codes], tuple(v for v, _ in present)


def _numbers(values: Any, column: str, n: int, default: float, *, integer: bool) -> Any:
    if values is None:
        return np.full(n, default, dtype=np.int64 if integer else np.float64)
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = np.full(n, arr.item())
    if arr.size != n:
        raise DataError(column, f"has {arr.size} values for {n} candidates")
    if integer:
        if arr.dtype.kind not in "iu":
            raise DataError(column, f"must hold integers, got dtype {arr.dtype}")
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iuf":
        raise DataError(column, f"must hold numbers, got dtype {arr.dtype}")
    out = arr.astype(np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        raise DataError.from_mask(column, bad, "values that are not finite numbers")
    return out


# ----------------------------------------------------------------------------- result


def _column(values: Any) -> npt.NDArray[Any]:
    return readonly(np.asarray(values))


@attrs.frozen(repr=False)
class CommitResult:
    """What [`CampaignPlan.commit`][relcore.contact_policy.CampaignPlan.commit] did.

    Attributes
    ----------
    committed
        The keys of the sends reserved (or recorded), in the plan's order.
    refused
        Per customer whose sends were refused on commit: the refusing decision (the
        customer's other sends of the plan were released again).
    """

    committed: tuple[str, ...]
    refused: Mapping[str, Decision]

    def __repr__(self) -> str:
        return (
            f"CommitResult({len(self.committed):,} committed, "
            f"{len(self.refused):,} customer{'' if len(self.refused) == 1 else 's'} refused)"
        )


@attrs.frozen(repr=False)
class CampaignPlan(TableResult):
    """A planned campaign: every candidate, whether and when it goes out, and why not.

    One row per candidate, in the order given. ``status`` is ``"scheduled"`` (at ``send_at``),
    ``"held_out"`` (the customer is in a [`GlobalControl`][relcore.contact_policy.GlobalControl]
    group) or ``"left_out"``; ``reason`` says why a candidate was left out: the failing rule codes
    joined by ``"+"`` (``"frequency_cap+quiet_hours"``), ``"budget"``, ``"rate_limit"``,
    ``"outranked"`` (lower value than the chosen alternative) or ``"below_min_value"``; ``detail``
    names the budget, the rate limit, the chosen alternative or the instant the rules would next
    allow.

    Attributes
    ----------
    customer_id, message_id, channel, category, campaign, priority
        The candidates.
    earliest, latest, send_at
        Instants as int64 microseconds since the epoch, UTC (``send_at`` is -1 where nothing is
        scheduled); [`to_pandas`][relcore.contact_policy.CampaignPlan.to_pandas] shows them as
        datetimes.
    value, propensity, fatigue_cost, net_value
        The objective's terms (see the module docstring).
    status, reason, detail
        The outcome.
    moved
        Whether a rule, the customer's preferences or a daily budget moved the candidate
        past its ``earliest`` (a deferral; a rate limit's spacing alone is not one).
    seed
        The seed of the plan's jitter.
    """

    customer_id: npt.NDArray[Any] = attrs.field(converter=_column)
    message_id: npt.NDArray[Any] = attrs.field(converter=_column)
    channel: npt.NDArray[Any] = attrs.field(converter=_column)
    category: npt.NDArray[Any] = attrs.field(converter=_column)
    campaign: npt.NDArray[Any] = attrs.field(converter=_column)
    priority: npt.NDArray[np.int64] = attrs.field(converter=_column)
    earliest: Micros = attrs.field(converter=_column)
    latest: Micros = attrs.field(converter=_column)
    value: npt.NDArray[np.float64] = attrs.field(converter=_column)
    propensity: npt.NDArray[np.float64] = attrs.field(converter=_column)
    fatigue_cost: npt.NDArray[np.float64] = attrs.field(converter=_column)
    net_value: npt.NDArray[np.float64] = attrs.field(converter=_column)
    status: npt.NDArray[Any] = attrs.field(converter=_column)
    send_at: Micros = attrs.field(converter=_column)
    reason: npt.NDArray[Any] = attrs.field(converter=_column)
    detail: npt.NDArray[Any] = attrs.field(converter=_column)
    moved: npt.NDArray[np.bool_] = attrs.field(converter=_column)
    seed: int = 0

    def __len__(self) -> int:
        return int(self.customer_id.shape[0])

    @property
    def scheduled(self) -> npt.NDArray[np.bool_]:
        """Which candidates are scheduled."""
        return np.asarray(self.status == "scheduled")

    @property
    def deferred(self) -> npt.NDArray[np.bool_]:
        """Which scheduled candidates a rule, a preference or a daily budget deferred
        (see ``moved``)."""
        return self.scheduled & self.moved

    def counts(self) -> dict[str, int]:
        """Candidates by status (and how many of the scheduled are deferred)."""
        c = Counter(self.status.tolist())
        out = {k: c.get(k, 0) for k in STATUSES}
        out["deferred"] = int(self.deferred.sum())
        return out

    def reason_counts(self) -> dict[str, int]:
        """Candidates left out, by reason code (a candidate counts under each rule code)."""
        c: Counter[str] = Counter()
        values, counts = np.unique(
            self.reason[self.status == "left_out"].astype(str), return_counts=True
        )
        for r, k in zip(values.tolist(), counts.tolist(), strict=True):
            for code in r.split("+"):
                c[code] += k
        return dict(c.most_common())

    @property
    def held_out_customers(self) -> int:
        """How many customers a global control group kept out of the plan."""
        return int(np.unique(self.customer_id[self.status == "held_out"]).size)

    @property
    def expected_value(self) -> float:
        """The sum of the scheduled sends' expected net values."""
        return float(self.net_value[self.scheduled].sum())

    def schedule(self) -> dict[str, npt.NDArray[Any]]:
        """The scheduled sends in time order: ``customer_id``, ``message_id``, ``channel``,
        ``send_at`` (``datetime64[us]``, UTC) and ``net_value``."""
        idx = np.flatnonzero(self.scheduled)
        idx = idx[np.argsort(self.send_at[idx], kind="stable")]
        return {
            "customer_id": self.customer_id[idx],
            "message_id": self.message_id[idx],
            "channel": self.channel[idx],
            "send_at": micros_to_datetime64(self.send_at[idx]),
            "net_value": self.net_value[idx],
        }

    def contacts(self) -> list[Contact]:
        """The scheduled sends as [`Contact`][relcore.contact_policy.Contact] values, in time
        order."""
        idx = np.flatnonzero(self.scheduled)
        idx = idx[np.argsort(self.send_at[idx], kind="stable")]
        return [self._contact(int(i)) for i in idx]

    def _contact(self, i: int) -> Contact:
        return Contact(
            str(self.customer_id[i]),
            channel=str(self.channel[i]),
            at=from_micros(int(self.send_at[i])),
            category=self.category[i],
            campaign=self.campaign[i],
            priority=int(self.priority[i]),
            value=float(self.net_value[i]),
        )

    def _table(self) -> Table:
        """One row per candidate, in the order given."""
        send = micros_to_datetime64(np.where(self.scheduled, self.send_at, 0))
        send[~self.scheduled] = np.datetime64("NaT")
        return Table(
            {},
            {
                "customer_id": self.customer_id,
                "message_id": self.message_id,
                "channel": self.channel,
                "category": self.category,
                "campaign": self.campaign,
                "priority": self.priority,
                "earliest": micros_to_datetime64(self.earliest),
                "latest": micros_to_datetime64(self.latest),
                "value": self.value,
                "propensity": self.propensity,
                "fatigue_cost": self.fatigue_cost,
                "net_value": self.net_value,
                "status": Labels(self.status, STATUSES),
                "send_at": send,
                "reason": self.reason,
                "detail": self.detail,
            },
        )

    def to_columns(self, *, scheduled_only: bool = False) -> dict[str, npt.NDArray[Any]]:
        """One numpy column per field, one row per candidate (with ``scheduled_only``,
        the schedule alone)."""
        columns = super().to_columns()
        if scheduled_only:
            columns = {name: col[self.scheduled] for name, col in columns.items()}
        return columns

    def to_pandas(self, *, scheduled_only: bool = False) -> pd.DataFrame:
        """One row per candidate (``pandas`` extra); instants are UTC timestamps.

        With ``scheduled_only``, the schedule alone."""
        frame = super().to_pandas()
        if scheduled_only:
            frame = frame[self.scheduled].reset_index(drop=True)
        return frame

    def to_polars(self, *, scheduled_only: bool = False) -> pl.DataFrame:
        """One row per candidate (``polars`` extra); instants are UTC datetimes."""
        frame = super().to_polars()
        if scheduled_only:
            polars_ = require("polars", "polars")
            frame = frame.filter(polars_.Series(self.scheduled))
        return frame

    def summary(self) -> str:
        """A small plain-text report: scheduled, deferred, left out by reason, held out,
        expected value."""
        c = self.counts()
        n = len(self)
        lines = [
            f"{n:,} candidates for {np.unique(self.customer_id).size:,} customers",
            f"  scheduled  {c['scheduled']:>10,}  ({c['deferred']:,} deferred)",
            f"  left out   {c['left_out']:>10,}",
            f"  held out   {c['held_out']:>10,}  ({self.held_out_customers:,} customers "
            "in a global control group)",
            f"expected net value {self.expected_value:,.2f}",
        ]
        reasons = self.reason_counts()
        if reasons:
            lines.append("left out, by reason (a candidate counts under each failing rule):")
            lines += [f"  {code:<20} {v:>10,}" for code, v in reasons.items()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        c = self.counts()
        return (
            f"CampaignPlan({len(self):,} candidates: {c['scheduled']:,} scheduled "
            f"({c['deferred']:,} deferred), {c['left_out']:,} left out, {c['held_out']:,} "
            f"held out; expected value {self.expected_value:,.2f})"
        )

    def commit(
        self,
        guard: ContactGuard,
        *,
        hold: _dt.timedelta | None = None,
        key_prefix: str = "",
        preferences: Mapping[str, ContactPreferences | None] | None = None,
    ) -> CommitResult:
        """Reserve every scheduled send in ``guard``'s ledger, customer by customer.

        Each of a customer's sends is reserved
        ([`ContactGuard.reserve`][relcore.contact_policy.ContactGuard.reserve], under the key
        ``key_prefix + message_id``) in time order, so the guard decides it afresh against what the
        ledger holds *now*: a contact recorded since the plan was made counts. When one of a
        customer's sends is refused, the customer's other sends of this commit are released: all of
        a customer's plan goes in, or none. With ``hold=None`` the reservations are confirmed at
        once (the sends are booked: a ledger counts contacts recorded for later times); with a
        ``hold`` they stay held that long, for the send pipeline to
        [`confirm`][relcore.contact_policy.ContactGuard.confirm] by key.
        """
        if not isinstance(guard, ContactGuard):
            raise TypeError(f"guard must be a ContactGuard, got {type(guard).__name__}")
        idx = np.flatnonzero(self.scheduled)
        idx = idx[np.lexsort((self.send_at[idx], self.customer_id[idx].astype(str)))]
        committed: list[str] = []
        refused: dict[str, Decision] = {}
        ttl = hold
        if ttl is None:
            ttl = _dt.timedelta(hours=1)
        start = 0
        while start < idx.size:
            cid = self.customer_id[idx[start]]
            stop = start
            while stop < idx.size and self.customer_id[idx[stop]] == cid:
                stop += 1
            prefs = None if preferences is None else preferences.get(str(cid))
            keys: list[str] = []
            for i in idx[start:stop].tolist():
                key = f"{key_prefix}{self.message_id[i]}"
                d = guard.reserve(self._contact(i), prefs, key=key, ttl=ttl)
                if not d.allowed:
                    refused[str(cid)] = d
                    for k in keys:
                        guard.release(k)
                    keys = []
                    break
                keys.append(key)
            if hold is None:
                for k in keys:
                    guard.confirm(k)
            committed.extend(keys)
            start = stop
        return CommitResult(tuple(committed), refused)


# ----------------------------------------------------------------------------- planning


def _counts_every_row(rule: Any) -> bool:
    """Whether ``rule`` decides a contact by rows on both sides of it (or none at all).

    A cap or a gap counts contacts planned for later too, so a send planned before one
    already planned is checked against it, and the later one stays valid. A rule reading
    only the past (a fatigue limit, outcome suppression, a cool-down after messages, a
    rule of your own) could turn the later send's answer: with such a rule, each
    customer's sends are planned in time order.
    """
    if isinstance(rule, (FrequencyCap, MinimumGap, QuietHours, GlobalControl)):
        return True
    return isinstance(rule, Cooldown) and rule.after != "message"


def plan_campaign(
    guard: ContactGuard,
    candidates: Any,
    *,
    budgets: Iterable[Budget] = (),
    rate_limits: Iterable[RateLimit] = (),
    preferences: Mapping[str, ContactPreferences | None] | None = None,
    per_customer: int | None = 1,
    propensity: Any = None,
    fatigue_cost: float = 0.0,
    fatigue: FatigueScorer | None = None,
    min_net_value: float | None = None,
    spread: _dt.timedelta | None = None,
    seed: int = 0,
    timezone: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CampaignPlan:
    r"""Plan a campaign: a send time for the best candidates that every rule allows.

    See `relcore.contact_policy.planning` for the objective and the algorithm.

    Parameters
    ----------
    guard
        The policy, the ledger (what customers already received and did) and their stored
        preferences. Nothing is recorded: see
        [`CampaignPlan.commit`][relcore.contact_policy.CampaignPlan.commit].
    candidates
        A mapping of columns (or a pandas/polars DataFrame), one row per candidate: ``customer_id``,
        ``channel``, ``earliest``, ``latest`` (aware datetimes, ISO strings with an offset, or
        ``datetime64`` with ``timezone=``), and optionally ``message_id`` (default: the row number),
        ``category``, ``campaign``, ``priority`` (int, default 0; matters with a policy
        [`Reserve`][relcore.contact_policy.Reserve] and breaks ties of value) and ``value`` (default
        1).
    budgets, rate_limits
        Audience-wide limits ([`Budget`][relcore.contact_policy.Budget],
        [`RateLimit`][relcore.contact_policy.RateLimit]).
    preferences
        Customers' own settings by id (those stored in the ledger apply otherwise).
    per_customer
        At most this many messages per customer from this plan (``None``: as many as
        the rules allow).
    propensity
        :math:`p_i`: an array aligned with the candidates, or a
        [`ResponsePropensity`][relcore.scoring.scores.ResponsePropensity] (looked up by customer and
        channel).
    fatigue_cost, fatigue
        :math:`\lambda` and the fatigue scorer (a
        [`ContactFatigue`][relcore.contact_policy.ContactFatigue] by default).
    min_net_value
        Leave out candidates whose net value is below this.
    spread
        Spread sends that a rule defers over this much time after the instant it allows
        (a seeded jitter per message), instead of all at that instant.
    seed
        Seeds the jitter: the spread, the phase of rate-limit grids and ties of value.
    timezone
        Zone of ``datetime64`` time columns.
    progress
        Called with ``(decided, total)`` as candidates are decided.

    Returns
    -------
    CampaignPlan

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> from relcore.contact_policy import ContactGuard, FrequencyCap, Policy
    >>> guard = ContactGuard(Policy([FrequencyCap(1, per="calendar_day")]))
    >>> t = datetime(2026, 6, 1, 9, tzinfo=timezone.utc)
    >>> plan = plan_campaign(guard, {
    ...     "customer_id": ["c1", "c1", "c2"], "message_id": ["a", "b", "c"],
    ...     "channel": ["email", "sms", "email"], "campaign": ["spring"] * 3,
    ...     "earliest": [t] * 3, "latest": [t + timedelta(days=2)] * 3,
    ...     "value": [5.0, 8.0, 1.0]}, budgets=[Budget(1, campaign="spring")])
    >>> plan.status.tolist(), plan.reason.tolist()
    (['left_out', 'scheduled', 'left_out'], ['outranked', '', 'budget'])
    """
    if not isinstance(guard, ContactGuard):
        raise TypeError(f"guard must be a ContactGuard, got {type(guard).__name__}")
    budgets = tuple(budgets)
    rate_limits = tuple(rate_limits)
    for b in budgets:
        if not isinstance(b, Budget):
            raise TypeError(f"budgets must be Budget values, got {type(b).__name__}")
    for r in rate_limits:
        if not isinstance(r, RateLimit):
            raise TypeError(f"rate_limits must be RateLimit values, got {type(r).__name__}")
    if per_customer is not None and (
        isinstance(per_customer, bool) or not isinstance(per_customer, int) or per_customer < 1
    ):
        raise ValueError(f"per_customer must be a whole number >= 1 or None, got {per_customer!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if spread is not None and (not isinstance(spread, _dt.timedelta) or spread < _dt.timedelta(0)):
        raise ValueError(f"spread must be a timedelta >= 0, got {spread!r}")
    lam = float(fatigue_cost)
    if not math.isfinite(lam) or lam < 0:
        raise ValueError(f"fatigue_cost must be a finite number >= 0, got {fatigue_cost!r}")
    data = _columns(candidates)
    if np.asarray(data["customer_id"]).size == 0:
        return _empty_plan(seed)
    planner = _Planner(guard, data, budgets, rate_limits, preferences, seed, timezone)
    return planner.run(
        per_customer=per_customer,
        propensity=propensity,
        lam=lam,
        fatigue=fatigue if fatigue is not None else ContactFatigue(),
        min_net_value=min_net_value,
        spread=None if spread is None else timedelta_micros(spread),
        progress=progress,
    )


def _empty_plan(seed: int) -> CampaignPlan:
    text = np.zeros(0, dtype=object)
    times = np.zeros(0, dtype=np.int64)
    numbers = np.zeros(0)
    return CampaignPlan(
        customer_id=text,
        message_id=text,
        channel=text,
        category=text,
        campaign=text,
        priority=times,
        earliest=times,
        latest=times,
        value=numbers,
        propensity=numbers,
        fatigue_cost=numbers,
        net_value=numbers,
        status=text,
        send_at=times,
        reason=text,
        detail=text,
        moved=np.zeros(0, dtype=bool),
        seed=seed,
    )


class _Planner:
    """The state of one planning run (columns of the candidates and the plan so far)."""

    def __init__(
        self,
        guard: ContactGuard,
        data: dict[str, Any],
        budgets: tuple[Budget, ...],
        rate_limits: tuple[RateLimit, ...],
        preferences: Mapping[str, ContactPreferences | None] | None,
        seed: int,
        timezone: str | None,
    ) -> None:
        self.guard = guard
        self.seed = seed
        raw_ids = np.asarray(data["customer_id"]).reshape(-1)
        if raw_ids.size == 0:
            raw_ids = np.zeros(0, dtype=object)
        if raw_ids.dtype.kind not in "UO":
            raise DataError(
                "customer_id",
                f"must be strings (ledgers key customers by text), got dtype {raw_ids.dtype}",
            )
        n = self.n = raw_ids.size
        self.cust, self.ids = factorize_ids(raw_ids, "customer_id")
        self.ids = np.asarray(self.ids).astype(object)
        if "message_id" in data:
            msg = np.asarray(data["message_id"]).reshape(-1)
            if msg.size != n:
                raise DataError("message_id", f"has {msg.size} values for {n} candidates")
            if msg.dtype.kind not in "iuUO":
                raise DataError("message_id", f"must be strings or integers, got {msg.dtype}")
            self.message = msg
        else:
            self.message = np.arange(n, dtype=np.int64)
        self.channel, self.channels = _labels(data["channel"], "channel", n, required=True)
        self.category, self.categories = _labels(
            data.get("category"), "category", n, required=False
        )
        self.campaign, self.campaigns = _labels(data.get("campaign"), "campaign", n, required=False)
        self.priority = _numbers(data.get("priority"), "priority", n, 0, integer=True)
        self.value = _numbers(data.get("value"), "value", n, 1.0, integer=False)
        self.earliest = _times(data["earliest"], "earliest", timezone, n)
        self.latest = _times(data["latest"], "latest", timezone, n)
        bad = self.latest < self.earliest
        if bad.any():
            raise DataError.from_mask("latest", bad, "instants before earliest")
        self.budgets = budgets
        self.rate_limits = rate_limits
        self.preferences = preferences
        self.zone = guard._zone
        # The seeded hash of each candidate: jitter and ties of value.
        cust_hash = hash_ids(np.asarray(self.ids, dtype=str), f"relcore-plan-{seed}")
        msg = self.message if self.message.dtype.kind in "iuU" else self.message.astype(str)
        msg_hash = hash_ids(msg, f"relcore-plan-{seed}", column="message_id") if n else msg
        self.hash = mix64(cust_hash[self.cust] ^ msg_hash) if n else np.zeros(0, np.uint64)
        self._group_codes()
        self.by_time = False

    # ------------------------------------------------------------------ helpers

    def label(self, table: tuple[str, ...], code: int) -> str | None:
        return None if code < 0 else table[code]

    def _prefs(self) -> list[Any] | None:
        """Each customer's preferences (given, else stored), by customer code."""
        ids = self.ids.tolist()
        given = self.preferences
        out: list[Any] = [None] * len(ids)
        missing = ids
        if given:
            missing = []
            for i, c in enumerate(ids):
                p = given.get(c)
                if p is not None and not isinstance(p, ContactPreferences):
                    raise TypeError(
                        f"preferences must map ids to ContactPreferences, got {type(p).__name__}"
                    )
                out[i] = p
                if p is None:
                    missing.append(c)
        stored = self.guard.ledger.get_preferences_many(missing) if missing else {}
        if stored:
            for i, c in enumerate(ids):
                if out[i] is None:
                    out[i] = stored.get(c)
        return out if (stored or given) and any(p is not None for p in out) else None

    def _group_codes(self) -> None:
        """One int per candidate naming its labels and reserve reduction (see _keys)."""
        reserve = self.guard.policy.reserve
        red = (
            np.zeros(self.n, dtype=np.int64)
            if reserve is None
            else (self.priority < reserve.min_priority).astype(np.int64)
        )
        self._red = 0 if reserve is None else reserve.slots
        dims = (len(self.channels), len(self.categories) + 1, len(self.campaigns) + 1, 2)
        self._dims = dims
        self._gcode = np.ravel_multi_index(
            (self.channel, self.category + 1, self.campaign + 1, red), dims
        ).astype(np.int64)

    def _keys(self, idx: npt.NDArray[np.int64]) -> dict[tuple[int, int, int, int], Any]:
        """Positions in ``idx`` grouped by labels (channel, category and campaign codes)
        and the reserve reduction of their priority."""
        if idx.size == 0:
            return {}
        codes = self._gcode[idx]
        first = int(codes[0])
        if (codes == first).all():
            groups = {first: np.arange(idx.size)}
        else:  # few distinct label sets: one pass each beats a sort
            present = np.flatnonzero(np.bincount(codes, minlength=int(np.prod(self._dims))))
            groups = {int(c): np.flatnonzero(codes == c) for c in present.tolist()}
        out = {}
        for code, members in groups.items():
            ch, cat, camp, red = np.unravel_index(code, self._dims)
            out[(int(ch), int(cat) - 1, int(camp) - 1, self._red * int(red))] = members
        return out

    def decide(
        self, pos: npt.NDArray[np.int64], cands: npt.NDArray[np.int64], t: Micros, h: History
    ) -> tuple[npt.NDArray[np.uint64], Micros]:
        """Rule bits at ``t`` and the earliest allowed instant ``>= t`` for candidates
        ``cands`` whose customers are rows ``pos`` of the round's history ``h``."""
        bits = np.zeros(cands.size, dtype=np.uint64)
        nxt = np.zeros(cands.size, dtype=np.int64)
        for (ch, cat, camp, red), members in self._keys(cands).items():
            key = (
                self.channels[ch],
                self.label(self.categories, cat),
                self.label(self.campaigns, camp),
            )
            sub = h.take(pos[members])
            prefs = None
            if self.prefs is not None:
                prefs = [self.prefs[c] for c in self.cust[cands[members]].tolist()]
            b, x = decide_rows(self.guard, sub, t[members], key, prefs, red)
            bits[members] = b
            nxt[members] = x
        return bits, nxt

    def codes(self, bits: int) -> str:
        return "+".join(c for c, b in self.guard._bit.items() if bits & int(b))

    # ------------------------------------------------------------------ run

    def run(
        self,
        *,
        per_customer: int | None,
        propensity: Any,
        lam: float,
        fatigue: FatigueScorer,
        min_net_value: float | None,
        spread: int | None,
        progress: Callable[[int, int], None] | None,
    ) -> CampaignPlan:
        n = self.n
        guard = self.guard
        now = guard._now()
        self.prefs = self._prefs()
        status = np.full(n, _UNDECIDED, dtype=np.int8)
        send_at = np.full(n, -1, dtype=np.int64)
        reason = np.full(n, "", dtype=object)
        detail = np.full(n, "", dtype=object)

        # How far back the rules read, for the customers' history.
        lookback = 0
        unbounded = False
        keys = {
            k: np.zeros(0, dtype=np.int64)
            for k in self._keys(np.unique(self._gcode, return_index=True)[1])
        }
        for ch, cat, camp, _ in keys:
            _, lb = guard._plan(
                (
                    self.channels[ch],
                    self.label(self.categories, cat),
                    self.label(self.campaigns, camp),
                )
            )
            unbounded |= lb < 0
            lookback = max(lookback, lb)
        if self.prefs is not None:
            for p in {id(p): p for p in self.prefs if p is not None}.values():
                lb = guard._for_customer(p).lookback
                unbounded |= lb < 0
                lookback = max(lookback, lb)
        p_arr = self._propensity(propensity)
        lookback_f = timedelta_micros(fatigue.lookback) if fatigue.lookback is not None else None
        if lam > 0:
            unbounded |= lookback_f is None
            lookback = max(lookback, lookback_f or 0)
        first = int(self.earliest.min()) if n else now
        since = None if unbounded else first - lookback
        base = guard.ledger.histories(self.ids.tolist(), since=since, held_at=now).take()

        cost = np.zeros(n)
        if lam > 0 and n:
            scores = fatigue.score_many(base.take(self.cust.astype(np.int64)), self.earliest)
            cost = lam * (scores + 1.0)
        net = p_arr * self.value - cost

        # Held out: a GlobalControl rule in scope of the candidate holds the customer out.
        held = np.zeros(n, dtype=bool)
        for rule in guard.policy.rules:
            if not isinstance(rule, GlobalControl):
                continue
            for (ch, cat, camp, _), members in self._keys(np.arange(n)).items():
                c = self.label(self.categories, cat)
                if c is not None and c in guard.policy.exempt_categories:
                    continue
                if rule.applies(self.channels[ch], c, self.label(self.campaigns, camp)):
                    ids = self.ids[self.cust[members]].astype(str)
                    held[members] |= rule.held_out(ids)
        status[held] = _HELD_OUT
        reason[held] = HOLDOUT
        if min_net_value is not None:
            low = ~held & (net < float(min_net_value))
            status[low] = _LEFT_OUT
            reason[low] = BELOW_MIN_VALUE
            detail[low] = f"net value below {float(min_net_value):g}"

        # Rank: net value, then priority, then the seeded hash.
        order = np.argsort(self.hash)
        if self.by_time:  # a calendar: first planned, first served
            order = order[np.argsort(self.earliest[order], kind="stable")]
        if n and (self.priority != self.priority[0]).any():
            order = order[np.argsort(-self.priority[order], kind="stable")]
        if not self.by_time:
            order = order[np.argsort(-net[order], kind="stable")]
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        by_customer = order[np.argsort(self.cust[order], kind="stable")]
        n_cust = self.ids.size
        starts = np.searchsorted(self.cust[by_customer], np.arange(n_cust))
        ends = np.searchsorted(self.cust[by_customer], np.arange(n_cust), side="right")

        # A reserve that leaves some candidates fewer slots than others breaks the rule
        # that a send checked against later ones leaves them valid: a low-priority send
        # planned later counts the slots a high-priority one took before it.
        reserve = guard.policy.reserve
        reduced = self.priority < (reserve.min_priority if reserve else 0)
        mixed_slots = reserve is not None and reserve.slots > 0 and 0 < reduced.sum() < n
        self.in_time_order = mixed_slots or not all(
            _counts_every_row(r) for r in guard.policy.rules
        )
        self.grid = self._grids()
        self.rank = rank
        self.cutoff: dict[tuple[int, int], int] = {}
        self.aside = np.zeros(n, dtype=bool)
        self.moved = np.zeros(n, dtype=bool)
        self._round1: tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], Micros] | None = None
        self._keep_round1 = False
        if self._may_bind(status, per_customer):
            self._keep_round1 = True
            self.cutoff = self._cutoffs(
                base, status, by_customer, starts, ends, per_customer, spread
            )
        self._reset(n_cust)
        chosen = np.zeros(n_cust, dtype=np.int64)
        first_choice = np.full(n_cust, -1, dtype=np.int64)
        planned: list[tuple[Micros, Micros]] = []  # (candidates, send times) per round
        out = (status, send_at, reason, detail)
        track = (chosen, first_choice, planned)
        report = progress
        if progress is not None:
            progress(int((status != _UNDECIDED).sum()), n)
            done_before = int((status != _UNDECIDED).sum())

            def report(k: int, total: int) -> None:
                progress(min(done_before + k, total), total)

        self._pass(base, by_customer, starts, ends, per_customer, spread, out, track, report)
        aside = self.aside.copy()
        aside_detail = detail[aside].copy()
        if aside.any():
            # Second pass: what the budgets' cut-off set aside may use what is left.
            status[aside] = _UNDECIDED
            reason[aside] = ""
            detail[aside] = ""
            self.cutoff = {}
            self.aside[:] = False
            self._pass(base, by_customer, starts, ends, per_customer, spread, out, track, None)
            # Set aside and then not reached (the customer got another message): the
            # budget's cut-off is why, not the other message's value.
            still = status[aside] == _UNDECIDED
            back = np.flatnonzero(aside)[still]
            status[back] = _LEFT_OUT
            reason[back] = BUDGET
            detail[back] = aside_detail[still]
        rest = status == _UNDECIDED
        if rest.any():
            status[rest] = _LEFT_OUT
            reason[rest] = OUTRANKED
            winner = first_choice[self.cust[rest]]
            detail[rest] = np.char.add(
                np.char.add(
                    "lower value than the chosen alternative (message ",
                    self.message[winner].astype(str),
                ),
                ")",
            ).astype(object)
            if progress is not None:
                progress(n, n)
        names = np.array(STATUSES, dtype=object)
        lab = np.array([*self.channels], dtype=object)
        cats = np.array([*self.categories, None], dtype=object)
        camps = np.array([*self.campaigns, None], dtype=object)
        return CampaignPlan(
            customer_id=self.ids[self.cust],
            message_id=self.message,
            channel=lab[self.channel],
            category=cats[np.where(self.category < 0, len(self.categories), self.category)],
            campaign=camps[np.where(self.campaign < 0, len(self.campaigns), self.campaign)],
            priority=self.priority,
            earliest=self.earliest,
            latest=self.latest,
            value=self.value,
            propensity=p_arr,
            fatigue_cost=cost,
            net_value=net,
            status=names[status],
            send_at=send_at,
            reason=reason,
            detail=detail,
            moved=self.moved,
            seed=self.seed,
        )

    def _reset(self, n_cust: int) -> None:
        self.budget_used: list[dict[int, int]] = [{} for _ in self.budgets]
        self.last_planned = np.full(n_cust, np.iinfo(np.int64).min + 1, dtype=np.int64)
        self.occupied: dict[int, Micros] = {}

    def _pass(
        self,
        base: History,
        by_customer: npt.NDArray[np.int64],
        starts: npt.NDArray[np.int64],
        ends: npt.NDArray[np.int64],
        per_customer: int | None,
        spread: int | None,
        out: tuple[Any, Micros, Any, Any],
        track: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[tuple[Micros, Micros]]],
        progress: Callable[[int, int], None] | None,
    ) -> None:
        """Rounds over every customer's undecided candidates, best first."""
        status, send_at, reason, detail = out
        chosen, first_choice, planned = track
        n_cust = starts.size
        ptr = starts.copy()
        decided = 0
        while True:
            # Skip each customer's candidates already decided (held out, low value).
            while True:
                live = ptr < ends
                blocked = np.zeros(n_cust, dtype=bool)
                blocked[live] = status[by_customer[ptr[live]]] != _UNDECIDED
                if not blocked.any():
                    break
                ptr[blocked] += 1
            active = ptr < ends
            if per_customer is not None:
                active &= chosen < per_customer
            custs = np.flatnonzero(active)
            if not custs.size:
                break
            cands = by_customer[ptr[custs]]
            ptr[custs] += 1
            h = self._round_history(base, custs, planned)
            when = self._round(h, cands, spread, status, send_at, reason, detail)
            ok = status[cands] == _SCHEDULED
            planned.append((cands[ok], when[ok]))
            chosen[custs[ok]] += 1
            new = ok & (first_choice[custs] < 0)
            first_choice[custs[new]] = cands[new]
            decided += cands.size
            if progress is not None:
                progress(decided, self.n)

    def _may_bind(self, status: npt.NDArray[np.int8], per_customer: int | None) -> bool:
        """Whether some budget could be reached (else no look-ahead is needed)."""
        live = np.flatnonzero(status == _UNDECIDED)
        for bi, _, idx in self._groups(live, self.earliest[live]):
            b = self.budgets[bi]
            most = idx.size
            if per_customer is not None:
                customers = int(np.count_nonzero(np.bincount(self.cust[live[idx]])))
                most = min(most, per_customer * customers)
            if b.per_day or most > b.limit:
                return True
        return False

    def _cutoffs(
        self,
        base: History,
        status: npt.NDArray[np.int8],
        by_customer: npt.NDArray[np.int64],
        starts: npt.NDArray[np.int64],
        ends: npt.NDArray[np.int64],
        per_customer: int | None,
        spread: int | None,
    ) -> dict[tuple[int, int], int]:
        """The rank of the last candidate each full budget (per day) should admit.

        Rounds take each customer's best candidates first, so a customer's second choice
        is decided after other customers' first: without a look-ahead a poor first choice
        could take the budget a better second choice needed. A pass without budgets and
        rate limits finds what the rules allow; greedy by value over that finds, for each
        budget that fills, the value below which it should refuse. The planning pass
        refuses below it; a last pass offers what is left to the candidates set aside.
        """
        budgets, grid = self.budgets, self.grid
        self.budgets, self.grid = (), {}
        self._reset(starts.size)
        st = status.copy()
        send = np.full(self.n, -1, dtype=np.int64)
        why = np.full(self.n, "", dtype=object)
        text = np.full(self.n, "", dtype=object)
        chosen = np.zeros(starts.size, dtype=np.int64)
        first = np.full(starts.size, -1, dtype=np.int64)
        self._pass(
            base,
            by_customer,
            starts,
            ends,
            per_customer,
            spread,
            (st, send, why, text),
            (chosen, first, []),
            None,
        )
        self.budgets, self.grid = budgets, grid
        self._reset(starts.size)
        self.moved[:] = False
        tentative = np.flatnonzero(st == _SCHEDULED)
        tentative = tentative[np.argsort(self.rank[tentative], kind="stable")]
        t = send[tentative]
        admitted, _, _ = self._budgets(tentative, t)
        cut: dict[tuple[int, int], int] = {}
        for bi, d, idx in self._groups(tentative, t):
            took = idx[admitted[idx]]
            if took.size >= self.budgets[bi].limit:
                cut[(bi, d)] = int(self.rank[tentative[took]].max()) if took.size else -1
        return cut

    def _propensity(self, propensity: Any) -> npt.NDArray[np.float64]:
        n = self.n
        if propensity is None:
            return np.ones(n)
        if hasattr(propensity, "lookup"):
            lab = np.array(self.channels, dtype=object)
            out = np.asarray(
                propensity.lookup(self.ids[self.cust], lab[self.channel]), dtype=np.float64
            )
        else:
            out = _numbers(propensity, "propensity", n, 1.0, integer=False)
        bad = (out < 0) | (out > 1)
        if bad.any():
            raise DataError.from_mask("propensity", bad, "values outside [0, 1]")
        return np.asarray(out, dtype=np.float64)

    def _round_history(
        self, base: History, custs: npt.NDArray[np.int64], planned: list[tuple[Micros, Micros]]
    ) -> History:
        """The ledger rows of customers ``custs`` plus their sends planned so far."""
        h = base.take(custs)
        if not planned:
            return h
        cands = np.concatenate([c for c, _ in planned])
        at = np.concatenate([t for _, t in planned])
        where = np.full(self.ids.size, -1, dtype=np.int64)
        where[custs] = np.arange(custs.size)
        owner = where[self.cust[cands]]
        keep = owner >= 0
        if not keep.any():
            return h
        cands, at, owner = cands[keep], at[keep], owner[keep]
        labels = list(h.labels)
        table = {lab: i for i, lab in enumerate(labels)}

        def recode(names: tuple[str, ...], codes: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
            lookup = np.empty(len(names) + 1, dtype=np.int32)
            for i, name in enumerate(names):
                if name not in table:
                    table[name] = len(labels)
                    labels.append(name)
                lookup[i] = table[name]
            lookup[len(names)] = -1
            return lookup[np.where(codes < 0, len(names), codes)]

        ch = recode(self.channels, self.channel[cands])
        cat = recode(self.categories, self.category[cands])
        camp = recode(self.campaigns, self.campaign[cands])
        kind = recode(("message",), np.zeros(cands.size, dtype=np.int32))
        all_owner = np.concatenate([h.owner(), owner])
        all_at = np.concatenate([h.at, at])
        order = np.lexsort((all_at, all_owner))
        counts = np.bincount(all_owner, minlength=len(h))
        new_ends = np.cumsum(counts)
        return History(
            h.customer_ids,
            at=all_at[order],
            channel=np.concatenate([h.channel, ch])[order],
            category=np.concatenate([h.category, cat])[order],
            campaign=np.concatenate([h.campaign, camp])[order],
            kind=np.concatenate([h.kind, kind])[order],
            company=np.concatenate([h.company, np.ones(cands.size, dtype=bool)])[order],
            labels=tuple(labels),
            starts=new_ends - counts,
            ends=new_ends,
            label_codes=table,
        )

    def _grids(self) -> dict[int, tuple[int, int, str]]:
        """Per rate-limited channel code: (spacing, phase, name of the binding limit)."""
        out: dict[int, tuple[int, int, str]] = {}
        for r in self.rate_limits:
            if r.channel not in self.channels:
                continue
            code = self.channels.index(r.channel)
            spacing = r.spacing_micros
            if code not in out or spacing > out[code][0]:
                out[code] = (spacing, 0, r.name)
        for code, (spacing, _, name) in out.items():
            phase = int(mix64(np.array([salt_seed(f"{self.seed}:{self.channels[code]}")]))[0])
            out[code] = (spacing, phase % spacing, name)
        return out

    def _day(self, t: Micros) -> Micros:
        start, _ = period_bounds(t, self.zone, "calendar_day")
        return start

    def _next_day(self, t: Micros) -> Micros:
        _, end = period_bounds(t, self.zone, "calendar_day")
        return end

    # ------------------------------------------------------------------ one round

    def _round(
        self,
        h: History,
        cands: npt.NDArray[np.int64],
        spread: int | None,
        status: npt.NDArray[np.int8],
        send_at: Micros,
        reason: npt.NDArray[Any],
        detail: npt.NDArray[Any],
    ) -> Micros:
        """Decide candidates ``cands`` (one per customer; customer ``i`` of ``h`` owns
        ``cands[i]``) and return their send times."""
        m = cands.size
        pos = np.arange(m)
        latest = self.latest[cands]
        begin = self.earliest[cands]
        if self.in_time_order:
            begin = np.maximum(begin, self.last_planned[self.cust[cands]] + 1)
        cached = self._round1
        reuse = cached is not None and cached[0].size == m and np.array_equal(cached[0], cands)
        if reuse:
            assert cached is not None
            bits, p = cached[1], cached[2].copy()
            self._round1 = None
        else:
            bits, p = self.decide(pos, cands, begin, h)
        when = np.full(m, -1, dtype=np.int64)

        def leave(sel: npt.NDArray[np.int64], why: Any, text: Any) -> None:
            status[cands[sel]] = _LEFT_OUT
            reason[cands[sel]] = why
            detail[cands[sel]] = text

        late = p > latest
        if late.any():
            sel = np.flatnonzero(late)
            # Why: the rules failing at earliest, and those still failing at latest (a
            # gap or a cap that outlasts the window once the quiet hours are over).
            at_end, _ = self.decide(pos[sel], cands[sel], np.maximum(latest[sel], begin[sel]), h)
            kinds, which = np.unique(bits[sel] | at_end, return_inverse=True)
            names = np.array([self.codes(int(b)) or OUTRANKED for b in kinds.tolist()], object)
            leave(
                sel,
                names[which.reshape(-1)],
                [
                    "never allowed"
                    if x >= NEVER
                    else f"next allowed {format_instant(int(x), self.zone)}, after latest"
                    for x in p[sel].tolist()
                ],
            )
        pending = np.flatnonzero(~late)
        if spread and pending.size and not reuse:
            deferred = pending[p[pending] > self.earliest[cands[pending]]]
            if deferred.size:
                room = np.minimum(spread, latest[deferred] - p[deferred])
                u = unit_interval(self.hash[cands[deferred]])
                t = p[deferred] + (u * room).astype(np.int64)
                _, x = self.decide(pos[deferred], cands[deferred], t, h)
                p[deferred] = np.where(x <= latest[deferred], x, p[deferred])
        if self._keep_round1:
            self._round1 = (cands.copy(), bits, p.copy())
            self._keep_round1 = False
        self.moved[cands[p > self.earliest[cands]]] = True
        for _ in range(_MAX_PASSES):
            if not pending.size:
                break
            pending = pending[np.argsort(self.rank[cands[pending]], kind="stable")]
            admitted, bound, aside = self._budgets(cands[pending], p[pending])
            # Budget refusals: a per-day budget alone moves the candidate to the next day.
            if aside.any():
                gone = pending[aside]
                self.aside[cands[gone]] = True
                leave(
                    gone,
                    BUDGET,
                    [
                        f"budget {self.budgets[b].name}: kept for candidates of higher value"
                        for b in bound[aside].tolist()
                    ],
                )
            refused = pending[~admitted & ~aside]
            bound = bound[~admitted & ~aside]
            retry = np.zeros(refused.size, dtype=bool)
            if refused.size:
                b_idx = bound
                daily = np.array([self.budgets[b].per_day for b in b_idx.tolist()], dtype=bool)
                if daily.any():
                    d = refused[daily]
                    _, x = self.decide(pos[d], cands[d], self._next_day(p[d]), h)
                    fits = x <= latest[d]
                    p[d[fits]] = x[fits]
                    self.moved[cands[d[fits]]] = True
                    retry[np.flatnonzero(daily)[fits]] = True
            go = pending[admitted]
            s, slot_name = self._slots(cands[go], p[go])
            past = s > latest[go]
            if past.any():
                leave(
                    go[past],
                    RATE_LIMIT,
                    [f"rate limit {nm}: no free send slot before latest" for nm in slot_name[past]],
                )
            go, s = go[~past], s[~past]
            moved = s != p[go]
            settled = ~moved
            again = np.zeros(go.size, dtype=bool)
            if moved.any():
                mv = np.flatnonzero(moved)
                _, x = self.decide(pos[go[mv]], cands[go[mv]], s[mv], h)
                ok = x == s[mv]
                if self.budgets and any(b.per_day for b in self.budgets):
                    ok &= self._day(s[mv]) == self._day(p[go[mv]])
                settled[mv[ok]] = True
                redo = mv[~ok]
                x_redo = np.maximum(x[~ok], s[mv][~ok])
                fits = x_redo <= latest[go[redo]]
                p[go[redo[fits]]] = x_redo[fits]
                self.moved[cands[go[redo[fits & (x[~ok] > s[mv][~ok])]]]] = True
                again[redo[fits]] = True
                gone = redo[~fits]
                if gone.size:
                    leave(
                        go[gone],
                        RATE_LIMIT,
                        [
                            f"rate limit {self.grid[int(self.channel[c])][2]}: its send slot "
                            "falls where the rules allow nothing before latest"
                            for c in cands[go[gone]].tolist()
                        ],
                    )
            done = go[settled]
            status[cands[done]] = _SCHEDULED
            send_at[cands[done]] = s[settled]
            when[done] = s[settled]
            self._occupy(cands[done], s[settled])
            self.last_planned[self.cust[cands[done]]] = s[settled]
            self._spend(cands[done], s[settled])
            # A budget refusal stands when the budget is full now that the pass settled
            # (an admitted candidate that did not settle hands its place back).
            keep = retry.copy()
            if refused.size and (~retry).any():
                out = np.flatnonzero(~retry)
                b_idx = bound[out]
                full = self._full(cands[refused[out]], p[refused[out]], b_idx)
                keep[out[~full]] = True
                out = out[full]
                b_idx = b_idx[full]
                if out.size:
                    leave(
                        refused[out],
                        BUDGET,
                        [f"budget {self.budgets[b].name} exhausted" for b in b_idx.tolist()],
                    )
            pending = np.concatenate([refused[keep], go[again]])
        else:
            leave(pending, RATE_LIMIT, "no send time settled")
        return when

    def _groups(
        self, cands: npt.NDArray[np.int64], t: Micros
    ) -> list[tuple[int, int, npt.NDArray[np.int64]]]:
        """``(budget, day, positions)`` of every budget group the candidates count in
        (day 0 for a budget not per day); positions keep the order of ``cands``."""
        m = cands.size
        members: list[tuple[int, int, npt.NDArray[np.int64]]] = []
        day = self._day(t) if any(b.per_day for b in self.budgets) else None
        for bi, b in enumerate(self.budgets):
            app = np.ones(m, dtype=bool)
            if b.channel is not None:
                code = self.channels.index(b.channel) if b.channel in self.channels else -2
                app &= self.channel[cands] == code
            if b.campaign is not None:
                code = self.campaigns.index(b.campaign) if b.campaign in self.campaigns else -2
                app &= self.campaign[cands] == code
            idx = np.flatnonzero(app)
            if not idx.size:
                continue
            if b.per_day:
                assert day is not None
                for d in np.unique(day[idx]).tolist():
                    members.append((bi, int(d), idx[day[idx] == d]))
            else:
                members.append((bi, 0, idx))
        return members

    def _budgets(
        self, cands: npt.NDArray[np.int64], t: Micros
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """Exact greedy admission of ``cands`` (in order of value) within the budgets:
        whether each is admitted, else the budget that bound, and whether it was refused
        by a budget's cut-off (see `_cutoffs`) rather than by a full budget."""
        m = cands.size
        admitted = np.ones(m, dtype=bool)
        bound = np.full(m, -1, dtype=np.int64)
        aside = np.zeros(m, dtype=bool)
        if not self.budgets or not m:
            return admitted, bound, aside
        members = self._groups(cands, t)
        alive = np.ones(m, dtype=bool)
        for bi, d, idx in members:
            cut = self.cutoff.get((bi, d))
            if cut is not None:
                below = idx[alive[idx] & (self.rank[cands[idx]] > cut)]
                alive[below] = False
                admitted[below] = False
                aside[below] = True
                bound[below] = bi
        used = {(bi, d): self.budget_used[bi].get(d, 0) for bi, d, _ in members}
        closed: set[tuple[int, int]] = set()
        start = 0
        while True:
            # The first candidate (in value order) some open group has no room for.
            first_over = m
            over: list[tuple[int, int, npt.NDArray[np.int64]]] = []
            for bi, d, idx in members:
                if (bi, d) in closed:
                    continue
                room = self.budgets[bi].limit - used[(bi, d)]
                live = idx[alive[idx] & (idx >= start)]
                if live.size > room:
                    at = int(live[max(room, 0)])
                    if at < first_over:
                        first_over, over = at, [(bi, d, live)]
                    elif at == first_over:
                        over.append((bi, d, live))
            # Everything alive before it fits every budget: admitted.
            for bi, d, idx in members:
                if (bi, d) not in closed:
                    span = idx[(idx >= start) & (idx < first_over)]
                    used[(bi, d)] += int(alive[span].sum())
            if first_over >= m:
                break
            # Its full groups refuse it and every later member.
            for bi, d, live in over:
                closed.add((bi, d))
                out = live[(live >= first_over) & alive[live]]
                alive[out] = False
                admitted[out] = False
                bound[out] = bi
            start = first_over
        return admitted, bound, aside

    def _full(self, cands: npt.NDArray[np.int64], t: Micros, which: npt.NDArray[np.int64]) -> Any:
        """Whether budget ``which[i]`` has no room left for candidate ``cands[i]`` at ``t[i]``."""
        day = self._day(t) if any(b.per_day for b in self.budgets) else None
        out = np.ones(cands.size, dtype=bool)
        for i, bi in enumerate(which.tolist()):
            b = self.budgets[bi]
            d = int(day[i]) if (b.per_day and day is not None) else 0
            out[i] = self.budget_used[bi].get(d, 0) >= b.limit
        return out

    def _spend(self, cands: npt.NDArray[np.int64], t: Micros) -> None:
        if not self.budgets or not cands.size:
            return
        for bi, d, idx in self._groups(cands, t):
            self.budget_used[bi][d] = self.budget_used[bi].get(d, 0) + int(idx.size)

    def _slots(self, cands: npt.NDArray[np.int64], t: Micros) -> tuple[Micros, npt.NDArray[Any]]:
        """The first free grid instant ``>= t`` of each candidate's channel (in time order,
        ties by value: ``cands`` come in value order); ``t`` where no limit applies."""
        s = t.copy()
        names = np.full(cands.size, "", dtype=object)
        if not self.grid:
            return s, names
        ch = self.channel[cands]
        for code, (spacing, phase, name) in self.grid.items():
            idx = np.flatnonzero(ch == code)
            if not idx.size:
                continue
            names[idx] = name
            g = -(-(t[idx] - phase) // spacing)  # first grid index at or after t
            order = np.argsort(g, kind="stable")  # ties keep value order
            g_sorted = g[order]
            occ = self.occupied.get(code, np.zeros(0, dtype=np.int64))
            # Free points are ranked; r = free points before g (the rank of the first
            # free point at or after g). Sequential "first free at or after" in time
            # order is then a running maximum.
            r = g_sorted - np.searchsorted(occ, g_sorted, side="left")
            j = np.arange(idx.size, dtype=np.int64)
            k = np.maximum.accumulate(r - j) + j
            adj = occ - np.arange(occ.size, dtype=np.int64)
            grid_index = k + np.searchsorted(adj, k, side="right")
            out = np.empty(idx.size, dtype=np.int64)
            out[order] = grid_index * spacing + phase
            s[idx] = out
        return s, names

    def _occupy(self, cands: npt.NDArray[np.int64], t: Micros) -> None:
        if not self.grid or not cands.size:
            return
        ch = self.channel[cands]
        for code, (spacing, phase, _) in self.grid.items():
            sel = ch == code
            if not sel.any():
                continue
            g = (t[sel] - phase) // spacing
            occ = self.occupied.get(code, np.zeros(0, dtype=np.int64))
            self.occupied[code] = np.union1d(occ, g)


# ----------------------------------------------------------------------------- compare


@attrs.frozen(repr=False, eq=False)
class PolicyComparison(TableResult):
    """The same calendar of planned contacts through several policies.

    Attributes
    ----------
    names
        The policies' names, in the order given.
    plans
        The [`CampaignPlan`][relcore.contact_policy.CampaignPlan] of each policy (``earliest`` is
        the planned time; a refused contact may be deferred up to ``max_delay``).
    days
        The days of the trajectories (``datetime64[D]``, UTC), from the calendar's first
        to the day after its last planned contact plus ``max_delay``.
    sends_per_day, fatigue_per_day
        ``(n_policies, n_days)``: sends each day, and the customers' mean fatigue score (a
        [`ContactFatigue`][relcore.contact_policy.ContactFatigue] over the history and the sends) at
        the end of each day.
    """

    names: tuple[str, ...]
    plans: tuple[CampaignPlan, ...]
    days: npt.NDArray[np.datetime64] = attrs.field(converter=_column)
    sends_per_day: npt.NDArray[np.int64] = attrs.field(converter=_column)
    fatigue_per_day: npt.NDArray[np.float64] = attrs.field(converter=_column)

    def contacts_per_week(self, policy: str) -> npt.NDArray[np.float64]:
        """Under ``policy``, each calendar customer's sends per week over the calendar's
        days (customers in sorted order; those sent nothing count 0)."""
        if policy not in self.names:
            raise ValueError(f"no policy named {policy!r}; the policies are {self.names}")
        plan = self.plans[self.names.index(policy)]
        weeks = max(self.days.size / 7.0, 1.0 / 7.0)
        customers, owner = np.unique(plan.customer_id.astype(str), return_inverse=True)
        sends = np.bincount(owner.reshape(-1)[plan.scheduled], minlength=customers.size)
        out: npt.NDArray[np.float64] = sends / weeks
        return out

    def summary(self) -> list[dict[str, Any]]:
        """Per policy: sends, deferrals and their delays, refusals by reason, contacts per
        customer per week, expected value and the fatigue at the end."""
        out = []
        for j, (name, plan) in enumerate(zip(self.names, self.plans, strict=True)):
            sent = plan.scheduled
            delay = (plan.send_at - plan.earliest)[plan.deferred] / 3.6e9
            rates = self.contacts_per_week(name)
            row: dict[str, Any] = {
                "policy": name,
                "planned": len(plan),
                "sent": int(sent.sum()),
                "deferred": int(plan.deferred.sum()),
                "refused": int((~sent).sum()),
                "delay_hours_median": float(np.median(delay)) if delay.size else 0.0,
                "delay_hours_p90": float(np.quantile(delay, 0.9)) if delay.size else 0.0,
                "contacts_per_week_mean": float(rates.mean()) if rates.size else 0.0,
                "contacts_per_week_median": float(np.median(rates)) if rates.size else 0.0,
                "contacts_per_week_p90": float(np.quantile(rates, 0.9)) if rates.size else 0.0,
                "expected_value": plan.expected_value,
                "fatigue_end": float(self.fatigue_per_day[j, -1]) if self.days.size else 0.0,
            }
            for code, k in plan.reason_counts().items():
                row[f"refused_{code}"] = k
            out.append(row)
        return out

    def _table(self) -> Table:
        """One row per policy: [`summary`][relcore.contact_policy.PolicyComparison.summary],
        refusals by reason as ``refused_<code>``."""
        rows = self.summary()
        names = list(dict.fromkeys(k for row in rows for k in row if k != "policy"))
        return Table(
            {"policy": np.array(self.names, dtype=object)},
            {k: np.array([row.get(k, 0) for row in rows]) for k in names},
        )

    def plot(self, *, axes: Any = None) -> Any:
        """Sends per day and mean fatigue per day, one line per policy (``plot`` extra).

        Returns the two matplotlib axes."""
        if axes is None:
            plt = require("matplotlib.pyplot", "plot")
            _, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
        top, bottom = axes
        x = self.days.astype("datetime64[D]").astype(object)
        for j, name in enumerate(self.names):
            top.plot(x, self.sends_per_day[j], label=name)
            bottom.plot(x, self.fatigue_per_day[j], label=name)
        top.set_ylabel("sends per day")
        bottom.set_ylabel("mean fatigue")
        top.legend()
        return axes

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{n}: {p.counts()['scheduled']:,} sent"
            for n, p in zip(self.names, self.plans, strict=True)
        )
        return f"PolicyComparison({parts})"


def compare(
    calendar: Any,
    policies: Mapping[str, Any] | Sequence[Any],
    log: Any = None,
    *,
    max_delay: _dt.timedelta = _dt.timedelta(days=7),
    preferences: Mapping[str, ContactPreferences | None] | None = None,
    propensity: Any = None,
    fatigue: FatigueScorer | None = None,
    timezone: str | None = None,
) -> PolicyComparison:
    """Run the same calendar of planned contacts through several policies.

    Each policy plans the calendar (every planned contact a candidate of its own, at its
    planned time ``at``, allowed to wait up to ``max_delay``; a customer's contacts are
    served in time order) against the same history, so the policies are compared on the
    same customers and the same plan before one is rolled out.

    Parameters
    ----------
    calendar
        A mapping of columns or a DataFrame: ``customer_id``, ``channel``, ``at`` and
        optionally ``message_id``, ``category``, ``campaign``, ``priority``, ``value``.
    policies
        The policies: a mapping from name, or a sequence (named by their ``name``, else
        ``policy 1``, ``policy 2``...).
    log
        What customers already received and did: a ledger, a
        [`History`][relcore.contact_policy.History], an [`EventLog`][relcore.models.EventLog] or
        entries (copied, never changed).
    max_delay
        How long a refused contact may wait for a time the policy allows.
    preferences, propensity, fatigue, timezone
        As for [`plan_campaign`][relcore.contact_policy.plan_campaign] (the fatigue scorer also
        draws the trajectory).

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> from relcore.contact_policy import FrequencyCap, Policy
    >>> t = datetime(2026, 6, 1, 9, tzinfo=timezone.utc)
    >>> calendar = {"customer_id": ["a"] * 4, "channel": ["email"] * 4,
    ...             "at": [t + timedelta(days=d) for d in range(4)]}
    >>> result = compare(calendar, {"weekly": Policy([FrequencyCap(1, per="7d")]),
    ...                             "none": Policy([])}, max_delay=timedelta(days=1))
    >>> [row["sent"] for row in result.summary()]
    [1, 4]
    """
    from ._simulate import _private_ledger

    named = _named(policies)
    if not isinstance(max_delay, _dt.timedelta) or max_delay < _dt.timedelta(0):
        raise ValueError(f"max_delay must be a timedelta >= 0, got {max_delay!r}")
    data = _columns(calendar, extra=("at",))
    if "earliest" in data or "latest" in data:
        raise DataError("at", "a calendar gives each contact's planned time as at")
    at = data.pop("at")
    n = np.asarray(data["customer_id"]).reshape(-1).size
    when = _times(at, "at", timezone, n)
    data["earliest"] = when.view("datetime64[us]")
    data["latest"] = (when + timedelta_micros(max_delay)).view("datetime64[us]")
    timezone = "UTC"
    scorer = fatigue if fatigue is not None else ContactFatigue()
    # One copy of the history serves every policy: planning only reads it.
    ids = np.asarray(data["customer_id"]).astype(str)
    ledger = _private_ledger(log, set(np.unique(ids).tolist()))
    plans = []
    for policy in named.values():
        guard = ContactGuard(policy, ledger)
        planner = _Planner(guard, data, (), (), preferences, 0, timezone)
        planner.by_time = True
        plans.append(
            planner.run(
                per_customer=None,
                propensity=propensity,
                lam=0.0,
                fatigue=scorer,
                min_net_value=None,
                spread=None,
                progress=None,
            )
        )
    first = min((int(p.earliest.min()) for p in plans if len(p)), default=0)
    last = max((int(p.latest.max()) for p in plans if len(p)), default=0)
    day_us = 86_400_000_000
    day0 = first // day_us
    n_days = max(last // day_us - day0 + 1, 1)
    days = (np.arange(n_days) + day0).astype("datetime64[D]")
    sends = np.zeros((len(plans), n_days), dtype=np.int64)
    tired = np.zeros((len(plans), n_days))
    customers = np.unique(ids)
    base = ledger.histories(customers.tolist()).take()
    ends = (np.arange(n_days) + day0 + 1) * day_us - 1
    for j, plan in enumerate(plans):
        sent = plan.scheduled
        d = plan.send_at[sent] // day_us - day0
        sends[j] = np.bincount(d, minlength=n_days)[:n_days]
        h = _with_sends(base, customers, plan, sent)
        for k in range(n_days):
            at = np.full(len(h), ends[k], dtype=np.int64)
            tired[j, k] = float(scorer.score_many(h, at).mean()) if len(h) else 0.0
    return PolicyComparison(tuple(named), tuple(plans), days, sends, tired)


def _named(policies: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
    from .policy import Policy

    items = (
        list(policies.items())
        if isinstance(policies, Mapping)
        else [(p.name or f"policy {i + 1}", p) for i, p in enumerate(policies)]
    )
    out: dict[str, Any] = {}
    for name, p in items:
        if not isinstance(p, Policy):
            raise TypeError(f"policies must be Policy values, got {type(p).__name__}")
        if name in out:
            raise ValueError(f"two policies are named {name!r}; pass a mapping of names")
        out[str(name)] = p
    if not out:
        raise ValueError("compare needs at least one policy")
    return out


def _with_sends(
    base: History, customers: npt.NDArray[Any], plan: CampaignPlan, sent: npt.NDArray[np.bool_]
) -> History:
    """The history of ``customers`` with the plan's sends added (as contacts)."""
    where = np.searchsorted(customers, plan.customer_id[sent].astype(str))
    at = plan.send_at[sent]
    labels = list(base.labels)
    table = {lab: i for i, lab in enumerate(labels)}
    for name in ("message",):
        if name not in table:
            table[name] = len(labels)
            labels.append(name)
    chan = np.array(
        [table.setdefault(c, len(table)) for c in plan.channel[sent].tolist()], dtype=np.int32
    )
    labels = list(table)
    owner = np.concatenate([base.owner(), where])
    times = np.concatenate([base.at, at])
    order = np.lexsort((times, owner))
    counts = np.bincount(owner, minlength=len(base))
    new_ends = np.cumsum(counts)
    n_new = at.size
    return History(
        base.customer_ids,
        at=times[order],
        channel=np.concatenate([base.channel, chan])[order],
        category=np.concatenate([base.category, np.full(n_new, -1, np.int32)])[order],
        campaign=np.concatenate([base.campaign, np.full(n_new, -1, np.int32)])[order],
        kind=np.concatenate([base.kind, np.full(n_new, table["message"], np.int32)])[order],
        company=np.concatenate([base.company, np.ones(n_new, dtype=bool)])[order],
        labels=tuple(labels),
        starts=new_ends - counts,
        ends=new_ends,
        label_codes=table,
    )
