"""Fits whose maximum lies on the boundary: a young cohort with no sign of dropout.

Every repeat buyer below bought in the last period (recency = T) and the customers
without repeat purchases arrived in it (T = 0), so nothing in the data suggests that
anybody left: the likelihood keeps rising as dropout vanishes, and its supremum is the
NBD model (beta-binomial for BG/BB). The fit must return that limit, exactly, with a
FitWarning. Expectations come from the NBD's own formulas (its score equations, its
likelihood, scipy's negative binomial) and from lifetimes' likelihood functions.
"""

import warnings

import numpy as np
import pytest
from scipy import optimize, special, stats

from relcore import ConvergenceError, DataError, FitWarning
from relcore.datasets import load_cdnow_summary, load_donations
from relcore.scoring import BGBB, BGNBD, MBGNBD, ParetoNBD

X = np.array([0, 0, 1, 1, 2, 8, 15, 2, 1, 4, 20, 1, 1, 3, 1, 2], dtype=float)
T = np.array([0, 0, 8, 3, 10, 12, 11, 7, 12, 9, 12, 12, 5, 10, 11, 12], dtype=float)
R = np.where(X > 0, T, 0.0)
W = np.array([30, 25, 12, 9, 8, 5, 2, 6, 10, 3, 1, 4, 7, 3, 6, 5], dtype=float)
YOUNG = {"frequency": X, "recency": R, "T": T, "weights": W}
RFM_MODELS = [BGNBD, MBGNBD, ParetoNBD]
# the dropout parameter that goes to infinity, and the shape the limit leaves open
LIMIT = {BGNBD: ("b", "a"), MBGNBD: ("b", "a"), ParetoNBD: ("beta", "s")}


def _fit_at_boundary(model, **data):
    with pytest.warns(FitWarning) as record:
        fitted = model.fit(**data)
    assert len(record) == 1
    return fitted, str(record[0].message)


@pytest.fixture(scope="module", params=RFM_MODELS, ids=lambda m: m.__name__)
def young(request):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return request.param, request.param.fit(**YOUNG)


def test_a_young_cohort_fit_warns_in_words_what_the_data_show():
    for model in RFM_MODELS:
        _, message = _fit_at_boundary(model, **YOUNG)
        infinite, shape = LIMIT[model]
        assert message.startswith("no dropout detected: ")
        assert "young cohort" in message
        assert f"({infinite} = inf)" in message
        assert f"{shape} and {infinite} are not identified" in message


def test_the_fit_reports_which_parameters_ran_to_the_boundary(young):
    model, m = young
    infinite, shape = LIMIT[model]
    assert m.fit_info.limit == "no dropout"
    assert m.fit_info.boundary == (infinite,)
    assert m.fit_info.not_identified == (shape, infinite)
    assert getattr(m, infinite) == np.inf
    se = m.standard_errors
    assert se[infinite] == np.inf
    assert se[shape] == np.inf
    assert np.isfinite(se["r"])
    assert np.isfinite(se["alpha"])
    assert m.confidence_intervals()[shape] == (0.0, np.inf)
    assert "at the boundary (no dropout)" in str(m.summary())
    assert "at the boundary: no dropout" in repr(m)


def test_the_boundary_estimates_are_the_nbd_maximum(young):
    # the NBD log-likelihood sum w [lnΓ(r+x) - lnΓ(r) + r ln α - (r+x) ln(α+T)] has zero
    # score at its maximum: in α, sum w (r+x)/(α+T) = r/α sum w; in r, the digamma sum
    _, m = young
    r, alpha = m.r, m.alpha
    score_alpha = np.sum(W * (r + X) / (alpha + T)) / (r / alpha * W.sum())
    assert score_alpha == pytest.approx(1.0, abs=1e-8)
    score_r = np.sum(
        W * (special.digamma(r + X) - special.digamma(r) + np.log(alpha) - np.log(alpha + T))
    )
    assert score_r == pytest.approx(0.0, abs=1e-6 * W.sum())
    nbd = special.gammaln(r + X) - special.gammaln(r) + r * np.log(alpha)
    nbd -= (r + X) * np.log(alpha + T)
    assert m.log_likelihood == pytest.approx(float(W @ nbd), rel=1e-12)


