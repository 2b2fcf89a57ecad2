"""Column machinery behind [`EventLog`][relcore.models.EventLog]: categorical codes,
customer-id factorisation and the one sort that orders a log by customer and time."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import attrs
import numpy as np
import numpy.typing as npt

from ._factorize import UnicodeText, Utf8Text, Values, factorize_text, tied_runs
from ._factorize import factorize_int as _factorize_int
from ._threads import parallel_map, parallel_take, row_ranges
from ._validation import as_1d, check_mask, readonly
from .errors import DataError

__all__ = ["Categorical"]

IntArray = npt.NDArray[np.integer[Any]]
Codes = npt.NDArray[np.int32]
TextTable = npt.NDArray[np.str_]


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
    if index.dtype != np.bool_ and arr.ndim == 1:
        return parallel_take(arr, index)
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
_EMPTY_LABEL = "empty labels; use None for a missing one"
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
        check_mask(column, np.char.str_len(arr) == 0, _EMPTY_LABEL)
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
    check_mask(column, problem == _EMPTY, _EMPTY_LABEL)
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
    except when ``allowed`` fixes the vocabulary and its order. An array may be a numpy
    array, a list or a pyarrow array (whose nulls are missing labels).
    """
    if values is None:
        if not allow_missing:
            raise DataError(column, "is required")
        return Categorical(constant(-1, n, np.int8), tuple(allowed or ()))
    if isinstance(values, Categorical):
        return _checked_categorical(values, n, column, allow_missing=allow_missing, allowed=allowed)
    if isinstance(values, str):
        _label_problems(np.array([values], dtype=object), column, allow_missing=allow_missing)
        codes: Codes = np.zeros(1, dtype=np.int32)
        categories: tuple[str, ...] = (values,)
    else:
        if not _is_arrow(values):
            values = _text(values, column)
        if len(values) != n:
            raise DataError(column, f"has {len(values)} values for {n} events")
        codes, table = _text_codes(values, column, allow_missing=allow_missing)
        categories = tuple(table.tolist())
    if allowed is not None:
        known = np.array([c in allowed for c in categories], dtype=bool)
        if not known.all():
            unknown = np.isin(codes, np.flatnonzero(~known))
            check_mask(column, unknown, f"labels other than {', '.join(map(repr, allowed))}")
        # the last entry maps a missing label (code -1) to itself
        remap = np.array([*(list(allowed).index(c) for c in categories), -1], dtype=np.int32)
        codes = remap[codes]
        categories = _label_tuple(allowed)
    dtype = code_dtype(len(categories))
    if isinstance(values, str):
        return Categorical(constant(int(codes[0]), n, dtype), categories)
    return Categorical(codes.astype(dtype, copy=False), categories)


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


def factorize_ids(
    values: Any, column: str = "customer_id"
) -> tuple[npt.NDArray[np.int32], npt.NDArray[Any]]:
    """Dense int32 codes for customer (or item) ids, and the sorted table of distinct ids.

    Integer ids keep their dtype (so results join back to the caller's integer keys);
    anything else must be non-empty strings (and none may end in a NUL character, which
    numpy's text arrays would drop, merging ``"a\\0"`` with ``"a"``). ``values`` may be a
    numpy array, a list or a pyarrow array. Strings are factorised through an integer key
    that sorts as they do, or by hashing (see `relcore._factorize`); the table is sorted
    either way.
    """
    if _is_arrow(values):
        values = _arrow_ids(values, column)
    if not _is_arrow(values):
        arr = _text(values, column)
        if arr.dtype.kind == "b" or arr.dtype.kind == "f":
            if arr.dtype.kind == "f":
                check_mask(column, np.isnan(arr), "missing ids (NaN)")
            raise DataError(column, f"ids must be integers or strings, got dtype {arr.dtype}")
        if arr.size == 0:
            empty = arr.astype(np.int64 if arr.dtype.kind in "iu" else str)
            return np.zeros(0, dtype=np.int32), empty
        if arr.dtype.kind in "iu":
            if arr.dtype == np.uint64 and int(arr.max()) > np.iinfo(np.int64).max:
                raise DataError(column, "ids above 2**63 - 1 are not supported")
            codes, uniques = _factorize_int(arr.astype(np.int64, copy=False))
            return _checked_size(codes, uniques, column)
        values = arr
    codes, table = _text_codes(values, column, allow_missing=False)
    return _checked_size(codes, table, column)


