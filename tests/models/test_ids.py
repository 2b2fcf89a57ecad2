"""Customer ids from every source (lists, numpy, pandas, polars, pyarrow) are kept exactly
as written, tabled in sorted order, and refused alike when they are not ids."""

from __future__ import annotations

import contextlib
import datetime as dt
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import relcore._columns
import relcore._factorize
from relcore import DataError, EventLog

pa = pytest.importorskip("pyarrow")

UTC = dt.UTC
DAY = dt.datetime(2026, 1, 1, tzinfo=UTC)

ids_text = st.text(
    alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)),
    min_size=1,
    max_size=80,
) | st.sampled_from(["a", "b", "ab", "a\x00b", "é", "日本", "😀", "a😀", "x" * 70, "x" * 71])


def log_of(ids):
    return EventLog.from_arrays(ids, [DAY] * len(ids))


def arrow_sources(ids: list[str]):
    """The same ids as pyarrow holds them in its several string layouts."""
    half = len(ids) // 2
    yield pa.array(ids, pa.string())
    yield pa.array(ids, pa.large_string())
    yield pa.array(ids, pa.string_view())
    yield pa.chunked_array([pa.array(ids[:half], pa.string()), pa.array(ids[half:], pa.string())])
    yield pa.array(["pad", *ids], pa.large_string()).slice(1)  # an offset into the buffers
    yield pa.array(ids).dictionary_encode()


@settings(max_examples=60, deadline=None)
@given(st.lists(ids_text, min_size=1, max_size=80), st.booleans())
def test_every_source_gives_the_sorted_table_and_codes_of_the_ids_as_written(ids, by_hash):
    expected_table = sorted(set(ids))
    sources = [ids, np.array(ids), np.array(ids, dtype=object), *arrow_sources(ids)]
    # text that fits a radix key is coded through it; by_hash codes every source by hashing
    with without_radix_keys() if by_hash else contextlib.nullcontext():
        for source in sources:
            log = log_of(source)
            assert log.customers.tolist() == expected_table, type(source)
            assert sorted(log.customers[log.customer_codes].tolist()) == sorted(ids)


def without_radix_keys():
    """Text coded by hashing even where a radix key would do (see `_radix_key`)."""
    return mock.patch.object(relcore._factorize, "_radix_key", return_value=None)


@given(st.lists(ids_text, min_size=1, max_size=60), st.randoms(use_true_random=False))
def test_the_table_and_each_customers_events_do_not_depend_on_row_order(ids, random):
    values = np.arange(len(ids), dtype=float)
    shuffled = list(range(len(ids)))
    random.shuffle(shuffled)
    a = EventLog.from_arrays(ids, [DAY] * len(ids), value=values)
    b = EventLog.from_arrays([ids[i] for i in shuffled], [DAY] * len(ids), value=values[shuffled])
    assert a.customers.tolist() == b.customers.tolist()
    for c in set(ids):
        assert sorted(a.for_customer(c).value.tolist()) == sorted(b.for_customer(c).value.tolist())


def test_many_uuid_ids_are_tabled_exactly_as_numpys_unique_tables_them():
    rng = np.random.default_rng(5)
    pool = np.array([f"{x:032x}" for x in rng.integers(0, 2**62, 3000)])
    ids = pool[rng.integers(0, pool.size, 40_000)]
    table, inverse = np.unique(ids, return_inverse=True)
    for source in (ids, pa.array(ids.tolist())):
        log = log_of(source)
        assert np.array_equal(log.customers, table)
        assert np.array_equal(np.bincount(log.customer_codes), np.bincount(inverse))


@pytest.mark.parametrize("by_hash", [False, True])
@pytest.mark.parametrize("threads", ["1", "3"])
def test_ids_coded_on_several_threads_are_tabled_as_numpys_unique(monkeypatch, threads, by_hash):
    from relcore._columns import factorize_ids

    monkeypatch.setenv("RELCORE_NUM_THREADS", threads)
    if by_hash:
        monkeypatch.setattr(relcore._factorize, "_radix_key", lambda tasks, n: None)
    rng = np.random.default_rng(7)
    pool = np.array([f"customer-{x:06d}" for x in range(5000)])
    ids = pool[rng.integers(0, pool.size, 300_000)].astype("U16")
    # one code point wider than a byte, in the last rows only: every row is hashed again
    ids[-1] = "customer-\u00e9\U0001f600"
    table, inverse = np.unique(ids, return_inverse=True)
    half = ids.size // 2
    sources = (
        ids,
        pa.array(ids.tolist()),
        pa.chunked_array([pa.array(ids[:half].tolist()), pa.array(ids[half:].tolist())]),
    )
    for source in sources:
        codes, got = factorize_ids(source)
        assert np.array_equal(got, table), type(source)
        assert np.array_equal(codes, inverse.ravel()), type(source)


