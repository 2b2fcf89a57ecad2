"""Predictions and lifetime value over a Dask frame equal the single-machine ones, row for
row, keyed by customer id."""

from __future__ import annotations

import numpy as np
import pytest

from relcore import DataError
from relcore.datasets import load_cdnow_summary
from relcore.scoring import (
    BGBB,
    BGNBD,
    MBGNBD,
    GammaGamma,
    ParetoNBD,
    ShiftedBetaGeometric,
    customer_lifetime_value,
)

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")

import relcore.dask as rdask  # noqa: E402

MODELS = [
    BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426),
    MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614),
    ParetoNBD(r=0.553, alpha=10.58, s=0.606, beta=11.67),
]
SPEND = GammaGamma(p=6.25, q=3.74, v=15.44)


@pytest.fixture(scope="module")
def summary():
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def frame(summary):
    return dd.from_pandas(summary.to_pandas().sample(frac=1.0, random_state=4), npartitions=4)


def aligned(got, summary):
    """``got`` in the order of the single-machine summary's customers."""
    assert sorted(got.index.tolist()) == sorted(summary.customer_id.tolist())
    return got.loc[summary.customer_id]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_purchase_predictions_equal_the_single_machine_ones(client, summary, frame, model):
    got = aligned(rdask.predict(model, frame, t=52).compute(), summary)
    f, r, T = summary.frequency, summary.recency, summary.T
    np.testing.assert_allclose(got["p_alive"], model.p_alive(f, r, T), rtol=1e-12)
    np.testing.assert_allclose(
        got["expected_purchases"], model.expected_purchases(52, f, r, T), rtol=1e-12
    )


def test_without_a_horizon_only_p_alive_is_computed(client, frame):
    assert list(rdask.predict(MODELS[0], frame).columns) == ["p_alive"]


def test_bgbb_predicts_from_t_as_its_opportunities(client):
    model = BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    rows = pd.DataFrame(
        {"frequency": [0, 1, 3, 6, 2], "recency": [0, 2, 5, 6, 6], "T": [6] * 5},
        index=pd.Index(list("abcde"), name="customer_id"),
        dtype=float,
    )
    got = rdask.predict(model, dd.from_pandas(rows, npartitions=2), t=5).compute().loc[rows.index]
    x, tx, n = rows["frequency"], rows["recency"], rows["T"]
    np.testing.assert_allclose(got["p_alive"], model.p_alive(x, tx, n), rtol=1e-12)
    np.testing.assert_allclose(
        got["expected_purchases"], model.expected_purchases(5, x, tx, n), rtol=1e-12
    )


def test_spend_predictions_equal_the_single_machine_ones(client, summary, frame):
    got = aligned(rdask.predict(SPEND, frame).compute(), summary)
    want = SPEND.expected_average_value(summary.frequency, summary.monetary_value)
    np.testing.assert_allclose(got["expected_average_value"], want, rtol=1e-12)


def test_lifetime_value_equals_the_single_machine_one(client, summary, frame):
    # the CDNOW summary is weekly: one period is 7 days
    got = rdask.customer_lifetime_value(MODELS[0], SPEND, frame, period_days=7, months=6)
    want = customer_lifetime_value(MODELS[0], SPEND, summary, months=6).clv
    assert summary.period_days == 7
    np.testing.assert_allclose(aligned(got.compute(), summary)["clv"], want, rtol=1e-12)


def test_lifetime_value_written_to_parquet_keeps_customer_ids(client, summary, frame, tmp_path):
    rdask.customer_lifetime_value(MODELS[0], SPEND, frame, period_days=7).to_parquet(tmp_path)
    back = pd.read_parquet(tmp_path)
    want = customer_lifetime_value(MODELS[0], SPEND, summary).clv
    np.testing.assert_allclose(aligned(back, summary)["clv"], want, rtol=1e-12)


def test_bad_options_are_refused_when_called_not_when_computed(client, frame):
    with pytest.raises(ValueError, match="months"):
        rdask.customer_lifetime_value(MODELS[0], SPEND, frame, period_days=7, months=-1)
    with pytest.raises(TypeError, match="ShiftedBetaGeometric"):
        rdask.predict(ShiftedBetaGeometric(alpha=1.0, beta=1.0), frame)
    with pytest.raises(DataError) as info:
        rdask.predict(MODELS[0], frame[["frequency", "recency"]])
    assert info.value.column == "T"


def test_a_bad_row_names_the_customer(client):
    rows = pd.DataFrame(
        {"frequency": [1.0, 2.0], "recency": [3.0, 9.0], "T": [5.0, 5.0]},
        index=pd.Index(["ok", "broken"], name="customer_id"),
    )
    with pytest.raises(DataError, match="'broken'") as info:
        rdask.predict(MODELS[0], dd.from_pandas(rows, npartitions=1)).compute()
    assert info.value.column == "recency"
