"""Model inputs: columns from a summary, a mapping, a DataFrame or arrays, validated, and
identical rows compressed into weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ..._validation import as_float, check_mask, same_length
from ...errors import DataError
from ._types import FloatArray


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
    [`DataError`][relcore.errors.DataError] like the fitting path does.
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


# Compression of continuous data is skipped when a sample of this many rows shows that
# fewer than this share of rows repeat another: ranking float columns costs a sort per
# column, more than a fit saves on rows that hardly repeat (whole-number columns, daily
# or weekly periods, are grouped by their integer values in about a tenth of that).
_SAMPLE_ROWS = 20_000
_MIN_DUPLICATE_SHARE = 0.25
# Integer keys stay below 2**62 so that a product of two ranges cannot overflow int64.
_KEY_LIMIT = 1 << 62
# Whole numbers beyond this are ranked like floats (int64 and float64 stop agreeing).
_EXACT_INTEGERS = float(1 << 53)


def _rank(key: npt.NDArray[Any], size: int) -> tuple[npt.NDArray[np.int64], int]:
    """Dense ranks of ``key`` (equal keys share a rank; ranks order like the keys) and the
    number of distinct keys. ``size`` bounds integer keys (0 for float keys)."""
    order, sorted_key = _argsort(key, size)
    new = np.empty(key.size, dtype=bool)
    new[0] = True
    np.not_equal(sorted_key[1:], sorted_key[:-1], out=new[1:])
    ranks = np.empty(key.size, dtype=np.int64)
    ranks[order] = np.cumsum(new) - 1
    return ranks, int(np.count_nonzero(new))


def _argsort(key: npt.NDArray[Any], size: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[Any]]:
    """An ordering permutation of ``key`` and the sorted keys.

    Integer keys below ``size`` are sorted together with their row numbers packed into the
    low bits of one int64 when both fit: numpy's SIMD sort of values is several times
    faster than its ``argsort``.
    """
    n = key.size
    row_bits = max(1, (n - 1).bit_length())
    if size and (size - 1).bit_length() + row_bits <= 63:
        packed = key << row_bits
        packed |= np.arange(n, dtype=np.int64)
        packed.sort()
        order = packed & ((1 << row_bits) - 1)
        packed >>= row_bits
        return order, packed
    order = np.argsort(key)
    return order, key[order]


def _codes(column: FloatArray) -> tuple[npt.NDArray[np.int64], int, int | None] | None:
    """Integer codes ordering like a whole-number column, their bound, and the value of
    code 0 (None when the codes are ranks); None when the column holds fractions."""
    lo, hi = float(column.min()), float(column.max())
    if not -_EXACT_INTEGERS < lo <= hi < _EXACT_INTEGERS:
        return None
    whole = column.astype(np.int64)
    if not np.array_equal(whole, column):
        return None
    if hi - lo >= 1 << 31:
        return (*_rank(whole, 0), None)
    # counts and periods start at 0 or 1: their values are their codes (a pass saved)
    offset = 0 if 0 <= lo <= hi - lo else int(lo)
    if offset:
        whole -= offset
    return whole, int(hi) - offset + 1, offset


def _continuous_sample(columns: list[FloatArray]) -> tuple[bool, bool]:
    """From a random sample of rows: whether some column holds fractions, and whether
    the rows hardly repeat (continuous data)."""
    n = columns[0].size
    rng = np.random.default_rng(0)
    idx = np.unique(rng.integers(0, n, _SAMPLE_ROWS))
    sample = [c[idx] for c in columns]
    fractions = any(not np.array_equal(np.floor(c), c) for c in sample)
    order = np.lexsort(sample[::-1])
    same = np.ones(idx.size - 1, dtype=bool)
    for c in sample:
        cs = c[order]
        same &= cs[1:] == cs[:-1]
    return fractions, bool(same.sum() < _MIN_DUPLICATE_SHARE * idx.size)


def _keys(
    columns: list[FloatArray], force: bool
) -> tuple[npt.NDArray[np.int64], int, list[tuple[int, int]] | None] | None:
    """One int64 key per row ordering like the rows (the first column most significant),
    its bound, and how to decode a key into the row's values (per column: its bound and
    the value of code 0; None when some column was ranked); None for continuous data
    whose rows hardly repeat (unless ``force``).

    Each column becomes integer codes that order like its values (whole numbers: the
    values themselves; other columns: their ranks) and the codes combine into one key.
    Continuous data are recognised from a sample, so that skipping them costs next to
    nothing.
    """
    n = columns[0].size
    sampled = not force and n > _SAMPLE_ROWS
    fractions, unique = _continuous_sample(columns) if sampled else (False, False)
    if fractions and unique:
        return None
    maybe = [_codes(c) for c in columns]
    if sampled and unique and any(c is None for c in maybe):
        return None
    codes = [
        (*_rank(col, 0), None) if c is None else c for c, col in zip(maybe, columns, strict=True)
    ]
    key, size, _ = codes[0]
    reranked = False
    for code, bound, _ in codes[1:]:
        if size * bound >= _KEY_LIMIT:
            key, size = _rank(key, size)
            reranked = True
        key *= bound  # in place: every key array here was made for it
        key += code
        size *= bound
    decode = [(bound, offset) for _, bound, offset in codes if offset is not None]
    return key, size, None if reranked or len(decode) < len(codes) else decode


def _groups(
    columns: list[FloatArray], force: bool
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] | None:
    """A permutation sorting the rows by the columns (the first most significant) and
    where each run of identical rows starts in it; None for continuous data whose rows
    hardly repeat (unless ``force``). One sort of the rows' keys (see ``_keys``) finds
    the runs."""
    keys = _keys(columns, force)
    if keys is None:
        return None
    key, size, _ = keys
    order, sorted_key = _argsort(key, size)
    return order, _run_starts(sorted_key)


def _run_starts(sorted_key: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
    new = np.empty(sorted_key.size, dtype=bool)
    new[0] = True
    np.not_equal(sorted_key[1:], sorted_key[:-1], out=new[1:])
    return np.flatnonzero(new)


def _counted(
    key: npt.NDArray[np.int64], size: int, decode: list[tuple[int, int]]
) -> tuple[list[FloatArray], FloatArray]:
    """Distinct rows of weight 1 and their counts from keys that decode into the values:
    the keys alone are sorted (numpy sorts values several times faster than it sorts
    indices, and 32-bit keys faster still), each run's length is its weight, and the
    distinct rows are read back from their keys."""
    sorted_key = np.sort(key.astype(np.uint32) if size <= 1 << 32 else key)
    starts = _run_starts(sorted_key)
    weights = np.diff(starts, append=key.size).astype(np.float64)
    rest = sorted_key[starts].astype(np.int64)
    values: list[FloatArray] = []
    for bound, offset in reversed(decode):
        rest, code = np.divmod(rest, bound)
        values.append((code + offset).astype(np.float64))
    return values[::-1], weights


def compress(
    columns: list[FloatArray], weights: FloatArray, *, force: bool = False
) -> tuple[list[FloatArray], FloatArray]:
    """Merge identical rows, summing their weights; the rows of the result are sorted by
    the columns, the first most significant. Continuous data, whose rows hardly repeat,
    are returned unchanged unless ``force`` is set."""
    n = weights.size
    keys = _keys(columns, force) if n > 1 else None
    if keys is None:
        return columns, weights
    key, size, decode = keys
    unit = bool(np.all(weights == 1.0))
    if unit and decode is not None:
        return _counted(key, size, decode)
    order, sorted_key = _argsort(key, size)
    starts = _run_starts(sorted_key)
    first = order[starts]
    if unit:
        summed = np.diff(starts, append=n).astype(np.float64)
    else:
        summed = np.add.reduceat(weights[order], starts)
    return [c[first] for c in columns], summed


def distinct_rows(
    columns: list[FloatArray],
) -> tuple[list[FloatArray], npt.NDArray[np.intp]] | None:
    """The distinct rows (sorted) and, per row, the index of its distinct row; None when
    the rows hardly repeat (continuous data), so that work per distinct row saves
    nothing."""
    n = columns[0].size
    groups = _groups(columns, False) if n > 1 else None
    if groups is None:
        return None
    order, starts = groups
    new = np.zeros(n, dtype=np.intp)
    new[starts] = 1
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    first = order[starts]
    return [c[first] for c in columns], inverse


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
