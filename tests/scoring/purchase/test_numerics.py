"""Special functions near the boundary of the parameter space, where a fit without
dropout takes the dropout parameters (b, δ -> inf for the beta-geometric models, β -> inf
for the Pareto/NBD)."""

import numpy as np
import pytest
from scipy import integrate, special
from scipy.stats import beta as beta_dist

from relcore.scoring import BGNBD, MBGNBD
from relcore.scoring.purchase._special import hyp2f1_one, log_beta_ratio


@pytest.mark.parametrize("b", [0.3, 2.5, 1e4, 5.3e8, 1e15])
def test_log_beta_ratio_is_exact_for_any_b(b):
    # B(2, c) = 1 / (c (c + 1)), so B(2, b+k) / B(2, b) = b (b+1) / ((b+k) (b+k+1))
    k = np.array([0, 1, 2, 5, 40, 3000])
    expected = -np.log1p(k / b) - np.log1p(k / (b + 1.0))
    got = log_beta_ratio(2.0, b, k)[0]
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize(("a", "b"), [(0.7, 2.4), (3.0, 1e9), (1e-6, 1e-4)])
def test_log_beta_ratio_gradient_agrees_with_differences(a, b):
    k = np.array([0, 1, 3, 17, 250])
    _, (ga, gb), _ = log_beta_ratio(a, b, k, derivatives=True)

    def f(aa, bb):
        return log_beta_ratio(aa, bb, k)[0]

    ha, hb = 1e-6 * a, 1e-6 * b
    np.testing.assert_allclose(ga, (f(a + ha, b) - f(a - ha, b)) / (2 * ha), rtol=1e-6)
    np.testing.assert_allclose(gb, (f(a, b + hb) - f(a, b - hb)) / (2 * hb), rtol=1e-6)


def test_log_beta_ratio_hessian_is_the_trigamma_difference():
    # d2/da2 = d2/da db = psi'(a+b) - psi'(a+b+k); d2/db2 adds psi'(b+k) - psi'(b)
    a, b, k = 0.7, 2.4, np.array([0, 1, 3, 17, 250])
    _, _, ((haa, hab), (hba, hbb)) = log_beta_ratio(a, b, k, derivatives=True)
    t = special.polygamma(1, a + b) - special.polygamma(1, a + b + k)
    np.testing.assert_allclose(haa, t, rtol=1e-12)
    np.testing.assert_allclose(hab, t, rtol=1e-12)
    np.testing.assert_allclose(hba, t, rtol=1e-12)
    np.testing.assert_allclose(
        hbb, special.polygamma(1, b + k) - special.polygamma(1, b) + t, rtol=1e-10
    )


@pytest.mark.parametrize("b", [1e4, 5.3e8, 1e15])
def test_log_beta_ratio_b_derivatives_are_exact_for_large_b(b):
    # a = 2: log R = -log(1 + k/b) - log(1 + k/(b+1)), differentiated by hand
    k = np.array([1, 5, 40, 3000])
    _, (_, gb), (_, (_, hbb)) = log_beta_ratio(2.0, b, k, derivatives=True)
    expected_gb = k / (b * (b + k)) + k / ((b + 1) * (b + 1 + k))
    expected_hbb = (
        -k * (2 * b + k) / (b * (b + k)) ** 2 - k * (2 * (b + 1) + k) / ((b + 1) * (b + 1 + k)) ** 2
    )
    np.testing.assert_allclose(gb, expected_gb, rtol=1e-12)
    np.testing.assert_allclose(hbb, expected_hbb, rtol=1e-10)


@pytest.mark.parametrize(("c", "d", "z"), [(0.5, 2.5, 0.95), (10.0, 10.7, 0.99), (2.2, 2.9, 0.999)])
def test_hyp2f1_one_near_z_equal_1_agrees_with_the_euler_integral(c, d, z):
    # 2F1(1, c; d; z) = E[1 / (1 - z t)] for t ~ Beta(c, d - c)
    ref = integrate.quad(
        lambda t: beta_dist.pdf(t, c, d - c) / (1 - z * t),
        0,
        1,
        points=[0.99, 0.999, 0.9999],
        limit=2000,
        epsrel=1e-12,
    )[0]
    assert float(hyp2f1_one(c, d, z)) == pytest.approx(ref, rel=1e-8)


@pytest.mark.parametrize("w", [1e-3, 1e-7, 1e-12])
def test_hyp2f1_one_at_z_within_a_hair_of_1_matches_closed_forms(w):
    z = 1.0 - w
    # 2F1(1, 1/2; 3/2; z) = atanh(sqrt z) / sqrt z and 2F1(1, 1; 2; z) = -log(1 - z) / z
    atanh = 0.5 * (np.log1p(np.sqrt(z)) - np.log(w / (1 + np.sqrt(z))))
    assert float(hyp2f1_one(0.5, 1.5, z, w)) == pytest.approx(atanh / np.sqrt(z), rel=1e-9)
    assert float(hyp2f1_one(1.0, 2.0, z, w)) == pytest.approx(-np.log(w) / z, rel=1e-9)


