"""The audit trail: every decision of a guard that keeps one, allowed or refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from relcore.contact_policy import (
    AuditRecord,
    Contact,
    ContactGuard,
    FrequencyCap,
    MemoryLedger,
    Policy,
    QuietHours,
    SQLiteLedger,
)
from relcore.models import ContactPreferences

T = datetime(2026, 11, 27, 3, tzinfo=UTC)  # 22:00 in New York, 04:00 in Paris
TTL = timedelta(minutes=5)
POLICY = Policy(
    [FrequencyCap(1, per="calendar_day"), QuietHours(start="21:00", end="08:00")],
    timezone="America/New_York",
    name="retail-2026",
)


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 26, 12, tzinfo=UTC)

    def __call__(self):
        self.now += timedelta(seconds=1)  # every decision a second after the one before
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def ledger(request, tmp_path):
    made = MemoryLedger() if request.param == "memory" else SQLiteLedger(tmp_path / "l.db")
    yield made
    made.close()


def email(customer="c1", at=T, **kw):
    return Contact(customer, channel="email", at=at, **kw)


def test_no_audit_trail_unless_asked(ledger):
    guard = ContactGuard(POLICY, ledger)
    guard.check(email())
    guard.request(email(at=T + timedelta(hours=10)))
    assert ledger.decisions() == []


def test_every_decision_is_kept_with_its_reasons_local_time_and_policy_version(ledger):
    clock = Clock()
    guard = ContactGuard(POLICY, ledger, clock=clock, audit=True)
    paris = ContactPreferences(timezone="Europe/Paris")
    refused = guard.check(email())  # 22:00 in New York: quiet
    allowed = guard.request(email(at=T + timedelta(hours=10), campaign="bf"), key="m-1")
    guard.check(email(at=T + timedelta(hours=6)), paris)  # 07:00 in Paris: quiet there
    records = ledger.decisions(customer_id="c1")
    assert [r.action for r in records] == ["check", "request", "check"]
    first, second, third = records
    assert first == AuditRecord(
        decided_at=datetime(2026, 11, 26, 12, 0, 1, tzinfo=UTC),
        action="check",
        customer_id="c1",
        allowed=False,
        codes=("quiet_hours",),
        messages=(refused.reasons[0].message,),
        next_allowed_at=datetime(2026, 11, 27, 13, tzinfo=UTC),
        at=T,
        local_at="2026-11-26T22:00:00-05:00",
        timezone="America/New_York",
        channel="email",
        priority=0,
        policy_name="retail-2026",
        policy_hash=POLICY.content_hash,
    )
    assert "within quiet hours" in first.messages[0]
    assert second.allowed
    assert second.codes == ()
    assert second.key == "m-1"
    assert second.campaign == "bf"
    assert second.next_allowed_at is None
    assert allowed.allowed
    assert third.local_at == "2026-11-27T10:00:00+01:00"  # 09:00 UTC on the customer's clock
    assert third.timezone == "Europe/Paris"
    assert third.codes == ("frequency_cap",)


def test_reservations_confirmations_releases_and_replays_are_kept(ledger):
    clock = Clock()
    guard = ContactGuard(POLICY, ledger, clock=clock, audit=True)
    day = T + timedelta(hours=12)
    guard.reserve(email(at=day), key="m-1", ttl=TTL)
    guard.reserve(email(at=day), key="m-1", ttl=TTL)  # a retry
    guard.reserve(email("c1", at=day + timedelta(minutes=1)), key="m-2", ttl=TTL)
    guard.confirm("m-1")
    guard.reserve(email("c2", at=day), key="m-3", ttl=TTL)
    guard.release("m-3")
    got = [(r.customer_id, r.action, r.allowed, r.key, r.replayed) for r in ledger.decisions()]
    assert got == [
        ("c1", "reserve", True, "m-1", False),
        ("c1", "reserve", True, "m-1", True),
        ("c1", "reserve", False, "m-2", False),
        ("c1", "confirm", True, "m-1", False),
        ("c2", "reserve", True, "m-3", False),
        ("c2", "release", True, "m-3", False),
    ]
    first, retry = ledger.decisions()[:2]
    assert first.held_until == first.decided_at + TTL
    assert retry.held_until == first.held_until  # the retry reports the same hold


def test_arbitration_keeps_a_record_per_candidate(ledger):
    guard = ContactGuard(POLICY, ledger, audit=True)
    day = T + timedelta(hours=12)
    guard.arbitrate(
        [email(at=day, priority=1), Contact("c1", channel="sms", at=day, priority=9)],
        record=True,
    )
    records = ledger.decisions()
    assert [(r.action, r.channel, r.allowed) for r in records] == [
        ("arbitrate", "sms", True),
        ("arbitrate", "email", False),
    ]
    assert records[1].codes == ("frequency_cap",)  # the slot went to the sms


def test_decisions_are_read_by_customer_and_by_when_they_were_made(ledger):
    clock = Clock()
    guard = ContactGuard(POLICY, ledger, clock=clock, audit=True)
    for customer in ("a", "b", "a", "b"):
        guard.check(email(customer))
    times = [r.decided_at for r in ledger.decisions()]
    assert times == sorted(times)
    assert len(ledger.decisions(customer_id="a")) == 2
    assert [r.customer_id for r in ledger.decisions(since=times[1], until=times[3])] == ["b", "a"]
