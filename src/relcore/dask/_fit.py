"""Model fits from distributed sufficient statistics.

Every model's likelihood depends on its data only through the distinct rows and how many
customers share each (for the purchase models, the distinct ``(frequency, recency, T)``:
at most one per customer, and far fewer with weekly periods or a young base). So each
partition is compressed to its distinct rows with counts, the partitions' tables
are merged in a tree (each merge compresses again), and the model's own single-machine
fit runs on the driver with the counts as weights: the very data it would compress the
whole base to, so the fit is the single-machine fit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from .._validation import as_float, check_mask
from ..errors import DataError
from ._frames import delayed, tree_reduce

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]
Rows = tuple[list[FloatArray], FloatArray]  # distinct rows (one array per column), counts
M = TypeVar("M")

# Partial results merged at once in the tree reduction.
_SPLIT_EVERY = 8


def fit(
    model_class: type[M],
    data: Any,
    *,
    penalizer: float = 0.0,
    n_periods: int | None = None,
    split_every: int = _SPLIT_EVERY,
) -> M:
    """Fit a model to a Dask frame: reduce it to distinct rows, fit those on the driver.

    The result equals ``model_class.fit`` of the same rows on one machine (its estimates,
    log-likelihood and standard errors), because it is that fit, run on the distinct
    rows with their counts as weights, which is what the single-machine fit compresses
    its data to. Only the distinct rows reach the driver.

    Parameters
    ----------
    model_class
        ``BGNBD``, ``MBGNBD``, ``ParetoNBD``, ``BGBB``, ``GammaGamma`` or
        ``ShiftedBetaGeometric`` (of ``relcore.scoring``).
    data
        A Dask frame with the columns the model fits on, one row per customer (the frame
        [`summarize`][relcore.dask.summarize] returns), and optionally ``weights``:

        * BG/NBD, MBG/NBD, Pareto/NBD: ``frequency``, ``recency``, ``T``;
        * BG/BB: ``frequency``, ``recency``, ``n_periods`` (or ``T``, as a summary has);
        * Gamma-Gamma: ``frequency``, ``monetary_value`` of repeat buyers with a positive
          spend (select them first, as on one machine);
        * shifted-beta-geometric: one row per customer of a cohort, with ``renewals``,
          the renewals the customer made (a column of a frame, or a Series): those who
          left after their first period made 0; those still subscribed after
          ``n_periods`` periods made ``n_periods``. The survivors at the start of period
          ``t`` are the customers with ``renewals >= t``: the counts
          ``ShiftedBetaGeometric.fit`` takes.
    penalizer
        As in the model's ``fit``.
    n_periods
        Shifted-beta-geometric only: periods the cohort was observed for (default: the
        largest ``renewals``, so that someone is still subscribed).
    split_every
        Partial results merged at once in the tree reduction.

    Returns
    -------
    The fitted model.

    Raises
    ------
    DataError
        Rows the model refuses, naming the partition and the rows within it.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> from relcore.datasets import load_cdnow_summary
    >>> from relcore.scoring import BGNBD
    >>> s = load_cdnow_summary().to_pandas()
    >>> m, one = fit(BGNBD, dd.from_pandas(s, npartitions=4)), BGNBD.fit(s)
    >>> all(abs(m.params[k] / v - 1) < 1e-9 for k, v in one.params.items())
    True
    """
    from ..scoring import purchase

    if not isinstance(model_class, type) or not issubclass(model_class, _fittable()):
        raise TypeError(f"cannot fit {model_class!r} with relcore.dask.fit")
    if int(split_every) < 2:
        raise ValueError(f"split_every must be at least 2, got {split_every}")
    model: Any = model_class
    if issubclass(model_class, purchase.ShiftedBetaGeometric):
        survivors = _survivors(data, n_periods, int(split_every))
        fitted: M = model.fit(survivors, penalizer=penalizer)
        return fitted
    if n_periods is not None:
        raise TypeError("n_periods= is for the shifted-beta-geometric model only")
    names = _fit_columns(model_class, data)
    columns = [source for _, source in names]
    if "weights" in data.columns:
        columns.append("weights")
    parts = data[columns].to_delayed()
    tables = [
        delayed(_distinct_rows)(part, model_class, tuple(names), number)
        for number, part in enumerate(parts)
    ]
    rows, weights = tree_reduce(tables, _merge, int(split_every))
    arrays = {name: column for (name, _), column in zip(names, rows, strict=True)}
    fitted = model.fit(**arrays, weights=weights, penalizer=penalizer)
    return fitted


def _fittable() -> tuple[type, ...]:
    """The model classes [`fit`][relcore.dask.fit] knows (imported when needed: scipy is
    slow to load)."""
    from ..scoring import purchase

    return (
        purchase.BGNBD,
        purchase.MBGNBD,
        purchase.ParetoNBD,
        purchase.BGBB,
        purchase.GammaGamma,
        purchase.ShiftedBetaGeometric,
    )


def _fit_columns(model_class: type, data: Any) -> list[tuple[str, str]]:
    """``(argument of fit, column of data)`` for each column the model fits on."""
    from ..scoring import purchase

    if issubclass(model_class, purchase.GammaGamma):
        wanted = ["frequency", "monetary_value"]
    elif issubclass(model_class, purchase.BGBB):
        wanted = ["frequency", "recency", "n_periods"]
    else:
        wanted = ["frequency", "recency", "T"]
    found = list(data.columns)
    names = []
    for name in wanted:
        source = name
        if name == "n_periods" and name not in found and "T" in found:
            source = "T"  # a summary's T counts the opportunities a customer had
        if source not in found:
            raise DataError(name, f"is not a column of the frame ({found})")
        names.append((name, source))
    return names


def _distinct_rows(
    part: pd.DataFrame, model_class: Any, names: Sequence[tuple[str, str]], number: int
) -> Rows:
    """One partition's distinct rows with their counts, after the model's own checks."""
    arrays = {name: part[source].to_numpy() for name, source in names}
    n = len(part)
    if n == 0:
        return [np.zeros(0) for _ in names], np.zeros(0)
    weights = np.ones(n)
    with _rows_of(number):
        if "weights" in part.columns:
            weights = as_float(part["weights"].to_numpy(), "weights", nonnegative=True)
        try:
            # The model's fit checks the columns before it looks at the weights, and
            # all-zero weights stop it there: this runs the model's own checks, no fit.
            model_class.fit(**arrays, weights=np.zeros(n))
        except DataError as exc:
            if exc.column != "weights":
                raise
    columns = [np.asarray(arrays[name], dtype=np.float64) for name, _ in names]
    return _compress(columns, weights)


@contextmanager
def _rows_of(number: int) -> Iterator[None]:
    """A [`DataError`][relcore.errors.DataError] about rows of partition ``number`` says so."""
    try:
        yield
    except DataError as exc:
        place = f"rows of partition {number} of the frame"
        raise DataError(exc.column, f"{exc.problem} ({place})", exc.rows, exc.count) from None


def _compress(columns: list[FloatArray], weights: FloatArray) -> Rows:
    """Identical rows merged, their weights summed; rows sorted by the columns in order
    (the order the models' own compression gives, so the fit sees the same arrays)."""
    n = weights.size
    if n == 0:
        return columns, weights
    order = np.lexsort(columns[::-1])
    ordered = [c[order] for c in columns]
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for c in ordered:
        new[1:] |= c[1:] != c[:-1]
    starts = np.flatnonzero(new)
    return [c[starts] for c in ordered], np.add.reduceat(weights[order], starts)


def _merge(*tables: Rows) -> Rows:
    """Several partial tables as one compressed table."""
    columns = [np.concatenate(parts) for parts in zip(*(t[0] for t in tables), strict=True)]
    return _compress(columns, np.concatenate([t[1] for t in tables]))


def _survivors(data: Any, n_periods: int | None, split_every: int) -> FloatArray:
    """Survivors at the start of each period of a cohort, from customers' renewals."""
    series = data
    if data.ndim == 2:
        if "renewals" not in data.columns:
            raise DataError("renewals", f"is not a column of the frame ({list(data.columns)})")
        series = data["renewals"]
    if n_periods is not None and (int(n_periods) != n_periods or n_periods < 1):
        raise ValueError(f"n_periods must be a whole number >= 1, got {n_periods!r}")
    counts = [
        delayed(_renewal_counts)(part, n_periods, number)
        for number, part in enumerate(series.to_delayed())
    ]
    per_renewals = tree_reduce(counts, _add_counts, split_every)
    if n_periods is not None:
        per_renewals = np.concatenate([per_renewals, np.zeros(n_periods + 1 - per_renewals.size)])
    # customers still there at the start of period t: those who renewed t times or more
    survivors: FloatArray = np.cumsum(per_renewals[::-1])[::-1]
    return survivors


def _renewal_counts(part: Any, n_periods: int | None, number: int) -> FloatArray:
    """Customers per number of renewals in one partition."""
    with _rows_of(number):
        renewals = as_float(part.to_numpy(), "renewals", nonnegative=True, integer=True)
        if n_periods is not None:
            check_mask(
                "renewals", renewals > n_periods, f"more renewals than n_periods={n_periods}"
            )
    counts: FloatArray = np.bincount(renewals.astype(np.int64)).astype(np.float64)
    return counts


def _add_counts(*counts: FloatArray) -> FloatArray:
    total = np.zeros(max(c.size for c in counts))
    for c in counts:
        total[: c.size] += c
    return total
