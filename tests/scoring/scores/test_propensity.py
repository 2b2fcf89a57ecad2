"""Response propensity: empirical-Bayes shrinkage of per-channel response rates.

The calibration tests simulate customers whose true response probabilities are drawn
from a known Beta distribution: the fitted prior must recover it, and among customers
given a propensity near ``q`` the true probabilities must average ``q`` (the posterior
mean is calibrated when the prior is right), unlike the raw rates.
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from relcore import DataError
from relcore.models import EventLog
from relcore.scoring import ResponsePropensity, response_propensity

UTC = dt.UTC
T0 = dt.datetime(2025, 1, 1, tzinfo=UTC)
AT = dt.datetime(2026, 1, 1, tzinfo=UTC)


def simulated(rng: np.random.Generator, n_customers: int, a: float, b: float, channel="email"):
    """Customers with p ~ Beta(a, b), 0-19 contacts each in 2025, each answered w.p. p."""
    p = rng.beta(a, b, n_customers)
    contacts = rng.integers(0, 20, n_customers)
    who = np.repeat(np.arange(n_customers), contacts)
    sent = np.datetime64("2025-01-01T00:00", "us") + rng.integers(0, 360, who.size).astype(
        "timedelta64[D]"
    )
    answered = rng.random(who.size) < p[who]
    back = sent[answered] + np.timedelta64(3, "h")
    ids = np.char.add("c", np.concatenate([who, who[answered]]).astype(str))
    log = EventLog.from_arrays(
        ids,
        np.concatenate([sent, back]),
        timezone="UTC",
        kind=np.array(["message"] * who.size + ["response"] * back.size),
        initiator=np.array(["company"] * who.size + ["customer"] * back.size),
        channel=channel,
    )
    order = np.array([int(c[1:]) for c in np.asarray(log.customers).tolist()])
    return log, p[order], contacts[order]


def test_fitted_prior_recovers_the_population_the_customers_were_drawn_from() -> None:
    rng = np.random.default_rng(7)
    log, _, _ = simulated(rng, 4000, 2.0, 8.0)
    result = response_propensity(log, AT, half_life=None)
    mean = result.prior_mean("email")
    strength = float(result.alpha[0] + result.beta[0])
    assert mean == pytest.approx(0.2, abs=0.02)
    assert 6.0 < strength < 16.0  # alpha + beta = 10


def test_propensity_is_calibrated_on_simulated_customers() -> None:
    rng = np.random.default_rng(11)
    log, true_p, _ = simulated(rng, 6000, 2.0, 6.0)
    result = response_propensity(log, AT, half_life=None)
    q = result.channel("email")
    edges = np.quantile(q, np.linspace(0, 1, 9))
    raw = np.divide(
        result.responses[:, 0],
        result.contacts[:, 0],
        out=np.zeros(len(result)),
        where=result.contacts[:, 0] > 0,
    )
    for lo, hi in itertools.pairwise(edges):
        inside = (q >= lo) & (q <= hi)
        # Bins of ~750 customers: the mean of true p within a bin has a standard error
        # under 0.01, so 0.03 is a wide margin for a calibrated score.
        assert abs(true_p[inside].mean() - q[inside].mean()) < 0.03
    # The raw rate of the customers with the highest raw rates overstates them.
    contacted = result.contacts[:, 0] > 0
    top = contacted & (raw >= np.quantile(raw[contacted], 0.9))
    raw_gap = raw[top].mean() - true_p[top].mean()
    assert raw_gap > 0.1
    assert abs(q[top].mean() - true_p[top].mean()) < raw_gap / 2


def test_customer_never_contacted_on_a_channel_gets_the_channel_prior_mean() -> None:
    rows = [("z", T0, "message", "company", "email")]
    for i in range(30):
        rows.append((f"c{i}", T0, "message", "company", "sms"))
        if i % 3 == 0:
            rows.append((f"c{i}", T0 + dt.timedelta(hours=1), "response", "customer", "sms"))
    log = EventLog.from_arrays(
        [r[0] for r in rows],
        [r[1] for r in rows],
        kind=[r[2] for r in rows],
        initiator=[r[3] for r in rows],
        channel=[r[4] for r in rows],
    )
    result = response_propensity(log, AT, half_life=None)
    z = result.customer_id.tolist().index("z")
    assert result.channel("sms")[z] == pytest.approx(result.prior_mean("sms"))
    assert result.contacts[z, result.channels.index("sms")] == 0


def test_recent_responses_weigh_more_than_old_ones_with_a_half_life() -> None:
    # Both customers got 20 emails, one a week, and answered 5: "recent" the last five,
    # "lapsed" the first five.
    rows = []
    for cid, answered in (("recent", range(15, 20)), ("lapsed", range(5))):
        for w in range(20):
            rows.append((cid, T0 + dt.timedelta(weeks=w), "message", "company"))
        for w in answered:
            rows.append((cid, T0 + dt.timedelta(weeks=w, hours=1), "response", "customer"))
    log = EventLog.from_arrays(
        [r[0] for r in rows],
        [r[1] for r in rows],
        kind=[r[2] for r in rows],
        initiator=[r[3] for r in rows],
        channel="email",
    )
    at = T0 + dt.timedelta(weeks=20)
    decayed = response_propensity(log, at, half_life=dt.timedelta(weeks=4))
    flat = response_propensity(log, at, half_life=None)
    d = dict(zip(decayed.customer_id.tolist(), decayed.channel("email").tolist(), strict=True))
    f = dict(zip(flat.customer_id.tolist(), flat.channel("email").tolist(), strict=True))
    assert d["recent"] > d["lapsed"]
    assert f["recent"] == pytest.approx(f["lapsed"])


def test_rates_that_vary_no_more_than_chance_all_get_the_pooled_rate() -> None:
    rng = np.random.default_rng(5)
    n = 3000
    p = np.full(n, 0.3)
    k = 10
    ids, times, kinds, inits = [], [], [], []
    for i in range(n):
        for j in range(k):
            ids.append(f"c{i}")
            times.append(T0 + dt.timedelta(days=j))
            kinds.append("message")
            inits.append("company")
            if rng.random() < p[i]:
                ids.append(f"c{i}")
                times.append(T0 + dt.timedelta(days=j, hours=1))
                kinds.append("response")
                inits.append("customer")
    log = EventLog.from_arrays(ids, times, kind=kinds, initiator=inits, channel="sms")
    q = response_propensity(log, AT, half_life=None).channel("sms")
    # Shrinkage towards 0.3 is strong: every propensity is far closer to it than the
    # raw rates (which spread with a standard deviation of about 0.145).
    assert abs(q.mean() - 0.3) < 0.01
    assert q.std() < 0.05


def test_events_after_at_are_ignored_and_lookup_falls_back_to_the_prior() -> None:
    rows = [
        ("a", T0, "message", "company"),
        ("a", T0 + dt.timedelta(hours=1), "response", "customer"),
        ("b", T0, "message", "company"),
        ("b", AT + dt.timedelta(days=1), "response", "customer"),
    ]
    log = EventLog.from_arrays(
        [r[0] for r in rows],
        [r[1] for r in rows],
        kind=[r[2] for r in rows],
        initiator=[r[3] for r in rows],
        channel="email",
    )
    result = response_propensity(log, AT, half_life=None)
    assert isinstance(result, ResponsePropensity)
    assert result.responses[:, 0].tolist() == [1.0, 0.0]
    got = result.lookup(np.array(["a", "zz"]), np.array(["email", "email"]))
    assert got[1] == pytest.approx(result.prior_mean("email"))
    assert got[0] == pytest.approx(result.channel("email")[0])
    with pytest.raises(DataError, match="channels"):
        result.lookup(np.array(["a"]), np.array(["fax"]))


def test_a_contact_without_a_channel_is_a_data_error_naming_the_rows() -> None:
    log = EventLog.from_arrays(
        ["a", "a"],
        [T0, T0 + dt.timedelta(days=1)],
        kind=["message", "message"],
        initiator=["company", "company"],
        channel=["email", None],
    )
    with pytest.raises(DataError, match="channel"):
        response_propensity(log, AT)
