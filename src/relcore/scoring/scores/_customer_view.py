"""The 360-degree view: one customer across every channel, or many customers as columns."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from ..._result import Table, TableResult, column, keyed
from ..._time import US_PER_DAY, from_micros, micros_to_datetime64
from ...models import EventLog
from ..summary import Period, summarize
from ._asof import as_of, as_of_datetime, duration_micros
from ._engagement import DEFAULT_HALF_LIFE as ENGAGEMENT_HALF_LIFE
from ._engagement import engagement
from ._fatigue import DEFAULT_HALF_LIFE as FATIGUE_HALF_LIFE
from ._fatigue import _log_fatigue
from ._roles import event_roles

if TYPE_CHECKING:
    pass

__all__ = ["CustomerView", "CustomerViews", "customer_view", "customer_views"]

FloatArray = npt.NDArray[np.float64]

_MODEL_KEYS = ("purchase", "spend")


class _PurchaseModel(Protocol):  # what customer_views needs of a fitted purchase model
    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any: ...

    def expected_purchases(self, t: float, frequency: Any, recency: Any, T: Any) -> Any: ...


class _SpendModel(Protocol):  # what it needs of a fitted spend model
    def expected_average_value(self, frequency: Any, monetary_value: Any) -> Any: ...


@attrs.frozen
class CustomerView:
    """One customer, across every channel, as of one instant.

    Attributes
    ----------
    customer_id
        The customer.
    at : datetime.datetime
        The instant of the view (events after it are not in it).
    first_seen, last_seen : datetime.datetime or None
        Their first and last event by ``at`` (``None`` when there is none).
    events : int
        Events by ``at``, all channels.
    touchpoints : Mapping[str, int]
        Events per channel (channels with at least one).
    value_by_channel : Mapping[str, float]
        Value to the company per channel (channels with any).
    value_to_company, value_to_customer : float
        Value exchanged in each direction, in total.
    preferred_channel : str or None
        The channel of most of their own recent actions (not of our sends).
    engagement, fatigue : float
        See [`engagement`][relcore.scoring.scores.engagement] and
        [`fatigue`][relcore.scoring.scores.fatigue].
    fatigue_by_channel : Mapping[str, float]
        Fatigue per channel (channels where it is positive).
    p_alive, expected_purchases, clv : float or None
        From the purchase (and spend) model when given; ``None`` without models, NaN for a
        customer without a purchase by ``at``.
    """

    customer_id: Any
    at: _dt.datetime
    first_seen: _dt.datetime | None
    last_seen: _dt.datetime | None
    events: int
    touchpoints: Mapping[str, int]
    value_by_channel: Mapping[str, float]
    value_to_company: float
    value_to_customer: float
    preferred_channel: str | None
    engagement: float
    fatigue: float
    fatigue_by_channel: Mapping[str, float]
    p_alive: float | None = None
    expected_purchases: float | None = None
    clv: float | None = None

    def __str__(self) -> str:
        def when(d: _dt.datetime | None) -> str:
            return "never" if d is None else d.isoformat(timespec="seconds")

        lines = [
            f"customer {self.customer_id} as of {when(self.at)}",
            f"  first seen {when(self.first_seen)}, last seen {when(self.last_seen)}",
            f"  events {self.events}: "
            + (", ".join(f"{k} {v}" for k, v in self.touchpoints.items()) or "none by channel"),
            f"  value to company {self.value_to_company:,.2f}, to customer "
            f"{self.value_to_customer:,.2f}",
            f"  preferred channel {self.preferred_channel or '-'}",
            f"  engagement {self.engagement:.3f}, fatigue {self.fatigue:.3f}"
            + "".join(f", {k} {v:.3f}" for k, v in self.fatigue_by_channel.items()),
        ]
        if self.p_alive is not None:
            extra = f"  p_alive {self.p_alive:.3f}, expected purchases"
            extra += f" {self.expected_purchases:.3f}"
            if self.clv is not None:
                extra += f", CLV {self.clv:,.2f}"
            lines.append(extra)
        return "\n".join(lines)


@attrs.frozen(eq=False)
class CustomerViews(TableResult):
    """The 360-degree view of many customers, as columns.

    Attributes
    ----------
    customer_id : numpy.ndarray
    first_seen, last_seen : numpy.ndarray
        ``datetime64[us]`` in UTC; ``NaT`` for a customer without events by ``at``.
    events : numpy.ndarray
        Events by ``at``.
    touchpoints_by_channel : numpy.ndarray
        ``(n, len(channels))`` events per channel (events without a channel count only in
        ``events``).
    value_by_channel : numpy.ndarray
        ``(n, len(channels))`` value to the company per channel.
    channels : tuple of str
    value_to_company, value_to_customer : numpy.ndarray
    preferred_channel : numpy.ndarray
        Object array: the channel with the most decayed actions of the customer's own
        (ties: the first channel by name), ``None`` when they have none on a named channel.
    engagement, fatigue : numpy.ndarray
    fatigue_by_channel : numpy.ndarray
        ``(n, len(channels))``.
    p_alive, expected_purchases, clv : numpy.ndarray or None
        Model outputs when models were given (NaN for customers without a purchase).
    at : datetime.datetime
    """

    customer_id: npt.NDArray[Any] = attrs.field(converter=column)
    first_seen: npt.NDArray[np.datetime64] = attrs.field(converter=column)
    last_seen: npt.NDArray[np.datetime64] = attrs.field(converter=column)
    events: npt.NDArray[np.int64] = attrs.field(converter=column)
    touchpoints_by_channel: npt.NDArray[np.int64] = attrs.field(converter=column)
    value_by_channel: FloatArray = attrs.field(converter=column)
    channels: tuple[str, ...]
    value_to_company: FloatArray = attrs.field(converter=column)
    value_to_customer: FloatArray = attrs.field(converter=column)
    preferred_channel: npt.NDArray[np.object_] = attrs.field(converter=column)
    engagement: FloatArray = attrs.field(converter=column)
    fatigue: FloatArray = attrs.field(converter=column)
    fatigue_by_channel: FloatArray = attrs.field(converter=column)
    at: _dt.datetime
    p_alive: FloatArray | None = None
    expected_purchases: FloatArray | None = None
    clv: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.events.shape[0])

    def view(self, customer_id: Any) -> CustomerView:
        """One customer's row as a [`CustomerView`][relcore.scoring.scores.CustomerView]."""
        hits = np.flatnonzero(self.customer_id == customer_id)
        if hits.size == 0:
            raise KeyError(customer_id)
        return self._row(int(hits[0]))

    def _row(self, i: int) -> CustomerView:
        def instant(v: np.datetime64) -> _dt.datetime | None:
            return None if np.isnat(v) else from_micros(int(v.astype(np.int64)))

        def nonzero(row: npt.NDArray[Any], cast: type) -> Mapping[str, Any]:
            return MappingProxyType(
                {name: cast(v) for name, v in zip(self.channels, row.tolist(), strict=True) if v}
            )

        def optional(col: FloatArray | None) -> float | None:
            return None if col is None else float(col[i])

        cid = self.customer_id[i]
        return CustomerView(
            customer_id=cid.item() if isinstance(cid, np.generic) else cid,
            at=self.at,
            first_seen=instant(self.first_seen[i]),
            last_seen=instant(self.last_seen[i]),
            events=int(self.events[i]),
            touchpoints=nonzero(self.touchpoints_by_channel[i], int),
            value_by_channel=nonzero(self.value_by_channel[i], float),
            value_to_company=float(self.value_to_company[i]),
            value_to_customer=float(self.value_to_customer[i]),
            preferred_channel=self.preferred_channel[i],
            engagement=float(self.engagement[i]),
            fatigue=float(self.fatigue[i]),
            fatigue_by_channel=nonzero(self.fatigue_by_channel[i], float),
            p_alive=optional(self.p_alive),
            expected_purchases=optional(self.expected_purchases),
            clv=optional(self.clv),
        )

    def _table(self) -> Table:
        """One row per customer; per-channel arrays as ``touchpoints_<channel>`` etc."""
        cols: dict[str, Any] = {
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "events": self.events,
            "value_to_company": self.value_to_company,
            "value_to_customer": self.value_to_customer,
            "preferred_channel": self.preferred_channel,
            "engagement": self.engagement,
            "fatigue": self.fatigue,
        }
        for name in ("p_alive", "expected_purchases", "clv"):
            col = getattr(self, name)
            if col is not None:
                cols[name] = col
        for prefix, arr in (("touchpoints", self.touchpoints_by_channel),
                            ("value", self.value_by_channel),
                            ("fatigue", self.fatigue_by_channel)):  # fmt: skip
            for j, name in enumerate(self.channels):
                cols[f"{prefix}_{name}"] = arr[:, j]
        return keyed(self.customer_id, cols)

    def __repr__(self) -> str:
        models = ", with model predictions" if self.p_alive is not None else ""
        return (
            f"CustomerViews({len(self):,} customers at {self.at.isoformat()}, "
            f"{len(self.channels)} channels{models})"
        )


