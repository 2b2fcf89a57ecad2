"""Progress bars: on stderr, advancing with the bytes read or the rows done, and only
when stderr is a terminal and --quiet is not given."""

from __future__ import annotations

import io
import sys
from typing import ClassVar

import numpy as np
import pytest

import relcore.cli
import relcore.io.csv
from relcore.cli import main
from relcore.datasets import load_cdnow_summary
from relcore.scoring import BGNBD, GammaGamma, customer_lifetime_value

tqdm = pytest.importorskip("tqdm")


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Recorder:
    """Stands in for tqdm: remembers each bar, where it was put and how it moved."""

    bars: ClassVar[list[Recorder]] = []

    def __init__(self, *, total, desc, unit, file, **_):
        self.total, self.desc, self.unit, self.file = total, desc, unit, file
        self.n = 0
        self.positions: list[int] = []
        self.closed = False
        Recorder.bars.append(self)

    def update(self, k):
        self.n += k
        self.positions.append(self.n)

    def close(self):
        self.closed = True


@pytest.fixture
def recorder(monkeypatch):
    Recorder.bars = []
    monkeypatch.setattr(tqdm, "tqdm", Recorder)
    return Recorder.bars


def on_terminal(monkeypatch):
    """stderr as a terminal (inside the test: pytest sets its own stderr after fixtures)."""
    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    return stream


def transactions(tmp_path, customers=400):
    lines = ["customer_id,at,amount"]
    for c in range(customers):
        for day in range(1 + c % 5):
            lines.append(f"customer-{c:05d},2026-01-{1 + day * 3:02d}T10:00:00+00:00,{c % 7}.5")
    path = tmp_path / "tx.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def summarize(path, out, *options):
    return main(["summarize", str(path), "--value", "amount", "--observation-end",
                 "2026-01-31", "-o", str(out), *options])  # fmt: skip