def _checked_size(
    codes: Codes, uniques: npt.NDArray[Any], column: str
) -> tuple[Codes, npt.NDArray[Any]]:
    if uniques.size >= np.iinfo(np.int32).max:
        raise DataError(column, f"has {uniques.size} distinct ids; at most 2**31 - 1 are supported")
    return codes, uniques


# ---------------------------------------------------------------------------- text columns


def _text_codes(values: Any, column: str, *, allow_missing: bool) -> tuple[Codes, TextTable]:
    """Codes (``-1`` for a missing value) and the sorted table of a text column: a numpy
    array (``U``, ``S`` or object) or a pyarrow array. Values are checked in the order
    `_label_problems` checks them, and errors name the rows."""
    if _is_arrow(values):
        return _arrow_text_codes(values, column, allow_missing=allow_missing)
    arr: npt.NDArray[Any] = values
    if arr.dtype.kind == "U":
        return _checked(*factorize_text(UnicodeText(arr)), column)
    if arr.dtype.kind == "S":
        _label_problems(arr, column, allow_missing=allow_missing)
        return _text_codes(arr.astype(str), column, allow_missing=allow_missing)
    if arr.dtype != object:
        raise DataError(column, f"must hold strings, got dtype {arr.dtype}")
    return _object_text_codes(arr, column, allow_missing=allow_missing)


def _checked(codes: Codes, distinct: Values, column: str) -> tuple[Codes, TextTable]:
    """Codes (``-1`` for a missing value) and the table of factorised text, once no
    value is empty or ends in a NUL character (which numpy's text arrays would drop).

    Each distinct value is checked once; an error names every row holding a bad one.
    """
    for problem, message in zip(_text_problems(distinct), (_EMPTY_LABEL, _NUL_ENDING), strict=True):
        if problem.any():
            check_mask(column, np.append(problem, False)[codes], message)
    return codes, distinct.unicode()


def _text_problems(text: Values) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Empty values, and values ending in a NUL character."""
    if not isinstance(text, UnicodeText):
        lengths = text.lengths()
        return lengths == 0, (text.last_bytes() == 0) & (lengths > 0)
    # numpy drops trailing NULs: a value that starts with one is empty or like "\0a"
    values = text.unicode()
    empty = np.zeros(values.size, dtype=bool)
    if text.width:
        suspect = text.points()[:, 0] == 0
        empty[suspect] = np.char.str_len(values[suspect]) == 0
    else:
        empty[:] = True
    return empty, np.zeros(values.size, dtype=bool)


# Object columns with at most this many distinct objects (a label repeated by reference,
# as numpy and pandas build such columns) are grouped by reference; from this many rows.
_FEW_OBJECTS = 8
_FEW_OBJECTS_ROWS = 1 << 16
# Otherwise, one with at most this many distinct values is coded through a dict of them
# (channels, kinds, campaigns); up to `_BY_COMPARISON` values, by comparisons instead.
_FEW_LABELS = 4096
_BY_COMPARISON = 3


def few_objects(arr: Any) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.object_]] | None:
    """The rows of a long 1-d object array grouped by the object each holds (by identity,
    not value), and those objects, when there are at most `_FEW_OBJECTS` of them.

    A label column built by numpy or pandas repeats a few string objects by reference.
    Comparing the references as integers, one pass per object, groups ten million rows in
    tens of milliseconds, where hashing or comparing each row's object costs a Python call
    per row. ``None`` for other or shorter arrays, or when the first rows already hold too
    many objects. Equal values held by different objects land in different groups: the
    caller codes the few objects by value.
    """
    if not isinstance(arr, np.ndarray) or arr.dtype != object or arr.ndim != 1:
        return None
    n = arr.size
    if n < _FEW_OBJECTS_ROWS:
        return None
    import ctypes

    arr = np.ascontiguousarray(arr)  # holds the objects while their references are read
    pointer = ctypes.cast(arr.ctypes.data, ctypes.POINTER(ctypes.c_size_t))
    refs = np.ctypeslib.as_array(pointer, shape=(n,))
    if np.unique(refs[:4096]).size > _FEW_OBJECTS:
        return None
    groups = np.full(n, -1, dtype=np.int8)
    firsts: list[int] = []
    row = 0
    while len(firsts) < _FEW_OBJECTS:
        groups[refs == refs[row]] = len(firsts)
        firsts.append(row)
        rest = groups[row:] < 0
        if not rest.any():
            return groups, arr[firsts]
        row += int(np.argmax(rest))
    return None


def _object_text_codes(
    arr: npt.NDArray[np.object_], column: str, *, allow_missing: bool
) -> tuple[Codes, TextTable]:
    """Codes and table of an object column. A long one holding a few label objects, or a
    few distinct values, is coded through them (`few_objects`, `_few_values`); a column
    with a bad value is checked row by row, so that the offending rows are named."""
    few = few_objects(arr)
    if few is not None:
        groups, objects = few
        coded = _checked_few(objects, column, allow_missing=allow_missing)
        if coded is not None:
            return coded[0][groups], coded[1]
    elif arr.size >= _FEW_OBJECTS_ROWS:
        by_value = _few_values(arr, column, allow_missing=allow_missing)
        if by_value is not None:
            return by_value
    return _object_rows_codes(arr, column, allow_missing=allow_missing)


def _checked_few(
    objects: npt.NDArray[np.object_], column: str, *, allow_missing: bool
) -> tuple[Codes, TextTable] | None:
    """Codes and table of a column's few distinct objects; ``None`` if one is not a label."""
    try:
        return _object_rows_codes(objects, column, allow_missing=allow_missing)
    except DataError:
        return None


