"""The columnar event log every scorer consumes."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._columns import (
    Categorical,
    constant,
    factorize_ids,
    factorize_labels,
    is_constant,
    release_arrow_memory,
    sort_rows,
    take,
)
from .._time import (
    UTC,
    datetimes_to_micros,
    format_instant,
    micros_to_datetime64,
    parse_instant,
)
from .._validation import as_float, readonly
from .._validators import INITIATORS
from ..errors import DataError
from .entities import Touchpoint, ValueExchange

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

__all__ = ["EventLog"]

_LABEL_COLUMNS = ("kind", "channel", "initiator", "category", "campaign", "item")


class EventLog:
    """Touchpoints and value exchanges of many customers, as numpy columns.

    Rows are sorted once, by customer and then by time, so each customer's events are one
    contiguous slice (``offsets[c]:offsets[c + 1]``) that can be handed out without a copy.

    Columns (each of length ``len(log)``):

    ========================  ===============================================================
    ``customer_codes``        int32 index into [`customers`][relcore.models.EventLog.customers]
    ``at``                    int64 microseconds since the Unix epoch, UTC ``value``
    float64 value to the company (revenue; negative for refunds) ``value_to_customer``     float64
    value to the customer (discounts, gifts, service) ``kind``, ``channel``,
    [`Categorical`][relcore.models.Categorical] label columns ``initiator``,
    (``initiator`` is ``"customer"`` or ``"company"``; code -1 where ``category``,             not
    stated) ``campaign``, ``item``
    ========================  ===============================================================

    Columns that were not given cost no memory: they are zero-stride constants. All arrays
    handed out are read-only.

    Build a log with [`from_arrays`][relcore.models.EventLog.from_arrays] (the bulk path every other
    constructor ends in), [`from_records`][relcore.models.EventLog.from_records],
    [`from_pandas`][relcore.models.EventLog.from_pandas],
    [`from_polars`][relcore.models.EventLog.from_polars],
    [`from_arrow`][relcore.models.EventLog.from_arrow],
    [`read_csv`][relcore.models.EventLog.read_csv] or
    [`read_parquet`][relcore.models.EventLog.read_parquet].

    [`customers`][relcore.models.EventLog.customers] is always sorted (by value for integer ids, by
    code point for string ids), whatever the order of the input, so a customer's code does not
    depend on where their first event was written.

    Examples
    --------
    >>> import numpy as np
    >>> log = EventLog.from_arrays(
    ...     ["b", "a", "b"],
    ...     np.array(["2026-01-02", "2026-01-01", "2026-01-01"], dtype="datetime64[D]"),
    ...     value=[5.0, 10.0, 7.5],
    ...     timezone="UTC",
    ... )
    >>> len(log), log.n_customers, log.customers.tolist()
    (3, 2, ['a', 'b'])
    >>> log.for_customer("b").value.tolist()
    [7.5, 5.0]
    """

    __slots__ = (
        "_at",
        "_codes",
        "_customers",
        "_labels",
        "_offsets",
        "_value",
        "_value_to_customer",
    )

    def __init__(
        self,
        *,
        customers: npt.NDArray[Any],
        customer_codes: npt.NDArray[np.int32],
        at: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
        value_to_customer: npt.NDArray[np.float64],
        labels: dict[str, Categorical],
        offsets: npt.NDArray[np.int64] | None = None,
    ) -> None:
        # Internal: the columns must already be validated and sorted by (customer, time).
        # Users build logs through the from_* constructors.
        self._customers = readonly(customers)
        self._codes = readonly(customer_codes)
        self._at = readonly(at)
        self._value = readonly(value)
        self._value_to_customer = readonly(value_to_customer)
        self._labels = labels
        if offsets is None:
            counts = np.bincount(customer_codes, minlength=customers.size)
            offsets = np.concatenate(([0], np.cumsum(counts)))
        self._offsets = readonly(offsets.astype(np.int64, copy=False))

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_arrays(
        cls,
        customer_id: Any,
        at: Any,
        *,
        kind: Any = "purchase",
        value: Any = None,
        value_to_customer: Any = None,
        channel: Any = None,
        initiator: Any = None,
        category: Any = None,
        campaign: Any = None,
        item: Any = None,
        timezone: str | _dt.tzinfo | None = None,
    ) -> EventLog:
        """Build a log from one array per column.

        Parameters
        ----------
        customer_id
            Customer ids: integers or non-empty strings (a numpy array, a list or a pyarrow array).
            Integer ids stay integers in [`customers`][relcore.models.EventLog.customers], so
            results join back to integer keys; string ids are kept exactly as written.
        at
            When each event happened: aware ``datetime`` objects, ISO 8601 strings with an
            offset, or ``datetime64`` values together with ``timezone=``.
        kind
            What happened (``"purchase"``, ``"message"``, ``"complaint"``…): one string for every
            row, one per row, or a [`Categorical`][relcore.models.Categorical].
        value, value_to_customer
            Value to the company and to the customer (finite numbers); ``None`` for zeros.
        channel, initiator, category, campaign, item
            Optional labels (one string, or one per row with ``None`` for missing). ``initiator``
            must be ``"customer"`` or ``"company"``. Any label column may also be given already
            coded, as a [`Categorical`][relcore.models.Categorical] (the fast path).
        timezone
            The IANA zone of ``datetime64`` wall-clock values (``"UTC"`` if already UTC).

        Raises
        ------
        DataError
            Naming the column and rows of any missing id, unparseable, naive or
            non-existent time, non-finite value or unknown initiator.
        """
        columns = {
            "customer_id": customer_id, "at": at, "value": value,
            "value_to_customer": value_to_customer, "kind": kind, "channel": channel,
            "initiator": initiator, "category": category, "campaign": campaign, "item": item,
        }  # fmt: skip
        del customer_id, at
        return cls._build(columns, timezone)

    @classmethod
    def _build(cls, columns: dict[str, Any], timezone: str | _dt.tzinfo | None) -> EventLog:
        """[`from_arrays`][relcore.models.EventLog.from_arrays] over a dict of its arguments, which
        it empties as it goes:
        a column read from a file (the ids' text above all) is freed once it is coded."""
        codes, customers = factorize_ids(columns.pop("customer_id"), "customer_id")
        release_arrow_memory()
        n = codes.size
        times = datetimes_to_micros(columns.pop("at"), column="at", timezone=timezone)
        if times.size != n:
            raise DataError("at", f"has {times.size} values for {n} customer ids")
        amounts = {}
        for name in ("value", "value_to_customer"):
            col = columns.pop(name, None)
            amounts[name] = constant(0.0, n, np.float64) if col is None else as_float(col, name)
            if amounts[name].size != n:
                raise DataError(name, f"has {amounts[name].size} values for {n} events")
        labels = {}
        for name in _LABEL_COLUMNS:
            labels[name] = factorize_labels(
                columns.pop(name, None),
                n,
                name,
                allow_missing=name != "kind",
                allowed=INITIATORS if name == "initiator" else None,
            )
        order, codes, times, offsets = sort_rows(codes, times, customers.size)
        if order is not None:
            amounts = {k: take(v, order) for k, v in amounts.items()}
            labels = {k: v.take(order) for k, v in labels.items()}
        else:  # never keep a view of the caller's arrays: they could change under us
            amounts = {k: v if is_constant(v) else v.copy() for k, v in amounts.items()}
            labels = {
                k: v if is_constant(v.codes) else Categorical(v.codes.copy(), v.categories)
                for k, v in labels.items()
            }
        return cls(
            customers=customers,
            customer_codes=codes,
            at=times,
            value=amounts["value"],
            value_to_customer=amounts["value_to_customer"],
            labels=labels,
            offsets=offsets,
        )

    @classmethod
    def from_records(cls, records: Iterable[Touchpoint | ValueExchange]) -> EventLog:
        """Build a log from [`Touchpoint`][relcore.models.Touchpoint] and
        [`ValueExchange`][relcore.models.ValueExchange] objects.

        Touchpoints carry no value; exchanges carry no initiator or category.

        Examples
        --------
        >>> from datetime import datetime, timezone
        >>> from relcore.models import Touchpoint, ValueExchange
        >>> at = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
        >>> log = EventLog.from_records([
        ...     Touchpoint("c1", at, channel="email", initiator="company", category="promotional"),
        ...     ValueExchange("c1", at, channel="web", to_company=40.0, to_customer=4.0),
        ... ])
        >>> log.kind.to_numpy().tolist(), log.value.tolist()
        (['message', 'purchase'], [0.0, 40.0])
        """
        cols: dict[str, list[Any]] = {
            k: []
            for k in (
                "customer_id",
                "at",
                "value",
                "value_to_customer",
                *_LABEL_COLUMNS,
            )
        }
        row: tuple[Any, ...]
        for i, rec in enumerate(records):
            if isinstance(rec, Touchpoint):
                row = (rec.customer_id, rec.at, 0.0, 0.0, rec.kind, rec.channel, rec.initiator,
                       rec.category, rec.campaign, None)  # fmt: skip
            elif isinstance(rec, ValueExchange):
                row = (rec.customer_id, rec.at, rec.to_company, rec.to_customer, rec.kind,
                       rec.channel, None, None, None, rec.item)  # fmt: skip
            else:
                raise DataError(
                    "records", f"must be Touchpoint or ValueExchange, got {type(rec).__name__}", [i]
                )
            for col, v in zip(cols.values(), row, strict=True):
                col.append(v)
        arrays = {k: np.array(v, dtype=object) for k, v in cols.items()}
        return cls.from_arrays(
            arrays["customer_id"].astype(str),
            arrays["at"],
            value=arrays["value"].astype(np.float64),
            value_to_customer=arrays["value_to_customer"].astype(np.float64),
            kind=arrays["kind"],
            channel=arrays["channel"],
            initiator=arrays["initiator"],
            category=arrays["category"],
            campaign=arrays["campaign"],
            item=arrays["item"],
        )

    @classmethod
    def from_pandas(
        cls,
        df: pd.DataFrame,
        *,
        customer_id: str = "customer_id",
        at: str = "at",
        kind: str | None = None,
        value: str | None = None,
        value_to_customer: str | None = None,
        channel: str | None = None,
        initiator: str | None = None,
        category: str | None = None,
        campaign: str | None = None,
        item: str | None = None,
        default_kind: str = "purchase",
        timezone: str | None = None,
    ) -> EventLog:
        """Build a log from a pandas DataFrame; arguments name its columns.

        ``at`` may be a timezone-aware datetime column, or a naive one with ``timezone=``
        naming its zone. Rows without a ``kind`` column get ``default_kind``.
        Requires the ``pandas`` extra.
        """
        from ..io.frames import pandas_columns

        names = _column_names(customer_id, at, kind, value, value_to_customer, channel,
                              initiator, category, campaign, item)  # fmt: skip
        columns, zone = pandas_columns(df, names, timezone)
        return cls._from_named(columns, zone, default_kind, names)

    @classmethod
    def from_polars(
        cls,
        df: pl.DataFrame | pl.LazyFrame,
        *,
        customer_id: str = "customer_id",
        at: str = "at",
        kind: str | None = None,
        value: str | None = None,
        value_to_customer: str | None = None,
        channel: str | None = None,
        initiator: str | None = None,
        category: str | None = None,
        campaign: str | None = None,
        item: str | None = None,
        default_kind: str = "purchase",
        timezone: str | None = None,
    ) -> EventLog:
        """Build a log from a polars DataFrame or LazyFrame; arguments name its columns.

        Same contract as [`from_pandas`][relcore.models.EventLog.from_pandas]. A LazyFrame is
        collected with just the named columns. Requires the ``polars`` extra (and reads text fastest
        with ``arrow``).

        Examples
        --------
        >>> import datetime as dt
        >>> import polars as pl
        >>> orders = pl.LazyFrame({
        ...     "client": ["c2", "c1", "c2"],
        ...     "ordered_at": [dt.datetime(2026, 3, d, 9) for d in (1, 2, 3)],
        ...     "amount": [10.0, 5.5, 7.0],
        ... })
        >>> log = EventLog.from_polars(orders, customer_id="client", at="ordered_at",
        ...                            value="amount", timezone="Europe/Paris")
        >>> log.customers.tolist(), log.value.tolist()
        (['c1', 'c2'], [5.5, 10.0, 7.0])
        """
        from ..io.frames import polars_columns

        names = _column_names(customer_id, at, kind, value, value_to_customer, channel,
                              initiator, category, campaign, item)  # fmt: skip
        columns, zone = polars_columns(df, names, timezone)
        return cls._from_named(columns, zone, default_kind, names)

    @classmethod
    def from_arrow(
        cls,
        table: Any,
        *,
        customer_id: str = "customer_id",
        at: str = "at",
        kind: str | None = None,
        value: str | None = None,
        value_to_customer: str | None = None,
        channel: str | None = None,
        initiator: str | None = None,
        category: str | None = None,
        campaign: str | None = None,
        item: str | None = None,
        default_kind: str = "purchase",
        timezone: str | None = None,
    ) -> EventLog:
        """Build a log from a pyarrow Table or RecordBatch; arguments name its columns.

        Text is read where pyarrow holds it (no Python string is made per row). ``at`` may
        be a timestamp column (with a time zone it holds instants; without one, wall-clock
        times in ``timezone``), a date column with ``timezone=``, or ISO 8601 text with
        offsets. A null id, time or value is an error naming its rows; a null label is a
        missing one. Requires the ``arrow`` extra.

        Examples
        --------
        >>> import datetime as dt
        >>> import pyarrow as pa
        >>> utc = dt.timezone.utc
        >>> orders = pa.table({
        ...     "client": ["c2", "c1", "c2"],
        ...     "ordered_at": pa.array([dt.datetime(2026, 3, d, tzinfo=utc) for d in (1, 2, 3)],
        ...                            pa.timestamp("us", tz="UTC")),
        ...     "amount": [10.0, 5.5, 7.0],
        ... })
        >>> log = EventLog.from_arrow(orders, customer_id="client", at="ordered_at",
        ...                           value="amount")
        >>> log.customers.tolist(), log.value.tolist()
        (['c1', 'c2'], [5.5, 10.0, 7.0])
        """
        from ..io.frames import arrow_columns

        names = _column_names(customer_id, at, kind, value, value_to_customer, channel,
                              initiator, category, campaign, item)  # fmt: skip
        columns, zone = arrow_columns(table, names, timezone)
        return cls._from_named(columns, zone, default_kind, names)

    @classmethod
    def read_parquet(
        cls,
        path: str | os.PathLike[str],
        *,
        customer_id: str = "customer_id",
        at: str = "at",
        kind: str | None = None,
        value: str | None = None,
        value_to_customer: str | None = None,
        channel: str | None = None,
        initiator: str | None = None,
        category: str | None = None,
        campaign: str | None = None,
        item: str | None = None,
        default_kind: str = "purchase",
        timezone: str | None = None,
    ) -> EventLog:
        """Read a Parquet file; arguments name its columns, and only those are read.

        Columns are read as [`from_arrow`][relcore.models.EventLog.from_arrow] reads them. Requires
        the ``arrow`` extra.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> import datetime as dt
        >>> import pyarrow as pa, pyarrow.parquet as pq
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "orders.parquet"
        >>> pq.write_table(pa.table({
        ...     "client": ["00042", "NA"],
        ...     "ordered_at": pa.array([dt.datetime(2026, 3, 1, 9), dt.datetime(2026, 3, 2, 9)]),
        ...     "amount": [25.5, 12.0],
        ... }), path)
        >>> log = EventLog.read_parquet(path, customer_id="client", at="ordered_at",
        ...                             value="amount", timezone="Europe/Paris")
        >>> log.customers.tolist(), log.times.astype(str).tolist()
        (['00042', 'NA'], ['2026-03-01T08:00:00.000000', '2026-03-02T08:00:00.000000'])
        """
        from ..io.frames import arrow_columns
        from ..io.parquet import read_columns

        names = _column_names(customer_id, at, kind, value, value_to_customer, channel,
                              initiator, category, campaign, item)  # fmt: skip
        table = read_columns(path, list(dict.fromkeys(names.values())))
        columns, zone = arrow_columns(table, names, timezone)
        return cls._from_named(columns, zone, default_kind, names)

    @classmethod
    def read_csv(
        cls,
        path: str | os.PathLike[str],
        *,
        customer_id: str = "customer_id",
        at: str = "at",
        kind: str | None = None,
        value: str | None = None,
        value_to_customer: str | None = None,
        channel: str | None = None,
        initiator: str | None = None,
        category: str | None = None,
        campaign: str | None = None,
        item: str | None = None,
        default_kind: str = "purchase",
        at_format: str | None = None,
        timezone: str | None = None,
        delimiter: str = ",",
        encoding: str = "utf-8",
    ) -> EventLog:
        """Read a CSV file with a header row; arguments name its columns.

        Cells are read exactly as written: ids stay text (``00042`` stays ``00042``, and
        ``NA`` or ``NULL`` are ids like any other), and an empty cell is an error where a
        value is needed (an id, a number, a time) or a missing label. Timestamps are ISO
        8601; one with a UTC offset is that instant, one without is a wall-clock time in
        ``timezone`` (an error when no zone is given). ``at_format`` (a ``strptime``
        format such as ``"%Y%m%d"``) reads other layouts; with ``%z`` in it, the offset
        in the data wins. The reader's rules are those of `relcore.io.csv`, and it is
        pyarrow's when the ``arrow`` extra is installed.

        The file is read a block at a time (`relcore.io.csv.EventBatches`): its text
        is never held whole, ids are kept as pyarrow text until they are tabled, and the
        log needs about 21 bytes per event, so reading takes less memory than the file's
        size with the ``arrow`` extra (the careful reader, without it, holds each cell as
        a Python string).

        Errors name the file's columns; row numbers count data rows from 0 (the header
        is not a row).

        Examples
        --------
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "orders.csv"
        >>> _ = path.write_text(
        ...     "client,ordered_at,amount\\n"
        ...     "00042,2026-03-01T10:00:00+01:00,25.5\\n"
        ...     "NA,2026-03-02 09:00,12\\n"
        ... )
        >>> log = EventLog.read_csv(path, customer_id="client", at="ordered_at",
        ...                         value="amount", timezone="Europe/Paris")
        >>> log.customers.tolist(), log.value.tolist()
        (['00042', 'NA'], [25.5, 12.0])
        >>> EventLog.read_csv(path, customer_id="client", at="ordered_at")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        relcore.errors.DataError: column 'ordered_at', 1 row (1): naive timestamps...
        """
        from ..io.csv import EventBatches

        names = _column_names(customer_id, at, kind, value, value_to_customer, channel,
                              initiator, category, campaign, item)  # fmt: skip
        batches = EventBatches(
            path,
            names,
            at_format=at_format,
            timezone=timezone,
            delimiter=delimiter,
            encoding=encoding,
        )
        columns = batches.read()
        columns["at"] = columns["at"].view("datetime64[us]")
        return cls._from_named(columns, "UTC", default_kind, names)

    @classmethod
    def _from_named(
        cls,
        columns: dict[str, Any],
        zone: str | None,
        default_kind: str,
        names: dict[str, str],
    ) -> EventLog:
        """The common end of the frame and file adapters: columns keyed by relcore's names.

        Errors name the caller's columns (``ordered_at``), not relcore's (``at``).
        """
        columns.setdefault("kind", default_kind)
        try:
            return cls._build(columns, zone)
        except DataError as exc:
            if exc.column not in names or names[exc.column] == exc.column:
                raise
            raise DataError(names[exc.column], exc.problem, exc.rows, exc.count) from None

    # ------------------------------------------------------------------ columns

    def __len__(self) -> int:
        return int(self._at.shape[0])

    @property
    def customers(self) -> npt.NDArray[Any]:
        """Sorted table of distinct customer ids; ``customer_codes`` index into it."""
        return self._customers

    @property
    def n_customers(self) -> int:
        """Number of customers in the table (some may have no events after filtering)."""
        return int(self._customers.shape[0])

    @property
    def customer_codes(self) -> npt.NDArray[np.int32]:
        return self._codes

    @property
    def offsets(self) -> npt.NDArray[np.int64]:
        """Customer ``c``'s events are rows ``offsets[c]:offsets[c + 1]``."""
        return self._offsets

    @property
    def at(self) -> npt.NDArray[np.int64]:
        """Event times, int64 microseconds since the Unix epoch, UTC."""
        return self._at

    @property
    def times(self) -> npt.NDArray[np.datetime64]:
        """Event times as ``datetime64[us]`` values in UTC (a view, no copy)."""
        return micros_to_datetime64(self._at)

    @property
    def value(self) -> npt.NDArray[np.float64]:
        """Value to the company of each event."""
        return self._value

    @property
    def value_to_customer(self) -> npt.NDArray[np.float64]:
        """Value to the customer of each event."""
        return self._value_to_customer

    @property
    def kind(self) -> Categorical:
        return self._labels["kind"]

    @property
    def channel(self) -> Categorical:
        return self._labels["channel"]

    @property
    def initiator(self) -> Categorical:
        return self._labels["initiator"]

    @property
    def category(self) -> Categorical:
        return self._labels["category"]

    @property
    def campaign(self) -> Categorical:
        return self._labels["campaign"]

    @property
    def item(self) -> Categorical:
        return self._labels["item"]

    @property
    def nbytes(self) -> int:
        """Memory held by the columns, in bytes (constant columns count as one element)."""
        arrays = [self._customers, self._codes, self._at, self._value, self._value_to_customer,
                  self._offsets, *(c.codes for c in self._labels.values())]  # fmt: skip
        return sum(a.itemsize if a.strides and a.strides[0] == 0 else a.nbytes for a in arrays)

    # ------------------------------------------------------------------ slicing

    def code_of(self, customer_id: Any) -> int:
        """The code of ``customer_id``; ``KeyError`` if the log has no such customer."""
        i = int(np.searchsorted(self._customers, customer_id))
        if i >= self._customers.size or self._customers[i] != customer_id:
            raise KeyError(customer_id)
        return i

    def customer_slice(self, customer_id: Any) -> slice:
        """The rows of one customer, as a slice (events in time order)."""
        c = self.code_of(customer_id)
        return slice(int(self._offsets[c]), int(self._offsets[c + 1]))

    def for_customer(self, customer_id: Any) -> EventLog:
        """One customer's events as a log whose columns are views, not copies."""
        c = self.code_of(customer_id)
        sl = slice(int(self._offsets[c]), int(self._offsets[c + 1]))
        return EventLog(
            customers=self._customers[c : c + 1],
            customer_codes=constant(0, sl.stop - sl.start, np.int32),
            at=self._at[sl],
            value=self._value[sl],
            value_to_customer=self._value_to_customer[sl],
            labels={k: v[sl] for k, v in self._labels.items()},
            offsets=np.array([0, sl.stop - sl.start], dtype=np.int64),
        )

    def select(self, mask: npt.NDArray[np.bool_]) -> EventLog:
        """The rows where ``mask`` is true (order kept; the customer table is kept whole)."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (len(self),):
            raise ValueError(f"mask must have shape ({len(self)},), got {mask.shape}")
        if mask.all():  # every row: the log itself (its columns are read-only)
            return self
        return EventLog(
            customers=self._customers,
            customer_codes=self._codes[mask],
            at=self._at[mask],
            value=take(self._value, mask),
            value_to_customer=take(self._value_to_customer, mask),
            labels={k: v.take(mask) for k, v in self._labels.items()},
        )

    def without(self, customer_ids: Iterable[Any] | str) -> EventLog:
        """The log without these customers: their events, and their ids in the customer
        table (an erased customer leaves no trace in an analysis). Ids the log does not
        hold are ignored; a single string is one id.

        Examples
        --------
        >>> import numpy as np
        >>> log = EventLog.from_arrays(
        ...     ["b", "a", "c", "b"],
        ...     np.array(["2026-01-02", "2026-01-01", "2026-01-03", "2026-01-04"],
        ...              dtype="datetime64[D]"),
        ...     value=[5.0, 10.0, 1.0, 7.5],
        ...     timezone="UTC",
        ... )
        >>> rest = log.without(["b", "nobody"])
        >>> rest.customers.tolist(), rest.value.tolist()
        (['a', 'c'], [10.0, 1.0])
        """
        wanted = {customer_ids} if isinstance(customer_ids, str) else set(customer_ids)
        gone = np.fromiter(
            (c in wanted for c in self._customers.tolist()), dtype=bool, count=self.n_customers
        )
        if not gone.any():
            return self
        kept = ~gone
        new_code = np.cumsum(kept, dtype=np.int64) - 1  # old code -> new code (if kept)
        rows = kept[self._codes]
        return EventLog(
            customers=self._customers[kept],
            customer_codes=new_code[self._codes[rows]].astype(np.int32),
            at=self._at[rows],
            value=take(self._value, rows),
            value_to_customer=take(self._value_to_customer, rows),
            labels={k: v.take(rows) for k, v in self._labels.items()},
        )

    def filter(
        self,
        *,
        kind: str | Iterable[str] | None = None,
        channel: str | Iterable[str] | None = None,
        initiator: str | None = None,
        category: str | Iterable[str] | None = None,
        start: _dt.datetime | str | None = None,
        end: _dt.datetime | str | None = None,
    ) -> EventLog:
        """Events matching every given condition; times are ``start <= at < end``.

        Examples
        --------
        Every CDNOW customer made a first purchase in the first quarter of 1997, so all of
        them still have events when the log is cut at April 1st:

        >>> import numpy as np
        >>> from relcore.datasets import load_cdnow
        >>> q1 = load_cdnow().filter(end="1997-04-01T00:00:00+00:00")
        >>> int((np.diff(q1.offsets) > 0).sum())
        23570
        """
        mask = np.ones(len(self), dtype=bool)
        for col, wanted in ((self.kind, kind), (self.channel, channel),
                            (self.initiator, initiator), (self.category, category)):  # fmt: skip
            if wanted is not None:
                labels = (wanted,) if isinstance(wanted, str) else tuple(wanted)
                mask &= col.mask(*labels)
        if start is not None:
            mask &= self._at >= parse_instant(start, "start")
        if end is not None:
            mask &= self._at < parse_instant(end, "end")
        return self.select(mask)

    def iter_customers(self) -> Iterator[tuple[Any, slice]]:
        """``(customer_id, rows)`` for each customer, for code that must loop (not hot paths)."""
        for c in range(self.n_customers):
            yield self._customers[c], slice(int(self._offsets[c]), int(self._offsets[c + 1]))

    # ------------------------------------------------------------------ export

    def to_pandas(self) -> pd.DataFrame:
        """One row per event, ``at`` as timezone-aware UTC timestamps (``pandas`` extra)."""
        from .._optional import require

        pandas_ = require("pandas", "pandas")
        data: dict[str, Any] = {
            "customer_id": self._customers[self._codes],
            "at": pandas_.DatetimeIndex(self.times).tz_localize("UTC"),
            "value": np.asarray(self._value),
            "value_to_customer": np.asarray(self._value_to_customer),
        }
        for name, col in self._labels.items():
            data[name] = pandas_.Categorical.from_codes(
                np.asarray(col.codes, dtype=np.int64), categories=list(col.categories)
            )
        frame: pd.DataFrame = pandas_.DataFrame(data)
        return frame

    def __repr__(self) -> str:
        if len(self) == 0:
            return f"EventLog(0 events, {self.n_customers:,} customers)"
        first, last = (
            format_instant(int(self._at.min()), UTC),
            format_instant(int(self._at.max()), UTC),
        )
        kinds = ", ".join(self.kind.categories[:5])
        return (
            f"EventLog({len(self):,} events, {self.n_customers:,} customers, "
            f"{first} to {last}, kinds: {kinds})"
        )


def _column_names(
    customer_id: str, at: str, kind: str | None, value: str | None,
    value_to_customer: str | None, channel: str | None, initiator: str | None,
    category: str | None, campaign: str | None, item: str | None,
) -> dict[str, str]:  # fmt: skip
    """relcore's column -> the caller's, for the columns given; one caller's column may
    not serve two of relcore's (a customer id that is also the time is a typo)."""
    given = {
        "customer_id": customer_id, "at": at, "kind": kind, "value": value,
        "value_to_customer": value_to_customer, "channel": channel, "initiator": initiator,
        "category": category, "campaign": campaign, "item": item,
    }  # fmt: skip
    names = {k: v for k, v in given.items() if v is not None}
    seen: dict[str, str] = {}
    for ours, theirs in names.items():
        if theirs in seen:
            raise DataError(
                theirs, f"is given for two columns of the log: {seen[theirs]}= and {ours}="
            )
        seen[theirs] = ours
    return names
