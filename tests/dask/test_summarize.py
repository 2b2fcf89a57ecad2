"""relcore.dask reads datasets as the single-machine readers do and summarises them to
the single-machine summary, whatever the partitioning."""

from __future__ import annotations

import numpy as np
import pytest

from relcore import DataError, summarize
from relcore.datasets import load_cdnow
from relcore.models import EventLog

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")

import relcore.dask as rdask  # noqa: E402


def single_machine(events, **options):
    log = EventLog.from_pandas(events, kind="kind", value="value")
    return summarize(log, **options).to_pandas()


def assert_same_frame(got, want, rtol=1e-12):
    got = got.sort_index()
    assert got.index.tolist() == want.index.tolist()
    assert list(got.columns) == list(want.columns)
    for col in want.columns:
        np.testing.assert_allclose(got[col], want[col], rtol=rtol, err_msg=col)


def test_the_test_data_split_customers_across_partitions(events, split, partitions_per_customer):
    assert (partitions_per_customer(split(events, 5)) > 1).sum() > 100


@pytest.mark.parametrize(
    ("calibration_end", "holdout_spend"),
    [(None, "per_transaction"), ("1997-09-30", "per_transaction"), ("1997-09-30", "per_period")],
)
def test_summary_equals_the_single_machine_summary_on_cdnow(client, calibration_end, holdout_spend):
    log = load_cdnow()
    log = log.select(log.customer_codes < 4000)  # a quarter of the customers is plenty
    frame = log.to_pandas()[["customer_id", "at", "value"]]
    # rows shuffled across partitions: customers are split, so relcore must shuffle
    ddf = dd.from_pandas(frame.sample(frac=1.0, random_state=0), npartitions=7)
    got = rdask.summarize(
        ddf,
        value="value",
        period="W",
        observation_end="1998-06-30",
        calibration_end=calibration_end,
        holdout_spend=holdout_spend,
    ).compute()
    want = summarize(
        log,
        period="W",
        observation_end="1998-06-30",
        calibration_end=calibration_end,
        holdout_spend=holdout_spend,
    ).to_pandas()
    assert_same_frame(got, want)


def test_summary_of_a_parquet_dataset_equals_the_single_machine_summary(
    client, parquet_dataset, events, end
):
    got = rdask.summarize(
        str(parquet_dataset), customer_id="client", at="ordered_at", value="value",
        kind="kind", timezone="UTC", observation_end=end,
    ).compute()  # fmt: skip
    assert_same_frame(got, single_machine(events, observation_end=end))


def test_read_events_keeps_every_event_with_relcore_names(client, parquet_dataset, events):
    read = rdask.read_events(
        parquet_dataset / "*.parquet", customer_id="client", at="ordered_at", kind="kind",
        value="value", channel="channel", initiator="initiator", timezone="UTC",
        partition_rows=1000,
    )  # fmt: skip
    assert read.npartitions > 3  # files split at row groups of 400 rows
    got = read.compute()
    assert list(got.columns) == ["customer_id", "at", "kind", "value", "channel", "initiator"]
    key = ["customer_id", "at", "kind", "value"]
    got = got.sort_values(key).reset_index(drop=True)
    want = events.sort_values(key).reset_index(drop=True)
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    assert (got["at"] == want["at"]).all()
    assert got["value"].tolist() == want["value"].tolist()
    for label in ("kind", "channel", "initiator"):
        assert got[label].isna().tolist() == want[label].isna().tolist()
        assert got[label].dropna().tolist() == want[label].dropna().tolist()


def test_read_events_names_the_file_and_its_row_of_a_bad_value(client, tmp_path, events):
    good = events.iloc[:50].copy()
    bad = events.iloc[50:100].copy()
    bad.iloc[[13, 17], bad.columns.get_loc("value")] = np.nan
    good.to_parquet(tmp_path / "a.parquet")
    bad.to_parquet(tmp_path / "b.parquet", row_group_size=10)
    read = rdask.read_events(tmp_path, value="value", kind="kind", partition_rows=10)
    with pytest.raises(DataError) as info:
        read.compute()
    err = info.value
    # rows counted within the file, although the file was read in pieces of 10 rows
    assert (err.column, err.rows, err.count) == ("value", (13, 17), 2)
    assert str(tmp_path / "b.parquet") in str(err)


def test_read_events_refuses_naive_times_without_a_zone_naming_the_column(client, parquet_dataset):
    read = rdask.read_events(parquet_dataset, customer_id="client", at="ordered_at")
    with pytest.raises(DataError, match=r"orders-\d\.parquet") as info:
        read.compute()
    assert info.value.column == "ordered_at"


