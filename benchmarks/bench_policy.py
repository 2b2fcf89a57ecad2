"""Contact-policy benchmarks: audience decisions, single checks, SQLite requests.

    PYTHONPATH=src python benchmarks/bench_policy.py            # full sizes
    PYTHONPATH=src python benchmarks/bench_policy.py --quick    # small sizes

Targets (issue 5): ``check_many`` over 1M customers with 5 rules against a MemoryLedger
of 10M past contacts at >= 1M decisions/s; a single ``check`` p50 <= 20 µs on a
MemoryLedger; ``request`` on SQLite p50 <= 300 µs with the database on disk. Issue 9:
``import relcore.contact_policy`` within 0.2 s of ``import numpy`` (``-X importtime``).
Issue 12: what the audit trail costs (``request`` on SQLite and ``check`` on a
MemoryLedger, with and without ``audit=True``), and a send in two phases (``reserve``
then ``confirm``) on SQLite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock

import numpy as np

from relcore.contact_policy import (
    Contact,
    ContactGuard,
    Cooldown,
    Entry,
    FrequencyCap,
    MemoryLedger,
    MinimumGap,
    Policy,
    QuietHours,
    SQLiteLedger,
)

NOW = datetime(2026, 11, 27, 15, tzinfo=UTC)  # 10:00 in New York: not quiet
NOW_US = int(NOW.timestamp()) * 1_000_000
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


def build_ledger(
    n_customers: int, n_contacts: int, seed: int = 0
) -> tuple[MemoryLedger, list[str]]:
    """A year of history: contacts on three channels, 1% customer complaints."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("c", np.arange(n_customers).astype(str))
    who = ids[rng.integers(0, n_customers, n_contacts)]
    at = NOW_US - rng.integers(0, 365 * DAY, n_contacts)
    channel = np.array(["email", "sms", "push"], dtype=object)[rng.integers(0, 3, n_contacts)]
    complaint = rng.random(n_contacts) < 0.01
    kind = np.where(complaint, "complaint", "message").astype(object)
    initiator = np.where(complaint, "customer", "company").astype(object)
    ledger = MemoryLedger.from_arrays(
        who, at, channel=channel, category="promotional", kind=kind, initiator=initiator
    )
    return ledger, ids.tolist()


def bench_check_many(ledger: MemoryLedger, ids: list[str], repeats: int) -> None:
    guard = ContactGuard(POLICY, ledger)
    audience = np.asarray(ids, dtype=object)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        batch = guard.check_many(audience, channel="email", category="promotional", at=NOW)
        times.append(time.perf_counter() - t0)
    n = len(audience)
    best, med = min(times), statistics.median(times)
    print(f"check_many: {n:,} customers, {len(ledger):,} past contacts, 5 rules")
    print(
        f"  best {best:.3f} s = {n / best / 1e6:.2f} M decisions/s; median {med:.3f} s "
        f"= {n / med / 1e6:.2f} M decisions/s  (target >= 1 M/s)"
    )
    print(f"  {int(batch.allowed.sum()):,} allowed; refused by {batch.counts()}")
    later = NOW + timedelta(hours=13)  # 23:00 in New York: quiet hours refuse everyone
    t0 = time.perf_counter()
    batch = guard.check_many(audience, channel="email", category="promotional", at=later)
    dt = time.perf_counter() - t0
    print(
        f"  at 23:00 local (quiet hours: {n - int(batch.allowed.sum()):,} refused, their "
        f"next_allowed_at iterated): {dt:.3f} s = {n / dt / 1e6:.2f} M decisions/s"
    )


def bench_check(ledger: MemoryLedger, ids: list[str], n: int) -> None:
    guard = ContactGuard(POLICY, ledger)
    rng = np.random.default_rng(1)
    contacts = [
        Contact(ids[i], channel="email", category="promotional", at=NOW)
        for i in rng.integers(0, len(ids), n)
    ]
    for c in contacts[:1000]:  # warm caches
        guard.check(c)
    allowed, refused = [], []
    for c in contacts:
        t0 = time.perf_counter_ns()
        d = guard.check(c)
        took = time.perf_counter_ns() - t0
        (allowed if d.allowed else refused).append(took)
    both = np.array(allowed + refused) / 1000
    print(f"check (one contact, MemoryLedger, 5 rules): {n:,} calls")
    print(
        f"  p50 {np.percentile(both, 50):.1f} µs, p90 {np.percentile(both, 90):.1f} µs "
        f"(target p50 <= 20 µs)"
    )
    for name, xs in (("allowed", allowed), ("refused", refused)):
        if xs:
            arr = np.array(xs) / 1000
            print(
                f"  {name}: {len(xs):,} calls, p50 {np.percentile(arr, 50):.1f} µs, "
                f"p90 {np.percentile(arr, 90):.1f} µs"
            )


