"""Pieces shared by the score result objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ._optional import require
from ._validation import readonly

if TYPE_CHECKING:
    import pandas as pd


def column(values: Any) -> npt.NDArray[Any]:
    """attrs converter: a read-only numpy array."""
    return readonly(np.asarray(values))


def frame(customer_id: npt.NDArray[Any], columns: Mapping[str, Any]) -> pd.DataFrame:
    """A DataFrame of ``columns`` indexed by customer id (``pandas`` extra)."""
    pandas_ = require("pandas", "pandas")
    index = pandas_.Index(np.asarray(customer_id), name="customer_id")
    data = {k: (np.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in columns.items()}
    out: pd.DataFrame = pandas_.DataFrame(data, index=index)
    return out


def label_counts(labels: npt.NDArray[Any], order: tuple[str, ...]) -> dict[str, int]:
    """How many rows carry each label, in ``order`` (labels absent from the data count 0)."""
    values, counts = np.unique(labels, return_counts=True)
    found = dict(zip(values.tolist(), counts.tolist(), strict=True))
    return {label: int(found.get(label, 0)) for label in order}
