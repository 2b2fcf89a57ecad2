"""SQLite ledger under concurrent processes and crashes (the thread cases are in the
ledger contract, for every ledger); the two-phase case also runs on PostgreSQL (the rest of
PostgreSQL's is in test_postgres_concurrency.py)."""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from relcore import ReservationError
from relcore.contact_policy import (
    Contact,
    ContactGuard,
    FrequencyCap,
    Ledger,
    Policy,
    PostgresLedger,
    SQLiteLedger,
)

SRC = str(Path(__file__).resolve().parents[2] / "src")
BASE = datetime(2026, 6, 1, 9, tzinfo=UTC)
CAP = 3


def _contract():
    """The shared contract tests (pytest imports test modules by path, not as a package)."""
    path = Path(__file__).with_name("test_ledger_contract.py")
    spec = importlib.util.spec_from_file_location("_relcore_ledger_contract_c", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


assert_the_audit_never_lets_more_than = _contract().assert_the_audit_never_lets_more_than


def _hammer(path: str, k: int, n: int) -> int:
    ledger = SQLiteLedger(path)
    guard = ContactGuard(Policy([FrequencyCap(3, per="calendar_day")]), ledger)
    allowed = 0
    for i in range(n):
        at = BASE + timedelta(seconds=k * n + i)
        allowed += guard.request(Contact("one", channel="email", at=at)).allowed
    ledger.close()
    return allowed


def test_8_processes_x_100_requests_against_a_cap_of_3_per_day_record_exactly_3(tmp_path):
    path = str(tmp_path / "contacts.db")
    SQLiteLedger(path).close()  # create the file; no connection crosses the fork
    with multiprocessing.get_context("fork").Pool(8) as pool:
        allowed = pool.starmap(_hammer, [(path, k, 100) for k in range(8)])
    assert sum(allowed) == 3
    ledger = SQLiteLedger(path)
    assert len(ledger.customer_history("one").at) == 3
    assert len(ledger) == 3
    ledger.close()


@pytest.fixture(params=["sqlite", "postgres"])
def open_shared(request, tmp_path):
    """How each process opens the same store: a picklable opener (no connection crosses
    the fork); the store is created before it is returned."""
    if request.param == "sqlite":
        opener = partial(SQLiteLedger, str(tmp_path / "contacts.db"))
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        opener = partial(PostgresLedger, dsn, schema=request.getfixturevalue("postgres_schema"))
    opener().close()
    return opener


def _two_phase(open_ledger: Callable[[], Ledger], k: int, seed: int) -> tuple[int, int, int]:
    """Reserve, then confirm, release, abandon (let expire) or retry, at random, until
    the customer has a full day; returns (granted, confirmed, expired confirmations)."""
    rng = random.Random(seed)
    ledger = open_ledger()
    guard = ContactGuard(Policy([FrequencyCap(CAP, per="calendar_day")]), ledger, audit=True)
    granted = confirmed = too_late = 0
    deadline = time.monotonic() + 120  # room for a loaded machine; a full day ends it
    i = 0
    while len(ledger.customer_history("one").at) < CAP and time.monotonic() < deadline:
        i += 1
        key = f"p{k}-{i}"
        contact = Contact("one", channel="email", at=BASE + timedelta(seconds=k * 10_000 + i))
        ttl = timedelta(milliseconds=rng.choice([5, 20, 60]))
        if rng.random() < 0.03:  # a plain request, retried with its key
            guard.request(contact, key=key)
            guard.request(contact, key=key)
            continue
        if not guard.reserve(contact, key=key, ttl=ttl).allowed:
            time.sleep(0.001)
            continue
        granted += 1
        guard.reserve(contact, key=key, ttl=ttl)  # a retry: no second slot
        fate = rng.random()
        if fate < 0.1:
            # confirm at once, or after the ttl (then it fails, unless nobody needed the
            # slot meanwhile: a late confirmation is refused by the clock all the same)
            time.sleep(0 if fate < 0.05 else 2 * ttl.total_seconds())
            try:
                guard.confirm(key)
                confirmed += 1
            except ReservationError:
                too_late += 1
        elif fate < 0.55:
            guard.release(key)
        else:
            time.sleep(ttl.total_seconds() * rng.choice([0.5, 2]))  # abandoned; maybe expired
    ledger.close()
    return granted, confirmed, too_late


@pytest.mark.slow
def test_6_processes_reserving_confirming_releasing_and_expiring_never_pass_the_cap(
    open_shared,
):
    with multiprocessing.get_context("fork").Pool(6) as pool:
        outcomes = pool.starmap(_two_phase, [(open_shared, k, 1000 + k) for k in range(6)])
    ledger = open_shared()
    records = ledger.decisions(customer_id="one")
    # exactly the cap is recorded, and the trail shows no moment with more held or sent
    assert len(ledger.customer_history("one").at) == CAP
    assert len(ledger) == CAP
    assert_the_audit_never_lets_more_than(CAP, records)
    granted = sum(o[0] for o in outcomes)
    assert granted > CAP  # slots were given back (released or expired) and given again
    assert {"reserve", "release"} <= {r.action for r in records}
    assert any(r.replayed for r in records)
    ledger.close()


WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timedelta, timezone
    from relcore.contact_policy import Contact, ContactGuard, Policy, SQLiteLedger

    guard = ContactGuard(Policy([]), SQLiteLedger(sys.argv[1]))
    base = datetime(2026, 6, 1, tzinfo=timezone.utc)
    i = 0
    while True:
        at = base + timedelta(microseconds=i)
        if guard.request(Contact(f"c{i % 10}", channel="email", at=at)).allowed:
            print(i, flush=True)  # acknowledged: committed before this line is written
        i += 1
    """
)


def test_a_writer_killed_mid_stream_loses_no_acknowledged_contact(tmp_path):
    path = tmp_path / "contacts.db"
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    acknowledged = []
    assert proc.stdout is not None
    for line in proc.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) == 400:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    ledger = SQLiteLedger(path)
    assert ledger.integrity_check() == "ok"
    history = ledger.histories([f"c{k}" for k in range(10)])
    base_us = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp()) * 1_000_000
    stored = set((history.at - base_us).tolist())
    assert len(acknowledged) == 400
    assert set(acknowledged) <= stored
    ledger.close()


CONFIRMER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timedelta, timezone
    from relcore.contact_policy import Contact, ContactGuard, Policy, SQLiteLedger

    guard = ContactGuard(Policy([]), SQLiteLedger(sys.argv[1]))
    base = datetime(2026, 6, 1, tzinfo=timezone.utc)
    i = 0
    while True:
        key = f"m-{i}"
        at = base + timedelta(microseconds=i)
        if guard.reserve(Contact(f"c{i % 10}", channel="email", at=at), key=key).allowed:
            guard.confirm(key)
            print(i, flush=True)  # acknowledged: the confirmation is committed
        i += 1
    """
)


def test_a_process_killed_between_reserving_and_confirming_loses_no_confirmed_contact(tmp_path):
    path = tmp_path / "contacts.db"
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen(
        [sys.executable, "-c", CONFIRMER, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    acknowledged = []
    assert proc.stdout is not None
    for line in proc.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) == 200:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ledger = SQLiteLedger(path)
    assert ledger.integrity_check() == "ok"
    ids = [f"c{k}" for k in range(10)]
    base_us = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp()) * 1_000_000
    recorded = set((ledger.histories(ids).at - base_us).tolist())
    everything = set((ledger.histories(ids, held_at=0).at - base_us).tolist())
    assert set(acknowledged) <= recorded
    assert len(recorded) == len(ledger)
    for i in everything:  # a reservation held when the process died was never recorded
        assert (ledger.keyed(f"m-{i}").held_until is None) == (i in recorded)
    ledger.close()
