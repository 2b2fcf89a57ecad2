"""Engagement: formula against a per-event reference, and the invariants of issue 6."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relcore.models import EventLog
from relcore.scoring import engagement

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
HALF_LIFE = timedelta(days=30)
DAY = timedelta(days=1)
ROLES = {  # role -> (kind, initiator)
    "visit": ("visit", "customer"),
    "response": ("response", "customer"),
    "purchase": ("purchase", None),
    "message": ("message", "company"),
    "complaint": ("complaint", "customer"),
    "reward": ("reward", None),
}


def make_log(rows):
    """Rows ``(customer, at, role, channel)``."""
    cust, at, role, channel = zip(*rows, strict=True)
    return EventLog.from_arrays(
        list(cust),
        list(at),
        kind=[ROLES[r][0] for r in role],
        initiator=[ROLES[r][1] for r in role],
        channel=list(channel),
    )


def reference(rows, customer, at=AT, half_life=HALF_LIFE, scale=1.0):
    """Engagement of one customer, event by event, in plain Python."""
    per_channel: dict[object, float] = {}
    for cust, t, role, channel in rows:
        if cust != customer or t > at or role not in ("visit", "response", "purchase"):
            continue
        age = (at - t) / half_life
        per_channel[channel] = per_channel.get(channel, 0.0) + 0.5**age
    shortfall = 1.0
    for activity in per_channel.values():
        shortfall *= 1.0 / (1.0 + activity / scale)
    return 1.0 - shortfall


def score_of(log, customer, **kw):
    result = engagement(log, AT, **kw)
    return float(result.engagement[log.code_of(customer)])


# --------------------------------------------------------------------- hypothesis data

channels = st.sampled_from(["email", "sms", "web", None])
roles = st.sampled_from(list(ROLES))
hours_before = st.floats(min_value=0, max_value=24 * 400, allow_nan=False)


@st.composite
def rows_strategy(draw, min_size=0):
    n = draw(st.integers(min_value=min_size, max_value=25))
    return [
        (
            draw(st.sampled_from(["a", "b", "c"])),
            AT - timedelta(hours=draw(hours_before)),
            draw(roles),
            draw(channels),
        )
        for _ in range(n)
    ]


# ------------------------------------------------------------------------------ tests


def test_engagement_matches_a_per_event_reference_on_random_logs():
    rng = np.random.default_rng(7)
    rows = [
        (
            f"c{rng.integers(0, 30)}",
            AT - timedelta(hours=float(rng.uniform(-48, 24 * 200))),  # some after `at`
            str(rng.choice(list(ROLES))),
            [None, "email", "sms", "web", "store"][rng.integers(0, 5)],
        )
        for _ in range(600)
    ]
    log = make_log(rows)
    result = engagement(log, AT, half_life=HALF_LIFE, scale=2.0)
    expected = [reference(rows, c, scale=2.0) for c in log.customers]
    np.testing.assert_allclose(result.engagement, expected, rtol=1e-12, atol=1e-15)


def test_one_fresh_action_scores_one_half_and_breadth_beats_depth():
    one = make_log([("a", AT, "visit", "web")])
    deep = make_log([("a", AT, "visit", "web"), ("a", AT, "visit", "web")])
    broad = make_log([("a", AT, "visit", "web"), ("a", AT, "response", "email")])
    assert score_of(one, "a") == pytest.approx(0.5)
    assert score_of(deep, "a") == pytest.approx(1 - 1 / 3)
    assert score_of(broad, "a") == pytest.approx(1 - 1 / 4)
    assert engagement(broad, AT).breadth.tolist() == [2]


def test_an_action_one_half_life_old_counts_half():
    log = make_log([("a", AT - HALF_LIFE, "purchase", "web")])
    result = engagement(log, AT, half_life=HALF_LIFE)
    assert result.activity.tolist() == [pytest.approx(0.5)]
    assert result.engagement.tolist() == [pytest.approx(1 - 1 / 1.5)]


def test_company_messages_and_complaints_are_not_engagement():
    log = make_log(
        [("a", AT, "message", "email"), ("a", AT, "complaint", "phone"), ("a", AT, "reward", None)]
    )
    assert score_of(log, "a") == 0.0


def test_events_after_at_are_ignored():
    before = make_log([("a", AT - timedelta(days=3), "visit", "web")])
    after = make_log(
        [("a", AT - timedelta(days=3), "visit", "web"), ("a", AT + DAY, "visit", "sms")]
    )
    assert score_of(after, "a") == score_of(before, "a")


def test_a_customers_score_does_not_depend_on_other_customers():
    rows = [
        ("a", AT - timedelta(days=2), "visit", "web"),
        ("b", AT - timedelta(days=9), "response", "email"),
        ("b", AT, "visit", "store"),
    ]
    log = make_log(rows)
    alone = engagement(log.for_customer("b"), AT)
    assert alone.engagement[0] == engagement(log, AT).engagement[log.code_of("b")]


def test_activity_by_channel_and_to_pandas_are_labelled_by_channel():
    log = make_log([("a", AT, "visit", "web"), ("b", AT, "response", "email")])
    result = engagement(log, AT)
    assert result.channels == ("email", "web")
    assert result.activity_by_channel.tolist() == [[0.0, 1.0], [1.0, 0.0]]
    df = result.to_pandas()
    assert df.index.name == "customer_id"
    assert df.loc["a", "activity_web"] == 1.0
    assert df.loc["b", "engagement"] == pytest.approx(0.5)


def test_result_columns_are_read_only():
    result = engagement(make_log([("a", AT, "visit", "web")]), AT)
    with pytest.raises(ValueError, match="read-only"):
        result.engagement[0] = 1.0


def test_naive_at_is_refused():
    log = make_log([("a", AT, "visit", "web")])
    with pytest.raises(ValueError, match="naive"):
        engagement(log, datetime(2026, 6, 1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"half_life": timedelta(0)}, "half_life"),
        ({"half_life": timedelta(days=-1)}, "half_life"),
        ({"scale": 0.0}, "scale"),
        ({"scale": math.inf}, "scale"),
    ],
)
def test_bad_parameters_are_refused(kwargs, match):
    log = make_log([("a", AT, "visit", "web")])
    with pytest.raises(ValueError, match=match):
        engagement(log, AT, **kwargs)


# ------------------------------------------------------------------------ invariants


@settings(max_examples=60)
@given(rows_strategy(), hours_before, channels, st.sampled_from(["visit", "response", "purchase"]))
def test_adding_a_customer_action_never_lowers_engagement(rows, hours, channel, role):
    base = make_log([*rows, ("a", AT + DAY, "message", "email")])  # "a" exists, no effect
    more = make_log(
        [
            *rows,
            ("a", AT + DAY, "message", "email"),
            ("a", AT - timedelta(hours=hours), role, channel),
        ]
    )
    assert score_of(more, "a") >= score_of(base, "a")
    assert 0.0 <= score_of(more, "a") < 1.0


@settings(max_examples=60)
@given(
    rows_strategy(),
    st.floats(min_value=0, max_value=24 * 200),
    st.floats(min_value=1, max_value=24 * 200),
    channels,
)
def test_an_older_action_counts_less_than_the_same_action_newer(rows, hours, extra, channel):
    newer = make_log([*rows, ("a", AT - timedelta(hours=hours), "visit", channel)])
    older = make_log([*rows, ("a", AT - timedelta(hours=hours + extra), "visit", channel)])
    assert score_of(older, "a") <= score_of(newer, "a")
    alone_new = make_log([("a", AT - timedelta(hours=hours), "visit", channel)])
    alone_old = make_log([("a", AT - timedelta(hours=hours + extra), "visit", channel)])
    assert score_of(alone_old, "a") < score_of(alone_new, "a")


@settings(max_examples=60)
@given(rows_strategy(min_size=1), hours_before, channels)
def test_an_unanswered_company_message_never_raises_engagement(rows, hours, channel):
    rows = [*rows, ("a", AT - timedelta(days=500), "visit", "web")]
    before = make_log(rows)
    after = make_log([*rows, ("a", AT - timedelta(hours=hours), "message", channel)])
    assert score_of(after, "a") <= score_of(before, "a")
