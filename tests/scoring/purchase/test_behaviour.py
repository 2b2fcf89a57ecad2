"""Derivatives, special functions, input forms, fit reports, simulators and invariants."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special

from relcore import ConvergenceError, DataError
from relcore.datasets import load_cdnow_summary, load_donations
from relcore.scoring import (
    BGBB,
    BGNBD,
    MBGNBD,
    GammaGamma,
    ParetoNBD,
    RFMSummary,
    ShiftedBetaGeometric,
    customer_lifetime_value,
    frequency_monetary_correlation,
)
from relcore.scoring.purchase._optimize import jet_objective
from relcore.scoring.purchase._special import hyp2f1_one, log_hyp2f1_shift1

# -- derivatives ---------------------------------------------------------------------------


def _finite_difference(objective, theta, h=1e-5):
    """Gradient and Hessian of objective(theta, 0) by central differences."""
    m = theta.size
    f0 = objective(theta, 0)[0]
    g = np.zeros(m)
    H = np.zeros((m, m))
    for i in range(m):
        e = np.zeros(m)
        e[i] = h
        fp, fm = objective(theta + e, 0)[0], objective(theta - e, 0)[0]
        g[i] = (fp - fm) / (2 * h)
        H[i, i] = (fp - 2 * f0 + fm) / h**2
        for j in range(i):
            d = np.zeros(m)
            d[j] = h
            fpp = objective(theta + e + d, 0)[0]
            fpm = objective(theta + e - d, 0)[0]
            fmp = objective(theta - e + d, 0)[0]
            fmm = objective(theta - e - d, 0)[0]
            H[i, j] = H[j, i] = (fpp - fpm - fmp + fmm) / (4 * h * h)
    return g, H


def _cdnow_columns(scale=39.0):
    s = load_cdnow_summary()
    return {
        "frequency": np.asarray(s.frequency, dtype=float),
        "recency": np.asarray(s.recency, dtype=float) / scale,
        "T": np.asarray(s.T, dtype=float) / scale,
    }


def _cdnow_spend_columns():
    s = load_cdnow_summary()
    repeat = np.asarray(s.frequency) > 0
    return {
        "frequency": np.asarray(s.frequency, dtype=float)[repeat],
        "monetary_value": np.asarray(s.monetary_value, dtype=float)[repeat],
    }


@pytest.mark.parametrize(
    ("model", "theta"),
    [
        (BGNBD, np.log([0.3, 0.12, 0.7, 2.0])),
        (MBGNBD, np.log([0.5, 0.15, 0.9, 1.6])),
        (ParetoNBD, np.log([0.5, 0.27, 0.6, 0.3])),  # alpha < beta
        (ParetoNBD, np.log([0.5, 0.4, 0.6, 0.2])),  # alpha > beta
    ],
)
def test_exact_gradient_and_hessian_agree_with_finite_differences(model, theta):
    # the objective is private: no public API exposes derivatives
    cols = _cdnow_columns()
    w = np.ones(cols["T"].size)
    objective = model._objective_factory(cols, w)
    _, g, H = objective(theta, 2)
    g_fd, H_fd = _finite_difference(objective, theta)
    np.testing.assert_allclose(g, g_fd, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(H, H_fd, rtol=1e-3, atol=1e-1)


@pytest.mark.parametrize(
    ("model", "theta"),
    [
        (BGNBD, np.log([0.3, 0.12, 0.7, 2.0])),
        (MBGNBD, np.log([0.5, 0.15, 0.9, 1.6])),
        (ParetoNBD, np.log([0.5, 0.4, 0.6, 0.2])),
        (GammaGamma, np.log([6.0, 3.5, 15.0])),
    ],
)
def test_hand_written_objectives_equal_the_likelihood_written_once(model, theta):
    # the fast objectives must be the derivatives of the model's own _rows likelihood
    # (private on purpose: this pins the hand-written derivatives to the jet version)
    cols = _cdnow_columns() if model is not GammaGamma else _cdnow_spend_columns()
    w = np.random.default_rng(0).uniform(0.5, 2.0, cols["frequency"].size)
    fast = model._objective_factory(cols, w)(theta, 2)
    reference = jet_objective(model._rows, cols, w)(theta, 2)
    assert fast[0] == pytest.approx(reference[0], rel=1e-12)
    np.testing.assert_allclose(fast[1], reference[1], rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(fast[2], reference[2], rtol=1e-9, atol=1e-8)


def _hyp2f1_shift1_by_quadrature(a, b, z):
    """2F1(a, b; a+1; z) = a ∫_0^1 t^(a-1) (1 - z t)^-b dt = ∫_0^1 (1 - z u^(1/a))^-b du
    (Euler's integral with u = t^a, whose integrand is smooth)."""
    return integrate.quad(lambda u: (1 - z * u ** (1 / a)) ** -b, 0, 1, epsabs=0, epsrel=1e-13)[0]


def test_log_hyp2f1_shift1_and_its_derivatives_match_euler_integral():
    rng = np.random.default_rng(4)  # any points will do
    # the Pareto/NBD uses b <= a (b = s, s+1 with a = r+s+x, or b = r+x, r+x+1)
    a = rng.uniform(0.2, 40, 40)
    b = rng.uniform(0.1, 1.0, 40) * (a + 1.0)
    z = rng.uniform(0, 0.97, 40)
    val, grad, _ = log_hyp2f1_shift1(a, b, z, derivatives=True)
    ref = [np.log(_hyp2f1_shift1_by_quadrature(*p)) for p in zip(a, b, z, strict=True)]
    np.testing.assert_allclose(val, ref, rtol=1e-10)
    h = 1e-5
    for i, step in enumerate([(h, 0, 0), (0, h, 0), (0, 0, h)]):
        for k in range(a.size):
            up = np.log(
                _hyp2f1_shift1_by_quadrature(a[k] + step[0], b[k] + step[1], z[k] + step[2])
            )
            down = np.log(
                _hyp2f1_shift1_by_quadrature(a[k] - step[0], b[k] - step[1], z[k] - step[2])
            )
            assert grad[i][k] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-7)


