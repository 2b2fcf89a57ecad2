"""The policy files shown to users are valid. (The example script itself runs, once, with
its story checked, in tests/test_examples.py.)"""

from __future__ import annotations

import re
from pathlib import Path

from relcore.contact_policy import FrequencyCap, Policy, Reserve

ROOT = Path(__file__).resolve().parents[2]


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
