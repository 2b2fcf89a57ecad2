"""Static covariates for BG/NBD, Pareto/NBD and Gamma-Gamma (CLVTools' parametrisation).

Expectations come from the models' published formulas evaluated per customer here
(independently of relcore's likelihood code), from the no-covariate model, and from
customers simulated with known coefficients.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special

from relcore import DataError
from relcore.datasets import load_cdnow_summary
from relcore.scoring import (
    BGNBD,
    MBGNBD,
    CovariatePurchaseModel,
    CovariateSpendModel,
    GammaGamma,
    ParetoNBD,
    customer_lifetime_value,
)


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


def _binary(n, seed, p=0.5):
    return (np.random.default_rng(seed).random(n) < p).astype(float)


# -- per-customer log-likelihoods written from the papers ----------------------------------
def _bgnbd_loglik(r, alpha, a, b, x, tx, T):
    """Fader, Hardie & Lee (2005), eq. 6, one customer at a time."""
    out = []
    for ai, bi, al, xi, ti, Ti in zip(a, b, alpha, x, tx, T, strict=True):
        head = special.gammaln(r + xi) - special.gammaln(r) + r * np.log(al)
        beta = special.betaln(ai, bi + xi) - special.betaln(ai, bi)
        alive = np.exp(-(r + xi) * np.log(al + Ti))
        dropped = ai / (bi + xi - 1) * np.exp(-(r + xi) * np.log(al + ti)) if xi > 0 else 0.0
        out.append(head + beta + np.log(alive + dropped))
    return np.array(out)


def _paretonbd_loglik(r, alpha, s, beta, x, tx, T):
    """Conditioning on the time of death τ ~ Pareto II(s, β): with the purchase rate
    integrated out, ``L = Γ(r+x) α^r / Γ(r) [(α+T)^-(r+x) S(T) + ∫_tx^T (α+τ)^-(r+x) f(τ) dτ]``
    (Schmittlein, Morrison & Colombo 1987), by quadrature, one customer at a time."""
    out = []
    for al, be, xi, ti, Ti in zip(alpha, beta, x, tx, T, strict=True):

        def f(tau, al=al, be=be, xi=xi):
            return (al + tau) ** -(r + xi) * s / be * (1 + tau / be) ** -(s + 1)

        dead, _ = integrate.quad(f, ti, Ti, epsabs=0, epsrel=1e-12, limit=200)
        alive = (al + Ti) ** -(r + xi) * (1 + Ti / be) ** -s
        head = special.gammaln(r + xi) - special.gammaln(r) + r * np.log(al)
        out.append(head + np.log(alive + dead))
    return np.array(out)


def _gg_loglik(p, q, v, x, m):
    """Fader, Hardie & Lee's note 025, eq. 3, one customer at a time."""
    return np.array(
        [
            special.gammaln(p * xi + q)
            - special.gammaln(p * xi)
            - special.gammaln(q)
            + q * np.log(vi)
            + (p * xi - 1) * np.log(mi)
            + p * xi * np.log(xi)
            - (p * xi + q) * np.log(vi + mi * xi)
            for vi, xi, mi in zip(v, x, m, strict=True)
        ]
    )


# -- the model at covariates 0 ---------------------------------------------------------------
@pytest.mark.parametrize("model", [BGNBD, ParetoNBD])
def test_all_zero_covariates_give_the_fit_without_covariates(model, cdnow):
    plain = model.fit(cdnow)
    zero = np.zeros(len(cdnow.frequency))
    # a column that never varies has no information: a penalty identifies it (at 0)
    m = model.fit(cdnow, covariates={"z": zero}, penalty=0.1)
    for name, value in plain.params.items():
        assert m.base.params[name] == pytest.approx(value, rel=1e-6)
    assert m.coefficients["purchase"]["z"] == pytest.approx(0.0, abs=1e-9)
    assert m.coefficients["dropout"]["z"] == pytest.approx(0.0, abs=1e-9)
    assert m.log_likelihood == pytest.approx(plain.log_likelihood, abs=1e-6)
    se, se_plain = m.standard_errors, plain.standard_errors
    for name in plain.params:
        assert se[name] == pytest.approx(se_plain[name], rel=1e-4)


