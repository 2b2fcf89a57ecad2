"""``relcore policy check`` and ``relcore policy simulate``."""

from __future__ import annotations

import subprocess
import sys

from relcore.cli import main

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


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_policy_check_prints_the_rules_in_plain_words(tmp_path, capsys):
    assert main(["policy", "check", write(tmp_path, "p.toml", POLICY)]) == 0
    out = capsys.readouterr().out
    assert "valid, 1 rule" in out
    assert "1. at most 1 contact per calendar day (customer's local time)" in out
    assert "exempt: transactional" in out


def test_policy_check_reports_a_bad_file_in_one_line_with_status_2(tmp_path, capsys):
    bad = write(tmp_path, "p.toml", POLICY.replace('"calendar_day"', '"-1d"'))
    assert main(["policy", "check", bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "relcore policy: error: rules[0].per: must be a positive duration such as '7d', "
        "'20h' or '1d12h', got '-1d'"
    ]


def test_policy_simulate_counts_outcomes_by_reason(tmp_path, capsys):
    policy = write(tmp_path, "p.toml", POLICY)
    plan = write(tmp_path, "plan.csv", PLAN)
    history = write(tmp_path, "h.csv", "customer_id,at,channel\nb,2026-06-01T08:00:00+00:00,sms\n")
    assert main(["policy", "simulate", policy, plan, "--history", history]) == 0
    out = capsys.readouterr().out
    lines = [line.split() for line in out.splitlines()]
    assert ["4", "planned", "contacts"] in lines
    assert "2 customers" in out
    # sent: a's first email and the (exempt) receipt; deferred: a's second email, and b's
    # sms, capped by the one in the history
    assert ["sent", "2", "50.0%"] in lines
    assert ["deferred", "2", "50.0%"] in lines
    assert ["suppressed", "0", "0.0%"] in lines
    assert ["frequency_cap", "2"] in lines


def test_policy_simulate_names_bad_rows_of_the_plan(tmp_path, capsys):
    policy = write(tmp_path, "p.toml", POLICY)
    plan = write(
        tmp_path, "plan.csv", PLAN.replace("2026-06-01T10:00:00+00:00", "2026-06-01 10:00")
    )
    assert main(["policy", "simulate", policy, plan]) == 2
    err = capsys.readouterr().err
    assert "column 'at', 1 row (1): naive datetimes" in err
    assert "row 1 (line 3 of" in err


def test_policy_simulate_refuses_an_unknown_column(tmp_path, capsys):
    policy = write(tmp_path, "p.toml", POLICY)
    plan = write(tmp_path, "plan.csv", PLAN.replace("category", "categroy"))
    assert main(["policy", "simulate", policy, plan]) == 2
    assert "column 'categroy': is not a known column" in capsys.readouterr().err


def test_the_policy_command_runs_as_a_module(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "relcore", "policy", "check", write(tmp_path, "p.toml", POLICY)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "valid, 1 rule" in done.stdout
