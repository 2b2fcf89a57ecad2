"""The customer-base summary: frequency, recency, age and spend per customer."""

from __future__ import annotations

import datetime as _dt
import itertools
import os
from typing import TYPE_CHECKING, Any, Literal, overload

import attrs
import numpy as np
import numpy.typing as npt

from .._result import Table, TableResult, keyed
from .._threads import parallel_map, row_ranges
from .._time import (
    US_PER_DAY,
    UTC,
    format_instant,
    from_micros,
)
from .._validation import readonly
from ..errors import DataError
from ..models import EventLog
from ._periods import end_instant, period_grid, period_starts

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Period", "RFMSummary", "log_interpurchase_times", "summarize", "summarize_partition"]

Period = Literal["D", "W"] | _dt.timedelta
FloatArray = npt.NDArray[np.float64]


def _array(values: Any) -> npt.NDArray[Any]:
    return readonly(np.asarray(values))


def _optional_array(values: Any) -> npt.NDArray[Any] | None:
    return None if values is None else _array(values)


@attrs.frozen(eq=False)
class RFMSummary(TableResult):
    """Per-customer frequency, recency, age (T) and mean spend, in model periods.

    ``frequency`` counts the periods with a purchase after the first one (repeat
    purchases); ``recency`` is the customer's age, in periods, at the last of them (0 when
    there is none); ``T`` is their age at the end of observation; ``monetary_value`` is the
    mean value of the repeat periods (0 when ``frequency`` is 0). With a calibration end,
    these describe the calibration period and the ``holdout_*`` columns describe what
    followed it.

    Every purchase model's ``fit`` accepts an ``RFMSummary``, and it carries its period so
    that lifetime-value calculations convert periods to months correctly.
    """

    customer_id: npt.NDArray[Any] = attrs.field(converter=_array)
    frequency: FloatArray = attrs.field(converter=_array)
    recency: FloatArray = attrs.field(converter=_array)
    T: FloatArray = attrs.field(converter=_array)
    monetary_value: FloatArray = attrs.field(converter=_array)
    period: Period = "D"
    observation_end: _dt.datetime | None = None
    calibration_end: _dt.datetime | None = None
    holdout_frequency: FloatArray | None = attrs.field(default=None, converter=_optional_array)
    holdout_monetary_value: FloatArray | None = attrs.field(default=None, converter=_optional_array)
    holdout_duration: FloatArray | None = attrs.field(default=None, converter=_optional_array)

    @property
    def period_days(self) -> float:
        """Length of one period in days (7.0 for weekly summaries)."""
        return period_grid(self.period)[0] / US_PER_DAY

    @property
    def has_holdout(self) -> bool:
        return self.holdout_frequency is not None

    def __len__(self) -> int:
        return int(self.frequency.shape[0])

    def to_dict(self) -> dict[str, npt.NDArray[Any]]:
        """Columns by name, the holdout ones only when present."""
        out: dict[str, npt.NDArray[Any]] = {
            "customer_id": self.customer_id,
            "frequency": self.frequency,
            "recency": self.recency,
            "T": self.T,
            "monetary_value": self.monetary_value,
        }
        for name in ("holdout_frequency", "holdout_monetary_value", "holdout_duration"):
            col = getattr(self, name)
            if col is not None:
                out[name] = col
        return out

    def _table(self) -> Table:
        columns = self.to_dict()
        return keyed(columns.pop("customer_id"), columns)

    def to_pandas(self, *, lifetimes_columns: bool = False) -> pd.DataFrame:
        """A DataFrame indexed by customer id (``pandas`` extra).

        With ``lifetimes_columns=True`` the columns are named as lifetimes names them
        (``frequency_cal``, ``frequency_holdout``, ``duration_holdout``…) so the frame can
        be handed to code written for lifetimes.
        """
        frame = super().to_pandas()
        if lifetimes_columns:
            renamed = {}
            for name in frame.columns:
                if name.startswith("holdout_"):
                    renamed[name] = f"{name.removeprefix('holdout_')}_holdout"
                elif self.has_holdout:
                    renamed[name] = f"{name}_cal"
            frame = frame.rename(columns=renamed)
        return frame

    def to_parquet(self, path: str | os.PathLike[str]) -> None:
        """Write the summary to a Parquet file (``arrow`` extra).

        The columns of [`to_dict`][relcore.scoring.summary.RFMSummary.to_dict] and a ``period``
        column (``D``, ``W`` or a duration such as ``3d``, the same in every row, as ``relcore
        summarize`` writes it); the file's metadata also records ``relcore.period``,
        ``relcore.observation_end`` and ``relcore.calibration_end``.
        """
        from .._durations import format_duration
        from ..io.parquet import write_columns

        period = self.period if isinstance(self.period, str) else format_duration(self.period)
        columns = dict(self.to_dict())
        columns["period"] = np.full(len(self), period, dtype=object)
        metadata = {"relcore.period": period}
        for name in ("observation_end", "calibration_end"):
            end = getattr(self, name)
            if end is not None:
                metadata[f"relcore.{name}"] = end.isoformat()
        write_columns(columns, path, metadata=metadata)

    @overload
    def __getitem__(self, rows: str) -> npt.NDArray[Any]: ...

    @overload
    def __getitem__(self, rows: Any) -> RFMSummary: ...

    def __getitem__(self, rows: Any) -> npt.NDArray[Any] | RFMSummary:
        """``summary[mask]``, ``summary[indices]``, ``summary[a:b]``: the summary of those
        customers (a new summary, in the order selected); ``summary["frequency"]``: a
        column.

        Examples
        --------
        >>> s = RFMSummary(customer_id=["a", "b", "c"], frequency=[0, 2, 1],
        ...                recency=[0, 10, 4], T=[30, 30, 20], monetary_value=[0, 20, 5])
        >>> s[s.frequency > 0].customer_id.tolist()
        ['b', 'c']
        >>> s["T"].tolist()
        [30, 30, 20]
        """
        if isinstance(rows, str):
            columns = self.to_dict()
            if rows not in columns:
                raise KeyError(
                    f"no column {rows!r}; columns are {list(columns)} (select customers "
                    "by id with summary.select([...]))"
                )
            return columns[rows]
        if isinstance(rows, slice):
            index: Any = rows
        else:
            index = np.asarray(rows)
            if index.dtype == np.bool_:
                if index.shape != (len(self),):
                    raise IndexError(
                        f"a boolean mask of shape {index.shape} for {len(self):,} customers"
                    )
            elif index.ndim != 1 or (index.size and index.dtype.kind not in "iu"):
                raise TypeError(
                    "select customers with a boolean mask, integer positions or a slice "
                    f"(by id: summary.select([...])), got {type(rows).__name__}"
                )
            else:
                index = index.astype(np.intp)
        picked: dict[str, Any] = {k: v[index] for k, v in self.to_dict().items()}
        return attrs.evolve(self, **picked)

    def select(self, customer_id: Any) -> RFMSummary:
        """The summary of the given customers, in the order given.

        Raises [`DataError`][relcore.errors.DataError] for ids not in the summary, or given twice (a
        customer counted twice would weigh double in a fit).

        Examples
        --------
        >>> s = RFMSummary(customer_id=[10, 20, 30], frequency=[0, 2, 1],
        ...                recency=[0, 10, 4], T=[30, 30, 20], monetary_value=[0, 20, 5])
        >>> s.select([30, 10]).frequency.tolist()
        [1, 0]
        """
        return self[_positions(self.customer_id, customer_id)]

    def __repr__(self) -> str:
        n = len(self)
        repeat = int((self.frequency > 0).sum())
        period = self.period if isinstance(self.period, str) else f"{self.period}"
        end = self.calibration_end or self.observation_end
        until = f", to {end:%Y-%m-%d}" if end else ""
        holdout = ", with holdout" if self.has_holdout else ""
        return (
            f"RFMSummary({n:,} customers, {repeat:,} repeat buyers, "
            f"period={period!r}{until}{holdout})"
        )