def test_the_base_parameter_penalizer_acts_as_without_covariates(cdnow):
    plain = BGNBD.fit(cdnow, penalizer=0.05)
    zero = np.zeros(len(cdnow.frequency))
    m = BGNBD.fit(cdnow, covariates={"z": zero}, penalty=0.1, penalizer=0.05)
    for name, value in plain.params.items():
        assert m.base.params[name] == pytest.approx(value, rel=1e-6)


def test_all_zero_covariates_give_the_gamma_gamma_fit_without_covariates(cdnow):
    rep = cdnow.frequency > 0
    x, mv = cdnow.frequency[rep], cdnow.monetary_value[rep]
    plain = GammaGamma.fit(frequency=x, monetary_value=mv)
    m = GammaGamma.fit(
        frequency=x, monetary_value=mv, covariates=np.zeros((x.size, 1)), penalty=1.0
    )
    for name, value in plain.params.items():
        assert m.base.params[name] == pytest.approx(value, rel=1e-6)
    assert m.log_likelihood == pytest.approx(plain.log_likelihood, abs=1e-6)


def test_a_constant_covariate_without_penalty_is_refused_naming_it(cdnow):
    with pytest.raises(DataError, match="same value") as err:
        BGNBD.fit(cdnow, covariates={"region": np.ones(len(cdnow.frequency))})
    assert err.value.column == "region"


def test_zero_coefficients_predict_as_the_base_model(cdnow):
    base = ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669)
    m = CovariatePurchaseModel(base, {"purchase": {"g": 0.0}, "dropout": {"g": 0.0}})
    cov = {"g": _binary(len(cdnow.frequency), 1)}
    x, tx, T = cdnow.frequency, cdnow.recency, cdnow.T
    # (customers are evaluated in covariate groups: equal up to rounding)
    np.testing.assert_allclose(
        m.p_alive(x, tx, T, covariates=cov), base.p_alive(x, tx, T), rtol=1e-12
    )
    np.testing.assert_allclose(
        m.expected_purchases(39, x, tx, T, covariates=cov),
        base.expected_purchases(39, x, tx, T),
        rtol=1e-12,
    )


# -- likelihood against the published formulas --------------------------------------------------
def test_bgnbd_log_likelihood_is_fhl_equation_6_with_each_customers_parameters(cdnow):
    n = len(cdnow.frequency)
    g, h = _binary(n, 3), np.random.default_rng(4).normal(size=n)
    cov = {"g": g, "h": h}
    m = BGNBD.fit(cdnow, covariates=cov, purchase=["g", "h"], dropout=["g"])
    p = m.base.params
    gam, dlt = m.coefficients["purchase"], m.coefficients["dropout"]
    alpha = p["alpha"] * np.exp(-(gam["g"] * g + gam["h"] * h))
    a = p["a"] * np.exp(dlt["g"] * g)
    b = p["b"] * np.exp(dlt["g"] * g)
    ll = _bgnbd_loglik(p["r"], alpha, a, b, cdnow.frequency, cdnow.recency, cdnow.T).sum()
    assert m.log_likelihood == pytest.approx(ll, rel=1e-9)
    # and the fit is the maximum of that formula: moving a coefficient lowers it
    for step in (-0.01, 0.01):
        moved = p["alpha"] * np.exp(-((gam["g"] + step) * g + gam["h"] * h))
        other = _bgnbd_loglik(p["r"], moved, a, b, cdnow.frequency, cdnow.recency, cdnow.T)
        assert other.sum() < ll


