"""The global control group: the contact policy honours measurement's holdout."""

from datetime import UTC, datetime

import numpy as np
import pytest

from relcore import PolicyError
from relcore.contact_policy import (
    Contact,
    ContactGuard,
    GlobalControl,
    MemoryLedger,
    Policy,
)
from relcore.measurement import assign_holdout

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
IDS = np.array([f"c{i}" for i in range(2000)])


def guard():
    rule = GlobalControl(0.1, salt="gcg-2026", category="promotional")
    return ContactGuard(Policy(rules=[rule], exempt_categories={"transactional"}), MemoryLedger())


def test_promotional_contact_is_refused_exactly_for_the_measured_holdout():
    held = assign_holdout(IDS, fraction=0.1, salt="gcg-2026")
    assert 0 < held.sum() < IDS.size
    g = guard()
    for cid, h in zip(IDS[:300], held[:300], strict=True):
        d = g.check(Contact(str(cid), channel="email", category="promotional", at=NOW))
        assert d.allowed is not bool(h)
        if h:
            assert [r.code for r in d.reasons] == ["holdout"]
            assert d.next_allowed_at is None
    batch = g.check_many(IDS, channel="email", category="promotional", at=NOW)
    np.testing.assert_array_equal(batch.allowed, ~held)


def test_transactional_contact_reaches_the_control_group():
    held = IDS[assign_holdout(IDS, fraction=0.1, salt="gcg-2026")]
    d = guard().check(Contact(str(held[0]), channel="email", category="transactional", at=NOW))
    assert d.allowed


def test_policy_file_round_trip_and_validation():
    text = """
    [[rules]]
    type = "global_control"
    fraction = 0.05
    salt = "gcg-2026"
    category = "promotional"
    """
    policy = Policy.from_toml_text(text)
    assert policy.rules == (GlobalControl(0.05, salt="gcg-2026", category="promotional"),)
    assert Policy.from_dict(policy.to_dict()) == policy
    with pytest.raises(PolicyError, match=r"rules\[0\]"):
        Policy.from_toml_text(text.replace("0.05", "1.5"))
    with pytest.raises(PolicyError, match=r"rules\[0\]\.salt"):
        Policy.from_toml_text(text.replace('salt = "gcg-2026"', ""))
