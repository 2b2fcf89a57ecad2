"""Gamma-Gompertz/NBD: CLVTools' and Bemmaor & Glady's published CDNOW fit, the
likelihood against quadrature of its definition, and the model's own invariants."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from scipy import integrate, special

from _checks import check_diagnostics_accept, check_finite_and_in_range
from _strategies import histories, param
from relcore import FitWarning
from relcore.datasets import load_cdnow_summary
from relcore.scoring import GGompertzNBD, ParetoNBD, customer_lifetime_value
from relcore.scoring.purchase._optimize import jet_objective
from relcore.scoring.purchase.ggompertz import _gg_rows, _GGObjective

# CLVTools tests/testthat/test_correctness_ggomnbd.R (v0.12.1, commit 1b06356): its ggomnbd
# fit of CDNOW, "Coefs are our estimate", with the second-order optimality check disabled
# (kkt2.true = FALSE): r, alpha, b, s, beta (beta unitless) and the log-likelihood.
CLVTOOLS = {"r": 0.55313, "alpha": 10.5758, "b": 0.0000011, "s": 0.60682, "beta": 0.000013}
CLVTOOLS_LL = -9594.9762
# Bemmaor & Glady (2012), table 2, as quoted in the same file.
PAPER_LL = -9594.98


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def fitted(cdnow):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = GGompertzNBD.fit(cdnow)
    return model, caught


def _reference_row(p, x, tx, T):
    """The row's log-likelihood from its definition, by adaptive quadrature (scipy)."""
    r, a, s, be, c = p

    def log_bg(t):  # log(β + c (e^(t/c) - 1)), without overflow
        u = t / c
        return u + np.log(be * np.exp(-u) - c * np.expm1(-u))

    head = special.gammaln(r + x) - special.gammaln(r) + r * np.log(a)
    alive = -(r + x) * np.log(a + T) + s * (np.log(be) - log_bg(T))
    if tx >= T:
        return head + alive

    def log_f(y):
        return -(r + x) * np.log(a + y) + np.log(s) + s * np.log(be) + y / c - (s + 1) * log_bg(y)

    grid = tx + (T - tx) * np.concatenate([[0.0], np.logspace(-14, 0, 4000)])
    peak = float(np.max(log_f(grid)))
    points = [tx + (a + tx) / (r + x) * q for q in (1, 10, 100)] + [tx + c * q for q in (1, 5)]
    points = [q for q in points if tx < q < T]
    value = integrate.quad(
        lambda y: np.exp(log_f(y) - peak), tx, T, points=points or None, epsrel=1e-11, limit=800
    )[0]
    return head + np.logaddexp(alive, np.log(value) + peak)


def test_cdnow_fit_is_the_pareto_limit_that_clvtools_estimates_approach(fitted, cdnow):
    model, caught = fitted
    # The likelihood rises as the ageing vanishes (b = 1/c -> 0): the fit says so and
    # returns the Pareto/NBD limit, where CLVTools' optimiser stopped short (b = 1.1e-6).
    assert any(w.category is FitWarning for w in caught)
    assert model.c == np.inf
    assert model.b == 0.0
    assert model.r == pytest.approx(CLVTOOLS["r"], rel=1e-3)
    assert model.alpha == pytest.approx(CLVTOOLS["alpha"], rel=1e-3)
    # s and beta move together along the flat ridge towards the limit: CLVTools' s is
    # 1.0e-3 above the limit's, and its beta/b (the limit's beta) 1.3 % above
    assert model.s == pytest.approx(CLVTOOLS["s"], rel=2e-3)
    assert model.beta == pytest.approx(CLVTOOLS["beta"] / CLVTOOLS["b"], rel=0.02)
    # the supremum is at least what CLVTools and the paper report
    assert model.log_likelihood >= CLVTOOLS_LL - 1e-4
    assert model.log_likelihood >= PAPER_LL
    # ... and is the Pareto/NBD's maximum
    assert model.log_likelihood == pytest.approx(ParetoNBD.fit(cdnow).log_likelihood, abs=1e-6)


def test_clvtools_estimates_do_not_beat_the_limit(fitted, cdnow):
    model, _ = fitted
    theirs = GGompertzNBD.from_clvtools(**CLVTOOLS)
    data = {"frequency": cdnow.frequency, "recency": cdnow.recency, "T": cdnow.T}
    ll = float(np.sum(_gg_rows(list(theirs.params.values()), data)))
    assert ll <= model.log_likelihood + 1e-6
    # their own figure, -9594.9762, is this log-likelihood at their rounded estimates
    assert ll == pytest.approx(CLVTOOLS_LL, abs=0.01)


