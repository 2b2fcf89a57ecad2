"""The one fitting routine shared by every purchase, retention and spend model.

A model declares what it fits on and states its likelihood once:

* ``_columns`` (and ``_time_columns``, those measured in time units), checked by
  ``_validate``;
* ``_rows(params, data)``: the log-likelihood of each row, written with the `_jet`
  helpers so that its exact gradient and Hessian come for free (a model may supply a
  faster hand-written ``_objective_factory`` with the same derivatives);
* ``_initial``: where the optimiser starts.

``FittedModel._fit`` (called by every model's public ``fit``) does the rest, in order:

1. **gathering** the columns from an [`RFMSummary`][relcore.scoring.summary.RFMSummary], a mapping /
   pandas DataFrame or keyword arrays, plus optional ``weights``;
2. **validation** by the model's ``_validate`` (bad rows raise
   [`DataError`][relcore.errors.DataError] naming them) and of the weights;
3. **compression** of identical rows into weights (real data collapse 10-1000x);
4. **rescaling of time** so that the longest observation lasts 1 (as lifetimes does), which
   conditions the optimisation and makes the penalty independent of the time unit;
5. **trust-region Newton optimisation** (scipy's ``trust-exact``) of the unconstrained
   log-parameters with the exact gradient and Hessian of the log-likelihood, started from
   fits to nested random subsets when there are many distinct rows;
6. **observed-information** standard errors, refusing (``ConvergenceError``) a maximum
   whose information matrix is singular, i.e. parameters the data do not identify;
7. **the boundary**: a model that declares a ``_limit`` (for the purchase models: no
   customer ever drops out) is also fitted in that limit, and when the best interior maximum does
   not beat the limit's maximum by more than ``_BOUNDARY_TOL`` in log-likelihood, the fit returns
   the limit, exactly represented in the model's own parameters (``b = inf`` for BG/NBD), with
   infinite standard errors for the parameters the limit leaves undetermined and a
   [`FitWarning`][relcore.errors.FitWarning] saying what the data show. The decision compares two
   maximised log-likelihoods with a tolerance far above rounding, so it does not depend on the
   optimiser's path or on the last bits of floating point.

The objective is ``-log_likelihood / n + penalizer * sum(params**2)`` with ``n`` the number
of customers and the time-rate parameters measured in rescaled time: the penalty of
lifetimes' ``penalizer_coef``, so equal coefficients give equal estimates.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np
from scipy import special

from ...errors import ConvergenceError, DataError, FitWarning
from ._fitsummary import FitSummary
from ._inputs import compress, gather_columns, validate_weights
from ._optimize import OptimResult, chunked_objective, jet_objective, minimize
from ._predictions import (
    CustomerPredictions,
    customer_ids,
    is_customer_table,
    key_predictions,
)
from ._types import FloatArray, Objective, ObjectiveFactory

if TYPE_CHECKING:
    from typing import Self

# Above this many distinct rows, the optimiser starts from a fit to a random subset, so
# that the full data need only two or three Newton steps.
_WARM_START_ROWS = 60_000
# A fit goes to the boundary when the best interior point beats the limiting model's
# maximum by no more than this, in total log-likelihood: far above rounding (about 1e-7
# for ten million customers) and far below any difference a likelihood-ratio test notices.
_BOUNDARY_TOL = 1e-3
# Iterations of the interior search; when the maximum lies on the boundary the search
# walks towards it, so it is cut short (the comparison with the limit decides).
_MAX_ITER = 100


def _positive(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive finite number, got {value!r}")


def _positive_or_infinite(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:  # NaN fails too
        raise ValueError(f"{attribute.name} must be a positive number or inf, got {value!r}")


def param_field(*, limit: bool = False) -> Any:
    """An attrs field for a model parameter: a positive finite float, or with ``limit``
    also ``inf`` (the parameter's value in the model's limiting case, see `Limit`)."""
    return attrs.field(converter=float, validator=_positive_or_infinite if limit else _positive)


@attrs.frozen
class Limit:
    """A boundary of a model's parameter space where the model becomes a simpler one
    (for the purchase models: nobody ever drops out).

    Attributes
    ----------
    name
        The limit in a few words (``"no dropout"``).
    fixed
        The limit represented exactly in the model's parameters (``{"a": 1.0, "b": inf}``
        for BG/NBD); parameters the limit leaves undetermined get a conventional value.
    not_identified
        Parameters the data cannot identify at the limit (infinite standard errors).
    objective
        ``(columns, weights) -> objective`` of the limiting model in the remaining
        parameters (in the order of ``_param_names``), as ``_objective_factory``.
    message
        What the data show, in words (the start of the [`FitWarning`][relcore.errors.FitWarning]).
    """

    name: str
    fixed: Mapping[str, float]
    not_identified: tuple[str, ...]
    objective: ObjectiveFactory
    message: str


def _log_wald(values: FloatArray, se: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    """Wald bounds on the log scale: ``exp(log(value) ± z * se / value)``."""
    z = float(special.ndtri(0.5 + level / 2))
    with np.errstate(invalid="ignore", over="ignore"):  # huge errors give bounds 0 and inf
        half = z * se / values
        lower, upper = values * np.exp(-half), values * np.exp(half)
    # a parameter the data cannot identify may be anything
    unknown = np.isinf(se)
    return np.where(unknown, 0.0, lower), np.where(unknown, np.inf, upper)


@attrs.frozen
class FitInfo:
    """What a fit leaves behind besides the parameters."""

    log_likelihood: float
    covariance: FloatArray
    n_customers: float
    n_rows: int
    penalizer: float
    iterations: int
    #: at a boundary (see `Limit`): its name, the parameters set to their limit and
    #: those the data cannot identify there
    limit: str | None = None
    boundary: tuple[str, ...] = ()
    not_identified: tuple[str, ...] = ()


@attrs.frozen(repr=False)
class FittedModel:
    """Parameters, fit statistics and the shared fitting entry point of every model."""

    _param_names: ClassVar[tuple[str, ...]] = ()
    # parameters that carry a time unit (scale parameters of rates); the penalty applies
    # to them in rescaled time
    _time_params: ClassVar[tuple[str, ...]] = ()
    # the data columns ``fit`` reads, and those of them measured in time units
    _columns: ClassVar[tuple[str, ...]] = ()
    _time_columns: ClassVar[tuple[str, ...]] = ()
    # natural parameters where the optimiser starts (default: all 1)
    _initial: ClassVar[tuple[float, ...]] = ()
    # whether the objective may be evaluated in threaded chunks (it must avoid BLAS: see
    # ``dot``)
    _chunked_objective: ClassVar[bool] = False
    # the boundary where the model becomes a simpler one, if it has one
    _limit: ClassVar[Limit | None] = None
    # the error for an empty data set
    _empty: ClassVar[str] = "no customers: there is nothing to fit"
    # Prediction methods over per-customer columns, by name: the position of the first
    # column among their arguments, and the columns. Given a summary or a DataFrame there
    # instead, they return predictions keyed by customer id (see ``_predictions``); a
    # subclass's own definitions of these methods are wrapped as the class is created.
    _per_customer: ClassVar[Mapping[str, tuple[int, tuple[str, ...]]]] = {}

    fit_info: FitInfo | None = attrs.field(default=None, kw_only=True, eq=False, alias="fit_info")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        key_predictions(cls, cls._per_customer)

    # -- parameters -----------------------------------------------------------------------
    @property
    def params(self) -> dict[str, float]:
        """Parameter values by name."""
        return {name: getattr(self, name) for name in self._param_names}

    @property
    def _in_limit(self) -> bool:
        """Whether the model is its limiting case (see `Limit`): a parameter is inf."""
        return any(math.isinf(v) for v in self.params.values())

    def _param_values(self) -> FloatArray:
        return np.array([getattr(self, n) for n in self._param_names], dtype=np.float64)

    @property
    def log_likelihood(self) -> float | None:
        """Total log-likelihood at the fit (None when built from known parameters)."""
        return None if self.fit_info is None else self.fit_info.log_likelihood

    @property
    def standard_errors(self) -> dict[str, float] | None:
        """Standard errors from the observed information matrix (None when not fitted).

        The information is the negative Hessian of the total log-likelihood at the
        maximum (of the penalised one when a penalizer is set), computed exactly.
        """
        if self.fit_info is None:
            return None
        se = np.sqrt(np.clip(np.diag(self.fit_info.covariance), 0.0, None))
        return dict(zip(self._param_names, se.tolist(), strict=True))

    def confidence_intervals(self, level: float = 0.95) -> dict[str, tuple[float, float]] | None:
        """Wald intervals computed on the log scale (so they stay positive).

        ``exp(log(estimate) ± z * se / estimate)``: the delta-method standard error of the
        log-parameter is ``se / estimate``. None when the model was not fitted.

        Examples
        --------
        >>> from relcore.scoring import ShiftedBetaGeometric
        >>> m = ShiftedBetaGeometric.fit([1000, 631, 468, 382, 326, 289, 262, 241])
        >>> lo, hi = m.confidence_intervals(0.95)["alpha"]
        >>> bool(lo < m.alpha < hi)
        True
        """
        table = self.summary(level)
        if self.fit_info is None:
            return None
        return {
            name: (float(lo), float(hi))
            for name, lo, hi in zip(table.parameter, table.lower, table.upper, strict=True)
        }

    def summary(self, level: float = 0.95) -> FitSummary:
        """A table of parameters with standard errors and confidence intervals.

        ``print`` it, show it in a notebook, or convert it with ``to_pandas()``.

        Examples
        --------
        >>> from relcore.scoring import ShiftedBetaGeometric
        >>> m = ShiftedBetaGeometric.fit([1000, 631, 468, 382, 326, 289, 262, 241])
        >>> print(m.summary())  # doctest: +ELLIPSIS
        ShiftedBetaGeometric fitted to 1,000 customers (8 distinct rows), log-likelihood -1,680.27
        parameter  estimate  ...
            alpha  0.70...
        """
        if not 0 < level < 1:
            raise ValueError(f"level must lie in (0, 1), got {level}")
        values = self._param_values()
        nan = np.full(values.size, np.nan)
        se, lower, upper = nan, nan, nan
        if self.fit_info is not None:
            se = np.sqrt(np.clip(np.diag(self.fit_info.covariance), 0.0, None))
            lower, upper = _log_wald(values, se, level)
        notes: tuple[str, ...] = ()
        info = self.fit_info
        if info is not None and info.limit is not None:
            at = ", ".join(f"{k} = {getattr(self, k):g}" for k in info.boundary)
            unknown = " and ".join(info.not_identified)
            unknown_note = f"; {unknown} are not identified" if unknown else ""
            notes = (f"at the boundary ({info.limit}): {at}{unknown_note}",)
        return FitSummary(
            model=type(self).__name__,
            title=self._describe(),
            parameter=self._param_names,
            estimate=values,
            se=se,
            lower=lower,
            upper=upper,
            level=level,
            notes=notes,
        )

    def _describe(self) -> str:
        info = self.fit_info
        if info is None:
            return f"{type(self).__name__} with known parameters"
        pen = f", penalizer {info.penalizer:g}" if info.penalizer else ""
        return (
            f"{type(self).__name__} fitted to {info.n_customers:,.0f} customers "
            f"({info.n_rows:,} distinct rows), log-likelihood {info.log_likelihood:,.2f}{pen}"
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        if self.fit_info is None:
            return f"{type(self).__name__}({args})"
        info = self.fit_info
        limit = f", at the boundary: {info.limit}" if info.limit else ""
        return (
            f"{type(self).__name__}({args}, fit_info=<{info.n_customers:,.0f} customers, "
            f"log-likelihood {info.log_likelihood:,.2f}{limit}>)"
        )

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    # -- per-customer likelihood ---------------------------------------------------------
    def log_likelihood_per_customer(self, data: Any = None, **columns: Any) -> Any:
        """Log-likelihood of each customer's data at the model's parameters.

        The terms whose sum is the fit's log-likelihood: at a fitted model, summing them
        over the fitted data (each row counted by its weight) gives
        `log_likelihood`. Useful to find the customers a model describes worst, to
        compare two models customer by customer, or for a likelihood-ratio test on a
        subset.

        Parameters
        ----------
        data
            A table of customers with the columns the model is fitted on (an
            [`RFMSummary`][relcore.scoring.summary.RFMSummary], a pandas / polars DataFrame or a
            mapping); a summary or DataFrame gives results keyed by customer id.
        **columns
            The columns as arrays instead (for [`BGNBD`][relcore.scoring.purchase.BGNBD]:
            ``frequency``, ``recency``, ``T``; [`BGBB`][relcore.scoring.purchase.BGBB]:
            ``frequency``, ``recency``, ``n_periods``;
            [`GammaGamma`][relcore.scoring.purchase.GammaGamma]: ``frequency``, ``monetary_value``;
            [`ShiftedBetaGeometric`][relcore.scoring.purchase.ShiftedBetaGeometric]: ``period`` and
            ``churned``, a customer's last period and whether they churned in it).

        Returns
        -------
        numpy.ndarray or CustomerPredictions
            One value per customer (natural logarithm, in the data's time unit: densities
            of purchase times count per period); keyed by customer id in a column
            ``log_likelihood`` for a summary or DataFrame.

        Raises
        ------
        DataError
            Invalid data, as for ``fit``.

        Examples
        --------
        >>> from relcore.scoring import ShiftedBetaGeometric
        >>> m = ShiftedBetaGeometric.fit([1000, 631, 468, 382, 326, 289, 262, 241])
        >>> ll = m.log_likelihood_per_customer(period=[1, 7], churned=[1, 0])
        >>> bool(ll[0] < 0 and ll[1] < 0)
        True
        """
        table = is_customer_table(data)
        if data is not None and not table and not isinstance(data, Mapping):
            raise TypeError(
                "log_likelihood_per_customer takes a summary, a DataFrame or a mapping of "
                f"columns, or the columns as keywords; got {type(data).__name__}"
            )
        unknown = set(columns) - set(self._columns)
        if unknown:
            raise TypeError(
                f"unknown column(s) {', '.join(sorted(unknown))}; "
                f"{type(self).__name__} reads {', '.join(self._columns)}"
            )
        raw, _ = gather_columns(self._columns, data, columns, None)
        rows = self._validate(raw)
        values = np.asarray(self._row_log_likelihood(rows), dtype=np.float64)
        values = np.broadcast_to(values, rows[self._columns[0]].shape).copy()
        if table:
            return CustomerPredictions(
                customer_ids(data),
                {"log_likelihood": values},
                description=f"{type(self).__name__}, log-likelihood per customer",
            )
        return values

    def _row_log_likelihood(self, rows: dict[str, FloatArray]) -> Any:
        """Log-likelihood of validated rows at the model's parameters (a model whose
        limit leaves ``_rows`` undefined overrides this there)."""
        return self._rows(list(self.params.values()), rows)

    # -- fitting ------------------------------------------------------------------------
    @classmethod
    def _fit(
        cls, data: Any, arrays: dict[str, Any], *, weights: Any = None, penalizer: float = 0.0
    ) -> Self:
        """The fitting path of every model: gather, validate, weigh, maximise."""
        columns, raw_weights = gather_columns(cls._columns, data, arrays, weights)
        rows = cls._validate(columns)
        n = len(rows[cls._columns[0]])
        if n == 0:
            raise DataError(cls._columns[0], cls._empty)
        w = validate_weights(raw_weights, n)
        cls._check_fittable(rows, w)
        return cls._from_fit(rows, w, penalizer=penalizer)

    @classmethod
    def _check_fittable(cls, rows: dict[str, FloatArray], weights: FloatArray) -> None:
        """Refuse data that cannot determine the model at all, saying why."""

    @classmethod
    def _validate(cls, columns: dict[str, Any]) -> dict[str, FloatArray]:
        """The model's checks of its raw columns; validated float columns by name."""
        raise NotImplementedError

    @staticmethod
    def _rows(params: list[Any], data: dict[str, FloatArray]) -> Any:
        """The log-likelihood of each row, from natural parameters (floats or jets)."""
        raise NotImplementedError

    @classmethod
    def _objective_factory(
        cls, columns: dict[str, FloatArray], weights: FloatArray
    ) -> Callable[[FloatArray, int], Objective]:
        """``(log_params, order) -> (loglik, grad, hess)`` totals over the rows."""
        return jet_objective(cls._rows, columns, weights)

    @classmethod
    def _start(cls, columns: dict[str, FloatArray], weights: FloatArray) -> FloatArray:
        initial = cls._initial or (1.0,) * len(cls._param_names)
        start: FloatArray = np.log(np.array(initial, dtype=np.float64))
        return start

    @classmethod
    def _fit_attributes(cls, columns: dict[str, FloatArray], weights: FloatArray) -> dict[str, Any]:
        """Attributes besides the parameters that a fit computes from its data."""
        return {}

    @classmethod
    def _from_fit(
        cls,
        columns: dict[str, FloatArray],
        weights: FloatArray,
        *,
        penalizer: float = 0.0,
    ) -> Self:
        if not (np.isfinite(penalizer) and penalizer >= 0):
            raise ValueError(f"penalizer must be a finite number >= 0, got {penalizer!r}")
        extras = cls._fit_attributes(columns, weights)
        problem = _Problem.build(cls, columns, weights, penalizer)
        names = cls._param_names
        start = cls._start(problem.data, problem.weights)
        inside = problem.maximise(cls._objective_factory, names, start, cls._chunked_objective)
        limit = cls._limit
        if limit is not None:
            free = tuple(n for n in names if n not in limit.fixed)
            free_start = start[[names.index(n) for n in free]]
            at_limit = problem.maximise(limit.objective, free, free_start, cls._chunked_objective)
            # The limit is the supremum along the boundary; the interior wins only when it
            # is higher by more than the tolerance (NaN, a search that failed at its start,
            # never wins and is refused below).
            better_inside = bool(inside.fun < at_limit.fun - _BOUNDARY_TOL / problem.total)
            if at_limit.success and _identified(at_limit.hess) and not better_inside:
                if not np.isfinite(inside.fun):
                    raise ConvergenceError(f"the optimiser failed: {inside.message}")
                return cls._at_limit(problem, limit, free, at_limit, inside, extras)
        if not inside.success:
            raise ConvergenceError(
                f"the optimiser did not converge: {inside.message}; the data may not "
                "identify the model: try a penalizer"
            )
        if not _identified(inside.hess):
            values = problem.natural(inside.x, names)
            at = ", ".join(f"{k}={v:.4g}" for k, v in zip(names, values, strict=True))
            eig = np.linalg.eigvalsh(inside.hess)
            raise ConvergenceError(
                "the maximum is not identified: the observed information matrix is "
                f"singular at {at} (smallest eigenvalue {eig[0]:.3g}, largest "
                f"{eig[-1]:.3g}); the data cannot separate the parameters: try a penalizer"
            )
        natural = problem.natural(inside.x, names)
        return cls(
            **dict(zip(names, natural.tolist(), strict=True)),
            **extras,
            fit_info=FitInfo(
                log_likelihood=problem.log_likelihood(cls, inside, natural),
                covariance=problem.covariance(inside, natural),
                n_customers=problem.total,
                n_rows=int(problem.weights.size),
                penalizer=problem.penalizer,
                iterations=inside.iterations,
            ),
        )

    @classmethod
    def _at_limit(
        cls,
        problem: _Problem,
        limit: Limit,
        free: tuple[str, ...],
        at_limit: OptimResult,
        inside: OptimResult,
        extras: dict[str, Any],
    ) -> Self:
        """The fit at the boundary: the limit's estimates, the fixed representation, and
        infinite standard errors for what the data cannot identify."""
        names = cls._param_names
        estimates = dict(zip(free, problem.natural(at_limit.x, free).tolist(), strict=True))
        params = {n: estimates[n] if n in estimates else limit.fixed[n] for n in names}
        index = [names.index(n) for n in free]
        cov = np.zeros((len(names), len(names)))
        cov[np.ix_(index, index)] = problem.covariance(at_limit, np.array(list(estimates.values())))
        for n in limit.not_identified:
            cov[names.index(n), names.index(n)] = np.inf
        ll = problem.log_likelihood(cls, at_limit, np.array(list(estimates.values())))
        ll_inside = problem.log_likelihood(cls, inside, problem.natural(inside.x, names))
        fixed = ", ".join(f"{k} = {v:g}" for k, v in limit.fixed.items() if math.isinf(v))
        warnings.warn(
            f"{limit.message} (log-likelihood {ll:,.2f}; the best found away from this "
            f"limit: {ll_inside:,.2f}). The fit returns this limit ({fixed}); "
            f"{' and '.join(limit.not_identified)} are not identified (infinite standard "
            "errors).",
            FitWarning,
            stacklevel=5,
        )
        return cls(
            **params,
            **extras,
            fit_info=FitInfo(
                log_likelihood=ll,
                covariance=cov,
                n_customers=problem.total,
                n_rows=int(problem.weights.size),
                penalizer=problem.penalizer,
                iterations=at_limit.iterations,
                limit=limit.name,
                boundary=tuple(k for k, v in limit.fixed.items() if math.isinf(v)),
                not_identified=limit.not_identified,
            ),
        )

    @classmethod
    def _time_jacobian(cls, data: dict[str, FloatArray], weights: FloatArray) -> float:
        """Sum of the powers of time in each row's density (0 for models without time)."""
        return 0.0


