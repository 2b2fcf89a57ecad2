"""Factorisation: dense codes for a column and the sorted table of its distinct values.

Integers are factorised by value (a dense range in O(n), otherwise one integer sort).

``np.unique`` over millions of strings sorts them, comparing fixed-width unicode character
by character; that made string and UUID ids five times slower than integer ones. Instead,
text whose values have one width (numpy's padded ``U`` arrays; UTF-8 values of equal
length) and span few enough values position by position becomes an integer key that sorts
as the text does (`_radix_key`): formatted ids such as ``"cust-000123"`` are then coded
like integers. Other text (UUIDs, free-form names) is factorised by hashing:

1. every value is hashed to 64 bits, a chunk of rows at a time so that the chunk's bytes
   stay in cache across the vectorised passes (one per 8-byte word of the longest value);
2. rows are grouped by sorting the hashes, which are integers;
3. every row is compared with the first row of its group, so that a hash collision can
   never merge two different values: the few rows that differ are grouped again by
   sorting them;
4. only the distinct values are sorted, to give the table its order, and the codes follow.

Text arrives as a numpy ``U`` array (UCS-4, fixed width, padded with NUL code points) or as
pyarrow string arrays (UTF-8 behind an offsets buffer), which are read in place. The
two sort alike: UTF-8 byte order is code point order.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ._hashing import mix64
from ._threads import parallel_map, row_ranges

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Codes = npt.NDArray[np.int32]
# Blocks (first row, rows x positions matrix of code units), a list of them per thread.
UnitBlocks = list[list[tuple[int, npt.NDArray[Any]]]]

# Rows hashed at a time: 2**14 rows of a few words stay in the L2 cache across the passes.
_HASH_ROWS = 1 << 14
# Rows compared with their group's first row at a time, when pyarrow compares them.
_CHECK_ROWS = 1 << 18
# Values up to this long are compared as words; longer ones by pyarrow (a table of the
# first rows as words would be as wide as the longest value).
_WORDS_COMPARED_BYTES = 64
# A block of code units is transposed to (position, row) in cache, this many rows at once.
_RADIX_ROWS = 1 << 14
_SEED = np.uint64(0x9E3779B97F4A7C15)
_MULTIPLIER = np.uint64(0xBF58476D1CE4E5B9)
_SHIFT = np.uint64(32)


def factorize_int(keys: I64) -> tuple[Codes, I64]:
    """Codes of int64 keys by ascending value, and the distinct keys in order.

    Dense ranges take an O(n) path; otherwise the keys are grouped by hashing (see
    `factorize_text`) and only the distinct ones sorted, where ``np.unique(return_inverse=True)``
    would sort every row.

    Examples
    --------
    >>> import numpy as np
    >>> codes, uniques = factorize_int(np.array([7, 3, 7, -2]))
    >>> codes.tolist(), uniques.tolist()
    ([2, 1, 2, 0], [-2, 3, 7])
    """
    n = keys.size
    lo, hi = int(keys.min()), int(keys.max())
    dense = 4 * n + 1024
    if hi - lo <= dense:
        base = 0 if lo >= 0 and hi <= dense else lo  # keys index the table as they are
        index = keys - base if base else keys
        present = np.zeros(hi - base + 1, dtype=bool)
        present[index] = True
        rank = np.cumsum(present, dtype=np.int32)
        rank -= 1
        return rank[index], np.flatnonzero(present).astype(np.int64) + base
    # Sparse keys are grouped by hash as text is (an integer sort several times faster
    # than an argsort of the keys), and only the distinct keys are sorted.
    groups, rows = _group_by_hash(mix64(keys.view(np.uint64)))
    bad = np.flatnonzero(keys[rows][groups] != keys)
    if bad.size:
        groups, rows = _split(keys[bad], groups, rows, bad)
    distinct = keys[rows]
    order = np.argsort(distinct)
    return _ranked(groups, order), distinct[order]


def _chain(h: U64, words: U64, n_words: I64 | None) -> None:
    """Fold each row's 8-byte words into its hash ``h``, in place.

    A row takes only its own words (``n_words``, when rows differ in length), so a value
    hashes alike in every chunk, whatever the longest value next to it.
    """
    shortest = words.shape[1] if n_words is None else int(n_words.min())
    for j in range(words.shape[1]):
        word = words[:, j]
        if j < shortest:
            h ^= word
            h *= _MULTIPLIER
            h ^= h >> _SHIFT
        else:
            live = n_words > j  # type: ignore[operator]
            part = h[live] ^ word[live]
            part *= _MULTIPLIER
            part ^= part >> _SHIFT
            h[live] = part


class UnicodeText:
    """Text held in a numpy ``U`` array.

    Values never end in a NUL code point (numpy drops those), so two values are equal
    exactly when their padded code points are, and no length needs hashing. Code points
    are hashed in the narrowest unit that holds every one of them (a byte for ASCII and
    Latin-1 text), so a UUID is 5 words rather than 18.

    `take` only notes the rows taken: the distinct values' words are read from the
    source rows a block at a time, and their table is gathered once, in its final order.
    """

    unit_dtype = np.uint32  # of the units `unit_blocks` gives and `holding` takes

    def __init__(
        self, values: npt.NDArray[np.str_], unit: int = 1, rows: I64 | None = None
    ) -> None:
        self._source = np.ascontiguousarray(values)
        self._rows = rows  # the rows of the source this text holds; None: all, in order
        self.width = self._source.dtype.itemsize // 4
        self._unit = unit  # bytes per code point in the words hashed and compared
        self._words: U64 | None = None

    def __len__(self) -> int:
        return int((self._source if self._rows is None else self._rows).shape[0])

    @property
    def values(self) -> npt.NDArray[np.str_]:
        if self._rows is not None:  # gathered when first needed
            self._source, self._rows = self._source[self._rows], None
        return self._source

    def points(self) -> npt.NDArray[np.uint32]:
        return _points_of(self.values)

    def hashes(self) -> U64:
        n = len(self)
        out = np.full(n, _SEED, dtype=np.uint64)
        if self.width == 0 or n == 0:
            return out
        points = self.points()

        def hash_rows(bounds: tuple[int, int]) -> int:
            """Hash rows ``lo..hi`` in the current unit; a wider unit if one is needed."""
            words = _word_block(self.width, self._unit)
            for lo in range(*bounds, _HASH_ROWS):
                block = points[lo : min(lo + _HASH_ROWS, bounds[1])]
                unit = _unit(int(block.max()))
                if unit > self._unit:
                    return unit
                h = out[lo : lo + block.shape[0]]
                _chain(h, _unicode_words(block, self._unit, words), None)
                h[:] = mix64(h)
            return self._unit

        ranges = row_ranges(n, align=_HASH_ROWS)
        while (unit := max(parallel_map(hash_rows, ranges))) > self._unit:
            # a wider code point: start again, every row in that unit
            self._unit = unit
            out[:] = _SEED
        return out

    def take(self, rows: npt.NDArray[np.integer[Any]]) -> UnicodeText:
        return UnicodeText(self._source, self._unit, _of_source(self._rows, rows))

    def words(self) -> U64:
        """Each row's code points in the text's unit (which must hold every one, as
        `hashes` makes sure), zero-padded to whole 8-byte words; kept, as the distinct
        values' words are compared with every row and then sorted."""
        if self._words is None:
            blocks = []
            for lo in range(0, len(self), _HASH_ROWS):
                rows = (
                    slice(lo, lo + _HASH_ROWS)
                    if self._rows is None
                    else self._rows[lo : lo + _HASH_ROWS]
                )
                blocks.append(_unicode_words(_points_of(self._source[rows]), self._unit))
            self._words = np.concatenate(blocks) if blocks else np.zeros((0, 0), np.uint64)
        return self._words

    def mismatches(self, groups: Codes, first: UnicodeText) -> npt.NDArray[np.bool_]:
        """Rows that differ from ``first[groups[row]]``, the first row of their group
        (``first`` holds words in this text's unit)."""
        n = len(self)
        if self.width == 0:
            return np.zeros(n, dtype=bool)
        points = self.points()
        first_words = first.words()

        def compare(bounds: tuple[int, int]) -> npt.NDArray[np.bool_]:
            parts = []
            block = _word_block(self.width, self._unit)
            for lo in range(*bounds, _HASH_ROWS):
                hi = min(lo + _HASH_ROWS, bounds[1])
                words = _unicode_words(points[lo:hi], self._unit, block)
                parts.append(_differ(words, np.take(first_words, groups[lo:hi], axis=0)))
            return np.concatenate(parts)

        return np.concatenate(parallel_map(compare, row_ranges(n, align=_HASH_ROWS)))

    def unicode(self) -> npt.NDArray[np.str_]:
        return self.values

    def exact(self) -> npt.NDArray[Any]:
        """The values, each kept apart from every other (to sort a few of them)."""
        return self.values

    def holding(self, units: npt.NDArray[np.uint32]) -> UnicodeText:
        """Text of the rows of a matrix of code points (as `unit_blocks` gives them)."""
        return UnicodeText(units.view(f"U{units.shape[1]}").reshape(units.shape[0]))

    def unit_blocks(self) -> UnitBlocks | None:
        """The code points (padded with 0) in row blocks, per thread (see `_radix_key`)."""
        if self.width == 0:
            return None
        points = self.points()
        return [
            [(lo, points[lo : min(lo + _RADIX_ROWS, hi)]) for lo in range(start, hi, _RADIX_ROWS)]
            for start, hi in row_ranges(len(self), align=_RADIX_ROWS)
        ]

    def order(self) -> I64:
        """The permutation that sorts the values (by code point)."""
        if self.width == 0:
            return np.arange(len(self), dtype=np.int64)
        units = self.words().view(f"=u{self._unit}")
        if self._unit > 1:
            units = units.astype(f">u{self._unit}")
        # units big-endian: words read big-endian compare as the text does
        return _order_of_words(units.view(">u8"), None)


