"""PostgresLedger against a real PostgreSQL server: the ledger contract, its schema and its
errors. The server comes from the ``postgres_dsn`` fixture (conftest.py); each test gets a
schema of its own."""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import pickle
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from relcore import DataError, LedgerError
from relcore.contact_policy import (
    AuditRecord,
    Contact,
    ContactGuard,
    Cooldown,
    Entry,
    FrequencyCap,
    KeyedEntry,
    MemoryLedger,
    Policy,
    PostgresLedger,
)
from relcore.contact_policy import postgres as postgres_module
from relcore.models import ContactPreferences


def _load_contract():
    """The shared contract tests (pytest imports test modules by path, not as a package)."""
    path = Path(__file__).with_name("test_ledger_contract.py")
    spec = importlib.util.spec_from_file_location("_relcore_ledger_contract", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_contract = _load_contract()
LedgerContract = _contract.LedgerContract
contact = _contract.contact
_NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
SRC = str(Path(__file__).resolve().parents[2] / "src")


class TestPostgresLedger(LedgerContract):
    @pytest.fixture(autouse=True)
    def _server(self, postgres_dsn, postgres_schema):
        self.dsn, self.schema = postgres_dsn, postgres_schema

    def make_ledger(self, tmp_path):
        return PostgresLedger(self.dsn, schema=self.schema)

    def test_a_pickled_ledger_connects_again_to_the_same_schema(self, ledger):
        ledger.append([contact("a", 1)])
        copy = pickle.loads(pickle.dumps(ledger))
        assert copy.customer_history("a").at.tolist() == [1]
        copy.close()

    def test_entries_survive_closing_and_reopening(self, ledger):
        ledger.append([contact("a", 1)])
        ledger.close()
        again = PostgresLedger(self.dsn, schema=self.schema)
        assert again.customer_history("a").at.tolist() == [1]
        again.close()

    def test_every_column_round_trips_when_entries_are_appended_one_at_a_time(self, ledger):
        entries = [
            Entry("a", 1, "email", "promotional", "spring", "message", True),
            Entry("a", 2, None, None, None, "complaint", False),
        ]
        for e in entries:
            ledger.append([e])
        with ledger.exclusive("a") as session:
            session.append([Entry("a", 3, "sms", None, "spring", "message", True)])
        assert ledger.customer_history("a").entries(0) == [
            *entries,
            Entry("a", 3, "sms", None, "spring", "message", True),
        ]

    def test_histories_of_more_customers_than_one_query_holds_are_all_read(
        self, ledger, monkeypatch
    ):
        monkeypatch.setattr(postgres_module, "_CHUNK", 3)
        ledger.append([contact(f"c{i}", i) for i in range(10)])
        asked = [f"c{i}" for i in (9, 0, 4, 4, 11, 7, 1, 2, 3, 5, 6, 8)]
        h = ledger.histories(asked)
        assert [h.at[s:e].tolist() for s, e in zip(h.starts, h.ends, strict=True)] == [
            [int(c[1:])] if c != "c11" else [] for c in asked
        ]

    def test_an_append_larger_than_one_statement_is_stored_whole(self, ledger, monkeypatch):
        monkeypatch.setattr(postgres_module, "_CHUNK", 3)
        ledger.append([contact("a", t) for t in range(10)])
        assert ledger.customer_history("a").at.tolist() == list(range(10))
        with pytest.raises(DataError, match="customer_id"):  # the bad row is in chunk 3
            ledger.append([contact("b", t) for t in range(7)] + [contact("b\x00", 8)])
        assert ledger.customer_history("b").at.tolist() == []


def test_an_audience_and_pruning_decide_as_on_a_memory_ledger_with_the_same_history(
    postgres_dsn, postgres_schema
):
    # the MemoryLedger is the independent reference: same entries, same policy
    rng = np.random.default_rng(5)
    day = 86_400_000_000
    now = datetime(2026, 6, 10, 15, tzinfo=UTC)
    now_us = int(now.timestamp()) * 1_000_000
    entries = [
        Entry(f"c{int(c)}", now_us - int(t), str(ch), None, None, kind, kind == "message")
        for c, t, ch, kind in zip(
            rng.integers(0, 300, 2000),
            rng.integers(1, 60 * day, 2000),  # pruning keeps 33 days
            rng.choice(["email", "sms"], 2000),
            rng.choice(["message", "message", "message", "complaint"], 2000),
            strict=True,
        )
    ]
    policy = Policy(
        [
            FrequencyCap(3, per=timedelta(days=7), channel="email"),
            FrequencyCap(1, per="calendar_day"),
            Cooldown(after="complaint", duration=timedelta(days=5)),
        ]
    )
    audience = [f"c{i}" for i in range(320)]  # 20 without any history
    reference, ledger = MemoryLedger(), PostgresLedger(postgres_dsn, schema=postgres_schema)
    for store in (reference, ledger):
        store.append(entries)
    for pruned in (False, True):  # then again after pruning what the policy no longer reads
        if pruned:
            removed = ContactGuard(policy, ledger).prune(now)
            assert removed == ContactGuard(policy, reference).prune(now) > 0
            assert len(ledger) == len(reference) < len(entries)
        want = ContactGuard(policy, reference).check_many(audience, channel="email", at=now)
        got = ContactGuard(policy, ledger).check_many(audience, channel="email", at=now)
        assert got.allowed.tolist() == want.allowed.tolist()
        assert got.reason_codes.tolist() == want.reason_codes.tolist()
        assert got.next_allowed_at.tolist() == want.next_allowed_at.tolist()
        assert 0 < int(want.allowed.sum()) < len(audience)
    ledger.close()


def test_the_schema_has_a_version_table_and_the_ledger_is_indexed_by_customer_and_time(
    postgres_dsn, postgres_schema, connect
):
    ledger = PostgresLedger(postgres_dsn, schema=postgres_schema)
    ledger.append([contact("a", 1)])
    assert ledger.schema_version() == postgres_module.SCHEMA_VERSION == 3
    conn = connect()
    rows = conn.execute(
        f'SELECT version, relcore_version, description FROM "{postgres_schema}".schema_version'
    ).fetchall()
    assert [r[0] for r in rows] == [1, 2, 3]
    indexes = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s", (postgres_schema,)
        )
    }
    assert "(customer_id, at)" in indexes["ledger_customer_at"]
    assert "(at)" in indexes["ledger_at"]
    ledger.close()


