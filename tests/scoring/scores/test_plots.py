"""Plots of scores, segments and lift (matplotlib's Agg backend, nothing shown)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from relcore.datasets import load_cdnow  # noqa: E402
from relcore.measurement import lift, plot_lift  # noqa: E402
from relcore.models import EventLog  # noqa: E402
from relcore.scoring import (  # noqa: E402
    engagement,
    lifecycle_stage,
    plot_score_distribution,
    plot_segment_sizes,
    rfm_segments,
    summarize,
)

AT = datetime(2026, 6, 1, tzinfo=UTC)


def top_to_bottom(ax):
    ticks = [(t.get_position()[1], t.get_text()) for t in ax.get_yticklabels()]
    return [text for _, text in sorted(ticks, reverse=True)]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_score_distribution_histogram_counts_every_customer():
    values = np.r_[np.zeros(30), np.linspace(0.1, 0.9, 70)]
    ax = plot_score_distribution(values, bins=10, label="engagement")
    assert isinstance(ax, Axes)
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights) == 100
    assert "100 customers" in ax.get_title()


def test_segment_sizes_follow_the_given_order_and_show_empty_segments():
    ax = plot_segment_sizes(["b", "a", "a"], order=("a", "b", "c"), title="T")
    assert top_to_bottom(ax) == ["a", "b", "c"]
    assert sorted(p.get_width() for p in ax.patches) == [0, 1, 2]


def test_result_objects_plot_themselves_on_given_axes():
    _, axes = plt.subplots(1, 3)
    log = EventLog.from_arrays(["a", "b"], [AT, AT], kind="visit", initiator="customer")
    assert engagement(log, AT).plot(ax=axes[0]) is axes[0]
    cal = summarize(
        load_cdnow(), period="W", observation_end="1998-06-30", calibration_end="1997-09-30"
    )
    assert rfm_segments(cal).plot(ax=axes[1]) is axes[1]
    ax = lifecycle_stage(cal).plot(ax=axes[2])
    assert top_to_bottom(ax) == ["new", "active", "at-risk", "lapsed"]


def test_lift_plot_shows_the_interval_around_the_estimate():
    r = lift([3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0])
    ax = plot_lift(r)
    lo, hi = ax.get_xlim()
    assert lo <= min(0.0, r.difference_ci[0])
    assert hi >= r.difference_ci[1]
    assert "p =" in ax.get_title()
    ratio_ax = r.plot(scale="ratio")
    assert ratio_ax.get_xlabel() == "treated / control"
    with pytest.raises(ValueError, match="scale"):
        plot_lift(r, scale="log")


def test_segment_sizes_of_a_result_object_count_its_customers_in_its_order():
    summary = summarize(
        load_cdnow(), period="W", observation_end="1998-06-30", calibration_end="1997-09-30"
    )
    segments = rfm_segments(summary)
    ax = plot_segment_sizes(segments)
    assert f"{len(summary):,} customers" in ax.get_title()
    assert top_to_bottom(ax) == list(segments.counts())
    bars = sorted(ax.patches, key=lambda p: -p.get_y())
    drawn = dict(zip(top_to_bottom(ax), (b.get_width() for b in bars), strict=True))
    assert drawn == segments.counts()
    stages = lifecycle_stage(summary)
    ax = plot_segment_sizes(stages)
    assert top_to_bottom(ax) == list(stages.counts())


def test_score_distribution_of_a_result_object_plots_its_score():
    log = EventLog.from_arrays(
        ["a", "a", "b"], [AT.replace(day=d) for d in (1, 2, 3)], kind="visit",
        initiator="customer",
    )  # fmt: skip
    scores = engagement(log, AT)
    ax = plot_score_distribution(scores, bins=5)
    assert sum(p.get_height() for p in ax.patches) == 2
    assert ax.get_xlabel() == "engagement"


def test_plots_refuse_a_table_instead_of_one_label_per_customer():
    summary = summarize(
        load_cdnow(), period="W", observation_end="1998-06-30", calibration_end="1997-09-30"
    )
    with pytest.raises(TypeError, match="one value per customer"):
        plot_segment_sizes(rfm_segments(summary).to_pandas())
