"""EventLog from pandas, polars (eager and lazy), pyarrow tables and Parquet files: the same
log whatever the frame holds its text in, and the same refusals naming the frame's columns."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from relcore import DataError, EventLog, summarize

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

UTC = dt.UTC
IDS = ["c2", "c1", "c2", "00042", "c1"]
WHEN = [dt.datetime(2026, 3, d, 9, 30, tzinfo=UTC) for d in (1, 2, 3, 4, 5)]
AMOUNT = [10.0, 5.5, 7.0, 1.0, 2.5]
KIND = ["purchase", "purchase", "message", "purchase", None]


def reference() -> EventLog:
    return EventLog.from_arrays(IDS, WHEN, value=AMOUNT, channel=KIND, kind=["purchase"] * 5)


def same_log(log: EventLog, ref: EventLog) -> None:
    assert log.customers.tolist() == ref.customers.tolist()
    assert log.customer_codes.tolist() == ref.customer_codes.tolist()
    assert log.at.tolist() == ref.at.tolist()
    assert log.value.tolist() == ref.value.tolist()
    assert log.channel.to_numpy().tolist() == ref.channel.to_numpy().tolist()


def arrow_table():
    return pa.table(
        {
            "client": IDS,
            "ordered_at": pa.array(WHEN, pa.timestamp("us", tz="UTC")),
            "amount": AMOUNT,
            "via": KIND,
        }
    )


def build(source, frame):
    method = {
        "pandas": EventLog.from_pandas,
        "polars": EventLog.from_polars,
        "arrow": EventLog.from_arrow,
    }[source]
    return method(frame, customer_id="client", at="ordered_at", value="amount", channel="via")


@pytest.mark.parametrize(
    "string_dtype", ["str", "string[pyarrow]", "string[python]", "object", "category"]
)
def test_pandas_text_in_any_dtype_gives_the_same_log(string_dtype):
    pytest.importorskip("pandas")
    df = arrow_table().to_pandas()
    for name in ("client", "via"):
        missing = df[name].isna()
        df[name] = df[name].astype(string_dtype)
        # pandas < 3 turns None into the text 'None' under astype(str): keep it missing
        df.loc[missing, name] = None
    same_log(build("pandas", df), reference())


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("categorical", [False, True])
def test_polars_frames_eager_or_lazy_give_the_same_log(lazy, categorical):
    pl = pytest.importorskip("polars")
    df = pl.from_arrow(arrow_table())
    if categorical:
        df = df.with_columns(pl.col("client", "via").cast(pl.Categorical))
    frame = df.lazy().with_columns(ignored=pl.lit(1)) if lazy else df
    same_log(build("polars", frame), reference())


def test_a_lazy_frame_without_the_column_is_refused_naming_it():
    pl = pytest.importorskip("polars")
    with pytest.raises(DataError, match="not a column") as info:
        EventLog.from_polars(pl.LazyFrame({"customer_id": ["a"]}))
    assert info.value.column == "at"


def test_arrow_tables_and_record_batches_give_the_same_log():
    table = arrow_table()
    same_log(build("arrow", table), reference())
    same_log(build("arrow", table.to_batches()[0]), reference())


def test_arrow_instants_in_any_zone_or_unit_are_the_same_instants():
    when = pa.array(WHEN, pa.timestamp("us", tz="UTC"))
    for shown in (
        when.cast(pa.timestamp("ms", tz="Asia/Kolkata")),
        when.cast(pa.timestamp("ns", tz="America/New_York")),
    ):
        log = EventLog.from_arrow(pa.table({"customer_id": IDS, "at": shown}))
        assert sorted(log.at.tolist()) == sorted(int(t.timestamp() * 1e6) for t in WHEN)


def test_arrow_wall_clock_times_and_dates_need_their_zone():
    naive = pa.table({"customer_id": ["a", "b"], "at": pa.array([dt.datetime(2026, 7, 1, 12)] * 2)})
    with pytest.raises(DataError, match="timezone=") as info:
        EventLog.from_arrow(naive)
    assert info.value.column == "at"
    paris = EventLog.from_arrow(naive, timezone="Europe/Paris")
    assert paris.at[0] == int(dt.datetime(2026, 7, 1, 10, tzinfo=UTC).timestamp() * 1e6)
    dates = pa.table({"customer_id": ["a"], "at": pa.array([dt.date(2026, 7, 1)])})
    day = EventLog.from_arrow(dates, timezone="UTC")
    assert day.at[0] == int(dt.datetime(2026, 7, 1, tzinfo=UTC).timestamp() * 1e6)
    aware = pa.table({"customer_id": ["a"], "at": pa.array(WHEN[:1])})
    with pytest.raises(DataError, match="drop timezone="):
        EventLog.from_arrow(aware, timezone="UTC")


def test_arrow_nulls_are_named_by_row_in_the_tables_own_columns():
    table = arrow_table()
    for column, problem in (("client", "missing"), ("ordered_at", "NaT"), ("amount", "NaN")):
        cells = table.column(column).to_pylist()
        cells[3] = None
        bad = table.set_column(
            table.schema.get_field_index(column), column, pa.array(cells, table.column(column).type)
        )
        with pytest.raises(DataError, match=problem) as info:
            build("arrow", bad)
        assert (info.value.column, info.value.rows) == (column, (3,))


def test_an_arrow_table_naming_a_column_twice_is_refused():
    table = pa.table([pa.array(["a"]), pa.array(WHEN[:1]), pa.array(["b"])],
                     names=["customer_id", "at", "customer_id"])  # fmt: skip
    with pytest.raises(DataError, match="2 times") as info:
        EventLog.from_arrow(table)
    assert info.value.column == "customer_id"


def test_parquet_files_read_only_the_named_columns_into_the_same_log(tmp_path):
    path = tmp_path / "orders.parquet"
    pq.write_table(arrow_table().append_column("other", pa.nulls(5)), path)
    log = EventLog.read_parquet(
        path, customer_id="client", at="ordered_at", value="amount", channel="via"
    )
    same_log(log, reference())
    with pytest.raises(DataError, match="not a column") as info:
        EventLog.read_parquet(path, customer_id="customer")
    assert info.value.column == "customer"
    assert "'client'" in str(info.value)


def test_a_file_that_is_not_parquet_is_named(tmp_path):
    path = tmp_path / "orders.parquet"
    path.write_text("customer_id,at\n")
    with pytest.raises(DataError, match="could not be read as Parquet") as info:
        EventLog.read_parquet(path)
    assert str(path) in str(info.value)


def test_summaries_written_to_parquet_read_back_with_their_period(tmp_path):
    log = reference()
    summary = summarize(log, period="W", observation_end="2026-03-31", calibration_end="2026-03-03")
    path = tmp_path / "summary.parquet"
    summary.to_parquet(path)
    table = pq.read_table(path)
    for name, column in summary.to_dict().items():
        assert table.column(name).to_pylist() == column.tolist()
    assert set(table.column("period").to_pylist()) == {"W"}
    metadata = table.schema.metadata
    assert metadata[b"relcore.period"] == b"W"
    assert metadata[b"relcore.calibration_end"].startswith(b"2026-03-03T23:59:59")


def test_pandas_and_polars_summaries_agree_with_the_arrays_at_scale():
    pl = pytest.importorskip("polars")
    rng = np.random.default_rng(7)
    n = 50_000
    pool = np.array([f"{x:032x}" for x in rng.integers(0, 2**62, 5_000)])
    ids = pool[rng.integers(0, pool.size, n)]
    at = np.datetime64("2025-01-01T00:00:00", "us") + rng.integers(0, 300 * 86_400 * 10**6, n)
    value = rng.gamma(2.0, 20.0, n).round(2)
    expected = summarize(
        EventLog.from_arrays(ids, at, value=value, timezone="UTC"), observation_end="2025-12-31"
    )
    frame = pl.DataFrame({"customer_id": ids, "at": at, "value": value})
    for log in (
        EventLog.from_polars(frame, value="value", timezone="UTC"),
        EventLog.from_pandas(frame.to_pandas(), value="value", timezone="UTC"),
        EventLog.from_arrow(frame.to_arrow(), value="value", timezone="UTC"),
    ):
        got = summarize(log, observation_end="2025-12-31")
        for name, column in expected.to_dict().items():
            assert np.array_equal(getattr(got, name), column), name
