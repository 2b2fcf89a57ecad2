"""The customer base at a glance: CDNOW purchases summarised for purchase models.

Run with ``python examples/01_customer_base.py``. It loads the bundled CDNOW log, looks at
one customer's history, and summarises every customer over the classic 39-week
calibration period with a 39-week holdout, in weeks.
"""

from __future__ import annotations

import numpy as np

from relcore import summarize
from relcore.datasets import load_cdnow


def main() -> None:
    log = load_cdnow()
    print(log)

    # One customer, without copying anything out of the log.
    one = log.for_customer("00005")
    days = one.times.astype("datetime64[D]")
    print(f"\ncustomer 00005: {len(one)} purchase records, ${one.value.sum():.2f} in all")
    print("  first days:", ", ".join(str(d) for d in days[:5]), "…")

    summary = summarize(log, period="W", observation_end="1998-06-30", calibration_end="1997-09-30")
    print(f"\n{summary}")
    assert summary.holdout_frequency is not None
    repeat = summary.frequency > 0
    print(f"repeat buyers in calibration: {repeat.mean():.1%}")
    print(f"mean repeat purchase-weeks per customer: {summary.frequency.mean():.3f}")

    # Do customers who bought more often in calibration buy more in the holdout? The raw
    # relationship every purchase model has to explain.
    print("\ncalibration purchase-weeks -> mean holdout purchase-weeks")
    for f in range(0, 7):
        group = summary.frequency == f
        print(f"  {f:>2}  {summary.holdout_frequency[group].mean():6.3f}  (n={group.sum():,})")
    many = summary.frequency >= 7
    print(f"  7+  {summary.holdout_frequency[many].mean():6.3f}  (n={many.sum():,})")

    top = np.argsort(-summary.monetary_value * summary.frequency)[:5]
    print("\nlargest repeat spenders in calibration:")
    for i in top:
        total = summary.monetary_value[i] * summary.frequency[i]
        print(f"  {summary.customer_id[i]}  {summary.frequency[i]:.0f} repeat weeks, ${total:,.2f}")


if __name__ == "__main__":
    main()
