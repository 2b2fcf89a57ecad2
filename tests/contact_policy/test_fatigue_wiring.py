"""FatigueLimit reads the same fatigue score the analysts see from scoring.fatigue."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from relcore.contact_policy import (
    Contact,
    ContactFatigue,
    ContactGuard,
    FatigueLimit,
    MemoryLedger,
    Policy,
)
from relcore.models import EventLog
from relcore.scoring import fatigue

START = datetime(2026, 3, 1, tzinfo=UTC)


def random_history(seed):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(300):
        customer = f"c{rng.integers(0, 12)}"
        at = START + timedelta(hours=float(rng.uniform(0, 24 * 60)))
        role = rng.choice(["message", "message", "message", "response", "visit", "complaint"])
        rows.append((customer, at, str(role)))
    return rows


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_policy_scorer_equals_the_relationship_fatigue_score(seed):
    rows = random_history(seed)
    ledger = MemoryLedger()
    guard = ContactGuard(Policy(rules=[]), ledger)
    for customer, at, role in rows:
        if role == "message":
            guard.record(Contact(customer, channel="email", category="promotional", at=at))
        else:
            guard.record_response(customer, at, role)
    log = EventLog.from_arrays(
        [r[0] for r in rows],
        [r[1] for r in rows],
        kind=[r[2] for r in rows],
        initiator=["company" if r[2] == "message" else "customer" for r in rows],
        channel="email",
    )
    now = START + timedelta(days=61)
    expected = fatigue(log, now).fatigue  # the analysts' score, per customer of the log
    scorer = ContactFatigue()
    got = [
        scorer.score(ledger.customer_history(c), int(now.timestamp() * 1_000_000))
        for c in log.customers
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_fatigue_limit_by_default_refuses_a_customer_who_just_complained():
    guard = ContactGuard(Policy(rules=[FatigueLimit(4.0)]), MemoryLedger())
    now = START
    guard.record_response("c1", now - timedelta(hours=1), "complaint")  # weighs 5 when fresh
    decision = guard.check(Contact("c1", channel="email", category="promotional", at=now))
    assert not decision.allowed
    assert decision.reasons[0].code == "fatigue"
    # 5 * 2**(-age / 14 days) <= 4 once age >= 14 * log2(5/4) days, measured from the complaint.
    wait = timedelta(days=14 * np.log2(5 / 4))
    assert abs(decision.next_allowed_at - (now - timedelta(hours=1) + wait)) < timedelta(seconds=1)
