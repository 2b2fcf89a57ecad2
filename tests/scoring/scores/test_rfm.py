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
    if r >= 4 and f >= 4:
        return "champions"
    if r >= 3 and f >= 3:
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
    np.testing.assert_array_equal(champions, (u_r >= 0.75) & (u_f >= 0.75))


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