def test_keys_are_unique_reservations_indexed_and_preferences_and_decisions_have_tables(
    postgres_dsn, postgres_schema, connect
):
    PostgresLedger(postgres_dsn, schema=postgres_schema).close()
    conn = connect()
    indexes = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s", (postgres_schema,)
        )
    }
    assert indexes["ledger_key"].startswith("CREATE UNIQUE INDEX")
    assert indexes["ledger_key"].endswith("(key) WHERE (key IS NOT NULL)")
    assert indexes["ledger_held"].endswith(
        "(customer_id, held_until) WHERE (held_until IS NOT NULL)"
    )
    assert "(customer_id, decided_at)" in indexes["decisions_customer"]
    columns = {
        (r[0], r[1]): r[2]
        for r in conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s",
            (postgres_schema,),
        )
    }
    assert columns[("ledger", "key")] == "text"
    assert columns[("ledger", "held_until")] == "bigint"
    assert columns[("preferences", "reach")] == "bigint"
    assert columns[("preferences", "preferences")] == "json"
    assert columns[("decisions", "decided_at")] == "bigint"
    assert columns[("decisions", "record")] == "json"


def test_a_schema_newer_than_this_relcore_is_refused_naming_both_versions(
    postgres_dsn, postgres_schema, connect
):
    PostgresLedger(postgres_dsn, schema=postgres_schema).close()
    connect().execute(
        f'INSERT INTO "{postgres_schema}".schema_version (version, relcore_version, description) '
        "VALUES (99, '9.9', 'from the future')"
    )
    with pytest.raises(LedgerError, match=r"version 99, newer than this relcore knows \(3\)"):
        PostgresLedger(postgres_dsn, schema=postgres_schema)


def test_ledgers_opened_at_once_on_a_new_schema_create_it_exactly_once(
    postgres_dsn, postgres_schema, connect
):
    opened, failures = [], []
    start = threading.Barrier(8)

    def open_one():
        start.wait()
        try:
            opened.append(PostgresLedger(postgres_dsn, schema=postgres_schema))
        except Exception as exc:  # reported below, with the others
            failures.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    versions = connect().execute(f'SELECT version FROM "{postgres_schema}".schema_version')
    assert [r[0] for r in versions] == [1, 2, 3]
    for ledger in opened:
        ledger.close()


