"""EventLog.without: an analysis honours an erasure (issue 16)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from relcore.models import EventLog

IDS = ["a", "b", "c", "d", "e"]


def stamps(micros):
    return np.array(micros, dtype=np.int64).astype("datetime64[us]")


@st.composite
def logs(draw):
    n = draw(st.integers(0, 40))
    ids = draw(st.lists(st.sampled_from(IDS), min_size=n, max_size=n))
    at = draw(st.lists(st.integers(0, 10**12), min_size=n, max_size=n))
    kind = draw(st.lists(st.sampled_from(["order", "open"]), min_size=n, max_size=n))
    return ids, at, kind


@settings(max_examples=60, deadline=None)
@given(logs(), st.sets(st.sampled_from([*IDS, "nobody"])))
def test_without_equals_the_log_built_from_the_other_customers_rows(data, dropped):
    ids, at, kind = data
    value = [float(i) for i in range(len(ids))]  # tells rows apart
    log = EventLog.from_arrays(
        np.array(ids, dtype=object),
        stamps(at),
        value=value,
        kind=np.array(kind, dtype=object),
        timezone="UTC",
    )
    rest = log.without(dropped)
    keep = [i for i, c in enumerate(ids) if c not in dropped]
    expected = EventLog.from_arrays(
        np.array([ids[i] for i in keep], dtype=object),
        stamps([at[i] for i in keep]),
        value=[value[i] for i in keep],
        kind=np.array([kind[i] for i in keep], dtype=object),
        timezone="UTC",
    )
    assert rest.customers.tolist() == expected.customers.tolist()
    assert not set(rest.customers.tolist()) & dropped
    assert rest.offsets.tolist() == expected.offsets.tolist()
    assert rest.at.tolist() == expected.at.tolist()
    assert rest.value.tolist() == expected.value.tolist()
    assert rest.kind.to_numpy().tolist() == expected.kind.to_numpy().tolist()


def test_a_single_string_is_one_customer_id():
    log = EventLog.from_arrays(["ab", "a", "b"], stamps([1, 2, 3]), timezone="UTC")
    assert log.without("ab").customers.tolist() == ["a", "b"]
