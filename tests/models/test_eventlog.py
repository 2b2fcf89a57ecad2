"""EventLog: construction, validation, sorting, slicing, adapters."""

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from relcore import DataError, EventLog, Touchpoint, ValueExchange
from relcore.models import Categorical

UTC = dt.UTC


def day(d, h=0):
    return dt.datetime(2026, 1, d, h, tzinfo=UTC)


def test_rows_are_grouped_by_customer_in_time_order():
    log = EventLog.from_arrays(
        ["b", "a", "b", "a"], [day(3), day(2), day(1), day(1)], value=[3.0, 2.0, 1.0, 0.5]
    )
    assert log.customers.tolist() == ["a", "b"]
    assert log.customer_codes.tolist() == [0, 0, 1, 1]
    assert log.value.tolist() == [0.5, 2.0, 1.0, 3.0]
    assert log.offsets.tolist() == [0, 2, 4]


@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(-(10**15), 10**15)), min_size=1, max_size=200
    )
)
def test_sort_matches_a_stable_lexsort_by_customer_then_time(rows):
    ids = np.array([r[0] for r in rows]) * 1_000_003  # sparse integer ids
    at = np.array([r[1] for r in rows], dtype=np.int64)
    value = np.arange(len(rows), dtype=np.float64)  # remembers the input position
    log = EventLog.from_arrays(ids, at.view("datetime64[us]"), value=value, timezone="UTC")
    reference = np.lexsort((np.arange(len(rows)), at, ids))  # stable: ties keep input order
    assert log.value.tolist() == value[reference].tolist()
    assert log.at.tolist() == at[reference].tolist()
    assert log.customers[log.customer_codes].tolist() == ids[reference].tolist()


def test_sort_is_exact_when_the_time_range_needs_more_bits_than_the_key_has():
    # 2**20 customers leave 42 bits for time; a 290-year range in microseconds needs 53.
    rng = np.random.default_rng(1)
    n = 50_000
    ids = rng.integers(0, 2**20, n)
    at = rng.integers(-(2**52), 2**52, n)
    at[:100] = at[100:200]  # exact ties on time
    ids[:100] = ids[100:200]
    log = EventLog.from_arrays(
        ids, at.view("datetime64[us]"), value=np.arange(n, dtype=float), timezone="UTC"
    )
    reference = np.lexsort((np.arange(n), at, ids))
    assert np.array_equal(log.value, np.arange(n, dtype=float)[reference])


def test_integer_ids_stay_integers_and_strings_stay_as_written():
    ints = EventLog.from_arrays(np.array([7, 3]), [day(1), day(2)])
    assert ints.customers.dtype.kind == "i"
    assert ints.customers.tolist() == [3, 7]
    strs = EventLog.from_arrays(["007", "03"], [day(1), day(2)])
    assert strs.customers.tolist() == ["007", "03"]


@pytest.mark.parametrize(
    ("ids", "problem"),
    [
        (["a", None, "b"], "missing"),
        (["a", "", "b"], "empty"),
        (np.array([1.0, np.nan, 2.0]), "NaN"),
    ],
)
def test_bad_customer_ids_are_named(ids, problem):
    with pytest.raises(DataError, match=problem) as info:
        EventLog.from_arrays(ids, [day(1), day(2), day(3)])
    assert info.value.column == "customer_id"
    assert info.value.rows == (1,)


def test_float_ids_are_refused_rather_than_rounded():
    with pytest.raises(DataError, match="integers or strings"):
        EventLog.from_arrays(np.array([1.0, 2.0]), [day(1), day(2)])


def test_non_finite_values_are_named_not_dropped():
    with pytest.raises(DataError) as info:
        EventLog.from_arrays(["a"] * 4, [day(1)] * 4, value=[1.0, np.inf, 2.0, np.nan])
    assert (info.value.column, info.value.rows, info.value.count) == ("value", (1, 3), 2)


def test_unknown_initiator_is_named():
    with pytest.raises(DataError, match="'customer', 'company'") as info:
        EventLog.from_arrays(["a", "a"], [day(1), day(2)], initiator=["company", "robot"])
    assert info.value.rows == (1,)


