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
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np

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
    object may be passed to other processes (it reopens the file by path there).

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
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._connect()  # create the schema now, so errors surface here

    def __repr__(self) -> str:
        return f"SQLiteLedger({self.path!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "synchronous": self.synchronous, "timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], synchronous=state["synchronous"], timeout=state["timeout"])  # type: ignore[misc]

    # ------------------------------------------------------------------ connections

    def _connect(self) -> sqlite3.Connection:
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is not None and local.pid == os.getpid():
            return conn
        # isolation_level=None: transactions are opened explicitly (BEGIN IMMEDIATE).
        conn = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(f"{self.path}: SQLite refused WAL mode (got {mode!r})")
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        conn.executescript(_SCHEMA)
        local.conn, local.pid = conn, os.getpid()
        with self._guard:
            self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this object opened (in this process)."""
        with self._guard:
            conns, self._connections = self._connections, []
        pid = os.getpid()
        for conn in conns:
            if getattr(self._local, "pid", pid) == pid:
                conn.close()
        self._local = threading.local()

    # ------------------------------------------------------------------ the contract

    def __len__(self) -> int:
        return int(self._connect().execute("SELECT count(*) FROM ledger").fetchone()[0])

    def append(self, entries: Sequence[Entry]) -> None:
        rows = [_params(check_entry(e)) for e in entries]
        if not rows:
            return
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(_INSERT, rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _fetch(self, conn: sqlite3.Connection, customer_id: str, since: int | None) -> list[Any]:
        return conn.execute(
            f"{_SELECT} WHERE customer_id = ? AND at >= ? ORDER BY at, id",
            (customer_id, _MIN if since is None else clamp_micros(since)),
        ).fetchall()

    def customer_rows(self, customer_id: str, *, since: int | None = None) -> CustomerRows:
        return _to_rows(self._fetch(self._connect(), customer_id, since))

    def customer_history(self, customer_id: str, *, since: int | None = None) -> History:
        rows = self._fetch(self._connect(), customer_id, since)
        return _to_history([customer_id], {customer_id: rows})

    def histories(self, customer_ids: Sequence[str], *, since: int | None = None) -> History:
        ids = [str(c) for c in customer_ids]
        distinct = list(dict.fromkeys(ids))
        found: dict[str, list[Any]] = {c: [] for c in distinct}
        conn = self._connect()
        lower = _MIN if since is None else clamp_micros(since)
        for k in range(0, len(distinct), _CHUNK):
            chunk = distinct[k : k + _CHUNK]
            marks = ",".join("?" * len(chunk))
            query = (
                "SELECT customer_id, at, channel, category, campaign, kind, company FROM ledger "
                f"WHERE customer_id IN ({marks}) AND at >= ? ORDER BY customer_id, at, id"
            )
            for row in conn.execute(query, (*chunk, lower)):
                found[row[0]].append(row[1:])
        return _to_history(ids, found)

    @contextmanager
    def _exclusive(self, customer_id: str) -> Iterator[LedgerSession]:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield _SQLiteSession(self, conn, customer_id)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def exclusive(self, customer_id: str) -> AbstractContextManager[LedgerSession]:
        return self._exclusive(customer_id)

    def prune(self, before: int) -> int:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            removed = conn.execute(
                "DELETE FROM ledger WHERE at < ?", (clamp_micros(before),)
            ).rowcount
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return int(removed)

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` verdict (``"ok"`` when sound)."""
        return str(self._connect().execute("PRAGMA integrity_check").fetchone()[0])


class _SQLiteSession(LedgerSession):
    """Reads and writes on the connection holding the BEGIN IMMEDIATE transaction."""

    def __init__(self, ledger: SQLiteLedger, conn: sqlite3.Connection, customer_id: str) -> None:
        self._ledger = ledger
        self._conn = conn
        self._customer_id = customer_id

    def customer_history(self, *, since: int | None = None) -> History:
        rows = self._ledger._fetch(self._conn, self._customer_id, since)
        return _to_history([self._customer_id], {self._customer_id: rows})

    def customer_rows(self, *, since: int | None = None) -> CustomerRows:
        return _to_rows(self._ledger._fetch(self._conn, self._customer_id, since))

    def append(self, entries: Sequence[Entry]) -> None:
        self._conn.executemany(_INSERT, [_params(check_entry(e)) for e in entries])


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
