"""Plan a campaign where value, response and fatigue meet the customer's own rules.

    PYTHONPATH=src python examples/06_plan_campaign.py [OUTPUT_DIR]

1. Simulate a year of a relationship (seeded): purchases from a BG/NBD world, our emails
   and SMS, the customers' replies (some answer often, some never).
2. Fit BG/NBD and Gamma-Gamma to the purchases: each customer's expected value over the
   next twelve months (CLV).
3. Score each customer's response propensity per channel (empirical Bayes).
4. Offer every customer an email and an SMS of the spring campaign, worth 5% of their CLV
   when answered, and plan: a policy (a daily cap, quiet hours, a 10% global control
   group), each customer's preferences, a budget of 1,000 spring sends, rate limits, and
   a fatigue cost. Then commit the plan, and compare three policies on its calendar.

The schedule is written to OUTPUT_DIR (or the RELCORE_EXAMPLE_OUTPUT environment
variable, else a temporary directory) as schedule.csv, with two figures (needs
matplotlib): plan.png (sends per hour, value of the chosen and the left out) and
compare.png (sends and fatigue per day, per policy).
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import numpy as np

from relcore.contact_policy import (
    Budget,
    ContactGuard,
    FrequencyCap,
    GlobalControl,
    MemoryLedger,
    MinimumGap,
    Policy,
    QuietHours,
    RateLimit,
    compare,
    plan_campaign,
)
from relcore.models import ContactPreferences, EventLog
from relcore.scoring import (
    BGNBD,
    GammaGamma,
    customer_lifetime_value,
    response_propensity,
    summarize,
)

NOW = datetime(2026, 3, 2, 5, tzinfo=UTC)  # a Monday, 06:00 in Paris: quiet hours
N_CUSTOMERS = 2_000


def simulate(seed: int = 13) -> EventLog:
    """Purchases (BG/NBD: rate ~ Gamma, dropout ~ Beta), two emails and an SMS a month,
    and replies with a customer's own propensity on each channel."""
    rng = np.random.default_rng(seed)
    start = np.datetime64(NOW.replace(tzinfo=None), "us") - np.timedelta64(365, "D")
    rate = rng.gamma(0.8, 1 / 25.0, N_CUSTOMERS)  # purchases a day while alive
    dropout = rng.beta(1.0, 6.0, N_CUSTOMERS)  # chance of leaving after each purchase
    spend = rng.gamma(6.0, 8.0, N_CUSTOMERS)  # a customer's typical basket
    taste = {"email": rng.beta(1.5, 8.0, N_CUSTOMERS), "sms": rng.beta(1.0, 12.0, N_CUSTOMERS)}
    ids, at, kind, channel, initiator, value = [], [], [], [], [], []

    def add(c: int, day: float, k: str, ch: str, who: str, v: float = 0.0) -> None:
        ids.append(f"c{c:05d}")
        at.append(start + np.timedelta64(int(day * 86_400e6), "us"))
        kind.append(k)
        channel.append(ch)
        initiator.append(who)
        value.append(v)

    for c in range(N_CUSTOMERS):
        day = rng.uniform(0, 60)  # first purchase: acquisition
        add(c, day, "purchase", "web", "customer", spend[c] * rng.gamma(8, 1 / 8))
        while True:
            if rng.random() < dropout[c]:
                break
            day += rng.exponential(1 / rate[c])
            if day >= 365:
                break
            add(c, day, "purchase", "web", "customer", spend[c] * rng.gamma(8, 1 / 8))
        for ch, per_month in (("email", 2), ("sms", 1)):
            for sent in rng.uniform(0, 364, 12 * per_month):
                add(c, sent, "message", ch, "company")
                if rng.random() < taste[ch][c]:
                    add(c, sent + rng.uniform(0.01, 1), "response", ch, "customer")
    return EventLog.from_arrays(
        ids,
        np.array(at),
        timezone="UTC",
        kind=kind,
        channel=channel,
        initiator=initiator,
        value=value,
    )


def customer_value(log: EventLog) -> dict[str, float]:
    """Each customer's expected purchases over the next 12 months, in money (CLV)."""
    summary = summarize(log, period="D", observation_end=NOW)
    purchases = BGNBD.fit(summary)
    repeat = summary.frequency > 0
    spend = GammaGamma.fit(
        frequency=summary.frequency[repeat], monetary_value=summary.monetary_value[repeat]
    )
    clv = customer_lifetime_value(
        purchases,
        spend,
        summary.frequency,
        summary.recency,
        summary.T,
        summary.monetary_value,
        months=12,
    )
    print(f"BG/NBD {fmt(purchases.params)}; Gamma-Gamma {fmt(spend.params)}")
    print(
        f"CLV over 12 months: median {np.median(clv):.2f}, top decile from "
        f"{np.quantile(clv, 0.9):.2f}"
    )
    return dict(zip(np.asarray(summary.customer_id).tolist(), clv.tolist(), strict=True))


def fmt(params: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.3g}" for k, v in params.items())


def ledger_of(log: EventLog) -> MemoryLedger:
    """The log's contacts and replies as a contact ledger."""
    ids = np.asarray(log.customers, dtype=object)[log.customer_codes].astype(str)
    initiator = log.initiator.to_numpy()
    return MemoryLedger.from_arrays(
        ids,
        np.asarray(log.at, dtype=np.int64),
        channel=log.channel.to_numpy(),
        category="promotional",
        kind=log.kind.to_numpy(),
        initiator=np.where(initiator == "company", "company", "customer"),
    )