def test_hyp2f1_one_agrees_with_the_euler_integral_near_z_equal_1():
    # 2F1(1, c; d; z) = E[1 / (1 - z t)] for t ~ Beta(c, d - c)
    from scipy.stats import beta as beta_dist

    for c, d, z in [
        (1.0, 3.0, 0.9999),
        (0.5, 2.5, 0.99999),
        (3.3, 4.3, 0.999999),
        (3662.0, 3664.0, 0.996),
        (1.6, 2.7, 0.99995),
    ]:
        ref = integrate.quad(
            lambda t, c=c, d=d, z=z: beta_dist.pdf(t, c, d - c) / (1 - z * t),
            0,
            1,
            points=[0.999, 0.99999],
            limit=1000,
            epsrel=1e-11,
        )[0]
        assert float(hyp2f1_one(c, d, z)) == pytest.approx(ref, rel=1e-7), (c, d, z)


def test_paretonbd_likelihood_matches_quadrature_of_its_definition():
    r, alpha, s, beta = 0.553, 10.578, 0.606, 11.669
    rows = [(0, 0.0, 38.0), (2, 30.4, 38.9), (7, 35.0, 36.0), (30, 20.0, 39.0)]
    # per-customer likelihoods have no public API: the model's one statement of it
    ll = ParetoNBD._rows(
        [r, alpha, s, beta],
        {
            k: np.array([row[i] for row in rows], dtype=float)
            for i, k in enumerate(("frequency", "recency", "T"))
        },
    )
    for (x, tx, T), got in zip(rows, ll, strict=True):
        head = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
        dead = integrate.quad(
            lambda tau, x=x: (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1),
            tx,
            T,
            epsabs=0,
            epsrel=1e-12,
        )[0]
        assert got == pytest.approx(head + np.log(alive + s * dead), rel=1e-10)


# -- input forms, compression, reports ---------------------------------------------------------


