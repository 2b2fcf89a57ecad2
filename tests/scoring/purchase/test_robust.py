"""Finite, in-range numbers on extreme inputs, and clear errors on bad ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _checks import check_finite_and_in_range
from _strategies import histories, param
from relcore import DataError
from relcore.scoring import (
    BGBB,
    BGNBD,
    MBGNBD,
    GammaGamma,
    ParetoNBD,
    ShiftedBetaGeometric,
    customer_lifetime_value,
)


@settings(max_examples=60)
@given(histories(), param, param, param, param)
def test_bgnbd_stays_finite_and_in_range_on_extreme_inputs(h, r, alpha, a, b):
    check_finite_and_in_range(BGNBD(r=r, alpha=alpha, a=a, b=b), *h, probabilities=True)


def test_bgnbd_expectation_is_continuous_where_a_plus_b_is_one():
    # a + b = 1 puts the hypergeometric function of a customer without repeat purchases
    # at its pole (c = a + b + x - 1 = 0); the expectation itself has a limit there
    x = np.array([0.0, 0.0, 0.0, 3.0])
    tx = np.array([0.0, 0.0, 0.0, 5.0])
    T = np.array([0.0, 10.0, 40.0, 40.0])
    t = np.array([0.0, 5.0, 52.0, 52.0])
    at_pole = BGNBD(r=0.5, alpha=1.0, a=0.5, b=0.5).expected_purchases(t, x, tx, T)
    for eps in (1e-7, -1e-7):
        near = BGNBD(r=0.5, alpha=1.0, a=0.5 + eps, b=0.5).expected_purchases(t, x, tx, T)
        np.testing.assert_allclose(at_pole, near, rtol=1e-5, atol=1e-12)
    assert at_pole[0] == 0.0


@settings(max_examples=60)
@given(histories(), param, param, param, param)
def test_mbgnbd_stays_finite_and_in_range_on_extreme_inputs(h, r, alpha, a, b):
    check_finite_and_in_range(MBGNBD(r=r, alpha=alpha, a=a, b=b), *h, probabilities=True)


@settings(max_examples=60)
@given(histories(), param, param, param, param)
def test_paretonbd_stays_finite_and_in_range_on_extreme_inputs(h, r, alpha, s, beta):
    check_finite_and_in_range(ParetoNBD(r=r, alpha=alpha, s=s, beta=beta), *h, probabilities=True)


def _pareto_p_alive_by_quadrature(r, alpha, s, beta, x, tx, T):
    """P(alive) from the defining integral, scaled so that nothing overflows:
    A / (A + s * I) with A = (α+T)^-(r+x) (β+T)^-s and I = ∫_tx^T (α+τ)^-(r+x) (β+τ)^-(s+1).
    """
    from scipy import integrate

    p = r + x

    def scaled(tau):  # integrand / ((α+tx)^-p (β+tx)^-(s+1))
        return np.exp(
            -p * np.log1p((tau - tx) / (alpha + tx)) - (s + 1) * np.log1p((tau - tx) / (beta + tx))
        )

    integral = integrate.quad(scaled, tx, T, epsabs=0, epsrel=1e-12, limit=200)[0]
    log_a = -p * np.log1p((T - tx) / (alpha + tx)) - s * np.log1p((T - tx) / (beta + tx))
    log_i = np.log(s * integral) - np.log(beta + tx)  # (β+tx)^-(s+1) vs (β+tx)^-s
    return 1.0 / (1.0 + np.exp(log_i - log_a))


@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},  # alpha < beta branch
        {"r": 1.3, "alpha": 20.0, "s": 1.7, "beta": 6.0},  # alpha > beta branch
        {"r": 0.8, "alpha": 5.0, "s": 1.0, "beta": 5.0},  # s = 1 and alpha = beta
        {"r": 0.5, "alpha": 0.2, "s": 2.0, "beta": 3e4},  # beta >> alpha: 2F1 near z = 1
    ],
)
def test_paretonbd_predictions_match_quadrature_of_the_likelihood(params):
    m = ParetoNBD(**params)
    r, alpha, s, beta = params.values()
    rng = np.random.default_rng(5)  # any histories will do
    x = rng.integers(0, 60, 40).astype(float)
    T = rng.uniform(1, 80, 40)
    tx = np.where(x > 0, rng.uniform(0, 1, 40) * T, 0.0)
    expected_alive = np.array(
        [
            _pareto_p_alive_by_quadrature(r, alpha, s, beta, *row)
            for row in zip(x, tx, T, strict=True)
        ]
    )
    np.testing.assert_allclose(m.p_alive(x, tx, T), expected_alive, rtol=1e-8)
    # note 008 eq. 22 given P(alive): (r+x)(β+T)/((α+T)(s-1)) [1 - ((β+T)/(β+T+t))^(s-1)]
    t = 20.0
    ell = np.log1p(t / (beta + T))
    per_alive = (r + x) * (beta + T) / (alpha + T) * ell  # the s = 1 limit
    if s != 1.0:
        per_alive = (r + x) * (beta + T) / ((alpha + T) * (s - 1)) * -np.expm1(-(s - 1) * ell)
    np.testing.assert_allclose(
        m.expected_purchases(t, x, tx, T), per_alive * expected_alive, rtol=1e-8
    )


@pytest.mark.parametrize("x", [300.0, 1000.0, 5000.0, 10_000.0])
def test_paretonbd_is_finite_and_exact_above_frequency_300_where_lifetimes_overflows(x):
    params = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    m = ParetoNBD(**params)
    T = 39.0
    tx = T - 30.0 / x  # silent for about as long as 3/4 of a purchase gap
    ll = m._rows(
        list(m.params.values()),
        {"frequency": np.array([x]), "recency": np.array([tx]), "T": np.array([T])},
    )
    assert np.all(np.isfinite(ll))
    expected = _pareto_p_alive_by_quadrature(*params.values(), x, tx, T)
    assert float(m.p_alive(x, tx, T)) == pytest.approx(expected, rel=1e-8)
    # a purchase right at T means certainly alive, whatever the frequency
    assert float(m.p_alive(x, T, T)) == pytest.approx(1.0, rel=1e-10)  # log terms ~ 4e4
    e = m.expected_purchases(10.0, x, T, T)
    assert np.isfinite(e)
    assert e > 0


@settings(max_examples=60)
@given(
    st.lists(st.integers(1, 100_000), min_size=6, max_size=6),
    st.lists(st.floats(0, 1), min_size=6, max_size=6),
    st.integers(0, 100_000),
    param,
    param,
    param,
    param,
)
def test_bgbb_stays_finite_and_in_range_on_extreme_inputs(n, shares, ahead, a, b, g, d):
    n = np.array(n, dtype=float)
    tx = np.floor(np.array(shares) * n)
    x = np.floor(np.array(shares) * tx)
    x = np.where(tx > 0, np.maximum(x, 1.0), 0.0)
    m = BGBB(alpha=a, beta=b, gamma=g, delta=d)
    ll = m._rows(list(m.params.values()), {"frequency": x, "recency": tx, "n_periods": n})
    assert np.all(np.isfinite(ll))
    p = m.p_alive(x, tx, n, periods_ahead=ahead)
    assert np.all(np.isfinite(p))
    assert np.all((p >= 0) & (p <= 1))
    e = m.expected_purchases(ahead, x, tx, n)
    assert np.all(np.isfinite(e))
    assert np.all((e >= 0) & (e <= ahead * (1 + 1e-12)))  # at most one per opportunity
    e0 = m.expected_purchases_new(n)
    assert np.all(np.isfinite(e0))
    assert np.all((e0 >= 0) & (e0 <= n * (1 + 1e-12)))


@settings(max_examples=60)
@given(
    st.lists(st.integers(1, 10_000), min_size=5, max_size=5),
    st.lists(st.floats(1e-2, 1e6), min_size=5, max_size=5),
    param,
    param,
    param,
)
def test_gammagamma_stays_finite_where_the_expectation_exists(x, m, p, q, v):
    x, m = np.array(x, dtype=float), np.array(m)
    gg = GammaGamma(p=p, q=q, v=v)
    ll = gg._rows([p, q, v], {"frequency": x, "monetary_value": m})
    assert np.all(np.isfinite(ll))
    e = gg.expected_average_value(x, m)
    exists = p * x + q > 1
    assert np.all(np.isfinite(e[exists]))
    assert np.all(e[exists] > 0)
    assert np.all(np.isinf(e[~exists]))


@settings(max_examples=60)
# d >= 1e-6: as d -> 0 the residual lifetime grows like d**(α-1), beyond floats for tiny α
@given(param, param, st.integers(0, 10_000), st.floats(1e-6, 10))
def test_sbg_stays_finite_and_in_range(alpha, beta, t, d):
    m = ShiftedBetaGeometric(alpha=alpha, beta=beta)
    s = m.survival(t)
    assert np.isfinite(s)
    assert 0 <= s <= 1
    r = m.retention_rate(max(t, 1))
    assert 0 <= r <= 1
    derl = m.discounted_expected_residual_lifetime(d)
    assert np.isfinite(derl)
    assert derl >= 0


# -- bad input ---------------------------------------------------------------------------

GOOD = {"frequency": [0, 2, 3, 1], "recency": [0, 10, 20, 5], "T": [30, 30, 30, 30]}


@pytest.mark.parametrize(
    ("column", "bad_value", "problem"),
    [
        ("frequency", -1, "negative"),
        ("frequency", 1.5, "fractional"),
        ("frequency", np.nan, "NaN"),
        ("recency", 31, "greater than T"),
        ("recency", np.nan, "NaN"),
        ("T", np.inf, "infinite"),
    ],
)
@pytest.mark.parametrize("model", [BGNBD, MBGNBD, ParetoNBD])
def test_bad_rows_raise_dataerror_naming_column_and_row(model, column, bad_value, problem):
    data = {k: np.array(v, dtype=float) for k, v in GOOD.items()}
    data[column][2] = bad_value
    with pytest.raises(DataError, match=problem) as err:
        model.fit(**data)
    assert err.value.column == column
    assert err.value.rows == (2,)
    with pytest.raises(DataError):
        model(**dict.fromkeys(model._param_names, 1.0)).p_alive(
            data["frequency"], data["recency"], data["T"]
        )


def test_length_mismatch_raises_dataerror():
    with pytest.raises(DataError, match="differ in length"):
        BGNBD.fit(frequency=[0, 1, 2], recency=[0, 1], T=[5, 5, 5])
    with pytest.raises(DataError, match="differ in length"):
        BGNBD(r=1, alpha=1, a=1, b=1).p_alive([0, 1, 2], [0, 1], [5, 5, 5])


def test_nonzero_recency_without_repeat_purchases_is_refused():
    with pytest.raises(DataError, match="nonzero recency where frequency is 0") as err:
        BGNBD.fit(frequency=[0, 0, 1], recency=[0, 3, 2], T=[5, 5, 5])
    assert err.value.rows == (1,)


def test_gammagamma_refuses_zero_frequency_and_nonpositive_values():
    with pytest.raises(DataError, match="frequency 0") as err:
        GammaGamma.fit(frequency=[1, 0, 2, 0], monetary_value=[5.0, 5.0, 5.0, 5.0])
    assert err.value.rows == (1, 3)
    with pytest.raises(DataError, match="not positive") as err:
        GammaGamma.fit(frequency=[1, 1, 2], monetary_value=[5.0, 0.0, -2.0])
    assert err.value.rows == (1, 2)


def test_negative_weights_are_refused():
    with pytest.raises(DataError, match="negative") as err:
        BGNBD.fit(**GOOD, weights=[1, 1, -1, 1])
    assert err.value.column == "weights"


def test_bgbb_refuses_frequency_above_recency():
    with pytest.raises(DataError, match="frequency greater than recency"):
        BGBB.fit(frequency=[2, 1], recency=[1, 3], n_periods=[6, 6])


def test_sbg_refuses_rising_survivor_counts():
    with pytest.raises(DataError, match="rise") as err:
        ShiftedBetaGeometric.fit([100, 80, 85, 70])
    assert err.value.rows == (2,)


def test_clv_refuses_mixed_summary_and_columns():
    from relcore.datasets import load_cdnow_summary

    s = load_cdnow_summary()
    bg, gg = BGNBD(r=1, alpha=1, a=1, b=1), GammaGamma(p=6, q=3, v=15)
    with pytest.raises(TypeError):
        customer_lifetime_value(bg, gg, s, s.recency)


def test_expected_spend_of_a_repeat_buyer_with_free_purchases_shrinks_towards_zero():
    # note 025: E = (q - 1)/(p x + q - 1) * (p v/(q - 1)) + p x/(p x + q - 1) * mean
    gg = GammaGamma(p=6.25, q=3.74, v=15.44)
    got = float(gg.expected_average_value([2], [0.0])[0])
    assert got == pytest.approx(6.25 * 15.44 / (6.25 * 2 + 3.74 - 1))
    with pytest.raises(DataError, match="negative"):
        gg.expected_average_value([2], [-1.0])


def test_gammagamma_without_repeat_buyers_says_there_is_nothing_to_fit():
    from relcore.datasets import load_cdnow_summary

    s = load_cdnow_summary()
    repeat = (s.frequency > 0) & (s.monetary_value > 0) & (s.frequency > 1e9)  # nobody
    with pytest.raises(DataError, match="no customers with repeat purchases") as err:
        GammaGamma.fit(frequency=s.frequency[repeat], monetary_value=s.monetary_value[repeat])
    assert err.value.column == "frequency"
    with pytest.raises(DataError, match="no customers with repeat purchases"):
        GammaGamma.fit(frequency=[], monetary_value=[])


def test_an_empty_cohort_is_refused():
    with pytest.raises(DataError, match="the cohort is empty"):
        ShiftedBetaGeometric.fit([0, 0, 0])
