"""Public data sets from the customer-base-analysis literature, shipped with relcore.

* [`load_cdnow`][relcore.datasets.load_cdnow] — every purchase of the 23,570 customers who first
  bought at CDNOW in the first quarter of 1997, to the end of June 1998 (69,659 rows).
* [`load_cdnow_summary`][relcore.datasets.load_cdnow_summary] — the 1/10th CDNOW sample (2,357
  customers) summarised over the 39-week calibration period, in weeks, as used in Fader, Hardie &
  Lee (2005).
* [`load_donations`][relcore.datasets.load_donations] — annual donation records of 11,104 donors
  over six opportunities, compressed (Fader, Hardie & Shang 2010).

The files are compressed numpy archives of exact integers (days, cents) built from the
published text files by ``tools/build_datasets.py``.
"""

from __future__ import annotations

import datetime as _dt
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from ..models import EventLog
from ..scoring.summary import RFMSummary

__all__ = ["load_cdnow", "load_cdnow_summary", "load_donations"]


@cache
def _archive(name: str) -> dict[str, npt.NDArray[Any]]:
    with resources.files(__package__).joinpath("data", name).open("rb") as fh, np.load(fh) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for arr in arrays.values():
        arr.flags.writeable = False
    return arrays


def load_cdnow() -> EventLog:
    """The CDNOW master file as an [`EventLog`][relcore.models.EventLog] of purchases.

    Each row is one purchase record: ``kind="purchase"``, ``at`` = the purchase day at
    00:00 UTC, ``value`` = dollars, customer ids as written in the file (``"00001"``).
    The number of CDs per record is not part of the log.

    Examples
    --------
    >>> log = load_cdnow()
    >>> len(log), log.n_customers, str(log.customers[0])
    (69659, 23570, '00001')
    """
    data = _archive("cdnow_master.npz")
    ids = np.char.zfill(data["customer"].astype(str), 5)
    days = data["day"].astype("datetime64[D]")
    return EventLog.from_arrays(ids, days, value=data["cents"] / 100.0, timezone="UTC")


def load_cdnow_summary() -> RFMSummary:
    """The 2,357-customer CDNOW sample summarised in weeks over the calibration period.

    ``frequency`` (repeat purchases), ``recency`` and ``T`` are in weeks since the first
    purchase, as published; ``monetary_value`` is the mean value of the repeat purchases
    (the ``zbar`` of Fader, Hardie & Lee). Customer ids are the sample's integer ids.

    Examples
    --------
    >>> s = load_cdnow_summary()
    >>> len(s), int((s.frequency > 0).sum()), s.period_days
    (2357, 946, 7.0)
    """
    data = _archive("cdnow_summary.npz")
    return RFMSummary(
        customer_id=data["id"],
        frequency=data["frequency"],
        recency=data["recency"],
        T=data["T"],
        monetary_value=data["monetary_value"],
        period="W",
        observation_end=_dt.datetime(1997, 9, 30, tzinfo=_dt.UTC),
    )


def load_donations() -> dict[str, npt.NDArray[np.float64]]:
    """Donation data over six annual opportunities, compressed by identical histories.

    Returns columns ``frequency`` (years with a donation after the first), ``recency``
    (the last such year), ``n_periods`` (6, the opportunities observed) and ``weights``
    (how many donors share that history), ready for ``BGBB.fit(**load_donations())``.

    Examples
    --------
    >>> d = load_donations()
    >>> int(d["weights"].sum()), sorted(d)
    (11104, ['frequency', 'n_periods', 'recency', 'weights'])
    """
    data = _archive("donations.npz")
    return {
        "frequency": data["frequency"].copy(),
        "recency": data["recency"].copy(),
        "n_periods": data["periods"].copy(),
        "weights": data["weights"].copy(),
    }
