"""Model diagnostics: the tables agree with their definitions; the plots draw them."""

import numpy as np
import pytest

from relcore import DataError
from relcore.datasets import load_cdnow
from relcore.scoring import BGNBD, ParetoNBD, summarize
from relcore.scoring import diagnostics as d

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

# Published CDNOW estimates (weekly), used as known parameters.
MODEL = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)


@pytest.fixture(scope="module")
def log():
    return load_cdnow()


@pytest.fixture(scope="module")
def weekly(log):
    return summarize(log, period="W", observation_end="1998-06-30", calibration_end="1997-09-30")


def test_calibration_vs_holdout_groups_customers_by_calibration_frequency(weekly):
    table = d.calibration_vs_holdout(MODEL, weekly, max_frequency=5)
    expected = MODEL.expected_purchases(
        weekly.holdout_duration, weekly.frequency, weekly.recency, weekly.T
    )
    for i in range(6):
        group = weekly.frequency == i if i < 5 else weekly.frequency >= 5
        assert table.customers[i] == group.sum()
        assert table.actual[i] == pytest.approx(weekly.holdout_frequency[group].mean())
        assert table.expected[i] == pytest.approx(expected[group].mean())


def test_calibration_vs_holdout_needs_a_holdout(log):
    plain = summarize(log, period="W", observation_end="1998-06-30")
    with pytest.raises(DataError, match="calibration_end"):
        d.calibration_vs_holdout(MODEL, plain)


def test_daily_tracking_adds_up_to_the_summaries(log):
    daily = summarize(log, period="D", observation_end="1998-06-30", calibration_end="1997-09-30")
    whole = summarize(log, period="D", observation_end="1998-06-30")
    model = BGNBD(r=0.25, alpha=30.0, a=0.8, b=2.4)  # daily-scale parameters
    tr = d.purchase_tracking(
        model, log, period="D", observation_end="1998-06-30", calibration_end="1997-09-30"
    )
    k = tr.calibration_periods - 1
    # With daily periods and a date as calibration end, periods and instants agree:
    assert tr.actual_cumulative[k] == daily.frequency.sum()
    # every CDNOW customer first bought in the calibration period, so all are tracked:
    assert tr.actual_cumulative[-1] == whole.frequency.sum()
    # the cohort's expected total is each customer's expected repeat purchases by age T:
    assert tr.expected_cumulative[k] == pytest.approx(
        model.expected_purchases_new(daily.T).sum(), rel=1e-9
    )
    assert tr.expected_cumulative[-1] == pytest.approx(
        model.expected_purchases_new(whole.T).sum(), rel=1e-9
    )
    assert str(tr.period_start[0].astype("datetime64[D]")) == "1997-01-01"


@pytest.mark.parametrize("model", [MODEL, ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669)])
def test_matrices_hold_the_model_on_the_grid_and_nothing_where_no_customer_can_be(model):
    ax = d.plot_probability_alive_matrix(model, T=39, max_frequency=10)
    grid = np.asarray(ax.images[0].get_array(), dtype=float)
    assert grid.shape == (11, 40)
    assert grid[0, 0] == pytest.approx(float(model.p_alive([0], [0], [39])[0]))
    assert np.isnan(grid[0, 1:]).all()  # frequency 0 with recency > 0
    assert grid[4, 30] == pytest.approx(float(model.p_alive([4], [30], [39])[0]))
    ax = d.plot_frequency_recency_matrix(model, T=39, t=10, max_frequency=10, max_recency=20)
    grid = np.asarray(ax.images[0].get_array(), dtype=float)
    assert grid.shape == (11, 21)
    assert grid[3, 20] == pytest.approx(float(model.expected_purchases(10, [3], [20], [39])[0]))


def test_period_transactions_plots_actual_counts_beside_simulated_ones(weekly):
    ax = d.plot_period_transactions(MODEL, weekly, max_frequency=4, rng=1)
    heights = [p.get_height() for p in ax.patches]
    actual = np.bincount(np.minimum(weekly.frequency, 4).astype(int), minlength=5)
    assert heights[:5] == actual.tolist()
    assert sum(heights[5:]) == len(weekly)


def test_tracking_and_calibration_plots_draw_both_curves(log, weekly):
    ax = d.plot_calibration_vs_holdout(MODEL, weekly)
    assert [line.get_label() for line in ax.get_lines()] == ["actual", "model"]
    tr = d.purchase_tracking(
        MODEL, log, period="W", observation_end="1998-06-30", calibration_end="1997-09-30"
    )
    for plot in (d.plot_cumulative_transactions, d.plot_incremental_transactions):
        ax = plot(tr)
        assert {"actual", "model"} <= {line.get_label() for line in ax.get_lines()}


def test_tracking_plot_leaves_the_other_subplots_tick_labels_alone(log):
    import matplotlib.pyplot as plt

    tr = d.purchase_tracking(
        MODEL, log, period="W", observation_end="1998-06-30", calibration_end="1997-09-30"
    )
    fig, (mine, theirs) = plt.subplots(2, 1)
    mine.plot([1, 2, 3], [4, 5, 6])
    d.plot_cumulative_transactions(tr, ax=theirs)
    fig.canvas.draw()
    # figure.autofmt_xdate() hides every x tick label above the bottom row and rotates
    # the rest: the user's upper subplot must keep its labels, upright
    labels = [t for t in mine.get_xticklabels() if t.get_text()]
    assert labels
    assert all(t.get_visible() and t.get_rotation() == 0 for t in labels)
    plt.close(fig)
