"""`relcore summarize`: a user's own CSV to a summary CSV, bad rows reported one per line."""

import csv
import subprocess
import sys

import numpy as np
import pytest

from relcore import EventLog, summarize

pytest.importorskip("pyarrow")


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "relcore", *args], capture_output=True, text=True, check=False
    )


def write(path, text):
    path.write_text(text)
    return path


def test_summarize_writes_the_same_numbers_as_the_library(tmp_path):
    src = write(
        tmp_path / "tx.csv",
        "cust,when,amount\n"
        "a,2026-01-05T10:00:00+00:00,10\n"
        "a,2026-01-12T10:00:00+00:00,20\n"
        "b,2026-01-06T10:00:00+00:00,5\n"
        "a,2026-01-13T10:00:00+00:00,30\n",
    )
    out = tmp_path / "summary.csv"
    done = run("summarize", str(src), "--customer", "cust", "--at", "when", "--value", "amount",
               "--period", "W", "--observation-end", "2026-01-31", "-o", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 customers" in done.stdout
    with open(out) as fh:
        rows = list(csv.DictReader(fh))
    expected = summarize(
        EventLog.read_csv(src, customer_id="cust", at="when", value="amount"),
        period="W",
        observation_end="2026-01-31",
    )
    assert [r["customer_id"] for r in rows] == expected.customer_id.tolist()
    for col in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_array_equal([float(r[col]) for r in rows], getattr(expected, col))


def test_bad_rows_are_reported_one_line_each_without_a_traceback(tmp_path):
    src = write(
        tmp_path / "tx.csv",
        "cust,when\n"
        "a,2026-01-05T10:00:00Z\n"
        "b,2026-01-05 10:00\n"
        "c,2026-01-06T10:00:00Z\n"
        "d,2026-01-07\n",
    )
    done = run("summarize", str(src), "--customer", "cust", "--at", "when",
               "--observation-end", "2026-01-31", "-o", str(tmp_path / "o.csv"))  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert "naive" in lines[0]
    assert lines[1].strip().startswith("row 1 (line 3 of")
    assert lines[2].strip().startswith("row 3 (line 5 of")
    assert len(lines) == 3
    assert not (tmp_path / "o.csv").exists()


def test_a_missing_column_is_one_readable_line(tmp_path):
    src = write(tmp_path / "tx.csv", "cust,when\na,2026-01-05T10:00:00Z\n")
    done = run("summarize", str(src), "--customer", "customer", "--at", "when",
               "--observation-end", "2026-01-31", "-o", "-")  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "'customer'" in done.stderr
