"""Every result object converts and displays alike: ``to_pandas()`` (per-customer results
indexed by customer id), ``to_polars()`` (the keys as leading columns), a one-line
``__repr__`` and a compact ``_repr_html_``, whatever the number of rows."""

from __future__ import annotations

import math
import warnings
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from relcore.contact_policy import (
    Contact,
    ContactGuard,
    FrequencyCap,
    MemoryLedger,
    Policy,
    simulate,
)
from relcore.datasets import load_cdnow, load_cdnow_summary
from relcore.measurement import lift
from relcore.models import EventLog
from relcore.scoring import (
    BGNBD,
    also_bought,
    customer_views,
    diagnostics,
    engagement,
    fatigue,
    lifecycle_stage,
    repeat_customers,
    rfm_segments,
    summarize,
    value_balance,
)

pandas = pytest.importorskip("pandas")
polars = pytest.importorskip("polars")

AT = datetime(2026, 6, 1, tzinfo=UTC)
BG = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)


@pytest.fixture(scope="module")
def log() -> EventLog:
    """Customers with purchases, gifts, emails and visits over 60 days, string ids."""
    rng = np.random.default_rng(3)
    n = 4_000
    cust = np.array([f"c{i:03d}" for i in rng.integers(0, 400, n)])
    at = [AT - timedelta(hours=float(h)) for h in rng.uniform(1, 60 * 24, n)]
    kind = rng.choice(["purchase", "message", "visit"], n)
    initiator = np.where(kind == "message", "company", "customer")
    channel = rng.choice(["email", "web", "store"], n)
    value = np.where(kind == "purchase", rng.uniform(5, 50, n), 0.0)
    gift = np.where(kind == "purchase", rng.uniform(0, 3, n), 0.0)
    item = rng.choice(["tea", "cup", "pot", "jam"], n)
    return EventLog.from_arrays(
        cust, at, kind=kind, initiator=initiator, channel=channel, value=value,
        value_to_customer=gift, item=item,
    )  # fmt: skip


def _same_values(a, b) -> bool:
    """A pandas column and a polars column hold the same values (missing = missing)."""
    left = [None if v is None or (not isinstance(v, str) and pandas.isna(v)) else v for v in a]
    right = [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in b]
    return left == right


def converts_alike(result, keys: list[str], rows: int, *, repr_lines: int = 1) -> None:
    frame = result.to_pandas()
    table = result.to_polars()
    assert len(frame) == len(table) == rows
    if keys:
        assert list(frame.index.names) == keys
    # polars has no index: the keys lead, then the same columns in the same order
    assert table.columns == [*keys, *frame.columns]
    flat = frame.reset_index() if keys else frame
    for name in table.columns:
        assert _same_values(flat[name].tolist(), table[name].to_list()), name
    lines = repr(result).splitlines()
    assert len(lines) <= repr_lines
    assert all(len(line) < 200 for line in lines)
    html = result._repr_html_()
    assert html.count("<tr>") <= 1 + 11  # header, at most 5 + gap + 5 rows
    if rows > 11:  # a cut table says how long it is
        assert f"{rows:,} rows" in html


def test_customer_scores_convert_alike_keyed_by_customer(log):
    for result in (
        engagement(log, AT),
        fatigue(log, AT),
        value_balance(log, AT),
        customer_views(log, AT),
    ):
        converts_alike(result, ["customer_id"], log.n_customers)
        assert result.to_pandas().index.tolist() == log.customers.tolist()


def test_customer_views_give_utc_timestamps(log):
    frame = customer_views(log, AT).to_polars()
    assert str(frame.schema["first_seen"].time_zone) == "UTC"
    assert customer_views(log, AT).to_pandas()["last_seen"].dt.tz is not None


