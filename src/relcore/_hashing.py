"""Stable 64-bit hashes of customer ids: the same in every process, batch and order.

Holdout and control groups must put a customer on the same side every time they are
asked, on any machine, whatever else is in the batch. Python's ``hash()`` is salted per
process (``PYTHONHASHSEED``) and so cannot be used. Here an id is hashed with the
splitmix64 finaliser (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number
generators"; constants as in Vigna's reference ``splitmix64.c``), a bijection of 64-bit
words with full avalanche, applied with numpy's wrapping ``uint64`` arithmetic:

* integer ids (any width, signed or not) are read as their 64-bit two's complement word
  ``x`` and hashed as ``mix(mix(x ^ seed) + GOLDEN)``;
* string ids are hashed from their Unicode code points, two per 64-bit word, taken
  explicitly (``cp[2j] | cp[2j + 1] << 32``) so the result does not depend on the
  platform's byte order, chained as ``h = mix(h ^ word)`` from ``h = seed`` and closed
  with ``mix(h ^ length + GOLDEN)``. Positions past a string's length are skipped, so the
  width of the array (``<U8`` or ``<U40``) does not change a string's hash.

``seed`` is the first 8 bytes (little-endian) of the BLAKE2b digest of the UTF-8 salt, so
any text can be a salt and different salts give unrelated assignments.

A hash is turned into a uniform number in ``[0, 1)`` with its top 53 bits, and a customer
is in a group of size ``fraction`` when that number is below ``fraction``. Groups are
therefore nested: with the same salt, everyone in a 5 % group is also in the 10 % group.

This module is private: [`relcore.measurement.assign_holdout`][relcore.measurement.assign_holdout]
is its public face, and the contact policy's global-control-group rule uses `in_fraction` directly.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import numpy.typing as npt

from ._validation import check_mask
from .errors import DataError

U64 = npt.NDArray[np.uint64]

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32, _S11 = (np.uint64(s) for s in (30, 27, 31, 32, 11))
_TWO_POW_53 = 2**53


def mix64(z: U64) -> U64:
    """The splitmix64 finaliser, element-wise (a new array; ``z`` is not modified).

    Examples
    --------
    The first output of a splitmix64 generator seeded with 1234567 is the finaliser
    applied to the state ``1234567 + GOLDEN`` (Rosetta Code, "Pseudo-random
    numbers/Splitmix64"):

    >>> import numpy as np
    >>> int(mix64(np.array([1234567], dtype=np.uint64) + GOLDEN)[0])
    6457827717110365317
    """
    out: U64 = np.array(z, dtype=np.uint64)  # two arrays in all, however long z is
    shifted = out >> _S30
    out ^= shifted
    out *= _M1
    np.right_shift(out, _S27, out=shifted)
    out ^= shifted
    out *= _M2
    np.right_shift(out, _S31, out=shifted)
    out ^= shifted
    return out


def salt_seed(salt: str) -> np.uint64:
    """The 64-bit seed of a salt: the first 8 bytes of BLAKE2b(salt), little-endian."""
    if not isinstance(salt, str):
        raise TypeError(f"salt must be a string, got {type(salt).__name__}")
    digest = hashlib.blake2b(salt.encode("utf-8"), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def _as_id_array(ids: Any, column: str) -> npt.NDArray[Any]:
    """Integer or ``'U'`` array of ids; anything that would need a silent conversion is refused."""
    if isinstance(ids, np.ndarray):
        arr = ids
    else:
        arr = np.asarray(ids)
        if arr.dtype.kind == "U":
            # numpy turns a list mixing 42 and "a" into the strings "42" and "a"; 42 and
            # "42" hash differently, so refuse the mix rather than convert silently.
            arr = np.asarray(ids, dtype=object)
    if arr.ndim != 1:
        arr = arr.reshape(-1) if arr.ndim == 0 else arr
        if arr.ndim != 1:
            raise DataError(column, f"must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind in "iuU":
        if arr.dtype.kind == "U":
            check_mask(column, np.char.str_len(arr) == 0, "empty ids")
        return arr
    if arr.dtype == object:
        values = arr.tolist()
        not_str = np.fromiter(
            (not isinstance(v, str) for v in values), dtype=bool, count=len(values)
        )
        check_mask(
            column, not_str, "ids that are not strings (integer and string ids cannot be mixed)"
        )
        out = arr.astype(str) if arr.size else np.zeros(0, dtype="U1")
        check_mask(column, np.char.str_len(out) == 0, "empty ids")
        return out
    raise DataError(column, f"ids must be integers or strings, got dtype {arr.dtype}")


def _hash_ints(arr: npt.NDArray[np.integer[Any]], seed: np.uint64) -> U64:
    x = arr.astype(np.int64, copy=False).view(np.uint64) if arr.dtype.kind == "i" else arr
    x = x.astype(np.uint64, copy=False)
    return mix64(mix64(x ^ seed) + GOLDEN)


def _hash_strings(arr: npt.NDArray[np.str_], seed: np.uint64) -> U64:
    n = arr.shape[0]
    width = arr.dtype.itemsize // 4
    h = np.full(n, seed, dtype=np.uint64)
    if n == 0:
        return h
    codepoints = np.ascontiguousarray(arr).view(np.uint32).reshape(n, width)
    length = np.char.str_len(arr).astype(np.int64)
    shortest = int(length.min())
    longest = int(length.max())
    for start in range(0, longest, 2):
        word = codepoints[:, start].astype(np.uint64)
        if start + 1 < width:
            word |= codepoints[:, start + 1].astype(np.uint64) << _S32
        step = mix64(h ^ word)
        # Only strings that reach this position take the step, so padding never counts.
        h = step if start < shortest else np.where(length > start, step, h)
    return mix64(h ^ (length.astype(np.uint64) + GOLDEN))


def hash_ids(ids: Any, salt: str, *, column: str = "customer_id") -> U64:
    """Stable 64-bit hashes of integer or string ids under ``salt`` (see module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> a = hash_ids(np.array(["c1", "c22", "c333"]), "spring-2026")
    >>> b = hash_ids(np.array(["c333", "c1"], dtype="<U40"), "spring-2026")
    >>> bool(a[2] == b[0]) and bool(a[0] == b[1])
    True
    """
    seed = salt_seed(salt)
    arr = _as_id_array(ids, column)
    if arr.dtype.kind == "U":
        return _hash_strings(arr, seed)
    return _hash_ints(arr, seed)


def unit_interval(hashes: U64) -> npt.NDArray[np.float64]:
    """Hashes as uniform numbers in ``[0, 1)``: the top 53 bits over ``2**53``."""
    return (hashes >> _S11).astype(np.float64) / _TWO_POW_53


def in_fraction(
    ids: Any, fraction: float, salt: str, *, column: str = "customer_id"
) -> npt.NDArray[np.bool_]:
    """True for the ids whose hash under ``salt`` falls in the lowest ``fraction`` of the range.

    The comparison is on the top 53 bits of the hash against ``round(fraction * 2**53)``,
    exactly, so the answer is the same on every platform.

    Examples
    --------
    >>> import numpy as np
    >>> ids = np.arange(100_000)
    >>> small, large = in_fraction(ids, 0.05, "s"), in_fraction(ids, 0.10, "s")
    >>> bool((large | ~small).all())  # nested: the 5 % group lies inside the 10 % group
    True
    """
    fraction = float(fraction)
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    threshold = np.uint64(round(fraction * _TWO_POW_53))
    out: npt.NDArray[np.bool_] = (hash_ids(ids, salt, column=column) >> _S11) < threshold
    return out
