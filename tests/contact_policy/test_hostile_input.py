"""Hostile input gets a clear error naming the key path or the column, never a crash.

Each case used to end in an OverflowError, a TypeError from deep inside, a RecursionError,
an int64 that wrapped around or a silently merged id.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from relcore import PolicyError
from relcore.contact_policy import (
    Contact,
    ContactFatigue,
    ContactGuard,
    Entry,
    FrequencyCap,
    MemoryLedger,
    MinimumGap,
    Policy,
    SQLiteLedger,
)
from relcore.models import ContactLimit

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
        Policy.from_toml(cap(per))
    assert info.value.path == "rules[0].per"
    assert "at most 365250 days (1000 years)" in str(info.value)


def test_the_longest_duration_is_accepted_and_decides_on_every_ledger(tmp_path):
    policy = Policy.from_toml(cap("365250d"))
    for ledger in (MemoryLedger(), SQLiteLedger(tmp_path / "l.db")):
        guard = ContactGuard(policy, ledger)
        assert guard.request(Contact("a", channel="email", at=NOW)).allowed
        d = guard.check(Contact("a", channel="email", at=NOW + timedelta(days=1)))
        assert d.next_allowed_at == NOW + timedelta(days=365_250)
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
        Policy.from_toml(text)


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
        Policy.from_toml(text)
    assert info.value.path == f"rules[0].{path}"


def test_reserve_numbers_beyond_64_bits_name_the_key():
    with pytest.raises(PolicyError) as info:
        Policy.from_toml(f"[reserve]\nslots = 1\nmin_priority = -{10**30}")
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
        Policy.from_toml(f"[[rules]]\ntype = {value}\ncount = 1\nper = '7d'")
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
        Policy.from_toml(text)


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
        Policy.from_toml(text)
    assert info.value.path == "rules[0].scorer.name"


def test_a_policy_that_is_not_a_mapping_is_a_type_error_saying_so():
    for bad in (None, 3, "rules", []):
        with pytest.raises(TypeError, match="a policy must be a mapping shaped like the policy"):
            Policy.from_dict(bad)
    with pytest.raises(TypeError, match="the policy file's text or path, got NoneType"):
        Policy.from_toml(None)


def test_a_policy_file_that_cannot_be_read_is_a_policy_error_naming_it(tmp_path):
    with pytest.raises(PolicyError, match=r"cannot read the policy file .*nowhere\.toml"):
        Policy.from_toml(tmp_path / "nowhere.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        Policy.from_toml(binary)


def test_huge_values_are_quoted_short_in_the_error():
    with pytest.raises(PolicyError, match=r"rules\[0\]\.per: .*at most") as info:
        Policy.from_toml(cap("1" * 100_000 + "w"))
    assert len(str(info.value)) < 200
    with pytest.raises(PolicyError) as info:
        Policy.from_toml(f'timezone = "{"a" * 5000}"')  # longer than a file name may be
    assert info.value.path == "timezone"
    assert len(str(info.value)) < 200
    with pytest.raises(ValueError, match="unknown time zone"):
        Policy([], timezone="a" * 5000)
