"""Property tests: random policies, random request streams, a brute-force oracle.

The oracle below restates DESIGN.md's semantics as directly as possible, with none of
the library's machinery: local times come from ``datetime.astimezone``, windows are
checked by enumerating every window end that matters, one rule at a time. The library
must agree with it on every decision, its recorded contacts must never break a cap or a
gap in any window, and every refusal's ``next_allowed_at`` must be allowed by the oracle
while no earlier instant that could matter is.
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from relcore.contact_policy import (
    Contact,
    ContactGuard,
    Cooldown,
    Entry,
    FrequencyCap,
    MemoryLedger,
    MinimumGap,
    OutcomeSuppression,
    Policy,
    QuietHours,
    Reserve,
)
from relcore.models import ContactLimit, ContactPreferences

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
US = 1_000_000
ZONES = ["UTC", "America/New_York", "Europe/Paris", "Australia/Lord_Howe"]
# Streams start just before the 2026 daylight-saving changes of New York and Paris.
BASES = [dt.datetime(2026, 3, 6, tzinfo=UTC), dt.datetime(2026, 10, 23, tzinfo=UTC)]


def us_of(t: dt.datetime) -> int:
    d = t - EPOCH
    return (d.days * 86_400 + d.seconds) * US + d.microseconds


def instant(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


def local(us: int, zone: dt.tzinfo) -> dt.datetime:
    return instant(us).astimezone(zone).replace(tzinfo=None)


ANY_LABEL = object()  # a scope dimension the rule does not restrict


# ----------------------------------------------------------------------------- oracle


class Oracle:
    """Is a contact allowed, per the written semantics? One rule at a time, by brute force."""

    def __init__(self, policy: Policy, prefs: ContactPreferences | None) -> None:
        self.policy = policy
        self.prefs = prefs
        tz = prefs.timezone if prefs is not None and prefs.timezone else policy.timezone
        self.zone = ZoneInfo(tz) if tz != "UTC" else UTC
        own: list = []
        if prefs is not None:
            own += [
                FrequencyCap(
                    m.count, per=m.per, channel=m.channel, category=m.category, each=m.each
                )
                for m in prefs.max_contacts
            ]
            if prefs.quiet_hours is not None:
                own.append(QuietHours(start=prefs.quiet_hours[0], end=prefs.quiet_hours[1]))
        self.own = own

    def allowed(
        self, entries: list[tuple], channel: str, category: str | None, t: int, priority: int = 0
    ) -> bool:
        self.priority = priority
        p = self.prefs
        if p is not None:
            if channel in p.opted_out_channels or category in p.opted_out_categories:
                return False
            if p.snoozed_until is not None and t < us_of(p.snoozed_until):
                return False
        if category in self.policy.exempt_categories:
            return True
        return all(
            self._passes(r, entries, channel, category, t) for r in [*self.own, *self.policy.rules]
        )

    def scoped(self, rule, entries, channel, category) -> list[int]:
        """Times of the recorded contacts ``rule`` counts for a contact so labelled.

        With ``uncategorized="counted"`` a contact without a category could be of any:
        history without a category counts toward every category, and a rule kept for
        each category counts every category against a contact without one.
        """
        counted = self.policy.uncategorized == "counted"
        want_channel = rule.channel or (channel if "channel" in rule.each else ANY_LABEL)
        if rule.category is not None:
            want_category = rule.category
        elif "category" in rule.each:
            want_category = ANY_LABEL if category is None and counted else category
        else:
            want_category = ANY_LABEL

        def category_matches(cat):
            if want_category is ANY_LABEL or cat == want_category:
                return True
            return counted and cat is None

        return sorted(
            at
            for at, ch, cat, kind, company in entries
            if company
            and cat not in self.policy.exempt_categories
            and (want_channel is ANY_LABEL or ch == want_channel)
            and category_matches(cat)
        )

    def _passes(self, rule, entries, channel, category, t) -> bool:
        if rule.channel is not None and rule.channel != channel:
            return True
        # a contact without a category could be of the rule's, unless not counted
        if (
            rule.category is not None
            and rule.category != category
            and (category is not None or self.policy.uncategorized == "not_counted")
        ):
            return True
        if isinstance(rule, FrequencyCap):
            times = self.scoped(rule, entries, channel, category)
            count = rule.count
            reserve = self.policy.reserve
            mine = any(rule is r for r in self.own)  # the reserve cuts company caps only
            if reserve is not None and not mine and self.priority < reserve.min_priority:
                count -= reserve.slots
            if count <= 0:
                return False
            if isinstance(rule.per, dt.timedelta):
                w = rule.per // dt.timedelta(microseconds=1)
                ends = [t] + [h for h in times if t < h < t + w]
                return all(sum(e - w < h <= e for h in times) + 1 <= count for e in ends)
            key = self.period_key(rule.per)
            return sum(key(h) == key(t) for h in times) + 1 <= count
        if isinstance(rule, MinimumGap):
            g = rule.gap // dt.timedelta(microseconds=1)
            return all(abs(h - t) >= g for h in self.scoped(rule, entries, channel, category))
        if isinstance(rule, QuietHours):
            tod = local(t, self.zone).time()
            a, b = rule.start, rule.end
            return not ((a <= tod < b) if a < b else (tod >= a or tod < b))
        if isinstance(rule, Cooldown):
            d = rule.duration // dt.timedelta(microseconds=1)
            return not any(kind == rule.after and t - d < at <= t for at, _, _, kind, _ in entries)
        if isinstance(rule, OutcomeSuppression):
            # suppressed when `ignored` contacts fit in one `within` window, the last of
            # them less than `suppress_for` ago, and no response since the first of them
            n, unit = rule.ignored, dt.timedelta(microseconds=1)
            within, hold = rule.within // unit, rule.suppress_for // unit
            times = [h for h in self.scoped(rule, entries, channel, category) if h <= t]
            answers = [
                at
                for at, _, _, kind, company in entries
                if not company and kind in rule.response_kinds
            ]
            for i in range(len(times) - n + 1):
                block = times[i : i + n]
                if (
                    block[-1] - block[0] < within
                    and block[-1] > t - hold
                    and not any(block[0] <= r <= t for r in answers)
                ):
                    return False
            return True
        raise AssertionError(rule)

    def period_key(self, per: str):
        zone = self.zone
        if per == "calendar_day":
            return lambda us: local(us, zone).date()
        if per == "calendar_week":
            return lambda us: local(us, zone).isocalendar()[:2]
        return lambda us: (local(us, zone).year, local(us, zone).month)

    def critical_points(self, entries, t: int, n: int) -> set[int]:
        """Instants in [t, n) where the answer could change, give or take 1 µs."""
        deltas = {0}
        for rule in [*self.own, *self.policy.rules]:
            for name in ("per", "gap", "duration", "within", "suppress_for"):
                v = getattr(rule, name, None)
                if isinstance(v, dt.timedelta):
                    deltas.add(v // dt.timedelta(microseconds=1))
        points = set()
        for at, *_ in entries:
            for d in deltas:
                points.update({at + d, at - d})
        # local midnights and quiet-hour ends, on every local day from t to n
        walls = {dt.time(0)}
        for rule in [*self.own, *self.policy.rules]:
            if isinstance(rule, QuietHours):
                walls.update({rule.start, rule.end})
        day = local(t, self.zone).date() - dt.timedelta(days=1)
        last = local(min(n, t + 40 * 86_400 * US), self.zone).date() + dt.timedelta(days=1)
        while day <= last:
            for w in walls:
                for fold in (0, 1):
                    wall = dt.datetime.combine(day, w).replace(tzinfo=self.zone, fold=fold)
                    points.add(us_of(wall.astimezone(UTC)))
            day += dt.timedelta(days=1)
        near = {p + e for p in points for e in (-1, 0, 1)}
        return {p for p in near if t <= p < n}


# ------------------------------------------------------------------------- strategies

windows = st.sampled_from(
    [
        dt.timedelta(hours=1),
        dt.timedelta(hours=6),
        dt.timedelta(days=1),
        dt.timedelta(hours=50),
        "calendar_day",
        "calendar_week",
    ]
)
channels = st.sampled_from([None, "email", "sms"])
categories = st.sampled_from([None, None, "promotional", "service"])


def _cap(k, per, ch, cat, each):
    each = tuple(d for d in each if {"channel": ch, "category": cat}[d] is None)
    return FrequencyCap(k, per=per, channel=ch, category=cat, each=each)


caps = st.builds(
    _cap,
    st.integers(1, 3),
    windows,
    channels,
    categories,
    st.sampled_from([(), ("channel",), ("category",), ("channel", "category")]),
)
gaps = st.builds(
    lambda h, ch, cat: MinimumGap(dt.timedelta(hours=h), channel=ch, category=cat),
    st.integers(1, 30),
    channels,
    categories,
)
hour_pairs = st.tuples(st.integers(0, 23), st.integers(1, 23)).map(
    lambda ab: (dt.time(ab[0]), dt.time((ab[0] + ab[1]) % 24))
)
quiet = hour_pairs.map(lambda ab: QuietHours(start=ab[0], end=ab[1]))
cooldowns = st.builds(
    lambda h: Cooldown(after="complaint", duration=dt.timedelta(hours=h)), st.integers(1, 72)
)
suppressions = st.builds(
    lambda n, within, hold, ch: OutcomeSuppression(
        ignored=n,
        within=dt.timedelta(hours=within),
        suppress_for=dt.timedelta(hours=hold),
        channel=ch,
    ),
    st.integers(1, 3),
    st.integers(2, 72),
    st.integers(1, 72),
    channels,
)
rules = st.lists(st.one_of(caps, gaps, quiet, cooldowns, suppressions), min_size=1, max_size=4)

prefs = st.one_of(
    st.none(),
    st.none(),
    st.builds(
        lambda zone, out, limit, qh, snooze: ContactPreferences(
            timezone=zone,
            opted_out_channels=out,
            max_contacts=limit,
            quiet_hours=qh,
            snoozed_until=snooze,
        ),
        st.sampled_from([None, *ZONES]),
        st.sampled_from([(), (), (), ("sms",)]),
        st.one_of(
            st.none(),
            st.builds(lambda k, per: ContactLimit(k, per=per), st.integers(0, 2), windows),
        ),
        st.one_of(st.none(), hour_pairs),
        st.one_of(st.none(), st.integers(0, 96).map(lambda h: BASES[0] + dt.timedelta(hours=h))),
    ),
)

event = st.tuples(
    st.sampled_from(["request", "request", "request", "request", "complaint", "response"]),
    st.integers(0, 4 * 86_400),  # seconds after the base
    st.sampled_from(["email", "sms"]),
    st.sampled_from(["promotional", "promotional", "transactional", "service", None]),
    st.sampled_from([0, 0, 10]),  # priority
)
reserves = st.sampled_from([None, None, Reserve(1, 10), Reserve(2, 10)])
uncategorized = st.sampled_from(["counted", "counted", "not_counted"])


def run_stream(policy, customer_prefs, base, events):
    guard = ContactGuard(policy, MemoryLedger())
    oracle = Oracle(policy, customer_prefs)
    entries: list[tuple] = []  # what was recorded: (at, channel, category, kind, company)
    refusals = []
    for what, secs, channel, category, priority in events:
        t = us_of(base) + secs * US
        if what in ("complaint", "response"):
            guard.record_response("c1", instant(t), what)
            entries.append((t, None, None, what, False))
            continue
        contact = Contact(
            "c1", channel=channel, category=category, at=instant(t), priority=priority
        )
        d = guard.request(contact, customer_prefs)
        expected = oracle.allowed(entries, channel, category, t, priority)
        assert d.allowed == expected, (d, entries)
        if d.allowed:
            entries.append((t, channel, category, "message", True))
        else:
            refusals.append((list(entries), channel, category, priority, t, d))
    return guard, oracle, entries, refusals


@settings(max_examples=300)
@given(
    rules=rules,
    zone=st.sampled_from(ZONES),
    base=st.sampled_from(BASES),
    customer_prefs=prefs,
    exempt=st.booleans(),
    events=st.lists(event, min_size=4, max_size=24),
    reserve=reserves,
    uncategorized=uncategorized,
)
def test_decisions_match_the_written_semantics_and_caps_hold_in_every_window(
    rules, zone, base, customer_prefs, exempt, events, reserve, uncategorized
):
    policy = Policy(
        rules,
        timezone=zone,
        exempt_categories={"transactional"} if exempt else (),
        reserve=reserve,
        uncategorized=uncategorized,
    )
    _, oracle, entries, _ = run_stream(policy, customer_prefs, base, events)
    # Recorded contacts never break a cap or a gap, in any window (streams come in any
    # time order, so contacts recorded "in the future" are exercised too). A contact
    # without a category counts in every category when the policy counts it.
    for rule, channel, category in itertools.product(
        [*oracle.own, *policy.rules], ("email", "sms"), ("promotional", "service")
    ):
        if rule.channel not in (None, channel) or rule.category not in (None, category):
            continue
        times = oracle.scoped(rule, entries, channel, category)
        if isinstance(rule, FrequencyCap) and isinstance(rule.per, dt.timedelta):
            w = rule.per // dt.timedelta(microseconds=1)
            assert all(sum(e - w < h <= e for h in times) <= rule.count for e in times)
        elif isinstance(rule, FrequencyCap):
            key = oracle.period_key(rule.per)
            keys = [key(h) for h in times]
            assert all(keys.count(k) <= rule.count for k in keys)
        elif isinstance(rule, MinimumGap):
            g = rule.gap // dt.timedelta(microseconds=1)
            assert all(b - a >= g for a, b in itertools.pairwise(times))


@settings(max_examples=300)
@given(
    rules=rules,
    zone=st.sampled_from(ZONES),
    base=st.sampled_from(BASES),
    customer_prefs=prefs,
    events=st.lists(event, min_size=6, max_size=24),
    seed=st.integers(0, 2**32 - 1),
    reserve=reserves,
    uncategorized=uncategorized,
)
def test_next_allowed_at_is_allowed_and_nothing_earlier_is(
    rules, zone, base, customer_prefs, events, seed, reserve, uncategorized
):
    policy = Policy(
        rules,
        timezone=zone,
        exempt_categories={"transactional"},
        reserve=reserve,
        uncategorized=uncategorized,
    )
    _, oracle, _, refusals = run_stream(policy, customer_prefs, base, events)
    rng = np.random.default_rng(seed)
    for entries, channel, category, priority, t, d in refusals[-4:]:

        def allowed(at, entries=entries, channel=channel, category=category, priority=priority):
            return oracle.allowed(entries, channel, category, at, priority)

        hard_stop = customer_prefs is not None and (
            channel in customer_prefs.opted_out_channels
            or category in customer_prefs.opted_out_categories
        )
        if hard_stop:
            assert d.next_allowed_at is None
            continue
        if d.next_allowed_at is None:
            assert _never_by_zero_cap(oracle, priority) or _quiet_all_day(oracle), d
            for p in range(t, t + 3 * 86_400 * US, 900 * US):
                assert not allowed(p)
            continue
        n = us_of(d.next_allowed_at)
        assert n > t
        assert allowed(n), (d, n)
        earlier = oracle.critical_points(entries, t, n) | {n - 1}
        earlier |= {int(x) for x in rng.integers(t, n, size=30)}
        for p in sorted(earlier):
            assert not allowed(p), (d, instant(p))
        # and the guard itself, over the same history, allows the retry and not 1 µs earlier
        replay = MemoryLedger()
        replay.append(
            [
                Entry("c1", at, ch, cat, None, kind, company)
                for at, ch, cat, kind, company in entries
            ]
        )
        again = ContactGuard(policy, replay)
        retry = d.contact.at_time(d.next_allowed_at)
        assert again.check(retry, customer_prefs).allowed
        sooner = d.contact.at_time(instant(n - 1))
        assert not again.check(sooner, customer_prefs).allowed


def _never_by_zero_cap(oracle: Oracle, priority: int) -> bool:
    if any(isinstance(r, FrequencyCap) and r.count == 0 for r in oracle.own):
        return True
    reserve = oracle.policy.reserve
    return (
        reserve is not None
        and priority < reserve.min_priority
        and any(
            isinstance(r, FrequencyCap) and r.count <= reserve.slots for r in oracle.policy.rules
        )
    )


def _quiet_all_day(oracle: Oracle) -> bool:
    quiet = [r for r in [*oracle.own, *oracle.policy.rules] if isinstance(r, QuietHours)]
    minutes = [dt.time(m // 60, m % 60) for m in range(24 * 60)]
    return all(
        any(
            (q.start <= m < q.end) if q.start < q.end else (m >= q.start or m < q.end)
            for q in quiet
        )
        for m in minutes
    )


@settings(max_examples=200)
@given(
    rules=rules,
    zone=st.sampled_from(ZONES),
    base=st.sampled_from(BASES),
    customer_prefs=prefs,
    events=st.lists(event, min_size=2, max_size=16),
    probe=st.integers(0, 12 * 86_400),
    channel=st.sampled_from(["email", "sms"]),
    category=st.sampled_from(["promotional", "service", None]),
    priority=st.sampled_from([0, 10]),
    reserve=reserves,
    uncategorized=uncategorized,
)
def test_check_many_agrees_with_check_for_every_customer(
    rules, zone, base, customer_prefs, events, probe, channel, category, priority, reserve,
    uncategorized,
):  # fmt: skip
    policy = Policy(
        rules,
        timezone=zone,
        exempt_categories={"transactional"},
        reserve=reserve,
        uncategorized=uncategorized,
    )
    guard = ContactGuard(policy, MemoryLedger())
    # three customers sharing the stream at different offsets, one without history
    for shift, cid in ((0, "a"), (3_600, "b")):
        for what, secs, ch, cat, prio in events:
            at = instant(us_of(base) + (secs + shift) * US)
            if what in ("complaint", "response"):
                guard.record_response(cid, at, what)
            else:
                contact = Contact(cid, channel=ch, category=cat, at=at, priority=prio)
                guard.request(contact, customer_prefs)
    at = instant(us_of(base) + probe * US)
    ids = ["a", "b", "nobody", "a"]
    prefs_map = {"a": customer_prefs, "nobody": customer_prefs}
    batch = guard.check_many(
        ids, channel=channel, category=category, at=at, preferences=prefs_map, priority=priority
    )
    for i, cid in enumerate(ids):
        d = guard.check(
            Contact(cid, channel=channel, category=category, at=at, priority=priority),
            prefs_map.get(cid),
        )
        assert batch.allowed[i] == d.allowed
        assert set(batch.reason_codes[i]) == set(d.codes)
        expected = (
            np.datetime64("NaT")
            if d.next_allowed_at is None
            else np.datetime64(us_of(d.next_allowed_at), "us")
        )
        got = batch.next_allowed_at[i]
        assert (np.isnat(got) and np.isnat(expected)) or got == expected, (cid, d, got)
