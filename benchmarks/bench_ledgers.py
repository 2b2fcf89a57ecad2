"""Ledger benchmark: guarded ``request`` throughput from 1, 8 and 16 client processes, on
SQLite and on PostgreSQL, and PostgreSQL's ``request`` latency.

    PYTHONPATH=src python benchmarks/bench_ledgers.py            # 5 s per measurement
    PYTHONPATH=src python benchmarks/bench_ledgers.py --quick    # 1 s per measurement
    PYTHONPATH=src python benchmarks/bench_ledgers.py --dsn "host=... dbname=..."

``postgres-async`` is the same server with ``synchronous_commit=off`` set in the dsn:
commits do not wait for the server's log flush (a server crash can lose the last
fraction of a second of contacts, a client crash nothing), as SQLite's default
``synchronous="NORMAL"`` does not wait for one either.

Without ``--dsn`` (or ``RELCORE_POSTGRES_DSN``) it starts a throwaway PostgreSQL cluster on
127.0.0.1 with the test suite's helper (tests/contact_policy/conftest.py), durable like a
real server (fsync on, default settings), and removes it at the end. Each client process
opens its own ledger and sends requests for random customers of a 10,000-customer history
(200,000 past contacts) under a 5-rule policy, as fast as it can, for the same time.

Target (issue 12): >= 2,000 requests/s with 8 client processes on PostgreSQL, on the
project's 2-core machine (where the clients and the server share the two cores).

``--locking`` also compares, with plain SQL, the two ways to make a read-decide-write
atomic on PostgreSQL: a per-customer advisory lock (what PostgresLedger does) and
SERIALIZABLE transactions retried on serialization failures, on random customers and on
one hot customer.
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import numpy as np

from relcore.contact_policy import (
    Contact,
    ContactGuard,
    Cooldown,
    Entry,
    FrequencyCap,
    MinimumGap,
    Policy,
    PostgresLedger,
    QuietHours,
    SQLiteLedger,
)

NOW = datetime(2026, 11, 27, 15, tzinfo=UTC)  # 10:00 in New York: not quiet
NOW_US = int(NOW.timestamp()) * 1_000_000
DAY = 86_400_000_000
N_CUSTOMERS = 10_000
N_HISTORY = 200_000
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
ROOT = Path(__file__).resolve().parents[1]


def throwaway_server() -> Any:
    """The test suite's ThrowawayPostgres (conftest.py is not importable as a module)."""
    path = ROOT / "tests" / "contact_policy" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_relcore_pg_conftest", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ThrowawayPostgres(durable=True)


def history(seed: int = 0) -> list[Entry]:
    """Two months of email contacts for N_CUSTOMERS customers."""
    rng = np.random.default_rng(seed)
    who = rng.integers(0, N_CUSTOMERS, N_HISTORY)
    at = NOW_US - rng.integers(1, 60 * DAY, N_HISTORY)
    return [
        Entry(f"c{w}", int(t), "email", "promotional", None, "message", True)
        for w, t in zip(who.tolist(), at.tolist(), strict=True)
    ]


def open_ledger(kind: str, target: tuple[str, str]) -> SQLiteLedger | PostgresLedger:
    if kind == "sqlite":
        return SQLiteLedger(target[0])
    if kind == "postgres-async":
        # commits that do not wait for the log flush, set in the dsn as a user would:
        # what SQLite's synchronous=NORMAL is to its FULL
        from psycopg.conninfo import make_conninfo

        dsn = make_conninfo(target[0], options="-c synchronous_commit=off")
        return PostgresLedger(dsn, schema=target[1])
    return PostgresLedger(target[0], schema=target[1])


def client(
    kind: str, target: tuple[str, str], seed: int, duration: float, barrier: Any, out: Any
) -> None:
    """One client process: requests as fast as it can for ``duration`` seconds."""
    ledger = open_ledger(kind, target)
    guard = ContactGuard(POLICY, ledger)
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, N_CUSTOMERS, 200_000).tolist()
    offsets = rng.integers(0, 3600 * 1_000_000, 200_000).tolist()
    contacts = (
        Contact(
            f"c{i}", channel="email", category="promotional", at=NOW + timedelta(microseconds=s)
        )
        for i, s in zip(ids, offsets, strict=True)
    )
    for _ in range(50):  # connections opened, statements prepared
        guard.request(next(contacts))
    barrier.wait()
    took: list[int] = []
    allowed: list[bool] = []
    end = time.perf_counter() + duration
    while time.perf_counter() < end:
        c = next(contacts)
        t0 = time.perf_counter_ns()
        allowed.append(guard.request(c).allowed)
        took.append(time.perf_counter_ns() - t0)
    ledger.close()
    out.put((took, allowed))


def run_clients(kind: str, target: tuple[str, str], n: int, duration: float) -> dict[str, Any]:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(n + 1)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=client, args=(kind, target, 1000 * n + k, duration, barrier, out))
        for k in range(n)
    ]
    for p in procs:
        p.start()
    barrier.wait()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    took = np.concatenate([np.asarray(t, dtype=np.int64) for t, _ in results]) / 1000
    allowed = np.concatenate([np.asarray(a, dtype=bool) for _, a in results])
    return {
        "requests": int(took.size),
        "per_second": took.size / duration,
        "allowed": int(allowed.sum()),
        "p50_us": float(np.percentile(took, 50)),
        "p90_us": float(np.percentile(took, 90)),
        # an allowed request writes (its commit waits for the log flush); a refused one reads
        "p50_allowed_us": float(np.percentile(took[allowed], 50)) if allowed.any() else 0.0,
        "p50_refused_us": float(np.percentile(took[~allowed], 50)) if (~allowed).any() else 0.0,
    }


