"""Parity with lifetimes, an independent implementation of the same models.

Fits are compared through lifetimes' own likelihood functions, never through where
lifetimes' optimiser stops (its tolerance and its success depend on the machine): at
relcore's estimate, lifetimes' log-likelihood must equal relcore's and have its maximum,
which one Newton step on lifetimes' likelihood (gradient and Hessian by differences)
measures: the step must be negligible. Predictions at fixed parameters are compared at a
tolerance derived from the conditioning of lifetimes' formulas.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import special

from relcore.datasets import load_cdnow_summary, load_donations
from relcore.scoring import BGBB, BGNBD, MBGNBD, GammaGamma, ParetoNBD, customer_lifetime_value

lifetimes = pytest.importorskip("lifetimes")
pd = pytest.importorskip("pandas")

# One Newton step on lifetimes' likelihood from relcore's estimate may move no
# log-parameter by more than this: relcore stops within ~1e-7, the differences below
# are accurate to ~1e-7, and the published parity target is 1e-4.
STEP_TOL = 1e-5
# Relative accuracy granted to scipy's hyp2f1 (inside lifetimes' predictions) for
# arguments below 0.6 and parameters up to ~60; its errors are amplified by the
# conditioning of 1 - A * 2F1 (see _bg_tolerance).
HYP2F1_EPS = 1e-9


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


def _synthetic(model, n=3000, seed=11):
    # any stream will do: the comparison holds for every data set the fit accepts
    rng = np.random.default_rng(seed)
    s = model.simulate(n, rng.uniform(5, 60, n), rng=rng)
    return np.asarray(s.frequency), np.asarray(s.recency), np.asarray(s.T)


def _quiet(fn, *args):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args)


def _newton_step(loglik, theta, h=1e-4):
    """The step a Newton iteration on ``loglik`` takes from ``theta`` (log-parameters),
    with gradient and Hessian by central differences: near a maximum, the way to it."""
    m = theta.size
    eye = np.eye(m)
    g = np.array([(loglik(theta + h * e) - loglik(theta - h * e)) / (2 * h) for e in eye])
    k = 10 * h
    H = np.empty((m, m))
    for i in range(m):
        for j in range(m):
            ei, ej = k * eye[i], k * eye[j]
            H[i, j] = (
                loglik(theta + ei + ej)
                - loglik(theta + ei - ej)
                - loglik(theta - ei + ej)
                + loglik(theta - ei - ej)
            ) / (4 * k * k)
    assert np.all(np.linalg.eigvalsh(H) < 0), "not a maximum of lifetimes' likelihood"
    return -np.linalg.solve(H, g)


def _assert_maximum(model, loglik):
    theta = np.log(list(model.params.values()))
    assert loglik(theta) == pytest.approx(model.log_likelihood, rel=1e-10)
    step = _newton_step(loglik, theta)
    assert np.max(np.abs(step)) < STEP_TOL, step


def _bg_loglik(fitter, x, tx, T, w=None, penalizer=0.0, scale=1.0):
    """Total log-likelihood by lifetimes' BG/NBD or MBG/NBD function (natural time unit
    unless ``scale`` rescales time as lifetimes' fit does, for the penalty)."""
    w = np.ones(x.size) if w is None else w

    def loglik(theta):
        p = np.exp(theta) * np.array([1.0, scale, 1.0, 1.0])
        nll = _quiet(
            fitter._negative_log_likelihood, np.log(p), x, tx * scale, T * scale, w, penalizer
        )
        return -nll * w.sum()

    return loglik


@pytest.mark.parametrize(
    ("ours", "theirs"), [(BGNBD, "BetaGeoFitter"), (MBGNBD, "ModifiedBetaGeoFitter")]
)
def test_bg_family_fit_is_the_maximum_of_lifetimes_likelihood_on_cdnow(cdnow, ours, theirs):
    x, tx, T = (np.asarray(c, dtype=float) for c in (cdnow.frequency, cdnow.recency, cdnow.T))
    _assert_maximum(ours.fit(cdnow), _bg_loglik(getattr(lifetimes, theirs), x, tx, T))


