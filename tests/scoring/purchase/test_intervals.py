"""Intervals from parameter uncertainty: they cover the true expected value as often as
their level says (checked by refitting simulated data, with statistical margins), shrink
like one over the square root of the number of customers, nest by level, and come as
columns beside the point prediction."""

from __future__ import annotations

import numpy as np
import pytest

from relcore.datasets import load_cdnow_summary
from relcore.scoring import BGBB, BGNBD, CustomerPredictions, GammaGamma, customer_lifetime_value

TRUE_BGBB = BGBB(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8)
HISTORY = (3, 5, 6)  # frequency, recency, n_periods


def _fit_bgbb(n, rng):
    s = TRUE_BGBB.simulate(n, 6, rng=rng)
    return BGBB.fit(frequency=s.frequency, recency=s.recency, n_periods=s.T)


@pytest.mark.slow
def test_ninety_percent_intervals_cover_the_true_expected_values_nine_times_in_ten():
    rng = np.random.default_rng(20261130)
    reps, hits_alive, hits_expected = 80, 0, 0
    true_alive = TRUE_BGBB.p_alive(*HISTORY).item()
    true_expected = TRUE_BGBB.expected_purchases(5, *HISTORY).item()
    for _ in range(reps):
        m = _fit_bgbb(3000, rng)
        alive = m.p_alive(*HISTORY, interval=0.9, draws=100, rng=rng)
        hits_alive += alive.p_alive_lower[0] <= true_alive <= alive.p_alive_upper[0]
        exp = m.expected_purchases(5, *HISTORY, interval=0.9, draws=100, rng=rng)
        lo, hi = exp.expected_purchases_lower[0], exp.expected_purchases_upper[0]
        hits_expected += lo <= true_expected <= hi
    # coverage 0.9: 80 replications have a standard deviation of 0.034; a margin of
    # about 3.5 of them below and 2.5 above (100 draws add a little quantile noise)
    for hits in (hits_alive, hits_expected):
        assert 0.78 <= hits / reps <= 0.99


def test_intervals_shrink_like_one_over_the_square_root_of_the_customers():
    rng = np.random.default_rng(7)
    widths = []
    for n in (2_000, 32_000):
        m = _fit_bgbb(n, rng)
        band = m.expected_purchases(5, *HISTORY, interval=0.9, draws=400, rng=rng)
        widths.append(band.expected_purchases_upper[0] - band.expected_purchases_lower[0])
    # 16 times the customers: a quarter of the width, give or take sampling noise
    assert 2.8 < widths[0] / widths[1] < 5.7


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def fitted(cdnow):
    return BGNBD.fit(cdnow), GammaGamma.fit(cdnow[cdnow.frequency > 0])


def test_interval_columns_sit_beside_the_point_prediction_and_nest_by_level(cdnow, fitted):
    m, _ = fitted
    few = cdnow[:200]
    wide = m.p_alive(few, interval=0.95, draws=300, rng=1)
    narrow = m.p_alive(few, interval=0.5, draws=300, rng=1)
    assert isinstance(wide, CustomerPredictions)
    assert list(wide.columns) == ["p_alive", "p_alive_lower", "p_alive_upper"]
    np.testing.assert_array_equal(wide.customer_id, few.customer_id)
    np.testing.assert_array_equal(wide.p_alive, m.p_alive(few).p_alive)
    # the same draws: the 50 % interval lies within the 95 % one
    assert np.all(wide.p_alive_lower <= narrow.p_alive_lower)
    assert np.all(narrow.p_alive_upper <= wide.p_alive_upper)
    assert np.all((wide.p_alive_lower >= 0) & (wide.p_alive_upper <= 1))


def test_a_seeded_interval_is_reproducible(cdnow, fitted):
    m, _ = fitted
    a = m.expected_purchases(39, cdnow[:50], interval=0.9, draws=100, rng=5)
    b = m.expected_purchases(39, cdnow[:50], interval=0.9, draws=100, rng=5)
    np.testing.assert_array_equal(a.expected_purchases_lower, b.expected_purchases_lower)


