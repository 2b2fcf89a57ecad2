"""A ledger in a SQLite file: the embedded default, shared by threads and processes.

The database runs in WAL mode (readers never block the writer), with one table indexed
by (customer, time) and by time (for pruning). A guarded request runs its read, decision
and write inside one ``BEGIN IMMEDIATE`` transaction, which takes SQLite's write lock
before reading: two requests for the same customer, from two threads or two processes,
cannot both see a free slot. A process killed mid-write loses nothing committed (WAL
replays on open).

``synchronous="NORMAL"`` (the default) makes commits durable against application
crashes, which is what SQLite recommends with WAL; ``"FULL"`` also survives power loss at
the price of an fsync per commit.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

import numpy as np

from ..errors import LedgerError
from .history import CustomerRows, Entry, History, clamp_micros
from .ledger import Ledger, LedgerSession, check_entry

__all__ = ["SQLiteLedger"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger (
    id          INTEGER PRIMARY KEY,
    customer_id TEXT    NOT NULL,
    at          INTEGER NOT NULL,   -- microseconds since the Unix epoch, UTC
    channel     TEXT,
    category    TEXT,
    campaign    TEXT,
    kind        TEXT    NOT NULL,
    company     INTEGER NOT NULL    -- 1: a contact the company made; 0: a customer event
);
CREATE INDEX IF NOT EXISTS ledger_customer_at ON ledger (customer_id, at);
CREATE INDEX IF NOT EXISTS ledger_at ON ledger (at);
"""
_SELECT = "SELECT at, channel, category, campaign, kind, company FROM ledger"
_INSERT = (
    "INSERT INTO ledger (customer_id, at, channel, category, campaign, kind, company) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
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
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            conn.close()
            raise self._failed(exc) from None
        except BaseException:
            conn.close()
            raise
        return conn

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
            return int(conn.execute("SELECT count(*) FROM ledger").fetchone()[0])

    def append(self, entries: Sequence[Entry]) -> None:
        rows = [_params(check_entry(e)) for e in entries]
        if not rows:
            return
        with self._using() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_INSERT, rows)
            except BaseException:
                _rollback(conn)
                raise
            conn.execute("COMMIT")

    def _fetch(self, conn: sqlite3.Connection, customer_id: str, since: int | None) -> list[Any]:
        return conn.execute(
            f"{_SELECT} WHERE customer_id = ? AND at >= ? ORDER BY at, id",
            (customer_id, _MIN if since is None else clamp_micros(since)),
        ).fetchall()

    def customer_rows(self, customer_id: str, *, since: int | None = None) -> CustomerRows:
        with self._using() as conn:
            return _to_rows(self._fetch(conn, customer_id, since))

    def customer_history(self, customer_id: str, *, since: int | None = None) -> History:
        with self._using() as conn:
            rows = self._fetch(conn, customer_id, since)
        return _to_history([customer_id], {customer_id: rows})

    def histories(self, customer_ids: Sequence[str], *, since: int | None = None) -> History:
        ids = [str(c) for c in customer_ids]
        distinct = list(dict.fromkeys(ids))
        found: dict[str, list[Any]] = {c: [] for c in distinct}
        lower = _MIN if since is None else clamp_micros(since)
        with self._using() as conn:
            for k in range(0, len(distinct), _CHUNK):
                chunk = distinct[k : k + _CHUNK]
                marks = ",".join("?" * len(chunk))
                query = (
                    "SELECT customer_id, at, channel, category, campaign, kind, company "
                    f"FROM ledger WHERE customer_id IN ({marks}) AND at >= ? "
                    "ORDER BY customer_id, at, id"
                )
                for row in conn.execute(query, (*chunk, lower)):
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

    def prune(self, before: int) -> int:
        with self._using() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                removed = conn.execute(
                    "DELETE FROM ledger WHERE at < ?", (clamp_micros(before),)
                ).rowcount
            except BaseException:
                _rollback(conn)
                raise
            conn.execute("COMMIT")
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

    def customer_history(self, *, since: int | None = None) -> History:
        try:
            rows = self._ledger._fetch(self._conn, self._customer_id, since)
        except sqlite3.Error as exc:
            raise self._ledger._failed(exc) from None
        return _to_history([self._customer_id], {self._customer_id: rows})

    def customer_rows(self, *, since: int | None = None) -> CustomerRows:
        try:
            return _to_rows(self._ledger._fetch(self._conn, self._customer_id, since))
        except sqlite3.Error as exc:
            raise self._ledger._failed(exc) from None

    def append(self, entries: Sequence[Entry]) -> None:
        rows = [_params(check_entry(e)) for e in entries]
        try:
            self._conn.executemany(_INSERT, rows)
        except sqlite3.Error as exc:
            raise self._ledger._failed(exc) from None


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
