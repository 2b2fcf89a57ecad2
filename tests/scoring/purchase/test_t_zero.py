"""Customers first seen at the end of observation: T = 0 (n_periods = 0 for BG/BB).

Such a customer carries no information: their likelihood is 1 under every model (log 0),
so the posterior is the prior, and every prediction equals that for a customer just
acquired. The expectations below are the published closed forms, evaluated here with
scipy, not relcore's series.
"""

import datetime as dt

import numpy as np
import pytest
from scipy import special

from relcore import DataError, EventLog
from relcore.datasets import load_cdnow_summary, load_donations
from relcore.scoring import BGBB, BGNBD, MBGNBD, ParetoNBD, summarize

BG = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)
MBG = MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614)
PARETO = ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669)
DONORS = BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
HORIZONS = np.array([0.0, 1.0, 10.0, 39.0])


def _rows_at_t_zero(model):
    # the likelihood of one row: private, as no public API evaluates it per customer
    zero = np.zeros(1)
    columns = ("frequency", "recency", "n_periods" if model is DONORS else "T")
    return model._rows(list(model.params.values()), dict.fromkeys(columns, zero))


@pytest.mark.parametrize("model", [BG, MBG, PARETO, DONORS], ids=lambda m: type(m).__name__)
def test_a_customer_first_seen_at_the_end_has_likelihood_one(model):
    # BG/NBD (FHL 2005 eq. 6): B(a,b)/B(a,b) · α^r/(α+0)^r = 1; MBG/NBD: E[1-p] + E[p] = 1;
    # Pareto/NBD: α^r β^s (α+0)^-r (β+0)^-s = 1; BG/BB with n = 0: B(α,β)B(γ,δ)/(B(α,β)B(γ,δ))
    assert float(_rows_at_t_zero(model)[0]) == pytest.approx(0.0, abs=1e-14)


def test_bgnbd_and_paretonbd_p_alive_is_one_at_t_zero():
    # dropout in BG/NBD follows a repeat purchase; the Pareto/NBD lifetime is continuous
    assert BG.p_alive(0, 0, 0).item() == 1.0
    assert PARETO.p_alive(0, 0, 0).item() == 1.0


def test_mbgnbd_p_alive_at_t_zero_is_the_prior_share_that_did_not_drop_at_once():
    # MBG/NBD (Batislam et al. 2007) lets a customer drop out right at the first purchase
    # with probability p: with no information, P(alive) = E[1 - p] = b / (a + b), the
    # formula's value at T = t_x = 0 and its limit as T -> 0
    assert MBG.p_alive(0, 0, 0).item() == pytest.approx(MBG.b / (MBG.a + MBG.b), rel=1e-14)
    assert MBG.p_alive(0, 0, 1e-9).item() == pytest.approx(MBG.b / (MBG.a + MBG.b), rel=1e-9)


