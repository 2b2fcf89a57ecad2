"""The demo's relationship section: lifecycle stages, RFM segments, also-bought."""

from __future__ import annotations

import io

import numpy as np

from relcore._demo import CALIBRATION_END, OBSERVATION_END, run_demo
from relcore.datasets import load_cdnow
from relcore.scoring import MBGNBD, summarize


def _table(text: str, heading: str) -> dict[str, int]:
    lines = text.split(heading, 1)[1].splitlines()
    rows = {}
    for line in lines[3:]:
        if not line.strip():
            break
        parts = line.split()
        if parts[0] == "stage" or parts[0] == "segment" or not parts[-3].replace(",", "").isdigit():
            continue
        rows[" ".join(parts[:-3])] = int(parts[-3].replace(",", ""))
    return rows


def test_demo_prints_lifecycle_stages_rfm_segments_and_an_also_bought_example():
    out = io.StringIO()
    run_demo(out)
    text = out.getvalue()
    stages = _table(text, "Lifecycle stage at")
    segments = _table(text, "RFM segments at")
    assert sum(stages.values()) == 23_570
    assert sum(segments.values()) == 23_570
    # Independently: the customers MBG/NBD gives a P(alive) of at least 0.7.
    cal = summarize(load_cdnow(), period="W", observation_end=OBSERVATION_END,
                    calibration_end=CALIBRATION_END)  # fmt: skip
    p_alive = MBGNBD.fit(cal).p_alive(cal.frequency, cal.recency, cal.T)
    assert stages["active"] == int(np.sum(p_alive >= 0.7))
    assert stages["lapsed"] == int(np.sum(p_alive < 0.3))
    assert "SYNTHETIC" in text
    assert "customers who bought 'jazz: Kind of Blue' also bought:" in text
