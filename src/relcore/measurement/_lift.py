"""Lift of a treated group over a holdout: differences and ratios with confidence intervals,
and the minimum detectable effect / sample size for planning one.

scipy.stats is imported inside [`lift`][relcore.measurement.lift] only: it takes most of a second to
import, and the planning functions need nothing but the normal quantiles of the standard library.
"""

from __future__ import annotations

import inspect
import math
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from .._result import Table, TableResult
from .._validation import as_float, check_mask
from ..errors import DataError
from .plots import plot_lift

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["LiftResult", "SampleSize", "lift", "minimum_detectable_effect", "sample_size"]

Kind = Literal["mean", "proportion"]
Method = Literal["analytic", "bootstrap"]
FloatArray = npt.NDArray[np.float64]


@attrs.frozen
class LiftResult(TableResult):
    """The effect of a treatment measured against a holdout (control) group.

    Attributes
    ----------
    kind : {"mean", "proportion"}
        What was compared: mean outcomes, or shares of customers with a 0/1 outcome.
    method : {"analytic", "bootstrap"}
        How the intervals were computed (see [`lift`][relcore.measurement.lift]).
    confidence : float
        Confidence level of the intervals.
    n_treated, n_control : int
        Group sizes.
    treated_mean, control_mean : float
        Mean outcome (or proportion) in each group.
    difference : float
        ``treated_mean - control_mean``: the absolute lift.
    difference_ci : tuple of float
        Confidence interval of the difference.
    ratio : float
        ``treated_mean / control_mean`` (``inf`` or NaN when the control mean is 0).
    ratio_ci : tuple of float
        Confidence interval of the ratio; ``(nan, nan)`` where the analytic interval is
        not defined (a mean that is not positive; a group without a single success, for
        proportions).
    p_value : float
        Two-sided p-value of "no difference": Welch's t-test for means, the pooled
        two-proportion z-test for proportions (whatever ``method`` computed the intervals).
    """

    kind: Kind
    method: Method
    confidence: float
    n_treated: int
    n_control: int
    treated_mean: float
    control_mean: float
    difference: float
    difference_ci: tuple[float, float]
    ratio: float
    ratio_ci: tuple[float, float]
    p_value: float

    @property
    def relative_lift(self) -> float:
        """``ratio - 1``: the lift as a share of the control mean (0.12 is +12 %)."""
        return self.ratio - 1.0

    @property
    def significant(self) -> bool:
        """Whether the difference's interval excludes zero."""
        low, high = self.difference_ci
        return bool(low > 0 or high < 0)

    def __repr__(self) -> str:
        lo, hi = self.difference_ci
        return (
            f"LiftResult({self.kind} lift {self.difference:.4g} [{lo:.4g}, {hi:.4g}] at "
            f"{self.confidence:g}, ratio {self.ratio:.4g}, p = {self.p_value:.3g}, "
            f"n = {self.n_treated:,} vs {self.n_control:,})"
        )

    def _table(self) -> Table:
        """One row: every field, the intervals as ``*_low`` and ``*_high`` columns."""
        values: dict[str, Any] = {
            "kind": self.kind,
            "method": self.method,
            "confidence": self.confidence,
            "n_treated": self.n_treated,
            "n_control": self.n_control,
            "treated_mean": self.treated_mean,
            "control_mean": self.control_mean,
            "difference": self.difference,
            "difference_low": self.difference_ci[0],
            "difference_high": self.difference_ci[1],
            "ratio": self.ratio,
            "ratio_low": self.ratio_ci[0],
            "ratio_high": self.ratio_ci[1],
            "relative_lift": self.relative_lift,
            "p_value": self.p_value,
            "significant": self.significant,
        }
        return Table({}, {k: np.array([v]) for k, v in values.items()})

    def plot(
        self, *, ax: Axes | None = None, scale: Literal["difference", "ratio"] = "difference"
    ) -> Axes:
        """The estimate with its interval (``plot`` extra); see
        [`plot_lift`][relcore.measurement.plot_lift]."""
        return plot_lift(self, ax=ax, scale=scale)

    def __str__(self) -> str:
        pct = round(self.confidence * 100)
        lo, hi = self.difference_ci
        rlo, rhi = self.ratio_ci
        intervals = (
            "BCa bootstrap"
            if self.method == "bootstrap"
            else ("Welch" if self.kind == "mean" else "Wald / Katz log")
        )
        return (
            f"{self.kind} lift ({intervals} intervals), treated n={self.n_treated:,} vs control "
            f"n={self.n_control:,}\n"
            f"  treated {self.treated_mean:.6g}, control {self.control_mean:.6g}\n"
            f"  difference {self.difference:.6g}  {pct}% CI [{lo:.6g}, {hi:.6g}]\n"
            f"  ratio      {self.ratio:.6g}  {pct}% CI [{rlo:.6g}, {rhi:.6g}]\n"
            f"  p-value    {self.p_value:.4g}"
        )