@pytest.mark.parametrize("model", [BGNBD, MBGNBD])
def test_purchase_probabilities_approach_the_nbd_as_b_grows(model):
    # without dropout the count over (0, t] is negative binomial; dropout is about a / b
    r, alpha, a, t = 0.6, 5.0, 1.3, 30.0
    n = np.arange(8)
    nbd = model(r=r, alpha=alpha, a=a, b=np.inf).probability_of_purchases(n, t)
    for b in (1e6, 1e9, 1e12):
        near = model(r=r, alpha=alpha, a=a, b=b).probability_of_purchases(n, t)
        assert np.all(np.abs(near / nbd - 1) <= 50 * a / b * (1 + n))


@pytest.mark.parametrize("model", [BGNBD, MBGNBD])
def test_p_alive_is_the_logistic_of_the_paper_log_odds_even_where_they_overflow(model):
    # odds of having dropped out, a/(b+x-1) ((α+T)/(α+t_x))^(r+x) (MBG/NBD: a/(b+x)), in
    # log space; here r log(1 + T/α) reaches 2,300 for customers without repeat purchases
    r, alpha, a, b = 200.0, 1.0, 0.7, 1.6
    x = np.array([0.0, 0.0, 1.0, 5.0, 5.0, 10_000.0])
    tx = np.array([0.0, 0.0, 0.5, 99_999.0, 100_000.0, 3.0])
    T = np.array([1.0, 1e5, 1.0, 1e5, 1e5, 1e5])
    shift = 1.0 if model is BGNBD else 0.0
    log_odds = np.log(a / (b + np.maximum(x, shift) - shift)) + (r + x) * (
        np.log(alpha + T) - np.log(alpha + tx)
    )
    if model is BGNBD:
        log_odds[x == 0] = -np.inf  # no repeat purchase, no chance to drop out yet
    expected = special.expit(-log_odds)
    got = model(r=r, alpha=alpha, a=a, b=b).p_alive(x, tx, T)
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=0)


@pytest.mark.parametrize(
    "b", [1.0, 1.0 + 5e-7, 1.0 - 1e-6 + 1e-16, 1.0 + 1.0000000000287557e-06, 2.0 - 3e-7]
)
def test_hyp2f1_one_is_exact_where_b_nearly_meets_a_pole_of_the_connection_formula(b):
    # b = d - c within a hair of an integer: both terms of the connection formula to 1 - z
    # have poles there (an sBG residual lifetime at alpha = 1.000001 once returned inf)
    c, z = 1.0001, 1 / 1.0625
    d = c + b
    ref = integrate.quad(
        lambda t: beta_dist.pdf(t, c, d - c) / (1 - z * t), 0, 1, limit=200, epsrel=1e-12
    )[0]
    assert float(hyp2f1_one(c, d, z, 0.0625 / 1.0625)) == pytest.approx(ref, rel=1e-8)


def _beta_ratio_sums(a: float, b: float, n0: int, m: np.ndarray) -> np.ndarray:
    """Σ_{n=n0+1..n0+m} B(a, b+n-1)/B(a, b), term by term: B(a, b+n)/B(a, b) is the
    product of (b+j)/(a+b+j) over j < n."""
    j = np.arange(n0 + int(m.max()), dtype=np.float64)
    log_terms = np.concatenate([[0.0], np.cumsum(np.log(b + j) - np.log(a + b + j))])
    terms = np.exp(log_terms[n0 : n0 + int(m.max())])
    return np.concatenate([[0.0], np.cumsum(terms)])[m]


@pytest.mark.parametrize("a", [0.25, 1.0 - 1e-6, 1.0, 1.0 + 1e-9, 1.0 + 1e-4, 2.0, 30.0])
@pytest.mark.parametrize("b", [1e-3, 0.5, 3.7, 1026.0])
@pytest.mark.parametrize("n0", [0, 1, 7, 19, 20, 21, 1000, 30_000])
def test_survived_chances_are_the_sum_of_beta_ratios_wherever_they_start(a, b, n0):
    from relcore.scoring.purchase._special import survived_chances

    m = np.array([0, 1, 2, 7, 19, 20, 21, 400, 5000])
    got = survived_chances(a, np.full(m.size, b), n0, m)
    np.testing.assert_allclose(got, _beta_ratio_sums(a, b, n0, m), rtol=1e-9)
    assert got[0] == 0.0