def test_naive_and_unparseable_times_are_named():
    with pytest.raises(DataError, match="naive") as info:
        EventLog.from_arrays(["a", "b"], [day(1), dt.datetime(2026, 1, 2)])
    assert info.value.rows == (1,)
    with pytest.raises(DataError, match="NaT"):
        EventLog.from_arrays(
            ["a", "b"], np.array(["2026-01-01", "NaT"], dtype="datetime64[D]"), timezone="UTC"
        )


def test_length_mismatch_is_an_error():
    with pytest.raises(DataError, match="2 values for 3"):
        EventLog.from_arrays(["a", "b", "c"], [day(1), day(2), day(3)], channel=["web", "sms"])


def test_datetime64_values_are_read_in_their_stated_zone():
    log = EventLog.from_arrays(
        ["a"], np.array(["2026-07-01T12:00"], dtype="datetime64[m]"), timezone="Europe/Paris"
    )
    assert log.at[0] == int(dt.datetime(2026, 7, 1, 10, 0, tzinfo=UTC).timestamp() * 1e6)


def test_from_records_keeps_both_directions_of_value():
    log = EventLog.from_records(
        [
            Touchpoint("c1", day(1), channel="email", initiator="company", category="promo"),
            ValueExchange("c1", day(2), channel="store", to_company=50.0, to_customer=5.0),
            Touchpoint("c2", day(1), channel="phone", initiator="customer", kind="complaint"),
        ]
    )
    assert log.kind.to_numpy().tolist() == ["message", "purchase", "complaint"]
    assert log.value.tolist() == [0.0, 50.0, 0.0]
    assert log.value_to_customer.tolist() == [0.0, 5.0, 0.0]
    assert log.initiator.to_numpy().tolist() == ["company", None, "customer"]


def test_for_customer_returns_views_not_copies():
    log = EventLog.from_arrays(["a", "b", "b"], [day(1), day(1), day(2)], value=[1.0, 2.0, 3.0])
    b = log.for_customer("b")
    assert b.value.tolist() == [2.0, 3.0]
    assert np.shares_memory(b.value, log.value)
    assert np.shares_memory(b.at, log.at)
    with pytest.raises(KeyError):
        log.for_customer("zzz")


def test_arrays_handed_out_are_read_only():
    log = EventLog.from_arrays(["a"], [day(1)], value=[1.0])
    for arr in (log.at, log.value, log.customer_codes, log.kind.codes, log.customers):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = arr[0]


def test_input_arrays_are_not_mutated():
    ids = np.array([2, 1])
    value = np.array([1.0, 2.0])
    EventLog.from_arrays(ids, [day(2), day(1)], value=value)
    assert ids.tolist() == [2, 1]
    assert value.tolist() == [1.0, 2.0]


def test_filter_by_kind_channel_and_half_open_time_range():
    log = EventLog.from_arrays(
        ["a", "a", "a", "b"],
        [day(1), day(2), day(3), day(2)],
        kind=["message", "purchase", "purchase", "purchase"],
        channel=["email", "web", "store", "web"],
    )
    assert len(log.filter(kind="purchase")) == 3
    assert len(log.filter(kind="purchase", channel=["web"])) == 2
    window = log.filter(start=day(2), end=day(3))
    assert window.at.tolist() == [log.at[1], log.at[3]]
    assert window.n_customers == 2  # the customer table is kept whole
    assert len(log.filter(channel="fax")) == 0


def test_unused_columns_cost_no_memory():
    n = 1_000_000
    log = EventLog.from_arrays(
        np.arange(n) % 1000,
        np.zeros(n, dtype="datetime64[us]"),
        value=np.ones(n),
        timezone="UTC",
    )
    per_row = (log.nbytes - log.customers.nbytes - log.offsets.nbytes) / n
    assert per_row <= 4 + 8 + 8 + 1e-3  # code, time, value; labels are constants


