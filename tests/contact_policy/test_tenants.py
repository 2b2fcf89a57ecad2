"""Tenants: one store, several brands; no call for one reads, counts, changes or erases
another's rows (issue 16). Each tenant's ledger, driven through an interleaving of calls
for every tenant, must behave exactly as a ledger of its own would."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relcore import DataError, ReservationError
from relcore.contact_policy import (
    AuditRecord,
    Contact,
    ContactGuard,
    Entry,
    FrequencyCap,
    KeyedEntry,
    MemoryLedger,
    Policy,
    PostgresLedger,
    SQLiteLedger,
)
from relcore.models import ContactPreferences

TENANTS = ["default", "brand-a", "brand_b"]
IDS = ["c1", "c2", "c3"]
T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)


def record(customer: str, hour: int) -> AuditRecord:
    at = T0 + timedelta(hours=hour)
    return AuditRecord(
        decided_at=at,
        action="check",
        customer_id=customer,
        allowed=True,
        codes=(),
        messages=(),
        next_allowed_at=None,
        at=at,
        local_at=at.isoformat(),
        timezone="UTC",
        channel="email",
        category=None,
        priority=0,
        policy_name="p",
        policy_hash="ab" * 32,
    )


ops = st.lists(
    st.tuples(
        st.sampled_from(TENANTS),
        st.sampled_from(["append", "prefs", "unprefs", "log", "key", "forget", "prune"]),
        st.sampled_from(IDS),
        st.integers(0, 20),
    ),
    max_size=25,
)


def apply(ledger, op: str, cid: str, n: int, step: int) -> object:
    """One call; what it returned (or the error it raised), to compare with the model."""
    try:
        if op == "append":
            ledger.append([Entry(cid, n, "email", None, None, "message", True)])
        elif op == "prefs":
            ledger.set_preferences(cid, ContactPreferences(opted_out_channels={f"ch{n % 3}"}))
        elif op == "unprefs":
            ledger.set_preferences(cid, None)
        elif op == "log":
            ledger.log_decisions([record(cid, n)])
        elif op == "key":  # the same key may be used in every tenant: keys are per tenant
            with ledger.exclusive(cid) as session:
                session.add_keyed(
                    KeyedEntry(f"k{n % 4}", Entry(cid, n, "sms", None, None, "message", True), None)
                )
        elif op == "forget":
            return ledger.forget(cid)
        elif op == "prune":
            return ledger.prune(n // 2)
    except ReservationError as exc:
        return type(exc)
    return None


def observe(ledger) -> object:
    return (
        len(ledger),
        [ledger.customer_history(c).entries(0) for c in IDS],
        [ledger.get_preferences(c) for c in IDS],
        ledger.get_preferences_many(IDS),
        [(r.customer_id, r.decided_at) for r in ledger.decisions()],
        [None if (k := ledger.keyed(f"k{i}")) is None else k.entry for i in range(4)],
    )


def check_isolation(store, steps) -> None:
    tenants = {t: store.for_tenant(t) for t in TENANTS}
    models = {t: MemoryLedger() for t in TENANTS}
    try:
        for step, (tenant, op, cid, n) in enumerate(steps):
            got = apply(tenants[tenant], op, cid, n, step)
            expected = apply(models[tenant], op, cid, n, step)
            assert got == expected, (tenant, op, cid, n)
        for t in TENANTS:
            assert observe(tenants[t]) == observe(models[t]), t
            assert tenants[t].tenant == t
    finally:
        for ledger in tenants.values():
            ledger.close()


@settings(max_examples=40, deadline=None)
@given(ops)
def test_memory_tenants_each_behave_as_a_ledger_of_their_own(steps):
    check_isolation(MemoryLedger(), steps)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_sqlite_tenants_in_one_file_each_behave_as_a_ledger_of_their_own(steps):
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteLedger(Path(tmp) / "shared.db")
        try:
            check_isolation(store, steps)
        finally:
            store.close()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=ops)
def test_postgres_tenants_in_one_database_each_behave_as_a_ledger_of_their_own(
    steps, postgres_dsn, connect
):
    import uuid

    schema = f"relcore_t_{uuid.uuid4().hex[:10]}"
    store = PostgresLedger(postgres_dsn, schema=schema)
    try:
        check_isolation(store, steps)
    finally:
        store.close()
        conn = connect()  # closed with the test; one is enough
        for t in TENANTS:
            name = schema if t == "default" else f"{schema}/{t}"
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_one_customer_id_in_two_tenants_is_two_customers_with_their_own_policies(tmp_path):
    store = SQLiteLedger(tmp_path / "shared.db")
    a, b = store.for_tenant("brand-a"), store.for_tenant("brand-b")
    strict = ContactGuard(Policy([FrequencyCap(1, per="calendar_day")]), a)
    loose = ContactGuard(Policy([FrequencyCap(3, per="calendar_day")]), b)
    assert (strict.tenant, loose.tenant, ContactGuard(Policy([]), store).tenant) == (
        "brand-a",
        "brand-b",
        "default",
    )
    c = Contact("c42", channel="email", at=T0)
    assert strict.request(c).allowed
    assert not strict.request(c).allowed
    assert [loose.request(c).allowed for _ in range(4)] == [True, True, True, False]
    # stored preferences and erasure are per tenant too
    a.set_preferences("c42", ContactPreferences(opted_out_channels={"email"}))
    assert b.get_preferences("c42") is None
    erased = b.forget("c42")
    assert erased.entries == 3
    assert len(a.customer_history("c42").at) == 1
    assert a.get_preferences("c42").opted_out_channels == {"email"}
    for ledger in (a, b, store):
        ledger.close()


def test_a_file_of_a_single_tenant_is_the_default_tenant_and_gains_others(tmp_path):
    path = tmp_path / "old.db"
    old = SQLiteLedger(path)
    old.append([Entry("c1", 10, "email", None, None, "message", True)])
    old.close()
    again = SQLiteLedger(path, tenant="default")
    other = again.for_tenant("brand-b")
    assert again.customer_history("c1").at.tolist() == [10]
    assert len(other) == 0
    tables = {
        r[0]
        for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert {"ledger", "brand-b/ledger", "brand-b/suppressions"} <= tables
    again.close()
    other.close()


def test_a_pickled_tenant_ledger_reopens_the_same_tenant(tmp_path):
    import pickle

    b = SQLiteLedger(tmp_path / "shared.db", tenant="brand-b")
    b.append([Entry("c1", 10, "email", None, None, "message", True)])
    copy = pickle.loads(pickle.dumps(b))
    assert (copy.tenant, len(copy)) == ("brand-b", 1)
    assert repr(copy).endswith("tenant='brand-b')")
    copy.close()
    b.close()


@pytest.mark.parametrize("bad", ["", "a b", "x/y", '"q"', "-lead", "é", "t" * 41])
def test_a_tenant_name_is_letters_digits_underscore_or_dash(bad, tmp_path):
    with pytest.raises(DataError, match="tenant"):
        MemoryLedger(tenant=bad)
    with pytest.raises(DataError, match="tenant"):
        SQLiteLedger(tmp_path / "x.db", tenant=bad)


def test_a_tenant_name_must_be_a_string():
    with pytest.raises(TypeError, match="tenant"):
        MemoryLedger().for_tenant(3)
