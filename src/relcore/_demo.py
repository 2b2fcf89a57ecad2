"""``relcore demo``: a walk through relcore on the CDNOW purchases.

The classic set-up of Fader, Hardie & Lee (2005): the 23,570 customers who first bought
in the first quarter of 1997, a 39-week calibration period to 1997-09-30 and a 39-week
holdout period to 1998-06-30, in weeks.
"""

from __future__ import annotations

from typing import TextIO

import numpy as np

from .datasets import load_cdnow
from .models import Categorical, EventLog
from .scoring import (
    BGNBD,
    MBGNBD,
    GammaGamma,
    RFMSummary,
    also_bought,
    customer_lifetime_value,
    lifecycle_stage,
    rfm_segments,
    summarize,
)

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


def _synthetic_baskets(seed: int = 7) -> EventLog:
    """A made-up record shop (CDNOW records no items): 2,000 customers with one of three
    tastes, each buying 2-6 albums mostly from their taste's shelf."""
    rng = np.random.default_rng(seed)
    shelves = (
        ("jazz: Kind of Blue", "jazz: A Love Supreme", "jazz: Mingus Ah Um", "jazz: Time Out"),
        ("rock: Abbey Road", "rock: Rumours", "rock: Led Zeppelin IV", "rock: Nevermind"),
        ("classical: Goldberg Variations", "classical: The Four Seasons",
         "classical: Symphony No. 9", "classical: Clair de Lune"),
    )  # fmt: skip
    items = tuple(sorted(title for shelf in shelves for title in shelf))
    code = {title: i for i, title in enumerate(items)}
    n_customers = 2_000
    taste = rng.integers(0, len(shelves), n_customers)
    n_buys = rng.integers(2, 7, n_customers)
    customer = np.repeat(np.arange(n_customers), n_buys)
    own_shelf = rng.random(customer.size) < 0.8
    shelf = np.where(own_shelf, taste[customer], rng.integers(0, len(shelves), customer.size))
    pick = rng.integers(0, 4, customer.size)
    table = np.array([[code[t] for t in s] for s in shelves])
    item = table[shelf, pick].astype(np.int8)
    at = np.full(customer.size, np.datetime64("1997-06-01", "us"))
    return EventLog.from_arrays(customer, at, timezone="UTC", item=Categorical(item, items))


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def section_models(out: TextIO, cal: RFMSummary) -> None:
    """Fit BG/NBD and Gamma-Gamma on the calibration period; test on the holdout."""
    assert cal.holdout_frequency is not None
    assert cal.holdout_duration is not None
    model = BGNBD.fit(cal)
    _heading(out, "Purchase model: BG/NBD fitted on the calibration period (weeks)")
    print(_indent(str(model.summary())), file=out)

    predicted = model.expected_purchases(cal.holdout_duration, cal.frequency, cal.recency, cal.T)
    actual = cal.holdout_frequency
    print(f"\n  holdout ({cal.holdout_duration[0]:.0f} weeks): repeat purchase-weeks", file=out)
    _row(out, "predicted", f"{predicted.sum():,.0f}")
    _row(out, "actual", f"{actual.sum():,.0f}")
    _row(out, "error of the total", f"{predicted.sum() / actual.sum() - 1:+.1%}")
    _row(out, "mean absolute error per customer", f"{np.abs(predicted - actual).mean():.3f}")
    naive = cal.frequency * cal.holdout_duration / np.maximum(cal.T, 1.0)
    _row(out, "  (same rate as in calibration: MAE)", f"{np.abs(naive - actual).mean():.3f}")

    repeat = (cal.frequency > 0) & (cal.monetary_value > 0)
    spend = GammaGamma.fit(
        frequency=cal.frequency[repeat], monetary_value=cal.monetary_value[repeat]
    )
    _heading(out, "Spend model: Gamma-Gamma on the repeat buyers")
    print(_indent(str(spend.summary())), file=out)
    corr = spend.frequency_monetary_correlation
    if corr is not None:
        print(f"  frequency/spend correlation {corr:+.3f} (the model assumes ~0)", file=out)

    clv = customer_lifetime_value(model, spend, cal, months=12, monthly_discount_rate=0.01).clv
    _heading(out, "Top 10 customers by 12-month lifetime value (1% monthly discount)")
    print(f"  {'customer':<10}{'repeat weeks':>13}{'mean spend':>12}{'P(alive)':>10}"
          f"{'CLV':>12}{'actual next 39 wk':>19}", file=out)  # fmt: skip
    alive = model.p_alive(cal.frequency, cal.recency, cal.T)
    for i in np.argsort(-clv, kind="stable")[:10]:
        print(
            f"  {cal.customer_id[i]!s:<10}{cal.frequency[i]:>13.0f}"
            f"{cal.monetary_value[i]:>12.2f}{alive[i]:>10.2f}{clv[i]:>12,.2f}"
            f"{actual[i]:>13.0f} weeks",
            file=out,
        )
    print(
        "  a high value is a reason to serve these customers well, not to contact them more",
        file=out,
    )


def section_relationship(out: TextIO, log: EventLog, cal: RFMSummary) -> None:
    """Lifecycle stages and RFM segments of the CDNOW cohort; an also-bought example."""
    assert cal.holdout_frequency is not None
    bought_later = cal.holdout_frequency > 0
    # BG/NBD's P(alive) is 1 for every customer without a repeat purchase (they can only
    # drop out after one), which would call 14,000 one-time buyers "active". MBG/NBD lets
    # them drop out too, so its P(alive) is the one to stage customers by.
    staging = MBGNBD.fit(cal)
    p_alive = staging.p_alive(cal.frequency, cal.recency, cal.T)
    stages = lifecycle_stage(cal, p_alive)
    _heading(out, f"Lifecycle stage at {CALIBRATION_END} (by MBG/NBD P(alive))")
    print("  active: P(alive) >= 0.7; lapsed: < 0.3; new: first purchase within 90 days", file=out)
    print("  (MBG/NBD, because BG/NBD calls every one-time buyer alive)", file=out)
    print(f"  {'stage':<16}{'customers':>12}{'share':>9}{'bought again in holdout':>27}", file=out)
    for stage, count in stages.counts().items():
        mask = stages.lifecycle_stage == stage
        again = f"{bought_later[mask].mean():.1%}" if count else "-"
        print(f"  {stage:<16}{count:>12,}{count / len(cal):>9.1%}{again:>27}", file=out)

    segments = rfm_segments(cal)
    _heading(out, f"RFM segments at {CALIBRATION_END} (quintiles)")
    print(
        f"  {'segment':<16}{'customers':>12}{'share':>9}{'bought again in holdout':>27}", file=out
    )
    for name, count in segments.counts().items():
        mask = segments.segment == name
        again = f"{bought_later[mask].mean():.1%}" if count else "-"
        print(f"  {name:<16}{count:>12,}{count / len(cal):>9.1%}{again:>27}", file=out)

    baskets = _synthetic_baskets()
    pairs = also_bought(baskets, top_k=3, min_count=20)
    _heading(out, "Also bought (SYNTHETIC record-shop baskets: CDNOW has no items)")
    print(f"  {pairs.n_baskets:,} made-up customers, 3 tastes, seed 7", file=out)
    for item in ("jazz: Kind of Blue", "rock: Nevermind"):
        print(f"  customers who bought {item!r} also bought:", file=out)
        for other, _support, confidence, lift in pairs.for_item(item):
            print(f"    {other:<34} confidence {confidence:5.1%}   lift {lift:4.2f}", file=out)


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
    section_models(out, cal)
    section_relationship(out, log, cal)
