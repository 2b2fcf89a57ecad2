"""A ledger in PostgreSQL: one store for the processes of many hosts.

Needs the ``postgres`` extra (``pip install 'relcore[postgres]'``, which brings psycopg 3); ``import
relcore.contact_policy`` does not import psycopg, constructing a
[`PostgresLedger`][relcore.contact_policy.PostgresLedger] does.

Atomicity. A guarded request runs its read, decision and write in one transaction that
first takes a transaction-scoped advisory lock on the customer
(``pg_advisory_xact_lock`` on a 64-bit BLAKE2b hash of the schema and the customer id).
Sections for the same customer queue on that lock, from any process on any host; sections
for different customers never wait for each other (two ids that share a hash only queue
needlessly). The transaction is READ COMMITTED, so the read that follows the lock sees
every section committed before it: the lock is released only after the commit is
visible. When a client dies, the server ends its session, rolls its transaction back and
frees the lock; nothing committed is lost. A request is five short round trips (BEGIN
with the lock, expiry and stored preferences, the read, the insert when allowed, COMMIT),
with prepared statements on one cursor; psycopg's pipeline mode and client-side binding
save round trips but cost more CPU (client and server together), which is what limits
throughput on a small machine. So does folding the expiry and preferences into the lock's
round trip (its statements are then planned anew each time): measured on a 2-core
machine, about 60 µs more CPU per request than a round trip of its own.

Why a lock and not SERIALIZABLE with retries:
[`Ledger.exclusive`][relcore.contact_policy.Ledger.exclusive] is a context manager, and a context
manager cannot run its block a second time, so every serialization failure would reach the caller as
an error. And there would be many: measured with plain SQL (``benchmarks/bench_ledgers.py
--locking``, 8 processes, a 2-core machine), SERIALIZABLE failed a fifth to a third of the
read-decide-writes on random customers (its predicate locks cover index pages, not customers), where
the lock made as many per second without a failure. Only for one customer written to hundreds of
times a second does SERIALIZABLE pass more through (the lock makes each section wait for the
previous commit's flush); a contact policy refuses such a customer after the first few contacts, and
a refusal writes nothing. The lock needs no row to lock (a customer seen for the first time has
none), writes nothing, and, being transaction-scoped, also works behind a connection pooler in
transaction mode.

Keys and reservations. An entry stored under a key carries it in ``ledger.key`` (a unique partial
index: a key names one entry, whichever customer's), and a reservation its ``held_until``; a
reservation is an ordinary row, so a read with ``held_at`` is the same index scan with a wider
filter. ``add_keyed`` lets the unique index decide (``INSERT ... ON CONFLICT DO NOTHING``), so a key
used twice never aborts the transaction: the session goes on after the
[`ReservationError`][relcore.errors.ReservationError]. Every guarded request starts by expiring the
customer's reservations and reading their stored preferences: one statement does both (preferences
are written only under the customer's lock, so what it read stays true for the rest of the section).

Schema. Everything lives in one PostgreSQL schema (``relcore`` unless told otherwise),
created by the first ledger that opens it: ``schema_version`` records each migration
applied (relcore migrates an older schema when it opens it, under an advisory lock, in
one transaction, and refuses a schema newer than it knows). ``ledger`` holds the entries,
indexed by (customer, time) and by time (for pruning), by key, and by (customer,
``held_until``) for reservations; ``preferences`` the customers' stored preferences with
how far back their own limits read (``reach``, for ``prune``); ``decisions`` the audit
trail; ``suppressions`` the opt-outs of forgotten customers, under an HMAC of their id
keyed by ``salt`` (random, drawn by the migration). Another tenant of the same database
has a schema of its own, ``"<schema>/<tenant>"``
([`PostgresLedger.for_tenant`][relcore.contact_policy.PostgresLedger.for_tenant]). Times are stored
as bigint microseconds since the epoch, exactly as the ledger hands them out; preferences and audit
records as ``json`` (their ``to_dict()``; ``json`` rather than ``jsonb`` because it keeps any text,
a NUL character included, exactly).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from .._optional import require
from .._time import to_micros
from ..errors import DataError, LedgerError, ReservationError
from ..models import ContactPreferences
from .audit import AuditRecord
from .history import CustomerRows, Entry, History, clamp_micros
from .ledger import (
    DEFAULT_TENANT,
    UNSUBSCRIBE,
    Erasure,
    KeyedEntry,
    Ledger,
    LedgerSession,
    check_customer_id,
    check_entry,
    check_keyed,
    check_preferences,
    check_records,
    check_tenant,
    decisions_filter,
    opt_out_scopes,
    preferences_reach,
    read_scopes,
    scopes_text,
    suppression_hash,
    with_suppression,
)

if TYPE_CHECKING:
    import psycopg

    # what runs a statement: a connection, or the one cursor a section reuses
    _Executor = psycopg.Connection[Any] | psycopg.Cursor[Any]

__all__ = ["PostgresLedger"]

_MIN: Final = -(2**63)
_MAX: Final = 2**63 - 1
_CHUNK: Final = 50_000  # customers per histories() query and rows per append statement
_NAME_BYTES: Final = 63  # PostgreSQL cuts longer identifiers silently (NAMEDATALEN - 1)

# Each migration is applied once, in order, in one transaction; its number is its
# position (1-based). Append new ones at the end; never edit one that has shipped.
# ``{s}`` is the quoted schema name.
_MIGRATIONS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (
        "contacts and customer events",
        (
            """CREATE TABLE {s}.ledger (
                id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                customer_id text COLLATE "C" NOT NULL,
                at          bigint  NOT NULL,
                channel     text,
                category    text,
                campaign    text,
                kind        text    NOT NULL,
                company     boolean NOT NULL
            )""",
            "CREATE INDEX ledger_customer_at ON {s}.ledger (customer_id, at)",
            "CREATE INDEX ledger_at ON {s}.ledger (at)",
            "COMMENT ON COLUMN {s}.ledger.at IS 'microseconds since 1970-01-01 00:00 UTC'",
            "COMMENT ON COLUMN {s}.ledger.company IS "
            "'true: a contact the company made; false: an event of the customer'",
        ),
    ),
    (
        "keys and reservations, stored preferences, the audit trail",
        (
            # nullable columns without a default: no table rewrite, whatever its size
            'ALTER TABLE {s}.ledger ADD COLUMN key text COLLATE "C"',
            "ALTER TABLE {s}.ledger ADD COLUMN held_until bigint",
            "CREATE UNIQUE INDEX ledger_key ON {s}.ledger (key) WHERE key IS NOT NULL",
            "CREATE INDEX ledger_held ON {s}.ledger (customer_id, held_until) "
            "WHERE held_until IS NOT NULL",
            "COMMENT ON COLUMN {s}.ledger.key IS 'the idempotency key (a message id), if any'",
            "COMMENT ON COLUMN {s}.ledger.held_until IS "
            "'a reservation: holds its slot until then (microseconds); NULL: recorded'",
            """CREATE TABLE {s}.preferences (
                customer_id text COLLATE "C" PRIMARY KEY,
                preferences json   NOT NULL,
                reach       bigint NOT NULL
            )""",
            "COMMENT ON COLUMN {s}.preferences.preferences IS 'ContactPreferences.to_dict()'",
            "COMMENT ON COLUMN {s}.preferences.reach IS "
            "'how far back (microseconds) the customer''s own limits read the ledger'",
            """CREATE TABLE {s}.decisions (
                id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                customer_id text COLLATE "C" NOT NULL,
                decided_at  bigint NOT NULL,
                record      json   NOT NULL
            )""",
            "CREATE INDEX decisions_customer ON {s}.decisions (customer_id, decided_at)",
            "CREATE INDEX decisions_at ON {s}.decisions (decided_at)",
            "COMMENT ON COLUMN {s}.decisions.decided_at IS "
            "'microseconds since 1970-01-01 00:00 UTC'",
            "COMMENT ON COLUMN {s}.decisions.record IS 'AuditRecord.to_dict()'",
        ),
    ),
    (
        "suppression records of forgotten customers",
        (
            """CREATE TABLE {s}.suppressions (
                id_hash bytea PRIMARY KEY,
                scopes  json  NOT NULL
            )""",
            "COMMENT ON COLUMN {s}.suppressions.id_hash IS "
            "'HMAC-SHA256 of the customer id under the salt'",
            "COMMENT ON COLUMN {s}.suppressions.scopes IS "
            "'the channels and categories the customer opted out of'",
            "CREATE TABLE {s}.salt (salt bytea NOT NULL)",
            # gen_random_uuid draws from the server's strong random source (PostgreSQL 13+)
            "INSERT INTO {s}.salt (salt) SELECT decode(replace(gen_random_uuid()::text "
            "|| gen_random_uuid()::text, '-', ''), 'hex')",
        ),
    ),
)
SCHEMA_VERSION: Final = len(_MIGRATIONS)


class PostgresLedger(Ledger):
    """A ledger stored in a PostgreSQL database, shared by processes on many hosts.

    Each thread (and each process) gets its own connection, opened on first use; the object may be
    passed to other processes, pickled or inherited by ``fork`` (it connects again there). A
    connection the server dropped is replaced on the next call. A problem with the server
    (unreachable, refusing the login, a customer's lock held for longer than ``timeout``) raises
    [`LedgerError`][relcore.errors.LedgerError] naming the server (the connection string without its
    password) and the schema. [`close`][relcore.contact_policy.PostgresLedger.close] is safe while
    other threads use the ledger: their calls in progress finish, and later calls raise
    [`LedgerError`][relcore.errors.LedgerError].

    Parameters
    ----------
    dsn
        A libpq connection string (``"host=db.internal dbname=crm user=relcore"``) or
        URI (``"postgresql://relcore@db.internal/crm"``). The database must be UTF8.
    schema
        The PostgreSQL schema holding relcore's tables, created (and migrated) when
        missing; ledgers in different schemas are independent.
    timeout
        Seconds to wait for a connection and for a customer's lock before giving up.
    tenant
        Whose rows the ledger reads and writes: the default tenant's tables live in ``schema``,
        another tenant's in the schema ``"{schema}/{tenant}"`` of the same database (see
        [`for_tenant`][relcore.contact_policy.PostgresLedger.for_tenant]).

    Examples
    --------
    With a server at hand (these lines need one, so they are not run here):

    >>> ledger = PostgresLedger("postgresql://relcore@db.internal/crm")  # doctest: +SKIP
    >>> ledger.append([Entry("c1", 10, "email", None, None, "message", True)])  # doctest: +SKIP
    >>> ledger.customer_history("c1").at.tolist(), len(ledger)  # doctest: +SKIP
    ([10], 1)

    Errors name the server, never the password (nothing listens on port 1):

    >>> PostgresLedger("postgresql://relcore:s3cret@127.0.0.1:1/crm", timeout=1)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    relcore.errors.LedgerError: PostgreSQL ledger host=127.0.0.1 port=1 dbname=crm
    user=relcore (schema relcore): ...
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "relcore",
        timeout: float = 60.0,
        tenant: str = DEFAULT_TENANT,
    ) -> None:
        if not isinstance(dsn, str):
            raise TypeError(f"dsn must be a string, got {type(dsn).__name__}")
        if not isinstance(schema, str):
            raise TypeError(f"schema must be a string, got {type(schema).__name__}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise TypeError(f"timeout must be a number of seconds, got {type(timeout).__name__}")
        if not 0 < timeout < float("inf"):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.tenant = check_tenant(tenant)
        if not _is_storable(schema) or not 0 < len(schema.encode("utf-8")) <= _NAME_BYTES:
            raise ValueError(
                f"schema must be a name of 1 to {_NAME_BYTES} UTF-8 bytes without NUL, "
                f"got {schema!r}"
            )
        self.base_schema = schema
        if tenant != DEFAULT_TENANT:
            schema = f"{schema}/{tenant}"
            if len(schema.encode("utf-8")) > _NAME_BYTES:
                raise ValueError(
                    f"the tenant's schema {schema!r} is longer than PostgreSQL's "
                    f"{_NAME_BYTES} bytes: use a shorter schema or tenant name"
                )
        self._pg = require("psycopg", "postgres")
        self._dsn = dsn  # with its password, if it has one: never shown
        self._salt: bytes | None = None
        self.schema = schema
        self.timeout = float(timeout)
        self.server = _without_password(self._pg, dsn)
        self._where = f"PostgreSQL ledger {self.server} (schema {schema})"
        self._sql = _Statements(_quote(schema))
        self._lock_salt = schema.encode("utf-8") + b"\x00"
        self._local = threading.local()
        self._opened: list[_Connection] = []
        self._guard = threading.Lock()
        self._closed = False
        with self._using():  # connect and migrate now, so that problems surface here
            pass

    def __repr__(self) -> str:
        if self.tenant == DEFAULT_TENANT:
            return f"PostgresLedger({self.server!r}, schema={self.schema!r})"
        return (
            f"PostgresLedger({self.server!r}, schema={self.base_schema!r}, tenant={self.tenant!r})"
        )

    def __getstate__(self) -> dict[str, Any]:
        return {
            "dsn": self._dsn,
            "schema": self.base_schema,
            "timeout": self.timeout,
            "tenant": self.tenant,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["dsn"],
            schema=state["schema"],
            timeout=state["timeout"],
            tenant=state.get("tenant", DEFAULT_TENANT),
        )

    def for_tenant(self, tenant: str) -> PostgresLedger:
        """A ledger of the same database for ``tenant``: its own schema (created and
        migrated when first opened), so nothing it does reads, counts or erases this
        one's rows."""
        return PostgresLedger(
            self._dsn, schema=self.base_schema, timeout=self.timeout, tenant=tenant
        )

    # ------------------------------------------------------------------ connections
    # As in SQLiteLedger: each thread uses its own connection and holds that connection's
    # lock for the whole of each call, so close() waits for calls in progress instead of
    # pulling a connection away from under them.

    def _connection(self) -> _Connection:
        mine: _Connection | None = getattr(self._local, "mine", None)
        if mine is not None and mine.pid == os.getpid():
            if mine.conn is None or not mine.conn.closed:
                return mine
            with self._guard, suppress(ValueError):  # the server dropped it: connect again
                self._opened.remove(mine)
        conn = self._open()
        with self._guard:
            if self._closed:
                conn.close()
                raise self._closed_error()
            mine = _Connection(conn, os.getpid())
            self._opened.append(mine)
        self._local.mine = mine
        return mine

    def _open(self) -> psycopg.Connection[Any]:
        pg = self._pg
        given = pg.conninfo.conninfo_to_dict(self._dsn)
        extra: dict[str, Any] = {}
        if "connect_timeout" not in given:
            extra["connect_timeout"] = max(1, round(self.timeout))
        if "application_name" not in given:
            extra["application_name"] = "relcore"
        try:
            conn: psycopg.Connection[Any] = pg.connect(self._dsn, autocommit=True, **extra)
        except pg.Error as exc:
            raise self._failed(exc) from None
        try:
            encoding = conn.info.parameter_status("server_encoding")
            if encoding != "UTF8":
                raise LedgerError(
                    f"{self._where}: the database's encoding is {encoding}; relcore needs "
                    "UTF8 to store every customer id and label"
                )
            conn.execute(f"SET lock_timeout = {max(1, round(self.timeout * 1000))}")
            self._migrate(conn)
        except pg.Error as exc:
            conn.close()
            raise self._failed(exc) from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: psycopg.Connection[Any]) -> None:
        """Bring the schema to `SCHEMA_VERSION`, or refuse one newer than that."""
        found = self._version(conn)
        if found == SCHEMA_VERSION:
            return
        if found < SCHEMA_VERSION:
            from .. import __version__

            s = self._sql.schema
            conn.execute("BEGIN")
            try:
                # One migrator at a time; the others find the work done when they get in.
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key("\x00migrate"),))
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {s}.schema_version ("
                    "version integer PRIMARY KEY, "
                    "applied_at timestamptz NOT NULL DEFAULT now(), "
                    "relcore_version text NOT NULL, "
                    "description text NOT NULL)"
                )
                found = self._version(conn)
                for version in range(found + 1, SCHEMA_VERSION + 1):
                    description, statements = _MIGRATIONS[version - 1]
                    for statement in statements:
                        conn.execute(statement.format(s=s))
                    conn.execute(
                        f"INSERT INTO {s}.schema_version "
                        "(version, relcore_version, description) VALUES (%s, %s, %s)",
                        (version, __version__, description),
                    )
            except BaseException:
                _rollback(conn)
                raise
            conn.execute("COMMIT")
        if found > SCHEMA_VERSION:
            raise LedgerError(
                f"{self._where}: the schema is at version {found}, newer than this relcore "
                f"knows ({SCHEMA_VERSION}); upgrade relcore on this host"
            )

    def _version(self, conn: psycopg.Connection[Any]) -> int:
        """The schema's version (0 when relcore never created it)."""
        table = f"{self._sql.schema}.schema_version"
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        if not exists or not exists[0]:
            return 0
        row = conn.execute(f"SELECT coalesce(max(version), 0) FROM {table}").fetchone()
        return int(row[0]) if row else 0

    @contextmanager
    def _using(self) -> Iterator[psycopg.Connection[Any]]:
        """This thread's connection, held for one call; the server's errors name it."""
        mine = self._connection()
        with mine.lock:
            conn = mine.conn
            if conn is None:
                raise self._closed_error()
            try:
                yield conn
            except self._pg.Error as exc:
                raise self._failed(exc) from None

    def _failed(self, exc: Exception) -> LedgerError:
        if self._closed:
            return self._closed_error()
        message = " ".join(str(exc).split()) or type(exc).__name__
        return LedgerError(f"{self._where}: {message}")

    def _closed_error(self) -> LedgerError:
        return LedgerError(f"{self._where} is closed")

    def _lock_key(self, customer_id: str) -> int:
        """The customer's advisory-lock key: the same on every host and Python version."""
        digest = hashlib.blake2b(
            self._lock_salt + customer_id.encode("utf-8", "surrogatepass"), digest_size=8
        ).digest()
        return int.from_bytes(digest, "big", signed=True)

    def close(self) -> None:
        """Close every connection this object opened in this process.

        A call in progress on another thread finishes first; every later call raises
        [`LedgerError`][relcore.errors.LedgerError]. Closing twice is harmless.
        """
        with self._guard:
            self._closed = True
            opened, self._opened = self._opened, []
        pid = os.getpid()
        for mine in opened:
            if mine.pid != pid:  # a parent's connection, inherited by fork: not ours to end
                continue
            with mine.lock:
                if mine.conn is not None:
                    mine.conn.close()
                    mine.conn = None

    # ------------------------------------------------------------------ the contract

    def __len__(self) -> int:
        with self._using() as conn:
            row = conn.execute(self._sql.count).fetchone()
        return int(row[0]) if row else 0

    def append(self, entries: Sequence[Entry]) -> None:
        checked = _storable([check_entry(e) for e in entries])
        if not checked:
            return
        with self._using() as conn:
            if len(checked) <= _CHUNK:
                self._insert(conn, checked)
                return
            conn.execute("BEGIN")  # several statements, one transaction: all or nothing
            try:
                for k in range(0, len(checked), _CHUNK):
                    self._insert(conn, checked[k : k + _CHUNK])
            except BaseException:
                _rollback(conn)
                raise
            conn.execute("COMMIT")

    def _insert(self, conn: _Executor, entries: Sequence[Entry]) -> None:
        if len(entries) == 1:  # a guarded request's one contact: the cheaper statement
            e = entries[0]
            row = (e.customer_id, int(e.at), e.channel, e.category, e.campaign, e.kind)
            conn.execute(self._sql.insert_one, (*row, bool(e.company)))
        elif entries:
            conn.execute(self._sql.insert, _columns(entries))

    def customer_rows(
        self, customer_id: str, *, since: int | None = None, held_at: int | None = None
    ) -> CustomerRows:
        _storable_ids([customer_id])
        with self._using() as conn:
            return _to_rows(self._fetch(conn, customer_id, since, held_at))

    def customer_history(
        self, customer_id: str, *, since: int | None = None, held_at: int | None = None
    ) -> History:
        return self.histories([customer_id], since=since, held_at=held_at)

    def _fetch(
        self,
        conn: _Executor,
        customer_id: str,
        since: int | None,
        held_at: int | None,
    ) -> list[tuple[Any, ...]]:
        lower = _MIN if since is None else clamp_micros(since)
        if held_at is None:
            return conn.execute(self._sql.select_one, (customer_id, lower)).fetchall()
        params = (customer_id, lower, clamp_micros(held_at))
        return conn.execute(self._sql.select_one_held, params).fetchall()

    def histories(
        self, customer_ids: Sequence[str], *, since: int | None = None, held_at: int | None = None
    ) -> History:
        ids = [str(c) for c in customer_ids]
        _storable_ids(ids)
        distinct = list(dict.fromkeys(ids))
        lower = _MIN if since is None else clamp_micros(since)
        query = self._sql.select_many if held_at is None else self._sql.select_many_held
        held = () if held_at is None else (clamp_micros(held_at),)
        rows: list[tuple[Any, ...]] = []
        with self._using() as conn:
            for k in range(0, len(distinct), _CHUNK):
                chunk = distinct[k : k + _CHUNK]
                rows.extend(conn.execute(query, (chunk, lower, *held)).fetchall())
        return _to_history(ids, rows)

    @contextmanager
    def _exclusive(self, customer_id: str) -> Iterator[LedgerSession]:
        _storable_ids([customer_id])
        mine = self._connection()
        with mine.lock:  # for the whole block: close() waits for it
            conn = mine.conn
            if conn is None:
                raise self._closed_error()
            if mine.in_section:
                raise LedgerError(
                    f"{self._where}: an exclusive section cannot start inside another "
                    "on the same thread"
                )
            mine.in_section = True
            try:
                # One round trip; the key is an int computed here, so it is safe to inline.
                # One cursor for the whole section: a few µs less per statement.
                key = self._lock_key(customer_id)
                cur = conn.cursor()
                with self._abandoning(conn):
                    cur.execute(f"BEGIN; SELECT pg_advisory_xact_lock({key})", prepare=False)
                session = _PostgresSession(self, cur, customer_id)
                try:
                    yield session
                except BaseException:  # the block's own error, passed on as it is
                    _abandon(conn)
                    raise
                with self._abandoning(conn):
                    self._insert(cur, session.pending)
                    self._log(cur, session.decisions)
                    cur.execute("COMMIT")
            finally:
                mine.in_section = False

    @contextmanager
    def _abandoning(self, conn: psycopg.Connection[Any]) -> Iterator[None]:
        """On any error, roll back (or drop the connection); the server's errors name it."""
        try:
            yield
        except self._pg.Error as exc:
            _abandon(conn)
            raise self._failed(exc) from None
        except BaseException:
            _abandon(conn)
            raise

    def exclusive(self, customer_id: str) -> AbstractContextManager[LedgerSession]:
        return self._exclusive(customer_id)

    # ------------------------------------------------------------------ keys, preferences

    def keyed(self, key: str) -> KeyedEntry | None:
        _storable_key(key)
        with self._using() as conn:
            return self._keyed(conn, key)

    def _keyed(self, conn: _Executor, key: str) -> KeyedEntry | None:
        row = conn.execute(self._sql.keyed, (key,)).fetchone()
        if row is None:
            return None
        cid, at, channel, category, campaign, kind, company, held_until = row
        return KeyedEntry(
            key, Entry(cid, at, channel, category, campaign, kind, company), held_until
        )

    def _hash(self, customer_id: str) -> bytes:
        if self._salt is None:  # written by the migration that made the table; never changes
            with self._using() as conn:
                row = conn.execute(f"SELECT salt FROM {self._sql.schema}.salt").fetchone()
            assert row is not None
            self._salt = bytes(row[0])
        return suppression_hash(self._salt, customer_id)

    def get_preferences(self, customer_id: str) -> ContactPreferences | None:
        _storable_ids([customer_id])
        with self._using() as conn:
            row = conn.execute(
                self._sql.get_preferences, (customer_id, self._hash(customer_id))
            ).fetchone()
        assert row is not None  # a SELECT without FROM: always one row
        return _merged(row[0], row[1], customer_id)

    def get_preferences_many(self, customer_ids: Sequence[str]) -> dict[str, ContactPreferences]:
        ids = list(dict.fromkeys(str(c) for c in customer_ids))
        _storable_ids(ids)
        found: dict[str, str] = {}
        scopes: dict[bytes, str] = {}
        with self._using() as conn:
            row = conn.execute(self._sql.any_preferences).fetchone()
            assert row is not None
            any_stored, any_suppressed = row
            if not any_stored and not any_suppressed:
                return {}  # the usual case: nothing stored, no audience to send
            for k in range(0, len(ids), _CHUNK):
                chunk = ids[k : k + _CHUNK]
                if any_stored:
                    found.update(conn.execute(self._sql.preferences_many, (chunk,)).fetchall())
                if any_suppressed:
                    hashes = [self._hash(c) for c in chunk]
                    rows = conn.execute(self._sql.suppressions_many, (hashes,)).fetchall()
                    scopes.update((bytes(h), text) for h, text in rows)
        out: dict[str, ContactPreferences] = {}
        for c in ids:
            text = scopes.get(self._hash(c)) if scopes else None
            prefs = _merged(found.get(c), text, c)
            if prefs is not None:
                out[c] = prefs
        return out

    def set_preferences(self, customer_id: str, preferences: ContactPreferences | None) -> None:
        check_preferences(customer_id, preferences)
        # Under the customer's lock, as in a section: a section that read the preferences
        # (once, with its expiry) decides on what is still stored.
        with self.exclusive(customer_id) as session:
            session.set_preferences(preferences)

    def log_decisions(self, records: Sequence[AuditRecord]) -> None:
        rows = _decision_rows(records)
        if rows:
            with self._using() as conn:
                self._log(conn, rows)

    def _log(self, conn: _Executor, rows: list[tuple[str, int, str]]) -> None:
        if len(rows) == 1:
            conn.execute(self._sql.insert_decision, rows[0])
        elif rows:
            columns = tuple(list(c) for c in zip(*rows, strict=True))
            conn.execute(self._sql.insert_decisions, columns)

    def decisions(
        self,
        *,
        customer_id: str | None = None,
        since: _dt.datetime | int | None = None,
        until: _dt.datetime | int | None = None,
    ) -> list[AuditRecord]:
        if customer_id is not None:
            _storable_ids([customer_id])
        where, params = decisions_filter(customer_id, since, until, mark="%s", cast="::bigint")
        query = f"SELECT record::text FROM {self._sql.schema}.decisions{where}"
        with self._using() as conn:
            texts = [row[0] for row in conn.execute(query + " ORDER BY decided_at, id", params)]
        return [AuditRecord.from_dict(json.loads(text)) for text in texts]

    # ------------------------------------------------------------------ erasure

    def forget(self, customer_id: str) -> Erasure:
        """Remove everything held on a customer (see [`Ledger`][relcore.contact_policy.Ledger]).

        PostgreSQL keeps deleted rows on disk until ``VACUUM`` reclaims them (autovacuum
        does so in time); run ``VACUUM`` on the schema's tables when an erasure must
        leave the disk at once.
        """
        check_customer_id(customer_id)
        with self.exclusive(customer_id) as session:
            assert isinstance(session, _PostgresSession)
            return session.forget()

    def lift_suppression(self, customer_id: str) -> bool:
        check_customer_id(customer_id)
        _storable_ids([customer_id])
        with self.exclusive(customer_id) as session:
            assert isinstance(session, _PostgresSession)
            with session._errors():
                gone = session._conn.execute(
                    self._sql.lift_suppression, (self._hash(customer_id),)
                ).fetchone()
        return gone is not None

    # ------------------------------------------------------------------ housekeeping

    def prune(self, before: int) -> int:
        with self._using() as conn:
            cur = conn.execute(self._sql.prune, {"before": clamp_micros(before)})
            return int(cur.rowcount)

    def schema_version(self) -> int:
        """The version of relcore's tables in the schema (see the module docstring)."""
        with self._using() as conn:
            return self._version(conn)


