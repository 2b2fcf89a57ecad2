"""The optimiser every fit uses, and the threaded evaluation of large objectives."""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ...errors import ConvergenceError
from ._types import FloatArray, Objective

# From this many rows, models whose objective runs without BLAS evaluate it in one chunk
# of rows per CPU, in threads (numpy releases the GIL inside its loops).
_PARALLEL_ROWS = 200_000


@attrs.frozen
class OptimResult:
    x: FloatArray
    fun: float
    hess: FloatArray
    iterations: int
    x_eval: FloatArray  # where ``fun`` and ``hess`` were evaluated (within 1e-6 of x)


def newton(
    objective: Callable[[FloatArray, int], Objective],
    x0: FloatArray,
    *,
    max_iter: int = 200,
    gtol: float = 1e-9,
    max_step: float = 2.0,
) -> OptimResult:
    """Minimise with Newton steps on a positive-definite modification of the Hessian.

    ``objective(x, order)`` returns the value and, for ``order == 2``, gradient and
    Hessian. Steps are capped at ``max_step`` in log-parameter units and halved until the
    objective decreases. Raises :class:`ConvergenceError` with a message saying why.
    """
    x = np.array(x0, dtype=np.float64)
    f, g, h = objective(x, 2)
    if not np.isfinite(f):
        raise ConvergenceError(f"the objective is not finite at the starting point {x}")
    if g is None or h is None:
        raise ConvergenceError("the objective returned no derivatives")
    prev_norm = 0.0
    for it in range(1, max_iter + 1):
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
            raise ConvergenceError(f"non-finite gradient or Hessian at {x} (iteration {it})")
        if np.max(np.abs(g)) < gtol:
            return OptimResult(x, f, h, it - 1, x)
        w0, v = np.linalg.eigh(h)
        floor = max(1e-8, 1e-10 * float(np.max(np.abs(w0))))
        w = np.maximum(np.abs(w0), floor)
        step = -v @ ((v.T @ g) / w)
        norm = float(np.max(np.abs(step)))
        pd = bool(w0.min() > floor)
        # Newton converges quadratically: the error left after this step is about
        # C norm**2 with C estimated from the previous step (norm / prev**2). Once that is
        # below 1e-7 in log-parameters (relative error 1e-7, far below any standard error
        # and the 1e-4 parity with lifetimes) the step is taken without re-evaluating.
        predicted = norm**3 / prev_norm**2 if prev_norm else np.inf
        if pd and (norm < 1e-5 or (norm < 1e-3 and predicted < 1e-7)):
            return OptimResult(x + step, f, h, it, x)
        full_step = pd and norm <= max_step
        if norm > max_step:
            step *= max_step / norm
        halved = -1
        for _ in range(60):
            halved += 1
            xn = x + step
            fn, gn, hn = objective(xn, 2)
            if (
                np.isfinite(fn)
                and fn <= f + 1e-4 * float(g @ step) + 1e-15 * abs(f)
                and np.all(np.isfinite(gn))  # type: ignore[arg-type]
                and np.all(np.isfinite(hn))  # type: ignore[arg-type]
            ):
                break
            step *= 0.5
        else:
            raise ConvergenceError(
                f"line search failed at iteration {it}: no step decreases the objective "
                f"from {f!r} (gradient {g})"
            )
        taken = float(np.max(np.abs(xn - x)))
        # the quadratic-convergence estimate needs an undamped Newton step
        prev_norm = norm if full_step and halved == 0 else 0.0
        small_step = taken < 1e-12
        x, f, g, h = xn, fn, gn, hn
        if g is None or h is None:
            raise ConvergenceError("the objective returned no derivatives")
        if small_step:
            return OptimResult(x, f, h, it, x)
    raise ConvergenceError(
        f"no convergence after {max_iter} Newton iterations (gradient {g}); "
        "the data may not identify the model: try a penalizer"
    )


def dot(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    """``a @ b`` for vectors, without BLAS.

    OpenBLAS runs its own threads for long vectors and keeps them spinning afterwards,
    which starves the threads of a chunked objective; numpy's own loop does not.
    """
    return float(np.einsum("i,i->", a, b))


def _workers() -> int:
    """Threads for objective evaluation: ``RELCORE_NUM_THREADS``, else the usable CPUs
    (at most 4)."""
    env = os.environ.get("RELCORE_NUM_THREADS", "").strip()
    if env:
        return max(1, int(env))
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, usable or 1))


@functools.cache
def _pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="relcore-fit")


def chunked_objective(
    factory: Callable[[dict[str, FloatArray], FloatArray], Callable[[FloatArray, int], Objective]],
    data: dict[str, FloatArray],
    weights: FloatArray,
) -> Callable[[FloatArray, int], Objective]:
    """The objective over all rows as the sum of objectives over chunks of rows, evaluated
    in parallel threads (a log-likelihood, its gradient and Hessian are sums over rows)."""
    workers = _workers()
    if workers < 2 or weights.size < _PARALLEL_ROWS:
        return factory(data, weights)
    bounds = np.linspace(0, weights.size, workers + 1).astype(np.int64).tolist()
    parts = [
        factory({k: v[lo:hi] for k, v in data.items()}, weights[lo:hi])
        for lo, hi in itertools.pairwise(bounds)
    ]

    def objective(theta: FloatArray, order: int) -> Objective:
        results = list(_pool(workers).map(lambda part: part(theta, order), parts))
        ll = sum(r[0] for r in results)
        if order < 2:
            return ll, None, None
        grads = [r[1] for r in results if r[1] is not None]
        hessians = [r[2] for r in results if r[2] is not None]
        return ll, np.sum(grads, axis=0), np.sum(hessians, axis=0)

    return objective


def jet_objective(
    rows: Callable[[list[Any], dict[str, FloatArray]], Any],
    data: dict[str, FloatArray],
    weights: FloatArray,
    chunk: int = 32_768,
) -> Callable[[FloatArray, int], Objective]:
    """An objective from a per-row log-likelihood written with the :mod:`._jet` helpers.

    Rows are processed ``chunk`` at a time so that the per-row Hessians (``m * m`` values
    per row) never need more than a few tens of megabytes.
    """
    from ._jet import Jet, weighted_sum

    n = weights.size
    bounds = [*range(0, n, chunk), n]

    def objective(theta: FloatArray, order: int) -> Objective:
        params: list[Any] = np.exp(theta).tolist() if order == 0 else Jet.parameters(theta)
        total, grad, hess = 0.0, None, None
        for lo, hi in itertools.pairwise(bounds):
            part = {k: v[lo:hi] for k, v in data.items()}
            v, g, h = weighted_sum(rows(params, part), weights[lo:hi])
            total += v
            if g is not None and h is not None:
                grad = g if grad is None else grad + g
                hess = h if hess is None else hess + h
        return total, grad, hess

    return objective