def main(output_dir: Path) -> None:
    log = simulate()
    print(f"simulated {log.n_customers:,} customers, {len(log):,} events over a year")
    clv = customer_value(log)
    propensity = response_propensity(log, NOW, half_life=timedelta(days=90))
    print(f"response propensity: {propensity!r}")

    customers = sorted(clv)
    n = len(customers)
    candidates = {
        "customer_id": np.repeat(customers, 2),
        "message_id": [f"{c}-{ch}" for c in customers for ch in ("email", "sms")],
        "channel": ["email", "sms"] * n,
        "category": "promotional",
        "campaign": "spring",
        "earliest": [NOW] * (2 * n),
        "latest": [NOW + timedelta(days=2)] * (2 * n),
        "value": np.repeat([0.05 * clv[c] for c in customers], 2),
    }
    policy = Policy(
        [
            FrequencyCap(1, per="calendar_day"),
            MinimumGap(timedelta(days=3), channel="sms"),
            QuietHours(start=time(21), end=time(8)),
            GlobalControl(0.10, salt="spring-2026", category="promotional"),
        ],
        timezone="Europe/Paris",
    )
    ledger = ledger_of(log)
    # Some customers said how they want to be contacted.
    prefs = {c: ContactPreferences(opted_out_channels={"sms"}) for c in customers[::7]}
    guard = ContactGuard(policy, ledger)
    plan = plan_campaign(
        guard,
        candidates,
        budgets=[Budget(1_000, campaign="spring")],
        rate_limits=[
            RateLimit(10, per=timedelta(minutes=1), channel="sms"),
            RateLimit(100, per=timedelta(minutes=1), channel="email"),
        ],
        preferences=prefs,
        propensity=propensity,
        fatigue_cost=0.05,
        spread=timedelta(minutes=30),
        seed=1,
    )
    print(repr(plan))
    print(plan.summary())
    chosen = plan.net_value[plan.scheduled]
    left = plan.net_value[plan.reason == "budget"]
    print(
        f"the budget kept the best: every scheduled send is worth at least "
        f"{chosen.min():.2f}, every one it left out at most {left.max():.2f}"
    )
    schedule = output_dir / "schedule.csv"
    try:
        plan.to_pandas(scheduled_only=True).to_csv(schedule, index=False)
        print(f"schedule written to {schedule}")
    except ImportError:
        print("(pandas not installed: schedule.csv not written)")

    # Committing re-checks each send against the ledger as it is now: a customer who got
    # a message after planning is refused, and only that customer's sends are given back.
    late = plan.contacts()[0]
    guard.record(late.at_time(late.at - timedelta(hours=1)))
    result = plan.commit(guard, key_prefix="spring-")
    print(
        f"commit: {result!r}; {late.customer_id} refused: {result.refused[late.customer_id].codes}"
    )

    # The calendar the plan made, through three policies.
    calendar = {
        "customer_id": plan.customer_id[plan.scheduled],
        "channel": plan.channel[plan.scheduled],
        "category": "promotional",
        "at": plan.send_at[plan.scheduled].astype("datetime64[us]"),
        "value": plan.value[plan.scheduled],
    }
    policies = {
        "as planned": policy,
        "weekly cap": Policy([FrequencyCap(1, per=timedelta(days=7))], timezone="Europe/Paris"),
        "no rules": Policy([]),
    }
    comparison = compare(
        calendar,
        policies,
        ledger_of(log),
        max_delay=timedelta(days=2),
        propensity=propensity,
        timezone="UTC",
    )
    for row in comparison.summary():
        print(
            f"{row['policy']}: {row['sent']:,} sent, {row['deferred']:,} deferred, "
            f"{row['refused']:,} refused, expected value {row['expected_value']:,.2f}, "
            f"mean fatigue at the end {row['fatigue_end']:.3f}"
        )
    save_figures(plan, comparison, output_dir)


def save_figures(plan, comparison, output_dir: Path) -> None:  # type: ignore[no-untyped-def]
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no figures)")
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    hours = (plan.send_at[plan.scheduled] - plan.send_at[plan.scheduled].min()) / 3.6e9
    left.hist(hours, bins=48)
    left.set_xlabel("hours after the first send")
    left.set_ylabel("sends")
    left.set_title("sends spread over the window")
    right.hist(
        [plan.net_value[plan.scheduled], plan.net_value[plan.status == "left_out"]],
        bins=40,
        label=["scheduled", "left out"],
        stacked=True,
    )
    right.set_xlabel("expected net value")
    right.legend()
    right.set_title("value of the chosen and the left out")
    fig.tight_layout()
    fig.savefig(output_dir / "plan.png", dpi=80)
    axes = comparison.plot()
    axes[0].figure.savefig(output_dir / "compare.png", dpi=80)
    plt.close("all")
    print(f"figures written to {output_dir}")


if __name__ == "__main__":
    where = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("RELCORE_EXAMPLE_OUTPUT") or tempfile.mkdtemp(prefix="relcore-")
    )
    main(Path(where))
