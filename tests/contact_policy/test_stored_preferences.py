"""Preferences stored in the ledger: used whenever a call passes none, never pruned away,
and written by an unsubscribe."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from relcore.contact_policy import (
    Contact,
    ContactGuard,
    FrequencyCap,
    MemoryLedger,
    Policy,
    SQLiteLedger,
)
from relcore.models import ContactLimit, ContactPreferences

T = datetime(2026, 6, 1, 9, tzinfo=UTC)
NO_SMS = ContactPreferences(opted_out_channels={"sms"})


def sms(customer="c1", at=T, **kw):
    return Contact(customer, channel="sms", at=at, **kw)


def email(customer="c1", at=T, **kw):
    return Contact(customer, channel="email", at=at, **kw)


@pytest.fixture(params=["memory", "sqlite"])
def ledger(request, tmp_path):
    made = MemoryLedger() if request.param == "memory" else SQLiteLedger(tmp_path / "l.db")
    yield made
    made.close()


def test_stored_preferences_apply_when_a_call_passes_none(ledger):
    ledger.set_preferences("c1", NO_SMS)
    guard = ContactGuard(Policy([]), ledger)
    assert guard.check(sms()).codes == ("opted_out",)
    assert guard.request(sms()).codes == ("opted_out",)
    assert guard.reserve(sms(), key="m-1").codes == ("opted_out",)
    assert guard.check_many(["c1", "c2"], channel="sms", at=T).allowed.tolist() == [False, True]
    result = guard.arbitrate([sms(), email(priority=-1)])
    assert [c.channel for c in result.chosen] == ["email"]
    assert guard.check(sms("c2")).allowed  # another customer's are not theirs


def test_preferences_passed_replace_the_stored_ones_for_that_call(ledger):
    ledger.set_preferences("c1", NO_SMS)
    guard = ContactGuard(Policy([]), ledger)
    no_email = ContactPreferences(opted_out_channels={"email"})
    assert guard.check(sms(), no_email).allowed  # not merged: the passed value wins
    assert guard.check(email(), no_email).codes == ("opted_out",)
    batch = guard.check_many(["c1", "c2"], channel="sms", at=T, preferences={"c2": no_email})
    assert batch.allowed.tolist() == [False, True]  # c1 has none passed: its stored apply
    batch = guard.check_many(["c1"], channel="sms", at=T, preferences={"c1": no_email})
    assert batch.allowed.tolist() == [True]


def test_a_stored_limit_is_the_customers_own(ledger):
    ledger.set_preferences(
        "c1", ContactPreferences(max_contacts=ContactLimit(1, per=timedelta(days=7)))
    )
    guard = ContactGuard(Policy([FrequencyCap(3, per="7d")]), ledger)
    assert guard.request(email()).allowed
    d = guard.check(email(at=T + timedelta(days=1)))
    assert d.codes == ("frequency_cap",)
    assert d.reasons[0].message.startswith("customer's preference: ")


def test_prune_never_deletes_what_a_stored_limit_of_90_days_still_reads(ledger):
    # The customer asked for one contact in 90 days. The policy's own rules read 7 days,
    # and pruning used to keep 33: then a second contact went out 40 days after the first.
    ninety = ContactPreferences(max_contacts=ContactLimit(1, per=timedelta(days=90)))
    ledger.set_preferences("c1", ninety)
    guard = ContactGuard(Policy([FrequencyCap(3, per="7d")]), ledger)
    assert guard.request(email()).allowed
    guard.record(email("c2"))
    later = T + timedelta(days=40)
    assert guard.prune(later) == 1  # c2's contact, which no limit reads any more
    assert not guard.request(email(at=later)).allowed
    assert guard.request(email(at=T + timedelta(days=90))).allowed


def test_prune_without_stored_preferences_keeps_33_days(ledger):
    guard = ContactGuard(Policy([FrequencyCap(3, per="7d")]), ledger)
    for days in (0, 32, 34):
        guard.record(email(at=T - timedelta(days=days)))
    assert guard.prune(T) == 1


# ---------------------------------------------------------------------------- unsubscribe


def test_an_unsubscribe_with_a_category_opts_the_customer_out_of_it(ledger):
    guard = ContactGuard(Policy([]), ledger)
    ledger.set_preferences("c1", ContactPreferences(quiet_hours=(time(22), time(7))))
    guard.record_response("c1", T, "unsubscribe", channel="email", category="promotional")
    prefs = ledger.get_preferences("c1")
    assert prefs.opted_out_categories == {"promotional"}
    assert prefs.opted_out_channels == frozenset()  # receipts by email still go out
    assert prefs.quiet_hours == (time(22), time(7))  # what was stored stays
    assert guard.check(sms(category="promotional")).codes == ("opted_out",)
    assert guard.check(email(category="transactional")).allowed
    # the event itself is recorded too
    assert ledger.customer_history("c1").decode(ledger.customer_history("c1").kind).tolist() == [
        "unsubscribe"
    ]


def test_an_unsubscribe_with_a_channel_only_opts_the_customer_out_of_the_channel(ledger):
    guard = ContactGuard(Policy([]), ledger)
    guard.record_response("c1", T, "unsubscribe", channel="sms")
    guard.record_response("c1", T, "unsubscribe", channel="push")
    assert ledger.get_preferences("c1").opted_out_channels == {"sms", "push"}
    assert guard.check(sms()).codes == ("opted_out",)


def test_an_unsubscribe_from_nothing_named_or_under_a_policy_that_says_no_opts_out_of_nothing(
    ledger,
):
    ContactGuard(Policy([]), ledger).record_response("c1", T, "unsubscribe")
    assert ledger.get_preferences("c1") is None
    keep = ContactGuard(Policy([], unsubscribe_opts_out=False), ledger)
    keep.record_response("c1", T, "unsubscribe", channel="sms")
    assert ledger.get_preferences("c1") is None
    assert keep.check(sms()).allowed
    assert len(ledger.customer_history("c1").at) == 2  # both events recorded
    ContactGuard(Policy([]), ledger).record_response("c1", T, "complaint", channel="sms")
    assert ledger.get_preferences("c1") is None  # only an unsubscribe opts out