class _Statements:
    """The ledger's SQL, for one (quoted) schema."""

    __slots__ = (
        "any_preferences", "confirm", "count", "delete_preferences", "expire",
        "forget_decisions", "forget_entries", "forget_preferences", "get_preferences",
        "insert", "insert_decision", "insert_decisions", "insert_keyed", "insert_one", "keyed",
        "lift_suppression", "preferences_many", "prune", "release", "schema", "select_many",
        "select_many_held", "select_one", "select_one_held", "set_preferences", "suppress",
        "suppressions_many",
    )  # fmt: skip

    def __init__(self, schema: str) -> None:
        self.schema = schema
        table = f"{schema}.ledger"
        prefs = f"{schema}.preferences"
        decisions = f"{schema}.decisions"
        supp = f"{schema}.suppressions"
        columns = "at, channel, category, campaign, kind, company"
        recorded = "held_until IS NULL"
        recorded_or_held = "(held_until IS NULL OR held_until > %s::bigint)"
        # Both counts read an index only (the second a small one): a filter on held_until
        # would read every row of the table.
        self.count = (
            f"SELECT (SELECT count(*) FROM {table}) "
            f"- (SELECT count(*) FROM {table} WHERE held_until IS NOT NULL)"
        )
        # One statement for any number of rows: seven arrays, unnested side by side.
        self.insert = (
            f"INSERT INTO {table} (customer_id, {columns}) SELECT * FROM unnest("
            "%s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], "
            "%s::boolean[])"
        )
        self.insert_one = (
            f"INSERT INTO {table} (customer_id, {columns}) "
            "VALUES (%s, %s::bigint, %s, %s, %s, %s, %s)"
        )
        select_one = f"SELECT {columns} FROM {table} WHERE customer_id = %s AND at >= %s::bigint"
        self.select_one = f"{select_one} AND {recorded} ORDER BY at, id"
        self.select_one_held = f"{select_one} AND {recorded_or_held} ORDER BY at, id"
        select_many = (
            f"SELECT customer_id, {columns} FROM {table} "
            "WHERE customer_id = ANY(%s::text[]) AND at >= %s::bigint"
        )
        self.select_many = f"{select_many} AND {recorded} ORDER BY customer_id, at, id"
        self.select_many_held = f"{select_many} AND {recorded_or_held} ORDER BY customer_id, at, id"
        self.keyed = f"SELECT customer_id, {columns}, held_until FROM {table} WHERE key = %s"
        # The unique index decides; DO NOTHING (no error) leaves the transaction usable.
        self.insert_keyed = (
            f"INSERT INTO {table} (customer_id, {columns}, key, held_until) "
            "VALUES (%s, %s::bigint, %s, %s, %s, %s, %s, %s, %s::bigint) "
            "ON CONFLICT (key) WHERE key IS NOT NULL DO NOTHING RETURNING id"
        )
        self.confirm = (
            f"UPDATE {table} SET held_until = NULL "
            "WHERE key = %s AND customer_id = %s AND held_until IS NOT NULL RETURNING id"
        )
        self.release = (
            f"DELETE FROM {table} "
            "WHERE key = %s AND customer_id = %s AND held_until IS NOT NULL RETURNING id"
        )
        # What every guarded request starts with, in one round trip: expire the customer's
        # reservations, read their stored preferences and suppression record.
        self.expire = (
            f"WITH gone AS (DELETE FROM {table} "
            "WHERE customer_id = %s AND held_until <= %s::bigint RETURNING 1) "
            "SELECT (SELECT count(*) FROM gone), "
            f"(SELECT preferences::text FROM {prefs} WHERE customer_id = %s), "
            f"(SELECT scopes::text FROM {supp} WHERE id_hash = %s)"
        )
        self.get_preferences = (
            f"SELECT (SELECT preferences::text FROM {prefs} WHERE customer_id = %s), "
            f"(SELECT scopes::text FROM {supp} WHERE id_hash = %s)"
        )
        self.any_preferences = (
            f"SELECT EXISTS (SELECT 1 FROM {prefs}), EXISTS (SELECT 1 FROM {supp})"
        )
        self.suppressions_many = (
            f"SELECT id_hash, scopes::text FROM {supp} WHERE id_hash = ANY(%s::bytea[])"
        )
        # Erasure: the counts, the unsubscribes and the stored preferences come back from
        # the deletes themselves.
        self.forget_entries = (
            f"WITH gone AS (DELETE FROM {table} WHERE customer_id = %s "
            "RETURNING held_until, kind, company, channel, category) "
            "SELECT count(*) FILTER (WHERE held_until IS NULL), "
            "count(*) FILTER (WHERE held_until IS NOT NULL), "
            "coalesce(json_agg(json_build_array(channel, category)) FILTER (WHERE "
            "held_until IS NULL AND kind = %s AND NOT company), '[]')::text FROM gone"
        )
        self.forget_decisions = (
            f"WITH gone AS (DELETE FROM {decisions} WHERE customer_id = %s RETURNING 1) "
            "SELECT count(*) FROM gone"
        )
        self.forget_preferences = (
            f"WITH gone AS (DELETE FROM {prefs} WHERE customer_id = %s "
            "RETURNING preferences::text AS p) "
            f"SELECT (SELECT p FROM gone), (SELECT scopes::text FROM {supp} WHERE id_hash = %s)"
        )
        self.suppress = (
            f"INSERT INTO {supp} (id_hash, scopes) VALUES (%s, %s::json) "
            "ON CONFLICT (id_hash) DO UPDATE SET scopes = excluded.scopes"
        )
        self.lift_suppression = f"DELETE FROM {supp} WHERE id_hash = %s RETURNING 1"
        self.preferences_many = (
            f"SELECT customer_id, preferences::text FROM {prefs} "
            "WHERE customer_id = ANY(%s::text[])"
        )
        self.set_preferences = (
            f"INSERT INTO {prefs} (customer_id, preferences, reach) "
            "VALUES (%s, %s::json, %s::bigint) ON CONFLICT (customer_id) "
            "DO UPDATE SET preferences = excluded.preferences, reach = excluded.reach"
        )
        self.delete_preferences = f"DELETE FROM {prefs} WHERE customer_id = %s"
        self.insert_decision = (
            f"INSERT INTO {decisions} (customer_id, decided_at, record) "
            "VALUES (%s, %s::bigint, %s::json)"
        )
        # ids in the order given: the audit trail's order among equal instants
        self.insert_decisions = (
            f"INSERT INTO {decisions} (customer_id, decided_at, record) "
            "SELECT c, d, r::json FROM unnest(%s::text[], %s::bigint[], %s::text[]) "
            "WITH ORDINALITY AS u(c, d, r, n) ORDER BY n"
        )
        # Recorded entries before the cutoff, unless the customer's own limits still read
        # them (numeric: before - reach may lie beyond bigint); reservations of long ago
        # or long expired.
        self.prune = (
            f"DELETE FROM {table} AS l WHERE "
            "(l.at < %(before)s::bigint AND (l.held_until IS NOT NULL OR NOT EXISTS ("
            f"SELECT 1 FROM {prefs} AS p WHERE p.customer_id = l.customer_id "
            "AND l.at::numeric + p.reach >= %(before)s::bigint))) "
            "OR l.held_until < %(before)s::bigint"
        )


