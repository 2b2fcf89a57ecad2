"""A 360-degree customer view and a holdout test, end to end, on synthetic data.

    PYTHONPATH=src python examples/04_customer_view_and_holdout.py [OUTPUT_DIR]

1. Simulate six months of a multi-channel relationship (seeded): our emails and SMS,
   the customers' replies, store visits and web purchases, discounts given.
2. Look at one customer across every channel, and at everyone's engagement and fatigue.
3. Plan and run a holdout test of a thank-you gift to loyal repeat buyers, and measure
   its lift with confidence intervals.

With OUTPUT_DIR (or the RELCORE_EXAMPLE_OUTPUT environment variable), plots are saved there
as PNG files (needs matplotlib).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from relcore.measurement import assign_holdout, lift, minimum_detectable_effect, sample_size
from relcore.models import Categorical, EventLog
from relcore.scoring import (
    customer_view,
    customer_views,
    engagement,
    fatigue,
    repeat_customers,
    summarize,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
DAYS = 182
KINDS = ("complaint", "message", "purchase", "response", "visit")
CHANNELS = ("email", "sms", "store", "web")


def simulate(n_customers: int = 5_000, seed: int = 2026) -> EventLog:
    """Each customer has a taste for us (how often they visit and buy) and a contact
    cadence we chose; replies become rarer the more often we write."""
    rng = np.random.default_rng(seed)
    taste = rng.gamma(1.5, 1.0, n_customers)  # relative activity
    cadence = rng.choice([0.5, 1.0, 2.0, 4.0], n_customers)  # our emails per week
    start = np.datetime64(NOW.replace(tzinfo=None), "us") - np.timedelta64(DAYS, "D")
    rows: dict[str, list[np.ndarray]] = {
        k: [] for k in ("cust", "day", "kind", "ch", "val", "gift")
    }

    def add(cust, day, kind, channel, value=None, gift=None):
        n = cust.size
        rows["cust"].append(cust)
        rows["day"].append(day)
        rows["kind"].append(np.full(n, KINDS.index(kind), dtype=np.int8))
        rows["ch"].append(np.full(n, CHANNELS.index(channel), dtype=np.int8))
        rows["val"].append(np.zeros(n) if value is None else value)
        rows["gift"].append(np.zeros(n) if gift is None else gift)

    weeks = DAYS / 7
    n_mail = rng.poisson(cadence * weeks)
    mail_cust = np.repeat(np.arange(n_customers), n_mail)
    mail_day = rng.uniform(0, DAYS, mail_cust.size)
    add(mail_cust, mail_day, "message", "email")
    # Reply probability per email falls with cadence: 0.25 * exp(-cadence / 1.5).
    p_reply = 0.25 * np.exp(-cadence[mail_cust] / 1.5) * np.minimum(taste[mail_cust], 2) / 2
    replied = rng.random(mail_cust.size) < p_reply
    add(mail_cust[replied], mail_day[replied] + rng.exponential(0.5, replied.sum()),
        "response", "email")  # fmt: skip
    sms_cust = np.flatnonzero(rng.random(n_customers) < 0.3)
    sms_n = rng.poisson(4, sms_cust.size)
    sms_c = np.repeat(sms_cust, sms_n)
    add(sms_c, rng.uniform(0, DAYS, sms_c.size), "message", "sms")
    visit_c = np.repeat(np.arange(n_customers), rng.poisson(taste * 3))
    add(visit_c, rng.uniform(0, DAYS, visit_c.size), "visit", "store")
    buy_c = np.repeat(np.arange(n_customers), rng.poisson(taste * 2))
    spend = rng.gamma(2.0, 25.0, buy_c.size)
    add(buy_c, rng.uniform(0, DAYS, buy_c.size), "purchase", "web", value=spend,
        gift=np.where(rng.random(buy_c.size) < 0.2, 0.1 * spend, 0.0))  # fmt: skip
    sore = np.flatnonzero((cadence >= 4) & (rng.random(n_customers) < 0.05))
    add(sore, rng.uniform(DAYS - 60, DAYS, sore.size), "complaint", "email")

    day = np.concatenate(rows["day"])
    keep = day < DAYS  # replies that would land after NOW are not in the log yet
    at = start + (day[keep] * 86_400e6).astype("timedelta64[us]")
    initiator = np.array([0, 1, 0, 0, 0], dtype=np.int8)  # company only sends messages
    kind = np.concatenate(rows["kind"])[keep]
    return EventLog.from_arrays(
        np.array([f"c{i:05d}" for i in np.concatenate(rows["cust"])[keep]]),
        at,
        timezone="UTC",
        kind=Categorical(kind, KINDS),
        channel=Categorical(np.concatenate(rows["ch"])[keep], CHANNELS),
        initiator=Categorical(
            np.where(kind == KINDS.index("purchase"), -1, initiator[kind]).astype(np.int8),
            ("customer", "company"),
        ),
        value=np.concatenate(rows["val"])[keep],
        value_to_customer=np.concatenate(rows["gift"])[keep],
    )


def main(out_dir: str | None) -> None:
    log = simulate()
    print(f"Simulated {log!r}\n")

    # --- one customer, every channel ------------------------------------------------
    views = customer_views(log, NOW)
    busiest = views.customer_id[int(np.argmax(views.events))]
    print(customer_view(log, busiest, NOW), "\n")

    eng = engagement(log, NOW)
    fat = fatigue(log, NOW)
    print(f"engagement: median {np.median(eng.engagement):.2f}, "
          f"top decile above {np.quantile(eng.engagement, 0.9):.2f}")  # fmt: skip
    for curve in fat.response_curves:
        if np.isfinite(curve.recommended_frequency):
            print(f"{curve.channel}: weekly replies peak near "
                  f"{curve.recommended_frequency:.2f} contacts per week")  # fmt: skip
    print("saturation:", fat.saturation_counts(), "\n")

    # --- a holdout test of a thank-you to loyal repeat buyers -------------------------
    summary = summarize(log, period="D", observation_end=NOW)
    loyal = repeat_customers(summary, min_repeat=3, within=timedelta(days=60))
    eligible = loyal.ids
    print(f"{eligible.size:,} loyal repeat buyers eligible for a thank-you gift")
    plan = sample_size(5.0, sd=60.0, holdout_fraction=0.2)
    print(f"to detect +$5 of 60-day spend (sd $60) with a 20 % holdout: {plan.total:,} customers")
    held = assign_holdout(eligible, fraction=0.2, salt="thank-you-2026-06")
    print(f"holdout: {held.sum():,} of {held.size:,} ({held.mean():.1%}); "
          f"MDE with these groups: "
          f"${minimum_detectable_effect((~held).sum(), held.sum(), sd=60.0):.2f}")  # fmt: skip

    # What happened next (simulated): the gift adds about $8 of spend over 60 days.
    rng = np.random.default_rng(7)
    base = rng.gamma(1.2, 45.0, eligible.size)
    spend_next = base + np.where(held, 0.0, rng.normal(8.0, 5.0, eligible.size)).clip(0)
    bought_next = spend_next > 40.0
    revenue = lift(spend_next[~held], spend_next[held])
    conversion = lift(bought_next[~held], bought_next[held])
    print(f"\n{revenue}\n\n{conversion}")

    if out_dir:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name, ax in (
            ("engagement.png", eng.plot()),
            ("fatigue.png", fat.plot()),
            ("lift.png", revenue.plot()),
        ):
            ax.figure.tight_layout()
            ax.figure.savefig(out / name, dpi=110)
            plt.close(ax.figure)
        from relcore.scoring import plot_segment_sizes

        ax = plot_segment_sizes(fat.saturation, order=("under", "on_target", "saturated"),
                                title="Contact saturation")  # fmt: skip
        ax.figure.tight_layout()
        ax.figure.savefig(out / "saturation.png", dpi=110)
        plt.close(ax.figure)
        print(f"\nplots saved in {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RELCORE_EXAMPLE_OUTPUT"))