def test_the_three_models_agree_on_the_nbd_limit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        fits = [model.fit(**YOUNG) for model in RFM_MODELS]
    for m in fits[1:]:
        assert m.r == pytest.approx(fits[0].r, rel=1e-7)
        assert m.alpha == pytest.approx(fits[0].alpha, rel=1e-7)
        assert m.log_likelihood == pytest.approx(fits[0].log_likelihood, rel=1e-12)


@pytest.mark.parametrize("model", RFM_MODELS, ids=lambda m: m.__name__)
def test_no_interior_point_beats_the_boundary_by_lifetimes_own_likelihood(model):
    lifetimes = pytest.importorskip("lifetimes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        ours = model.fit(**YOUNG)
    fitter = {
        BGNBD: lifetimes.BetaGeoFitter,
        MBGNBD: lifetimes.ModifiedBetaGeoFitter,
        ParetoNBD: lifetimes.ParetoNBDFitter,
    }[model]

    def loglik(log_params):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if model is ParetoNBD:  # natural parameters, normalised by the mean weight
                return (
                    -fitter._negative_log_likelihood(np.exp(log_params), X, R, T, W, 0) * W.mean()
                )
            return -fitter._negative_log_likelihood(log_params, X, R, T, W, 0) * W.sum()

    # a bounded independent search (lifetimes' betaln differences lose digits beyond)
    bounds = [(np.log(1e-3), np.log(1e5))] * 4
    best = -np.inf
    for start in ([0.5, 1, 1, 1], [2, 8, 0.5, 5], [1, 3, 2, 50], [3, 10, 0.1, 0.5]):
        res = optimize.minimize(
            lambda th: -loglik(th), np.log(start), method="L-BFGS-B", bounds=bounds
        )
        if np.isfinite(res.fun):
            best = max(best, -res.fun)
    assert np.isfinite(best)
    assert best <= ours.log_likelihood + 1e-6
    # and the likelihood approaches the boundary's as dropout vanishes
    near = loglik(np.log([ours.r, ours.alpha, 1.0, 1e5]))
    assert ours.log_likelihood - 1e-2 < near <= ours.log_likelihood + 1e-6


def test_boundary_predictions_are_the_nbd_model(young):
    _, m = young
    r, alpha = m.r, m.alpha
    x, tx, t_obs = np.array([0, 2, 5, 0]), np.array([0, 3.0, 9.5, 0]), np.array([6.0, 10, 12, 0])
    horizon = np.array([1.0, 4.0, 13.0, 52.0])
    np.testing.assert_array_equal(m.p_alive(x, tx, t_obs), 1.0)
    # posterior mean rate (r + x) / (α + T) times the horizon
    np.testing.assert_allclose(
        m.expected_purchases(horizon, x, tx, t_obs), (r + x) / (alpha + t_obs) * horizon, rtol=1e-14
    )
    np.testing.assert_allclose(m.expected_purchases_new(horizon), r / alpha * horizon, rtol=1e-14)
    n = np.arange(12)
    for t in (1.0, 13.0):
        expected = stats.nbinom.pmf(n, r, alpha / (alpha + t))
        np.testing.assert_allclose(m.probability_of_purchases(n, t), expected, rtol=1e-10)


@pytest.mark.parametrize("model", RFM_MODELS, ids=lambda m: m.__name__)
def test_known_parameters_at_the_limit_predict_as_the_nbd(model):
    infinite, shape = LIMIT[model]
    m = model(**{"r": 0.7, "alpha": 3.0, shape: 2.0, infinite: np.inf})
    assert m.p_alive(3, 2.0, 9.0).item() == 1.0
    assert m.expected_purchases(10.0, 3, 2.0, 9.0).item() == pytest.approx(3.7 / 12.0 * 10.0)
    s = m.simulate(20_000, 10.0, rng=4)
    # nobody drops out: the mean count over (0, 10] is r t / α (5 standard errors of margin)
    sd = np.sqrt(0.7 / 3.0 * 10 * (1 + 10 / 3.0) / 20_000)
    assert abs(s.frequency.mean() - 0.7 / 3.0 * 10) < 5 * sd
    with pytest.raises(ValueError, match="positive"):
        model(**{"r": 0.7, "alpha": 3.0, shape: 2.0, infinite: np.nan})
    with pytest.raises(ValueError, match="positive finite"):
        model(**{"r": np.inf, "alpha": 3.0, shape: 2.0, infinite: 5.0})


@pytest.mark.parametrize("model", RFM_MODELS, ids=lambda m: m.__name__)
def test_the_decision_does_not_depend_on_the_time_unit(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        days = model.fit(**YOUNG)
        weeks = model.fit(frequency=X, recency=R / 7, T=T / 7, weights=W)
    assert weeks.fit_info.limit == days.fit_info.limit == "no dropout"
    assert weeks.r == pytest.approx(days.r, rel=1e-7)
    assert weeks.alpha == pytest.approx(days.alpha / 7, rel=1e-7)


@pytest.mark.parametrize("model", RFM_MODELS, ids=lambda m: m.__name__)
def test_a_penalised_young_cohort_fit_also_returns_the_limit(model):
    m, _ = _fit_at_boundary(model, **YOUNG, penalizer=0.1)
    assert m.fit_info.limit == "no dropout"
    assert m.fit_info.penalizer == 0.1
    assert np.all(np.isfinite(m.expected_purchases(10.0, X, R, T)))


def _nbd_max_log_likelihood(x, t, w):
    """The NBD's maximum log-likelihood, written out and maximised here."""

    def neg(log_params):
        r, alpha = np.exp(log_params)
        ll = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        return -float(w @ (ll - (r + x) * np.log(alpha + t)))

    return -min(
        optimize.minimize(neg, np.log(start), method="Nelder-Mead", options={"fatol": 1e-10}).fun
        for start in ([0.5, 1.0], [2.0, 8.0])
    )


def test_a_little_dropout_is_an_interior_maximum_without_warning():
    # customers who bought early and then stopped make dropout visible
    extra = np.array([(1, 1, 12, 8), (1, 2, 12, 6), (10, 3, 12, 2), (3, 2, 12, 3)], dtype=float)
    x, r, t, w = (np.append(col, add) for col, add in zip((X, R, T, W), extra.T, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)
        fits = [model.fit(frequency=x, recency=r, T=t, weights=w) for model in (BGNBD, ParetoNBD)]
    nbd = _nbd_max_log_likelihood(x, t, w)
    for m in fits:
        assert m.fit_info.limit is None
        assert all(np.isfinite(v) for v in m.params.values())
        assert all(np.isfinite(v) for v in m.standard_errors.values())
        # far more than the tolerance separates the interior from the limit
        assert m.log_likelihood > nbd + 1.0


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (BGNBD, lambda: {"data": load_cdnow_summary()}),
        (MBGNBD, lambda: {"data": load_cdnow_summary()}),
        (ParetoNBD, lambda: {"data": load_cdnow_summary()}),
        (BGBB, lambda: {"data": load_donations()}),
    ],
    ids=["BGNBD", "MBGNBD", "ParetoNBD", "BGBB"],
)
def test_published_data_fit_in_the_interior_without_warning(model, data):
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)
        m = model.fit(**data())
    assert m.fit_info.limit is None
    assert m.fit_info.boundary == m.fit_info.not_identified == ()