@pytest.mark.parametrize("kind", ["categories", "continuous"])
def test_paretonbd_log_likelihood_is_the_death_time_integral_with_each_customers_parameters(kind):
    # at fixed parameters (no fit: its maximum may lie where s and β grow without bound
    # on a small sample); a few hundred CDNOW customers keep the quadrature quick
    from relcore.scoring.purchase import _covariates as cov

    s = load_cdnow_summary()
    idx = np.arange(0, len(s.frequency), 8)
    data = {"frequency": s.frequency[idx], "recency": s.recency[idx], "T": s.T[idx]}
    g = _binary(idx.size, 5)
    rng = np.random.default_rng(6)
    h = rng.integers(0, 3, idx.size) if kind == "categories" else rng.normal(size=idx.size)
    Z = np.column_stack([g, h]).astype(float)
    design = cov._design(ParetoNBD, ("g", "h"), {})
    r, alpha, s_, beta = 0.55, 10.6, 0.6, 11.7
    gam, dlt = np.array([0.3, -0.2]), np.array([0.5, 0.4])
    theta = np.concatenate([np.log([r, alpha, s_, beta]), gam, dlt])
    objective = cov._likelihood(ParetoNBD, design, data, Z, np.ones(idx.size))
    expected = _paretonbd_loglik(
        r, alpha * np.exp(-Z @ gam), s_, beta * np.exp(-Z @ dlt), *data.values()
    ).sum()
    assert objective(theta, 0)[0] == pytest.approx(expected, rel=1e-9)
    assert objective(theta, 2)[0] == pytest.approx(expected, rel=1e-9)


def test_gamma_gamma_log_likelihood_is_note_025_with_each_customers_scale(cdnow):
    rep = cdnow.frequency > 0
    x, mv = cdnow.frequency[rep], cdnow.monetary_value[rep]
    g = _binary(x.size, 6)
    m = GammaGamma.fit(frequency=x, monetary_value=mv, covariates={"g": g})
    assert isinstance(m, CovariateSpendModel)
    p = m.base.params
    v = p["v"] * np.exp(m.coefficients["spend"]["g"] * g)
    ll = _gg_loglik(p["p"], p["q"], v, x, mv).sum()
    assert m.log_likelihood == pytest.approx(ll, rel=1e-9)


@pytest.mark.parametrize("model", [BGNBD, ParetoNBD, GammaGamma])
def test_group_sums_equal_row_by_row_sums_of_the_likelihood_and_its_derivatives(model, cdnow):
    # two exact evaluations of one objective: the model's fast objective per covariate
    # group (few distinct covariate rows) and per-row jets (continuous covariates)
    from relcore.scoring.purchase import _covariates as cov

    rep = cdnow.frequency > 0
    if model is GammaGamma:
        data = {"frequency": cdnow.frequency[rep], "monetary_value": cdnow.monetary_value[rep]}
    else:
        data = {"frequency": cdnow.frequency, "recency": cdnow.recency / 78, "T": cdnow.T / 78}
    n = data["frequency"].size
    Z = np.column_stack([_binary(n, 15), np.random.default_rng(16).integers(0, 3, n)])
    design = cov._design(model, ("g", "k"), {})
    w = np.ones(n)
    grouped = cov._GroupedObjective(model, design, data, Z, w, Z[:, 0] * 3 + Z[:, 1])
    rows = cov._CovariateObjective(model._rows, design, data, Z, w)
    theta = np.concatenate(
        [np.log(list(model._initial or (1.0, 2.0, 30.0))), [0.3, -0.2] * len(design.processes)]
    )
    a, b = grouped(theta, 2), rows(theta, 2)
    assert a[0] == pytest.approx(b[0], rel=1e-10)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-7, atol=1e-7 * np.abs(b[1]).max())
    np.testing.assert_allclose(a[2], b[2], rtol=1e-7, atol=1e-7 * np.abs(b[2]).max())


# -- compression within covariate groups --------------------------------------------------------
def test_identical_rows_compress_within_covariate_groups_only(cdnow):
    n = len(cdnow.frequency)
    g = _binary(n, 7)
    m = BGNBD.fit(cdnow, covariates={"g": g})
    rows = np.column_stack([cdnow.frequency, cdnow.recency, cdnow.T, g])
    assert m.fit_info.n_rows == np.unique(rows, axis=0).shape[0]
    assert m.fit_info.n_customers == n


