"""A ledger in a SQLite file: the embedded default, shared by threads and processes.

The database runs in WAL mode (readers never block the writer). The ``ledger`` table
holds entries, indexed by (customer, time) and by time (for pruning); an entry stored
under a key carries it (unique), and a reservation its ``held_until``. The
``preferences`` table holds customers' stored preferences with how far back their own
limits read; ``decisions`` the audit trail; ``relcore_schema`` the schema's version.
A guarded request runs its read, decision and write inside one ``BEGIN IMMEDIATE``
transaction, which takes SQLite's write lock before reading: two requests for the same
customer, from two threads or two processes, cannot both see a free slot. A process
killed mid-write loses nothing committed (WAL replays on open).

A file written by an older relcore is migrated when it is opened, in one transaction
(a file of a newer schema than this relcore knows is refused with a
:class:`~relcore.LedgerError`).

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
    KeyedEntry,
    Ledger,
    LedgerSession,
    audit_instant,
    check_entry,
    check_keyed,
    check_preferences,
    check_records,
    preferences_reach,
)

__all__ = ["SQLiteLedger"]

SCHEMA_VERSION = 2
"""The version of the schema this relcore writes (1: the ledger table alone)."""

# Each migration takes the schema from the version before it to its own number (its
# position, from 1), in one transaction with the others still to apply. Append new ones;
# never change one that has shipped.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: contacts and customer events
        """CREATE TABLE ledger (
            id          INTEGER PRIMARY KEY,
            customer_id TEXT    NOT NULL,
            at          INTEGER NOT NULL,   -- microseconds since the Unix epoch, UTC
            channel     TEXT,
            category    TEXT,
            campaign    TEXT,
            kind        TEXT    NOT NULL,
            company     INTEGER NOT NULL    -- 1: a contact the company made; 0: an event
        )""",
        "CREATE INDEX ledger_customer_at ON ledger (customer_id, at)",
        "CREATE INDEX ledger_at ON ledger (at)",
    ),
    (  # 2: keys and reservations, stored preferences, the audit trail, the version
        "ALTER TABLE ledger ADD COLUMN key TEXT",  # the idempotency key, if any
        "ALTER TABLE ledger ADD COLUMN held_until INTEGER",  # a reservation: held until (µs)
        "CREATE UNIQUE INDEX ledger_key ON ledger (key) WHERE key IS NOT NULL",
        "CREATE INDEX ledger_held ON ledger (customer_id, held_until) WHERE held_until IS NOT NULL",
        """CREATE TABLE preferences (
            customer_id TEXT PRIMARY KEY,
            preferences TEXT    NOT NULL,   -- ContactPreferences.to_dict() as JSON
            reach       INTEGER NOT NULL    -- how far back their own limits read (µs)
        )""",
        """CREATE TABLE decisions (
            id          INTEGER PRIMARY KEY,
            customer_id TEXT    NOT NULL,
            decided_at  INTEGER NOT NULL,   -- µs since the epoch, UTC
            record      TEXT    NOT NULL    -- AuditRecord.to_dict() as JSON
        )""",
        "CREATE INDEX decisions_customer ON decisions (customer_id, decided_at)",
        "CREATE INDEX decisions_at ON decisions (decided_at)",
        "CREATE TABLE relcore_schema (version INTEGER NOT NULL)",
    ),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION
_COLUMNS = "at, channel, category, campaign, kind, company"
_SELECT = f"SELECT {_COLUMNS} FROM ledger"
_RECORDED = "held_until IS NULL"
_RECORDED_OR_HELD = "(held_until IS NULL OR held_until > ?)"
_INSERT = (
    "INSERT INTO ledger (customer_id, at, channel, category, campaign, kind, company) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_KEYED = (
    "INSERT INTO ledger (customer_id, at, channel, category, campaign, kind, company, key, "
    "held_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_MIN = -(2**63)
_CHUNK = 500  # ids per IN (...) query, under SQLite's bound-parameter limit


class SQLiteLedger(Ledger):
    """A ledger stored in a SQLite database file.

    Each thread (and each process) gets its own connection, opened on first use; the
    object may be passed to other processes (it reopens the file by path there). A
    problem with the file (read-only, locked by another writer for longer than
    ``timeout``, not a database) raises :class:`~relcore.LedgerError` naming its path.
    :meth:`close` is safe while other threads use the ledger: their calls in progress
    finish, and later calls raise :class:`~relcore.LedgerError`.

    Parameters
    ----------
    path
        The database file (created when missing).
    synchronous
        ``"NORMAL"`` (durable against crashes of the application) or ``"FULL"`` (also
        against power loss).
    timeout
        Seconds to wait for the write lock before giving up.

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
        self, path: str | os.PathLike[str], *, synchronous: str = "NORMAL", timeout: float = 60.0
    ) -> None:
        if synchronous.upper() not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', got {synchronous!r}")
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
        return f"SQLiteLedger({self.path!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "synchronous": self.synchronous, "timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], synchronous=state["synchronous"], timeout=state["timeout"])  # type: ignore[misc]

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
        """Bring the file's schema to :data:`SCHEMA_VERSION` (or refuse a newer one)."""
        if self._check_version(conn) == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self._check_version(conn)  # another process may have migrated it
            for statements in _MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute("DELETE FROM relcore_schema")
                conn.execute("INSERT INTO relcore_schema (version) VALUES (?)", (SCHEMA_VERSION,))
        except BaseException:
            _rollback(conn)
            raise
        conn.execute("COMMIT")

    def _check_version(self, conn: sqlite3.Connection) -> int:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name IN ('ledger', 'relcore_schema')"
            )
        }
        if "relcore_schema" in tables:
            version = int(conn.execute("SELECT max(version) FROM relcore_schema").fetchone()[0])
        else:
            version = 1 if "ledger" in tables else 0  # relcore before versions; a new file
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
        :class:`~relcore.LedgerError`. Closing twice is harmless.
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
            total = conn.execute("SELECT count(*) FROM ledger").fetchone()[0]
            held = conn.execute(
                "SELECT count(*) FROM ledger WHERE held_until IS NOT NULL"
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
            conn.executemany(_INSERT, rows)

    def customer_rows(
        self, customer_id: str, *, since: int | None = None, held_at: int | None = None
    ) -> CustomerRows:
        with self._using() as conn:
            return _to_rows(_fetch(conn, customer_id, since, held_at))

    def customer_history(
        self, customer_id: str, *, since: int | None = None, held_at: int | None = None
    ) -> History:
        with self._using() as conn:
            rows = _fetch(conn, customer_id, since, held_at)
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
                    f"SELECT customer_id, {_COLUMNS} FROM ledger WHERE customer_id IN "
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
            return _keyed(conn, key)

    def get_preferences(self, customer_id: str) -> ContactPreferences | None:
        with self._using() as conn:
            return _get_preferences(conn, customer_id)

    def get_preferences_many(self, customer_ids: Sequence[str]) -> dict[str, ContactPreferences]:
        distinct = list(dict.fromkeys(str(c) for c in customer_ids))
        out: dict[str, ContactPreferences] = {}
        with self._using() as conn:
            if conn.execute("SELECT 1 FROM preferences LIMIT 1").fetchone() is None:
                return out  # the usual case: nothing stored, nothing to look up
            for k in range(0, len(distinct), _CHUNK):
                chunk = distinct[k : k + _CHUNK]
                marks = ",".join("?" * len(chunk))
                query = (
                    "SELECT customer_id, preferences FROM preferences "
                    f"WHERE customer_id IN ({marks})"
                )
                for cid, text in conn.execute(query, chunk):
                    out[cid] = _read_preferences(text, cid)
        return out

    def set_preferences(self, customer_id: str, preferences: ContactPreferences | None) -> None:
        check_preferences(customer_id, preferences)
        with self._writing() as conn:
            _set_preferences(conn, customer_id, preferences)

    def log_decisions(self, records: Sequence[AuditRecord]) -> None:
        rows = _decision_rows(records)
        if rows:
            with self._writing() as conn:
                conn.executemany(_INSERT_DECISION, rows)

    def decisions(
        self,
        *,
        customer_id: str | None = None,
        since: _dt.datetime | int | None = None,
        until: _dt.datetime | int | None = None,
    ) -> list[AuditRecord]:
        where: list[str] = []
        params: list[str | int] = []
        if customer_id is not None:
            where.append("customer_id = ?")
            params.append(customer_id)
        lo, hi = audit_instant(since, "since"), audit_instant(until, "until")
        if lo is not None:
            where.append("decided_at >= ?")
            params.append(lo)
        if hi is not None:
            where.append("decided_at < ?")
            params.append(hi)
        query = "SELECT record FROM decisions"
        if where:
            query += " WHERE " + " AND ".join(where)
        with self._using() as conn:
            texts = [row[0] for row in conn.execute(query + " ORDER BY decided_at, id", params)]
        return [AuditRecord.from_dict(json.loads(text)) for text in texts]

    def prune(self, before: int) -> int:
        before = clamp_micros(before)
        with self._writing() as conn:
            # recorded entries older than before, unless the customer's own limits still
            # read them; reservations of long ago, or long expired
            removed = conn.execute(
                """DELETE FROM ledger WHERE
                    (held_until IS NULL AND at < :before AND NOT EXISTS (
                        SELECT 1 FROM preferences p WHERE p.customer_id = ledger.customer_id
                        AND ledger.at >= :before - p.reach))
                    OR (held_until IS NOT NULL AND (at < :before OR held_until < :before))""",
                {"before": before},
            ).rowcount
        return int(removed)

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
            rows = _fetch(self._conn, self._customer_id, since, held_at)
        return _to_history([self._customer_id], {self._customer_id: rows})

    def customer_rows(
        self, *, since: int | None = None, held_at: int | None = None
    ) -> CustomerRows:
        with self._errors():
            return _to_rows(_fetch(self._conn, self._customer_id, since, held_at))

    def append(self, entries: Sequence[Entry]) -> None:
        rows = [_params(check_entry(e)) for e in entries]
        with self._errors():
            self._conn.executemany(_INSERT, rows)

    def keyed(self, key: str) -> KeyedEntry | None:
        with self._errors():
            return _keyed(self._conn, key)

    def add_keyed(self, keyed: KeyedEntry) -> None:
        k = check_keyed(keyed, self._customer_id)
        try:
            self._conn.execute(_INSERT_KEYED, (*_params(k.entry), k.key, k.held_until))
        except sqlite3.IntegrityError:
            raise ReservationError(k.key, "is used already; a key names one contact") from None
        except sqlite3.Error as exc:
            raise self._ledger._failed(exc) from None

    def _mine(self, key: str) -> KeyedEntry | None:
        with self._errors():
            k = _keyed(self._conn, key)
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
                self._conn.execute("UPDATE ledger SET held_until = NULL WHERE key = ?", (key,))

    def release(self, key: str) -> bool:
        k = self._mine(key)
        if k is None:
            return False
        if k.held_until is None:
            raise ReservationError(key, "its contact is recorded; a recorded contact stays")
        with self._errors():
            self._conn.execute("DELETE FROM ledger WHERE key = ?", (key,))
        return True

    def expire(self, now: int) -> int:
        with self._errors():
            return int(
                self._conn.execute(
                    "DELETE FROM ledger WHERE customer_id = ? AND held_until <= ?",
                    (self._customer_id, clamp_micros(now)),
                ).rowcount
            )

    def get_preferences(self) -> ContactPreferences | None:
        with self._errors():
            return _get_preferences(self._conn, self._customer_id)

    def set_preferences(self, preferences: ContactPreferences | None) -> None:
        check_preferences(self._customer_id, preferences)
        with self._errors():
            _set_preferences(self._conn, self._customer_id, preferences)

    def log_decisions(self, records: Sequence[AuditRecord]) -> None:
        rows = _decision_rows(records)
        with self._errors():
            self._conn.executemany(_INSERT_DECISION, rows)


def _fetch(
    conn: sqlite3.Connection, customer_id: str, since: int | None, held_at: int | None
) -> list[Any]:
    lower = _MIN if since is None else clamp_micros(since)
    if held_at is None:
        return conn.execute(
            f"{_SELECT} WHERE customer_id = ? AND at >= ? AND {_RECORDED} ORDER BY at, id",
            (customer_id, lower),
        ).fetchall()
    return conn.execute(
        f"{_SELECT} WHERE customer_id = ? AND at >= ? AND {_RECORDED_OR_HELD} ORDER BY at, id",
        (customer_id, lower, clamp_micros(held_at)),
    ).fetchall()


def _keyed(conn: sqlite3.Connection, key: str) -> KeyedEntry | None:
    row = conn.execute(
        f"SELECT customer_id, {_COLUMNS}, held_until FROM ledger WHERE key = ?", (key,)
    ).fetchone()
    if row is None:
        return None
    cid, at, channel, category, campaign, kind, company, held_until = row
    return KeyedEntry(
        key, Entry(cid, at, channel, category, campaign, kind, bool(company)), held_until
    )


def _get_preferences(conn: sqlite3.Connection, customer_id: str) -> ContactPreferences | None:
    row = conn.execute(
        "SELECT preferences FROM preferences WHERE customer_id = ?", (customer_id,)
    ).fetchone()
    return None if row is None else _read_preferences(row[0], customer_id)


def _read_preferences(text: str, customer_id: str) -> ContactPreferences:
    return ContactPreferences.from_dict(json.loads(text), f"preferences of {customer_id}")


def _set_preferences(
    conn: sqlite3.Connection, customer_id: str, preferences: ContactPreferences | None
) -> None:
    if preferences is None:
        conn.execute("DELETE FROM preferences WHERE customer_id = ?", (customer_id,))
        return
    conn.execute(
        "INSERT OR REPLACE INTO preferences (customer_id, preferences, reach) VALUES (?, ?, ?)",
        (
            customer_id,
            json.dumps(preferences.to_dict(), ensure_ascii=False),
            preferences_reach(preferences),
        ),
    )


_INSERT_DECISION = "INSERT INTO decisions (customer_id, decided_at, record) VALUES (?, ?, ?)"


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
