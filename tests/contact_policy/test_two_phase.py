"""Idempotency keys and sends in two phases: reserve, then confirm or release.

The guard's clock is a test clock, so expiry is exact: a reservation made at ``t`` with a
ttl of 5 minutes holds its slot at ``t + 5min - 1µs`` and not at ``t + 5min``.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings, stateful
from hypothesis import strategies as st

from relcore import DataError, ReservationError
from relcore.contact_policy import (
    Contact,
    ContactGuard,
    Cooldown,
    FrequencyCap,
    MemoryLedger,
    MinimumGap,
    OutcomeSuppression,
    Policy,
    QuietHours,
    SQLiteLedger,
)

T = datetime(2026, 6, 1, 9, tzinfo=UTC)
TTL = timedelta(minutes=5)
ONE_A_DAY = Policy([FrequencyCap(1, per="calendar_day")])


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def email(customer="c1", at=T, **kw):
    return Contact(customer, channel="email", at=at, **kw)


def sms(customer="c1", at=T, **kw):
    return Contact(customer, channel="sms", at=at, **kw)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def guard(clock):
    return ContactGuard(ONE_A_DAY, MemoryLedger(), clock=clock)


def recorded(guard, customer="c1"):
    return guard.ledger.customer_history(customer).at.size


# ------------------------------------------------------------------------ idempotency keys


def test_a_repeated_key_returns_the_original_decision_and_takes_no_second_slot(guard):
    first = guard.request(email(), key="m-1")
    again = guard.request(email(), key="m-1")
    assert first.allowed
    assert again == first
    assert recorded(guard) == 1
    assert guard.request(email(at=T + timedelta(hours=1)), key="m-2").codes == ("frequency_cap",)


def test_without_a_key_the_same_contact_twice_is_two_contacts():
    guard = ContactGuard(Policy([FrequencyCap(2, per="calendar_day")]))
    assert guard.request(email()).allowed
    assert guard.request(email()).allowed
    assert recorded(guard) == 2


def test_a_key_used_for_another_contact_is_a_reservation_error_and_records_nothing(guard):
    guard.request(email(), key="m-1")
    for other in (sms(), email(at=T + timedelta(seconds=1)), email("c2"), email(category="x")):
        with pytest.raises(ReservationError, match="another contact") as info:
            guard.request(other, key="m-1")
        assert info.value.key == "m-1"
    assert recorded(guard) == 1
    assert recorded(guard, "c2") == 0


def test_a_refused_request_binds_no_key_so_the_deferred_message_keeps_its_id(guard):
    guard.request(email(), key="m-1")
    d = guard.request(sms(at=T + timedelta(hours=1)), key="m-2")
    assert d.codes == ("frequency_cap",)
    assert guard.ledger.keyed("m-2") is None
    retry = sms(at=d.next_allowed_at)
    assert guard.request(retry, key="m-2").allowed
    assert guard.request(retry, key="m-2").allowed  # a retry of the retry: no new slot
    assert recorded(guard) == 2


def test_priority_and_value_are_not_part_of_what_a_key_names(guard):
    guard.request(email(priority=1, value=3.0), key="m-1")
    assert guard.request(email(priority=9), key="m-1").allowed
    assert recorded(guard) == 1


# ---------------------------------------------------------------------------- two phases


def test_a_held_reservation_counts_against_the_cap_for_check_request_and_check_many(guard):
    assert guard.reserve(email(), key="m-1", ttl=TTL).allowed
    later = T + timedelta(hours=1)
    assert guard.check(sms(at=later)).codes == ("frequency_cap",)
    assert guard.request(sms(at=later)).codes == ("frequency_cap",)
    batch = guard.check_many(["c1", "c2"], channel="sms", at=later)
    assert batch.allowed.tolist() == [False, True]
    assert recorded(guard) == 0  # held, not recorded


def test_confirm_records_the_reserved_contact_once(guard, clock):
    guard.reserve(email(campaign="spring"), key="m-1", ttl=TTL)
    clock.advance(TTL - timedelta(microseconds=1))
    d = guard.confirm("m-1")
    assert d.allowed
    assert d.contact == email(campaign="spring")
    assert guard.confirm("m-1") == d  # a retried confirmation changes nothing
    assert recorded(guard) == 1
    clock.advance(timedelta(days=1) - TTL)  # long after the ttl it is still recorded
    assert guard.check(sms(at=T + timedelta(hours=2))).codes == ("frequency_cap",)


def test_release_gives_the_slot_back_and_a_second_release_is_harmless(guard):
    guard.reserve(email(), key="m-1", ttl=TTL)
    assert guard.release("m-1") is True
    assert guard.release("m-1") is False
    assert guard.release("never-reserved") is False
    assert guard.reserve(sms(), key="m-2", ttl=TTL).allowed  # the slot is reused
    with pytest.raises(ReservationError, match="nothing is held"):
        guard.confirm("m-1")
    assert recorded(guard) == 0


def test_an_unconfirmed_reservation_holds_its_slot_until_its_ttl_exactly(guard, clock):
    guard.reserve(email(), key="m-1", ttl=TTL)
    clock.advance(TTL - timedelta(microseconds=1))
    assert not guard.check(sms()).allowed
    clock.advance(timedelta(microseconds=1))
    assert guard.check(sms()).allowed
    assert guard.request(sms(), key="m-2").allowed  # the expired slot is taken


def test_confirming_at_or_after_the_ttl_raises_and_records_nothing(guard, clock):
    guard.reserve(email(), key="m-1", ttl=TTL)
    clock.advance(TTL)
    with pytest.raises(ReservationError, match="expired at 2026-06-01T09:05:00") as info:
        guard.confirm("m-1")
    assert "record it with ContactGuard.record" in str(info.value)
    assert recorded(guard) == 0
    assert guard.check(sms()).allowed


def test_a_reservation_whose_slot_was_reclaimed_cannot_be_confirmed(guard, clock):
    guard.reserve(email(), key="m-1", ttl=TTL)
    clock.advance(TTL)
    assert guard.request(sms(), key="m-2").allowed  # reclaims the expired slot
    clock.now = T  # even a clock that reads earlier cannot bring the reservation back
    with pytest.raises(ReservationError, match="nothing is held"):
        guard.confirm("m-1")
    assert recorded(guard) == 1
    assert guard.release("m-1") is False


def test_releasing_a_confirmed_or_requested_contact_is_refused_and_keeps_it(guard):
    guard.reserve(email(), key="m-1", ttl=TTL)
    guard.confirm("m-1")
    guard.request(email("c2"), key="m-2")
    for key in ("m-1", "m-2"):
        with pytest.raises(ReservationError, match="never released"):
            guard.release(key)
    assert recorded(guard) == recorded(guard, "c2") == 1


def test_reserving_again_with_the_same_key_holds_no_second_slot_and_keeps_the_ttl(guard, clock):
    policy = Policy([FrequencyCap(2, per="calendar_day")])
    guard = ContactGuard(policy, clock=clock)
    guard.reserve(email(), key="m-1", ttl=TTL)
    clock.advance(timedelta(minutes=4))
    assert guard.reserve(email(), key="m-1", ttl=TTL).allowed
    assert guard.reserve(sms(), key="m-2", ttl=TTL).allowed  # one slot left, not none
    assert (
        guard.ledger.keyed("m-1").held_until
        == guard.ledger.keyed("m-2").held_until - 4 * 60 * 10**6
    )


def test_a_released_or_expired_key_may_be_reserved_again(guard, clock):
    guard.reserve(email(), key="m-1", ttl=TTL)
    guard.release("m-1")
    assert guard.reserve(email(), key="m-1", ttl=TTL).allowed
    clock.advance(TTL)
    assert guard.reserve(sms(), key="m-1", ttl=TTL).allowed  # expired: the key names a new one


def test_request_with_a_key_that_holds_a_reservation_is_refused(guard):
    guard.reserve(email(), key="m-1", ttl=TTL)
    with pytest.raises(ReservationError, match="holds a reservation"):
        guard.request(email(), key="m-1")
    assert guard.reserve(email(), key="m-1").allowed  # reserve with it answers as before
    guard.confirm("m-1")
    assert guard.request(email(), key="m-1").allowed  # recorded: the original decision


def test_keys_and_ttls_are_checked():
    guard = ContactGuard(ONE_A_DAY)
    with pytest.raises(TypeError, match="key must be a str"):
        guard.request(email(), key=7)
    with pytest.raises(DataError, match="key"):
        guard.reserve(email(), key=" ")
    for ttl in (timedelta(0), timedelta(seconds=-1), timedelta(days=400_000)):
        with pytest.raises(DataError, match="ttl"):
            guard.reserve(email(), key="m", ttl=ttl)
    with pytest.raises(TypeError, match="ttl must be a timedelta"):
        guard.reserve(email(), key="m", ttl=300)
    with pytest.raises(TypeError, match="clock"):
        ContactGuard(ONE_A_DAY, clock="now")
    with pytest.raises(ValueError, match="naive"):
        ContactGuard(ONE_A_DAY, clock=lambda: datetime(2026, 6, 1)).check(email())


def test_the_system_clock_is_the_default():
    guard = ContactGuard(ONE_A_DAY)
    guard.reserve(email(), key="m-1", ttl=timedelta(hours=1))
    held = guard.ledger.keyed("m-1").held_until
    expected = (datetime.now(UTC) + timedelta(hours=1) - datetime(1970, 1, 1, tzinfo=UTC)) // (
        timedelta(microseconds=1)
    )
    assert abs(held - expected) < 60 * 10**6  # within a minute of the wall clock


def test_guards_sharing_a_sqlite_file_see_each_others_reservations(tmp_path, clock):
    path = tmp_path / "contacts.db"
    one = ContactGuard(ONE_A_DAY, SQLiteLedger(path), clock=clock)
    two = ContactGuard(ONE_A_DAY, SQLiteLedger(path), clock=clock)
    assert one.reserve(email(), key="m-1", ttl=TTL).allowed
    assert two.reserve(sms(), key="m-2", ttl=TTL).codes == ("frequency_cap",)
    assert two.release("m-1") is True  # any guard may settle a key
    assert two.reserve(sms(), key="m-2", ttl=TTL).allowed
    assert one.confirm("m-2").allowed
    assert len(one.ledger) == len(two.ledger) == 1
    one.ledger.close()
    two.ledger.close()


# ------------------------------------------------- a reservation is a contact to every rule

RULES = [
    FrequencyCap(1, per=timedelta(hours=30)),
    FrequencyCap(2, per="calendar_day", channel="email"),
    MinimumGap(timedelta(hours=20), channel="sms"),
    OutcomeSuppression(ignored=2, within=timedelta(days=2), suppress_for=timedelta(days=1)),
    QuietHours(start=time(21), end=time(8)),
    Cooldown(after="complaint", duration=timedelta(hours=12)),
]


@settings(max_examples=150)
@given(
    rules=st.lists(st.sampled_from(RULES), min_size=1, max_size=3, unique_by=repr),
    history=st.lists(
        st.tuples(st.integers(-72, 72), st.sampled_from(["email", "sms"])), max_size=4
    ),
    held=st.tuples(st.integers(-72, 72), st.sampled_from(["email", "sms"])),
    probe=st.tuples(st.integers(-96, 96), st.sampled_from(["email", "sms"])),
)
def test_a_held_reservation_counts_exactly_like_the_same_contact_sent(rules, history, held, probe):
    policy = Policy(rules, timezone="Europe/Paris")
    clock = Clock(T - timedelta(days=30))  # reservations are made long before the contacts

    def contact(hours, channel):
        return Contact("c1", channel=channel, at=T + timedelta(hours=hours))

    reserving = ContactGuard(policy, clock=clock)
    sending = ContactGuard(policy, clock=clock)
    for g in (reserving, sending):
        for hours, channel in history:
            g.record(contact(hours, channel))
    if reserving.reserve(contact(*held), key="held", ttl=TTL).allowed:
        sending.record(contact(*held))
    asked = contact(*probe)
    assert reserving.check(asked) == sending.check(asked)
    batch = reserving.check_many(["c1"], channel=asked.channel, at=asked.at)
    assert batch.allowed[0] == sending.check(asked).allowed


# ------------------------------------------- the state machine of keys, against a model


class KeysAgainstAModel(stateful.RuleBasedStateMachine):
    """Reserve, confirm, release, request and let time pass, in any order: the guard does
    what a plain model of the contract says, and never holds plus records more than 2."""

    def __init__(self):
        super().__init__()
        self.clock = Clock()
        self.guard = ContactGuard(
            Policy([FrequencyCap(2, per=timedelta(days=3650))]), clock=self.clock
        )
        self.held: dict[str, datetime] = {}  # key -> held until
        self.sent: set[str] = set()
        self.n = 0

    keys = stateful.Bundle("keys")

    def _reclaim(self):
        self.held = {k: u for k, u in self.held.items() if u > self.clock.now}

    def _free(self) -> bool:
        return len(self.sent) + len(self.held) < 2

    def _contact(self, key: str) -> Contact:
        return email(at=T + timedelta(seconds=int(key[1:])))

    @stateful.rule(target=keys, ttl=st.integers(1, 10))
    def reserve(self, ttl):
        self.n += 1
        key = f"k{self.n}"
        self._reclaim()
        expected = self._free()
        d = self.guard.reserve(self._contact(key), key=key, ttl=timedelta(minutes=ttl))
        assert d.allowed == expected
        if expected:
            self.held[key] = self.clock.now + timedelta(minutes=ttl)
        return key

    @stateful.rule(key=keys)
    def reserve_again(self, key):
        self._reclaim()
        known = key in self.held or key in self.sent
        expected = known or self._free()
        d = self.guard.reserve(self._contact(key), key=key, ttl=TTL)
        assert d.allowed == expected
        if expected and not known:
            self.held[key] = self.clock.now + TTL

    @stateful.rule(key=keys)
    def confirm(self, key):
        if key in self.sent:
            assert self.guard.confirm(key).allowed
        elif key in self.held and self.held[key] > self.clock.now:
            assert self.guard.confirm(key).allowed
            del self.held[key]
            self.sent.add(key)
        else:
            with pytest.raises(ReservationError):
                self.guard.confirm(key)

    @stateful.rule(key=keys)
    def release(self, key):
        if key in self.sent:
            with pytest.raises(ReservationError):
                self.guard.release(key)
        else:
            assert self.guard.release(key) is (key in self.held)
            self.held.pop(key, None)

    @stateful.rule(target=keys)
    def request(self):
        self.n += 1
        key = f"k{self.n}"
        self._reclaim()
        expected = self._free()
        assert self.guard.request(self._contact(key), key=key).allowed == expected
        if expected:
            self.sent.add(key)
        return key

    @stateful.rule(minutes=st.integers(1, 12))
    def wait(self, minutes):
        self.clock.advance(timedelta(minutes=minutes))

    @stateful.invariant()
    def never_more_than_the_cap(self):
        ledger = self.guard.ledger
        now_us = (self.clock.now - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        assert len(ledger) == len(self.sent)
        assert ledger.customer_history("c1", held_at=now_us).at.size <= 2


TestKeysAgainstAModel = KeysAgainstAModel.TestCase
TestKeysAgainstAModel.settings = settings(max_examples=60, stateful_step_count=30)
