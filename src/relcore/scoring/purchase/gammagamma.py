"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005; note 025)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, overload

import attrs
import numpy as np
from scipy import special

from ..._validation import as_float, check_mask
from ...errors import ConvergenceError, FitWarning
from . import _jet as jet
from ._base import FittedModel, _Problem, param_field
from ._inputs import broadcast_columns, gather_columns, validate_weights
from ._optimize import dot, jet_objective
from ._special import unique_counts
from ._types import FloatArray, Objective

if TYPE_CHECKING:
    from typing import Self

    from ._covariates import CovariateSpendModel

__all__ = ["GammaGamma"]


def _spend_columns(frequency: Any, monetary_value: Any) -> tuple[FloatArray, FloatArray]:
    shape, cols = broadcast_columns(frequency=frequency, monetary_value=monetary_value)
    x = as_float(cols["frequency"], "frequency", nonnegative=True, integer=True)
    m = as_float(cols["monetary_value"], "monetary_value")
    return x.reshape(shape), m.reshape(shape)


def frequency_monetary_correlation(frequency: Any, monetary_value: Any) -> float:
    """Pearson correlation of frequency and mean spend among repeat customers.

    The Gamma-Gamma model assumes that spend per transaction is independent of how often
    a customer buys; a correlation far from 0 says the assumption does not hold.
    """
    x, m = _spend_columns(frequency, monetary_value)
    rep = x > 0
    if rep.sum() < 3:
        raise ValueError("the correlation needs at least 3 customers with frequency > 0")
    return _pearson(x[rep], m[rep])


def _pearson(x: FloatArray, y: FloatArray, weights: FloatArray | None = None) -> float:
    """Pearson's correlation coefficient, rows counted ``weights`` times (NaN when a column
    is constant), computed here rather than with ``scipy.stats``, whose import costs half
    a second."""
    w = np.ones(x.size) if weights is None else weights
    dx, dy = x - (w @ x) / w.sum(), y - (w @ y) / w.sum()
    denom = float(np.sqrt((w @ (dx * dx)) * (w @ (dy * dy))))
    return float(w @ (dx * dy)) / denom if denom > 0 else float("nan")


