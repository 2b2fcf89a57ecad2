"""The ledger contract: every ledger must pass these tests.

:class:`LedgerContract` is written against the :class:`~relcore.contact_policy.Ledger`
protocol only. A new ledger (a PostgreSQL one, say) reuses it by subclassing and
defining ``make_ledger``::

    class TestPostgresLedger(LedgerContract):
        def make_ledger(self, tmp_path):
            return PostgresLedger(dsn)
"""

from __future__ import annotations

import pickle
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from relcore import DataError
from relcore.contact_policy import (
    Contact,
    ContactGuard,
    Entry,
    FrequencyCap,
    Ledger,
    MemoryLedger,
    Policy,
    SQLiteLedger,
)

DAY = 86_400_000_000


def contact(customer: str, at: int, channel: str | None = "email", **kw) -> Entry:
    return Entry(
        customer,
        at,
        channel,
        kw.get("category"),
        kw.get("campaign"),
        kw.get("kind", "message"),
        kw.get("company", True),
    )


class LedgerContract:
    """What every ledger promises. Subclasses define ``make_ledger(tmp_path)``."""

    def make_ledger(self, tmp_path) -> Ledger:
        raise NotImplementedError

    @pytest.fixture
    def ledger(self, tmp_path):
        made = self.make_ledger(tmp_path)
        yield made
        made.close()

    def test_is_a_ledger(self, ledger):
        assert isinstance(ledger, Ledger)

    def test_appended_entries_come_back_sorted_by_time(self, ledger):
        ledger.append([contact("a", 30), contact("a", 10), contact("b", 20), contact("a", 20)])
        assert ledger.customer_history("a").at.tolist() == [10, 20, 30]
        assert ledger.customer_history("b").at.tolist() == [20]
        assert len(ledger) == 4

    def test_entries_at_the_same_instant_are_all_kept(self, ledger):
        ledger.append(
            [contact("a", 10, "email"), contact("a", 10, "sms"), contact("a", 10, "email")]
        )
        h = ledger.customer_history("a")
        assert sorted(h.decode(h.channel).tolist()) == ["email", "email", "sms"]

    def test_unknown_customer_has_an_empty_history(self, ledger):
        ledger.append([contact("a", 10)])
        h = ledger.customer_history("nobody")
        assert len(h) == 1
        assert h.counts().tolist() == [0]

    def test_since_keeps_entries_at_or_after_it(self, ledger):
        ledger.append([contact("a", t) for t in (5, 10, 15)])
        assert ledger.customer_history("a", since=10).at.tolist() == [10, 15]
        assert ledger.customer_history("a", since=16).at.tolist() == []

    def test_every_column_round_trips_including_missing_labels(self, ledger):
        entries = [
            Entry("a", 1, "email", "promotional", "spring", "message", True),
            Entry("a", 2, None, None, None, "complaint", False),
            Entry("a", 3, "sms", None, "spring", "message", True),
        ]
        ledger.append(entries)
        assert ledger.customer_history("a").entries(0) == entries

    def test_histories_align_with_the_ids_asked_for(self, ledger):
        ledger.append([contact("a", 1), contact("b", 2), contact("b", 3), contact("c", 4)])
        h = ledger.histories(["b", "nobody", "a", "b"], since=2)
        assert h.customer_ids.tolist() == ["b", "nobody", "a", "b"]
        assert [h.at[s:e].tolist() for s, e in zip(h.starts, h.ends, strict=True)] == [
            [2, 3],
            [],
            [],
            [2, 3],
        ]

    def test_histories_of_many_customers_match_one_by_one(self, ledger):
        rng = np.random.default_rng(1)
        ids = [f"c{i}" for i in rng.integers(0, 50, 600)]
        ledger.append(
            [
                contact(c, int(t), str(ch))
                for c, t, ch in zip(
                    ids, rng.integers(0, 10**6, 600), rng.choice(["email", "sms"], 600), strict=True
                )
            ]
        )
        asked = [f"c{i}" for i in range(60)]
        many = ledger.histories(asked, since=300_000)
        for i, cid in enumerate(asked):
            one = ledger.customer_history(cid, since=300_000)
            assert many.entries(i) == one.entries(0)

    def test_customer_rows_are_the_customer_history_as_lists(self, ledger):
        entries = [
            Entry("a", 1, "email", "promotional", "spring", "message", True),
            Entry("a", 2, None, None, None, "complaint", False),
            Entry("b", 2, "sms", None, None, "message", True),
            Entry("a", 3, "sms", None, "spring", "message", True),
        ]
        ledger.append(entries)
        for since in (None, 2, 4):
            history = ledger.customer_history("a", since=since)
            for rows in (
                ledger.customer_rows("a", since=since),
                _session_rows(ledger, "a", since),
            ):
                assert rows.at == history.at.tolist()
                assert rows.company == history.company.tolist()
                assert rows.kind == [rows.code(k) for k in history.decode(history.kind)]
                assert rows.channel == [rows.code(c) for c in history.decode(history.channel)]
        assert ledger.customer_rows("nobody").at == []

    def test_prune_deletes_only_older_entries_and_counts_them(self, ledger):
        ledger.append([contact("a", t) for t in (5, 10, 15)] + [contact("b", 7)])
        assert ledger.prune(10) == 2
        assert ledger.customer_history("a").at.tolist() == [10, 15]
        assert len(ledger) == 2

    def test_malformed_entries_are_refused_and_nothing_is_stored(self, ledger):
        with pytest.raises(DataError, match="customer_id"):
            ledger.append([contact("a", 1), Entry("", 2, None, None, None, "message", True)])
        with pytest.raises(DataError, match="at"):
            ledger.append([Entry("a", 2.5, None, None, None, "message", True)])
        assert len(ledger) == 0

    def test_an_exclusive_session_reads_its_own_appends_and_commits_them(self, ledger):
        ledger.append([contact("a", 1)])
        with ledger.exclusive("a") as session:
            session.append([contact("a", 2)])
            assert session.customer_history().at.tolist() == [1, 2]
        assert ledger.customer_history("a").at.tolist() == [1, 2]

    def test_an_exclusive_session_that_raises_stores_nothing(self, ledger):
        def decide_against_it():
            with ledger.exclusive("a") as session:
                session.append([contact("a", 2)])
                raise RuntimeError("decided against it")

        with pytest.raises(RuntimeError):
            decide_against_it()
        assert len(ledger) == 0

    def test_exclusive_sections_do_not_interleave(self, ledger):
        def bump():
            with ledger.exclusive("a") as session:
                n = len(session.customer_history().at)
                time.sleep(0.002)  # invite another thread in between read and write
                session.append([contact("a", n)])

        threads = [threading.Thread(target=bump) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # each section saw every earlier append: times 0..7, each exactly once
        assert sorted(ledger.customer_history("a").at.tolist()) == list(range(8))

    def test_guarded_requests_from_8_threads_record_exactly_the_cap(self, ledger):
        guard = ContactGuard(Policy([FrequencyCap(3, per="calendar_day")]), ledger)
        base = datetime(2026, 6, 1, 9, tzinfo=UTC)

        def worker(k):
            for i in range(100):
                at = base + timedelta(seconds=k * 100 + i)
                guard.request(Contact("one", channel="email", at=at))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(ledger.customer_history("one").at) == 3

    def test_many_appends_stay_sorted_and_complete(self, ledger):
        rng = np.random.default_rng(7)
        times = rng.integers(0, 100 * DAY, 3000)
        for chunk in np.array_split(times, 30):
            ledger.append([contact(f"c{int(t) % 7}", int(t)) for t in chunk])
        got = ledger.histories([f"c{i}" for i in range(7)])
        assert int(got.counts().sum()) == 3000 == len(ledger)
        for i in range(7):
            mine = got.at[got.starts[i] : got.ends[i]]
            assert np.array_equal(mine, np.sort(times[times % 7 == i]))


def _session_rows(ledger, customer_id, since):
    with ledger.exclusive(customer_id) as session:
        return session.customer_rows(since=since)


class TestMemoryLedger(LedgerContract):
    def make_ledger(self, tmp_path):
        return MemoryLedger()


class _SmallBufferLedger(MemoryLedger):
    _FLUSH_AT = 3  # merge the append buffer into the columns almost every time


class TestMemoryLedgerMerging(LedgerContract):
    def make_ledger(self, tmp_path):
        return _SmallBufferLedger()


class TestSQLiteLedger(LedgerContract):
    def make_ledger(self, tmp_path):
        return SQLiteLedger(tmp_path / "ledger.db")

    def test_the_database_is_in_wal_mode_with_the_customer_time_index(self, ledger, tmp_path):
        # read the file the ledger made with SQLite itself (WAL mode is kept in the file)
        conn = sqlite3.connect(tmp_path / "ledger.db")
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        plan = " ".join(
            str(r)
            for r in conn.execute(
                "EXPLAIN QUERY PLAN SELECT at FROM ledger WHERE customer_id = ? AND at >= ?",
                ("a", 0),
            )
        )
        conn.close()
        assert "ledger_customer_at" in plan

    def test_a_pickled_ledger_reopens_the_same_file(self, ledger):
        ledger.append([contact("a", 1)])
        copy = pickle.loads(pickle.dumps(ledger))
        assert copy.customer_history("a").at.tolist() == [1]
        copy.close()

    def test_entries_survive_closing_and_reopening(self, ledger, tmp_path):
        ledger.append([contact("a", 1)])
        ledger.close()
        again = SQLiteLedger(tmp_path / "ledger.db")
        assert again.customer_history("a").at.tolist() == [1]
        assert again.integrity_check() == "ok"
        again.close()


def test_memory_ledger_from_arrays_matches_appending_the_same_entries():
    rng = np.random.default_rng(3)
    n = 500
    ids = rng.choice(["a", "b", "c", "d"], n)
    at = rng.integers(0, 10**9, n)
    channel = rng.choice(np.array(["email", "sms", None], dtype=object), n)
    bulk = MemoryLedger.from_arrays(ids, at, channel=channel, category="promotional")
    one_by_one = MemoryLedger()
    one_by_one.append(
        [
            Entry(str(c), int(t), ch, "promotional", None, "message", True)
            for c, t, ch in zip(ids, at, channel, strict=True)
        ]
    )
    for c in "abcd":
        assert sorted(bulk.customer_history(c).entries(0)) == sorted(
            one_by_one.customer_history(c).entries(0)
        )


class _PlainLedger(Ledger):
    """A third-party ledger: the protocol's methods only, delegating to a MemoryLedger.

    It does not write ``customer_rows``: subclassing :class:`Ledger` provides it.
    """

    def __init__(self):
        self._inner = MemoryLedger()

    def append(self, entries):
        self._inner.append(entries)

    def customer_history(self, customer_id, *, since=None):
        return self._inner.customer_history(customer_id, since=since)

    def histories(self, customer_ids, *, since=None):
        return self._inner.histories(customer_ids, since=since)

    def exclusive(self, customer_id):
        return self._inner.exclusive(customer_id)

    def prune(self, before):
        return self._inner.prune(before)

    def __len__(self):
        return len(self._inner)

    def close(self):
        self._inner.close()


class TestLedgerWithTheProtocolDefaults(LedgerContract):
    def make_ledger(self, tmp_path):
        return _PlainLedger()


def test_a_store_without_the_ledger_methods_is_refused_naming_what_is_missing():
    class Incomplete:
        def append(self, entries):
            pass

    with pytest.raises(TypeError, match="missing customer_history, customer_rows"):
        ContactGuard(Policy([]), Incomplete())
