"""The customer-base summary of a Dask frame (or a parquet / CSV dataset) of events."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import DataError
from ..scoring.summary import Period, summarize_partition
from ._frames import (
    by_customer,
    id_dtype,
    keyed,
    keyed_meta,
    libraries,
    located,
    partition_log,
    where,
)
from ._read import read_events

if TYPE_CHECKING:
    import pandas as pd


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
    holdout_spend: Literal["per_transaction", "per_period"] = "per_transaction",
) -> Any:
    """The customer-base summary of a Dask frame of transactions, or of a dataset on disk.

    Each customer's row equals the single-machine
    [`relcore.scoring.summarize`][relcore.scoring.summary.summarize] of the same events. Unlike it,
    this does not check that ``calibration_end`` falls inside the data (that would take another pass
    over it).

    The frame is shuffled by customer id (Dask's shuffle: each customer's events end up in one
    partition), then each partition is summarised on its own with
    [`relcore.scoring.summarize_partition`][relcore.scoring.summary.summarize_partition]: nothing is
    gathered on the driver.

    Parameters
    ----------
    frame
        A ``dask.dataframe.DataFrame`` with one row per event, or the path of a parquet or CSV
        dataset, read with [`read_events`][relcore.dask.read_events] (and its checks).
    customer_id, at, value, kind
        Column names, as in
        [`relcore.models.EventLog.from_pandas`][relcore.models.EventLog.from_pandas] (with ``kind``,
        only ``"purchase"`` events count).
    period, observation_end, calibration_end, holdout_spend
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
    libraries()
    if isinstance(frame, str | os.PathLike):
        frame = read_events(
            frame, customer_id=customer_id, at=at, value=value, kind=kind, timezone=timezone
        )
        customer_id, at, timezone = "customer_id", "at", None
        value = None if value is None else "value"
        kind = None if kind is None else "kind"
    names = {"customer_id": customer_id, "at": at, "value": value, "kind": kind}
    names = {k: v for k, v in names.items() if v is not None}
    frame = by_customer(frame, customer_id, partitioned_by_customer)
    columns = ["frequency", "recency", "T", "monetary_value"]
    if calibration_end is not None:
        columns += ["holdout_frequency", "holdout_monetary_value", "holdout_duration"]
    meta = keyed_meta(dict.fromkeys(columns, np.float64), id_dtype(frame[customer_id].dtype))
    return frame.map_partitions(
        _summarize_part,
        names,
        timezone,
        {
            "period": period,
            "observation_end": observation_end,
            "calibration_end": calibration_end,
            "holdout_spend": holdout_spend,
        },
        template=meta,
        meta=meta,
    )


def _summarize_part(
    part: pd.DataFrame,
    names: Mapping[str, str],
    timezone: str | None,
    options: Mapping[str, Any],
    *,
    template: pd.DataFrame,
    partition_info: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    if len(part) == 0:
        return template
    place = where(partition_info)
    log, ids = partition_log(part, names, place, timezone=timezone)
    try:
        summary = summarize_partition(log, **options)
    except DataError as exc:
        events = log.filter(kind="purchase")  # the rows the summary's errors count
        customers = events.customers if ids is None else ids.take(events.customers)
        raise located(exc, customers[events.customer_codes], place) from None
    return keyed(summary.to_pandas(), template, ids)