class _Connection:
    """One thread's connection (``None`` once closed) and the lock held while it is used."""

    __slots__ = ("conn", "in_section", "lock", "pid")

    def __init__(self, conn: psycopg.Connection[Any], pid: int) -> None:
        self.conn: psycopg.Connection[Any] | None = conn
        self.lock = threading.RLock()  # re-entrant: a thread may call the ledger in a session
        self.pid = pid
        self.in_section = False


class _PostgresSession(LedgerSession):
    """Reads and writes inside the locked transaction. Plain appends and audit records
    wait for the commit, which sends them; keys, reservations and preferences are written
    at once (their statements answer questions: was the key free, was anything held)."""

    def __init__(self, ledger: PostgresLedger, conn: _Executor, customer_id: str) -> None:
        self._ledger = ledger
        self._sql = ledger._sql
        self._conn = conn
        self._customer_id = customer_id
        self.pending: list[Entry] = []
        self.decisions: list[tuple[str, int, str]] = []
        # The stored preferences and suppression scopes (as JSON text, None: none) once
        # read. No one else writes them while this section holds the customer's lock.
        self._stored: tuple[str | None, str | None] | None = None

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except self._ledger._pg.Error as exc:
            raise self._ledger._failed(exc) from None

    def _rows(self, since: int | None, held_at: int | None) -> CustomerRows:
        with self._errors():
            rows = self._ledger._fetch(self._conn, self._customer_id, since, held_at)
        found = _to_rows(rows)
        if not self.pending:
            return found
        lower = _MIN if since is None else clamp_micros(since)
        mine = [e for e in self.pending if e.customer_id == self._customer_id and e.at >= lower]
        return found.with_entries(mine)

    def customer_rows(
        self, *, since: int | None = None, held_at: int | None = None
    ) -> CustomerRows:
        return self._rows(since, held_at)

    def customer_history(self, *, since: int | None = None, held_at: int | None = None) -> History:
        return self._rows(since, held_at).to_history(self._customer_id)

    def append(self, entries: Sequence[Entry]) -> None:
        self.pending.extend(_storable([check_entry(e) for e in entries]))

    def keyed(self, key: str) -> KeyedEntry | None:
        _storable_key(key)
        with self._errors():
            return self._ledger._keyed(self._conn, key)

    def add_keyed(self, keyed: KeyedEntry) -> None:
        k = check_keyed(keyed, self._customer_id)
        _storable([k.entry])
        _storable_key(k.key)
        e = k.entry
        params = (
            *(e.customer_id, int(e.at), e.channel, e.category, e.campaign, e.kind),
            *(bool(e.company), k.key, k.held_until),
        )
        with self._errors():
            if self.pending:  # appends made before it are stored before it
                self._ledger._insert(self._conn, self.pending)
                self.pending = []
            added = self._conn.execute(self._sql.insert_keyed, params).fetchone()
        if added is None:
            raise ReservationError(k.key, "is used already; a key names one contact")

    def _mine(self, key: str) -> KeyedEntry | None:
        with self._errors():
            k = self._ledger._keyed(self._conn, key)
        if k is not None and k.entry.customer_id != self._customer_id:
            raise ReservationError(
                key, f"belongs to customer {k.entry.customer_id!r}, not {self._customer_id!r}"
            )
        return k

    def confirm(self, key: str) -> None:
        _storable_key(key)
        with self._errors():
            done = self._conn.execute(self._sql.confirm, (key, self._customer_id)).fetchone()
        if done is None and self._mine(key) is None:  # else: recorded already, nothing more
            raise ReservationError(key, "nothing is held under this key")

    def release(self, key: str) -> bool:
        _storable_key(key)
        with self._errors():
            gone = self._conn.execute(self._sql.release, (key, self._customer_id)).fetchone()
        if gone is not None:
            return True
        if self._mine(key) is None:
            return False
        raise ReservationError(key, "its contact is recorded; a recorded contact stays")

    def expire(self, now: int) -> int:
        cid = self._customer_id
        with self._errors():
            row = self._conn.execute(
                self._sql.expire, (cid, clamp_micros(now), cid, self._ledger._hash(cid))
            ).fetchone()
        assert row is not None  # a SELECT without FROM: always one row
        self._stored = (row[1], row[2])
        return int(row[0])

    def get_preferences(self) -> ContactPreferences | None:
        cid = self._customer_id
        if self._stored is None:
            with self._errors():
                found = self._conn.execute(
                    self._sql.get_preferences, (cid, self._ledger._hash(cid))
                ).fetchone()
            assert found is not None
            self._stored = (found[0], found[1])
        return _merged(self._stored[0], self._stored[1], cid)

    def set_preferences(self, preferences: ContactPreferences | None) -> None:
        check_preferences(self._customer_id, preferences)
        cid = self._customer_id
        with self._errors():
            if preferences is None:
                self._conn.execute(self._sql.delete_preferences, (cid,))
                self._stored = None if self._stored is None else (None, self._stored[1])
                return
            text = _json_text(preferences.to_dict())
            reach = min(preferences_reach(preferences), _MAX)
            self._conn.execute(self._sql.set_preferences, (cid, text, reach))
            self._stored = None if self._stored is None else (text, self._stored[1])

    def log_decisions(self, records: Sequence[AuditRecord]) -> None:
        self.decisions.extend(_decision_rows(records))

    def forget(self) -> Erasure:
        """Everything of the customer deleted, a suppression record kept (or merged)."""
        cid, sql = self._customer_id, self._sql
        digest = self._ledger._hash(cid)
        with self._errors():
            recorded, held, unsub = self._conn.execute(
                sql.forget_entries, (cid, UNSUBSCRIBE)
            ).fetchone()  # type: ignore[misc]
            (decisions,) = self._conn.execute(sql.forget_decisions, (cid,)).fetchone()  # type: ignore[misc]
            stored, earlier = self._conn.execute(sql.forget_preferences, (cid, digest)).fetchone()  # type: ignore[misc]
            prefs = None if stored is None else _read_preferences(stored, cid)
            scopes = opt_out_scopes(
                prefs,
                [(ch, cat) for ch, cat in json.loads(unsub)],
                None if earlier is None else read_scopes(earlier),
            )
            if scopes[0] or scopes[1]:
                self._conn.execute(sql.suppress, (digest, _json_text_raw(scopes_text(scopes))))
        self._stored = None
        return Erasure(int(recorded), int(held), int(decisions), stored is not None, *scopes)


