"""preferred_send_time: each customer's hour and weekday, shrunk towards the population
(issue 16). Validated on simulated customers whose preferred hours are known."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest

from relcore.contact_policy import Contact, ContactGuard, Policy, QuietHours
from relcore.models import EventLog
from relcore.scoring import PreferredSendTimes, preferred_send_time

AT = datetime(2026, 6, 1, tzinfo=UTC)
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


def simulate(n=2000, strength=20.0, seed=7):
    """Customers whose hourly pattern is drawn from a Dirichlet around a population
    rhythm peaking at noon and 20:00; each answers 0 to 40 times."""
    rng = np.random.default_rng(seed)
    hours = np.arange(24)
    rhythm = 0.2 + np.exp(-((hours - 12) ** 2) / 4) + 1.5 * np.exp(-((hours - 20) ** 2) / 3)
    rhythm /= rhythm.sum()
    theta = rng.dirichlet(strength * rhythm, size=n)
    answers = rng.integers(0, 41, size=n)
    who = np.repeat(np.arange(n), answers)
    # each answer's hour from its customer's pattern (inverse CDF), on a random day
    cdf = np.cumsum(theta, axis=1)
    u = rng.random(who.size)
    hour = np.minimum((cdf[who] < u[:, None]).sum(axis=1), 23)
    offset = (
        rng.integers(0, 140, who.size) * 86_400 + hour * 3_600 + rng.integers(0, 3_600, who.size)
    )
    start = np.datetime64("2026-01-05T00:00:00", "s")
    stamps = np.concatenate([start + offset, np.full(n, start)])  # and one message each
    ids = np.array([f"c{c}" for c in range(n)], dtype=object)[np.concatenate([who, np.arange(n)])]
    kind = np.array(["open"] * who.size + ["message"] * n, dtype=object)
    log = EventLog.from_arrays(ids, stamps, kind=kind, timezone="UTC")
    truth = {f"c{c}": int(np.argmax(theta[c])) for c in range(n)}
    return log, truth, answers, strength


@pytest.fixture(scope="module")
def simulated():
    log, truth, _, strength = simulate()
    return truth, strength, preferred_send_time(log, AT)


def test_the_prior_strength_and_population_pattern_are_recovered(simulated):
    _, strength, s = simulated
    assert strength / 1.6 < s.hour_prior_strength < strength * 1.6
    assert int(np.argmax(s.population_hour)) == 20
    assert s.population_hour.sum() == pytest.approx(1.0)


def test_preferred_hours_are_recovered_better_the_more_a_customer_answered(simulated):
    truth, _, s = simulated
    correct = np.array([s.hour[i] == truth[c] for i, c in enumerate(s.customer_id.tolist())])
    n = s.responses
    few, some, many = (
        correct[n <= 3].mean(),
        correct[(n > 10) & (n <= 25)].mean(),
        correct[n > 25].mean(),
    )
    population = np.mean([truth[c] == 20 for c in s.customer_id.tolist()])
    assert few < some < many
    assert many > population + 0.25  # far better than sending everyone at the busiest hour


def test_the_confidence_is_calibrated(simulated):
    truth, _, s = simulated
    correct = np.array([s.hour[i] == truth[c] for i, c in enumerate(s.customer_id.tolist())])
    conf = s.hour_confidence
    assert abs(conf.mean() - correct.mean()) < 0.03
    edges = np.quantile(conf, np.linspace(0, 1, 6))
    for lo, hi in itertools.pairwise(edges):
        inside = (conf >= lo) & (conf <= hi)
        if inside.sum() >= 200:
            assert abs(conf[inside].mean() - correct[inside].mean()) < 0.08, (lo, hi)


def test_a_customer_departs_from_the_population_hour_once_their_answers_outweigh_the_prior():
    base_ids, base_times = [], []
    for c in range(60):  # a population answering at noon or 20:00
        for d, h in enumerate((12, 20, 20, 12, 20)):
            base_ids.append(f"p{c}")
            base_times.append(START + timedelta(days=d + c % 7, hours=h))
    seen = []
    for answers in range(0, 12):
        ids = base_ids + ["x"] * answers
        times = base_times + [START + timedelta(days=d, hours=3) for d in range(answers)]
        s = preferred_send_time(
            EventLog.from_arrays(np.array(ids, dtype=object), times, kind="open"), AT
        )
        x = int(np.flatnonzero(s.customer_id == "x")[0]) if answers else None
        if x is None:
            continue
        p0 = s.population_hour
        needed = s.hour_prior_strength * (p0.max() - p0[3])
        assert (s.hour[x] == 3) == (answers > needed), (answers, needed)
        seen.append(s.hour[x] == 3)
    assert not seen[0]
    assert seen[-1]


def test_hours_are_read_on_the_customers_clock_across_daylight_saving():
    # 21:00 in Paris: 20:00 UTC in winter, 19:00 UTC in summer
    times = [datetime(2026, 1, 10, 20, tzinfo=UTC), datetime(2026, 7, 11, 19, tzinfo=UTC)]
    log = EventLog.from_arrays(["a", "a"], times, kind="click")
    paris = preferred_send_time(log, AT.replace(month=8), timezone={"a": "Europe/Paris"})
    assert paris.hour.tolist() == [21]
    assert paris.hour_probabilities[0, 21] > paris.hour_probabilities[0, 20]
    assert paris.weekday.tolist() == [5]  # both Saturdays
    assert paris.to_pandas().loc["a", "timezone"] == "Europe/Paris"


def test_a_purchase_counts_only_soon_after_a_contact_and_later_events_not_at_all():
    t = datetime(2026, 5, 4, 9, tzinfo=UTC)
    log = EventLog.from_arrays(
        ["a", "a", "a", "b", "b"],
        [t, t + timedelta(hours=5), t + timedelta(days=20), t, AT + timedelta(hours=1)],
        kind=["message", "purchase", "purchase", "purchase", "open"],
        initiator=["company", None, None, None, None],
    )
    s = preferred_send_time(log, AT)
    assert s.responses.tolist() == [1, 0]  # a: the purchase 5 h after the message
    assert s.hour[0] == 14


def test_a_customer_without_answers_gets_the_population_pattern():
    t = datetime(2026, 5, 4, 18, tzinfo=UTC)
    log = EventLog.from_arrays(
        ["a", "a", "b", "c"],
        [t, t + timedelta(days=1), t, t],
        kind=["open", "open", "open", "message"],
    )
    s = preferred_send_time(log, AT)
    assert s.responses.tolist() == [2, 1, 0]
    c = 2
    assert s.hour[c] == int(np.argmax(s.population_hour)) == 18
    assert np.allclose(s.hour_probabilities[c], s.population_hour)
    assert not s.departs[c]
    frame = s.to_pandas()
    assert list(frame.columns) == [
        "hour", "weekday", "hour_confidence", "weekday_confidence", "responses", "timezone"
    ]  # fmt: skip
    assert isinstance(s, PreferredSendTimes)


def test_scheduling_takes_the_preferred_hour_unless_quiet_hours_refuse_it():
    opens = [datetime(2026, 5, d, 22, 30, tzinfo=UTC) for d in range(4, 12)]
    log = EventLog.from_arrays(["a"] * len(opens), opens, kind="open")
    s = preferred_send_time(log, AT)
    day = datetime(2026, 6, 2, 8, 30, tzinfo=UTC)
    assert s.schedule("a", day, day + timedelta(hours=15)).hour == 22
    guard = ContactGuard(Policy([QuietHours(start=time(21), end=time(8))]))

    def allowed(t):
        return guard.check(Contact("a", channel="email", at=t)).allowed

    chosen = s.schedule("a", day, day + timedelta(hours=15), allowed=allowed)
    assert chosen is not None
    assert 8 <= chosen.hour < 21  # the rule wins
    order = s.candidates("a", day, day + timedelta(hours=15))
    assert chosen == next(t for t in order if allowed(t))  # the best the rules allow
    assert s.schedule("a", day, day + timedelta(hours=15), allowed=lambda t: False) is None
    with pytest.raises(KeyError):
        s.candidates("nobody", day, day + timedelta(hours=1))


def test_bad_arguments_are_refused():
    log = EventLog.from_arrays(["a"], [AT], kind="open")
    with pytest.raises(ValueError, match="purchase_window"):
        preferred_send_time(log, AT, purchase_window=timedelta(0))
    with pytest.raises(ValueError, match="draws"):
        preferred_send_time(log, AT, draws=3)
    with pytest.raises(TypeError, match="timezone"):
        preferred_send_time(log, AT, timezone=3)
