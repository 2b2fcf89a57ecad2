"""``relcore demo``: a walk through relcore on the CDNOW purchases.

The classic set-up of Fader, Hardie & Lee (2005): the 23,570 customers who first bought
in the first quarter of 1997, a 39-week calibration period to 1997-09-30 and a 39-week
holdout period to 1998-06-30, in weeks.
"""

from __future__ import annotations

from typing import TextIO

import numpy as np

from .datasets import load_cdnow
from .models import EventLog
from .scoring import RFMSummary, summarize

CALIBRATION_END = "1997-09-30"
OBSERVATION_END = "1998-06-30"


def _heading(out: TextIO, title: str) -> None:
    print(f"\n{title}\n{'-' * len(title)}", file=out)


def _row(out: TextIO, label: str, value: str) -> None:
    print(f"  {label:<44}{value:>14}", file=out)


def section_customer_base(out: TextIO, log: EventLog, cal: RFMSummary) -> None:
    _heading(out, "Customer base")
    n = len(cal)
    repeat = cal.frequency > 0
    assert cal.holdout_frequency is not None
    active_holdout = cal.holdout_frequency > 0
    _row(out, "customers (first purchase in Q1 1997)", f"{n:,}")
    _row(out, "purchase records", f"{len(log):,}")
    _row(out, "total value", f"${log.value.sum():,.2f}")
    _row(out, "repeat buyers in calibration", f"{repeat.sum():,} ({repeat.mean():.1%})")
    _row(out, "repeat purchase-weeks in calibration", f"{cal.frequency.sum():,.0f}")
    _row(out, "  per customer", f"{cal.frequency.mean():.3f}")
    _row(out, "  per repeat buyer", f"{cal.frequency[repeat].mean():.3f}")
    _row(
        out,
        "mean value of a repeat week (repeat buyers)",
        f"${cal.monetary_value[repeat].mean():.2f}",
    )
    _row(
        out,
        "customers buying in the holdout period",
        f"{active_holdout.sum():,} ({active_holdout.mean():.1%})",
    )
    _row(out, "purchase-weeks in the holdout period", f"{cal.holdout_frequency.sum():,.0f}")
    counts = np.bincount(np.minimum(cal.frequency.astype(np.int64), 7), minlength=8)
    print("\n  repeat purchase-weeks in calibration:", file=out)
    labels = [str(i) for i in range(7)] + ["7+"]
    print("  " + "".join(f"{lab:>8}" for lab in labels), file=out)
    print("  " + "".join(f"{c:>8,}" for c in counts), file=out)


def run_demo(out: TextIO) -> None:
    """Print the demo to ``out``."""
    log = load_cdnow()
    cal = summarize(
        log, period="W", observation_end=OBSERVATION_END, calibration_end=CALIBRATION_END
    )
    print("relcore demo: CDNOW, customers who first bought in Q1 1997", file=out)
    print(
        f"calibration to {CALIBRATION_END} (39 weeks), holdout to {OBSERVATION_END} "
        "(39 weeks); one period = one week",
        file=out,
    )
    section_customer_base(out, log, cal)