def _few_values(
    arr: npt.NDArray[np.object_], column: str, *, allow_missing: bool
) -> tuple[Codes, TextTable] | None:
    """Codes and table of an object column with at most `_FEW_LABELS` distinct values
    (equal labels held by different objects, as a column converted from text is):
    the values are found with a set and checked and sorted as the whole column would be,
    and each row's code is a comparison or a dict lookup at C speed. ``None`` for
    unhashable values, many distinct ones or a value that is not a label."""
    try:
        distinct = list(set(arr))
    except TypeError:
        return None
    if len(distinct) > _FEW_LABELS:
        return None
    objects = np.empty(len(distinct), dtype=object)
    for i, v in enumerate(distinct):  # element-wise: a tuple must stay one value
        objects[i] = v
    coded = _checked_few(objects, column, allow_missing=allow_missing)
    if coded is None:
        return None
    codes, table = coded
    if len(distinct) > _BY_COMPARISON:
        lookup = dict(zip(distinct, codes.tolist(), strict=True))
        by_lookup = np.fromiter(map(lookup.__getitem__, arr), dtype=np.int32, count=arr.size)
        return by_lookup, table
    # a comparison per row costs a third of a dict lookup: two or three labels are coded
    # by comparing, the first needs none
    out = np.full(arr.size, codes[0], dtype=np.int32)
    for label, code in zip(distinct[1:], codes[1:].tolist(), strict=True):
        out[np.equal(arr, label)] = code
    return out, table


def _object_rows_codes(
    arr: npt.NDArray[np.object_], column: str, *, allow_missing: bool
) -> tuple[Codes, TextTable]:
    pa = _module("pyarrow")
    if pa is None or not _plainly_text(arr, allow_missing=allow_missing):
        _label_problems(arr, column, allow_missing=allow_missing)  # names the rows of a problem
    # Only strings and (if allowed) None remain.
    missing = np.asarray(arr == None) if allow_missing else None  # noqa: E711
    if missing is not None and not missing.any():
        missing = None
    present = arr if missing is None else arr[~missing]
    if pa is None:
        codes, table = _text_codes(present.astype(str), column, allow_missing=False)
        return _with_missing(codes, missing), table
    text = Utf8Text(pa.chunked_array([pa.array(present, type=pa.large_string())]))
    codes, distinct = factorize_text(text)
    return _checked(_with_missing(codes, missing), distinct, column)


def _plainly_text(arr: npt.NDArray[np.object_], *, allow_missing: bool) -> bool:
    """Whether every value is a string (or, if allowed, None), checked at C speed by
    pandas; ``False`` when pandas is not installed or anything else is found."""
    pd = _module("pandas")
    if pd is None:
        return False
    missing = np.asarray(pd.isna(arr), dtype=bool)  # None, NaN, NA, NaT
    present = arr
    if missing.any():
        # Only None is a missing label; NaN and the like are values that are not strings.
        if not allow_missing or not (arr[missing].astype(str) == "None").all():
            return False
        present = arr[~missing]
    return bool(pd.api.types.infer_dtype(present, skipna=False) == "string")


def _arrow_ids(values: Any, column: str) -> Any:
    """A pyarrow column of ids: text stays in pyarrow, integers become numpy."""
    import pyarrow as pa

    col = _chunked(values)
    kind = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
    if is_arrow_text(kind):
        return col
    if pa.types.is_dictionary(col.type):
        col = col.cast(kind)
    if col.null_count:
        check_mask(column, np.asarray(col.is_null()), "missing values")
    return col.to_numpy()


