"""Compression of identical rows before a fit: whichever way the rows are grouped (integer
codes for whole numbers, ranks for fractions, intermediate ranks when the codes outgrow
one int64, row numbers packed with the key or not), the result is the distinct rows in
lexicographic order with the summed weights of the rows they stand for."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from relcore.scoring import BGNBD
from relcore.scoring.purchase._inputs import compress


def _reference(columns, weights):
    """Distinct rows and their total weights by numpy's row-wise unique (independent of
    the sort relcore uses)."""
    rows, inverse = np.unique(np.column_stack(columns), axis=0, return_inverse=True)
    return [rows[:, j] for j in range(rows.shape[1])], np.bincount(
        inverse.ravel(), weights=weights, minlength=rows.shape[0]
    )


def _assert_same(columns, weights):
    got_cols, got_w = compress([np.asarray(c, dtype=float) for c in columns], weights)
    want_cols, want_w = _reference(columns, weights)
    assert len(got_cols) == len(want_cols)
    for got, want in zip(got_cols, want_cols, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(got_w, want_w, rtol=1e-12)


@pytest.mark.parametrize("unit", [True, False])
def test_whole_number_rows_compress_by_integer_codes_like_rowwise_unique(unit):
    rng = np.random.default_rng(1)
    n = 50_000  # daily periods: whole numbers, many repeats
    T = rng.integers(0, 60, n).astype(float)
    tx = np.floor(rng.uniform(0, 1, n) * T)
    x = rng.integers(0, 5, n).astype(float)
    w = np.ones(n) if unit else rng.uniform(0.5, 2.0, n)
    _assert_same([x, tx, T], w)


def test_fractional_rows_with_many_repeats_compress_by_ranks():
    rng = np.random.default_rng(2)
    n = 30_000  # weeks counted in days: T = k / 7, a few dozen distinct values
    T = rng.integers(1, 40, n) / 7.0
    tx = np.floor(rng.uniform(0, 1, n) * T * 7) / 7.0
    x = rng.integers(0, 4, n).astype(float)
    _assert_same([x, tx, T], rng.integers(1, 4, n).astype(float))


def test_whole_numbers_of_huge_range_are_ranked_and_still_exact():
    rng = np.random.default_rng(3)
    n = 5_000
    big = rng.choice([0.0, 2.0**40, 2.0**40 + 1, 2.0**53 + 2, 1e300], n)
    small = rng.integers(0, 3, n).astype(float)
    _assert_same([small, big], np.ones(n))


def test_codes_that_would_overflow_one_key_are_ranked_on_the_way():
    rng = np.random.default_rng(4)
    n = 20_000
    # three ranges of 2**31 - 1: their product needs 93 bits
    cols = [rng.choice([0.0, 2.0**31 - 2], n) + rng.integers(0, 2, n) for _ in range(3)]
    _assert_same(cols, rng.uniform(0.0, 1.0, n))


def test_keys_too_wide_to_pack_row_numbers_sort_by_argsort():
    rng = np.random.default_rng(5)
    n = 100_000
    # about 60 bits of key leave no room for 17 bits of row number
    cols = [rng.integers(0, 2**20 - 1, n).astype(float) for _ in range(3)]
    cols = [np.concatenate([c, c[:1000]]) for c in cols]  # some repeats
    _assert_same(cols, np.ones(n + 1000))


@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.sampled_from([0.0, 0.5, 1.0, 2.25, 7.0]),
            st.floats(0, 100, allow_nan=False),
            st.integers(1, 5),
        ),
        min_size=2,
        max_size=60,
    )
)
def test_compression_keeps_every_distinct_row_and_the_total_weight(rows):
    x, tx, T, w = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    _assert_same([x, tx, T], w)


def test_continuous_rows_that_hardly_repeat_are_left_as_they_are():
    rng = np.random.default_rng(6)
    n = 50_000
    cols = [rng.integers(0, 3, n).astype(float), rng.uniform(0, 1, n), rng.uniform(1, 2, n)]
    w = np.ones(n)
    same, same_w = compress(cols, w)
    assert all(a is b for a, b in zip(same, cols, strict=True))
    assert same_w is w
    forced, forced_w = compress(cols, w, force=True)
    assert forced_w.sum() == n
    assert forced[2].size == np.unique(cols[2]).size


def test_fit_on_whole_number_rows_equals_the_fit_on_their_distinct_rows_with_weights():
    rng = np.random.default_rng(7)
    s = BGNBD(r=0.5, alpha=10.0, a=0.8, b=2.5).simulate(40_000, rng.integers(1, 120, 40_000), rng=8)
    x, tx, T = s.frequency, np.ceil(s.recency), s.T
    tx[x == 0] = 0.0
    rows, inverse = np.unique(np.column_stack([x, tx, T]), axis=0, return_inverse=True)
    w = np.bincount(inverse.ravel()).astype(float)
    whole = BGNBD.fit(frequency=x, recency=tx, T=T)
    distinct = BGNBD.fit(frequency=rows[:, 0], recency=rows[:, 1], T=rows[:, 2], weights=w)
    assert whole.fit_info.n_rows == rows.shape[0]
    assert whole.log_likelihood == pytest.approx(distinct.log_likelihood, rel=1e-12)
    for name, value in distinct.params.items():
        assert whole.params[name] == pytest.approx(value, rel=1e-8)


@pytest.mark.parametrize("wide", [False, True])
def test_rows_of_weight_one_are_counted_and_read_back_from_their_keys_exactly(wide):
    rng = np.random.default_rng(8)
    n = 40_000
    # shifted ranges (codes offset from the smallest value), negatives, and keys that
    # need more than 32 bits when ``wide``
    far = 1e6 + rng.integers(0, 50, n)
    signed = rng.integers(-3, 4, n).astype(float)
    third = rng.integers(0, 2**26 if wide else 9, n).astype(float)
    third[: n // 2] = third[n // 2 :]  # repeats however wide
    _assert_same([far, signed, third], np.ones(n))
