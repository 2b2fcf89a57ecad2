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
from datetime import time as dt_time

import numpy as np
import pytest

from relcore import DataError, ReservationError
from relcore.contact_policy import (
    AuditRecord,
    Contact,
    ContactGuard,
    Entry,
    FrequencyCap,
    KeyedEntry,
    Ledger,
    MemoryLedger,
    Policy,
    SQLiteLedger,
)
from relcore.models import ContactLimit, ContactPreferences

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

    # ------------------------------------------------------------ keys and reservations

    def test_a_held_entry_is_read_only_with_held_at_before_its_end_and_is_not_counted(self, ledger):
        ledger.append([contact("a", 5)])
        held = KeyedEntry("k1", contact("a", 10), 100)
        with ledger.exclusive("a") as session:
            session.add_keyed(held)
            assert session.customer_history(held_at=99).at.tolist() == [5, 10]
            assert session.customer_rows(held_at=99).at == [5, 10]
            assert session.customer_rows().at == [5]
        assert ledger.keyed("k1") == held
        assert len(ledger) == 1
        assert ledger.customer_history("a").at.tolist() == [5]
        for t, seen in ((0, [5, 10]), (99, [5, 10]), (100, [5]), (500, [5])):
            assert ledger.customer_history("a", held_at=t).at.tolist() == seen
            assert ledger.customer_rows("a", held_at=t).at == seen
            h = ledger.histories(["b", "a", "a"], held_at=t)
            assert [h.at[x:y].tolist() for x, y in zip(h.starts, h.ends, strict=True)] == [
                [],
                seen,
                seen,
            ]
        assert ledger.customer_history("a", since=6, held_at=0).at.tolist() == [10]

    def test_held_entries_are_read_in_time_order_with_recorded_ones_and_every_column(self, ledger):
        ledger.append([contact("a", 10), contact("a", 30, None, kind="complaint", company=False)])
        held = [
            KeyedEntry("k1", Entry("a", 20, "sms", "promotional", "spring", "message", True), 99),
            KeyedEntry("k2", Entry("a", 40, "push", None, None, "message", True), 99),
        ]
        with ledger.exclusive("a") as session:
            for k in held:
                session.add_keyed(k)
        h = ledger.customer_history("a", held_at=50)
        assert h.entries(0) == sorted(
            [*ledger.customer_history("a").entries(0), *(k.entry for k in held)],
            key=lambda e: e.at,
        )
        rows = ledger.customer_rows("a", held_at=50)
        assert rows.channel == [rows.code(c) for c in ("email", "sms", None, "push")]
        many = ledger.histories(["a"], since=15, held_at=50)
        assert many.entries(0) == h.entries(0)[1:]

    def test_a_recorded_keyed_entry_is_an_entry_like_any_other(self, ledger):
        with ledger.exclusive("a") as session:
            session.add_keyed(KeyedEntry("k1", contact("a", 10), None))
            assert session.customer_rows().at == [10]
        assert ledger.customer_history("a").at.tolist() == [10]
        assert len(ledger) == 1
        assert ledger.keyed("k1") == KeyedEntry("k1", contact("a", 10), None)

    def test_confirm_records_a_held_entry_once(self, ledger):
        with ledger.exclusive("a") as session:
            session.add_keyed(KeyedEntry("k1", contact("a", 10), 100))
        with ledger.exclusive("a") as session:
            session.confirm("k1")
            assert session.customer_rows().at == [10]
        assert ledger.customer_history("a").at.tolist() == [10]
        assert ledger.keyed("k1").held_until is None
        with ledger.exclusive("a") as session:
            session.confirm("k1")  # recorded already: nothing more
        assert len(ledger) == 1
        assert ledger.customer_history("a", held_at=0).at.tolist() == [10]

    def test_release_removes_a_held_entry_and_frees_its_key_but_never_a_recorded_one(self, ledger):
        with ledger.exclusive("a") as session:
            session.add_keyed(KeyedEntry("held", contact("a", 10), 100))
            session.add_keyed(KeyedEntry("sent", contact("a", 20), None))
        with ledger.exclusive("a") as session:
            assert session.release("held") is True
            assert session.release("held") is False
            assert session.release("never") is False
            with pytest.raises(ReservationError, match="recorded"):
                session.release("sent")
        assert ledger.keyed("held") is None
        assert ledger.customer_history("a", held_at=0).at.tolist() == [20]
        with ledger.exclusive("a") as session:  # the key may name a new contact now
            session.add_keyed(KeyedEntry("held", contact("a", 30), 100))
        assert ledger.keyed("held").entry.at == 30

    def test_a_key_names_one_contact_whichever_customer_uses_it(self, ledger):
        with ledger.exclusive("a") as session:
            session.add_keyed(KeyedEntry("k1", contact("a", 10), 100))
            with pytest.raises(ReservationError, match="used already"):
                session.add_keyed(KeyedEntry("k1", contact("a", 11), None))
        with (
            pytest.raises(ReservationError, match="used already"),
            ledger.exclusive("b") as session,
        ):
            session.add_keyed(KeyedEntry("k1", contact("b", 10), None))
        assert ledger.customer_history("b").at.tolist() == []
        with ledger.exclusive("b") as session:
            with pytest.raises(ReservationError, match="customer 'a'"):
                session.confirm("k1")
            with pytest.raises(ReservationError, match="customer 'a'"):
                session.release("k1")

    def test_a_keyed_entry_of_another_customer_is_refused(self, ledger):
        with pytest.raises(DataError, match="customer_id"), ledger.exclusive("a") as session:
            session.add_keyed(KeyedEntry("k1", contact("b", 10), 100))
        assert ledger.keyed("k1") is None

    def test_confirming_an_unknown_key_is_a_reservation_error(self, ledger):
        with pytest.raises(ReservationError), ledger.exclusive("a") as session:
            session.confirm("never")

    def test_expire_removes_only_this_customers_entries_held_until_now_or_earlier(self, ledger):
        with ledger.exclusive("a") as session:
            session.add_keyed(KeyedEntry("a10", contact("a", 1), 10))
            session.add_keyed(KeyedEntry("a20", contact("a", 2), 20))
            session.add_keyed(KeyedEntry("a-sent", contact("a", 3), None))
        with ledger.exclusive("b") as session:
            session.add_keyed(KeyedEntry("b5", contact("b", 1), 5))
        with ledger.exclusive("a") as session:
            assert session.expire(10) == 1
        assert ledger.keyed("a10") is None
        assert ledger.keyed("a20") is not None
        assert ledger.keyed("b5") is not None
        assert ledger.keyed("a-sent") is not None
        assert ledger.customer_history("a", held_at=0).at.tolist() == [2, 3]

    def test_a_session_that_raises_keeps_none_of_its_changes(self, ledger):
        prefs = ContactPreferences(opted_out_channels={"sms"})
        with ledger.exclusive("a") as session:
            session.add_keyed(KeyedEntry("held", contact("a", 10), 100))
            session.add_keyed(KeyedEntry("soon", contact("a", 11), 50))
            session.add_keyed(KeyedEntry("other", contact("a", 12), 100))
            session.set_preferences(prefs)
            session.log_decisions([record("a", 1)])
        before = (
            ledger.customer_history("a", held_at=0).entries(0),
            [ledger.keyed(k) for k in ("held", "soon", "other", "new")],
        )

        def change_everything_then_fail():
            with ledger.exclusive("a") as session:
                session.add_keyed(KeyedEntry("new", contact("a", 13), None))
                session.append([contact("a", 14)])
                session.confirm("held")
                session.release("other")
                assert session.expire(50) == 1
                session.set_preferences(None)
                session.log_decisions([record("a", 2)])
                raise RuntimeError("decided against it")

        with pytest.raises(RuntimeError):
            change_everything_then_fail()
        after = (
            ledger.customer_history("a", held_at=0).entries(0),
            [ledger.keyed(k) for k in ("held", "soon", "other", "new")],
        )
        assert after == before
        assert len(ledger) == 0
        assert ledger.get_preferences("a") == prefs
        assert [r.decided_at for r in ledger.decisions()] == [record("a", 1).decided_at]

    def test_prune_removes_held_entries_of_long_ago_or_long_expired_and_keys_with_entries(
        self, ledger
    ):
        with ledger.exclusive("a") as session:
            session.add_keyed(KeyedEntry("old", contact("a", 5), 1000))
            session.add_keyed(KeyedEntry("expired", contact("a", 50), 8))
            session.add_keyed(KeyedEntry("live", contact("a", 50), 1000))
            session.add_keyed(KeyedEntry("sent-old", contact("a", 6), None))
            session.add_keyed(KeyedEntry("sent", contact("a", 60), None))
        assert ledger.prune(10) == 3
        assert [ledger.keyed(k) is not None for k in ("old", "expired", "live")] == [
            False,
            False,
            True,
        ]
        assert ledger.keyed("sent-old") is None
        assert ledger.keyed("sent") is not None
        assert len(ledger) == 1

    # ------------------------------------------------------------------ preferences

    def test_stored_preferences_read_back_equal_and_none_deletes_them(self, ledger):
        prefs = ContactPreferences(
            opted_out_categories={"promotional"},
            max_contacts=ContactLimit(1, per=timedelta(days=90), channel="sms"),
            quiet_hours=(dt_time(21), dt_time(8)),
            timezone="Europe/Paris",
            snoozed_until=datetime(2026, 7, 1, tzinfo=UTC),
        )
        assert ledger.get_preferences("a") is None
        ledger.set_preferences("a", prefs)
        ledger.set_preferences("b", ContactPreferences())
        assert ledger.get_preferences("a") == prefs
        assert ledger.get_preferences_many(["a", "c", "b", "a"]) == {
            "a": prefs,
            "b": ContactPreferences(),
        }
        ledger.set_preferences("a", None)
        assert ledger.get_preferences("a") is None
        assert ledger.get_preferences_many(["a"]) == {}
        with pytest.raises(TypeError, match="ContactPreferences"):
            ledger.set_preferences("a", {"opted_out_channels": ["sms"]})

    def test_a_session_reads_and_writes_its_customers_preferences(self, ledger):
        ledger.set_preferences("a", ContactPreferences(opted_out_channels={"sms"}))
        with ledger.exclusive("a") as session:
            prefs = session.get_preferences()
            assert prefs.opted_out_channels == {"sms"}
            session.set_preferences(ContactPreferences(opted_out_channels={"sms", "email"}))
            assert session.get_preferences().opted_out_channels == {"sms", "email"}
        assert ledger.get_preferences("a").opted_out_channels == {"sms", "email"}
        with ledger.exclusive("b") as session:
            assert session.get_preferences() is None

    def test_prune_keeps_what_a_customers_own_limit_still_reads(self, ledger):
        ninety = ContactPreferences(max_contacts=ContactLimit(1, per=timedelta(days=90)))
        ledger.set_preferences("a", ninety)
        ledger.append([contact(c, -d * DAY) for c in "ab" for d in (1, 40, 89, 91)])
        horizon = -33 * DAY  # what the policy keeps
        assert ledger.prune(horizon) == 3  # b loses 40, 89, 91; a keeps back to 33 + 90 days
        assert ledger.customer_history("a").at.tolist() == [-91 * DAY, -89 * DAY, -40 * DAY, -DAY]
        assert ledger.customer_history("b").at.tolist() == [-DAY]

    # ------------------------------------------------------------------ the audit trail

    def test_decisions_are_read_back_by_customer_and_time_in_the_order_decided(self, ledger):
        ledger.log_decisions([record("a", 3), record("b", 1), record("a", 1)])
        with ledger.exclusive("a") as session:
            session.log_decisions([record("a", 2, allowed=False), record("a", 2, action="reserve")])
        got = ledger.decisions(customer_id="a")
        assert [(r.decided_at.hour, r.action, r.allowed) for r in got] == [
            (1, "check", True),
            (2, "check", False),
            (2, "reserve", True),
            (3, "check", True),
        ]
        assert got[1] == record("a", 2, allowed=False)
        assert [r.customer_id for r in ledger.decisions()] == ["b", "a", "a", "a", "a"]
        since, until = record("a", 2).decided_at, record("a", 3).decided_at
        assert len(ledger.decisions(since=since, until=until)) == 2
        as_micros = ledger.decisions(customer_id="a", since=us(since), until=us(until) + 1)
        assert [r.decided_at.hour for r in as_micros] == [2, 2, 3]
        assert ledger.decisions(customer_id="nobody") == []

    # ------------------------------------------------------------ the guard's service calls

    def test_one_key_asked_from_8_threads_records_one_contact(self, ledger):
        guard = ContactGuard(Policy([FrequencyCap(5, per="calendar_day")]), ledger)
        c = Contact("one", channel="email", at=datetime(2026, 6, 1, 9, tzinfo=UTC))
        answers = []

        def worker():
            for _ in range(20):
                answers.append(guard.request(c, key="m-1"))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 160
        assert all(a.allowed for a in answers)
        assert len(ledger.customer_history("one").at) == 1

    def test_reservations_confirmed_and_released_from_8_threads_fill_exactly_the_cap(self, ledger):
        cap = 3
        guard = ContactGuard(Policy([FrequencyCap(cap, per="calendar_day")]), ledger, audit=True)
        base = datetime(2026, 6, 1, 9, tzinfo=UTC)

        def worker(k):
            for i in range(200):
                if len(ledger.customer_history("one").at) >= cap:
                    return
                key = f"{k}-{i}"
                at = base + timedelta(seconds=k * 1000 + i)
                if guard.reserve(Contact("one", channel="email", at=at), key=key).allowed:
                    if i % 3 == 0:
                        guard.confirm(key)
                    else:
                        guard.release(key)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(ledger.customer_history("one").at) == cap
        assert_the_audit_never_lets_more_than(cap, ledger.decisions(customer_id="one"))

    def test_stored_preferences_decide_and_their_limits_survive_pruning(self, ledger):
        ninety = ContactPreferences(
            opted_out_channels={"sms"}, max_contacts=ContactLimit(1, per=timedelta(days=90))
        )
        ledger.set_preferences("a", ninety)
        guard = ContactGuard(Policy([FrequencyCap(3, per="7d")]), ledger)
        t = datetime(2026, 6, 1, 9, tzinfo=UTC)
        assert guard.check(Contact("a", channel="sms", at=t)).codes == ("opted_out",)
        assert guard.request(Contact("a", channel="email", at=t)).allowed
        later = t + timedelta(days=40)
        guard.prune(later)
        assert not guard.request(Contact("a", channel="email", at=later)).allowed

    # ------------------------------------------------------------------ erasure

    def test_forget_removes_everything_of_the_customer_and_counts_it(self, ledger):
        ledger.append([contact("a", 1), contact("a", 2, kind="open", company=False)])
        ledger.append([contact("b", 1)])
        with ledger.exclusive("a") as session:
            session.add_keyed(KeyedEntry("sent", contact("a", 3), None))
            session.add_keyed(KeyedEntry("held", contact("a", 4), 10**12))
        ledger.set_preferences("a", ContactPreferences(quiet_hours=(dt_time(21), dt_time(8))))
        ledger.log_decisions([record("a", 1), record("a", 2), record("b", 1)])

        erased = ledger.forget("a")

        assert (erased.entries, erased.reservations, erased.decisions) == (3, 1, 2)
        assert erased.preferences
        assert not erased.suppressed  # quiet hours are no opt-out
        assert ledger.customer_history("a", held_at=0).at.tolist() == []
        assert ledger.keyed("sent") is None
        assert ledger.keyed("held") is None
        assert ledger.get_preferences("a") is None
        assert ledger.decisions(customer_id="a") == []
        # the others keep everything
        assert ledger.customer_history("b").at.tolist() == [1]
        assert [r.customer_id for r in ledger.decisions()] == ["b"]
        assert len(ledger) == 1

    def test_a_forgotten_customers_keys_are_free_again(self, ledger):
        with ledger.exclusive("a") as session:
            session.add_keyed(KeyedEntry("m-1", contact("a", 3), None))
        ledger.forget("a")
        with ledger.exclusive("b") as session:
            session.add_keyed(KeyedEntry("m-1", contact("b", 3), None))
        assert ledger.keyed("m-1").entry.customer_id == "b"

    def test_forgetting_an_unknown_customer_erases_nothing(self, ledger):
        ledger.append([contact("b", 1)])
        erased = ledger.forget("nobody")
        assert (erased.entries, erased.reservations, erased.decisions) == (0, 0, 0)
        assert not erased.preferences
        assert not erased.suppressed
        assert len(ledger) == 1

    def test_opt_outs_survive_forget_as_a_suppression_record_and_nothing_else(self, ledger):
        prefs = ContactPreferences(
            opted_out_channels={"sms"},
            opted_out_categories={"promotional"},
            timezone="Europe/Paris",
            max_contacts=ContactLimit(1, per=timedelta(days=7)),
        )
        ledger.set_preferences("a", prefs)
        erased = ledger.forget("a")
        assert erased.suppressed_channels == {"sms"}
        assert erased.suppressed_categories == {"promotional"}
        # only the opt-outs come back: no zone, no limits
        assert ledger.get_preferences("a") == ContactPreferences(
            opted_out_channels={"sms"}, opted_out_categories={"promotional"}
        )
        assert ledger.get_preferences_many(["b", "a"]) == {"a": ledger.get_preferences("a")}
        assert ledger.get_preferences("b") is None

    def test_an_unsubscribe_event_is_kept_as_an_opt_out_of_its_category_else_its_channel(
        self, ledger
    ):
        ledger.append(
            [
                contact("a", 1, "email", category="promotional", kind="unsubscribe", company=False),
                contact("a", 2, "sms", kind="unsubscribe", company=False),
                contact("a", 3, None, kind="unsubscribe", company=False),  # from nothing
                contact("a", 4, "push", kind="open", company=False),
            ]
        )
        erased = ledger.forget("a")
        assert erased.entries == 4
        assert erased.suppressed_channels == {"sms"}
        assert erased.suppressed_categories == {"promotional"}

    def test_a_customer_imported_again_after_forget_is_still_not_contacted_where_they_refused(
        self, ledger
    ):
        guard = ContactGuard(Policy([]), ledger)
        t = datetime(2026, 6, 1, 9, tzinfo=UTC)
        guard.record_response("a", t, "unsubscribe", channel="email", category="promotional")
        ledger.forget("a")
        # the CRM imports the customer again, with preferences that know nothing of it
        ledger.append([contact("a", us(t) - DAY)])
        ledger.set_preferences("a", ContactPreferences(quiet_hours=(dt_time(22), dt_time(7))))
        promo = Contact("a", channel="email", category="promotional", at=t)
        assert guard.request(promo).codes == ("opted_out",)
        batch = guard.check_many(["a", "b"], channel="email", category="promotional", at=t)
        assert batch.allowed.tolist() == [False, True]
        assert guard.request(Contact("a", channel="email", category="receipt", at=t)).allowed
        assert ledger.get_preferences("a").quiet_hours == (dt_time(22), dt_time(7))

    def test_forgetting_again_keeps_the_earlier_opt_outs_and_lifting_ends_them(self, ledger):
        ledger.set_preferences("a", ContactPreferences(opted_out_channels={"sms"}))
        ledger.forget("a")
        ledger.set_preferences("a", ContactPreferences(opted_out_channels={"email"}))
        erased = ledger.forget("a")
        assert erased.suppressed_channels == {"sms", "email"}
        assert ledger.lift_suppression("a") is True
        assert ledger.lift_suppression("a") is False
        assert ledger.get_preferences("a") is None
        assert ledger.get_preferences_many(["a"]) == {}

    def test_preferences_stored_again_for_a_suppressed_id_add_to_its_opt_outs(self, ledger):
        ledger.set_preferences("a", ContactPreferences(opted_out_channels={"sms"}))
        ledger.forget("a")
        ledger.set_preferences("a", ContactPreferences(opted_out_categories={"promotional"}))
        ledger.set_preferences("b", ContactPreferences(opted_out_channels={"push"}))
        both = ContactPreferences(opted_out_channels={"sms"}, opted_out_categories={"promotional"})
        assert ledger.get_preferences("a") == both
        assert ledger.get_preferences_many(["c", "b", "a"]) == {
            "a": both,
            "b": ContactPreferences(opted_out_channels={"push"}),
        }
        with ledger.exclusive("a") as session:
            assert session.get_preferences() == both

    def test_forget_takes_a_customer_id(self, ledger):
        with pytest.raises(DataError, match="customer_id"):
            ledger.forget("")

    def test_a_forget_racing_requests_erases_each_contact_with_its_audit_record_or_neither(
        self, ledger
    ):
        guard = ContactGuard(Policy([]), ledger, audit=True)
        base = datetime(2026, 6, 1, 9, tzinfo=UTC)
        n_threads, per = 4, 30
        returned: list[int] = []
        halfway = threading.Event()

        def worker(k):
            for i in range(per):
                at = base + timedelta(seconds=k * 1000 + i)
                assert guard.request(Contact("x", channel="email", at=at)).allowed
                returned.append(us(at))
                if len(returned) >= n_threads * per // 3:
                    halfway.set()

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
        for t in threads:
            t.start()
        assert halfway.wait(60)
        before = set(returned)  # these requests had returned when forget was called
        erased = ledger.forget("x")
        for t in threads:
            t.join()

        kept = ledger.customer_history("x").at.tolist()
        kept_audit = [us(r.at) for r in ledger.decisions(customer_id="x")]
        assert sorted(kept) == sorted(kept_audit)  # a contact goes with its audit record
        assert erased.entries + len(kept) == n_threads * per  # none lost, none twice
        assert erased.decisions + len(kept_audit) == n_threads * per
        assert before.isdisjoint(kept)  # what was recorded before forget is gone
        for k in range(n_threads):  # each thread's requests: erased up to a point, then kept
            mine = [i for i in range(per) if us(base + timedelta(seconds=k * 1000 + i)) in kept]
            assert mine == list(range(per - len(mine), per))

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


