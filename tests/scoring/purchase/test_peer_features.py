"""What the peers' users call: per-customer likelihoods, conditional purchase-count
distributions, P(alive) ahead and over a history, the first transaction in new-customer
predictions, the peers' age convention in tracking.

Expectations come from definitions and identities that do not share the code under test:
the likelihood of a history extended by ``t`` silent periods, enumeration of the BG/BB's
future transaction sequences, the conditional expectations of the papers, a summary made
at each period's end, lifetimes' own functions where it has them.
"""

from __future__ import annotations

import datetime as dt
import warnings
from math import comb

import numpy as np
import pytest

from relcore import DataError
from relcore.datasets import load_cdnow, load_cdnow_summary, load_donations
from relcore.models import EventLog
from relcore.scoring import (
    BGBB,
    BGNBD,
    MBGNBD,
    CustomerPredictions,
    GammaGamma,
    ParetoNBD,
    ShiftedBetaGeometric,
    summarize,
)
from relcore.scoring import diagnostics as diag

CDNOW = {
    BGNBD: BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426),
    MBGNBD: MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614),
    ParetoNBD: ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669),
}
RFM_MODELS = list(CDNOW.values())
# histories (frequency, recency, T) in weeks, from a new customer to a heavy buyer
HISTORIES = np.array(
    [[0, 0, 38.9], [0, 0, 0], [1, 2, 39], [2, 30.43, 38.86], [10, 35, 38], [40, 38, 39]]
)
DONATIONS = BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


# --------------------------------------------------------------------- per-customer likelihood


@pytest.mark.parametrize("model", [BGNBD, MBGNBD, ParetoNBD])
def test_per_customer_log_likelihoods_sum_to_the_fits_log_likelihood(cdnow, model):
    m = model.fit(cdnow)
    per = m.log_likelihood_per_customer(cdnow)
    assert isinstance(per, CustomerPredictions)
    assert np.array_equal(per.customer_id, cdnow.customer_id)
    assert per.log_likelihood.sum() == pytest.approx(m.log_likelihood, rel=1e-10)


def test_per_customer_log_likelihoods_of_weighted_rows_sum_to_the_bgbb_fit():
    data = load_donations()
    m = BGBB.fit(data)
    per = m.log_likelihood_per_customer(
        frequency=data["frequency"], recency=data["recency"], n_periods=data["n_periods"]
    )
    assert per @ data["weights"] == pytest.approx(m.log_likelihood, rel=1e-10)


def test_per_customer_log_likelihoods_sum_to_the_spend_and_retention_fits(cdnow):
    rep = cdnow[cdnow.frequency > 0]
    gg = GammaGamma.fit(rep)
    assert gg.log_likelihood_per_customer(rep).log_likelihood.sum() == pytest.approx(
        gg.log_likelihood, rel=1e-10
    )
    survivors = np.array([1000, 631, 468, 382, 326, 289, 262, 241])
    sbg = ShiftedBetaGeometric.fit(survivors)
    # one row per customer: the period of churn, or the last period for the survivors
    period = np.concatenate([np.repeat(np.arange(1, 8), -np.diff(survivors)), np.full(241, 7)])
    churned = np.concatenate([np.ones(1000 - 241), np.zeros(241)])
    ll = sbg.log_likelihood_per_customer(period=period, churned=churned)
    assert ll.sum() == pytest.approx(sbg.log_likelihood, rel=1e-10)


