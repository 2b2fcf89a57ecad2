"""Static customer covariates for the BG/NBD, Pareto/NBD and Gamma-Gamma models.

Covariates enter a model's scale parameters exponentially, as in CLVTools' static-
covariate models (Bachmann, Meierer & Näf): customer ``i`` with covariates ``z_i`` has

* Pareto/NBD: ``α_i = α exp(-γ'z_i)`` (purchase) and ``β_i = β exp(-δ'z_i)`` (dropout);
* BG/NBD: ``α_i = α exp(-γ'z_i)`` (purchase), ``a_i = a exp(δ'z_i)`` and
  ``b_i = b exp(δ'z_i)`` (dropout, one coefficient vector for both);
* Gamma-Gamma (CLVTools has no spending model with covariates; relcore's choice):
  ``v_i = v exp(θ'z_i)`` (spend), which multiplies the expected spend per transaction
  ``p v / (q - 1)`` by ``exp(θ'z_i)``.

So a positive purchase coefficient raises the purchase rate (``E[λ] = r/α``), a positive
Pareto/NBD dropout coefficient raises the dropout rate, and a positive spend coefficient
raises spend; the base parameters are those of a customer whose covariates are all 0.

Fitting works on per-row parameters. A row's log-parameters ``u_i`` are linear in the
fitted vector ``θ`` (base log-parameters, then the coefficients of each process),
``u_i = J_i θ``, so the total's derivatives are exactly ``Σ w_i J_iᵀ g_i`` and
``Σ w_i J_iᵀ H_i J_i`` with ``g_i``, ``H_i`` those of the row's log-likelihood in ``u_i``.
Where the covariates take few distinct values, rows with equal covariates share ``J`` and
each group is summed by the model's own fast objective (`_GroupedObjective`);
otherwise the model's ``_rows`` runs on per-row parameter jets (`_CovariateObjective`).
Identical rows (equal in the model's columns and in every covariate) are compressed into
weights first, and the elastic-net penalty acts on the coefficients only (`_Penalised`).

Predictions group customers by their distinct covariate rows and ask the model with that
group's parameters, so every prediction of the base model carries over unchanged.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from scipy import special

from ..._validation import as_float, check_mask, same_length
from ...errors import ConvergenceError, DataError, FitWarning
from . import _jet as jet
from ._base import FitInfo, FittedModel, _identified
from ._fitsummary import FitSummary
from ._inputs import compress, distinct_rows, gather_columns, validate_weights
from ._optimize import OptimResult, chunked_objective, minimize
from ._types import FloatArray, Objective

__all__ = ["CovariatePurchaseModel", "CovariateSpendModel"]

# Rows per block of the objective: the per-row Jacobians (rows x base parameters x all
# parameters) and Hessians of a block stay small.
_BLOCK_ROWS = 8_192
_MAX_ITER = 100


# -- covariate input --------------------------------------------------------------------
def covariate_matrix(
    covariates: Any, names: Sequence[str] | None = None
) -> tuple[FloatArray, tuple[str, ...]]:
    """Validated covariates as an ``(n, k)`` float matrix and their column names.

    A pandas / polars DataFrame or a mapping of columns supplies its own names; a 2-D
    array takes ``names`` (default ``x0, x1, ...``). Every value must be a finite number.
    """
    if isinstance(covariates, Mapping) or hasattr(covariates, "columns"):
        if names is not None:
            raise TypeError("covariate_names is for array covariates; a frame names its columns")
        cols = [
            str(c)
            for c in (covariates.keys() if isinstance(covariates, Mapping) else covariates.columns)
        ]
        if not cols:
            raise DataError("covariates", "no covariate columns")
        values = [as_float(np.asarray(covariates[c]), c) for c in cols]
        same_length(**dict(zip(cols, values, strict=True)))
        return np.column_stack(values), tuple(cols)
    arr = np.asarray(covariates)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DataError("covariates", f"must be a 2-D array or a frame, got shape {arr.shape}")
    k = arr.shape[1]
    labels = tuple(f"x{j}" for j in range(k)) if names is None else tuple(str(n) for n in names)
    if len(labels) != k:
        raise DataError("covariate_names", f"{len(labels)} names for {k} covariate columns")
    if len(set(labels)) != k:
        raise DataError("covariate_names", "duplicate names")
    if k == 0:
        raise DataError("covariates", "no covariate columns")
    values = [as_float(arr[:, j], labels[j]) for j in range(k)]
    return np.column_stack(values), labels


def _by_customer(covariates: Any, data: Any) -> Any:
    """Covariates with a ``customer_id`` column (or a pandas index of that name) put in
    the order of an [`RFMSummary`][relcore.scoring.summary.RFMSummary]'s customers, as a mapping
    of columns; other covariates are returned as they are (rows in the order of the data)."""
    from ..summary import RFMSummary

    columns: list[Any] | None = None
    if isinstance(covariates, Mapping):
        columns = list(covariates.keys())
    elif hasattr(covariates, "columns"):
        columns = list(covariates.columns)
    if columns is None:
        return covariates
    index = getattr(covariates, "index", None)
    if "customer_id" in columns:
        ids = np.asarray(covariates["customer_id"])
    elif getattr(index, "name", None) == "customer_id":
        ids = np.asarray(index)
    else:
        return covariates
    if not isinstance(data, RFMSummary):
        raise TypeError(
            "covariates with customer_id are aligned to an RFMSummary's customers: pass the "
            "summary as data, or covariates in the order of the data without customer_id"
        )
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    repeated = np.zeros(ids.size, dtype=bool)
    repeated[order[1:]] = sorted_ids[1:] == sorted_ids[:-1]
    check_mask("customer_id", repeated, "customer ids repeated in the covariates")
    target = np.asarray(data.customer_id)
    at = np.minimum(np.searchsorted(sorted_ids, target), max(ids.size - 1, 0))
    found = sorted_ids[at] == target if ids.size else np.zeros(target.size, dtype=bool)
    check_mask("customer_id", ~found, "customers of the data without covariates")
    rows = order[at]
    return {c: np.asarray(covariates[c])[rows] for c in columns if c != "customer_id"}


def _select(selection: Sequence[str], names: tuple[str, ...], process: str) -> tuple[int, ...]:
    if isinstance(selection, str):
        raise TypeError(f"{process} must be a list of covariate names, not one string")
    out = []
    for name in selection:
        if name not in names:
            raise DataError(process, f"unknown covariate {name!r} (covariates: {', '.join(names)})")
        out.append(names.index(name))
    if len(set(out)) != len(out):
        raise DataError(process, "a covariate is named twice")
    return tuple(out)


@attrs.frozen
class _Design:
    """Which base parameter a process scales, with which sign, and its covariates."""

    base: tuple[str, ...]  # the model's parameter names
    names: tuple[str, ...]  # every covariate column, in input order
    processes: tuple[tuple[str, tuple[int, ...]], ...]  # (process, columns of names)
    scales: Mapping[str, tuple[str, float]]  # base parameter -> (process, sign)

    @property
    def labels(self) -> tuple[str, ...]:
        """Coefficient names, ``process.covariate``, in the order of the fitted vector."""
        return tuple(f"{p}.{self.names[j]}" for p, cols in self.processes for j in cols)

    @property
    def used(self) -> tuple[int, ...]:
        """Covariate columns that some process uses (sorted)."""
        return tuple(sorted({j for _, cols in self.processes for j in cols}))

    def offsets(self) -> dict[str, slice]:
        """Where each process's coefficients sit in the fitted vector."""
        out, at = {}, len(self.base)
        for p, cols in self.processes:
            out[p] = slice(at, at + len(cols))
            at += len(cols)
        return out

    def log_scales(self, coef: FloatArray, Z: FloatArray) -> dict[str, FloatArray]:
        """``sign * z_i'coef_process`` per scaled base parameter, per row of ``Z``."""
        offsets = self.offsets()
        eta = {}
        for p, cols in self.processes:
            s = offsets[p]
            beta = coef[s.start - len(self.base) : s.stop - len(self.base)]
            eta[p] = Z[:, list(cols)] @ beta if cols else np.zeros(Z.shape[0])
        return {name: sign * eta[p] for name, (p, sign) in self.scales.items()}


