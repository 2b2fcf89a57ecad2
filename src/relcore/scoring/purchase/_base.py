"""The one fitting routine shared by every purchase, retention and spend model.

A model declares what it fits on and states its likelihood once:

* ``_columns`` (and ``_time_columns``, those measured in time units), checked by
  ``_validate``;
* ``_rows(params, data)``: the log-likelihood of each row, written with the :mod:`._jet`
  helpers so that its exact gradient and Hessian come for free (a model may supply a
  faster hand-written ``_objective_factory`` with the same derivatives);
* ``_initial``: where the optimiser starts.

``FittedModel._fit`` (called by every model's public ``fit``) does the rest, in order:

1. **gathering** the columns from an :class:`~relcore.scoring.RFMSummary`, a mapping /
   pandas DataFrame or keyword arrays, plus optional ``weights``;
2. **validation** by the model's ``_validate`` (bad rows raise :class:`~relcore.DataError`
   naming them) and of the weights;
3. **compression** of identical rows into weights (real data collapse 10-1000x);
4. **rescaling of time** so that the longest observation lasts 1 (as lifetimes does), which
   conditions the optimisation and makes the penalty independent of the time unit;
5. **trust-region Newton optimisation** (scipy's ``trust-exact``) of the unconstrained
   log-parameters with the exact gradient and Hessian of the log-likelihood, started from
   fits to nested random subsets when there are many distinct rows;
6. **observed-information** standard errors, refusing (``ConvergenceError``) a maximum
   whose information matrix is singular, i.e. parameters the data do not identify.

The objective is ``-log_likelihood / n + penalizer * sum(params**2)`` with ``n`` the number
of customers and the time-rate parameters measured in rescaled time: the penalty of
lifetimes' ``penalizer_coef``, so equal coefficients give equal estimates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np
from scipy import special

from ...errors import ConvergenceError
from ._fitsummary import FitSummary
from ._inputs import compress, gather_columns, validate_weights
from ._optimize import chunked_objective, jet_objective, minimize
from ._types import FloatArray, Objective

if TYPE_CHECKING:
    from typing import Self

# Above this many distinct rows, the optimiser starts from a fit to a random subset, so
# that the full data need only two or three Newton steps.
_WARM_START_ROWS = 60_000


def _positive(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive finite number, got {value!r}")


def param_field() -> Any:
    """An attrs field for a model parameter: a positive finite float."""
    return attrs.field(converter=float, validator=_positive)


def _log_wald(values: FloatArray, se: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    """Wald bounds on the log scale: ``exp(log(value) ± z * se / value)``."""
    z = float(special.ndtri(0.5 + level / 2))
    half = z * se / values
    return values * np.exp(-half), values * np.exp(half)


@attrs.frozen
class FitInfo:
    """What a fit leaves behind besides the parameters."""

    log_likelihood: float
    covariance: FloatArray
    n_customers: float
    n_rows: int
    penalizer: float
    iterations: int


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

    fit_info: FitInfo | None = attrs.field(default=None, kw_only=True, eq=False, alias="fit_info")

    # -- parameters -----------------------------------------------------------------------
    @property
    def params(self) -> dict[str, float]:
        """Parameter values by name."""
        return {name: getattr(self, name) for name in self._param_names}

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
        return FitSummary(
            model=type(self).__name__,
            title=self._describe(),
            parameter=self._param_names,
            estimate=values,
            se=se,
            lower=lower,
            upper=upper,
            level=level,
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
        return (
            f"{type(self).__name__}({args}, fit_info=<{info.n_customers:,.0f} customers, "
            f"log-likelihood {info.log_likelihood:,.2f}>)"
        )

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    # -- fitting ------------------------------------------------------------------------
    @classmethod
    def _fit(
        cls, data: Any, arrays: dict[str, Any], *, weights: Any = None, penalizer: float = 0.0
    ) -> Self:
        """The fitting path of every model: gather, validate, weigh, maximise."""
        columns, raw_weights = gather_columns(cls._columns, data, arrays, weights)
        rows = cls._validate(columns)
        n = len(rows[cls._columns[0]])
        return cls._from_fit(rows, validate_weights(raw_weights, n), penalizer=penalizer)

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
        time_columns = cls._time_columns
        extras = cls._fit_attributes(columns, weights)
        names = list(columns)
        n_customers = float(weights.sum())
        cols, weights = compress([columns[k] for k in names], weights)
        keep = weights > 0
        if not keep.all():
            cols, weights = [c[keep] for c in cols], weights[keep]
        scale = 1.0
        if time_columns:
            scale = float(max(np.max(columns[k]) for k in time_columns))
            scale = scale if scale > 0 else 1.0
        data = {
            k: (c / scale if k in time_columns else c) for k, c in zip(names, cols, strict=True)
        }
        time_idx = np.array([n in cls._time_params for n in cls._param_names])
        log_scale = np.where(time_idx, np.log(scale), 0.0)

        def make(d: dict[str, FloatArray], w: FloatArray) -> Callable[[FloatArray, int], Objective]:
            if cls._chunked_objective:
                loglik = chunked_objective(cls._objective_factory, d, w)
            else:
                loglik = cls._objective_factory(d, w)
            total = float(w.sum())

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

        x0 = cls._start(data, weights)
        if weights.size > _WARM_START_ROWS:
            # start from fits to nested random subsets (a few thousand rows, then a fifth
            # of the rows) so that the full data need only two or three Newton steps
            rng = np.random.default_rng(12345)
            for size in (5_000, max(20_000, weights.size // 5)):
                sub = rng.integers(0, weights.size, size)  # duplicates are harmless here
                sub_data = {k: v[sub] for k, v in data.items()}
                warm = minimize(make(sub_data, weights[sub]), x0, gtol=1e-6)
                if warm.success:
                    x0 = warm.x
        result = minimize(make(data, weights), x0)
        if not result.success:
            raise ConvergenceError(
                f"the optimiser did not converge: {result.message}; the data may not "
                "identify the model: try a penalizer"
            )
        eig = np.linalg.eigvalsh(result.hess)
        if not eig[0] > 1e-12 * max(float(eig[-1]), 1e-300):
            values = np.exp(result.x + log_scale)
            at = ", ".join(f"{k}={v:.4g}" for k, v in zip(cls._param_names, values, strict=True))
            raise ConvergenceError(
                "the maximum is not identified: the observed information matrix is "
                f"singular at {at} (smallest eigenvalue {eig[0]:.3g}, largest "
                f"{eig[-1]:.3g}); the data cannot separate the parameters: try a penalizer"
            )
        theta = result.x
        p_opt = np.exp(theta)
        ll_total = -(result.fun - penalizer * float(p_opt @ p_opt)) * float(weights.sum())
        # observed information of the (penalised) log-likelihood, in log-parameters
        info = result.hess * n_customers
        cov_log = np.linalg.inv(info)
        natural = np.exp(theta + log_scale)
        cov = cov_log * np.outer(natural, natural)
        # The log-likelihood in rescaled time differs from the one in the data's unit by
        # the Jacobian of the time change: sum over rows of (density order) * log(scale).
        ll = ll_total - cls._time_jacobian(data, weights) * np.log(scale)
        params = dict(zip(cls._param_names, natural.tolist(), strict=True))
        return cls(
            **params,
            **extras,
            fit_info=FitInfo(
                log_likelihood=float(ll),
                covariance=cov,
                n_customers=n_customers,
                n_rows=int(weights.size),
                penalizer=float(penalizer),
                iterations=result.iterations,
            ),
        )

    @classmethod
    def _time_jacobian(cls, data: dict[str, FloatArray], weights: FloatArray) -> float:
        """Sum of the powers of time in each row's density (0 for models without time)."""
        return 0.0
