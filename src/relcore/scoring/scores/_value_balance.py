"""Value balance: is the exchange with each customer mutual?"""

from __future__ import annotations

import datetime as _dt
import math
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from ..._result import Labels, Table, TableResult, column, keyed, label_counts
from ...models import EventLog
from ._asof import as_of, as_of_datetime, decay, duration_micros

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["BALANCE_CLASSES", "ValueBalance", "value_balance"]

BALANCE_CLASSES: tuple[str, ...] = ("give-heavy", "balanced", "take-heavy", "no exchange")
DEFAULT_HALF_LIFE = _dt.timedelta(days=180)

FloatArray = npt.NDArray[np.float64]


@attrs.frozen(eq=False)
class ValueBalance(TableResult):
    """Decayed value given to and received from each customer, and their balance.

    Attributes
    ----------
    customer_id : numpy.ndarray
    to_customer : numpy.ndarray
        Decayed value the customer received (discounts, gifts, service, content).
    to_company : numpy.ndarray
        Decayed value the company received (revenue net of refunds, referrals).
    value_balance : numpy.ndarray
        ``to_customer / to_company`` (``inf`` when only the customer received, NaN when
        nothing was exchanged either way).
    classification : numpy.ndarray
        One of `BALANCE_CLASSES` per customer.
    balanced_range : tuple of float
    at : datetime.datetime
    half_life : datetime.timedelta
    """

    customer_id: npt.NDArray[Any] = attrs.field(converter=column)
    to_customer: FloatArray = attrs.field(converter=column)
    to_company: FloatArray = attrs.field(converter=column)
    value_balance: FloatArray = attrs.field(converter=column)
    classification: npt.NDArray[np.str_] = attrs.field(converter=column)
    balanced_range: tuple[float, float]
    at: _dt.datetime
    half_life: _dt.timedelta

    def __len__(self) -> int:
        return int(self.value_balance.shape[0])

    def counts(self) -> dict[str, int]:
        """Customers per class, in `BALANCE_CLASSES` order."""
        return label_counts(self.classification, BALANCE_CLASSES)

    def _table(self) -> Table:
        return keyed(
            self.customer_id,
            {
                "to_customer": self.to_customer,
                "to_company": self.to_company,
                "value_balance": self.value_balance,
                "classification": Labels(self.classification, BALANCE_CLASSES),
            },
        )

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.counts().items())
        return f"ValueBalance({len(self):,} customers at {self.at.isoformat()}; {counts})"

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Customers per class as a bar chart (``plot`` extra)."""
        from ._plots import plot_segment_sizes

        return plot_segment_sizes(
            self.classification, ax=ax, order=BALANCE_CLASSES, title="Value balance"
        )


def value_balance(
    log: EventLog,
    at: _dt.datetime | str,
    *,
    half_life: _dt.timedelta = DEFAULT_HALF_LIFE,
    balanced_range: tuple[float, float] = (0.1, 1.0),
) -> ValueBalance:
    r"""Decayed value given to each customer against value received from them, as of ``at``.

    $$
    G_c = \sum_{e \in c,\ t_e \le at} v^{\text{customer}}_e \, 2^{-(at - t_e)/h},
    \qquad
    R_c = \sum_{e \in c,\ t_e \le at} v^{\text{company}}_e \, 2^{-(at - t_e)/h},
    \qquad
    \text{value\_balance}_c = G_c / R_c
    $$

    from the log's ``value_to_customer`` and ``value`` columns (refunds, as negative
    value to the company, reduce ``R``). The ratio says how much the customer received for
    each unit they gave. With ``balanced_range = (low, high)``:

    * ``"take-heavy"`` when ``G/R < low`` — the company takes and gives little back;
    * ``"give-heavy"`` when ``G/R > high``, or the customer received value and gave none;
    * ``"balanced"`` otherwise;
    * ``"no exchange"`` when nothing was exchanged either way (ratio NaN).

    The default ``(0.1, 1.0)`` calls an exchange balanced when the customer gets back
    between 10 cents and a dollar of value per dollar given. Set it for your business:
    what counts as mutual depends on margins and on how ``value_to_customer`` is measured.

    Intended use: finding relationships where the company only takes (candidates for
    recognition, service, a gift) or only gives (discount addicts). Limits: both sides must
    be in comparable units; unmeasured value (goodwill, content read but not logged) is
    invisible; the ratio of two small decayed sums is noisy for customers with little
    history.

    Parameters
    ----------
    log
        The event log.
    at
        The instant to score as of (timezone-aware); later events are ignored.
    half_life
        Age at which an exchange counts half.
    balanced_range
        ``(low, high)`` bounds of the balanced ratio, ``0 <= low <= high``.

    Returns
    -------
    ValueBalance

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 6, 1, tzinfo=timezone.utc)
    >>> log = EventLog.from_arrays(
    ...     ["a", "b", "c", "d"], [at, at, at, at],
    ...     value=[100.0, 100.0, 0.0, 0.0], value_to_customer=[20.0, 2.0, 5.0, 0.0],
    ... )
    >>> vb = value_balance(log, at)
    >>> vb.value_balance.tolist()[:3], vb.classification.tolist()
    ([0.2, 0.02, inf], ['balanced', 'take-heavy', 'give-heavy', 'no exchange'])
    """
    now = as_of(at)
    hl = duration_micros(half_life, "half_life")
    low, high = (float(v) for v in balanced_range)
    if not (math.isfinite(low) and math.isfinite(high) and 0 <= low <= high):
        raise ValueError(f"balanced_range must satisfy 0 <= low <= high, got {balanced_range}")
    n = log.n_customers
    idx = np.flatnonzero(log.at <= now)
    weights = decay(log.at[idx], now, hl)
    codes = log.customer_codes[idx]
    given = np.bincount(codes, weights=weights * log.value_to_customer[idx], minlength=n)
    received = np.bincount(codes, weights=weights * log.value[idx], minlength=n)

    ratio = np.full(n, np.nan)
    pos = received > 0
    ratio[pos] = given[pos] / received[pos]
    ratio[~pos & (given > 0)] = np.inf
    # Nothing (or only losses) received and nothing given: no exchange to judge.
    cls = np.full(n, 3, dtype=np.int8)
    cls[np.isfinite(ratio) | np.isinf(ratio)] = 1
    cls[ratio < low] = 2
    cls[ratio > high] = 0
    return ValueBalance(
        customer_id=log.customers,
        to_customer=given,
        to_company=received,
        value_balance=ratio,
        classification=np.array(BALANCE_CLASSES)[cls],
        balanced_range=(low, high),
        at=as_of_datetime(now),
        half_life=half_life,
    )
