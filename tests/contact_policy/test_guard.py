"""The guard over an audience, simulation, pruning and the fatigue-scorer plug-in."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest

from relcore import DataError
from relcore.contact_policy import (
    Contact,
    ContactFatigue,
    ContactGuard,
    Cooldown,
    Entry,
    FatigueLimit,
    FatigueScorer,
    FrequencyCap,
    History,
    MemoryLedger,
    MinimumGap,
    Policy,
    QuietHours,
    SQLiteLedger,
    simulate,
)
from relcore.models import ContactPreferences, EventLog

UTC = UTC


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def us(t: datetime) -> int:
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def test_check_many_reports_codes_and_next_allowed_per_customer():
    policy = Policy(
        [FrequencyCap(1, per="calendar_day"), QuietHours(start=time(22), end=time(7))],
        timezone="UTC",
    )
    guard = ContactGuard(policy, MemoryLedger())
    t = utc(2026, 6, 1, 12)
    guard.request(Contact("busy", channel="email", at=t - timedelta(hours=1)))
    prefs = {
        "out": ContactPreferences(opted_out_channels={"email"}),
        "snoozy": ContactPreferences(snoozed_until=t + timedelta(hours=3)),
    }
    batch = guard.check_many(
        ["free", "busy", "out", "snoozy", "free"], channel="email", at=t, preferences=prefs
    )
    assert batch.allowed.tolist() == [True, False, False, False, True]
    assert batch.reason_codes.tolist() == [(), ("frequency_cap",), ("opted_out",), ("snoozed",), ()]
    expected = [t, utc(2026, 6, 2, 7), None, t + timedelta(hours=3), t]
    got = [None if np.isnat(x) else x for x in batch.next_allowed_at]
    assert got == [None if e is None else np.datetime64(us(e), "us") for e in expected]
    assert batch.counts() == {"opted_out": 1, "snoozed": 1, "frequency_cap": 1}
    assert batch.refused_by("frequency_cap").tolist() == [False, True, False, False, False]


def test_check_many_accepts_preferences_aligned_with_the_ids():
    guard = ContactGuard(Policy([]), MemoryLedger())
    out = ContactPreferences(opted_out_categories={"promotional"})
    batch = guard.check_many(
        ["a", "b"],
        channel="sms",
        category="promotional",
        at=utc(2026, 6, 1),
        preferences=[None, out],
    )
    assert batch.allowed.tolist() == [True, False]
    with pytest.raises(ValueError, match="2 customers"):
        guard.check_many(["a", "b"], channel="sms", at=utc(2026, 6, 1), preferences=[out])


def test_check_many_refuses_customer_ids_that_are_not_text():
    guard = ContactGuard(Policy([]))
    with pytest.raises(DataError, match="customer_ids"):
        guard.check_many(np.arange(3), channel="email", at=utc(2026, 6, 1))


def test_check_many_agrees_with_check_on_a_bulk_loaded_ledger(tmp_path):
    rng = np.random.default_rng(11)
    n = 20_000
    now = utc(2026, 3, 8, 15)
    ids = np.char.add("c", rng.integers(0, 2_000, n).astype(str))
    at = us(now) - rng.integers(-2 * 3_600_000_000, 40 * 86_400_000_000, n)  # a few ahead
    channel = rng.choice(np.array(["email", "sms"], dtype=object), n)
    kind = rng.choice(np.array(["message"] * 30 + ["complaint"], dtype=object), n)
    initiator = np.where(kind == "message", "company", "customer")
    ledger = MemoryLedger.from_arrays(
        ids, at, channel=channel, category="promotional", kind=kind, initiator=initiator
    )
    policy = Policy(
        [
            FrequencyCap(3, per=timedelta(days=7), channel="email"),
            FrequencyCap(1, per="calendar_day"),
            MinimumGap(timedelta(hours=20), channel="sms"),
            QuietHours(start=time(21), end=time(8)),
            Cooldown(after="complaint", duration=timedelta(days=3)),
        ],
        timezone="America/New_York",
    )
    audience = [f"c{i}" for i in range(0, 2_100, 7)]
    sqlite = SQLiteLedger(tmp_path / "l.db")
    sqlite.append(
        [e for i in range(len(audience)) for e in ledger.customer_history(audience[i]).entries(0)]
    )
    for store in (ledger, sqlite):
        guard = ContactGuard(policy, store)
        for at_ in (now, now + timedelta(hours=8)):
            batch = guard.check_many(audience, channel="email", category="promotional", at=at_)
            assert 0 < batch.allowed.sum() < len(audience)
            for i, cid in enumerate(audience):
                d = guard.check(Contact(cid, channel="email", category="promotional", at=at_))
                assert batch.allowed[i] == d.allowed
                assert set(batch.reason_codes[i]) == set(d.codes)
                assert batch.next_allowed_at[i] == np.datetime64(us(d.next_allowed_at), "us")
    sqlite.close()


def test_record_counts_a_contact_sent_without_asking():
    guard = ContactGuard(Policy([FrequencyCap(1, per="calendar_day")], timezone="UTC"))
    t = utc(2026, 6, 1, 9)
    guard.record(Contact("a", channel="email", at=t))
    assert not guard.check(Contact("a", channel="email", at=t + timedelta(hours=1))).allowed


def test_prune_keeps_everything_a_rule_can_still_read():
    guard = ContactGuard(Policy([FrequencyCap(1, per=timedelta(days=60))], timezone="UTC"))
    t = utc(2026, 6, 1)
    for days in (0, 30, 59, 61, 90):
        guard.record(Contact("a", channel="email", at=t - timedelta(days=days)))
    assert guard.prune(t) == 2  # the ones 61 and 90 days old
    assert guard.ledger.customer_history("a").counts().tolist() == [3]
    # without rules, the 33-day floor keeps customers' calendar-month limits whole
    bare = ContactGuard(Policy([]))
    for days in (0, 32, 34):
        bare.record(Contact("a", channel="email", at=t - timedelta(days=days)))
    assert bare.prune(t) == 1


class _ContactsToday:
    """A fatigue scorer written against the plug-in interface: contacts in the last day."""

    lookback = timedelta(days=1)

    def score(self, history, at):
        return float(self.score_many(history, np.array([at]))[0])

    def score_many(self, history, at):
        out = np.zeros(len(history))
        for i in range(len(history)):
            t = history.at[history.starts[i] : history.ends[i]]
            c = history.company[history.starts[i] : history.ends[i]]
            out[i] = np.count_nonzero(c & (t <= at[i]) & (t > at[i] - 86_400_000_000))
        return out

    def describe(self):
        return "contacts in the last day"

    def to_dict(self):
        return {"name": "contacts_today"}


def test_fatigue_limit_takes_any_scorer_with_the_plug_in_interface():
    scorer = _ContactsToday()
    assert isinstance(scorer, FatigueScorer)
    guard = ContactGuard(Policy([FatigueLimit(1, scorer=scorer)], timezone="UTC"))
    t = utc(2026, 6, 1, 9)
    guard.record(Contact("a", channel="email", at=t))
    guard.record(Contact("a", channel="sms", at=t + timedelta(hours=2)))
    d = guard.check(Contact("a", channel="email", at=t + timedelta(hours=3)))
    assert d.codes == ("fatigue",)
    assert d.next_allowed_at == t + timedelta(days=1)  # the first one leaves the day
    batch = guard.check_many(["a"], channel="email", at=t + timedelta(hours=3))
    assert batch.next_allowed_at[0] == np.datetime64(us(t + timedelta(days=1)), "us")


def test_default_scorer_scalar_and_vectorised_forms_agree():
    rng = np.random.default_rng(5)
    entries = [
        Entry(
            f"c{rng.integers(4)}",
            int(rng.integers(0, 10**12)),
            "email",
            None,
            None,
            str(rng.choice(["message", "response"])),
            bool(rng.random() < 0.8),
        )
        for _ in range(200)
    ]
    h = History.from_entries([f"c{i}" for i in range(4)], entries)
    scorer = ContactFatigue(half_life=timedelta(days=1))
    at = np.full(4, 10**12 // 2, dtype=np.int64)
    many = scorer.score_many(h, at)
    one = [scorer.score(History.from_entries([f"c{i}"], entries), int(at[i])) for i in range(4)]
    assert many.tolist() == pytest.approx(one, rel=1e-15)


# ---------------------------------------------------------------------------- simulate


def test_simulate_counts_sent_deferred_and_suppressed_by_reason():
    policy = Policy([FrequencyCap(1, per="calendar_day")], timezone="UTC")
    t = utc(2026, 6, 1, 9)
    plan = [
        Contact(c, channel=ch, at=t + timedelta(hours=h))
        for c, ch, h in [("a", "email", 0), ("a", "email", 1), ("b", "sms", 0), ("b", "email", 2)]
    ]
    prefs = {"b": ContactPreferences(opted_out_channels={"sms"})}
    result = simulate(policy, plan, preferences=prefs)
    assert result.outcomes == ("sent", "deferred", "suppressed", "sent")
    assert result.counts() == {"sent": 2, "deferred": 1, "suppressed": 1}
    assert result.reason_counts() == {"frequency_cap": 1, "opted_out": 1}
    assert result.reasons("deferred") == {"frequency_cap": 1}
    assert "deferred" in result.summary()


def test_simulate_with_rescheduling_sends_deferred_contacts_when_allowed():
    policy = Policy([FrequencyCap(1, per="calendar_day")], timezone="UTC")
    t = utc(2026, 6, 1, 9)
    plan = [Contact("a", channel="email", at=t + timedelta(hours=h)) for h in range(3)]
    result = simulate(policy, plan, reschedule=True)
    assert result.outcomes == ("sent", "deferred", "deferred")
    assert result.sent_at == (t, utc(2026, 6, 2), utc(2026, 6, 3))
    late = simulate(policy, plan, reschedule=True, max_delay=timedelta(days=1))
    assert late.outcomes == ("sent", "deferred", "suppressed")


def test_simulate_starts_from_history_and_leaves_it_untouched(tmp_path):
    policy = Policy([FrequencyCap(1, per="calendar_day")], timezone="UTC")
    t = utc(2026, 6, 1, 9)
    ledger = SQLiteLedger(tmp_path / "h.db")
    ledger.append([Entry("a", us(t - timedelta(hours=1)), "email", None, None, "message", True)])
    plan = [Contact("a", channel="email", at=t), Contact("b", channel="email", at=t)]
    assert simulate(policy, plan, ledger).outcomes == ("deferred", "sent")
    assert len(ledger) == 1
    log = EventLog.from_arrays(
        ["a"], [t - timedelta(hours=1)], kind="message", channel="email", initiator="company"
    )
    assert simulate(policy, plan, log).outcomes == ("deferred", "sent")
    ledger.close()