def test_fit_accepts_summary_mapping_dataframe_and_arrays_alike():
    pd = pytest.importorskip("pandas")
    s = load_cdnow_summary()
    cols = {"frequency": s.frequency, "recency": s.recency, "T": s.T}
    reference = BGNBD.fit(s).params
    for data in (cols, pd.DataFrame(cols)):
        assert BGNBD.fit(data).params == pytest.approx(reference, rel=1e-10)
    assert BGNBD.fit(**cols).params == pytest.approx(reference, rel=1e-10)


def test_weights_give_the_same_fit_as_repeated_rows():
    d = load_donations()
    expanded = {
        k: np.repeat(d[k], d["weights"].astype(int)) for k in ("frequency", "recency", "n_periods")
    }
    a = BGBB.fit(**d)
    b = BGBB.fit(**expanded)
    assert a.params == pytest.approx(b.params, rel=1e-8)
    assert a.log_likelihood == pytest.approx(b.log_likelihood, rel=1e-10)
    assert a.fit_info.n_customers == b.fit_info.n_customers == 11104


def _bgnbd_log_likelihood(params, x, tx, T):
    """Total BG/NBD log-likelihood written out from Fader, Hardie & Lee (2005), eq. 6."""
    r, alpha, a, b = params
    head = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.betaln(a, b + x)
        - special.betaln(a, b)
    )
    alive = (alpha + T) ** -(r + x)
    dropped = np.where(x > 0, a / (b + np.maximum(x, 1) - 1) * (alpha + tx) ** -(r + x), 0.0)
    return float(np.sum(head + np.log(alive + dropped)))


def test_standard_errors_are_the_inverse_observed_information():
    s = load_cdnow_summary()
    m = BGNBD.fit(s)
    cov = m.fit_info.covariance
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), list(m.standard_errors.values()))
    # the Hessian of the total log-likelihood in natural parameters, by differences of
    # the paper's formula (the gradient is zero at the maximum)
    x, tx, T = (np.asarray(c, dtype=float) for c in (s.frequency, s.recency, s.T))
    theta = np.log(list(m.params.values()))
    _, H_fd = _finite_difference(
        lambda t, o: (-_bgnbd_log_likelihood(np.exp(t), x, tx, T), None, None), theta, h=1e-4
    )
    p = np.exp(theta)
    info_natural = H_fd / np.outer(p, p)
    np.testing.assert_allclose(cov, np.linalg.inv(info_natural), rtol=1e-3)


def test_models_are_frozen_and_refuse_nonpositive_parameters():
    m = BGNBD(r=1, alpha=2, a=3, b=4)
    with pytest.raises(AttributeError):
        m.r = 2.0
    with pytest.raises(ValueError, match="positive"):
        BGNBD(r=-1, alpha=2, a=3, b=4)
    with pytest.raises(ValueError, match="positive"):
        ParetoNBD(r=1, alpha=float("nan"), s=1, beta=1)


def test_penalizer_shrinks_parameters_towards_zero():
    s = load_cdnow_summary()
    plain, shrunk = BGNBD.fit(s), BGNBD.fit(s, penalizer=1.0)
    assert sum(v * v for v in shrunk.params.values()) < sum(v * v for v in plain.params.values())
    assert shrunk.fit_info.penalizer == 1.0


def test_unidentified_data_raise_convergence_error_with_the_reason():
    # nobody bought again: the likelihood keeps rising as the purchase rate goes to 0
    with pytest.raises(ConvergenceError) as err:
        BGNBD.fit(frequency=[0, 0, 0], recency=[0, 0, 0], T=[10, 20, 30])
    assert str(err.value)


def test_fit_refuses_both_a_data_object_and_arrays():
    s = load_cdnow_summary()
    with pytest.raises(TypeError):
        BGNBD.fit(s, frequency=s.frequency)
    with pytest.raises(DataError, match="missing column"):
        BGNBD.fit({"frequency": [1], "recency": [1]})


# -- simulators against model moments (independent of the fitting code) ----------------------


def _within_five_sigma(sample_mean, expected, sd, n):
    # five standard errors: any random stream passes (probability of failing 6e-7 each)
    assert abs(sample_mean - expected) <= 5 * sd / np.sqrt(n) + 1e-12, (sample_mean, expected)