def test_per_customer_log_likelihood_at_the_no_dropout_boundary_is_the_nbd_likelihood():
    rng = np.random.default_rng(5)
    data = BGNBD(r=1.0, alpha=2.0, a=1.0, b=1e12).simulate(800, 20.0, rng=rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = BGNBD.fit(data)
    assert np.isinf(m.b)
    per = m.log_likelihood_per_customer(data).log_likelihood
    assert per.sum() == pytest.approx(m.log_likelihood, rel=1e-10)
    x, T = data.frequency, data.T
    r, a = m.r, m.alpha
    from scipy.special import gammaln

    nbd = gammaln(r + x) - gammaln(r) + r * np.log(a) - (r + x) * np.log(a + T)
    np.testing.assert_allclose(per, nbd, rtol=1e-12)


def test_per_customer_log_likelihood_rejects_bad_rows_and_unknown_columns():
    m = CDNOW[BGNBD]
    with pytest.raises(DataError, match="recency"):
        m.log_likelihood_per_customer(frequency=[1, 2], recency=[5, 50], T=[10, 10])
    with pytest.raises(TypeError, match="n_periods"):
        m.log_likelihood_per_customer(frequency=[1], recency=[1], T=[2], n_periods=[3])


# --------------------------------------------------------------------- P(X(t) = n | history)


@pytest.mark.parametrize("model", RFM_MODELS, ids=lambda m: type(m).__name__)
def test_conditional_purchase_probabilities_sum_to_one_with_the_conditional_mean(model):
    x, tx, T = HISTORIES.T
    n = np.arange(600)[:, None]
    p = model.probability_of_purchases(n, 39.0, x, tx, T)
    np.testing.assert_allclose(p.sum(axis=0), 1.0, atol=1e-9)
    np.testing.assert_allclose(
        (n * p).sum(axis=0), model.expected_purchases(39.0, x, tx, T), rtol=1e-8
    )


@pytest.mark.parametrize("model", RFM_MODELS, ids=lambda m: type(m).__name__)
def test_probability_of_no_purchase_is_the_likelihood_ratio_of_a_silent_extension(model):
    # L(x, t_x, T + t) = L(x, t_x, T) P(no purchase in (T, T + t] | history)
    x, tx, T = HISTORIES.T
    t = 13.0
    ll = model.log_likelihood_per_customer
    ratio = np.exp(ll(frequency=x, recency=tx, T=T + t) - ll(frequency=x, recency=tx, T=T))
    np.testing.assert_allclose(model.probability_of_purchases(0, t, x, tx, T), ratio, rtol=1e-10)


# (an MBG/NBD customer may leave at the first purchase: P(alive) < 1 even then)
@pytest.mark.parametrize("model", [CDNOW[BGNBD], CDNOW[ParetoNBD]], ids=["BGNBD", "ParetoNBD"])
def test_a_customer_first_seen_now_has_the_new_customer_distribution(model):
    n = np.arange(30)
    np.testing.assert_allclose(
        model.probability_of_purchases(n, 26.0, 0, 0, 0),
        model.probability_of_purchases(n, 26.0),
        rtol=1e-9,
        atol=1e-15,
    )


def test_pareto_conditional_purchase_probabilities_match_lifetimes():
    lifetimes = pytest.importorskip("lifetimes")
    pd = pytest.importorskip("pandas")
    m = CDNOW[ParetoNBD]
    theirs = lifetimes.ParetoNBDFitter()
    theirs.params_ = pd.Series(m.params)
    for x, tx, T in HISTORIES[[0, 3, 4]]:
        for n in (0, 1, 5):
            expected = theirs.conditional_probability_of_n_purchases_up_to_time(n, 20.0, x, tx, T)
            ours = m.probability_of_purchases(n, 20.0, x, tx, T).item()
            assert ours == pytest.approx(float(expected), rel=1e-7, abs=1e-12)


def test_conditional_purchase_probabilities_key_by_customer(cdnow):
    m = CDNOW[BGNBD]
    p = m.probability_of_purchases(1, 39.0, cdnow)
    assert isinstance(p, CustomerPredictions)
    assert list(p.columns) == ["probability_of_purchases"]
    np.testing.assert_array_equal(
        p.probability_of_purchases,
        m.probability_of_purchases(1, 39.0, cdnow.frequency, cdnow.recency, cdnow.T),
    )


def test_conditional_purchase_probabilities_need_the_whole_history():
    with pytest.raises(TypeError, match="together"):
        CDNOW[BGNBD].probability_of_purchases(1, 10.0, frequency=2)


def test_conditional_probabilities_stay_finite_for_extreme_histories():
    x = np.array([10_000.0, 10_000.0, 0.0])
    tx = np.array([99_000.0, 1_000.0, 0.0])
    T = np.array([100_000.0, 100_000.0, 100_000.0])
    for m in RFM_MODELS:
        p = m.probability_of_purchases(np.array([0, 1, 100])[:, None], 52.0, x, tx, T)
        assert np.all(np.isfinite(p))
        assert np.all((p >= 0) & (p <= 1))
        ll = m.log_likelihood_per_customer(frequency=x, recency=tx, T=T)
        assert np.all(np.isfinite(ll))
        ahead = m.p_alive(x, tx, T, periods_ahead=52.0)
        assert np.all(np.isfinite(ahead))
        assert np.all(ahead <= m.p_alive(x, tx, T))


def test_bgbb_conditional_probabilities_enumerate_the_future_sequences():
    # the BG/BB likelihood depends on a sequence through (x, t_x, n) only, so the chance
    # of k transactions in the next m opportunities is a sum over the opportunity j of
    # the last of them (C(j-1, k-1) sequences each) of likelihood ratios
    m_ahead = 5
    loglik = DONATIONS.log_likelihood_per_customer
    for x, tx, n in [(0, 0, 6), (1, 1, 6), (3, 5, 6), (6, 6, 6)]:
        base = loglik(frequency=x, recency=tx, n_periods=n).item()
        expected = [np.exp(loglik(frequency=x, recency=tx, n_periods=n + m_ahead).item() - base)]
        for k in range(1, m_ahead + 1):
            terms = [
                comb(j - 1, k - 1)
                * np.exp(
                    loglik(frequency=x + k, recency=n + j, n_periods=n + m_ahead).item() - base
                )
                for j in range(k, m_ahead + 1)
            ]
            expected.append(sum(terms))
        ours = DONATIONS.probability_of_purchases(np.arange(m_ahead + 1), m_ahead, x, tx, n)
        np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-15)