@pytest.mark.parametrize("layout", ["unicode", "utf8"])
@pytest.mark.parametrize("longest", [9, 71])  # values compared as words / by pyarrow
def test_ids_whose_hashes_collide_are_still_kept_apart(monkeypatch, layout, longest):
    # Every value hashing alike is the worst case of a collision: the check that each
    # row equals the first row of its group must separate them all again.
    cls = relcore._factorize.UnicodeText if layout == "unicode" else relcore._factorize.Utf8Text
    monkeypatch.setattr(cls, "hashes", lambda self: np.zeros(len(self), dtype=np.uint64))
    monkeypatch.setattr(relcore._factorize, "_radix_key", lambda tasks, n: None)
    ids = ["b", "a", "ccc", "b", "é", "a", "x" * longest, "ccc", "x" * (longest - 1), "a\x00b"]
    source = np.array(ids) if layout == "unicode" else pa.array(ids)
    log = log_of(source)
    assert log.customers.tolist() == sorted(set(ids))
    assert log.customers[log.customer_codes].tolist() == sorted(ids)


def test_an_id_ending_in_nul_is_refused_even_when_its_hash_collides(monkeypatch):
    monkeypatch.setattr(
        relcore._factorize.Utf8Text, "hashes", lambda self: np.zeros(len(self), dtype=np.uint64)
    )
    monkeypatch.setattr(relcore._factorize, "_radix_key", lambda tasks, n: None)
    with pytest.raises(DataError, match="NUL") as info:
        log_of(pa.array(["b", "a", "a\x00", "a"]))
    assert info.value.rows == (2,)


@pytest.mark.parametrize("collide", [False, True])
def test_sparse_integer_ids_are_tabled_as_numpys_unique_even_when_hashes_collide(
    monkeypatch, collide
):
    from relcore._factorize import factorize_int

    if collide:  # every key hashing alike: the check against each group's first row splits them
        monkeypatch.setattr(relcore._factorize, "mix64", lambda z: np.zeros_like(z))
    rng = np.random.default_rng(11)
    pool = rng.integers(-(2**62), 2**62, 3000)
    keys = pool[rng.integers(0, pool.size, 50_000)]
    table, inverse = np.unique(keys, return_inverse=True)
    codes, uniques = factorize_int(keys)
    assert np.array_equal(uniques, table)
    assert np.array_equal(codes, inverse.ravel())


@pytest.mark.parametrize("longest", [1, 7, 8, 9, 10])
@pytest.mark.parametrize("dtype", [None, "U22"])  # as given / a wide dtype of short text
def test_short_ascii_ids_are_tabled_as_numpys_unique(longest, dtype):
    from relcore._columns import factorize_ids

    rng = np.random.default_rng(longest)
    letters = np.array(list("09AZaz-_ ~"))
    pool = np.array(
        ["".join(rng.choice(letters, rng.integers(1, longest + 1))) for _ in range(500)]
        + ["0" * longest, "~" * longest]
    )
    ids = pool[rng.integers(0, pool.size, 5000)]
    if dtype:
        ids = ids.astype(dtype)
    table, inverse = np.unique(ids, return_inverse=True)
    codes, got = factorize_ids(ids)
    assert np.array_equal(got, table)
    assert np.array_equal(codes, inverse.ravel())


def _formatted_ids(rng, n_rows: int, *, sorted_rows: bool = False) -> np.ndarray:
    pool = np.array([f"cust-{x:06d}" for x in rng.choice(10**6, 40_000, replace=False)])
    ids = pool[rng.integers(0, pool.size, n_rows)]
    return np.sort(ids) if sorted_rows else ids


@pytest.mark.parametrize("sorted_rows", [False, True])  # the first block sees few values
def test_formatted_ids_are_coded_through_a_radix_key_without_hashing(monkeypatch, sorted_rows):
    from relcore._columns import factorize_ids

    def no_hashing(self):
        raise AssertionError("formatted ids need no hashing")

    monkeypatch.setenv("RELCORE_NUM_THREADS", "3")
    for cls in (relcore._factorize.UnicodeText, relcore._factorize.Utf8Text):
        monkeypatch.setattr(cls, "hashes", no_hashing)
    ids = _formatted_ids(np.random.default_rng(3), 200_000, sorted_rows=sorted_rows)
    table, inverse = np.unique(ids, return_inverse=True)
    for source in (ids, pa.array(ids.tolist()), pa.chunked_array([ids[:70_001], ids[70_001:]])):
        codes, got = factorize_ids(source)
        assert np.array_equal(got, table), type(source)
        assert np.array_equal(codes, inverse.ravel()), type(source)


