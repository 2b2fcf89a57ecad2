"""Time handling: every instant is aware, wall-clock conversions are exact across DST."""

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from relcore import DataError
from relcore._time import (
    datetimes_to_micros,
    format_instant,
    from_micros,
    micros_to_wall,
    resolve_zone,
    to_micros,
    wall_to_micros,
)

NY = ZoneInfo("America/New_York")
ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]


def test_naive_datetime_is_refused_with_advice_to_attach_a_zone():
    with pytest.raises(ValueError, match="attach a time zone"):
        to_micros(dt.datetime(2026, 1, 1))


def test_micros_round_trip_through_aware_datetimes():
    at = dt.datetime(2026, 11, 1, 1, 30, tzinfo=NY, fold=1)  # second 01:30 of the fall-back
    assert from_micros(to_micros(at), NY) == at
    assert to_micros(dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) == 0


def test_unknown_zone_names_the_zone():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        resolve_zone("Mars/Olympus")


@given(
    st.sampled_from(ZONES),
    st.lists(
        st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2040, 1, 1)),
        min_size=1,
        max_size=30,
    ),
)
def test_utc_to_wall_clock_agrees_with_zoneinfo_per_instant(zone, naive_utc):
    # Independent reference: zoneinfo converting each instant on its own.
    instants = [t.replace(tzinfo=dt.UTC) for t in naive_utc]
    us = np.array([to_micros(t) for t in instants], dtype=np.int64)
    z = resolve_zone(zone)
    expected = [to_micros(t.astimezone(z).replace(tzinfo=dt.UTC)) for t in instants]
    assert micros_to_wall(us, z).tolist() == expected


@given(
    st.sampled_from(ZONES),
    st.lists(
        st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2040, 1, 1)),
        min_size=1,
        max_size=30,
    ),
)
def test_wall_clock_to_utc_is_exact_or_refused_exactly_where_zoneinfo_says(zone, walls):
    z = resolve_zone(zone)

    def status(w):
        # A wall time is valid when it survives a round trip; ambiguous when both folds do
        # and give different instants.
        ok = [
            w.replace(tzinfo=z, fold=f).astimezone(dt.UTC).astimezone(z).replace(tzinfo=None) == w
            for f in (0, 1)
        ]
        offsets = {w.replace(tzinfo=z, fold=f).utcoffset() for f in (0, 1)}
        if not any(ok):
            return "missing"
        if all(ok) and len(offsets) == 2:
            return "ambiguous"
        return "ok"

    values = np.array(walls, dtype="datetime64[us]")
    statuses = [status(w) for w in walls]
    if all(s == "ok" for s in statuses):
        got = wall_to_micros(values, z)
        expected = [to_micros(w.replace(tzinfo=z)) for w in walls]
        assert got.tolist() == expected
    else:
        with pytest.raises(DataError) as info:
            wall_to_micros(values, z)
        first_bad = next(i for i, s in enumerate(statuses) if s != "ok")
        bad_kind = statuses[first_bad]
        assert ("do not exist" if bad_kind == "missing" else "ambiguous") in str(info.value)


def test_skipped_and_repeated_new_york_hours_are_errors_naming_the_rows():
    walls = np.array(
        ["2026-03-08T01:59", "2026-03-08T02:30", "2026-11-01T01:30", "2026-11-01T03:00"],
        dtype="datetime64[us]",
    )
    with pytest.raises(DataError, match="do not exist") as info:
        wall_to_micros(walls[:2], NY)
    assert info.value.rows == (1,)
    with pytest.raises(DataError, match="ambiguous") as info:
        wall_to_micros(walls[2:], NY)
    assert info.value.rows == (0,)


def test_datetime64_without_a_zone_is_refused():
    with pytest.raises(DataError, match="timezone="):
        datetimes_to_micros(np.array(["2026-01-01"], dtype="datetime64[D]"))


def test_iso_strings_need_an_offset_and_bad_rows_are_named():
    ok = datetimes_to_micros(["2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00Z"])
    assert ok.tolist() == [to_micros(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))] * 2
    with pytest.raises(DataError, match="naive") as info:
        datetimes_to_micros(["2026-01-01T00:00:00Z", "2026-01-01T00:00:00", "2026-01-02"])
    assert info.value.rows == (1, 2)
    assert info.value.count == 2
    with pytest.raises(DataError, match="not datetimes") as info:
        datetimes_to_micros(["2026-01-01T00:00:00Z", "yesterday"])
    assert info.value.rows == (1,)


def test_numbers_are_not_taken_for_times():
    with pytest.raises(DataError, match="numbers"):
        datetimes_to_micros(np.array([1, 2, 3]))


def test_format_instant_shows_local_time_and_zone():
    at = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
    assert format_instant(to_micros(at), NY) == "2026-11-30 10:00 America/New_York"
