"""The shifted-beta-geometric model of contractual retention (Fader & Hardie 2007)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np
from scipy import special

from ..._validation import as_float, check_mask
from ...errors import DataError
from . import _jet as jet
from ._base import FittedModel, param_field
from ._inputs import whole_numbers
from ._special import hyp2f1_one
from ._types import FloatArray

if TYPE_CHECKING:
    from typing import Self

__all__ = ["ShiftedBetaGeometric"]


@attrs.frozen(repr=False)
class ShiftedBetaGeometric(FittedModel):
    """Contract renewals: each customer churns at the end of a period with probability
    ``θ ~ Beta(α, β)``, the same every period.

    Fit from the number of customers still active (survivors) at the start of each period
    of a cohort.

    Attributes
    ----------
    alpha, beta
        Parameters of the beta distribution of churn probabilities.
    fit_info
        Log-likelihood, covariance and sizes of the fit (None for known parameters).

    Examples
    --------
    The "regular" customers of Fader & Hardie (2007), fitted on years 0-7:

    >>> m = ShiftedBetaGeometric.fit([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> round(m.alpha, 3), round(m.beta, 3), round(m.log_likelihood, 1)
    (0.704, 1.182, -1680.3)
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    # one row per period of churn (``churned`` 1) and one for the survivors (``churned`` 0)
    _columns: ClassVar[tuple[str, ...]] = ("period", "churned")

    alpha: float = param_field()
    beta: float = param_field()

    @classmethod
    def fit(cls, survivors: Any, *, penalizer: float = 0.0) -> Self:
        """Maximum-likelihood fit from survivors per period.

        Parameters
        ----------
        survivors
            Customers active at the start of periods 0, 1, …, n (a non-increasing
            sequence of whole numbers; the first is the cohort size).
        penalizer
            L2 penalty on the parameters.

        Raises
        ------
        DataError
            Fewer than two periods, negative or fractional counts, or a count that rises.

        Examples
        --------
        >>> m = ShiftedBetaGeometric.fit([1000, 869, 743, 653, 593, 551, 517, 491])
        >>> round(m.alpha, 3), round(m.beta, 3)
        (0.668, 3.806)
        """
        s = as_float(survivors, "survivors", nonnegative=True, integer=True)
        if s.size < 2:
            raise DataError("survivors", "need counts for at least two periods")
        if s[0] == 0:
            raise DataError("survivors", "the cohort is empty (0 customers): nothing to fit")
        rises = np.zeros(s.size, dtype=bool)
        rises[1:] = s[1:] > s[:-1]
        check_mask("survivors", rises, "counts that rise from one period to the next")
        n = s.size - 1
        # rows: churn in period t = 1..n (weight lost_t), still active after n (weight s_n)
        period = np.concatenate([np.arange(1.0, n + 1.0), [float(n)]])
        churned = np.concatenate([np.ones(n), [0.0]])
        lost = np.concatenate([s[:-1] - s[1:], [s[-1]]])
        arrays = {"period": period, "churned": churned}
        return cls._fit(None, arrays, weights=lost, penalizer=penalizer)

    @classmethod
    def _validate(cls, columns: dict[str, Any]) -> dict[str, FloatArray]:
        # built by ``fit`` from validated survivor counts
        return {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}

    @staticmethod
    def _rows(params: list[Any], data: dict[str, FloatArray]) -> Any:
        """log P(T = t) = log B(α+1, β+t-1)/B(α,β) for churners, log S(n) for survivors."""
        alpha, beta = params
        t, churned = data["period"], data["churned"]
        lp_churn = jet.betaln(alpha + 1.0, beta + t - 1.0) - jet.betaln(alpha, beta)
        lp_survive = jet.betaln(alpha, beta + t) - jet.betaln(alpha, beta)
        return jet.where(churned > 0, lp_churn, lp_survive)

    def survival(self, t: Any) -> FloatArray:
        """Share of a cohort still active after ``t`` periods: ``B(α, β+t) / B(α, β)``.

        Examples
        --------
        >>> ShiftedBetaGeometric(alpha=0.704, beta=1.182).survival(0).item()
        1.0
        """
        tt = whole_numbers(t, "t")
        out: FloatArray = np.exp(
            special.betaln(self.alpha, self.beta + tt) - special.betaln(self.alpha, self.beta)
        )
        return out

    def retention_rate(self, t: Any) -> FloatArray:
        """Share of those active in period ``t - 1`` who renew in period ``t`` (``t >= 1``):
        ``(β + t - 1) / (α + β + t - 1)``, rising with ``t`` as the churn-prone leave.

        Examples
        --------
        >>> m = ShiftedBetaGeometric(alpha=1.0, beta=1.0)
        >>> m.retention_rate([1, 2, 3]).tolist()  # 1/2, 2/3, 3/4
        [0.5, 0.6666666666666666, 0.75]
        """
        tt = whole_numbers(t, "t")
        if np.any(tt < 1):
            raise ValueError("retention_rate is defined for periods t >= 1")
        out: FloatArray = (self.beta + tt - 1.0) / (self.alpha + self.beta + tt - 1.0)
        return out

    def discounted_expected_residual_lifetime(self, d: Any, renewals: Any = 0) -> FloatArray:
        """Discounted expected residual lifetime (Fader & Hardie 2010), in periods.

        For a customer who has made ``renewals`` renewals so far (0: just acquired), the
        expected number of further periods they pay for, discounted at rate ``d`` per
        period, the next renewal being due now (undiscounted) as in Fader & Hardie:
        ``(β+n)/(α+β+n) · 2F1(1, β+n+1; α+β+n+1; 1/(1+d))`` with ``n = renewals``. Multiply
        by the margin per period for the residual value.

        Examples
        --------
        With no churn heterogeneity to speak of the sum is a geometric series; here
        for ``θ`` fixed near 1/2 and no discounting, one more period is expected:

        >>> m = ShiftedBetaGeometric(alpha=1e6, beta=1e6)
        >>> round(float(m.discounted_expected_residual_lifetime(0.0)), 4)
        1.0
        """
        dd = np.asarray(d, dtype=np.float64)
        if not np.all(np.isfinite(dd)) or np.any(dd < 0):
            raise ValueError("the discount rate d must be finite and >= 0")
        n = whole_numbers(renewals, "renewals")
        dd, n = np.broadcast_arrays(dd, n)
        a, b = self.alpha, self.beta
        with np.errstate(divide="ignore", invalid="ignore"):
            h = hyp2f1_one(b + n + 1.0, a + b + n + 1.0, 1.0 / (1.0 + dd), dd / (1.0 + dd))
            out: FloatArray = (b + n) / (a + b + n) * h
            # at d = 0 Gauss's theorem gives 2F1(1, b; c; 1) = (c-1)/(c-b-1): (β+n)/(α-1)
            undiscounted = np.where(a > 1.0, (b + n) / (a - 1.0), np.inf)
        return np.asarray(np.where(dd == 0, undiscounted, out), dtype=np.float64)

    def simulate(
        self, n_customers: int, n_periods: int, rng: np.random.Generator | int | None = None
    ) -> FloatArray:
        """Survivors at the start of periods ``0..n_periods`` of a simulated cohort.

        Examples
        --------
        >>> s = ShiftedBetaGeometric(alpha=0.7, beta=1.2).simulate(1000, 5, rng=0)
        >>> int(s[0]), len(s), bool((s[1:] <= s[:-1]).all())
        (1000, 6, True)
        """
        gen = np.random.default_rng(rng)
        theta = np.clip(gen.beta(self.alpha, self.beta, n_customers), 1e-300, 1.0)
        lifetime = gen.geometric(theta)  # the period in which the customer churns
        t = np.arange(n_periods + 1)
        out: FloatArray = (lifetime[None, :] > t[:, None]).sum(axis=1).astype(np.float64)
        return out
