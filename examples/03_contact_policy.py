"""Stop hounding customers: a contact policy in a send pipeline.

    PYTHONPATH=src python examples/03_contact_policy.py [OUTPUT_DIR]

Reads ``examples/contact_policy.toml``, keeps its ledger in a SQLite file in OUTPUT_DIR
(default: the RELCORE_EXAMPLE_OUTPUT environment variable, else a temporary directory),
and walks through single decisions, an audience, competing messages and a simulation.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import numpy as np

from relcore.contact_policy import Contact, ContactGuard, Policy, Reserve, SQLiteLedger, simulate
from relcore.models import ContactLimit, ContactPreferences

HERE = Path(__file__).resolve().parent


def main() -> None:
    out = Path(
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("RELCORE_EXAMPLE_OUTPUT") or tempfile.mkdtemp(prefix="relcore-")
    )
    out.mkdir(parents=True, exist_ok=True)
    policy = Policy.from_toml(HERE / "contact_policy.toml")
    print(policy.describe(), end="\n\n")

    db = out / "contacts.db"
    db.unlink(missing_ok=True)
    guard = ContactGuard(policy, SQLiteLedger(db))
    monday = datetime(2026, 11, 23, 15, tzinfo=UTC)  # 10:00 in New York

    # 1. The send path: ask, and record if allowed, in one atomic step.
    for day in range(4):
        promo = Contact(
            "c42",
            channel="email",
            category="promotional",
            at=monday + timedelta(days=day),
            campaign="black-friday",
        )
        d = guard.request(promo)
        print(
            f"{promo.at:%a %H:%M} UTC promotional email: "
            f"{'sent' if d else 'refused: ' + d.explain()}"
        )
    receipt = Contact(
        "c42", channel="email", category="transactional", at=monday + timedelta(days=3)
    )
    print("receipt the same day:", "sent" if guard.request(receipt) else "refused")

    # 2. The customer's own settings win where they are stricter.
    prefs = ContactPreferences(
        opted_out_channels={"sms"},
        max_contacts=ContactLimit(1, per="calendar_week", each="channel"),
        quiet_hours=(time(18), time(9)),
        timezone="Europe/Paris",
    )
    sms = Contact("c7", channel="sms", category="service", at=monday, priority=100)
    print("\nsms to a customer who opted out of sms:", guard.check(sms, prefs).explain())
    evening = Contact("c7", channel="push", category="promotional", at=monday + timedelta(hours=3))
    d = guard.check(evening, prefs)
    print("push at 19:00 in Paris:", d.explain())

    # 3. A whole audience at once.
    audience = [f"c{i}" for i in range(10_000)]
    batch = guard.check_many(
        audience, channel="email", category="promotional", at=monday + timedelta(days=4)
    )
    print(
        f"\naudience of {len(batch):,}: {int(batch.allowed.sum()):,} may be emailed now; "
        f"refused: {batch.counts()}"
    )
    i = audience.index("c42")
    print(f"c42 may be emailed again at {np.datetime_as_string(batch.next_allowed_at[i])} UTC")

    # 4. Competing messages: the higher priority gets the slot; with a reserve, the last
    #    promotional-email slot of the week is kept for priority >= 10 in any case.
    t = monday + timedelta(days=5, hours=1)
    chosen = guard.arbitrate(
        [
            Contact(
                "c9",
                channel="email",
                category="promotional",
                at=t,
                campaign="newsletter",
                priority=1,
            ),
            Contact(
                "c9",
                channel="email",
                category="promotional",
                at=t,
                campaign="back-in-stock",
                priority=20,
            ),
        ],
        reserve=Reserve(slots=1, min_priority=10),
        record=True,
    )
    print("\nchosen for c9:", [c.campaign for c in chosen])

    # 5. In a service: the customer's settings stored with the contacts, a retry that is
    #    harmless (an idempotency key), and a send in two phases (hold the slot, then
    #    confirm once the message went out, or release it if the send failed).
    guard.ledger.set_preferences("c8", ContactPreferences(opted_out_channels={"sms"}))
    text = Contact("c8", channel="sms", category="service", at=monday)
    print("\nsms to c8, whose opt-out is stored:", guard.check(text).explain())
    mail = Contact("c8", channel="email", category="promotional", at=monday)
    first, retry = guard.request(mail, key="msg-1"), guard.request(mail, key="msg-1")
    print(f"msg-1 asked twice by a retrying worker: {first.allowed}, {retry.allowed}; one slot")
    tuesday = mail.at_time(monday + timedelta(days=1))
    if guard.reserve(tuesday, key="msg-2", ttl=timedelta(minutes=2)).allowed:
        print("msg-2 reserved; the email provider failed: released =", guard.release("msg-2"))
    if guard.reserve(tuesday, key="msg-3", ttl=timedelta(minutes=2)).allowed:
        guard.confirm("msg-3")
        print("msg-3 reserved, sent and confirmed in the freed slot")

    # 6. What would the policy do to next week's plan?
    rng = np.random.default_rng(0)
    plan = [
        Contact(
            f"c{rng.integers(50)}",
            channel=str(rng.choice(["email", "sms", "push"])),
            category="promotional",
            at=monday + timedelta(days=7, hours=int(h)),
        )
        for h in rng.integers(0, 7 * 24, 400)
    ]
    result = simulate(policy, plan, guard.ledger, reschedule=True, max_delay=timedelta(days=3))
    print("\nnext week's plan under this policy:")
    print(result.summary())
    (out / "simulation.txt").write_text(result.summary() + "\n")
    guard.ledger.close()


if __name__ == "__main__":
    main()
