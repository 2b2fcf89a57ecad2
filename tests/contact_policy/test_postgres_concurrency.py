"""PostgresLedger under concurrent processes and killed clients, against a real server
(mirrors test_concurrency.py for SQLite, where the two-phase case runs on both)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from relcore.contact_policy import Contact, ContactGuard, FrequencyCap, Policy, PostgresLedger

SRC = str(Path(__file__).resolve().parents[2] / "src")
BASE = datetime(2026, 6, 1, 9, tzinfo=UTC)
BASE_US = int(BASE.timestamp()) * 1_000_000


def _hammer(ledger: PostgresLedger, k: int, n: int) -> int:
    guard = ContactGuard(Policy([FrequencyCap(3, per="calendar_day")]), ledger)
    allowed = 0
    for i in range(n):
        at = BASE + timedelta(seconds=k * n + i)
        allowed += guard.request(Contact("one", channel="email", at=at)).allowed
    ledger.close()
    return allowed


def test_16_processes_x_25_requests_against_a_cap_of_3_per_day_record_exactly_3(
    postgres_dsn, postgres_schema
):
    ledger = PostgresLedger(postgres_dsn, schema=postgres_schema)
    # the ledger itself goes to each process (pickled), which connects on its own
    with multiprocessing.get_context("fork").Pool(16) as pool:
        allowed = pool.starmap(_hammer, [(ledger, k, 25) for k in range(16)])
    assert sum(allowed) == 3
    assert len(ledger.customer_history("one").at) == 3
    assert len(ledger) == 3
    ledger.close()


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


WRITER = """
    import sys
    from datetime import datetime, timedelta, timezone
    from relcore.contact_policy import Contact, ContactGuard, Policy, PostgresLedger

    guard = ContactGuard(Policy([]), PostgresLedger(sys.argv[1], schema=sys.argv[2]))
    base = datetime(2026, 6, 1, 9, tzinfo=timezone.utc)
    i = 0
    while True:
        at = base + timedelta(microseconds=i)
        if guard.request(Contact(f"c{i % 10}", channel="email", at=at)).allowed:
            print(i, flush=True)  # acknowledged: committed before this line is written
        i += 1
"""


def test_writers_killed_mid_stream_lose_no_acknowledged_contact(postgres_dsn, postgres_schema):
    PostgresLedger(postgres_dsn, schema=postgres_schema).close()  # create the schema once
    writers = [_python(WRITER, postgres_dsn, postgres_schema) for _ in range(2)]
    acknowledged: list[int] = []
    for proc in writers:
        assert proc.stdout is not None
        for line in proc.stdout:
            acknowledged.append(int(line))
            if len(acknowledged) % 200 == 0:
                break
    for proc in writers:  # mid-stream: each is in the middle of its next request
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL

    ledger = PostgresLedger(postgres_dsn, schema=postgres_schema)
    history = ledger.histories([f"c{k}" for k in range(10)])
    stored = (history.at - BASE_US).tolist()
    assert len(acknowledged) == 400
    assert set(acknowledged) <= set(stored)
    # both writers recorded the same instants: nothing beyond two copies of each
    assert max(stored.count(i) for i in set(stored)) <= 2
    ledger.close()


HOLDER = """
    import sys, time
    from relcore.contact_policy import Entry, PostgresLedger

    ledger = PostgresLedger(sys.argv[1], schema=sys.argv[2])
    ledger.append([Entry("one", 1, "email", None, None, "message", True)])
    with ledger.exclusive("one") as session:
        session.customer_rows()
        session.append([Entry("one", 2, "email", None, None, "message", True)])
        print("holding", flush=True)
        time.sleep(600)  # killed here: inside the transaction, holding the customer's lock
"""


def test_a_client_killed_inside_its_transaction_frees_the_customer_and_commits_nothing(
    postgres_dsn, postgres_schema
):
    PostgresLedger(postgres_dsn, schema=postgres_schema).close()
    holder = _python(HOLDER, postgres_dsn, postgres_schema)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "holding"
    holder.send_signal(signal.SIGKILL)
    holder.wait()

    # the server notices the dead client, rolls back and releases the lock; a request for
    # the same customer gets in well within the timeout
    ledger = PostgresLedger(postgres_dsn, schema=postgres_schema, timeout=20)
    guard = ContactGuard(Policy([FrequencyCap(2, per="calendar_day")]), ledger)
    assert guard.request(Contact("one", channel="email", at=BASE)).allowed
    assert ledger.customer_history("one").at.tolist() == [1, BASE_US]
    ledger.close()


CONFIRMER = """
    import sys
    from datetime import datetime, timedelta, timezone
    from relcore.contact_policy import Contact, ContactGuard, Policy, PostgresLedger

    guard = ContactGuard(Policy([]), PostgresLedger(sys.argv[1], schema=sys.argv[2]))
    base = datetime(2026, 6, 1, 9, tzinfo=timezone.utc)
    i = 0
    while True:
        key = f"m-{i}"
        at = base + timedelta(microseconds=i)
        if guard.reserve(Contact(f"c{i % 10}", channel="email", at=at), key=key).allowed:
            guard.confirm(key)
            print(i, flush=True)  # acknowledged: the confirmation is committed
        i += 1
"""


def test_a_client_killed_between_reserving_and_confirming_loses_no_confirmed_contact(
    postgres_dsn, postgres_schema
):
    PostgresLedger(postgres_dsn, schema=postgres_schema).close()
    proc = _python(CONFIRMER, postgres_dsn, postgres_schema)
    acknowledged = []
    assert proc.stdout is not None
    for line in proc.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) == 200:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ledger = PostgresLedger(postgres_dsn, schema=postgres_schema)
    ids = [f"c{k}" for k in range(10)]
    recorded = set((ledger.histories(ids).at - BASE_US).tolist())
    everything = set((ledger.histories(ids, held_at=0).at - BASE_US).tolist())
    assert set(acknowledged) <= recorded
    assert len(recorded) == len(ledger)
    for i in everything:  # a reservation held when the client died was never recorded
        assert (ledger.keyed(f"m-{i}").held_until is None) == (i in recorded)
    ledger.close()
