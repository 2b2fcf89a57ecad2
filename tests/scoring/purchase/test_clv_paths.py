"""Customer lifetime value through the models' own multi-horizon path (P(alive) once, the
expectations once per distinct history and, for the BG/NBD family, interpolated per
frequency) equals the month-by-month sum of the models' one-horizon expectations."""

import numpy as np
import pytest

from relcore.scoring import BGNBD, MBGNBD, GammaGamma, ParetoNBD, customer_lifetime_value
from relcore.scoring.purchase import _chebyshev
from relcore.scoring.purchase import clv as clv_module
from relcore.scoring.purchase._special import _bg_horizons, bg_expectation_sum

SPEND = GammaGamma(p=6.25, q=3.74, v=15.44)
MODELS = {
    "bgnbd": BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426),
    "mbgnbd": MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614),
    "paretonbd": ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669),
    "bgnbd-no-dropout": BGNBD(r=0.243, alpha=4.414, a=1.0, b=np.inf),
    "paretonbd-no-dropout": ParetoNBD(r=0.553, alpha=10.578, s=1.0, beta=np.inf),
}


class _OneHorizonAtATime:
    """The model seen only through ``expected_purchases``: the generic path."""

    def __init__(self, model):
        self.model = model

    def expected_purchases(self, t, frequency, recency, T):
        return self.model.expected_purchases(t, frequency, recency, T)


def _customers(model, whole, n=6_000):
    rng = np.random.default_rng(3)
    T = rng.integers(1, 79, n).astype(float) if whole else rng.uniform(0.0, 78.0, n)
    s = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426).simulate(n, T, rng=rng)
    x, tx = s.frequency, np.ceil(s.recency) if whole else s.recency
    tx = np.where(x > 0, np.minimum(tx, T), 0.0)
    value = np.where(x > 0, rng.gamma(6.0, 6.0, n), 0.0)
    return x, tx, T, value


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("whole", [False, True], ids=["continuous", "whole-periods"])
@pytest.mark.parametrize("rate", [0.01, 0.0, -0.2])
def test_clv_equals_the_month_by_month_sum_of_the_models_expectations(name, whole, rate):
    model = MODELS[name]
    x, tx, T, value = _customers(model, whole)
    kw = {"months": 12, "monthly_discount_rate": rate, "period_days": 7.0}
    fast = customer_lifetime_value(model, SPEND, x, tx, T, value, **kw)
    loop = customer_lifetime_value(_OneHorizonAtATime(model), SPEND, x, tx, T, value, **kw)
    np.testing.assert_allclose(fast, loop, rtol=1e-10, atol=0)


@pytest.mark.parametrize("name", ["bgnbd", "paretonbd"])
@pytest.mark.parametrize("block", [1_000, 1_777])
def test_clv_of_customers_taken_block_by_block_equals_the_month_by_month_sum(
    monkeypatch, name, block
):
    model = MODELS[name]
    x, tx, T, value = _customers(model, whole=True)
    monkeypatch.setattr(clv_module, "_BLOCK", block)  # 6,000 customers: several blocks
    fast = customer_lifetime_value(model, SPEND, x, tx, T, value, period_days=7.0)
    loop = customer_lifetime_value(
        _OneHorizonAtATime(model), SPEND, x, tx, T, value, period_days=7.0
    )
    np.testing.assert_allclose(fast, loop, rtol=1e-10, atol=0)


def test_clv_keeps_the_shape_of_its_inputs_and_a_zero_month_horizon():
    model = MODELS["bgnbd"]
    clv = customer_lifetime_value(model, SPEND, 2.0, 10.0, [20.0, 30.0], 15.0)
    assert clv.shape == (2,)
    assert customer_lifetime_value(model, SPEND, [2.0], [10.0], [20.0], [15.0], months=0)[0] == 0


@pytest.mark.parametrize(
    ("r", "alpha", "a", "b"),
    [(0.243, 4.414, 0.793, 2.426), (1.5, 0.05, 0.9, 0.8), (0.02, 80.0, 4.0, 40.0)],
)
def test_interpolated_expectations_match_exact_ones_over_a_wide_range_of_ages(r, alpha, a, b):
    rng = np.random.default_rng(5)
    n = 12_000
    # ages over six orders of magnitude: many pieces per frequency
    beta = alpha + np.exp(rng.uniform(np.log(0.01), np.log(1e5), n))
    x = rng.choice([0.0, 1.0, 2.0, 7.0, 40.0, 900.0], n)
    t = 30.0 * np.arange(1, 13)
    w = 1.01 ** -np.arange(1.0, 13.0)
    A, B, C0 = a + b - 1.0 - r, a - 1.0, a + b - 1.0
    got = bg_expectation_sum(A, B, C0, x, beta, t, w)
    sample = rng.integers(0, n, 400)
    exact = _bg_horizons(A, B, C0, x[sample], beta[sample], t, w)
    np.testing.assert_allclose(got[sample], exact, rtol=1e-10, atol=0)


def test_pieces_that_fail_their_check_are_evaluated_exactly(monkeypatch):
    monkeypatch.setattr(_chebyshev, "_TOLERANCE", 0.0)  # no interpolant is good enough
    rng = np.random.default_rng(6)
    n = 5_000
    x, beta = rng.integers(0, 3, n).astype(float), 4.0 + rng.uniform(0, 80, n)
    t, w = 4.35 * np.arange(1, 7), np.ones(6)
    A, B, C0 = 0.793 + 2.426 - 1.0 - 0.243, 0.793 - 1.0, 0.793 + 2.426 - 1.0
    np.testing.assert_array_equal(
        bg_expectation_sum(A, B, C0, x, beta, t, w), _bg_horizons(A, B, C0, x, beta, t, w)
    )
