"""How well does a purchase model describe the customer base? Tables and plots.

The checks of Fader, Hardie & Lee (2005) and of every careful analysis since:

* [`calibration_vs_holdout`][relcore.scoring.purchase.diagnostics.calibration_vs_holdout] —
  customers grouped by their calibration-period frequency: mean purchases in the holdout period,
  actual and as the model expected;
* [`purchase_tracking`][relcore.scoring.purchase.diagnostics.purchase_tracking] — repeat purchases
  period by period, actual and expected for the whole cohort, through calibration and holdout
  (cumulative and incremental);
* the matrices behind
  [`plot_frequency_recency_matrix`][relcore.scoring.purchase.diagnostics.plot_frequency_recency_matrix]
  and
  [`plot_probability_alive_matrix`][relcore.scoring.purchase.diagnostics.plot_probability_alive_matrix],
  whose memory is bounded by the grid, not by the number of customers;
* [`plot_period_transactions`][relcore.scoring.purchase.diagnostics.plot_period_transactions] — how
  many customers made 0, 1, 2… repeat purchases, actual against customers simulated from the model.

They work with the continuous-time models ([`BGNBD`][relcore.scoring.purchase.BGNBD],
[`MBGNBD`][relcore.scoring.purchase.MBGNBD], [`ParetoNBD`][relcore.scoring.purchase.ParetoNBD]), or
any object with their ``expected_purchases``, ``expected_purchases_new``, ``p_alive`` and
``simulate``. Plots need the ``plot`` extra and return the matplotlib ``Axes``.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from ..._optional import require
from ..._plotting import axes
from ..._result import Table, TableResult
from ..._validation import readonly
from ...errors import DataError
from ...models import EventLog
from .._periods import end_instant, period_grid, period_starts
from ..summary import Period, RFMSummary

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "AlivePath",
    "CalibrationHoldout",
    "PurchaseTracking",
    "alive_path",
    "calibration_vs_holdout",
    "plot_calibration_vs_holdout",
    "plot_cumulative_transactions",
    "plot_frequency_recency_matrix",
    "plot_incremental_transactions",
    "plot_period_transactions",
    "plot_probability_alive_matrix",
    "purchase_tracking",
]

FloatArray = npt.NDArray[np.float64]


class PurchaseModel(Protocol):
    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray: ...

    def expected_purchases_new(self, t: Any) -> FloatArray: ...

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray: ...

    def simulate(self, n_customers: int, T: Any, rng: Any = None) -> Any: ...


def _ro(values: Any) -> FloatArray:
    return readonly(np.asarray(values, dtype=np.float64))


# --------------------------------------------------------------------- calibration/holdout


@attrs.frozen(eq=False)
class CalibrationHoldout(TableResult):
    """Mean holdout purchases by calibration frequency, actual and expected.

    Row ``i`` holds the customers with ``frequency == i`` in calibration; the last row
    holds every customer at or above ``max_frequency``.

    Attributes
    ----------
    frequency
        Calibration frequency of each row (the last meaning "this many or more").
    customers
        Customers in each row.
    actual, expected
        Mean holdout purchases per customer in each row: observed, and the model's
        conditional expectation over the holdout duration.
    """

    frequency: FloatArray = attrs.field(converter=_ro)
    customers: FloatArray = attrs.field(converter=_ro)
    actual: FloatArray = attrs.field(converter=_ro)
    expected: FloatArray = attrs.field(converter=_ro)

    def _table(self) -> Table:
        columns = {"customers": self.customers, "actual": self.actual, "expected": self.expected}
        return Table({"frequency": self.frequency}, columns)

    def __repr__(self) -> str:
        top = int(self.frequency[-1]) if len(self.frequency) else 0
        return (
            f"CalibrationHoldout({self.customers.sum():,.0f} customers, calibration "
            f"frequency 0 to {top}+)"
        )

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Actual and expected holdout purchases against calibration frequency."""
        ax = axes(ax, (6, 4))
        labels = [f"{int(f)}" for f in self.frequency]
        labels[-1] += "+"
        x = np.arange(len(labels))
        ax.plot(x, self.actual, "o-", color="tab:blue", label="actual")
        ax.plot(x, self.expected, "s--", color="tab:orange", label="model")
        ax.set_xticks(x, labels)
        ax.set_xlabel("repeat purchases in the calibration period")
        ax.set_ylabel("mean purchases in the holdout period")
        ax.set_title("Conditional expectations: calibration vs holdout")
        ax.legend()
        return ax


