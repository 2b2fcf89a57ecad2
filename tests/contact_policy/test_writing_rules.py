"""A rule of your own is one class; the registries are derived from the classes and
cannot be changed by defining one."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import numpy as np
import pytest

import relcore.contact_policy as cp
from relcore import PolicyError
from relcore.contact_policy import (
    REASON_CODES,
    Contact,
    ContactGuard,
    FrequencyCap,
    MemoryLedger,
    Policy,
    Reason,
    Rule,
    parameter,
)
from relcore.contact_policy import policy as policy_module
from relcore.contact_policy.rules import RULE_TYPES

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)


@attrs.frozen
class LifetimeCap(Rule):
    """At most ``count`` contacts in scope, ever."""

    type_name = "lifetime_cap"
    code = "lifetime_cap"

    count: int = attrs.field(**parameter("count"))

    @property
    def lookback(self):
        return None  # reads the whole history

    def describe(self):
        return f"at most {self.count} {self._noun(plural=self.count != 1)} ever"

    def _eval(self, ctx, targets, s):
        sent = ctx.contact_times(targets, -Rule.NEVER, Rule.NEVER)
        return Rule.NEVER if len(sent) >= self.count else None

    def _explain(self, ctx, targets, s):
        return f"{self.count} of {self.count} allowed ever already sent"


@attrs.frozen
class Restless(Rule):
    """A broken rule: whatever the instant, it asks to wait one more microsecond."""

    type_name = "restless"
    code = "restless"

    def describe(self):
        return "never satisfied"

    def _eval(self, ctx, targets, s):
        return s + 1

    def _explain(self, ctx, targets, s):
        return "not yet"


def welcome(customer: str, at: datetime = NOW) -> Contact:
    return Contact(customer, channel="email", campaign="welcome", at=at)


def test_a_rule_of_your_own_decides_one_contact_and_an_audience_alike():
    guard = ContactGuard(Policy([LifetimeCap(1, campaign="welcome")]), MemoryLedger())
    assert guard.request(welcome("a")).allowed
    d = guard.check(welcome("a", NOW + timedelta(days=400)))
    assert d.codes == ("lifetime_cap",)
    assert d.next_allowed_at is None
    assert d.reasons[0].message == "1 of 1 allowed ever already sent"
    assert guard.check(Contact("a", channel="email", campaign="other", at=NOW)).allowed
    # check_many goes through the inherited _eval_many, customer by customer
    batch = guard.check_many(["a", "b", "a"], channel="email", campaign="welcome", at=NOW)
    assert batch.allowed.tolist() == [False, True, False]
    assert batch.reason_codes.tolist() == [("lifetime_cap",), (), ("lifetime_cap",)]
    assert batch.counts() == {"lifetime_cap": 2}
    assert batch.refused_by("lifetime_cap").tolist() == [True, False, True]
    assert np.isnat(batch.next_allowed_at[0])


def test_a_rule_of_your_own_reads_and_writes_the_policy_file():
    text = '[[rules]]\ntype = "lifetime_cap"\ncount = 2\ncampaign = "welcome"\n'
    policy = Policy.from_toml_text(text, rule_types=[LifetimeCap])
    assert policy.rules == (LifetimeCap(2, campaign="welcome"),)
    assert policy.to_dict()["rules"] == [
        {"type": "lifetime_cap", "count": 2, "campaign": "welcome"}
    ]
    assert Policy.from_toml_text(policy.to_toml(), rule_types=[LifetimeCap]) == policy
    assert "1. at most 2 contacts of campaign welcome ever" in policy.describe()
    with pytest.raises(PolicyError, match=r"rules\[0\]\.count: must be >= 0"):
        Policy.from_toml_text(text.replace("2", "-2"), rule_types=[LifetimeCap])
    with pytest.raises(PolicyError, match=r"rules\[0\]\.type: unknown rule type 'lifetime_cap'"):
        Policy.from_toml_text(text)


def test_parameters_given_in_python_are_checked_like_the_built_in_ones():
    with pytest.raises(ValueError, match="count must be a whole number >= 0, got -1"):
        LifetimeCap(-1)
    with pytest.raises(ValueError, match="campaign is both fixed"):
        LifetimeCap(1, campaign="welcome", each="campaign")


def test_a_rule_that_never_settles_raises_convergence_error():
    guard = ContactGuard(Policy([Restless()]), MemoryLedger())
    with pytest.raises(PolicyError, match="did not settle"):
        guard.check(welcome("a"))
    with pytest.raises(PolicyError, match="did not settle"):
        guard.check_many(["a"], channel="email", at=NOW)


def test_a_rule_needs_a_type_name_and_a_code_to_join_a_policy():
    @attrs.frozen
    class Nameless(Rule):
        code = "nameless"

    with pytest.raises(TypeError, match="type_name and a code"):
        Policy([Nameless()])


def test_more_than_64_reason_codes_are_refused():
    many = [
        attrs.frozen(type(f"Rule{i}", (Rule,), {"type_name": f"r{i}", "code": f"code{i}"}))()
        for i in range(64 - len(REASON_CODES) + 1)
    ]
    with pytest.raises(PolicyError, match="at most 64 distinct reason codes"):
        ContactGuard(Policy(many))


# ------------------------------------------------------------------------- registries


def test_reason_code_bits_are_a_stored_format_that_only_grows_at_the_end():
    # bit i of BatchDecision.reason_bits is REASON_CODES[i]: released bits never move
    assert REASON_CODES[:10] == (
        "opted_out",
        "snoozed",
        "frequency_cap",
        "minimum_gap",
        "quiet_hours",
        "cooldown",
        "outcome_suppression",
        "fatigue",
        "outranked",
        "holdout",
    )
    built_in = {c.code for c in (*RULE_TYPES.values(), cp.OptOut, cp.Snooze)}
    assert set(REASON_CODES) == built_in | {"outranked"}


def test_registries_are_immutable_and_defining_a_rule_does_not_change_them():
    assert isinstance(REASON_CODES, tuple)
    with pytest.raises(TypeError):
        RULE_TYPES["spam"] = LifetimeCap  # type: ignore[index]
    before = (REASON_CODES, dict(RULE_TYPES))

    @attrs.frozen
    class Another(Rule):
        type_name = "another"
        code = "another"

    assert (cp.REASON_CODES, dict(RULE_TYPES)) == before


def test_rule_types_are_every_exported_policy_rule():
    exported = {
        getattr(cp, name)
        for name in cp.__all__
        if isinstance(getattr(cp, name), type)
        and issubclass(getattr(cp, name), Rule)
        and getattr(cp, name).type_name
    }
    assert set(RULE_TYPES.values()) == exported
    assert all(name == cls.type_name for name, cls in RULE_TYPES.items())


def test_lists_of_rules_and_codes_written_in_prose_name_every_one():
    docs = (ROOT / "docs" / "contact-policy.md").read_text()
    for cls in RULE_TYPES.values():
        assert f"[`{cls.__name__}`][relcore.contact_policy.{cls.__name__}]" in cp.__doc__, cls
        assert f"`{cls.__name__}(" in docs, cls
        assert cls.type_name in policy_module.__doc__, cls
    for code in REASON_CODES:
        assert f'``"{code}"``' in Reason.__doc__, code
        assert f"`{code}`" in docs, code


def test_the_contact_policy_modules_import_each_other_without_a_circle():
    package = ROOT / "src" / "relcore" / "contact_policy"
    graph: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        graph[path.stem] = {
            node.module
            for node in ast.walk(tree)  # imports under TYPE_CHECKING count too
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        }
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, " -> ".join((*trail, module))
        if module not in done:
            for other in sorted(graph.get(module, ())):
                visit(other, (*trail, module))
            done.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_a_built_in_rule_is_still_read_from_its_own_class():
    # the schema comes from the fields: every parameter of FrequencyCap is a file key
    with pytest.raises(PolicyError) as info:
        Policy.from_dict({"rules": [{"type": "frequency_cap", "count": 1, "per": "7d", "x": 1}]})
    assert str(info.value) == (
        "rules[0].x: unknown key; a frequency_cap rule takes type, count, per, channel, "
        "category, campaign, each"
    )
    assert FrequencyCap.from_dict({"count": 2, "per": "calendar_day"}, "r") == FrequencyCap(
        2, per="calendar_day"
    )


def test_the_reserve_note_in_describe_is_for_frequency_caps_only():
    policy = Policy(
        [LifetimeCap(1), FrequencyCap(1, per="calendar_day")],
        reserve=cp.Reserve(slots=1, min_priority=10),
    )
    first, second = (line for line in policy.describe().splitlines() if line[:2] in ("1.", "2."))
    assert "reserve" not in first
    assert "nothing below priority 10" in second
