"""The one fitting routine shared by every purchase, retention and spend model.

``FittedModel._from_fit`` (called by every model's ``fit``, after ``gather_columns`` and
the model's own validation) does, in order:

1. **coercion** of an :class:`~relcore.scoring.RFMSummary`, a mapping / pandas DataFrame
   with the named columns, or keyword arrays, plus optional ``weights``, into validated
   float columns (bad rows raise :class:`~relcore.DataError` naming them);
2. **compression** of identical rows into weights (real data collapse 10-1000x);
3. **rescaling of time** so that the longest observation lasts 1 (as lifetimes does), which
   conditions the optimisation and makes the penalty independent of the time unit;
4. **damped Newton optimisation** of the unconstrained log-parameters with the exact
   gradient and Hessian of the log-likelihood (from the model's own derivatives), started
   from fits to nested random subsets when there are many distinct rows;
5. **observed-information** standard errors, refusing (``ConvergenceError``) a maximum
   whose information matrix is singular, i.e. parameters the data do not identify.

The objective is ``-log_likelihood / n + penalizer * sum(params**2)`` with ``n`` the number
of customers and the time-rate parameters measured in rescaled time: the penalty of
lifetimes' ``penalizer_coef``, so equal coefficients give equal estimates.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np
import numpy.typing as npt
from scipy import stats

from .._validation import as_float, check_mask, same_length
from ..errors import ConvergenceError, DataError

if TYPE_CHECKING:
    from typing import Self

FloatArray = npt.NDArray[np.float64]
Objective = tuple[float, FloatArray | None, FloatArray | None]

# Compression is skipped when a sample of this many rows holds (almost) no duplicates:
# continuous data gain nothing from it and the sort would dominate the fit.
_SAMPLE_ROWS = 20_000
_MIN_DUPLICATE_SHARE = 0.01
# Above this many distinct rows, the optimiser starts from a fit to a random subset, so
# that the full data need only two or three Newton steps.
_WARM_START_ROWS = 60_000
# From this many rows, models whose objective runs without BLAS evaluate it in one chunk
# of rows per CPU, in threads (numpy releases the GIL inside its loops).
_PARALLEL_ROWS = 200_000


# ---------------------------------------------------------------------------------------
# input coercion and validation
# ---------------------------------------------------------------------------------------


def _column_from(data: Any, name: str) -> Any:
    from .summary import RFMSummary

    if isinstance(data, RFMSummary):
        if name == "n_periods":
            return data.T
        return getattr(data, name)
    try:
        return data[name]
    except (KeyError, IndexError, TypeError, ValueError):
        raise DataError(name, "missing column") from None


def _has_column(data: Any, name: str) -> bool:
    from .summary import RFMSummary

    if isinstance(data, RFMSummary):
        return False
    try:
        return name in data
    except TypeError:
        return False


def gather_columns(
    names: tuple[str, ...],
    data: Any,
    arrays: Mapping[str, Any],
    weights: Any,
) -> tuple[dict[str, Any], Any]:
    """Raw columns from exactly one of ``data`` (summary, mapping, DataFrame) or arrays."""
    from .summary import RFMSummary

    given = {k: v for k, v in arrays.items() if v is not None}
    if data is not None:
        if given:
            raise TypeError(f"pass either a data object or the arrays {', '.join(names)}, not both")
        if not isinstance(data, RFMSummary | Mapping) and not hasattr(data, "__getitem__"):
            raise TypeError(f"cannot read columns from {type(data).__name__}")
        cols = {name: _column_from(data, name) for name in names}
        if weights is None and _has_column(data, "weights"):
            weights = data["weights"]
        return cols, weights
    missing = [n for n in names if n not in given]
    if missing:
        raise TypeError(f"missing data: {', '.join(missing)}")
    return {n: given[n] for n in names}, weights


def validate_weights(weights: Any, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n)
    w = as_float(weights, "weights", nonnegative=True)
    same_length(weights=w, frequency=np.empty(n))
    if not w.sum() > 0:
        raise DataError("weights", "no positive weight: there is nothing to fit")
    return w


def validate_rfm(
    frequency: Any, recency: Any, T: Any, *, t_name: str = "T", discrete: bool = False
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Checks common to the frequency / recency / age models.

    Frequency counts repeat purchases (whole numbers >= 0); recency lies in ``[0, T]`` and
    is 0 exactly when frequency is 0 (a customer without repeat purchases has no last
    repeat purchase); ``T`` is positive.
    """
    x = as_float(frequency, "frequency", nonnegative=True, integer=True)
    tx = as_float(recency, "recency", nonnegative=True, integer=discrete)
    t = as_float(T, t_name, positive=True, integer=discrete)
    same_length(frequency=x, recency=tx, **{t_name: t})
    check_mask("recency", tx > t, f"recency greater than {t_name}")
    check_mask("recency", (x == 0) & (tx != 0), "nonzero recency where frequency is 0")
    if discrete:
        check_mask("frequency", x > tx, "frequency greater than recency")
    return x, tx, t


