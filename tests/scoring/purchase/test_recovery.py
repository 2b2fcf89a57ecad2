"""Parameter recovery: fit 50,000 customers simulated from known parameters.

Each estimate must lie within 5 of its standard errors of the truth. The margin holds for
any random stream (a model with four parameters misses it with probability 2e-6), so the
tests do not depend on numpy generating the same numbers on every version; the seeds
only make a failure reproducible. The simulators are checked against model moments in
``test_behaviour.py``, independently of the fitting code.
"""

from __future__ import annotations

import numpy as np
import pytest

from relcore.scoring import (
    BGBB,
    BGNBD,
    MBGNBD,
    GammaGamma,
    ParetoNBD,
    ShiftedBetaGeometric,
)

N = 50_000


def _within_five_se(model, truth):
    se = model.standard_errors
    assert se is not None
    for name, true_value in truth.params.items():
        z = (model.params[name] - true_value) / se[name]
        assert abs(z) < 5, (
            f"{name}: estimate {model.params[name]:.4g}, truth {true_value}, z={z:.2f}"
        )


def _weeks(rng, n):
    # observation lengths in whole weeks, as in real summaries (so identical rows compress)
    return rng.integers(10, 79, n).astype(float)


@pytest.mark.parametrize(
    "truth",
    [BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426), MBGNBD(r=0.8, alpha=6.0, a=1.5, b=3.0)],
)
def test_bg_family_recovers_parameters_of_50000_simulated_customers(truth):
    rng = np.random.default_rng(2024)
    data = truth.simulate(N, _weeks(rng, N), rng=rng)
    _within_five_se(type(truth).fit(data), truth)


def test_paretonbd_recovers_parameters_of_20000_simulated_customers():
    truth = ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669)
    rng = np.random.default_rng(7)
    n = 20_000  # the Pareto/NBD likelihood costs most: fewer customers keep the test fast
    data = truth.simulate(n, _weeks(rng, n), rng=rng)
    # recency rounded up to whole days compresses the rows, as real data do
    from relcore.scoring import RFMSummary

    data = RFMSummary(
        customer_id=data.customer_id,
        frequency=data.frequency,
        recency=np.ceil(data.recency * 7) / 7,
        T=data.T,
        monetary_value=data.monetary_value,
    )
    _within_five_se(ParetoNBD.fit(data), truth)


def test_bgbb_recovers_parameters_of_50000_simulated_customers():
    truth = BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    data = truth.simulate(N, 6, rng=11)
    _within_five_se(BGBB.fit(data), truth)


def test_gammagamma_recovers_parameters_of_50000_simulated_customers():
    truth = GammaGamma(p=6.25, q=3.74, v=15.44)
    rng = np.random.default_rng(5)
    x = rng.integers(1, 15, N).astype(float)
    m = truth.simulate(x, rng=rng)
    _within_five_se(GammaGamma.fit(frequency=x, monetary_value=m), truth)


def test_sbg_recovers_parameters_of_a_50000_customer_cohort():
    truth = ShiftedBetaGeometric(alpha=0.704, beta=1.182)
    survivors = truth.simulate(N, 8, rng=3)
    _within_five_se(ShiftedBetaGeometric.fit(survivors), truth)
