"""Per-customer predictions keyed by customer id.

A prediction method that takes per-customer columns (``p_alive(frequency, recency, T)``,
``expected_purchases(t, frequency, recency, T)``, ``expected_average_value(frequency,
monetary_value)``…) also takes an :class:`~relcore.scoring.RFMSummary` or a pandas /
polars DataFrame with those columns in their place, and then returns a
:class:`CustomerPredictions` keyed by the customers' ids, ready to join to other customer
data. Arrays in still give arrays out.
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

    Returned by the prediction methods given an :class:`~relcore.scoring.RFMSummary` or a
    DataFrame (one column, named after the method: ``p_alive``, ``expected_purchases``,
    ``expected_average_value``, ``clv``), and by ``predict`` (several columns). Read a
    column as an attribute or by name (``result.p_alive``, ``result["p_alive"]``), convert
    with :meth:`to_pandas` (indexed by ``customer_id``) or :meth:`to_polars`; a result of
    one column is also an array for numpy (``np.asarray(result)``).

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
        out: FloatArray = np.array(values, dtype=dtype, copy=True if copy else None)
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
    (the first at argument ``position``) and then returns :class:`CustomerPredictions`
    with one column, ``name``."""

    @functools.wraps(method)
    def prediction(self: Any, *args: Any, **kwargs: Any) -> Any:
        data = args[position] if len(args) > position else kwargs.get(names[0])
        if not is_customer_table(data):
            return method(self, *args, **kwargs)
        extra = args[position + 1 :] + tuple(kwargs.pop(n) for n in names[1:] if n in kwargs)
        if any(v is not None for v in extra):
            raise TypeError(
                f"pass either a summary or DataFrame, or the columns {', '.join(names)}, not both"
            )
        kwargs.pop(names[0], None)
        ids, cols = customer_columns(data, names)
        values = method(self, *args[:position], *cols, **kwargs)
        return CustomerPredictions(ids, {name: values}, description=type(self).__name__)

    prediction._keyed = True  # type: ignore[attr-defined]
    return prediction


def key_predictions(cls: type, methods: Mapping[str, tuple[int, tuple[str, ...]]]) -> None:
    """Make the prediction methods that ``cls`` itself defines accept tables of customers
    (see :func:`keyed_prediction`); methods already made so are left alone."""
    for name, (position, names) in methods.items():
        method = cls.__dict__.get(name)
        if callable(method) and not getattr(method, "_keyed", False):
            setattr(cls, name, keyed_prediction(method, name, position, names))
