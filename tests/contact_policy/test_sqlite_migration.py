"""A SQLite ledger written by an older relcore opens, is migrated once, and loses nothing.

``data/ledger_v1.sqlite3`` was written by relcore before the schema had a version (see
``data/README.md``).
"""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from relcore import LedgerError
from relcore.contact_policy import (
    Contact,
    ContactGuard,
    Entry,
    FrequencyCap,
    KeyedEntry,
    Policy,
    SQLiteLedger,
)
from relcore.contact_policy.sqlite import SCHEMA_VERSION
from relcore.models import ContactPreferences

V1 = Path(__file__).parent / "data" / "ledger_v1.sqlite3"  # not *.db: .gitignore skips those
JUNE_1 = datetime(2026, 6, 1, 9, tzinfo=UTC)


def us(t: datetime) -> int:
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@pytest.fixture
def v1(tmp_path):
    path = tmp_path / "ledger.db"
    shutil.copyfile(V1, path)
    return path


def schema(path) -> tuple[list[tuple], set[str]]:
    conn = sqlite3.connect(path)
    try:
        versions = conn.execute("SELECT version FROM relcore_schema").fetchall()
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    return versions, names


def test_the_old_file_has_no_version_table(v1):
    # (read from a copy: SQLite opens files in WAL mode with companions beside them)
    conn = sqlite3.connect(v1)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    rows = conn.execute("SELECT count(*) FROM ledger").fetchone()[0]
    conn.close()
    assert names == {"ledger", "ledger_customer_at", "ledger_at"}
    assert rows == 4


def test_an_old_file_is_migrated_in_place_and_keeps_every_entry(v1):
    ledger = SQLiteLedger(v1)
    assert len(ledger) == 4
    c1 = ledger.customer_history("c1").entries(0)
    assert c1 == [
        Entry("c1", us(JUNE_1), "email", "promotional", None, "message", True),
        Entry("c1", us(JUNE_1 + timedelta(hours=1)), "email", "promotional", None, "message", True),
        Entry("c1", us(JUNE_1 + timedelta(hours=4)), None, None, None, "complaint", False),
    ]
    assert ledger.customer_history("c2").at.tolist() == [us(JUNE_1 - timedelta(days=40))]
    assert ledger.integrity_check() == "ok"
    ledger.close()
    versions, names = schema(v1)
    assert versions == [(SCHEMA_VERSION,)]
    assert {"preferences", "decisions", "relcore_schema", "ledger_key", "ledger_held"} <= names


def test_a_migrated_file_holds_reservations_preferences_and_decisions(v1):
    ledger = SQLiteLedger(v1)
    guard = ContactGuard(Policy([FrequencyCap(2, per="calendar_day")]), ledger)
    # the old contacts still count: c1 had two that day
    late = Contact("c1", channel="email", category="promotional", at=JUNE_1 + timedelta(hours=5))
    assert guard.check(late).codes == ("frequency_cap",)
    with ledger.exclusive("c2") as session:
        session.add_keyed(KeyedEntry("m-1", Entry("c2", 5, "sms", None, None, "message", True), 9))
    ledger.set_preferences("c2", ContactPreferences(opted_out_channels={"sms"}))
    ledger.close()
    again = SQLiteLedger(v1)
    assert again.keyed("m-1").held_until == 9
    assert again.get_preferences("c2").opted_out_channels == {"sms"}
    assert len(again) == 4
    again.close()


def test_opening_a_migrated_file_again_changes_nothing(v1):
    SQLiteLedger(v1).close()
    before = v1.read_bytes()
    SQLiteLedger(v1).close()
    assert schema(v1)[0] == [(SCHEMA_VERSION,)]
    assert v1.read_bytes() == before


def _open_and_count(path: str) -> int:
    ledger = SQLiteLedger(path)
    n = len(ledger)
    ledger.close()
    return n


def test_processes_opening_an_old_file_at_once_migrate_it_once(v1):
    with multiprocessing.get_context("fork").Pool(4) as pool:
        counts = pool.map(_open_and_count, [str(v1)] * 8)
    assert counts == [4] * 8
    assert schema(v1)[0] == [(SCHEMA_VERSION,)]


def test_a_file_of_a_newer_schema_is_refused_naming_it(tmp_path):
    path = tmp_path / "future.db"
    SQLiteLedger(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE relcore_schema SET version = ?", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match=r"future\.db: written by a newer relcore"):
        SQLiteLedger(path)


def test_a_new_file_starts_at_the_current_version(tmp_path):
    path = tmp_path / "new.db"
    SQLiteLedger(path).close()
    assert schema(path)[0] == [(SCHEMA_VERSION,)]


def test_a_version_2_file_gains_suppressions_and_its_opted_out_customers_stay_refused(
    tmp_path, monkeypatch
):
    from relcore.contact_policy import sqlite as sqlite_module

    path = tmp_path / "v2.db"
    with monkeypatch.context() as old_relcore:  # the relcore before erasure
        old_relcore.setattr(sqlite_module, "_MIGRATIONS", sqlite_module._MIGRATIONS[:2])
        old_relcore.setattr(sqlite_module, "SCHEMA_VERSION", 2)
        old = SQLiteLedger(path)
        old.append([Entry("c1", us(JUNE_1), "email", None, None, "message", True)])
        old.set_preferences("c1", ContactPreferences(opted_out_channels={"sms"}))
        old.close()
    assert schema(path)[0] == [(2,)]
    assert "suppressions" not in schema(path)[1]

    ledger = SQLiteLedger(path)
    versions, names = schema(path)
    assert versions == [(SCHEMA_VERSION,)] == [(3,)]
    assert {"suppressions", "relcore_salt"} <= names
    assert ledger.customer_history("c1").at.tolist() == [us(JUNE_1)]  # kept as it was
    assert ledger.forget("c1").suppressed_channels == {"sms"}
    guard = ContactGuard(Policy([]), ledger)
    assert guard.check(Contact("c1", channel="sms", at=JUNE_1)).codes == ("opted_out",)
    ledger.close()