def _quote(name: str) -> str:
    """``name`` as a PostgreSQL identifier (double quotes, inner ones doubled)."""
    return '"' + name.replace('"', '""') + '"'


def _without_password(pg: Any, dsn: str) -> str:
    """The connection string as it may be shown: every parameter but the password."""
    try:
        params = pg.conninfo.conninfo_to_dict(dsn)
    except pg.Error as exc:
        raise LedgerError(
            f"PostgreSQL ledger: the dsn is not a libpq connection string or URI ({exc})"
        ) from None
    params.pop("password", None)
    first = ("host", "hostaddr", "port", "dbname", "user")
    ordered = {k: params[k] for k in (*first, *sorted(params)) if k in params}
    shown: str = pg.conninfo.make_conninfo(**ordered)
    return shown or "(libpq's defaults)"


def _storable(entries: list[Entry]) -> list[Entry]:
    """``entries``, after refusing text PostgreSQL cannot hold (NUL, lone surrogates)."""
    for name, index in (("customer_id", 0), ("channel", 2), ("category", 3), ("campaign", 4)):
        _refuse_unstorable(name, [e[index] for e in entries])
    _refuse_unstorable("kind", [e.kind for e in entries])
    return entries


def _storable_ids(ids: list[str]) -> None:
    _refuse_unstorable("customer_id", ids)


