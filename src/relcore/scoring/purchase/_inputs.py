"""Model inputs: columns from a summary, a mapping, a DataFrame or arrays, validated, and
identical rows compressed into weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..._validation import as_float, check_mask, same_length
from ...errors import DataError
from ._types import FloatArray

# Compression is skipped when a sample of this many rows holds (almost) no duplicates:
# continuous data gain nothing from it and the sort would dominate the fit.
_SAMPLE_ROWS = 20_000
_MIN_DUPLICATE_SHARE = 0.01


def _column_from(data: Any, name: str) -> Any:
    from ..summary import RFMSummary

    if isinstance(data, RFMSummary):
        if name == "n_periods":
            return data.T
        return getattr(data, name)
    try:
        return data[name]
    except (KeyError, IndexError, TypeError, ValueError):
        raise DataError(name, "missing column") from None


def _has_column(data: Any, name: str) -> bool:
    from ..summary import RFMSummary

    if isinstance(data, RFMSummary):
        return False
    try:
        return name in data
    except TypeError:
        return False


def gather_columns(
    names: tuple[str, ...],
    data: Any,
    arrays: Mapping[str, Any],
    weights: Any,
) -> tuple[dict[str, Any], Any]:
    """Raw columns from exactly one of ``data`` (summary, mapping, DataFrame) or arrays."""
    from ..summary import RFMSummary

    given = {k: v for k, v in arrays.items() if v is not None}
    if data is not None:
        if given:
            raise TypeError(f"pass either a data object or the arrays {', '.join(names)}, not both")
        if not isinstance(data, RFMSummary | Mapping) and not hasattr(data, "__getitem__"):
            raise TypeError(f"cannot read columns from {type(data).__name__}")
        cols = {name: _column_from(data, name) for name in names}
        if weights is None and _has_column(data, "weights"):
            weights = data["weights"]
        return cols, weights
    missing = [n for n in names if n not in given]
    if missing:
        raise TypeError(f"missing data: {', '.join(missing)}")
    return {n: given[n] for n in names}, weights


def validate_weights(weights: Any, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n)
    w = as_float(weights, "weights", nonnegative=True)
    same_length(weights=w, frequency=np.empty(n))
    if not w.sum() > 0:
        raise DataError("weights", "no positive weight: there is nothing to fit")
    return w


def validate_rfm(
    frequency: Any, recency: Any, T: Any, *, t_name: str = "T", discrete: bool = False
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Checks common to the frequency / recency / age models.

    Frequency counts repeat purchases (whole numbers >= 0); recency lies in ``[0, T]`` and
    is 0 when frequency is 0 (a customer without repeat purchases has no last repeat
    purchase); ``T`` is >= 0. ``T = 0`` is a customer first seen at the very end of
    observation, who cannot have made a repeat purchase yet.
    """
    x = as_float(frequency, "frequency", nonnegative=True, integer=True)
    tx = as_float(recency, "recency", nonnegative=True, integer=discrete)
    t = as_float(T, t_name, nonnegative=True, integer=discrete)
    same_length(frequency=x, recency=tx, **{t_name: t})
    check_mask("recency", tx > t, f"recency greater than {t_name}")
    check_mask("recency", (x == 0) & (tx != 0), "nonzero recency where frequency is 0")
    check_mask("frequency", (x > 0) & (t == 0), f"repeat purchases where {t_name} is 0")
    if discrete:
        check_mask("frequency", x > tx, "frequency greater than recency")
    return x, tx, t


def broadcast_columns(**columns: Any) -> tuple[tuple[int, ...], dict[str, Any]]:
    """Broadcast prediction inputs to one shape (scalars stretch); flat views by name.

    Columns that cannot be broadcast (two arrays of different lengths) raise
    :class:`DataError` like the fitting path does.
    """
    arrays = {k: np.asarray(v) for k, v in columns.items()}
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        same_length(**{k: a.reshape(-1) for k, a in arrays.items()})
        raise
    return shape, {k: np.broadcast_to(a, shape).reshape(-1) for k, a in arrays.items()}


def prediction_rfm(
    frequency: Any, recency: Any, T: Any, *, t_name: str = "T", discrete: bool = False
) -> list[FloatArray]:
    """Validated frequency, recency and T for predictions, broadcast to one shape."""
    shape, cols = broadcast_columns(frequency=frequency, recency=recency, **{t_name: T})
    x, tx, t = validate_rfm(
        cols["frequency"], cols["recency"], cols[t_name], t_name=t_name, discrete=discrete
    )
    return [x.reshape(shape), tx.reshape(shape), t.reshape(shape)]


def compress(
    columns: list[FloatArray], weights: FloatArray, *, force: bool = False
) -> tuple[list[FloatArray], FloatArray]:
    """Merge identical rows, summing their weights (order of the result is sorted)."""
    n = weights.size
    if n < 2:
        return columns, weights
    if not force and n > _SAMPLE_ROWS:
        rng = np.random.default_rng(0)
        idx = rng.integers(0, n, _SAMPLE_ROWS)
        idx = idx[np.argsort(idx, kind="stable")]
        idx = idx[np.append(True, idx[1:] != idx[:-1])]  # distinct sampled rows
        sample = [c[idx] for c in columns]
        order = np.lexsort(sample[::-1])
        same = np.ones(idx.size - 1, dtype=bool)
        for c in sample:
            cs = c[order]
            same &= cs[1:] == cs[:-1]
        if same.sum() < _MIN_DUPLICATE_SHARE * idx.size:
            return columns, weights
    order = np.lexsort(columns[::-1])
    sorted_cols = [c[order] for c in columns]
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for c in sorted_cols:
        new[1:] |= c[1:] != c[:-1]
    starts = np.flatnonzero(new)
    return [c[starts] for c in sorted_cols], np.add.reduceat(weights[order], starts)


def whole_numbers(values: Any, name: str) -> FloatArray:
    """An argument of whole numbers >= 0 (counts of purchases or periods) as floats."""
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.floor(arr)):
        raise ValueError(f"{name} must hold whole numbers >= 0, got {values!r}")
    return arr


def time_horizon(t: Any) -> FloatArray:
    """A prediction horizon: finite and >= 0."""
    arr = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"t must be finite and >= 0, got {t!r}")
    return arr


def broadcast_float(*values: Any) -> list[FloatArray]:
    """Arrays of float64 broadcast to one shape (for vectorised predictions)."""
    arrays = [np.asarray(v, dtype=np.float64) for v in values]
    return list(np.broadcast_arrays(*arrays))
