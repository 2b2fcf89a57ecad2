"""Domain value objects validate on construction and are immutable."""

import datetime as dt

import attrs
import pytest

from relcore import ContactLimit, ContactPreferences, Customer, Touchpoint, ValueExchange

NOW = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)


def test_naive_datetimes_are_refused_everywhere():
    naive = dt.datetime(2026, 11, 23, 10)
    with pytest.raises(ValueError, match="attach a time zone"):
        Touchpoint("c1", naive, channel="email", initiator="company")
    with pytest.raises(ValueError, match="attach a time zone"):
        ValueExchange("c1", naive)
    with pytest.raises(ValueError, match="attach a time zone"):
        Customer("c1", first_seen=naive)
    with pytest.raises(ValueError, match="attach a time zone"):
        ContactPreferences(snoozed_until=naive)


def test_ids_must_be_non_empty():
    with pytest.raises(ValueError, match="non-empty"):
        Customer("  ")
    with pytest.raises(ValueError, match="non-empty"):
        Touchpoint("", NOW, channel="email", initiator="company")


def test_initiator_is_customer_or_company():
    with pytest.raises(ValueError, match="'customer' or 'company'"):
        Touchpoint("c1", NOW, channel="email", initiator="partner")


@pytest.mark.parametrize("amount", [float("nan"), float("inf")])
def test_amounts_must_be_finite(amount):
    with pytest.raises(ValueError, match="finite"):
        ValueExchange("c1", NOW, to_company=amount)
    with pytest.raises(ValueError, match="finite"):
        ValueExchange("c1", NOW, to_customer=amount)


def test_value_objects_are_frozen():
    t = Touchpoint("c1", NOW, channel="email", initiator="company")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        t.channel = "sms"  # type: ignore[misc]
    c = Customer("c1", attributes={"segment": "student"})
    with pytest.raises(TypeError):
        c.attributes["segment"] = "retired"  # type: ignore[index]


def test_customer_attributes_are_copied_not_shared():
    attributes = {"segment": "student"}
    c = Customer("c1", attributes=attributes)
    attributes["segment"] = "retired"
    assert c.attributes["segment"] == "student"


def test_preferences_check_the_time_zone_and_quiet_hours():
    with pytest.raises(ValueError, match="unknown time zone"):
        ContactPreferences(timezone="Europe/Atlantis")
    with pytest.raises(ValueError, match="must differ"):
        ContactPreferences(quiet_hours=(dt.time(8), dt.time(8)))
    p = ContactPreferences(
        opted_out_channels="sms",
        max_contacts=ContactLimit(1, per="calendar_week"),
        quiet_hours=(dt.time(21), dt.time(8)),
        timezone="America/New_York",
    )
    assert p.opted_out_channels == frozenset({"sms"})
    assert p.max_contacts == (ContactLimit(1, per="calendar_week"),)


def test_contact_limits_need_a_positive_window_and_a_whole_count():
    with pytest.raises(ValueError, match="positive duration"):
        ContactLimit(1, per=dt.timedelta(0))
    with pytest.raises(ValueError, match="calendar_day"):
        ContactLimit(1, per="fortnight")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="whole number"):
        ContactLimit(-1, per="calendar_day")
