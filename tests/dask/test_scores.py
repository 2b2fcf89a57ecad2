"""Engagement and fatigue over a Dask frame equal the single-machine scores, customer by
customer, including the saturation that needs the whole base's response curves."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest

from relcore.models import EventLog
from relcore.scoring import engagement, fatigue

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")

import relcore.dask as rdask  # noqa: E402

LABELS = {"kind": "kind", "value": "value", "channel": "channel", "initiator": "initiator"}


def single_machine_log(events):
    return EventLog.from_pandas(events, **LABELS)


def assert_same_scores(got, want):
    got = got.sort_index()
    assert got.index.tolist() == want.index.tolist()
    assert list(got.columns) == list(want.columns)
    for col in want.columns:
        if isinstance(want[col].dtype, pd.CategoricalDtype):
            assert got[col].tolist() == want[col].tolist(), col
            assert list(got[col].cat.categories) == list(want[col].cat.categories)
        else:
            np.testing.assert_allclose(got[col], want[col], rtol=1e-12, err_msg=col)


def test_some_partitions_of_customers_lack_some_channels(events, split):
    # so the per-channel columns of a partition must be completed with zeros
    shuffled = split(events, 6).shuffle(on="customer_id")
    parts = [p.compute(scheduler="synchronous") for p in shuffled.partitions]
    assert any(set(p["channel"].dropna()) < set(events["channel"].dropna()) for p in parts)


def test_engagement_equals_the_single_machine_scores(client, events, split, end):
    got = rdask.engagement(split(events, 5), end, half_life=timedelta(days=20)).compute()
    want = engagement(single_machine_log(events), end, half_life=timedelta(days=20))
    assert_same_scores(got, want.to_pandas())


def test_engagement_of_customers_in_one_partition_each(client, events, split, end):
    # one partition: already "partitioned by customer", no shuffle
    got = rdask.engagement(split(events, 1), end, partitioned_by_customer=True).compute()
    assert_same_scores(got, engagement(single_machine_log(events), end).to_pandas())


def test_fatigue_equals_the_single_machine_scores_with_estimated_recommendations(
    client, events, split, end
):
    want = fatigue(single_machine_log(events), end, window=timedelta(weeks=26))
    # the test means something only if some recommendation was estimated, and some not
    estimated = np.isfinite(want.recommended_frequency)
    assert estimated.any()
    assert not estimated.all()
    assert set(want.saturation.tolist()) == {"under", "on_target", "saturated"}
    got = rdask.fatigue(split(events, 6), end, window=timedelta(weeks=26)).compute()
    assert_same_scores(got, want.to_pandas())


def test_fatigue_with_given_recommendations_needs_no_first_pass(client, events, split, end):
    given = {"email": 1.0, "sms": 0.5, "push": 2.0, "store": math.nan, "web": 0.25, "catalog": 1}
    want = fatigue(single_machine_log(events), end, recommended_frequency=given)
    got = rdask.fatigue(split(events, 4), end, recommended_frequency=given).compute()
    assert_same_scores(got, want.to_pandas())


def test_fatigue_refuses_a_recommendation_for_a_channel_not_in_the_data(client, events, split, end):
    with pytest.raises(ValueError, match="not in the log"):
        rdask.fatigue(split(events, 2), end, recommended_frequency={"fax": 1.0})
    with pytest.raises(ValueError, match="must be positive"):
        rdask.fatigue(split(events, 2), end, recommended_frequency={"email": -1.0})


def test_scores_refuse_a_naive_instant_when_called(client, events, split, end):
    with pytest.raises(ValueError, match="naive"):
        rdask.engagement(split(events, 2), end.replace(tzinfo=None))
    with pytest.raises(ValueError, match="naive"):
        rdask.fatigue(split(events, 2), end.replace(tzinfo=None))


def test_scores_read_frames_with_relcores_column_names(client, events, split, end):
    with pytest.raises(Exception, match="relcore's column names"):
        rdask.engagement(split(events.rename(columns={"at": "when"}), 2), end)


def test_scores_of_events_read_from_parquet(client, parquet_dataset, events, end):
    read = rdask.read_events(
        parquet_dataset, customer_id="client", at="ordered_at", timezone="UTC", **LABELS
    )
    got = rdask.engagement(read, end).compute()
    assert_same_scores(got, engagement(single_machine_log(events), end).to_pandas())


def test_a_response_curve_from_its_counts_is_the_curve_fatigue_estimates(events, end):
    from relcore.scoring import ResponseCurve

    scores = fatigue(single_machine_log(events), end, window=timedelta(weeks=26))
    for curve in scores.response_curves:
        n = curve.contacts / curve.customers
        again = ResponseCurve.from_counts(
            curve.channel, n, curve.customers, curve.responses, window=timedelta(weeks=26)
        )
        assert again.contacts_per_week.tolist() == curve.contacts_per_week.tolist()
        assert again.response_rate.tolist() == curve.response_rate.tolist()
        assert np.array_equal(again.slope, curve.slope, equal_nan=True)
        assert np.array_equal(
            again.recommended_frequency, curve.recommended_frequency, equal_nan=True
        )


def test_response_curve_counts_are_checked():
    from relcore import DataError
    from relcore.scoring import ResponseCurve

    with pytest.raises(DataError, match="repeated counts") as info:
        ResponseCurve.from_counts("email", [1, 2, 1], [3, 3, 3], [1, 1, 1])
    assert info.value.rows == (2,)
    with pytest.raises(DataError, match="not 1, 2, 3") as info:
        ResponseCurve.from_counts("email", [0.5, 2], [3, 3], [1, 1])
    assert (info.value.column, info.value.rows) == ("contacts", (0,))


def test_a_nan_recommendation_leaves_a_channel_out_of_saturation_on_one_machine(end):
    # one email and four SMS a week for 13 weeks
    times = [end - timedelta(days=7 * w + d) for w in range(13) for d in range(5)]
    channels = ["email" if d == 0 else "sms" for w in range(13) for d in range(5)]
    log = EventLog.from_arrays(
        ["a"] * len(times), times, kind="message", channel=channels, initiator="company"
    )
    both = fatigue(log, end, recommended_frequency={"email": 1.0, "sms": 1.0})
    email_only = fatigue(log, end, recommended_frequency={"email": 1.0, "sms": math.nan})
    assert both.saturation.tolist() == ["saturated"]
    assert email_only.saturation.tolist() == ["on_target"]
    assert np.isnan(email_only.recommended_frequency[email_only.channels.index("sms")])


def test_scores_written_to_parquet_read_back_the_same(client, events, split, end, tmp_path):
    log = single_machine_log(events)
    window = timedelta(weeks=26)
    rdask.engagement(split(events, 4), end).to_parquet(tmp_path / "engagement")
    rdask.fatigue(split(events, 4), end, window=window).to_parquet(tmp_path / "fatigue")
    assert_same_scores(pd.read_parquet(tmp_path / "engagement"), engagement(log, end).to_pandas())
    assert_same_scores(
        pd.read_parquet(tmp_path / "fatigue"), fatigue(log, end, window=window).to_pandas()
    )
