"""Parity with lifetimes: fitted parameters and every prediction at fixed parameters."""

from __future__ import annotations

import numpy as np
import pytest

from relcore.datasets import load_cdnow_summary, load_donations
from relcore.scoring import (
    BGBB,
    BGNBD,
    MBGNBD,
    GammaGamma,
    ParetoNBD,
    customer_lifetime_value,
)

lifetimes = pytest.importorskip("lifetimes")
pd = pytest.importorskip("pandas")

FIT_RTOL = 1e-4
PRED_RTOL = 1e-6


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


def _synthetic(n=3000, seed=11):
    rng = np.random.default_rng(seed)
    truth = BGNBD(r=0.7, alpha=5.0, a=0.6, b=2.5)
    s = truth.simulate(n, rng.uniform(5, 60, n), rng=rng)
    return np.asarray(s.frequency), np.asarray(s.recency), np.asarray(s.T)


def _history(n=400, seed=5):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, n).astype(float)
    T = rng.uniform(1, 80, n)
    tx = np.where(x > 0, rng.uniform(0, 1, n) * T, 0.0)
    t = rng.uniform(0, 60, n)
    return x, tx, T, t


def _assert_params(ours, theirs, names):
    for name in names:
        assert ours[name] == pytest.approx(float(theirs[name]), rel=FIT_RTOL), name


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(BGNBD, "BetaGeoFitter"), (MBGNBD, "ModifiedBetaGeoFitter")],
)
def test_bg_family_fit_matches_lifetimes_on_cdnow(cdnow, ours, theirs):
    m = ours.fit(cdnow)
    f = getattr(lifetimes, theirs)().fit(cdnow.frequency, cdnow.recency, cdnow.T, tol=1e-8)
    _assert_params(m.params, f.params_, ["r", "alpha", "a", "b"])


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(BGNBD, "BetaGeoFitter"), (MBGNBD, "ModifiedBetaGeoFitter")],
)
def test_bg_family_fit_matches_lifetimes_on_synthetic_data(ours, theirs):
    x, tx, T = _synthetic()
    m = ours.fit(frequency=x, recency=tx, T=T)
    f = getattr(lifetimes, theirs)().fit(x, tx, T, tol=1e-8)
    _assert_params(m.params, f.params_, ["r", "alpha", "a", "b"])


def test_bgnbd_penalizer_matches_lifetimes_penalizer_coef(cdnow):
    m = BGNBD.fit(cdnow, penalizer=0.1)
    f = lifetimes.BetaGeoFitter(penalizer_coef=0.1).fit(
        cdnow.frequency, cdnow.recency, cdnow.T, tol=1e-8
    )
    _assert_params(m.params, f.params_, ["r", "alpha", "a", "b"])


def test_paretonbd_fit_matches_lifetimes_run_to_tight_tolerance(cdnow):
    # lifetimes' default Nelder-Mead stops at tol=1e-4; run it to 1e-12 to compare maxima
    m = ParetoNBD.fit(cdnow)
    f = lifetimes.ParetoNBDFitter().fit(
        cdnow.frequency,
        cdnow.recency,
        cdnow.T,
        tol=1e-12,
        maxiter=20000,
        initial_params=[0.5, 10.0, 0.5, 10.0],
    )
    _assert_params(m.params, f.params_, ["r", "alpha", "s", "beta"])


def test_paretonbd_fit_matches_lifetimes_on_synthetic_data():
    rng = np.random.default_rng(3)
    s = ParetoNBD(r=0.6, alpha=8.0, s=0.8, beta=12.0).simulate(
        1500, rng.uniform(5, 60, 1500), rng=4
    )
    m = ParetoNBD.fit(s)
    f = lifetimes.ParetoNBDFitter().fit(
        s.frequency,
        s.recency,
        s.T,
        tol=1e-12,
        maxiter=20000,
        initial_params=[0.5, 8.0, 0.5, 10.0],
    )
    _assert_params(m.params, f.params_, ["r", "alpha", "s", "beta"])


def test_gammagamma_fit_matches_lifetimes(cdnow):
    rep = cdnow.frequency > 0
    x, mv = cdnow.frequency[rep], cdnow.monetary_value[rep]
    gg = GammaGamma.fit(frequency=x, monetary_value=mv)
    f = lifetimes.GammaGammaFitter().fit(x, mv, tol=1e-10)
    _assert_params(gg.params, f.params_, ["p", "q", "v"])


def test_bgbb_fit_matches_lifetimes_on_donations():
    d = load_donations()
    m = BGBB.fit(**d)
    f = lifetimes.BetaGeoBetaBinomFitter().fit(
        d["frequency"], d["recency"], d["n_periods"], weights=d["weights"], tol=1e-10
    )
    _assert_params(m.params, f.params_, ["alpha", "beta", "gamma", "delta"])


def _fitter(cls_name, params):
    f = getattr(lifetimes, cls_name)()
    f.params_ = pd.Series(params)
    return f