def assert_the_audit_never_lets_more_than(cap, records):
    """Replay a customer's audit trail (one contact a slot, one rule: a cap) in the order
    the decisions were made: no grant ever took a slot beyond ``cap`` (reservations held
    and contacts recorded), and no refusal left a slot free.
    """
    held: dict[str, datetime] = {}
    sent = 0
    assert records
    for r in records:
        if r.replayed:
            continue
        now = r.decided_at
        if r.action in ("reserve", "request"):
            held = {k: u for k, u in held.items() if u > now}  # expired: reclaimed
            taken = sent + len(held)
            if not r.allowed:
                assert taken >= cap, r
                continue
            assert taken < cap, r
            if r.action == "reserve":
                held[r.key] = r.held_until
            else:
                sent += 1
        elif r.action == "confirm":
            assert r.key in held, r
            assert held.pop(r.key) > now, r
            sent += 1
        elif r.action == "release":
            assert held.pop(r.key, None) is not None, r
    assert sent <= cap


def record(customer, hour, *, allowed=True, action="check"):
    at = datetime(2026, 6, 1, hour, tzinfo=UTC)
    return AuditRecord(
        decided_at=at,
        action=action,
        customer_id=customer,
        allowed=allowed,
        codes=() if allowed else ("frequency_cap",),
        messages=() if allowed else ("1 of 1 contacts in the last 7 days; next allowed …",),
        next_allowed_at=None if allowed else at + timedelta(days=7),
        at=at,
        local_at=at.isoformat(),
        timezone="UTC",
        channel="email",
        category="promotional",
        priority=0,
        policy_name="retail",
        policy_hash="ab" * 32,
    )


