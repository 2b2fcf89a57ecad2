# %% [markdown]
# # From a DataFrame of transactions to scores joined back to your customers
#
# A notebook in script form (``# %%`` cells open as a notebook in Jupyter or VS Code);
# run it with ``python examples/07_notebook_workflow.py [OUTPUT_DIR]``. It needs the
# ``pandas`` and ``polars`` extras; plots are saved as PNG files in OUTPUT_DIR (default:
# the ``RELCORE_EXAMPLE_OUTPUT`` environment variable, else a temporary directory) when
# matplotlib is installed.
#
# The workflow, first with pandas and then with polars: transactions in a DataFrame ->
# per-customer summary -> fitted purchase and spend models -> one table of predictions
# keyed by customer id -> joined to the customer table of a CRM -> plots. The data are
# CDNOW's (Fader, Hardie & Lee 2005): 23,570 customers with ids such as ``"00001"``, 39
# weeks of calibration and 39 weeks of holdout to check the predictions against.

# %%
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from relcore.datasets import load_cdnow
from relcore.models import EventLog
from relcore.scoring import BGNBD, GammaGamma, diagnostics, rfm_segments, summarize

OBSERVATION_END, CALIBRATION_END = "1998-06-30", "1997-09-30"

# The transactions as a shop would export them: one row per purchase, string ids.
transactions = load_cdnow().to_pandas()[["customer_id", "at", "value"]]
print(transactions.head(3))

# The CRM's customer table, keyed by the same ids (a made-up region per customer).
ids = transactions["customer_id"].unique()
regions = np.array(["north", "east", "south", "west"])
crm = pd.DataFrame(
    {"region": regions[np.arange(ids.size) % 4]}, index=pd.Index(ids, name="customer_id")
)

# %% [markdown]
# ## pandas

# %%
log = EventLog.from_pandas(transactions, value="value")
summary = summarize(
    log, period="W", observation_end=OBSERVATION_END, calibration_end=CALIBRATION_END
)
print(f"\n{summary}")

# Customers can be dropped or picked before a fit, like rows of a DataFrame: here the
# spend model sees only the repeat buyers with a positive spend.
buyers = summary[(summary.frequency > 0) & (summary.monetary_value > 0)]
purchases = BGNBD.fit(summary)
spend = GammaGamma.fit(buyers)
print(purchases.summary())

# One table: P(alive), purchases expected over the 39 holdout weeks, expected spend per
# purchase and 12-month lifetime value, indexed by customer id, joined to the CRM.
predictions = purchases.predict(summary, horizon=39, spend_model=spend)
print(f"\n{predictions!r}")
table = crm.join(predictions.to_pandas(), how="inner")
table = table.join(summary.to_pandas()[["holdout_frequency"]])
top = table.sort_values("clv", ascending=False).head(5)
print("\ntop customers by 12-month lifetime value:")
print(top[["region", "p_alive", "expected_purchases", "clv"]].round(3).to_string())

# The check of any forecast: what the holdout weeks brought, region by region.
by_region = table.groupby("region")[["expected_purchases", "holdout_frequency"]].sum()
print("\nholdout repeat purchase-weeks by region, expected vs actual:")
for region, row in by_region.iterrows():
    ratio = row["expected_purchases"] / row["holdout_frequency"]
    print(
        f"  {region:<6} expected {row['expected_purchases']:8,.0f}  actual "
        f"{row['holdout_frequency']:8,.0f}  ratio {ratio:.3f}"
    )

# %% [markdown]
# ## polars
#
# The same steps with polars: ids come back as a ``customer_id`` column (polars has no
# index) and join on it.

# %%
transactions_pl = pl.from_pandas(transactions)
crm_pl = pl.from_pandas(crm.reset_index())
summary_pl = summarize(
    EventLog.from_polars(transactions_pl, value="value"),
    period="W",
    observation_end=OBSERVATION_END,
    calibration_end=CALIBRATION_END,
)
predictions_pl = purchases.predict(summary_pl, horizon=39, spend_model=spend).to_polars()
table_pl = crm_pl.join(predictions_pl, on="customer_id", how="inner")
print(table_pl.sort("clv", descending=True).head(5))

# The two routes give the same customers and the same numbers.
pandas_route = table.reset_index().sort_values("customer_id")
polars_route = table_pl.sort("customer_id")
same = pandas_route["customer_id"].tolist() == polars_route["customer_id"].to_list() and all(
    np.array_equal(pandas_route[c].to_numpy(), polars_route[c].to_numpy())
    for c in ("p_alive", "expected_purchases", "expected_average_value", "clv")
)
print(f"\npandas and polars routes agree: {same}")

# %% [markdown]
# ## Plots
#
# Each plot draws on the axes it is given, so they share one figure.

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
    tracking = diagnostics.purchase_tracking(
        purchases,
        log,
        period="W",
        observation_end=OBSERVATION_END,
        calibration_end=CALIBRATION_END,
    )
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    rfm_segments(summary).plot(ax=axes[0, 0])
    table["clv"].plot.hist(bins=40, log=True, ax=axes[0, 1], title="12-month lifetime value")
    diagnostics.plot_calibration_vs_holdout(purchases, summary, ax=axes[1, 0])
    diagnostics.plot_cumulative_transactions(tracking, ax=axes[1, 1])
    fig.tight_layout()
    fig.savefig(out / "notebook_workflow.png", dpi=80)
    plt.close(fig)
    print(f"\nplots saved in {out / 'notebook_workflow.png'}")
