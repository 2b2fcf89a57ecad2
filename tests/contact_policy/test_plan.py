"""Campaign planning through its public API: the objective, the reasons, holdouts, commit."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from relcore import DataError
from relcore.contact_policy import (
    Budget,
    Contact,
    ContactFatigue,
    ContactGuard,
    Entry,
    FrequencyCap,
    GlobalControl,
    History,
    MemoryLedger,
    Policy,
    QuietHours,
    RateLimit,
    plan_campaign,
)
from relcore.models import ContactPreferences

UTC = dt.UTC
NINE = dt.datetime(2026, 6, 1, 9, tzinfo=UTC)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def us(t: dt.datetime) -> int:
    d = t - EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def cands(ids, channels=None, values=None, hours=24, **extra):
    n = len(ids)
    out = {
        "customer_id": list(ids),
        "channel": channels or ["email"] * n,
        "earliest": [NINE] * n,
        "latest": [NINE + dt.timedelta(hours=hours)] * n,
    }
    if values is not None:
        out["value"] = values
    out.update(extra)
    return out


def test_budget_keeps_the_candidates_of_highest_expected_value() -> None:
    guard = ContactGuard(Policy([]))
    plan = plan_campaign(
        guard,
        cands(["a", "b", "c", "d"], values=[1.0, 4.0, 3.0, 2.0]),
        budgets=[Budget(2)],
    )
    assert plan.status.tolist() == ["left_out", "scheduled", "scheduled", "left_out"]
    assert plan.reason.tolist() == ["budget", "", "", "budget"]
    assert plan.detail[0] == "budget all sends exhausted"
    assert plan.expected_value == 7.0


def test_propensity_weighs_value_by_the_chance_of_a_response() -> None:
    guard = ContactGuard(Policy([]))
    plan = plan_campaign(
        guard,
        cands(["a", "b"], values=[10.0, 6.0]),
        budgets=[Budget(1)],
        propensity=np.array([0.1, 0.5]),  # expected 1.0 against 3.0
    )
    assert plan.status.tolist() == ["left_out", "scheduled"]
    assert plan.net_value.tolist() == pytest.approx([1.0, 3.0])


def test_fatigue_cost_charges_the_fatigue_a_send_leaves() -> None:
    ledger = MemoryLedger()
    for days in (1, 2, 3):
        ledger.append(
            [Entry("b", us(NINE - dt.timedelta(days=days)), "email", None, None, "message", True)]
        )
    guard = ContactGuard(Policy([]), ledger)
    plan = plan_campaign(
        guard, cands(["a", "b"], values=[5.0, 5.0]), budgets=[Budget(1)], fatigue_cost=0.5
    )
    history = History.from_entries(["a", "b"], ledger.histories(["b"]).entries(0))
    scores = ContactFatigue().score_many(history, np.full(2, us(NINE), dtype=np.int64))
    assert scores[1] > 2.5  # three unanswered emails of the last three days
    assert plan.fatigue_cost.tolist() == pytest.approx((0.5 * (scores + 1)).tolist())
    assert plan.status.tolist() == ["scheduled", "left_out"]


def test_response_propensity_result_is_looked_up_by_customer_and_channel() -> None:
    class Table:
        def lookup(self, ids, channels):
            return np.array([0.9 if c == "sms" else 0.2 for c in channels])

    plan = plan_campaign(
        ContactGuard(Policy([])),
        cands(["a", "a"], channels=["email", "sms"], values=[1.0, 1.0]),
        propensity=Table(),
    )
    assert plan.channel[plan.scheduled].tolist() == ["sms"]
    assert plan.reason.tolist() == ["outranked", ""]
    assert "lower value than the chosen alternative" in plan.detail[0]


def test_held_out_customers_are_never_scheduled_and_counted() -> None:
    rule = GlobalControl(0.3, salt="gcg", category="promotional")
    ids = [f"c{i}" for i in range(200)]
    held = rule.held_out(ids)
    plan = plan_campaign(
        ContactGuard(Policy([rule])),
        cands(ids, category=["promotional"] * 100 + ["transactional"] * 100),
    )
    promo_held = held[:100]
    assert (plan.status[:100][promo_held] == "held_out").all()
    assert (plan.status[:100][~promo_held] == "scheduled").all()
    assert (plan.status[100:] == "scheduled").all()  # out of the rule's scope
    assert plan.held_out_customers == int(promo_held.sum())
    assert "global control group" in plan.summary()


def test_rule_refusal_beyond_latest_names_the_rule_codes() -> None:
    guard = ContactGuard(Policy([QuietHours(start=dt.time(8), end=dt.time(20))]))
    plan = plan_campaign(guard, cands(["a"], hours=2))
    assert plan.reason.tolist() == ["quiet_hours"]
    assert "after latest" in plan.detail[0]
    prefs = {"a": ContactPreferences(opted_out_channels={"email"})}
    plan = plan_campaign(ContactGuard(Policy([])), cands(["a"]), preferences=prefs)
    assert plan.reason.tolist() == ["opted_out"]
    assert plan.detail[0] == "never allowed"


def test_stored_preferences_apply_when_none_are_passed() -> None:
    guard = ContactGuard(Policy([]))
    guard.ledger.set_preferences("a", ContactPreferences(opted_out_channels={"sms"}))
    plan = plan_campaign(guard, cands(["a", "a"], channels=["sms", "email"], values=[9.0, 1.0]))
    assert plan.status.tolist() == ["left_out", "scheduled"]
    assert plan.reason[0] == "opted_out"


def test_daily_budget_defers_to_the_next_day_within_the_window() -> None:
    plan = plan_campaign(
        ContactGuard(Policy([])),
        cands(["a", "b", "c"], values=[3.0, 2.0, 1.0], hours=30),
        budgets=[Budget(1, per_day=True)],
    )
    assert plan.status.tolist() == ["scheduled", "scheduled", "left_out"]
    sent = sorted(plan.send_at[plan.scheduled].tolist())
    midnight = us(dt.datetime(2026, 6, 2, tzinfo=UTC))
    assert sent[0] < midnight <= sent[1]


def test_rate_limit_spreads_sends_on_its_grid() -> None:
    plan = plan_campaign(
        ContactGuard(Policy([])),
        cands([f"c{i}" for i in range(10)], hours=1),
        rate_limits=[RateLimit(2, per=dt.timedelta(minutes=1), channel="email")],
        seed=3,
    )
    t = np.sort(plan.send_at)
    assert (np.diff(t) == 30_000_000).all()
    assert t[0] - us(NINE) < 30_000_000


def test_rate_limit_that_leaves_no_slot_before_latest_says_so() -> None:
    plan = plan_campaign(
        ContactGuard(Policy([])),
        cands(["a", "b", "c"], hours=0, values=[3.0, 2.0, 1.0]),
        rate_limits=[RateLimit(1, per=dt.timedelta(hours=1), channel="email")],
    )
    assert plan.counts()["scheduled"] <= 1
    assert set(plan.reason[~plan.scheduled].tolist()) == {"rate_limit"}


def test_commit_reserves_every_send_and_rechecks_what_changed() -> None:
    guard = ContactGuard(Policy([FrequencyCap(1, per="calendar_day")]))
    plan = plan_campaign(guard, cands(["a", "b"]))
    assert plan.scheduled.all()
    # Between planning and committing, "b" got a contact that fills its day.
    guard.record(Contact("b", channel="sms", at=NINE))
    result = plan.commit(guard, key_prefix="spring-")
    assert result.committed == ("spring-0",)
    assert list(result.refused) == ["b"]
    assert result.refused["b"].codes == ("frequency_cap",)
    assert len(guard.ledger) == 2  # b's sms and a's booked send
    again = plan.commit(guard, key_prefix="spring-")  # idempotent for the booked send
    assert again.committed == ("spring-0",)
    assert len(guard.ledger) == 2


def test_commit_with_hold_keeps_reservations_for_the_pipeline() -> None:
    guard = ContactGuard(Policy([FrequencyCap(1, per="calendar_day")]))
    plan = plan_campaign(guard, cands(["a"]))
    result = plan.commit(guard, hold=dt.timedelta(hours=30))
    assert guard.check(Contact("a", channel="sms", at=NINE)).codes == ("frequency_cap",)
    assert guard.confirm(result.committed[0]).allowed


def test_plan_records_nothing_and_reports_compactly() -> None:
    guard = ContactGuard(Policy([]))
    plan = plan_campaign(guard, cands(["a", "b"]))
    assert len(guard.ledger) == 0
    assert repr(plan).startswith("CampaignPlan(2 candidates: 2 scheduled")
    frame = plan.to_pandas()
    assert list(frame["status"]) == ["scheduled", "scheduled"]
    assert str(frame["send_at"].dt.tz) == "UTC"
    pl = pytest.importorskip("polars")
    assert plan.to_polars(scheduled_only=True).height == 2
    assert isinstance(plan.to_polars(), pl.DataFrame)


def test_bad_candidates_are_data_errors_naming_the_column() -> None:
    guard = ContactGuard(Policy([]))
    with pytest.raises(DataError, match="earliest"):
        plan_campaign(guard, {**cands(["a"]), "earliest": [dt.datetime(2026, 6, 1, 9)]})
    with pytest.raises(DataError, match="latest"):
        plan_campaign(guard, {**cands(["a"]), "latest": [NINE - dt.timedelta(hours=1)]})
    with pytest.raises(DataError, match="value"):
        plan_campaign(guard, cands(["a"], values=[float("nan")]))
    with pytest.raises(DataError, match="channel"):
        plan_campaign(guard, cands(["a"], channels=[None]))
    with pytest.raises(DataError, match="colour"):
        plan_campaign(guard, {**cands(["a"]), "colour": ["red"]})
    with pytest.raises(TypeError):
        plan_campaign(guard, [("a", "email")])


def test_budget_and_rate_limit_read_their_command_line_spelling() -> None:
    assert Budget.parse("spring=500") == Budget(500, campaign="spring")
    assert Budget.parse("channel:email=10") == Budget(10, channel="email")
    assert Budget.parse("day=100") == Budget(100, per_day=True)
    assert Budget.parse("all=7") == Budget(7)
    assert RateLimit.parse("sms=5/s") == RateLimit(5, per=dt.timedelta(seconds=1), channel="sms")
    for bad in ("spring", "x=-1", "=3"):
        with pytest.raises(DataError, match="budget"):
            Budget.parse(bad)
    with pytest.raises(DataError, match="rate"):
        RateLimit.parse("sms=5/fortnight")


def test_an_empty_candidate_list_plans_nothing() -> None:
    plan = plan_campaign(
        ContactGuard(Policy([])), {"customer_id": [], "channel": [], "earliest": [], "latest": []}
    )
    assert len(plan) == 0
    assert plan.counts()["scheduled"] == 0


def test_progress_reports_every_candidate_decided() -> None:
    calls = []
    plan_campaign(
        ContactGuard(Policy([])),
        cands(["a", "a", "b"]),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[-1] == (3, 3)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_a_dataframe_with_zoned_times_is_read_as_its_instants() -> None:
    pd = pytest.importorskip("pandas")
    nine_paris = pd.Timestamp("2026-06-01 09:00", tz="Europe/Paris")  # 07:00 UTC
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "channel": ["email", "sms"],
            "category": [None, "promotional"],
            "earliest": [nine_paris] * 2,
            "latest": [nine_paris + pd.Timedelta(hours=3)] * 2,
        }
    )
    plan = plan_campaign(ContactGuard(Policy([])), frame)
    assert plan.earliest.tolist() == [us(dt.datetime(2026, 6, 1, 7, tzinfo=UTC))] * 2
    assert plan.category.tolist() == [None, "promotional"]
    pl = pytest.importorskip("polars")
    again = plan_campaign(ContactGuard(Policy([])), pl.from_pandas(frame))
    assert again.earliest.tolist() == plan.earliest.tolist()


def test_a_candidate_the_budget_kept_from_says_budget_even_when_its_customer_got_another() -> None:
    plan = plan_campaign(
        ContactGuard(Policy([])),
        cands(
            ["a", "a", "b"],
            channels=["email", "sms", "email"],
            values=[10.0, 5.0, 20.0],
            campaign=["spring", "news", "spring"],
        ),
        budgets=[Budget(1, campaign="spring")],
    )
    assert plan.status.tolist() == ["left_out", "scheduled", "scheduled"]
    assert plan.reason[0] == "budget"
    assert "spring" in plan.detail[0]


def test_plan_and_comparison_convert_and_display_like_every_result() -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    from relcore.contact_policy import compare

    ids = [f"c{i}" for i in range(30)]
    plan = plan_campaign(ContactGuard(Policy([])), cands(ids), budgets=[Budget(10)])
    calendar = {"customer_id": ids, "channel": ["email"] * 30, "at": [NINE] * 30}
    comparison = compare(calendar, {"a": Policy([]), "b": Policy([FrequencyCap(0, per="1d")])})
    for result, keys, rows in ((plan, [], 30), (comparison, ["policy"], 2)):
        frame, table = result.to_pandas(), result.to_polars()
        assert isinstance(frame, pd.DataFrame)
        assert isinstance(table, pl.DataFrame)
        assert len(frame) == len(table) == rows
        assert table.columns == [*keys, *frame.columns]
        assert len(repr(result).splitlines()) == 1
        assert result._repr_html_().count("<tr>") <= 12
    assert plan.to_polars(scheduled_only=True).height == 10
    assert comparison.to_pandas().loc["b", "refused_frequency_cap"] == 30


def test_a_forgotten_customer_keeps_the_opt_outs_the_ledger_suppresses() -> None:
    guard = ContactGuard(Policy([]))
    guard.ledger.set_preferences("a", ContactPreferences(opted_out_channels={"sms"}))
    guard.ledger.forget("a")
    plan = plan_campaign(guard, cands(["a", "a"], channels=["sms", "email"]), per_customer=None)
    assert plan.reason.tolist() == ["opted_out", ""]