def _arrow_text_codes(values: Any, column: str, *, allow_missing: bool) -> tuple[Codes, TextTable]:
    import pyarrow as pa

    col = _chunked(values)
    if pa.types.is_dictionary(col.type):
        return _dictionary_codes(col, column, allow_missing=allow_missing)
    if not is_arrow_text(col.type):
        raise DataError(column, f"must hold strings, got dtype {col.type}")
    if is_arrow_string_view(col.type):
        col = col.cast(pa.large_string())
    missing = None
    if col.null_count:
        missing = np.asarray(col.is_null())
        if not allow_missing:
            check_mask(column, missing, "missing values")
        col = col.drop_null()
    codes, distinct = factorize_text(Utf8Text(col))
    return _checked(_with_missing(codes, missing), distinct, column)


def _dictionary_codes(col: Any, column: str, *, allow_missing: bool) -> tuple[Codes, TextTable]:
    """A dictionary-encoded column (pandas and polars categoricals): only the dictionary
    entries in use are hashed and checked; rows follow their entry."""
    import pyarrow as pa

    col = col.unify_dictionaries()
    dictionary = col.chunks[0].dictionary if col.num_chunks else pa.array([], pa.large_string())
    parts = [
        c.indices.cast(pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False) for c in col.chunks
    ]
    index = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
    entry_missing = np.append(np.asarray(dictionary.is_null()), True)  # index -1: a null row
    missing = entry_missing[index]
    if not allow_missing:
        check_mask(column, missing, "missing values")
    used = np.zeros(len(dictionary) + 1, dtype=bool)
    used[index] = True
    used &= ~entry_missing
    entries = np.flatnonzero(used)
    values = dictionary.take(entries)
    if is_arrow_string_view(values.type):
        values = values.cast(pa.large_string())
    entry_codes, distinct = factorize_text(Utf8Text(pa.chunked_array([values])))
    code_of_entry = np.full(used.size, -1, dtype=np.int32)
    code_of_entry[entries] = entry_codes
    return _checked(code_of_entry[index], distinct, column)


def _with_missing(codes: Codes, missing: npt.NDArray[np.bool_] | None) -> Codes:
    if missing is None:
        return codes
    out = np.full(missing.size, -1, dtype=np.int32)
    out[~missing] = codes
    return out


def _is_arrow(values: Any) -> bool:
    return type(values).__module__.partition(".")[0] == "pyarrow" and hasattr(values, "type")


def is_arrow_string_view(type_: Any) -> bool:
    """Whether a pyarrow type is ``string_view`` (polars' text type, exported as is)."""
    import pyarrow as pa

    return bool(pa.types.is_string_view(type_))


def is_arrow_text(type_: Any) -> bool:
    """Whether a pyarrow type holds text: ``string``, ``large_string`` or ``string_view``."""
    import pyarrow as pa

    return bool(
        pa.types.is_string(type_) or pa.types.is_large_string(type_)
        or is_arrow_string_view(type_)
    )  # fmt: skip


def _chunked(values: Any) -> Any:
    import pyarrow as pa

    return values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])


def release_arrow_memory() -> None:
    """Hand back to the system the memory pyarrow's allocator keeps for reuse (once a
    large text column it held has been coded, or a file's blocks read)."""
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()


