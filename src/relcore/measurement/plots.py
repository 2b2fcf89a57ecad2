"""Plots of lift estimates (``plot`` extra; matplotlib is imported only when plotting).

This module knows a lift result only by the attributes it draws (`_Lift`), so that
``lift`` can offer ``LiftResult.plot`` without the two modules importing each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

from .._plotting import axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_lift"]


class _Lift(Protocol):
    """What [`plot_lift`][relcore.measurement.plot_lift] reads of a
    [`LiftResult`][relcore.measurement.LiftResult]."""

    @property
    def kind(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def n_treated(self) -> int: ...
    @property
    def n_control(self) -> int: ...
    @property
    def difference(self) -> float: ...
    @property
    def difference_ci(self) -> tuple[float, float]: ...
    @property
    def ratio(self) -> float: ...
    @property
    def ratio_ci(self) -> tuple[float, float]: ...
    @property
    def p_value(self) -> float: ...
    @property
    def significant(self) -> bool: ...


def plot_lift(
    result: _Lift,
    *,
    ax: Axes | None = None,
    scale: Literal["difference", "ratio"] = "difference",
) -> Axes:
    """The lift estimate as a point with its confidence interval, against "no effect".

    Parameters
    ----------
    result
        From [`lift`][relcore.measurement.lift].
    ax
        Axes to draw on (a new figure when ``None``).
    scale
        ``"difference"`` (no effect at 0) or ``"ratio"`` (no effect at 1).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if scale not in ("difference", "ratio"):
        raise ValueError(f"scale must be 'difference' or 'ratio', got {scale!r}")
    ax = axes(ax, (6, 2.2))
    if scale == "difference":
        est, (lo, hi), null = result.difference, result.difference_ci, 0.0
        label = "treated - control"
    else:
        est, (lo, hi), null = result.ratio, result.ratio_ci, 1.0
        label = "treated / control"
    colour = "tab:green" if result.significant else "tab:grey"
    ax.axvline(null, color="black", linewidth=1, linestyle="--", label="no effect")
    ax.errorbar(
        [est], [0], xerr=[[est - lo], [hi - est]], fmt="o", color=colour, capsize=6,
        markersize=8, linewidth=2, label=f"{round(result.confidence * 100)}% interval",
    )  # fmt: skip
    ax.set_yticks([])
    ax.set_ylim(-1, 1)
    ax.set_xlabel(label)
    ax.set_title(
        f"{result.kind} lift: {est:.4g} [{lo:.4g}, {hi:.4g}], p = {result.p_value:.3g} "
        f"(n = {result.n_treated:,} vs {result.n_control:,})",
        fontsize=9,
    )
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9, ncol=2)
    return ax
