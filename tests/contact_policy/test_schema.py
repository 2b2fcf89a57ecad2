"""The policy file: round trips, and a strict schema that names the offending key."""

from __future__ import annotations

import sys
from datetime import time, timedelta

import pytest

from relcore import PolicyError
from relcore.contact_policy import (
    ContactFatigue,
    Cooldown,
    FatigueLimit,
    FrequencyCap,
    MinimumGap,
    OutcomeSuppression,
    Policy,
    QuietHours,
    Reserve,
)

FULL = """
name = "retail-2026"
timezone = "America/New_York"
exempt_categories = ["transactional", "service"]

[reserve]
slots = 1
min_priority = 10

[[rules]]
type = "frequency_cap"
count = 3
per = "7d"
channel = "email"
category = "promotional"

[[rules]]
type = "frequency_cap"
count = 1
per = "calendar_day"
each = ["channel"]

[[rules]]
type = "minimum_gap"
gap = "20h"
channel = "sms"

[[rules]]
type = "quiet_hours"
start = 21:00:00
end = "08:00"

[[rules]]
type = "cooldown"
after = "complaint"
duration = "30d"

[[rules]]
type = "outcome_suppression"
ignored = 3
within = "14d"
suppress_for = "30d"
response_kinds = ["response", "purchase"]
channel = "email"

[[rules]]
type = "fatigue_limit"
max_score = 4.5
scorer = { name = "contact_fatigue", half_life = "1d12h" }
category = "promotional"
"""


def test_a_policy_file_reads_into_the_rules_it_spells():
    policy = Policy.from_toml_text(FULL)
    assert policy.name == "retail-2026"
    assert policy.timezone == "America/New_York"
    assert policy.exempt_categories == {"transactional", "service"}
    assert policy.reserve == Reserve(slots=1, min_priority=10)
    assert policy.rules == (
        FrequencyCap(3, per=timedelta(days=7), channel="email", category="promotional"),
        FrequencyCap(1, per="calendar_day", each=("channel",)),
        MinimumGap(timedelta(hours=20), channel="sms"),
        QuietHours(start=time(21), end=time(8)),
        Cooldown(after="complaint", duration=timedelta(days=30)),
        OutcomeSuppression(
            ignored=3,
            within=timedelta(days=14),
            suppress_for=timedelta(days=30),
            response_kinds=("response", "purchase"),
            channel="email",
        ),
        FatigueLimit(
            4.5, scorer=ContactFatigue(half_life=timedelta(hours=36)), category="promotional"
        ),
    )


def test_to_dict_and_to_toml_round_trip_to_an_equal_policy():
    policy = Policy.from_toml_text(FULL)
    assert Policy.from_dict(policy.to_dict()) == policy
    assert Policy.from_toml_text(policy.to_toml()) == policy
    assert policy.to_dict()["rules"][2] == {
        "type": "minimum_gap",
        "gap": "20h",
        "channel": "sms",
    }