def test_bgbb_new_customer_probabilities_have_the_new_customer_mean():
    k = np.arange(8)
    p = DONATIONS.probability_of_purchases(k, 7)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert p @ k == pytest.approx(float(DONATIONS.expected_purchases_new(7)), rel=1e-10)


def test_bgbb_without_dropout_gives_the_beta_binomial():
    from scipy import stats

    m = BGBB(alpha=1.2, beta=0.8, gamma=1.0, delta=np.inf)
    k = np.arange(7)
    np.testing.assert_allclose(
        m.probability_of_purchases(k, 6), stats.betabinom.pmf(k, 6, 1.2, 0.8), rtol=1e-10
    )


# --------------------------------------------------------------------- P(alive) ahead


def _bg_no_dropout_by_quadrature(model, x, T, t, shift):
    from scipy import integrate, stats

    r, alpha, a, b = model.r, model.alpha, model.a, model.b

    def f(p):
        return stats.beta.pdf(p, a, b + x + shift) * (1 + p * t / (alpha + T)) ** -(r + x)

    return integrate.quad(f, 0, 1, epsabs=1e-13, epsrel=1e-11, limit=200)[0]


@pytest.mark.parametrize("model", [CDNOW[BGNBD], CDNOW[MBGNBD]], ids=["BGNBD", "MBGNBD"])
def test_bg_p_alive_ahead_integrates_over_the_posterior_dropout_probability(model):
    # alive at T + t: alive at T, and none of the purchases in between ended the life;
    # those arrive at rate λ p, so with probability E[(1 + p t/(α+T))^-(r+x)]
    shift = 1.0 if isinstance(model, MBGNBD) else 0.0
    for x, tx, T in HISTORIES[:5]:
        t = 26.0
        expected = model.p_alive(x, tx, T).item() * _bg_no_dropout_by_quadrature(
            model, x, T, t, shift
        )
        assert model.p_alive(x, tx, T, periods_ahead=t).item() == pytest.approx(expected, rel=1e-8)