def broadcast_columns(**columns: Any) -> tuple[tuple[int, ...], dict[str, Any]]:
    """Broadcast prediction inputs to one shape (scalars stretch); flat views by name.

    Columns that cannot be broadcast (two arrays of different lengths) raise
    :class:`DataError` like the fitting path does.
    """
    arrays = {k: np.asarray(v) for k, v in columns.items()}
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        same_length(**{k: a.reshape(-1) for k, a in arrays.items()})
        raise
    return shape, {k: np.broadcast_to(a, shape).reshape(-1) for k, a in arrays.items()}


def prediction_rfm(
    frequency: Any, recency: Any, T: Any, *, t_name: str = "T", discrete: bool = False
) -> list[FloatArray]:
    """Validated frequency, recency and T for predictions, broadcast to one shape."""
    shape, cols = broadcast_columns(frequency=frequency, recency=recency, **{t_name: T})
    x, tx, t = validate_rfm(
        cols["frequency"], cols["recency"], cols[t_name], t_name=t_name, discrete=discrete
    )
    return [x.reshape(shape), tx.reshape(shape), t.reshape(shape)]


def compress(
    columns: list[FloatArray], weights: FloatArray, *, force: bool = False
) -> tuple[list[FloatArray], FloatArray]:
    """Merge identical rows, summing their weights (order of the result is sorted)."""
    n = weights.size
    if n < 2:
        return columns, weights
    if not force and n > _SAMPLE_ROWS:
        rng = np.random.default_rng(0)
        idx = rng.integers(0, n, _SAMPLE_ROWS)
        idx = idx[np.argsort(idx, kind="stable")]
        idx = idx[np.append(True, idx[1:] != idx[:-1])]  # distinct sampled rows
        sample = [c[idx] for c in columns]
        order = np.lexsort(sample[::-1])
        same = np.ones(idx.size - 1, dtype=bool)
        for c in sample:
            cs = c[order]
            same &= cs[1:] == cs[:-1]
        if same.sum() < _MIN_DUPLICATE_SHARE * idx.size:
            return columns, weights
    order = np.lexsort(columns[::-1])
    sorted_cols = [c[order] for c in columns]
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for c in sorted_cols:
        new[1:] |= c[1:] != c[:-1]
    starts = np.flatnonzero(new)
    return [c[starts] for c in sorted_cols], np.add.reduceat(weights[order], starts)


# ---------------------------------------------------------------------------------------
# optimiser
# ---------------------------------------------------------------------------------------


@attrs.frozen
class OptimResult:
    x: FloatArray
    fun: float
    hess: FloatArray
    iterations: int
    x_eval: FloatArray  # where ``fun`` and ``hess`` were evaluated (within 1e-6 of x)


