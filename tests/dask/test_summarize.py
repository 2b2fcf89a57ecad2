"""relcore.dask summarises events to the single-machine summary, whatever the
partitioning."""

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


@pytest.mark.parametrize("calibration_end", [None, "1997-09-30"])
def test_summary_equals_the_single_machine_summary_on_cdnow(client, calibration_end):
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
    ).compute()
    want = summarize(
        log, period="W", observation_end="1998-06-30", calibration_end=calibration_end
    ).to_pandas()
    assert_same_frame(got, want)


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