def test_categorical_columns_can_be_passed_coded():
    log = EventLog.from_arrays(
        ["a", "a"],
        [day(1), day(2)],
        initiator=Categorical(np.array([1, 0], dtype=np.int8), ("company", "customer")),
    )
    # Re-coded to relcore's fixed vocabulary ("customer", "company").
    assert log.initiator.categories == ("customer", "company")
    assert log.initiator.to_numpy().tolist() == ["customer", "company"]
    with pytest.raises(DataError, match="out of range"):
        EventLog.from_arrays(
            ["a"], [day(1)], channel=Categorical(np.array([3], dtype=np.int8), ("web",))
        )


def test_pandas_round_trip_keeps_every_column():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "cust": ["x", "y", "x"],
            "when": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]).tz_localize(
                "Europe/Berlin"
            ),
            "amount": [1.0, 2.0, 3.0],
            "ch": pd.Categorical(["web", None, "store"]),
        }
    )
    log = EventLog.from_pandas(df, customer_id="cust", at="when", value="amount", channel="ch")
    back = log.to_pandas()
    assert back["customer_id"].tolist() == ["x", "x", "y"]
    assert back["value"].tolist() == [1.0, 3.0, 2.0]
    assert list(back["channel"].astype(object).where(back["channel"].notna(), None)) == [
        "web",
        "store",
        None,
    ]
    expected = df["when"].dt.tz_convert("UTC").sort_values().tolist()
    assert sorted(back["at"].tolist()) == expected


def test_pandas_naive_column_needs_a_zone():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"customer_id": [1], "at": pd.to_datetime(["2026-01-01"])})
    with pytest.raises(DataError, match="timezone="):
        EventLog.from_pandas(df)
    assert len(EventLog.from_pandas(df, timezone="UTC")) == 1


def test_polars_frame_with_aware_times():
    pl = pytest.importorskip("polars")
    df = pl.DataFrame(
        {
            "customer_id": ["a", "b"],
            "at": [dt.datetime(2026, 1, 1, 9, tzinfo=UTC), dt.datetime(2026, 1, 2, tzinfo=UTC)],
            "value": [1.5, 2.5],
        }
    )
    log = EventLog.from_polars(df, value="value")
    assert log.value.tolist() == [1.5, 2.5]
    assert log.at[0] == int(day(1, 9).timestamp() * 1_000_000)


def test_read_csv_keeps_ids_as_written_and_names_bad_rows(tmp_path):
    pytest.importorskip("pyarrow")
    good = tmp_path / "good.csv"
    good.write_text("id,when,amount\n007,2026-01-01T10:00:00+01:00,5\n7,2026-01-02T00:00:00Z,6\n")
    log = EventLog.read_csv(good, customer_id="id", at="when", value="amount")
    assert log.customers.tolist() == ["007", "7"]
    assert log.at[0] == int(dt.datetime(2026, 1, 1, 9, tzinfo=UTC).timestamp() * 1e6)

    naive = tmp_path / "naive.csv"
    naive.write_text("id,when\na,2026-01-01T10:00:00Z\nb,2026-01-01 10:00\n")
    with pytest.raises(DataError, match="naive") as info:
        EventLog.read_csv(naive, customer_id="id", at="when")
    assert info.value.rows == (1,)
    local = tmp_path / "local.csv"
    local.write_text("id,when\na,2026-07-01 10:00\nb,2026-07-01T12:30:00\n")
    paris = EventLog.read_csv(local, customer_id="id", at="when", timezone="Europe/Paris")
    expected = [dt.datetime(2026, 7, 1, h, m, tzinfo=UTC) for h, m in ((8, 0), (10, 30))]
    assert paris.at.tolist() == [int(t.timestamp() * 1_000_000) for t in expected]

    blank = tmp_path / "blank.csv"
    blank.write_text("id,when,amount\na,2026-01-01T00:00:00Z,1\nb,2026-01-01T00:00:00Z,\n")
    with pytest.raises(DataError, match="empty") as info:
        EventLog.read_csv(blank, customer_id="id", at="when", value="amount")
    assert (info.value.column, info.value.rows) == ("amount", (1,))