@attrs.frozen(repr=False)
class GammaGamma(FittedModel):
    """Spend per transaction: ``z ~ Gamma(p, ν)`` around a customer's mean, ``ν ~ Gamma(q, γ)``.

    Fit on customers with at least one repeat purchase: ``frequency`` (number of repeat
    transactions) and ``monetary_value`` (their mean value, > 0).

    Attributes
    ----------
    p
        Shape of the gamma distribution of transaction values around the customer mean.
    q, v
        Shape and scale of the gamma distribution of ``ν`` across customers (``v`` is the
        γ of Fader & Hardie, in money units).
    frequency_monetary_correlation
        At a fit: Pearson correlation of frequency and monetary value among the fitted
        customers, to check the model's independence assumption (None otherwise).
    fit_info
        Log-likelihood, covariance and sizes of the fit (None for known parameters).

    Examples
    --------
    Fader, Hardie & Lee's estimates on the CDNOW sample, and the expected spend of its
    ninth customer (27.28 in note 025):

    >>> from relcore.datasets import load_cdnow_summary
    >>> s = load_cdnow_summary()
    >>> rep = s.frequency > 0
    >>> gg = GammaGamma.fit(frequency=s.frequency[rep], monetary_value=s.monetary_value[rep])
    >>> {k: round(v, 2) for k, v in gg.params.items()}
    {'p': 6.25, 'q': 3.74, 'v': 15.44}
    >>> round(float(gg.expected_average_value(s.frequency[8], s.monetary_value[8])), 2)
    27.28
    """

    _param_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")
    # static covariates scale v (relcore's choice; CLVTools' spending model has none)
    _covariate_scales: ClassVar[dict[str, tuple[str, float]]] = {"v": ("spend", 1.0)}
    _columns: ClassVar[tuple[str, ...]] = ("frequency", "monetary_value")
    _per_customer: ClassVar[Mapping[str, tuple[int, tuple[str, ...]]]] = {
        "expected_average_value": (0, _columns)
    }
    _chunked_objective: ClassVar[bool] = True
    _empty: ClassVar[str] = (
        "no customers with repeat purchases and a positive spend: the spend model has "
        "nothing to fit"
    )

    p: float = param_field()
    q: float = param_field()
    v: float = param_field()
    frequency_monetary_correlation: float | None = attrs.field(default=None, kw_only=True, eq=False)

    @overload
    @classmethod
    def fit(
        cls,
        data: Any = None,
        *,
        frequency: Any = None,
        monetary_value: Any = None,
        weights: Any = None,
        penalizer: float = 0.0,
        covariates: None = None,
        covariate_names: None = None,
        spend: None = None,
        penalty: float = 0.0,
        l1_ratio: float = 0.0,
        q_constraint: bool = False,
    ) -> Self: ...

    @overload
    @classmethod
    def fit(
        cls,
        data: Any = None,
        *,
        frequency: Any = None,
        monetary_value: Any = None,
        weights: Any = None,
        penalizer: float = 0.0,
        covariates: object,
        covariate_names: Sequence[str] | None = None,
        spend: Sequence[str] | None = None,
        penalty: float = 0.0,
        l1_ratio: float = 0.0,
        q_constraint: bool = False,
    ) -> CovariateSpendModel: ...

    @classmethod
    def fit(
        cls,
        data: Any = None,
        *,
        frequency: Any = None,
        monetary_value: Any = None,
        weights: Any = None,
        penalizer: float = 0.0,
        covariates: Any = None,
        covariate_names: Sequence[str] | None = None,
        spend: Sequence[str] | None = None,
        penalty: float = 0.0,
        l1_ratio: float = 0.0,
        q_constraint: bool = False,
    ) -> Self | CovariateSpendModel:
        """Maximum-likelihood fit on customers with ``frequency > 0``.

        Parameters
        ----------
        data
            An [`RFMSummary`][relcore.scoring.summary.RFMSummary] or a mapping / DataFrame with
            columns ``frequency`` and ``monetary_value``; select the repeat customers first.
        frequency, monetary_value
            Arrays, instead of ``data``.
        weights
            How many customers share each row.
        penalizer
            L2 penalty on the parameters, as lifetimes' ``penalizer_coef``.
        covariates
            Static customer covariates: a DataFrame or mapping of numeric columns, or a 2-D array
            (named by ``covariate_names``), one row per customer of the data (or matched by a
            ``customer_id`` column to an RFMSummary's customers). They scale ``v`` (``v_i = v
            exp(θ'z_i)``, so spend scales by ``exp(θ'z_i)``) and the fit returns a
            [`CovariateSpendModel`][relcore.scoring.purchase.CovariateSpendModel].
        covariate_names
            Names of the columns of an array of covariates (default ``x0, x1, ...``).
        spend
            The covariates to use (default: all).
        penalty
            Elastic-net penalty on the covariate coefficients (never on the base
            parameters): ``penalty * ((1 - l1_ratio) * sum(coef**2) + l1_ratio *
            sum(|coef|))`` is added to the mean negative log-likelihood per customer.
        l1_ratio
            The lasso share of ``penalty``: 0 (ridge, the default) to 1 (lasso, which
            sets weak coefficients exactly to 0).
        q_constraint
            Constrain ``q >= 1`` (lifetimes' ``q_constraint``): below 1 the population's mean spend
            ``p v / (q - 1)`` does not exist and lifetimes' formulas turn negative. A maximum with
            ``q >= 1`` is the constrained maximum too; when the maximum has ``q < 1`` the fit
            returns the maximum over ``p`` and ``v`` at ``q = 1`` with a
            [`FitWarning`][relcore.errors.FitWarning] (``q``'s standard error is then 0: it sits on
            the constraint). Repeat customers' expected spend is finite there; the population mean,
            what a customer without repeat purchases is expected to spend, is infinite. Not
            available with ``covariates``.

        Raises
        ------
        DataError
            Rows with frequency 0 or a value that is not positive.

        Examples
        --------
        The repeat buyers of the CDNOW sample; a customer without repeat purchases is
        expected to spend the population mean, 35.17 in Fader & Hardie's note 025:

        >>> from relcore.datasets import load_cdnow_summary
        >>> s = load_cdnow_summary()
        >>> rep = s.frequency > 0
        >>> gg = GammaGamma.fit(frequency=s.frequency[rep], monetary_value=s.monetary_value[rep])
        >>> round(float(gg.expected_average_value(0, 0.0)), 2)
        35.17
        """
        arrays = {"frequency": frequency, "monetary_value": monetary_value}
        if covariates is not None:
            from ._covariates import fit_with_covariates

            if q_constraint:
                raise TypeError("q_constraint is not available with covariates")
            with_covariates: CovariateSpendModel = fit_with_covariates(
                cls,
                data,
                arrays,
                weights=weights,
                penalizer=penalizer,
                covariates=covariates,
                covariate_names=covariate_names,
                selections={"spend": spend},
                penalty=penalty,
                l1_ratio=l1_ratio,
            )
            return with_covariates
        if spend is not None or covariate_names is not None:
            raise TypeError("spend and covariate_names need covariates")
        fitted = cls._fit(data, arrays, weights=weights, penalizer=penalizer)
        if q_constraint and fitted.q < 1.0:
            return cls._fit_q_at_one(data, arrays, weights, penalizer, fitted)
        return fitted

    @classmethod
    def _fit_q_at_one(
        cls, data: Any, arrays: dict[str, Any], weights: Any, penalizer: float, free: Self
    ) -> Self:
        """The maximum on the constraint ``q = 1``, where it lies when the unconstrained
        maximum has ``q < 1`` (the likelihood rises towards that maximum)."""
        columns, raw_weights = gather_columns(cls._columns, data, arrays, weights)
        rows = cls._validate(columns)
        w = validate_weights(raw_weights, rows["frequency"].size)
        problem = _Problem.build(cls, rows, w, penalizer)

        def q_at_one(params: list[Any], data: dict[str, FloatArray]) -> Any:
            return cls._rows([params[0], 1.0, params[1]], data)

        info = free.fit_info
        if info is None:  # pragma: no cover - ``free`` is a fit
            raise RuntimeError("expected a fitted model")
        free_start = np.log(np.array([free.p, free.v]))
        result = problem.maximise(
            lambda c, wt: jet_objective(q_at_one, c, wt), ("p", "v"), free_start, False
        )
        if not result.success:
            raise ConvergenceError(f"the optimiser did not converge at q = 1: {result.message}")
        p, v = problem.natural(result.x, ("p", "v")).tolist()
        cov = np.zeros((3, 3))
        cov[np.ix_([0, 2], [0, 2])] = problem.covariance(result, np.array([p, v]))
        ll = problem.log_likelihood(cls, result, np.array([p, v]))
        warnings.warn(
            f"q_constraint binds: the maximum has q = {free.q:.4g} < 1 (log-likelihood "
            f"{info.log_likelihood:,.2f}); the fit returns the maximum at q = 1 "
            f"(log-likelihood {ll:,.2f}), where repeat customers' expected spend is finite "
            "but the population's mean spend is not",
            FitWarning,
            stacklevel=3,
        )
        return cls(
            p=p,
            q=1.0,
            v=v,
            frequency_monetary_correlation=free.frequency_monetary_correlation,
            fit_info=attrs.evolve(
                info,
                log_likelihood=ll,
                covariance=cov,
                iterations=result.iterations,
                limit="q at its constraint",
                boundary=("q",),
            ),
        )

    @classmethod
    def _validate(cls, columns: dict[str, Any]) -> dict[str, FloatArray]:
        x, m = _spend_columns(columns["frequency"], columns["monetary_value"])
        check_mask(
            "frequency", x == 0, "frequency 0 (fit the spend model on repeat customers only)"
        )
        check_mask("monetary_value", m <= 0, "values that are not positive")
        return {"frequency": x, "monetary_value": m}

    @classmethod
    def _fit_attributes(cls, columns: dict[str, FloatArray], weights: FloatArray) -> dict[str, Any]:
        x, m = columns["frequency"], columns["monetary_value"]
        # weights count identical customers, so they count in the correlation too
        corr = _pearson(x, m, weights) if x.size > 2 and np.ptp(x) > 0 else None
        return {"frequency_monetary_correlation": corr}

    @classmethod
    def _start(cls, columns: dict[str, FloatArray], weights: FloatArray) -> FloatArray:
        mean = float(weights @ columns["monetary_value"] / weights.sum())
        start: FloatArray = np.log(np.array([1.0, 2.0, mean]))
        return start

    @classmethod
    def _objective_factory(
        cls, columns: dict[str, FloatArray], weights: FloatArray
    ) -> Callable[[FloatArray, int], Objective]:
        return _GammaGammaObjective(columns, weights)

    @staticmethod
    def _rows(params: list[Any], data: dict[str, FloatArray]) -> Any:
        """Log-density of the mean spend ``m`` of ``x`` transactions (note 025, eq. 3)."""
        p, q, v = params
        x, m = data["frequency"], data["monetary_value"]
        px = p * x
        return (
            jet.gammaln(px + q)
            - jet.gammaln(px)
            - jet.gammaln(q)
            + q * jet.log(v)
            + (px - 1.0) * np.log(m)
            + px * np.log(x)
            - (px + q) * jet.log(v + m * x)
        )

    def expected_average_value(self, frequency: Any, monetary_value: Any) -> FloatArray:
        """Expected mean spend per transaction given the history (note 025, eq. 5).

        A weighted average of the population mean ``p v / (q - 1)`` and the customer's own
        mean, with weight ``p x / (p x + q - 1)`` on the latter: customers with frequency
        0 get the population mean. Infinite where the expectation does not exist
        (``p x + q <= 1``). Mean values must not be negative; zero is allowed.

        Examples
        --------
        >>> gg = GammaGamma(p=6.25, q=3.74, v=15.44)
        >>> round(float(gg.expected_average_value(0, 0.0)), 2)  # the population mean
        35.22
        """
        x, m = _spend_columns(frequency, monetary_value)
        # A repeat buyer whose purchases were free has a mean of 0: unusual, but a history
        # the formula handles (the fit, which takes logarithms, needs positive values).
        check_mask("monetary_value", m < 0, "negative values")
        p, q, v = self.p, self.q, self.v
        denom = p * x + q - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(denom > 0, p * (v + x * np.where(x > 0, m, 0.0)) / denom, np.inf)
        return np.asarray(out, dtype=np.float64)

    @staticmethod
    def _covariate_average_value(
        params: dict[str, FloatArray], frequency: Any, monetary_value: Any
    ) -> FloatArray:
        """[`expected_average_value`][relcore.scoring.purchase.GammaGamma.expected_average_value]
        with ``p, q, v`` one per customer."""
        x, m = _spend_columns(frequency, monetary_value)
        check_mask("monetary_value", m < 0, "negative values")
        p, q, v = params["p"], params["q"], params["v"]
        denom = p * x + q - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(denom > 0, p * (v + x * np.where(x > 0, m, 0.0)) / denom, np.inf)
        return np.asarray(out, dtype=np.float64)

    def simulate(self, frequency: Any, rng: np.random.Generator | int | None = None) -> FloatArray:
        """Mean spend of ``frequency`` transactions for customers drawn from the model.

        Each customer draws ``ν ~ Gamma(q, rate v)``; each transaction is
        ``Gamma(p, rate ν)``; the mean of ``x`` of them is ``Gamma(p x, rate x ν)``.

        Examples
        --------
        >>> m = GammaGamma(p=6.25, q=3.74, v=15.44).simulate([1, 2, 3], rng=0)
        >>> m.shape, bool((m > 0).all())
        ((3,), True)
        """
        gen = np.random.default_rng(rng)
        x = as_float(frequency, "frequency", positive=True, integer=True)
        nu = gen.gamma(self.q, 1.0 / self.v, x.size)
        out: FloatArray = gen.gamma(self.p * x, 1.0 / (x * nu))
        return out


