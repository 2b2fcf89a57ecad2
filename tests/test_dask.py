"""relcore.dask gives the single-machine summary, whatever the partitioning."""

import numpy as np
import pytest

from relcore import summarize
from relcore.datasets import load_cdnow

dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")

import relcore.dask as rdask  # noqa: E402


@pytest.mark.parametrize("calibration_end", [None, "1997-09-30"])
def test_dask_summary_equals_the_single_machine_summary_on_cdnow(calibration_end):
    log = load_cdnow()
    frame = log.to_pandas()[["customer_id", "at", "value"]]
    # Rows in file order across partitions: customers are split, so relcore must shuffle.
    ddf = dd.from_pandas(frame.sample(frac=1.0, random_state=0), npartitions=7)
    got = (
        rdask.summarize(ddf, value="value", period="W", observation_end="1998-06-30",
                        calibration_end=calibration_end)
        .compute(scheduler="synchronous")
        .sort_index()
    )  # fmt: skip
    want = summarize(
        log, period="W", observation_end="1998-06-30", calibration_end=calibration_end
    ).to_pandas()
    assert got.index.tolist() == want.index.tolist()
    for col in want.columns:
        np.testing.assert_allclose(got[col], want[col], rtol=1e-12, err_msg=col)