@pytest.mark.parametrize("gamma", [0.3, 1.0 - 1e-7, 1.0 + 1e-6, 2.5])
@pytest.mark.parametrize("n", [6, 100_000])
def test_bgbb_expected_purchases_grow_by_the_survived_opportunities_after_long_histories(gamma, n):
    # E[X(m) | history] is P(history-weighted alive) times Σ_{j=n+1..n+m} B(γ, δ+j) / B(γ, δ):
    # its ratio to the first opportunity's is Σ_j B(γ, δ+j) / B(γ, δ+n+1), whatever the
    # purchase side, the survival sum from an opportunity far along (FHS 2010, eq. 13)
    from relcore.scoring.purchase import BGBB

    delta = 2.783
    model = BGBB(alpha=1.204, beta=0.750, gamma=gamma, delta=delta)
    m = np.array([1, 2, 9, 300, 4000])
    with np.errstate(invalid="raise", over="raise"):
        got = model.expected_purchases(m, 3, 5, n)
    assert np.isfinite(got).all()
    assert (got > 0).all()
    expected_ratio = _beta_ratio_sums(gamma, delta + n + 1.0, 0, m)
    np.testing.assert_allclose(got / got[0], expected_ratio, rtol=1e-9)


@pytest.mark.parametrize("y", [0.3, 5.0, 19.5, 20.0, 1e3, 1e8, 1e15])
def test_lgamma_slopes_match_closed_forms_at_whole_steps(y):
    # (log Γ(y+d) - log Γ(y)) / d: log y at d = 1, log(y (y+1)) / 2 at d = 2, ψ(y) as d -> 0,
    # and their rises from y to y + m follow from the recurrence Γ(y+1) = y Γ(y)
    from relcore.scoring.purchase._special import lgamma_slope, lgamma_slope_rise

    m = np.array([0, 1, 2, 7, 40, 10**6])
    np.testing.assert_allclose(lgamma_slope(y, 1.0), np.log(y), rtol=1e-14)
    np.testing.assert_allclose(lgamma_slope(y, 2.0), np.log(y * (y + 1.0)) / 2, rtol=1e-14)
    np.testing.assert_allclose(lgamma_slope(y, 0.0), special.digamma(y), rtol=1e-14)
    np.testing.assert_allclose(lgamma_slope_rise(y, m, 1.0), np.log1p(m / y), rtol=1e-13)
    two = (np.log1p(m / y) + np.log1p(m / (y + 1.0))) / 2
    np.testing.assert_allclose(lgamma_slope_rise(y, m, 2.0), two, rtol=1e-13)
    harmonic = np.array([np.sum(1.0 / (y + np.arange(k))) for k in m])
    np.testing.assert_allclose(lgamma_slope_rise(y, m, 0.0), harmonic, rtol=1e-13)
    np.testing.assert_allclose(lgamma_slope_rise(y, m, 1e-12), harmonic, rtol=1e-10)


@pytest.mark.parametrize(
    "params", [(1.2, 0.75, 0.66, 2.8), (0.3, 5.0, 1.7, 0.2), (2.0, 0.1, 0.01, 1e5)]
)
def test_bgbb_likelihood_derivatives_agree_with_differences_of_its_values(params):
    # the fit's gradient and Hessian (in the log-parameters) of the BG/BB log-likelihood,
    # summed over opportunities of death at once, against central differences of the
    # likelihood's plain values, for histories with long silences
    from relcore.scoring.purchase import BGBB
    from relcore.scoring.purchase import _jet as jet

    n = np.array([1.0, 6.0, 40.0, 300.0, 300.0, 2500.0])
    tx = np.array([0.0, 6.0, 3.0, 290.0, 10.0, 7.0])
    x = np.array([0.0, 4.0, 1.0, 50.0, 10.0, 2.0])
    data = {"frequency": x, "recency": tx, "n_periods": n}
    theta = np.log(np.array(params))
    fitted = BGBB._rows(jet.Jet.parameters(theta), data)

    def value(t):
        return BGBB._rows(list(np.exp(t)), data)

    np.testing.assert_allclose(fitted.val, value(theta), rtol=1e-12)
    h = 1e-5
    for k in range(4):
        e = np.zeros(4)
        e[k] = h
        grad = (value(theta + e) - value(theta - e)) / (2 * h)
        np.testing.assert_allclose(fitted.grad[:, k], grad, rtol=1e-6, atol=1e-8)
        hess = (
            BGBB._rows(jet.Jet.parameters(theta + e), data).grad
            - BGBB._rows(jet.Jet.parameters(theta - e), data).grad
        ) / (2 * h)
        np.testing.assert_allclose(fitted.hess[:, k, :], hess, rtol=1e-5, atol=1e-7)