def _positions(ids: npt.NDArray[Any], wanted: Any) -> npt.NDArray[np.intp]:
    """Where each of ``wanted`` stands in ``ids`` (whose values are distinct)."""
    want = np.asarray(wanted)
    if want.ndim == 0:
        want = want.reshape(1)
    if want.ndim != 1:
        raise TypeError(f"customer ids must be one-dimensional, got shape {want.shape}")
    if want.size == 0:
        return np.zeros(0, dtype=np.intp)
    if ids.size == 0:
        pos = np.full(want.size, -1, dtype=np.intp)
    elif ids.dtype.kind == want.dtype.kind and ids.dtype.kind in "iuU":
        # sortable without Python objects: binary search in the sorted ids
        order = np.argsort(ids, kind="stable")
        ranked = ids[order]
        at = np.minimum(np.searchsorted(ranked, want), ids.size - 1)
        pos = np.where(ranked[at] == want, order[at], -1)
    else:
        index = {v: i for i, v in enumerate(ids.tolist())}
        pos = np.array([index.get(v, -1) for v in want.tolist()], dtype=np.intp)
    if (pos < 0).any():
        raise DataError.from_mask("customer_id", pos < 0, "ids not in the summary")
    order = np.argsort(pos, kind="stable")
    repeated = np.zeros(pos.size, dtype=bool)
    repeated[order[1:]] = pos[order][1:] == pos[order][:-1]
    if repeated.any():
        raise DataError.from_mask("customer_id", repeated, "ids given more than once")
    out: npt.NDArray[np.intp] = pos.astype(np.intp)
    return out


