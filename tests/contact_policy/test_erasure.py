"""Erasure across processes, and what an erased customer leaves in the store (issue 16).

The rules every ledger follows (what ``forget`` removes, the suppression record, a
forget racing requests from threads) are in the ledger contract; here processes race a
forget on SQLite and PostgreSQL, and the SQLite file is read byte by byte."""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime, timedelta

import pytest

from relcore.contact_policy import (
    Contact,
    ContactGuard,
    Entry,
    MemoryLedger,
    Policy,
    PostgresLedger,
    SQLiteLedger,
)
from relcore.models import ContactPreferences

BASE = datetime(2026, 6, 1, 9, tzinfo=UTC)
PER = 40


def us(t: datetime) -> int:
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _request_many(ledger, k: int) -> int:
    guard = ContactGuard(Policy([]), ledger, audit=True)
    allowed = 0
    for i in range(PER):
        at = BASE + timedelta(seconds=k * 1000 + i)
        allowed += guard.request(Contact("x", channel="email", at=at)).allowed
    ledger.close()
    return allowed


def _race(ledger, n_procs: int = 4) -> None:
    """Processes request contacts for one customer while this one forgets them."""
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(n_procs) as pool:
        pending = pool.starmap_async(_request_many, [(ledger, k) for k in range(n_procs)])
        deadline = time.monotonic() + 60
        while len(ledger.customer_history("x").at) < PER and time.monotonic() < deadline:
            time.sleep(0.005)
        seen = set(ledger.customer_history("x").at.tolist())
        assert seen, "no request was recorded in time"
        erased = ledger.forget("x")
        allowed = pending.get(120)
    total = sum(allowed)
    assert total == n_procs * PER
    kept = ledger.customer_history("x").at.tolist()
    kept_audit = [us(r.at) for r in ledger.decisions(customer_id="x")]
    assert sorted(kept) == sorted(kept_audit)  # a contact goes with its audit record
    assert erased.entries + len(kept) == total  # none lost, none counted twice
    assert erased.decisions + len(kept_audit) == total
    assert seen.isdisjoint(kept)  # recorded before the forget: gone
    for k in range(n_procs):  # each process's requests: erased up to a point, then kept
        mine = [i for i in range(PER) if us(BASE + timedelta(seconds=k * 1000 + i)) in kept]
        assert mine == list(range(PER - len(mine), PER))


def test_a_forget_racing_requests_from_processes_on_sqlite_erases_each_with_its_audit(
    tmp_path,
):
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    _race(ledger)
    ledger.close()


def test_a_forget_racing_requests_from_processes_on_postgres_erases_each_with_its_audit(
    postgres_dsn, postgres_schema
):
    ledger = PostgresLedger(postgres_dsn, schema=postgres_schema)
    _race(ledger)
    ledger.close()


def test_after_forget_the_sqlite_files_hold_no_byte_of_the_customer_id(tmp_path):
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)
    cid = "jane.doe@example.com"
    guard = ContactGuard(Policy([]), ledger, audit=True)
    for i in range(50):
        guard.request(Contact(cid, channel="email", at=BASE + timedelta(hours=i)), key=f"k{i}")
    guard.request(Contact("other", channel="email", at=BASE))
    ledger.set_preferences(cid, ContactPreferences(opted_out_channels={"sms"}))
    files = [path, tmp_path / "ledger.db-wal"]
    assert any(cid.encode() in f.read_bytes() for f in files if f.exists())

    erased = ledger.forget(cid)

    assert erased.entries == 50
    assert erased.suppressed_channels == {"sms"}
    for f in files:
        if f.exists():
            assert cid.encode() not in f.read_bytes(), f.name
    assert ledger.customer_history("other").at.tolist() == [us(BASE)]
    assert ledger.integrity_check() == "ok"
    ledger.close()


def test_a_memory_ledger_keeps_no_id_of_a_forgotten_customer():
    ledger = MemoryLedger()
    ledger.append([Entry("gone", 1, "email", None, None, "message", True)])
    ledger.append([Entry("kept", 2, "email", None, None, "message", True)])
    ledger.forget("gone")
    assert "gone" not in repr(vars(ledger))
    ledger.append([Entry("gone", 3, "email", None, None, "message", True)])  # imported again
    assert ledger.customer_history("gone").at.tolist() == [3]
    assert ledger.customer_history("kept").at.tolist() == [2]


def test_the_erasure_reads_as_json():
    ledger = MemoryLedger()
    ledger.set_preferences("a", ContactPreferences(opted_out_categories={"promotional"}))
    assert ledger.forget("a").to_dict() == {
        "entries": 0,
        "reservations": 0,
        "decisions": 0,
        "preferences": True,
        "suppressed_channels": [],
        "suppressed_categories": ["promotional"],
    }


@pytest.mark.parametrize("bad", [None, 3])
def test_forget_refuses_what_is_not_a_customer_id(bad, tmp_path):
    from relcore import DataError

    with pytest.raises(DataError, match="customer_id"):
        MemoryLedger().forget(bad)
