"""Per-customer predictions keyed by customer id: a summary or DataFrame in, a keyed table
out (arrays in, arrays out), and summaries filtered and sliced before a fit."""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import pytest

from relcore import DataError, RFMSummary
from relcore.datasets import load_cdnow_summary
from relcore.scoring import (
    BGBB,
    BGNBD,
    MBGNBD,
    CustomerPredictions,
    GammaGamma,
    ParetoNBD,
    customer_lifetime_value,
)

# Fader, Hardie & Lee's published estimates on the CDNOW sample (weekly periods)
BG = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)
GG = GammaGamma(p=6.25, q=3.74, v=15.44)


@pytest.fixture(scope="module")
def cdnow() -> RFMSummary:
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def shuffled(cdnow) -> RFMSummary:
    """CDNOW with string ids (``cust-…``) in a shuffled order."""
    order = np.random.default_rng(7).permutation(len(cdnow))
    s = cdnow[order]
    ids = np.array([f"cust-{i:05d}" for i in s.customer_id.tolist()])
    return RFMSummary(
        customer_id=ids,
        frequency=s.frequency,
        recency=s.recency,
        T=s.T,
        monetary_value=s.monetary_value,
        period=s.period,
    )


def _arrays(s: RFMSummary):
    return s.frequency, s.recency, s.T


@pytest.mark.parametrize("model", [BG, MBGNBD(r=0.5, alpha=5, a=1, b=3),
                                   ParetoNBD(r=0.55, alpha=10.6, s=0.61, beta=11.7)],
                         ids=["BGNBD", "MBGNBD", "ParetoNBD"])  # fmt: skip
def test_p_alive_of_a_summary_is_keyed_by_its_ids_in_its_order(model, shuffled):
    result = model.p_alive(shuffled)
    assert isinstance(result, CustomerPredictions)
    assert result.customer_id.tolist() == shuffled.customer_id.tolist()
    expected = model.p_alive(*_arrays(shuffled))
    frame = result.to_pandas()
    assert frame.index.name == "customer_id"
    # any customer's row is the array result at that customer's position
    for i in (0, 17, len(shuffled) - 1):
        assert frame.loc[shuffled.customer_id[i], "p_alive"] == expected[i]
    np.testing.assert_array_equal(frame["p_alive"].to_numpy(), expected)


def test_arrays_in_give_plain_arrays_out(cdnow):
    assert type(BG.p_alive(*_arrays(cdnow))) is np.ndarray
    assert type(BG.expected_purchases(10, *_arrays(cdnow))) is np.ndarray
    assert type(GG.expected_average_value(cdnow.frequency, cdnow.monetary_value)) is np.ndarray
    clv = customer_lifetime_value(BG, GG, *_arrays(cdnow), cdnow.monetary_value)
    assert type(clv) is np.ndarray


def test_expected_purchases_of_a_summary_matches_the_arrays(shuffled):
    result = BG.expected_purchases(39, shuffled)
    assert list(result.columns) == ["expected_purchases"]
    np.testing.assert_array_equal(
        result.expected_purchases, BG.expected_purchases(39, *_arrays(shuffled))
    )
    # a one-column result is an array for numpy
    np.testing.assert_array_equal(np.asarray(result), result["expected_purchases"])


def test_pandas_and_polars_frames_are_keyed_like_the_summary(shuffled):
    direct = BG.p_alive(shuffled)
    from_pandas = BG.p_alive(shuffled.to_pandas())  # ids in the index
    from_polars = BG.p_alive(shuffled.to_polars())  # ids in a column
    with_column = BG.p_alive(shuffled.to_pandas().reset_index())  # ids in a column
    for other in (from_pandas, from_polars, with_column):
        assert other.customer_id.tolist() == direct.customer_id.tolist()
        np.testing.assert_array_equal(other.p_alive, direct.p_alive)


def test_a_polars_frame_without_ids_is_refused_naming_the_column(shuffled):
    frame = shuffled.to_polars().drop("customer_id")
    with pytest.raises(DataError, match="customer_id"):
        BG.p_alive(frame)


def test_a_frame_missing_a_model_column_is_refused_naming_it(shuffled):
    with pytest.raises(DataError, match="recency"):
        BG.p_alive(shuffled.to_pandas().drop(columns="recency"))