@pytest.mark.parametrize(
    ("params", "x", "tx", "T"),
    [
        ((0.55, 10.6, 0.6, 11.7, 20.0), 2.0, 30.4, 38.9),
        ((0.55, 10.6, 0.6, 11.7, 20.0), 0.0, 0.0, 38.9),
        ((2.0, 0.3, 3.0, 0.2, 0.5), 5.0, 1.0, 60.0),
        ((0.2, 30.0, 0.3, 50.0, 1e6), 30.0, 20.0, 21.0),
        ((0.7, 1.1, 1.7, 65.0, 3.6), 0.0, 0.0, 9167.0),
        ((1.3, 0.17, 0.88, 36.0, 6.2), 1000.0, 5.07, 8.54),
        ((0.5, 2.0, 0.8, 5.0, 40.0), 10_000.0, 50_000.0, 100_000.0),
    ],
)
def test_likelihood_matches_quadrature_of_its_definition(params, x, tx, T):
    got = _gg_rows(
        list(params), {"frequency": np.array([x]), "recency": np.array([tx]), "T": np.array([T])}
    )
    assert got[0] == pytest.approx(_reference_row(params, x, tx, T), rel=1e-7, abs=1e-7)


def test_hand_written_objective_matches_the_jet_version():
    rng = np.random.default_rng(0)
    n = 200
    x = rng.choice([0, 1, 2, 5, 30, 2000], n).astype(float)
    T = rng.uniform(0.5, 2.0, n)
    tx = np.where(x > 0, rng.uniform(0, 1, n) * T, 0.0)
    cols = {"frequency": x, "recency": tx, "T": T}
    w = rng.uniform(0.5, 2.0, n)
    for p in ([0.5, 3.0, 0.8, 5.0, 20.0], [2.0, 0.3, 3.0, 0.2, 0.5], [0.2, 30, 0.3, 50, 1e6]):
        theta = np.log(p)
        a = _GGObjective(cols, w)(theta, 2)
        b = jet_objective(_gg_rows, cols, w)(theta, 2)
        assert a[0] == pytest.approx(b[0], rel=1e-12)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-9 * np.abs(b[1]).max())
        np.testing.assert_allclose(a[2], b[2], rtol=1e-8, atol=1e-8 * np.abs(b[2]).max())


def test_without_ageing_every_prediction_is_the_pareto_nbds():
    slow = GGompertzNBD(r=0.55, alpha=10.6, s=0.6, beta=11.7, c=1e9)
    pareto = slow.pareto()
    x = np.array([0.0, 1, 5, 20, 500])
    tx = np.array([0.0, 5, 30, 38, 38.9])
    T = np.full(5, 39.0)
    np.testing.assert_allclose(slow.p_alive(x, tx, T), pareto.p_alive(x, tx, T), rtol=1e-6)
    np.testing.assert_allclose(
        slow.expected_purchases(39, x, tx, T), pareto.expected_purchases(39, x, tx, T), rtol=1e-6
    )
    np.testing.assert_allclose(
        slow.expected_purchases_new([1.0, 39, 500]),
        pareto.expected_purchases_new([1.0, 39, 500]),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        slow.probability_of_purchases([0, 1, 2, 10], 39),
        pareto.probability_of_purchases([0, 1, 2, 10], 39),
        atol=1e-8,
    )


def test_expected_purchases_of_a_new_customer_match_simulated_customers():
    m = GGompertzNBD(r=0.55, alpha=10.6, s=0.6, beta=11.7, c=20.0)
    s = m.simulate(100_000, 52.0, rng=7)
    se = s.frequency.std() / np.sqrt(len(s))
    assert abs(s.frequency.mean() - m.expected_purchases_new(52).item()) < 4 * se


def test_expected_purchases_integrate_the_survival_of_the_posterior():
    # E[X(T, T+t)] = P(alive) (r+x)/(α+T) ∫_T^{T+t} S(τ)/S(T) dτ, the integral by quad
    m = GGompertzNBD(r=0.55, alpha=10.6, s=0.6, beta=11.7, c=20.0)
    x, tx, T, t = 3.0, 20.0, 39.0, 52.0

    def S(tau):
        return (m.beta / (m.beta + m.c * np.expm1(tau / m.c))) ** m.s

    stay = integrate.quad(lambda v: S(T + v) / S(T), 0, t, epsrel=1e-12)[0]
    want = m.p_alive(x, tx, T).item() * (m.r + x) / (m.alpha + T) * stay
    assert m.expected_purchases(t, x, tx, T).item() == pytest.approx(want, rel=1e-8)