def test_schemas_are_independent_ledgers_and_any_name_is_quoted(postgres_dsn, connect):
    names = ['relcore odd "name"', "relcore_plain"]
    try:
        one, two = (PostgresLedger(postgres_dsn, schema=n) for n in names)
        one.append([contact("a", 1)])
        two.append([contact("a", 2), contact("a", 3)])
        assert one.customer_history("a").at.tolist() == [1]
        assert len(two) == 2
        one.close()
        two.close()
    finally:
        for n in names:
            quoted = '"' + n.replace('"', '""') + '"'
            connect().execute(f"DROP SCHEMA IF EXISTS {quoted} CASCADE")


def test_errors_name_the_server_but_never_the_password(postgres_dsn, postgres_schema):
    with_password = f"{postgres_dsn} password=s3cret-pw"
    ledger = PostgresLedger(with_password, schema=postgres_schema)  # trust auth ignores it
    assert "s3cret" not in repr(ledger)
    assert "s3cret" not in ledger.server
    assert "port=" in ledger.server
    ledger.close()
    with pytest.raises(LedgerError) as closed:
        len(ledger)
    assert "s3cret" not in str(closed.value)
    assert re.search(r"PostgreSQL ledger .*port=\d+.* is closed", str(closed.value))

    port = _closed_port()
    with pytest.raises(LedgerError) as unreachable:
        PostgresLedger(f"host=127.0.0.1 port={port} user=x password=s3cret-pw dbname=y")
    message = str(unreachable.value)
    named = message.split(" (schema relcore): ")[0]
    assert named.startswith("PostgreSQL ledger ")
    assert named == f"PostgreSQL ledger host=127.0.0.1 port={port} dbname=y user=x"
    assert "s3cret" not in message


