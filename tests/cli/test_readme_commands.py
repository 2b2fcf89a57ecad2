"""The command-line block of README.md runs as written, on files shaped as it says."""

from __future__ import annotations

import csv
import re
import shlex
import shutil
from pathlib import Path

import numpy as np

from relcore import summarize
from relcore.datasets import load_cdnow
from relcore.scoring import BGNBD, GammaGamma, customer_lifetime_value

ROOT = Path(__file__).parents[2]
# CDNOW's purchases moved 10,227 days (1,461 weeks) later: 1997-01-01 becomes 2025-01-01
# and 1998-06-30 the README's 2026-06-30, with every purchase in the same weekday's week.
SHIFT = np.timedelta64(10_227, "D")


def readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"From the command line:\n\n```sh\n(.*?)```", text, flags=re.S)
    assert block is not None
    joined = block.group(1).replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if line.strip()]


def test_the_readme_commands_run_and_score_like_the_library(tmp_path, monkeypatch, relcore_cli):
    log = load_cdnow()
    with open(tmp_path / "transactions.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "ordered_at", "amount"])
        ordered = (log.times + SHIFT).astype("datetime64[s]").astype(str)
        w.writerows(
            zip(
                log.customers[log.customer_codes].tolist(),
                [t + "+00:00" for t in ordered.tolist()],
                log.value.tolist(),
                strict=True,
            )
        )
    (tmp_path / "planned_contacts.csv").write_text(
        "customer_id,at,channel,category\n"
        "00001,2026-07-01T15:00:00+00:00,email,promotional\n"
        "00001,2026-07-01T16:00:00+00:00,email,promotional\n"
    )
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "contact_policy.toml", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)

    commands = readme_commands()
    assert [c[:2] for c in commands] == [
        ["relcore", "summarize"], ["relcore", "score"], ["relcore", "policy"],
        ["relcore", "policy"],
    ]  # fmt: skip
    for command in commands:
        done = relcore_cli(*command[1:])
        assert done.status == 0, (command, done.err)

    summary = summarize(log, period="W", observation_end="1998-06-30")
    model = BGNBD.fit(summary)
    f, m = summary.frequency, summary.monetary_value
    spend = GammaGamma.fit(frequency=f[(f > 0) & (m > 0)], monetary_value=m[(f > 0) & (m > 0)])
    expected = customer_lifetime_value(model, spend, summary, months=12)
    with open(tmp_path / "scores.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["customer_id"] for r in rows] == summary.customer_id.tolist()
    np.testing.assert_allclose([float(r["clv"]) for r in rows], expected, rtol=1e-6)
    np.testing.assert_allclose(
        [float(r["expected_purchases"]) for r in rows],
        model.expected_purchases(52, f, summary.recency, summary.T),
        rtol=1e-6,
    )
