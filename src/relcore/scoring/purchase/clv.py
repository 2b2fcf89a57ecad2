"""Customer lifetime value from a purchase model and a spend model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, overload

import numpy as np

from ._predictions import CustomerPredictions, customer_columns, is_customer_table
from ._rfm import RFMModel
from ._types import FloatArray

if TYPE_CHECKING:
    from ..summary import RFMSummary

__all__ = ["customer_lifetime_value"]


# Customers go through in blocks of this many: the work per block sorts and gathers its
# rows (by frequency, by distinct history) in arrays of a few megabytes, where one array
# of ten million rows sends every gather to memory (10M customers, CPU: BG/NBD 0.80 ->
# 0.57 s daily, 1.49 -> 1.24 s continuous; Pareto/NBD 2.9 -> 1.6 s, 4.4 -> 2.1 s).
_BLOCK = 1 << 20


class _PurchaseModel(Protocol):
    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray: ...


class _SpendModel(Protocol):
    def expected_average_value(self, frequency: Any, monetary_value: Any) -> FloatArray: ...


_COLUMNS = ("frequency", "recency", "T", "monetary_value")


@overload
def customer_lifetime_value(
    purchase_model: _PurchaseModel,
    spend_model: _SpendModel,
    frequency: RFMSummary,
    recency: None = None,
    T: None = None,
    monetary_value: None = None,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    period_days: float | None = None,
    days_per_month: float = 365.25 / 12,
    interval: float | None = None,
    draws: int | None = None,
    rng: Any = None,
) -> CustomerPredictions: ...


@overload
def customer_lifetime_value(
    purchase_model: _PurchaseModel,
    spend_model: _SpendModel,
    frequency: Any,
    recency: Any = None,
    T: Any = None,
    monetary_value: Any = None,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    period_days: float | None = None,
    days_per_month: float = 365.25 / 12,
    interval: float,
    draws: int | None = None,
    rng: Any = None,
) -> CustomerPredictions: ...


@overload
def customer_lifetime_value(
    purchase_model: _PurchaseModel,
    spend_model: _SpendModel,
    frequency: Any,
    recency: Any = None,
    T: Any = None,
    monetary_value: Any = None,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    period_days: float | None = None,
    days_per_month: float = 365.25 / 12,
    interval: None = None,
    draws: None = None,
    rng: None = None,
) -> FloatArray: ...


def customer_lifetime_value(
    purchase_model: _PurchaseModel,
    spend_model: _SpendModel,
    frequency: Any,
    recency: Any = None,
    T: Any = None,
    monetary_value: Any = None,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    period_days: float | None = None,
    days_per_month: float = 365.25 / 12,
    interval: float | None = None,
    draws: int | None = None,
    rng: Any = None,
) -> FloatArray | CustomerPredictions:
    """Discounted value of each customer's expected purchases over the coming months.

    ``sum_{k=1..months} (E[X(k months)] - E[X((k-1) months)]) * E[spend] /
    (1 + monthly_discount_rate)**k`` where ``E[X(t)]`` is the purchase model's conditional
    expectation for the customer's history and ``E[spend]`` the spend model's expected
    average value. A month is ``days_per_month / period_days`` model periods.

    Parameters
    ----------
    purchase_model
        A fitted [`BGNBD`][relcore.scoring.purchase.BGNBD],
        [`MBGNBD`][relcore.scoring.purchase.MBGNBD] or
        [`ParetoNBD`][relcore.scoring.purchase.ParetoNBD] (anything with ``expected_purchases(t,
        frequency, recency, T)``).
    spend_model
        A fitted [`GammaGamma`][relcore.scoring.purchase.GammaGamma] (anything with
        ``expected_average_value(frequency, monetary_value)``).
    frequency
        Frequencies, or a table of customers supplying all four columns: an
        [`RFMSummary`][relcore.scoring.summary.RFMSummary] (which also supplies its period length)
        or a pandas / polars DataFrame.
    recency, T, monetary_value
        The other columns, in model periods (omitted with a summary).
    months
        Horizon in months.
    monthly_discount_rate
        Discount rate per month.
    period_days
        Length of one model period in days: 1 for daily summaries, 7 for weekly ones. A
        summary supplies its own; otherwise the default is 1.
    days_per_month
        Days in a month: the default is the average calendar month; ``30`` reproduces
        lifetimes' ``customer_lifetime_value`` (which assumes 30-day months for daily data).
    interval
        A level such as 0.9: add the columns ``clv_lower`` and ``clv_upper``, the central interval
        of the value over parameters drawn from both fits' asymptotic distributions (see the
        intervals guide: it covers what the data leave unknown about the parameters, not the chance
        in what a customer will actually spend). Both models must be fitted. The result is then
        always a [`CustomerPredictions`][relcore.scoring.purchase.CustomerPredictions] (keyed by row
        position for array input).
    draws
        Parameter draws for ``interval`` (default 500).
    rng
        Seed or ``numpy.random.Generator`` for the draws.

    Returns
    -------
    numpy.ndarray or CustomerPredictions
        One value per customer: an array for array input; for a summary or DataFrame,
        [`CustomerPredictions`][relcore.scoring.purchase.CustomerPredictions] with the column
        ``clv`` keyed by customer id.

    Examples
    --------
    A customer whose expected purchases do not depend on history makes the sum easy to
    check by hand: 12 months of 1 purchase a month at 10.0, discounted at 1% a month:

    >>> class OnePerMonth:
    ...     def expected_purchases(self, t, frequency, recency, T):
    ...         return t / 30.0 + 0 * frequency
    >>> class Ten:
    ...     def expected_average_value(self, frequency, monetary_value):
    ...         return 10.0 + 0 * frequency
    >>> import numpy as np
    >>> one = np.array([1.0])
    >>> clv = customer_lifetime_value(OnePerMonth(), Ten(), one, one, 2 * one, 10 * one,
    ...                               days_per_month=30)
    >>> round(float(clv[0]), 6) == round(sum(10.0 / 1.01**k for k in range(1, 13)), 6)
    True
    """
    from ..summary import RFMSummary

    if is_customer_table(frequency):
        if recency is not None or T is not None or monetary_value is not None:
            raise TypeError("pass either a summary or DataFrame, or the four columns, not both")
        data = frequency
        if period_days is None and isinstance(data, RFMSummary):
            period_days = data.period_days
        ids, columns = customer_columns(data, _COLUMNS)
        if interval is not None:
            return _clv_interval(
                purchase_model, spend_model, columns, ids, interval, draws, rng,
                months=months, monthly_discount_rate=monthly_discount_rate,
                period_days=period_days, days_per_month=days_per_month,
            )  # fmt: skip
        values = customer_lifetime_value(
            purchase_model,
            spend_model,
            *columns,
            months=months,
            monthly_discount_rate=monthly_discount_rate,
            period_days=period_days,
            days_per_month=days_per_month,
        )
        return CustomerPredictions(
            ids,
            {"clv": values},
            description=f"{months}-month lifetime value at {monthly_discount_rate:g} a month",
        )
    if recency is None or T is None or monetary_value is None:
        raise TypeError("recency, T and monetary_value are needed with array input")
    if interval is not None:
        return _clv_interval(
            purchase_model, spend_model, [frequency, recency, T, monetary_value], None,
            interval, draws, rng, months=months, monthly_discount_rate=monthly_discount_rate,
            period_days=period_days, days_per_month=days_per_month,
        )  # fmt: skip
    if draws is not None or rng is not None:
        raise TypeError("draws and rng go with interval=")
    period = 1.0 if period_days is None else float(period_days)
    if not (np.isfinite(period) and period > 0):
        raise ValueError(f"period_days must be positive, got {period_days!r}")
    if not (np.isfinite(days_per_month) and days_per_month > 0):
        raise ValueError(f"days_per_month must be positive, got {days_per_month!r}")
    if int(months) != months or months < 0:
        raise ValueError(f"months must be a whole number >= 0, got {months!r}")
    if not (np.isfinite(monthly_discount_rate) and monthly_discount_rate > -1):
        raise ValueError(f"monthly_discount_rate must exceed -1, got {monthly_discount_rate!r}")
    spend = np.asarray(spend_model.expected_average_value(frequency, monetary_value))
    per_month = days_per_month / period
    k = np.arange(1, int(months) + 1, dtype=np.float64)
    if isinstance(purchase_model, RFMModel):
        # sum_k (E_k - E_(k-1)) d_k = sum_k E_k (d_k - d_(k+1)), with E_0 = 0 and
        # d_(months+1) = 0: one weighted sum that the model computes with what does not
        # depend on the horizon (P(alive), distinct histories) evaluated once
        discount = (1.0 + monthly_discount_rate) ** -k
        weights = discount - np.append(discount[1:], 0.0)
        x, tx, T_ = purchase_model._history(frequency, recency, T)
        shape = x.shape
        x, tx, T_ = x.ravel(), tx.ravel(), T_.ravel()
        purchases = np.empty(x.size)
        for lo in range(0, x.size, _BLOCK):
            hi = lo + _BLOCK
            purchases[lo:hi] = purchase_model._discounted_purchases(
                x[lo:hi], tx[lo:hi], T_[lo:hi], k * per_month, weights
            )
        out: FloatArray = purchases.reshape(shape) * spend
        return out
    total = np.zeros(np.shape(spend))
    previous = np.asarray(purchase_model.expected_purchases(0.0, frequency, recency, T))
    for step in k.tolist():
        current = np.asarray(
            purchase_model.expected_purchases(step * per_month, frequency, recency, T)
        )
        total = total + (current - previous) / (1.0 + monthly_discount_rate) ** step
        previous = current
    result: FloatArray = total * spend
    return result


def _clv_interval(
    purchase_model: Any,
    spend_model: Any,
    columns: list[Any],
    ids: Any,
    level: float,
    draws: int | None,
    rng: Any,
    **options: Any,
) -> CustomerPredictions:
    """Lifetime value with bounds over parameters drawn from both fits (independently:
    the two models are fitted to separate likelihoods)."""
    from ._uncertainty import DEFAULT_DRAWS, bands, check_level, distinct, expand, parameter_draws

    level = check_level(level)
    n_draws = DEFAULT_DRAWS if draws is None else draws
    gen = np.random.default_rng(rng)
    purchases = parameter_draws(purchase_model, n_draws, gen)
    spends = parameter_draws(spend_model, n_draws, gen)
    arrays = [np.asarray(c) for c in columns]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    flat = [np.broadcast_to(a, shape).reshape(-1) for a in arrays]
    point = customer_lifetime_value(purchase_model, spend_model, *flat, **options)
    n = point.size
    unique, inverse = distinct(flat)

    def evaluate(k: int, rows: slice) -> dict[str, FloatArray]:
        cols = [c[rows] for c in unique]
        return {"clv": customer_lifetime_value(purchases[k], spends[k], *cols, **options)}

    bounds = bands(evaluate, unique[0].size, n_draws, level)
    ((lower, upper),) = expand(bounds, inverse).values()
    months, rate = options["months"], options["monthly_discount_rate"]
    return CustomerPredictions(
        np.arange(n) if ids is None else ids,
        {"clv": point, "clv_lower": lower, "clv_upper": upper},
        description=(
            f"{months}-month lifetime value at {rate:g} a month, {level:.0%} intervals from "
            "parameter uncertainty"
        ),
    )
