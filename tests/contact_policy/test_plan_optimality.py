"""How close the plan comes to the best plan, found by brute force on small instances.

Each candidate here has one send time (``earliest == latest``), so a plan is a subset of
the candidates, and the brute force tries every subset: feasible when replaying it in time
order through ``ContactGuard.request`` allows every send, no budget is exceeded and no
customer gets more than ``per_customer``. The objective is the sum of the values sent.

When every limit nests inside another (a customer's calendar-day caps inside the customer's
``per_customer`` inside one overall budget) the feasible subsets form a laminar matroid,
where greedy by value is optimal: the plan must reach the optimum. With limits that cross
(campaign and channel budgets, gaps, rolling caps) greedy is not optimal in general; by the
exchange argument each send it picks can displace at most one send of a best plan per
budget and at most two of its own customer's (one on each side in time), so it keeps at
least ``1 / (2 + number of budgets)`` of the optimum.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relcore.contact_policy import (
    Budget,
    Contact,
    ContactGuard,
    FrequencyCap,
    MemoryLedger,
    MinimumGap,
    Policy,
    plan_campaign,
)

UTC = dt.UTC
BASE = dt.datetime(2026, 3, 6, 6, tzinfo=UTC)


def feasible(policy, cands, subset, budgets, per_customer) -> bool:
    if per_customer is not None:
        per = Counter(cands[i]["customer_id"] for i in subset)
        if max(per.values(), default=0) > per_customer:
            return False
    for b in budgets:
        counted = Counter(
            cands[i]["earliest"].date() if b.per_day else 0
            for i in subset
            if b.applies(cands[i]["channel"], cands[i]["campaign"])
        )
        if max(counted.values(), default=0) > b.limit:
            return False
    guard = ContactGuard(policy, MemoryLedger())
    for i in sorted(subset, key=lambda i: cands[i]["earliest"]):
        r = cands[i]
        contact = Contact(
            r["customer_id"], channel=r["channel"], at=r["earliest"], campaign=r["campaign"]
        )
        if not guard.request(contact).allowed:
            return False
    return True


def optimum(policy, cands, budgets, per_customer) -> float:
    best = 0.0
    for k in range(len(cands) + 1):
        for subset in itertools.combinations(range(len(cands)), k):
            v = sum(cands[i]["value"] for i in subset)
            if v > best and feasible(policy, cands, subset, budgets, per_customer):
                best = v
    return best


def planned_value(policy, cands, budgets, per_customer) -> float:
    data = {k: [r[k] for r in cands] for k in cands[0]}
    plan = plan_campaign(
        ContactGuard(policy, MemoryLedger()), data, budgets=budgets, per_customer=per_customer
    )
    chosen = np.flatnonzero(plan.scheduled).tolist()
    assert feasible(policy, cands, chosen, budgets, per_customer)
    return float(plan.value[plan.scheduled].sum())


@st.composite
def candidates(draw: st.DrawFn, *, hours: int) -> list[dict]:
    customers = [f"c{i}" for i in range(draw(st.integers(1, 3)))]
    out = []
    for i in range(draw(st.integers(1, 7))):
        t = BASE + dt.timedelta(hours=draw(st.integers(0, hours)))
        out.append(
            {
                "customer_id": draw(st.sampled_from(customers)),
                "message_id": f"m{i}",
                "channel": draw(st.sampled_from(["email", "sms"])),
                "campaign": draw(st.sampled_from(["a", "b"])),
                "earliest": t,
                "latest": t,
                "value": float(draw(st.integers(1, 10))),
            }
        )
    return out


@settings(max_examples=60)
@given(
    candidates(hours=60),
    st.integers(1, 2),
    st.integers(1, 5),
    st.sampled_from([1, 2, None]),
)
def test_plan_reaches_the_optimum_when_limits_nest(cands, cap, budget, per_customer) -> None:
    policy = Policy([FrequencyCap(cap, per="calendar_day")])
    budgets = [Budget(budget)]
    best = optimum(policy, cands, budgets, per_customer)
    assert planned_value(policy, cands, budgets, per_customer) == best


budget_lists = st.lists(
    st.builds(
        Budget,
        st.integers(1, 3),
        campaign=st.sampled_from([None, "a"]),
        channel=st.sampled_from([None, "sms"]),
        per_day=st.booleans(),
    ),
    max_size=2,
)
policies = st.builds(
    lambda cap, gap: Policy([r for r in (cap, gap) if r is not None]),
    st.one_of(st.none(), st.builds(FrequencyCap, st.integers(1, 2), per=st.just("1d"))),
    st.one_of(st.none(), st.builds(MinimumGap, st.sampled_from(["2h", "5h"]))),
)


@pytest.mark.slow
@settings(max_examples=60)
@given(candidates(hours=30), policies, budget_lists, st.sampled_from([1, 2, None]))
def test_plan_keeps_a_stated_share_of_the_optimum_when_limits_cross(
    cands, policy, budgets, per_customer
) -> None:
    best = optimum(policy, cands, budgets, per_customer)
    got = planned_value(policy, cands, budgets, per_customer)
    assert got <= best
    assert got >= best / (2 + len(budgets))


def test_plan_lets_a_poor_first_choice_wait_for_a_better_second_choice() -> None:
    # c1's best message is refused by the channel cap; its second choice (9) should have
    # the one budget slot, not c2's only message (1), which rounds meet first.
    policy = Policy([FrequencyCap(0, per="1d", channel="sms")])
    cands = [
        {"customer_id": "c1", "channel": "sms", "value": 10.0},
        {"customer_id": "c1", "channel": "email", "value": 9.0},
        {"customer_id": "c2", "channel": "email", "value": 1.0},
    ]
    for r in cands:
        r.update(campaign="a", earliest=BASE, latest=BASE)
    assert planned_value(policy, cands, [Budget(1)], 1) == 9.0