def test_weights_count_customers_as_repeated_rows_do(cdnow):
    n = len(cdnow.frequency)
    g = _binary(n, 8)
    half = np.arange(n) < n // 2
    doubled = ParetoNBD.fit(
        frequency=np.concatenate([cdnow.frequency, cdnow.frequency[half]]),
        recency=np.concatenate([cdnow.recency, cdnow.recency[half]]),
        T=np.concatenate([cdnow.T, cdnow.T[half]]),
        covariates={"g": np.concatenate([g, g[half]])},
    )
    weighted = ParetoNBD.fit(cdnow, covariates={"g": g}, weights=np.where(half, 2.0, 1.0))
    for name, value in doubled.params.items():
        assert weighted.params[name] == pytest.approx(value, rel=1e-6, abs=1e-8)
    assert weighted.log_likelihood == pytest.approx(doubled.log_likelihood, rel=1e-10)


# -- predictions per customer -------------------------------------------------------------------
def test_predictions_use_each_customers_own_parameters(cdnow):
    n = len(cdnow.frequency)
    cov = {"g": _binary(n, 9), "h": np.round(np.random.default_rng(10).normal(size=n), 1)}
    m = BGNBD.fit(cdnow, covariates=cov)
    x, tx, T = cdnow.frequency, cdnow.recency, cdnow.T
    got = m.expected_purchases(39, x, tx, T, covariates=cov)
    alive = m.p_alive(x, tx, T, covariates=cov)
    params = m.customer_params(cov)
    for i in range(0, n, 97):
        one = BGNBD(**{k: v[i] for k, v in params.items()})
        assert got[i] == pytest.approx(
            float(one.expected_purchases(39, x[i], tx[i], T[i])), rel=1e-12
        )
        assert alive[i] == pytest.approx(float(one.p_alive(x[i], tx[i], T[i])), rel=1e-12)
    # CLVTools' individual parameters
    gam, dlt = m.coefficients["purchase"], m.coefficients["dropout"]
    eta = dlt["g"] * cov["g"] + dlt["h"] * cov["h"]
    np.testing.assert_allclose(
        params["alpha"],
        m.base.alpha * np.exp(-(gam["g"] * cov["g"] + gam["h"] * cov["h"])),
        rtol=1e-12,
    )
    np.testing.assert_allclose(params["a"], m.base.a * np.exp(eta), rtol=1e-12)
    np.testing.assert_allclose(params["b"], m.base.b * np.exp(eta), rtol=1e-12)