def _design(
    model: type[FittedModel], names: tuple[str, ...], selections: dict[str, Any]
) -> _Design:
    scales: Mapping[str, tuple[str, float]] = model._covariate_scales  # type: ignore[attr-defined]
    processes = list(dict.fromkeys(p for p, _ in scales.values()))
    # a process without a selection takes every covariate (CLVTools' ``~ . | .``)
    every = tuple(range(len(names)))
    chosen = {
        p: every if selections.get(p) is None else _select(selections[p], names, p)
        for p in processes
    }
    if not any(chosen.values()):
        raise DataError("covariates", "no covariate is selected for any process")
    return _Design(
        base=model._param_names,
        names=names,
        processes=tuple((p, chosen[p]) for p in processes),
        scales=dict(scales),
    )


# -- the objective ------------------------------------------------------------------------
class _CovariateObjective:
    """Total log-likelihood of rows with per-row parameters, with its exact derivatives
    in the fitted vector (see the module docstring)."""

    def __init__(
        self,
        rows: Callable[[list[Any], dict[str, FloatArray]], Any],
        design: _Design,
        data: dict[str, FloatArray],
        Z: FloatArray,
        weights: FloatArray,
    ) -> None:
        self.rows, self.design, self.data, self.Z, self.w = rows, design, data, Z, weights
        self.P = len(design.base)
        self.m = self.P + len(design.labels)

    def _jacobian(self, Z: FloatArray) -> FloatArray:
        """Per row, the Jacobian of the row's log-parameters in the fitted vector."""
        design, P = self.design, self.P
        J = np.zeros((Z.shape[0], P, self.m))
        offsets = design.offsets()
        cols = dict(design.processes)
        for i, name in enumerate(design.base):
            J[:, i, i] = 1.0
            if name in design.scales:
                process, sign = design.scales[name]
                J[:, i, offsets[process]] = sign * Z[:, list(cols[process])]
        return J

    def __call__(self, theta: FloatArray, order: int) -> Objective:
        design = self.design
        P = len(design.base)
        shifts = design.log_scales(theta[P:], self.Z)
        n = self.w.size
        ll = 0.0
        g = np.zeros(self.m)
        H = np.zeros((self.m, self.m))
        for lo in range(0, n, _BLOCK_ROWS):
            hi = min(n, lo + _BLOCK_ROWS)
            w = self.w[lo:hi]
            part = {k: v[lo:hi] for k, v in self.data.items()}
            params: list[Any] = []
            for i, name in enumerate(design.base):
                val = (
                    np.exp(theta[i] + shifts[name][lo:hi]) if name in shifts else math.exp(theta[i])
                )
                if order < 2:
                    params.append(val)
                    continue
                val = np.asarray(val, dtype=np.float64)
                grad = np.zeros((*val.shape, P))
                grad[..., i] = val
                hess = np.zeros((*val.shape, P, P))
                hess[..., i, i] = val
                params.append(jet.Jet(val, grad, hess))
            out = self.rows(params, part)
            if not isinstance(out, jet.Jet):
                ll += float(np.dot(w, np.broadcast_to(out, w.shape)))
                continue
            k = hi - lo
            val = np.broadcast_to(out.val, (k,))
            gl = np.broadcast_to(out.grad, (k, P)) * w[:, None]
            hl = np.broadcast_to(out.hess, (k, P, P)) * w[:, None, None]
            J = self._jacobian(self.Z[lo:hi])
            ll += float(np.dot(w, val))
            g += np.einsum("ip,ipm->m", gl, J)
            H += np.einsum("ipm,ipk->mk", J, np.einsum("ipq,iqk->ipk", hl, J))
        if order < 2:
            return ll, None, None
        return ll, g, H