PerCustomer = tuple[npt.NDArray[np.int32], FloatArray, FloatArray, FloatArray, FloatArray]


def _per_customer(
    codes: npt.NDArray[np.int32],
    periods: npt.NDArray[np.int64],
    values: FloatArray,
    end_period: int,
) -> PerCustomer:
    """Frequency, recency, T and monetary value of the customers present in sorted rows
    (the codes of those customers first).

    Row ranges that hold whole customers are summarised on the pool's threads at once.
    """
    # a range ends where a customer starts: each customer is summarised in one piece
    cuts = sorted({0, *(_customer_start(codes, hi) for _, hi in row_ranges(codes.size))})
    if len(cuts) < 2:
        return _per_customer_rows(codes, periods, values, end_period)
    parts = parallel_map(
        lambda span: _per_customer_rows(codes[span], periods[span], values[span], end_period),
        [slice(lo, hi) for lo, hi in itertools.pairwise(cuts)],
    )
    ccode, freq, rec, T, mon = (np.concatenate(column) for column in zip(*parts, strict=True))
    return ccode, freq, rec, T, mon


def _customer_start(codes: npt.NDArray[np.int32], row: int) -> int:
    """The first row of the customer whose rows include ``row`` (rows sorted by customer)."""
    return int(np.searchsorted(codes, codes[row])) if row < codes.size else codes.size


def _per_customer_rows(
    codes: npt.NDArray[np.int32],
    periods: npt.NDArray[np.int64],
    values: FloatArray,
    end_period: int,
) -> PerCustomer:
    n = codes.size
    if n == 0:
        empty = np.zeros(0)
        return np.zeros(0, dtype=np.int32), empty, empty, empty, empty
    g = np.flatnonzero(period_starts(codes, periods))
    g_code, g_period = codes[g], periods[g]
    g_value = np.add.reduceat(values, g)

    new_cust = np.empty(g.size, dtype=bool)
    new_cust[0] = True
    np.not_equal(g_code[1:], g_code[:-1], out=new_cust[1:])
    c = np.flatnonzero(new_cust)
    c_last = np.append(c[1:], g.size) - 1

    frequency = (np.diff(np.append(c, g.size)) - 1).astype(np.float64)
    first = g_period[c]
    recency = (g_period[c_last] - first).astype(np.float64)
    T = (end_period - first).astype(np.float64)
    repeat_value = np.add.reduceat(g_value, c) - g_value[c]
    monetary = np.divide(
        repeat_value, frequency, out=np.zeros_like(repeat_value), where=frequency > 0
    )
    return g_code[c], frequency, recency, T, monetary


