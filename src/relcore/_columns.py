"""Column machinery behind :class:`~relcore.models.EventLog`: categorical codes,
customer-id factorisation and the one sort that orders a log by customer and time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ._validation import as_1d, check_mask, readonly
from .errors import DataError

__all__ = ["Categorical"]

IntArray = npt.NDArray[np.integer[Any]]


def constant(value: Any, n: int, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """A read-only length-``n`` array of one value that costs no memory (stride 0)."""
    return np.broadcast_to(np.asarray(value, dtype=dtype), (n,))


def is_constant(arr: npt.NDArray[Any]) -> bool:
    return arr.ndim == 1 and arr.size > 1 and arr.strides[0] == 0


def take(arr: npt.NDArray[Any], index: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``arr[index]`` that keeps a zero-stride constant column constant."""
    if is_constant(arr):
        n = int(index.sum()) if index.dtype == np.bool_ else int(index.size)
        return np.broadcast_to(arr[:1], (n,))
    out: npt.NDArray[Any] = arr[index]
    return out


def code_dtype(n_categories: int) -> type[np.signedinteger[Any]]:
    if n_categories <= np.iinfo(np.int8).max:
        return np.int8
    if n_categories <= np.iinfo(np.int16).max:
        return np.int16
    return np.int32


def _label_tuple(labels: Iterable[str]) -> tuple[str, ...]:
    return tuple(labels)


@attrs.frozen(eq=False)
class Categorical:
    """A column of labels stored as integer codes into ``categories``; ``-1`` is missing.

    Examples
    --------
    >>> import numpy as np
    >>> col = Categorical(np.array([0, 1, -1, 0], dtype=np.int8), ("email", "sms"))
    >>> col.mask("email").tolist()
    [True, False, False, True]
    >>> col.to_numpy().tolist()
    ['email', 'sms', None, 'email']
    """

    codes: npt.NDArray[np.signedinteger[Any]] = attrs.field(converter=readonly)
    categories: tuple[str, ...] = attrs.field(converter=_label_tuple)

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def code(self, label: str) -> int:
        """The code of ``label``, or ``-2`` (matches nothing) when it does not occur."""
        try:
            return self.categories.index(label)
        except ValueError:
            return -2

    def mask(self, *labels: str | None) -> npt.NDArray[np.bool_]:
        """Boolean mask of the rows whose label is any of ``labels`` (``None``: missing)."""
        wanted = [-1 if lab is None else self.code(lab) for lab in labels]
        wanted = [w for w in wanted if w != -2]
        if not wanted:
            return np.zeros(len(self), dtype=bool)
        if len(wanted) == 1:
            return np.asarray(self.codes == wanted[0])
        return np.isin(self.codes, wanted)

    def to_numpy(self) -> npt.NDArray[np.object_]:
        """Labels as an object array, ``None`` where missing."""
        table = np.array([*self.categories, None], dtype=object)
        return table[np.where(self.codes < 0, len(self.categories), self.codes)]

    def take(self, index: npt.NDArray[Any]) -> Categorical:
        return Categorical(take(self.codes, index), self.categories)

    def __getitem__(self, key: slice) -> Categorical:
        return Categorical(self.codes[key], self.categories)


_NUL_ENDING = (
    "text ending in a NUL character ('\\x00'), which numpy's text arrays cannot keep apart "
    "from the same text without it"
)
# What is wrong with one value of an object column of labels (0: nothing).
_FINE, _MISSING, _NOT_TEXT, _EMPTY, _NUL = range(5)


def _problem(v: Any) -> int:
    if v is None:
        return _MISSING
    if not isinstance(v, str):
        return _NOT_TEXT
    return _EMPTY if not v else _NUL if v[-1] == "\0" else _FINE