def _identified(hess: FloatArray) -> bool:
    """Whether a maximum's observed information (the objective's Hessian) is nonsingular."""
    if not np.all(np.isfinite(hess)):
        return False
    eig = np.linalg.eigvalsh(hess)
    return bool(eig[0] > 1e-12 * max(float(eig[-1]), 1e-300))


@attrs.frozen
class _Problem:
    """Compressed data in rescaled time, and the penalised objectives over them."""

    data: dict[str, FloatArray]
    weights: FloatArray
    scale: float
    time_params: tuple[str, ...]
    penalizer: float

    @classmethod
    def build(
        cls,
        model: type[FittedModel],
        columns: dict[str, FloatArray],
        weights: FloatArray,
        penalizer: float,
    ) -> _Problem:
        names = list(columns)
        cols, w = compress([columns[k] for k in names], weights)
        keep = w > 0
        if not keep.all():
            cols, w = [c[keep] for c in cols], w[keep]
        scale = 1.0
        if model._time_columns:
            scale = float(max(np.max(columns[k]) for k in model._time_columns))
            scale = scale if scale > 0 else 1.0
        times = model._time_columns
        data = {k: (c / scale if k in times else c) for k, c in zip(names, cols, strict=True)}
        return cls(data, w, scale, model._time_params, float(penalizer))

    @property
    def total(self) -> float:
        """Customers (the sum of the weights)."""
        return float(self.weights.sum())

    def _log_scale(self, names: tuple[str, ...]) -> FloatArray:
        return np.array([math.log(self.scale) if n in self.time_params else 0.0 for n in names])

    def natural(self, theta: FloatArray, names: tuple[str, ...]) -> FloatArray:
        """Parameters in the data's time unit from log-parameters in rescaled time."""
        out: FloatArray = np.exp(theta + self._log_scale(names))
        return out

    def objective(
        self,
        factory: Callable[
            [dict[str, FloatArray], FloatArray], Callable[[FloatArray, int], Objective]
        ],
        data: dict[str, FloatArray],
        weights: FloatArray,
        chunked: bool,
    ) -> Callable[[FloatArray, int], Objective]:
        """``-loglik / n + penalizer * sum(params**2)`` with its derivatives."""
        loglik = chunked_objective(factory, data, weights) if chunked else factory(data, weights)
        total = float(weights.sum())
        penalizer = self.penalizer

        def objective(theta: FloatArray, order: int) -> Objective:
            with np.errstate(all="ignore"):
                ll, g, h = loglik(theta, order)
            p = np.exp(theta)
            f = -ll / total + penalizer * float(p @ p)
            if order < 2 or g is None or h is None:
                return f, None, None
            gf = -g / total + 2.0 * penalizer * p * p
            hf = -h / total + np.diag(4.0 * penalizer * p * p)
            return f, gf, hf

        return objective

    def maximise(
        self,
        factory: Callable[
            [dict[str, FloatArray], FloatArray], Callable[[FloatArray, int], Objective]
        ],
        names: tuple[str, ...],
        x0: FloatArray,
        chunked: bool,
    ) -> OptimResult:
        """The maximum likelihood in log-parameters, started (for many distinct rows) from
        fits to nested random subsets so that the full data need only a few steps."""
        data, weights = self.data, self.weights
        if weights.size > _WARM_START_ROWS:
            rng = np.random.default_rng(12345)
            for size in (5_000, max(20_000, weights.size // 5)):
                sub = rng.integers(0, weights.size, size)  # duplicates are harmless here
                sub_data = {k: v[sub] for k, v in data.items()}
                warm = minimize(
                    self.objective(factory, sub_data, weights[sub], chunked),
                    x0,
                    gtol=1e-6,
                    max_iter=_MAX_ITER,
                )
                if warm.success:
                    x0 = warm.x
        return minimize(self.objective(factory, data, weights, chunked), x0, max_iter=_MAX_ITER)

    def log_likelihood(
        self, model: type[FittedModel], result: OptimResult, natural: FloatArray
    ) -> float:
        """The total log-likelihood at a maximum, in the data's time unit."""
        p = np.exp(result.x)
        ll = -(result.fun - self.penalizer * float(p @ p)) * self.total
        # The log-likelihood in rescaled time differs from the one in the data's unit by
        # the Jacobian of the time change: sum over rows of (density order) * log(scale).
        return float(ll - model._time_jacobian(self.data, self.weights) * math.log(self.scale))

    def covariance(self, result: OptimResult, natural: FloatArray) -> FloatArray:
        """Inverse observed information (of the penalised log-likelihood) in natural
        parameters."""
        cov_log = np.linalg.inv(result.hess * self.total)
        out: FloatArray = cov_log * np.outer(natural, natural)
        return out
