"""Rows are ordered by customer, time and original position, however they are split
between threads, whether the row number fits the packed key, and whether the time range
fits it or is truncated."""

from __future__ import annotations

import numpy as np
import pytest

import relcore._columns
from relcore._columns import _BUCKETED_ROWS, sort_rows


@pytest.fixture(params=["rows in the key", "buckets"])
def packing(request, monkeypatch):
    if request.param == "buckets":  # no room for the row number: argsort bucket by bucket
        monkeypatch.setattr(relcore._columns, "_MIN_TIME_BITS", 64)
    return request.param


@pytest.mark.parametrize("threads", ["1", "3"])
@pytest.mark.parametrize("span", [50, 10**9, 2**62])  # whole / truncated in the key
def test_rows_sort_by_customer_time_and_position_as_a_lexsort_does(
    monkeypatch, packing, threads, span
):
    monkeypatch.setenv("RELCORE_NUM_THREADS", threads)
    rng = np.random.default_rng(3)
    n, n_codes = _BUCKETED_ROWS + 12_345, 40_000
    codes = rng.integers(0, n_codes, n).astype(np.int32)
    # few distinct times per customer, so that ties on (customer, time) are common
    at = rng.integers(0, 50, n).astype(np.int64) * (span // 50) - 7
    order, sorted_codes, sorted_times, offsets = sort_rows(codes, at, n_codes)
    expected = np.lexsort((np.arange(n), at, codes))
    assert order is not None
    assert np.array_equal(order, expected)
    assert np.array_equal(sorted_codes, codes[expected])
    assert np.array_equal(sorted_times, at[expected])
    assert np.array_equal(offsets, np.searchsorted(sorted_codes, np.arange(n_codes + 1)))
    # rows given in order come back as they are
    again = sort_rows(codes[expected], at[expected], n_codes)
    assert again[0] is None
    assert np.array_equal(again[2], at[expected])


def test_rows_in_truncated_time_order_but_not_in_exact_order_are_sorted(packing):
    # one customer; the first three times are equal once truncated, out of order exactly
    at = np.array([1, 3, 2, 2**62], dtype=np.int64)
    codes = np.zeros(4, dtype=np.int32)
    order, _, sorted_times, _ = sort_rows(codes, at, 1)
    assert order is not None
    assert order.tolist() == [0, 2, 1, 3]
    assert sorted_times.tolist() == [1, 2, 3, 2**62]
