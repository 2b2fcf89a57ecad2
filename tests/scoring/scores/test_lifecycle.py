"""Lifecycle stages and loyal repeat buyers."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from relcore import DataError
from relcore.datasets import load_cdnow
from relcore.scoring import LIFECYCLE_STAGES, lifecycle_stage, repeat_customers, summarize


def test_recency_rules_without_p_alive():
    # days since the last purchase: 10, 90 (boundary: active), 91, 365 (boundary), 366
    s = lifecycle_stage(recency=[490, 410, 409, 135, 134], T=[500] * 5, period_days=1.0)
    assert s.lifecycle_stage.tolist() == ["active", "active", "at-risk", "at-risk", "lapsed"]
    assert s.days_since_last.tolist() == [10, 90, 91, 365, 366]


def test_new_customers_are_new_whatever_their_p_alive():
    s = lifecycle_stage(recency=[0, 0], T=[90, 91], period_days=1.0, p_alive=[0.01, 0.01])
    assert s.lifecycle_stage.tolist() == ["new", "lapsed"]


def test_p_alive_thresholds_decide_when_given():
    p = [0.7, 0.69, 0.3, 0.29]
    s = lifecycle_stage(recency=[100] * 4, T=[200] * 4, period_days=1.0, p_alive=p)
    assert s.lifecycle_stage.tolist() == ["active", "at-risk", "at-risk", "lapsed"]
    custom = lifecycle_stage(recency=[100] * 4, T=[200] * 4, period_days=1.0, p_alive=p,
                             active_above=0.5, lapsed_below=0.1)  # fmt: skip
    assert custom.lifecycle_stage.tolist() == ["active", "active", "at-risk", "at-risk"]


def test_a_weekly_summary_converts_periods_to_days():
    cal = summarize(
        load_cdnow(), period="W", observation_end="1998-06-30", calibration_end="1997-09-30"
    )
    stages = lifecycle_stage(cal)
    since = (cal.T - cal.recency) * 7
    expected = np.where(since <= 90, "active", np.where(since <= 365, "at-risk", "lapsed"))
    # Every CDNOW customer first bought in Q1 1997, more than 90 days before 1997-09-30.
    assert stages.counts()["new"] == 0
    assert stages.lifecycle_stage.tolist() == expected.tolist()
    assert sum(stages.counts().values()) == 23_570
    assert tuple(stages.counts()) == LIFECYCLE_STAGES


def test_lifecycle_input_errors_are_clear():
    with pytest.raises(ValueError, match="period_days"):
        lifecycle_stage(recency=[1], T=[2])
    with pytest.raises(DataError, match="p_alive"):
        lifecycle_stage(recency=[1], T=[2], period_days=1.0, p_alive=[1.5])
    with pytest.raises(DataError, match="p_alive"):
        lifecycle_stage(recency=[1], T=[2], period_days=1.0, p_alive=[0.5, 0.5])
    with pytest.raises(DataError, match="recency greater than T"):
        lifecycle_stage(recency=[3], T=[2], period_days=1.0)
    with pytest.raises(ValueError, match="active_above"):
        lifecycle_stage(recency=[1], T=[2], period_days=1.0, active_above=0.2, lapsed_below=0.5)
    with pytest.raises(ValueError, match="lapsed_after"):
        lifecycle_stage(recency=[1], T=[2], period_days=1.0, at_risk_after=timedelta(days=400))
    cal = summarize(load_cdnow(), period="W", observation_end="1998-06-30")
    with pytest.raises(ValueError, match="not both"):
        lifecycle_stage(cal, recency=[1], T=[2])


def test_repeat_customers_need_repeats_and_recent_activity():
    r = repeat_customers(
        frequency=[2, 1, 4, 9, 3], recency=[100, 100, 10, 95, 99], T=[100] * 5,
        period_days=1.0, customer_id=list("abcde"),
    )  # fmt: skip
    # a: 2 repeats, bought today; b: one repeat only; c: 90 days silent... 90 <= 180 ok
    assert r.repeat_customer.tolist() == [True, False, True, True, True]
    # most purchases first; ties broken by recency
    assert r.ids.tolist() == ["d", "c", "e", "a"]
    strict = repeat_customers(
        frequency=[2, 4], recency=[100, 10], T=[100, 100], period_days=1.0,
        within=timedelta(days=30),
    )  # fmt: skip
    assert strict.repeat_customer.tolist() == [True, False]


def test_repeat_customers_with_p_alive():
    r = repeat_customers(frequency=[5, 5], recency=[1, 1], T=[500, 500], period_days=1.0,
                         p_alive=[0.9, 0.2])  # fmt: skip
    assert r.repeat_customer.tolist() == [True, False]


def test_repeat_customers_from_a_summary_on_cdnow():
    cal = summarize(
        load_cdnow(), period="W", observation_end="1998-06-30", calibration_end="1997-09-30"
    )
    r = repeat_customers(cal)
    since_days = (cal.T - cal.recency) * 7
    expected = (cal.frequency >= 2) & (since_days <= 180)
    np.testing.assert_array_equal(r.repeat_customer, expected)
    assert r.to_pandas()["repeat_customer"].sum() == expected.sum()
