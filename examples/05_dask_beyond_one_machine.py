"""Beyond one machine: the customer base on a Dask cluster, from parquet files to lifetime
values written back to parquet.

    python examples/05_dask_beyond_one_machine.py [OUTPUT_DIR] [SCHEDULER_ADDRESS]

Writes CDNOW's transactions as a small parquet dataset in OUTPUT_DIR (default: the
RELCORE_EXAMPLE_OUTPUT environment variable, else a temporary directory), one file per
quarter so that customers' purchases lie in several files, then summarises, fits and
scores them with relcore.dask on a LocalCluster of two worker processes, and checks every
number against the single-machine path. Given SCHEDULER_ADDRESS (or the
DASK_SCHEDULER_ADDRESS environment variable), it runs on that cluster instead: nothing
else changes (the workers must be able to read OUTPUT_DIR, and have relcore installed).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from distributed import Client, LocalCluster

import relcore.dask as rdask
from relcore import summarize
from relcore.datasets import load_cdnow
from relcore.scoring import BGNBD, GammaGamma, customer_lifetime_value

END = "1998-06-30"


def write_dataset(folder: Path) -> None:
    """CDNOW's purchases as parquet files, one per calendar quarter."""
    events = load_cdnow().to_pandas()[["customer_id", "at", "value"]]
    quarter = events["at"].dt.year.astype(str) + "q" + events["at"].dt.quarter.astype(str)
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in events.groupby(quarter):
        part.to_parquet(folder / f"{name}.parquet", index=False)
    print(f"{len(events):,} purchases written to {len(list(folder.iterdir()))} files in {folder}")


def run(folder: Path, out: Path) -> None:
    events = rdask.read_events(folder, value="value")
    print(f"read lazily: {events.npartitions} partitions, columns {list(events.columns)}")

    # Shuffled by customer, summarised partition by partition; persisted because the two
    # fits and the lifetime values all read it.
    summary = rdask.summarize(events, value="value", period="W", observation_end=END).persist()

    # Reduced to distinct rows with counts on the workers, fitted on the driver.
    bg = rdask.fit(BGNBD, summary)
    # the spend model: customers with repeat purchases of positive value
    gg = rdask.fit(
        GammaGamma, summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    )
    print(bg)
    print(gg)

    # Scored partition by partition, written by the workers.
    rdask.predict(bg, summary, t=52).to_parquet(out / "predictions")
    rdask.customer_lifetime_value(bg, gg, summary, period_days=7).to_parquet(out / "clv")
    written = pd.read_parquet(out / "predictions").join(pd.read_parquet(out / "clv"))
    top = written.sort_values("clv", ascending=False).head(5)
    print("\nmost valuable customers (next 12 months):")
    for customer, row in top.iterrows():
        print(
            f"  {customer}  clv ${row['clv']:8,.2f}  p_alive {row['p_alive']:.2f}  "
            f"purchases in a year {row['expected_purchases']:.2f}"
        )

    # The single-machine path on the same purchases gives the same numbers.
    one = summarize(load_cdnow(), period="W", observation_end=END)
    bg1 = BGNBD.fit(one)
    spenders = (one.frequency > 0) & (one.monetary_value > 0)
    gg1 = GammaGamma.fit(
        frequency=one.frequency[spenders], monetary_value=one.monetary_value[spenders]
    )
    clv1 = customer_lifetime_value(bg1, gg1, one).clv
    same_fit = all(
        math.isclose(m.params[k], v, rel_tol=1e-9)
        for m, m1 in ((bg, bg1), (gg, gg1))
        for k, v in m1.params.items()
    )
    mine = written.loc[one.customer_id, "clv"].to_numpy()
    same_clv = bool(np.allclose(mine, clv1, rtol=1e-12))
    print(f"\nsame fits as on one machine: {same_fit}; same lifetime values: {same_clv}")
    if not (same_fit and same_clv):
        raise SystemExit("relcore.dask and the single-machine path disagree")


def main() -> None:
    out = Path(
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("RELCORE_EXAMPLE_OUTPUT") or tempfile.mkdtemp(prefix="relcore-")
    )
    address = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("DASK_SCHEDULER_ADDRESS")
    folder = out / "purchases"
    write_dataset(folder)
    if address:  # a cluster of many machines: only the address changes
        with Client(address) as client:
            print(f"on {client}")
            run(folder, out)
        return
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster,
        Client(cluster) as client,
    ):
        print(f"on {client}")
        run(folder, out)


if __name__ == "__main__":
    main()