@pytest.mark.parametrize(
    "model",
    [
        BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426),
        MBGNBD(r=0.6, alpha=5.0, a=1.2, b=2.5),
        ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669),
    ],
)
def test_simulated_purchase_counts_match_the_model_distribution(model):
    n = 200_000
    s = model.simulate(n, 39.0, rng=1)
    expected = model.probability_of_purchases(np.arange(6), 39.0)
    for k, p in enumerate(expected):
        _within_five_sigma(float(np.mean(s.frequency == k)), p, np.sqrt(p * (1 - p)), n)
    x = np.asarray(s.frequency)
    _within_five_sigma(x.mean(), float(model.expected_purchases_new(39.0)), x.std(), n)


def test_simulated_bgbb_customers_match_expected_transactions():
    m = BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    n = 200_000
    x = np.asarray(m.simulate(n, 6, rng=2).frequency)
    _within_five_sigma(x.mean(), float(m.expected_purchases_new(6)), x.std(), n)


def test_simulated_spend_matches_the_gamma_gamma_mean():
    gg = GammaGamma(p=6.25, q=3.74, v=15.44)
    n = 200_000
    m = gg.simulate(np.full(n, 3.0), rng=3)
    # E[mean spend] = p E[1/ν] = p v / (q - 1); its variance is finite as q > 2
    _within_five_sigma(float(m.mean()), 6.25 * 15.44 / 2.74, float(m.std()), n)


def test_simulated_cohort_matches_sbg_survival():
    m = ShiftedBetaGeometric(alpha=0.704, beta=1.182)
    n = 200_000
    survivors = m.simulate(n, 8, rng=4)
    for share, p in zip(survivors / n, m.survival(np.arange(9)), strict=True):
        _within_five_sigma(share, p, np.sqrt(p * (1 - p)), n)


# -- invariants ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426),
        MBGNBD(r=0.6, alpha=5.0, a=1.2, b=2.5),
        ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669),
    ],
)
def test_purchase_probabilities_sum_to_one_and_to_the_expected_count(model):
    n = np.arange(3000)
    for t in (1.0, 39.0, 200.0):
        p = model.probability_of_purchases(n, t)
        assert float(p.sum()) == pytest.approx(1.0, abs=1e-8)
        assert float(n @ p) == pytest.approx(float(model.expected_purchases_new(t)), rel=1e-6)


@pytest.mark.parametrize(
    "model",
    [
        BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426),
        ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669),
    ],
)
def test_a_new_customer_is_a_customer_with_empty_history(model):
    t = np.array([1.0, 10.0, 52.0])
    np.testing.assert_allclose(
        model.expected_purchases(t, 0, 0, 1e-12), model.expected_purchases_new(t), rtol=1e-9
    )


def test_p_alive_falls_with_silence_and_expectations_rise_with_horizon():
    for m in (
        BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426),
        MBGNBD(r=0.6, alpha=5.0, a=1.2, b=2.5),
        ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669),
    ):
        T = np.array([20.0, 25.0, 30.0, 35.0])
        assert np.all(np.diff(m.p_alive(3, 19.0, T)) < 0)
        assert np.all(np.diff(m.expected_purchases([1.0, 5.0, 20.0, 60.0], 3, 19.0, 20.0)) > 0)


def test_paretonbd_expectation_is_continuous_at_s_equal_1():
    t, x, tx, T = 20.0, 3, 15.0, 30.0
    at = ParetoNBD(r=0.8, alpha=5.0, s=1.0, beta=5.0).expected_purchases(t, x, tx, T)
    near = [
        ParetoNBD(r=0.8, alpha=5.0, s=1.0 + e, beta=5.0).expected_purchases(t, x, tx, T)
        for e in (-1e-7, 1e-7)
    ]
    assert float(at) == pytest.approx(float(np.mean(near)), rel=1e-6)


def test_sbg_survival_is_the_product_of_retention_rates():
    m = ShiftedBetaGeometric(alpha=0.704, beta=1.182)
    t = np.arange(1, 20)
    np.testing.assert_allclose(m.survival(t), np.cumprod(m.retention_rate(t)), rtol=1e-12)


