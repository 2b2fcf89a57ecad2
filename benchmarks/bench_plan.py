"""Campaign planning benchmark (issue 13).

    PYTHONPATH=src python benchmarks/bench_plan.py            # 1M customers x 3 candidates
    PYTHONPATH=src python benchmarks/bench_plan.py --quick    # 100k customers

Target: plan 1M customers x 3 candidate messages with 5 rules, 2 budgets and 2 rate
limits in <= 10 s on 2 cores; reports scheduled sends per second. The ledger holds a
year of history (3 contacts per customer on three channels, 1% complaints), as in
``bench_policy.py``.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock

import numpy as np

from relcore.contact_policy import (
    Budget,
    ContactGuard,
    Cooldown,
    FrequencyCap,
    MemoryLedger,
    MinimumGap,
    Policy,
    QuietHours,
    RateLimit,
    compare,
    plan_campaign,
)

START = datetime(2026, 11, 27, 14, tzinfo=UTC)  # 09:00 in New York
START_US = int(START.timestamp()) * 1_000_000
DAY = 86_400_000_000
POLICY = Policy(
    [
        FrequencyCap(3, per=timedelta(days=7), channel="email"),
        FrequencyCap(1, per="calendar_day"),
        MinimumGap(timedelta(hours=20), channel="sms"),
        QuietHours(start=clock(21), end=clock(8)),
        Cooldown(after="complaint", duration=timedelta(days=30)),
    ],
    exempt_categories={"transactional"},
    timezone="America/New_York",
)


def build(n_customers: int, seed: int = 0) -> tuple[MemoryLedger, dict[str, object]]:
    rng = np.random.default_rng(seed)
    ids = np.char.add("c", np.arange(n_customers).astype(str))
    n_hist = 3 * n_customers
    who = ids[rng.integers(0, n_customers, n_hist)]
    at = START_US - rng.integers(0, 365 * DAY, n_hist)
    channel = np.array(["email", "sms", "push"], dtype=object)[rng.integers(0, 3, n_hist)]
    complaint = rng.random(n_hist) < 0.01
    ledger = MemoryLedger.from_arrays(
        who,
        at,
        channel=channel,
        category="promotional",
        kind=np.where(complaint, "complaint", "message").astype(object),
        initiator=np.where(complaint, "customer", "company").astype(object),
    )
    n = 3 * n_customers
    cust = np.repeat(ids, 3)
    chan = np.tile(np.array(["email", "sms", "push"], dtype=object), n_customers)
    campaign = np.tile(np.array(["spring", "spring", "loyalty"], dtype=object), n_customers)
    # Half the audience is released at 21:00 in New York: quiet hours defer them to 08:00.
    offset = np.where(rng.random(n) < 0.5, 0, 12 * 3_600_000_000)
    earliest = (START_US + offset).astype("datetime64[us]")
    latest = earliest + np.timedelta64(2, "D")
    candidates = {
        "customer_id": cust,
        "channel": chan,
        "category": "promotional",
        "campaign": campaign,
        "earliest": earliest,
        "latest": latest,
        "value": rng.gamma(2.0, 10.0, n),
    }
    return ledger, candidates


def bench_compare(n_contacts: int) -> None:
    """Three policies over the same calendar of planned contacts."""
    rng = np.random.default_rng(2)
    n_customers = n_contacts // 4
    ledger, _ = build(n_customers)
    ids = np.char.add("c", rng.integers(0, n_customers, n_contacts).astype(str))
    at = START_US + rng.integers(0, 28 * DAY, n_contacts)
    calendar = {
        "customer_id": ids,
        "channel": np.array(["email", "sms", "push"], dtype=object)[rng.integers(0, 3, n_contacts)],
        "category": "promotional",
        "at": at.astype("datetime64[us]"),
    }
    policies = {
        "current": POLICY,
        "weekly": Policy([FrequencyCap(1, per=timedelta(days=7))], timezone="America/New_York"),
        "none": Policy([]),
    }
    t0, c0 = time.perf_counter(), time.process_time()
    result = compare(calendar, policies, ledger, timezone="UTC", max_delay=timedelta(days=3))
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"compare: 3 policies over {n_contacts:,} planned contacts: {took:.2f} s wall, "
        f"{cpu:.2f} s CPU (target <= 5 s)"
    )
    print(f"  {result!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--customers", type=int, default=None)
    args = parser.parse_args()
    n_customers = args.customers or (100_000 if args.quick else 1_000_000)
    ledger, candidates = build(n_customers)
    guard = ContactGuard(POLICY, ledger)
    budgets = [
        Budget(n_customers * 2 // 5, campaign="spring"),
        Budget(n_customers * 3 // 20, channel="sms"),
    ]
    rates = [
        RateLimit(20_000, per=timedelta(minutes=1), channel="email"),
        RateLimit(500, per=timedelta(seconds=1), channel="sms"),
    ]
    t0, c0 = time.perf_counter(), time.process_time()
    plan = plan_campaign(
        guard,
        candidates,
        budgets=budgets,
        rate_limits=rates,
        timezone="UTC",
        spread=timedelta(minutes=30),
        seed=1,
    )
    took = time.perf_counter() - t0
    cpu = time.process_time() - c0
    scheduled = plan.counts()["scheduled"]
    print(
        f"plan_campaign: {n_customers:,} customers x 3 candidates, 5 rules, 2 budgets, "
        f"2 rate limits, {len(ledger):,} ledger rows"
    )
    print(
        f"  {took:.2f} s wall, {cpu:.2f} s CPU (target <= 10 s for 1M customers); "
        f"{scheduled:,} scheduled = {scheduled / took:,.0f} scheduled/s "
        f"({scheduled / cpu:,.0f} per CPU second); {len(plan) / took:,.0f} candidates/s"
    )
    print(f"  load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(plan.summary())
    bench_compare(20_000 if args.quick else 200_000)


if __name__ == "__main__":
    main()
