"""What a fitted model reports: parameters, standard errors, intervals, the summary table."""

import math

import numpy as np
import pytest
from scipy import stats

from relcore.datasets import load_cdnow_summary
from relcore.scoring import BGNBD, FitSummary, ShiftedBetaGeometric

# Fader & Hardie (2007), "regular" segment, years 0-7
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]


@pytest.fixture(scope="module")
def sbg():
    return ShiftedBetaGeometric.fit(REGULAR)


@pytest.fixture(scope="module")
def bgnbd():
    return BGNBD.fit(load_cdnow_summary())


def test_confidence_intervals_are_wald_intervals_on_the_log_scale(sbg):
    z = stats.norm.ppf(0.975)
    for name, (lo, hi) in sbg.confidence_intervals(0.95).items():
        value, se = sbg.params[name], sbg.standard_errors[name]
        assert lo == pytest.approx(value * math.exp(-z * se / value), rel=1e-12)
        assert hi == pytest.approx(value * math.exp(z * se / value), rel=1e-12)


def test_confidence_intervals_cover_the_estimate_and_widen_with_level(sbg):
    narrow, wide = sbg.confidence_intervals(0.5), sbg.confidence_intervals(0.99)
    for name, value in sbg.params.items():
        assert wide[name][0] < narrow[name][0] < value < narrow[name][1] < wide[name][1]


def test_summary_table_holds_estimates_standard_errors_and_intervals_at_the_level(sbg):
    table = sbg.summary(0.9)
    assert isinstance(table, FitSummary)
    assert table.parameter == ("alpha", "beta")
    assert table.level == 0.9
    np.testing.assert_array_equal(table.estimate, [sbg.alpha, sbg.beta])
    np.testing.assert_array_equal(table.se, list(sbg.standard_errors.values()))
    ci = sbg.confidence_intervals(0.9)
    np.testing.assert_array_equal(table.lower, [ci["alpha"][0], ci["beta"][0]])
    np.testing.assert_array_equal(table.upper, [ci["alpha"][1], ci["beta"][1]])
    with pytest.raises(ValueError, match="read-only"):
        table.estimate[0] = 1.0


def test_summary_prints_as_a_text_table_under_a_title(bgnbd):
    s = load_cdnow_summary()
    distinct = len(set(zip(s.frequency, s.recency, s.T, strict=True)))
    text = str(bgnbd.summary())
    lines = text.splitlines()
    ll = bgnbd.log_likelihood  # -9582.4 (test_published checks the value)
    assert lines[0] == (
        f"BGNBD fitted to 2,357 customers ({distinct:,} distinct rows), log-likelihood {ll:,.2f}"
    )
    assert lines[1].split() == ["parameter", "estimate", "se", "lower", "95%", "upper", "95%"]
    assert [line.split()[0] for line in lines[2:6]] == ["r", "alpha", "a", "b"]
    assert lines[3].split()[1] == f"{bgnbd.alpha:.6g}"
    assert repr(bgnbd.summary()) == text
    assert "lower 90%" in str(bgnbd.summary(0.9))
    assert "lower 99.5%" in str(bgnbd.summary(0.995))


def test_summary_renders_as_an_html_table_in_a_notebook(bgnbd):
    page = bgnbd.summary()._repr_html_()
    assert page.startswith("<table><caption>BGNBD fitted to 2,357 customers")
    assert page.count("<tr>") == 5  # header and four parameters
    assert "<th>alpha</th>" in page
    assert f"<td>{bgnbd.alpha:.6g}</td>" in page
    assert bgnbd._repr_html_() == page


def test_summary_converts_to_a_dataframe_indexed_by_parameter(bgnbd):
    pytest.importorskip("pandas")
    df = bgnbd.summary().to_pandas()
    assert list(df.index) == ["r", "alpha", "a", "b"]
    assert df.index.name == "parameter"
    assert list(df.columns) == ["estimate", "se", "lower 95%", "upper 95%"]
    assert df.loc["b", "estimate"] == bgnbd.b
    assert df.loc["b", "se"] == bgnbd.standard_errors["b"]
    assert df.loc["b", "upper 95%"] == bgnbd.confidence_intervals()["b"][1]


def test_known_parameters_summarise_without_errors_or_intervals():
    m = BGNBD(r=1, alpha=2, a=3, b=4)
    table = m.summary()
    assert str(table).splitlines()[0] == "BGNBD with known parameters"
    assert np.isnan(table.se).all()
    assert np.isnan(table.lower).all()
    assert str(table).splitlines()[2].split() == ["r", "1"]
    assert m.log_likelihood is None
    assert m.standard_errors is None
    assert m.confidence_intervals() is None
    with pytest.raises(ValueError, match="level"):
        m.summary(1.5)


def test_repr_is_one_line_with_parameters_and_the_fit(bgnbd):
    assert repr(BGNBD(r=1, alpha=2, a=3, b=4)) == "BGNBD(r=1, alpha=2, a=3, b=4)"
    text = repr(bgnbd)
    assert "\n" not in text
    assert text.startswith(f"BGNBD(r={bgnbd.r:.6g}, alpha={bgnbd.alpha:.6g}, ")
    ll = bgnbd.log_likelihood
    assert text.endswith(f"fit_info=<2,357 customers, log-likelihood {ll:,.2f}>)")


def test_a_huge_standard_error_gives_the_bounds_zero_and_infinity_without_warnings(sbg):
    import warnings

    import attrs

    huge = attrs.evolve(sbg.fit_info, covariance=np.diag([1e300, 1e-4]))
    m = attrs.evolve(sbg, fit_info=huge)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = m.summary()
    assert (table.lower[0], table.upper[0]) == (0.0, np.inf)
    assert 0 < table.lower[1] < sbg.beta < table.upper[1] < np.inf
