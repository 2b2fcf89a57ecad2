"""`relcore score`: a summary CSV in, P(alive), expected purchases and CLV out, in the
summary's own period."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from relcore.datasets import load_cdnow_summary
from relcore.scoring import BGNBD, GammaGamma, ParetoNBD, customer_lifetime_value


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def write_summary(path, summary, *, with_value=True, period=None):
    cols = ["customer_id", "frequency", "recency", "T"] + (["monetary_value"] * with_value)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols + (["period"] if period else []))
        for row in zip(*(getattr(summary, c).tolist() for c in cols), strict=True):
            w.writerow(list(row) + ([period] if period else []))
    return path


def read(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()  # weekly


def spend_model(summary):
    f, m = summary.frequency, summary.monetary_value
    repeat = (f > 0) & (m > 0)
    return GammaGamma.fit(frequency=f[repeat], monetary_value=m[repeat])


def test_scores_equal_the_library_fit_on_the_same_summary(tmp_path, relcore_cli, cdnow):
    src = write_summary(tmp_path / "summary.csv", cdnow, period="W")
    out = tmp_path / "scores.csv"
    done = relcore_cli("score", src, "--model", "paretonbd", "--horizon", "52", "-o", out)
    assert done.status == 0, done.err
    assert "ParetoNBD fitted to 2,357 customers" in done.out
    assert done.out.splitlines()[-1] == f"2,357 customers scored to {out} (period W)"
    rows = read(out)
    model = ParetoNBD.fit(cdnow)
    f, r, T = cdnow.frequency, cdnow.recency, cdnow.T
    np.testing.assert_allclose([float(x["p_alive"]) for x in rows], model.p_alive(f, r, T),
                               rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(
        [float(x["expected_purchases"]) for x in rows],
        model.expected_purchases(52, f, r, T),
        rtol=1e-6,
    )
    clv = customer_lifetime_value(
        model, spend_model(cdnow), cdnow, months=12, monthly_discount_rate=0.01
    )
    np.testing.assert_allclose([float(x["clv"]) for x in rows], clv, rtol=1e-6)
    assert [x["customer_id"] for x in rows] == [str(c) for c in cdnow.customer_id]


def test_the_period_column_sets_the_unit_of_lifetime_value(tmp_path, relcore_cli, cdnow):
    # Lifetime value sums expected purchases per month, and a month is 365.25 / 12 days
    # divided by the period's length in days: 7 for a weekly summary, 1 for a daily one.
    got = {}
    for period in ("W", "D"):
        src = write_summary(tmp_path / f"{period}.csv", cdnow, period=period)
        done = relcore_cli("score", src, "-o", "-")
        assert done.status == 0, done.err
        got[period] = [float(x["clv"]) for x in csv.DictReader(done.out.splitlines())]
    model, spend = BGNBD.fit(cdnow), spend_model(cdnow)
    for period, days in (("W", 7.0), ("D", 1.0)):
        expected = customer_lifetime_value(model, spend, cdnow, months=12, period_days=days)
        np.testing.assert_allclose(got[period], expected, rtol=1e-6)
    assert sum(got["D"]) > 2 * sum(got["W"])


def test_a_summary_without_a_period_column_needs_period(tmp_path, relcore_cli, cdnow):
    src = write_summary(tmp_path / "s.csv", cdnow)
    done = relcore_cli("score", src, "-o", "-")
    assert done.status == 2
    assert done.errors == [
        f"relcore score: error: --period is needed: {src} has no period column (relcore "
        "summarize writes one); pass the period the summary was made with: D, W or a length "
        "such as 3d"
    ]
    with_period = relcore_cli("score", src, "--period", "W", "-o", "-")
    assert with_period.status == 0, with_period.err


def test_a_period_that_contradicts_the_summary_is_an_error(tmp_path, relcore_cli, cdnow):
    src = write_summary(tmp_path / "s.csv", cdnow, period="W")
    done = relcore_cli("score", src, "--period", "D", "-o", "-")
    assert done.status == 2
    assert done.errors == [
        "relcore score: error: --period: D contradicts the summary's period column (W); drop "
        "--period to use the summary's"
    ]
    # the same length written another way agrees
    assert relcore_cli("score", src, "--period", "7d", "-o", "-").status == 0


def test_without_monetary_value_there_is_no_clv(tmp_path, relcore_cli, cdnow):
    src = write_summary(tmp_path / "s.csv", cdnow, with_value=False, period="W")
    done = relcore_cli("score", src, "-o", "-")
    assert done.status == 0, done.err
    assert done.out.splitlines()[0] == "customer_id,p_alive,expected_purchases"
    assert "lifetime value not computed" in done.err


@pytest.mark.parametrize(
    ("body", "column", "lines"),
    [("a,1,2,3\nb,x,0,3\nc,0,0,3\n", "frequency", ["  line 3 (row 1): 'x'"]),
     ("a,1,2,3\n\nb,1_000,0,3\nc,true,0,3\n", "frequency",
      ["  line 4 (row 1): '1_000'", "  line 5 (row 2): 'true'"]),
     ("a,1,2,inf\nb,0,0,3\n", "T", ["  line 2 (row 0): 'inf'"]),
     ("a,1,5,3\nb,0,0,3\n", "recency", ["  line 2 (row 0): '5'"]),
     ("a,1,2,3\nb,-1,0,3\n", "frequency", ["  line 3 (row 1): '-1'"])],
)  # fmt: skip
def test_bad_rows_are_named_by_column_and_line(tmp_path, relcore_cli, engine, body, column, lines):
    src = write(tmp_path, "bad.csv", "customer_id,frequency,recency,T\n" + body)
    done = relcore_cli("score", src, "--period", "D", "-o", tmp_path / "o.csv")
    assert done.status == 2
    assert done.errors[0].startswith(f"relcore score: error: {src}: column '{column}'")
    assert done.errors[1:] == lines
    assert not (tmp_path / "o.csv").exists()


def test_a_column_named_twice_is_an_error(tmp_path, relcore_cli, engine):
    src = write(tmp_path, "s.csv", "customer_id,frequency,recency,T,T\na,1,1,3,4\n")
    done = relcore_cli("score", src, "--period", "D", "-o", "-")
    assert done.status == 2
    assert done.errors == [
        f"relcore score: error: column 'T': appears 2 times in the header of {src} (columns 4 "
        "and 5); which one is meant?"
    ]


def test_mixed_or_unknown_periods_in_the_column_are_errors(tmp_path, relcore_cli, engine):
    src = write(tmp_path, "s.csv", "customer_id,frequency,recency,T,period\na,1,1,3,W\nb,0,0,3,D\n")
    done = relcore_cli("score", src, "-o", "-")
    assert done.status == 2
    assert done.errors == [
        f"relcore score: error: {src}: column 'period', 1 row: periods other than the first "
        "row's ('W'): one summary has one period",
        "  line 3 (row 1): 'D'",
    ]
    src = write(tmp_path, "s.csv", "customer_id,frequency,recency,T,period\na,1,1,3,week\n")
    done = relcore_cli("score", src, "-o", "-")
    assert done.status == 2
    assert done.errors[0] == (
        f"relcore score: error: {src}: column 'period', 1 row: values that are not D, W or a "
        "duration such as 3d"
    )


def test_a_byte_order_mark_and_null_marker_ids_are_read_as_written(
    tmp_path, relcore_cli, engine, cdnow
):
    ids = ["NA", "NULL", "null", "N/A"] + [str(c) for c in cdnow.customer_id[4:]]
    lines = [
        f"{i},{f:g},{r:g},{T:g},W"
        for i, f, r, T in zip(ids, cdnow.frequency, cdnow.recency, cdnow.T, strict=True)
    ]
    src = write(
        tmp_path, "s.csv", "\ufeffcustomer_id,frequency,recency,T,period\n" + "\n".join(lines)
    )
    done = relcore_cli("score", src, "-o", "-")
    assert done.status == 0, done.err
    assert [r["customer_id"] for r in csv.DictReader(done.out.splitlines())] == ids


@pytest.mark.parametrize(
    ("text", "message"),
    [("customer_id,frequency,recency,T\n",
      "has a header but no rows: there is no customer to score"),
     ("", "is empty: it has no header row")],
)  # fmt: skip
def test_header_only_and_empty_summaries_are_one_line(tmp_path, relcore_cli, text, message):
    src = write(tmp_path, "s.csv", text)
    done = relcore_cli("score", src, "--period", "W", "-o", "-")
    assert done.status == 2
    assert done.errors == [f"relcore score: error: {src}: {message}"]


def test_latin1_summary_is_refused_by_line(tmp_path, relcore_cli, engine):
    src = write(tmp_path, "s.csv", "customer_id,frequency,recency,T\nJosé,1,1,3\n", "latin-1")
    done = relcore_cli("score", src, "--period", "D", "-o", "-")
    assert done.status == 2
    assert done.errors[1:] == ["  line 2 (row 0): 'Jos\\xe9'"]


@pytest.mark.parametrize(
    ("options", "message"),
    [(["--period", "W", "--horizon", "nan"],
      "error: argument --horizon: must be a positive number, got 'nan' (see relcore score "
      "--help)"),
     (["--period", "W", "--months", "0"],
      "error: argument --months: must be a whole number >= 1, got '0' (see relcore score "
      "--help)"),
     (["--period", "W", "--discount", "-0.1"],
      "error: argument --discount: must be a number >= 0, got '-0.1' (see relcore score "
      "--help)")],
)  # fmt: skip
def test_bad_options_are_one_line(tmp_path, relcore_cli, cdnow, options, message):
    src = write_summary(tmp_path / "s.csv", cdnow)
    done = relcore_cli("score", src, *options, "-o", "-")
    assert done.status == 2
    assert done.errors == [f"relcore score: {message}"]


def test_a_period_too_long_to_count_is_one_line(tmp_path, relcore_cli, cdnow):
    src = write_summary(tmp_path / "s.csv", cdnow)
    done = relcore_cli("score", src, "--period", "99999999999w", "-o", "-")
    assert done.status == 2
    assert len(done.errors) == 1
    assert done.errors[0].startswith("relcore score: error: --period: ")
    assert "'99999999999w'" in done.errors[0]


def test_every_model_offered_is_a_purchase_model_of_relcore_scoring(relcore_cli):
    import relcore.scoring
    from relcore.cli import _MODELS

    for name in _MODELS:
        model = getattr(relcore.scoring, name)
        assert {"frequency", "recency", "T"} <= set(model.fit.__code__.co_varnames)
    done = relcore_cli("score", "--help")
    assert done.status == 0
    assert "{bgnbd,mbgnbd,paretonbd,ggompertznbd}" in done.out