def test_read_csv_with_a_format_and_a_zone(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "cdnow_like.csv"
    path.write_text("id,date,dollars\n00001,19970101,11.77\n00002,19970112,12.00\n")
    log = EventLog.read_csv(
        path, customer_id="id", at="date", value="dollars", at_format="%Y%m%d", timezone="UTC"
    )
    assert log.customers.tolist() == ["00001", "00002"]
    assert log.times.astype("datetime64[D]").astype(str).tolist() == ["1997-01-01", "1997-01-12"]
    with pytest.raises(DataError, match="timezone="):
        EventLog.read_csv(path, customer_id="id", at="date", at_format="%Y%m%d")


@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.characters(max_codepoint=127, exclude_characters="\x00"),
                    min_size=1, max_size=12),
            st.text(alphabet=st.characters(exclude_characters="\x00"), min_size=1, max_size=4),
        ),
        min_size=1,
        max_size=60,
    )
)  # fmt: skip
def test_string_ids_are_tabled_in_sorted_order_with_consistent_codes(ids):
    ids = [i for i in ids if i.strip()] or ["x"]
    log = EventLog.from_arrays(ids, [day(1)] * len(ids))
    assert log.customers.tolist() == sorted(set(ids))
    assert sorted(log.customers[log.customer_codes].tolist()) == sorted(ids)


@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=60))
def test_integer_ids_of_any_spread_are_tabled_in_sorted_order(ids):
    log = EventLog.from_arrays(np.array(ids, dtype=np.int64), [day(1)] * len(ids))
    assert log.customers.tolist() == sorted(set(ids))
    assert sorted(log.customers[log.customer_codes].tolist()) == sorted(ids)


@pytest.mark.parametrize("time_range", [10**12, 2**52])  # the key holds time whole / cut
def test_large_logs_sort_bucket_by_bucket_to_the_same_order(time_range):
    # Above 2**20 rows the sort groups rows into buckets of customers first.
    rng = np.random.default_rng(3)
    n = (1 << 20) + 12_345
    ids = rng.integers(0, 300_000, n)
    at = rng.integers(0, time_range, n)
    at[:5000] = at[5000:10_000]  # ties on time, some on customer too
    ids[:2000] = ids[5000:7000]
    log = EventLog.from_arrays(
        ids, at.view("datetime64[us]"), value=np.arange(n, dtype=float), timezone="UTC"
    )
    reference = np.lexsort((np.arange(n), at, ids))
    assert np.array_equal(log.value, np.arange(n, dtype=float)[reference])
    assert np.array_equal(log.at, at[reference])


@pytest.mark.parametrize("rows", [0, 2**62])  # object columns grouped by reference / not
def test_object_label_columns_code_as_the_same_labels_given_as_text(monkeypatch, rows):
    import relcore._columns

    monkeypatch.setattr(relcore._columns, "_FEW_OBJECTS_ROWS", rows)
    rng = np.random.default_rng(4)
    n = 2_000
    # "email" twice, as two distinct objects: one label
    pool = np.array(["email", "".join(["em", "ail"]), "sms", None], dtype=object)
    channel = pool[rng.integers(0, pool.size, n)]
    at = np.full(n, np.datetime64("2026-01-01", "us"))
    ids = rng.integers(0, 50, n)
    text = np.where(channel == None, "", channel).astype(str)  # noqa: E711
    by_objects = EventLog.from_arrays(ids, at, channel=channel, timezone="UTC")
    by_text = EventLog.from_arrays(
        ids, at, channel=np.where(text == "", None, text).astype(object).tolist(), timezone="UTC"
    )
    assert by_objects.channel.categories == ("email", "sms")
    assert np.array_equal(by_objects.channel.codes, by_text.channel.codes)
    channel[[3, 17]] = 7  # not a label: refused naming its rows
    with pytest.raises(DataError, match="not strings") as info:
        EventLog.from_arrays(ids, at, channel=channel, timezone="UTC")
    assert (info.value.column, info.value.rows) == ("channel", (3, 17))