@pytest.mark.parametrize(
    ("ours", "theirs"), [(BGNBD, "BetaGeoFitter"), (MBGNBD, "ModifiedBetaGeoFitter")]
)
def test_bg_family_fit_is_the_maximum_of_lifetimes_likelihood_on_synthetic_data(ours, theirs):
    x, tx, T = _synthetic(ours(r=0.7, alpha=5.0, a=0.6, b=2.5))
    fitted = ours.fit(frequency=x, recency=tx, T=T)
    _assert_maximum(fitted, _bg_loglik(getattr(lifetimes, theirs), x, tx, T))


def test_bgnbd_penalizer_is_lifetimes_penalizer_coef(cdnow):
    # lifetimes penalises the parameters in time rescaled so that the longest T is 1
    x, tx, T = (np.asarray(c, dtype=float) for c in (cdnow.frequency, cdnow.recency, cdnow.T))
    scale = 1.0 / T.max()
    m = BGNBD.fit(cdnow, penalizer=0.1)
    loglik = _bg_loglik(lifetimes.BetaGeoFitter, x, tx, T, penalizer=0.1, scale=scale)
    theta = np.log(list(m.params.values()))
    assert np.max(np.abs(_newton_step(loglik, theta))) < STEP_TOL


def _pareto_loglik(x, tx, T):
    def loglik(theta):
        nll = _quiet(
            lifetimes.ParetoNBDFitter._negative_log_likelihood,
            np.exp(theta),
            x,
            tx,
            T,
            np.ones(x.size),
            0.0,
        )
        return -nll  # normalised by the mean weight, 1

    return loglik


def test_paretonbd_fit_is_the_maximum_of_lifetimes_likelihood_on_cdnow(cdnow):
    x, tx, T = (np.asarray(c, dtype=float) for c in (cdnow.frequency, cdnow.recency, cdnow.T))
    _assert_maximum(ParetoNBD.fit(cdnow), _pareto_loglik(x, tx, T))


def test_paretonbd_fit_is_the_maximum_of_lifetimes_likelihood_on_synthetic_data():
    x, tx, T = _synthetic(ParetoNBD(r=0.6, alpha=8.0, s=0.8, beta=12.0), n=1500, seed=3)
    _assert_maximum(ParetoNBD.fit(frequency=x, recency=tx, T=T), _pareto_loglik(x, tx, T))


def _gg_loglik(x, m):
    def loglik(theta):
        nll = _quiet(
            lifetimes.GammaGammaFitter._negative_log_likelihood, theta, x, m, np.ones(x.size), 0.0
        )
        return -nll * x.size

    return loglik


def test_gammagamma_fit_is_the_maximum_of_lifetimes_likelihood_on_cdnow(cdnow):
    rep = cdnow.frequency > 0
    x, m = cdnow.frequency[rep], cdnow.monetary_value[rep]
    _assert_maximum(GammaGamma.fit(frequency=x, monetary_value=m), _gg_loglik(x, m))


def test_gammagamma_fit_is_the_maximum_of_lifetimes_likelihood_on_synthetic_data():
    rng = np.random.default_rng(21)
    x = rng.integers(1, 12, 3000).astype(float)
    spend = GammaGamma(p=4.0, q=5.0, v=30.0).simulate(x, rng=rng)
    _assert_maximum(GammaGamma.fit(frequency=x, monetary_value=spend), _gg_loglik(x, spend))


def _bgbb_loglik(x, tx, n, w):
    def loglik(theta):
        nll = _quiet(
            lifetimes.BetaGeoBetaBinomFitter._negative_log_likelihood, theta, x, tx, n, w, 0.0
        )
        return -nll * w.sum()

    return loglik


def test_bgbb_fit_is_the_maximum_of_lifetimes_likelihood_on_donations():
    d = load_donations()
    x, tx, n, w = (
        np.asarray(d[k], dtype=float) for k in ("frequency", "recency", "n_periods", "weights")
    )
    _assert_maximum(BGBB.fit(d), _bgbb_loglik(x, tx, n, w))