def _check_models(
    models: Mapping[str, Any] | None,
) -> tuple[_PurchaseModel | None, _SpendModel | None]:
    if models is None:
        return None, None
    if not isinstance(models, Mapping):
        raise TypeError(
            "models must be a mapping such as {'purchase': BGNBD.fit(...), "
            f"'spend': GammaGamma.fit(...)}}, got {type(models).__name__}"
        )
    unknown = sorted(set(models) - set(_MODEL_KEYS))
    if unknown:
        raise ValueError(f"models: unknown keys {unknown}; expected 'purchase' (and 'spend')")
    purchase = models.get("purchase")
    spend = models.get("spend")
    if purchase is None:
        raise ValueError("models must include a fitted 'purchase' model")
    for method in ("p_alive", "expected_purchases"):
        if not callable(getattr(purchase, method, None)):
            raise TypeError(f"models['purchase'] has no {method}() method")
    if spend is not None and not callable(getattr(spend, "expected_average_value", None)):
        raise TypeError("models['spend'] has no expected_average_value() method")
    return purchase, spend


def _model_columns(
    log: EventLog,
    now: int,
    purchase: _PurchaseModel,
    spend: _SpendModel | None,
    *,
    period: Period,
    horizon: _dt.timedelta,
    purchase_kind: str,
    clv_months: int,
    monthly_discount_rate: float,
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    n = log.n_customers
    p_alive = np.full(n, math.nan)
    expected = np.full(n, math.nan)
    clv = None if spend is None else np.full(n, math.nan)
    past = log.select(log.at <= now)
    if not past.kind.mask(purchase_kind).any():
        return p_alive, expected, clv
    summary = summarize(past, period=period, observation_end=from_micros(now), kind=purchase_kind)
    rows = np.searchsorted(log.customers, summary.customer_id)
    t = duration_micros(horizon, "horizon") / (summary.period_days * US_PER_DAY)
    f, r, T = summary.frequency, summary.recency, summary.T
    p_alive[rows] = np.asarray(purchase.p_alive(f, r, T), dtype=np.float64)
    expected[rows] = np.asarray(purchase.expected_purchases(t, f, r, T), dtype=np.float64)
    if spend is not None:
        assert clv is not None
        from ..purchase.clv import customer_lifetime_value

        clv[rows] = np.asarray(
            customer_lifetime_value(
                purchase, spend, f, r, T, summary.monetary_value,
                months=clv_months, monthly_discount_rate=monthly_discount_rate,
                period_days=summary.period_days,
            ),
            dtype=np.float64,
        )  # fmt: skip
    return p_alive, expected, clv


def customer_views(
    log: EventLog,
    at: _dt.datetime | str,
    *,
    customer_ids: Any = None,
    models: Mapping[str, Any] | None = None,
    period: Period = "D",
    horizon: _dt.timedelta = _dt.timedelta(days=365),
    clv_months: int = 12,
    monthly_discount_rate: float = 0.01,
    purchase_kind: str = "purchase",
    engagement_half_life: _dt.timedelta = ENGAGEMENT_HALF_LIFE,
    fatigue_half_life: _dt.timedelta = FATIGUE_HALF_LIFE,
) -> CustomerViews:
    """The 360-degree view of many customers as columns, as of ``at``.

    For each customer, from every channel at once: first and last event, events and value to the
    company per channel, value exchanged in each direction, the preferred channel (where the
    customer's *own* actions happen, decayed with the engagement half-life — not where we send
    most), [`engagement`][relcore.scoring.scores.engagement] and fatigue (overall and per channel,
    as [`fatigue`][relcore.scoring.scores.fatigue] computes it, without the base-level saturation).
    Events after ``at`` are ignored.

    With ``models``, also each customer's probability of being alive, expected purchases over
    ``horizon`` and, with a spend model, lifetime value over ``clv_months`` months
    (``relcore.scoring.customer_lifetime_value``). Purchases of kind ``purchase_kind`` by ``at`` are
    summarised with [`summarize`][relcore.scoring.summary.summarize] in ``period`` units, which must
    be the period the models were fitted in. Customers without a purchase by ``at`` get NaN for
    these: the models describe customers who have bought.

    Intended use: one screen for a service agent or an account manager, and the per-customer table
    behind a CRM export. Limits: it is only as whole as the log — a channel that is not recorded is
    not in the view; totals are undecayed sums since the first event (see
    [`value_balance`][relcore.scoring.scores.value_balance] for a decayed, recent view of the
    exchange).

    Parameters
    ----------
    log
        The event log.
    at
        The instant of the view (timezone-aware).
    customer_ids
        The customers wanted, in the order wanted (default: every customer of the log).
        An id not in the log raises ``KeyError``.
    models
        ``{"purchase": model, "spend": model}``; ``"spend"`` is optional. A purchase model
        is anything with ``p_alive(frequency, recency, T)`` and
        ``expected_purchases(t, frequency, recency, T)`` (the fitted BG/NBD, Pareto/NBD…);
        a spend model has ``expected_average_value(frequency, monetary_value)`` (Gamma-Gamma).
    period
        Model period, as for [`summarize`][relcore.scoring.summary.summarize].
    horizon
        Time over which expected purchases are counted.
    clv_months, monthly_discount_rate
        Lifetime-value horizon and discounting.
    purchase_kind
        The event kind that is a purchase.
    engagement_half_life, fatigue_half_life
        Decay of the two scores.

    Returns
    -------
    CustomerViews

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 4, 1, tzinfo=timezone.utc)
    >>> log = EventLog.from_arrays(
    ...     ["a", "a", "a", "b"],
    ...     ["2026-01-05T10:00:00+00:00", "2026-02-01T09:00:00+00:00",
    ...      "2026-03-01T12:00:00+00:00", "2026-03-10T08:00:00+00:00"],
    ...     kind=["purchase", "message", "visit", "message"],
    ...     channel=["web", "email", "store", "email"],
    ...     initiator=[None, "company", "customer", "company"],
    ...     value=[40.0, 0.0, 0.0, 0.0],
    ... )
    >>> v = customer_views(log, at)
    >>> v.events.tolist(), v.value_to_company.tolist()
    ([3, 1], [40.0, 0.0])
    >>> v.preferred_channel.tolist()  # a acted in the store most recently; b never acted
    ['store', None]
    """
    now = as_of(at)
    purchase, spend = _check_models(models)
    if customer_ids is not None:
        wanted = np.asarray(customer_ids)
        if wanted.ndim == 0:
            wanted = wanted.reshape(1)
        codes = np.searchsorted(log.customers, wanted)
        found = np.zeros(wanted.size, dtype=bool)
        if log.n_customers:
            inside = np.minimum(codes, log.n_customers - 1)
            found = (codes < log.n_customers) & (log.customers[inside] == wanted)
        if not found.all():
            missing = wanted[~found][:5].tolist()
            more = " …" if (~found).sum() > 5 else ""
            raise KeyError(f"customers not in the log: {missing}{more}")
        log = log.select(np.isin(log.customer_codes, codes))
    else:
        codes = None

    n = log.n_customers
    channels = tuple(log.channel.categories)
    n_ch = len(channels)
    cust = log.customer_codes
    past = log.at <= now
    idx = np.flatnonzero(past)
    c_past = cust[idx]
    t_past = log.at[idx]
    events = np.bincount(c_past, minlength=n)
    # Rows are sorted by (customer, time), so a customer's first and last past events are
    # the first and last of their run among the past rows.
    first = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)  # datetime64's NaT
    last = first.copy()
    if idx.size:
        starts = np.flatnonzero(np.r_[True, c_past[1:] != c_past[:-1]])
        ends = np.r_[starts[1:], idx.size] - 1
        first[c_past[starts]] = t_past[starts]
        last[c_past[ends]] = t_past[ends]

    ch = log.channel.codes[idx]
    named = ch >= 0
    key = c_past[named].astype(np.int64) * n_ch + ch[named]
    touch = np.bincount(key, minlength=n * n_ch).reshape(n, n_ch)
    value_ch = np.bincount(key, weights=log.value[idx][named], minlength=n * n_ch).reshape(n, n_ch)
    to_company = np.bincount(c_past, weights=log.value[idx], minlength=n)
    to_customer = np.bincount(c_past, weights=log.value_to_customer[idx], minlength=n)

    eng = engagement(log, at, half_life=engagement_half_life)
    act = eng.activity_by_channel
    best = act.argmax(axis=1) if n_ch else np.zeros(n, dtype=np.int64)
    has_pref = act.max(axis=1) > 0 if n_ch else np.zeros(n, dtype=bool)
    preferred = np.array([*channels, None], dtype=object)[np.where(has_pref, best, n_ch)]

    hl = duration_micros(fatigue_half_life, "fatigue_half_life")
    fat = _log_fatigue(log, event_roles(log), now, hl)

    p_alive = expected = clv = None
    if purchase is not None:
        p_alive, expected, clv = _model_columns(
            log, now, purchase, spend, period=period, horizon=horizon,
            purchase_kind=purchase_kind, clv_months=clv_months,
            monthly_discount_rate=monthly_discount_rate,
        )  # fmt: skip

    def take(arr: Any) -> Any:
        return arr if codes is None or arr is None else arr[codes]

    return CustomerViews(
        customer_id=take(log.customers),
        first_seen=take(micros_to_datetime64(first)),
        last_seen=take(micros_to_datetime64(last)),
        events=take(events.astype(np.int64)),
        touchpoints_by_channel=take(touch.astype(np.int64)),
        value_by_channel=take(value_ch),
        channels=channels,
        value_to_company=take(to_company),
        value_to_customer=take(to_customer),
        preferred_channel=take(preferred),
        engagement=take(eng.engagement),
        fatigue=take(fat.overall),
        fatigue_by_channel=take(fat.by_channel),
        at=as_of_datetime(now),
        p_alive=take(p_alive),
        expected_purchases=take(expected),
        clv=take(clv),
    )


def customer_view(
    log: EventLog,
    customer_id: Any,
    at: _dt.datetime | str,
    models: Mapping[str, Any] | None = None,
    **options: Any,
) -> CustomerView:
    """The 360-degree view of one customer, as of ``at``.

    The customer's events are sliced from the log without a copy and summarised as
    [`customer_views`][relcore.scoring.scores.customer_views] does (``options`` are its keyword
    arguments: ``period``, ``horizon``, ``clv_months``…). ``KeyError`` when the log has no such
    customer.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 4, 1, tzinfo=timezone.utc)
    >>> log = EventLog.from_arrays(
    ...     ["a", "a"], ["2026-03-01T12:00:00+00:00", "2026-03-31T12:00:00+00:00"],
    ...     kind=["purchase", "message"], channel=["web", "email"],
    ...     initiator=[None, "company"], value=[25.0, 0.0],
    ... )
    >>> v = customer_view(log, "a", at)
    >>> v.events, dict(v.touchpoints), v.preferred_channel, v.value_to_company
    (2, {'email': 1, 'web': 1}, 'web', 25.0)
    """
    one = log.for_customer(customer_id)
    return customer_views(one, at, models=models, **options)._row(0)
