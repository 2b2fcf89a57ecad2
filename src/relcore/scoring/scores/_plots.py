"""Plots of relationship scores (``plot`` extra; matplotlib is imported only when plotting)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..._plotting import axes as _axes
from ..._result import Labels, TableResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_score_distribution", "plot_segment_sizes"]


def _one_per_customer(values: Any, what: str) -> npt.NDArray[Any]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise TypeError(
            f"{what} must hold one value per customer (a 1-d array, a Series or a result "
            f"object), got {type(values).__name__} of shape {arr.shape}"
        )
    return arr


def plot_score_distribution(
    values: Any,
    *,
    ax: Axes | None = None,
    bins: int = 40,
    label: str | None = None,
    log_count: bool = False,
) -> Axes:
    """Histogram of a score across customers, with its mean and median marked.

    Parameters
    ----------
    values
        One score per customer (e.g. ``engagement(log, at).engagement``), or a score's
        result object (``engagement(log, at)``, ``fatigue(log, at)``…): its first column,
        the score named after the function.
    ax
        Axes to draw on (a new figure when ``None``).
    bins
        Histogram bins.
    label
        Name of the score, for the axis and title (default: the result's column name, or
        "score").
    log_count
        Logarithmic count axis (useful when most customers score 0).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if isinstance(values, TableResult):
        name, values = next(iter(values._table().columns.items()))
        label = name if label is None else label
    label = "score" if label is None else label
    arr = _one_per_customer(values, "values").astype(np.float64)
    finite = arr[np.isfinite(arr)]
    ax = _axes(ax, (6, 3.5))
    ax.hist(finite, bins=bins, color="tab:blue", alpha=0.8, edgecolor="white", linewidth=0.5)
    if finite.size:
        mean, median = float(finite.mean()), float(np.median(finite))
        ax.axvline(mean, color="tab:red", linewidth=1.5, label=f"mean {mean:.3g}")
        ax.axvline(median, color="tab:orange", linewidth=1.5, linestyle="--",
                   label=f"median {median:.3g}")  # fmt: skip
        ax.legend(frameon=False, fontsize=8)
    if log_count:
        ax.set_yscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("customers")
    ax.set_title(f"{label} across {arr.size:,} customers", fontsize=10)
    return ax


def plot_segment_sizes(
    labels: Any,
    *,
    ax: Axes | None = None,
    order: Sequence[str] | None = None,
    title: str = "Segments",
) -> Axes:
    """Horizontal bars: customers per segment (or stage, or class), with shares.

    Parameters
    ----------
    labels
        One label per customer (e.g. ``rfm_segments(summary).segment``), or a result
        object with labels (``rfm_segments(summary)``, ``lifecycle_stage(...)``,
        ``value_balance(...)``, ``fatigue(...)``'s saturation), whose label set also gives
        the default ``order``.
    ax
        Axes to draw on (a new figure when ``None``).
    order
        Labels in display order, top to bottom (default: by size); labels in ``order``
        with no customers show as empty bars.
    title
        Plot title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if isinstance(labels, TableResult):
        found_labels = [c for c in labels._table().columns.values() if isinstance(c, Labels)]
        if len(found_labels) != 1:
            raise TypeError(f"{type(labels).__name__} has no labels to count")
        labels, order = found_labels[0].values, order or found_labels[0].categories
    arr = _one_per_customer(labels, "labels")
    values, counts = np.unique(arr, return_counts=True)
    found = dict(zip(values.tolist(), counts.tolist(), strict=True))
    if order is None:
        names = [str(v) for v in values[np.argsort(-counts, kind="stable")]]
    else:
        names = list(order) + sorted(str(v) for v in found if v not in order)
    sizes = [int(found.get(n, 0)) for n in names]
    total = max(sum(sizes), 1)
    ax = _axes(ax, (6, 0.45 * len(names) + 1.2))
    y = np.arange(len(names))[::-1]
    ax.barh(y, sizes, color="tab:blue", alpha=0.85)
    ax.set_yticks(y, names)
    for yi, size in zip(y, sizes, strict=True):
        ax.text(size, yi, f" {size:,} ({size / total:.0%})", va="center", fontsize=8)
    ax.set_xlim(0, max([*sizes, 1]) * 1.25)
    ax.set_xlabel("customers")
    ax.set_title(f"{title} ({sum(sizes):,} customers)", fontsize=10)
    return ax