def _text(values: Any, column: str) -> npt.NDArray[Any]:
    """``values`` as a 1-d array, refusing what numpy would silently change on the way.

    From a list or tuple numpy makes fixed-width text, which cannot hold a trailing NUL
    (``"a\\0"`` would become ``"a"``) and turns numbers into text (``1`` and ``"1"``
    would meet): such values are refused, naming the rows.
    """
    arr = as_1d(values, column)
    if arr.dtype.kind == "U" and isinstance(values, list | tuple):
        try:
            suspect = "\0" in "".join(values)  # one C-speed pass in the common case
        except TypeError:  # not all text
            suspect = True
        if suspect:
            _label_problems(np.asarray(values, dtype=object), column, allow_missing=False)
    return arr


def _label_problems(arr: npt.NDArray[Any], column: str, *, allow_missing: bool) -> None:
    if arr.dtype.kind in "US":
        check_mask(column, np.char.str_len(arr) == 0, "empty labels; use None for a missing one")
        return
    if arr.dtype != object:
        raise DataError(column, f"must hold strings, got dtype {arr.dtype}")
    problem = np.fromiter(
        (_FINE if type(v) is str and v and v[-1] != "\0" else _problem(v) for v in arr.tolist()),
        dtype=np.int8,
        count=arr.size,
    )
    if not problem.any():
        return
    if not allow_missing:
        check_mask(column, problem == _MISSING, "missing values")
    check_mask(column, problem == _NOT_TEXT, "values that are not strings")
    check_mask(column, problem == _EMPTY, "empty labels; use None for a missing one")
    check_mask(column, problem == _NUL, _NUL_ENDING)


def factorize_labels(
    values: Any,
    n: int,
    column: str,
    *,
    allow_missing: bool = True,
    allowed: Sequence[str] | None = None,
) -> Categorical:
    """Codes and categories for a label column given as None, one string or an array.

    A scalar (or ``None``) becomes a zero-memory constant column. Categories are sorted,
    except when ``allowed`` fixes the vocabulary and its order.
    """
    if values is None:
        if not allow_missing:
            raise DataError(column, "is required")
        return Categorical(constant(-1, n, np.int8), tuple(allowed or ()))
    if isinstance(values, Categorical):
        return _checked_categorical(values, n, column, allow_missing=allow_missing, allowed=allowed)
    if isinstance(values, str):
        arr = np.array([values], dtype=object)
    else:
        arr = _text(values, column)
        if arr.size != n:
            raise DataError(column, f"has {arr.size} values for {n} events")
    _label_problems(arr, column, allow_missing=allow_missing)
    present = np.ones(arr.size, dtype=bool) if arr.dtype != object else arr != None  # noqa: E711
    labels = arr[present].astype(str)
    cats, inverse = np.unique(labels, return_inverse=True)
    categories = tuple(str(c) for c in cats)
    if allowed is not None:
        unknown = np.isin(arr.astype(str), list(allowed), invert=True) & present
        check_mask(column, unknown, f"labels other than {', '.join(map(repr, allowed))}")
        remap = np.array([list(allowed).index(c) for c in categories], dtype=np.int64)
        inverse = remap[inverse] if remap.size else inverse
        categories = _label_tuple(allowed)
    dtype = code_dtype(len(categories))
    if isinstance(values, str):
        return Categorical(constant(int(inverse[0]), n, dtype), categories)
    codes = np.full(arr.size, -1, dtype=dtype)
    codes[present] = inverse
    return Categorical(codes, categories)


def _checked_categorical(
    col: Categorical,
    n: int,
    column: str,
    *,
    allow_missing: bool,
    allowed: Sequence[str] | None,
) -> Categorical:
    """Validate a column handed in already coded (the fast path for adapters)."""
    if len(col) != n:
        raise DataError(column, f"has {len(col)} values for {n} events")
    codes = col.codes
    check_mask(column, (codes < -1) | (codes >= len(col.categories)), "codes out of range")
    if not allow_missing:
        check_mask(column, codes == -1, "missing values")
    if len(set(col.categories)) != len(col.categories) or "" in col.categories:
        raise DataError(column, "categories must be distinct, non-empty labels")
    if allowed is not None and col.categories != tuple(allowed):
        unknown = [c for c in col.categories if c not in allowed]
        if unknown:
            raise DataError(column, f"labels other than {', '.join(map(repr, allowed))}: {unknown}")
        remap = np.array([list(allowed).index(c) for c in col.categories] + [-1])
        return Categorical(remap[codes].astype(np.int8), tuple(allowed))
    return col


