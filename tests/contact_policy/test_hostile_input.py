"""Hostile input gets a clear error naming the key path or the column, never a crash.

Each case used to end in an OverflowError, a TypeError from deep inside, a RecursionError,
an int64 that wrapped around or a silently merged id.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from relcore import DataError, PolicyError
from relcore.contact_policy import (
    Contact,
    ContactFatigue,
    ContactGuard,
    Cooldown,
    Entry,
    FrequencyCap,
    MemoryLedger,
    MinimumGap,
    Policy,
    QuietHours,
    SQLiteLedger,
    simulate,
)
from relcore.models import ContactLimit, ContactPreferences, EventLog

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)


def cap(per: str) -> str:
    return f'[[rules]]\ntype = "frequency_cap"\ncount = 1\nper = "{per}"\n'


# ------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    "per",
    [
        "99999999999w",  # beyond what a timedelta holds
        "100000000w",  # a timedelta, but 6e19 µs: beyond SQLite's and numpy's int64
        "365251d",  # just over the longest duration relcore takes
    ],
)
def test_a_duration_too_large_in_a_policy_file_names_the_key(per):
    with pytest.raises(PolicyError) as info:
        Policy.from_toml_text(cap(per))
    assert info.value.path == "rules[0].per"
    assert "at most 365250 days (1000 years)" in str(info.value)


def test_the_longest_durations_are_accepted_and_decide_on_every_ledger(tmp_path):
    longest = "365250d"
    policy = Policy.from_toml_text(
        cap(longest)
        + f'[[rules]]\ntype = "outcome_suppression"\nignored = 5\nwithin = "{longest}"\n'
        f'suppress_for = "{longest}"\n'
        '[[rules]]\ntype = "fatigue_limit"\nmax_score = 3\n'
        f'scorer = {{ name = "contact_fatigue", half_life = "{longest}" }}\n'
    )
    # the fatigue score reads 20 half-lives back: 20,000 years, still inside int64
    assert policy.retention == timedelta(days=20 * 365_250)
    for ledger in (MemoryLedger(), SQLiteLedger(tmp_path / "l.db")):
        guard = ContactGuard(policy, ledger)
        assert guard.request(Contact("a", channel="email", at=NOW)).allowed
        d = guard.check(Contact("a", channel="email", at=NOW + timedelta(days=1)))
        assert d.codes == ("frequency_cap",)
        assert d.next_allowed_at == NOW + timedelta(days=365_250)
        batch = guard.check_many(["a", "b"], channel="email", at=NOW + timedelta(days=1))
        assert batch.allowed.tolist() == [False, True]
        assert guard.prune(NOW) == 0
        ledger.close()


def test_a_duration_too_large_in_python_is_refused_naming_the_parameter():
    with pytest.raises(ValueError, match="at most 365250 days"):
        FrequencyCap(1, per="99999999999w")
    with pytest.raises(ValueError, match="per must be at most 365250 days"):
        FrequencyCap(1, per=timedelta(days=999_999_999))
    with pytest.raises(ValueError, match="gap must be at most"):
        MinimumGap(timedelta.max)
    with pytest.raises(ValueError, match="per must be at most"):
        ContactLimit(1, per=timedelta(days=400_000))
    with pytest.raises(ValueError, match="half_life must be at most"):
        ContactFatigue(half_life=timedelta(days=10**8))


def test_a_scorer_half_life_too_large_names_the_nested_key():
    text = (
        '[[rules]]\ntype = "fatigue_limit"\nmax_score = 3\n'
        'scorer = { name = "contact_fatigue", half_life = "99999999999w" }'
    )
    with pytest.raises(PolicyError, match=r"^rules\[0\]\.scorer\.half_life: .*at most"):
        Policy.from_toml_text(text)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('[[rules]]\ntype = "frequency_cap"\ncount = 99999999999999999999\nper = "7d"', "count"),
        (
            '[[rules]]\ntype = "outcome_suppression"\nignored = 99999999999999999999\n'
            'within = "1d"\nsuppress_for = "1d"',
            "ignored",
        ),
        ('[[rules]]\ntype = "fatigue_limit"\nmax_score = 1' + "0" * 400, "max_score"),
    ],
)
def test_numbers_beyond_64_bits_name_the_key(text, path):
    with pytest.raises(PolicyError) as info:
        Policy.from_toml_text(text)
    assert info.value.path == f"rules[0].{path}"


def test_reserve_numbers_beyond_64_bits_name_the_key():
    with pytest.raises(PolicyError) as info:
        Policy.from_toml_text(f"[reserve]\nslots = 1\nmin_priority = -{10**30}")
    assert info.value.path == "reserve.min_priority"


@pytest.mark.parametrize("make", [MemoryLedger, lambda p: SQLiteLedger(p / "l.db")])
def test_ledgers_take_instants_beyond_64_bits_as_before_or_after_everything(make, tmp_path):
    ledger = make(tmp_path) if make is not MemoryLedger else MemoryLedger()
    ledger.append([Entry("a", 10, "email", None, None, "message", True)])
    assert ledger.customer_history("a", since=-(2**80)).at.tolist() == [10]
    assert ledger.customer_history("a", since=2**80).at.tolist() == []
    assert ledger.customer_rows("a", since=-(2**80)).at == [10]
    assert ledger.histories(["a"], since=2**80).counts().tolist() == [0]
    assert ledger.prune(-(2**80)) == 0
    guard = ContactGuard(Policy([]), ledger)
    assert guard.prune(NOW, keep=timedelta.max) == 0
    assert len(ledger) == 1
    ledger.close()


# ------------------------------------------------------------------------- policy files


@pytest.mark.parametrize("value", ['["frequency_cap"]', '{ name = "frequency_cap" }', "3"])
def test_a_rule_type_that_is_not_a_string_names_the_key(value):
    with pytest.raises(PolicyError) as info:
        Policy.from_toml_text(f"[[rules]]\ntype = {value}\ncount = 1\nper = '7d'")
    assert info.value.path == "rules[0].type"
    assert "must be a string naming a rule type (one of frequency_cap" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "name = " + "[" * 50_000 + "]" * 50_000,
        "name = " + "{ a = " * 5_000 + "1" + " }" * 5_000,
        '[[rules]]\ntype = "minimum_gap"\ngap = ' + "[" * 5_000 + "]" * 5_000,
    ],
)
def test_deeply_nested_toml_is_a_policy_error_not_a_recursion_error(text):
    with pytest.raises(PolicyError, match="nested too deeply"):
        Policy.from_toml_text(text)


def test_a_deeply_nested_value_given_as_a_mapping_is_reported_in_a_short_line():
    deep: list = []
    for _ in range(100_000):  # far deeper than repr() can go
        deep = [deep]
    with pytest.raises(PolicyError) as info:
        Policy.from_dict({"rules": [{"type": "minimum_gap", "gap": deep}]})
    assert info.value.path == "rules[0].gap"
    assert len(str(info.value)) < 200


def test_a_scorer_name_that_is_not_a_string_names_the_key():
    text = '[[rules]]\ntype = "fatigue_limit"\nmax_score = 1\nscorer = { name = ["os"] }'
    with pytest.raises(PolicyError) as info:
        Policy.from_toml_text(text)
    assert info.value.path == "rules[0].scorer.name"


def test_a_policy_that_is_not_a_mapping_is_a_type_error_saying_so():
    for bad in (None, 3, "rules", []):
        with pytest.raises(TypeError, match="a policy must be a mapping shaped like the policy"):
            Policy.from_dict(bad)
    with pytest.raises(TypeError, match=r"the policy file's path .*got NoneType"):
        Policy.from_toml(None)
    with pytest.raises(TypeError, match=r"the policy file's text .*got PosixPath"):
        Policy.from_toml_text(Path("policy.toml"))


def test_a_policy_file_that_cannot_be_read_is_a_policy_error_naming_it(tmp_path):
    with pytest.raises(PolicyError, match=r"cannot read the policy file .*nowhere\.toml"):
        Policy.from_toml(tmp_path / "nowhere.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        Policy.from_toml(binary)


def test_huge_values_are_quoted_short_in_the_error():
    with pytest.raises(PolicyError, match=r"rules\[0\]\.per: .*at most") as info:
        Policy.from_toml_text(cap("1" * 100_000 + "w"))
    assert len(str(info.value)) < 200
    with pytest.raises(PolicyError) as info:
        Policy.from_toml_text(f'timezone = "{"a" * 5000}"')  # longer than a file name may be
    assert info.value.path == "timezone"
    assert len(str(info.value)) < 200
    with pytest.raises(ValueError, match="unknown time zone"):
        Policy([], timezone="a" * 5000)
    quiet = '[[rules]]\ntype = "quiet_hours"\nstart = "{}"\nend = "08:00"'
    with pytest.raises(PolicyError, match=r"rules\[0\]\.start: must be a time of day") as info:
        Policy.from_toml_text(quiet.format("9" * 100_000))
    assert len(str(info.value)) < 200


# ------------------------------------------------------------------------- extreme dates

FIRST_DAY = datetime(1, 1, 1, tzinfo=UTC)
LAST_DAY = datetime(9999, 12, 31, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")


def calendar_policy(zone: str = "America/New_York") -> Policy:
    return Policy(
        [
            FrequencyCap(1, per="calendar_month"),
            QuietHours(start=time(21), end=time(9)),
            MinimumGap("20h"),
            Cooldown(after="complaint", duration="30d"),
        ],
        timezone=zone,
    )


@pytest.mark.parametrize(
    "at",
    [
        FIRST_DAY,
        datetime(1, 1, 1, tzinfo=TOKYO),  # before 0001-01-01 in UTC
        LAST_DAY,
        datetime(9999, 12, 31, 23, tzinfo=NEW_YORK),  # after 9999-12-31 in UTC
    ],
)
def test_a_contact_at_the_ends_of_the_calendar_is_a_data_error_naming_at(at):
    guard = ContactGuard(calendar_policy(), MemoryLedger())
    contact = Contact("a", channel="email", at=at)
    for decide in (
        guard.check,
        guard.request,
        lambda c: guard.check_many(["a"], channel="email", at=c.at),
        lambda c: guard.arbitrate([c]),
    ):
        with pytest.raises(DataError) as info:
            decide(contact)
        assert info.value.column == "at"
        assert "0002-01-01 to 9998-12-31" in str(info.value)


def test_simulate_names_the_planned_contacts_at_the_ends_of_the_calendar():
    plan = [Contact("a", channel="email", at=t) for t in (NOW, FIRST_DAY, NOW, LAST_DAY)]
    with pytest.raises(DataError) as info:
        simulate(calendar_policy(), plan)
    assert (info.value.column, info.value.rows) == ("at", (1, 3))


def test_decisions_at_the_first_decidable_instant_read_history_from_year_one():
    first = datetime(2, 1, 1, tzinfo=UTC)  # 0001-12-31 19:00 in New York
    guard = ContactGuard(calendar_policy(), MemoryLedger())
    guard.record(Contact("a", channel="email", at=datetime(1, 1, 1, 12, tzinfo=UTC)))
    guard.record_response("a", first - timedelta(days=1), "complaint")
    d = guard.check(Contact("a", channel="email", at=first))
    assert set(d.codes) == {"cooldown"}
    assert d.next_allowed_at == first - timedelta(days=1) + timedelta(days=30)
    # the complaint, on the customer's clock (New York's local mean time then): a year
    # before 1000 still reads as a date
    assert d.reasons[0].message.startswith("complaint at 0001-12-30 19:")
    batch = guard.check_many(["a"], channel="email", at=first)
    assert batch.next_allowed_at[0] == np.datetime64("0002-01-30T00:00", "us")


def test_a_next_allowed_time_beyond_the_calendar_is_none_in_check_and_nat_in_check_many():
    last = datetime(9998, 12, 31, 23, 59, tzinfo=UTC)  # 08:59 on 9999-01-01 in Tokyo
    guard = ContactGuard(calendar_policy("Asia/Tokyo"), MemoryLedger())
    d = guard.check(Contact("a", channel="email", at=last))
    assert d.codes == ("quiet_hours",)
    assert d.next_allowed_at is None  # 09:00 in Tokyo is past 9998-12-31 in UTC
    batch = guard.check_many(["a"], channel="email", at=last)
    assert not batch.allowed[0]
    assert np.isnat(batch.next_allowed_at[0])
    assert simulate(guard.policy, [Contact("a", channel="email", at=last)]).outcomes == (
        "suppressed",
    )


def test_a_snooze_to_the_end_of_time_refuses_and_explains_in_utc():
    prefs = ContactPreferences(
        snoozed_until=datetime.max.replace(tzinfo=UTC), timezone="Pacific/Kiritimati"
    )
    guard = ContactGuard(Policy([]), MemoryLedger())
    d = guard.check(Contact("a", channel="email", at=NOW), prefs)
    assert d.codes == ("snoozed",)
    assert d.next_allowed_at is None
    assert d.reasons[0].message.endswith("until 9999-12-31 23:59:59 UTC")  # +14h won't fit
    batch = guard.check_many(["a"], channel="email", at=NOW, preferences={"a": prefs})
    assert np.isnat(batch.next_allowed_at[0])


@pytest.mark.parametrize("make", [MemoryLedger, lambda p: SQLiteLedger(p / "l.db")])
def test_ledger_entries_beyond_what_a_datetime_holds_are_refused(make, tmp_path):
    ledger = make(tmp_path) if make is not MemoryLedger else MemoryLedger()
    too_late = 253_402_300_800_000_000  # 10000-01-01 in microseconds
    with pytest.raises(DataError, match="between 0001-01-01 and 9999-12-31") as info:
        ledger.append([Entry("a", too_late, "email", None, None, "message", True)])
    assert info.value.column == "at"
    guard = ContactGuard(Policy([]), ledger)
    with pytest.raises(DataError, match="column 'at'"):
        guard.record(Contact("a", channel="email", at=datetime(1, 1, 1, tzinfo=TOKYO)))
    assert len(ledger) == 0
    ledger.close()


def test_memory_ledger_from_arrays_names_the_rows_outside_the_calendar():
    with pytest.raises(DataError) as info:
        MemoryLedger.from_arrays(["a", "b", "c"], np.array([0, 2**62, -(2**62)]))
    assert (info.value.column, info.value.rows) == ("at", (1, 2))
    with pytest.raises(DataError) as info:  # unsigned values that would wrap in int64
        MemoryLedger.from_arrays(["a", "b"], np.array([0, 2**64 - 1], dtype=np.uint64))
    assert info.value.rows == (1,)


# ------------------------------------------------------------------------- preferences


def test_preferences_given_as_a_dict_are_a_type_error_saying_what_to_pass():
    guard = ContactGuard(Policy([]), MemoryLedger())
    contact = Contact("a", channel="sms", at=NOW)
    fields = {"opted_out_channels": {"sms"}}
    for decide in (guard.check, guard.request):
        with pytest.raises(TypeError, match=r"must be ContactPreferences .*got dict; build one"):
            decide(contact, preferences=fields)
    with pytest.raises(TypeError, match="must be ContactPreferences"):
        guard.check_many(["a"], channel="sms", at=NOW, preferences={"a": fields})
    with pytest.raises(TypeError, match="must be ContactPreferences"):
        guard.arbitrate([contact], preferences={"a": fields})
    assert len(guard.ledger) == 0
    # the same settings as ContactPreferences are honoured
    assert not guard.request(contact, ContactPreferences(**fields)).allowed


# ------------------------------------------------------------------------- ids and times


@pytest.mark.parametrize("ids", [["a", None, "b", None], np.array(["a", None, "b", None])])
def test_memory_ledger_from_arrays_refuses_missing_ids_instead_of_storing_none(ids):
    with pytest.raises(DataError) as info:
        MemoryLedger.from_arrays(ids, np.arange(4))
    assert (info.value.column, info.value.rows) == ("customer_id", (1, 3))
    assert "missing" in str(info.value)


def test_datetime64_values_that_wrap_around_in_microseconds_are_refused_naming_rows():
    at = np.array(["2026-06-01", "300000-01-01", "2026-06-02", "-300000-01-01"], "datetime64[D]")
    ids = ["a", "b", "c", "d"]
    for build in (
        lambda: MemoryLedger.from_arrays(ids, at, timezone="UTC"),
        lambda: EventLog.from_arrays(ids, at, timezone="UTC"),
    ):
        with pytest.raises(DataError) as info:
            build()
        assert (info.value.column, info.value.rows) == ("at", (1, 3))
    # in range, coarse units convert exactly
    ledger = MemoryLedger.from_arrays(ids[:1], at[:1], timezone="UTC")
    assert ledger.customer_history("a").times()[0] == np.datetime64("2026-06-01", "us")


@pytest.mark.parametrize(
    "ids", [["a", "a\0", "b"], ("a", "a\0", "b"), np.array(["a", "a\0", "b"], dtype=object)]
)
def test_an_id_ending_in_nul_is_refused_rather_than_merged_with_the_id_without_it(ids):
    at = [NOW, NOW + timedelta(hours=1), NOW]
    for build in (
        lambda: MemoryLedger.from_arrays(ids, at),
        lambda: EventLog.from_arrays(ids, at),
    ):
        with pytest.raises(DataError) as info:
            build()
        assert (info.value.column, info.value.rows) == ("customer_id", (1,))
        assert "NUL" in str(info.value)


def test_ids_that_numpy_would_turn_into_the_same_text_are_refused():
    with pytest.raises(DataError) as info:  # 1 and "1" would both become "1"
        MemoryLedger.from_arrays(["1", 1, "b"], [0, 1, 2])
    assert (info.value.column, info.value.rows) == ("customer_id", (1,))


def test_distinct_ids_stay_distinct_and_integer_ids_are_kept_as_their_text():
    ledger = MemoryLedger.from_arrays(["a\0b", "ab", "a"], [1, 2, 3])
    assert [ledger.customer_history(c).at.tolist() for c in ("a\0b", "ab", "a")] == [[1], [2], [3]]
    numbered = MemoryLedger.from_arrays(np.array([7, 42, 7]), [1, 2, 3])
    assert numbered.customer_history("7").at.tolist() == [1, 3]
    assert numbered.customer_history("42").at.tolist() == [2]


def test_a_label_ending_in_nul_is_refused_rather_than_merged():
    with pytest.raises(DataError) as info:
        MemoryLedger.from_arrays(["a", "b"], [1, 2], channel=["email", "email\0"])
    assert (info.value.column, info.value.rows) == ("channel", (1,))
