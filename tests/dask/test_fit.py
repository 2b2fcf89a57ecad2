"""relcore.dask.fit reduces partitions to distinct rows with counts and fits those on the
driver: the single-machine fit, for every model."""

from __future__ import annotations

import numpy as np
import pytest

from relcore import ConvergenceError, DataError, summarize
from relcore.datasets import load_cdnow_summary, load_donations
from relcore.models import EventLog
from relcore.scoring import BGBB, BGNBD, MBGNBD, GammaGamma, ParetoNBD, ShiftedBetaGeometric

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")

import relcore.dask as rdask  # noqa: E402

# Fader & Hardie (2007), "regular" customers, years 0-7: alpha 0.704, beta 1.182
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]


def assert_same_fit(got, want):
    assert type(got) is type(want)
    for name, value in want.params.items():
        assert got.params[name] == pytest.approx(value, rel=1e-9), name
    assert got.log_likelihood == pytest.approx(want.log_likelihood, rel=1e-9)
    for name, se in want.standard_errors.items():
        assert got.standard_errors[name] == pytest.approx(se, rel=1e-9), name
    assert got.fit_info.n_customers == want.fit_info.n_customers


@pytest.fixture(scope="module")
def cdnow():
    """The CDNOW sample's summary, rows shuffled (each partition has some of everything)."""
    return load_cdnow_summary().to_pandas().sample(frac=1.0, random_state=1)


@pytest.mark.parametrize("model", [BGNBD, MBGNBD, ParetoNBD])
def test_purchase_model_fit_equals_the_single_machine_fit(client, cdnow, model):
    got = rdask.fit(model, dd.from_pandas(cdnow, npartitions=5), split_every=2)
    assert_same_fit(got, model.fit(cdnow))


@pytest.mark.parametrize("model", [BGNBD, ParetoNBD])
def test_a_penalised_fit_equals_the_single_machine_penalised_fit(client, cdnow, model):
    got = rdask.fit(model, dd.from_pandas(cdnow, npartitions=3), penalizer=0.05)
    want = model.fit(cdnow, penalizer=0.05)
    assert_same_fit(got, want)
    assert got.params != model.fit(cdnow).params  # the penalty was applied


def test_published_bgnbd_estimates_from_a_partitioned_summary(client, cdnow):
    m = rdask.fit(BGNBD, dd.from_pandas(cdnow, npartitions=5))
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
    assert [round(v, 3) for v in m.params.values()] == [0.243, 4.414, 0.793, 2.426]


def test_gamma_gamma_fit_on_repeat_buyers_equals_the_single_machine_fit(client, cdnow):
    repeat = cdnow[cdnow["frequency"] > 0]
    got = rdask.fit(GammaGamma, dd.from_pandas(repeat, npartitions=4))
    assert_same_fit(got, GammaGamma.fit(repeat))
    # Fader, Hardie & Lee's note 025: p = 6.25, q = 3.74, v = 15.44
    assert list(got.params.values()) == pytest.approx([6.25, 3.74, 15.44], abs=0.01)
    assert got.frequency_monetary_correlation == pytest.approx(
        GammaGamma.fit(repeat).frequency_monetary_correlation, rel=1e-9
    )


def test_gamma_gamma_refuses_customers_without_repeat_purchases_as_on_one_machine(client, cdnow):
    with pytest.raises(DataError, match="frequency 0") as single:
        GammaGamma.fit(cdnow)
    with pytest.raises(DataError, match="frequency 0") as dist:
        rdask.fit(GammaGamma, dd.from_pandas(cdnow, npartitions=3))
    assert dist.value.column == single.value.column == "frequency"
    assert "partition" in str(dist.value)


def test_bgbb_fit_from_weighted_rows_and_from_one_row_per_customer(client):
    donations = load_donations()
    want = BGBB.fit(donations)
    weighted = pd.DataFrame(donations)
    assert_same_fit(rdask.fit(BGBB, dd.from_pandas(weighted, npartitions=3)), want)
    # one row per donor, n_periods under the name a summary gives it
    per_donor = pd.DataFrame(
        {
            "frequency": np.repeat(donations["frequency"], donations["weights"].astype(int)),
            "recency": np.repeat(donations["recency"], donations["weights"].astype(int)),
            "T": np.repeat(donations["n_periods"], donations["weights"].astype(int)),
        }
    ).sample(frac=1.0, random_state=2)
    assert_same_fit(rdask.fit(BGBB, dd.from_pandas(per_donor, npartitions=6)), want)
    # Fader, Hardie & Shang (2010): alpha 1.204, beta 0.750, gamma 0.657, delta 2.783
    assert [round(v, 3) for v in want.params.values()] == [1.204, 0.75, 0.657, 2.783]


