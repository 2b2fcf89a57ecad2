"""Fatigue: the array kernel the contact policy uses, the log-level score, saturation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relcore import DataError
from relcore.models import EventLog
from relcore.scoring import fatigue, fatigue_scores

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
DAY_US = 86_400_000_000
WEEK = timedelta(weeks=1)
ROLES = {
    "message": ("message", "company"),
    "response": ("response", "customer"),
    "visit": ("visit", "customer"),
    "purchase": ("purchase", None),
    "complaint": ("complaint", "customer"),
    "unsubscribe": ("unsubscribe", None),
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


def kernel_reference(group, t, contact, response, negative, n_groups, now, half_life, w_neg):
    """Per-group loop, straight from the definition."""
    out = []
    for g in range(n_groups):
        rows = [i for i in range(len(group)) if group[i] == g and t[i] <= now]
        responses = [t[i] for i in rows if response[i]]
        last = max(responses) if responses else None
        total = 0.0
        for i in rows:
            weight = 2.0 ** (-(now - t[i]) / half_life)
            if contact[i] and (last is None or t[i] > last):
                total += weight
            if negative[i]:
                total += w_neg * weight
        out.append(total)
    return out


# --------------------------------------------------------------------------- kernel


def test_kernel_matches_the_definition_on_random_arrays():
    rng = np.random.default_rng(11)
    n, n_groups = 2_000, 40
    group = rng.integers(0, n_groups, n)
    t = rng.integers(0, 60 * DAY_US, n)
    role = rng.integers(0, 4, n)  # contact, response, negative, other
    contact, response, negative = role == 0, role == 1, role == 2
    now, hl = 50 * DAY_US, 7 * DAY_US
    got = fatigue_scores(
        group, t, contact, response, negative,
        n_groups=n_groups, now_us=now, half_life_us=hl, negative_weight=3.0,
    )  # fmt: skip
    want = kernel_reference(group, t, contact, response, negative, n_groups, now, hl, 3.0)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_kernel_does_not_need_rows_sorted():
    rng = np.random.default_rng(3)
    n = 500
    group = rng.integers(0, 10, n)
    t = rng.integers(0, 30 * DAY_US, n)
    flags = [rng.random(n) < p for p in (0.5, 0.2, 0.05)]
    kw = {"n_groups": 10, "now_us": 30 * DAY_US, "half_life_us": 3.0 * DAY_US}
    perm = rng.permutation(n)
    a = fatigue_scores(group, t, *flags, **kw)
    b = fatigue_scores(group[perm], t[perm], *(f[perm] for f in flags), **kw)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_contact_at_the_instant_of_a_response_counts_as_answered():
    t = np.array([5, 5]) * DAY_US
    got = fatigue_scores(
        np.zeros(2, dtype=np.int64), t, np.array([True, False]), np.array([False, True]),
        np.zeros(2, dtype=bool), n_groups=1, now_us=5 * DAY_US, half_life_us=DAY_US,
    )  # fmt: skip
    assert got.tolist() == [0.0]


def test_negatives_are_not_wiped_by_a_later_response():
    # complaint on day 0, response on day 1, scored day 2 with a one-day half-life:
    # the complaint still counts 5 * 1/4.
    t = np.array([0, 1]) * DAY_US
    got = fatigue_scores(
        np.zeros(2, dtype=np.int64), t, np.zeros(2, dtype=bool), np.array([False, True]),
        np.array([True, False]), n_groups=1, now_us=2 * DAY_US, half_life_us=DAY_US,
    )  # fmt: skip
    assert got.tolist() == [pytest.approx(1.25)]


def test_kernel_ignores_rows_after_now_and_empty_groups_score_zero():
    t = np.array([1, 9]) * DAY_US
    got = fatigue_scores(
        np.array([0, 0]), t, np.array([True, True]), np.zeros(2, dtype=bool),
        np.zeros(2, dtype=bool), n_groups=3, now_us=1 * DAY_US, half_life_us=DAY_US,
    )  # fmt: skip
    assert got.tolist() == [1.0, 0.0, 0.0]


def test_kernel_names_groups_out_of_range():
    with pytest.raises(DataError) as err:
        fatigue_scores(
            np.array([0, 3, 1, -1]), np.zeros(4, dtype=np.int64), np.ones(4, dtype=bool),
            np.zeros(4, dtype=bool), np.zeros(4, dtype=bool),
            n_groups=2, now_us=0, half_life_us=1.0,
        )  # fmt: skip
    assert err.value.column == "group"
    assert err.value.rows == (1, 3)


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"is_contact": np.ones(3, dtype=np.int8)}, "is_contact"),
        ({"is_response": np.zeros(2, dtype=bool)}, "is_response"),
        ({"at_us": np.zeros(3)}, "at_us"),
        ({"group": np.zeros(3)}, "group"),
    ],
)
def test_kernel_refuses_mistyped_or_misshaped_arrays(change, column):
    args = {
        "group": np.zeros(3, dtype=np.int64),
        "at_us": np.zeros(3, dtype=np.int64),
        "is_contact": np.ones(3, dtype=bool),
        "is_response": np.zeros(3, dtype=bool),
        "is_negative": np.zeros(3, dtype=bool),
    }
    args.update(change)
    with pytest.raises(DataError) as err:
        fatigue_scores(**args, n_groups=1, now_us=0, half_life_us=1.0)
    assert err.value.column == column


# ------------------------------------------------------------------------ log level


def test_a_response_on_sms_resets_overall_fatigue_but_not_emails():
    rows = [
        ("a", AT - 3 * WEEK, "message", "email"),
        ("a", AT - 2 * WEEK, "message", "email"),
        ("a", AT - 1 * WEEK, "response", "sms"),
    ]
    f = fatigue(make_log(rows), AT, half_life=WEEK)
    assert f.fatigue.tolist() == [0.0]
    assert f.channel("email").tolist() == [pytest.approx(0.125 + 0.25)]
    assert f.channel("sms").tolist() == [0.0]


def test_a_purchase_or_visit_is_a_response():
    for role in ("purchase", "visit"):
        rows = [("a", AT - 2 * WEEK, "message", "web"), ("a", AT - WEEK, role, "web")]
        assert fatigue(make_log(rows), AT).fatigue.tolist() == [0.0]


def test_a_complaint_raises_fatigue_sharply():
    calm = [("a", AT - WEEK, "message", "email")]
    sore = [*calm, ("a", AT, "complaint", "email")]
    f_calm = fatigue(make_log(calm), AT, half_life=WEEK).fatigue[0]
    f_sore = fatigue(make_log(sore), AT, half_life=WEEK).fatigue[0]
    assert f_calm == pytest.approx(0.5)
    assert f_sore == pytest.approx(0.5 + 5.0)


def test_events_without_channel_count_overall_only():
    rows = [("a", AT, "message", None), ("a", AT, "message", "email")]
    f = fatigue(make_log(rows), AT)
    assert f.fatigue.tolist() == [2.0]
    assert f.fatigue_by_channel.tolist() == [[1.0]]


def test_fatigue_naive_at_is_refused():
    with pytest.raises(ValueError, match="naive"):
        fatigue(make_log([("a", AT, "message", "email")]), datetime(2026, 1, 1))


@settings(max_examples=50)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=24 * 120),
            st.sampled_from(list(ROLES)),
            st.sampled_from(["email", "sms"]),
        ),
        max_size=20,
    ),
    st.floats(min_value=0, max_value=24 * 120),
    st.sampled_from(["email", "sms"]),
)
def test_adding_a_company_contact_never_lowers_fatigue(events, hours, channel):
    rows = [("a", AT - timedelta(hours=h), r, c) for h, r, c in events]
    rows.append(("a", AT + WEEK, "message", "email"))  # after `at`: keeps "a" and both channels
    rows.append(("a", AT + WEEK, "message", "sms"))
    before = fatigue(make_log(rows), AT)
    after = fatigue(make_log([*rows, ("a", AT - timedelta(hours=hours), "message", channel)]), AT)
    assert after.fatigue[0] >= before.fatigue[0]
    assert (after.fatigue_by_channel >= before.fatigue_by_channel).all()


# ------------------------------------------------------------------------- saturation


def _base_with_falling_response_rates(f0, n_customers=20_000, seed=5):
    """Customers contacted 1..26 times by email in 13 weeks; each contact is answered with
    probability 0.3·exp(−f/f0), f = contacts per week, so weekly responses
    f·0.3·exp(−f/f0) peak at f = f0."""
    rng = np.random.default_rng(seed)
    weeks = 13
    n_contacts = rng.integers(1, 27, n_customers)
    p = 0.3 * np.exp(-(n_contacts / weeks) / f0)
    n_responses = rng.binomial(n_contacts, p)
    cust = np.repeat(np.arange(n_customers), n_contacts + n_responses)
    is_contact = np.concatenate(
        [np.r_[np.ones(c, dtype=bool), np.zeros(r, dtype=bool)]
         for c, r in zip(n_contacts, n_responses, strict=True)]
    )  # fmt: skip
    span = weeks * 7 * DAY_US
    at_us = int(AT.timestamp()) * 1_000_000
    times = at_us - rng.integers(0, span, cust.size)
    return EventLog.from_arrays(
        cust,
        times.view("datetime64[us]"),
        timezone="UTC",
        kind=np.where(is_contact, "message", "response"),
        initiator=np.where(is_contact, "company", "customer"),
        channel="email",
    )


def test_recommended_frequency_finds_where_weekly_responses_peak():
    # With 20,000 customers the estimates vary by about 1 % from one random base to the
    # next (slope -1.249 ± 0.013 over 100 seeds): the 10 % tolerances hold for any stream.
    log = _base_with_falling_response_rates(f0=0.8)
    f = fatigue(log, AT, window=timedelta(weeks=13))
    curve = f.response_curves[0]
    assert (curve.channel, curve.source) == ("email", "estimated")
    assert curve.slope == pytest.approx(-1 / 0.8, rel=0.1)
    assert f.recommended_frequency.tolist() == [pytest.approx(0.8, rel=0.1)]
    # The evidence: pooled response rates fall with frequency.
    rates = curve.response_rate
    assert rates[0] > rates[-1]


def test_recommended_frequency_is_the_highest_observed_when_rates_do_not_fall():
    # Every contact answered: the rate is flat, so more contact always brings more
    # responses within the observed range.
    rows = []
    for i, n in enumerate([1, 2, 4, 8]):
        for k in range(n):
            t = AT - timedelta(days=1 + 7 * k)
            rows += [(f"c{i}", t, "message", "email"), (f"c{i}", t, "response", "email")]
    f = fatigue(make_log(rows), AT, window=timedelta(weeks=8))
    assert f.recommended_frequency.tolist() == [pytest.approx(8 / 8)]


def test_saturation_levels_against_a_given_recommendation():
    # One email a week is recommended; tolerance 25 %.
    rows = []
    for cust, n in (("under", 3), ("on", 13), ("over", 26)):
        rows += [(cust, AT - timedelta(days=3.5 * k + 1), "message", "email") for k in range(n)]
    rows.append(("sore", AT - timedelta(days=30), "unsubscribe", "email"))
    rows.append(("never", AT - timedelta(days=1), "visit", "store"))
    f = fatigue(make_log(rows), AT, window=timedelta(weeks=13), recommended_frequency={"email": 1})
    by_customer = dict(zip(f.customer_id.tolist(), f.saturation.tolist(), strict=True))
    # 26 contacts in 13 weeks is 2 a week: contacts 3.5 days apart span 91 days, all inside.
    assert by_customer == {
        "never": "under",
        "on": "on_target",
        "over": "saturated",
        "sore": "saturated",
        "under": "under",
    }
    assert f.saturation_counts() == {"under": 2, "on_target": 1, "saturated": 2}
    assert f.response_curves[f.channels.index("email")].source == "given"


def test_a_channel_without_responses_has_no_recommendation():
    rows = [("a", AT - timedelta(days=d), "message", "push") for d in (1, 2, 3)]
    f = fatigue(make_log(rows), AT)
    assert np.isnan(f.recommended_frequency).all()
    assert f.saturation.tolist() == ["under"]


def test_recommended_frequency_for_an_unknown_channel_is_refused():
    with pytest.raises(ValueError, match="not in the log"):
        fatigue(make_log([("a", AT, "message", "email")]), AT, recommended_frequency={"fax": 1})


def test_to_pandas_has_per_channel_columns_and_saturation_categories():
    f = fatigue(make_log([("a", AT, "message", "email"), ("b", AT, "message", "sms")]), AT)
    df = f.to_pandas()
    assert list(df.columns) == [
        "fatigue", "saturation", "fatigue_email", "fatigue_sms",
        "contacts_per_week_email", "contacts_per_week_sms",
    ]  # fmt: skip
    assert list(df["saturation"].cat.categories) == ["under", "on_target", "saturated"]
    assert df.loc["a", "fatigue_email"] == 1.0
