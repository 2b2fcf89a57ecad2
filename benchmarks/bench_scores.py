"""Relationship scores and measurement at scale: timings against the issue's targets.

    PYTHONPATH=src python benchmarks/bench_scores.py            # full sizes
    PYTHONPATH=src python benchmarks/bench_scores.py --quick    # a tenth of the sizes

Targets (full sizes, one machine):

* engagement + fatigue over 10M touchpoints of 1M customers: <= 1.5 s together;
* also_bought on 1M purchases of 10k items: <= 2 s;
* assign_holdout on 10M ids: <= 2 s.

Building the synthetic logs is not timed. Each figure is the best and the median of
several runs (the machine may be shared). There is no lifetimes counterpart to these
scores, so no side-by-side ratio is printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from relcore.measurement import assign_holdout
from relcore.models import Categorical, EventLog
from relcore.scoring import also_bought, engagement, fatigue

KINDS = ("complaint", "message", "purchase", "response", "unsubscribe", "visit")
CHANNELS = ("app", "email", "phone", "sms", "store", "web")
AT = datetime(2026, 1, 1, tzinfo=UTC)


def touchpoints(n_events: int, n_customers: int, seed: int = 0) -> EventLog:
    """Synthetic multi-channel touchpoints over the year before ``AT``."""
    rng = np.random.default_rng(seed)
    customer = rng.integers(0, n_customers, n_events)
    start = np.datetime64("2025-01-01T00:00:00", "us").astype(np.int64)
    span = np.int64(365 * 86_400 * 1_000_000)
    at = (start + rng.integers(0, span, n_events)).view("datetime64[us]")
    company = rng.random(n_events) < 0.6
    kind = np.where(
        company,
        1,  # message
        rng.choice([0, 2, 3, 4, 5], size=n_events, p=[0.01, 0.2, 0.5, 0.01, 0.28]),
    ).astype(np.int8)
    channel = rng.integers(0, len(CHANNELS), n_events).astype(np.int8)
    initiator = np.where(company, 1, 0).astype(np.int8)
    return EventLog.from_arrays(
        customer,
        at,
        timezone="UTC",
        kind=Categorical(kind, KINDS),
        channel=Categorical(channel, CHANNELS),
        initiator=Categorical(initiator, ("customer", "company")),
    )


def purchases(n_purchases: int, n_items: int, n_customers: int, seed: int = 1) -> EventLog:
    """Synthetic purchases with Zipf-like item popularity."""
    rng = np.random.default_rng(seed)
    customer = rng.integers(0, n_customers, n_purchases)
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.8
    item = rng.choice(n_items, size=n_purchases, p=weights / weights.sum()).astype(np.int32)
    at = np.full(n_purchases, np.datetime64("2025-06-01", "us"))
    names = tuple(f"sku{i:05d}" for i in range(n_items))
    return EventLog.from_arrays(
        customer, at, timezone="UTC", item=Categorical(item, names), value=np.ones(n_purchases)
    )


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def report(label: str, best: float, median: float, target: float | None) -> None:
    verdict = ""
    if target is not None:
        verdict = f"  target <= {target:.1f} s: {'met' if best <= target else 'MISSED'}"
    print(f"{label:<52} best {best:6.3f} s  median {median:6.3f} s{verdict}")


def bench_scores(k: int, repeats: int, target: float | None) -> None:
    n_events, n_customers = 10_000_000 // k, 1_000_000 // k
    t0 = time.perf_counter()
    log = touchpoints(n_events, n_customers)
    print(f"built {len(log):,} touchpoints of {log.n_customers:,} customers "
          f"in {time.perf_counter() - t0:.1f} s (not timed)")  # fmt: skip
    e_best, e_med = timed(lambda: engagement(log, AT), repeats)
    f_best, f_med = timed(lambda: fatigue(log, AT), repeats)
    both_best, both_med = timed(lambda: (engagement(log, AT), fatigue(log, AT)), repeats)
    report("engagement", e_best, e_med, None)
    report("fatigue (overall, per channel, saturation)", f_best, f_med, None)
    report(f"engagement + fatigue, {n_events:,} events", both_best, both_med, target)


def bench_also_bought(k: int, repeats: int, target: float | None) -> None:
    n_purchases, n_items = 1_000_000 // k, 10_000 // k
    plog = purchases(n_purchases, n_items, 200_000 // k)
    best, median = timed(lambda: also_bought(plog, min_support=0.0, top_k=10), repeats)
    report(f"also_bought, {n_purchases:,} purchases of {n_items:,} items", best, median, target)


def bench_holdout(k: int, repeats: int, target: float | None) -> None:
    ids = np.arange(10_000_000 // k, dtype=np.int64) * 7919 + 12345
    best, median = timed(lambda: assign_holdout(ids, fraction=0.1, salt="bench"), repeats)
    report(f"assign_holdout, {ids.size:,} integer ids", best, median, target)
    str_ids = np.char.add("cust-", (ids // 7919).astype(str))
    best, median = timed(lambda: assign_holdout(str_ids, fraction=0.1, salt="bench"), 3)
    report(f"assign_holdout, {str_ids.size:,} string ids ({str_ids.dtype})", best, median, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    k = 10 if args.quick else 1
    targets = (None, None, None) if args.quick else (1.5, 2.0, 2.0)
    bench_scores(k, args.repeats, targets[0])
    bench_also_bought(k, args.repeats, targets[1])
    bench_holdout(k, args.repeats, targets[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