def test_bgbb_fit_is_the_maximum_of_lifetimes_likelihood_on_synthetic_data():
    s = BGBB(alpha=0.8, beta=1.5, gamma=0.9, delta=4.0).simulate(5000, 8, rng=8)
    x, tx, n = (np.asarray(c, dtype=float) for c in (s.frequency, s.recency, s.T))
    _assert_maximum(BGBB.fit(s), _bgbb_loglik(x, tx, n, np.ones(x.size)))


# -- predictions at fixed parameters -----------------------------------------------------


def _fitter(cls_name, params):
    f = getattr(lifetimes, cls_name)()
    f.params_ = pd.Series(params)
    return f


def _history(n=400, seed=5):
    # hypergeometric arguments t / (α + T + t) stay below 0.6 (see HYP2F1_EPS)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, n).astype(float)
    T = rng.uniform(20, 80, n)
    tx = np.where(x > 0, rng.uniform(0, 1, n) * T, 0.0)
    t = rng.uniform(0, 30, n)
    return x, tx, T, t


def _bg_tolerance(expected_alive, lead):
    """Relative error of lifetimes' ``lead * (1 - A 2F1)``: an error e in 2F1 moves it
    by ``e A 2F1 / (1 - A 2F1)`` relative, with ``1 - A 2F1 = expected_alive / lead``."""
    s = np.abs(expected_alive / lead)  # both factors change sign when a < 1
    return HYP2F1_EPS * (1.0 + np.abs(1.0 - s) / np.maximum(s, 1e-300)) + 1e-12


BG_PARAMS = [
    (BGNBD, "BetaGeoFitter", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}),
    (BGNBD, "BetaGeoFitter", {"r": 2.1, "alpha": 0.8, "a": 3.2, "b": 0.7}),
    (MBGNBD, "ModifiedBetaGeoFitter", {"r": 0.53, "alpha": 6.2, "a": 0.89, "b": 1.6}),
    (MBGNBD, "ModifiedBetaGeoFitter", {"r": 1.7, "alpha": 2.0, "a": 2.5, "b": 4.0}),
]


@pytest.mark.parametrize(("ours", "theirs", "params"), BG_PARAMS)
def test_bg_family_predictions_match_lifetimes(ours, theirs, params):
    m, f = ours(**params), _fitter(theirs, params)
    _, _, a, b = params.values()
    shift = 1.0 if ours is BGNBD else 0.0  # lead (a+b+x-1)/(a-1) or (a+b+x)/(a-1)
    x, tx, T, t = _history()
    alive = m.p_alive(x, tx, T)
    np.testing.assert_allclose(alive, f.conditional_probability_alive(x, tx, T), rtol=1e-12)
    ours_e = m.expected_purchases(t, x, tx, T)
    theirs_e = _quiet(f.conditional_expected_number_of_purchases_up_to_time, t, x, tx, T)
    tol = _bg_tolerance(ours_e / alive, (a + b + x - shift) / (a - 1))
    assert np.all(np.abs(ours_e / theirs_e - 1) <= tol)
    new = m.expected_purchases_new(t)
    lead_new = (a + b - 1) / (a - 1) if ours is BGNBD else b / (a - 1)
    assert np.all(
        np.abs(new / f.expected_number_of_purchases_up_to_time(t) - 1)
        <= _bg_tolerance(new, lead_new)
    )


@pytest.mark.parametrize(("ours", "theirs", "params"), BG_PARAMS)
def test_bg_family_purchase_probabilities_match_lifetimes(ours, theirs, params):
    m, f = ours(**params), _fitter(theirs, params)
    _, _, a, b = params.values()
    eps = np.finfo(float).eps
    for n in (0, 1, 2, 7, 20):
        for t in (0.5, 10.0, 52.0):
            got = float(m.probability_of_purchases(n, t))
            ref = float(_quiet(f.probability_of_n_purchases_up_to_time, t, n))
            # lifetimes computes P(NB >= n) as 1 - (a sum of n terms): absolute rounding of
            # about (n + 1) eps, times the beta factor in front of it
            front = np.exp(special.betaln(a + 1, b + n - shift_of(ours)) - special.betaln(a, b))
            assert got == pytest.approx(ref, rel=1e-10, abs=4 * (n + 1) * eps * front)


