"""The continuous-time purchase models fitted on frequency, recency and T (BG/NBD,
MBG/NBD, Pareto/NBD): their shared ``fit`` and helpers, and their common limit without
dropout, the NBD model (purchases at rate ``λ ~ Gamma(r, α)`` for ever)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, overload

import attrs
import numpy as np
from scipy import special

from ..._time import US_PER_DAY, timedelta_micros
from ...errors import ConvergenceError, DataError
from . import _conditional
from . import _jet as jet
from ._base import FittedModel, Limit
from ._inputs import (
    broadcast_float,
    distinct_rows,
    prediction_rfm,
    time_horizon,
    validate_rfm,
    whole_numbers,
)
from ._optimize import dot
from ._predictions import CustomerPredictions, customer_columns, is_customer_table
from ._special import unique_counts
from ._types import FloatArray, Objective

if TYPE_CHECKING:
    from typing import Self

    from ._covariates import CovariatePurchaseModel


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


def nbd_rows(params: list[Any], data: dict[str, FloatArray]) -> Any:
    """NBD log-likelihood of each row: ``Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))``, the BG/NBD,
    MBG/NBD and Pareto/NBD likelihoods (Fader, Hardie & Lee 2005) without dropout (its
    recency does not matter: nobody leaves)."""
    r, alpha = params
    x, T = data["frequency"], data["T"]
    return jet.gammaln(r + x) - jet.gammaln(r) + r * jet.log(alpha) - (r + x) * jet.log(alpha + T)


class NBDObjective:
    """Total `nbd_rows` log-likelihood with its gradient and Hessian in
    log-parameters, written by hand (terms in ``x`` alone once per distinct frequency;
    a test checks it against the jet version)."""

    def __init__(self, columns: dict[str, FloatArray], weights: FloatArray) -> None:
        x = columns["frequency"]
        self.ux, inv = unique_counts(x)
        self.Wx = np.bincount(inv, weights=weights, minlength=self.ux.size).astype(np.float64)
        self.W = float(weights.sum())
        self.T, self.w, self.wx = columns["T"], weights, weights * x

    def __call__(self, theta: FloatArray, order: int) -> Objective:
        r, alpha = np.exp(theta)
        ux, Wx, W, w, wx = self.ux, self.Wx, self.W, self.w, self.wx
        L = np.log(alpha + self.T)
        SL, SxL = dot(w, L), dot(wx, L)
        head = special.gammaln(r + ux) - special.gammaln(r)
        ll = dot(Wx, head) + W * r * np.log(alpha) - r * SL - SxL
        if order < 2:
            return ll, None, None
        inv = 1.0 / (alpha + self.T)
        Si, Sxi = dot(w, inv), dot(wx, inv)
        Si2, Sxi2 = dot(w, inv * inv), dot(wx, inv * inv)
        g_r = dot(Wx, special.digamma(r + ux) - special.digamma(r)) + W * np.log(alpha) - SL
        g_a = W * r / alpha - (r * Si + Sxi)
        h_rr = dot(Wx, special.polygamma(1, r + ux) - special.polygamma(1, r))
        h_ra = W / alpha - Si
        h_aa = -W * r / alpha**2 + r * Si2 + Sxi2
        p = np.array([r, alpha])
        g = p * np.array([g_r, g_a])
        H = np.array([[h_rr, h_ra], [h_ra, h_aa]]) * np.outer(p, p) + np.diag(g)
        return ll, g, H


def no_dropout(model: str, rate: str, fixed: dict[str, float]) -> Limit:
    """The NBD limit of a purchase model, where ``fixed`` makes its dropout vanish."""
    return Limit(
        name="no dropout",
        fixed=fixed,
        not_identified=tuple(fixed),
        objective=NBDObjective,
        message=(
            "no dropout detected: the data are best described with no customer ever "
            f"dropping out (the {model}'s {rate} is 0 for everyone: the NBD model), as in a "
            "young cohort whose customers all bought recently; every customer is predicted "
            "to stay active"
        ),
    )


def nbd_expected(t: FloatArray, x: FloatArray, T: FloatArray, r: float, alpha: float) -> FloatArray:
    """Expected purchases in ``(T, T + t]`` of a customer who never drops out: the
    posterior mean rate ``(r + x) / (α + T)`` times ``t``."""
    out: FloatArray = (r + x) / (alpha + T) * t
    return out


def per_distinct(
    fn: Callable[[FloatArray, FloatArray], FloatArray], x: FloatArray, T: FloatArray
) -> FloatArray:
    """``fn(x, T)`` evaluated once per distinct ``(x, T)`` pair (whole-number periods
    repeat them many times over) and spread back to the rows."""
    distinct = distinct_rows([x, T])
    if distinct is None:
        return fn(x, T)
    (ux, uT), inverse = distinct
    out: FloatArray = fn(ux, uT)[inverse]
    return out


def simulate_beta_geometric(
    params: tuple[float, float, float, float],
    n_customers: int,
    T: Any,
    rng: np.random.Generator | int | None,
    *,
    first_chance: int,
) -> Any:
    """Customers of a BG/NBD-type model as an [`RFMSummary`][relcore.scoring.summary.RFMSummary].

    Purchases are Poisson(λ), ``λ ~ Gamma(r, α)``; the customer drops out with
    probability ``p ~ Beta(a, b)`` at each chance, the first being the ``first_chance``-th
    repeat purchase (1 for BG/NBD, 0 for MBG/NBD: right at the first purchase), so the
    number of repeat purchases made is capped by a geometric count. Given ``n`` purchases
    in ``(0, T]`` their times are uniform order statistics, so the ``x``-th of them is
    ``T * Beta(x, n - x + 1)``. ``b = inf`` means nobody drops out.
    """
    r, alpha, a, b = params
    gen = np.random.default_rng(rng)
    Tn = np.broadcast_to(np.asarray(T, dtype=np.float64), (n_customers,)).copy()
    lam = gen.gamma(r, 1.0 / alpha, n_customers)
    if np.isinf(b):
        K = np.full(n_customers, np.inf)
    else:
        p = np.clip(gen.beta(a, b, n_customers), 1e-300, 1.0)
        K = gen.geometric(p).astype(np.float64) - 1.0 + first_chance
    n = gen.poisson(lam * Tn).astype(np.float64)
    x = np.minimum(n, K)
    rec = np.zeros_like(Tn)
    pos = x > 0
    rec[pos] = Tn[pos] * gen.beta(x[pos], n[pos] - x[pos] + 1.0)
    return summary_from({"frequency": x, "recency": rec, "T": Tn})


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
    _per_customer: ClassVar[Mapping[str, tuple[int, tuple[str, ...]]]] = {
        "p_alive": (0, _columns),
        "expected_purchases": (1, _columns),
        "probability_of_purchases": (2, _columns),
    }

    @overload
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
        covariates: None = None,
        covariate_names: None = None,
        purchase: None = None,
        dropout: None = None,
        penalty: float = 0.0,
        l1_ratio: float = 0.0,
    ) -> Self: ...

    @overload
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
        covariates: object,
        covariate_names: Sequence[str] | None = None,
        purchase: Sequence[str] | None = None,
        dropout: Sequence[str] | None = None,
        penalty: float = 0.0,
        l1_ratio: float = 0.0,
    ) -> CovariatePurchaseModel: ...

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
        covariates: Any = None,
        covariate_names: Sequence[str] | None = None,
        purchase: Sequence[str] | None = None,
        dropout: Sequence[str] | None = None,
        penalty: float = 0.0,
        l1_ratio: float = 0.0,
    ) -> Self | CovariatePurchaseModel:
        """Maximum-likelihood fit.

        Parameters
        ----------
        data
            An [`RFMSummary`][relcore.scoring.summary.RFMSummary], or a mapping / pandas DataFrame
            with columns ``frequency``, ``recency``, ``T`` (and optionally ``weights``).
        frequency, recency, T
            Arrays, instead of ``data``.
        weights
            How many customers share each row (default 1 each).
        penalizer
            L2 penalty on the parameters (time parameters in time rescaled so that the
            longest ``T`` is 1), as lifetimes' ``penalizer_coef``; 0 for plain maximum
            likelihood.
        covariates
            Static customer covariates (BG/NBD and Pareto/NBD): a DataFrame or mapping of numeric
            columns, or a 2-D array (named by ``covariate_names``), one row per customer in the
            order of the data; with a ``customer_id`` column (or pandas index) the rows are matched
            to an RFMSummary's customers instead. The fit then returns a
            [`CovariatePurchaseModel`][relcore.scoring.purchase.CovariatePurchaseModel] (see the
            covariates guide).
        covariate_names
            Names of the columns of an array of covariates (default ``x0, x1, ...``).
        purchase, dropout
            The covariates of the purchase and of the dropout process, by name; a process
            left out takes every covariate, ``[]`` takes none.
        penalty
            Elastic-net penalty on the covariate coefficients (never on the base
            parameters): ``penalty * ((1 - l1_ratio) * sum(coef**2) + l1_ratio *
            sum(|coef|))`` is added to the mean negative log-likelihood per customer.
        l1_ratio
            The lasso share of ``penalty``: 0 (ridge, the default) to 1 (lasso, which
            sets weak coefficients exactly to 0).

        Returns
        -------
        Self or CovariatePurchaseModel
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
        if covariates is not None:
            from ._covariates import fit_with_covariates

            fitted: CovariatePurchaseModel = fit_with_covariates(
                cls,
                data,
                arrays,
                weights=weights,
                penalizer=penalizer,
                covariates=covariates,
                covariate_names=covariate_names,
                selections={"purchase": purchase, "dropout": dropout},
                penalty=penalty,
                l1_ratio=l1_ratio,
            )
            return fitted
        if purchase is not None or dropout is not None or covariate_names is not None:
            raise TypeError("purchase, dropout and covariate_names need covariates")
        return cls._fit(data, arrays, weights=weights, penalizer=penalizer)

    @classmethod
    def _validate(cls, columns: dict[str, Any]) -> dict[str, FloatArray]:
        x, tx, t = validate_rfm(columns["frequency"], columns["recency"], columns["T"])
        return {"frequency": x, "recency": tx, "T": t}

    @classmethod
    def _check_fittable(cls, rows: dict[str, FloatArray], weights: FloatArray) -> None:
        counted = weights > 0
        # a customer first seen at the end of observation (T = 0) has likelihood 1
        if not (counted & (rows["T"] > 0)).any():
            raise DataError(
                "T",
                "every customer has T = 0 (first seen at the end of observation): there is "
                "no purchase history to fit yet",
            )
        if not (counted & (rows["frequency"] > 0)).any():
            raise ConvergenceError(
                "no customer made a repeat purchase: the likelihood rises without bound as "
                "the purchase rate goes to 0, so the model cannot be fitted to these data"
            )

    @staticmethod
    def _history(frequency: Any, recency: Any, T: Any) -> list[FloatArray]:
        """Validated prediction inputs, broadcast to one shape."""
        return prediction_rfm(frequency, recency, T)

    @classmethod
    def _history_ahead(
        cls, t: Any, frequency: Any, recency: Any, T: Any
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Validated history and horizon ``t``, broadcast to one shape."""
        x, tx, T_ = cls._history(frequency, recency, T)
        x, tx, T_, tt = broadcast_float(x, tx, T_, time_horizon(t))
        return x, tx, T_, tt

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Probability that a customer with this history is still active (each model's own)."""
        raise NotImplementedError

    def _alive(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        """P(alive | history) for validated histories of one shape (each model's own)."""
        raise NotImplementedError

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Expected purchases in ``(T, T + t]`` given the history (each model's own)."""
        raise NotImplementedError

    def predict(
        self,
        data: Any,
        *,
        horizon: float | _dt.timedelta,
        spend_model: Any = None,
        months: int = 12,
        monthly_discount_rate: float = 0.01,
        period_days: float | None = None,
        days_per_month: float = 365.25 / 12,
        interval: float | None = None,
        draws: int | None = None,
        rng: Any = None,
    ) -> CustomerPredictions:
        """P(alive), expected purchases and, with a spend model, lifetime value of every
        customer, in one table keyed by customer id.

        Parameters
        ----------
        data
            The customers: an [`RFMSummary`][relcore.scoring.summary.RFMSummary] or a pandas /
            polars DataFrame with columns ``frequency``, ``recency``, ``T`` (and ``monetary_value``
            with a spend model), keyed by its ``customer_id`` column or else (pandas) its index.
        horizon
            How far ahead to count expected purchases: a number of model periods, or a
            ``datetime.timedelta`` (converted with the period length).
        spend_model
            A fitted [`GammaGamma`][relcore.scoring.purchase.GammaGamma] (anything with
            ``expected_average_value``): adds ``expected_average_value`` and ``clv``.
        months, monthly_discount_rate, days_per_month
            Lifetime value as in
            [`customer_lifetime_value`][relcore.scoring.purchase.customer_lifetime_value].
        period_days
            Length of one model period in days; a summary supplies its own, otherwise 1.
        interval
            A level such as 0.9: each column ``c`` gets ``c_lower`` and ``c_upper``, the
            central interval of its values over parameters drawn from the fits'
            asymptotic distributions (the same draws for every column). It reflects
            what the data leave unknown about the parameters, not the chance in what a
            customer will actually do (see the intervals guide). The model (and the
            spend model) must be fitted.
        draws
            Parameter draws for ``interval`` (default 500).
        rng
            Seed or ``numpy.random.Generator`` for the draws.

        Returns
        -------
        CustomerPredictions
            Columns ``p_alive``, ``expected_purchases`` (over ``horizon``) and, with a
            spend model, ``expected_average_value`` and ``clv``; one row per customer, in
            the data's order.

        Examples
        --------
        >>> from relcore.datasets import load_cdnow_summary
        >>> from relcore.scoring import BGNBD
        >>> s = load_cdnow_summary()
        >>> table = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426).predict(s, horizon=39)
        >>> list(table.columns), len(table) == len(s)
        (['p_alive', 'expected_purchases'], True)
        """
        from ..summary import RFMSummary
        from .clv import customer_lifetime_value

        if not is_customer_table(data):
            raise TypeError(
                "predict takes an RFMSummary or a DataFrame of customers, got "
                f"{type(data).__name__}; for arrays call p_alive and expected_purchases"
            )
        if period_days is None and isinstance(data, RFMSummary):
            period_days = data.period_days
        days = 1.0 if period_days is None else float(period_days)
        if isinstance(horizon, _dt.timedelta):
            t: float = timedelta_micros(horizon) / (days * US_PER_DAY)
            ahead = f"{horizon.days:g} days" if horizon.seconds == 0 else f"{horizon}"
        else:
            t = float(horizon)
            ahead = f"{t:g} periods"
        names = self._columns + (("monetary_value",) if spend_model is not None else ())
        ids, columns = customer_columns(data, names)
        x, tx, T_ = self._history(*columns[:3])
        spend = None if spend_model is None else np.asarray(columns[3], dtype=np.float64)
        sources = [x, tx, T_] + ([] if spend is None else [spend])

        def table(model: RFMModel, spender: Any, rows: slice) -> dict[str, FloatArray]:
            hist = (sources[0][rows], sources[1][rows], sources[2][rows])
            out = {
                "p_alive": model.p_alive(*hist),
                "expected_purchases": model.expected_purchases(t, *hist),
            }
            if spender is not None and len(sources) == 4:
                out["expected_average_value"] = np.asarray(
                    spender.expected_average_value(hist[0], sources[3][rows])
                )
                out["clv"] = customer_lifetime_value(
                    model,
                    spender,
                    *hist,
                    sources[3][rows],
                    months=months,
                    monthly_discount_rate=monthly_discount_rate,
                    period_days=days,
                    days_per_month=days_per_month,
                )
            return out

        out = table(self, spend_model, slice(None))
        description = f"{type(self).__name__}, purchases over {ahead}"
        if spend_model is not None:
            description += f", {months}-month lifetime value"
        if interval is not None:
            from ._uncertainty import distinct

            # the draws are evaluated once per distinct customer history
            unique, inverse = distinct(sources)
            sources[:] = unique
            out = self._with_bands(out, table, spend_model, interval, draws, rng, inverse)
            description += f", {interval:.0%} intervals from parameter uncertainty"
        elif draws is not None or rng is not None:
            raise TypeError("draws and rng go with interval=")
        return CustomerPredictions(ids, out, description=description)

    def _with_bands(
        self,
        point: dict[str, FloatArray],
        table: Callable[[Any, Any, slice], dict[str, FloatArray]],
        spend_model: Any,
        interval: float,
        draws: int | None,
        rng: Any,
        inverse: Any,
    ) -> dict[str, FloatArray]:
        """``point``'s columns each followed by their ``_lower`` and ``_upper`` bounds over
        parameter draws of this model and the spend model, ``table`` giving the columns
        of the distinct rows that ``inverse`` maps back to the customers."""
        from ._uncertainty import DEFAULT_DRAWS, bands, check_level, expand, parameter_draws

        level = check_level(interval)
        n_draws = DEFAULT_DRAWS if draws is None else draws
        gen = np.random.default_rng(rng)
        models = parameter_draws(self, n_draws, gen)
        spenders = (
            [None] * n_draws if spend_model is None else parameter_draws(spend_model, n_draws, gen)
        )
        n = next(iter(point.values())).size if inverse is None else int(inverse.max()) + 1

        def evaluate(k: int, rows: slice) -> dict[str, FloatArray]:
            return table(models[k], spenders[k], rows)

        bounds = expand(bands(evaluate, n, n_draws, level), inverse)
        out: dict[str, FloatArray] = {}
        for name, values in point.items():
            out[name] = values
            out[f"{name}_lower"], out[f"{name}_upper"] = bounds[name]
        return out

    def _discounted_purchases(
        self, x: FloatArray, tx: FloatArray, T: FloatArray, t: FloatArray, w: FloatArray
    ) -> FloatArray:
        """``sum_k w_k E[X(t_k) | history]`` per customer, for validated 1-d histories
        (customer lifetime value with the discounts folded into ``w``).

        The models override it to compute what does not depend on the horizon (P(alive),
        the distinct histories) once; this default asks ``expected_purchases`` per
        horizon.
        """
        total = np.zeros(x.size)
        for tk, wk in zip(t.tolist(), w.tolist(), strict=True):
            total += wk * self.expected_purchases(tk, x, tx, T)
        return total

    def _given_history(self, n: Any, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """``P(X(T, T+t) = n | history)``: the posterior customer's fresh start weighted
        by P(alive), plus the certain 0 of a customer who has left (see
        `_conditional`)."""
        if frequency is None or recency is None or T is None:
            raise TypeError("give the history as frequency, recency and T together")
        x, tx, T_ = self._history(frequency, recency, T)
        nn, tt = self._counts(n, t)
        nn, tt, x, tx, T_ = broadcast_float(nn, tt, x, tx, T_)
        alive = self._alive(x, tx, T_)
        if self._in_limit:
            r, alpha = self.params["r"], self.params["alpha"]
            fresh: FloatArray = np.exp(_conditional.nbd_log_pmf(nn, tt, r + x, alpha + T_))
        else:
            fresh = self._fresh_pmf(nn, tt, x, T_)
        out: FloatArray = alive * fresh + (1.0 - alive) * (nn == 0)
        return out

    def _fresh_pmf(self, n: FloatArray, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        """``P(X(t) = n)`` of a customer alive at ``T`` with history ``(x, T)``."""
        raise NotImplementedError

    def _still_alive(self, x: FloatArray, T: FloatArray, t: FloatArray) -> FloatArray:
        """``P(alive at T + t | alive at T, history)``: no dropout in ``(T, T + t]``."""
        raise NotImplementedError

    def _alive_ahead(self, frequency: Any, recency: Any, T: Any, periods_ahead: Any) -> FloatArray:
        """P(alive at ``T + periods_ahead`` | history up to ``T``): P(alive) at ``T``
        times the chance of no dropout since (not seeing the purchases in between)."""
        x, tx, T_ = self._history(frequency, recency, T)
        ahead = time_horizon(periods_ahead)
        x, tx, T_, ahead = broadcast_float(x, tx, T_, ahead)
        alive = self._alive(x, tx, T_)
        if self._in_limit:
            return alive
        out: FloatArray = alive * self._still_alive(x, T_, ahead)
        return out

    def _row_log_likelihood(self, rows: dict[str, FloatArray]) -> Any:
        if self._in_limit:  # nobody drops out: the NBD likelihood
            return nbd_rows([self.params["r"], self.params["alpha"]], rows)
        return super()._row_log_likelihood(rows)

    @staticmethod
    def _counts(n: Any, t: Any) -> tuple[FloatArray, FloatArray]:
        """Validated purchase counts ``n`` and horizons ``t``, broadcast to one shape."""
        nn, tt = broadcast_float(whole_numbers(n, "n"), time_horizon(t))
        return nn, tt

    @classmethod
    def _time_jacobian(cls, data: dict[str, FloatArray], weights: FloatArray) -> float:
        # each purchase's density carries one power of the time unit
        return float(weights @ data["frequency"])
