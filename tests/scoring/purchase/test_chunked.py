"""Large fits evaluate the objective in threaded chunks: the same sums, the same fit."""

import numpy as np
import pytest

from relcore.scoring import BGNBD, ParetoNBD
from relcore.scoring.purchase import _optimize
from relcore.scoring.purchase.bgnbd import _BGNBDObjective
from relcore.scoring.purchase.paretonbd import _ParetoObjective


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    n = 300_000  # above the threshold for chunking
    s = BGNBD(r=0.24, alpha=4.41, a=0.79, b=2.43).simulate(n, rng.uniform(1, 78, n), rng=rng)
    return {"frequency": s.frequency, "recency": s.recency / 78, "T": s.T / 78}


def test_chunked_objective_is_the_sum_over_all_rows(data, monkeypatch):
    # private on purpose: the threaded sum must equal the single-thread objective exactly
    monkeypatch.setenv("RELCORE_NUM_THREADS", "3")
    w = np.ones(data["T"].size)
    theta = np.log([0.3, 0.05, 0.7, 2.0])
    whole = _BGNBDObjective(data, w)(theta, 2)
    chunked = _optimize.chunked_objective(_BGNBDObjective, data, w)(theta, 2)
    assert chunked[0] == pytest.approx(whole[0], rel=1e-12)
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-10)
    np.testing.assert_allclose(chunked[2], whole[2], rtol=1e-10)


def test_threads_do_not_change_the_fit(data, monkeypatch):
    fits = []
    for threads in ("1", "2"):
        monkeypatch.setenv("RELCORE_NUM_THREADS", threads)
        fits.append(BGNBD.fit(frequency=data["frequency"], recency=data["recency"], T=data["T"]))
    one, two = fits
    for name in one.params:
        assert two.params[name] == pytest.approx(one.params[name], rel=1e-7)
    assert two.log_likelihood == pytest.approx(one.log_likelihood, rel=1e-12)


@pytest.fixture(scope="module")
def pareto_data():
    rng = np.random.default_rng(12)
    n = 30_000  # the tests lower the threshold for chunking to 1,000 rows
    s = ParetoNBD(r=0.55, alpha=10.6, s=0.61, beta=11.7).simulate(n, rng.uniform(1, 78, n), rng=rng)
    return {"frequency": s.frequency, "recency": s.recency / 78, "T": s.T / 78}


@pytest.mark.parametrize("log_params", [[0.55, 0.14, 0.61, 0.15], [2.0, 0.3, 0.2, 0.05]])
def test_chunked_pareto_objective_is_the_sum_over_all_rows(pareto_data, monkeypatch, log_params):
    # the second point puts alpha above beta, the other branch of the likelihood
    monkeypatch.setenv("RELCORE_NUM_THREADS", "3")
    monkeypatch.setattr(_optimize, "_PARALLEL_ROWS", 1_000)
    w = np.ones(pareto_data["T"].size)
    theta = np.log(log_params)
    whole = _ParetoObjective(pareto_data, w)(theta, 2)
    chunked = _optimize.chunked_objective(_ParetoObjective, pareto_data, w)(theta, 2)
    assert chunked[0] == pytest.approx(whole[0], rel=1e-12)
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-10)
    np.testing.assert_allclose(chunked[2], whole[2], rtol=1e-10)


def test_threads_do_not_change_the_pareto_fit(pareto_data, monkeypatch):
    monkeypatch.setattr(_optimize, "_PARALLEL_ROWS", 1_000)
    fits = []
    for threads in ("1", "2"):
        monkeypatch.setenv("RELCORE_NUM_THREADS", threads)
        fits.append(ParetoNBD.fit(pareto_data))
    one, two = fits
    for name in one.params:
        assert two.params[name] == pytest.approx(one.params[name], rel=1e-7)
    assert two.log_likelihood == pytest.approx(one.log_likelihood, rel=1e-12)
