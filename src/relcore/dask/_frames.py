"""Dask frames of relcore's columns: what every [`relcore.dask`][relcore.dask] function shares.

Event frames carry relcore's column names (``EVENT_COLUMNS``, as
[`read_events`][relcore.dask.read_events] writes them); result frames are indexed by customer id.
Each partition of a frame of events is turned into an [`EventLog`][relcore.models.EventLog]
and handed to the single-machine code, so a partition must hold whole customers: frames
are shuffled by customer id (Dask's own shuffle) unless the caller says they already are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from .._columns import factorize_ids
from .._optional import require
from ..errors import DataError
from ..models import EventLog

if TYPE_CHECKING:
    import pandas as pd

#: relcore's names for the columns of an event, in the order frames hold them
EVENT_COLUMNS = (
    "customer_id",
    "at",
    "kind",
    "value",
    "value_to_customer",
    "channel",
    "initiator",
    "category",
    "campaign",
    "item",
)
LABEL_COLUMNS = ("kind", "channel", "initiator", "category", "campaign", "item")
VALUE_COLUMNS = ("value", "value_to_customer")
_SHOWN_IDS = 5
T = TypeVar("T")


def libraries() -> tuple[ModuleType, ModuleType]:
    """``dask.dataframe`` and ``pandas``, or an ``ImportError`` naming the extra."""
    dd = require("dask.dataframe", "dask")
    pandas = require("pandas", "pandas")
    return dd, pandas


def text_dtype() -> Any:
    """The dtype of text columns: pyarrow-backed strings (compact, and what Dask's shuffle
    moves without pickling each value) when pyarrow is installed, else ``object``."""
    pandas = require("pandas", "pandas")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return np.dtype(object)
    return pandas.StringDtype("pyarrow")


def id_dtype(dtype: Any) -> Any:
    """The dtype customer ids keep in results: integers stay int64, anything else is text."""
    if getattr(dtype, "kind", None) in ("i", "u"):
        return np.dtype(np.int64)
    return text_dtype()


def keyed_meta(columns: Mapping[str, Any], ids: Any) -> pd.DataFrame:
    """An empty result frame: ``columns`` (name -> dtype) indexed by ``customer_id``."""
    pandas = require("pandas", "pandas")
    data = {name: pandas.Series([], dtype=dtype) for name, dtype in columns.items()}
    out: pd.DataFrame = pandas.DataFrame(
        data, index=pandas.Index([], dtype=ids, name="customer_id")
    )
    return out


def empty_like(frame: Any) -> pd.DataFrame:
    """The empty pandas frame standing for a Dask frame's partitions (its metadata)."""
    make_meta = require("dask.dataframe.utils", "dask").make_meta
    out: pd.DataFrame = make_meta(frame)
    return out


def keyed(frame: pd.DataFrame, meta: pd.DataFrame, ids: Any = None) -> pd.DataFrame:
    """``frame`` with the index dtype and the columns (in order, with their dtypes) of
    ``meta``; columns it lacks are 0 (a per-channel score of a channel this partition's
    customers never used). With ``ids`` (see :func:`partition_log`), the index holds
    customer codes, replaced by ``ids[code]``."""
    out = frame.reindex(columns=list(meta.columns), fill_value=0.0)
    out = out.astype(meta.dtypes.to_dict())
    index = frame.index if ids is None else ids.take(frame.index.to_numpy())
    out.index = index.astype(meta.index.dtype).rename("customer_id")
    return out


def event_columns(frame: Any) -> dict[str, str]:
    """relcore's event columns that ``frame`` holds, each under its own name."""
    if "customer_id" not in frame.columns or "at" not in frame.columns:
        raise DataError(
            "customer_id" if "customer_id" not in frame.columns else "at",
            "is not a column of the frame: relcore.dask's scores read frames with relcore's "
            f"column names, as read_events writes them (got {list(frame.columns)})",
        )
    return {name: name for name in EVENT_COLUMNS if name in frame.columns}


def by_customer(frame: Any, customer_id: str, partitioned_by_customer: bool) -> Any:
    """``frame`` with each customer's rows in one partition (shuffled unless said so)."""
    if customer_id not in frame.columns:
        raise DataError(customer_id, f"is not a column of the frame ({list(frame.columns)})")
    return frame if partitioned_by_customer else frame.shuffle(on=customer_id)


