"""Erasure across processes, and what an erased customer leaves in the store (issue 16).

The rules every ledger follows (what ``forget`` removes, the suppression record, a
forget racing requests from threads) are in the ledger contract; here processes race a
forget on SQLite and PostgreSQL, and the SQLite file is read byte by byte."""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# ---------------------------------------------------------------------- a property

_IDS = ["a", "b", "c"]
_KINDS = ["message", "open", "unsubscribe"]


def _observe(ledger, ids):
    return {
        c: (
            ledger.customer_history(c, held_at=0).entries(0),
            ledger.get_preferences(c),
            [(r.customer_id, r.decided_at, r.action) for r in ledger.decisions(customer_id=c)],
        )
        for c in ids
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entries=st.lists(
        st.tuples(
            st.sampled_from(_IDS),
            st.integers(0, 50),
            st.sampled_from(["email", "sms", None]),
            st.sampled_from(["promotional", None]),
            st.sampled_from(_KINDS),
        ),
        max_size=30,
    ),
    opted=st.dictionaries(st.sampled_from(_IDS), st.sampled_from(["email", "sms"])),
    gone=st.sampled_from(_IDS),
    store=st.sampled_from(["memory", "sqlite"]),
)
def test_forget_leaves_every_other_customer_exactly_as_it_was(entries, opted, gone, store):
    import tempfile
    from pathlib import Path

    from relcore.contact_policy import AuditRecord

    with tempfile.TemporaryDirectory() as tmp:
        ledger = MemoryLedger() if store == "memory" else SQLiteLedger(Path(tmp) / "l.db")
        try:
            ledger.append(
                [
                    Entry(c, t, ch, cat, None, kind, kind == "message")
                    for c, t, ch, cat, kind in entries
                ]
            )
            for c, channel in opted.items():
                ledger.set_preferences(c, ContactPreferences(opted_out_channels={channel}))
            ledger.log_decisions(
                [
                    AuditRecord.from_dict(_record_dict(c, h))
                    for h, (c, *_rest) in enumerate(entries[:5])
                ]
            )
            others = [c for c in _IDS if c != gone]
            before = _observe(ledger, others)
            mine = [e for e in entries if e[0] == gone]
            erased = ledger.forget(gone)
            assert _observe(ledger, others) == before
            assert erased.entries == len(mine)
            assert ledger.customer_history(gone).entries(0) == []
            assert ledger.decisions(customer_id=gone) == []
            # what stays: exactly the opt-outs, from preferences and unsubscribes
            channels = {opted[gone]} if gone in opted else set()
            categories = set()
            for _, _, ch, cat, kind in mine:
                if kind == "unsubscribe":
                    if cat is not None:
                        categories.add(cat)
                    elif ch is not None:
                        channels.add(ch)
            assert (erased.suppressed_channels, erased.suppressed_categories) == (
                channels,
                categories,
            )
            left = ledger.get_preferences(gone)
            if channels or categories:
                assert left == ContactPreferences(
                    opted_out_channels=channels, opted_out_categories=categories
                )
            else:
                assert left is None
        finally:
            ledger.close()


def _record_dict(customer, hour):
    at = (BASE + timedelta(hours=hour)).isoformat()
    return {
        "decided_at": at,
        "action": "check",
        "customer_id": customer,
        "allowed": True,
        "codes": [],
        "messages": [],
        "next_allowed_at": None,
        "at": at,
        "local_at": at,
        "timezone": "UTC",
        "channel": "email",
        "category": None,
        "campaign": None,
        "priority": 0,
        "key": None,
        "held_until": None,
        "policy_name": "p",
        "policy_hash": "ab" * 32,
        "replayed": False,
    }


def test_a_ledger_of_its_own_that_does_not_forget_says_so():
    from relcore import LedgerError
    from relcore.contact_policy import Ledger

    class Partial(Ledger):  # a third party's ledger written before erasure existed
        pass

    with pytest.raises(LedgerError, match="Partial does not implement forget"):
        Partial().forget("c1")
    with pytest.raises(LedgerError, match="lift_suppression"):
        Partial().lift_suppression("c1")