def _closed_port() -> int:
    import socket

    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_importing_the_contact_policy_does_not_import_psycopg():
    code = (
        "import sys, relcore.contact_policy as p; p.PostgresLedger; print('psycopg' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "False"


def test_without_psycopg_the_error_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what a failed import leaves
    with pytest.raises(ImportError, match=re.escape("pip install 'relcore[postgres]'")):
        PostgresLedger("host=localhost")


def test_a_dsn_libpq_cannot_read_is_a_ledger_error():
    pytest.importorskip("psycopg")
    with pytest.raises(LedgerError, match="not a libpq connection string"):
        PostgresLedger("host=localhost this is not a dsn")


def test_bad_arguments_are_refused_before_connecting():
    with pytest.raises(TypeError, match="dsn must be a string"):
        PostgresLedger(b"host=localhost")
    with pytest.raises(ValueError, match="timeout must be a positive"):
        PostgresLedger("host=localhost", timeout=0)
    with pytest.raises(ValueError, match="schema must be a name of 1 to 63 UTF-8 bytes"):
        PostgresLedger("host=localhost", schema="x" * 64)
    for unstorable in ("", "a\x00b", "\ud800"):
        with pytest.raises(ValueError, match="schema must be a name"):
            PostgresLedger("host=localhost", schema=unstorable)


def test_a_database_that_is_not_utf8_is_refused(postgres_dsn, connect):
    admin = connect()
    name = "relcore_latin1"
    admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.execute(
        f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'"
    )
    try:
        dsn = re.sub(r"dbname=\S+", f"dbname={name}", postgres_dsn)
        with pytest.raises(LedgerError, match="encoding is LATIN1; relcore needs UTF8"):
            PostgresLedger(dsn)
    finally:
        admin.execute(f"DROP DATABASE {name}")


def test_text_postgresql_cannot_store_is_a_data_error_naming_the_rows(
    postgres_dsn, postgres_schema
):
    ledger = PostgresLedger(postgres_dsn, schema=postgres_schema)
    entries = [contact("a", 1), contact("b\x00", 2), contact("c", 3, "\ud800"), contact("d", 4)]
    with pytest.raises(DataError) as refused:
        ledger.append(entries)
    assert (refused.value.column, refused.value.rows) == ("customer_id", (1,))
    with pytest.raises(DataError) as refused:
        ledger.append([entries[0], entries[2]])
    assert (refused.value.column, refused.value.rows) == ("channel", (1,))
    with pytest.raises(DataError, match="customer_id"):
        ledger.histories(["a", "b\x00"])
    assert len(ledger) == 0
    ledger.close()


def test_preferences_and_audit_records_keep_any_text_a_nul_and_a_lone_surrogate_included(
    postgres_dsn, postgres_schema
):
    # stored as JSON text in json columns: escapes are kept as written
    odd = {"a\x00b", "\ud800x", "é", 'q"\\'}
    prefs = ContactPreferences(opted_out_channels=odd, opted_out_categories={"\x00"})
    at = datetime(2026, 6, 1, 9, tzinfo=UTC)
    record = AuditRecord(
        decided_at=at,
        action="check",
        customer_id="a",
        allowed=False,
        codes=("opted_out",),
        messages=("the customer opted out of a\x00b",),
        at=at,
        channel="a\x00b",
        category="\ud800x",
        policy_hash="ab" * 32,
    )
    ledger = PostgresLedger(postgres_dsn, schema=postgres_schema)
    ledger.set_preferences("a", prefs)
    ledger.log_decisions([record, record])
    assert ledger.get_preferences("a") == prefs
    assert ledger.get_preferences_many(["a"]) == {"a": prefs}
    assert ledger.decisions() == [record, record]
    ledger.close()


def test_a_key_postgresql_cannot_store_is_a_data_error_naming_the_key(
    postgres_dsn, postgres_schema
):
    ledger = PostgresLedger(postgres_dsn, schema=postgres_schema)
    with pytest.raises(DataError, match="key"):
        ledger.keyed("m\x00")
    with ledger.exclusive("a") as session:
        with pytest.raises(DataError, match="key"):
            session.add_keyed(KeyedEntry("m\x00", contact("a", 1), 100))
        session.add_keyed(KeyedEntry("m-1", contact("a", 1), 100))  # the section goes on
    assert ledger.keyed("m-1").held_until == 100
    ledger.close()


def test_waiting_longer_than_the_timeout_for_a_customer_is_a_ledger_error(
    postgres_dsn, postgres_schema
):
    holder = PostgresLedger(postgres_dsn, schema=postgres_schema)
    waiter = PostgresLedger(postgres_dsn, schema=postgres_schema, timeout=0.2)
    with holder.exclusive("a") as session:
        session.append([contact("a", 1)])
        with pytest.raises(LedgerError, match="lock timeout"):
            ContactGuard(Policy([]), waiter).request(Contact("a", channel="sms", at=_NOW))
        with waiter.exclusive("b") as other:  # another customer does not wait
            other.append([contact("b", 1)])
    assert waiter.customer_history("a").at.tolist() == [1]
    holder.close()
    waiter.close()


def test_an_exclusive_section_inside_another_on_the_same_thread_is_refused(
    postgres_dsn, postgres_schema
):
    ledger = PostgresLedger(postgres_dsn, schema=postgres_schema)
    with ledger.exclusive("a") as session:
        session.append([contact("a", 1)])
        with pytest.raises(LedgerError, match="cannot start inside another"), ledger.exclusive("b"):
            pass
    assert ledger.customer_history("a").at.tolist() == [1]
    ledger.close()


def test_a_connection_the_server_dropped_is_replaced_on_the_next_call(
    postgres_dsn, postgres_schema, connect
):
    from psycopg.conninfo import make_conninfo

    # a name of its own: the other tests' connections (on a shared server) are not ours
    name = f"relcore-dropped-{postgres_schema}"
    dsn = make_conninfo(postgres_dsn, application_name=name)
    ledger = PostgresLedger(dsn, schema=postgres_schema)
    ledger.append([contact("a", 1)])
    admin = connect()
    mine = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
    pids = [r[0] for r in admin.execute(mine, (name,))]
    assert pids
    admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
    deadline = time.monotonic() + 30
    while admin.execute(mine, (name,)).fetchall() and time.monotonic() < deadline:
        time.sleep(0.01)  # until the server has ended them
    with pytest.raises(LedgerError, match=r"^PostgreSQL ledger host="):
        len(ledger)  # the call that finds the connection gone fails, naming the server
    assert len(ledger) == 1
    assert ledger.customer_history("a").at.tolist() == [1]
    ledger.close()


_INHERITED: PostgresLedger | None = None


def _count_in_child(_: int) -> int:
    assert _INHERITED is not None
    with _INHERITED.exclusive("a") as session:
        n = len(session.customer_rows().at)
        session.append([contact("a", 100 + n)])
    return n


def test_a_ledger_inherited_by_fork_connects_again_and_leaves_the_parents_connection_alone(
    postgres_dsn, postgres_schema
):
    global _INHERITED
    ledger = PostgresLedger(postgres_dsn, schema=postgres_schema)
    ledger.append([contact("a", 1)])  # the parent's connection is open
    _INHERITED = ledger
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            seen = pool.map(_count_in_child, range(4))
    finally:
        _INHERITED = None
    assert sorted(seen) == [1, 2, 3, 4]
    assert len(ledger) == 5  # the parent's connection still works
    ledger.close()