def test_read_events_of_csv_files_matches_the_single_machine_reader(client, tmp_path, events, end):
    text = events.assign(at=events["at"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    for i, rows in enumerate(np.array_split(np.arange(len(text)), 2)):
        text.iloc[rows].to_csv(tmp_path / f"part-{i}.csv", index=False)
    got = rdask.summarize(
        str(tmp_path / "*.csv"), value="value", kind="kind", observation_end=end
    ).compute()
    assert_same_frame(got, single_machine(events, observation_end=end))


def test_a_bad_csv_row_is_named_by_file_and_row(client, tmp_path):
    (tmp_path / "a.csv").write_text("customer_id,at\nc1,2026-01-01T00:00:00+00:00\n")
    (tmp_path / "b.csv").write_text(
        "customer_id,at\nc2,2026-01-01T00:00:00+00:00\nc3,yesterday\nc4,2026-01-02T00:00:00Z\n"
    )
    with pytest.raises(DataError) as info:
        rdask.read_events(tmp_path).compute()
    assert (info.value.column, info.value.rows) == ("at", (1,))
    assert str(tmp_path / "b.csv") in str(info.value)


def test_integer_ids_stay_integers(client, tmp_path, events, end):
    numbered = events.assign(customer_id=events["customer_id"].str[1:].astype("int64"))
    numbered.to_parquet(tmp_path / "n.parquet")
    got = rdask.summarize(str(tmp_path), value="value", kind="kind", observation_end=end).compute()
    assert got.index.dtype == np.int64
    want = single_machine(numbered, observation_end=end)
    assert_same_frame(got, want)


def test_text_ids_in_one_file_and_integers_in_another_are_refused(client, tmp_path, events):
    events.iloc[:10].assign(customer_id=np.arange(10)).to_parquet(tmp_path / "a.parquet")
    events.iloc[10:20].to_parquet(tmp_path / "b.parquet")
    with pytest.raises(DataError, match=r"holds text in .*b\.parquet"):
        rdask.read_events(tmp_path).compute()


def test_summary_error_names_the_customers_not_meaningless_shuffled_rows(client, events, split):
    # a purchase after observation_end: the single-machine summary refuses it too
    late = events["at"].max()
    ddf = split(events[events["kind"] == "purchase"], 4)
    with pytest.raises(DataError, match="customer ids") as info:
        rdask.summarize(ddf, observation_end=late - pd.Timedelta(days=1)).compute()
    assert info.value.column == "at"


def test_summaries_written_to_parquet_read_back_the_same(client, events, tmp_path, split, end):
    out = rdask.summarize(split(events, 4), value="value", kind="kind", observation_end=end)
    out.to_parquet(tmp_path / "summary")
    back = pd.read_parquet(tmp_path / "summary")
    assert_same_frame(back, single_machine(events, observation_end=end))


def test_a_missing_id_is_named_by_file_and_row(client, tmp_path, events):
    table = events.iloc[:30].rename(columns={"customer_id": "client"})
    table["client"] = table["client"].astype(object)
    table.iloc[5, table.columns.get_loc("client")] = None
    table.to_parquet(tmp_path / "orders.parquet")
    with pytest.raises(DataError, match="missing") as info:
        rdask.read_events(tmp_path, customer_id="client").compute()
    assert (info.value.column, info.value.rows) == ("client", (5,))


@pytest.mark.parametrize("dtype", [object, "string[pyarrow]"])
@pytest.mark.parametrize("bad_id", ["", "c0001\0"], ids=["empty", "nul-ending"])
def test_an_id_relcore_refuses_is_refused_as_on_one_machine(
    client, events, split, end, bad_id, dtype
):
    bad = events.astype({"customer_id": dtype})
    bad.iloc[[7, 9], bad.columns.get_loc("customer_id")] = bad_id
    with pytest.raises(DataError) as single:
        EventLog.from_pandas(bad)
    with pytest.raises(DataError) as dist:
        rdask.summarize(split(bad, 3), observation_end=end).compute()
    assert dist.value.column == single.value.column == "customer_id"
    assert single.value.problem in dist.value.problem
    assert dist.value.count == 2  # both rows lie in the partition that holds the bad id


def test_an_empty_id_in_a_parquet_file_is_named_by_file_and_row(client, tmp_path, events):
    table = events.iloc[:30].astype({"customer_id": "string[pyarrow]"})
    table.iloc[[4, 11], table.columns.get_loc("customer_id")] = ""
    table.to_parquet(tmp_path / "orders.parquet")
    with pytest.raises(DataError, match="empty") as info:
        rdask.read_events(tmp_path).compute()
    assert (info.value.column, info.value.rows) == ("customer_id", (4, 11))
    assert "orders.parquet" in info.value.problem