class _GroupedObjective:
    """The same total for covariates that take few distinct values (categories, flags):
    within a group of rows with equal covariates every parameter is one number, so each
    group is summed by the model's own fast objective at the group's log-parameters
    ``J_g θ``, and ``Σ_g J_gᵀ g_g``, ``Σ_g J_gᵀ H_g J_g`` are the derivatives."""

    def __init__(
        self,
        model: type[FittedModel],
        design: _Design,
        data: dict[str, FloatArray],
        Z: FloatArray,
        weights: FloatArray,
        groups: npt.NDArray[np.intp],
    ) -> None:
        jacobian = _CovariateObjective(model._rows, design, data, Z, weights)._jacobian
        order = np.argsort(groups, kind="stable")
        bounds = np.searchsorted(groups[order], np.arange(int(groups.max()) + 2))
        self.parts: list[tuple[Callable[[FloatArray, int], Objective], FloatArray]] = []
        for lo, hi in itertools.pairwise(bounds.tolist()):
            idx = order[lo:hi]
            sub = {k: v[idx] for k, v in data.items()}
            objective = (
                chunked_objective(model._objective_factory, sub, weights[idx])
                if model._chunked_objective
                else model._objective_factory(sub, weights[idx])
            )
            self.parts.append((objective, jacobian(Z[idx[:1]])[0]))

    def __call__(self, theta: FloatArray, order: int) -> Objective:
        ll = 0.0
        m = theta.size
        g, H = np.zeros(m), np.zeros((m, m))
        for objective, J in self.parts:
            value, gl, hl = objective(J @ theta, order)
            ll += value
            if order >= 2 and gl is not None and hl is not None:
                g += J.T @ gl
                H += J.T @ hl @ J
        if order < 2:
            return ll, None, None
        return ll, g, H


# Covariates with at most this many distinct rows (and at most one per _MIN_GROUP_ROWS
# rows of data) are summed group by group with the model's own objective.
_MAX_GROUPS = 1_000
_MIN_GROUP_ROWS = 20


def _likelihood(
    model: type[FittedModel],
    design: _Design,
    data: dict[str, FloatArray],
    Z: FloatArray,
    weights: FloatArray,
) -> Callable[[FloatArray, int], Objective]:
    """The objective over the rows: by covariate group where groups are few and large,
    else row by row."""
    # (None: the covariate rows hardly repeat)
    distinct = distinct_rows([Z[:, j] for j in design.used]) if weights.size > 1 else None
    if distinct is not None:
        uniq, groups = distinct
        n_groups = uniq[0].size
        if n_groups <= _MAX_GROUPS and n_groups * _MIN_GROUP_ROWS <= weights.size:
            return _GroupedObjective(model, design, data, Z, weights, groups)
    return _CovariateObjective(model._rows, design, data, Z, weights)


