"""Policy options: contacts without a category, the reserve, unsubscribes, the content hash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from relcore import PolicyError
from relcore.contact_policy import (
    Contact,
    ContactGuard,
    FrequencyCap,
    GlobalControl,
    MinimumGap,
    Policy,
    Reserve,
)
from relcore.models import ContactLimit, ContactPreferences

T = datetime(2026, 6, 1, 9, tzinfo=UTC)
PROMO_CAP = FrequencyCap(1, per=timedelta(days=7), category="promotional")


def email(customer="c1", at=T, category=None, priority=0):
    return Contact(customer, channel="email", at=at, category=category, priority=priority)


# ---------------------------------------------------------------- uncategorized contacts


def test_a_contact_without_a_category_is_held_by_a_cap_scoped_to_a_category_by_default():
    guard = ContactGuard(Policy([PROMO_CAP]))
    assert guard.request(email(category="promotional")).allowed
    d = guard.check(email(at=T + timedelta(hours=1)))
    assert d.codes == ("frequency_cap",)
    assert d.next_allowed_at == T + timedelta(days=7)


def test_a_contact_without_a_category_counts_toward_a_cap_scoped_to_a_category_by_default():
    guard = ContactGuard(Policy([PROMO_CAP]))
    assert guard.request(email()).allowed
    assert not guard.check(email(at=T + timedelta(hours=1), category="promotional")).allowed
    # a contact of another category is neither held nor counted
    assert guard.check(email(at=T + timedelta(hours=1), category="service")).allowed


def test_not_counted_gives_contacts_without_a_category_a_category_of_their_own():
    guard = ContactGuard(Policy([PROMO_CAP], uncategorized="not_counted"))
    assert guard.request(email(category="promotional")).allowed
    assert guard.request(email(at=T + timedelta(hours=1))).allowed
    assert guard.request(email(at=T + timedelta(hours=2))).allowed


def test_a_cap_kept_for_each_category_counts_every_category_against_a_contact_without_one():
    cap = FrequencyCap(2, per="calendar_day", each=("category",))
    guard = ContactGuard(Policy([cap]))
    guard.request(email(category="promotional"))
    guard.request(email(at=T + timedelta(hours=1), category="service"))
    later = T + timedelta(hours=2)
    assert guard.check(email(at=later, category="promotional")).allowed  # 1 of 2 promotional
    assert not guard.check(email(at=later)).allowed  # could be either: 2 contacts today
    loose = ContactGuard(Policy([cap], uncategorized="not_counted"), guard.ledger)
    assert loose.check(email(at=later)).allowed


def test_a_gap_scoped_to_a_category_keeps_contacts_without_one_apart():
    guard = ContactGuard(Policy([MinimumGap("20h", category="promotional")]))
    guard.request(email())
    assert guard.check(email(at=T + timedelta(hours=19), category="promotional")).codes == (
        "minimum_gap",
    )


def test_a_global_control_group_gets_no_contact_without_a_category():
    rule = GlobalControl(0.5, salt="s", category="promotional")
    held = next(c for c in (f"c{i}" for i in range(100)) if rule.held_out([c])[0])
    guard = ContactGuard(Policy([rule]))
    assert guard.check(email(held)).codes == ("holdout",)
    assert guard.check(email(held, category="service")).allowed


def test_check_many_counts_contacts_without_a_category_like_check():
    guard = ContactGuard(Policy([PROMO_CAP]))
    guard.request(email("a"))
    guard.request(email("b", category="promotional"))
    later = T + timedelta(hours=1)
    for category in ("promotional", None, "service"):
        batch = guard.check_many(["a", "b", "c"], channel="email", category=category, at=later)
        single = [guard.check(email(c, at=later, category=category)).allowed for c in "abc"]
        assert batch.allowed.tolist() == single
    assert guard.check_many(["a", "b", "c"], channel="email", at=later).allowed.tolist() == [
        False,
        False,
        True,
    ]


def test_uncategorized_is_read_from_and_written_to_the_policy_file():
    policy = Policy.from_toml_text('uncategorized = "not_counted"\nunsubscribe_opts_out = false')
    assert policy.uncategorized == "not_counted"
    assert policy.unsubscribe_opts_out is False
    assert Policy.from_toml_text(policy.to_toml()) == policy
    assert "uncategorized" not in Policy([]).to_dict()  # the default is not written


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('uncategorized = "ignored"', "uncategorized"),
        ("uncategorized = 1", "uncategorized"),
        ('unsubscribe_opts_out = "yes"', "unsubscribe_opts_out"),
    ],
)
def test_a_bad_option_is_a_policy_error_naming_it(text, path):
    with pytest.raises(PolicyError) as info:
        Policy.from_toml_text(text)
    assert info.value.path == path


def test_describe_says_what_happens_to_contacts_without_a_category():
    assert "contacts without a category: held and counted" in Policy([PROMO_CAP]).describe()
    text = Policy([PROMO_CAP], uncategorized="not_counted").describe()
    assert "contacts without a category: neither held nor counted" in text
    # only where a rule is scoped to a category
    assert "without a category" not in Policy([FrequencyCap(1, per="7d")]).describe()


# ---------------------------------------------------------------------------- the reserve


def test_the_reserve_does_not_cut_the_customers_own_limit():
    # the customer chose one a week; the company keeps the last slot of its caps for
    # priority 10: a low-priority contact still gets the customer's one
    policy = Policy([FrequencyCap(3, per="7d")], reserve=Reserve(1, 10))
    prefs = ContactPreferences(max_contacts=ContactLimit(1, per=timedelta(days=7)))
    guard = ContactGuard(policy)
    d = guard.request(email(), prefs)
    assert d.allowed
    d = guard.check(email(at=T + timedelta(days=1)), prefs)
    assert d.codes == ("frequency_cap",)
    assert d.next_allowed_at == T + timedelta(days=7)  # not None: not an opt-out
    assert "kept for higher priority" not in d.reasons[0].message


def test_the_reserve_still_cuts_the_company_caps():
    policy = Policy([FrequencyCap(2, per="7d")], reserve=Reserve(1, 10))
    guard = ContactGuard(policy)
    assert guard.request(email()).allowed
    low = guard.check(email(at=T + timedelta(hours=1)))
    assert low.codes == ("frequency_cap",)
    assert "1 kept for higher priority" in low.reasons[0].message
    assert guard.check(email(at=T + timedelta(hours=1), priority=10)).allowed


def test_check_many_reads_the_customers_own_limit_whole_under_a_reserve():
    policy = Policy([FrequencyCap(3, per="7d")], reserve=Reserve(1, 10))
    prefs = ContactPreferences(max_contacts=ContactLimit(2, per=timedelta(days=7)))
    guard = ContactGuard(policy)
    guard.request(email("a"), prefs)
    later = T + timedelta(hours=1)
    batch = guard.check_many(["a", "b"], channel="email", at=later, preferences={"a": prefs})
    assert batch.allowed.tolist() == [True, True]
    assert guard.check(email("a", at=later), prefs).allowed


def test_policy_check_warns_where_a_reserve_can_never_be_satisfied():
    policy = Policy(
        [FrequencyCap(1, per="calendar_day"), FrequencyCap(3, per="7d"), FrequencyCap(2, per="1h")],
        reserve=Reserve(2, 10),
    )
    warnings = policy.warnings()
    assert len(warnings) == 2
    assert warnings[0].startswith("rules[0] (at most 1 contact per calendar day")
    assert "keeps its only slot for priority >= 10" in warnings[0]
    assert "2 slots are more than the cap has" in warnings[0]
    assert warnings[1].startswith("rules[2]")
    assert "all its 2 slots" in warnings[1]
    assert Policy([FrequencyCap(1, per="7d")]).warnings() == ()
    assert "no frequency cap" in Policy([], reserve=Reserve(1, 10)).warnings()[0]


def test_a_low_priority_contact_under_a_cap_the_reserve_takes_whole_is_refused_for_good():
    guard = ContactGuard(Policy([FrequencyCap(1, per="7d")], reserve=Reserve(1, 10)))
    d = guard.check(email())
    assert d.codes == ("frequency_cap",)
    assert d.next_allowed_at is None
    assert guard.check(email(priority=10)).allowed


# ----------------------------------------------------------------------- content hash


def test_the_content_hash_is_the_same_for_equal_policies_and_differs_otherwise():
    a = Policy.from_toml_text('[[rules]]\ntype = "frequency_cap"\ncount = 3\nper = "7d"')
    b = Policy([FrequencyCap(3, per=timedelta(hours=168))], timezone="UTC")
    assert a == b
    assert a.content_hash == b.content_hash
    others = [
        Policy([FrequencyCap(2, per="7d")]),
        Policy([FrequencyCap(3, per="7d")], name="v2"),
        Policy([FrequencyCap(3, per="7d")], uncategorized="not_counted"),
        Policy([FrequencyCap(3, per="7d")], timezone="Europe/Paris"),
    ]
    hashes = {p.content_hash for p in [a, *others]}
    assert len(hashes) == 5
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes)


def test_rules_of_a_customer_are_never_cut_whatever_the_priority():
    # every priority below the reserve sees the customer's own 2 whole
    policy = Policy([FrequencyCap(5, per="7d")], reserve=Reserve(3, 10))
    prefs = ContactPreferences(max_contacts=ContactLimit(2, per=timedelta(days=7)))
    guard = ContactGuard(policy)
    got = [guard.request(email(at=T + timedelta(hours=h)), prefs).allowed for h in range(4)]
    assert got == [True, True, False, False]
    assert np.count_nonzero(guard.ledger.customer_history("c1").company) == 2
