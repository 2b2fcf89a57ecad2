"""The customer-view-and-holdout example runs end to end and saves its plots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "04_customer_view_and_holdout.py"


def test_example_builds_a_view_and_measures_a_holdout_test(tmp_path):
    pytest.importorskip("matplotlib")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tmp_path)],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    out = done.stdout
    assert "preferred channel" in out
    assert "loyal repeat buyers" in out
    assert "95% CI" in out
    # The simulation answers each email with probability 0.25·exp(-c/1.5) at c emails a
    # week, so weekly replies peak at c = 1.5.
    line = next(ln for ln in out.splitlines() if ln.startswith("email: weekly replies"))
    assert 1.2 < float(line.split("near ")[1].split()[0]) < 1.8
    for name in ("engagement.png", "fatigue.png", "lift.png", "saturation.png"):
        assert (tmp_path / name).stat().st_size > 1000
