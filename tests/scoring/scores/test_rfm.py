"""RFM scores and segments."""

from __future__ import annotations

import numpy as np
import pytest

from relcore.datasets import load_cdnow
from relcore.scoring import RFM_SEGMENTS, RFMSummary, rfm_segments, summarize


def summary(frequency, recency, T, monetary=None, ids=None):
    n = len(frequency)
    return RFMSummary(
        customer_id=np.arange(n) if ids is None else ids,
        frequency=np.asarray(frequency, dtype=float),
        recency=np.asarray(recency, dtype=float),
        T=np.asarray(T, dtype=float),
        monetary_value=np.zeros(n) if monetary is None else np.asarray(monetary, dtype=float),
    )


def segment_reference(r, f, frequency):
    """The documented rule table for bins=5, as an if/elif chain."""
    if r == 5 and f == 5:
        return "champions"
    if r >= 3 and f >= 4:
        return "loyal"
    if r >= 4 and frequency == 0:
        return "new"
    if r >= 3:
        return "promising"
    if r == 1 and f >= 4:
        return "cannot lose"
    if r <= 2 and f >= 3:
        return "at risk"
    if r == 2:
        return "hibernating"
    return "lost"


def test_distinct_values_fall_into_equal_fifths():
    values = np.arange(1.0, 101.0)
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(values)
    seg = rfm_segments(summary(shuffled, np.zeros(100), np.full(100, 200.0), shuffled))
    # frequency k (1..100) is in fifth ceil(k / 20)
    np.testing.assert_array_equal(seg.frequency_score, np.ceil(shuffled / 20))
    np.testing.assert_array_equal(seg.monetary_score, np.ceil(shuffled / 20))
    assert np.bincount(seg.frequency_score).tolist() == [0, 20, 20, 20, 20, 20]


def test_recency_score_rewards_the_most_recent_purchase():
    # periods since the last purchase: T - recency = 0, 10, 20, 30, 40
    seg = rfm_segments(summary([1] * 5, [40, 30, 20, 10, 0], [40] * 5))
    assert seg.recency_score.tolist() == [5, 4, 3, 2, 1]


def test_tied_values_share_the_lowest_score():
    freq = np.r_[np.zeros(60), np.arange(1.0, 41.0)]
    seg = rfm_segments(summary(freq, np.zeros(100), np.full(100, 50.0)))
    assert set(seg.frequency_score[:60].tolist()) == {1}
    assert seg.frequency_score[60:].min() > 1


def test_segments_follow_the_rule_table_on_cdnow():
    s = summarize(load_cdnow(), period="W", observation_end="1998-06-30")
    seg = rfm_segments(s)
    expected = [
        segment_reference(r, f, q)
        for r, f, q in zip(
            seg.recency_score.tolist(),
            seg.frequency_score.tolist(),
            s.frequency.tolist(),
            strict=True,
        )
    ]
    assert seg.segment.tolist() == expected
    assert sum(seg.counts().values()) == len(s) == 23_570
    assert set(seg.segment.tolist()) <= set(RFM_SEGMENTS)


def test_segments_scale_with_bins():
    rng = np.random.default_rng(2)
    freq = rng.integers(0, 20, 500).astype(float)
    rec = rng.uniform(0, 50, 500)
    seg10 = rfm_segments(summary(freq, rec, np.full(500, 60.0)), bins=10)
    assert seg10.recency_score.max() == 10
    u_r = (seg10.recency_score - 1) / 9
    u_f = (seg10.frequency_score - 1) / 9
    champions = seg10.segment == "champions"
    assert champions.any()
    np.testing.assert_array_equal(champions, (u_r == 1) & (u_f == 1))


@pytest.mark.parametrize("bins", [1, 0, 101, 2.5])
def test_bad_bins_are_refused(bins):
    with pytest.raises(ValueError, match="bins"):
        rfm_segments(summary([0, 1], [0, 1], [2, 2]), bins=bins)


def test_rfm_needs_a_summary():
    with pytest.raises(TypeError, match="RFMSummary"):
        rfm_segments({"frequency": [1]})


def test_to_pandas_and_counts():
    seg = rfm_segments(summary([3, 0], [9, 0], [10, 1], [20, 0], ids=["x", "y"]))
    df = seg.to_pandas()
    assert df.index.tolist() == ["x", "y"]
    assert list(df["segment"].cat.categories) == list(RFM_SEGMENTS)
    assert sum(seg.counts().values()) == 2


# ---------------------------------------------------------------- scores by rank, on CDNOW


@pytest.fixture(scope="module")
def cdnow():
    return summarize(load_cdnow(), period="W", observation_end="1998-06-30")


def beaten_share_score(values, bins):
    """The definition, computed independently: 1 + floor(bins * (customers with a strictly
    worse value) / n), counted by comparison for each distinct value."""
    n = len(values)
    score = {v: 1 + (bins * int(np.count_nonzero(values < v))) // n for v in set(values.tolist())}
    return np.array([score[v] for v in values.tolist()])


@pytest.mark.parametrize("bins", [3, 5])
def test_a_score_says_how_large_a_share_of_customers_does_worse_on_cdnow(cdnow, bins):
    seg = rfm_segments(cdnow, bins=bins)
    since_last = cdnow.T - cdnow.recency
    np.testing.assert_array_equal(seg.recency_score, beaten_share_score(-since_last, bins))
    np.testing.assert_array_equal(seg.frequency_score, beaten_share_score(cdnow.frequency, bins))
    np.testing.assert_array_equal(
        seg.monetary_score, beaten_share_score(cdnow.monetary_value, bins)
    )


def test_no_more_customers_reach_a_score_than_its_rank_allows_on_cdnow(cdnow):
    seg = rfm_segments(cdnow)
    n = len(cdnow)
    for scores in (seg.recency_score, seg.frequency_score, seg.monetary_score):
        for k in range(2, 6):
            # a score >= k beats (k - 1)/5 of the customers, so at most (6 - k)/5 have it
            assert np.count_nonzero(scores >= k) <= (6 - k) * n / 5


def test_customers_who_never_came_back_score_lowest_on_frequency_on_cdnow(cdnow):
    seg = rfm_segments(cdnow)
    never = cdnow.frequency == 0
    assert never.mean() > 0.5  # the tie the old quantile scores spread upwards
    assert set(seg.frequency_score[never].tolist()) == {1}
    assert set(seg.monetary_score[never].tolist()) == {1}
    assert not np.isin(seg.segment[never], ["champions", "loyal", "cannot lose"]).any()


def test_champions_are_the_top_fifth_in_both_recency_and_frequency_on_cdnow(cdnow):
    seg = rfm_segments(cdnow)
    champions = seg.segment == "champions"
    assert 0 < champions.mean() <= 0.2
    n = len(cdnow)
    since_last = cdnow.T - cdnow.recency
    for i in np.flatnonzero(champions)[:200]:
        # each buys more often than, and bought more recently than, 80% of the customers
        assert np.count_nonzero(cdnow.frequency < cdnow.frequency[i]) >= 0.8 * n
        assert np.count_nonzero(since_last > since_last[i]) >= 0.8 * n