def renewals_of(survivors):
    """One row per customer of a cohort: the renewals each made."""
    s = np.asarray(survivors)
    left = -np.diff(s)  # left during period t = 1..n, after t - 1 renewals
    counts = np.append(left, s[-1])  # and those still there made n
    return np.repeat(np.arange(s.size), counts)


def test_shifted_beta_geometric_fit_from_each_customers_renewals(client):
    renewals = pd.DataFrame({"renewals": renewals_of(REGULAR)}).sample(frac=1.0, random_state=3)
    got = rdask.fit(ShiftedBetaGeometric, dd.from_pandas(renewals, npartitions=4))
    assert_same_fit(got, ShiftedBetaGeometric.fit(REGULAR))
    assert (round(got.alpha, 3), round(got.beta, 3)) == (0.704, 1.182)
    # a Series works as well, and the observed periods may be given
    series = dd.from_pandas(renewals["renewals"], npartitions=3)
    assert_same_fit(rdask.fit(ShiftedBetaGeometric, series, n_periods=7), got)


def test_shifted_beta_geometric_refuses_more_renewals_than_periods(client):
    renewals = dd.from_pandas(pd.Series(renewals_of(REGULAR), name="renewals"), npartitions=2)
    with pytest.raises(DataError, match="more renewals than n_periods=5") as info:
        rdask.fit(ShiftedBetaGeometric, renewals, n_periods=5)
    assert info.value.column == "renewals"


def test_summarize_then_fit_equals_summarize_then_fit_on_one_machine(client, events, split, end):
    summary = rdask.summarize(split(events, 5), value="value", kind="kind", observation_end=end)
    single = summarize(
        EventLog.from_pandas(events, kind="kind", value="value"), observation_end=end
    ).to_pandas()
    assert_same_fit(rdask.fit(BGNBD, summary), BGNBD.fit(single))
    repeat = single[single["frequency"] > 0]
    got = rdask.fit(GammaGamma, summary[summary["frequency"] > 0])
    assert_same_fit(got, GammaGamma.fit(repeat))


def test_a_bad_row_is_named_by_partition_and_row(client, cdnow):
    frame = cdnow.copy()
    frame.iloc[1500, frame.columns.get_loc("recency")] = frame.iloc[1500]["T"] + 1.0
    ddf = dd.from_pandas(frame, npartitions=4, sort=False)  # rows in order
    sizes = ddf.map_partitions(len).compute().tolist()
    part = int(np.searchsorted(np.cumsum(sizes), 1500, side="right"))
    row = 1500 - sum(sizes[:part])
    with pytest.raises(DataError, match=f"partition {part}") as info:
        rdask.fit(BGNBD, ddf)
    assert (info.value.column, info.value.rows, info.value.count) == ("recency", (row,), 1)


def test_weights_column_counts_customers(client, cdnow):
    compressed = cdnow.groupby(["frequency", "recency", "T"]).size().rename("weights")
    weighted = compressed.reset_index()
    got = rdask.fit(BGNBD, dd.from_pandas(weighted, npartitions=3))
    assert_same_fit(got, BGNBD.fit(cdnow))
    assert got.fit_info.n_customers == len(cdnow)


def test_only_relcores_models_can_be_fitted(client, cdnow):
    with pytest.raises(TypeError, match="cannot fit"):
        rdask.fit(dict, dd.from_pandas(cdnow, npartitions=2))
    with pytest.raises(TypeError, match="n_periods"):
        rdask.fit(BGNBD, dd.from_pandas(cdnow, npartitions=2), n_periods=3)


def test_missing_column_is_named(client, cdnow):
    with pytest.raises(DataError) as info:
        rdask.fit(BGNBD, dd.from_pandas(cdnow.drop(columns="T"), npartitions=2))
    assert info.value.column == "T"


def test_every_customer_without_a_repeat_purchase_fails_as_on_one_machine(client, cdnow):
    none = cdnow[cdnow["frequency"] == 0]
    with pytest.raises(ConvergenceError, match="no customer made a repeat purchase") as single:
        BGNBD.fit(none)
    with pytest.raises(ConvergenceError) as dist:
        rdask.fit(BGNBD, dd.from_pandas(none, npartitions=3))
    assert str(dist.value) == str(single.value)