def test_pareto_p_alive_ahead_is_the_posterior_lifetimes_survival():
    m = CDNOW[ParetoNBD]
    x, tx, T = HISTORIES.T
    t = np.array([1.0, 5.0, 10.0, 26.0, 52.0, 104.0])
    expected = m.p_alive(x, tx, T) * ((m.beta + T) / (m.beta + T + t)) ** m.s
    np.testing.assert_allclose(m.p_alive(x, tx, T, periods_ahead=t), expected, rtol=1e-12)


def _simulate_alive_ahead(params, n, T, t, rng, *, model):
    """Customers of a BG/NBD-type or Pareto/NBD model observed to T, with whether each is
    alive at T + t: written here from the models' stories, not from relcore's simulate."""
    r, alpha, c, d = params
    lam = rng.gamma(r, 1 / alpha, n)
    horizon = T + t
    if model == "pareto":
        death = rng.exponential(1.0, n) / rng.gamma(c, 1 / d, n)
        x = rng.poisson(lam * np.minimum(death, T))
        last = np.where(x > 0, np.minimum(death, T) * rng.beta(np.maximum(x, 1), 1, n), 0.0)
        return x.astype(float), last, death > horizon
    p = rng.beta(c, d, n)
    first = 0 if model == "mbgnbd" else 1  # the purchase after which the first chance comes
    x = np.zeros(n)
    last = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    alive_at_T = np.ones(n, dtype=bool)
    if first == 0:
        alive &= rng.random(n) >= p
        alive_at_T = alive.copy()
    clock = np.zeros(n)
    while True:
        clock = clock + rng.exponential(1.0, n) / lam
        moving = alive & (clock <= horizon)
        if not moving.any():
            break
        seen = moving & (clock <= T)
        x[seen] += 1
        last[seen] = clock[seen]
        dies = moving & (rng.random(n) < p)
        alive &= ~dies
        alive_at_T &= ~(dies & (clock <= T))
    return x, last, alive


@pytest.mark.parametrize("kind", ["bgnbd", "mbgnbd", "pareto"])
def test_p_alive_ahead_matches_the_share_of_simulated_customers_alive_then(kind):
    model = {"bgnbd": BGNBD, "mbgnbd": MBGNBD, "pareto": ParetoNBD}[kind](2.0, 8.0, 1.5, 4.0)
    rng = np.random.default_rng(2024)
    n, T, t = 40_000, 20.0, 15.0
    x, last, alive = _simulate_alive_ahead((2.0, 8.0, 1.5, 4.0), n, T, t, rng, model=kind)
    predicted = model.p_alive(x, last, np.full(n, T), periods_ahead=t)
    # the mean prediction is the expected share alive; 5 standard errors of a share
    se = np.sqrt(0.25 / n)
    assert abs(predicted.mean() - alive.mean()) < 5 * se
    # and it holds within groups of customers, e.g. those without repeat purchases
    zero = x == 0
    assert abs(predicted[zero].mean() - alive[zero].mean()) < 5 * np.sqrt(0.25 / zero.sum())


def test_p_alive_ahead_keys_by_customer(cdnow):
    m = CDNOW[ParetoNBD]
    ahead = m.p_alive(cdnow, periods_ahead=10)
    assert isinstance(ahead, CustomerPredictions)
    assert np.all(ahead.p_alive <= m.p_alive(cdnow).p_alive)


# --------------------------------------------------------------------- alive path


@pytest.fixture(scope="module")
def cdnow_log():
    return load_cdnow()


