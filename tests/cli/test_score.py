"""`relcore score`: a summary CSV in, P(alive), expected purchases and CLV out."""

import csv
import subprocess
import sys

import numpy as np
import pytest

from relcore.datasets import load_cdnow_summary
from relcore.scoring import GammaGamma, ParetoNBD, customer_lifetime_value


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "relcore", *args], capture_output=True, text=True, check=False
    )


def write_summary(path, summary, with_value=True):
    cols = ["customer_id", "frequency", "recency", "T"] + (["monetary_value"] * with_value)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for row in zip(*(getattr(summary, c).tolist() for c in cols), strict=True):
            w.writerow(row)
    return path


def read(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_scores_equal_the_library_fit_on_the_same_summary(tmp_path):
    summary = load_cdnow_summary()  # weekly
    src = write_summary(tmp_path / "summary.csv", summary)
    out = tmp_path / "scores.csv"
    done = run("score", str(src), "--model", "paretonbd", "--period", "W", "--horizon", "52",
               "-o", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ParetoNBD fitted to 2,357 customers" in done.stdout
    rows = read(out)
    model = ParetoNBD.fit(summary)
    f, r, T = summary.frequency, summary.recency, summary.T
    np.testing.assert_allclose([float(x["p_alive"]) for x in rows], model.p_alive(f, r, T),
                               rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(
        [float(x["expected_purchases"]) for x in rows],
        model.expected_purchases(52, f, r, T),
        rtol=1e-6,
    )
    repeat = (f > 0) & (summary.monetary_value > 0)
    spend = GammaGamma.fit(frequency=f[repeat], monetary_value=summary.monetary_value[repeat])
    clv = customer_lifetime_value(model, spend, summary, months=12, monthly_discount_rate=0.01)
    np.testing.assert_allclose([float(x["clv"]) for x in rows], clv, rtol=1e-6)
    assert [x["customer_id"] for x in rows] == [str(c) for c in summary.customer_id]


def test_without_monetary_value_there_is_no_clv(tmp_path):
    src = write_summary(tmp_path / "s.csv", load_cdnow_summary(), with_value=False)
    done = run("score", str(src), "--period", "W", "-o", "-")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "customer_id,p_alive,expected_purchases"
    assert "lifetime value not computed" in done.stderr


@pytest.mark.parametrize(
    ("body", "column", "rows"),
    [
        ("a,1,2,3\nb,x,0,3\nc,0,0,3\n", "frequency", "row 1 (line 3"),
        ("a,1,5,3\nb,0,0,3\n", "recency", "row 0 (line 2"),
        ("a,1,2,3\nb,-1,0,3\n", "frequency", "row 1 (line 3"),
    ],
)
def test_bad_rows_are_named(tmp_path, body, column, rows):
    src = tmp_path / "bad.csv"
    src.write_text("customer_id,frequency,recency,T\n" + body)
    done = run("score", str(src), "-o", str(tmp_path / "o.csv"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"column '{column}'" in done.stderr
    assert rows in done.stderr