def summarize(
    log: EventLog,
    *,
    period: Period = "D",
    observation_end: _dt.datetime | _dt.date | str,
    calibration_end: _dt.datetime | _dt.date | str | None = None,
    kind: str | None = "purchase",
    holdout_spend: Literal["per_transaction", "per_period"] = "per_transaction",
) -> RFMSummary:
    """Summarise each customer's purchases as frequency, recency, T and monetary value.

    Purchases are bucketed into periods: ``"D"`` (UTC days), ``"W"`` (weeks Monday to
    Sunday, as pandas' ``"W"`` periods that lifetimes uses) or any ``timedelta`` (periods of
    that length counted from the Unix epoch). Several purchases in one period count as one
    purchase whose value is their sum. The result reproduces lifetimes'
    ``summary_data_from_transaction_data`` and, with ``calibration_end``,
    ``calibration_and_holdout_data``.

    Parameters
    ----------
    log
        The event log.
    period
        Model period.
    observation_end
        End of observation (inclusive). A date, or a ``"YYYY-MM-DD"`` string, includes that
        whole UTC day. No event of ``kind`` may lie after it: filter the log first
        (``log.filter(end=...)``) to summarise an earlier window.
    calibration_end
        Optional end of the calibration period (inclusive, same forms). The summary then
        describes the calibration period, only customers whose first purchase falls in it
        are included, and ``holdout_frequency`` (periods with a purchase after
        ``calibration_end``), ``holdout_monetary_value`` (mean value of the holdout
        purchases, per transaction as in lifetimes) and ``holdout_duration`` (periods from
        calibration end to observation end) are filled in. A ``calibration_end`` at or
        after the last purchase is a holdout whose purchases have not happened yet: every
        ``holdout_frequency`` is 0.
    kind
        Which events are purchases (``None``: every event).
    holdout_spend
        How ``holdout_monetary_value`` averages: ``"per_transaction"`` (the default,
        lifetimes' ``calibration_and_holdout_data``) divides the holdout value by the
        holdout purchases; ``"per_period"`` by the holdout periods with a purchase, as
        ``monetary_value`` does in calibration (several purchases in one period are one
        purchase whose value is their sum), so that it compares with the Gamma-Gamma's
        expected spend per counted purchase.

    Returns
    -------
    RFMSummary
        One row per customer with at least one purchase, ordered as ``log.customers``.

    Examples
    --------
    >>> import datetime as dt
    >>> from relcore.models import EventLog
    >>> utc = dt.timezone.utc
    >>> log = EventLog.from_arrays(
    ...     ["a", "a", "a", "b"],
    ...     [dt.datetime(2026, 1, d, 12, tzinfo=utc) for d in (1, 1, 4, 2)],
    ...     value=[10.0, 5.0, 20.0, 8.0],
    ... )
    >>> s = summarize(log, period="D", observation_end="2026-01-10")
    >>> s.frequency.tolist(), s.recency.tolist(), s.T.tolist(), s.monetary_value.tolist()
    ([1.0, 0.0], [3.0, 0.0], [9.0, 8.0], [20.0, 0.0])
    """
    _check_holdout_spend(holdout_spend)
    return _summarize(
        log,
        period,
        observation_end,
        calibration_end,
        kind,
        check_range=True,
        per_period=holdout_spend == "per_period",
    )


def summarize_partition(
    log: EventLog,
    *,
    period: Period = "D",
    observation_end: _dt.datetime | _dt.date | str,
    calibration_end: _dt.datetime | _dt.date | str | None = None,
    kind: str | None = "purchase",
    holdout_spend: Literal["per_transaction", "per_period"] = "per_transaction",
) -> RFMSummary:
    """[`summarize`][relcore.scoring.summary.summarize] for a log holding only some of the
    customers: one partition of a customer base split by customer, as [`relcore.dask`][relcore.dask]
    summarises it.

    Each customer's row is the one ``summarize`` gives over the whole base. The checks
    that concern the whole base are left out: a part without purchases, or whose
    purchases all follow ``calibration_end``, has an empty summary rather than an error.

    Examples
    --------
    >>> import datetime as dt
    >>> from relcore.models import EventLog
    >>> at = [dt.datetime(2026, 1, d, tzinfo=dt.timezone.utc) for d in (5, 6)]
    >>> log = EventLog.from_arrays(["a", "a"], at)
    >>> len(summarize_partition(log, observation_end="2026-01-10", calibration_end="2026-01-01"))
    0
    """
    _check_holdout_spend(holdout_spend)
    return _summarize(
        log,
        period,
        observation_end,
        calibration_end,
        kind,
        check_range=False,
        per_period=holdout_spend == "per_period",
    )


def _check_holdout_spend(holdout_spend: str) -> None:
    if holdout_spend not in ("per_transaction", "per_period"):
        raise ValueError(
            f"holdout_spend must be 'per_transaction' or 'per_period', got {holdout_spend!r}"
        )


