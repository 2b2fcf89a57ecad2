"""check_many over a Dask frame of planned contacts decides every contact as the guard
does on one machine, against a snapshot of its ledger."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest

from relcore.contact_policy import (
    Contact,
    ContactGuard,
    Cooldown,
    FrequencyCap,
    MemoryLedger,
    MinimumGap,
    Policy,
    QuietHours,
    SQLiteLedger,
)
from relcore.models import ContactLimit, ContactPreferences

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")

import relcore.dask as rdask  # noqa: E402

NOW = datetime(2026, 3, 4, 10, tzinfo=UTC)  # a Wednesday morning
POLICY = Policy(
    rules=[
        FrequencyCap(2, per=timedelta(days=7), channel="email"),
        FrequencyCap(1, per="calendar_day"),
        MinimumGap(timedelta(hours=20), channel="sms"),
        QuietHours(start=time(21), end=time(8)),
        Cooldown(after="complaint", duration=timedelta(days=30)),
    ],
    exempt_categories={"transactional"},
)
IDS = [f"c{i:03d}" for i in range(240)]


@pytest.fixture(scope="module")
def ledger():
    """Two weeks of contacts and a few complaints for most customers (the last 40 have
    none)."""
    rng = np.random.default_rng(11)
    n = 1200
    who = rng.choice(IDS[:200], n)
    ago = rng.uniform(0.0, 14 * 86_400, n)
    at = np.array([NOW - timedelta(seconds=float(s)) for s in ago])
    kind = np.where(rng.uniform(size=n) < 0.02, "complaint", "message")
    return MemoryLedger.from_arrays(
        who,
        at,
        channel=rng.choice(["email", "sms"], n),
        kind=kind,
        initiator=np.where(kind == "complaint", "customer", "company"),
    )


@pytest.fixture(scope="module")
def preferences():
    return {
        "c001": ContactPreferences(opted_out_channels={"sms", "email"}),
        "c002": ContactPreferences(snoozed_until=NOW + timedelta(days=3)),
        "c003": ContactPreferences(max_contacts=ContactLimit(0, per="calendar_week")),
        "c210": ContactPreferences(quiet_hours=(time(9), time(12))),
        "c211": ContactPreferences(timezone="Asia/Tokyo"),  # 19:00 there
    }


@pytest.fixture(scope="module")
def plan():
    """Every customer, by email or by SMS, now or late tonight (quiet hours)."""
    rng = np.random.default_rng(12)
    n = len(IDS)
    return pd.DataFrame(
        {
            "customer_id": IDS,
            "channel": rng.choice(["email", "sms"], n),
            "at": np.where(rng.uniform(size=n) < 0.8, NOW, NOW + timedelta(hours=12)),
        }
    )


def decided(guard, plan, *, at=None, category=None, preferences=None):
    """The single machine: one check_many per group of contacts with the same labels."""
    keys = ["channel", "at"] if "at" in plan.columns else ["channel"]
    frames = []
    for key, group in plan.groupby(keys, sort=False):
        when = key[1] if len(key) == 2 else at
        b = guard.check_many(
            group["customer_id"].to_numpy(),
            channel=key[0],
            at=pd.Timestamp(when).to_pydatetime(),
            category=category,
            preferences=preferences,
        )
        frames.append(
            group.assign(
                allowed=b.allowed,
                reason_codes=[",".join(codes) for codes in b.reason_codes],
                next_allowed_at=pd.DatetimeIndex(b.next_allowed_at).tz_localize("UTC"),
            )
        )
    return pd.concat(frames).sort_index()


def assert_same_decisions(got, want):
    got = got.sort_index()
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    assert got["allowed"].tolist() == want["allowed"].tolist()
    assert got["reason_codes"].tolist() == want["reason_codes"].tolist()
    assert got["next_allowed_at"].isna().tolist() == want["next_allowed_at"].isna().tolist()
    known = want["next_allowed_at"].notna()
    assert (got["next_allowed_at"][known] == want["next_allowed_at"][known]).all()


def test_decisions_equal_the_single_machine_ones(client, ledger, plan, preferences):
    guard = ContactGuard(POLICY, ledger)
    ddf = dd.from_pandas(plan, npartitions=5)
    got = rdask.check_many(guard, ddf, category="promotional", preferences=preferences)
    want = decided(guard, plan, category="promotional", preferences=preferences)
    # the test means something only if contacts are refused for several reasons
    codes = set(",".join(want["reason_codes"]).split(",")) - {""}
    assert {"frequency_cap", "minimum_gap", "quiet_hours", "opted_out", "snoozed"} <= codes
    assert 0 < want["allowed"].sum() < len(want)
    assert_same_decisions(got.compute(), want)


def test_labels_shared_by_every_contact_are_given_as_arguments(client, ledger, plan):
    guard = ContactGuard(POLICY, ledger)
    only = plan[["customer_id", "channel"]]
    got = rdask.check_many(guard, dd.from_pandas(only, npartitions=3), at=NOW)
    assert_same_decisions(got.compute(), decided(guard, only, at=NOW))


def test_transactional_contacts_skip_the_caps(client, ledger, plan):
    guard = ContactGuard(POLICY, ledger)
    ddf = dd.from_pandas(plan[["customer_id"]], npartitions=2)
    got = rdask.check_many(guard, ddf, channel="email", at=NOW, category="transactional")
    assert got.compute()["allowed"].all()


def test_the_ledger_is_read_as_it_was_when_check_many_was_called(client, plan):
    ledger = MemoryLedger()
    guard = ContactGuard(POLICY, ledger)
    ddf = dd.from_pandas(plan[["customer_id"]], npartitions=2)
    result = rdask.check_many(guard, ddf, channel="email", at=NOW)
    for c in IDS:  # recorded after the call: not in the snapshot
        guard.record(Contact(c, channel="email", at=NOW - timedelta(hours=1)))
    assert result.compute()["allowed"].all()
    assert not guard.check_many(IDS, channel="email", at=NOW).allowed.any()


def test_a_ledger_in_a_database_is_refused_with_the_way_out(client, plan, tmp_path):
    guard = ContactGuard(POLICY, SQLiteLedger(tmp_path / "contacts.db"))
    with pytest.raises(TypeError, match="MemoryLedger"):
        rdask.check_many(guard, dd.from_pandas(plan, npartitions=2), category="promotional")
    guard.ledger.close()


def test_a_label_given_twice_or_missing_is_refused(client, ledger, plan):
    guard = ContactGuard(POLICY, ledger)
    ddf = dd.from_pandas(plan, npartitions=2)
    with pytest.raises(TypeError, match="channel is a column of the frame and an argument"):
        rdask.check_many(guard, ddf, channel="email")
    with pytest.raises(TypeError, match="give at="):
        rdask.check_many(guard, dd.from_pandas(plan[["customer_id"]], npartitions=1), channel="sms")
    with pytest.raises(ValueError, match="naive"):
        rdask.check_many(guard, ddf[["customer_id"]], channel="sms", at=NOW.replace(tzinfo=None))


def test_a_memory_ledger_copy_is_a_snapshot_of_its_entries(ledger):
    for copied in (pickle.loads(pickle.dumps(ledger)), copy.deepcopy(ledger)):
        assert len(copied) == len(ledger)
        assert copied.histories(IDS).at.tolist() == ledger.histories(IDS).at.tolist()
        guard = ContactGuard(POLICY, copied)  # the copy has its own lock and entries
        assert guard.request(Contact("new", channel="email", at=NOW)).allowed
        assert len(copied) == len(ledger) + 1


def test_stored_preferences_and_held_reservations_count_on_the_workers(client, ledger, plan):
    snapshot = copy.deepcopy(ledger)
    clock = {"now": NOW - timedelta(minutes=1)}
    guard = ContactGuard(POLICY, snapshot, clock=lambda: clock["now"])
    # c250 and c251 have no history: only what is stored or held can refuse them
    snapshot.set_preferences("c250", ContactPreferences(opted_out_channels={"email"}))
    reserved = Contact("c251", channel="email", at=NOW - timedelta(minutes=1))
    assert guard.reserve(reserved, key="msg-251", ttl=timedelta(minutes=30)).allowed
    audience = pd.DataFrame(
        {"customer_id": ["c250", "c251", "c252", *IDS[:60]], "channel": "email"}
    )
    ddf = dd.from_pandas(audience, npartitions=3)
    got = rdask.check_many(guard, ddf, at=NOW).compute()
    want = decided(guard, audience, at=NOW)
    assert_same_decisions(got, want)
    refused = dict(zip(got["customer_id"], got["reason_codes"], strict=True))
    assert refused["c250"] == "opted_out"
    assert refused["c251"] == "frequency_cap"  # one a calendar day, and the held one counts
    assert refused["c252"] == ""


def test_reservations_count_as_held_by_the_guards_clock_at_the_call(client, plan):
    clock = {"now": NOW - timedelta(minutes=10)}
    guard = ContactGuard(POLICY, MemoryLedger(), clock=lambda: clock["now"])
    guard.reserve(
        Contact("c000", channel="email", at=clock["now"]), key="m", ttl=timedelta(minutes=5)
    )
    ddf = dd.from_pandas(pd.DataFrame({"customer_id": ["c000"]}), npartitions=1)
    held = rdask.check_many(guard, ddf, channel="email", at=NOW)
    clock["now"] = NOW  # the reservation has expired by the time the frame is computed
    expired = rdask.check_many(guard, ddf, channel="email", at=NOW)
    assert held.compute()["reason_codes"].tolist() == ["frequency_cap"]
    assert expired.compute()["reason_codes"].tolist() == [""]


def test_decisions_written_to_parquet_read_back_the_same(
    client, ledger, plan, preferences, tmp_path
):
    guard = ContactGuard(POLICY, ledger)
    options = {"category": "promotional", "preferences": preferences}
    got = rdask.check_many(guard, dd.from_pandas(plan, npartitions=3), **options)
    got.to_parquet(tmp_path / "decisions")
    back = pd.read_parquet(tmp_path / "decisions")
    assert_same_decisions(back, decided(guard, plan, **options))
    assert back["next_allowed_at"].isna().any()  # NEVER, as missing, survives the trip


def test_a_tenants_ledger_copy_keeps_its_tenant_and_suppressions_not_the_other_tenants():
    store = MemoryLedger()
    brand = store.for_tenant("brand-b")
    guard = ContactGuard(POLICY, brand)
    guard.record(Contact("c1", channel="email", at=NOW - timedelta(hours=1)))
    brand.set_preferences("c2", ContactPreferences(opted_out_channels={"sms"}))
    brand.forget("c2")  # the opt-out stays behind as a suppression
    store.for_tenant("brand-c").set_preferences("c3", ContactPreferences())
    for copied in (pickle.loads(pickle.dumps(brand)), copy.deepcopy(brand)):
        assert copied.tenant == "brand-b"
        assert len(copied) == len(brand)
        assert copied.for_tenant("brand-c").get_preferences("c3") is None  # not shipped
        decided = ContactGuard(POLICY, copied).check_many(["c1", "c2"], channel="sms", at=NOW)
        assert [list(codes) for codes in decided.reason_codes] == [["frequency_cap"], ["opted_out"]]