def test_lifetime_value_uses_the_same_expectations(cdnow):
    m = GGompertzNBD(r=0.55, alpha=10.6, s=0.6, beta=11.7, c=20.0)

    class Ten:
        def expected_average_value(self, frequency, monetary_value):
            return 10.0 + 0 * np.asarray(frequency)

    x, tx, T = cdnow.frequency[:50], cdnow.recency[:50], cdnow.T[:50]
    got = customer_lifetime_value(m, Ten(), x, tx, T, x, months=3, period_days=7)
    per_month = (365.25 / 12) / 7
    e = [m.expected_purchases(k * per_month, x, tx, T) for k in range(4)]
    want = sum(10.0 * (e[k] - e[k - 1]) / 1.01**k for k in range(1, 4))
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_newcomers_carry_no_information_and_are_alive():
    m = GGompertzNBD(r=0.55, alpha=10.6, s=0.6, beta=11.7, c=20.0)
    zero = {"frequency": np.zeros(1), "recency": np.zeros(1), "T": np.zeros(1)}
    assert _gg_rows(list(m.params.values()), zero)[0] == pytest.approx(0.0, abs=1e-12)
    assert m.p_alive(0, 0, 0).item() == 1.0


@pytest.mark.parametrize(
    "params",
    [
        (1e-4, 1e4, 1e-4, 1e4, 1e-4),
        (1e4, 1e-4, 1e4, 1e-4, 1e4),
        (1e-4, 1e-4, 1e-4, 1e-4, 1e-4),
        (0.5, 10.0, 0.6, 12.0, 1e300),
    ],
)
def test_extreme_inputs_give_finite_in_range_values(params):
    m = GGompertzNBD(*params)
    x = np.array([0.0, 10_000, 10_000, 1, 0])
    tx = np.array([0.0, 1e5, 1.0, 99_999, 0])
    T = np.array([1e5, 1e5, 1e5, 1e5, 0])
    ll = _gg_rows(list(m.params.values()), {"frequency": x, "recency": tx, "T": T})
    assert np.isfinite(ll).all()
    p = m.p_alive(x, tx, T)
    assert ((p >= 0) & (p <= 1)).all()
    e = m.expected_purchases(1e5, x, tx, T)
    assert np.isfinite(e).all()
    assert (e >= 0).all()
    assert np.isfinite(m.expected_purchases_new([0.0, 1.0, 1e5])).all()


@pytest.mark.slow
def test_fit_recovers_an_ageing_dropout_from_simulated_customers():
    truth = GGompertzNBD(r=1.0, alpha=4.0, s=1.0, beta=20.0, c=8.0)
    s = truth.simulate(4000, 52.0, rng=11)
    m = GGompertzNBD.fit(s)
    intervals = m.confidence_intervals(0.99)
    for name, value in truth.params.items():
        lo, hi = intervals[name]
        assert lo < value < hi, name
    # the ageing is detected: the fit is not the Pareto/NBD limit
    assert np.isfinite(m.c)


def test_pareto_limit_objective_reproduces_the_pareto_nbd_likelihood(cdnow):
    # the limit's quadrature against ParetoNBD's hypergeometric series, at its fit
    p = ParetoNBD.fit(cdnow)
    m = GGompertzNBD(r=p.r, alpha=p.alpha, s=p.s, beta=p.beta, c=1e12)
    data = {"frequency": cdnow.frequency, "recency": cdnow.recency, "T": cdnow.T}
    ll = float(np.sum(_gg_rows(list(m.params.values()), data)))
    assert ll == pytest.approx(p.log_likelihood, abs=1e-4)


def test_diagnostics_accept_the_model():
    check_diagnostics_accept(GGompertzNBD(r=0.55, alpha=10.6, s=0.6, beta=11.7, c=50.0))


@settings(max_examples=25, deadline=None)
@given(histories(), param, param, param, param, param)
def test_anyparameters_and_history_give_finite_in_range_values(h, r, alpha, s, beta, c):
    check_finite_and_in_range(GGompertzNBD(r=r, alpha=alpha, s=s, beta=beta, c=c), *h)


def test_a_cohort_without_dropout_gets_the_nbd_limit_as_the_pareto_nbd_does():
    frequency = np.array([0, 1, 2, 8, 15, 4, 1, 3])
    T = np.array([0, 8, 10, 12, 11, 9, 12, 10])
    young = {"frequency": frequency, "recency": np.where(frequency > 0, T, 0), "T": T}
    with pytest.warns(FitWarning):
        m = GGompertzNBD.fit(**young)
    with pytest.warns(FitWarning):
        p = ParetoNBD.fit(**young)
    assert m.beta == np.inf
    assert m.c == np.inf
    assert m.r == pytest.approx(p.r, rel=1e-9)
    assert m.alpha == pytest.approx(p.alpha, rel=1e-9)
    assert m.log_likelihood == pytest.approx(p.log_likelihood, rel=1e-12)
    assert (m.p_alive(young["frequency"], young["recency"], T) == 1.0).all()
    assert set(m.fit_info.not_identified) >= {"s", "beta", "c"}
