"""also_bought: co-occurrence against a brute-force reference over Python sets."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import permutations

import numpy as np
import pytest

from relcore import DataError
from relcore.models import EventLog
from relcore.scoring import also_bought

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def random_purchases(seed=0, n=3_000, customers=300, items=40):
    rng = np.random.default_rng(seed)
    popularity = 1 / np.arange(1, items + 1)
    cust = rng.integers(0, customers, n)
    item = rng.choice(items, size=n, p=popularity / popularity.sum())
    times = [T0 + timedelta(hours=int(h)) for h in rng.integers(0, 24 * 60, n)]
    names = [f"item{i:02d}" for i in item]
    return cust.tolist(), times, names


def reference(cust, names, rank_by, top_k, min_support=0.0, min_count=1):
    baskets = defaultdict(set)
    for c, i in zip(cust, names, strict=True):
        baskets[c].add(i)
    n = len(baskets)
    buyers = defaultdict(int)
    pairs = defaultdict(int)
    for items in baskets.values():
        for i in items:
            buyers[i] += 1
        for i, j in permutations(items, 2):
            pairs[i, j] += 1
    rows = defaultdict(list)
    for (i, j), c in pairs.items():
        if c < min_count or c / n < min_support:
            continue
        # exact ratios, so that ties are ties
        support, conf = Fraction(c, n), Fraction(c, buyers[i])
        lift = conf / Fraction(buyers[j], n)
        score = {"support": support, "confidence": conf, "lift": lift}[rank_by]
        rows[i].append((-score, -c, j, c, float(support), float(conf), float(lift)))
    out = []
    for i in sorted(rows):
        for k, r in enumerate(sorted(rows[i])[:top_k]):
            out.append((i, r[2], r[3], r[4], r[5], r[6], k + 1))
    return n, out


@pytest.mark.parametrize("rank_by", ["confidence", "lift", "support"])
def test_also_bought_matches_the_set_based_reference(rank_by):
    cust, times, names = random_purchases()
    log = EventLog.from_arrays(cust, times, item=names)
    got = also_bought(log, top_k=5, rank_by=rank_by)
    n, want = reference(cust, names, rank_by, 5)
    assert got.n_baskets == n
    assert got.item.tolist() == [w[0] for w in want]
    assert got.also_bought.tolist() == [w[1] for w in want]
    assert got.count.tolist() == [w[2] for w in want]
    np.testing.assert_allclose(got.support, [w[3] for w in want], rtol=1e-12)
    np.testing.assert_allclose(got.confidence, [w[4] for w in want], rtol=1e-12)
    np.testing.assert_allclose(got.lift, [w[5] for w in want], rtol=1e-12)
    assert got.rank.tolist() == [w[6] for w in want]


def test_minimum_support_and_count_filter_pairs():
    cust, times, names = random_purchases(seed=1)
    log = EventLog.from_arrays(cust, times, item=names)
    got = also_bought(log, top_k=50, min_support=0.02, min_count=8)
    _, want = reference(cust, names, "confidence", 50, min_support=0.02, min_count=8)
    assert len(got) == len(want) > 0
    assert got.count.min() >= 8
    assert (got.support >= 0.02).all()


def test_a_customer_buying_an_item_twice_counts_once():
    log = EventLog.from_arrays(["a", "a", "a", "b"], [T0] * 4, item=["tea", "tea", "cups", "tea"])
    got = also_bought(log)
    assert got.for_item("tea") == [("cups", 0.5, 0.5, 1.0)]
    assert got.for_item("cups") == [("tea", 0.5, 1.0, 1.0)]


def test_at_restricts_baskets_to_purchases_made_by_then():
    log = EventLog.from_arrays(
        ["a", "a", "b", "b"],
        [T0, T0 + timedelta(days=10), T0, T0],
        item=["tea", "cups", "tea", "cups"],
    )
    assert also_bought(log, at=T0 + timedelta(days=1)).count.tolist() == [1, 1]
    assert also_bought(log).count.tolist() == [2, 2]


def test_purchases_without_an_item_are_named():
    log = EventLog.from_arrays(["a", "b", "c"], [T0] * 3, item=["tea", None, None])
    with pytest.raises(DataError) as err:
        also_bought(log)
    assert err.value.column == "item"
    assert err.value.count == 2


def test_only_purchases_count_and_none_is_an_error():
    log = EventLog.from_arrays(["a"], [T0], kind="visit", item=["tea"])
    with pytest.raises(DataError, match="no 'purchase' events"):
        also_bought(log)


def test_also_bought_to_pandas_is_indexed_by_item_and_rank():
    log = EventLog.from_arrays(["a", "a", "a"], [T0] * 3, item=["x", "y", "z"])
    df = also_bought(log, top_k=1).to_pandas()
    assert df.index.names == ["item", "rank"]
    assert df.loc[("x", 1), "also_bought"] == "y"  # tie on every measure: first by name


@pytest.mark.parametrize(
    "kw", [{"min_support": 1.5}, {"min_count": 0}, {"top_k": 0}, {"rank_by": "popularity"}]
)
def test_also_bought_parameters_are_checked(kw):
    log = EventLog.from_arrays(["a"], [T0], item=["x"])
    with pytest.raises(ValueError, match=next(iter(kw))):
        also_bought(log, **kw)