def _factorize_int(
    keys: npt.NDArray[np.int64], *, want_rows: bool
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Codes of int64 keys by ascending value, and per distinct key either the key itself
    or (``want_rows``) the index of one row holding it.

    Dense ranges take an O(n) path; otherwise one unstable ``argsort`` (numpy's SIMD sort)
    replaces ``np.unique(return_inverse=True)``, whose stable sort is three times slower.
    """
    n = keys.size
    lo, hi = int(keys.min()), int(keys.max())
    if hi - lo <= 4 * n + 1024:
        offset = keys - lo
        present = np.zeros(hi - lo + 1, dtype=bool)
        present[offset] = True
        rank = np.cumsum(present, dtype=np.int32)
        rank -= 1
        codes = rank[offset]
        if not want_rows:
            return codes, np.flatnonzero(present).astype(np.int64) + lo
        rows = np.empty(int(rank[-1]) + 1, dtype=np.int64)
        rows[codes[::-1]] = np.arange(n - 1, -1, -1)
        return codes, rows
    order = np.argsort(keys)
    sorted_keys = keys[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new[1:])
    codes = np.empty(n, dtype=np.int32)
    codes[order] = np.cumsum(new, dtype=np.int32) - 1
    return codes, (order[new] if want_rows else sorted_keys[new])


def _ascii_key(arr: npt.NDArray[np.str_]) -> npt.NDArray[np.int64] | None:
    """Pack strings of at most 9 ASCII characters into int64s that sort like the strings.

    Short ASCII ids (``"00042"``, ``"C12345"``) are the common case; sorting integers is an
    order of magnitude faster than sorting unicode strings. ``None`` when they don't fit.
    """
    width = arr.dtype.itemsize // 4
    if width == 0 or arr.size == 0:
        return None
    points = arr.view(np.uint32).reshape(arr.size, width)
    if width > 9:  # a wide dtype may still hold short strings (int ids turned to text)
        if points[:, 9:].any():
            return None
        points, width = points[:, :9], 9
    if int(points.max()) >= 128:
        return None
    key = np.zeros(arr.size, dtype=np.int64)
    # Seven bits per character, the first most significant: 9 x 7 = 63 bits. Padding is
    # code point 0, below every character, so shorter strings sort first as they should.
    for i in range(width):
        key |= points[:, i].astype(np.int64) << (7 * (8 - i))
    return key


def factorize_ids(
    values: Any, column: str = "customer_id"
) -> tuple[npt.NDArray[np.int32], npt.NDArray[Any]]:
    """Dense int32 codes for customer (or item) ids, and the sorted table of distinct ids.

    Integer ids keep their dtype (so results join back to the caller's integer keys);
    anything else must be non-empty strings (and none may end in a NUL character, which
    numpy's text arrays would drop, merging ``"a\\0"`` with ``"a"``).
    """
    arr = _text(values, column)
    if arr.dtype.kind == "b" or arr.dtype.kind == "f":
        if arr.dtype.kind == "f":
            check_mask(column, np.isnan(arr), "missing ids (NaN)")
        raise DataError(column, f"ids must be integers or strings, got dtype {arr.dtype}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int32), arr.astype(np.int64 if arr.dtype.kind in "iu" else str)
    if arr.dtype.kind in "iu":
        if arr.dtype == np.uint64 and int(arr.max()) > np.iinfo(np.int64).max:
            raise DataError(column, "ids above 2**63 - 1 are not supported")
        codes, uniques = _factorize_int(arr.astype(np.int64, copy=False), want_rows=False)
    else:
        _label_problems(arr, column, allow_missing=False)
        text = arr if arr.dtype.kind == "U" else arr.astype(str)
        key = _ascii_key(text)
        if key is not None:
            codes, rows = _factorize_int(key, want_rows=True)
            uniques = text[rows]
        else:
            uniques, inverse = np.unique(text, return_inverse=True)
            codes = inverse.astype(np.int32)
    if uniques.size >= np.iinfo(np.int32).max:
        raise DataError(column, f"has {uniques.size} distinct ids; at most 2**31 - 1 are supported")
    return codes, uniques


# Above this many rows, sorting goes bucket by bucket (see _argsort_by_buckets).
_BUCKETED_ROWS = 1 << 20
_ROWS_PER_BUCKET = 1 << 17


def _argsort_by_buckets(
    key: npt.NDArray[np.int64], codes: npt.NDArray[np.int32], n_codes: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """``argsort(key)`` and the sorted keys, for keys whose high bits are ``codes``.

    Rows are first grouped into buckets of consecutive codes by numpy's O(n) radix sort
    (stable ``argsort`` of 16-bit bucket numbers); each bucket, small enough to stay in
    cache, is then sorted on its own. A third faster than one ``argsort`` of ten million
    keys, and the sorted keys come out too (no gather needed for them).
    """
    n = key.size
    if n < _BUCKETED_ROWS:
        order = np.argsort(key)
        return order, key[order]
    n_buckets = min(np.iinfo(np.uint16).max, max(1, n // _ROWS_PER_BUCKET))
    bucket = (codes.astype(np.int64) * n_buckets // n_codes).astype(np.uint16)
    order = np.argsort(bucket, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(bucket, minlength=n_buckets))))
    del bucket
    sorted_key = key[order]
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if hi - lo > 1:
            part = np.argsort(sorted_key[lo:hi])
            order[lo:hi] = order[lo:hi][part]
            sorted_key[lo:hi] = sorted_key[lo:hi][part]
    return order, sorted_key


def sort_rows(
    codes: npt.NDArray[np.int32], at: npt.NDArray[np.int64], n_codes: int
) -> tuple[npt.NDArray[np.intp] | None, npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Order rows by (customer code, time, original position).

    Returns the permutation (``None`` when the rows are in order already) and the sorted
    codes and times, as new arrays.

    One sort of a packed 64-bit key (code in the high bits, time offset below it) replaces
    a two-key ``lexsort`` that is six times slower. When the time range does not fit the
    bits left, time is truncated in the key and ties are finished with a ``lexsort`` over
    just the tied rows. Sorted codes need no gather: they are each code repeated as often
    as it occurs; nor do sorted times when the key holds them whole.
    """
    n = codes.size
    counts = np.bincount(codes, minlength=n_codes)
    sorted_codes = np.repeat(np.arange(n_codes, dtype=np.int32), counts)
    if n < 2:
        return None, sorted_codes, at.copy()
    code_bits = max(1, (n_codes - 1).bit_length())
    time_bits = 63 - code_bits
    t0 = int(at.min())
    shift = max(0, (int(at.max()) - t0).bit_length() - time_bits)
    key = at - t0
    if shift:
        key >>= shift
    key |= codes.astype(np.int64) << time_bits
    ordered = bool((key[1:] >= key[:-1]).all())
    if ordered and (shift == 0 or bool(((at[1:] >= at[:-1]) | (key[1:] != key[:-1])).all())):
        return None, sorted_codes, at.copy()
    order, sorted_key = _argsort_by_buckets(key, codes, n_codes)
    del key
    tie = sorted_key[1:] == sorted_key[:-1]
    if tie.any():
        in_run = np.zeros(n, dtype=bool)
        in_run[:-1] |= tie
        in_run[1:] |= tie
        pos = np.flatnonzero(in_run)
        run_id = np.cumsum(~np.concatenate(([False], tie)))[pos]
        rows = order[pos]
        order[pos] = rows[np.lexsort((rows, at[rows], run_id))]
    if shift:
        return order, sorted_codes, at[order]
    # The key holds the whole time offset: the sorted times are its low bits, plus t0.
    sorted_key &= (1 << time_bits) - 1
    sorted_key += t0
    return order, sorted_codes, sorted_key