# -- BG/BB -----------------------------------------------------------------------------

# donors who gave at the latest of their opportunities, and newcomers with none yet
BX = np.array([0, 1, 1, 2, 3, 2, 4, 5, 1, 3, 6, 1], dtype=float)
BN = np.array([0, 1, 3, 4, 5, 2, 6, 6, 6, 4, 6, 5], dtype=float)
BW = np.array([50, 20, 15, 12, 10, 9, 6, 4, 8, 5, 3, 6], dtype=float)
DONORS = {"frequency": BX, "recency": np.where(BX > 0, BN, 0.0), "n_periods": BN, "weights": BW}


def test_bgbb_without_sign_of_dropout_returns_the_beta_binomial_limit():
    m, message = _fit_at_boundary(BGBB, **DONORS)
    assert message.startswith("no dropout detected: ")
    assert "beta-binomial" in message
    assert m.delta == np.inf
    assert m.fit_info.boundary == ("delta",)
    assert m.fit_info.not_identified == ("gamma", "delta")
    a, b = m.alpha, m.beta
    # beta-binomial scores: sum w [ψ(a+x) - ψ(a+b+n) - ψ(a) + ψ(a+b)] = 0 and likewise in b
    score_a = BW @ (
        special.digamma(a + BX)
        - special.digamma(a + b + BN)
        - special.digamma(a)
        + special.digamma(a + b)
    )
    score_b = BW @ (
        special.digamma(b + BN - BX)
        - special.digamma(a + b + BN)
        - special.digamma(b)
        + special.digamma(a + b)
    )
    assert abs(score_a) < 1e-6 * BW.sum()
    assert abs(score_b) < 1e-6 * BW.sum()
    ll = BW @ (special.betaln(a + BX, b + BN - BX) - special.betaln(a, b))
    assert m.log_likelihood == pytest.approx(float(ll), rel=1e-12)


