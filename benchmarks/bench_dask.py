"""Beyond one machine: summarize, fit BG/NBD and Gamma-Gamma, and write every customer's
lifetime value, for 100M transactions on a LocalCluster of 2 workers (4 GB each).

Run: ``python benchmarks/bench_dask.py`` (10M customers, about 100M transactions) or
``--customers 100000`` for a quick look (``--single-customers`` sets the size of the
single-machine run: by default a tenth). The script

1. generates the data unless ``--data`` already holds it: customers drawn from a BG/NBD
   purchase process (on average 10 transactions each over two years of daily periods)
   spending Gamma-Gamma amounts, with string ids (``"c"`` and 8 digits), written as a
   parquet dataset of one file per two-month period and block of customers, as
   transaction logs are kept: each customer's purchases lie in several files;
2. runs the single-machine pipeline on a tenth of the customers (about 10M
   transactions) in this process, for scale: pandas reads the files, ``EventLog.from_pandas`` checks
   them, then summarize, both fits and the lifetime value, written to parquet;
3. runs the same pipeline with relcore.dask on the whole dataset and a LocalCluster of 2
   worker processes with a 4 GB memory limit each: read_events, summarize (persisted),
   fit BG/NBD, fit Gamma-Gamma on the repeat buyers, customer_lifetime_value written to
   parquet.

It prints the time of each stage, the peak resident memory of each worker process and
of the driver (sampled every 0.2 s), what the workers spilled to disk, whether a worker
was restarted (killed for its memory), and the load average before and after (the
machine may be shared). Check free space first: the 100M dataset takes
about 1.5 GB, and Dask's shuffle writes about as much again while it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

START = np.datetime64("2024-01-01T00:00:00", "us")
DAYS = 730
END = "2025-12-30"  # the last day of the two years (inclusive)
BLOCK = 500_000  # customers generated (and written) at a time
# The law of the synthetic base: BG/NBD purchases per day, Gamma-Gamma spend.
BGNBD_TRUTH = {"r": 0.9, "alpha": 24.0, "a": 1.0, "b": 9.0}
SPEND_TRUTH = {"p": 6.0, "q": 4.0, "v": 15.0}


# ------------------------------------------------------------------------------- data


def generate(folder: Path, n_customers: int, seed: int) -> int:
    """Write the dataset; returns the number of transactions."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    total = 0
    for block, first in enumerate(range(0, n_customers, BLOCK)):
        n = min(BLOCK, n_customers - first)
        rng = np.random.default_rng([seed, block])
        cust, day = _purchases(rng, n)
        # Gamma-Gamma spend: each customer's transactions scatter around their own mean
        nu = rng.gamma(SPEND_TRUTH["q"], 1.0 / SPEND_TRUTH["v"], n)
        value = np.round(rng.gamma(SPEND_TRUTH["p"], 1.0 / nu[cust]), 2)
        seconds = rng.integers(0, 86_400, cust.size)
        at = START + (day * 86_400 + seconds).astype("timedelta64[s]")
        ids = pa.array(np.char.add("c", np.char.zfill((first + np.arange(n)).astype(str), 8)))
        period = day // 61  # two-month files
        for p in np.unique(period):
            rows = np.flatnonzero(period == p)
            table = pa.table(
                {
                    "customer_id": ids.take(pa.array(cust[rows])),
                    "at": pa.array(at[rows]).cast(pa.timestamp("us", tz="UTC")),
                    "value": pa.array(value[rows]),
                }
            )
            out = folder / f"period={int(p):02d}"
            out.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, out / f"block-{block:03d}.parquet")
        total += cust.size
        print(f"    customers {first + n:>11,}  transactions {total:>12,}", flush=True)
    return total