def test_summary_based_results_convert_alike():
    summary = load_cdnow_summary()
    n = len(summary)
    converts_alike(summary, ["customer_id"], n)
    converts_alike(rfm_segments(summary), ["customer_id"], n)
    converts_alike(lifecycle_stage(summary), ["customer_id"], n)
    converts_alike(repeat_customers(summary), ["customer_id"], n)
    converts_alike(BG.predict(summary, horizon=10), ["customer_id"], n)


def test_labels_are_categorical_in_pandas_and_enum_in_polars():
    segments = rfm_segments(load_cdnow_summary())
    assert isinstance(segments.to_pandas()["segment"].dtype, pandas.CategoricalDtype)
    assert isinstance(segments.to_polars().schema["segment"], polars.Enum)


def test_also_bought_is_keyed_by_item_and_rank(log):
    result = also_bought(log, top_k=2)
    converts_alike(result, ["item", "rank"], len(result))


def test_fit_summary_and_diagnostic_tables_convert_alike():
    cdnow = load_cdnow()
    cal = summarize(cdnow, period="W", observation_end="1998-06-30", calibration_end="1997-09-30")
    model = BGNBD.fit(cal)
    # printed as its table: a title and a line per parameter
    converts_alike(model.summary(), ["parameter"], 4, repr_lines=1 + 1 + 4)
    table = diagnostics.calibration_vs_holdout(model, cal)
    converts_alike(table, ["frequency"], len(table.frequency))
    tracking = diagnostics.purchase_tracking(
        model, cdnow, period="W", observation_end="1998-06-30", calibration_end="1997-09-30"
    )
    converts_alike(tracking, ["period_start"], len(tracking.actual))
    frame = tracking.to_pandas()
    # the holdout starts with the first period after the calibration periods
    assert frame["holdout"].tolist().index(True) == tracking.calibration_periods


def test_a_batch_decision_is_keyed_by_customer_with_its_reasons():
    guard = ContactGuard(Policy([FrequencyCap(1, per=timedelta(days=7))]), MemoryLedger())
    ids = np.array([f"c{i}" for i in range(40)], dtype=object)
    for c in ids[:15]:
        guard.record(Contact(str(c), channel="email", at=AT - timedelta(days=1)))
    batch = guard.check_many(ids, channel="email", at=AT)
    converts_alike(batch, ["customer_id"], 40)
    frame = batch.to_pandas()
    assert frame["reasons"].tolist() == ["frequency_cap"] * 15 + [""] * 25
    assert frame["allowed"].tolist() == batch.allowed.tolist()


def test_a_large_simulation_shows_in_one_line_not_a_tuple_per_contact():
    plan = [Contact(f"c{i % 50}", channel="email", at=AT + timedelta(hours=i)) for i in range(600)]
    result = simulate(Policy([FrequencyCap(2, per="calendar_day")]), plan)
    converts_alike(result, [], 600)
    frame = result.to_pandas()
    assert frame["outcome"].value_counts().to_dict() == result.counts()
    assert frame["customer_id"].tolist() == [c.customer_id for c in plan]


def test_simulation_counts_are_methods_and_the_property_spelling_warns():
    t = AT
    plan = [Contact("c1", channel="email", at=t + timedelta(hours=h)) for h in range(3)]
    result = simulate(Policy([FrequencyCap(2, per="calendar_day")]), plan)
    expected = {"sent": 2, "deferred": 1, "suppressed": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert result.counts() == expected
        assert result.reason_counts() == {"frequency_cap": 1}
    with pytest.warns(DeprecationWarning, match=r"call it, SimulationResult.counts\(\)"):
        assert result.counts == expected
    with pytest.warns(DeprecationWarning, match="reason_counts"):
        assert result.reason_counts["frequency_cap"] == 1


def test_a_lift_result_is_one_row():
    rng = np.random.default_rng(1)
    result = lift(rng.normal(1.1, 1, 200), rng.normal(1.0, 1, 200))
    converts_alike(result, [], 1)
    row = result.to_pandas().iloc[0]
    assert (row["difference_low"], row["difference_high"]) == result.difference_ci
    assert row["p_value"] == result.p_value