@pytest.mark.parametrize(
    ("ours", "theirs", "params"),
    [
        (BGNBD, "BetaGeoFitter", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}),
        (BGNBD, "BetaGeoFitter", {"r": 2.1, "alpha": 0.8, "a": 3.2, "b": 0.7}),
        (MBGNBD, "ModifiedBetaGeoFitter", {"r": 0.53, "alpha": 6.2, "a": 0.89, "b": 1.6}),
        (MBGNBD, "ModifiedBetaGeoFitter", {"r": 1.7, "alpha": 2.0, "a": 2.5, "b": 4.0}),
    ],
)
def test_bg_family_predictions_match_lifetimes(ours, theirs, params):
    m, f = ours(**params), _fitter(theirs, params)
    x, tx, T, t = _history()
    np.testing.assert_allclose(
        m.p_alive(x, tx, T), f.conditional_probability_alive(x, tx, T), rtol=PRED_RTOL
    )
    np.testing.assert_allclose(
        m.expected_purchases(t, x, tx, T),
        f.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T),
        rtol=PRED_RTOL,
    )
    np.testing.assert_allclose(
        m.expected_purchases_new(t), f.expected_number_of_purchases_up_to_time(t), rtol=PRED_RTOL
    )
    for n in (0, 1, 2, 7, 20):
        for horizon in (0.5, 10.0, 52.0):
            assert float(m.probability_of_purchases(n, horizon)) == pytest.approx(
                float(f.probability_of_n_purchases_up_to_time(horizon, n)), rel=PRED_RTOL
            )


@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},  # alpha < beta branch
        {"r": 1.3, "alpha": 20.0, "s": 1.7, "beta": 6.0},  # alpha > beta branch
        {"r": 0.8, "alpha": 5.0, "s": 1.0, "beta": 5.0},  # s = 1 and alpha = beta
    ],
)
def test_paretonbd_predictions_match_lifetimes(params):
    m, f = ParetoNBD(**params), _fitter("ParetoNBDFitter", params)
    x, tx, T, t = _history()
    x = np.minimum(x, 25)  # lifetimes itself overflows for larger frequencies
    with np.errstate(all="ignore"):
        ref_alive = f.conditional_probability_alive(x, tx, T)
        ref_exp = f.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T)
    np.testing.assert_allclose(m.p_alive(x, tx, T), ref_alive, rtol=PRED_RTOL)
    if params["s"] != 1.0:  # lifetimes divides by s - 1 (NaN at s = 1)
        np.testing.assert_allclose(m.expected_purchases(t, x, tx, T), ref_exp, rtol=PRED_RTOL)
        np.testing.assert_allclose(
            m.expected_purchases_new(t),
            f.expected_number_of_purchases_up_to_time(t),
            rtol=PRED_RTOL,
        )


def test_bgbb_predictions_match_lifetimes():
    params = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    m, f = BGBB(**params), _fitter("BetaGeoBetaBinomFitter", params)
    d = load_donations()
    x, tx, n = d["frequency"], d["recency"], d["n_periods"]
    for ahead in (0, 1, 5):
        np.testing.assert_allclose(
            m.p_alive(x, tx, n, periods_ahead=ahead),
            f.conditional_probability_alive(ahead, x, tx, n),
            rtol=PRED_RTOL,
        )
    for horizon in (1, 5, 10):
        np.testing.assert_allclose(
            m.expected_purchases(horizon, x, tx, n),
            f.conditional_expected_number_of_purchases_up_to_time(horizon, x, tx, n),
            rtol=PRED_RTOL,
        )


def test_gammagamma_expected_value_matches_lifetimes(cdnow):
    params = {"p": 6.25, "q": 3.74, "v": 15.44}
    gg, f = GammaGamma(**params), _fitter("GammaGammaFitter", params)
    np.testing.assert_allclose(
        gg.expected_average_value(cdnow.frequency, cdnow.monetary_value),
        f.conditional_expected_average_profit(cdnow.frequency, cdnow.monetary_value),
        rtol=PRED_RTOL,
    )


@pytest.mark.parametrize(
    ("freq", "period_days", "days_per_month"), [("D", 1.0, 30.0), ("W", 7.0, 4.345 * 7)]
)
def test_clv_matches_lifetimes_customer_lifetime_value(cdnow, freq, period_days, days_per_month):
    bg = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    spend = {"p": 6.25, "q": 3.74, "v": 15.44}
    ours = customer_lifetime_value(
        BGNBD(**bg),
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
    theirs = g.customer_lifetime_value(
        f,
        pd.Series(cdnow.frequency),
        pd.Series(cdnow.recency),
        pd.Series(cdnow.T),
        pd.Series(cdnow.monetary_value),
        time=6,
        discount_rate=0.01,
        freq=freq,
    )
    np.testing.assert_allclose(ours, theirs.to_numpy(), rtol=PRED_RTOL)


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


def test_gammagamma_fit_matches_lifetimes_on_synthetic_data():
    rng = np.random.default_rng(21)
    x = rng.integers(1, 12, 3000).astype(float)
    spend = GammaGamma(p=4.0, q=5.0, v=30.0).simulate(x, rng=rng)
    gg = GammaGamma.fit(frequency=x, monetary_value=spend)
    # lifetimes stops with a precision-loss "failure" below its default tolerance here
    f = lifetimes.GammaGammaFitter().fit(x, spend, tol=1e-7)
    _assert_params(gg.params, f.params_, ["p", "q", "v"])


def test_bgbb_fit_matches_lifetimes_on_synthetic_data():
    s = BGBB(alpha=0.8, beta=1.5, gamma=0.9, delta=4.0).simulate(5000, 8, rng=8)
    m = BGBB.fit(s)
    # lifetimes stops with a precision-loss "failure" below tol=1e-7 here
    f = lifetimes.BetaGeoBetaBinomFitter().fit(s.frequency, s.recency, s.T, tol=1e-7)
    _assert_params(m.params, f.params_, ["alpha", "beta", "gamma", "delta"])