def test_bgbb_boundary_predictions_are_the_beta_binomial():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        m = BGBB.fit(**DONORS)
    a, b = m.alpha, m.beta
    x, tx, n = np.array([0, 2, 4]), np.array([0, 3, 6]), np.array([0, 3, 6])
    np.testing.assert_array_equal(m.p_alive(x, tx, n, periods_ahead=5), 1.0)
    # every future opportunity is taken with the posterior mean (α+x)/(α+β+n)
    mean_p = (a + x) / (a + b + n)
    np.testing.assert_allclose(m.expected_purchases(4, x, tx, n), 4 * mean_p, rtol=1e-12)
    np.testing.assert_allclose(
        m.discounted_expected_transactions(0.1, x, tx, n), mean_p / 0.1, rtol=1e-12
    )
    np.testing.assert_allclose(
        m.expected_purchases_new(np.arange(5)), np.arange(5) * a / (a + b), rtol=1e-12
    )


# -- what stays refused ------------------------------------------------------------------


@pytest.mark.parametrize("model", [BGNBD, MBGNBD, ParetoNBD, BGBB])
def test_no_customers_and_no_weight_are_refused_with_a_data_error(model):
    time_name = "n_periods" if model is BGBB else "T"
    empty = {"frequency": [], "recency": [], time_name: []}
    with pytest.raises(DataError, match="no customers: there is nothing to fit"):
        model.fit(**empty)
    rows = {"frequency": [1, 0], "recency": [2, 0], time_name: [3, 4]}
    with pytest.raises(DataError, match="no positive weight"):
        model.fit(**rows, weights=[0, 0])


@pytest.mark.parametrize("model", [BGNBD, MBGNBD, ParetoNBD])
def test_a_cohort_without_repeat_purchases_cannot_be_fitted(model):
    with pytest.raises(ConvergenceError, match="no customer made a repeat purchase"):
        model.fit(frequency=[0, 0, 0], recency=[0, 0, 0], T=[10, 20, 30])


@pytest.mark.parametrize("model", RFM_MODELS, ids=lambda m: m.__name__)
def test_the_decision_survives_perturbations_at_the_level_of_rounding(model):
    # the last bits of the data (and so of every sum) change; the decision may not
    bits = 1.0 + 1e-13 * np.arange(1, W.size + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        base = model.fit(**YOUNG)
        moved = model.fit(frequency=X, recency=R * bits, T=T * bits, weights=W * bits[::-1])
    assert moved.fit_info.limit == base.fit_info.limit == "no dropout"
    assert moved.r == pytest.approx(base.r, rel=1e-7)
    assert moved.alpha == pytest.approx(base.alpha, rel=1e-7)