def test_from_toml_reads_a_path(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(FULL)
    assert Policy.from_toml(path) == Policy.from_toml(str(path)) == Policy.from_toml_text(FULL)


def test_from_toml_takes_a_string_with_an_equals_sign_as_a_path_not_as_toml_text(tmp_path):
    path = tmp_path / "policy=v2.toml"
    path.write_text(FULL)
    assert Policy.from_toml(str(path)) == Policy.from_toml_text(FULL)


def test_toml_text_given_to_from_toml_is_a_missing_file_pointing_to_from_toml_text():
    with pytest.raises(
        PolicyError, match=r"cannot read the policy file .*use Policy\.from_toml_text"
    ):
        Policy.from_toml('[[rules]]\ntype = "minimum_gap"\ngap = "20h"')


@pytest.mark.parametrize(
    ("text", "path", "words"),
    [
        ('colour = "blue"', "colour", "unknown key"),
        ('timezone = "Mars/Olympus"', "timezone", "unknown time zone"),
        ("timezone = 5", "timezone", "got integer 5"),
        ('[[rules]]\ntype = "frequency_cap"\ncount = 3', "rules[0].per", "is required"),
        (
            '[[rules]]\ntype = "frequency_cap"\ncount = "3"\nper = "7d"',
            "rules[0].count",
            "must be an integer, got string '3'",
        ),
        (
            '[[rules]]\ntype = "frequency_cap"\ncount = true\nper = "7d"',
            "rules[0].count",
            "got boolean",
        ),
        ('[[rules]]\ntype = "frequency_cap"\ncount = -1\nper = "7d"', "rules[0].count", ">= 0"),
        (
            '[[rules]]\ntype = "frequency_cap"\ncount = 1\nper = "calendar_year"',
            "rules[0].per",
            "calendar_day",
        ),
        (
            '[[rules]]\ntype = "frequency_cap"\ncount = 1\nper = 7',
            "rules[0].per",
            "duration string",
        ),
        (
            '[[rules]]\ntype = "frequency_cap"\ncount = 1\nper = "7d"\ncout = 2',
            "rules[0].cout",
            "unknown key",
        ),
        (
            '[[rules]]\ntype = "frequency_cap"\ncount = 1\nper = "7d"\neach = ["colour"]',
            "rules[0]",
            "each must name",
        ),
        (
            '[[rules]]\ntype = "frequency_cap"\ncount = 1\nper = "7d"\nchannel = ""',
            "rules[0].channel",
            "non-empty",
        ),
        (
            '[[rules]]\ntype = "minimum_gap"\ngap = "20h"\n[[rules]]\ntype = "spam_filter"',
            "rules[1].type",
            "unknown rule type",
        ),
        ("[[rules]]\ncount = 1", "rules[0].type", "is required"),
        (
            '[[rules]]\ntype = "quiet_hours"\nstart = "25:00"\nend = "08:00"',
            "rules[0].start",
            "time of day",
        ),
        (
            '[[rules]]\ntype = "quiet_hours"\nstart = "08:00"\nend = "08:00"',
            "rules[0]",
            "must differ",
        ),
        ('[[rules]]\ntype = "minimum_gap"\ngap = "0s"', "rules[0].gap", "positive"),
        (
            '[[rules]]\ntype = "cooldown"\nafter = "complaint"\nduration = "-30d"',
            "rules[0].duration",
            "positive",
        ),
        (
            '[[rules]]\ntype = "outcome_suppression"\nignored = 0\nwithin = "1d"\n'
            'suppress_for = "1d"',
            "rules[0].ignored",
            ">= 1",
        ),
        ('[[rules]]\ntype = "fatigue_limit"\nmax_score = -1', "rules[0].max_score", ">= 0"),
        (
            '[[rules]]\ntype = "fatigue_limit"\nmax_score = 3\nscorer = { name = "os.system" }',
            "rules[0].scorer.name",
            "must be one of",
        ),
        (
            '[[rules]]\ntype = "fatigue_limit"\nmax_score = 3\n'
            'scorer = { name = "contact_fatigue", half_life = "-2d" }',
            "rules[0].scorer.half_life",
            "positive",
        ),
        (
            '[[rules]]\ntype = "fatigue_limit"\nmax_score = 3\n'
            'scorer = { name = "contact_fatigue", colour = 1 }',
            "rules[0].scorer.colour",
            "unknown key",
        ),
        ("[reserve]\nslots = 1", "reserve.min_priority", "is required"),
        ("[reserve]\nslots = -1\nmin_priority = 3", "reserve.slots", ">= 0"),
        ("rules = 3", "rules", "array of tables"),
        ('exempt_categories = "transactional"\nexempt_categories = "x"', "", "not valid TOML"),
    ],
)
def test_a_bad_policy_file_names_the_key_path(text, path, words):
    with pytest.raises(PolicyError) as info:
        Policy.from_toml_text(text)
    assert info.value.path == path
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_the_error_message_reads_path_colon_problem():
    text = '[[rules]]\ntype = "minimum_gap"\ngap = "1h"\n' * 2 + (
        '[[rules]]\ntype = "frequency_cap"\ncount = 2\nper = "-1d"'
    )
    with pytest.raises(PolicyError, match=r"^rules\[2\]\.per: must be a positive duration"):
        Policy.from_toml_text(text)


def test_a_policy_file_is_data_nothing_in_it_is_imported_or_run():
    before = set(sys.modules)
    for hostile in (
        "[[rules]]\ntype = \"__import__('os').system('false')\"",
        '[[rules]]\ntype = "fatigue_limit"\nmax_score = 1\nscorer = { name = "subprocess" }',
        '[[rules]]\ntype = "fatigue_limit"\nmax_score = 1\nscorer = "relcore.scoring.fatigue"',
    ):
        with pytest.raises(PolicyError):
            Policy.from_toml_text(hostile)
    assert set(sys.modules) == before


def test_python_rules_accept_duration_strings_and_validate_like_the_file():
    assert MinimumGap("1d12h").gap == timedelta(hours=36)
    with pytest.raises(ValueError, match="positive duration"):
        FrequencyCap(1, per=timedelta(0))
    with pytest.raises(ValueError, match="both fixed"):
        FrequencyCap(1, per="calendar_day", channel="email", each="channel")
    with pytest.raises(TypeError, match="must be a policy rule"):
        Policy(["not a rule"])


def test_describe_reads_the_rules_in_plain_words():
    text = Policy.from_toml_text(FULL).describe()
    assert "1. at most 3 promotional emails in any 7 days" in text
    assert "2. at most 1 contact on each channel per calendar day (customer's local time)" in text
    assert "3. at least 20 hours between SMS messages" in text
    assert "4. no contacts from 21:00 to 08:00 (customer's local time)" in text
    assert "5. no contacts for 30 days after a complaint" in text
    assert (
        "6. after 3 emails without a response or purchase within 14 days, no emails for 30 days"
        in text
    )
    assert "the last 1 slot of every company cap is kept for priority >= 10" in text


def test_retention_is_the_longest_history_any_rule_reads():
    policy = Policy.from_toml_text(FULL)
    # the fatigue scorer reads 20 half-lives = 30 days; suppression 14 + 30 = 44 days
    assert policy.retention == timedelta(days=44)