def _summarize(
    log: EventLog,
    period: Period,
    observation_end: _dt.datetime | _dt.date | str,
    calibration_end: _dt.datetime | _dt.date | str | None,
    kind: str | None,
    *,
    check_range: bool,
    per_period: bool = False,
) -> RFMSummary:
    """[`summarize`][relcore.scoring.summary.summarize]; without ``check_range`` a log holding only
    part of the customers (a Dask partition) may lack purchases, or holdout purchases, without that
    being an
    error."""
    length, anchor = period_grid(period)
    events = log if kind is None else log.filter(kind=kind)
    if check_range and len(events) == 0:
        raise DataError("kind", f"no events of kind {kind!r} in the log")
    obs_us = end_instant(observation_end, "observation_end")
    late = events.at > obs_us
    if late.any():
        raise DataError.from_mask(
            "at",
            late,
            f"events after observation_end ({format_instant(obs_us, UTC)}); summarise an "
            "earlier window with log.filter(end=...) first",
        )
    periods = events.at - anchor
    periods //= length
    obs_period = (obs_us - anchor) // length
    codes, values = events.customer_codes, events.value

    if calibration_end is None:
        ccode, freq, rec, T, mon = _per_customer(codes, periods, values, obs_period)
        return RFMSummary(
            customer_id=log.customers[ccode],
            frequency=freq,
            recency=rec,
            T=T,
            monetary_value=mon,
            period=period,
            observation_end=from_micros(obs_us),
        )

    cal_us = end_instant(calibration_end, "calibration_end")
    if cal_us >= obs_us:
        raise ValueError(
            f"calibration_end ({format_instant(cal_us)}) must be before observation_end "
            f"({format_instant(obs_us)})"
        )
    if check_range:
        first_us = int(events.at.min())
        if cal_us < first_us:
            raise ValueError(
                f"calibration_end ({format_instant(cal_us)}) is before the first purchase "
                f"({format_instant(first_us)})"
            )
        # a holdout without purchases is valid: its future has not happened yet
    cal_period = (cal_us - anchor) // length
    in_cal = events.at <= cal_us
    ccode, freq, rec, T, mon = _per_customer(
        codes[in_cal], periods[in_cal], values[in_cal], cal_period
    )

    hold = ~in_cal
    h_codes, h_periods, h_values = codes[hold], periods[hold], values[hold]
    n_cust = log.n_customers
    starts = period_starts(h_codes, h_periods)
    h_freq = np.bincount(h_codes[starts], minlength=n_cust).astype(np.float64)
    h_count = np.bincount(h_codes, minlength=n_cust)
    h_sum = np.bincount(h_codes, weights=h_values, minlength=n_cust)
    h_n = h_freq if per_period else h_count
    h_mon = np.divide(h_sum, h_n, out=np.zeros(n_cust), where=h_n > 0)
    return RFMSummary(
        customer_id=log.customers[ccode],
        frequency=freq,
        recency=rec,
        T=T,
        monetary_value=mon,
        period=period,
        observation_end=from_micros(obs_us),
        calibration_end=from_micros(cal_us),
        holdout_frequency=h_freq[ccode],
        holdout_monetary_value=h_mon[ccode],
        holdout_duration=np.full(ccode.size, float(obs_period - cal_period)),
    )


def log_interpurchase_times(
    log: EventLog,
    *,
    period: Period = "D",
    observation_end: _dt.datetime | _dt.date | str,
    calibration_end: _dt.datetime | _dt.date | str | None = None,
    kind: str | None = "purchase",
) -> FloatArray:
    """Per customer, the sum of the logarithms of the times between purchases: the
    ``litt`` that [`BGCNBDK`][relcore.scoring.purchase.BGCNBDK] reads to tell regular buyers from
    Poisson ones.

    Takes the arguments of [`summarize`][relcore.scoring.summary.summarize] and returns one value
    per row of its result, in the same order: over the same periods (several purchases in one period
    count as one), the ``frequency`` gaps between consecutive purchase periods, in periods, whose
    sum is ``recency``; 0 for a customer without repeat purchases. Summarise in days to keep the
    regularity of the gaps: weekly periods blur it.

    Examples
    --------
    >>> import datetime as dt
    >>> from relcore.models import EventLog
    >>> utc = dt.timezone.utc
    >>> log = EventLog.from_arrays(
    ...     ["a", "a", "a", "b"],
    ...     [dt.datetime(2026, 1, d, 12, tzinfo=utc) for d in (1, 3, 7, 2)],
    ... )
    >>> litt = log_interpurchase_times(log, observation_end="2026-01-10")
    >>> bool(abs(litt[0] - (np.log(2) + np.log(4))) < 1e-12), float(litt[1])
    (True, 0.0)
    """
    # the same checks (and errors) as summarize's
    _summarize(log, period, observation_end, calibration_end, kind, check_range=True)
    length, anchor = period_grid(period)
    events = log if kind is None else log.filter(kind=kind)
    codes, periods = events.customer_codes, (events.at - anchor) // length
    if calibration_end is not None:
        keep = events.at <= end_instant(calibration_end, "calibration_end")
        codes, periods = codes[keep], periods[keep]
    g = np.flatnonzero(period_starts(codes, periods))
    g_code, g_period = codes[g], periods[g]
    same = g_code[1:] == g_code[:-1]
    gaps = (g_period[1:] - g_period[:-1])[same].astype(np.float64)
    total = np.bincount(g_code[1:][same], weights=np.log(gaps), minlength=log.n_customers)
    # the summary's rows: the customers with a purchase, by code
    out: FloatArray = np.asarray(total[np.unique(g_code)], dtype=np.float64)
    return out
