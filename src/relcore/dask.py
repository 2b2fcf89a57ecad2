"""relcore beyond one machine, on Dask (the ``dask`` extra).

Every per-customer computation in relcore only needs one customer's events, so a Dask
DataFrame whose partitions each hold whole customers can be processed partition by
partition with the single-machine code, and nothing else. [`summarize`][relcore.dask.summarize]
shuffles the frame by customer (with Dask's own shuffle) unless told the partitions already hold
whole customers, then summarises each partition with
[`relcore.scoring.summarize`][relcore.scoring.summary.summarize].
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from ._optional import require
from .errors import DataError
from .models import EventLog
from .scoring.summary import Period, _summarize

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["summarize"]


def summarize(
    frame: Any,
    *,
    customer_id: str = "customer_id",
    at: str = "at",
    value: str | None = None,
    kind: str | None = None,
    period: Period = "D",
    observation_end: _dt.datetime | _dt.date | str,
    calibration_end: _dt.datetime | _dt.date | str | None = None,
    timezone: str | None = None,
    partitioned_by_customer: bool = False,
) -> Any:
    """The customer-base summary of a Dask DataFrame of transactions.

    Unlike the single-machine [`summarize`][relcore.scoring.summary.summarize], this does not check
    that ``calibration_end`` falls inside the data (that would take another pass over it).

    Parameters
    ----------
    frame
        A ``dask.dataframe.DataFrame`` with one row per event.
    customer_id, at, value, kind
        Column names, as in
        [`relcore.models.EventLog.from_pandas`][relcore.models.EventLog.from_pandas].
    period, observation_end, calibration_end
        As in [`relcore.scoring.summarize`][relcore.scoring.summary.summarize].
    timezone
        Zone of a naive ``at`` column.
    partitioned_by_customer
        Set when every customer's rows are already in a single partition, to skip the
        shuffle. Setting it wrongly splits customers and gives wrong summaries.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazily computed, indexed by customer id, with the columns of
        [`relcore.scoring.RFMSummary.to_pandas`][relcore.scoring.summary.RFMSummary.to_pandas].

    Examples
    --------
    >>> import pandas as pd, dask.dataframe as dd
    >>> days = pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-05"], utc=True)
    >>> df = pd.DataFrame({"customer_id": ["a", "b", "a"], "at": days, "value": [1.0, 2.0, 3.0]})
    >>> out = summarize(dd.from_pandas(df, npartitions=2), value="value",
    ...                 observation_end="2026-01-10").compute()
    >>> float(out.loc["a", "frequency"]), float(out.loc["a", "recency"]), float(out.loc["b", "T"])
    (1.0, 4.0, 8.0)
    """
    require("dask.dataframe", "dask")
    pandas = require("pandas", "pandas")
    if customer_id not in frame.columns:
        raise DataError(customer_id, f"is not a column of the frame ({list(frame.columns)})")
    if not partitioned_by_customer:
        frame = frame.shuffle(on=customer_id)

    def one_partition(part: pd.DataFrame) -> pd.DataFrame:
        if len(part) == 0:
            return meta
        log = EventLog.from_pandas(
            part, customer_id=customer_id, at=at, value=value, kind=kind, timezone=timezone
        )
        summary = _summarize(
            log, period, observation_end, calibration_end, "purchase", check_range=False
        )
        result: pd.DataFrame = summary.to_pandas()
        return result

    columns = ["frequency", "recency", "T", "monetary_value"]
    if calibration_end is not None:
        columns += ["holdout_frequency", "holdout_monetary_value", "holdout_duration"]
    id_dtype = frame[customer_id].dtype
    meta: pd.DataFrame = pandas.DataFrame(
        {c: pandas.Series([], dtype="float64") for c in columns},
        index=pandas.Index(
            [], dtype=id_dtype if id_dtype.kind in "iu" else object, name="customer_id"
        ),
    )
    return frame.map_partitions(one_partition, meta=meta)
