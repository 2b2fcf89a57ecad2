"""``relcore policy plan``: candidates in, a schedule with reasons out."""

from __future__ import annotations

import csv

import pytest

POLICY = """
timezone = "UTC"

[[rules]]
type = "frequency_cap"
count = 1
per = "calendar_day"

[[rules]]
type = "quiet_hours"
start = "21:00"
end = "08:00"
"""

CANDIDATES = """customer_id,message_id,channel,campaign,earliest,latest,value
a,a-email,email,spring,2026-06-01T22:00:00+00:00,2026-06-03T00:00:00+00:00,5
a,a-sms,sms,spring,2026-06-01T22:00:00+00:00,2026-06-03T00:00:00+00:00,8
b,b-email,email,spring,2026-06-01T09:00:00+00:00,2026-06-01T12:00:00+00:00,3
c,c-email,email,news,2026-06-01T09:00:00+00:00,2026-06-01T12:00:00+00:00,1
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["message_id"]: r for r in csv.DictReader(fh)}


def test_policy_plan_writes_one_row_per_candidate_and_a_summary(tmp_path, relcore_cli):
    policy = write(tmp_path, "p.toml", POLICY)
    cands = write(tmp_path, "c.csv", CANDIDATES)
    out = tmp_path / "schedule.csv"
    done = relcore_cli(
        "policy", "plan", policy, cands, "--budget", "spring=1", "--rate", "email=1/min", "-o", out
    )
    assert done.status == 0, done.err
    got = rows(out)
    # a's sms (8) wins a's email and the one spring slot; b's spring email gets none; c's
    # news email goes at 09:00. a's sms waits out the quiet hours until 08:00.
    assert got["a-sms"]["status"] == "scheduled"
    assert got["a-sms"]["send_at"].startswith("2026-06-02T08:00")
    assert got["a-email"]["reason"] == "outranked"
    assert got["b-email"]["reason"] == "budget"
    assert got["c-email"]["status"] == "scheduled"
    lines = [line.split() for line in done.out.splitlines()]
    assert ["scheduled", "2"] in [line[:2] for line in lines]
    assert ["budget", "1"] in lines
    assert "4 rows written" in done.out


def test_policy_plan_reads_a_history_and_writes_parquet(tmp_path, relcore_cli):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    policy = write(tmp_path, "p.toml", POLICY)
    cands = write(tmp_path, "c.csv", CANDIDATES)
    history = write(tmp_path, "h.csv", "customer_id,at,channel\nc,2026-06-01T07:00:00Z,sms\n")
    out = tmp_path / "schedule.parquet"
    done = relcore_cli(
        "policy", "plan", policy, cands, "--history", history, "--scheduled-only", "-o", out
    )
    assert done.status == 0, done.err
    frame = pd.read_parquet(out)
    assert set(frame["status"]) == {"scheduled"}
    assert "c-email" not in set(frame["message_id"])  # c's day is full
    assert str(frame["send_at"].dt.tz) == "UTC"


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--budget", "spring", "--budget"),
        ("--rate", "email=5/fortnight", "rate"),
        ("-o", "schedule.xlsx", "--output"),
    ],
)
def test_policy_plan_refuses_bad_options_in_one_line(tmp_path, relcore_cli, option, value, says):
    policy = write(tmp_path, "p.toml", POLICY)
    cands = write(tmp_path, "c.csv", CANDIDATES)
    argv = ["policy", "plan", policy, cands, option, value]
    if option != "-o":
        argv += ["-o", tmp_path / "s.csv"]
    done = relcore_cli(*argv)
    assert done.status == 2
    assert len(done.errors) == 1
    assert done.errors[0].startswith("relcore policy plan: error:")
    assert says.strip("-") in done.errors[0]


def test_policy_plan_names_a_bad_row_of_the_candidates(tmp_path, relcore_cli):
    policy = write(tmp_path, "p.toml", POLICY)
    cands = write(tmp_path, "c.csv", CANDIDATES.replace("2026-06-01T09:00:00+00:00", "June 1st", 1))
    done = relcore_cli("policy", "plan", policy, cands, "-o", tmp_path / "s.csv")
    assert done.status == 2
    assert "earliest" in done.err
    assert "line 4" in done.err


def test_policy_plan_reads_a_sqlite_ledger_without_writing_it(tmp_path, relcore_cli):
    from datetime import UTC, datetime

    from relcore.contact_policy import Contact, ContactGuard, Policy, SQLiteLedger

    path = tmp_path / "contacts.db"
    ledger = SQLiteLedger(str(path))
    at = datetime(2026, 6, 1, 7, tzinfo=UTC)

    ContactGuard(Policy([]), ledger).record(Contact("c", channel="sms", at=at))
    before = len(ledger)
    ledger.close()
    policy = write(tmp_path, "p.toml", POLICY)
    cands = write(tmp_path, "c.csv", CANDIDATES)
    out = tmp_path / "s.csv"
    done = relcore_cli("policy", "plan", policy, cands, "--ledger", path, "-o", out)
    assert done.status == 0, done.err
    assert rows(out)["c-email"]["reason"] == "frequency_cap"
    again = SQLiteLedger(str(path))
    assert len(again) == before
    again.close()


def test_policy_plan_writes_json_lines_like_the_other_commands(tmp_path, relcore_cli):
    import json

    policy = write(tmp_path, "p.toml", POLICY)
    cands = write(tmp_path, "c.csv", CANDIDATES)
    out = tmp_path / "schedule.jsonl"
    done = relcore_cli("policy", "plan", policy, cands, "-o", out)
    assert done.status == 0, done.err
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["message_id"] for r in got] == ["a-email", "a-sms", "b-email", "c-email"]
    by_id = {r["message_id"]: r for r in got}
    assert by_id["c-email"]["status"] == "scheduled"
    assert by_id["c-email"]["send_at"].startswith("2026-06-01T09:00")
    # a's two messages are alternatives: one is scheduled, the other outranked, no time
    assert {by_id["a-sms"]["status"], by_id["a-email"]["status"]} == {"scheduled", "left_out"}
    assert None in (by_id["a-sms"]["send_at"], by_id["a-email"]["send_at"])