def calibration_vs_holdout(
    model: PurchaseModel, summary: RFMSummary, *, max_frequency: int = 7
) -> CalibrationHoldout:
    """Mean holdout purchases by calibration frequency, actual and expected by ``model``.

    Parameters
    ----------
    model
        A fitted purchase model.
    summary
        A summary with holdout columns (``summarize(..., calibration_end=...)``).
    max_frequency
        Customers at or above this frequency share the last row.

    Returns
    -------
    CalibrationHoldout
    """
    if summary.holdout_frequency is None or summary.holdout_duration is None:
        raise DataError(
            "holdout_frequency", "missing: summarise with calibration_end to get a holdout"
        )
    if max_frequency < 1:
        raise ValueError(f"max_frequency must be at least 1, got {max_frequency}")
    expected = model.expected_purchases(
        summary.holdout_duration, summary.frequency, summary.recency, summary.T
    )
    row = np.minimum(summary.frequency, max_frequency).astype(np.int64)
    n = np.bincount(row, minlength=max_frequency + 1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        actual = np.bincount(row, weights=summary.holdout_frequency, minlength=n.size) / n
        predicted = np.bincount(row, weights=expected, minlength=n.size) / n
    return CalibrationHoldout(np.arange(n.size), n, actual, predicted)


def plot_calibration_vs_holdout(
    model: PurchaseModel, summary: RFMSummary, *, max_frequency: int = 7, ax: Axes | None = None
) -> Axes:
    """Plot [`calibration_vs_holdout`][relcore.scoring.purchase.diagnostics.calibration_vs_holdout]
    (``plot`` extra)."""
    return calibration_vs_holdout(model, summary, max_frequency=max_frequency).plot(ax=ax)


# --------------------------------------------------------------------- tracking


@attrs.frozen(eq=False)
class PurchaseTracking(TableResult):
    """Repeat purchases of a cohort per period: actual and expected by the model.

    Attributes
    ----------
    period_start
        Start of each period (``datetime64[us]``, UTC).
    actual, expected
        Repeat purchases in each period (several purchases by one customer in one period
        count once, as in the summary).
    calibration_periods
        How many of the periods belong to the calibration period.
    """

    period_start: npt.NDArray[np.datetime64] = attrs.field(converter=readonly)
    actual: FloatArray = attrs.field(converter=_ro)
    expected: FloatArray = attrs.field(converter=_ro)
    calibration_periods: int

    def _table(self) -> Table:
        holdout = np.arange(self.period_start.size) >= self.calibration_periods
        columns = {
            "actual": self.actual,
            "expected": self.expected,
            "actual_cumulative": self.actual_cumulative,
            "expected_cumulative": self.expected_cumulative,
            "holdout": holdout,
        }
        return Table({"period_start": self.period_start}, columns)

    def __repr__(self) -> str:
        n = self.period_start.size
        return (
            f"PurchaseTracking({n:,} periods, {self.calibration_periods:,} in calibration; "
            f"repeat purchases actual {self.actual.sum():,.0f}, expected "
            f"{self.expected.sum():,.1f})"
        )

    @property
    def actual_cumulative(self) -> FloatArray:
        return np.cumsum(self.actual)

    @property
    def expected_cumulative(self) -> FloatArray:
        return np.cumsum(self.expected)

    def plot(self, *, cumulative: bool = True, ax: Axes | None = None) -> Axes:
        """Tracking plot: cumulative (default) or incremental repeat purchases."""
        ax = axes(ax, (7, 4))
        x = self.period_start.astype("datetime64[D]").astype(object)
        actual = self.actual_cumulative if cumulative else self.actual
        expected = self.expected_cumulative if cumulative else self.expected
        ax.plot(x, actual, color="tab:blue", label="actual")
        ax.plot(x, expected, "--", color="tab:orange", label="model")
        if 0 < self.calibration_periods < len(x):
            ax.axvline(x[self.calibration_periods], color="grey", linestyle=":", linewidth=1)
            ax.annotate(
                " holdout",
                (x[self.calibration_periods], 0.95),
                xycoords=("data", "axes fraction"),
                color="grey",
                va="top",
            )
        kind = "Cumulative" if cumulative else "Incremental"
        ax.set_title(f"{kind} repeat purchases")
        ax.set_ylabel("repeat purchases" + (" to date" if cumulative else " per period"))
        ax.legend()
        # Compact dates on this axes alone: the figure's autofmt_xdate would rotate and
        # hide the tick labels of the user's other subplots.
        dates = require("matplotlib.dates", "plot")
        locator = dates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
        return ax


def purchase_tracking(
    model: PurchaseModel,
    log: EventLog,
    *,
    period: Period,
    observation_end: _dt.datetime | _dt.date | str,
    calibration_end: _dt.datetime | _dt.date | str,
    kind: str = "purchase",
    age_convention: Literal["relcore", "peers"] = "relcore",
) -> PurchaseTracking:
    """Repeat purchases per period of the calibration cohort, actual and expected.

    The cohort is the customers whose first purchase falls in the calibration period
    (those a model fitted on ``summarize(..., calibration_end=...)`` describes). A customer
    born in period ``b`` is expected to have made ``E[X(k - b)]`` repeat purchases by the
    end of period ``k`` (``expected_purchases_new``, with ages counted in whole periods as
    the summary counts ``T``), so the cohort's expected total is a convolution of the
    births per period with the model's unconditional curve.

    ``age_convention="peers"`` counts that customer's age at the end of period ``k`` as
    ``k + 1 - b`` instead, as lifetimes' ``expected_cumulative_transactions``, R's BTYD
    and pymc-marketing do: their expected curve runs one period ahead of relcore's (by
    about 0.8 % of the cumulative total on CDNOW's weekly data). relcore's ``k - b`` is
    the age the summary gives a customer observed to the end of period ``k`` (its ``T``),
    the age the model was fitted on; the peers' ``k + 1 - b`` is the time from the
    *start* of the birth period to the end of period ``k``, crediting the birth period
    in full. Periods are whole: purchases
    are counted in the period they fall in, so the last calibration period runs to its
    end, past ``calibration_end`` when that falls mid-period, and a last period cut short
    by ``observation_end`` shows fewer purchases than the model expects of a full one.

    Parameters
    ----------
    model
        A purchase model fitted in the same periods.
    log
        The event log.
    period, observation_end, calibration_end, kind
        As in [`summarize`][relcore.scoring.summary.summarize].
    age_convention
        ``"relcore"`` (age ``k - b`` at the end of period ``k``, as the summary's ``T``)
        or ``"peers"`` (``k + 1 - b``, as lifetimes, BTYD and pymc-marketing).

    Returns
    -------
    PurchaseTracking
    """
    if age_convention not in ("relcore", "peers"):
        raise ValueError(f"age_convention must be 'relcore' or 'peers', got {age_convention!r}")
    length, anchor = period_grid(period)
    events = log.filter(kind=kind)
    if len(events) == 0:
        raise DataError("kind", f"no events of kind {kind!r} in the log")
    obs_period = (end_instant(observation_end, "observation_end") - anchor) // length
    cal_period = (end_instant(calibration_end, "calibration_end") - anchor) // length
    periods = (events.at - anchor) // length
    codes = events.customer_codes
    starts = np.flatnonzero(period_starts(codes, periods))
    g_code, g_period = codes[starts], periods[starts]
    first = np.ones(g_code.size, dtype=bool)
    first[1:] = g_code[1:] != g_code[:-1]
    birth = np.full(log.n_customers, np.iinfo(np.int64).max)
    birth[g_code[first]] = g_period[first]
    in_cohort = birth[g_code] <= cal_period
    p0 = int(birth[g_code[first]].min())
    n_periods = int(obs_period) - p0 + 1
    repeat = ~first & in_cohort & (g_period <= obs_period)
    actual = np.bincount(g_period[repeat] - p0, minlength=n_periods)[:n_periods]
    births = np.bincount(g_period[first & in_cohort] - p0, minlength=n_periods)[:n_periods]
    first_age = 1.0 if age_convention == "peers" else 0.0
    curve = model.expected_purchases_new(first_age + np.arange(n_periods, dtype=np.float64))
    cumulative = np.convolve(births.astype(np.float64), curve)[:n_periods]
    expected = np.diff(cumulative, prepend=0.0)
    start_us = anchor + (p0 + np.arange(n_periods, dtype=np.int64)) * length
    return PurchaseTracking(
        period_start=start_us.view("datetime64[us]"),
        actual=actual.astype(np.float64),
        expected=expected,
        calibration_periods=int(cal_period) - p0 + 1,
    )


# --------------------------------------------------------------------- alive path


@attrs.frozen(eq=False)
class AlivePath(TableResult):
    """P(alive) of one customer at the end of each period since their first purchase.

    Attributes
    ----------
    customer_id
        The customer.
    period_start
        Start of each period (``datetime64[us]``, UTC), from the first purchase's period.
    age, frequency, recency
        The customer's history at the end of each period, as a summary made then would
        give it: ``T``, repeat purchases and the age at the last of them.
    p_alive
        The model's P(alive) for that history.
    """

    customer_id: Any
    period_start: npt.NDArray[np.datetime64] = attrs.field(converter=readonly)
    age: FloatArray = attrs.field(converter=_ro)
    frequency: FloatArray = attrs.field(converter=_ro)
    recency: FloatArray = attrs.field(converter=_ro)
    p_alive: FloatArray = attrs.field(converter=_ro)

    def _table(self) -> Table:
        columns = {
            "age": self.age,
            "frequency": self.frequency,
            "recency": self.recency,
            "p_alive": self.p_alive,
        }
        return Table({"period_start": self.period_start}, columns)

    def __repr__(self) -> str:
        return (
            f"AlivePath(customer {self.customer_id!r}, {self.age.size:,} periods, "
            f"P(alive) now {self.p_alive[-1]:.3f})"
        )

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """P(alive) over time, with the periods of purchase marked (``plot`` extra)."""
        ax = axes(ax, (7, 3))
        x = self.period_start.astype("datetime64[D]").astype(object)
        ax.plot(x, self.p_alive, color="tab:blue", label="P(alive)")
        bought = np.flatnonzero(np.diff(self.frequency, prepend=-1.0) > 0)
        for i in bought:
            ax.axvline(x[i], color="tab:orange", linestyle=":", linewidth=1)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("P(alive)")
        ax.set_title(f"P(alive) of customer {self.customer_id}")
        dates = require("matplotlib.dates", "plot")
        locator = dates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
        return ax


def alive_path(
    model: PurchaseModel,
    log: EventLog,
    customer_id: Any,
    *,
    period: Period,
    observation_end: _dt.datetime | _dt.date | str,
    kind: str = "purchase",
) -> AlivePath:
    """P(alive) of one customer period by period, from their first purchase to
    ``observation_end`` (lifetimes' ``calculate_alive_path``).

    At the end of each period the customer's history is summarised as
    [`summarize`][relcore.scoring.summary.summarize] would summarise it then (ages in whole periods
    since the first purchase's period; purchases in one period count once) and scored with the
    model's ``p_alive``: the path rises at each purchase and decays in between.

    Parameters
    ----------
    model
        A purchase model fitted in the same periods.
    log
        The event log.
    customer_id
        The customer, as in the log.
    period, observation_end, kind
        As in [`summarize`][relcore.scoring.summary.summarize].

    Returns
    -------
    AlivePath

    Examples
    --------
    >>> import datetime as dt
    >>> from relcore.models import EventLog
    >>> from relcore.scoring import BGNBD
    >>> utc = dt.timezone.utc
    >>> log = EventLog.from_arrays(["a", "a", "a"], [dt.datetime(2024, 1, d, tzinfo=utc)
    ...                                              for d in (1, 5, 9)])
    >>> path = alive_path(BGNBD(r=0.24, alpha=4.4, a=0.8, b=2.4), log, "a", period="D",
    ...                   observation_end="2024-01-31")
    >>> path.frequency[[0, 4, 8, 30]].tolist(), bool(path.p_alive[8] > path.p_alive[30])
    ([0.0, 1.0, 2.0, 2.0], True)
    """
    length, anchor = period_grid(period)
    end_period = (end_instant(observation_end, "observation_end") - anchor) // length
    events = log.filter(kind=kind)
    try:
        times = events.at[events.customer_slice(customer_id)]
    except (KeyError, ValueError):
        times = np.zeros(0, dtype=np.int64)
    if times.size == 0:
        raise DataError("customer_id", f"no events of kind {kind!r} for customer {customer_id!r}")
    periods = (times - anchor) // length
    if periods[-1] > end_period:
        raise DataError("at", f"events of customer {customer_id!r} after observation_end")
    birth = int(periods[0])
    ages = np.arange(int(end_period) - birth + 1, dtype=np.float64)
    bought = np.zeros(ages.size, dtype=bool)
    bought[periods - birth] = True
    frequency = np.cumsum(bought) - 1.0
    # age at the last period with a purchase, carried forward
    recency = np.maximum.accumulate(np.where(bought, ages, 0.0))
    p = np.asarray(model.p_alive(frequency, recency, ages), dtype=np.float64)
    start_us = anchor + (birth + ages.astype(np.int64)) * length
    return AlivePath(
        customer_id=customer_id,
        period_start=start_us.view("datetime64[us]"),
        age=ages,
        frequency=frequency,
        recency=recency,
        p_alive=p,
    )


def plot_cumulative_transactions(tracking: PurchaseTracking, *, ax: Axes | None = None) -> Axes:
    """Cumulative repeat purchases, actual against expected (``plot`` extra)."""
    return tracking.plot(cumulative=True, ax=ax)


def plot_incremental_transactions(tracking: PurchaseTracking, *, ax: Axes | None = None) -> Axes:
    """Repeat purchases per period, actual against expected (``plot`` extra)."""
    return tracking.plot(cumulative=False, ax=ax)


# --------------------------------------------------------------------- matrices


def _grid(
    T: float, max_frequency: int, max_recency: float | None, score: Any
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``score(f, r, T)`` on the grid of whole frequencies and recencies of a customer of
    age ``T``; cells no customer can occupy (repeat-free customers with recency > 0) are
    NaN."""
    if max_frequency < 0 or not np.isfinite(T) or T <= 0:
        raise ValueError("need max_frequency >= 0 and a positive T")
    top = T if max_recency is None else min(float(max_recency), T)
    f = np.arange(max_frequency + 1, dtype=np.float64)
    r = np.arange(int(np.floor(top)) + 1, dtype=np.float64)
    F, R = np.meshgrid(f, r, indexing="ij")
    possible = (F > 0) | (R == 0)
    values = np.full(F.shape, np.nan)
    values[possible] = score(F[possible], R[possible], np.full(int(possible.sum()), T))
    return f, r, values


def _matrix(
    values: FloatArray, f: FloatArray, r: FloatArray, title: str, label: str, ax: Axes | None
) -> Axes:
    ax = axes(ax, (6, 5))
    image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis",
                      extent=(r[0] - 0.5, r[-1] + 0.5, f[0] - 0.5, f[-1] + 0.5))  # fmt: skip
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.yaxis.set_major_locator(require("matplotlib.ticker", "plot").MaxNLocator(integer=True))
    ax.set_xlabel("recency (age at last purchase, periods)")
    ax.set_ylabel("frequency (repeat purchases)")
    ax.set_title(title)
    return ax


def plot_frequency_recency_matrix(
    model: PurchaseModel,
    *,
    T: float,
    t: float = 1.0,
    max_frequency: int = 20,
    max_recency: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Expected purchases in the next ``t`` periods for each (frequency, recency) of a
    customer of age ``T`` (``plot`` extra).

    The grid has ``(max_frequency + 1) x (T + 1)`` cells; memory does not grow with the
    number of customers.
    """
    f, r, values = _grid(
        T, max_frequency, max_recency, lambda f, r, T: model.expected_purchases(t, f, r, T)
    )
    title = f"Expected purchases in the next {t:g} periods (age {T:g})"
    return _matrix(values, f, r, title, "expected purchases", ax)


def plot_probability_alive_matrix(
    model: PurchaseModel,
    *,
    T: float,
    max_frequency: int = 20,
    max_recency: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """P(alive) for each (frequency, recency) of a customer of age ``T`` (``plot`` extra)."""
    f, r, values = _grid(T, max_frequency, max_recency, model.p_alive)
    return _matrix(values, f, r, f"P(alive) at age {T:g}", "P(alive)", ax)


# --------------------------------------------------------------------- period transactions


def plot_period_transactions(
    model: PurchaseModel,
    summary: RFMSummary,
    *,
    max_frequency: int = 7,
    rng: np.random.Generator | int | None = 0,
    ax: Axes | None = None,
) -> Axes:
    """Customers by number of repeat purchases: actual, and simulated from the model with
    each customer's own age ``T`` (``plot`` extra)."""
    simulated = model.simulate(len(summary), summary.T, rng=rng)
    ax = axes(ax, (6, 4))
    x = np.arange(max_frequency + 1)
    for offset, freq, label, color in (
        (-0.2, summary.frequency, "actual", "tab:blue"),
        (0.2, np.asarray(simulated.frequency), "model (simulated)", "tab:orange"),
    ):
        counts = np.bincount(np.minimum(freq, max_frequency).astype(np.int64),
                             minlength=max_frequency + 1)  # fmt: skip
        ax.bar(x + offset, counts, width=0.4, label=label, color=color)
    labels = [str(i) for i in x]
    labels[-1] += "+"
    ax.set_xticks(x, labels)
    ax.set_xlabel("repeat purchases")
    ax.set_ylabel("customers")
    ax.set_title("Frequency of repeat purchases")
    ax.legend()
    return ax