def _of_source(held: I64 | None, rows: npt.NDArray[np.integer[Any]]) -> I64:
    """The source rows behind ``rows`` of a text that holds the source rows ``held``
    (``None``: all of them, in order): a take notes rows, and gathers nothing."""
    taken: I64 = np.asarray(rows, dtype=np.int64)
    return taken if held is None else held[taken]


def _points_of(values: npt.NDArray[np.str_]) -> npt.NDArray[np.uint32]:
    """A contiguous ``U`` array's code points, a row per value."""
    return values.view(np.uint32).reshape(values.shape[0], values.dtype.itemsize // 4)


def _unit(largest_code_point: int) -> int:
    return 1 if largest_code_point < 1 << 8 else 2 if largest_code_point < 1 << 16 else 4


def _unicode_words(
    points: npt.NDArray[np.uint32], unit: int, block: npt.NDArray[Any] | None = None
) -> U64:
    """Code points ``unit`` bytes each, zero-padded into whole 8-byte words per row.

    ``block`` (from `_word_block`, reused from one call to the next) receives them: a
    wide text array is read at memory speed, and narrowing it into a fresh array each
    time would cost as much again.
    """
    rows, width = points.shape
    if points.dtype.itemsize == unit and width % (8 // unit) == 0:
        return np.ascontiguousarray(points).view(np.uint64)
    out = (_word_block(width, unit, rows) if block is None else block)[:rows]
    out[:, :width] = points  # the padding columns stay zero
    return out.view(np.uint64)


def _word_block(width: int, unit: int, rows: int = _HASH_ROWS) -> npt.NDArray[Any]:
    """Zeros for ``rows`` rows of ``width`` code points, ``unit`` bytes each, padded to
    whole 8-byte words."""
    per_word = 8 // unit
    return np.zeros((rows, -(-width // per_word) * per_word), dtype=f"u{unit}")


def _differ(words: U64, expected: U64) -> npt.NDArray[np.bool_]:
    """Rows of two word matrices that differ in any word."""
    if words.shape[1] == 0:
        return np.zeros(words.shape[0], dtype=bool)
    acc = words[:, 0] ^ expected[:, 0]
    for j in range(1, words.shape[1]):
        acc |= words[:, j] ^ expected[:, j]
    out: npt.NDArray[np.bool_] = acc != 0
    return out


class Utf8Text:
    """Text held in pyarrow ``string`` or ``large_string`` arrays without nulls, read in
    place through their offsets and data buffers.

    `take` gathers values of up to `_WORDS_COMPARED_BYTES` bytes into `Utf8Rows`
    (zero-padded words, compared and sorted as they are); longer ones stay in pyarrow.
    """

    unit_dtype = np.uint8  # of the units `unit_blocks` gives and `holding` takes

    def __init__(self, column: Any) -> None:
        self.column = column  # a ChunkedArray
        self.chunks = [c for c in column.chunks if len(c)]

    def __len__(self) -> int:
        return len(self.column)

    def lengths(self) -> I64:
        """Length of each value in bytes."""
        parts = [np.diff(_buffers(c)[0]) for c in self.chunks]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def last_bytes(self) -> npt.NDArray[np.uint8]:
        """The last byte of each value (0 for an empty one)."""
        parts = []
        for chunk in self.chunks:
            offsets, data = _buffers(chunk)
            ends = offsets[1:]
            last = np.zeros(ends.size, dtype=np.uint8)
            full = ends > offsets[:-1]
            last[full] = data[ends[full] - 1]
            parts.append(last)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)

    def holding(self, units: npt.NDArray[np.uint8]) -> Utf8Rows:
        """Text of the rows of a matrix of bytes (as `unit_blocks` gives them)."""
        rows, width = units.shape
        padded = np.zeros((rows, -(-width // 8) * 8), dtype=np.uint8)
        padded[:, :width] = units
        return Utf8Rows(padded, np.full(rows, width, dtype=np.int64))

    def unit_blocks(self) -> UnitBlocks | None:
        """The bytes in row blocks, per thread (see `_radix_key`), when every value is
        as long as every other (formatted ids); ``None`` otherwise."""
        width = -1
        tasks = []
        for at, offsets, data, lo, hi in self._pieces():
            for start in range(lo, hi, _RADIX_ROWS):
                lengths = np.diff(offsets[start : min(start + _RADIX_ROWS, hi) + 1])
                width = int(lengths[0]) if width < 0 else width
                if width == 0 or int(lengths.min()) != width or int(lengths.max()) != width:
                    return None
            begin = int(offsets[lo])
            units = data[begin : begin + (hi - lo) * width].reshape(hi - lo, width)
            tasks.append(
                [(at + r, units[r - lo : r - lo + _RADIX_ROWS]) for r in range(lo, hi, _RADIX_ROWS)]
            )
        return tasks

    def _pieces(self) -> list[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.uint8], int, int]]:
        """Row ranges to work on in parallel: (first row of the chunk, its offsets and
        data buffers, and the range within the chunk)."""
        pieces = []
        at = 0
        for chunk in self.chunks:
            offsets, data = _buffers(chunk)
            pieces += [
                (at, offsets, data, lo, hi) for lo, hi in row_ranges(len(chunk), align=_HASH_ROWS)
            ]
            at += len(chunk)
        return pieces

    def hashes(self) -> U64:
        out = np.empty(len(self), dtype=np.uint64)

        def hash_rows(piece: tuple[int, I64, npt.NDArray[np.uint8], int, int]) -> None:
            at, offsets, data, start, stop = piece
            block = _ByteBlock()
            for lo in range(start, stop, _HASH_ROWS):
                o = offsets[lo : min(lo + _HASH_ROWS, stop) + 1]
                lengths = np.diff(o)
                words, n_words = block.words(data, o, lengths)
                h = np.full(lengths.size, _SEED, dtype=np.uint64)
                _chain(h, words, n_words)
                # Values are zero-padded to whole words: "a" and "a\0" differ in length only.
                h ^= lengths.astype(np.uint64)
                out[at + lo : at + lo + lengths.size] = mix64(h)

        parallel_map(hash_rows, self._pieces())
        return out

    def take(self, rows: npt.NDArray[np.integer[Any]]) -> Utf8Rows | Utf8Text:
        """The values of ``rows``: zero-padded bytes (`Utf8Rows`) when none is longer
        than `_WORDS_COMPARED_BYTES`, else one pyarrow chunk.

        Read in row order, chunk by chunk (each chunk's rows a range of the sorted rows),
        so that the reads go forward through the buffers; pyarrow's ``take`` on a
        chunked column would first join the chunks into one copy of the whole column.
        """
        taken: I64 = np.asarray(rows, dtype=np.int64)
        order = _sorting(taken)
        wanted = taken[order]
        starts = np.cumsum([0, *(len(c) for c in self.chunks)])
        bounds = np.searchsorted(wanted, starts)
        begin = np.empty(wanted.size, dtype=np.int64)
        lengths = np.empty(wanted.size, dtype=np.int64)
        for i, chunk in enumerate(self.chunks):
            offsets, _ = _buffers(chunk)
            local = wanted[bounds[i] : bounds[i + 1]] - starts[i]
            begin[bounds[i] : bounds[i + 1]] = offsets[local]
            lengths[bounds[i] : bounds[i + 1]] = offsets[local + 1] - offsets[local]
        longest = int(lengths.max()) if lengths.size else 0
        if longest > _WORDS_COMPARED_BYTES:
            return self._take_by_pyarrow(taken)
        padded = np.empty((wanted.size, -(-longest // 8) * 8), dtype=np.uint8)
        for i, chunk in enumerate(self.chunks):
            span = slice(bounds[i], bounds[i + 1])
            _gather_bytes(_buffers(chunk)[1], begin[span], lengths[span], padded[span])
        out_padded = np.empty_like(padded)
        out_padded[order] = padded
        out_lengths = np.empty_like(lengths)
        out_lengths[order] = lengths
        return Utf8Rows(out_padded, out_lengths)

    def _take_by_pyarrow(self, rows: I64) -> Utf8Text:
        import pyarrow as pa

        starts = np.cumsum([0, *(len(c) for c in self.chunks)])
        which = np.searchsorted(starts, rows, side="right") - 1
        order = np.argsort(which, kind="stable")
        bounds = np.searchsorted(which[order], np.arange(len(self.chunks) + 1))
        pieces = [
            chunk.take(rows[order[bounds[i] : bounds[i + 1]]] - starts[i])
            for i, chunk in enumerate(self.chunks)
            if bounds[i + 1] > bounds[i]
        ]
        joined = pa.concat_arrays(pieces) if pieces else pa.array([], self.column.type)
        back = np.empty_like(order)
        back[order] = np.arange(order.size)
        return Utf8Text(pa.chunked_array([joined.take(back)]))

    def mismatches(self, groups: Codes, first: Utf8Rows | Utf8Text) -> npt.NDArray[np.bool_]:
        """Rows that differ from ``first[groups[row]]``, the first row of their group."""
        if isinstance(first, Utf8Text):  # values too long to compare as words
            return self._mismatches_by_pyarrow(groups, first)
        first_lengths = first.lengths()
        first_words = first.words()
        width = first_words.shape[1]

        def compare(
            piece: tuple[int, I64, npt.NDArray[np.uint8], int, int],
        ) -> npt.NDArray[np.bool_]:
            at, offsets, data, start, stop = piece
            parts = []
            block = _ByteBlock()
            for lo in range(start, stop, _HASH_ROWS):
                o = offsets[lo : min(lo + _HASH_ROWS, stop) + 1]
                lengths = np.diff(o)
                words, _ = block.words(data, o, lengths)
                g = groups[at + lo : at + lo + lengths.size]
                expected = np.take(first_words, g, axis=0)
                # a row longer than every first row differs from its own in length
                m = min(words.shape[1], width)
                parts.append(_differ(words[:, :m], expected[:, :m]) | (lengths != first_lengths[g]))
            return np.concatenate(parts)

        parts = parallel_map(compare, self._pieces())
        return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)

    def _mismatches_by_pyarrow(self, groups: Codes, first: Utf8Text) -> npt.NDArray[np.bool_]:
        import pyarrow.compute as pc

        bad = np.zeros(len(self), dtype=bool)
        for lo in range(0, len(self), _CHECK_ROWS):
            part = self.column.slice(lo, _CHECK_ROWS)
            expected = first.column.take(groups[lo : lo + len(part)])
            same = pc.equal(part, expected).to_numpy(zero_copy_only=False)
            bad[lo : lo + len(part)] = ~same
        return bad

    def order(self) -> I64:
        """The permutation that sorts the values (by code point: UTF-8 bytes sort so)."""
        return np.argsort(self.unicode()).astype(np.int64)

    def exact(self) -> npt.NDArray[Any]:
        """The values as Python strings (a ``U`` array would drop a trailing NUL, and
        ``"a\\0"`` must stay apart from ``"a"`` until it is refused)."""
        return np.array(self.column.to_pylist(), dtype=object)

    def unicode(self) -> npt.NDArray[np.str_]:
        """The values as a numpy ``U`` array (meant for a table of distinct values)."""
        out: npt.NDArray[np.str_] = (
            self.column.combine_chunks().to_numpy(zero_copy_only=False).astype(str)
        )
        return out


class Utf8Rows:
    """A few values of UTF-8 text (a column's distinct values), each zero-padded into
    whole 8-byte words: compared with every row as words, sorted by them, and tabled.

    `take` only notes the rows taken; the table is widened from them a block at a time.
    """

    def __init__(self, padded: npt.NDArray[np.uint8], lengths: I64, rows: I64 | None = None):
        self._source = padded  # source rows x (8 x words)
        self._source_lengths = lengths
        self._rows = rows  # the source rows this text holds; None: all, in order

    def __len__(self) -> int:
        return int((self._source_lengths if self._rows is None else self._rows).size)

    @property
    def padded(self) -> npt.NDArray[np.uint8]:
        if self._rows is not None:  # gathered when first needed
            self._source, self._source_lengths = self._source[self._rows], self.lengths()
            self._rows = None
        return self._source

    def lengths(self) -> I64:
        lengths = self._source_lengths
        return lengths if self._rows is None else lengths[self._rows]

    def last_bytes(self) -> npt.NDArray[np.uint8]:
        """The last byte of each value (0 for an empty one)."""
        lengths = self._source_lengths
        last = np.zeros(lengths.size, dtype=np.uint8)
        full = np.flatnonzero(lengths)
        last[full] = self._source[full, lengths[full] - 1]
        return last if self._rows is None else last[self._rows]

    def words(self) -> U64:
        return self.padded.view(np.uint64)

    def take(self, rows: npt.NDArray[np.integer[Any]]) -> Utf8Rows:
        return Utf8Rows(self._source, self._source_lengths, _of_source(self._rows, rows))

    def order(self) -> I64:
        """The permutation that sorts the values (by code point: UTF-8 bytes sort so)."""
        return _order_of_words(self.words().view(">u8"), self.lengths())

    def exact(self) -> npt.NDArray[Any]:
        """The values as Python strings."""
        pairs = zip(self.padded, self.lengths().tolist(), strict=True)
        return np.array([bytes(row[:n]).decode() for row, n in pairs], dtype=object)

    def unicode(self) -> npt.NDArray[np.str_]:
        """The values as a numpy ``U`` array (trailing NULs dropped, as numpy drops them)."""
        lengths = self.lengths()
        width = max(1, int(lengths.max()) if lengths.size else 0)
        source = self._source[:, : min(width, self._source.shape[1])]
        if source.size and int(source.max()) >= 128:  # UTF-8 beyond ASCII: pyarrow decodes
            import pyarrow as pa

            padded = self.padded
            mask = np.arange(padded.shape[1]) < lengths[:, None]
            offsets = np.concatenate(([0], np.cumsum(lengths)))
            buffers = [None, pa.py_buffer(offsets), pa.py_buffer(padded[mask])]
            array = pa.Array.from_buffers(pa.large_string(), len(self), buffers)
            out: npt.NDArray[np.str_] = array.to_numpy(zero_copy_only=False).astype(str)
            return out
        # ASCII: each byte is its code point, widened block by block
        points = np.zeros((len(self), width), dtype=np.uint32)
        for lo in range(0, len(self), _HASH_ROWS):
            rows = (
                slice(lo, lo + _HASH_ROWS)
                if self._rows is None
                else self._rows[lo : lo + _HASH_ROWS]
            )
            points[lo : lo + _HASH_ROWS, : source.shape[1]] = source[rows]
        table: npt.NDArray[np.str_] = points.view(f"U{width}").reshape(len(self))
        return table


def _buffers(chunk: Any) -> tuple[I64, npt.NDArray[np.uint8]]:
    """Offsets (int64, one more than rows) and data bytes of a string array chunk."""
    import pyarrow as pa

    _, offsets_buf, data_buf = chunk.buffers()[:3]
    dtype = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=dtype)[chunk.offset : chunk.offset + len(chunk) + 1]
    data = (
        np.zeros(0, dtype=np.uint8) if data_buf is None else np.frombuffer(data_buf, dtype=np.uint8)
    )
    return offsets.astype(np.int64, copy=False), data


def _gather_bytes(
    data: npt.NDArray[np.uint8], begin: I64, lengths: I64, out: npt.NDArray[np.uint8]
) -> None:
    """Write the values at ``begin`` (``lengths`` bytes each) of a data buffer into the
    rows of ``out``, zero-padded.

    The buffer is read as overlapping windows as long as the longest value, so that
    each row is one copy of contiguous bytes; bytes past a value's end are zeroed.
    """
    longest = int(lengths.max()) if begin.size else 0
    out[:, longest:] = 0
    if longest == 0:
        return
    starts = max(0, data.size - longest + 1)  # windows that end inside the buffer
    windows = np.ndarray((starts,), dtype=f"V{longest}", buffer=data, strides=(1,))
    inside = begin < starts
    out[inside, :longest] = windows[begin[inside]].view(np.uint8).reshape(-1, longest)
    for i in np.flatnonzero(~inside).tolist():  # the few values near the buffer's end
        out[i, : lengths[i]] = data[begin[i] : begin[i] + lengths[i]]
    if int(lengths.min()) < longest:
        out[np.arange(out.shape[1]) >= lengths[:, None]] = 0


class _ByteBlock:
    """A zeroed buffer, reused from one block of rows to the next, into which a block's
    bytes are laid out as zero-padded 8-byte words (a fresh array per block would cost
    as much again as the work)."""

    def __init__(self) -> None:
        self._buffer = np.zeros((0, 0), dtype=np.uint8)

    def words(
        self, data: npt.NDArray[np.uint8], offsets: I64, lengths: I64
    ) -> tuple[U64, I64 | None]:
        """The rows' bytes zero-padded into whole 8-byte words, and each row's word count
        (``None`` when every row has the same length)."""
        n = lengths.size
        longest = int(lengths.max()) if n else 0
        width = -(-longest // 8) * 8
        if n > self._buffer.shape[0] or width > self._buffer.shape[1]:
            self._buffer = np.zeros((max(n, _HASH_ROWS), width), dtype=np.uint8)
        block = self._buffer[:n, :width]
        start, stop = int(offsets[0]), int(offsets[-1])
        if n and int(lengths.min()) == longest:
            block[:, :longest] = data[start:stop].reshape(n, longest)
            block[:, longest:] = 0
            return block.view(np.uint64), None
        block[...] = 0
        row = np.repeat(np.arange(n), lengths)
        col = np.arange(stop - start) - np.repeat(offsets[:-1] - start, lengths)
        block[row, col] = data[start:stop]
        return block.view(np.uint64), (lengths + 7) // 8


Text = UnicodeText | Utf8Text
# The distinct values of text, as `factorize_text` gives them.
Values = UnicodeText | Utf8Text | Utf8Rows


def factorize_text(text: Text) -> tuple[Codes, Values]:
    """Dense codes of ``text`` and its distinct values in sorted order: a `UnicodeText`
    for numpy text, `Utf8Rows` for Arrow text (a `Utf8Text` when some value is longer
    than `_WORDS_COMPARED_BYTES`).

    Examples
    --------
    >>> import numpy as np
    >>> codes, distinct = factorize_text(UnicodeText(np.array(["b", "a", "b", "c"])))
    >>> codes.tolist(), distinct.unicode().tolist()
    ([1, 0, 1, 2], ['a', 'b', 'c'])
    """
    n = len(text)
    if n == 0:
        return np.zeros(0, dtype=np.int32), UnicodeText(np.zeros(0, dtype="U1"))
    blocks = text.unit_blocks()
    radix = None if blocks is None else _radix_key(blocks, n)
    if radix is not None:
        codes, keys = factorize_int(radix.key)
        return codes, text.holding(radix.units(keys, text.unit_dtype))
    groups, rows = _group_by_hash(text.hashes())
    distinct: Any = text.take(rows)
    bad = text.mismatches(groups, distinct)
    if bad.any():
        bad_rows = np.flatnonzero(bad)
        groups, rows = _split(text.take(bad_rows).exact(), groups, rows, bad_rows)
        distinct = text.take(rows)
    order = distinct.order()
    return _ranked(groups, order), distinct.take(order)


def _sorting(rows: I64) -> I64:
    """``np.argsort(rows)`` for distinct row numbers, by one sort of plain integers: the
    index of each row in its low bits."""
    bits = max(1, (rows.size - 1).bit_length())
    key = rows << bits
    key |= np.arange(rows.size, dtype=np.int64)
    key.sort()
    key &= (1 << bits) - 1
    return key


def _ranked(groups: Codes, order: npt.NDArray[np.integer[Any]]) -> Codes:
    """Each row's code: the rank of its group's value, ``order`` sorting the groups."""
    rank = np.empty(order.size, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    out: Codes = rank[groups]
    return out


def _order_of_words(words: Any, lengths: I64 | None) -> I64:
    """The permutation sorting rows of big-endian words (then ``lengths``) in order.

    The leading bytes every row shares (the ``"customer-"`` of ``"customer-4f1c…"``)
    order nothing and are dropped; what is left is sorted by its first word, then, only
    among rows still tied, by the next. Distinct ids rarely share their next eight bytes,
    so this is mostly one integer sort rather than a sort of strings.
    """
    n = words.shape[0]
    keys: list[Any] = _unshared_words(
        [words[:, j].astype(np.uint64) for j in range(words.shape[1])]
    )
    if lengths is not None:
        keys.append(lengths)
    # a key every row shares orders nothing
    keys = [k for k in keys if n and k.min() != k.max()]
    if n < 2 or not keys:
        return np.arange(n, dtype=np.int64)
    order = np.argsort(keys[0])
    first = keys[0][order]
    tie = first[1:] == first[:-1]
    for key in keys[1:]:
        if not tie.any():
            break
        pos, run = tied_runs(tie)
        rows = order[pos]
        order[pos] = rows[np.lexsort((key[rows], run))]
        ordered = key[order]
        tie &= ordered[1:] == ordered[:-1]
    return order.astype(np.int64, copy=False)


def tied_runs(tie: npt.NDArray[np.bool_]) -> tuple[I64, I64]:
    """The positions in runs of ties of a sorted sequence (``tie[i]``: positions ``i``
    and ``i+1`` tie) and the number of each one's run, rising along the sequence, so
    that a ``lexsort`` whose last key is the run orders rows only within their run."""
    in_run = np.zeros(tie.size + 1, dtype=bool)
    in_run[:-1] |= tie
    in_run[1:] |= tie
    pos = np.flatnonzero(in_run)
    run: I64 = np.cumsum(~np.concatenate(([False], tie)))[pos]
    return pos, run


def _unshared_words(words: list[U64]) -> list[U64]:
    """Columns of words (each a big-endian read of 8 bytes), with the leading bytes that
    every row shares dropped and the rest shifted up to fill whole words again."""
    differ = 0
    while words and not (differ := _differing_bits(words[0])):
        words = words[1:]  # a word every row shares
    shift = (64 - differ.bit_length()) // 8 * 8  # bits of the shared bytes in words[0]
    if not words or shift == 0:
        return words
    up, down = np.uint64(shift), np.uint64(64 - shift)
    shifted = []
    for word, following in zip(words, [*words[1:], None], strict=True):
        w = word << up
        if following is not None:
            w |= following >> down
        shifted.append(w)
    return shifted


def _differing_bits(word: U64) -> int:
    """The bits in which some row's word differs from the first row's."""
    return int(np.bitwise_or.reduce(word ^ word[0])) if word.size else 0


def _group_by_hash(hashes: U64) -> tuple[Codes, I64]:
    """Group rows by the high bits of their hash; per group, its first row.

    The row index fills the low bits of each hash, so one ``np.sort`` of plain integers
    (several times faster than an ``argsort``) both groups the rows and says where each
    came from. Two values whose hashes share the high bits land in one group; comparing
    every row with its group's first row (`mismatches`) finds them. ``hashes`` is used up
    (sorted in place, then turned into row numbers); the passes after the sort go a
    block of rows at a time, so that their temporaries stay in cache.
    """
    n = hashes.size
    bits = max(1, (n - 1).bit_length())
    low = np.uint64((1 << bits) - 1)
    key = hashes
    key &= ~low
    for lo in range(0, n, _HASH_ROWS):
        key[lo : lo + _HASH_ROWS] |= np.arange(lo, min(lo + _HASH_ROWS, n), dtype=np.uint64)
    key.sort()
    new = np.empty(n, dtype=bool)
    new[0] = True
    for lo in range(1, n, _HASH_ROWS):
        hi = min(lo + _HASH_ROWS, n)
        np.greater(key[lo:hi] ^ key[lo - 1 : hi - 1], low, out=new[lo:hi])
    key &= low
    rows = key.view(np.int64)  # the row numbers: below 2**63
    groups = np.empty(n, dtype=np.int32)
    base = np.int32(-1)
    for lo in range(0, n, _HASH_ROWS):
        number = np.cumsum(new[lo : lo + _HASH_ROWS], dtype=np.int32)
        number += base
        groups[rows[lo : lo + _HASH_ROWS]] = number
        base = number[-1]
    return groups, rows[new]


def _split(values: npt.NDArray[Any], groups: Codes, rows: I64, bad: I64) -> tuple[Codes, I64]:
    """New groups for the rows ``bad`` (holding ``values``) that differ from their group's
    first row.

    Equal values hash alike, so every copy of a value that differs from its group's first
    row is among ``bad``: sorting just those rows groups them exactly.
    """
    _, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    groups = groups.copy()
    groups[bad] = rows.size + inverse.reshape(-1)
    return groups, np.concatenate([rows, bad[first]])


# ---------------------------------------------------------------------------- radix keys


class _Radix(NamedTuple):
    """Radix keys of text (see `_radix_key`): per position, the least unit and the radix."""

    key: I64
    lo: I64
    radix: I64

    def units(self, keys: I64, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
        """The code units (rows x positions) of the values whose keys are ``keys``."""
        units = np.empty((keys.size, self.lo.size), dtype=dtype)
        units[:] = self.lo
        rest, quotient, digit = keys.copy(), np.empty_like(keys), np.empty_like(keys)
        for j in reversed(np.flatnonzero(self.radix > 1).tolist()):
            base = int(self.radix[j])
            np.floor_divide(rest, base, out=quotient)  # by a constant: vectorised
            np.multiply(quotient, base, out=digit)
            np.subtract(rest, digit, out=digit)
            units[:, j] += digit.astype(units.dtype)
            rest, quotient = quotient, rest
        return units


def _radix_key(tasks: UnitBlocks, n: int) -> _Radix | None:
    """An integer per row that orders and distinguishes the rows as their text does, or
    ``None`` when the text spans too many values for 63 bits.

    ``tasks`` hold blocks ``(first row, units)`` of a fixed-width matrix of code units
    (rows x positions: code points padded with 0, or the bytes of equal-length UTF-8
    values); each task is worked on by one thread. Position by position the units span
    ``lo..hi``; read as the digits of a mixed-radix number (position ``j`` a digit of
    radix ``hi - lo + 1``), a row's units give an integer, and since text compares
    position by position, the integers order the rows as the text does. Positions every
    row shares (the ``"cust-0"`` of ``"cust-000123"``) are digits of radix 1 and cost
    nothing, so formatted ids (a prefix and a few digits) become a dense range of
    integers, coded in one pass with no hashing or sorting. A UUID needs far more than
    63 bits, which the first block already shows.
    """
    if n == 0 or not tasks or not tasks[0]:
        return None
    limit = 1 << 63
    first = _unit_spans(tasks[0][:1])
    if first is None or _radix_product(*first) > limit:
        return None
    spans = parallel_map(_unit_spans, tasks)
    if any(s is None for s in spans):
        return None
    lo = np.minimum.reduce([s[0] for s in spans if s is not None])
    hi = np.maximum.reduce([s[1] for s in spans if s is not None])
    if _radix_product(lo, hi) > limit:
        return None
    varying = np.flatnonzero(hi > lo)
    if varying.size == 0:
        return _Radix(np.zeros(n, dtype=np.int64), lo, hi - lo + 1)
    key = np.empty(n, dtype=np.int64)
    # Horner's rule over the varying positions, the lows taken off once at the end: the
    # sums may pass 2**63 on the way, but integer arrays wrap modulo 2**64, and the key,
    # in 0..2**63, comes out exact.
    positions = varying.tolist()
    radix = (hi - lo + 1)[varying].tolist()
    wrapped = 0
    for low, base in zip(lo[varying].tolist(), radix, strict=True):
        wrapped = (wrapped * base + low) % (1 << 64)
    offset = np.uint64(wrapped).view(np.int64)

    def fill(task: list[tuple[int, npt.NDArray[Any]]]) -> None:
        for start, units in task:
            k = key[start : start + units.shape[0]]
            k[:] = units[:, positions[0]]
            for j, base in zip(positions[1:], radix[1:], strict=True):
                k *= base
                k += units[:, j]
            k -= offset

    parallel_map(fill, tasks)
    return _Radix(key, lo, hi - lo + 1)


def _unit_spans(
    task: list[tuple[int, npt.NDArray[Any]]],
) -> tuple[I64, I64] | None:
    """Per position, the least and greatest unit over a task's blocks."""
    lo = hi = None
    for _, units in task:
        if units.shape[0] == 0:
            continue
        by_position = np.ascontiguousarray(units.T)
        block_lo = by_position.min(axis=1).astype(np.int64)
        block_hi = by_position.max(axis=1).astype(np.int64)
        lo = block_lo if lo is None else np.minimum(lo, block_lo)
        hi = block_hi if hi is None else np.maximum(hi, block_hi)
    return None if lo is None or hi is None else (lo, hi)


def _radix_product(lo: I64, hi: I64) -> int:
    return math.prod(int(h) - int(l) + 1 for l, h in zip(lo, hi, strict=True))  # noqa: E741
