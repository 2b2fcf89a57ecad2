"""SQLiteLedger when things go wrong: closing under load, and files it cannot use.

Closing a ledger while other threads used it crashed the interpreter (SIGSEGV); those
runs happen in a subprocess, so that a crash fails the test instead of killing pytest.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from relcore import LedgerError
from relcore.contact_policy import Contact, ContactGuard, Entry, Policy, SQLiteLedger

SRC = str(Path(__file__).resolve().parents[2] / "src")
NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)


def run_python(code: str, *args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC}
    command = [*prefix, sys.executable, "-c", textwrap.dedent(code), *args]
    if prefix:  # capsh takes the command line as one shell string
        command = [*prefix, shlex.join(command[len(prefix) :])]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


HAMMER = """
    import sys, threading, time
    from datetime import datetime, timedelta, timezone
    from relcore import LedgerError
    from relcore.contact_policy import Contact, ContactGuard, FrequencyCap, Policy, SQLiteLedger

    ledger = SQLiteLedger(sys.argv[1])
    guard = ContactGuard(Policy([FrequencyCap(3, per="calendar_day")]), ledger)
    base = datetime(2026, 6, 1, tzinfo=timezone.utc)
    outcomes, stop, started = [], threading.Event(), threading.Barrier(7)

    def hammer(k):
        started.wait()
        i = 0
        while not stop.is_set():
            at = base + timedelta(seconds=k * 10**6 + i)
            try:
                guard.request(Contact(f"c{i % 20}", channel="email", at=at))
                guard.check_many([f"c{j}" for j in range(5)], channel="email", at=at)
                outcomes.append("ok")
            except LedgerError as exc:
                outcomes.append(str(exc))
            i += 1

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.15)
    ledger.close()
    time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert outcomes.count("ok") > 0
    print(sorted(set(outcomes) - {"ok"}))
"""


def test_closing_while_six_threads_request_lets_calls_finish_and_later_ones_fail_clearly(
    tmp_path,
):
    path = tmp_path / "contacts.db"
    for _ in range(2):  # it crashed three runs out of three
        done = run_python(HAMMER, str(path))
        assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
        assert done.stdout.strip() == str([f"SQLite ledger {path} is closed"])
    again = SQLiteLedger(path)
    assert again.integrity_check() == "ok"
    again.close()


def test_every_call_after_close_raises_ledger_error_and_closing_twice_is_harmless(tmp_path):
    ledger = SQLiteLedger(tmp_path / "l.db")
    ledger.append([Entry("a", 1, "email", None, None, "message", True)])
    ledger.close()
    ledger.close()
    calls = [
        lambda: len(ledger),
        lambda: ledger.append([Entry("a", 2, "email", None, None, "message", True)]),
        lambda: ledger.customer_history("a"),
        lambda: ledger.customer_rows("a"),
        lambda: ledger.histories(["a"]),
        lambda: ledger.prune(0),
        lambda: ledger.integrity_check(),
        lambda: ledger.exclusive("a").__enter__(),
        lambda: ContactGuard(Policy([]), ledger).request(Contact("a", channel="sms", at=NOW)),
    ]
    for call in calls:
        with pytest.raises(LedgerError, match=r"l\.db is closed"):
            call()
    # from a thread that never used the ledger, too
    failures = []
    thread = threading.Thread(target=lambda: failures.append(_error_of(lambda: len(ledger))))
    thread.start()
    thread.join()
    assert failures == [f"SQLite ledger {tmp_path / 'l.db'} is closed"]


def _error_of(call) -> str:
    try:
        call()
    except LedgerError as exc:
        return str(exc)
    return "no error"


def test_close_waits_for_an_exclusive_section_in_progress_which_commits(tmp_path):
    ledger = SQLiteLedger(tmp_path / "l.db")
    inside, may_leave, closed = threading.Event(), threading.Event(), threading.Event()

    def section():
        with ledger.exclusive("a") as session:
            session.append([Entry("a", 1, "email", None, None, "message", True)])
            inside.set()
            may_leave.wait(30)

    worker = threading.Thread(target=section)
    worker.start()
    inside.wait(30)
    closer = threading.Thread(target=lambda: (ledger.close(), closed.set()))
    closer.start()
    closer.join(0.2)
    assert not closed.is_set()  # close() is waiting for the section
    may_leave.set()
    worker.join()
    closer.join()
    assert closed.is_set()
    reopened = SQLiteLedger(tmp_path / "l.db")
    assert reopened.customer_history("a").at.tolist() == [1]
    reopened.close()


def test_a_file_that_is_not_a_database_is_named_in_the_error(tmp_path):
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a SQLite database, only some text " * 100)
    with pytest.raises(
        LedgerError, match=re.escape(f"SQLite ledger {path}: file is not a database")
    ):
        SQLiteLedger(path)


def test_a_path_that_cannot_be_opened_is_named_in_the_error(tmp_path):
    with pytest.raises(LedgerError, match=re.escape(f"SQLite ledger {tmp_path}: unable to open")):
        SQLiteLedger(tmp_path)  # a directory


def test_a_database_locked_beyond_the_timeout_is_named_in_the_error(tmp_path):
    path = tmp_path / "l.db"
    ledger = SQLiteLedger(path, timeout=0.05)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another writer holds the file
    try:
        with pytest.raises(
            LedgerError, match=re.escape(f"SQLite ledger {path}: database is locked")
        ):
            ledger.append([Entry("a", 1, "email", None, None, "message", True)])
        with pytest.raises(LedgerError, match="database is locked"):
            ContactGuard(Policy([]), ledger).request(Contact("a", channel="sms", at=NOW))
    finally:
        other.execute("ROLLBACK")
        other.close()
    ledger.append([Entry("a", 1, "email", None, None, "message", True)])  # free again
    assert len(ledger) == 1
    ledger.close()


READ_ONLY = """
    import sys
    from relcore import LedgerError
    from relcore.contact_policy import Entry, SQLiteLedger
    try:
        ledger = SQLiteLedger(sys.argv[1])
        ledger.append([Entry("a", 2, "email", None, None, "message", True)])
    except LedgerError as exc:
        print(exc)
"""


def test_a_read_only_database_is_named_in_the_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "l.db"
    ledger = SQLiteLedger(path)
    ledger.append([Entry("a", 1, "email", None, None, "message", True)])
    ledger.close()
    for file in folder.iterdir():
        file.chmod(0o444)
    folder.chmod(0o555)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:  # root writes anyway, unless it gives up overriding permissions
        capsh = shutil.which("capsh")
        if capsh is None:
            pytest.skip("running as root without capsh to drop CAP_DAC_OVERRIDE")
        prefix = (capsh, "--drop=cap_dac_override,cap_dac_read_search,cap_fowner", "--", "-c")
    try:
        done = run_python(READ_ONLY, str(path), prefix=prefix)
    finally:
        folder.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"SQLite ledger {path}: ")
    assert "readonly" in done.stdout or "unable to open" in done.stdout
