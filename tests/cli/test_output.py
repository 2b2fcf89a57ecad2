"""What ``-o`` writes: the format its extension names, LF line endings, nothing on a
refusal; ``policy simulate -o`` writes each planned contact's outcome."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from relcore import EventLog, summarize
from relcore.contact_policy import Contact, Policy, simulate
from relcore.datasets import load_cdnow_summary

pq = pytest.importorskip("pyarrow.parquet")

TX = """customer_id,at,amount
a,2026-01-05T10:00:00Z,10
a,2026-01-12T10:00:00+01:00,5.5
00042,2026-01-06T10:00:00Z,3
a,2026-01-20T10:00:00Z,7
"""
COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value", "period"]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def library_summary():
    log = EventLog.from_arrays(
        ["a", "a", "00042", "a"],
        ["2026-01-05T10:00:00Z", "2026-01-12T10:00:00+01:00", "2026-01-06T10:00:00Z",
         "2026-01-20T10:00:00Z"],
        value=[10, 5.5, 3, 7],
    )  # fmt: skip
    return summarize(log, period="W", observation_end="2026-01-31")


def summarize_to(relcore_cli, src, out):
    return relcore_cli("summarize", src, "--value", "amount", "--period", "W",
                       "--observation-end", "2026-01-31", "-o", out)  # fmt: skip


def rows_of(path):
    """The rows of an output file, whatever its format, as dicts of Python values."""
    suffix = path.suffix
    if suffix == ".csv":
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))
    if suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("name", ["summary.csv", "summary.parquet", "summary.json", "s.jsonl"])
def test_summarize_writes_the_format_its_output_names(tmp_path, relcore_cli, name):
    src = write(tmp_path, "tx.csv", TX)
    out = tmp_path / name
    done = summarize_to(relcore_cli, src, out)
    assert done.status == 0, done.err
    rows = rows_of(out)
    assert [list(r) for r in rows] == [COLUMNS] * len(rows)
    expected = library_summary()
    assert [r["customer_id"] for r in rows] == expected.customer_id.tolist()
    for column in ("frequency", "recency", "T", "monetary_value"):
        got = [float(r[column]) for r in rows]
        np.testing.assert_allclose(got, getattr(expected, column), rtol=1e-15)
    assert {r["period"] for r in rows} == {"W"}


def test_parquet_and_json_keep_numbers_typed_and_ids_as_written(tmp_path, relcore_cli):
    src = write(tmp_path, "tx.csv", TX)
    for name in ("s.parquet", "s.json"):
        assert summarize_to(relcore_cli, src, tmp_path / name).status == 0
        first = rows_of(tmp_path / name)[0]
        assert first["customer_id"] == "00042"  # not the number 42
        assert isinstance(first["frequency"], float)
    schema = pq.read_schema(tmp_path / "s.parquet")
    assert str(schema.field("frequency").type) == "double"


@pytest.mark.parametrize("name", ["summary.csv", "summary.json"])
def test_text_output_has_lf_line_endings(tmp_path, relcore_cli, name):
    src = write(tmp_path, "tx.csv", TX)
    out = tmp_path / name
    assert summarize_to(relcore_cli, src, out).status == 0
    data = out.read_bytes()
    assert b"\r" not in data
    assert data.endswith(b"\n")
    assert data.count(b"\n") == len(rows_of(out)) + (name.endswith(".csv"))


def test_stdout_output_is_csv_with_lf_line_endings(tmp_path, relcore_cli):
    src = write(tmp_path, "tx.csv", TX)
    done = summarize_to(relcore_cli, src, "-")
    assert done.status == 0, done.err
    assert done.out.splitlines()[0] == ",".join(COLUMNS)
    assert "\r" not in done.out


@pytest.mark.parametrize("name", ["summary.txt", "summary", "summary.xlsx", "summary.csv.gz"])
def test_an_output_of_unknown_format_is_refused_before_any_work(tmp_path, relcore_cli, name):
    src = write(tmp_path, "tx.csv", TX)
    out = tmp_path / name
    for command in (
        ("summarize", src, "--observation-end", "2026-01-31", "-o", out),
        ("score", src, "-o", out),
    ):
        done = relcore_cli(*command)
        assert done.status == 2
        assert done.errors == [
            f"relcore {command[0]}: error: --output: {out}: name a .csv, .parquet, or "
            ".json/.jsonl (JSON lines) file, or '-' for CSV on stdout"
        ]
        assert not out.exists()


def test_score_writes_parquet_and_json_lines_with_the_csv_numbers(tmp_path, relcore_cli):
    cdnow = load_cdnow_summary()  # weekly
    summary = tmp_path / "summary.csv"
    cols = ["customer_id", "frequency", "recency", "T", "monetary_value"]
    with open(summary, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*cols, "period"])
        for row in zip(*(getattr(cdnow, c).tolist() for c in cols), strict=True):
            w.writerow([*row, "W"])
    got = {}
    for name in ("scores.csv", "scores.parquet", "scores.json"):
        done = relcore_cli("score", summary, "-o", tmp_path / name)
        assert done.status == 0, done.err
        got[name] = rows_of(tmp_path / name)
    reference = got["scores.csv"]
    for name in ("scores.parquet", "scores.json"):
        rows = got[name]
        assert [str(r["customer_id"]) for r in rows] == [r["customer_id"] for r in reference]
        for column in ("p_alive", "expected_purchases", "clv"):
            # CSV holds each float's shortest round-trip text: the very same double
            assert [r[column] for r in rows] == [float(r[column]) for r in reference]


# ---------------------------------------------------------------------------- simulate

POLICY = """
timezone = "UTC"
exempt_categories = ["transactional"]

