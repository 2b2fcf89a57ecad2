"""Value balance: decayed value each way, ratio and classification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from relcore.models import EventLog
from relcore.scoring import BALANCE_CLASSES, value_balance

AT = datetime(2026, 6, 1, tzinfo=UTC)
HALF = timedelta(days=180)


def make_log(rows):
    """Rows ``(customer, at, value to company, value to customer)``."""
    cust, at, value, gift = zip(*rows, strict=True)
    return EventLog.from_arrays(
        list(cust), list(at), value=list(value), value_to_customer=list(gift)
    )


def test_decayed_sums_match_a_per_event_reference():
    rng = np.random.default_rng(4)
    rows = [
        (f"c{rng.integers(0, 20)}", AT - timedelta(days=float(rng.uniform(-30, 900))),
         float(rng.uniform(-20, 200)), float(rng.uniform(0, 30)))
        for _ in range(400)
    ]  # fmt: skip
    log = make_log(rows)
    vb = value_balance(log, AT, half_life=HALF)
    for i, cust in enumerate(log.customers):
        mine = [(t, v, g) for c, t, v, g in rows if c == cust and t <= AT]
        given = sum(g * 0.5 ** ((AT - t) / HALF) for t, _, g in mine)
        received = sum(v * 0.5 ** ((AT - t) / HALF) for t, v, _ in mine)
        assert vb.to_customer[i] == pytest.approx(given, rel=1e-12, abs=1e-12)
        assert vb.to_company[i] == pytest.approx(received, rel=1e-12, abs=1e-12)


def test_a_gift_one_half_life_ago_counts_half():
    vb = value_balance(make_log([("a", AT, 100.0, 0.0), ("a", AT - HALF, 0.0, 40.0)]), AT)
    assert vb.to_customer.tolist() == [pytest.approx(20.0)]
    assert vb.value_balance.tolist() == [pytest.approx(0.2)]


def test_classification_at_the_bounds_of_the_balanced_range():
    rows = [
        ("balanced_low", AT, 100.0, 10.0),   # ratio 0.1: balanced (bounds included)
        ("balanced_high", AT, 100.0, 100.0), # ratio 1.0: balanced
        ("give", AT, 100.0, 101.0),
        ("take", AT, 100.0, 9.0),
        ("gift_only", AT, 0.0, 5.0),
        ("nothing", AT, 0.0, 0.0),
        ("refunded", AT, -50.0, 0.0),        # net received below zero, nothing given
    ]  # fmt: skip
    vb = value_balance(make_log(rows), AT)
    got = dict(zip(vb.customer_id.tolist(), vb.classification.tolist(), strict=True))
    assert got == {
        "balanced_low": "balanced",
        "balanced_high": "balanced",
        "give": "give-heavy",
        "take": "take-heavy",
        "gift_only": "give-heavy",
        "nothing": "no exchange",
        "refunded": "no exchange",
    }
    assert np.isinf(vb.value_balance[vb.customer_id == "gift_only"]).all()
    assert set(vb.counts()) == set(BALANCE_CLASSES)


def test_value_balance_ignores_events_after_at():
    vb = value_balance(make_log([("a", AT, 10.0, 1.0), ("a", AT + HALF, 0.0, 500.0)]), AT)
    assert vb.to_customer.tolist() == [1.0]


def test_value_balance_parameters_are_checked():
    log = make_log([("a", AT, 10.0, 1.0)])
    with pytest.raises(ValueError, match="balanced_range"):
        value_balance(log, AT, balanced_range=(1.0, 0.5))
    with pytest.raises(ValueError, match="naive"):
        value_balance(log, datetime(2026, 1, 1))


def test_value_balance_to_pandas():
    df = value_balance(make_log([("a", AT, 10.0, 1.0)]), AT).to_pandas()
    assert df.loc["a", "value_balance"] == pytest.approx(0.1)
    assert df.loc["a", "classification"] == "balanced"
