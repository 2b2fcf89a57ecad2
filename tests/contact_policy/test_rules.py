"""Rule semantics, one named case at a time, with expectations worked out by hand.

Instants are written in UTC next to the local clock time they stand for; New York is
UTC-4 in summer (EDT) and UTC-5 in winter (EST), changing on 2026-03-08 at 02:00 and
2026-11-01 at 02:00 local time.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from relcore.contact_policy import (
    Contact,
    ContactGuard,
    Cooldown,
    FatigueLimit,
    FrequencyCap,
    MemoryLedger,
    MinimumGap,
    OutcomeSuppression,
    Policy,
    QuietHours,
    Reserve,
)
from relcore.contact_policy.fatigue import ContactFatigue
from relcore.models import ContactLimit, ContactPreferences

UTC = UTC
NY = ZoneInfo("America/New_York")
US = timedelta(microseconds=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def email(at: datetime, customer: str = "c42", **kw) -> Contact:
    return Contact(
        customer, channel="email", category=kw.pop("category", "promotional"), at=at, **kw
    )


def guard_for(*rules, zone: str = "America/New_York", **kw) -> ContactGuard:
    return ContactGuard(Policy(list(rules), timezone=zone, **kw), MemoryLedger())


# ------------------------------------------------------------------------ frequency caps


def test_rolling_cap_counts_contact_exactly_one_window_ago_as_expired():
    guard = guard_for(FrequencyCap(1, per=timedelta(days=7)))
    monday = utc(2026, 11, 23, 15)  # Monday 10:00 in New York
    assert guard.request(email(monday)).allowed
    assert guard.check(email(monday + timedelta(days=7))).allowed
    early = guard.check(email(monday + timedelta(days=7) - US))
    assert not early.allowed
    assert early.next_allowed_at == monday + timedelta(days=7)


def test_rolling_cap_refusal_reads_like_the_design_example():
    guard = guard_for(
        FrequencyCap(3, per=timedelta(days=7), channel="email", category="promotional")
    )
    for day in (23, 24, 25):  # 10:00 in New York on Monday, Tuesday, Wednesday
        assert guard.request(email(utc(2026, 11, day, 15))).allowed
    d = guard.check(email(utc(2026, 11, 27, 15)))
    assert d.codes == ("frequency_cap",)
    assert d.reasons[0].message == (
        "3 of 3 promotional emails in the last 7 days; next allowed 2026-11-30 10:00 "
        "America/New_York"
    )
    assert d.next_allowed_at == utc(2026, 11, 30, 15)


def test_rolling_window_is_elapsed_time_across_a_daylight_saving_change():
    # 7 days = 168 hours: sent Thursday 10:00 EDT, it frees its slot at 09:00 EST.
    guard = guard_for(FrequencyCap(1, per=timedelta(days=7)))
    sent = utc(2026, 10, 29, 14)
    guard.request(email(sent))
    d = guard.check(email(utc(2026, 11, 2, 12)))
    assert d.next_allowed_at == sent + timedelta(hours=168)
    assert d.next_allowed_at.astimezone(NY).hour == 9


def test_rolling_cap_counts_contacts_scheduled_for_later():
    # A contact recorded for 11:00 shares a 6-hour window with one at 09:00 (and with any
    # instant up to 17:00), so the second must wait until the scheduled one has aged out.
    guard = guard_for(FrequencyCap(1, per=timedelta(hours=6)), zone="UTC")
    guard.record(email(utc(2026, 6, 1, 11)))
    d = guard.check(email(utc(2026, 6, 1, 9)))
    assert not d.allowed
    assert d.next_allowed_at == utc(2026, 6, 1, 17)
    assert guard.check(email(utc(2026, 6, 1, 4, 59))).allowed  # window (23:00, 05:00] clear...
    assert not guard.check(email(utc(2026, 6, 1, 5, 1))).allowed  # ...but (05:00, 11:00] is full


def test_calendar_day_cap_resets_at_midnight_in_the_customers_zone_not_utc():
    guard = guard_for(FrequencyCap(1, per="calendar_day"))
    late = utc(2026, 6, 11, 3, 30)  # 23:30 EDT on 10 June
    assert guard.request(email(late)).allowed
    # 00:10 EDT on 11 June is the same UTC day as `late`, yet a new day for the customer
    assert guard.check(email(utc(2026, 6, 11, 4, 10))).allowed
    d = guard.check(email(utc(2026, 6, 11, 3, 50)))  # 23:50 EDT, still 10 June
    assert not d.allowed
    assert d.next_allowed_at == utc(2026, 6, 11, 4)  # midnight EDT
    assert "this calendar day (America/New_York)" in d.reasons[0].message


def test_calendar_day_follows_the_zone_in_the_customers_preferences():
    guard = guard_for(FrequencyCap(1, per="calendar_day"))
    tokyo = ContactPreferences(timezone="Asia/Tokyo")  # UTC+9, no daylight saving
    guard.request(email(utc(2026, 6, 10, 14)), tokyo)  # 23:00 in Tokyo
    d = guard.check(email(utc(2026, 6, 10, 14, 30)), tokyo)
    assert d.next_allowed_at == utc(2026, 6, 10, 15)  # Tokyo midnight
    assert guard.check(email(utc(2026, 6, 10, 15)), tokyo).allowed


def test_calendar_week_starts_on_monday_in_the_customers_zone():
    guard = guard_for(FrequencyCap(1, per="calendar_week"), zone="Europe/Paris")
    guard.request(email(utc(2026, 11, 29, 22)))  # Sunday 23:00 in Paris (UTC+1)
    d = guard.check(email(utc(2026, 11, 29, 22, 30)))
    assert d.next_allowed_at == utc(2026, 11, 29, 23)  # Monday 00:00 in Paris
    assert guard.check(email(utc(2026, 11, 29, 23))).allowed


def test_calendar_month_rolls_over_on_the_first():
    guard = guard_for(FrequencyCap(1, per="calendar_month"), zone="UTC")
    guard.request(email(utc(2026, 1, 31, 12)))
    assert guard.check(email(utc(2026, 1, 2))).next_allowed_at == utc(2026, 2, 1)
    assert guard.check(email(utc(2026, 2, 1))).allowed


def test_calendar_day_on_the_spring_forward_day_is_23_hours_long():
    guard = guard_for(FrequencyCap(1, per="calendar_day"))
    guard.request(email(utc(2026, 3, 8, 5, 30)))  # 00:30 EST on 8 March
    d = guard.check(email(utc(2026, 3, 9, 3, 30)))  # 23:30 EDT on 8 March
    assert not d.allowed
    assert d.next_allowed_at == utc(2026, 3, 9, 4)  # midnight EDT


def test_cap_scoped_to_each_channel_counts_every_channel_separately():
    guard = guard_for(FrequencyCap(1, per="calendar_day", each="channel"), zone="UTC")
    t = utc(2026, 6, 1, 9)
    assert guard.request(email(t)).allowed
    assert guard.request(Contact("c42", channel="sms", at=t)).allowed
    assert not guard.check(email(t + timedelta(hours=1))).allowed


def test_cap_of_zero_never_allows_and_says_so():
    d = guard_for(FrequencyCap(0, per="calendar_day", channel="sms")).check(
        Contact("c42", channel="sms", at=utc(2026, 6, 1))
    )
    assert not d.allowed
    assert d.next_allowed_at is None


# ------------------------------------------------------------------------ gaps, cool-downs


def test_minimum_gap_allows_exactly_gap_after_the_last_contact():
    guard = guard_for(MinimumGap(timedelta(hours=20), channel="sms"))
    t = utc(2026, 6, 1, 12)
    guard.request(Contact("c42", channel="sms", at=t))
    sms = Contact("c42", channel="sms", at=t + timedelta(hours=20) - US)
    d = guard.check(sms)
    assert d.next_allowed_at == t + timedelta(hours=20)
    assert guard.check(sms.at_time(t + timedelta(hours=20))).allowed
    assert guard.check(email(t + timedelta(hours=1))).allowed  # other channels unaffected


def test_cooldown_after_a_complaint_holds_every_contact_for_its_duration():
    guard = guard_for(Cooldown(after="complaint", duration=timedelta(days=30)))
    t = utc(2026, 6, 1, 12)
    guard.record_response("c42", t, "complaint")
    d = guard.check(email(t + timedelta(days=29)))
    assert d.codes == ("cooldown",)
    assert d.next_allowed_at == t + timedelta(days=30)
    assert guard.check(email(t + timedelta(days=30))).allowed
    assert guard.check(email(t - US)).allowed  # before the complaint


def test_a_second_complaint_extends_the_cooldown():
    guard = guard_for(Cooldown(after="complaint", duration=timedelta(days=10)))
    t = utc(2026, 6, 1)
    guard.record_response("c42", t, "complaint")
    guard.record_response("c42", t + timedelta(days=8), "complaint")
    assert guard.check(email(t + timedelta(days=9))).next_allowed_at == t + timedelta(days=18)


# ------------------------------------------------------------------------ quiet hours


def test_quiet_hours_refuse_21_00_and_allow_08_00():
    guard = guard_for(QuietHours(start=time(21), end=time(8)))
    assert not guard.check(email(utc(2026, 6, 2, 1))).allowed  # 21:00 EDT
    assert guard.check(email(utc(2026, 6, 2, 0, 59))).allowed  # 20:59 EDT
    assert guard.check(email(utc(2026, 6, 2, 12))).allowed  # 08:00 EDT
    assert not guard.check(email(utc(2026, 6, 2, 11, 59))).allowed  # 07:59 EDT


def test_quiet_hours_across_the_spring_forward_change_of_2026_03_08():
    guard = guard_for(QuietHours(start=time(21), end=time(8)))
    d = guard.check(email(utc(2026, 3, 8, 3)))  # 22:00 EST on 7 March
    assert d.next_allowed_at == utc(2026, 3, 8, 12)  # 08:00 EDT: 9 hours later, not 10
    assert not guard.check(email(utc(2026, 3, 8, 11, 30))).allowed  # 07:30 EDT
    assert guard.check(email(utc(2026, 3, 8, 12))).allowed
    assert "08:00 America/New_York" in d.reasons[0].message


def test_quiet_hours_across_the_fall_back_change_of_2026_11_01():
    guard = guard_for(QuietHours(start=time(21), end=time(8)))
    d = guard.check(email(utc(2026, 11, 1, 2)))  # 22:00 EDT on 31 October
    assert d.next_allowed_at == utc(2026, 11, 1, 13)  # 08:00 EST: 11 hours later
    assert not guard.check(email(utc(2026, 11, 1, 12, 30))).allowed  # 07:30 EST
    assert guard.check(email(utc(2026, 11, 1, 13))).allowed


def test_quiet_hours_starting_in_the_skipped_hour_still_start_on_the_spring_forward_day():
    guard = guard_for(QuietHours(start=time(2, 30), end=time(6)))
    # 02:30 never happens on 8 March: 01:59:59 EST is followed by 03:00 EDT (07:00 UTC)
    assert guard.check(email(utc(2026, 3, 8, 6, 59))).allowed  # 01:59 EST
    d = guard.check(email(utc(2026, 3, 8, 7)))  # 03:00 EDT
    assert d.next_allowed_at == utc(2026, 3, 8, 10)  # 06:00 EDT


def test_next_allowed_at_is_utc_so_it_compares_equal_in_the_repeated_hour():
    # A datetime in the repeated hour with fold=1 never compares equal to another zone's
    # datetime (PEP 495); UTC datetimes have no such trap.
    guard = guard_for(QuietHours(start=time(1, 30), end=time(8)))
    d = guard.check(email(utc(2026, 11, 1, 5, 45)))
    assert d.next_allowed_at.tzinfo is UTC


def test_quiet_hours_end_when_the_clock_falls_back_out_of_them():
    # Quiet from 01:30: at 02:00 EDT the clock goes back to 01:00 EST, which is not quiet
    # until it reaches 01:30 again.
    guard = guard_for(QuietHours(start=time(1, 30), end=time(8)))
    d = guard.check(email(utc(2026, 11, 1, 5, 45)))  # 01:45 EDT
    assert d.next_allowed_at == utc(2026, 11, 1, 6)  # 01:00 EST
    assert guard.check(email(utc(2026, 11, 1, 6, 29))).allowed  # 01:29 EST
    assert guard.check(email(utc(2026, 11, 1, 6, 30))).next_allowed_at == utc(2026, 11, 1, 13)


def test_customer_quiet_hours_apply_besides_the_policys():
    guard = guard_for(QuietHours(start=time(22), end=time(7)))
    prefs = ContactPreferences(quiet_hours=(time(12), time(14)), timezone="Europe/Paris")
    d = guard.check(email(utc(2026, 6, 2, 11)), prefs)  # 13:00 in Paris (UTC+2)
    assert d.codes == ("quiet_hours",)
    assert d.reasons[0].message.startswith("customer's preference")
    assert d.next_allowed_at == utc(2026, 6, 2, 12)


def test_quiet_hours_covering_the_whole_day_never_allow():
    guard = guard_for(QuietHours(start=time(8), end=time(20)))
    prefs = ContactPreferences(quiet_hours=(time(20), time(8)))
    d = guard.check(email(utc(2026, 6, 2, 16)), prefs)
    assert not d.allowed
    assert d.next_allowed_at is None


# ------------------------------------------------------------------------ the customer rules


def test_opt_out_is_a_hard_stop_with_no_next_allowed_time():
    guard = guard_for()
    d = guard.check(
        Contact("c42", channel="sms", at=utc(2026, 6, 1)),
        ContactPreferences(opted_out_channels={"sms"}),
    )
    assert d.codes == ("opted_out",)
    assert d.next_allowed_at is None
    assert d.reasons[0].message == "the customer opted out of sms"


def test_opt_out_beats_top_priority():
    guard = guard_for()
    t = utc(2026, 6, 1, 15)
    prefs = {"c42": ContactPreferences(opted_out_categories={"promotional"})}
    result = guard.arbitrate(
        [email(t, priority=1_000_000), Contact("c42", channel="sms", category="service", at=t)],
        preferences=prefs,
    )
    assert [c.category for c in result.chosen] == ["service"]
    assert result.decisions[0].codes == ("opted_out",)
    assert result.decisions[0].next_allowed_at is None


def test_transactional_is_exempt_from_caps_but_not_from_a_transactional_opt_out():
    guard = guard_for(
        FrequencyCap(2, per="calendar_day"),
        MinimumGap(timedelta(hours=4)),
        QuietHours(start=time(21), end=time(8)),
        exempt_categories={"transactional"},
    )
    assert guard.request(email(utc(2026, 6, 2, 14))).allowed  # 10:00 EDT
    receipts = [
        guard.request(email(utc(2026, 6, 2, 14, 30 + m), category="transactional"))
        for m in range(3)
    ]
    receipts.append(guard.request(email(utc(2026, 6, 3, 2), category="transactional")))  # 22:00
    assert all(d.allowed for d in receipts)  # over the cap, inside the gap, in quiet hours
    # Exempt contacts are recorded but not counted: 14:15 EDT is 4h15 after the only
    # promotional email, its second of the day.
    assert guard.request(email(utc(2026, 6, 2, 18, 15))).allowed
    assert len(guard.ledger) == 6
    d = guard.check(
        email(utc(2026, 6, 2, 19), category="transactional"),
        ContactPreferences(opted_out_categories={"transactional"}),
    )
    assert d.codes == ("opted_out",)
    assert d.next_allowed_at is None


def test_snooze_refuses_until_its_end():
    until = utc(2026, 6, 10, 9)
    prefs = ContactPreferences(snoozed_until=until)
    d = guard_for().check(email(utc(2026, 6, 5)), prefs)
    assert d.codes == ("snoozed",)
    assert d.next_allowed_at == until
    assert guard_for().check(email(until), prefs).allowed


def test_a_stricter_customer_limit_replaces_a_looser_company_cap():
    guard = guard_for(FrequencyCap(3, per=timedelta(days=7)))
    prefs = ContactPreferences(max_contacts=ContactLimit(1, per="calendar_week"))
    t = utc(2026, 6, 2, 15)  # Tuesday
    guard.request(email(t), prefs)
    d = guard.check(email(t + timedelta(days=1)), prefs)
    assert d.codes == ("frequency_cap",)
    assert d.reasons[0].message.startswith("customer's preference: 1 of 1")
    assert d.next_allowed_at == utc(2026, 6, 8, 4)  # Monday 00:00 EDT


def test_a_looser_customer_limit_does_not_loosen_the_company_cap():
    guard = guard_for(FrequencyCap(1, per=timedelta(days=7)))
    prefs = ContactPreferences(max_contacts=ContactLimit(5, per=timedelta(days=7)))
    t = utc(2026, 6, 2, 15)
    guard.request(email(t), prefs)
    assert not guard.check(email(t + timedelta(days=1)), prefs).allowed


def test_a_per_channel_customer_limit_counts_each_channel():
    guard = guard_for()
    prefs = ContactPreferences(max_contacts=ContactLimit(1, per="calendar_week", each="channel"))
    t = utc(2026, 6, 2, 15)
    assert guard.request(email(t), prefs).allowed
    assert guard.request(Contact("c42", channel="sms", at=t), prefs).allowed
    assert not guard.check(email(t + timedelta(hours=1)), prefs).allowed


# ------------------------------------------------------------------------ reasons


def test_every_failing_rule_is_listed_with_its_code():
    guard = guard_for(
        FrequencyCap(1, per=timedelta(days=1)),
        MinimumGap(timedelta(hours=12)),
        QuietHours(start=time(21), end=time(8)),
        Cooldown(after="complaint", duration=timedelta(days=2)),
    )
    t = utc(2026, 6, 2, 1)  # 21:00 EDT
    guard.request(email(t - timedelta(hours=13)))  # 08:00 EDT
    guard.record_response("c42", t - timedelta(hours=1), "complaint")
    d = guard.check(email(t), ContactPreferences(snoozed_until=t + timedelta(hours=1)))
    assert set(d.codes) == {"snoozed", "frequency_cap", "quiet_hours", "cooldown"}
    # every rule is cleared only when the cool-down ends, at 20:00 EDT two days on, and
    # that is not quiet; every message says so
    assert d.next_allowed_at == t - timedelta(hours=1) + timedelta(days=2)
    assert all(
        r.message.endswith("next allowed 2026-06-03 20:00 America/New_York") for r in d.reasons
    )


def test_next_allowed_at_is_where_all_rules_pass_together():
    # The cap frees up at 23:00 EDT, which is quiet; the first instant both pass is 08:00.
    guard = guard_for(
        FrequencyCap(1, per=timedelta(days=1)), QuietHours(start=time(21), end=time(8))
    )
    guard.record(email(utc(2026, 6, 2, 3)))  # sent anyway at 23:00 EDT on 1 June
    d = guard.check(email(utc(2026, 6, 2, 12)))  # 08:00 EDT on 2 June
    assert d.codes == ("frequency_cap",)
    assert d.next_allowed_at == utc(2026, 6, 3, 12)


# ------------------------------------------------------------------------ suppression, fatigue


def test_outcome_suppression_after_three_ignored_emails_until_a_response():
    rule = OutcomeSuppression(
        ignored=3, within=timedelta(days=14), suppress_for=timedelta(days=30), channel="email"
    )
    guard = guard_for(rule, zone="UTC")
    t = utc(2026, 6, 1, 12)
    for day in (0, 5, 10):
        assert guard.request(email(t + timedelta(days=day))).allowed
    d = guard.check(email(t + timedelta(days=11)))
    assert d.codes == ("outcome_suppression",)
    assert d.next_allowed_at == t + timedelta(days=40)  # 30 days after the third
    guard.record_response("c42", t + timedelta(days=20), "response")
    assert guard.check(email(t + timedelta(days=20))).allowed
    assert guard.check(email(t + timedelta(days=11))).next_allowed_at == t + timedelta(days=20)


def test_outcome_suppression_needs_the_contacts_within_one_window():
    rule = OutcomeSuppression(ignored=2, within=timedelta(days=7), suppress_for=timedelta(days=30))
    guard = guard_for(rule, zone="UTC")
    t = utc(2026, 6, 1)
    guard.request(email(t))
    guard.request(email(t + timedelta(days=7)))  # 7 days apart: not within a 7-day window
    assert guard.check(email(t + timedelta(days=8))).allowed


def test_fatigue_limit_with_the_decayed_count_refuses_until_the_score_decays():
    # Two unanswered emails a day apart with a one-day half-life: right after the second
    # the score is 1 + 1/2 = 1.5; it falls to 1 exactly when 2^-x (1 + 1/2) = 1,
    # x = log2(1.5) days after the second email.
    scorer = ContactFatigue(half_life=timedelta(days=1))
    guard = guard_for(FatigueLimit(1.0, scorer=scorer), zone="UTC")
    t = utc(2026, 6, 1)
    guard.record(email(t))
    guard.record(email(t + timedelta(days=1)))
    d = guard.check(email(t + timedelta(days=1)))
    assert d.codes == ("fatigue",)
    expected = t + timedelta(days=1 + float(np.log2(1.5)))
    assert abs(d.next_allowed_at - expected) <= timedelta(microseconds=2)
    assert guard.check(email(d.next_allowed_at)).allowed
    assert not guard.check(email(d.next_allowed_at - US)).allowed
    guard.record_response("c42", t + timedelta(days=1, hours=1))
    assert guard.check(email(t + timedelta(days=1, hours=1))).allowed


def test_fatigue_score_of_the_default_scorer_is_a_decayed_count_since_the_last_response():
    scorer = ContactFatigue(half_life=timedelta(days=2))
    guard = guard_for(zone="UTC")
    t = utc(2026, 6, 1)
    guard.record(email(t))
    guard.record_response("c42", t + timedelta(days=1))
    guard.record(email(t + timedelta(days=2)))
    guard.record(email(t + timedelta(days=4)))
    history = guard.ledger.customer_history("c42")
    at = int((t + timedelta(days=6) - datetime(1970, 1, 1, tzinfo=UTC)) / US)
    # the first email was answered; the others are 4 and 2 days old: 1/4 + 1/2
    assert scorer.score(history, at) == pytest.approx(0.75, rel=1e-12)


# ------------------------------------------------------------------------ arbitration, reserve


def test_the_last_slot_goes_to_the_higher_priority_message_whoever_asked_first():
    guard = guard_for(FrequencyCap(2, per="calendar_day"), zone="UTC")
    t = utc(2026, 6, 1, 9)
    guard.request(email(t - timedelta(hours=1)))
    low = Contact("c42", channel="email", campaign="newsletter", at=t, priority=1)
    high = Contact("c42", channel="sms", campaign="back-in-stock", at=t, priority=5)
    result = guard.arbitrate([low, high], per_customer=2, record=True)
    assert result.chosen == (high,)
    assert result.decisions[0].codes == ("frequency_cap",)
    assert len(guard.ledger) == 2


def test_arbitrate_picks_one_per_customer_and_marks_the_rest_outranked():
    guard = guard_for(zone="UTC")
    t = utc(2026, 6, 1, 9)
    cands = [
        Contact(c, channel="email", campaign=k, at=t, priority=p, value=v)
        for c, k, p, v in [("a", "x", 1, 0.0), ("a", "y", 1, 5.0), ("b", "z", 0, 0.0)]
    ]
    result = guard.arbitrate(cands)
    assert [c.campaign for c in result.chosen] == ["y", "z"]  # equal priority: higher value
    assert result.decisions[0].codes == ("outranked",)
    assert len(guard.ledger) == 0  # record=False records nothing


def test_reserve_keeps_the_last_slot_for_high_priority():
    policy = Policy(
        [FrequencyCap(3, per="calendar_day")],
        timezone="UTC",
        reserve=Reserve(slots=1, min_priority=10),
    )
    guard = ContactGuard(policy, MemoryLedger())
    t = utc(2026, 6, 1, 9)
    low = [guard.request(email(t + timedelta(minutes=m), priority=1)) for m in range(3)]
    assert [d.allowed for d in low] == [True, True, False]
    assert "(1 kept for higher priority)" in low[2].reasons[0].message
    assert low[2].next_allowed_at == utc(2026, 6, 2)
    assert guard.request(email(t + timedelta(minutes=5), priority=10)).allowed
    assert not guard.request(email(t + timedelta(minutes=6), priority=10)).allowed


# ------------------------------------------------------------------------ naive datetimes


def test_naive_datetimes_are_refused_everywhere():
    guard = guard_for()
    naive = datetime(2026, 6, 1, 9)
    with pytest.raises(ValueError, match="naive"):
        Contact("c42", channel="email", at=naive)
    with pytest.raises(ValueError, match="naive"):
        guard.record_response("c42", naive)
    with pytest.raises(ValueError, match="naive"):
        guard.check_many(["c42"], channel="email", at=naive)
    with pytest.raises(ValueError, match="naive"):
        guard.prune(naive)