def newton(
    objective: Callable[[FloatArray, int], Objective],
    x0: FloatArray,
    *,
    max_iter: int = 200,
    gtol: float = 1e-9,
    max_step: float = 2.0,
) -> OptimResult:
    """Minimise with Newton steps on a positive-definite modification of the Hessian.

    ``objective(x, order)`` returns the value and, for ``order == 2``, gradient and
    Hessian. Steps are capped at ``max_step`` in log-parameter units and halved until the
    objective decreases. Raises :class:`ConvergenceError` with a message saying why.
    """
    x = np.array(x0, dtype=np.float64)
    f, g, h = objective(x, 2)
    if not np.isfinite(f):
        raise ConvergenceError(f"the objective is not finite at the starting point {x}")
    if g is None or h is None:
        raise ConvergenceError("the objective returned no derivatives")
    prev_norm = 0.0
    for it in range(1, max_iter + 1):
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
            raise ConvergenceError(f"non-finite gradient or Hessian at {x} (iteration {it})")
        if np.max(np.abs(g)) < gtol:
            return OptimResult(x, f, h, it - 1, x)
        w0, v = np.linalg.eigh(h)
        floor = max(1e-8, 1e-10 * float(np.max(np.abs(w0))))
        w = np.maximum(np.abs(w0), floor)
        step = -v @ ((v.T @ g) / w)
        norm = float(np.max(np.abs(step)))
        pd = bool(w0.min() > floor)
        # Newton converges quadratically: the error left after this step is about
        # C norm**2 with C estimated from the previous step (norm / prev**2). Once that is
        # below 1e-7 in log-parameters (relative error 1e-7, far below any standard error
        # and the 1e-4 parity with lifetimes) the step is taken without re-evaluating.
        predicted = norm**3 / prev_norm**2 if prev_norm else np.inf
        if pd and (norm < 1e-5 or (norm < 1e-3 and predicted < 1e-7)):
            return OptimResult(x + step, f, h, it, x)
        full_step = pd and norm <= max_step
        if norm > max_step:
            step *= max_step / norm
        halved = -1
        for _ in range(60):
            halved += 1
            xn = x + step
            fn, gn, hn = objective(xn, 2)
            if (
                np.isfinite(fn)
                and fn <= f + 1e-4 * float(g @ step) + 1e-15 * abs(f)
                and np.all(np.isfinite(gn))  # type: ignore[arg-type]
                and np.all(np.isfinite(hn))  # type: ignore[arg-type]
            ):
                break
            step *= 0.5
        else:
            raise ConvergenceError(
                f"line search failed at iteration {it}: no step decreases the objective "
                f"from {f!r} (gradient {g})"
            )
        taken = float(np.max(np.abs(xn - x)))
        # the quadratic-convergence estimate needs an undamped Newton step
        prev_norm = norm if full_step and halved == 0 else 0.0
        small_step = taken < 1e-12
        x, f, g, h = xn, fn, gn, hn
        if g is None or h is None:
            raise ConvergenceError("the objective returned no derivatives")
        if small_step:
            return OptimResult(x, f, h, it, x)
    raise ConvergenceError(
        f"no convergence after {max_iter} Newton iterations (gradient {g}); "
        "the data may not identify the model: try a penalizer"
    )


def dot(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    """``a @ b`` for vectors, without BLAS.

    OpenBLAS runs its own threads for long vectors and keeps them spinning afterwards,
    which starves the threads of a chunked objective; numpy's own loop does not.
    """
    return float(np.einsum("i,i->", a, b))


def _workers() -> int:
    """Threads for objective evaluation: ``RELCORE_NUM_THREADS``, else the usable CPUs
    (at most 4)."""
    env = os.environ.get("RELCORE_NUM_THREADS", "").strip()
    if env:
        return max(1, int(env))
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, usable or 1))


@functools.cache
def _pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="relcore-fit")


def chunked_objective(
    factory: Callable[[dict[str, FloatArray], FloatArray], Callable[[FloatArray, int], Objective]],
    data: dict[str, FloatArray],
    weights: FloatArray,
) -> Callable[[FloatArray, int], Objective]:
    """The objective over all rows as the sum of objectives over chunks of rows, evaluated
    in parallel threads (a log-likelihood, its gradient and Hessian are sums over rows)."""
    workers = _workers()
    if workers < 2 or weights.size < _PARALLEL_ROWS:
        return factory(data, weights)
    bounds = np.linspace(0, weights.size, workers + 1).astype(np.int64).tolist()
    parts = [
        factory({k: v[lo:hi] for k, v in data.items()}, weights[lo:hi])
        for lo, hi in itertools.pairwise(bounds)
    ]

    def objective(theta: FloatArray, order: int) -> Objective:
        results = list(_pool(workers).map(lambda part: part(theta, order), parts))
        ll = sum(r[0] for r in results)
        if order < 2:
            return ll, None, None
        grads = [r[1] for r in results if r[1] is not None]
        hessians = [r[2] for r in results if r[2] is not None]
        return ll, np.sum(grads, axis=0), np.sum(hessians, axis=0)

    return objective