def where(partition_info: Mapping[str, Any] | None) -> str:
    """Words locating a partition of a frame shuffled by customer, for error messages."""
    number = None if partition_info is None else partition_info.get("number")
    return "a partition" if number is None else f"partition {number}"


def located(exc: DataError, ids: Any, place: str) -> DataError:
    """``exc`` raised on a partition's rows, saying which partition and which customers
    (row numbers of a shuffled partition mean nothing to the caller; ids do)."""
    shown = ""
    if exc.rows and len(ids) > max(exc.rows):
        named = ", ".join(repr(v) for v in np.asarray(ids)[list(exc.rows)][:_SHOWN_IDS].tolist())
        shown = f"; customer ids {named}"
    return DataError(exc.column, f"{exc.problem} (in {place}{shown})", exc.rows, exc.count)


def partition_log(
    part: pd.DataFrame, names: Mapping[str, str], place: str, *, timezone: str | None = None
) -> tuple[EventLog, Any]:
    """The event log of one partition, and its customers' ids.

    A :class:`DataError` says which customers' rows it concerns. Text ids are coded
    ``0..n-1`` first (``pandas.factorize``: pyarrow hashes strings much faster than
    relcore's checks can sort them), after relcore's own checks of each distinct id: the
    log then holds the codes and ``ids[code]`` is the customer's id. Integer ids, and any
    frame whose ids fail those checks, go to the log as they are (``ids`` is None), so a
    bad id raises relcore's own error, naming its rows.
    """
    column = names.get("customer_id", "customer_id")
    frame, ids = part, None
    coded = coded_ids(part[column], column)
    if coded is not None:
        codes, ids = coded
        frame = part.assign(**{column: codes})
    try:
        return EventLog.from_pandas(frame, **names, timezone=timezone), ids
    except DataError as exc:
        raise located(exc, part[column].to_numpy(), place) from None


def coded_ids(values: pd.Series, column: str) -> tuple[npt.NDArray[np.int64], Any] | None:
    """Codes and distinct values of text ids, or None when relcore must see them as they
    are: integers (coded quickly by relcore itself), missing ids, or distinct ids that
    relcore's checks refuse."""
    if values.dtype.kind in "iu":
        return None
    pandas = require("pandas", "pandas")
    codes, uniques = pandas.factorize(values)
    if codes.size and codes.min() < 0:
        return None
    if not _plain_arrow_text(uniques):
        try:
            factorize_ids(np.asarray(uniques, dtype=object), column)
        except DataError:
            return None
    return codes, uniques


def _plain_arrow_text(uniques: Any) -> bool:
    """Whether ``uniques`` are pyarrow strings relcore takes as ids: none empty, none
    ending in NUL (what ``factorize_ids`` refuses in text, besides missing ids and
    values that are not text, which an arrow string column cannot hold; ten times
    faster than its checks, value by value in Python). Anything else is left to them."""
    to_arrow = getattr(getattr(uniques, "array", None), "__arrow_array__", None)
    if to_arrow is None:
        return False
    pa = require("pyarrow", "arrow")
    pc = require("pyarrow.compute", "arrow")
    text = to_arrow()
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        return False
    if text.null_count or len(text) >= np.iinfo(np.int32).max:
        return False
    return not (
        pc.any(pc.equal(pc.utf8_length(text), 0)).as_py()
        or pc.any(pc.ends_with(text, "\0")).as_py()
    )


def delayed(function: Callable[..., Any]) -> Any:
    """``dask.delayed(function)``, a pure function of its arguments."""
    dask = require("dask", "dask")
    return dask.delayed(function, pure=True)


def tree_reduce(parts: list[Any], merge: Callable[..., T], split_every: int) -> T:
    """Merge delayed partial results ``split_every`` at a time until one is left, and
    compute it (on the current Dask scheduler: a distributed client when there is one)."""
    dask = require("dask", "dask")
    while len(parts) > 1:
        parts = [
            delayed(merge)(*parts[i : i + split_every]) for i in range(0, len(parts), split_every)
        ]
    (result,) = dask.compute(parts[0])
    return result  # type: ignore[no-any-return]