def test_bgnbd_expectation_at_t_zero_is_equation_9_for_a_new_customer():
    # FHL 2005 eq. 9: (a+b-1)/(a-1) [1 - (α/(α+t))^r 2F1(r, b; a+b-1; t/(α+t))]
    r, alpha, a, b = BG.r, BG.alpha, BG.a, BG.b
    t = HORIZONS
    z = t / (alpha + t)
    eq9 = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, z))
    )
    np.testing.assert_allclose(BG.expected_purchases(t, 0, 0, 0), eq9, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(BG.expected_purchases_new(t), eq9, rtol=1e-10, atol=1e-15)


def test_mbgnbd_expectation_at_t_zero_is_the_new_customer_expectation():
    # Batislam et al. (2007): b/(a-1) [1 - (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))]
    r, alpha, a, b = MBG.r, MBG.alpha, MBG.a, MBG.b
    t = HORIZONS
    z = t / (alpha + t)
    new = b / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b + 1, a + b, z))
    np.testing.assert_allclose(MBG.expected_purchases(t, 0, 0, 0), new, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(MBG.expected_purchases_new(t), new, rtol=1e-10, atol=1e-15)


def test_paretonbd_expectation_at_t_zero_is_equation_17_for_a_new_customer():
    # Fader & Hardie note 008, eq. 17: r β / (α (s-1)) [1 - (β/(β+t))^(s-1)]
    r, alpha, s, beta = PARETO.r, PARETO.alpha, PARETO.s, PARETO.beta
    t = HORIZONS
    eq17 = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
    np.testing.assert_allclose(PARETO.expected_purchases(t, 0, 0, 0), eq17, rtol=1e-10)
    np.testing.assert_allclose(PARETO.expected_purchases_new(t), eq17, rtol=1e-10)


def test_bgbb_with_no_opportunity_yet_is_alive_and_expects_what_a_new_donor_does():
    a, b, g, d = DONORS.alpha, DONORS.beta, DONORS.gamma, DONORS.delta
    assert DONORS.p_alive(0, 0, 0).item() == 1.0
    # alive at opportunity k with probability B(γ, δ+k)/B(γ, δ) (FHS 2010, eq. 11)
    survive = np.exp(special.betaln(g, d + np.arange(1, 7)) - special.betaln(g, d))
    assert DONORS.p_alive(0, 0, 0, periods_ahead=3).item() == pytest.approx(survive[2], rel=1e-12)
    # FHS 2010 eq. 9: α/(α+β) Σ_{t=1..n} B(γ, δ+t)/B(γ, δ)
    new = a / (a + b) * np.cumsum(survive)
    np.testing.assert_allclose(DONORS.expected_purchases(np.arange(1, 7), 0, 0, 0), new, rtol=1e-10)
    np.testing.assert_allclose(DONORS.expected_purchases_new(np.arange(1, 7)), new, rtol=1e-10)
    dert = sum(a / (a + b) * np.exp(special.betaln(g, d + k) - special.betaln(g, d)) / 1.1**k
               for k in range(1, 4000))  # fmt: skip
    assert DONORS.discounted_expected_transactions(0.1, 0, 0, 0).item() == pytest.approx(
        dert, rel=1e-9
    )


def _with_newcomers(columns, time_name):
    """The same customers plus 40 first seen at the end of observation."""
    extra = {"frequency": 0.0, "recency": 0.0, time_name: 0.0}
    return {k: np.append(v, np.full(40, extra[k])) for k, v in columns.items()}


@pytest.mark.parametrize("model", [BGNBD, MBGNBD, ParetoNBD])
def test_customers_with_t_zero_leave_the_fit_unchanged(model):
    s = load_cdnow_summary()
    columns = {"frequency": s.frequency, "recency": s.recency, "T": s.T}
    without = model.fit(**columns)
    with_new = model.fit(**_with_newcomers(columns, "T"))
    assert with_new.fit_info.n_customers == without.fit_info.n_customers + 40
    assert with_new.log_likelihood == pytest.approx(without.log_likelihood, rel=1e-10)
    for name, value in without.params.items():
        assert with_new.params[name] == pytest.approx(value, rel=1e-5), name


def test_donors_with_no_opportunity_yet_leave_the_bgbb_fit_unchanged():
    d = load_donations()
    columns = {k: d[k] for k in ("frequency", "recency", "n_periods")}
    weights = np.append(d["weights"], 40.0)
    extended = {k: np.append(v, 0.0) for k, v in columns.items()}
    without = BGBB.fit(**columns, weights=d["weights"])
    with_new = BGBB.fit(**extended, weights=weights)
    assert with_new.log_likelihood == pytest.approx(without.log_likelihood, rel=1e-10)
    for name, value in without.params.items():
        assert with_new.params[name] == pytest.approx(value, rel=1e-5), name


def test_a_summary_with_first_purchases_on_the_last_day_fits_and_scores():
    utc = dt.UTC
    days = [dt.datetime(2026, 1, d, 12, tzinfo=utc) for d in (1, 3, 9, 2, 8, 10, 10, 5, 7)]
    log = EventLog.from_arrays(list("aaabbbcdd"), days)
    s = summarize(log, period="D", observation_end="2026-01-10")
    assert s.T[s.customer_id == "c"].tolist() == [0.0]  # first purchase on the last day
    m = BGNBD(r=0.5, alpha=2.0, a=0.8, b=2.5)
    assert m.p_alive(s.frequency, s.recency, s.T)[s.customer_id == "c"].tolist() == [1.0]
    assert np.all(np.isfinite(m.expected_purchases(7, s.frequency, s.recency, s.T)))


@pytest.mark.parametrize("model", [BGNBD, MBGNBD, ParetoNBD])
def test_repeat_purchases_without_time_to_make_them_are_refused(model):
    with pytest.raises(DataError, match="repeat purchases where T is 0") as err:
        model.fit(frequency=[1, 2], recency=[3, 0], T=[5, 0])
    assert err.value.rows == (1,)
    with pytest.raises(DataError, match="repeat purchases where T is 0"):
        model(**dict.fromkeys(model._param_names, 1.0)).p_alive(2, 0, 0)


@pytest.mark.parametrize("model", [BGNBD, MBGNBD, ParetoNBD])
def test_a_summary_of_newcomers_only_is_refused(model):
    with pytest.raises(DataError, match="every customer has T = 0"):
        model.fit(frequency=[0, 0], recency=[0, 0], T=[0, 0])


def test_donors_without_any_opportunity_are_refused():
    with pytest.raises(DataError, match="every customer has n_periods = 0"):
        BGBB.fit(frequency=[0, 0], recency=[0, 0], n_periods=[0, 0])
