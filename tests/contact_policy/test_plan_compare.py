"""compare: the same calendar through several policies."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relcore.contact_policy import (
    Contact,
    FrequencyCap,
    MinimumGap,
    Policy,
    PolicyComparison,
    QuietHours,
    compare,
    simulate,
)

UTC = dt.UTC
T0 = dt.datetime(2026, 6, 1, 6, tzinfo=UTC)


def calendar(rows):
    return {
        "customer_id": [r[0] for r in rows],
        "channel": [r[1] for r in rows],
        "at": [r[2] for r in rows],
    }


policies = st.lists(
    st.one_of(
        st.builds(FrequencyCap, st.integers(1, 2), per=st.sampled_from(["1d", "calendar_day"])),
        st.builds(MinimumGap, st.sampled_from(["3h", "9h"])),
        st.builds(QuietHours, start=st.just(dt.time(21)), end=st.just(dt.time(8))),
    ),
    max_size=3,
).map(Policy)


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["email", "sms"]),
            st.integers(0, 72 * 60),
        ),
        min_size=1,
        max_size=15,
        unique_by=lambda r: (r[0], r[2]),
    ),
    policies,
)
def test_without_delay_compare_sends_what_simulate_sends(rows, policy) -> None:
    rows = [(c, ch, T0 + dt.timedelta(minutes=m)) for c, ch, m in rows]
    result = compare(calendar(rows), {"p": policy}, max_delay=dt.timedelta(0))
    replay = simulate(policy, [Contact(c, channel=ch, at=t) for c, ch, t in rows])
    sent = [o == "sent" for o in replay.outcomes]
    assert result.plans[0].scheduled.tolist() == sent


def test_fewer_sends_never_raise_the_fatigue_trajectory() -> None:
    rows = [(f"c{i % 7}", "email", T0 + dt.timedelta(hours=i)) for i in range(60)]
    result = compare(
        calendar(rows),
        {"daily": Policy([FrequencyCap(1, per="calendar_day")]), "none": Policy([])},
        max_delay=dt.timedelta(0),
    )
    assert isinstance(result, PolicyComparison)
    daily, none = result.summary()
    assert none["sent"] == 60
    assert daily["sent"] < 60
    assert daily["refused_frequency_cap"] == 60 - daily["sent"]
    assert (result.fatigue_per_day[0] <= result.fatigue_per_day[1] + 1e-12).all()
    assert result.sends_per_day.sum(axis=1).tolist() == [daily["sent"], 60]
    assert daily["contacts_per_week_mean"] < none["contacts_per_week_mean"]
    # per-week rates times the weeks of the calendar give back the 60 sends
    weeks = result.days.size / 7
    per_week = result.contacts_per_week("none")
    assert per_week.sum() * weeks == pytest.approx(60)
    assert (result.contacts_per_week("daily") <= per_week).all()


def test_deferred_contacts_report_their_delay() -> None:
    evening = T0.replace(hour=22)
    rows = [("a", "email", evening), ("b", "email", evening + dt.timedelta(hours=1))]
    result = compare(
        calendar(rows), [Policy([QuietHours(start=dt.time(21), end=dt.time(8))], name="quiet")]
    )
    (row,) = result.summary()
    assert row["policy"] == "quiet"
    assert row["deferred"] == 2
    assert row["delay_hours_median"] == pytest.approx(9.5)  # 10 h and 9 h
    pytest.importorskip("pandas")
    frame = result.to_pandas()
    assert frame.loc["quiet", "sent"] == 2


@pytest.mark.slow
def test_plot_draws_sends_and_fatigue_per_policy() -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    rows = [("a", "email", T0 + dt.timedelta(days=d)) for d in range(5)]
    result = compare(calendar(rows), {"x": Policy([]), "y": Policy([FrequencyCap(1, per="7d")])})
    top, bottom = result.plot()
    assert len(top.get_lines()) == 2
    assert len(bottom.get_lines()) == 2
    assert np.array_equal(result.sends_per_day[0][:5], np.ones(5))


def test_two_policies_of_one_name_are_refused() -> None:
    rows = [("a", "email", T0)]
    with pytest.raises(ValueError, match="named"):
        compare(calendar(rows), [Policy([], name="p"), Policy([], name="p")])