@pytest.mark.parametrize(
    "last",
    [
        "cust-\u00e9\U0001f600x",  # code points wider than a byte
        "cust-~~~~~~",  # one more value per position
        "zzzzzzzzzzz",  # the whole width varies: too many values for 63 bits, hashed
    ],
)
def test_a_radix_key_takes_every_block_into_account(last):
    from relcore._columns import factorize_ids

    ids = _formatted_ids(np.random.default_rng(4), 100_000, sorted_rows=True)
    ids[-1] = last  # only the last block holds it
    table, inverse = np.unique(ids, return_inverse=True)
    for source in (ids, pa.array(ids.tolist())):
        codes, got = factorize_ids(source)
        assert np.array_equal(got, table), type(source)
        assert np.array_equal(codes, inverse.ravel()), type(source)


@pytest.mark.parametrize("prefix", [0, 1, 7, 8, 9, 16, 17])
def test_hashed_ids_sharing_a_prefix_of_any_length_are_tabled_in_order(prefix):
    # the shared leading bytes are dropped before sorting, and the rest shifted into words
    rng = np.random.default_rng(prefix)
    tails = ["".join(rng.choice(list("ab\u00e9\u4e00z"), rng.integers(1, 12))) for _ in range(400)]
    ids = np.array(["p" * prefix + t for t in tails])[rng.integers(0, 400, 3000)]
    table, inverse = np.unique(ids, return_inverse=True)
    with without_radix_keys():
        for source in (ids, pa.array(ids.tolist())):
            codes, got = relcore._columns.factorize_ids(source)
            assert np.array_equal(got, table), type(source)
            assert np.array_equal(codes, inverse.ravel()), type(source)


def test_integer_ids_from_pyarrow_stay_integers():
    for source in (pa.array([7, 3, 7], pa.int64()), pa.array([7, 3, 7]).dictionary_encode()):
        log = log_of(source)
        assert log.customers.dtype.kind == "i"
        assert log.customers.tolist() == [3, 7]


def _sources(values: list):
    """A column of ids with a bad value, as each source carries it."""
    yield "list", values
    yield "object array", np.array(values, dtype=object)
    yield "pyarrow", pa.array(values, pa.large_string())
    yield "pyarrow dictionary", pa.array(values, pa.large_string()).dictionary_encode()


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        (["a", None, "b", None], "missing values"),
        (["a", "", "b", ""], "empty labels"),
        (["a", "a\x00", "b", "b\x00"], "NUL"),
    ],
)
def test_a_bad_id_is_refused_naming_its_rows_from_every_source(values, problem):
    for name, source in _sources(values):
        with pytest.raises(DataError, match=problem) as info:
            log_of(source)
        assert (info.value.column, info.value.rows, info.value.count) == (
            "customer_id",
            (1, 3),
            2,
        ), name


@pytest.mark.parametrize("bad", [1, 2.5, float("nan"), b"b", True])
def test_an_id_that_is_not_text_among_text_is_refused_not_converted(bad):
    with pytest.raises(DataError, match="not strings") as info:
        log_of(np.array(["a", bad, "b"], dtype=object))
    assert info.value.rows == (1,)


def test_a_null_integer_id_from_pyarrow_is_missing():
    with pytest.raises(DataError, match="missing") as info:
        log_of(pa.array([1, None, 2]))
    assert info.value.rows == (1,)


def test_labels_from_pyarrow_keep_nulls_as_missing_and_check_the_vocabulary():
    log = EventLog.from_arrays(
        ["a", "a", "b"],
        [DAY] * 3,
        channel=pa.array(["web", None, "sms"]),
        initiator=pa.array(["company", None, "customer"]).dictionary_encode(),
    )
    assert log.channel.to_numpy().tolist() == ["web", None, "sms"]
    assert log.initiator.categories == ("customer", "company")
    assert log.initiator.to_numpy().tolist() == ["company", None, "customer"]
    with pytest.raises(DataError, match="'customer', 'company'") as info:
        EventLog.from_arrays(["a", "b"], [DAY] * 2, initiator=pa.array(["company", "robot"]))
    assert info.value.rows == (1,)
    with pytest.raises(DataError, match="empty labels") as info:
        EventLog.from_arrays(["a", "b"], [DAY] * 2, channel=pa.array(["web", ""]))
    assert info.value.rows == (1,)