# -- fitting --------------------------------------------------------------------------------
def fit_with_covariates(
    model: type[FittedModel],
    data: Any,
    arrays: dict[str, Any],
    *,
    weights: Any,
    penalizer: float,
    covariates: Any,
    covariate_names: Sequence[str] | None,
    selections: dict[str, Any],
    penalty: float,
    l1_ratio: float = 0.0,
) -> Any:
    """The covariate fit of ``model`` (BG/NBD, Pareto/NBD or Gamma-Gamma)."""
    if not hasattr(model, "_covariate_scales"):
        raise TypeError(f"{model.__name__} has no covariate version")
    for name, value in (("penalizer", penalizer), ("penalty", penalty)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if not 0 <= l1_ratio <= 1:
        raise ValueError(f"l1_ratio must lie in [0, 1], got {l1_ratio!r}")
    columns, raw_weights = gather_columns(model._columns, data, arrays, weights)
    rows = model._validate(columns)
    n = len(rows[model._columns[0]])
    if n == 0:
        raise DataError(model._columns[0], model._empty)
    Z_all, names = covariate_matrix(_by_customer(covariates, data), covariate_names)
    if Z_all.shape[0] != n:
        raise DataError(
            "covariates", f"{Z_all.shape[0]} rows of covariates for {n} customers (one row each)"
        )
    w = validate_weights(raw_weights, n)
    model._check_fittable(rows, w)
    design = _design(model, names, selections)
    used = design.used
    counted = w > 0
    if penalty * (1.0 - l1_ratio) == 0:  # only an L2 part identifies a constant column
        for j in used:
            col = Z_all[counted, j]
            if col.size and np.ptp(col) == 0:
                raise DataError(
                    names[j],
                    f"the same value ({col[0]:g}) for every customer: its coefficient cannot "
                    "be told apart from the base parameter it scales (drop the column or set "
                    "a penalty)",
                )
    # the covariates not used by any process are left out (they do not split rows)
    Z = np.zeros((n, len(names)))
    Z[:, list(used)] = Z_all[:, list(used)]
    keys = list(model._columns)
    cols, cw = compress([rows[k] for k in keys] + [Z[:, j] for j in used], w)
    keep = cw > 0
    cols, cw = [c[keep] for c in cols], cw[keep]
    cdata = dict(zip(keys, cols[: len(keys)], strict=True))
    cZ = np.zeros((cw.size, len(names)))
    for j, c in zip(used, cols[len(keys) :], strict=True):
        cZ[:, j] = c
    scale = 1.0
    if model._time_columns:
        scale = float(max(np.max(rows[k]) for k in model._time_columns)) or 1.0
    cdata = {k: (v / scale if k in model._time_columns else v) for k, v in cdata.items()}
    log_scale = np.array([math.log(scale) if p in model._time_params else 0.0 for p in design.base])

    start = _start(model, rows, w, log_scale)
    x0 = np.concatenate([start, np.zeros(len(design.labels))])
    loglik = _likelihood(model, design, cdata, cZ, cw)
    total = float(cw.sum())
    P = len(design.base)

    penalised = _Penalised(loglik, total, P, penalizer, penalty, l1_ratio)
    result, zero = penalised.solve(x0)
    labels = design.base + design.labels
    if not result.success:
        at = ", ".join(
            f"{k}={v:.4g}"
            for k, v in zip(
                labels, _natural(penalised.full(result.x, zero), P, log_scale), strict=True
            )
        )
        raise ConvergenceError(
            f"the optimiser did not converge ({result.message}), stopping at {at}: the "
            "data may not identify the covariate model (parameters growing without bound "
            "together mark a boundary such as no heterogeneity in dropout): try a penalty "
            "or fewer covariates"
        )
    if not _identified(result.hess):
        eig = np.linalg.eigvalsh(result.hess)
        raise ConvergenceError(
            "the maximum is not identified: the observed information matrix is singular "
            f"(smallest eigenvalue {eig[0]:.3g}, largest {eig[-1]:.3g}); covariates that are "
            "collinear (for instance every level of a category) or that hardly vary cannot "
            "be separated: drop one or set a penalty"
        )
    theta = penalised.full(result.x, zero)
    base = np.exp(theta[:P] + log_scale)
    beta = theta[P:]
    ll = penalised.loglik_at(theta) - model._time_jacobian(cdata, cw) * math.log(scale)
    # observed information (of the penalised likelihood) in the fitted vector, then the
    # delta method to natural base parameters (the coefficients are already natural);
    # coefficients the L1 penalty sets to 0 have no standard error
    free = np.flatnonzero(~penalised.mask(zero))
    cov = np.full((theta.size, theta.size), np.nan)
    cov[np.ix_(free, free)] = np.linalg.inv(result.hess * total)
    d = np.concatenate([base, np.ones(beta.size)])
    info = FitInfo(
        log_likelihood=float(ll),
        covariance=np.asarray(cov * np.outer(d, d), dtype=np.float64),
        n_customers=total,
        n_rows=int(cw.size),
        penalizer=penalizer,
        iterations=result.iterations,
    )
    base_model = model(**dict(zip(design.base, base.tolist(), strict=True)))
    offsets = design.offsets()
    coefficients = {
        p: dict(zip((names[j] for j in cols), theta[offsets[p]].tolist(), strict=True))
        for p, cols in design.processes
    }
    cls: type[_CovariateFit] = CovariateSpendModel if "spend" in offsets else CovariatePurchaseModel
    return cls(
        base=base_model,
        coefficients=coefficients,
        penalty=penalty,
        l1_ratio=l1_ratio,
        fit_info=info,
    )


def _natural(theta: FloatArray, P: int, log_scale: FloatArray) -> FloatArray:
    out: FloatArray = np.concatenate([np.exp(theta[:P] + log_scale), theta[P:]])
    return out


class _Penalised:
    """``-loglik / n + penalizer Σ p² + penalty ((1 - l1_ratio) Σ β² + l1_ratio Σ |β|)``
    over the base parameters ``p`` (rescaled time) and the coefficients ``β``, minimised.

    Without an L1 part the objective is smooth and one trust-region search finds its
    minimum. With one, ``|β|`` is not differentiable at 0, so the search works on an
    active set: coefficients held at 0 are left out, the others keep a sign, on which
    ``|β| = sign · β`` is smooth; after each search, a coefficient that crossed 0 joins
    the set, and one held at 0 leaves it when the slope of the rest of the objective
    there exceeds the L1 weight (the optimality condition of a coefficient at 0). The
    search ends when neither happens: the elastic-net solution, with exact zeros.
    """

    def __init__(
        self,
        loglik: Callable[[FloatArray, int], Objective],
        total: float,
        P: int,
        penalizer: float,
        penalty: float,
        l1_ratio: float,
    ) -> None:
        self.loglik, self.total, self.P = loglik, total, P
        self.penalizer = penalizer
        self.l2 = penalty * (1.0 - l1_ratio)
        self.l1 = penalty * l1_ratio

    def mask(self, zero: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Which entries of the fitted vector are held at 0."""
        return np.concatenate([np.zeros(self.P, dtype=bool), zero])

    def full(self, x: FloatArray, zero: npt.NDArray[np.bool_]) -> FloatArray:
        theta = np.zeros(self.P + zero.size)
        theta[~self.mask(zero)] = x
        return theta

    def loglik_at(self, theta: FloatArray) -> float:
        with np.errstate(all="ignore"):
            return float(self.loglik(theta, 0)[0])

    def smooth(
        self, zero: npt.NDArray[np.bool_], sign: FloatArray, eps: float = 0.0
    ) -> Callable[[FloatArray, int], Objective]:
        """The objective over the free entries, ``|β|`` taken as ``sign · β`` (or, with
        ``eps``, as ``sqrt(β² + eps²)``)."""
        P, keep = self.P, ~self.mask(zero)

        def objective(x: FloatArray, order: int) -> Objective:
            theta = self.full(x, zero)
            with np.errstate(all="ignore"):
                ll, g, h = self.loglik(theta, order)
            p, beta = np.exp(theta[:P]), theta[P:]
            root = np.sqrt(beta * beta + eps * eps)
            l1 = float(root.sum()) if eps else float(sign @ beta)
            f = (
                -ll / self.total
                + self.penalizer * float(p @ p)
                + self.l2 * float(beta @ beta)
                + self.l1 * l1
            )
            if order < 2 or g is None or h is None:
                return f, None, None
            gf = -g / self.total
            gf[:P] += 2.0 * self.penalizer * p * p
            gf[P:] += 2.0 * self.l2 * beta + self.l1 * (beta / root if eps else sign)
            hf = -h / self.total
            hf[:P, :P] += np.diag(4.0 * self.penalizer * p * p)
            curvature = self.l1 * eps * eps / root**3 if eps else 0.0
            hf[P:, P:] += np.diag(np.full(beta.size, 2.0 * self.l2) + curvature)
            return f, gf[keep], hf[np.ix_(keep, keep)]

        return objective

    def solve(self, x0: FloatArray) -> tuple[OptimResult, npt.NDArray[np.bool_]]:
        """The minimum, and which coefficients the L1 penalty holds at 0."""
        P, k = self.P, x0.size - self.P
        zero = np.zeros(k, dtype=bool)
        result = minimize(self.smooth(zero, np.zeros(k)), x0, max_iter=_MAX_ITER)
        if self.l1 == 0 or not result.success:
            return result, zero
        # The L1 term smoothed near 0 first, only to guess the active set: coefficients
        # that belong at 0 end within a few eps of it, the others have their signs (the
        # search need not converge: the exact rounds below decide).
        eps = _L1_SMOOTHING
        guess = minimize(self.smooth(zero, np.zeros(k), eps), result.x, max_iter=_SMOOTH_ITER)
        theta = guess.x.copy() if np.all(np.isfinite(guess.x)) else result.x.copy()
        zero = np.abs(theta[P:]) < 10.0 * eps
        sign = np.where(zero, 0.0, np.sign(theta[P:]))
        for _ in range(_ACTIVE_SET_ROUNDS):
            theta[P:][zero] = 0.0
            result = minimize(self.smooth(zero, sign), theta[~self.mask(zero)], max_iter=_MAX_ITER)
            if not result.success:
                return result, zero
            theta = self.full(result.x, zero)
            crossed = ~zero & (sign * theta[P:] < 0)
            slope = self._slope(theta)
            leaving = zero & (np.abs(slope) > self.l1 * (1.0 + 1e-9))
            if not crossed.any() and not leaving.any():
                return result, zero
            zero = (zero | crossed) & ~leaving
            sign = np.where(leaving, -np.sign(slope), np.where(zero, 0.0, sign))
        message = "the coefficients held at 0 by the L1 penalty did not settle"
        return attrs.evolve(result, success=False, message=message), zero

    def _slope(self, theta: FloatArray) -> FloatArray:
        """The gradient in the coefficients of everything but the L1 term (where a
        coefficient is held at 0, it may stay there while this is below the L1 weight)."""
        k = theta.size - self.P
        rest = self.smooth(np.zeros(k, dtype=bool), np.zeros(k))(theta, 2)[1]
        out: FloatArray = np.zeros(k) if rest is None else rest[self.P :]
        return out


# Predictions for more distinct covariate rows than this take every customer's parameters
# at once rather than one model per distinct row.
_MAX_PREDICTION_GROUPS = 64

# Searches of the L1 active set before giving up, and the width of the smoothing of |β|
# in the search that finds the first signs.
_ACTIVE_SET_ROUNDS = 20
_L1_SMOOTHING = 1e-3
_SMOOTH_ITER = 30


def _start(
    model: type[FittedModel], rows: dict[str, FloatArray], w: FloatArray, log_scale: FloatArray
) -> FloatArray:
    """The base log-parameters (in rescaled time) of the fit without covariates, or the
    model's default start when that fit fails or lies at its boundary."""
    default = model._start(dict(rows), w)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", FitWarning)
            plain = model._from_fit(rows, w)
    except (ConvergenceError, FitWarning):
        return default
    start: FloatArray = np.log(plain._param_values()) - log_scale
    return start


# -- fitted models ----------------------------------------------------------------------------
def _coefficients(value: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    return {str(p): {str(k): float(v) for k, v in coef.items()} for p, coef in value.items()}


@attrs.frozen(repr=False)
class _CovariateFit:
    """A model whose scale parameters depend on each customer's covariates."""

    base: Any
    coefficients: dict[str, dict[str, float]] = attrs.field(converter=_coefficients)
    penalty: float = attrs.field(default=0.0, kw_only=True)
    l1_ratio: float = attrs.field(default=0.0, kw_only=True)
    fit_info: FitInfo | None = attrs.field(default=None, kw_only=True, eq=False)

    def __attrs_post_init__(self) -> None:
        model = type(self.base)
        scales = getattr(model, "_covariate_scales", None)
        if scales is None:
            raise TypeError(f"{model.__name__} has no covariate version")
        processes = {p for p, _ in scales.values()}
        unknown = set(self.coefficients) - processes
        if unknown:
            raise ValueError(
                f"unknown process {sorted(unknown)} for {model.__name__} "
                f"(its processes: {', '.join(sorted(processes))})"
            )

    @property
    def covariate_names(self) -> tuple[str, ...]:
        """The covariates the model reads, in order of first use."""
        return tuple(dict.fromkeys(n for v in self.coefficients.values() for n in v))

    @property
    def params(self) -> dict[str, float]:
        """Base parameters, then coefficients named ``process.covariate``."""
        out = dict(self.base.params)
        for p, coef in self.coefficients.items():
            out.update({f"{p}.{n}": v for n, v in coef.items()})
        return out

    @property
    def log_likelihood(self) -> float | None:
        """Total log-likelihood at the fit (None when built from known parameters)."""
        return None if self.fit_info is None else self.fit_info.log_likelihood

    @property
    def standard_errors(self) -> dict[str, float] | None:
        """Standard errors from the observed information (None when not fitted)."""
        if self.fit_info is None:
            return None
        se = np.sqrt(np.clip(np.diag(self.fit_info.covariance), 0.0, None))
        return dict(zip(self.params, se.tolist(), strict=True))

    def summary(self, level: float = 0.95) -> FitSummary:
        """Parameters and coefficients with standard errors and Wald intervals: on the log
        scale for the (positive) base parameters, plain for the coefficients."""
        if not 0 < level < 1:
            raise ValueError(f"level must lie in (0, 1), got {level}")
        values = np.array(list(self.params.values()))
        nan = np.full(values.size, np.nan)
        se, lower, upper = nan, nan, nan
        P = len(self.base.params)
        if self.fit_info is not None:
            se = np.sqrt(np.clip(np.diag(self.fit_info.covariance), 0.0, None))
            z = float(special.ndtri(0.5 + level / 2))
            half = z * se
            with np.errstate(over="ignore"):
                lower = np.concatenate(
                    [values[:P] * np.exp(-half[:P] / values[:P]), values[P:] - half[P:]]
                )
                upper = np.concatenate(
                    [values[:P] * np.exp(half[:P] / values[:P]), values[P:] + half[P:]]
                )
        notes: tuple[str, ...] = ()
        held = [k for k, v in zip(self.params, se, strict=True) if np.isnan(v)]
        if self.fit_info is not None and held:
            notes = (f"set to 0 by the L1 penalty (no standard error): {', '.join(held)}",)
        return FitSummary(
            model=f"{type(self.base).__name__} with covariates",
            title=self._describe(),
            parameter=tuple(self.params),
            estimate=values,
            se=se,
            lower=lower,
            upper=upper,
            level=level,
            notes=notes,
        )

    def _describe(self) -> str:
        name = f"{type(self.base).__name__} with covariates"
        info = self.fit_info
        if info is None:
            return f"{name}, known parameters"
        pen = f", penalizer {info.penalizer:g}" if info.penalizer else ""
        pen += f", penalty {self.penalty:g}" if self.penalty else ""
        pen += f" (l1_ratio {self.l1_ratio:g})" if self.penalty and self.l1_ratio else ""
        return (
            f"{name} fitted to {info.n_customers:,.0f} customers ({info.n_rows:,} distinct "
            f"rows), log-likelihood {info.log_likelihood:,.2f}{pen}"
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        return f"{type(self).__name__}({type(self.base).__name__}: {args})"

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    # -- per-customer parameters --------------------------------------------------------
    def _matrix(self, covariates: Any) -> FloatArray:
        """The model's covariates, in the order of `covariate_names`, from a frame,
        a mapping or a 2-D array (whose columns are those names, in that order)."""
        names = self.covariate_names
        if isinstance(covariates, Mapping) or hasattr(covariates, "columns"):
            available = (
                list(covariates.keys())
                if isinstance(covariates, Mapping)
                else list(covariates.columns)
            )
            missing = [n for n in names if n not in available]
            if missing:
                raise DataError("covariates", f"missing covariate columns {missing}")
            Z, _ = covariate_matrix({n: covariates[n] for n in names})
            return Z
        Z, _ = covariate_matrix(covariates, names)
        return Z

    def _params_of(self, Z: FloatArray) -> dict[str, FloatArray]:
        """Per-customer base parameters for covariates already in matrix form."""
        names = self.covariate_names
        scales = type(self.base)._covariate_scales
        out = {}
        for name, value in self.base.params.items():
            if name not in scales:
                out[name] = np.full(Z.shape[0], value)
                continue
            process, sign = scales[name]
            coef = self.coefficients.get(process, {})
            beta = np.array([coef.get(n, 0.0) for n in names])
            out[name] = value * np.exp(sign * (Z @ beta))
        return out

    def customer_params(self, covariates: Any) -> dict[str, FloatArray]:
        """Each customer's base-model parameters given their covariates.

        Examples
        --------
        >>> from relcore.scoring import ParetoNBD, CovariatePurchaseModel
        >>> m = CovariatePurchaseModel(ParetoNBD(r=0.5, alpha=10, s=0.6, beta=12),
        ...                            {"purchase": {"female": 0.5}, "dropout": {}})
        >>> m.customer_params({"female": [0, 1]})["alpha"].round(3).tolist()
        [10.0, 6.065]
        """
        return self._params_of(self._matrix(covariates))

    def individual(self, covariates: Any) -> Any:
        """The base model of one customer with these covariates (a mapping of values or
        a 1-D array in the order of `covariate_names`)."""
        row: Any = (
            {k: [v] for k, v in covariates.items()}
            if isinstance(covariates, Mapping)
            else np.asarray(covariates, dtype=np.float64).reshape(1, -1)
        )
        params = self.customer_params(row)
        return attrs.evolve(self.base, **{k: float(v[0]) for k, v in params.items()})

    def _by_group(
        self,
        covariates: Any,
        fn: Callable[..., FloatArray],
        *columns: Any,
        rows: Callable[..., FloatArray] | None = None,
    ) -> FloatArray:
        """``fn(model, *columns)`` with each customer's own model, once per distinct
        covariate row; columns broadcast to one value per customer. Where the covariate
        rows hardly repeat (a real-valued covariate), ``rows(params, *columns)`` takes
        every customer's parameters at once instead."""
        Z = self._matrix(covariates)
        n = Z.shape[0]
        cols = []
        for c in columns:
            arr = np.asarray(c)
            if arr.ndim > 1 or (arr.ndim == 1 and arr.size not in (1, n)):
                raise DataError(
                    "covariates", f"{n} rows of covariates for {arr.size} customers (one row each)"
                )
            cols.append(np.broadcast_to(arr, (n,)))
        out = np.empty(n)
        if n == 0:
            return out
        distinct = distinct_rows([Z[:, j] for j in range(Z.shape[1])]) if n > 1 else None
        many = distinct is None or distinct[0][0].size > _MAX_PREDICTION_GROUPS
        if many and rows is not None and not self.base._in_limit:
            return rows(self._params_of(Z), *cols)
        if distinct is None:  # every customer a covariate row of their own
            uZ, inverse = Z, np.arange(n)
        else:
            uZ, inverse = np.column_stack(distinct[0]), distinct[1]
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(uZ.shape[0] + 1))
        for g in range(uZ.shape[0]):
            idx = order[bounds[g] : bounds[g + 1]]
            model = self.individual(uZ[g])
            out[idx] = fn(model, *(c[idx] for c in cols))
        return out

    def bind(self, covariates: Any) -> Any:
        """The model for these customers: predictions without the ``covariates`` argument
        (for [`customer_lifetime_value`][relcore.scoring.purchase.customer_lifetime_value]), one
        covariate row per customer."""
        return _Bound(self, covariates)


@attrs.frozen(repr=False)
class CovariatePurchaseModel(_CovariateFit):
    """A BG/NBD or Pareto/NBD whose scale parameters depend on customer covariates.

    ``BGNBD.fit(..., covariates=...)`` and ``ParetoNBD.fit(..., covariates=...)`` return it; it can
    also be built from known values. Predictions take one covariate row per customer (a DataFrame or
    mapping with the covariate columns, or a 2-D array whose columns follow
    [`covariate_names`][relcore.scoring.purchase.CovariatePurchaseModel.covariate_names]).

    Attributes
    ----------
    base
        The model of a customer whose covariates are all 0.
    coefficients
        Per process (``"purchase"``, ``"dropout"``), the coefficient of each covariate.
        Pareto/NBD: ``α_i = α exp(-γ'z_i)``, ``β_i = β exp(-δ'z_i)``; BG/NBD:
        ``α_i = α exp(-γ'z_i)``, ``a_i = a exp(δ'z_i)``, ``b_i = b exp(δ'z_i)``.
    penalty
        The L2 penalty on the coefficients the fit used.
    fit_info
        Log-likelihood, covariance (base parameters, then coefficients) and sizes.

    Examples
    --------
    >>> from relcore.scoring import BGNBD, CovariatePurchaseModel
    >>> m = CovariatePurchaseModel(BGNBD(r=0.24, alpha=4.41, a=0.79, b=2.43),
    ...                            {"purchase": {"online": 0.4}, "dropout": {"online": 0.0}})
    >>> e = m.expected_purchases(39, 2, 30.43, 38.86, covariates={"online": [0, 1]})
    >>> bool(e[1] > e[0])
    True
    """

    def p_alive(self, frequency: Any, recency: Any, T: Any, *, covariates: Any) -> FloatArray:
        """P(alive) of each customer, from their history and covariates."""
        return self._by_group(
            covariates,
            lambda m, x, tx, t: m.p_alive(x, tx, t),
            frequency,
            recency,
            T,
            rows=type(self.base)._covariate_p_alive,
        )

    def expected_purchases(
        self, t: Any, frequency: Any, recency: Any, T: Any, *, covariates: Any
    ) -> FloatArray:
        """Expected purchases in ``(T, T + t]`` of each customer."""
        return self._by_group(
            covariates,
            lambda m, h, x, tx, tt: m.expected_purchases(h, x, tx, tt),
            t,
            frequency,
            recency,
            T,
            rows=type(self.base)._covariate_expected,
        )

    def expected_purchases_new(self, t: Any, *, covariates: Any) -> FloatArray:
        """Expected purchases in ``(0, t]`` of a customer just acquired, per covariate row."""
        return self._by_group(
            covariates,
            lambda m, h: m.expected_purchases_new(h),
            t,
            rows=type(self.base)._covariate_expected_new,
        )


@attrs.frozen(repr=False)
class CovariateSpendModel(_CovariateFit):
    """A Gamma-Gamma spend model whose scale ``v`` depends on customer covariates:
    ``v_i = v exp(θ'z_i)``, so ``exp(θ_j)`` multiplies the expected spend per transaction
    for each unit of covariate ``j``. ``GammaGamma.fit(..., covariates=...)`` returns it.

    Examples
    --------
    >>> from relcore.scoring import GammaGamma, CovariateSpendModel
    >>> m = CovariateSpendModel(GammaGamma(p=6.25, q=3.74, v=15.44), {"spend": {"vip": 0.5}})
    >>> new = m.expected_average_value(0, 0.0, covariates={"vip": [0, 1]})
    >>> round(float(new[1] / new[0]), 4) == round(float(np.exp(0.5)), 4)
    True
    """

    def expected_average_value(
        self, frequency: Any, monetary_value: Any, *, covariates: Any
    ) -> FloatArray:
        """Expected mean spend per transaction of each customer (note 025, eq. 5, with the
        customer's own ``v``)."""
        return self._by_group(
            covariates,
            lambda m, x, v: m.expected_average_value(x, v),
            frequency,
            monetary_value,
            rows=type(self.base)._covariate_average_value,
        )


@attrs.frozen
class _Bound:
    """A covariate model with its customers' covariates fixed: the prediction methods of
    the base model, as
    [`customer_lifetime_value`][relcore.scoring.purchase.customer_lifetime_value] calls them."""

    model: Any  # CovariatePurchaseModel or CovariateSpendModel
    covariates: Any

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        out: FloatArray = self.model.p_alive(frequency, recency, T, covariates=self.covariates)
        return out

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray:
        out: FloatArray = self.model.expected_purchases(
            t, frequency, recency, T, covariates=self.covariates
        )
        return out

    def expected_average_value(self, frequency: Any, monetary_value: Any) -> FloatArray:
        out: FloatArray = self.model.expected_average_value(
            frequency, monetary_value, covariates=self.covariates
        )
        return out