def test_a_summary_and_columns_together_are_refused(cdnow):
    with pytest.raises(TypeError, match="not both"):
        BG.p_alive(cdnow, cdnow.recency, cdnow.T)
    with pytest.raises(TypeError, match="not both"):
        customer_lifetime_value(BG, GG, cdnow, cdnow.recency)


def test_spend_of_a_summary_is_keyed(shuffled):
    result = GG.expected_average_value(shuffled)
    np.testing.assert_array_equal(
        result.expected_average_value,
        GG.expected_average_value(shuffled.frequency, shuffled.monetary_value),
    )
    assert result.customer_id.tolist() == shuffled.customer_id.tolist()


def test_lifetime_value_of_a_summary_uses_its_period_and_is_keyed(shuffled):
    result = customer_lifetime_value(BG, GG, shuffled, months=6)
    arrays = customer_lifetime_value(
        BG, GG, *_arrays(shuffled), shuffled.monetary_value, months=6, period_days=7.0
    )
    np.testing.assert_array_equal(result.clv, arrays)
    frame = result.to_polars()
    assert frame.columns == ["customer_id", "clv"]
    assert frame["customer_id"].to_list() == shuffled.customer_id.tolist()


def test_bgbb_predictions_of_a_summary_read_T_as_the_opportunities():
    s = RFMSummary(customer_id=[5, 6, 7], frequency=[0, 3, 6], recency=[0, 4, 6],
                   T=[6, 6, 6], monetary_value=[0, 0, 0])  # fmt: skip
    m = BGBB(alpha=1.2, beta=0.75, gamma=0.66, delta=2.78)
    np.testing.assert_array_equal(m.p_alive(s).p_alive, m.p_alive(s.frequency, s.recency, s.T))
    np.testing.assert_array_equal(
        m.expected_purchases(5, s).expected_purchases,
        m.expected_purchases(5, s.frequency, s.recency, s.T),
    )


# --------------------------------------------------------------------------- predict


def test_predict_is_the_table_of_the_separate_predictions(shuffled):
    table = BG.predict(shuffled, horizon=52)
    assert list(table.columns) == ["p_alive", "expected_purchases"]
    np.testing.assert_array_equal(table.p_alive, BG.p_alive(*_arrays(shuffled)))
    np.testing.assert_array_equal(
        table.expected_purchases, BG.expected_purchases(52, *_arrays(shuffled))
    )
    assert table.customer_id.tolist() == shuffled.customer_id.tolist()


def test_predict_with_a_spend_model_adds_spend_and_lifetime_value(shuffled):
    table = BG.predict(shuffled, horizon=52, spend_model=GG, months=24)
    assert list(table.columns) == ["p_alive", "expected_purchases", "expected_average_value", "clv"]
    np.testing.assert_array_equal(
        table.expected_average_value,
        GG.expected_average_value(shuffled.frequency, shuffled.monetary_value),
    )
    np.testing.assert_allclose(
        table.clv, customer_lifetime_value(BG, GG, shuffled, months=24).clv, rtol=1e-12
    )
    frame = table.to_pandas()
    assert list(frame.columns) == list(table.columns)
    assert frame.index.tolist() == shuffled.customer_id.tolist()


def test_predict_converts_a_duration_horizon_with_the_summary_period(shuffled):
    # weekly periods: four weeks ahead is a horizon of 4 periods
    by_duration = BG.predict(shuffled, horizon=dt.timedelta(weeks=4))
    np.testing.assert_allclose(
        by_duration.expected_purchases, BG.predict(shuffled, horizon=4).expected_purchases,
        rtol=1e-12,
    )  # fmt: skip


def test_predict_refuses_arrays_pointing_at_the_array_methods(cdnow):
    with pytest.raises(TypeError, match="p_alive and expected_purchases"):
        BG.predict(cdnow.frequency, horizon=10)


def test_a_table_of_several_columns_is_not_one_array(cdnow):
    with pytest.raises(TypeError, match="take one"):
        np.asarray(BG.predict(cdnow, horizon=10))


def test_predictions_join_to_customer_data_by_id(shuffled):
    pandas = pytest.importorskip("pandas")
    crm = pandas.DataFrame(
        {"email": [f"{c}@example.com" for c in shuffled.customer_id[:50]]},
        index=pandas.Index(shuffled.customer_id[:50], name="customer_id"),
    )
    joined = crm.join(BG.predict(shuffled, horizon=10).to_pandas())
    expected = BG.p_alive(*_arrays(shuffled[:50]))
    np.testing.assert_array_equal(joined["p_alive"].to_numpy(), expected)


