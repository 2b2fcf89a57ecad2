"""summarize: the customer-base summary, by hand and against lifetimes on CDNOW."""

import datetime as dt

import numpy as np
import pytest

from relcore import DataError, EventLog, summarize
from relcore.datasets import load_cdnow

UTC = dt.UTC


def at(y, m, d, h=12):
    return dt.datetime(y, m, d, h, tzinfo=UTC)


def test_several_purchases_in_one_period_count_once_with_their_summed_value():
    log = EventLog.from_arrays(
        ["a"] * 4,
        [at(2026, 1, 1), at(2026, 1, 1, 18), at(2026, 1, 3), at(2026, 1, 3, 20)],
        value=[10.0, 5.0, 20.0, 4.0],
    )
    s = summarize(log, period="D", observation_end="2026-01-10")
    # Days: Jan 1 (first), Jan 3 (one repeat day worth 24).
    assert s.frequency.tolist() == [1.0]
    assert s.recency.tolist() == [2.0]
    assert s.T.tolist() == [9.0]
    assert s.monetary_value.tolist() == [24.0]


def test_weeks_run_monday_to_sunday_as_pandas_weekly_periods():
    # 2026-01-05 is a Monday; the 11th a Sunday (same week); the 12th the next Monday.
    log = EventLog.from_arrays(
        ["a"] * 3, [at(2026, 1, 5), at(2026, 1, 11), at(2026, 1, 12)], value=[1.0, 2.0, 4.0]
    )
    s = summarize(log, period="W", observation_end="2026-01-31")  # a Saturday
    assert s.frequency.tolist() == [1.0]
    assert s.recency.tolist() == [1.0]
    assert s.T.tolist() == [3.0]  # weeks of Jan 5 -> Jan 26
    assert s.monetary_value.tolist() == [4.0]
    assert s.period_days == 7.0


def test_custom_period_length():
    log = EventLog.from_arrays(["a", "a"], [at(2026, 1, 1, 0), at(2026, 1, 1, 13)])
    s = summarize(log, period=dt.timedelta(hours=6), observation_end=at(2026, 1, 2, 0))
    # 6-hour periods from the epoch: 00:00 is period 0 of the day, 13:00 period 2.
    assert (s.frequency[0], s.recency[0], s.T[0]) == (1.0, 2.0, 4.0)
    assert s.period_days == 0.25


def test_customers_without_repeat_purchases_have_zero_recency_and_value():
    log = EventLog.from_arrays(["a", "b"], [at(2026, 1, 1), at(2026, 1, 2)], value=[9.0, 9.0])
    s = summarize(log, observation_end="2026-01-05")
    assert s.customer_id.tolist() == ["a", "b"]
    assert s.frequency.tolist() == [0.0, 0.0]
    assert s.recency.tolist() == [0.0, 0.0]
    assert s.monetary_value.tolist() == [0.0, 0.0]
    assert s.T.tolist() == [4.0, 3.0]


def test_only_purchases_count_by_default():
    log = EventLog.from_arrays(
        ["a", "a", "a"],
        [at(2026, 1, 1), at(2026, 1, 2), at(2026, 1, 3)],
        kind=["purchase", "message", "purchase"],
        value=[1.0, 0.0, 3.0],
    )
    s = summarize(log, observation_end="2026-01-03")
    assert (s.frequency[0], s.recency[0], s.monetary_value[0]) == (1.0, 2.0, 3.0)


def test_holdout_columns_by_hand():
    log = EventLog.from_arrays(
        ["a", "a", "a", "a", "b", "c"],
        [
            at(2026, 1, 1),
            at(2026, 1, 4),
            at(2026, 1, 12),
            at(2026, 1, 12, 20),
            at(2026, 1, 2),
            at(2026, 1, 15),  # first purchase in the holdout: not in the summary
        ],
        value=[1.0, 2.0, 3.0, 5.0, 7.0, 11.0],
    )
    s = summarize(log, period="D", observation_end="2026-01-20", calibration_end="2026-01-10")
    assert s.customer_id.tolist() == ["a", "b"]
    assert s.frequency.tolist() == [1.0, 0.0]
    assert s.T.tolist() == [9.0, 8.0]
    assert s.holdout_frequency.tolist() == [1.0, 0.0]  # two purchases, one day
    assert s.holdout_monetary_value.tolist() == [4.0, 0.0]  # per transaction, as lifetimes
    assert s.holdout_duration.tolist() == [10.0, 10.0]


def test_observation_end_before_the_last_purchase_is_refused_with_the_rows():
    log = EventLog.from_arrays(["a", "a", "b"], [at(2026, 1, 1), at(2026, 1, 9), at(2026, 1, 8)])
    with pytest.raises(DataError, match="after observation_end") as info:
        summarize(log, observation_end="2026-01-07")
    assert info.value.count == 2
    assert info.value.rows == (1, 2)


def test_a_date_includes_its_whole_day():
    log = EventLog.from_arrays(["a"], [dt.datetime(2026, 1, 7, 23, 59, tzinfo=UTC)])
    assert summarize(log, observation_end="2026-01-07").T.tolist() == [0.0]
    assert summarize(log, observation_end=dt.date(2026, 1, 7)).T.tolist() == [0.0]


@pytest.mark.parametrize(
    ("cal", "match"),
    [
        ("2025-12-01", "before the first"),
        ("2026-02-01", "before observation_end"),
    ],
)
def test_calibration_end_outside_the_data_is_refused(cal, match):
    log = EventLog.from_arrays(["a", "a"], [at(2026, 1, 1), at(2026, 1, 9)])
    with pytest.raises(ValueError, match=match):
        summarize(log, observation_end="2026-01-20", calibration_end=cal)


