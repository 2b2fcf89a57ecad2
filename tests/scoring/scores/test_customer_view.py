"""The 360-degree customer view, with and without (stub) purchase models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from relcore.models import EventLog
from relcore.scoring import (
    BGNBD,
    GammaGamma,
    customer_lifetime_value,
    customer_view,
    customer_views,
    engagement,
    fatigue,
    summarize,
)

AT = datetime(2026, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def day(n: float) -> datetime:
    return AT - timedelta(days=20) + n * DAY  # day 0 is 20 days before AT


def make_log(rows):
    """Rows ``(customer, at, kind, initiator, channel, value, value_to_customer)``."""
    cust, at, kind, init, channel, value, gift = zip(*rows, strict=True)
    return EventLog.from_arrays(
        list(cust), list(at), kind=list(kind), initiator=list(init), channel=list(channel),
        value=list(value), value_to_customer=list(gift),
    )  # fmt: skip


ROWS = [
    # "a": ten emails from us, two store visits and two web purchases of their own.
    *[("a", day(i), "message", "company", "email", 0.0, 0.0) for i in range(10)],
    ("a", day(0), "purchase", None, "web", 30.0, 3.0),
    ("a", day(8), "purchase", None, "web", 20.0, 0.0),
    ("a", day(8), "visit", "customer", "store", 0.0, 0.0),
    ("a", day(12), "visit", "customer", "store", 0.0, 0.0),
    ("a", day(13), "visit", "customer", "store", 0.0, 0.0),
    ("a", day(25), "purchase", None, "web", 99.0, 0.0),  # after AT: not in the view
    # "b": one purchase with a gift, no channel.
    ("b", day(5), "purchase", None, None, 12.5, 2.5),
    # "c": only events after AT.
    ("c", day(30), "purchase", None, "web", 5.0, 0.0),
]


def test_view_of_one_customer_across_channels():
    v = customer_view(make_log(ROWS), "a", AT)
    assert v.first_seen == day(0)
    assert v.last_seen == day(13)
    assert v.events == 15
    assert dict(v.touchpoints) == {"email": 10, "store": 3, "web": 2}
    assert dict(v.value_by_channel) == {"web": 50.0}
    assert (v.value_to_company, v.value_to_customer) == (50.0, 3.0)


def test_preferred_channel_follows_the_customers_own_actions_not_our_sends():
    v = customer_view(make_log(ROWS), "a", AT)
    # Ten emails were ours; the store holds three of their own recent actions.
    assert v.preferred_channel == "store"


def test_view_scores_equal_the_standalone_scores():
    log = make_log(ROWS)
    views = customer_views(log, AT)
    np.testing.assert_array_equal(views.engagement, engagement(log, AT).engagement)
    f = fatigue(log, AT)
    np.testing.assert_array_equal(views.fatigue, f.fatigue)
    np.testing.assert_array_equal(views.fatigue_by_channel, f.fatigue_by_channel)
    one = customer_view(log, "a", AT)
    assert one.engagement == views.engagement[0]
    assert one.fatigue == views.fatigue[0]


def test_customer_without_events_by_at_has_an_empty_view():
    views = customer_views(make_log(ROWS), AT)
    c = views.view("c")
    assert (c.first_seen, c.last_seen) == (None, None)
    assert (c.events, dict(c.touchpoints)) == (0, {})
    assert c.preferred_channel is None
    assert np.isnat(views.first_seen[2])


def test_events_without_channel_count_in_totals_only():
    b = customer_views(make_log(ROWS), AT).view("b")
    assert (b.events, dict(b.touchpoints)) == (1, {})
    assert (b.value_to_company, b.value_to_customer) == (12.5, 2.5)


def test_customer_ids_select_and_order_the_rows():
    views = customer_views(make_log(ROWS), AT, customer_ids=["c", "a"])
    assert views.customer_id.tolist() == ["c", "a"]
    assert views.events.tolist() == [0, 15]


def test_unknown_customers_raise_key_error():
    with pytest.raises(KeyError, match="zz"):
        customer_views(make_log(ROWS), AT, customer_ids=["a", "zz"])
    with pytest.raises(KeyError):
        customer_view(make_log(ROWS), "zz", AT)


def test_to_pandas_has_aware_times_and_per_channel_columns():
    df = customer_views(make_log(ROWS), AT).to_pandas()
    assert str(df["first_seen"].dt.tz) == "UTC"
    assert df.loc["a", "touchpoints_email"] == 10
    assert df.loc["a", "value_web"] == 50.0
    assert "p_alive" not in df.columns


def test_str_of_a_view_reads_like_a_card():
    text = str(customer_view(make_log(ROWS), "a", AT))
    assert "customer a" in text
    assert "preferred channel store" in text


# ----------------------------------------------------------------------- stub models


class StubPurchaseModel:
    """p_alive = recency / T; expected purchases = t · (frequency + 1) / T: hand-checkable."""

    def __init__(self):
        self.calls = []

    def p_alive(self, frequency, recency, T):
        self.calls.append(("p_alive", np.asarray(frequency), np.asarray(recency), np.asarray(T)))
        return np.asarray(recency) / np.asarray(T)

    def expected_purchases(self, t, frequency, recency, T):
        self.calls.append(("expected", t))
        return t * (np.asarray(frequency) + 1) / np.asarray(T)


class StubSpendModel:
    def expected_average_value(self, frequency, monetary_value):
        return np.asarray(monetary_value)


def test_models_give_p_alive_and_expected_purchases_from_the_summary_at_at():
    model = StubPurchaseModel()
    views = customer_views(
        make_log(ROWS), AT, models={"purchase": model}, period="D", horizon=timedelta(days=30)
    )
    # "a": purchases on days 0 and 8 by AT (day 20): frequency 1, recency 8, T 20.
    # "b": one purchase on day 5: frequency 0, recency 0, T 15. "c": none by AT.
    _, f, r, T = model.calls[0]
    assert (f.tolist(), r.tolist(), T.tolist()) == ([1.0, 0.0], [8.0, 0.0], [20.0, 15.0])
    assert model.calls[1] == ("expected", 30.0)
    np.testing.assert_allclose(views.p_alive, [8 / 20, 0.0, np.nan])
    np.testing.assert_allclose(views.expected_purchases, [30 * 2 / 20, 30 * 1 / 15, np.nan])
    assert views.clv is None
    a = customer_view(make_log(ROWS), "a", AT, models={"purchase": StubPurchaseModel()})
    assert a.p_alive == pytest.approx(8 / 20)


def test_weekly_models_get_the_horizon_in_weeks():
    model = StubPurchaseModel()
    customer_views(
        make_log(ROWS), AT, models={"purchase": model}, period="W", horizon=timedelta(weeks=13)
    )
    assert model.calls[1] == ("expected", 13.0)


def test_views_with_real_models_equal_the_models_applied_to_the_summary():
    # Published CDNOW estimates (weekly), used as known parameters.
    purchase = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)
    spend = GammaGamma(p=6.25, q=3.74, v=15.44)
    log = make_log(ROWS)
    views = customer_views(
        log, AT, models={"purchase": purchase, "spend": spend},
        period="W", clv_months=6, monthly_discount_rate=0.02,
    )  # fmt: skip
    summary = summarize(log.filter(end=AT), period="W", observation_end=AT)
    rows = np.searchsorted(views.customer_id, summary.customer_id)
    f, r, T = summary.frequency, summary.recency, summary.T
    np.testing.assert_allclose(views.p_alive[rows], purchase.p_alive(f, r, T), rtol=1e-12)
    expected_clv = customer_lifetime_value(
        purchase, spend, summary, months=6, monthly_discount_rate=0.02
    )
    np.testing.assert_allclose(views.clv[rows], expected_clv, rtol=1e-12)
    # "a" bought on Tuesday 2026-05-12 and Wednesday 2026-05-20, in two different weeks
    # (Monday to Sunday): one repeat period worth $20.
    assert summary.monetary_value.tolist()[0] == 20.0
    no_purchase = np.setdiff1d(np.arange(len(views.customer_id)), rows)
    assert np.isnan(views.clv[no_purchase]).all()


@pytest.mark.parametrize(
    ("models", "error", "match"),
    [
        ({"spend": StubSpendModel()}, ValueError, "purchase"),
        ({"purchase": StubPurchaseModel(), "churn": 1}, ValueError, "unknown keys"),
        ({"purchase": object()}, TypeError, "p_alive"),
        ({"purchase": StubPurchaseModel(), "spend": object()}, TypeError, "expected_average"),
        (StubPurchaseModel(), TypeError, "mapping"),
    ],
)
def test_models_are_checked(models, error, match):
    with pytest.raises(error, match=match):
        customer_views(make_log(ROWS), AT, models=models)


def test_customer_views_naive_at_is_refused():
    with pytest.raises(ValueError, match="naive"):
        customer_views(make_log(ROWS), datetime(2026, 6, 1))