def bench_sqlite(directory: str, n_customers: int, n_history: int, n: int) -> None:
    rng = np.random.default_rng(2)
    for sync in ("NORMAL", "FULL"):
        with tempfile.TemporaryDirectory(dir=directory) as tmp:
            path = os.path.join(tmp, "contacts.db")
            ledger = SQLiteLedger(path, synchronous=sync)
            who = rng.integers(0, n_customers, n_history)
            at = NOW_US - rng.integers(0, 60 * DAY, n_history)
            ledger.append(
                [
                    Entry(f"c{w}", int(t), "email", "promotional", None, "message", True)
                    for w, t in zip(who.tolist(), at.tolist(), strict=True)
                ]
            )
            guard = ContactGuard(POLICY, ledger)
            contacts = [
                Contact(
                    f"c{i}",
                    channel="email",
                    category="promotional",
                    at=NOW + timedelta(seconds=int(s)),
                )
                for i, s in zip(
                    rng.integers(0, n_customers, n), rng.integers(0, 3600, n), strict=True
                )
            ]
            took = []
            n_allowed = 0
            for c in contacts:
                t0 = time.perf_counter_ns()
                n_allowed += guard.request(c).allowed
                took.append(time.perf_counter_ns() - t0)
            arr = np.array(took) / 1000
            print(
                f"request on SQLite (synchronous={sync}, {n_history:,} entries on disk in "
                f"{directory}): {n:,} calls, {n_allowed:,} recorded"
            )
            print(
                f"  p50 {np.percentile(arr, 50):.0f} µs, p90 {np.percentile(arr, 90):.0f} µs"
                + ("  (target p50 <= 300 µs)" if sync == "NORMAL" else "")
            )
            ledger.close()


def _p50_p90(took_ns: list[int]) -> str:
    arr = np.array(took_ns) / 1000
    return f"p50 {np.percentile(arr, 50):.0f} µs, p90 {np.percentile(arr, 90):.0f} µs"


def bench_audit(directory: str, n_customers: int, n_history: int, n: int) -> None:
    """``request`` on SQLite and ``check`` on memory, without and with the audit trail;
    then ``reserve`` + ``confirm`` on SQLite (audited)."""
    rng = np.random.default_rng(3)
    who = rng.integers(0, n_customers, n_history)
    at = NOW_US - rng.integers(0, 60 * DAY, n_history)
    history = [
        Entry(f"c{w}", int(t), "email", "promotional", None, "message", True)
        for w, t in zip(who.tolist(), at.tolist(), strict=True)
    ]
    targets = rng.integers(0, n_customers, n)
    offsets = rng.integers(0, 3600, n)
    contacts = [
        Contact(
            f"c{i}", channel="email", category="promotional", at=NOW + timedelta(seconds=int(s))
        )
        for i, s in zip(targets.tolist(), offsets.tolist(), strict=True)
    ]
    p50 = {}
    for audit in (False, True):
        with tempfile.TemporaryDirectory(dir=directory) as tmp:
            ledger = SQLiteLedger(os.path.join(tmp, "contacts.db"))
            ledger.append(history)
            guard = ContactGuard(POLICY, ledger, audit=audit)
            took = []
            for c in contacts:
                t0 = time.perf_counter_ns()
                guard.request(c)
                took.append(time.perf_counter_ns() - t0)
            p50[("sqlite", audit)] = float(np.percentile(took, 50)) / 1000
            print(f"request on SQLite, audit={audit}: {n:,} calls, {_p50_p90(took)}")
            if audit:
                pairs = []
                for k, c in enumerate(contacts):
                    later = c.at_time(c.at + timedelta(days=2))  # a day with free slots
                    t0 = time.perf_counter_ns()
                    if guard.reserve(later, key=f"m-{k}").allowed:
                        guard.confirm(f"m-{k}")
                    pairs.append(time.perf_counter_ns() - t0)
                print(f"reserve + confirm on SQLite, audit=True: {n:,} pairs, {_p50_p90(pairs)}")
            ledger.close()
    memory = MemoryLedger()
    memory.append(history)
    for audit in (False, True):
        guard = ContactGuard(POLICY, memory, audit=audit)
        for c in contacts[:200]:  # warm caches
            guard.check(c)
        took = []
        for c in contacts:
            t0 = time.perf_counter_ns()
            guard.check(c)
            took.append(time.perf_counter_ns() - t0)
        p50[("memory", audit)] = float(np.percentile(took, 50)) / 1000
        print(f"check on a MemoryLedger, audit={audit}: {n:,} calls, {_p50_p90(took)}")
    for store in ("sqlite", "memory"):
        extra = p50[(store, True)] - p50[(store, False)]
        print(f"  the audit trail costs {extra:+.0f} µs a decision at p50 on {store}")


def import_seconds(module: str, repeats: int = 5) -> float:
    """Best of ``repeats`` fresh interpreters: the cumulative ``-X importtime`` of ``module``."""
    best = float("inf")
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        # the last line is the module asked for: "import time: self | cumulative | name"
        cumulative = int(done.stderr.strip().splitlines()[-1].split("|")[1])
        best = min(best, cumulative / 1e6)
    return best


def bench_import() -> None:
    numpy_s = import_seconds("numpy")
    policy_s = import_seconds("relcore.contact_policy")
    print(
        f"import numpy {numpy_s:.3f} s; import relcore.contact_policy {policy_s:.3f} s "
        f"(+{policy_s - numpy_s:.3f} s; target <= +0.2 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument(
        "--dir", default=tempfile.gettempdir(), help="directory for the SQLite file (on disk)"
    )
    args = parser.parse_args()
    bench_import()
    n_customers, n_contacts = (100_000, 1_000_000) if args.quick else (1_000_000, 10_000_000)
    t0 = time.perf_counter()
    ledger, ids = build_ledger(n_customers, n_contacts)
    print(
        f"built a MemoryLedger of {len(ledger):,} contacts for {n_customers:,} customers "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    bench_check_many(ledger, ids, repeats=3 if args.quick else 5)
    bench_check(ledger, ids, n=5_000 if args.quick else 50_000)
    bench_sqlite(
        args.dir, 10_000, 20_000 if args.quick else 200_000, 1_000 if args.quick else 5_000
    )
    bench_audit(args.dir, 10_000, 20_000 if args.quick else 200_000, 1_000 if args.quick else 5_000)


if __name__ == "__main__":
    main()