def _sample(values: Any, name: str, kind: Kind) -> FloatArray:
    arr = np.asarray(values)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float64)
    out = as_float(arr, name)
    if out.size < 2:
        raise DataError(name, f"needs at least 2 observations, got {out.size}")
    if kind == "proportion":
        check_mask(name, (out != 0.0) & (out != 1.0), "values other than 0 and 1 (a proportion)")
    return out


_STANDARD_NORMAL = NormalDist()


def _z(p: float) -> float:
    """The standard normal quantile (exact to double precision: Wichura's AS 241)."""
    return _STANDARD_NORMAL.inv_cdf(p)


def _bootstrap_kwargs(bootstrap: Any, random_state: Any) -> dict[str, Any]:
    # scipy 1.15 renamed random_state to rng; use whichever this scipy knows.
    if "rng" in inspect.signature(bootstrap).parameters:
        return {"rng": random_state}
    return {"random_state": random_state}


def lift(
    treated: Any,
    control: Any,
    *,
    confidence: float = 0.95,
    kind: Literal["auto", "mean", "proportion"] = "auto",
    method: Method = "analytic",
    n_resamples: int = 9999,
    random_state: int | np.random.Generator | None = None,
) -> LiftResult:
    """Difference and ratio of the treated and control means, with confidence intervals.

    ``treated`` and ``control`` hold one outcome per customer (revenue, purchases, or 0/1
    for "bought"). Intervals:

    * ``method="analytic"``, means: the difference's interval is Welch's (unequal variances,
      Welch–Satterthwaite degrees of freedom; ``scipy.stats.ttest_ind(equal_var=False)``).
      The ratio's is the delta-method interval on the log scale,
      ``ratio · exp(±z · sqrt(s_t²/(n_t m_t²) + s_c²/(n_c m_c²)))``, defined when both
      means are positive.
    * ``method="analytic"``, proportions: the difference's interval is the unpooled Wald
      interval ``d ± z · sqrt(p_t(1−p_t)/n_t + p_c(1−p_c)/n_c)``, the ratio's is the
      Katz log interval of the relative risk (``scipy.stats.contingency.relative_risk``).
      Both are large-sample intervals, right for holdout tests with hundreds of customers
      per group, not for a handful.
    * ``method="bootstrap"``: BCa intervals from ``scipy.stats.bootstrap`` resampling each
      group independently, for both the difference and the ratio of means. Prefer it for
      small or very skewed samples (revenue with a few large spenders).

    Parameters
    ----------
    treated, control
        Outcomes per customer; booleans are read as 0/1.
    confidence
        Confidence level of the intervals.
    kind
        ``"auto"`` treats two boolean arrays as proportions and anything else as means.
        ``"proportion"`` requires values 0 and 1.
    method
        ``"analytic"`` (Welch for means; Wald and Katz for proportions) or
        ``"bootstrap"`` (BCa).
    n_resamples, random_state
        Bootstrap resamples and seed (a fixed seed gives reproducible intervals).

    Returns
    -------
    LiftResult

    Examples
    --------
    Welch's interval for two small samples, as ``scipy.stats.ttest_ind`` gives it:

    >>> r = lift([3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0])
    >>> r.difference, r.ratio
    (2.0, 1.8)
    >>> from scipy import stats
    >>> ci = stats.ttest_ind([3.0, 4, 5, 6], [1.0, 2, 3, 4], equal_var=False).confidence_interval()
    >>> bool(np.allclose(r.difference_ci, (ci.low, ci.high)))
    True
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if kind not in ("auto", "mean", "proportion"):
        raise ValueError(f"kind must be 'auto', 'mean' or 'proportion', got {kind!r}")
    if method not in ("analytic", "bootstrap"):
        raise ValueError(f"method must be 'analytic' or 'bootstrap', got {method!r}")
    from scipy import stats

    resolved: Kind
    if kind == "auto":
        both_bool = np.asarray(treated).dtype == np.bool_ and np.asarray(control).dtype == np.bool_
        resolved = "proportion" if both_bool else "mean"
    else:
        resolved = kind
    t = _sample(treated, "treated", resolved)
    c = _sample(control, "control", resolved)
    n_t, n_c = t.size, c.size
    m_t, m_c = float(t.mean()), float(c.mean())
    diff = m_t - m_c
    ratio = _ratio(m_t, m_c)
    z = _z(0.5 + confidence / 2.0)

    var_t, var_c = float(t.var(ddof=1)), float(c.var(ddof=1))
    # Two constant groups: the difference is known exactly (no spread, no uncertainty);
    # scipy's t-test would divide by zero.
    constant = var_t == 0 and var_c == 0
    if resolved == "proportion":
        p_value = _two_proportion_p(m_t, m_c, n_t, n_c)
    elif constant:
        p_value = 1.0 if diff == 0 else 0.0
    else:
        test = stats.ttest_ind(t, c, equal_var=False)
        p_value = float(test.pvalue)

    if method == "bootstrap":
        diff_ci, ratio_ci = _bootstrap_intervals(t, c, confidence, n_resamples, random_state)
    elif resolved == "mean":
        diff_ci = (diff, diff)
        if not constant:
            ci = test.confidence_interval(confidence)
            diff_ci = (float(ci.low), float(ci.high))
        ratio_ci = (math.nan, math.nan)
        if m_t > 0 and m_c > 0:
            se = math.sqrt(var_t / (n_t * m_t**2) + var_c / (n_c * m_c**2))
            ratio_ci = (ratio * math.exp(-z * se), ratio * math.exp(z * se))
    else:
        se = math.sqrt(m_t * (1 - m_t) / n_t + m_c * (1 - m_c) / n_c)
        diff_ci = (diff - z * se, diff + z * se)
        ratio_ci = (math.nan, math.nan)
        x_t, x_c = round(m_t * n_t), round(m_c * n_c)
        if x_t > 0 and x_c > 0:  # the Katz interval needs cases in both groups
            rr = stats.contingency.relative_risk(x_t, n_t, x_c, n_c).confidence_interval(confidence)
            ratio_ci = (float(rr.low), float(rr.high))

    return LiftResult(
        kind=resolved,
        method=method,
        confidence=confidence,
        n_treated=n_t,
        n_control=n_c,
        treated_mean=m_t,
        control_mean=m_c,
        difference=diff,
        difference_ci=diff_ci,
        ratio=ratio,
        ratio_ci=ratio_ci,
        p_value=p_value,
    )


def _ratio(m_t: float, m_c: float) -> float:
    if m_c != 0:
        return m_t / m_c
    return math.nan if m_t == 0 else math.copysign(math.inf, m_t)


def _two_proportion_p(p_t: float, p_c: float, n_t: int, n_c: int) -> float:
    pooled = (p_t * n_t + p_c * n_c) / (n_t + n_c)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    if se0 == 0:
        return 1.0
    # erfc keeps the tail's precision where 1 - cdf would round to 0
    return math.erfc(abs(p_t - p_c) / se0 / math.sqrt(2.0))


def _bootstrap_intervals(
    t: FloatArray, c: FloatArray, confidence: float, n_resamples: int, random_state: Any
) -> tuple[tuple[float, float], tuple[float, float]]:
    if n_resamples < 100:
        raise ValueError(f"n_resamples must be at least 100, got {n_resamples}")
    from scipy import stats

    rng = np.random.default_rng(random_state)

    def difference(x: FloatArray, y: FloatArray, axis: int = -1) -> FloatArray:
        out: FloatArray = np.mean(x, axis=axis) - np.mean(y, axis=axis)
        return out

    def ratio(x: FloatArray, y: FloatArray, axis: int = -1) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            out: FloatArray = np.mean(x, axis=axis) / np.mean(y, axis=axis)
        return out

    intervals = []
    for statistic in (difference, ratio):
        res = stats.bootstrap(
            (t, c),
            statistic,
            n_resamples=n_resamples,
            vectorized=True,
            confidence_level=confidence,
            method="BCa",
            **_bootstrap_kwargs(stats.bootstrap, rng),
        )
        intervals.append((float(res.confidence_interval.low), float(res.confidence_interval.high)))
    return intervals[0], intervals[1]


# ---------------------------------------------------------------------------- planning


def _outcome_sd(sd: float | None, baseline_rate: float | None) -> float:
    if (sd is None) == (baseline_rate is None):
        raise ValueError("give exactly one of sd (outcome standard deviation) or baseline_rate")
    if baseline_rate is not None:
        if not 0.0 < baseline_rate < 1.0:
            raise ValueError(f"baseline_rate must be between 0 and 1, got {baseline_rate}")
        return math.sqrt(baseline_rate * (1.0 - baseline_rate))
    assert sd is not None
    if not (math.isfinite(sd) and sd > 0):
        raise ValueError(f"sd must be a positive number, got {sd}")
    return float(sd)


def _z_total(alpha: float, power: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be between 0 and 1, got {power}")
    return _z(1.0 - alpha / 2.0) + _z(power)


def minimum_detectable_effect(
    n_treated: int,
    n_control: int,
    *,
    sd: float | None = None,
    baseline_rate: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """The smallest true difference a two-sided test would detect with the given power.

    ``MDE = (z_{1−α/2} + z_{power}) · σ · sqrt(1/n_treated + 1/n_control)``, the normal
    approximation, with ``σ`` the outcome's standard deviation (``sd``) or, for a
    proportion, ``sqrt(p(1−p))`` at the ``baseline_rate`` (the variance of both groups is
    taken to be the baseline's, which is accurate for effects small next to ``p``).

    Examples
    --------
    With 63 customers per group and σ = 1, a difference of half a standard deviation is
    just detectable at α = 0.05 and 80 % power (the textbook 16/δ² rule):

    >>> round(minimum_detectable_effect(63, 63, sd=1.0), 3)
    0.499
    """
    if n_treated < 1 or n_control < 1:
        raise ValueError("group sizes must be positive")
    sigma = _outcome_sd(sd, baseline_rate)
    return _z_total(alpha, power) * sigma * math.sqrt(1.0 / n_treated + 1.0 / n_control)


@attrs.frozen
class SampleSize:
    """Customers needed for a holdout test.

    Attributes
    ----------
    treated, control : int
        Customers needed in each group.
    total : int
        ``treated + control``.
    """

    treated: int
    control: int

    @property
    def total(self) -> int:
        return self.treated + self.control


def sample_size(
    effect: float,
    *,
    sd: float | None = None,
    baseline_rate: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    holdout_fraction: float = 0.5,
) -> SampleSize:
    """How many customers a test needs to detect an absolute difference ``effect``.

    The inverse of [`minimum_detectable_effect`][relcore.measurement.minimum_detectable_effect]: the
    total ``N`` solves ``effect = (z_{1−α/2} + z_{power}) σ sqrt(1/((1−f)N) + 1/(fN))`` with ``f``
    the holdout fraction, and each group is rounded up, so the returned sizes detect at least
    ``effect``. A small holdout is cheap in lost treatment but needs a larger base: the total grows
    like ``1/(f(1−f))``.

    Examples
    --------
    Half a standard deviation, α = 0.05, 80 % power, equal groups: 63 per group, the
    normal-approximation value of ``2 (z_.975 + z_.8)² / 0.5² = 62.8``:

    >>> sample_size(0.5, sd=1.0)
    SampleSize(treated=63, control=63)
    """
    if not (math.isfinite(effect) and effect > 0):
        raise ValueError(f"effect must be a positive difference, got {effect}")
    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be between 0 and 1, got {holdout_fraction}")
    sigma = _outcome_sd(sd, baseline_rate)
    k = (_z_total(alpha, power) * sigma / effect) ** 2
    total = k * (1.0 / (1.0 - holdout_fraction) + 1.0 / holdout_fraction)
    return SampleSize(
        treated=math.ceil(total * (1.0 - holdout_fraction) - 1e-9),
        control=math.ceil(total * holdout_fraction - 1e-9),
    )