def bench_requests(
    dsn: str, directory: str, duration: float, counts: list[int], kinds: list[str]
) -> None:
    entries = history()
    print(
        f"request: {N_HISTORY:,} past contacts for {N_CUSTOMERS:,} customers, 5 rules; "
        f"{duration:g} s per measurement, every client its own process and connection"
    )
    print(
        f"{'ledger':<16}{'clients':>8}{'requests/s':>12}{'p50 µs':>9}{'p90 µs':>9}"
        f"{'allowed':>9}{'p50 allowed':>13}{'p50 refused':>13}"
    )
    for kind in kinds:
        for n in counts:
            # a fresh store per measurement: earlier runs' contacts would refuse more
            if kind == "sqlite":
                tmp = tempfile.mkdtemp(dir=directory)
                target = (os.path.join(tmp, "contacts.db"), "")
            else:
                target = (dsn, f"bench_{uuid.uuid4().hex[:8]}")
            ledger = open_ledger(kind, target)
            ledger.append(entries)
            ledger.close()
            r = run_clients(kind, target, n, duration)
            print(
                f"{kind:<16}{n:>8}{r['per_second']:>12,.0f}{r['p50_us']:>9.0f}"
                f"{r['p90_us']:>9.0f}{r['allowed']:>9,}{r['p50_allowed_us']:>13.0f}"
                f"{r['p50_refused_us']:>13.0f}"
                + ("   (target >= 2,000/s)" if kind == "postgres" and n == 8 else "")
            )
            if kind != "sqlite":
                _drop_schema(dsn, target[1])


def _drop_schema(dsn: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# ---------------------------------------------------------------------- locking choice


def locking_client(
    dsn: str, mode: str, hot: bool, seed: int, duration: float, barrier: Any, out: Any
) -> None:
    """Read-decide-write with plain SQL: a cap of 3 contacts per customer and day."""
    import psycopg
    from psycopg import errors

    rng = np.random.default_rng(seed)
    conn = psycopg.connect(dsn, autocommit=True)
    if mode == "serializable":
        conn.execute("SET default_transaction_isolation = 'serializable'")
    done = retries = 0
    barrier.wait()
    end = time.perf_counter() + duration
    while time.perf_counter() < end:
        customer = "hot" if hot else f"c{int(rng.integers(0, N_CUSTOMERS))}"
        # a day in a century, so that even the hot customer's days rarely fill: most
        # sections write, as a busy sender's would
        day = NOW_US + int(rng.integers(0, 36_500)) * DAY
        while True:
            try:
                conn.execute("BEGIN")
                if mode == "advisory":
                    conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (customer,)
                    )
                n = conn.execute(
                    "SELECT count(*) FROM lock_bench "
                    "WHERE customer_id = %s AND at >= %s AND at < %s",
                    (customer, day, day + DAY),
                ).fetchone()
                if n is not None and n[0] < 3:
                    conn.execute("INSERT INTO lock_bench VALUES (%s, %s)", (customer, day))
                conn.execute("COMMIT")
                break
            except errors.SerializationFailure:
                conn.execute("ROLLBACK")
                retries += 1
        done += 1
    conn.close()
    out.put((done, retries))


def bench_locking(dsn: str, duration: float, n: int = 8) -> None:
    import psycopg

    print(f"\nlocking: plain-SQL read-decide-write, {n} processes, {duration:g} s each")
    print(f"{'customers':<12}{'mode':<14}{'requests/s':>12}{'retries per request':>22}")
    for hot in (False, True):
        for mode in ("advisory", "serializable"):
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("DROP TABLE IF EXISTS lock_bench")
                conn.execute("CREATE TABLE lock_bench (customer_id text, at bigint)")
                conn.execute("CREATE INDEX ON lock_bench (customer_id, at)")
            ctx = multiprocessing.get_context("fork")
            barrier, out = ctx.Barrier(n + 1), ctx.Queue()
            procs = [
                ctx.Process(target=locking_client, args=(dsn, mode, hot, k, duration, barrier, out))
                for k in range(n)
            ]
            for p in procs:
                p.start()
            barrier.wait()
            results = [out.get() for _ in procs]
            for p in procs:
                p.join()
            done = sum(d for d, _ in results)
            retries = sum(r for _, r in results)
            print(
                f"{'one hot' if hot else 'random':<12}{mode:<14}{done / duration:>12,.0f}"
                f"{retries / max(done, 1):>22.2f}"
            )
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS lock_bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 s per measurement")
    parser.add_argument("--dsn", default=os.environ.get("RELCORE_POSTGRES_DSN"))
    parser.add_argument(
        "--dir", default=tempfile.gettempdir(), help="directory for the SQLite files (on disk)"
    )
    parser.add_argument("--clients", default="1,8,16", help="client process counts")
    parser.add_argument("--ledgers", default="sqlite,postgres,postgres-async", help="which ledgers")
    parser.add_argument("--locking", action="store_true", help="also compare locking modes")
    parser.add_argument("--only-locking", action="store_true", help="compare locking modes only")
    args = parser.parse_args()
    duration = 1.0 if args.quick else 5.0
    counts = [int(c) for c in args.clients.split(",")]
    server = None
    dsn = args.dsn
    if not dsn:
        server = throwaway_server()
        dsn = server.start()
        print(f"started a throwaway PostgreSQL server (fsync on): {dsn}")
    try:
        print(f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
        if not args.only_locking:
            bench_requests(dsn, args.dir, duration, counts, args.ledgers.split(","))
        if args.locking or args.only_locking:
            bench_locking(dsn, duration)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
