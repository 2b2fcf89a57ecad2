"""``relcore policy check`` and ``relcore policy simulate``."""

from __future__ import annotations

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
