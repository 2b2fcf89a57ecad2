"""Lifecycle stages (new / active / at-risk / lapsed) and loyal repeat buyers."""

from __future__ import annotations

import datetime as _dt
import math
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from ..._result import Labels, Table, TableResult, column, keyed, label_counts
from ..._time import US_PER_DAY
from ..._validation import as_float, check_mask, same_length
from ...errors import DataError
from ..summary import RFMSummary
from ._asof import duration_micros

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "LIFECYCLE_STAGES",
    "LifecycleStages",
    "RepeatCustomers",
    "lifecycle_stage",
    "repeat_customers",
]

LIFECYCLE_STAGES: tuple[str, ...] = ("new", "active", "at-risk", "lapsed")

FloatArray = npt.NDArray[np.float64]


@attrs.frozen(eq=False)
class _Base:
    customer_id: npt.NDArray[Any]
    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    period_days: float

    @property
    def age_days(self) -> FloatArray:
        out: FloatArray = self.T * self.period_days
        return out

    @property
    def since_last_days(self) -> FloatArray:
        out: FloatArray = (self.T - self.recency) * self.period_days
        return out


def _base(
    summary: RFMSummary | None,
    customer_id: Any,
    frequency: Any,
    recency: Any,
    T: Any,
    period_days: float | None,
) -> _Base:
    """The per-customer columns from an RFMSummary or from arrays (exactly one)."""
    arrays_given = any(v is not None for v in (frequency, recency, T))
    if summary is not None:
        if not isinstance(summary, RFMSummary):
            raise TypeError(f"summary must be an RFMSummary, got {type(summary).__name__}")
        if arrays_given or customer_id is not None or period_days is not None:
            raise ValueError("give either a summary or arrays (frequency, recency, T), not both")
        return _Base(
            customer_id=np.asarray(summary.customer_id),
            frequency=np.asarray(summary.frequency, dtype=np.float64),
            recency=np.asarray(summary.recency, dtype=np.float64),
            T=np.asarray(summary.T, dtype=np.float64),
            period_days=summary.period_days,
        )
    if recency is None or T is None:
        raise ValueError("give a summary, or at least the recency and T arrays")
    if period_days is None:
        raise ValueError(
            "period_days is required with arrays: the length of one period in days "
            "(1 for daily summaries, 7 for weekly)"
        )
    if not (math.isfinite(period_days) and period_days > 0):
        raise ValueError(f"period_days must be positive, got {period_days}")
    r = as_float(recency, "recency", nonnegative=True)
    t = as_float(T, "T", nonnegative=True)
    f = (
        np.zeros_like(r)
        if frequency is None
        else as_float(frequency, "frequency", nonnegative=True)
    )
    ids = np.arange(r.size) if customer_id is None else np.asarray(customer_id)
    same_length(recency=r, T=t, frequency=f, customer_id=ids)
    check_mask("recency", r > t, "recency greater than T")
    return _Base(customer_id=ids, frequency=f, recency=r, T=t, period_days=float(period_days))


def _probabilities(p_alive: Any, n: int) -> FloatArray | None:
    if p_alive is None:
        return None
    p = as_float(p_alive, "p_alive")
    if p.size != n:
        raise DataError("p_alive", f"has {p.size} values for {n} customers")
    check_mask("p_alive", (p < 0) | (p > 1), "values outside [0, 1]")
    return p


def _days(value: _dt.timedelta, name: str) -> float:
    return duration_micros(value, name) / US_PER_DAY