[[rules]]
type = "frequency_cap"
count = 1
per = "calendar_day"
"""

PLAN = """customer_id,at,channel,category,priority
a,2026-06-01T09:00:00+00:00,email,promotional,1
a,2026-06-01T10:00:00+00:00,email,promotional,
a,2026-06-01T11:00:00+00:00,email,transactional,
b,2026-06-01T09:00:00+02:00,sms,,0
"""


def library_simulation(reschedule):
    from datetime import datetime

    def at(text):
        return datetime.fromisoformat(text)

    plan = [
        Contact("a", channel="email", at=at("2026-06-01T09:00:00+00:00"),
                category="promotional", priority=1),
        Contact("a", channel="email", at=at("2026-06-01T10:00:00+00:00"),
                category="promotional"),
        Contact("a", channel="email", at=at("2026-06-01T11:00:00+00:00"),
                category="transactional"),
        Contact("b", channel="sms", at=at("2026-06-01T09:00:00+02:00")),
    ]  # fmt: skip
    return plan, simulate(Policy.from_toml_text(POLICY), plan, reschedule=reschedule)


@pytest.mark.parametrize("reschedule", [False, True])
@pytest.mark.parametrize("name", ["outcomes.csv", "outcomes.parquet", "outcomes.json"])
def test_policy_simulate_writes_each_contacts_outcome_in_plan_order(
    tmp_path, relcore_cli, name, reschedule
):
    policy = write(tmp_path, "p.toml", POLICY)
    plan_file = write(tmp_path, "plan.csv", PLAN)
    out = tmp_path / name
    done = relcore_cli("policy", "simulate", policy, plan_file, "-o", out,
                       *(["--reschedule"] if reschedule else []))  # fmt: skip
    assert done.status == 0, done.err
    assert done.out.splitlines()[-1] == f"4 planned contacts written to {out}"
    rows = rows_of(out)
    plan, result = library_simulation(reschedule)
    assert [r["customer_id"] for r in rows] == [c.customer_id for c in plan]
    assert [r["outcome"] for r in rows] == list(result.outcomes)
    assert [r["codes"] for r in rows] == [";".join(d.codes) for d in result.decisions]
    assert [r["channel"] for r in rows] == [c.channel for c in plan]
    assert [r["priority"] for r in rows] in ([c.priority for c in plan],
                                             [str(c.priority) for c in plan])  # fmt: skip

    def instant(value):
        if value in (None, ""):
            return None
        if hasattr(value, "timestamp"):  # Parquet: a timestamp in UTC
            return value.timestamp()
        from datetime import datetime

        return datetime.fromisoformat(value).timestamp()

    assert [instant(r["at"]) for r in rows] == [c.at.timestamp() for c in plan]
    sent = [None if t is None else t.timestamp() for t in result.sent_at]
    assert [instant(r["sent_at"]) for r in rows] == sent
    later = [None if d.allowed or d.next_allowed_at is None else d.next_allowed_at.timestamp()
             for d in result.decisions]  # fmt: skip
    assert [instant(r["next_allowed_at"]) for r in rows] == later
    assert None in later  # both kinds are written
    assert any(t is not None for t in later)
    empty = "" if name.endswith(".csv") else None
    assert rows[3]["category"] == empty  # no category: an empty cell, a null


def test_policy_simulate_to_stdout_writes_the_table_and_reports_on_stderr(tmp_path, relcore_cli):
    policy = write(tmp_path, "p.toml", POLICY)
    plan_file = write(tmp_path, "plan.csv", PLAN)
    done = relcore_cli("policy", "simulate", policy, plan_file, "-o", "-")
    assert done.status == 0, done.err
    rows = list(csv.DictReader(done.out.splitlines()))
    assert [r["outcome"] for r in rows] == list(library_simulation(False)[1].outcomes)
    assert "deferred" in done.err  # the counts went to stderr


def test_policy_simulate_without_output_prints_only_the_counts(tmp_path, relcore_cli):
    policy = write(tmp_path, "p.toml", POLICY)
    plan_file = write(tmp_path, "plan.csv", PLAN)
    done = relcore_cli("policy", "simulate", policy, plan_file)
    assert done.status == 0, done.err
    assert "customer_id" not in done.out
    assert set(tmp_path.iterdir()) == {policy, plan_file}


def test_policy_simulate_never_writes_over_its_plan(tmp_path, relcore_cli):
    policy = write(tmp_path, "p.toml", POLICY)
    plan_file = write(tmp_path, "plan.csv", PLAN)
    done = relcore_cli("policy", "simulate", policy, plan_file, "-o", plan_file)
    assert done.status == 2
    assert done.errors == [
        f"relcore policy simulate: error: --output: {plan_file} is an input file; it would "
        "be overwritten"
    ]
    assert plan_file.read_text() == PLAN


def test_every_command_that_writes_lists_its_options_with_their_defaults(relcore_cli):
    for command in (["summarize"], ["score"], ["policy", "simulate"]):
        done = relcore_cli(*command, "--help")
        assert done.status == 0
        text = " ".join(done.out.split())
        assert "(default: utf-8)" in text
        assert "-q, --quiet no progress bar" in text
        assert ".csv, .parquet, or .json/.jsonl (JSON lines, one object per row)" in text


def write_cdnow_summary(path):
    cdnow = load_cdnow_summary()  # weekly
    cols = ["customer_id", "frequency", "recency", "T", "monetary_value"]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*cols, "period"])
        for row in zip(*(getattr(cdnow, c).tolist() for c in cols), strict=True):
            w.writerow([*row, "W"])
    return path


def test_score_reads_the_parquet_summary_summarize_writes(tmp_path, relcore_cli):
    # the same summary as CSV and as Parquet (ids as text) scores the same
    import pyarrow.csv as pcsv

    src = write_cdnow_summary(tmp_path / "summary.csv")
    table = pcsv.read_csv(src, convert_options=pcsv.ConvertOptions(
        column_types={"customer_id": "string"}))  # fmt: skip
    pq.write_table(table, tmp_path / "summary.parquet")
    for name in ("summary.csv", "summary.parquet"):
        done = relcore_cli("score", tmp_path / name, "-o", tmp_path / f"{name}.json")
        assert done.status == 0, done.err
        assert done.out.splitlines()[-1].endswith("(period W)")
    assert rows_of(tmp_path / "summary.parquet.json") == rows_of(tmp_path / "summary.csv.json")


def test_a_bad_parquet_summary_is_one_line_naming_its_rows(tmp_path, relcore_cli):
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"customer_id": ["a", "b", "c"], "frequency": [1.0, None, 2.0],
                      "recency": [1.0, 0.0, 3.0], "T": [5.0, 5.0, 5.0]})  # fmt: skip
    pq.write_table(table, tmp_path / "s.parquet")
    done = relcore_cli("score", tmp_path / "s.parquet", "--period", "D", "-o", "-")
    assert done.status == 2
    assert done.errors == [
        f"relcore score: error: {tmp_path / 's.parquet'}: column 'frequency', 1 row: "
        "missing values",
        "  row 1",
    ]
    (tmp_path / "t.parquet").write_text("customer_id,frequency\n")
    done = relcore_cli("score", tmp_path / "t.parquet", "-o", "-")
    assert done.status == 2
    assert done.errors[0].startswith(
        f"relcore score: error: {tmp_path / 't.parquet'}: could not be read as Parquet"
    )