def shift_of(model):
    # B(a+1, b+n-1)/B(a, b) for BG/NBD, B(a+1, b+n)/B(a, b) for MBG/NBD
    return 1.0 if model is BGNBD else 0.0


def test_bgbb_predictions_match_lifetimes():
    params = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    m, f = BGBB(**params), _fitter("BetaGeoBetaBinomFitter", params)
    d = load_donations()
    x, tx, n = d["frequency"], d["recency"], d["n_periods"]
    # no cancellation in these products of beta functions; lifetimes adds 1e-15 to the
    # likelihood's dropout sum, which is at least 1e-3 here
    for ahead in (0, 1, 5):
        np.testing.assert_allclose(
            m.p_alive(x, tx, n, periods_ahead=ahead),
            f.conditional_probability_alive(ahead, x, tx, n),
            rtol=1e-10,
        )
    for horizon in (1, 5, 10):
        np.testing.assert_allclose(
            m.expected_purchases(horizon, x, tx, n),
            f.conditional_expected_number_of_purchases_up_to_time(horizon, x, tx, n),
            rtol=1e-10,
        )


def test_gammagamma_expected_value_matches_lifetimes(cdnow):
    params = {"p": 6.25, "q": 3.74, "v": 15.44}
    gg, f = GammaGamma(**params), _fitter("GammaGammaFitter", params)
    np.testing.assert_allclose(
        gg.expected_average_value(cdnow.frequency, cdnow.monetary_value),
        f.conditional_expected_average_profit(cdnow.frequency, cdnow.monetary_value),
        rtol=1e-12,
    )


@pytest.mark.parametrize(
    ("freq", "period_days", "days_per_month"), [("D", 1.0, 30.0), ("W", 7.0, 4.345 * 7)]
)
def test_clv_matches_lifetimes_customer_lifetime_value(cdnow, freq, period_days, days_per_month):
    bg = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    spend = {"p": 6.25, "q": 3.74, "v": 15.44}
    model = BGNBD(**bg)
    ours = customer_lifetime_value(
        model,
        GammaGamma(**spend),
        cdnow.frequency,
        cdnow.recency,
        cdnow.T,
        cdnow.monetary_value,
        months=6,
        monthly_discount_rate=0.01,
        period_days=period_days,
        days_per_month=days_per_month,
    )
    f, g = _fitter("BetaGeoFitter", bg), _fitter("GammaGammaFitter", spend)
    f.predict = f.conditional_expected_number_of_purchases_up_to_time
    theirs = _quiet(
        g.customer_lifetime_value,
        f,
        pd.Series(cdnow.frequency),
        pd.Series(cdnow.recency),
        pd.Series(cdnow.T),
        pd.Series(cdnow.monetary_value),
        6,
        0.01,
        freq,
    )
    # each month's expectation carries the relative error of _bg_tolerance; the value is
    # a discounted sum of their differences
    a, b, x = bg["a"], bg["b"], np.asarray(cdnow.frequency)
    per_month = days_per_month / period_days
    bound = np.zeros(x.size)
    for k in range(7):
        e = model.expected_purchases(k * per_month, x, cdnow.recency, cdnow.T)
        alive = model.p_alive(x, cdnow.recency, cdnow.T)
        with np.errstate(invalid="ignore", divide="ignore"):
            err = np.where(e > 0, e * _bg_tolerance(e / alive, (a + b + x - 1) / (a - 1)), 0.0)
        bound += 2 * err
    spend_value = GammaGamma(**spend).expected_average_value(cdnow.frequency, cdnow.monetary_value)
    assert np.all(np.abs(ours - theirs.to_numpy()) <= bound * spend_value + 1e-10 * np.abs(ours))


def test_clv_takes_the_period_from_a_weekly_summary(cdnow):
    bg = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)
    gg = GammaGamma(p=6.25, q=3.74, v=15.44)
    from_summary = customer_lifetime_value(bg, gg, cdnow, days_per_month=30.0)
    explicit = customer_lifetime_value(
        bg,
        gg,
        cdnow.frequency,
        cdnow.recency,
        cdnow.T,
        cdnow.monetary_value,
        period_days=7.0,
        days_per_month=30.0,
    )
    np.testing.assert_array_equal(from_summary, explicit)
