"""The example script runs, and the policy files shown to users are valid."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from relcore.contact_policy import FrequencyCap, Policy, Reserve

ROOT = Path(__file__).resolve().parents[2]


def test_example_03_contact_policy_runs_and_tells_the_story(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RELCORE_EXAMPLE_OUTPUT": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "03_contact_policy.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # three promotional emails in a week go out, the fourth is refused with its reasons
    assert out.count("promotional email: sent") == 3
    assert "3 of 3 promotional emails in the last 7 days" in out
    assert "receipt the same day: sent" in out
    assert "opted_out: the customer opted out of sms" in out
    assert "chosen for c9: ['back-in-stock']" in out
    assert "sms to c8, whose opt-out is stored: opted_out: the customer opted out of sms" in out
    assert "msg-1 asked twice by a retrying worker: True, True; one slot" in out
    assert "released = True" in out
    assert "msg-3 reserved, sent and confirmed in the freed slot" in out
    assert (tmp_path / "contacts.db").exists()
    assert "planned contacts" in (tmp_path / "simulation.txt").read_text()


def test_the_policy_files_in_the_docs_and_examples_are_valid():
    text = (ROOT / "docs" / "contact-policy.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    assert blocks
    for block in blocks:
        assert Policy.from_toml_text(block).rules
    example = ROOT / "examples" / "contact_policy.toml"
    rule_tables = example.read_text().count("[[rules]]")
    assert len(Policy.from_toml(example).rules) == rule_tables


def test_check_points_out_a_reserve_that_takes_a_whole_cap():
    policy = Policy(
        [FrequencyCap(1, per="calendar_day"), FrequencyCap(3, per="7d")],
        reserve=Reserve(slots=1, min_priority=10),
    )
    lines = policy.describe().splitlines()
    assert any(line.startswith("1.") and "nothing below priority 10" in line for line in lines)
    assert not any(line.startswith("2.") and "nothing below" in line for line in lines)
