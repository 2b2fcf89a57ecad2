"""A ledger in a SQLite file: the embedded default, shared by threads and processes.

The database runs in WAL mode (readers never block the writer). The ``ledger`` table holds entries,
indexed by (customer, time) and by time (for pruning); an entry stored under a key carries it
(unique), and a reservation its ``held_until``. The ``preferences`` table holds customers' stored
preferences with how far back their own limits read; ``decisions`` the audit trail; ``suppressions``
the opt-outs of forgotten customers under a salted hash of their id (``relcore_salt``);
``relcore_schema`` the schema's version. Those are the default tenant's tables; another tenant's are
named ``"<tenant>/ledger"`` and so on, in the same file
([`SQLiteLedger.for_tenant`][relcore.contact_policy.SQLiteLedger.for_tenant]). A guarded request
runs its read, decision and write inside one ``BEGIN IMMEDIATE`` transaction, which takes SQLite's
write lock before reading: two requests for the same customer, from two threads or two processes,
cannot both see a free slot. A process killed mid-write loses nothing committed (WAL replays on
open).

A file written by an older relcore is migrated when it is opened, in one transaction (a file of a
newer schema than this relcore knows is refused with a [`LedgerError`][relcore.errors.LedgerError]).

``synchronous="NORMAL"`` (the default) makes commits durable against application
crashes, which is what SQLite recommends with WAL; ``"FULL"`` also survives power loss at
the price of an fsync per commit.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

import numpy as np

from .._time import to_micros
from ..errors import LedgerError, ReservationError
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
    Scopes,
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

__all__ = ["SQLiteLedger"]

SCHEMA_VERSION = 3
"""The version of the schema this relcore writes (1: the ledger table alone)."""

# Each migration takes the schema from the version before it to its own number (its
# position, from 1), in one transaction with the others still to apply. Append new ones;
# never change one that has shipped. Names in braces are a tenant's tables and indexes
# (the default tenant's are the bare names: a file of an older relcore is that tenant).
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: contacts and customer events
        """CREATE TABLE {ledger} (
            id          INTEGER PRIMARY KEY,
            customer_id TEXT    NOT NULL,
            at          INTEGER NOT NULL,   -- microseconds since the Unix epoch, UTC
            channel     TEXT,
            category    TEXT,
            campaign    TEXT,
            kind        TEXT    NOT NULL,
            company     INTEGER NOT NULL    -- 1: a contact the company made; 0: an event
        )""",
        "CREATE INDEX {ledger_customer_at} ON {ledger} (customer_id, at)",
        "CREATE INDEX {ledger_at} ON {ledger} (at)",
    ),
    (  # 2: keys and reservations, stored preferences, the audit trail, the version
        "ALTER TABLE {ledger} ADD COLUMN key TEXT",  # the idempotency key, if any
        "ALTER TABLE {ledger} ADD COLUMN held_until INTEGER",  # a reservation: held until (µs)
        "CREATE UNIQUE INDEX {ledger_key} ON {ledger} (key) WHERE key IS NOT NULL",
        "CREATE INDEX {ledger_held} ON {ledger} (customer_id, held_until) "
        "WHERE held_until IS NOT NULL",
        """CREATE TABLE {preferences} (
            customer_id TEXT PRIMARY KEY,
            preferences TEXT    NOT NULL,   -- ContactPreferences.to_dict() as JSON
            reach       INTEGER NOT NULL    -- how far back their own limits read (µs)
        )""",
        """CREATE TABLE {decisions} (
            id          INTEGER PRIMARY KEY,
            customer_id TEXT    NOT NULL,
            decided_at  INTEGER NOT NULL,   -- µs since the epoch, UTC
            record      TEXT    NOT NULL    -- AuditRecord.to_dict() as JSON
        )""",
        "CREATE INDEX {decisions_customer} ON {decisions} (customer_id, decided_at)",
        "CREATE INDEX {decisions_at} ON {decisions} (decided_at)",
        "CREATE TABLE {relcore_schema} (version INTEGER NOT NULL)",
    ),
    (  # 3: suppression records of forgotten customers, and the salt of their hashes
        """CREATE TABLE {suppressions} (
            id_hash     BLOB PRIMARY KEY,   -- HMAC-SHA256(salt, customer id)
            scopes      TEXT NOT NULL       -- the opted-out channels and categories (JSON)
        ) WITHOUT ROWID""",
        "CREATE TABLE {relcore_salt} (salt BLOB NOT NULL)",
        "INSERT INTO {relcore_salt} (salt) VALUES (randomblob(32))",
    ),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION
_NAMES = (
    "ledger", "preferences", "decisions", "relcore_schema", "suppressions", "relcore_salt",
    "ledger_customer_at", "ledger_at", "ledger_key", "ledger_held", "decisions_customer",
    "decisions_at",
)  # fmt: skip
_COLUMNS = "at, channel, category, campaign, kind, company"
_RECORDED = "held_until IS NULL"
_RECORDED_OR_HELD = "(held_until IS NULL OR held_until > ?)"
_MIN = -(2**63)
_CHUNK = 500  # ids per IN (...) query, under SQLite's bound-parameter limit


def _table_names(tenant: str) -> dict[str, str]:
    """The tenant's table and index names as SQL: bare for the default tenant, else
    ``"tenant/name"`` (a tenant name has no quote, see check_tenant)."""
    if tenant == DEFAULT_TENANT:
        return {n: n for n in _NAMES}
    return {n: f'"{tenant}/{n}"' for n in _NAMES}


class _SQL:
    """The ledger's statements for one tenant's tables."""

    def __init__(self, tenant: str) -> None:
        n = _table_names(tenant)
        self.names = n
        self.raw = {k: v.strip('"') for k, v in n.items()}  # as sqlite_master spells them
        ledger, prefs, decisions = n["ledger"], n["preferences"], n["decisions"]
        self.migrations = tuple(
            tuple(statement.format_map(n) for statement in m) for m in _MIGRATIONS
        )
        self.schema = n["relcore_schema"]
        self.select = f"SELECT {_COLUMNS} FROM {ledger}"
        self.ledger = ledger
        self.preferences = prefs
        self.decisions = decisions
        self.suppressions = n["suppressions"]
        self.salt = n["relcore_salt"]
        self.insert = (
            f"INSERT INTO {ledger} (customer_id, at, channel, category, campaign, kind, "
            "company) VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        self.insert_keyed = (
            f"INSERT INTO {ledger} (customer_id, at, channel, category, campaign, kind, "
            "company, key, held_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self.insert_decision = (
            f"INSERT INTO {decisions} (customer_id, decided_at, record) VALUES (?, ?, ?)"
        )


class SQLiteLedger(Ledger):
    """A ledger stored in a SQLite database file.

    Each thread (and each process) gets its own connection, opened on first use; the object may be
    passed to other processes (it reopens the file by path there). A problem with the file
    (read-only, locked by another writer for longer than ``timeout``, not a database) raises
    [`LedgerError`][relcore.errors.LedgerError] naming its path.
    [`close`][relcore.contact_policy.SQLiteLedger.close] is safe while other threads use the ledger:
    their calls in progress finish, and later calls raise
    [`LedgerError`][relcore.errors.LedgerError].

    Parameters
    ----------
    path
        The database file (created when missing).
    synchronous
        ``"NORMAL"`` (durable against crashes of the application) or ``"FULL"`` (also
        against power loss).
    timeout
        Seconds to wait for the write lock before giving up.
    tenant
        Whose rows this ledger reads and writes (see
        [`for_tenant`][relcore.contact_policy.SQLiteLedger.for_tenant]).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "contacts.db")
    >>> ledger = SQLiteLedger(path)
    >>> ledger.append([Entry("c1", 10, "email", "promotional", None, "message", True)])
    >>> ledger.customer_history("c1").at.tolist(), len(ledger)
    ([10], 1)
    >>> ledger.close()
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "NORMAL",
        timeout: float = 60.0,
        tenant: str = DEFAULT_TENANT,
    ) -> None:
        if synchronous.upper() not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', got {synchronous!r}")
        self.tenant = check_tenant(tenant)
        self._q = _SQL(self.tenant)
        self._salt: bytes | None = None
        self.path = os.fspath(path)
        self.synchronous = synchronous.upper()
        self.timeout = float(timeout)
        self._local = threading.local()
        self._opened: list[_Connection] = []
        self._guard = threading.Lock()
        self._closed = False
        with self._using():  # open the file and create the schema now, so errors surface here
            pass

    def __repr__(self) -> str:
        if self.tenant == DEFAULT_TENANT:
            return f"SQLiteLedger({self.path!r})"
        return f"SQLiteLedger({self.path!r}, tenant={self.tenant!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "synchronous": self.synchronous,
            "timeout": self.timeout,
            "tenant": self.tenant,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["path"],
            synchronous=state["synchronous"],
            timeout=state["timeout"],
            tenant=state.get("tenant", DEFAULT_TENANT),
        )

    def for_tenant(self, tenant: str) -> SQLiteLedger:
        """A ledger of the same file for ``tenant``: its own tables (created and migrated
        when first opened), so nothing it does reads, counts or erases this one's rows.

        Examples
        --------
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "contacts.db")
        >>> a = SQLiteLedger(path)
        >>> b = a.for_tenant("brand-b")
        >>> b.append([Entry("c1", 10, "email", None, None, "message", True)])
        >>> len(a), len(b), b.tenant
        (0, 1, 'brand-b')
        >>> a.close(); b.close()
        """
        return SQLiteLedger(
            self.path, synchronous=self.synchronous, timeout=self.timeout, tenant=tenant
        )

    # ------------------------------------------------------------------ connections
    # Each thread uses its own connection, and holds that connection's lock for the whole
    # of each call: close() takes every lock in turn, so it never pulls a connection away
    # from under a statement (which crashes the interpreter), it waits for the call.

    def _connection(self) -> _Connection:
        mine: _Connection | None = getattr(self._local, "mine", None)
        if mine is not None and mine.pid == os.getpid():
            return mine
        conn = self._open()
        with self._guard:
            if self._closed:
                conn.close()
                raise self._closed_error()
            mine = _Connection(conn, os.getpid())
            self._opened.append(mine)
        self._local.mine = mine
        return mine

    def _open(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: transactions are opened explicitly (BEGIN IMMEDIATE).
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise LedgerError(f"SQLite ledger {self.path}: SQLite refused WAL mode ({mode!r})")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            self._migrate(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise self._failed(exc) from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Bring the file's schema to `SCHEMA_VERSION` (or refuse a newer one)."""
        if self._check_version(conn) == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self._check_version(conn)  # another process may have migrated it
            for statements in self._q.migrations[version:]:
                for statement in statements:
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"DELETE FROM {self._q.schema}")
                conn.execute(
                    f"INSERT INTO {self._q.schema} (version) VALUES (?)", (SCHEMA_VERSION,)
                )
        except BaseException:
            _rollback(conn)
            raise
        conn.execute("COMMIT")

    def _check_version(self, conn: sqlite3.Connection) -> int:
        raw = self._q.raw
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
                (raw["ledger"], raw["relcore_schema"]),
            )
        }
        if raw["relcore_schema"] in tables:
            version = int(conn.execute(f"SELECT max(version) FROM {self._q.schema}").fetchone()[0])
        else:
            # relcore before versions; a new file (or a tenant new to it)
            version = 1 if raw["ledger"] in tables else 0
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"SQLite ledger {self.path}: written by a newer relcore (schema version "
                f"{version}; this relcore knows up to {SCHEMA_VERSION}); upgrade relcore"
            )
        return version

    @contextmanager
    def _using(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, held for one call; SQLite's errors name the file."""
        mine = self._connection()
        with mine.lock:
            conn = mine.conn
            if conn is None:
                raise self._closed_error()
            try:
                yield conn
            except sqlite3.Error as exc:
                raise self._failed(exc) from None

    def _failed(self, exc: sqlite3.Error) -> LedgerError:
        if self._closed:
            return self._closed_error()
        return LedgerError(f"SQLite ledger {self.path}: {exc}")

    def _closed_error(self) -> LedgerError:
        return LedgerError(f"SQLite ledger {self.path} is closed")

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
            if mine.pid != pid:  # a parent process's connection, inherited by fork
                continue
            with mine.lock:
                if mine.conn is not None:
                    mine.conn.close()
                    mine.conn = None

    # ------------------------------------------------------------------ the contract

    def __len__(self) -> int:
        with self._using() as conn:
            # the partial index counts reservations at once; a filtered count would read
            # every row
            total = conn.execute(f"SELECT count(*) FROM {self._q.ledger}").fetchone()[0]
            held = conn.execute(
                f"SELECT count(*) FROM {self._q.ledger} WHERE held_until IS NOT NULL"
            ).fetchone()[0]
        return int(total) - int(held)

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection inside one BEGIN IMMEDIATE transaction."""
        with self._using() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                _rollback(conn)
                raise
            conn.execute("COMMIT")

    def append(self, entries: Sequence[Entry]) -> None:
        rows = [_params(check_entry(e)) for e in entries]
        if not rows:
            return
        with self._writing() as conn:
            conn.executemany(self._q.insert, rows)

    def customer_rows(
        self, customer_id: str, *, since: int | None = None, held_at: int | None = None
    ) -> CustomerRows:
        with self._using() as conn:
            return _to_rows(_fetch(self._q, conn, customer_id, since, held_at))

    def customer_history(
        self, customer_id: str, *, since: int | None = None, held_at: int | None = None
    ) -> History:
        with self._using() as conn:
            rows = _fetch(self._q, conn, customer_id, since, held_at)
        return _to_history([customer_id], {customer_id: rows})

    def histories(
        self, customer_ids: Sequence[str], *, since: int | None = None, held_at: int | None = None
    ) -> History:
        ids = [str(c) for c in customer_ids]
        distinct = list(dict.fromkeys(ids))
        found: dict[str, list[Any]] = {c: [] for c in distinct}
        lower = _MIN if since is None else clamp_micros(since)
        held, extra = (_RECORDED, ()) if held_at is None else (_RECORDED_OR_HELD, (held_at,))
        with self._using() as conn:
            for k in range(0, len(distinct), _CHUNK):
                chunk = distinct[k : k + _CHUNK]
                marks = ",".join("?" * len(chunk))
                query = (
                    f"SELECT customer_id, {_COLUMNS} FROM {self._q.ledger} WHERE customer_id IN "
                    f"({marks}) AND at >= ? AND {held} ORDER BY customer_id, at, id"
                )
                for row in conn.execute(query, (*chunk, lower, *extra)):
                    found[row[0]].append(row[1:])
        return _to_history(ids, found)

    @contextmanager
    def _exclusive(self, customer_id: str) -> Iterator[LedgerSession]:
        mine = self._connection()
        with mine.lock:  # for the whole block: close() waits for it
            conn = mine.conn
            if conn is None:
                raise self._closed_error()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._failed(exc) from None
            try:
                yield _SQLiteSession(self, conn, customer_id)
            except BaseException:
                _rollback(conn)
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise self._failed(exc) from None

    def exclusive(self, customer_id: str) -> AbstractContextManager[LedgerSession]:
        return self._exclusive(customer_id)

    def keyed(self, key: str) -> KeyedEntry | None:
        with self._using() as conn:
            return _keyed(self._q, conn, key)

    def _hash(self, customer_id: str) -> bytes:
        if self._salt is None:  # written by the migration that made the table; never changes
            with self._using() as conn:
                row = conn.execute(f"SELECT salt FROM {self._q.salt}").fetchone()
            self._salt = bytes(row[0])
        return suppression_hash(self._salt, customer_id)

    def get_preferences(self, customer_id: str) -> ContactPreferences | None:
        with self._using() as conn:
            return _get_preferences(self, conn, customer_id)

    def get_preferences_many(self, customer_ids: Sequence[str]) -> dict[str, ContactPreferences]:
        distinct = list(dict.fromkeys(str(c) for c in customer_ids))
        out: dict[str, ContactPreferences] = {}
        q = self._q
        scopes: dict[bytes, Scopes] = {}
        with self._using() as conn:
            any_suppressed = (
                conn.execute(f"SELECT 1 FROM {q.suppressions} LIMIT 1").fetchone() is not None
            )
            any_stored = (
                conn.execute(f"SELECT 1 FROM {q.preferences} LIMIT 1").fetchone() is not None
            )
            if not any_stored and not any_suppressed:
                return out  # the usual case: nothing stored, nothing to look up
            hashes = {cid: self._hash(cid) for cid in distinct} if any_suppressed else {}
            for k in range(0, len(distinct), _CHUNK):
                chunk = distinct[k : k + _CHUNK]
                marks = ",".join("?" * len(chunk))
                if any_stored:
                    query = (
                        f"SELECT customer_id, preferences FROM {q.preferences} "
                        f"WHERE customer_id IN ({marks})"
                    )
                    for cid, text in conn.execute(query, chunk):
                        out[cid] = _read_preferences(text, cid)
                if any_suppressed:
                    query = (
                        f"SELECT id_hash, scopes FROM {q.suppressions} WHERE id_hash IN ({marks})"
                    )
                    for digest, text in conn.execute(query, [hashes[c] for c in chunk]):
                        scopes[bytes(digest)] = read_scopes(text)
        if scopes:
            for cid in distinct:
                found = scopes.get(hashes[cid])
                if found is not None:
                    merged = with_suppression(out.get(cid), found)
                    assert merged is not None
                    out[cid] = merged
        return out

    def set_preferences(self, customer_id: str, preferences: ContactPreferences | None) -> None:
        check_preferences(customer_id, preferences)
        with self._writing() as conn:
            _set_preferences(self._q, conn, customer_id, preferences)

    def log_decisions(self, records: Sequence[AuditRecord]) -> None:
        rows = _decision_rows(records)
        if rows:
            with self._writing() as conn:
                conn.executemany(self._q.insert_decision, rows)

    def decisions(
        self,
        *,
        customer_id: str | None = None,
        since: _dt.datetime | int | None = None,
        until: _dt.datetime | int | None = None,
    ) -> list[AuditRecord]:
        where, params = decisions_filter(customer_id, since, until, mark="?")
        query = f"SELECT record FROM {self._q.decisions}{where}"
        with self._using() as conn:
            texts = [row[0] for row in conn.execute(query + " ORDER BY decided_at, id", params)]
        return [AuditRecord.from_dict(json.loads(text)) for text in texts]

    def prune(self, before: int) -> int:
        before = clamp_micros(before)
        with self._writing() as conn:
            # recorded entries older than before, unless the customer's own limits still
            # read them; reservations of long ago, or long expired
            removed = conn.execute(
                f"""DELETE FROM {self._q.ledger} AS l WHERE
                    (held_until IS NULL AND at < :before AND NOT EXISTS (
                        SELECT 1 FROM {self._q.preferences} p
                        WHERE p.customer_id = l.customer_id AND l.at >= :before - p.reach))
                    OR (held_until IS NOT NULL AND (at < :before OR held_until < :before))""",
                {"before": before},
            ).rowcount
        return int(removed)

    def forget(self, customer_id: str) -> Erasure:
        """Remove everything held on a customer (see [`Ledger`][relcore.contact_policy.Ledger]).

        SQLite keeps deleted rows' bytes in free pages and the write-ahead log until they
        are reused: this runs with ``secure_delete`` (deleted content is overwritten with
        zeros) and then checkpoints the log, truncating it when no other connection is
        reading the file at that moment (else the log's copy goes at a later checkpoint).
        """
        check_customer_id(customer_id)
        with self._using() as conn:
            conn.execute("PRAGMA secure_delete = ON")
            try:
                with self.exclusive(customer_id) as session:
                    assert isinstance(session, _SQLiteSession)
                    erased = session.forget()
                # a checkpoint waits for readers and writers: briefly, the erasure is done
                conn.execute("PRAGMA busy_timeout = 1000")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                conn.execute("PRAGMA secure_delete = OFF")
        return erased

    def lift_suppression(self, customer_id: str) -> bool:
        check_customer_id(customer_id)
        with self._writing() as conn:
            gone = conn.execute(
                f"DELETE FROM {self._q.suppressions} WHERE id_hash = ?", (self._hash(customer_id),)
            ).rowcount
        return bool(gone)

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` verdict (``"ok"`` when sound)."""
        with self._using() as conn:
            return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


class _Connection:
    """One thread's connection (``None`` once closed) and the lock held while it is used."""

    __slots__ = ("conn", "lock", "pid")

    def __init__(self, conn: sqlite3.Connection, pid: int) -> None:
        self.conn: sqlite3.Connection | None = conn
        self.lock = threading.RLock()  # re-entrant: a thread may call the ledger in a session
        self.pid = pid


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back, if there is still something to roll back: the first error is the news."""
    with suppress(sqlite3.Error):
        conn.execute("ROLLBACK")


class _SQLiteSession(LedgerSession):
    """Reads and writes on the connection holding the BEGIN IMMEDIATE transaction."""

    def __init__(self, ledger: SQLiteLedger, conn: sqlite3.Connection, customer_id: str) -> None:
        self._ledger = ledger
        self._q = ledger._q
        self._conn = conn
        self._customer_id = customer_id

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._ledger._failed(exc) from None

    def customer_history(self, *, since: int | None = None, held_at: int | None = None) -> History:
        with self._errors():
            rows = _fetch(self._q, self._conn, self._customer_id, since, held_at)
        return _to_history([self._customer_id], {self._customer_id: rows})

    def customer_rows(
        self, *, since: int | None = None, held_at: int | None = None
    ) -> CustomerRows:
        with self._errors():
            return _to_rows(_fetch(self._q, self._conn, self._customer_id, since, held_at))

    def append(self, entries: Sequence[Entry]) -> None:
        rows = [_params(check_entry(e)) for e in entries]
        with self._errors():
            self._conn.executemany(self._q.insert, rows)

    def keyed(self, key: str) -> KeyedEntry | None:
        with self._errors():
            return _keyed(self._q, self._conn, key)

    def add_keyed(self, keyed: KeyedEntry) -> None:
        k = check_keyed(keyed, self._customer_id)
        try:
            self._conn.execute(self._q.insert_keyed, (*_params(k.entry), k.key, k.held_until))
        except sqlite3.IntegrityError:
            raise ReservationError(k.key, "is used already; a key names one contact") from None
        except sqlite3.Error as exc:
            raise self._ledger._failed(exc) from None

    def _mine(self, key: str) -> KeyedEntry | None:
        with self._errors():
            k = _keyed(self._q, self._conn, key)
        if k is not None and k.entry.customer_id != self._customer_id:
            raise ReservationError(
                key, f"belongs to customer {k.entry.customer_id!r}, not {self._customer_id!r}"
            )
        return k

    def confirm(self, key: str) -> None:
        k = self._mine(key)
        if k is None:
            raise ReservationError(key, "nothing is held under this key")
        if k.held_until is not None:
            with self._errors():
                self._conn.execute(
                    f"UPDATE {self._q.ledger} SET held_until = NULL WHERE key = ?", (key,)
                )

    def release(self, key: str) -> bool:
        k = self._mine(key)
        if k is None:
            return False
        if k.held_until is None:
            raise ReservationError(key, "its contact is recorded; a recorded contact stays")
        with self._errors():
            self._conn.execute(f"DELETE FROM {self._q.ledger} WHERE key = ?", (key,))
        return True

    def expire(self, now: int) -> int:
        with self._errors():
            return int(
                self._conn.execute(
                    f"DELETE FROM {self._q.ledger} WHERE customer_id = ? AND held_until <= ?",
                    (self._customer_id, clamp_micros(now)),
                ).rowcount
            )

    def get_preferences(self) -> ContactPreferences | None:
        with self._errors():
            return _get_preferences(self._ledger, self._conn, self._customer_id)

    def set_preferences(self, preferences: ContactPreferences | None) -> None:
        check_preferences(self._customer_id, preferences)
        with self._errors():
            _set_preferences(self._q, self._conn, self._customer_id, preferences)

    def log_decisions(self, records: Sequence[AuditRecord]) -> None:
        rows = _decision_rows(records)
        with self._errors():
            self._conn.executemany(self._q.insert_decision, rows)

    def forget(self) -> Erasure:
        """Everything of the customer deleted, a suppression record kept (or merged)."""
        q, conn, cid = self._q, self._conn, self._customer_id
        digest = self._ledger._hash(cid)
        with self._errors():
            unsubscribes = conn.execute(
                f"SELECT channel, category FROM {q.ledger} "
                "WHERE customer_id = ? AND kind = ? AND company = 0 AND held_until IS NULL",
                (cid, UNSUBSCRIBE),
            ).fetchall()
            recorded, held = conn.execute(
                f"SELECT count(*) - count(held_until), count(held_until) FROM {q.ledger} "
                "WHERE customer_id = ?",
                (cid,),
            ).fetchone()
            conn.execute(f"DELETE FROM {q.ledger} WHERE customer_id = ?", (cid,))
            decisions = conn.execute(
                f"DELETE FROM {q.decisions} WHERE customer_id = ?", (cid,)
            ).rowcount
            row = conn.execute(
                f"SELECT preferences FROM {q.preferences} WHERE customer_id = ?", (cid,)
            ).fetchone()
            conn.execute(f"DELETE FROM {q.preferences} WHERE customer_id = ?", (cid,))
            earlier = conn.execute(
                f"SELECT scopes FROM {q.suppressions} WHERE id_hash = ?", (digest,)
            ).fetchone()
            stored = None if row is None else _read_preferences(row[0], cid)
            scopes = opt_out_scopes(
                stored, unsubscribes, None if earlier is None else read_scopes(earlier[0])
            )
            if scopes[0] or scopes[1]:
                conn.execute(
                    f"INSERT OR REPLACE INTO {q.suppressions} (id_hash, scopes) VALUES (?, ?)",
                    (digest, scopes_text(scopes)),
                )
        return Erasure(int(recorded), int(held), int(decisions), row is not None, *scopes)


def _fetch(
    q: _SQL, conn: sqlite3.Connection, customer_id: str, since: int | None, held_at: int | None
) -> list[Any]:
    lower = _MIN if since is None else clamp_micros(since)
    if held_at is None:
        return conn.execute(
            f"{q.select} WHERE customer_id = ? AND at >= ? AND {_RECORDED} ORDER BY at, id",
            (customer_id, lower),
        ).fetchall()
    return conn.execute(
        f"{q.select} WHERE customer_id = ? AND at >= ? AND {_RECORDED_OR_HELD} ORDER BY at, id",
        (customer_id, lower, clamp_micros(held_at)),
    ).fetchall()


def _keyed(q: _SQL, conn: sqlite3.Connection, key: str) -> KeyedEntry | None:
    row = conn.execute(
        f"SELECT customer_id, {_COLUMNS}, held_until FROM {q.ledger} WHERE key = ?", (key,)
    ).fetchone()
    if row is None:
        return None
    cid, at, channel, category, campaign, kind, company, held_until = row
    return KeyedEntry(
        key, Entry(cid, at, channel, category, campaign, kind, bool(company)), held_until
    )


def _get_preferences(
    ledger: SQLiteLedger, conn: sqlite3.Connection, customer_id: str
) -> ContactPreferences | None:
    q = ledger._q
    row = conn.execute(
        f"SELECT (SELECT preferences FROM {q.preferences} WHERE customer_id = ?), "
        f"(SELECT scopes FROM {q.suppressions} WHERE id_hash = ?)",
        (customer_id, ledger._hash(customer_id)),
    ).fetchone()
    stored = None if row[0] is None else _read_preferences(row[0], customer_id)
    scopes: Scopes | None = None if row[1] is None else read_scopes(row[1])
    return with_suppression(stored, scopes)


def _read_preferences(text: str, customer_id: str) -> ContactPreferences:
    return ContactPreferences.from_dict(json.loads(text), f"preferences of {customer_id}")


def _set_preferences(
    q: _SQL, conn: sqlite3.Connection, customer_id: str, preferences: ContactPreferences | None
) -> None:
    if preferences is None:
        conn.execute(f"DELETE FROM {q.preferences} WHERE customer_id = ?", (customer_id,))
        return
    conn.execute(
        f"INSERT OR REPLACE INTO {q.preferences} (customer_id, preferences, reach) "
        "VALUES (?, ?, ?)",
        (
            customer_id,
            json.dumps(preferences.to_dict(), ensure_ascii=False),
            preferences_reach(preferences),
        ),
    )


def _decision_rows(records: Sequence[AuditRecord]) -> list[tuple[str, int, str]]:
    return [
        (r.customer_id, to_micros(r.decided_at), json.dumps(r.to_dict(), ensure_ascii=False))
        for r in check_records(records)
    ]


def _params(e: Entry) -> tuple[Any, ...]:
    return (e.customer_id, int(e.at), e.channel, e.category, e.campaign, e.kind, int(e.company))


def _to_rows(rows: list[Any]) -> CustomerRows:
    if not rows:
        return CustomerRows([], [], [], [], [], [])
    at, ch, cat, camp, kind, comp = (list(c) for c in zip(*rows, strict=True))
    return CustomerRows(at, ch, cat, camp, kind, [bool(c) for c in comp])


def _to_history(ids: list[str], found: dict[str, list[Any]]) -> History:
    rows: list[tuple[Any, ...]] = []
    starts = np.empty(len(ids), dtype=np.int64)
    ends = np.empty(len(ids), dtype=np.int64)
    placed: dict[str, tuple[int, int]] = {}
    for i, cid in enumerate(ids):
        if cid not in placed:
            got = found.get(cid, [])
            placed[cid] = (len(rows), len(rows) + len(got))
            rows.extend((cid, *r) for r in got)
        starts[i], ends[i] = placed[cid]
    return History.from_rows(np.asarray(ids, dtype=object), rows, starts, ends)