def _purchases(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Customer index and day of each purchase: a first purchase in the first year, then
    Poisson purchases at a gamma-distributed rate until a beta-geometric dropout."""
    r, alpha, a, b = BGNBD_TRUTH.values()
    first = rng.integers(0, 365, n)
    T = DAYS - 1 - first
    lam = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    chances = rng.geometric(drop)  # the repeat purchase after which the customer leaves
    n_poisson = rng.poisson(lam * T)
    x = np.minimum(n_poisson, chances)
    # the first x of n_poisson uniform times in (first, first + T]: sorting owner + u
    # sorts the times within each customer
    owner = np.repeat(np.arange(n), n_poisson)
    u = np.sort(owner + rng.uniform(0.0, 1.0, owner.size)) - owner
    rank = np.arange(owner.size) - np.repeat(np.cumsum(n_poisson) - n_poisson, n_poisson)
    keep = rank < x[owner]
    who = owner[keep]
    days = first[who] + np.maximum(np.ceil(u[keep] * T[who]), 1).astype(np.int64)
    return np.concatenate([np.arange(n), who]), np.concatenate([first, days])


# --------------------------------------------------------------------------- pipelines


def single_machine(folder: Path, out: Path) -> dict[str, float]:
    import pandas as pd

    from relcore import EventLog, summarize
    from relcore.scoring import BGNBD, GammaGamma, customer_lifetime_value

    times: dict[str, float] = {}
    t = time.perf_counter()
    frame = pd.read_parquet(folder, columns=["customer_id", "at", "value"])
    log = EventLog.from_pandas(frame, value="value")
    del frame
    times["read and check"] = time.perf_counter() - t
    t = time.perf_counter()
    summary = summarize(log, period="D", observation_end=END)
    times["summarize"] = time.perf_counter() - t
    t = time.perf_counter()
    bg = BGNBD.fit(summary)
    times["fit BG/NBD"] = time.perf_counter() - t
    t = time.perf_counter()
    repeat = (summary.frequency > 0) & (summary.monetary_value > 0)
    gg = GammaGamma.fit(
        frequency=summary.frequency[repeat], monetary_value=summary.monetary_value[repeat]
    )
    times["fit Gamma-Gamma"] = time.perf_counter() - t
    t = time.perf_counter()
    customer_lifetime_value(bg, gg, summary).to_pandas().to_parquet(out / "clv-single.parquet")
    times["lifetime value, written"] = time.perf_counter() - t
    print(f"    {len(log):,} transactions, {len(summary):,} customers; {bg!r}; {gg!r}")
    return times


def distributed_run(folder: Path, out: Path, client: Any) -> dict[str, float]:
    from distributed import wait

    import relcore.dask as rdask
    from relcore.scoring import BGNBD, GammaGamma

    times: dict[str, float] = {}
    t = time.perf_counter()
    events = rdask.read_events(folder, value="value")
    summary = rdask.summarize(events, value="value", period="D", observation_end=END).persist()
    wait(summary)
    times["read, check, shuffle, summarize"] = time.perf_counter() - t
    t = time.perf_counter()
    bg = rdask.fit(BGNBD, summary)
    times["fit BG/NBD"] = time.perf_counter() - t
    t = time.perf_counter()
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    gg = rdask.fit(GammaGamma, repeat)
    times["fit Gamma-Gamma"] = time.perf_counter() - t
    t = time.perf_counter()
    clv = rdask.customer_lifetime_value(bg, gg, summary, period_days=1)
    clv.to_parquet(out / "clv-dask")
    times["lifetime value, written"] = time.perf_counter() - t
    print(
        f"    {bg.fit_info.n_customers:,.0f} customers ({bg.fit_info.n_rows:,} distinct "
        f"rows); {bg!r}; {gg!r} ({gg.fit_info.n_rows:,} distinct rows)"
    )
    return times


class PeakMemory:
    """Samples the resident memory of some processes in a thread; keeps the maxima."""

    def __init__(self, pids: dict[str, int], every: float = 0.2) -> None:
        import psutil

        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peak = dict.fromkeys(pids, 0)
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, proc in self.processes.items():
                # a worker that restarted is gone: the failure shows elsewhere
                with contextlib.suppress(Exception):
                    self.peak[name] = max(self.peak[name], proc.memory_info().rss)
            self._stop.wait(self.every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _spilled(dask_worker: Any) -> int:
    spilled = getattr(dask_worker.data, "spilled_total", None)
    return int(getattr(spilled, "disk", 0)) if spilled is not None else 0


def show(title: str, times: dict[str, float]) -> float:
    print(title)
    for label, seconds in times.items():
        print(f"    {label:<40}{seconds:9.1f} s")
    total = sum(times.values())
    print(f"    {'total':<40}{total:9.1f} s")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, help="where the datasets are (kept)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument(
        "--single-customers",
        type=int,
        help="customers of the single-machine run (default: a tenth of --customers)",
    )
    parser.add_argument("--skip-single", action="store_true")
    args = parser.parse_args()
    n_single = args.single_customers or args.customers // 10

    from distributed import Client, LocalCluster

    work = Path(tempfile.mkdtemp(prefix="relcore-bench-dask-"))
    data = args.data or work / "data"
    print(f"load average before: {os.getloadavg()}; data in {data}")
    big, small = data / f"events-{args.customers}", data / f"events-{n_single}"
    for folder, n in ((big, args.customers), (small, n_single)):
        if not folder.exists():
            print(f"generating {n:,} customers into {folder}", flush=True)
            t = time.perf_counter()
            generate(folder, n, seed=2026)
            size = sum(f.stat().st_size for f in folder.rglob("*.parquet"))
            print(f"    {time.perf_counter() - t:.0f} s, {size / 1e9:.2f} GB on disk")

    single_total = None
    if not args.skip_single:
        single_total = show(f"single machine, {n_single:,} customers:", single_machine(small, work))

    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=args.memory_limit,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        pids = client.run(os.getpid)
        with PeakMemory({**pids, "driver": os.getpid()}) as memory:
            times = distributed_run(big, work, client)
        spilled = client.run(_spilled)
        # a worker killed for its memory comes back under another process id
        restarted = pids != client.run(os.getpid)
        total = show(
            f"relcore.dask, {args.customers:,} customers, {args.workers} workers of "
            f"{args.memory_limit}:",
            times,
        )
        for name, peak in memory.peak.items():
            label = "the driver" if name == "driver" else f"worker {name}"
            print(f"    peak memory of {label}: {peak / 1e9:.2f} GB")
        print(f"    spilled to disk: {sum(spilled.values()) / 1e9:.2f} GB")
        print(f"    workers restarted: {'yes' if restarted else 'none'}")
    if single_total:
        scale = args.customers / n_single
        print(
            f"ratio relcore.dask at {scale:g}x the data / single machine: "
            f"{total / single_total:.1f}"
        )
    print(f"load average after: {os.getloadavg()}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
