"""Decisions, contacts and preferences are data: JSON-safe dictionaries that read back equal.

The round trips go through ``json.dumps``/``json.loads``, so they also show that
``to_dict`` writes nothing JSON cannot carry. Decisions come from a real guard over random
policies, histories and preferences, so every kind of reason is met.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relcore import DataError, PolicyError
from relcore.contact_policy import (
    Contact,
    ContactGuard,
    Cooldown,
    Decision,
    FatigueLimit,
    FrequencyCap,
    GlobalControl,
    MinimumGap,
    OutcomeSuppression,
    Policy,
    QuietHours,
    Reason,
    Reserve,
)
from relcore.models import ContactLimit, ContactPreferences

ZONES = [
    UTC,
    ZoneInfo("America/New_York"),
    ZoneInfo("Europe/Paris"),
    ZoneInfo("Australia/Lord_Howe"),
    ZoneInfo("Asia/Kathmandu"),
    timezone(timedelta(hours=-3, minutes=-30)),
]
LABELS = st.sampled_from(["email", "sms", "push", "promotional", "service", "spring", "ü-ñ"])


def json_round_trip(data):
    return json.loads(json.dumps(data, allow_nan=False))


instants = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2200, 12, 31),
    timezones=st.sampled_from(ZONES),
)
contacts = st.builds(
    Contact,
    st.sampled_from(["c1", "c2", "42", "ü"]),
    channel=LABELS,
    at=instants,
    category=st.none() | LABELS,
    campaign=st.none() | LABELS,
    priority=st.integers(-(2**70), 2**70),
    value=st.floats(allow_nan=False, allow_infinity=False),
)
durations = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=365_250))
limits = st.builds(
    ContactLimit,
    st.integers(0, 2**63 - 1),
    per=durations | st.sampled_from(["calendar_day", "calendar_week", "calendar_month"]),
    each=st.sampled_from([(), ("channel",), ("category",), ("channel", "category")]),
)
times_of_day = st.times()
preferences = st.builds(
    ContactPreferences,
    opted_out_channels=st.frozensets(LABELS, max_size=3),
    opted_out_categories=st.frozensets(LABELS, max_size=3),
    max_contacts=st.lists(limits, max_size=3),
    quiet_hours=st.none()
    | st.tuples(times_of_day, times_of_day).filter(lambda pair: pair[0] != pair[1]),
    timezone=st.none() | st.sampled_from(["UTC", "Europe/Paris", "America/New_York"]),
    snoozed_until=st.none() | instants,
)


@given(contacts)
def test_a_contact_reads_back_equal_from_json(contact):
    data = json_round_trip(contact.to_dict())
    again = Contact.from_dict(data)
    assert again == contact
    assert again.at_micros == contact.at_micros
    assert again.at.utcoffset() == contact.at.utcoffset()  # the offset is kept


@given(preferences)
def test_preferences_read_back_equal_from_json(prefs):
    assert ContactPreferences.from_dict(json_round_trip(prefs.to_dict())) == prefs


def test_a_snooze_in_a_repeated_hour_reads_back_equal():
    # 01:30 on 2026-11-01 happens twice in New York; datetime's own == calls the two
    # spellings of one instant unequal there, the preferences do not
    ny = ZoneInfo("America/New_York")
    for fold in (0, 1):
        snooze = datetime(2026, 11, 1, 1, 30, fold=fold, tzinfo=ny)
        prefs = ContactPreferences(snoozed_until=snooze)
        again = ContactPreferences.from_dict(json_round_trip(prefs.to_dict()))
        assert again == prefs
        assert hash(again) == hash(prefs)
        assert again.snoozed_until.timestamp() == snooze.timestamp()


# ------------------------------------------------------------------- decisions of a guard

RULES = [
    FrequencyCap(1, per=timedelta(days=7), channel="email"),
    FrequencyCap(2, per="calendar_day", each=("channel",)),
    MinimumGap(timedelta(hours=20), category="promotional"),
    QuietHours(start=time(21), end=time(8, 0, 30, 250)),
    Cooldown(after="complaint", duration=timedelta(days=3)),
    OutcomeSuppression(ignored=1, within=timedelta(days=2), suppress_for=timedelta(days=1)),
    FatigueLimit(0.5),
    GlobalControl(0.5, salt="s", category="promotional"),
]


@st.composite
def decisions(draw):
    rules = draw(st.lists(st.sampled_from(RULES), min_size=1, max_size=4, unique_by=repr))
    reserve = draw(st.none() | st.just(Reserve(1, 5)))
    policy = Policy(rules, timezone="America/New_York", reserve=reserve)
    guard = ContactGuard(policy)
    base = datetime(2026, 3, 6, tzinfo=UTC)
    customer = draw(st.sampled_from(["a", "b", "c", "d"]))
    for hours in draw(st.lists(st.integers(0, 200), max_size=4)):
        guard.record(Contact(customer, channel=draw(LABELS), at=base + timedelta(hours=hours)))
    if draw(st.booleans()):
        guard.record_response(
            customer, base + timedelta(hours=draw(st.integers(0, 200))), "complaint"
        )
    contact = Contact(
        customer,
        channel=draw(st.sampled_from(["email", "sms"])),
        category=draw(st.none() | st.just("promotional")),
        at=base + timedelta(hours=draw(st.integers(0, 240)), minutes=draw(st.integers(0, 59))),
        priority=draw(st.integers(0, 9)),
    )
    prefs = draw(st.none() | preferences)
    return guard.check(contact, prefs)


@given(decisions())
def test_a_decision_of_the_guard_reads_back_equal_from_json(decision):
    data = json_round_trip(decision.to_dict())
    assert data["codes"] == list(decision.codes)
    assert Decision.from_dict(data) == decision


def test_an_opt_out_and_a_snooze_are_written_as_their_codes():
    guard = ContactGuard(Policy([]))
    at = datetime(2026, 6, 1, 9, tzinfo=UTC)
    prefs = ContactPreferences(
        opted_out_channels={"sms"},
        snoozed_until=datetime(2026, 7, 1, tzinfo=ZoneInfo("Europe/Paris")),
    )
    d = guard.check(Contact("c1", channel="sms", at=at), prefs)
    data = d.to_dict()
    assert [r["rule"] for r in data["reasons"]] == [
        {"type": "opted_out", "channels": ["sms"], "categories": []},
        {"type": "snoozed", "until": "2026-07-01T00:00:00+02:00"},
    ]
    assert data["next_allowed_at"] is None
    assert Decision.from_dict(data) == d


def test_an_allowed_decision_is_small_json():
    at = datetime(2026, 6, 1, 9, tzinfo=ZoneInfo("Europe/Paris"))
    d = ContactGuard(Policy([])).check(Contact("c1", channel="sms", at=at))
    assert d.to_dict() == {
        "allowed": True,
        "codes": [],
        "reasons": [],
        "next_allowed_at": "2026-06-01T07:00:00+00:00",
        "contact": {
            "customer_id": "c1",
            "channel": "sms",
            "at": "2026-06-01T09:00:00+02:00",
            "category": None,
            "campaign": None,
            "priority": 0,
            "value": 0.0,
        },
    }


def test_an_outranked_reason_has_no_rule():
    reason = Reason("outranked", None, "a message of higher priority was chosen")
    assert Reason.from_dict(json_round_trip(reason.to_dict())) == reason


# ----------------------------------------------------------------------- bad input


GOOD = {"customer_id": "c", "channel": "sms", "at": "2026-06-01T09:00:00Z"}


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"customer_id": None}, "customer_id", "required"),
        ({"at": "2026-06-01T09:00:00"}, "at", "no UTC offset"),
        ({"at": "tomorrow"}, "at", "ISO 8601"),
        ({"at": "0001-01-01T00:00:00+01:00"}, "at", "outside the years 1 to 9999"),
        ({"channel": ""}, "channel", "non-empty"),
        ({"prio": 1}, "prio", "not a key"),
        ({"priority": 1.5}, "priority", "whole number"),
        ({"value": "1"}, "value", "number"),
    ],
)
def test_a_bad_contact_is_a_data_error_naming_the_key(change, key, words):
    data = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(DataError, match=words) as info:
        Contact.from_dict(data)
    assert info.value.column == key


def test_z_is_read_as_utc():
    c = Contact.from_dict({"customer_id": "c", "channel": "sms", "at": "2026-06-01T09:00:00Z"})
    assert c.at == datetime(2026, 6, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"max_contacts": [{"count": 1, "per": "-7d"}]}, "max_contacts[0].per"),
        ({"max_contacts": [{"count": -1, "per": "7d"}]}, "max_contacts[0].count"),
        ({"max_contacts": [{"count": 1, "per": 7}]}, "max_contacts[0].per"),
        ({"max_contacts": [{"count": 1, "per": "7d", "channel": "s", "each": ["channel"]}]},
         "max_contacts[0]"),
        ({"quiet_hours": ["21:00"]}, "quiet_hours"),
        ({"quiet_hours": ["21:00", "25:00"]}, "quiet_hours[1]"),
        ({"quiet_hours": ["21:00", "21:00"]}, "quiet_hours"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"snoozed_until": "2026-06-01"}, "snoozed_until"),
        ({"opted_out_channels": "sms"}, "opted_out_channels"),
        ({"opted_out": ["sms"]}, "opted_out"),
    ],
)  # fmt: skip
def test_bad_preferences_are_a_data_error_naming_the_key(data, key):
    with pytest.raises(DataError) as info:
        ContactPreferences.from_dict(data)
    assert info.value.column == key


def test_a_decision_naming_a_rule_of_unknown_type_is_a_policy_error_pointing_to_rule_types():
    data = {
        "allowed": False,
        "reasons": [{"code": "lifetime_cap", "message": "…", "rule": {"type": "lifetime_cap"}}],
    }
    with pytest.raises(PolicyError, match="rule_types=") as info:
        Decision.from_dict(data)
    assert info.value.path == "reasons[0].rule.type"


def test_a_decision_whose_codes_disagree_with_its_reasons_is_refused():
    with pytest.raises(DataError) as info:
        Decision.from_dict({"allowed": False, "codes": ["snoozed"], "reasons": []})
    assert info.value.column == "codes"
