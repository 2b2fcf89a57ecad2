"""The physical floors the benchmarks measure themselves against, taken in the same run.

* memory bandwidth: bytes read plus bytes written per second by a copy of 256 MB;
* per-element costs of the functions a hot path cannot avoid (log, exp, log1p, gammaln,
  scipy's hyp2f1), each over 4M elements.

A floor is then "bytes touched / bandwidth" or "evaluations x per-element cost": what
the hardware needs for the work that cannot be avoided, so ``time / floor`` says how far
a path is from it. On a machine shared with other jobs every figure is the best of a few
runs, and the load is printed beside it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special

_N = 4_000_000


class Seconds(float):
    """A wall time that also carries the CPU time of the same run (all threads): on a
    machine shared with other jobs, CPU time is what the run would take alone, up to
    the sharing of its threads."""

    cpu: float


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[Seconds, Any]:
    """Best wall time of ``repeat`` runs (with that run's CPU time) and the last result."""
    best, result = Seconds("inf"), None
    best.cpu = float("inf")
    for _ in range(max(1, repeat)):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall = Seconds(time.perf_counter() - start)
        wall.cpu = time.process_time() - cpu
        best = min(best, wall)
    return best, result


def _copy_rate(repeat: int) -> float:
    """Bytes read plus written per second by a copy of 256 MB."""
    src = np.random.default_rng(0).random(32_000_000)
    dst = np.empty_like(src)
    t, _ = best_of(lambda: np.copyto(dst, src), repeat)
    return 2 * src.nbytes / t


class Floors:
    """Bandwidth (bytes/s) and per-element costs (s), measured when created."""

    def __init__(self, repeat: int = 5) -> None:
        self.bandwidth = _copy_rate(repeat)
        x = np.random.default_rng(1).uniform(0.1, 50.0, _N)
        out = np.empty(_N)
        z = np.random.default_rng(2).uniform(0.0, 0.9, 4_000)
        hyp_args = (1.5 + np.arange(z.size) % 7, 2.5, 4.0 + np.arange(z.size) % 11, z)
        self.cost = {
            "log": best_of(lambda: np.log(x, out=out), repeat)[0] / _N,
            "exp": best_of(lambda: np.exp(-x, out=out), repeat)[0] / _N,
            "log1p": best_of(lambda: np.log1p(x, out=out), repeat)[0] / _N,
            "gammaln": best_of(lambda: special.gammaln(x, out=out), repeat)[0] / _N,
            "hyp2f1": best_of(lambda: special.hyp2f1(*hyp_args), repeat)[0] / z.size,
        }

    def of(self, **counts: float) -> float:
        """Seconds for ``counts`` elements of each named function (``bytes=`` counts
        bytes through memory)."""
        total = counts.pop("bytes", 0.0) / self.bandwidth
        return total + sum(self.cost[name] * k for name, k in counts.items())

    def describe(self) -> str:
        costs = ", ".join(f"{k} {v * 1e9:.2f} ns" for k, v in self.cost.items())
        return f"memory bandwidth {self.bandwidth / 1e9:.1f} GB/s; per element: {costs}"


def machine() -> str:
    """CPUs and load, for the record (the machine is shared)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return f"{cpus} CPUs, load average {load}"


def exponent(sizes: list[int], seconds: list[float]) -> float:
    """Least-squares slope of log(time) against log(size)."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def slopes(sizes: list[int], times: list[Seconds]) -> tuple[float, float]:
    """Exponents of wall and CPU time against size from 100k customers up (below, fixed
    costs dominate)."""
    big = [(n, t) for n, t in zip(sizes, times, strict=True) if n >= 100_000]
    if len(big) < 2:
        return float("nan"), float("nan")
    ns = [n for n, _ in big]
    return exponent(ns, [t for _, t in big]), exponent(ns, [t.cpu for _, t in big])


def row(label: str, seconds: float, floor: float, peers: dict[str, float | None]) -> None:
    """One line of a hot-path table: time, distance to the floor, same-run peer ratios."""
    peer = "   ".join(
        f"{name} {t:8.3f} s ({t / seconds:6.1f}x)" if t is not None else f"{name}   (skipped)"
        for name, t in peers.items()
    )
    cpu = getattr(seconds, "cpu", None)
    cpu_text = f"(cpu {cpu:6.3f} s)" if cpu is not None else " " * 16
    print(
        f"{label:<46} {seconds:8.3f} s {cpu_text}   floor {floor:8.4f} s "
        f"({seconds / floor:6.1f}x)   {peer}"
    )