def test_alive_path_scores_the_history_a_summary_made_at_each_period_end_would_give(cdnow_log):
    customer = cdnow_log.customers[40]
    one = cdnow_log.for_customer(customer)
    first = one.times[0].astype("datetime64[D]").astype(dt.date)
    model = BGNBD(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426)  # daily
    end = first + dt.timedelta(days=400)
    path = diag.alive_path(model, cdnow_log, customer, period="D", observation_end=end)
    assert path.age.size == 401
    for k in (0, 1, 57, 180, 400):
        s = summarize(one, period="D", observation_end=first + dt.timedelta(days=k))
        assert (path.frequency[k], path.recency[k], path.age[k]) == (
            s.frequency[0],
            s.recency[0],
            s.T[0],
        )
        assert path.p_alive[k] == pytest.approx(model.p_alive(s).p_alive[0], rel=1e-12)


def test_alive_path_refuses_an_unknown_customer(cdnow_log):
    with pytest.raises(DataError, match="customer_id"):
        diag.alive_path(CDNOW[BGNBD], cdnow_log, "nobody", period="W", observation_end="1998-06-30")


def test_alive_path_table_is_keyed_by_period():
    pd = pytest.importorskip("pandas")
    utc = dt.UTC
    log = EventLog.from_arrays(["a", "a"], [dt.datetime(2024, 1, 1, tzinfo=utc)] * 2)
    path = diag.alive_path(CDNOW[BGNBD], log, "a", period="D", observation_end="2024-01-10")
    frame = path.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 10
    assert path.frequency.max() == 0  # two purchases on one day count once


# --------------------------------------------------------------------- first transaction


@pytest.mark.parametrize("model", [*RFM_MODELS, DONATIONS], ids=lambda m: type(m).__name__)
def test_new_customer_predictions_can_count_the_first_transaction(model):
    t = np.array([0.0, 1.0, 6.0])
    np.testing.assert_array_equal(
        model.expected_purchases_new(t, include_first_transaction=True),
        1.0 + model.expected_purchases_new(t),
    )


# --------------------------------------------------------------------- tracking ages


def test_tracking_with_the_peers_age_convention_matches_lifetimes_cumulative_transactions(
    cdnow_log,
):
    lifetimes = pytest.importorskip("lifetimes")
    pd = pytest.importorskip("pandas")
    from lifetimes.utils import expected_cumulative_transactions

    model = BGNBD(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426)  # daily
    theirs_model = lifetimes.BetaGeoFitter()
    theirs_model.params_ = pd.Series(model.params)
    frame = cdnow_log.to_pandas()
    frame["date"] = frame["at"].dt.tz_localize(None)
    days = 60
    theirs = expected_cumulative_transactions(
        theirs_model, frame, "date", "customer_id", t=days, freq="D"
    )
    end = frame["date"].min().date() + dt.timedelta(days=days - 1)
    peers = diag.purchase_tracking(
        model, cdnow_log, period="D", observation_end=end, calibration_end=end,
        age_convention="peers",
    )  # fmt: skip
    ours = diag.purchase_tracking(
        model, cdnow_log, period="D", observation_end=end, calibration_end=end
    )
    np.testing.assert_allclose(peers.expected_cumulative, theirs["predicted"], rtol=1e-10)
    np.testing.assert_array_equal(peers.actual_cumulative, theirs["actual"])
    # relcore's own convention is one period behind: below theirs
    assert np.all(ours.expected_cumulative < peers.expected_cumulative)


def test_tracking_age_conventions_differ_by_one_period_of_the_curve(cdnow_log):
    weekly = {"period": "W", "observation_end": "1998-06-30", "calibration_end": "1997-09-30"}
    model = CDNOW[BGNBD]
    ours = diag.purchase_tracking(model, cdnow_log, **weekly)
    peers = diag.purchase_tracking(model, cdnow_log, **weekly, age_convention="peers")
    # the peers' cumulative expectation at the end of week k is relcore's at week k + 1
    np.testing.assert_allclose(
        peers.expected_cumulative[:-1], ours.expected_cumulative[1:], rtol=1e-12
    )
    with pytest.raises(ValueError, match="age_convention"):
        diag.purchase_tracking(model, cdnow_log, **weekly, age_convention="btyd")