def test_sbg_residual_lifetime_equals_the_discounted_sum_of_survival():
    m = ShiftedBetaGeometric(alpha=0.704, beta=1.182)
    d, n = 0.1, 3
    t = np.arange(1, 4000)
    # periods paid for by someone who has made n renewals, the next one due now
    # (undiscounted), as in Fader & Hardie (2010)
    brute = np.sum(m.survival(n + t) / m.survival(n) / (1 + d) ** (t - 1))
    assert float(m.discounted_expected_residual_lifetime(d, n)) == pytest.approx(brute, rel=1e-9)


def test_bgbb_expected_transactions_equal_a_sum_over_alive_probabilities():
    m = BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    x, tx, n = 3, 5, 6
    # E[X(n, n+m)] = sum_k P(alive at n+k) E[p | history]
    ep = (m.alpha + x) / (m.alpha + m.beta + n)
    brute = sum(m.p_alive(x, tx, n, periods_ahead=k) for k in range(1, 6)) * ep
    assert float(m.expected_purchases(5, x, tx, n)) == pytest.approx(float(brute), rel=1e-10)


def test_gammagamma_reports_the_frequency_spend_correlation():
    s = load_cdnow_summary()
    rep = s.frequency > 0
    gg = GammaGamma.fit(frequency=s.frequency[rep], monetary_value=s.monetary_value[rep])
    expected = np.corrcoef(s.frequency[rep], s.monetary_value[rep])[0, 1]
    assert gg.frequency_monetary_correlation == pytest.approx(expected)
    assert frequency_monetary_correlation(s.frequency, s.monetary_value) == pytest.approx(expected)
    # the CDNOW check of Fader, Hardie & Lee: the correlation is weak
    assert abs(expected) < 0.2


def test_clv_discounts_each_month_and_scales_with_spend():
    bg = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)
    gg = GammaGamma(p=6.25, q=3.74, v=15.44)
    s = load_cdnow_summary()
    undiscounted = customer_lifetime_value(bg, gg, s, monthly_discount_rate=0.0, months=12).clv
    per_month = 365.25 / 12 / 7
    expected = bg.expected_purchases(
        12 * per_month, s.frequency, s.recency, s.T
    ) * gg.expected_average_value(s.frequency, s.monetary_value)
    np.testing.assert_allclose(undiscounted, expected, rtol=1e-10)
    discounted = customer_lifetime_value(bg, gg, s, monthly_discount_rate=0.05).clv
    assert np.all(discounted < undiscounted + 1e-12)


def test_rfm_summary_simulations_fit_back_through_the_summary():
    s = BGNBD(r=0.5, alpha=3.0, a=1.0, b=3.0).simulate(20_000, 30.0, rng=9)
    assert isinstance(s, RFMSummary)
    through_summary = BGNBD.fit(s)
    through_arrays = BGNBD.fit(frequency=s.frequency, recency=s.recency, T=s.T)
    assert through_summary.params == through_arrays.params


def test_bgbb_dert_equals_the_discounted_sum_of_expected_transactions():
    m = BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    x, tx, n, d = 3, 5, 6, 0.1
    ep = (m.alpha + x) / (m.alpha + m.beta + n)  # E[p | history]
    brute = sum(
        float(m.p_alive(x, tx, n, periods_ahead=k)) * ep / (1 + d) ** k for k in range(1, 3000)
    )
    got = m.discounted_expected_transactions(d, x, tx, n)
    assert float(got) == pytest.approx(brute, rel=1e-9)


def test_gammagamma_correlation_counts_weighted_rows_as_repeated_customers():
    s = load_cdnow_summary()
    rep = s.frequency > 0
    x, m = s.frequency[rep], s.monetary_value[rep]
    w = 1 + np.arange(x.size) % 3
    weighted = GammaGamma.fit(frequency=x, monetary_value=m, weights=w)
    expected = np.corrcoef(np.repeat(x, w), np.repeat(m, w))[0, 1]
    assert weighted.frequency_monetary_correlation == pytest.approx(expected, rel=1e-12)
