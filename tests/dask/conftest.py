"""One ``distributed.LocalCluster`` of worker processes for the whole session, and small
event data whose customers are split across partitions and files.

Every test of relcore.dask computes on that cluster (the client is made current for
the test), so relcore's functions, models and errors travel between processes as they
do on a real cluster.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
END = datetime(2026, 1, 4, 23, 59, tzinfo=UTC)


@pytest.fixture(scope="session")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as local,
        distributed.Client(local, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture
def client(cluster):
    """The session's client, current for this test: Dask computes on its cluster."""
    with cluster.as_current():
        yield cluster


def make_events(n_customers: int = 300, seed: int = 7) -> pd.DataFrame:
    """Purchases, messages, responses, visits and complaints of ``n_customers``, in time
    order (so splitting the rows splits customers).

    Customers differ in how often they buy and how many messages they get, so the
    response curves and the purchase models have something to estimate.
    """
    rng = np.random.default_rng(seed)
    span = (END - START).total_seconds()
    rows = []
    for c in range(n_customers):
        cid = f"c{c:04d}"
        first = rng.uniform(0, 0.8 * span)
        gone = min(span, first + rng.exponential(0.3 * span))  # when the customer leaves
        n_buy = int(rng.geometric(0.25))
        n_msg = int(rng.integers(0, 30))
        buys = np.sort(first + rng.uniform(0, gone - first, n_buy))
        buys[0] = first
        for t in buys:
            rows.append((cid, t, "purchase", float(rng.gamma(4.0, 10.0)), "web", None))
        for t in rng.uniform(first, span, n_msg):
            channel = str(rng.choice(["email", "email", "sms", "push"]))
            rows.append((cid, t, "message", 0.0, channel, "company"))
            # fewer answers the more a customer is messaged
            if channel != "push" and rng.uniform() < 0.6 * np.exp(-n_msg / 15):
                rows.append((cid, t + 3600.0, "response", 0.0, channel, "customer"))
        for t in rng.uniform(first, span, int(rng.poisson(1.0))):
            rows.append((cid, t, "visit", 0.0, "store", "customer"))
        if rng.uniform() < 0.05:
            rows.append((cid, rng.uniform(first, span), "complaint", 0.0, None, "customer"))
        if c % 100 == 0:  # a channel few customers know: most partitions lack it
            rows.append((cid, rng.uniform(first, span), "message", 0.0, "catalog", "company"))
    frame = pd.DataFrame(
        rows, columns=["customer_id", "at", "kind", "value", "channel", "initiator"]
    )
    frame["at"] = pd.to_datetime(
        START.timestamp() + frame["at"].round(0), unit="s", utc=True
    ).dt.as_unit("us")
    return frame.sort_values("at", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="session")
def events() -> pd.DataFrame:
    return make_events()


@pytest.fixture(scope="session")
def end() -> datetime:
    """The end of observation of ``events``."""
    return END


def _split(frame: pd.DataFrame, n: int):
    return dd.from_pandas(frame, npartitions=n, sort=False)


@pytest.fixture(scope="session")
def split():
    """``split(frame, n)``: a Dask frame of ``frame``'s rows in order, in ``n`` partitions."""
    return _split


def _partitions_per_customer(ddf) -> pd.Series:
    parts = [p.compute(scheduler="synchronous") for p in ddf.partitions]
    seen = pd.concat(
        [pd.Series(1, index=pd.Index(p["customer_id"].unique(), name="id")) for p in parts]
    )
    return seen.groupby(level=0).sum()


@pytest.fixture(scope="session")
def partitions_per_customer():
    """``partitions_per_customer(ddf)``: in how many partitions each customer's rows lie."""
    return _partitions_per_customer


@pytest.fixture(scope="session")
def parquet_dataset(tmp_path_factory, events):
    """``events`` as three parquet files in time order (customers span files), with
    the time stored as naive UTC wall clock and ids under the name ``client``."""
    folder = tmp_path_factory.mktemp("orders")
    table = events.rename(columns={"customer_id": "client", "at": "ordered_at"})
    table["ordered_at"] = table["ordered_at"].dt.tz_localize(None)
    for i, part in enumerate(np.array_split(np.arange(len(table)), 3)):
        table.iloc[part].to_parquet(folder / f"orders-{i}.parquet", row_group_size=400)
    return folder
