"""What every relcore plot shares: matplotlib imported on first use (``plot`` extra)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._optional import require

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax``, or the axes of a new figure of ``figsize`` inches."""
    if ax is not None:
        return ax
    plt = require("matplotlib.pyplot", "plot")
    _, new = plt.subplots(figsize=figsize)
    out: Axes = new
    return out