def test_interval_on_arrays_is_keyed_by_row_position(fitted):
    m, _ = fitted
    out = m.expected_purchases(39, [0, 2], [0, 30.0], [38.0, 38.0], interval=0.9, draws=100)
    assert out.customer_id.tolist() == [0, 1]
    assert np.all(out.expected_purchases_lower < out.expected_purchases)
    assert np.all(out.expected_purchases < out.expected_purchases_upper)


def test_predict_adds_bounds_to_every_column(cdnow, fitted):
    m, gg = fitted
    few = cdnow[:100]
    table = m.predict(few, horizon=39, spend_model=gg, interval=0.9, draws=100, rng=2)
    for name in ("p_alive", "expected_purchases", "expected_average_value", "clv"):
        assert {f"{name}_lower", f"{name}_upper"} <= set(table.columns)
        assert np.all(table[f"{name}_lower"] <= table[f"{name}_upper"])
    plain = m.predict(few, horizon=39, spend_model=gg)
    np.testing.assert_allclose(table.clv, plain.clv, rtol=1e-12)
    clv = customer_lifetime_value(m, gg, few, interval=0.9, draws=100, rng=2)
    assert list(clv.columns) == ["clv", "clv_lower", "clv_upper"]
    # most customers' point value lies inside their interval
    inside = (clv.clv_lower <= clv.clv) & (clv.clv <= clv.clv_upper)
    assert inside.mean() > 0.9


def test_intervals_need_a_fitted_model_and_a_level_in_the_unit_interval(cdnow, fitted):
    known = BGNBD(r=0.24, alpha=4.4, a=0.8, b=2.4)
    with pytest.raises(ValueError, match="fit the model"):
        known.p_alive(cdnow, interval=0.9)
    m, _ = fitted
    with pytest.raises(ValueError, match="level"):
        m.p_alive(cdnow, interval=90)
    with pytest.raises(TypeError, match="interval"):
        m.p_alive(cdnow, draws=10)


def test_parameter_draws_follow_the_fits_covariance_on_the_log_scale(fitted):
    from relcore.scoring.purchase._uncertainty import parameter_draws

    m, _ = fitted
    draws = parameter_draws(m, 4000, np.random.default_rng(11))
    logs = np.log([[d.r, d.alpha, d.a, d.b] for d in draws])
    values = np.array([m.r, m.alpha, m.a, m.b])
    expected = m.fit_info.covariance / np.outer(values, values)
    # 4,000 draws estimate a variance to about 2 %; the means sit at log(estimate)
    np.testing.assert_allclose(np.cov(logs.T), expected, rtol=0.1, atol=0.1 * expected.max())
    se_of_mean = np.sqrt(np.diag(expected) / 4000)
    assert np.all(np.abs(logs.mean(axis=0) - np.log(values)) < 4 * se_of_mean)


def test_draws_of_a_fit_at_the_no_dropout_boundary_keep_the_limit():
    import warnings

    from relcore.scoring.purchase._uncertainty import parameter_draws

    data = BGNBD(r=1.0, alpha=2.0, a=1.0, b=1e12).simulate(800, 20.0, rng=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = BGNBD.fit(data)
    draws = parameter_draws(m, 50, 1)
    assert all(np.isinf(d.b) and d.a == m.a for d in draws)
    assert len({d.r for d in draws}) == 50
    band = m.expected_purchases(10, data, interval=0.9, draws=50, rng=1)
    assert np.all(band.expected_purchases_lower < band.expected_purchases_upper)


def test_intervals_take_a_pandas_frame_keyed_by_its_index(cdnow, fitted):
    pytest.importorskip("pandas")
    m, _ = fitted
    frame = cdnow[:30].to_pandas()
    band = m.p_alive(frame, interval=0.8, draws=50, rng=0)
    np.testing.assert_array_equal(band.customer_id, frame.index.to_numpy())
    per = m.log_likelihood_per_customer(frame)
    np.testing.assert_allclose(
        per.log_likelihood, m.log_likelihood_per_customer(cdnow[:30]).log_likelihood
    )