# --------------------------------------------------------------------------- views


def test_the_notebook_view_of_a_large_result_is_compact(cdnow):
    html = BG.predict(cdnow, horizon=10)._repr_html_()
    # 5 first rows, a gap, 5 last rows: never all 2,357 customers
    assert html.count("<tr>") == 1 + 5 + 1 + 5
    assert "2,357 rows" in html
    assert len(repr(BG.p_alive(cdnow)).splitlines()) == 1


def test_to_polars_without_polars_names_the_extra(cdnow, monkeypatch):
    monkeypatch.setitem(sys.modules, "polars", None)
    with pytest.raises(ImportError, match=r"relcore\[polars\]"):
        BG.p_alive(cdnow).to_polars()


# --------------------------------------------------------------------------- slicing


def test_fitting_a_filtered_summary_equals_fitting_the_filtered_arrays(cdnow):
    keep = cdnow.T > 30
    from_summary = BGNBD.fit(cdnow[keep])
    from_arrays = BGNBD.fit(
        frequency=cdnow.frequency[keep], recency=cdnow.recency[keep], T=cdnow.T[keep]
    )
    for name, value in from_arrays.params.items():
        assert from_summary.params[name] == pytest.approx(value, rel=1e-12)


def test_the_spend_model_fits_on_the_repeat_buyers_of_a_summary(cdnow):
    repeat = cdnow[cdnow.frequency > 0]
    assert (repeat.frequency > 0).all()
    assert len(repeat) == int((cdnow.frequency > 0).sum())
    gg = GammaGamma.fit(repeat)
    # Fader & Hardie's note 025 estimates
    assert gg.params == pytest.approx({"p": 6.25, "q": 3.74, "v": 15.44}, rel=1e-2)


def test_slicing_keeps_period_dates_and_holdout_columns():
    s = RFMSummary(customer_id=["a", "b", "c"], frequency=[0, 2, 1], recency=[0, 10, 4],
                   T=[30, 30, 20], monetary_value=[0, 20, 5], period="W",
                   observation_end=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                   holdout_frequency=[1, 0, 3], holdout_monetary_value=[5, 0, 7],
                   holdout_duration=[10, 10, 10])  # fmt: skip
    part = s[1:]
    assert part.customer_id.tolist() == ["b", "c"]
    assert part.holdout_frequency.tolist() == [0, 3]
    assert (part.period, part.observation_end) == (s.period, s.observation_end)
    assert s[[2, 0]].frequency.tolist() == [1, 0]
    assert len(s[np.zeros(3, dtype=bool)]) == 0


def test_select_picks_customers_by_id_in_the_order_given(shuffled):
    wanted = shuffled.customer_id[[40, 3, 1000]]
    picked = shuffled.select(wanted)
    assert picked.customer_id.tolist() == wanted.tolist()
    np.testing.assert_array_equal(picked.frequency, shuffled.frequency[[40, 3, 1000]])


def test_select_works_for_integer_and_object_ids(cdnow):
    assert cdnow.select([3, 1]).customer_id.tolist() == [3, 1]
    objects = RFMSummary(customer_id=np.array(["x", 7], dtype=object), frequency=[1, 0],
                         recency=[2, 0], T=[5, 5], monetary_value=[3, 0])  # fmt: skip
    assert objects.select([7]).frequency.tolist() == [0]


def test_select_refuses_unknown_and_repeated_ids_naming_them(cdnow):
    with pytest.raises(DataError, match=r"2 rows \(0, 2\): ids not in the summary"):
        cdnow.select([999_999, 1, -5])
    with pytest.raises(DataError, match=r"1 row \(2\): ids given more than once"):
        cdnow.select([1, 2, 1])


def test_a_column_by_name_and_a_clear_error_for_an_id(shuffled):
    np.testing.assert_array_equal(shuffled["frequency"], shuffled.frequency)
    with pytest.raises(KeyError, match="select"):
        shuffled["cust-00001"]


def test_a_mask_of_the_wrong_length_is_refused(cdnow):
    with pytest.raises(IndexError, match="boolean mask"):
        cdnow[np.ones(3, dtype=bool)]