# ---------------------------------------------------------------------------------------
# fitted-model base class
# ---------------------------------------------------------------------------------------


def _positive(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive finite number, got {value!r}")


def param_field() -> Any:
    """An attrs field for a model parameter: a positive finite float."""
    return attrs.field(converter=float, validator=_positive)


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
        if not 0 < level < 1:
            raise ValueError(f"level must lie in (0, 1), got {level}")
        se = self.standard_errors
        if se is None:
            return None
        z = float(stats.norm.ppf(0.5 + level / 2))
        out = {}
        for name, value in self.params.items():
            half = z * se[name] / value
            out[name] = (value * float(np.exp(-half)), value * float(np.exp(half)))
        return out

    def summary(self, level: float = 0.95) -> str:
        """A table of parameters with standard errors and confidence intervals.

        Examples
        --------
        >>> from relcore.scoring import ShiftedBetaGeometric
        >>> m = ShiftedBetaGeometric.fit([1000, 631, 468, 382, 326, 289, 262, 241])
        >>> print(m.summary().splitlines()[1])
        parameter  estimate       se  lower 95%  upper 95%
        """
        rows = [("parameter", "estimate", "se", f"lower {level:.0%}", f"upper {level:.0%}")]
        se = self.standard_errors
        ci = self.confidence_intervals(level)
        for name, value in self.params.items():
            if se is None or ci is None:
                rows.append((name, f"{value:.6g}", "", "", ""))
            else:
                lo, hi = ci[name]
                rows.append((name, f"{value:.6g}", f"{se[name]:.4g}", f"{lo:.6g}", f"{hi:.6g}"))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        info = self.fit_info
        if info is None:
            head = f"{type(self).__name__} with known parameters"
        else:
            pen = f", penalizer {info.penalizer:g}" if info.penalizer else ""
            head = (
                f"{type(self).__name__} fitted to {info.n_customers:,.0f} customers "
                f"({info.n_rows:,} distinct rows), log-likelihood "
                f"{info.log_likelihood:,.2f}{pen}"
            )
        return "\n".join([head, *lines])

    def __repr__(self) -> str:
        if self.fit_info is None:
            args = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
            return f"{type(self).__name__}({args})"
        return f"<{self.summary()}>"

    # -- fitting ------------------------------------------------------------------------
    @classmethod
    def _objective_factory(
        cls, columns: dict[str, FloatArray], weights: FloatArray
    ) -> Callable[[FloatArray, int], Objective]:
        """``(log_params, order) -> (loglik, grad, hess)`` totals over the rows."""
        raise NotImplementedError

    @classmethod
    def _start(cls, columns: dict[str, FloatArray], weights: FloatArray) -> FloatArray:
        return np.zeros(len(cls._param_names))

    @classmethod
    def _from_fit(
        cls,
        columns: dict[str, FloatArray],
        weights: FloatArray,
        *,
        time_columns: tuple[str, ...] = (),
        penalizer: float = 0.0,
        compress_rows: bool = True,
        start: FloatArray | None = None,
    ) -> Self:
        if not (np.isfinite(penalizer) and penalizer >= 0):
            raise ValueError(f"penalizer must be a finite number >= 0, got {penalizer!r}")
        names = list(columns)
        n_customers = float(weights.sum())
        cols = [columns[k] for k in names]
        if compress_rows:
            cols, weights = compress(cols, weights)
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

        x0 = cls._start(data, weights) if start is None else np.log(start) - log_scale
        if weights.size > _WARM_START_ROWS:
            # start from fits to nested random subsets (a few thousand rows, then a fifth
            # of the rows) so that the full data need only two or three Newton steps
            rng = np.random.default_rng(12345)
            for size in (5_000, max(20_000, weights.size // 5)):
                sub = rng.integers(0, weights.size, size)  # duplicates are harmless here
                sub_data = {k: v[sub] for k, v in data.items()}
                with contextlib.suppress(ConvergenceError):
                    x0 = newton(make(sub_data, weights[sub]), x0, gtol=1e-6).x
        objective = make(data, weights)
        result = newton(objective, x0)
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
        p_eval = np.exp(result.x_eval)
        ll_total = -(result.fun - penalizer * float(p_eval @ p_eval)) * float(weights.sum())
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


def unique_counts(x: FloatArray) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Distinct values of a whole-number column and each row's index into them.

    A bincount over the values replaces sorting when the largest count is modest (the
    usual case: frequencies of repeat purchases).
    """
    if x.size and x.max() < 4 * x.size + 1024:
        xi = x.astype(np.intp)
        present = np.bincount(xi) > 0
        ux = np.flatnonzero(present)
        lookup = np.cumsum(present) - 1
        ux_float: FloatArray = ux.astype(np.float64)
        return ux_float, lookup[xi]
    ux2, inv = np.unique(x, return_inverse=True)
    return ux2, inv


@np.errstate(all="ignore")
def expm1_ratio(u: Any) -> Any:
    """``expm1(u) / u``, equal to 1 at ``u = 0`` and accurate near it."""
    u = np.asarray(u, dtype=np.float64)
    small = np.abs(u) < 1e-8
    safe = np.where(small, 1.0, u)
    return np.where(small, 1.0 + u / 2, np.expm1(safe) / safe)


@np.errstate(all="ignore")
def log1p_ratio(u: Any) -> Any:
    """``log1p(u) / u``, equal to 1 at ``u = 0``."""
    u = np.asarray(u, dtype=np.float64)
    small = np.abs(u) < 1e-8
    safe = np.where(small, 1.0, u)
    return np.where(small, 1.0 - u / 2, np.log1p(safe) / safe)


def broadcast_float(*values: Any) -> list[FloatArray]:
    """Arrays of float64 broadcast to one shape (for vectorised predictions)."""
    arrays = [np.asarray(v, dtype=np.float64) for v in values]
    return list(np.broadcast_arrays(*arrays))


def jet_objective(
    rows: Callable[[list[Any], dict[str, FloatArray]], Any],
    data: dict[str, FloatArray],
    weights: FloatArray,
    chunk: int = 32_768,
) -> Callable[[FloatArray, int], Objective]:
    """An objective from a per-row log-likelihood written with the :mod:`._jet` helpers.

    Rows are processed ``chunk`` at a time so that the per-row Hessians (``m * m`` values
    per row) never need more than a few tens of megabytes.
    """
    from ._jet import Jet, weighted_sum

    n = weights.size
    bounds = [*range(0, n, chunk), n]

    def objective(theta: FloatArray, order: int) -> Objective:
        params: list[Any] = np.exp(theta).tolist() if order == 0 else Jet.parameters(theta)
        total, grad, hess = 0.0, None, None
        for lo, hi in itertools.pairwise(bounds):
            part = {k: v[lo:hi] for k, v in data.items()}
            v, g, h = weighted_sum(rows(params, part), weights[lo:hi])
            total += v
            if g is not None and h is not None:
                grad = g if grad is None else grad + g
                hess = h if hess is None else hess + h
        return total, grad, hess

    return objective


@attrs.frozen(repr=False)
class RFMModel(FittedModel):
    """A continuous-time purchase model fitted on frequency, recency and T (BG/NBD,
    MBG/NBD, Pareto/NBD): the ``fit`` they share."""

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
        >>> from relcore.scoring import BGNBD
        >>> m = BGNBD.fit(frequency=[0, 2, 5, 1], recency=[0, 20, 35, 3], T=[40, 38, 39, 30])
        >>> sorted(m.params)
        ['a', 'alpha', 'b', 'r']
        """
        cols, w = gather_columns(
            ("frequency", "recency", "T"),
            data,
            {"frequency": frequency, "recency": recency, "T": T},
            weights,
        )
        x, tx, t = validate_rfm(cols["frequency"], cols["recency"], cols["T"])
        wt = validate_weights(w, x.size)
        return cls._from_fit(
            {"frequency": x, "recency": tx, "T": t},
            wt,
            time_columns=("recency", "T"),
            penalizer=penalizer,
        )

    @classmethod
    def _time_jacobian(cls, data: dict[str, FloatArray], weights: FloatArray) -> float:
        # each purchase's density carries one power of the time unit
        return float(weights @ data["frequency"])
