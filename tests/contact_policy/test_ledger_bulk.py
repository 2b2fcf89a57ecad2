"""MemoryLedger.from_arrays codes per-row label columns of Python objects through their
distinct objects or values: the ledger holds the same entries as when the labels come as
text, and a bad label is refused naming its rows, as the general path does. Every test
runs with columns grouped by reference and by value (as long columns are) and row by row."""

import numpy as np
import pytest

import relcore._columns
from relcore import DataError
from relcore.contact_policy import MemoryLedger


@pytest.fixture(autouse=True, params=["by reference", "by value", "row by row"])
def grouping(request, monkeypatch):
    if request.param == "by value":  # no column is a few objects
        monkeypatch.setattr(relcore._columns, "_FEW_OBJECTS", 0)
    rows = 2**62 if request.param == "row by row" else 0
    monkeypatch.setattr(relcore._columns, "_FEW_OBJECTS_ROWS", rows)
    return request.param


def _entries(ledger, ids):
    return {c: sorted(ledger.customer_history(c).entries(0)) for c in ids}


def test_object_label_columns_give_the_ledger_that_the_general_path_gives(monkeypatch):
    rng = np.random.default_rng(8)
    n = 3_000
    ids = rng.choice(["a", "b", "c", "d", "e"], n)
    at = rng.integers(0, 10**12, n)
    channel = rng.choice(np.array(["email", "sms", "push", None], dtype=object), n)
    kind = rng.choice(np.array(["message", "complaint"], dtype=object), n)
    campaign = rng.choice(np.array(["spring", "autumn", None], dtype=object), n)
    initiator = np.where(kind == "complaint", "customer", "company").astype(object)
    columns = {"channel": channel, "kind": kind, "campaign": campaign, "initiator": initiator}
    fast = MemoryLedger.from_arrays(ids, at, **columns)
    monkeypatch.setattr(relcore._columns, "_FEW_OBJECTS_ROWS", 2**62)  # row by row
    general = MemoryLedger.from_arrays(ids, at, **columns)
    assert len(fast) == len(general) == n
    assert _entries(fast, "abcde") == _entries(general, "abcde")


def test_equal_labels_held_by_different_objects_are_one_label():
    # "email" built twice: equal text, distinct objects
    labels = np.array(["".join(["em", "ail"]), "".join(["e", "mail"]), "sms"], dtype=object)
    assert labels[0] is not labels[1]
    ledger = MemoryLedger.from_arrays(["a", "a", "a"], [1, 2, 3], channel=labels)
    h = ledger.customer_history("a")
    assert h.decode(h.channel).tolist() == ["email", "email", "sms"]


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("", "empty"),
        (7, "not strings"),
        ("email\0", "NUL"),
        (("email",), "not strings"),
        (["email"], "not strings"),  # unhashable: the general path finds it
        (float("nan"), "not strings"),
    ],
)
def test_a_bad_label_among_objects_is_refused_naming_its_rows(bad, words):
    channel = np.empty(6, dtype=object)
    channel[:] = "email"
    channel[2] = bad
    channel[5] = bad
    with pytest.raises(DataError, match=words) as info:
        MemoryLedger.from_arrays(["a"] * 6, np.arange(6), channel=channel)
    assert (info.value.column, info.value.rows) == ("channel", (2, 5))


@pytest.mark.parametrize(
    "values",
    [["company"] * 4, ["customer"] * 4, ["company", "customer", "customer", "company"]],
)
def test_initiator_objects_mark_contacts_and_customer_events_row_by_row(values):
    initiator = np.array(values, dtype=object)
    ledger = MemoryLedger.from_arrays(["a"] * 4, [1, 2, 3, 4], initiator=initiator)
    h = ledger.customer_history("a")
    assert h.company.tolist() == [v == "company" for v in values]


@pytest.mark.parametrize("bad", ["Company", None, 1, ["company"]])
def test_a_bad_initiator_among_objects_is_refused_naming_its_rows(bad):
    initiator = np.empty(5, dtype=object)
    initiator[:] = "company"
    initiator[1] = bad
    initiator[4] = bad
    with pytest.raises(DataError, match="other than 'company' or 'customer'") as info:
        MemoryLedger.from_arrays(["a"] * 5, np.arange(5), initiator=initiator)
    assert (info.value.column, info.value.rows) == ("initiator", (1, 4))


@pytest.mark.parametrize("threads", ["1", "2"])  # ids coded inline / on another thread
def test_bad_ids_are_reported_before_bad_times_or_labels(monkeypatch, threads):
    monkeypatch.setenv("RELCORE_NUM_THREADS", threads)
    channel = np.array(["email", ""], dtype=object)
    for at in ([1, 2], [1, 2, 3]):
        with pytest.raises(DataError, match="missing") as info:
            MemoryLedger.from_arrays(["a", None], at, channel=channel)
        assert (info.value.column, info.value.rows) == ("customer_id", (1,))
    with pytest.raises(DataError, match="empty") as info:
        MemoryLedger.from_arrays(["a", "b"], [1, 2], channel=channel)
    assert info.value.column == "channel"