def _storable_key(key: str) -> None:
    _refuse_unstorable("key", [key])


def _json_text(value: Any) -> str:
    """``value`` as JSON text; non-ASCII kept as it is unless it cannot be sent as UTF-8
    (a lone surrogate), which is escaped instead (``json`` keeps any escape)."""
    text = json.dumps(value, ensure_ascii=False)
    return text if _is_storable(text) else json.dumps(value)


def _read_preferences(text: str, customer_id: str) -> ContactPreferences:
    return ContactPreferences.from_dict(json.loads(text), f"preferences of {customer_id}")


def _merged(stored: str | None, scopes: str | None, customer_id: str) -> ContactPreferences | None:
    """Stored preferences (JSON text) with a suppression record's opt-outs added."""
    prefs = None if stored is None else _read_preferences(stored, customer_id)
    return with_suppression(prefs, None if scopes is None else read_scopes(scopes))


def _json_text_raw(text: str) -> str:
    """JSON text made storable: re-encoded with escapes when it holds a lone surrogate."""
    return text if _is_storable(text) else json.dumps(json.loads(text))


def _decision_rows(records: Sequence[AuditRecord]) -> list[tuple[str, int, str]]:
    checked = check_records(records)
    _storable_ids([r.customer_id for r in checked])
    return [(r.customer_id, to_micros(r.decided_at), _json_text(r.to_dict())) for r in checked]


