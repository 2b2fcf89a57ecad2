"""The library's thread pool: its size is the user's to set, and a forked process
(multiprocessing, a Dask nanny) gets a working pool of its own."""

from __future__ import annotations

import multiprocessing
import sys

import numpy as np
import pytest

from relcore import _threads


def test_the_number_of_threads_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("RELCORE_NUM_THREADS", "3")
    assert _threads.workers() == 3
    monkeypatch.setenv("RELCORE_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="RELCORE_NUM_THREADS must be a whole number"):
        _threads.workers()


def _gather_in_child(queue) -> None:
    arr = np.arange(1_000_000, dtype=np.float64)
    index = np.arange(arr.size)[::-1].copy()
    queue.put(bool(np.array_equal(_threads.parallel_take(arr, index), arr[::-1])))


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX only")
def test_a_forked_process_gets_a_pool_that_works(monkeypatch):
    monkeypatch.setenv("RELCORE_NUM_THREADS", "2")
    # the parent's pool exists (and has threads) before the fork
    assert _threads.parallel_map(lambda x: x * 2, [1, 2, 3]) == [2, 4, 6]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_gather_in_child, args=(queue,))
    child.start()
    try:
        assert queue.get(timeout=60) is True  # a child waiting on dead threads never answers
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0
