"""(M)BG/CNBD-k: nested BG/NBD and MBG/NBD at k = 1, BTYDplus' finding on CDNOW, the
choice of k, and the expectations against simulated customers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from _checks import check_diagnostics_accept, check_finite_and_in_range
from _strategies import histories, param
from relcore import DataError
from relcore.datasets import load_cdnow, load_cdnow_summary
from relcore.scoring import BGCNBDK, BGNBD, MBGCNBDK, MBGNBD


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


@pytest.mark.parametrize(("cnbd", "plain"), [(BGCNBDK, BGNBD), (MBGCNBDK, MBGNBD)])
def test_k1_is_exactly_the_bgnbd_and_mbgnbd(cdnow, cnbd, plain):
    a = cnbd.fit(cdnow, k=1)
    b = plain.fit(cdnow)
    assert a.k == 1
    for name in ("r", "alpha", "a", "b"):
        assert a.params[name] == pytest.approx(b.params[name], rel=1e-9), name
    assert a.log_likelihood == pytest.approx(b.log_likelihood, rel=1e-12)
    x, tx, T = cdnow.frequency, cdnow.recency, cdnow.T
    np.testing.assert_allclose(a.p_alive(x, tx, T), b.p_alive(x, tx, T), rtol=1e-12)
    np.testing.assert_allclose(
        a.expected_purchases(39, x, tx, T), b.expected_purchases(39, x, tx, T), rtol=1e-12
    )
    np.testing.assert_allclose(
        a.expected_purchases_new([1.0, 39.0]), b.expected_purchases_new([1.0, 39.0]), rtol=1e-12
    )


def test_k1_reproduces_fader_hardie_lee_2005_on_cdnow(cdnow):
    m = BGCNBDK.fit(cdnow, k=1)
    expected = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in expected.items():
        assert m.params[name] == pytest.approx(value, abs=0.0005), name
    assert m.log_likelihood == pytest.approx(-9582.4, abs=0.05)


def _cdnow_weekly_with_litt(every: int):
    """CDNOW's calibration period (to 1997-09-30) in weeks, as BTYDplus' elog2cbs builds
    it: purchases merged per day, litt the sum of log days-between-purchases / 7."""
    log = load_cdnow()
    day = log.at // 86_400_000_000
    codes = np.asarray(log.customer_codes)
    end = int(np.datetime64("1997-09-30", "D").astype(np.int64))
    keep = (day <= end) & (codes % every == 0)
    c, d = codes[keep], day[keep]
    order = np.lexsort((d, c))
    c, d = c[order], d[order]
    new = np.ones(c.size, dtype=bool)
    new[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
    c, d = c[new], d[new]
    first = np.ones(c.size, dtype=bool)
    first[1:] = c[1:] != c[:-1]
    start = np.flatnonzero(first)
    cust = np.cumsum(first) - 1
    x = np.bincount(cust) - 1.0
    tx = (np.maximum.reduceat(d, start) - d[start]) / 7.0
    T = (end - d[start]) / 7.0
    gap = np.diff(d) / 7.0
    within = ~first[1:]
    litt = np.bincount(cust[1:][within], weights=np.log(gap[within]), minlength=start.size)
    return {"frequency": x, "recency": tx, "T": T, "litt": litt}


def test_cdnow_shows_no_regularity_so_k_is_1():
    # BTYDplus' demo/cdnow.R: "k=1 -> no regularity detected for CDNow"; here on every
    # tenth customer of the whole cohort (k = 2 is hundreds of log-likelihood units worse)
    data = _cdnow_weekly_with_litt(every=10)
    m = BGCNBDK.fit(data)
    assert m.k == 1
    k2 = BGCNBDK.fit(data, k=2)
    assert k2.log_likelihood < m.log_likelihood - 50


def test_regular_buyers_are_recognised_and_theirparameters_recovered():
    truth = BGCNBDK(k=3, r=3.0, alpha=12.0, a=1.0, b=4.0)
    data = truth.simulate(3000, 52.0, rng=np.random.default_rng(5), litt=True)
    m = BGCNBDK.fit(data, max_k=6)
    assert m.k == 3
    intervals = m.confidence_intervals(0.99)
    for name, value in truth.params.items():
        lo, hi = intervals[name]
        assert lo < value < hi, name


def test_log_likelihood_includes_the_erlang_densities_so_k_values_compare():
    # for one customer with known purchase times the likelihood is the product of the
    # Erlang densities, integrated over the gamma rate: checked at a single point
    m = BGCNBDK(k=3, r=2.0, alpha=5.0, a=1.0, b=1e12)  # practically no dropout
    gaps = np.array([2.0, 3.0, 1.5])
    x, tx, T = 3.0, float(gaps.sum()), 9.0
    from scipy import integrate, stats

    def joint(lam):
        dens = np.prod(stats.gamma.pdf(gaps, 3, scale=1 / lam))
        survive = stats.gamma.sf(T - tx, 3, scale=1 / lam)
        return dens * survive * stats.gamma.pdf(lam, 2.0, scale=1 / 5.0)

    want = math.log(integrate.quad(joint, 0, np.inf, epsrel=1e-12)[0])
    data = {
        "frequency": np.array([x]),
        "recency": np.array([tx]),
        "T": np.array([T]),
        "k": np.array([3.0]),
    }
    row = float(m._rows(list(m.params.values()), data)[0])
    got = row + 2 * float(np.log(gaps).sum()) - x * math.lgamma(3)
    assert got == pytest.approx(want, rel=1e-6)


def test_expected_purchases_of_new_customers_match_simulated_customers():
    for cls in (BGCNBDK, MBGCNBDK):
        m = cls(k=3, r=3.0, alpha=12.0, a=1.0, b=4.0)
        s = m.simulate(40_000, 104.0, rng=3)
        se = s.frequency.std() / np.sqrt(len(s))
        assert abs(s.frequency.mean() - m.expected_purchases_new(104).item()) < 4 * se


def test_conditional_expectation_matches_simulated_holdout_purchases():
    # customers observed 52 weeks, then 52 more: holdout purchases of simulated
    # customers against the model's conditional expectation, summed over customers
    m = BGCNBDK(k=3, r=3.0, alpha=12.0, a=1.0, b=4.0)
    rng = np.random.default_rng(9)
    n = 20_000
    lam = rng.gamma(m.r, 1 / m.alpha, n)
    chances = rng.geometric(rng.beta(m.a, m.b, n)).astype(float)
    t = np.zeros(n)
    x = np.zeros(n)
    tx = np.zeros(n)
    hold = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        i = np.flatnonzero(active)
        nxt = t[i] + rng.gamma(3, 1 / lam[i])
        made = x[i] + hold[i]
        ok = (nxt <= 104.0) & (made < chances[i])
        cal = ok & (nxt <= 52.0)
        x[i[cal]] += 1
        tx[i[cal]] = nxt[cal]
        hold[i[ok & ~cal]] += 1
        t[i[ok]] = nxt[ok]
        active[i[~ok]] = False
    expected = m.expected_purchases(52.0, x, tx, np.full(n, 52.0))
    ratio = hold.sum() / expected.sum()
    # the ratio scatters by about 1 % between simulated populations
    assert abs(ratio - 1) < 0.045, ratio


def test_litt_is_required_to_choose_k_and_must_fit_the_frequencies(cdnow):
    with pytest.raises(DataError, match="litt"):
        BGCNBDK.fit(cdnow)
    with pytest.raises(DataError, match="litt"):
        BGCNBDK.fit(cdnow, k=2)
    bad = np.zeros(len(cdnow))
    bad[cdnow.frequency == 0] = 1.0
    with pytest.raises(DataError, match="litt"):
        BGCNBDK.fit(cdnow, litt=bad)


@pytest.mark.parametrize("cls", [BGCNBDK, MBGCNBDK])
def test_extreme_inputs_give_finite_in_range_values(cls):
    x = np.array([0.0, 10_000, 10_000, 1, 0])
    tx = np.array([0.0, 1e5, 1.0, 99_999, 0])
    T = np.array([1e5, 1e5, 1e5, 1e5, 0])
    for params in ((1e-4, 1e4, 1e-4, 1e4), (1e4, 1e-4, 1e4, 1e-4), (0.5, 3.0, 0.8, 2.0)):
        m = cls(4, *params)
        data = {"frequency": x, "recency": tx, "T": T, "k": np.full(5, 4.0)}
        assert np.isfinite(m._rows(list(m.params.values()), data)).all()
        p = m.p_alive(x, tx, T)
        assert ((p >= 0) & (p <= 1)).all()
        e = m.expected_purchases(1e5, x, tx, T)
        assert np.isfinite(e).all()
        assert (e >= 0).all()
        assert np.isfinite(m.expected_purchases_new([0.0, 1.0, 1e5])).all()


@pytest.mark.parametrize("cls", [BGCNBDK, MBGCNBDK])
def test_purchase_distribution_sums_to_one_and_its_mean_is_the_expectation(cls):
    # two independent routes: the distribution of min(allowed, survived) purchases and
    # the series of the expectation
    m = cls(k=3, r=3.0, alpha=12.0, a=1.0, b=4.0)
    n = np.arange(400)
    p = m.probability_of_purchases(n, 52.0)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert (n * p).sum() == pytest.approx(m.expected_purchases_new(52.0).item(), rel=1e-10)


def test_log_interpurchase_times_of_a_summary_are_its_gaps_in_periods():
    from relcore.scoring import log_interpurchase_times, summarize

    log = load_cdnow()
    args = {"period": "D", "observation_end": "1998-06-30", "calibration_end": "1997-09-30"}
    summary = summarize(log, **args)
    litt = log_interpurchase_times(log, **args)
    # the helper above merges purchases per day and measures gaps in weeks
    weekly = _cdnow_weekly_with_litt(every=1)
    np.testing.assert_array_equal(summary.frequency, weekly["frequency"])
    np.testing.assert_allclose(litt - summary.frequency * np.log(7.0), weekly["litt"], atol=1e-9)
    # Jensen: the mean log gap is at most the log of the mean gap (recency / frequency)
    rep = summary.frequency > 0
    mean_gap = summary.recency[rep] / summary.frequency[rep]
    assert np.all(litt[rep] / summary.frequency[rep] <= np.log(mean_gap) + 1e-12)
    # and the model reads it alongside the summary
    m = BGCNBDK.fit(summary, litt=litt, k=1)
    assert m.k == 1


def test_diagnostics_accept_the_model():
    check_diagnostics_accept(BGCNBDK(k=2, r=0.5, alpha=4.4, a=0.8, b=2.4))


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(histories(), st.sampled_from([2, 5]), st.booleans(), param, param, param, param)
# a customer expected to buy ~1e10 times with ``a`` within 1e-5 of 1: the closed form of
# the survived chances once cancelled to a negative expectation
@example(
    h=tuple(np.array(v, dtype=float) for v in ([0, 1025], [0, 0], [0, 2**-16], [0, 3048])),
    k=2,
    modified=False,
    r=1.0,
    alpha=0.00010693073272705097,
    a=1.000009536743164,
    b=1.0,
)
def test_anyparameters_and_history_give_finite_in_range_values(h, k, modified, r, alpha, a, b):
    m = (MBGCNBDK if modified else BGCNBDK)(k=k, r=r, alpha=alpha, a=a, b=b)
    check_finite_and_in_range(m, *h, extra={"k": np.full(h[0].size, float(k))})


@pytest.mark.parametrize("a", [0.25, 0.5, 1.0 - 1e-7, 1.0, 1.0 + 1e-5, 1.001, 2.0, 30.0])
@pytest.mark.parametrize("b", [0.5, 1026.0, 1e4])
def test_closed_form_of_survived_chances_is_the_sum_of_beta_ratios(a, b):
    from relcore.scoring.purchase.bgcnbd import _survived_beyond

    n0, more = 20_000, np.array([0.0, 1.0, 7.0, 5000.0])
    # B(a, b+n)/B(a, b) term by term: the product of (b+j)/(a+b+j), j < n
    j = np.arange(n0 + 5000.0)
    log_terms = np.concatenate([[0.0], np.cumsum(np.log(b + j) - np.log(a + b + j))])
    direct = np.concatenate([[0.0], np.cumsum(np.exp(log_terms[n0:-1]))])[more.astype(int)]
    got = _survived_beyond(a, np.full(more.size, b), n0, more)
    np.testing.assert_allclose(got, direct, rtol=1e-9)
    assert got[0] == 0.0
