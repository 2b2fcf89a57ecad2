"""The shipped data sets agree with the published text files (kept as test fixtures)."""

import csv
import datetime as dt
import gzip
from pathlib import Path

import numpy as np

from relcore.datasets import load_cdnow, load_cdnow_summary, load_donations

DATA = Path(__file__).parent / "data"


def test_cdnow_master_matches_the_published_text_file_row_for_row():
    with gzip.open(DATA / "CDNOW_master.txt.gz", "rt") as fh:
        next(fh)
        rows = [line.split() for line in fh]
    assert len(rows) == 69_659
    rows.sort(key=lambda r: (r[0], r[1]))  # the log's order: customer, then day
    log = load_cdnow()
    assert len(log) == 69_659
    assert log.n_customers == 23_570
    ids = log.customers[log.customer_codes]
    days = log.times.astype("datetime64[D]").astype(str)
    # Same-day records of one customer may come in any order; compare as multisets.
    compact = [d.replace("-", "") for d in days]
    got = sorted(zip(ids.tolist(), compact, log.value.tolist(), strict=True))
    want = sorted((r[0], r[1], float(r[3])) for r in rows)
    assert got == want


def test_every_cdnow_customer_first_bought_in_the_first_quarter_of_1997():
    log = load_cdnow()
    first = log.at[log.offsets[:-1]]
    start = int(dt.datetime(1997, 1, 1, tzinfo=dt.UTC).timestamp() * 1e6)
    end = int(dt.datetime(1997, 4, 1, tzinfo=dt.UTC).timestamp() * 1e6)
    assert ((first >= start) & (first < end)).all()
    assert log.kind.categories == ("purchase",)


def test_cdnow_summary_matches_both_published_csv_files():
    s = load_cdnow_summary()
    with open(DATA / "cdnow_customers_summary.csv") as fh:
        a = list(csv.DictReader(fh))
    with open(DATA / "cdnow_customers_summary_with_transactions.csv") as fh:
        b = list(csv.DictReader(fh))
    assert len(s) == len(a) == len(b) == 2357
    assert s.customer_id.tolist() == [int(r["ID"]) for r in a]
    np.testing.assert_array_equal(s.frequency, [float(r["frequency"]) for r in a])
    np.testing.assert_array_equal(s.recency, [float(r["recency"]) for r in a])
    np.testing.assert_array_equal(s.T, [float(r["T"]) for r in a])
    np.testing.assert_array_equal(s.monetary_value, [float(r["zbar"]) for r in b])
    assert int((s.frequency > 0).sum()) == 946  # the Gamma-Gamma sample of the paper


def test_donations_match_the_published_table():
    d = load_donations()
    with open(DATA / "donations.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert d["frequency"].tolist() == [float(r["frequency"]) for r in rows]
    assert d["recency"].tolist() == [float(r["recency"]) for r in rows]
    assert d["n_periods"].tolist() == [float(r["periods"]) for r in rows]
    assert d["weights"].tolist() == [float(r["weights"]) for r in rows]
    assert d["weights"].sum() == 11_104
