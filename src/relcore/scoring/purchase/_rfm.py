"""The continuous-time purchase models fitted on frequency, recency and T (BG/NBD,
MBG/NBD, Pareto/NBD): their shared ``fit`` and helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np
from scipy import special

from ._base import FittedModel
from ._inputs import prediction_rfm, validate_rfm
from ._types import FloatArray

if TYPE_CHECKING:
    from typing import Self


def nbd_log_pmf(n: FloatArray, t: FloatArray, r: float, alpha: float) -> FloatArray:
    """``log P(N(t) = n)`` of a gamma(r, α)-mixed Poisson count over ``(0, t]``: the
    negative binomial distribution of purchases of a customer who never drops out."""
    out: FloatArray = (
        special.gammaln(r + n)
        - special.gammaln(r)
        - special.gammaln(n + 1.0)
        + r * np.log(alpha / (alpha + t))
        + special.xlogy(n, t / (alpha + t))
    )
    return out


def simulate_rfm(
    lam: FloatArray, K: FloatArray, T: FloatArray, rng: np.random.Generator
) -> dict[str, FloatArray]:
    """Frequency and recency when purchases are Poisson(lam) and stop after ``K`` of them.

    Given ``n`` purchases in ``(0, T]`` their times are uniform order statistics, so the
    ``x``-th of them is ``T * Beta(x, n - x + 1)``.
    """
    n = rng.poisson(lam * T).astype(np.float64)
    x = np.minimum(n, K)
    rec = np.zeros_like(T)
    pos = x > 0
    rec[pos] = T[pos] * rng.beta(x[pos], n[pos] - x[pos] + 1.0)
    return {"frequency": x, "recency": rec, "T": T}


def summary_from(columns: dict[str, FloatArray]) -> Any:
    from ..summary import RFMSummary

    n = columns["frequency"].size
    return RFMSummary(
        customer_id=np.arange(n),
        frequency=columns["frequency"],
        recency=columns["recency"],
        T=columns["T"],
        monetary_value=np.zeros(n),
    )


@attrs.frozen(repr=False)
class RFMModel(FittedModel):
    """A continuous-time purchase model fitted on frequency, recency and T (BG/NBD,
    MBG/NBD, Pareto/NBD): the ``fit`` and input checks they share."""

    _columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "T")
    _time_columns: ClassVar[tuple[str, ...]] = ("recency", "T")

    @classmethod
    def fit(
        cls,
        data: Any = None,
        *,
        frequency: Any = None,
        recency: Any = None,
        T: Any = None,
        weights: Any = None,
        penalizer: float = 0.0,
    ) -> Self:
        """Maximum-likelihood fit.

        Parameters
        ----------
        data
            An :class:`~relcore.scoring.RFMSummary`, or a mapping / pandas DataFrame with
            columns ``frequency``, ``recency``, ``T`` (and optionally ``weights``).
        frequency, recency, T
            Arrays, instead of ``data``.
        weights
            How many customers share each row (default 1 each).
        penalizer
            L2 penalty on the parameters (time parameters in time rescaled so that the
            longest ``T`` is 1), as lifetimes' ``penalizer_coef``; 0 for plain maximum
            likelihood.

        Returns
        -------
        Self
            The fitted model; ``fit_info`` holds log-likelihood and covariance.

        Raises
        ------
        DataError
            Invalid data (negative or fractional frequency, recency outside ``[0, T]``…).
        ConvergenceError
            The optimiser failed; the message says how.

        Examples
        --------
        The CDNOW sample's columns as arrays (Fader, Hardie & Lee 2005 publish r = 0.243,
        α = 4.414, a = 0.793, b = 2.426):

        >>> from relcore.datasets import load_cdnow_summary
        >>> from relcore.scoring import BGNBD
        >>> s = load_cdnow_summary()
        >>> m = BGNBD.fit(frequency=s.frequency, recency=s.recency, T=s.T)
        >>> {k: round(v, 2) for k, v in m.params.items()}
        {'r': 0.24, 'alpha': 4.41, 'a': 0.79, 'b': 2.43}
        """
        arrays = {"frequency": frequency, "recency": recency, "T": T}
        return cls._fit(data, arrays, weights=weights, penalizer=penalizer)

    @classmethod
    def _validate(cls, columns: dict[str, Any]) -> dict[str, FloatArray]:
        x, tx, t = validate_rfm(columns["frequency"], columns["recency"], columns["T"])
        return {"frequency": x, "recency": tx, "T": t}

    @staticmethod
    def _history(frequency: Any, recency: Any, T: Any) -> list[FloatArray]:
        """Validated prediction inputs, broadcast to one shape."""
        return prediction_rfm(frequency, recency, T)

    @classmethod
    def _time_jacobian(cls, data: dict[str, FloatArray], weights: FloatArray) -> float:
        # each purchase's density carries one power of the time unit
        return float(weights @ data["frequency"])