@pytest.mark.parametrize("cal", ["2026-01-09", "2026-01-12"])
@pytest.mark.parametrize("period", ["D", "W"])
def test_calibration_end_at_or_after_the_last_purchase_is_a_holdout_without_purchases(cal, period):
    # the holdout's future has not happened yet: zero purchases, not an error
    log = EventLog.from_arrays(["a", "a", "b", "c"], [at(2026, 1, d) for d in (1, 9, 4, 9)])
    s = summarize(log, period=period, observation_end="2026-01-20", calibration_end=cal)
    # by definition the calibration part is the summary of the log up to calibration_end
    alone = summarize(log, period=period, observation_end=cal)
    assert s.customer_id.tolist() == alone.customer_id.tolist() == ["a", "b", "c"]
    for name in ("frequency", "recency", "T", "monetary_value"):
        assert getattr(s, name).tolist() == getattr(alone, name).tolist(), name
    assert s.holdout_frequency.tolist() == [0.0, 0.0, 0.0]
    assert s.holdout_monetary_value.tolist() == [0.0, 0.0, 0.0]
    days = (dt.date(2026, 1, 20) - dt.date.fromisoformat(cal)).days
    if period == "D":
        assert s.holdout_duration.tolist() == [float(days)] * 3
    else:  # weeks Monday to Sunday start on Jan 5 (holds the 9th), 12 and 19 (the 20th)
        assert s.holdout_duration.tolist() == [2.0 if cal == "2026-01-09" else 1.0] * 3


def test_unknown_period_and_naive_end_are_refused():
    log = EventLog.from_arrays(["a"], [at(2026, 1, 1)])
    with pytest.raises(ValueError, match="'D', 'W' or a timedelta"):
        summarize(log, period="M", observation_end="2026-01-20")
    with pytest.raises(ValueError, match="naive"):
        summarize(log, observation_end=dt.datetime(2026, 1, 20))
    with pytest.raises(DataError, match="no events of kind"):
        summarize(log, observation_end="2026-01-20", kind="refund")


# ----------------------------------------------------------------- lifetimes parity


@pytest.fixture(scope="module")
def cdnow_frame():
    pd = pytest.importorskip("pandas")
    log = load_cdnow()
    return pd.DataFrame(
        {
            "id": log.customers[log.customer_codes],
            "date": pd.DatetimeIndex(log.times),  # naive UTC, as lifetimes expects
            "value": np.asarray(log.value),
        }
    )


@pytest.mark.parametrize("period", ["D", "W"])
def test_summary_reproduces_lifetimes_on_the_full_cdnow_master(cdnow_frame, period):
    utils = pytest.importorskip("lifetimes.utils")
    expected = utils.summary_data_from_transaction_data(
        cdnow_frame, "id", "date", monetary_value_col="value",
        observation_period_end="1998-06-30", freq=period,
    )  # fmt: skip
    got = summarize(load_cdnow(), period=period, observation_end="1998-06-30").to_pandas()
    expected = expected.loc[got.index]
    assert len(got) == len(expected) == 23_570
    for col in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(got[col], expected[col], rtol=1e-9, atol=0, err_msg=col)


@pytest.mark.parametrize("period", ["D", "W"])
def test_calibration_and_holdout_reproduce_lifetimes_on_the_full_cdnow_master(cdnow_frame, period):
    utils = pytest.importorskip("lifetimes.utils")
    expected = utils.calibration_and_holdout_data(
        cdnow_frame, "id", "date", calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30", freq=period, monetary_value_col="value",
    )  # fmt: skip
    got = summarize(
        load_cdnow(), period=period, observation_end="1998-06-30", calibration_end="1997-09-30"
    ).to_pandas(lifetimes_columns=True)
    assert sorted(got.columns) == sorted(expected.columns)
    expected = expected.loc[got.index]
    assert len(got) == len(expected)
    for col in expected.columns:
        np.testing.assert_allclose(got[col], expected[col], rtol=1e-9, atol=0, err_msg=col)


@pytest.mark.parametrize("seed", [0, 1])
def test_intraday_random_transactions_match_lifetimes(seed):
    pd = pytest.importorskip("pandas")
    utils = pytest.importorskip("lifetimes.utils")
    rng = np.random.default_rng(seed)
    n = 3000
    ids = rng.integers(0, 400, n)
    start = np.datetime64("2025-01-01T00:00:00", "us").astype(np.int64)
    us = start + rng.integers(0, 300 * 86_400 * 10**6, n)
    times = us.view("datetime64[us]")
    value = np.round(rng.gamma(2.0, 20.0, n), 2)
    frame = pd.DataFrame({"id": ids, "date": pd.DatetimeIndex(times), "value": value})
    log = EventLog.from_arrays(ids, times, value=value, timezone="UTC")
    cal = dt.datetime(2025, 7, 1, tzinfo=UTC)  # an instant: both sides use at <= cal
    for period in ("D", "W"):
        expected = utils.calibration_and_holdout_data(
            frame, "id", "date", calibration_period_end="2025-07-01",
            observation_period_end="2025-12-31", freq=period, monetary_value_col="value",
        )  # fmt: skip
        got = summarize(
            log, period=period, observation_end="2025-12-31", calibration_end=cal
        ).to_pandas(lifetimes_columns=True)
        expected = expected.loc[got.index]
        assert len(got) == len(expected)
        for col in expected.columns:
            np.testing.assert_allclose(got[col], expected[col], rtol=1e-9, err_msg=col)
