"""``relcore policy check`` and ``relcore policy simulate``."""

from __future__ import annotations

import csv
import json

import pytest

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
b,2026-06-01T09:00:00+00:00,sms,promotional,0
"""


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def policy(tmp_path):
    return write(tmp_path, "p.toml", POLICY)


def test_policy_check_prints_the_rules_in_plain_words(policy, relcore_cli):
    done = relcore_cli("policy", "check", policy)
    assert done.status == 0
    assert "valid, 1 rule" in done.out
    assert "1. at most 1 contact per calendar day (customer's local time)" in done.out
    assert "exempt: transactional" in done.out


def test_policy_check_warns_on_stderr_where_a_reserve_can_never_be_satisfied(tmp_path, relcore_cli):
    reserved = write(tmp_path, "p.toml", POLICY + "\n[reserve]\nslots = 1\nmin_priority = 10\n")
    done = relcore_cli("policy", "check", reserved)
    assert done.status == 0
    assert done.errors == [
        f"relcore policy check: warning: {reserved}: rules[0] (at most 1 contact per calendar "
        "day (customer's local time)): the reserve keeps its only slot for priority >= 10, so "
        "every contact of lower priority in its scope is refused for good"
    ]
    assert relcore_cli("policy", "check", write(tmp_path, "q.toml", POLICY)).err == ""


def test_policy_check_reports_a_bad_file_in_one_line_with_status_2(tmp_path, relcore_cli):
    bad = write(tmp_path, "p.toml", POLICY.replace('"calendar_day"', '"-1d"'))
    done = relcore_cli("policy", "check", bad)
    assert done.status == 2
    assert done.errors == [
        f"relcore policy check: error: {bad}: rules[0].per: must be a positive duration such "
        "as '7d', '20h' or '1d12h', got '-1d'"
    ]


def test_policy_simulate_counts_outcomes_by_reason(tmp_path, policy, relcore_cli, engine):
    plan = write(tmp_path, "plan.csv", PLAN)
    history = write(tmp_path, "h.csv", "customer_id,at,channel\nb,2026-06-01T08:00:00+00:00,sms\n")
    done = relcore_cli("policy", "simulate", policy, plan, "--history", history)
    assert done.status == 0, done.err
    lines = [line.split() for line in done.out.splitlines()]
    assert ["4", "planned", "contacts"] in lines
    assert "2 customers" in done.out
    # sent: a's first email and the (exempt) receipt; deferred: a's second email, and b's
    # sms, capped by the one in the history
    assert ["sent", "2", "50.0%"] in lines
    assert ["deferred", "2", "50.0%"] in lines
    assert ["suppressed", "0", "0.0%"] in lines
    assert ["frequency_cap", "2"] in lines


def test_a_history_of_customer_events_is_not_counted_as_contacts(tmp_path, policy, relcore_cli):
    plan = write(tmp_path, "plan.csv", "customer_id,at,channel\nb,2026-06-01T09:00:00Z,sms\n")
    history = write(
        tmp_path,
        "h.csv",
        "customer_id,at,channel,kind,initiator\nb,2026-06-01T08:00:00Z,web,purchase,customer\n",
    )
    done = relcore_cli("policy", "simulate", policy, plan, "--history", history)
    assert done.status == 0, done.err
    assert ["sent", "1", "100.0%"] in [line.split() for line in done.out.splitlines()]


def test_policy_simulate_names_bad_rows_of_the_plan_by_line(tmp_path, policy, relcore_cli, engine):
    plan = write(
        tmp_path, "plan.csv", PLAN.replace("2026-06-01T10:00:00+00:00", "2026-06-01 10:00")
    )
    done = relcore_cli("policy", "simulate", policy, plan)
    assert done.status == 2
    assert done.errors == [
        f"relcore policy simulate: error: {plan}: column 'at', 1 row: naive timestamps (no UTC "
        "offset); write them with one, such as 2026-11-27T10:00:00-05:00",
        "  line 3 (row 1): '2026-06-01 10:00'",
    ]


def test_policy_simulate_refuses_an_unknown_column(tmp_path, policy, relcore_cli, engine):
    plan = write(tmp_path, "plan.csv", PLAN.replace("category", "categroy"))
    done = relcore_cli("policy", "simulate", policy, plan)
    assert done.status == 2
    assert done.errors == [
        f"relcore policy simulate: error: column 'categroy': is not a known column of {plan}; "
        "expected customer_id, at, channel, category, campaign, priority"
    ]


def test_a_column_named_twice_is_an_error(tmp_path, policy, relcore_cli, engine):
    plan = write(tmp_path, "plan.csv", "customer_id,at,channel,channel\na,2026-06-01T09:00Z,e,s\n")
    done = relcore_cli("policy", "simulate", policy, plan)
    assert done.status == 2
    assert done.errors == [
        f"relcore policy simulate: error: column 'channel': appears 2 times in the header of "
        f"{plan} (columns 3 and 4); which one is meant?"
    ]


PLACEHOLDER = (
    "times before 1900 or after 2999, which are not contact times (placeholders such as "
    "0001-01-01 or 9999-12-31?)"
)


@pytest.mark.parametrize(
    ("cell", "problem"),
    [("0001-01-01T00:00:00+00:00", PLACEHOLDER),
     ("9999-12-31T23:00:00Z", PLACEHOLDER),
     ("0001-01-01T00:00:00+01:00", "times outside the years 1 to 9999 in UTC")],
)  # fmt: skip
@pytest.mark.parametrize("where", ["plan", "history"])
def test_dates_at_the_ends_of_the_calendar_are_refused(
    tmp_path, policy, relcore_cli, engine, cell, problem, where
):
    good = "customer_id,at,channel\na,2026-06-01T09:00:00Z,email\n"
    bad = f"customer_id,at,channel\na,2026-06-01T09:00:00Z,email\na,{cell},email\n"
    plan = write(tmp_path, "plan.csv", bad if where == "plan" else good)
    history = write(tmp_path, "h.csv", bad if where == "history" else good)
    done = relcore_cli("policy", "simulate", policy, plan, "--history", history, "--reschedule")
    assert done.status == 2
    source = plan if where == "plan" else history
    assert done.errors == [
        f"relcore policy simulate: error: {source}: column 'at', 1 row: {problem}",
        f"  line 3 (row 1): '{cell}'",
    ]


@pytest.mark.parametrize("delay", ["99999999999w", "2x", "-1d", "0s"])
def test_a_bad_max_delay_is_one_line(tmp_path, policy, relcore_cli, delay):
    plan = write(tmp_path, "plan.csv", PLAN)
    done = relcore_cli("policy", "simulate", policy, plan, "--reschedule", f"--max-delay={delay}")
    assert done.status == 2
    assert len(done.errors) == 1
    assert done.errors[0].startswith("relcore policy simulate: error: --max-delay: ")
    assert repr(delay) in done.errors[0]


def test_a_thousand_years_of_max_delay_is_accepted(tmp_path, policy, relcore_cli):
    plan = write(tmp_path, "plan.csv", PLAN)
    done = relcore_cli("policy", "simulate", policy, plan, "--reschedule", "--max-delay", "365250d")
    assert done.status == 0, done.err


def test_labels_with_spaces_at_either_end_are_refused(tmp_path, policy, relcore_cli, engine):
    plan = write(tmp_path, "plan.csv", "customer_id,at,channel\na,2026-06-01T09:00Z,email \n")
    done = relcore_cli("policy", "simulate", policy, plan)
    assert done.status == 2
    assert done.errors == [
        f"relcore policy simulate: error: {plan}: column 'channel', 1 row: values with spaces "
        "at either end, which the policy would not match; remove the spaces",
        "  line 2 (row 0): 'email '",
    ]


def test_a_bom_and_null_marker_ids_are_read_as_written(tmp_path, policy, relcore_cli, engine):
    plan = write(
        tmp_path,
        "plan.csv",
        "\ufeffcustomer_id,at,channel\nNA,2026-06-01T09:00Z,email\nNULL,2026-06-01T09:00Z,email\n",
    )
    done = relcore_cli("policy", "simulate", policy, plan)
    assert done.status == 0, done.err
    assert "2 customers" in done.out
    assert ["sent", "2", "100.0%"] in [line.split() for line in done.out.splitlines()]


def test_a_latin1_plan_needs_its_encoding(tmp_path, policy, relcore_cli, engine):
    plan = write(
        tmp_path, "plan.csv", "customer_id,at,channel\nJosé,2026-06-01T09:00Z,e\n", "latin-1"
    )
    done = relcore_cli("policy", "simulate", policy, plan)
    assert done.status == 2
    assert done.errors[1:] == ["  line 2 (row 0): 'Jos\\xe9'"]
    assert relcore_cli("policy", "simulate", policy, plan, "--encoding", "latin-1").status == 0


def test_a_header_only_plan_is_one_line(tmp_path, policy, relcore_cli):
    plan = write(tmp_path, "plan.csv", "customer_id,at,channel\n")
    done = relcore_cli("policy", "simulate", policy, plan)
    assert done.status == 2
    assert done.errors == [
        f"relcore policy simulate: error: {plan}: has a header but no contacts: there is "
        "nothing to simulate"
    ]


def test_a_semicolon_plan_reads_with_its_delimiter(tmp_path, policy, relcore_cli, engine):
    plan = write(tmp_path, "plan.csv", PLAN.replace(",", ";"))
    done = relcore_cli("policy", "simulate", policy, plan)
    assert done.status == 2
    assert done.errors[0].endswith("is the file delimited by ';'? pass --delimiter")
    assert relcore_cli("policy", "simulate", policy, plan, "--delimiter", ";").status == 0


def test_a_bad_initiator_in_the_history_names_its_line(tmp_path, policy, relcore_cli):
    plan = write(tmp_path, "plan.csv", PLAN)
    history = write(
        tmp_path,
        "h.csv",
        "customer_id,at,initiator\nb,2026-06-01T08:00Z,\nb,2026-06-01T08:00Z,us\n",
    )
    done = relcore_cli("policy", "simulate", policy, plan, "--history", history)
    assert done.status == 2
    assert done.errors == [
        f"relcore policy simulate: error: {history}: column 'initiator', 1 row: values other "
        "than 'company' or 'customer'",
        "  line 3 (row 1): 'us'",
    ]


# --------------------------------------------------------------------------- audit


@pytest.fixture
def audited(tmp_path):
    """A SQLite ledger whose guard kept an audit trail: decisions on 1 and 2 June 2026."""
    from datetime import UTC, datetime, timedelta

    from relcore.contact_policy import Contact, ContactGuard, Policy, SQLiteLedger

    times = iter(
        [
            datetime(2026, 6, 1, 9, tzinfo=UTC) + timedelta(minutes=m)
            for m in (0, 60, 120, 121, 1500)
        ]
    )
    path = tmp_path / "contacts.db"
    ledger = SQLiteLedger(path)
    guard = ContactGuard(
        Policy.from_toml_text('name = "v1"\n' + POLICY),
        ledger,
        clock=lambda: next(times),
        audit=True,
    )
    at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    guard.request(Contact("a", channel="email", at=at), key="m-1")
    guard.request(Contact("a", channel="sms", at=at))  # refused: 1 a day
    guard.reserve(Contact("b", channel="sms", at=at), key="m-2")
    guard.confirm("m-2")
    guard.check(Contact("a", channel="email", at=at + timedelta(days=1)))  # a new day
    ledger.close()
    return path


def test_policy_audit_writes_json_lines_that_read_back_as_the_records(
    audited, tmp_path, relcore_cli
):
    from relcore.contact_policy import AuditRecord, SQLiteLedger

    out = tmp_path / "audit.jsonl"
    done = relcore_cli("policy", "audit", audited, "-o", out)
    assert done.status == 0, done.err
    assert done.out == f"5 decisions written to {out}\n"
    lines = out.read_text(encoding="utf-8").splitlines()
    ledger = SQLiteLedger(audited)
    assert [AuditRecord.from_dict(json.loads(line)) for line in lines] == ledger.decisions()
    ledger.close()
    refused = json.loads(lines[1])
    assert refused["codes"] == ["frequency_cap"]
    assert refused["messages"][0].startswith("1 of 1 contacts this calendar day")
    assert refused["local_at"] == "2026-06-01T12:00:00+00:00"


def test_policy_audit_picks_a_customer_and_a_time_span(audited, relcore_cli):
    def keys(*options):
        done = relcore_cli("policy", "audit", audited, *options, "-o", "-")
        assert done.status == 0, done.err
        return [(r["customer_id"], r["action"]) for r in map(json.loads, done.out.splitlines())]

    assert keys("--customer", "a") == [("a", "request"), ("a", "request"), ("a", "check")]
    assert keys("--since", "2026-06-02") == [("a", "check")]
    assert keys("--until", "2026-06-01") == [
        ("a", "request"),
        ("a", "request"),
        ("b", "reserve"),
        ("b", "confirm"),
    ]
    assert keys("--since", "2026-06-01T10:00:00+00:00", "--until", "2026-06-01T11:01Z") == [
        ("a", "request"),
        ("b", "reserve"),
    ]
    assert keys("--customer", "nobody") == []


def test_policy_audit_writes_csv_with_one_column_per_field(audited, tmp_path, relcore_cli):
    from relcore.contact_policy.audit import COLUMNS

    out = tmp_path / "audit.csv"
    assert relcore_cli("policy", "audit", audited, "-o", out).status == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert tuple(rows[0]) == COLUMNS
    assert [r["codes"] for r in rows] == ["", "frequency_cap", "", "", ""]
    assert [r["action"] for r in rows] == ["request", "request", "reserve", "confirm", "check"]
    assert [r["allowed"] for r in rows] == ["true", "false", "true", "true", "true"]
    assert rows[0]["key"] == "m-1"
    assert rows[2]["held_until"] == "2026-06-01T11:05:00+00:00"
    assert rows[1]["next_allowed_at"] == "2026-06-02T00:00:00+00:00"


def test_policy_audit_writes_parquet_with_typed_columns(audited, tmp_path, relcore_cli):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "audit.parquet"
    assert relcore_cli("policy", "audit", audited, "--customer", "a", "-o", out).status == 0
    table = pq.read_table(out)
    assert table.num_rows == 3
    assert str(table.schema.field("decided_at").type) == "timestamp[us, tz=UTC]"
    assert table.column("codes").to_pylist() == [[], ["frequency_cap"], []]
    assert table.column("allowed").to_pylist() == [True, False, True]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (("nowhere.db", "-o", "-"), "nowhere.db: no such ledger file"),
        (("{ledger}", "-o", "audit.xlsx"), "--output: audit.xlsx: name a .csv, .parquet"),
        (("{ledger}", "--since", "2026-06-02", "--until", "2026-06-01", "-o", "-"),
         "--until: must be after --since"),
        (("{ledger}", "--since", "2026-06-01T10:00", "-o", "-"),
         "--since: '2026-06-01T10:00' has no UTC offset"),
        (("postgresql://me:secret@db.internal/crm", "-o", "-"),
         "db.internal/crm: this relcore has no PostgreSQL ledger"),
    ],
)  # fmt: skip
def test_policy_audit_reports_a_bad_argument_in_one_line(
    audited, tmp_path, monkeypatch, relcore_cli, options, words
):
    import relcore.contact_policy

    monkeypatch.chdir(tmp_path)
    monkeypatch.delattr(relcore.contact_policy, "PostgresLedger", raising=False)
    done = relcore_cli("policy", "audit", *(o.format(ledger=audited) for o in options))
    assert done.status == 2
    assert len(done.errors) == 1
    assert done.errors[0].startswith("relcore policy audit: error: ")
    assert words in done.errors[0]
    assert "secret" not in done.err
