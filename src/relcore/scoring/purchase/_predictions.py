"""Per-customer predictions keyed by customer id.

A prediction method that takes per-customer columns (``p_alive(frequency, recency, T)``,
``expected_purchases(t, frequency, recency, T)``, ``expected_average_value(frequency,
monetary_value)``…) also takes an [`RFMSummary`][relcore.scoring.summary.RFMSummary] or a pandas /
polars DataFrame with those columns in their place, and then returns a
[`CustomerPredictions`][relcore.scoring.purchase.CustomerPredictions] keyed by the customers' ids,
ready to join to other customer data. Arrays in still give arrays out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ..._result import Table, TableResult, column, keyed
from ...errors import DataError
from ._inputs import _column_from
from ._types import FloatArray

__all__ = ["CustomerPredictions"]


def _columns(values: Mapping[str, Any]) -> Mapping[str, FloatArray]:
    return {name: column(v) for name, v in values.items()}


@attrs.frozen(eq=False, repr=False)
class CustomerPredictions(TableResult):
    """Predictions per customer, keyed by customer id.

    Returned by the prediction methods given an [`RFMSummary`][relcore.scoring.summary.RFMSummary]
    or a DataFrame (one column, named after the method: ``p_alive``, ``expected_purchases``,
    ``expected_average_value``, ``clv``), and by ``predict`` (several columns). Read a column as an
    attribute or by name (``result.p_alive``, ``result["p_alive"]``), convert with
    [`to_pandas`][relcore.scoring.purchase.CustomerPredictions.to_pandas] (indexed by
    ``customer_id``) or [`to_polars`][relcore.scoring.purchase.CustomerPredictions.to_polars]; a
    result of one column is also an array for numpy (``np.asarray(result)``).

    Attributes
    ----------
    customer_id : numpy.ndarray
        The customers, as in the data given (same ids, same order).
    columns : mapping of str to numpy.ndarray
        The predictions, one value per customer, in display order.
    description : str
        What was predicted, in words (model, horizon).

    Examples
    --------
    >>> from relcore.scoring import BGNBD, RFMSummary
    >>> s = RFMSummary(customer_id=["a", "b"], frequency=[0, 2], recency=[0, 10],
    ...                T=[30, 30], monetary_value=[0, 20])
    >>> alive = BGNBD(r=0.24, alpha=4.41, a=0.79, b=2.43).p_alive(s)
    >>> alive.customer_id.tolist(), alive.p_alive.tolist()[0]
    (['a', 'b'], 1.0)
    >>> float(alive.to_pandas().loc["a", "p_alive"])
    1.0
    """

    customer_id: npt.NDArray[Any] = attrs.field(converter=column)
    columns: Mapping[str, FloatArray] = attrs.field(converter=_columns)
    description: str = ""

    def __attrs_post_init__(self) -> None:
        n = self.customer_id.shape
        for name, values in self.columns.items():
            if values.shape != n:
                raise ValueError(
                    f"column {name!r} has shape {values.shape} for {n[0]:,} customers: "
                    "a horizon must be one number or one value per customer"
                )

    def __len__(self) -> int:
        return int(self.customer_id.shape[0])

    def __getitem__(self, name: str) -> FloatArray:
        try:
            return self.columns[name]
        except KeyError:
            raise KeyError(f"no column {name!r}; columns are {list(self.columns)}") from None

    def __getattr__(self, name: str) -> FloatArray:
        # only called when ordinary lookup fails: the columns read as attributes
        if not name.startswith("_"):
            columns = object.__getattribute__(self, "columns")
            if name in columns:
                out: FloatArray = columns[name]
                return out
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> FloatArray:
        if len(self.columns) != 1:
            raise TypeError(
                f"{len(self.columns)} columns ({', '.join(self.columns)}) are not one array: "
                "take one, e.g. result.p_alive"
            )
        (values,) = self.columns.values()
        # numpy < 2 takes no copy=None: asarray copies only when it must
        out: FloatArray = (
            np.array(values, dtype=dtype, copy=True) if copy else np.asarray(values, dtype=dtype)
        )
        return out

    def _table(self) -> Table:
        return keyed(self.customer_id, self.columns)

    def __repr__(self) -> str:
        what = f"; {self.description}" if self.description else ""
        return f"CustomerPredictions({len(self):,} customers: {', '.join(self.columns)}{what})"


def is_customer_table(data: Any) -> bool:
    """Whether ``data`` is a table of customers (summary or DataFrame), not a column."""
    from ..summary import RFMSummary

    if isinstance(data, RFMSummary):
        return True
    library = type(data).__module__.split(".")[0]
    return library in ("pandas", "polars") and hasattr(data, "columns")


def customer_ids(data: Any) -> npt.NDArray[Any]:
    """The ids of a table of customers: a summary's, a DataFrame's ``customer_id`` column,
    or else a pandas DataFrame's index (as ``RFMSummary.to_pandas()`` makes it)."""
    from ..summary import RFMSummary

    if isinstance(data, RFMSummary):
        return data.customer_id
    if "customer_id" in data.columns:
        return np.asarray(data["customer_id"])
    if hasattr(data, "index"):  # pandas
        return np.asarray(data.index)
    raise DataError(
        "customer_id", "missing column: a polars DataFrame needs the customers' ids to key them"
    )