# --------------------------------------------------------------------- Gamma-Gamma q > 1


def test_gamma_gamma_q_constraint_keeps_a_maximum_with_q_above_one(cdnow):
    rep = cdnow[cdnow.frequency > 0]
    plain = GammaGamma.fit(rep)
    constrained = GammaGamma.fit(rep, q_constraint=True)
    assert plain.q > 1
    assert constrained.params == plain.params


def _heavy_tailed_spend():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, 4000).astype(float)
    # q = 0.6: the gamma mixing of ν puts so much mass near 0 that mean spend is infinite
    return x, GammaGamma(p=4.0, q=0.6, v=10.0).simulate(x, rng=rng)


def test_gamma_gamma_q_constraint_returns_the_maximum_on_q_equal_one():
    from scipy import optimize

    from relcore import FitWarning

    x, m = _heavy_tailed_spend()
    free = GammaGamma.fit(frequency=x, monetary_value=m)
    assert free.q < 1
    with pytest.warns(FitWarning, match="q_constraint binds"):
        at_one = GammaGamma.fit(frequency=x, monetary_value=m, q_constraint=True)
    assert at_one.q == 1.0
    # an independent maximisation over (p, v) at q = 1 of the per-customer likelihood

    def negative(theta):
        p, v = np.exp(theta)
        return (
            -GammaGamma(p=p, q=1.0, v=v)
            .log_likelihood_per_customer(frequency=x, monetary_value=m)
            .sum()
        )

    best = optimize.minimize(negative, np.log([free.p, free.v]), method="Nelder-Mead",
                             options={"xatol": 1e-9, "fatol": 1e-9, "maxiter": 4000})  # fmt: skip
    assert at_one.log_likelihood == pytest.approx(-best.fun, abs=1e-4)
    assert at_one.log_likelihood < free.log_likelihood
    assert at_one.standard_errors["q"] == 0.0
    assert np.isfinite(at_one.expected_average_value(2, 30.0)).all()
    assert "q at its constraint" in str(at_one.summary())


# --------------------------------------------------------------------- holdout spend


def test_holdout_spend_per_period_sums_a_periods_purchases_like_calibration_spend():
    utc = dt.UTC
    days = [1, 3, 12, 12, 15]  # calibration to day 5; two holdout purchases on day 12
    log = EventLog.from_arrays(
        ["a"] * 5,
        [dt.datetime(2024, 1, d, 9, tzinfo=utc) for d in days],
        value=[5.0, 7.0, 10.0, 20.0, 30.0],
    )
    when = {"period": "D", "observation_end": "2024-01-31", "calibration_end": "2024-01-05"}
    per_transaction = summarize(log, **when)
    per_period = summarize(log, **when, holdout_spend="per_period")
    assert per_transaction.holdout_monetary_value[0] == pytest.approx(60.0 / 3)
    assert per_period.holdout_monetary_value[0] == pytest.approx(60.0 / 2)
    assert per_period.holdout_frequency[0] == 2
    with pytest.raises(ValueError, match="holdout_spend"):
        summarize(log, **when, holdout_spend="mean")


def test_conditional_probabilities_without_dropout_are_the_posterior_nbd():
    from scipy import stats

    m = BGNBD(r=0.5, alpha=4.0, a=1.0, b=np.inf)
    x, tx, T = 3.0, 20.0, 30.0
    n = np.arange(400)
    p = m.probability_of_purchases(n, 26.0, x, tx, T)
    # λ | history ~ Gamma(r + x, α + T): a negative binomial count over the next 26 periods
    expected = stats.nbinom.pmf(n, m.r + x, (m.alpha + T) / (m.alpha + T + 26.0))
    np.testing.assert_allclose(p, expected, rtol=1e-10, atol=1e-300)
    assert m.p_alive(x, tx, T, periods_ahead=52).item() == 1.0