def _refuse_unstorable(column: str, values: list[Any]) -> None:
    bad = [i for i, v in enumerate(values) if isinstance(v, str) and not _is_storable(v)]
    if bad:
        raise DataError(
            column, "text PostgreSQL cannot store (a NUL character or a lone surrogate)", bad
        )


def _is_storable(text: str) -> bool:
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _columns(entries: Sequence[Entry]) -> tuple[list[Any], ...]:
    return (
        [e.customer_id for e in entries],
        [int(e.at) for e in entries],
        [e.channel for e in entries],
        [e.category for e in entries],
        [e.campaign for e in entries],
        [e.kind for e in entries],
        [bool(e.company) for e in entries],
    )


def _rollback(conn: psycopg.Connection[Any]) -> None:
    """Roll back, if there is still something to roll back: the first error is the news."""
    with suppress(Exception):
        conn.execute("ROLLBACK")


def _abandon(conn: psycopg.Connection[Any]) -> None:
    """Roll back; a connection that cannot is closed, so the server frees its lock."""
    from psycopg.pq import TransactionStatus

    if conn.closed or conn.info.transaction_status == TransactionStatus.IDLE:
        return
    try:
        conn.execute("ROLLBACK")
    except Exception:
        conn.close()


def _to_rows(rows: list[tuple[Any, ...]]) -> CustomerRows:
    if not rows:
        return CustomerRows([], [], [], [], [], [])
    at, ch, cat, camp, kind, comp = (list(c) for c in zip(*rows, strict=True))
    return CustomerRows(at, ch, cat, camp, kind, comp)


def _to_history(ids: list[str], rows: list[tuple[Any, ...]]) -> History:
    """``rows`` (customer_id first, grouped by customer) as the history of ``ids``."""
    spans: dict[str, tuple[int, int]] = {}
    first = 0
    for j in range(1, len(rows) + 1):
        if j == len(rows) or rows[j][0] != rows[first][0]:
            spans[rows[first][0]] = (first, j)
            first = j
    starts = np.empty(len(ids), dtype=np.int64)
    ends = np.empty(len(ids), dtype=np.int64)
    for i, cid in enumerate(ids):
        starts[i], ends[i] = spans.get(cid, (0, 0))
    return History.from_rows(np.asarray(ids, dtype=object), rows, starts, ends)