def test_summarize_reading_moves_with_the_bytes_read_to_the_files_size(
    tmp_path, monkeypatch, recorder, engine
):
    src = transactions(tmp_path)
    monkeypatch.setattr(relcore.io.csv, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(relcore.io.csv, "_PYTHON_BATCH_ROWS", 100)
    terminal = on_terminal(monkeypatch)
    assert summarize(src, tmp_path / "s.csv") == 0
    reading = next(b for b in recorder if b.desc.startswith("reading"))
    size = src.stat().st_size
    assert (reading.total, reading.unit, reading.file) == (size, "B", terminal)
    assert len(reading.positions) > 5  # a block at a time, not all at the end
    assert reading.positions == sorted(reading.positions)
    assert reading.positions[-1] == size
    assert all(b.closed for b in recorder)


def test_summarize_writing_moves_with_the_rows_written(tmp_path, monkeypatch, recorder):
    src = transactions(tmp_path)
    monkeypatch.setattr(relcore.cli, "_WRITE_ROWS", 64)
    on_terminal(monkeypatch)
    for name in ("s.csv", "s.json"):
        recorder.clear()
        assert summarize(src, tmp_path / name) == 0
        writing = next(b for b in recorder if b.desc.startswith("writing"))
        assert writing.total == 400
        assert writing.positions == [*range(64, 400, 64), 400]


def test_parquet_input_moves_with_the_rows_read(tmp_path, monkeypatch, recorder):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    import relcore.io.parquet

    monkeypatch.setattr(relcore.io.parquet, "BATCH_ROWS", 100)
    on_terminal(monkeypatch)
    table = pa.csv.read_csv(transactions(tmp_path))
    pq.write_table(table, tmp_path / "tx.parquet")
    assert summarize(tmp_path / "tx.parquet", tmp_path / "s.csv") == 0
    reading = next(b for b in recorder if b.desc.startswith("reading"))
    assert (reading.total, reading.unit) == (table.num_rows, "rows")
    assert reading.positions == [*range(100, table.num_rows, 100), table.num_rows]


def test_score_moves_with_the_customers_scored_and_scores_as_the_library(
    tmp_path, monkeypatch, recorder
):
    cdnow = load_cdnow_summary()  # weekly, 2,357 customers
    src = tmp_path / "summary.csv"
    cols = ["customer_id", "frequency", "recency", "T", "monetary_value"]
    rows = zip(*(getattr(cdnow, c).tolist() for c in cols), strict=True)
    src.write_text(",".join([*cols, "period"]) + "\n"
                   + "".join(",".join(map(str, r)) + ",W\n" for r in rows))  # fmt: skip
    monkeypatch.setattr(relcore.cli, "_SCORE_ROWS", 500)
    on_terminal(monkeypatch)
    assert main(["score", str(src), "-o", str(tmp_path / "scores.csv")]) == 0
    scoring = next(b for b in recorder if b.desc == "scoring")
    assert (scoring.total, scoring.unit) == (2357, "customers")
    assert scoring.positions == [500, 1000, 1500, 2000, 2357]
    # scored 500 customers at a time, the numbers are the library's for the whole summary
    model = BGNBD.fit(cdnow)
    f, m = cdnow.frequency, cdnow.monetary_value
    spend = GammaGamma.fit(frequency=f[(f > 0) & (m > 0)], monetary_value=m[(f > 0) & (m > 0)])
    got = np.loadtxt(tmp_path / "scores.csv", delimiter=",", skiprows=1, usecols=(1, 2, 3))
    np.testing.assert_allclose(got[:, 0], model.p_alive(f, cdnow.recency, cdnow.T), rtol=1e-9)
    clv = customer_lifetime_value(model, spend, cdnow, months=12)
    np.testing.assert_allclose(got[:, 2], clv, rtol=1e-9)


POLICY = """
timezone = "UTC"

[[rules]]
type = "frequency_cap"
count = 1
per = "calendar_day"
"""


def test_policy_simulate_moves_with_the_contacts_decided(tmp_path, monkeypatch, recorder):
    on_terminal(monkeypatch)
    policy = tmp_path / "p.toml"
    policy.write_text(POLICY)
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "customer_id,at,channel\n"
        + "".join(f"c{i % 700},2026-06-01T{i % 24:02d}:00:00Z,email\n" for i in range(2500))
    )
    assert main(["policy", "simulate", str(policy), str(plan)]) == 0
    (bar,) = recorder
    assert (bar.desc, bar.total, bar.unit) == ("simulating", 2500, "contacts")
    assert bar.positions == [1024, 2048, 2500]


def test_no_bar_when_stderr_is_not_a_terminal_or_with_quiet(tmp_path, monkeypatch, recorder):
    src = transactions(tmp_path)
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a pipe, a log file
    assert summarize(src, tmp_path / "s.csv") == 0
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert summarize(src, tmp_path / "s.csv", "--quiet") == 0
    assert summarize(src, tmp_path / "s.csv", "-q") == 0
    assert recorder == []
    assert sys.stderr.getvalue() == ""


def test_a_real_bar_draws_on_stderr_and_stdout_stays_clean(tmp_path, monkeypatch, capsys):
    src = transactions(tmp_path)
    monkeypatch.setattr(relcore.cli, "_PROGRESS_DELAY", 0)
    monkeypatch.setattr(relcore.io.csv, "BLOCK_BYTES", 4096)
    stream = on_terminal(monkeypatch)
    assert summarize(src, "-") == 0
    drawn = stream.getvalue()
    assert f"reading {src}" in drawn
    assert "%|" in drawn  # tqdm's bar
    assert capsys.readouterr().out.startswith("customer_id,frequency")


def test_without_tqdm_the_command_runs_without_a_bar(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    terminal = on_terminal(monkeypatch)
    assert summarize(transactions(tmp_path), tmp_path / "s.csv") == 0
    assert terminal.getvalue() == ""
