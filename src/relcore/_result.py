"""What every result object shares: read-only columns, and one description of the result
as a table from which ``to_pandas()``, ``to_polars()`` and the notebook view follow.

A result class mixes in `TableResult` and says what its table holds
(``_table()``); the conversions, the HTML shown by Jupyter (``_repr_html_``: a caption,
the first and last rows and the table's size, never all of a large result) and a one-line
``__repr__`` come from here, so that every result converts and displays alike.

Conventions of the tables:

* per-customer results are keyed by ``customer_id`` (the pandas index; polars, which has
  no index, gets it as the first column), with the ids exactly as given (integers stay
  integers, strings stay strings) in the result's order;
* labels drawn from a fixed set (segments, stages, outcomes) are `Labels`:
  categorical in pandas, ``Enum`` in polars, in the set's order;
* ``datetime64`` columns hold UTC instants (as everywhere in relcore) and come out as
  time-zone-aware UTC timestamps.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from ._optional import require
from ._validation import readonly

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

# Rows shown at each end of a large result in a notebook.
_HTML_EDGE_ROWS = 5


def column(values: Any) -> npt.NDArray[Any]:
    """attrs converter: a read-only numpy array."""
    return readonly(np.asarray(values))


def label_counts(labels: npt.NDArray[Any], order: tuple[str, ...]) -> dict[str, int]:
    """How many rows carry each label, in ``order`` (labels absent from the data count 0)."""
    values, counts = np.unique(labels, return_counts=True)
    found = dict(zip(values.tolist(), counts.tolist(), strict=True))
    return {label: int(found.get(label, 0)) for label in order}


@attrs.frozen
class Labels:
    """A column of labels from a fixed, ordered set (pandas categorical, polars Enum)."""

    values: npt.NDArray[Any]
    categories: tuple[str, ...]


@attrs.frozen
class Table:
    """A result as a table: ``keys`` identify the rows (the pandas index; none gives a
    plain row number) and ``columns`` hold the data, both in display order. Every array
    is one-dimensional with one value per row."""

    keys: Mapping[str, npt.NDArray[Any]]
    columns: Mapping[str, npt.NDArray[Any] | Labels]

    def __len__(self) -> int:
        first = next(iter({**self.keys, **self.columns}.values()), None)
        if first is None:
            return 0
        return len(first.values if isinstance(first, Labels) else first)


def keyed(customer_id: npt.NDArray[Any], columns: Mapping[str, Any]) -> Table:
    """The table of a per-customer result: ``columns`` keyed by ``customer_id``."""
    return Table({"customer_id": np.asarray(customer_id)}, dict(columns))


class TableResult:
    """Mixin: ``to_pandas()``, ``to_polars()``, ``_repr_html_`` and a one-line
    ``__repr__`` from the table the class describes in ``_table()``."""

    __slots__ = ()

    def _table(self) -> Table:
        raise NotImplementedError

    def to_pandas(self) -> pd.DataFrame:
        """The result as a pandas DataFrame (``pandas`` extra).

        Per-customer results are indexed by ``customer_id``; labels are categorical and
        instants are UTC timestamps.
        """
        pandas: Any = require("pandas", "pandas")
        table = self._table()
        data = {name: _pandas_column(pandas, col) for name, col in table.columns.items()}
        keys = [_pandas_column(pandas, col) for col in table.keys.values()]
        names = list(table.keys)
        if not keys:
            index = None
        elif len(keys) == 1:
            index = pandas.Index(keys[0], name=names[0])
        else:
            index = pandas.MultiIndex.from_arrays(keys, names=names)
        out: pd.DataFrame = pandas.DataFrame(data, index=index)
        return out

    def to_polars(self) -> pl.DataFrame:
        """The result as a polars DataFrame (``polars`` extra).

        polars has no index: the keys (``customer_id``…) come first, as columns.
        """
        polars: Any = require("polars", "polars")
        table = self._table()
        series = [
            _polars_column(polars, name, col)
            for name, col in {**table.keys, **table.columns}.items()
        ]
        out: pl.DataFrame = polars.DataFrame(series)
        return out

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """The result as numpy columns, keys first (labels as text, instants as UTC
        ``datetime64``): for writers and other frame libraries, with no extra needed."""
        table = self._table()
        return {name: _values(col) for name, col in {**table.keys, **table.columns}.items()}

    def __repr__(self) -> str:
        table = self._table()
        return f"{type(self).__name__}({len(table):,} rows: {', '.join(table.columns)})"

    def _repr_html_(self) -> str:
        """A compact HTML view: caption, the first and last rows, and the size."""
        table = self._table()
        n = len(table)
        edge = _HTML_EDGE_ROWS
        shown = list(range(n)) if n <= 2 * edge + 1 else [*range(edge), -1, *range(n - edge, n)]
        names = [*table.keys, *table.columns]
        cols = [*table.keys.values(), *table.columns.values()]
        n_keys = len(table.keys)
        head = "".join(f"<th>{html.escape(name)}</th>" for name in names)
        rows = []
        for i in shown:
            if i < 0:
                rows.append(f"<tr>{'<td>…</td>' * len(names)}</tr>")
                continue
            cells = [html.escape(_cell(col, i)) for col in cols]
            rows.append(
                "<tr>"
                + "".join(f"<th>{c}</th>" for c in cells[:n_keys])
                + "".join(f"<td>{c}</td>" for c in cells[n_keys:])
                + "</tr>"
            )
        size = f"{n:,} rows, {len(table.columns)} columns"
        return (
            f"<table><caption>{html.escape(repr(self))}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<p>{size}</p>"
        )


def _values(col: npt.NDArray[Any] | Labels) -> npt.NDArray[Any]:
    return col.values if isinstance(col, Labels) else col


def _cell(col: npt.NDArray[Any] | Labels, i: int) -> str:
    value = _values(col)[i]
    if isinstance(value, np.datetime64):
        return "" if np.isnat(value) else f"{value.astype('datetime64[s]')}Z"
    if isinstance(value, float | np.floating):
        return f"{value:.6g}"
    return str(value.item() if isinstance(value, np.generic) else value)


def _pandas_column(pandas: Any, col: npt.NDArray[Any] | Labels) -> Any:
    if isinstance(col, Labels):
        return pandas.Categorical(np.asarray(col.values), categories=list(col.categories))
    arr = np.asarray(col)
    if arr.dtype.kind == "M":
        return pandas.DatetimeIndex(arr).tz_localize("UTC")
    return arr


def _polars_column(polars: Any, name: str, col: npt.NDArray[Any] | Labels) -> Any:
    if isinstance(col, Labels):
        return polars.Series(
            name, np.asarray(col.values).tolist(), dtype=polars.Enum(list(col.categories))
        )
    arr = np.asarray(col)
    if arr.dtype.kind == "M":
        return polars.Series(name, arr.astype("datetime64[us]")).dt.replace_time_zone("UTC")
    if arr.dtype.kind in "OU":
        values = arr.tolist()
        if all(v is None or isinstance(v, str) for v in values):  # text, maybe missing
            return polars.Series(name, values, dtype=polars.String)
        return polars.Series(name, values)
    return polars.Series(name, arr)


class CountsMethod(dict[str, int]):
    """Counts read by calling, ``result.counts()``: the one spelling of every result's
    counts (they are computed, so they are methods; columns and settings are attributes).

    Results where they were a property still hand them out this way: read without the
    call they behave as the dict they were, with a `DeprecationWarning` saying to
    call them.
    """

    __slots__ = ("_plain", "_spelling")

    def __init__(self, counts: Mapping[str, int], spelling: str) -> None:
        super().__init__(counts)
        # a plain copy: copying self would read through the warning methods below
        self._plain = dict(counts)
        self._spelling = spelling

    def __call__(self) -> dict[str, int]:
        return dict(self._plain)

    def _old_spelling(self) -> None:
        warnings.warn(
            f"{self._spelling} is a method: call it, {self._spelling}(); reading it as a "
            "property is deprecated",
            DeprecationWarning,
            stacklevel=3,
        )

    def __getitem__(self, key: str) -> int:
        self._old_spelling()
        return super().__getitem__(key)

    def __iter__(self) -> Iterator[str]:
        self._old_spelling()
        return super().__iter__()

    def __len__(self) -> int:
        self._old_spelling()
        return super().__len__()

    def __contains__(self, key: object) -> bool:
        self._old_spelling()
        return super().__contains__(key)

    def __eq__(self, other: object) -> bool:
        self._old_spelling()
        return self._plain == other

    __hash__ = None

    def __repr__(self) -> str:
        self._old_spelling()
        return repr(self._plain)

    def keys(self) -> Any:
        self._old_spelling()
        return super().keys()

    def values(self) -> Any:
        self._old_spelling()
        return super().values()

    def items(self) -> Any:
        self._old_spelling()
        return super().items()

    def get(self, key: str, default: Any = None) -> Any:
        self._old_spelling()
        return super().get(key, default)
