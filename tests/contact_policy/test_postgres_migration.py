"""A PostgreSQL schema written by the first PostgresLedger (schema version 1: the ledger
table alone) is migrated to the current version when a ledger of this relcore opens it,
once, and keeps every row as it was.

The old schema is made by this relcore's own code with only the first migration applied
(the migrations are append-only: the first is what the first release ran).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from relcore.contact_policy import (
    Contact,
    ContactGuard,
    Entry,
    FrequencyCap,
    Policy,
    PostgresLedger,
)
from relcore.contact_policy import postgres as postgres_module
from relcore.models import ContactLimit, ContactPreferences

JUNE_1 = datetime(2026, 6, 1, 9, tzinfo=UTC)
DAY = 86_400_000_000


def us(t: datetime) -> int:
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


OLD_ENTRIES = [
    Entry("c1", us(JUNE_1), "email", "promotional", "spring", "message", True),
    Entry("c1", us(JUNE_1 + timedelta(hours=1)), "sms", None, None, "message", True),
    Entry("c1", us(JUNE_1 + timedelta(hours=4)), None, None, None, "complaint", False),
    Entry("c2", us(JUNE_1 - timedelta(days=40)), "email", "promotional", None, "message", True),
    Entry("c2", us(JUNE_1 - timedelta(days=40)), "email", "promotional", None, "message", True),
]


@pytest.fixture
def v1_schema(postgres_dsn, postgres_schema, monkeypatch):
    """A schema at version 1 holding OLD_ENTRIES; the current migrations are back after."""
    with monkeypatch.context() as old_relcore:
        old_relcore.setattr(postgres_module, "_MIGRATIONS", postgres_module._MIGRATIONS[:1])
        old_relcore.setattr(postgres_module, "SCHEMA_VERSION", 1)
        old = PostgresLedger(postgres_dsn, schema=postgres_schema)
        old.append(OLD_ENTRIES)
        assert old.schema_version() == 1
        old.close()
    return postgres_schema


def raw(connect, schema, query, params=()):
    """Rows of ``query`` run with plain psycopg; ``{s}`` in it is the quoted schema."""
    return connect().execute(query.format(s=f'"{schema}"'), params).fetchall()


def table_names(connect, schema) -> set[str]:
    query = "SELECT tablename FROM pg_tables WHERE schemaname = %s"
    return {r[0] for r in raw(connect, schema, query, (schema,))}


def test_the_old_schema_has_the_ledger_table_alone_without_keys(connect, v1_schema):
    assert table_names(connect, v1_schema) == {"ledger", "schema_version"}
    columns = raw(
        connect,
        v1_schema,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = 'ledger'",
        (v1_schema,),
    )
    assert {"key", "held_until"}.isdisjoint(r[0] for r in columns)
    assert raw(connect, v1_schema, "SELECT version FROM {s}.schema_version") == [(1,)]


def test_an_old_schema_is_migrated_when_opened_and_every_row_is_kept_as_it_was(
    postgres_dsn, connect, v1_schema
):
    columns = "id, customer_id, at, channel, category, campaign, kind, company"
    before = raw(connect, v1_schema, f"SELECT {columns} FROM {{s}}.ledger ORDER BY id")
    assert len(before) == len(OLD_ENTRIES)

    ledger = PostgresLedger(postgres_dsn, schema=v1_schema)
    assert ledger.schema_version() == postgres_module.SCHEMA_VERSION == 3
    after = raw(
        connect, v1_schema, f"SELECT {columns}, key, held_until FROM {{s}}.ledger ORDER BY id"
    )
    assert [r[:-2] for r in after] == before
    assert {r[-2:] for r in after} == {(None, None)}  # no key; recorded, not held
    versions = raw(connect, v1_schema, "SELECT version FROM {s}.schema_version ORDER BY version")
    assert versions == [(1,), (2,), (3,)]
    assert {"preferences", "decisions"} <= table_names(connect, v1_schema)

    # read through the ledger, the old entries are recorded entries like any other
    assert len(ledger) == len(OLD_ENTRIES)
    for cid in ("c1", "c2"):
        mine = [e for e in OLD_ENTRIES if e.customer_id == cid]
        assert ledger.customer_history(cid).entries(0) == mine
        assert ledger.customer_history(cid, held_at=0).entries(0) == mine
    ledger.close()


def test_a_migrated_schema_takes_reservations_preferences_and_decisions(postgres_dsn, v1_schema):
    ledger = PostgresLedger(postgres_dsn, schema=v1_schema)
    ninety = ContactPreferences(max_contacts=ContactLimit(1, per=timedelta(days=90)))
    ledger.set_preferences("c2", ninety)
    guard = ContactGuard(Policy([FrequencyCap(3, per="calendar_day")]), ledger, audit=True)
    # c1 had two contacts on June 1: a reservation takes the third slot, then nothing fits
    contact = Contact("c1", channel="email", at=JUNE_1 + timedelta(hours=5))
    assert guard.reserve(contact, key="m-1").allowed
    assert not guard.request(Contact("c1", channel="sms", at=contact.at)).allowed
    assert ledger.keyed("m-1").held_until is not None
    # c2's own 90-day limit still reads the 40-day-old contacts after pruning 33 days
    assert ledger.prune(us(JUNE_1) - 33 * DAY) == 0
    assert not guard.request(Contact("c2", channel="email", at=JUNE_1)).allowed
    assert [r.action for r in ledger.decisions(customer_id="c1")] == ["reserve", "request"]
    ledger.close()


def test_ledgers_opening_an_old_schema_at_once_migrate_it_exactly_once(
    postgres_dsn, connect, v1_schema
):
    opened, failures = [], []
    start = threading.Barrier(6)

    def open_one():
        start.wait()
        try:
            opened.append(PostgresLedger(postgres_dsn, schema=v1_schema))
        except Exception as exc:  # reported below, with the others
            failures.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    versions = raw(connect, v1_schema, "SELECT version FROM {s}.schema_version ORDER BY version")
    assert versions == [(1,), (2,), (3,)]
    assert all(len(ledger) == len(OLD_ENTRIES) for ledger in opened)
    for ledger in opened:
        ledger.close()


def test_a_version_2_schema_gains_suppressions_and_its_opted_out_customers_stay_refused(
    postgres_dsn, postgres_schema, connect, monkeypatch
):
    from relcore.contact_policy import Contact, ContactGuard, Policy
    from relcore.models import ContactPreferences

    with monkeypatch.context() as old_relcore:  # the relcore before erasure
        old_relcore.setattr(postgres_module, "_MIGRATIONS", postgres_module._MIGRATIONS[:2])
        old_relcore.setattr(postgres_module, "SCHEMA_VERSION", 2)
        old = PostgresLedger(postgres_dsn, schema=postgres_schema)
        old.append(OLD_ENTRIES)
        old.set_preferences("c1", ContactPreferences(opted_out_channels={"sms"}))
        assert old.schema_version() == 2
        old.close()
    assert "suppressions" not in table_names(connect, postgres_schema)

    ledger = PostgresLedger(postgres_dsn, schema=postgres_schema)
    assert ledger.schema_version() == 3
    assert {"suppressions", "salt"} <= table_names(connect, postgres_schema)
    assert len(ledger) == len(OLD_ENTRIES)
    erased = ledger.forget("c1")
    assert erased.entries == 3
    assert erased.suppressed_channels == {"sms"}
    assert len(ledger) == 2
    guard = ContactGuard(Policy([]), ledger)
    assert guard.check(Contact("c1", channel="sms", at=JUNE_1)).codes == ("opted_out",)
    ledger.close()