def us(t: datetime) -> int:
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


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

    It does not write ``customer_rows`` nor ``get_preferences_many``: subclassing
    :class:`Ledger` provides them.
    """

    def __init__(self):
        self._inner = MemoryLedger()

    def append(self, entries):
        self._inner.append(entries)

    def customer_history(self, customer_id, *, since=None, held_at=None):
        return self._inner.customer_history(customer_id, since=since, held_at=held_at)

    def histories(self, customer_ids, *, since=None, held_at=None):
        return self._inner.histories(customer_ids, since=since, held_at=held_at)

    def keyed(self, key):
        return self._inner.keyed(key)

    def get_preferences(self, customer_id):
        return self._inner.get_preferences(customer_id)

    def set_preferences(self, customer_id, preferences):
        self._inner.set_preferences(customer_id, preferences)

    def log_decisions(self, records):
        self._inner.log_decisions(records)

    def decisions(self, *, customer_id=None, since=None, until=None):
        return self._inner.decisions(customer_id=customer_id, since=since, until=until)

    def exclusive(self, customer_id):
        return self._inner.exclusive(customer_id)

    def prune(self, before):
        return self._inner.prune(before)

    def forget(self, customer_id):
        return self._inner.forget(customer_id)

    def lift_suppression(self, customer_id):
        return self._inner.lift_suppression(customer_id)

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