@pytest.mark.parametrize(
    "base",
    [
        BGNBD(r=0.24, alpha=4.41, a=0.79, b=2.43),
        ParetoNBD(r=0.55, alpha=10.6, s=0.61, beta=11.7),
        ParetoNBD(r=0.55, alpha=10.6, s=0.61, beta=4.0),  # the other hypergeometric branch
    ],
)
def test_a_real_valued_covariate_predicts_as_one_model_per_customer(base, cdnow, monkeypatch):
    # every customer's parameters at once (the path for covariates that hardly repeat)
    # against one base model per customer
    from relcore.scoring.purchase import _covariates as cov_module

    idx = np.arange(0, len(cdnow.frequency), 9)
    x, tx, T = cdnow.frequency[idx], cdnow.recency[idx], cdnow.T[idx]
    cov = {"h": np.random.default_rng(27).normal(size=idx.size)}
    m = CovariatePurchaseModel(base, {"purchase": {"h": 0.4}, "dropout": {"h": -0.5}})
    at_once = [
        m.p_alive(x, tx, T, covariates=cov),
        m.expected_purchases(26, x, tx, T, covariates=cov),
        m.expected_purchases_new(np.linspace(0, 52, idx.size), covariates=cov),
    ]
    monkeypatch.setattr(cov_module, "_MAX_PREDICTION_GROUPS", 10**9)
    one_by_one = [
        m.p_alive(x, tx, T, covariates=cov),
        m.expected_purchases(26, x, tx, T, covariates=cov),
        m.expected_purchases_new(np.linspace(0, 52, idx.size), covariates=cov),
    ]
    for a, b in zip(at_once, one_by_one, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def test_bgnbd_expected_purchases_are_finite_when_a_plus_b_is_below_one():
    # customers' own a and b can fall below a + b = 1 where the base model's were above
    from scipy.special import hyp2f1

    r, alpha, a, b, T, t = 0.24, 1.5722, 0.2176, 0.6694, 27.0, 26.0
    z = t / (alpha + T + t)
    # Fader, Hardie & Lee (2005), eq. 10 with x = 0 (P(alive) = 1)
    expected = (
        (a + b - 1)
        / (a - 1)
        * (1 - ((alpha + T) / (alpha + T + t)) ** r * hyp2f1(r, b, a + b - 1, z))
    )
    got = BGNBD(r=r, alpha=alpha, a=a, b=b).expected_purchases(t, 0, 0.0, T)
    assert float(got) == pytest.approx(expected, rel=1e-9)


def test_a_real_valued_covariate_predicts_spend_as_one_model_per_customer(cdnow, monkeypatch):
    from relcore.scoring.purchase import _covariates as cov_module

    rep = np.flatnonzero(cdnow.frequency > 0)[::4]
    x, mv = cdnow.frequency[rep], cdnow.monetary_value[rep]
    cov = {"h": np.random.default_rng(28).normal(size=rep.size)}
    m = CovariateSpendModel(GammaGamma(p=6.25, q=3.74, v=15.44), {"spend": {"h": 0.3}})
    at_once = m.expected_average_value(x, mv, covariates=cov)
    monkeypatch.setattr(cov_module, "_MAX_PREDICTION_GROUPS", 10**9)
    np.testing.assert_allclose(at_once, m.expected_average_value(x, mv, covariates=cov), rtol=1e-12)


def test_a_covariate_array_follows_the_models_covariate_names(cdnow):
    m = CovariatePurchaseModel(
        ParetoNBD(r=0.55, alpha=10.6, s=0.61, beta=11.7),
        {"purchase": {"g": 0.3, "h": -0.2}, "dropout": {"h": 0.5}},
    )
    assert m.covariate_names == ("g", "h")
    frame = {"h": [0.0, 1.0], "g": [1.0, 1.0], "unused": [5.0, 6.0]}
    array = np.array([[1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(
        m.p_alive(2, 20, 30, covariates=frame), m.p_alive(2, 20, 30, covariates=array)
    )


def test_lifetime_value_with_covariates_sums_each_customers_own_model(cdnow):
    rep = cdnow.frequency > 0
    x, tx, T, mv = cdnow.frequency[rep], cdnow.recency[rep], cdnow.T[rep], cdnow.monetary_value[rep]
    g = _binary(x.size, 11)
    purchase = CovariatePurchaseModel(
        ParetoNBD(r=0.55, alpha=10.6, s=0.61, beta=11.7), {"purchase": {"g": 0.4}, "dropout": {}}
    )
    spend = CovariateSpendModel(GammaGamma(p=6.25, q=3.74, v=15.44), {"spend": {"g": -0.3}})
    clv = customer_lifetime_value(
        purchase.bind({"g": g}), spend.bind({"g": g}), x, tx, T, mv, period_days=7
    )
    for level in (0.0, 1.0):
        sel = g == level
        one = customer_lifetime_value(
            purchase.individual({"g": level}),
            spend.individual({"g": level}),
            x[sel],
            tx[sel],
            T[sel],
            mv[sel],
            period_days=7,
        )
        np.testing.assert_allclose(clv[sel], one, rtol=1e-10)


def test_a_dataframe_an_array_and_a_mapping_of_covariates_fit_alike(cdnow):
    pd = pytest.importorskip("pandas")
    n = len(cdnow.frequency)
    g, k = _binary(n, 23), np.random.default_rng(24).integers(0, 3, n).astype(float)
    frame = BGNBD.fit(cdnow, covariates=pd.DataFrame({"g": g, "k": k}))
    array = BGNBD.fit(cdnow, covariates=np.column_stack([g, k]), covariate_names=["g", "k"])
    mapping = BGNBD.fit(cdnow, covariates={"g": g, "k": k})
    for other in (array, mapping):
        for name, value in frame.params.items():
            assert other.params[name] == pytest.approx(value, rel=1e-12, abs=1e-15)
    x, tx, T = cdnow.frequency, cdnow.recency, cdnow.T
    np.testing.assert_array_equal(
        frame.p_alive(x, tx, T, covariates=pd.DataFrame({"k": k, "g": g})),
        frame.p_alive(x, tx, T, covariates=np.column_stack([g, k])),
    )


def test_covariates_with_customer_ids_are_matched_to_the_summarys_customers(cdnow):
    n = len(cdnow.frequency)
    g = _binary(n, 25)
    shuffled = np.random.default_rng(26).permutation(n)
    extra = np.array([10**9])  # a customer not in the summary is simply not used
    by_id = ParetoNBD.fit(
        cdnow,
        covariates={
            "customer_id": np.concatenate([cdnow.customer_id[shuffled], extra]),
            "g": np.concatenate([g[shuffled], [1.0]]),
        },
    )
    in_order = ParetoNBD.fit(cdnow, covariates={"g": g})
    for name, value in in_order.params.items():
        assert by_id.params[name] == pytest.approx(value, rel=1e-12, abs=1e-15)


def test_customers_without_covariates_are_refused_naming_them(cdnow):
    n = len(cdnow.frequency)
    keep = np.arange(n) != 4
    with pytest.raises(DataError, match="without covariates") as err:
        BGNBD.fit(
            cdnow, covariates={"customer_id": cdnow.customer_id[keep], "g": _binary(n - 1, 1)}
        )
    assert err.value.rows == (4,)


def test_repeated_customer_ids_in_the_covariates_are_refused(cdnow):
    ids = cdnow.customer_id.copy()
    ids[7] = ids[3]
    with pytest.raises(DataError, match="repeated"):
        BGNBD.fit(cdnow, covariates={"customer_id": ids, "g": _binary(len(ids), 1)})


def test_models_without_a_covariate_version_say_so(cdnow):
    with pytest.raises(TypeError, match="no covariate version"):
        MBGNBD.fit(cdnow, covariates={"g": _binary(len(cdnow.frequency), 1)})


def test_covariates_of_the_wrong_length_are_refused(cdnow):
    with pytest.raises(DataError, match="rows of covariates"):
        BGNBD.fit(cdnow, covariates={"g": np.zeros(10)})


def test_nan_covariates_are_refused_naming_column_and_rows(cdnow):
    g = _binary(len(cdnow.frequency), 1)
    g[[3, 5]] = np.nan
    with pytest.raises(DataError) as err:
        ParetoNBD.fit(cdnow, covariates={"g": g})
    assert err.value.column == "g"
    assert err.value.rows == (3, 5)


def test_an_unknown_covariate_in_a_process_is_refused(cdnow):
    with pytest.raises(DataError, match="unknown covariate 'x'"):
        BGNBD.fit(cdnow, covariates={"g": _binary(len(cdnow.frequency), 1)}, purchase=["x"])


def test_a_penalty_shrinks_the_coefficients_towards_zero(cdnow):
    n = len(cdnow.frequency)
    cov = {"g": _binary(n, 12), "h": np.random.default_rng(13).normal(size=n)}
    free = BGNBD.fit(cdnow, covariates=cov)
    shrunk = BGNBD.fit(cdnow, covariates=cov, penalty=1.0)

    def size(m):
        return sum(v * v for c in m.coefficients.values() for v in c.values())

    assert size(shrunk) < size(free)


def test_a_large_lasso_penalty_sets_every_coefficient_to_zero_and_leaves_the_plain_fit(cdnow):
    n = len(cdnow.frequency)
    cov = {"g": _binary(n, 17), "h": np.random.default_rng(18).integers(0, 4, n).astype(float)}
    m = ParetoNBD.fit(cdnow, covariates=cov, penalty=1.0, l1_ratio=1.0)
    plain = ParetoNBD.fit(cdnow)
    assert all(v == 0.0 for c in m.coefficients.values() for v in c.values())
    for name, value in plain.params.items():
        assert m.base.params[name] == pytest.approx(value, rel=1e-6)
    assert np.isnan(m.standard_errors["dropout.h"])
    assert "set to 0 by the L1 penalty" in str(m.summary())


@pytest.mark.parametrize("l1_ratio", [0.5, 1.0])
def test_an_elastic_net_fit_is_a_minimum_of_the_penalised_likelihood(cdnow, l1_ratio):
    # the objective evaluated with the published formula: moving any coefficient either
    # way from the fit (zeros included, where |coef| has its kink) does not lower it
    n = len(cdnow.frequency)
    rng = np.random.default_rng(19)
    # coded categories (few distinct rows: a quick fit)
    cov = {"g": _binary(n, 20), "h": rng.integers(0, 3, n), "noise": rng.integers(0, 5, n)}
    cov = {k: np.asarray(v, dtype=float) for k, v in cov.items()}
    penalty = 0.004
    m = BGNBD.fit(cdnow, covariates=cov, penalty=penalty, l1_ratio=l1_ratio)
    x, tx, T = cdnow.frequency, cdnow.recency, cdnow.T

    def objective(coef):
        gam = {k[len("purchase.") :]: v for k, v in coef.items() if k.startswith("purchase.")}
        dlt = {k[len("dropout.") :]: v for k, v in coef.items() if k.startswith("dropout.")}
        alpha = m.base.alpha * np.exp(-sum(gam[k] * cov[k] for k in cov))
        eta = np.exp(sum(dlt[k] * cov[k] for k in cov))
        ll = _bgnbd_loglik(m.base.r, alpha, m.base.a * eta, m.base.b * eta, x, tx, T).sum()
        beta = np.array(list(coef.values()))
        l1, l2 = penalty * l1_ratio, penalty * (1 - l1_ratio)
        return -ll / n + l2 * float(beta @ beta) + l1 * float(np.abs(beta).sum())

    coef = {k: v for k, v in m.params.items() if "." in k}
    best = objective(coef)
    for name in coef:
        for step in (-1e-3, 1e-3):
            moved = dict(coef, **{name: coef[name] + step})
            assert objective(moved) >= best - 1e-12, (name, step)


def test_summary_lists_coefficients_with_standard_errors_and_symmetric_intervals(cdnow):
    n = len(cdnow.frequency)
    m = ParetoNBD.fit(cdnow, covariates={"g": _binary(n, 14)}, dropout=[])
    table = m.summary()
    assert table.parameter == ("r", "alpha", "s", "beta", "purchase.g")
    se = m.standard_errors["purchase.g"]
    assert np.isfinite(se)
    assert se > 0
    coef = m.coefficients["purchase"]["g"]
    assert table.lower[-1] == pytest.approx(coef - 1.959964 * se, rel=1e-6)
    assert table.upper[-1] == pytest.approx(coef + 1.959964 * se, rel=1e-6)


# -- recovery of known coefficients ------------------------------------------------------------
def _simulate_pareto(rng, n, r, alpha, s, beta, gamma, delta, Z):
    alpha_i = alpha * np.exp(-Z @ gamma)
    beta_i = beta * np.exp(-Z @ delta)
    lam = rng.gamma(r, 1.0 / alpha_i)
    mu = rng.gamma(s, 1.0 / beta_i)
    T = rng.integers(20, 79, n).astype(float)
    life = np.minimum(rng.exponential(1.0 / mu), T)
    x = rng.poisson(lam * life).astype(float)
    rec = np.where(x > 0, life * rng.beta(np.maximum(x, 1.0), 1.0), 0.0)
    return x, rec, T


def _simulate_bgnbd(rng, n, r, alpha, a, b, gamma, delta, Z):
    alpha_i = alpha * np.exp(-Z @ gamma)
    a_i, b_i = a * np.exp(Z @ delta), b * np.exp(Z @ delta)
    lam = rng.gamma(r, 1.0 / alpha_i)
    p = rng.beta(a_i, b_i)
    T = rng.integers(20, 79, n).astype(float)
    made = rng.poisson(lam * T).astype(float)
    x = np.minimum(made, rng.geometric(p).astype(float))  # drops out after the G-th purchase
    # the x-th of `made` uniform purchase times
    rec = np.where(x > 0, T * rng.beta(np.maximum(x, 1.0), made - x + 1.0), 0.0)
    return x, rec, T


def _channel_and_region(rng, n):
    # a flag and a three-level code, the usual static covariates (acquisition channel,
    # region)
    return np.column_stack([rng.random(n) < 0.5, rng.integers(0, 3, n)]).astype(float)


def _coverage(fit_one, truth, seeds):
    hits = total = 0
    for seed in seeds:
        model = fit_one(np.random.default_rng(seed))
        table = model.summary(0.95)
        for name, value in truth.items():
            i = table.parameter.index(name)
            hits += bool(table.lower[i] <= value <= table.upper[i])
            total += 1
    return hits, total


@pytest.mark.slow
def test_paretonbd_95_percent_intervals_cover_known_coefficients():
    truth = {"purchase.g": 0.5, "purchase.h": -0.3, "dropout.g": -0.6, "dropout.h": 0.4}

    def fit_one(rng):
        n = 2_000
        Z = _channel_and_region(rng, n)
        x, rec, T = _simulate_pareto(
            rng, n, 0.8, 8.0, 0.7, 10.0, np.array([0.5, -0.3]), np.array([-0.6, 0.4]), Z
        )
        return ParetoNBD.fit(frequency=x, recency=rec, T=T, covariates={"g": Z[:, 0], "h": Z[:, 1]})

    hits, total = _coverage(fit_one, truth, range(10))
    # 40 intervals at 95 %: fewer than 33 hits has probability below 0.2 % (binomial)
    assert hits >= 33, f"{hits}/{total}"


def test_bgnbd_95_percent_intervals_cover_known_coefficients():
    truth = {"purchase.g": 0.5, "purchase.h": -0.3, "dropout.g": 0.6, "dropout.h": -0.4}

    def fit_one(rng):
        n = 3_000
        Z = _channel_and_region(rng, n)
        x, rec, T = _simulate_bgnbd(
            rng, n, 0.8, 6.0, 1.0, 3.0, np.array([0.5, -0.3]), np.array([0.6, -0.4]), Z
        )
        return BGNBD.fit(frequency=x, recency=rec, T=T, covariates={"g": Z[:, 0], "h": Z[:, 1]})

    hits, total = _coverage(fit_one, truth, range(10))
    # 40 intervals at 95 %: fewer than 33 hits has probability below 0.2 % (binomial)
    assert hits >= 33, f"{hits}/{total}"


def test_gamma_gamma_95_percent_intervals_cover_known_coefficients():
    truth = {"spend.g": 0.4, "spend.h": -0.2}

    def fit_one(rng):
        n = 2_000
        Z = _channel_and_region(rng, n)
        v_i = 15.0 * np.exp(Z @ np.array([0.4, -0.2]))
        x = rng.integers(1, 8, n).astype(float)
        nu = rng.gamma(4.0, 1.0 / v_i)
        mean = rng.gamma(6.0 * x, 1.0 / (x * nu))
        return GammaGamma.fit(
            frequency=x, monetary_value=mean, covariates={"g": Z[:, 0], "h": Z[:, 1]}
        )

    hits, total = _coverage(fit_one, truth, range(10))
    # 20 intervals at 95 %: fewer than 16 hits has probability below 0.3 %
    assert hits >= 16, f"{hits}/{total}"


# pymc-marketing's distributions are compared in tools/crosscheck_pymc_marketing.py
# (not an extra of relcore; the suite may skip nothing).


def test_gamma_gamma_q_constraint_is_refused_with_covariates(cdnow):
    rep = cdnow.frequency > 0
    x, m = cdnow.frequency[rep], cdnow.monetary_value[rep]
    with pytest.raises(TypeError, match="q_constraint"):
        GammaGamma.fit(
            frequency=x, monetary_value=m, covariates={"g": _binary(x.size, 3)}, q_constraint=True
        )
