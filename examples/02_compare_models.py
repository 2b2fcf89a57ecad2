# %% [markdown]
# # Comparing purchase models on CDNOW
#
# A notebook in script form (``# %%`` cells open as a notebook in Jupyter or VS Code);
# run it with ``python examples/02_compare_models.py [OUTPUT_DIR]``. Diagnostic plots are
# saved as PNG files in OUTPUT_DIR (default: the ``RELCORE_EXAMPLE_OUTPUT`` environment
# variable, else a temporary directory) when matplotlib is installed.
#
# The set-up is that of Fader, Hardie & Lee (2005): the 23,570 customers who first bought
# at CDNOW in the first quarter of 1997, 39 weeks of calibration and 39 weeks of holdout.

# %%
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from relcore.datasets import load_cdnow, load_cdnow_summary, load_donations
from relcore.scoring import (
    BGBB,
    BGNBD,
    MBGNBD,
    GammaGamma,
    ParetoNBD,
    ShiftedBetaGeometric,
    customer_lifetime_value,
    summarize,
)
from relcore.scoring import diagnostics as diag

log = load_cdnow()
cal = summarize(log, period="W", observation_end="1998-06-30", calibration_end="1997-09-30")
assert cal.holdout_frequency is not None
assert cal.holdout_duration is not None
print(cal)

# %% [markdown]
# ## Three models of "buy till you die"
#
# Fit each on the calibration period and predict each customer's purchases in the 39
# holdout weeks. The total tells whether a model gets the base right; the per-customer
# mean absolute error whether it ranks customers well.

# %%
models = {"BG/NBD": BGNBD.fit(cal), "MBG/NBD": MBGNBD.fit(cal), "Pareto/NBD": ParetoNBD.fit(cal)}
actual = cal.holdout_frequency
print(f"\n{'model':<12}{'log-lik':>12}{'predicted':>11}{'actual':>9}{'MAE':>8}")
for name, model in models.items():
    predicted = model.expected_purchases(cal.holdout_duration, cal.frequency, cal.recency, cal.T)
    mae = np.abs(predicted - actual).mean()
    print(
        f"{name:<12}{model.log_likelihood:>12,.1f}{predicted.sum():>11,.0f}"
        f"{actual.sum():>9,.0f}{mae:>8.3f}"
    )

# %% [markdown]
# The models agree closely on who will buy. Where they differ is P(alive) for customers who
# never came back: BG/NBD says they are all alive (drop-out happens only after a purchase).

# %%
one_timers = cal.frequency == 0
for name, model in models.items():
    alive = model.p_alive(cal.frequency, cal.recency, cal.T)
    print(f"{name:<12} mean P(alive) of one-time buyers: {alive[one_timers].mean():.2f}")
print(
    f"{'(actual)':<12} share of them buying in the holdout: {(actual[one_timers] > 0).mean():.2f}"
)

# %% [markdown]
# ## The published estimates
#
# On the 1/10th sample of the paper, in weeks, relcore reproduces the published parameters.

# %%
sample = load_cdnow_summary()
print("\nBG/NBD    ", {k: round(v, 3) for k, v in BGNBD.fit(sample).params.items()})
print("  published  r=0.243, alpha=4.414, a=0.793, b=2.426")
print("Pareto/NBD", {k: round(v, 3) for k, v in ParetoNBD.fit(sample).params.items()})
print("  published  r=0.553, alpha=10.578, s=0.606, beta=11.669")
repeat = sample.frequency > 0
spend = GammaGamma.fit(
    frequency=sample.frequency[repeat], monetary_value=sample.monetary_value[repeat]
)
print("Gamma-Gamma", {k: round(v, 2) for k, v in spend.params.items()})
print("  published  p=6.25, q=3.74, gamma=15.44")
print("BG/BB     ", {k: round(v, 3) for k, v in BGBB.fit(**load_donations()).params.items()})
print("  published  alpha=1.204, beta=0.750, gamma=0.657, delta=2.783")
regular = ShiftedBetaGeometric.fit([1000, 631, 468, 382, 326, 289, 262, 241])
print("sBG       ", {k: round(v, 3) for k, v in regular.params.items()})
print("  published  alpha=0.704, beta=1.182")
years = np.arange(8, 13)
projected = 1000 * regular.survival(years)
print("  survivors in years 8-12, projected:", np.round(projected).astype(int).tolist())
print("  survivors in years 8-12, actual:   ", [223, 207, 194, 183, 173])

# %% [markdown]
# ## Lifetime value
#
# BG/NBD for the purchases, Gamma-Gamma for the spend, twelve months at 1% a month. The
# summary knows its period is a week, so the months come out right.

# %%
bgnbd = models["BG/NBD"]
buyers = (cal.frequency > 0) & (cal.monetary_value > 0)
cdnow_spend = GammaGamma.fit(
    frequency=cal.frequency[buyers], monetary_value=cal.monetary_value[buyers]
)
clv = customer_lifetime_value(bgnbd, cdnow_spend, cal, months=12).clv
print(f"\n12-month value of the cohort: ${clv.sum():,.0f}; top decile holds "
      f"{np.sort(clv)[-len(clv) // 10:].sum() / clv.sum():.0%} of it")  # fmt: skip

# %% [markdown]
# ## Diagnostics
#
# Saved as PNG files; open them.

# %%
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
    print("\nmatplotlib is not installed (pip install 'relcore[plot]'): no plots")

if plt is not None:
    default = os.environ.get("RELCORE_EXAMPLE_OUTPUT") or tempfile.mkdtemp(prefix="relcore-")
    out = Path(sys.argv[1] if len(sys.argv) > 1 else default)
    out.mkdir(parents=True, exist_ok=True)
    tracking = diag.purchase_tracking(
        bgnbd, log, period="W", observation_end="1998-06-30", calibration_end="1997-09-30"
    )
    plots = {
        "calibration_vs_holdout": lambda: diag.plot_calibration_vs_holdout(bgnbd, cal),
        "cumulative_transactions": lambda: diag.plot_cumulative_transactions(tracking),
        "incremental_transactions": lambda: diag.plot_incremental_transactions(tracking),
        "frequency_recency_matrix": lambda: diag.plot_frequency_recency_matrix(bgnbd, T=39, t=39),
        "probability_alive_matrix": lambda: diag.plot_probability_alive_matrix(bgnbd, T=39),
        "period_transactions": lambda: diag.plot_period_transactions(bgnbd, cal),
    }
    for name, draw in plots.items():
        ax = draw()
        ax.figure.tight_layout()
        ax.figure.savefig(out / f"{name}.png", dpi=90)
        plt.close(ax.figure)
    print(f"\n{len(plots)} plots saved in {out}")
