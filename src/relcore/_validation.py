"""Input validation in one place.

Every public entry point that takes arrays funnels them through these helpers, so a bad
value is reported the same way wherever it enters: a [`DataError`][relcore.errors.DataError] naming
the column, the first offending rows and how many there are. Nothing is coerced
silently: a float column with fractional counts is an error, not a rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import DataError

FloatArray = npt.NDArray[np.float64]


def check_mask(column: str, bad: npt.NDArray[np.bool_], problem: str) -> None:
    """Raise [`DataError`][relcore.errors.DataError] when any element of the boolean mask ``bad`` is
    set."""
    if bad.any():
        raise DataError.from_mask(column, bad, problem)


def as_1d(values: Any, column: str) -> npt.NDArray[Any]:
    """A one-dimensional array view of ``values`` (scalars become length-one arrays)."""
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise DataError(column, f"must be one-dimensional, got shape {arr.shape}")
    return arr


def as_float(
    values: Any,
    column: str,
    *,
    nonnegative: bool = False,
    positive: bool = False,
    integer: bool = False,
) -> FloatArray:
    """Validate a numeric column and return it as float64 (a copy only when needed).

    Parameters
    ----------
    values
        Array-like of numbers; booleans, strings and objects are refused.
    column
        Name used in error messages.
    nonnegative, positive
        Require ``>= 0`` or ``> 0``.
    integer
        Require whole numbers (counts such as frequency), although stored as float.
    """
    arr = as_1d(values, column)
    if arr.dtype.kind not in "iuf":
        if arr.dtype == object:
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError):
                raise DataError(
                    column, f"must be numeric, got values such as {arr[:3]!r}"
                ) from None
        else:
            raise DataError(column, f"must be numeric, got dtype {arr.dtype}")
    out = np.asarray(arr, dtype=np.float64)
    check_mask(column, ~np.isfinite(out), "values that are NaN or infinite")
    if positive:
        check_mask(column, out <= 0, "values that are not positive")
    elif nonnegative:
        check_mask(column, out < 0, "negative values")
    if integer:
        check_mask(column, out != np.floor(out), "fractional values where whole numbers are needed")
    return out


def same_length(**columns: npt.NDArray[Any]) -> int:
    """Check that all columns have one length and return it."""
    lengths = {name: len(col) for name, col in columns.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name}={n}" for name, n in lengths.items())
        first = next(iter(lengths))
        raise DataError(first, f"columns differ in length ({detail})")
    return next(iter(lengths.values()), 0)


def readonly(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A read-only view of ``arr`` (the array itself is not modified)."""
    view = arr.view()
    view.flags.writeable = False
    return view