def _module(name: str) -> Any:
    """An optional library, or ``None`` when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


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
    sorted_key = parallel_take(key, order)
    buckets = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))

    def sort_buckets(span: tuple[int, int]) -> None:
        for lo, hi in buckets[span[0] : span[1]]:
            if hi - lo > 1:
                part = np.argsort(sorted_key[lo:hi])
                order[lo:hi] = order[lo:hi][part]
                sorted_key[lo:hi] = sorted_key[lo:hi][part]

    parallel_map(sort_buckets, row_ranges(len(buckets)))
    return order, sorted_key


# Time bits a packed key of code, time and row must keep to be sorted by value (fewer,
# and rows an instant apart would tie too often).
_MIN_TIME_BITS = 8


class _Packed(NamedTuple):
    """63-bit keys, high to low: customer code, time offset from ``t0`` shifted right by
    ``shift`` (``time_bits`` of it), and (``row_bits``) the row number."""

    key: npt.NDArray[np.int64]
    t0: int
    shift: int
    time_bits: int
    row_bits: int


def _packed(
    codes: npt.NDArray[np.int32], at: npt.NDArray[np.int64], code_bits: int, row_bits: int
) -> _Packed:
    time_bits = 63 - code_bits - row_bits
    t0 = int(at.min())
    shift = max(0, (int(at.max()) - t0).bit_length() - time_bits)
    key = at - t0
    if shift:
        key >>= shift
    if row_bits:
        key <<= row_bits
    # the code (and row number) go in a block at a time: no whole-column temporaries
    step = 1 << 16
    for lo in range(0, codes.size, step):
        part = key[lo : lo + step]
        high = codes[lo : lo + step].astype(np.int64)
        high <<= time_bits + row_bits
        part |= high
        if row_bits:
            part |= np.arange(lo, lo + part.size, dtype=np.int64)
    return _Packed(key, t0, shift, time_bits, row_bits)


def _in_order(p: _Packed, at: npt.NDArray[np.int64]) -> bool:
    """Whether the rows are in (code, time, position) order already: their keys (distinct
    when they hold the row) never fall, and where truncated times tie, the times do not."""
    key = p.key
    if not bool((key[1:] >= key[:-1]).all()):
        return False
    if p.shift == 0:
        return True
    prefix = key >> p.row_bits if p.row_bits else key
    return bool(((at[1:] >= at[:-1]) | (prefix[1:] != prefix[:-1])).all())


def _order_ties(
    order: npt.NDArray[np.intp], prefix: npt.NDArray[np.int64], at: npt.NDArray[np.int64]
) -> None:
    """Put the rows of ``order`` whose sorted ``prefix`` (code and truncated time) ties in
    (time, position) order, by a ``lexsort`` of just those rows (in place)."""
    tie = prefix[1:] == prefix[:-1]
    if not tie.any():
        return
    pos, run = tied_runs(tie)
    rows = order[pos]
    order[pos] = rows[np.lexsort((rows, at[rows], run))]


def _sorted_times(p: _Packed, sorted_key: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The sorted times, from sorted keys holding the whole time offset (in place)."""
    if p.row_bits:
        sorted_key >>= p.row_bits
    sorted_key &= (1 << p.time_bits) - 1
    sorted_key += p.t0
    return sorted_key


def sort_rows(
    codes: npt.NDArray[np.int32], at: npt.NDArray[np.int64], n_codes: int
) -> tuple[
    npt.NDArray[np.intp] | None, npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.int64]
]:
    """Order rows by (customer code, time, original position).

    Returns the permutation (``None`` when the rows are in order already), the sorted
    codes and times, as new arrays, and where each code's rows start (``n_codes + 1``
    offsets).

    One sort of a packed 64-bit key (code in the high bits, time offset below it, and,
    where the bits allow, the row number in the low bits, so that a sort of values gives
    the order; otherwise `_argsort_by_buckets`) replaces a two-key ``lexsort`` that is six
    times slower. When the time range does not fit the
    bits left, time is truncated in the key and ties are finished with a ``lexsort`` over
    just the tied rows. Sorted codes need no gather: they are each code repeated as often
    as it occurs; nor do sorted times when the key holds them whole.
    """
    n = codes.size
    counts = np.bincount(codes, minlength=n_codes)
    sorted_codes = np.repeat(np.arange(n_codes, dtype=np.int32), counts)
    offsets = np.zeros(n_codes + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    if n < 2:
        return None, sorted_codes, at.copy(), offsets
    code_bits = max(1, (n_codes - 1).bit_length())
    row_bits = max(1, (n - 1).bit_length())
    if 63 - code_bits - row_bits < _MIN_TIME_BITS:
        row_bits = 0  # no room for the row number: argsort bucket by bucket
    p = _packed(codes, at, code_bits, row_bits)
    if _in_order(p, at):
        return None, sorted_codes, at.copy(), offsets
    if row_bits:
        # the sort of the values says where each came from in its low bits; rows tie only
        # on a truncated time
        sorted_key = p.key
        sorted_key.sort()
        order = sorted_key & ((1 << row_bits) - 1)
        if p.shift:
            sorted_key >>= row_bits
            _order_ties(order, sorted_key, at)
    else:
        order, sorted_key = _argsort_by_buckets(p.key, codes, n_codes)
        _order_ties(order, sorted_key, at)  # numpy's argsort is not stable
    if p.shift:
        return order, sorted_codes, parallel_take(at, order), offsets
    return order, sorted_codes, _sorted_times(p, sorted_key), offsets