# Rows per block of the objective: the temporaries of a block stay in cache.
_BLOCK_ROWS = 65_536


class _GammaGammaObjective:
    """Total log-likelihood of ``_rows``, gradient and Hessian in log-parameters, written
    by hand: the gamma functions once per distinct frequency, per row one logarithm and
    one reciprocal (a test checks it against the jet version).

    Value and gradient are summed over rows after combining each row's terms, as the
    likelihood is written: sums of the separate terms are each a million times larger
    than their difference, and lose the digits the last Newton steps need.
    """

    def __init__(self, columns: dict[str, FloatArray], weights: FloatArray) -> None:
        x, m = columns["frequency"], columns["monetary_value"]
        self.ux, self.inv = unique_counts(x)
        self.Wx = np.bincount(self.inv, weights=weights, minlength=self.ux.size)
        self.W = float(weights.sum())
        self.x, self.m, self.w, self.wx = x, m, weights, weights * x
        self.log_m = np.log(m)
        self.log_mx = self.log_m + np.log(x)  # log m + log x

    def __call__(self, theta: FloatArray, order: int) -> Objective:
        p, q, v = np.exp(theta)
        ux, Wx, W = self.ux, self.Wx, self.W
        px = p * ux
        log_v = np.log(v)
        derivatives = order >= 2
        head = special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
        if derivatives:
            dig = special.digamma(px + q)
            dp_x = dig - special.digamma(px)  # per distinct x
            dq_x = dig - special.digamma(q)
        # ll, the gradient in (p, q, v), and sums of w/(v+mx), wx/(v+mx) and their squares
        sums = np.zeros(8)
        # rows in blocks whose temporaries stay in cache
        for lo in range(0, self.x.size, _BLOCK_ROWS):
            rows = slice(lo, lo + _BLOCK_ROWS)
            w, wx, x, inv = self.w[rows], self.wx[rows], self.x[rows], self.inv[rows]
            vmx = v + self.m[rows] * x
            L = np.log(vmx)
            # (p x + q) log(v + m x) = p x (log m + log x - L) - q (L - log v) + ...
            log_mx = self.log_mx[rows]
            sums[0] += dot(w, head[inv] + p * x * (log_mx - L) + q * (log_v - L) - self.log_m[rows])
            if not derivatives:
                continue
            iv = 1.0 / vmx
            iv2 = iv * iv
            sums[1] += dot(wx, dp_x[inv] + log_mx - L)
            sums[2] += dot(w, dq_x[inv] + log_v - L)
            sums[3] += dot(w, q / v - (p * x + q) * iv)
            sums[4:] += (dot(w, iv), dot(wx, iv), dot(w, iv2), dot(wx, iv2))
        ll = float(sums[0])
        if not derivatives:
            return ll, None, None
        g_p, g_q, g_v, Si, Sxi, Si2, Sxi2 = sums[1:].tolist()
        tri = special.polygamma(1, px + q)
        h_pp = dot(Wx * ux * ux, tri - special.polygamma(1, px))
        h_pq = dot(Wx * ux, tri)
        h_qq = dot(Wx, tri) - W * special.polygamma(1, q)
        h_pv = -Sxi
        h_qv = W / v - Si
        h_vv = -W * q / v**2 + p * Sxi2 + q * Si2
        nat = np.array([p, q, v])
        g = nat * np.array([g_p, g_q, g_v])
        H = np.array([[h_pp, h_pq, h_pv], [h_pq, h_qq, h_qv], [h_pv, h_qv, h_vv]])
        return ll, g, H * np.outer(nat, nat) + np.diag(g)
