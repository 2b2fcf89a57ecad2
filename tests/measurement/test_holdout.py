"""Holdout assignment: a stable hash, the same in every order, batch and process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from relcore import DataError
from relcore._hashing import GOLDEN, hash_ids, in_fraction, mix64, unit_interval
from relcore.measurement import assign_holdout

SRC = Path(__file__).resolve().parents[2] / "src"


def test_mixer_reproduces_the_published_splitmix64_sequence():
    # Rosetta Code, "Pseudo-random numbers/Splitmix64": first five outputs for seed 1234567.
    states = np.uint64(1234567) + GOLDEN * np.arange(1, 6, dtype=np.uint64)
    assert mix64(states).tolist() == [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
        4593380528125082431,
        16408922859458223821,
    ]


def test_assignment_does_not_depend_on_order_or_batch():
    ids = np.array([f"cust-{i}" for i in range(5_000)])
    whole = assign_holdout(ids, fraction=0.2, salt="s1")
    rng = np.random.default_rng(0)
    perm = rng.permutation(ids.size)
    np.testing.assert_array_equal(assign_holdout(ids[perm], fraction=0.2, salt="s1"), whole[perm])
    parts = np.array_split(np.arange(ids.size), 7)
    pieces = np.concatenate([assign_holdout(ids[p], fraction=0.2, salt="s1") for p in parts])
    np.testing.assert_array_equal(pieces, whole)


def test_string_width_and_container_do_not_change_the_hash():
    ids = ["a", "bb", "c" * 30, "ünïcødé-42", "x\U0001f600y"]
    h = hash_ids(np.array(ids), "salt")
    np.testing.assert_array_equal(h, hash_ids(np.array(ids, dtype="<U80"), "salt"))
    np.testing.assert_array_equal(h, hash_ids(ids, "salt"))
    np.testing.assert_array_equal(h, hash_ids(np.array(ids, dtype=object), "salt"))
    for i, one in enumerate(ids):
        assert hash_ids([one], "salt")[0] == h[i]


def test_integer_width_does_not_change_the_hash():
    ids = np.array([0, 1, 2, 77, 2**31 - 1])
    h = hash_ids(ids.astype(np.int64), "s")
    np.testing.assert_array_equal(h, hash_ids(ids.astype(np.int32), "s"))
    np.testing.assert_array_equal(h, hash_ids(ids.tolist(), "s"))


def test_assignment_is_the_same_in_another_process_with_another_hash_seed():
    code = (
        "import numpy as np; from relcore.measurement import assign_holdout;"
        "ids = [f'c{i}' for i in range(2000)] ;"
        "print(''.join('1' if b else '0' for b in assign_holdout(ids, fraction=0.3, salt='x')))"
    )
    here = assign_holdout([f"c{i}" for i in range(2000)], fraction=0.3, salt="x")
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "".join("1" if b else "0" for b in here)


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.5, 0.9])
def test_holdout_size_is_the_fraction_within_sampling_error(fraction):
    n = 200_000
    held = assign_holdout(np.arange(n) * 13 + 5, fraction=fraction, salt="size")
    sd = np.sqrt(fraction * (1 - fraction) / n)
    assert abs(held.mean() - fraction) < 4 * sd


def test_hashes_of_sequential_ids_are_uniform():
    u = unit_interval(hash_ids(np.arange(100_000), "uniform"))
    counts = np.bincount((u * 20).astype(int), minlength=20)
    assert stats.chisquare(counts).pvalue > 1e-3
    su = unit_interval(hash_ids(np.array([f"{i:06d}" for i in range(50_000)]), "uniform"))
    assert stats.kstest(su, "uniform").pvalue > 1e-3


def test_groups_are_nested_and_salts_are_independent():
    ids = np.arange(100_000)
    small = assign_holdout(ids, fraction=0.05, salt="a")
    large = assign_holdout(ids, fraction=0.10, salt="a")
    assert not (small & ~large).any()
    other = assign_holdout(ids, fraction=0.5, salt="b")
    half = assign_holdout(ids, fraction=0.5, salt="a")
    both = (half & other).mean()
    assert abs(both - 0.25) < 4 * np.sqrt(0.25 * 0.75 / ids.size)


def test_fraction_zero_and_one():
    ids = np.arange(1000)
    assert not assign_holdout(ids, fraction=0.0, salt="s").any()
    assert assign_holdout(ids, fraction=1.0, salt="s").all()


def test_in_fraction_is_the_policy_facing_kernel():
    ids = ["c1", "c2", "c3"]
    np.testing.assert_array_equal(
        in_fraction(ids, 0.4, "global-control"),
        assign_holdout(ids, fraction=0.4, salt="global-control"),
    )


@pytest.mark.parametrize(
    ("ids", "problem"),
    [
        ([1, "a"], "not strings"),
        (np.array([1.5, 2.0]), "integers or strings"),
        (np.array(["a", ""]), "empty ids"),
        (np.array([True, False]), "integers or strings"),
        (np.array([b"x"]), "integers or strings"),
    ],
)
def test_ids_that_would_need_a_silent_conversion_are_refused(ids, problem):
    with pytest.raises(DataError, match=problem):
        assign_holdout(ids, fraction=0.5, salt="s")


def test_bad_fraction_or_salt():
    with pytest.raises(ValueError, match="fraction"):
        assign_holdout([1, 2], fraction=1.5, salt="s")
    with pytest.raises(TypeError, match="salt"):
        assign_holdout([1, 2], fraction=0.5, salt=7)
