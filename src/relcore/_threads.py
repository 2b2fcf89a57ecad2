"""Threads for the vectorised hot paths.

numpy releases the GIL inside its loops, sorts and gathers, so work split into a few
large independent pieces (row ranges of a column, buckets of a sort) runs on every core
from plain threads. One pool serves the whole library; a piece that itself asks for
threads (a fit's chunk building a table, say) runs its parts in its own thread, so a
full pool never waits on itself.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

T = TypeVar("T")
R = TypeVar("R")

# Below this many rows a gather is not worth splitting.
_PARALLEL_TAKE_ROWS = 1 << 18

_inside = threading.local()


def workers() -> int:
    """Threads to use: ``RELCORE_NUM_THREADS``, else the usable CPUs (at most 4)."""
    env = os.environ.get("RELCORE_NUM_THREADS", "").strip()
    if env:
        if not env.isdigit():
            raise ValueError(f"RELCORE_NUM_THREADS must be a whole number, got {env!r}")
        return max(1, int(env))
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, usable or 1))


@functools.cache
def _pool(n: int) -> ThreadPoolExecutor:
    from concurrent.futures import ThreadPoolExecutor  # imported when first needed

    return ThreadPoolExecutor(max_workers=n, thread_name_prefix="relcore")


# A process forked from one that used the pool (multiprocessing, a Dask nanny) has none of
# its threads: it starts a pool of its own.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_pool.cache_clear)


def _pool_threads() -> int:
    """Threads of the pool to use from here: 0 when there is one worker, or when this is
    a pool thread (its parts run in it)."""
    n = workers()
    return 0 if n < 2 or getattr(_inside, "active", False) else n


def _marked(fn: Callable[[T], R]) -> Callable[[T], R]:
    def run(item: T) -> R:
        _inside.active = True
        try:
            return fn(item)
        finally:
            _inside.active = False

    return run


def parallel_map(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(x) for x in items]``, the calls spread over the pool's threads (in this
    thread when there is one worker, one item, or when called from a pool thread)."""
    items = list(items)
    n = _pool_threads()
    if not n or len(items) < 2:
        return [fn(x) for x in items]
    return list(_pool(n).map(_marked(fn), items))


def row_ranges(n: int, *, align: int = 1) -> list[tuple[int, int]]:
    """About two ranges per worker covering ``0..n``, their bounds multiples of
    ``align`` (so that blocks of ``align`` rows inside them fall as they would in one
    pass)."""
    parts = max(1, 2 * workers())
    step = -(-n // parts)
    step = max(align, -(-step // align) * align)
    return [(lo, min(lo + step, n)) for lo in range(0, n, step)]


def parallel_take(arr: npt.NDArray[Any], index: npt.NDArray[np.integer[Any]]) -> npt.NDArray[Any]:
    """``arr[index]`` for a 1-d array and integer index, gathered in parallel row ranges."""
    if index.size < _PARALLEL_TAKE_ROWS or workers() < 2:
        out: npt.NDArray[Any] = arr[index]
        return out
    result = np.empty(index.size, dtype=arr.dtype)

    def gather(bounds: tuple[int, int]) -> None:
        lo, hi = bounds
        result[lo:hi] = arr[index[lo:hi]]

    parallel_map(gather, row_ranges(index.size))
    return result


class Pending(Generic[R]):
    """A call running on the pool (see `in_background`); `result` waits for it."""

    def __init__(self, fn: Callable[..., R], *args: Any) -> None:
        self._future: Any = None
        self._value: R | None = None
        self._error: BaseException | None = None
        n = _pool_threads()
        if not n:
            try:
                self._value = fn(*args)
            except BaseException as error:  # raised by result(), as the pool would
                self._error = error
        else:
            self._future = _pool(n).submit(_marked(lambda a: fn(*a)), args)

    def result(self) -> R:
        """The call's value, or its exception raised here."""
        if self._future is not None:
            out: R = self._future.result()
            return out
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


def in_background(fn: Callable[..., R], *args: Any) -> Pending[R]:
    """Start ``fn(*args)`` on a pool thread while this one goes on (at once, in this
    thread, when there is one worker or this is a pool thread)."""
    return Pending(fn, *args)
