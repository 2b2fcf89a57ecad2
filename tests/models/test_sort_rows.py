"""Rows are ordered by customer, time and original position, however they are split
between threads, and whether or not the time range fits the packed key."""

from __future__ import annotations

import numpy as np
import pytest

from relcore._columns import _BUCKETED_ROWS, sort_rows


@pytest.mark.parametrize("threads", ["1", "3"])
@pytest.mark.parametrize("span", [10**9, 2**62])  # times fit the key / are truncated in it
def test_rows_sort_by_customer_time_and_position_as_a_lexsort_does(monkeypatch, threads, span):
    monkeypatch.setenv("RELCORE_NUM_THREADS", threads)
    rng = np.random.default_rng(3)
    n, n_codes = _BUCKETED_ROWS + 12_345, 40_000
    codes = rng.integers(0, n_codes, n).astype(np.int32)
    # few distinct times per customer, so that ties on (customer, time) are common
    at = rng.integers(0, 50, n).astype(np.int64) * (span // 50)
    order, sorted_codes, sorted_times = sort_rows(codes, at, n_codes)
    expected = np.lexsort((np.arange(n), at, codes))
    assert order is not None
    assert np.array_equal(order, expected)
    assert np.array_equal(sorted_codes, codes[expected])
    assert np.array_equal(sorted_times, at[expected])
