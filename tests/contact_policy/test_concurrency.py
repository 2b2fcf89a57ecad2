"""SQLite ledger under concurrent processes and crashes (the thread cases are in the
ledger contract, for every ledger)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from relcore.contact_policy import Contact, ContactGuard, FrequencyCap, Policy, SQLiteLedger

SRC = str(Path(__file__).resolve().parents[2] / "src")
BASE = datetime(2026, 6, 1, 9, tzinfo=UTC)


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