def customer_columns(data: Any, names: tuple[str, ...]) -> tuple[npt.NDArray[Any], list[Any]]:
    """The ids and the named columns of a table of customers."""
    return customer_ids(data), [np.asarray(_column_from(data, name)) for name in names]


def keyed_prediction(
    method: Callable[..., Any], name: str, position: int, names: tuple[str, ...]
) -> Callable[..., Any]:
    """``method`` that also takes a table of customers in place of its columns ``names``
    (the first at argument ``position``) and then returns
    [`CustomerPredictions`][relcore.scoring.purchase.CustomerPredictions] with one column,
    ``name``."""

    @functools.wraps(method)
    def prediction(self: Any, *args: Any, **kwargs: Any) -> Any:
        interval = kwargs.pop("interval", None)
        draws = kwargs.pop("draws", None)
        rng = kwargs.pop("rng", None)
        if interval is None and (draws is not None or rng is not None):
            raise TypeError("draws and rng go with interval=")
        data = args[position] if len(args) > position else kwargs.get(names[0])
        if not is_customer_table(data):
            if interval is not None:
                return _with_interval(method, self, name, args, kwargs, interval, draws, rng)
            return method(self, *args, **kwargs)
        extra = args[position + 1 :] + tuple(kwargs.pop(n) for n in names[1:] if n in kwargs)
        if any(v is not None for v in extra):
            raise TypeError(
                f"pass either a summary or DataFrame, or the columns {', '.join(names)}, not both"
            )
        kwargs.pop(names[0], None)
        ids, cols = customer_columns(data, names)
        args = (*args[:position], *cols)
        if interval is not None:
            return _with_interval(method, self, name, args, kwargs, interval, draws, rng, ids)
        values = method(self, *args, **kwargs)
        return CustomerPredictions(ids, {name: values}, description=type(self).__name__)

    prediction._keyed = True  # type: ignore[attr-defined]
    return prediction


def _with_interval(
    method: Callable[..., Any],
    model: Any,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    level: float,
    draws: int | None,
    rng: Any,
    ids: Any = None,
) -> CustomerPredictions:
    """``method``'s predictions with lower and upper bounds from parameter uncertainty
    (see `_uncertainty`), keyed by ``ids`` (default: row positions)."""
    from ._uncertainty import (
        DEFAULT_DRAWS,
        bands,
        check_level,
        distinct,
        expand,
        parameter_draws,
        rows_of,
    )

    level = check_level(level)
    n_draws = DEFAULT_DRAWS if draws is None else draws
    models = parameter_draws(model, n_draws, rng)
    point = np.asarray(method(model, *args, **kwargs), dtype=np.float64)
    shape = point.shape
    n = point.size

    def flat(value: Any) -> Any:
        # per-customer arguments as flat rows, so that customers can be taken in chunks
        if np.ndim(value) == 0 or isinstance(value, str):
            return value
        return np.broadcast_to(np.asarray(value), shape).reshape(-1)

    flat_args = [flat(a) for a in args]
    flat_kwargs = {k: flat(v) for k, v in kwargs.items()}
    # evaluate once per distinct row of the per-customer arguments
    per_row = [i for i, a in enumerate(flat_args) if np.ndim(a) == 1 and np.size(a) == n]
    per_key = [k for k, v in flat_kwargs.items() if np.ndim(v) == 1 and np.size(v) == n]
    columns = [flat_args[i] for i in per_row] + [flat_kwargs[k] for k in per_key]
    unique, inverse = distinct(columns)
    m = n if inverse is None else unique[0].size
    if inverse is not None:
        for i, col in zip(per_row, unique, strict=False):
            flat_args[i] = col
        for key, col in zip(per_key, unique[len(per_row) :], strict=True):
            flat_kwargs[key] = col

    def evaluate(k: int, rows: slice) -> dict[str, FloatArray]:
        a = [rows_of(v, m, rows) for v in flat_args]
        kw = {key: rows_of(v, m, rows) for key, v in flat_kwargs.items()}
        values = np.asarray(method(models[k], *a, **kw), dtype=np.float64)
        return {name: np.broadcast_to(values, (rows.stop - rows.start,))}

    ((lower, upper),) = expand(bands(evaluate, m, n_draws, level), inverse).values()
    keys = np.arange(n) if ids is None else ids
    return CustomerPredictions(
        keys,
        {name: point.reshape(-1), f"{name}_lower": lower, f"{name}_upper": upper},
        description=f"{type(model).__name__}, {level:.0%} intervals from parameter uncertainty",
    )


def key_predictions(cls: type, methods: Mapping[str, tuple[int, tuple[str, ...]]]) -> None:
    """Make the prediction methods that ``cls`` itself defines accept tables of customers
    (see `keyed_prediction`); methods already made so are left alone."""
    for name, (position, names) in methods.items():
        method = cls.__dict__.get(name)
        if callable(method) and not getattr(method, "_keyed", False):
            setattr(cls, name, keyed_prediction(method, name, position, names))