@attrs.frozen(eq=False)
class LifecycleStages(TableResult):
    """The lifecycle stage of each customer.

    Attributes
    ----------
    customer_id : numpy.ndarray
    lifecycle_stage : numpy.ndarray
        One of `LIFECYCLE_STAGES` per customer.
    days_since_first, days_since_last : numpy.ndarray
        Age and time since the last purchase, in days.
    p_alive : numpy.ndarray or None
        The probabilities used, when given.
    """

    customer_id: npt.NDArray[Any] = attrs.field(converter=column)
    lifecycle_stage: npt.NDArray[np.str_] = attrs.field(converter=column)
    days_since_first: FloatArray = attrs.field(converter=column)
    days_since_last: FloatArray = attrs.field(converter=column)
    p_alive: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.lifecycle_stage.shape[0])

    def counts(self) -> dict[str, int]:
        """Customers per stage, in `LIFECYCLE_STAGES` order."""
        return label_counts(self.lifecycle_stage, LIFECYCLE_STAGES)

    def _table(self) -> Table:
        cols: dict[str, Any] = {
            "lifecycle_stage": Labels(self.lifecycle_stage, LIFECYCLE_STAGES),
            "days_since_first": self.days_since_first,
            "days_since_last": self.days_since_last,
        }
        if self.p_alive is not None:
            cols["p_alive"] = self.p_alive
        return keyed(self.customer_id, cols)

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Customers per stage as a bar chart (``plot`` extra)."""
        from ._plots import plot_segment_sizes

        return plot_segment_sizes(
            self.lifecycle_stage, ax=ax, order=LIFECYCLE_STAGES, title="Lifecycle stages"
        )

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.counts().items())
        return f"LifecycleStages({len(self):,} customers; {counts})"


def lifecycle_stage(
    summary: RFMSummary | None = None,
    p_alive: Any = None,
    *,
    customer_id: Any = None,
    recency: Any = None,
    T: Any = None,
    period_days: float | None = None,
    new_within: _dt.timedelta = _dt.timedelta(days=90),
    active_above: float = 0.7,
    lapsed_below: float = 0.3,
    at_risk_after: _dt.timedelta = _dt.timedelta(days=90),
    lapsed_after: _dt.timedelta = _dt.timedelta(days=365),
) -> LifecycleStages:
    """Where each customer is in their relationship: new, active, at-risk or lapsed.

    The first rule that matches names the stage:

    1. **new** — first purchase no more than ``new_within`` ago (age ``T``): too early
       to judge, whatever the model says;
    2. with ``p_alive`` (from a fitted purchase model such as BG/NBD, which weighs
       recency against the customer's own purchase rate):
       **active** if ``p_alive >= active_above``, **lapsed** if ``p_alive < lapsed_below``,
       **at-risk** in between;
    3. without ``p_alive``, by time since the last purchase (``T - recency``):
       **active** up to ``at_risk_after``, **at-risk** up to ``lapsed_after``, **lapsed**
       beyond.

    The recency rule treats a weekly buyer and a yearly buyer alike; ``p_alive`` does
    not (three silent months are alarming for the first, normal for the second), so pass
    it when a model is fitted. Intended use: routing customers to onboarding, retention
    or win-back. Limits: stages are as good as the model and thresholds; a customer's
    stage is not a forecast of what they will do.

    Parameters
    ----------
    summary
        An [`RFMSummary`][relcore.scoring.summary.RFMSummary] (its period converts periods to days);
        or leave it out and give ``recency``, ``T`` and ``period_days``.
    p_alive
        Probability that each customer is still active, aligned with the customers.
    customer_id, recency, T, period_days
        The arrays form: recency and age in periods, and the length of a period in days.
    new_within, active_above, lapsed_below, at_risk_after, lapsed_after
        Thresholds (see above); ``lapsed_below <= active_above`` and
        ``at_risk_after <= lapsed_after``.

    Returns
    -------
    LifecycleStages

    Examples
    --------
    Ages and recencies in weeks; without a model, the recency rule decides:

    >>> s = lifecycle_stage(recency=[2, 30, 30, 10], T=[5, 40, 70, 80], period_days=7)
    >>> s.lifecycle_stage.tolist()
    ['new', 'active', 'at-risk', 'lapsed']
    >>> lifecycle_stage(recency=[30, 30, 30], T=[40, 40, 40], period_days=7,
    ...                 p_alive=[0.9, 0.5, 0.1]).lifecycle_stage.tolist()
    ['active', 'at-risk', 'lapsed']
    """
    base = _base(summary, customer_id, None, recency, T, period_days)
    p = _probabilities(p_alive, base.T.size)
    if not 0 <= lapsed_below <= active_above <= 1:
        raise ValueError(
            "thresholds must satisfy 0 <= lapsed_below <= active_above <= 1, got "
            f"lapsed_below={lapsed_below}, active_above={active_above}"
        )
    new_days = _days(new_within, "new_within")
    risk_days = _days(at_risk_after, "at_risk_after")
    lapse_days = _days(lapsed_after, "lapsed_after")
    if risk_days > lapse_days:
        raise ValueError("at_risk_after must not exceed lapsed_after")
    age, since = base.age_days, base.since_last_days
    if p is not None:
        stage = np.select([p >= active_above, p >= lapsed_below], [1, 2], default=3)
    else:
        stage = np.select([since <= risk_days, since <= lapse_days], [1, 2], default=3)
    stage[age <= new_days] = 0
    return LifecycleStages(
        customer_id=base.customer_id,
        lifecycle_stage=np.array(LIFECYCLE_STAGES)[stage],
        days_since_first=age,
        days_since_last=since,
        p_alive=p,
    )


@attrs.frozen(eq=False)
class RepeatCustomers(TableResult):
    """Loyal repeat buyers, recognised so they can be thanked.

    Attributes
    ----------
    customer_id : numpy.ndarray
    repeat_customer : numpy.ndarray
        Boolean: a loyal repeat buyer.
    purchases : numpy.ndarray
        Purchase periods (``frequency + 1``).
    days_since_last : numpy.ndarray
    """

    customer_id: npt.NDArray[Any] = attrs.field(converter=column)
    repeat_customer: npt.NDArray[np.bool_] = attrs.field(converter=column)
    purchases: FloatArray = attrs.field(converter=column)
    days_since_last: FloatArray = attrs.field(converter=column)

    def __len__(self) -> int:
        return int(self.repeat_customer.shape[0])

    @property
    def ids(self) -> npt.NDArray[Any]:
        """The recognised customers, most purchases first (ties: most recent first)."""
        idx = np.flatnonzero(self.repeat_customer)
        order = np.lexsort((self.days_since_last[idx], -self.purchases[idx]))
        out: npt.NDArray[Any] = self.customer_id[idx[order]]
        return out

    def _table(self) -> Table:
        return keyed(
            self.customer_id,
            {
                "repeat_customer": self.repeat_customer,
                "purchases": self.purchases,
                "days_since_last": self.days_since_last,
            },
        )

    def __repr__(self) -> str:
        n = int(np.count_nonzero(self.repeat_customer))
        return f"RepeatCustomers({len(self):,} customers, {n:,} loyal repeat buyers)"


def repeat_customers(
    summary: RFMSummary | None = None,
    p_alive: Any = None,
    *,
    customer_id: Any = None,
    frequency: Any = None,
    recency: Any = None,
    T: Any = None,
    period_days: float | None = None,
    min_repeat: int = 2,
    within: _dt.timedelta = _dt.timedelta(days=180),
    min_p_alive: float = 0.5,
) -> RepeatCustomers:
    """Recognise loyal repeat buyers: customers who came back, and are still coming.

    A customer is a loyal repeat buyer when they made at least ``min_repeat`` repeat purchases
    (``frequency >= min_repeat``, i.e. ``min_repeat + 1`` purchase periods in all) **and** are still
    active: ``p_alive >= min_p_alive`` when ``p_alive`` is given, otherwise their last purchase was
    no more than ``within`` ago. Intended use: a thank- you, recognition or early access for the
    people who keep choosing the company. Limits: repeat purchase periods, not spend, decide
    (combine with the monetary value or [`rfm_segments`][relcore.scoring.scores.rfm_segments] to
    favour the valuable); measure whether the thank-you works with a holdout
    ([`relcore.measurement.assign_holdout`][relcore.measurement.assign_holdout]).

    Parameters
    ----------
    summary
        An [`RFMSummary`][relcore.scoring.summary.RFMSummary], or the arrays ``frequency``,
        ``recency``, ``T`` with ``period_days``.
    p_alive
        Optional probabilities that each customer is alive.
    min_repeat, within, min_p_alive
        Thresholds (see above).

    Returns
    -------
    RepeatCustomers

    Examples
    --------
    >>> r = repeat_customers(frequency=[5, 5, 1, 3], recency=[50, 10, 50, 48],
    ...                      T=[52, 52, 52, 52], period_days=7, customer_id=["a", "b", "c", "d"])
    >>> r.repeat_customer.tolist(), r.ids.tolist()
    ([True, False, False, True], ['a', 'd'])
    """
    if frequency is None and summary is None:
        raise ValueError("repeat_customers needs frequency (or a summary)")
    base = _base(summary, customer_id, frequency, recency, T, period_days)
    p = _probabilities(p_alive, base.T.size)
    if min_repeat < 1:
        raise ValueError(f"min_repeat must be at least 1, got {min_repeat}")
    if not 0 <= min_p_alive <= 1:
        raise ValueError(f"min_p_alive must be in [0, 1], got {min_p_alive}")
    since = base.since_last_days
    still = p >= min_p_alive if p is not None else since <= _days(within, "within")
    return RepeatCustomers(
        customer_id=base.customer_id,
        repeat_customer=(base.frequency >= min_repeat) & still,
        purchases=base.frequency + 1,
        days_since_last=since,
    )
