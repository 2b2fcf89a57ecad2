"""The command-line block of README.md runs as written, on the files it names (shipped in
examples/data/), and gives the library's numbers."""

from __future__ import annotations

import csv
import re
import shlex
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np

from relcore import EventLog, summarize
from relcore.contact_policy import Contact, Policy, simulate
from relcore.datasets import load_cdnow
from relcore.scoring import BGNBD, GammaGamma, customer_lifetime_value

ROOT = Path(__file__).parents[2]
DATA = ROOT / "examples" / "data"
# CDNOW's purchases moved 10,227 days (1,461 weeks) later: 1997-01-01 becomes 2025-01-01
# and 1998-06-30 the README's 2026-06-30, with every purchase in the same weekday's week.
SHIFT = np.timedelta64(10_227, "D")


def readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"From the command line.*?```sh\n(.*?)```", text, flags=re.S)
    assert block is not None
    joined = block.group(1).replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if line.strip()]


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_shipped_transactions_are_every_tenth_cdnow_customer_moved_to_2025():
    # what examples/data/README.md says the file is
    log = load_cdnow()
    ids = log.customers[log.customer_codes]
    tenth = np.array([int(c) % 10 == 0 for c in ids.tolist()])
    shipped = rows(DATA / "transactions.csv")
    assert [r["customer_id"] for r in shipped] == ids[tenth].tolist()
    assert len({r["customer_id"] for r in shipped}) == 2_357
    moved = (log.times[tenth] + SHIFT).astype("datetime64[s]").astype(str)
    assert [r["ordered_at"] for r in shipped] == [t + "+00:00" for t in moved.tolist()]
    assert [float(r["amount"]) for r in shipped] == log.value[tenth].tolist()


def test_the_readme_commands_run_as_written_and_give_the_librarys_numbers(
    tmp_path, monkeypatch, relcore_cli
):
    # In a copy of the repository's examples/, so the outputs land in a scratch folder.
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    commands = readme_commands()
    assert [c[:2] for c in commands] == [
        ["relcore", "summarize"], ["relcore", "score"], ["relcore", "policy"],
        ["relcore", "policy"],
    ]  # fmt: skip
    for command in commands:
        done = relcore_cli(*command[1:])
        assert done.status == 0, (command, done.err)

    # the library on the same file
    log = EventLog.read_csv(DATA / "transactions.csv", at="ordered_at", value="amount")
    summary = summarize(log, period="W", observation_end="2026-06-30")
    model = BGNBD.fit(summary)
    f, r, T, m = summary.frequency, summary.recency, summary.T, summary.monetary_value
    spend = GammaGamma.fit(frequency=f[(f > 0) & (m > 0)], monetary_value=m[(f > 0) & (m > 0)])
    scores = rows(tmp_path / "scores.csv")
    assert [s["customer_id"] for s in scores] == summary.customer_id.tolist()
    np.testing.assert_allclose(
        [float(s["clv"]) for s in scores],
        customer_lifetime_value(model, spend, summary, months=12),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        [float(s["expected_purchases"]) for s in scores],
        model.expected_purchases(52, f, r, T),
        rtol=1e-6,
    )

    plan = [
        Contact(p["customer_id"], channel=p["channel"], at=datetime.fromisoformat(p["at"]),
                category=p["category"] or None, campaign=p["campaign"] or None,
                priority=int(p["priority"]))
        for p in rows(DATA / "planned_contacts.csv")
    ]  # fmt: skip
    result = simulate(Policy.from_toml(ROOT / "examples" / "contact_policy.toml"), plan)
    outcomes = rows(tmp_path / "outcomes.csv")
    assert [o["outcome"] for o in outcomes] == list(result.outcomes)
    # the plan shows the policy at work: some contacts go, some wait, some never do
    assert set(result.outcomes) == {"sent", "deferred", "suppressed"}
