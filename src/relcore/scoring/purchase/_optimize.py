"""The optimiser every fit uses, and the threaded evaluation of large objectives."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ..._threads import parallel_map, workers
from ._types import FloatArray, Objective

# Iterations without any improvement of the objective after which the search stops, and
# the gradient below which such a stop counts as convergence (derivatives by differences
# are accurate to about 1e-7 relative).
_STALL_ITERATIONS = 6
_NOISY_GTOL = 1e-7
# From this many rows, models whose objective runs without BLAS evaluate it in one chunk
# of rows per CPU, in threads (numpy releases the GIL inside its loops).
_PARALLEL_ROWS = 200_000


@attrs.frozen
class OptimResult:
    x: FloatArray
    fun: float  # the objective at x
    hess: FloatArray  # its Hessian at x
    iterations: int
    success: bool
    message: str


def minimize(
    objective: Callable[[FloatArray, int], Objective],
    x0: FloatArray,
    *,
    max_iter: int = 200,
    gtol: float = 1e-9,
    max_step: float = 2.0,
) -> OptimResult:
    """Minimise with scipy's exact trust-region method and the objective's own derivatives.

    ``objective(x, order)`` returns the value and, for ``order == 2``, gradient and
    Hessian; each point is evaluated once (with derivatives: nearly every trial step of
    a trust-region method with exact Hessians is accepted). The trust radius never
    exceeds ``max_step`` log-parameter units, so no step jumps to where ``exp`` overflows.
    Unlike a line-search Newton method, the trust region needs no positive-definite
    modification of the Hessian far from the optimum.

    The objective is minimised relative to its value at ``x0``: near the optimum the
    predicted decreases are tiny, and resolving them against a value of order 1 would
    stop the method (scipy's "bad approximation") before the gradient is small.
    """
    from scipy import optimize

    x_start = np.asarray(x0, dtype=np.float64)

    def finite(value: Objective) -> bool:
        f, g, h = value
        if g is None or h is None:
            return False
        return bool(np.isfinite(f) and np.isfinite(g).all() and np.isfinite(h).all())

    first = objective(x_start, 2)
    if not finite(first):
        nan = np.full((x_start.size, x_start.size), np.nan)
        return OptimResult(x_start, first[0], nan, 0, False, f"not finite at {x_start}")
    f0 = first[0]
    cache: dict[bytes, Objective] = {x_start.tobytes(): (0.0, first[1], first[2])}

    def evaluate(x: FloatArray) -> Objective:
        key = x.tobytes()
        if key not in cache:
            cache.clear()
            value = objective(x, 2)
            # a non-finite point is rejected by the trust region (which then shrinks)
            cache[key] = (
                (value[0] - f0, value[1], value[2]) if finite(value) else (np.inf, None, None)
            )
        return cache[key]

    def fun(x: FloatArray) -> float:
        return evaluate(x)[0]

    def jac(x: FloatArray) -> FloatArray:
        g = evaluate(x)[1]
        return np.full(x.size, np.nan) if g is None else g

    def hess(x: FloatArray) -> FloatArray:
        h = evaluate(x)[2]
        return np.full((x.size, x.size), np.nan) if h is None else h

    # Stop once the objective stops improving: where derivatives come from differences
    # (Pareto/NBD rows near z = 1) the gradient cannot fall below their noise, and the
    # trust region would otherwise shrink for dozens of costly iterations.
    history: list[float] = []
    resolution = 1e-12 * (1.0 + abs(f0))

    def callback(intermediate_result: Any) -> None:
        history.append(float(intermediate_result.fun))
        stalled = len(history) > _STALL_ITERATIONS
        if stalled and history[-_STALL_ITERATIONS - 1] - history[-1] < resolution:
            raise StopIteration

    res = optimize.minimize(
        fun,
        x_start,
        jac=jac,
        hess=hess,
        method="trust-exact",
        callback=callback,
        options={
            "gtol": gtol,
            "maxiter": max_iter,
            "initial_trust_radius": min(1.0, max_step / 2),
            "max_trust_radius": max_step,
        },
    )
    x = np.asarray(res.x, dtype=np.float64)
    g = jac(x)
    h = hess(x)
    # "bad approximation" (2) or a stall (99: the callback stopped it) with a small
    # gradient, or where a Newton step could gain no more than the objective resolves:
    # the optimum, resolved to the precision of the objective and derivatives (how small
    # the gradient got before the stall depends on the optimiser's path, which differs
    # between scipy versions)
    stopped = res.status in (2, 99)
    resolved = np.linalg.norm(g) < _NOISY_GTOL or _newton_gain(g, h) < 1e3 * resolution
    success = bool(res.success or (stopped and resolved))
    message = "" if success else f"{res.message} after {res.nit} iterations (gradient {g})"
    return OptimResult(x, float(res.fun) + f0, h, int(res.nit), success, message)


def _newton_gain(g: FloatArray, h: FloatArray) -> float:
    """What a Newton step from a point with gradient ``g`` and Hessian ``h`` would gain
    (``g' h^-1 g / 2``); infinite where ``h`` is not positive definite."""
    try:
        factor = np.linalg.cholesky(h)
    except np.linalg.LinAlgError:
        return float("inf")
    z = np.linalg.solve(factor, g)
    return 0.5 * float(z @ z)


def dot(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    """``a @ b`` for vectors, without BLAS.

    OpenBLAS runs its own threads for long vectors and keeps them spinning afterwards,
    which starves the threads of a chunked objective; numpy's own loop does not.
    """
    return float(np.einsum("i,i->", a, b))


def chunked_objective(
    factory: Callable[[dict[str, FloatArray], FloatArray], Callable[[FloatArray, int], Objective]],
    data: dict[str, FloatArray],
    weights: FloatArray,
) -> Callable[[FloatArray, int], Objective]:
    """The objective over all rows as the sum of objectives over chunks of rows, evaluated
    in parallel threads (a log-likelihood, its gradient and Hessian are sums over rows)."""
    n_threads = workers()
    if n_threads < 2 or weights.size < _PARALLEL_ROWS:
        return factory(data, weights)
    bounds = np.linspace(0, weights.size, n_threads + 1).astype(np.int64).tolist()
    # built in the threads too: sorting and gathering millions of rows per chunk
    parts = parallel_map(
        lambda b: factory({k: v[b[0] : b[1]] for k, v in data.items()}, weights[b[0] : b[1]]),
        itertools.pairwise(bounds),
    )

    def objective(theta: FloatArray, order: int) -> Objective:
        results = parallel_map(lambda part: part(theta, order), parts)
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
    """An objective from a per-row log-likelihood written with the `_jet` helpers.

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
