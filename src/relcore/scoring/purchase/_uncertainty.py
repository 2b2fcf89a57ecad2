"""Intervals for per-customer predictions from the uncertainty of a fit's parameters.

Parameters are drawn from the fit's asymptotic normal distribution on the log scale (the
scale the fit optimises on, where the likelihood is closer to quadratic and every draw
stays positive): mean ``log(estimate)``, covariance the observed-information covariance
of the log-parameters, ``cov_ij / (θ_i θ_j)``. Each prediction is evaluated at every
draw and the interval is the central quantiles of those values. The interval therefore
describes what the data leave unknown about the *expected* value; it does not include
the chance in what a customer actually does (process noise: a customer expected to buy
2.3 times buys 0, 1, 2, 3...), nor the error of a model that does not fit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from ._inputs import distinct_rows
from ._types import FloatArray

# Draws evaluated at once are held as (draws x customers) arrays; customers are taken in
# chunks so that one chunk holds about this many values (64 MB of float64).
_CHUNK_VALUES = 8_000_000
DEFAULT_DRAWS = 500


def check_level(level: float) -> float:
    if not (isinstance(level, float | int) and 0 < level < 1):
        raise ValueError(f"interval must be a level in (0, 1), e.g. 0.9; got {level!r}")
    return float(level)


def parameter_draws(model: Any, draws: int, rng: Any) -> list[Any]:
    """``draws`` copies of ``model`` with parameters drawn from its fit's asymptotic
    normal on the log scale; parameters without finite variance (fixed at a boundary of
    the parameter space) keep their value."""
    info = model.fit_info
    if info is None:
        raise ValueError(
            f"{type(model).__name__} was built from known parameters: intervals come from "
            "the uncertainty of a fit; fit the model to data first"
        )
    if int(draws) != draws or draws < 2:
        raise ValueError(f"draws must be a whole number >= 2, got {draws!r}")
    gen = np.random.default_rng(rng)
    names: Sequence[str] = model._param_names
    values = np.array([getattr(model, n) for n in names], dtype=np.float64)
    cov = np.asarray(info.covariance, dtype=np.float64)
    free = np.flatnonzero(np.isfinite(np.diag(cov)) & np.isfinite(values))
    log_cov = cov[np.ix_(free, free)] / np.outer(values[free], values[free])
    # a symmetric square root that tolerates a covariance singular to rounding
    eigval, eigvec = np.linalg.eigh((log_cov + log_cov.T) / 2)
    root = eigvec * np.sqrt(np.clip(eigval, 0.0, None))
    z = gen.standard_normal((int(draws), free.size))
    log_draws = np.log(values[free]) + z @ root.T
    out = []
    for row in np.exp(log_draws):
        changes = {names[i]: float(v) for i, v in zip(free.tolist(), row.tolist(), strict=True)}
        out.append(attrs.evolve(model, **changes))
    return out


def bands(
    evaluate: Callable[[int, slice], Mapping[str, FloatArray]],
    n_rows: int,
    draws: int,
    level: float,
) -> dict[str, tuple[FloatArray, FloatArray]]:
    """Lower and upper quantiles per row of each named value ``evaluate(k, rows)``
    returns for draw ``k`` and a slice of rows, customers taken in chunks."""
    tail = (1.0 - level) / 2.0
    chunk = max(1, _CHUNK_VALUES // max(draws, 1))
    out: dict[str, tuple[FloatArray, FloatArray]] = {}
    for lo in range(0, max(n_rows, 1), chunk):
        rows = slice(lo, min(n_rows, lo + chunk))
        stacked: dict[str, list[FloatArray]] = {}
        for k in range(draws):
            for name, v in evaluate(k, rows).items():
                stacked.setdefault(name, []).append(np.asarray(v, dtype=np.float64))
        for name, values in stacked.items():
            arr = np.stack(values)
            lower, upper = np.quantile(arr, [tail, 1.0 - tail], axis=0)
            if name not in out:
                out[name] = (np.empty(n_rows), np.empty(n_rows))
            out[name][0][rows] = lower
            out[name][1][rows] = upper
    return out


def distinct(columns: list[FloatArray]) -> tuple[list[FloatArray], Any]:
    """The distinct rows of per-customer columns and each row's index among them (None
    when rows hardly repeat): the draws need only be evaluated once per distinct row."""
    if not columns or columns[0].size < 2:
        return columns, None
    found = distinct_rows([np.asarray(c, dtype=np.float64) for c in columns])
    if found is None:
        return columns, None
    unique, inverse = found
    return unique, inverse


def expand(
    bounds: dict[str, tuple[FloatArray, FloatArray]], inverse: Any
) -> dict[str, tuple[FloatArray, FloatArray]]:
    """Bounds per distinct row back to every row."""
    if inverse is None:
        return bounds
    return {k: (lo[inverse], hi[inverse]) for k, (lo, hi) in bounds.items()}


def rows_of(value: Any, n_rows: int, rows: slice) -> Any:
    """A per-customer argument's rows (a scalar, or an array of another length, as is)."""
    arr = np.asarray(value)
    if arr.ndim == 1 and arr.shape[0] == n_rows:
        return arr[rows]
    return value
