"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import numpy as np
from scipy import special

from . import _jet as jet
from ._base import param_field
from ._conditional import pareto_new_pmf
from ._inputs import distinct_rows, time_horizon
from ._optimize import dot
from ._rfm import RFMModel, nbd_expected, nbd_log_pmf, no_dropout, summary_from
from ._special import expm1_ratio, group_rows, log_hyp2f1_shift1, psi_grouped, psi_table
from ._types import FloatArray, Objective

__all__ = ["ParetoNBD"]

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(128)
# from this many customers, P(alive) looks for repeated histories first
_DISTINCT_ROWS = 10_000


def _log_phi(a: Any, b: Any, z: Any) -> Any:
    """``log 2F1(a, b; a+1; z)`` on jets or arrays."""
    jets = [u for u in (a, b, z) if isinstance(u, jet.Jet)]
    av, bv, zv = jet.value(a), jet.value(b), jet.value(z)
    if not jets:
        return log_hyp2f1_shift1(av, bv, zv)[0]
    val, grad, hess = log_hyp2f1_shift1(av, bv, zv, derivatives=True)
    if grad is None or hess is None:  # pragma: no cover - derivatives were requested
        raise RuntimeError("derivatives missing")
    return jet.compose(val, grad, hess, [a, b, z])


def _log_terms(
    params: list[Any], x: FloatArray, tx: FloatArray, T: FloatArray, alpha_big: bool | None = None
) -> tuple[Any, Any]:
    """``(log A, log L0)``: the alive-at-T term and ``log(s F(t_x) + (r+x) G(T))``.

    The likelihood is ``Γ(r+x) α^r β^s / Γ(r) · L0`` with (Fader & Hardie 2005, note 008,
    rearranged so that both parts are positive)

    ``F(t) = ∫_t^∞ (α+τ)^-(r+x) (β+τ)^-(s+1) dτ``, ``G(t) = ∫_t^∞ (α+τ)^-(r+x+1) (β+τ)^-s dτ``,

    and ``(α+T)^-(r+x) (β+T)^-s = (r+x) G(T) + s F(T)`` (integration by parts), so
    ``L0 = s F(t_x) + (r+x) G(T)``. Each integral is
    ``(m+t)^-(r+s+x) / (r+s+x) · 2F1(r+s+x, b; r+s+x+1; |α-β|/(m+t))`` with ``m`` the
    larger of α and β: the branch that keeps the argument in ``[0, 1)``.
    """
    r, alpha, s, beta = params
    if alpha_big is None:
        alpha_v, beta_v = jet.value(alpha), jet.value(beta)
        if np.ndim(alpha_v) or np.ndim(beta_v):  # per-row scales (covariates)
            return _log_terms_by_branch(params, x, tx, T)
        alpha_big = bool(alpha_v >= beta_v)
    p = r + x
    ps = p + s
    log_ps = jet.log(ps)
    if alpha_big:
        big, diff = alpha, alpha - beta
        bF, bG = s + 1.0, s
    else:
        big, diff = beta, beta - alpha
        bF, bG = p, p + 1.0
    zF = diff / (big + tx)
    zG = diff / (big + T)
    logF = -ps * jet.log(big + tx) - log_ps + _log_phi(ps, bF, zF)
    logG = -ps * jet.log(big + T) - log_ps + _log_phi(ps, bG, zG)
    total = jet.logaddexp(jet.log(s) + logF, jet.log(p) + logG)
    alive = -p * jet.log(alpha + T) - s * jet.log(beta + T)
    return alive, total


def _log_terms_by_branch(
    params: list[Any], x: FloatArray, tx: FloatArray, T: FloatArray
) -> tuple[Any, Any]:
    """`_log_terms` with α and β per row: the rows where α >= β and the others take
    their own hypergeometric branch, and the results are put back in row order."""
    alpha, beta = params[1], params[3]
    n = x.size
    big = np.broadcast_to(jet.value(alpha) >= jet.value(beta), (n,))
    parts = []
    for rows, flag in ((np.flatnonzero(big), True), (np.flatnonzero(~big), False)):
        if not rows.size:
            continue
        sub = [_take(v, rows) for v in params]
        parts.append((rows, _log_terms(sub, x[rows], tx[rows], T[rows], flag)))
    return _scatter([(i, t[0]) for i, t in parts], n), _scatter([(i, t[1]) for i, t in parts], n)


def _take(v: Any, rows: Any) -> Any:
    if isinstance(v, jet.Jet):
        return v.take(rows)
    return v[rows] if np.ndim(v) else v


def _scatter(parts: list[tuple[Any, Any]], n: int) -> Any:
    """Row subsets (of values or jets) put back into ``n`` rows."""
    jets = [v for _, v in parts if isinstance(v, jet.Jet)]
    val = np.empty(n)
    for rows, v in parts:
        val[rows] = jet.value(v)
    if not jets:
        return val
    m = jets[0].m
    grad, hess = np.zeros((n, m)), np.zeros((n, m, m))
    for rows, v in parts:
        grad[rows] = np.broadcast_to(v.grad, (rows.size, m))
        hess[rows] = np.broadcast_to(v.hess, (rows.size, m, m))
    return jet.Jet(val, grad, hess)


@attrs.frozen(repr=False)
class ParetoNBD(RFMModel):
    """Pareto/NBD: Poisson purchases at rate ``λ ~ Gamma(r, α)`` during an exponential
    lifetime of rate ``μ ~ Gamma(s, β)``.

    Data per customer as for [`BGNBD`][relcore.scoring.purchase.BGNBD]. The likelihood is evaluated
    in log space on the hypergeometric branch that keeps its argument in ``[0, 1)``, so it stays
    finite for any frequency (lifetimes overflows above a few hundred).

    Attributes
    ----------
    r, alpha
        Shape and scale (in time units) of the gamma distribution of purchase rates.
    s, beta
        Shape and scale (in time units) of the gamma distribution of dropout rates. ``beta = inf``
        is the limit without dropout (``μ = 0`` for everyone, whatever ``s``): the NBD model, which
        a fit returns with a [`FitWarning`][relcore.errors.FitWarning] when the data show no sign of
        dropout.
    fit_info
        Log-likelihood, covariance and sizes of the fit (None for known parameters).

    Examples
    --------
    The CDNOW sample, as in Fader, Hardie & Lee (2005):

    >>> from relcore.datasets import load_cdnow_summary
    >>> m = ParetoNBD.fit(load_cdnow_summary())
    >>> {k: round(v, 3) for k, v in m.params.items()}
    {'r': 0.553, 'alpha': 10.578, 's': 0.606, 'beta': 11.668}
    >>> round(m.log_likelihood, 1)
    -9595.0

    (The paper prints β = 11.669; the exact maximum, checked against quadrature of the
    likelihood's defining integral, is 11.6679: the likelihood is very flat in β.)
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    _initial: ClassVar[tuple[float, ...]] = (0.5, 0.5, 0.5, 0.5)
    _time_params: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    _chunked_objective: ClassVar[bool] = True
    _limit = no_dropout("Pareto/NBD", "dropout rate μ", {"s": 1.0, "beta": np.inf})
    # static covariates (CLVTools): α_i = α exp(-γ'z), β_i = β exp(-δ'z)
    _covariate_scales: ClassVar[dict[str, tuple[str, float]]] = {
        "alpha": ("purchase", -1.0),
        "beta": ("dropout", -1.0),
    }

    r: float = param_field()
    alpha: float = param_field()
    s: float = param_field()
    beta: float = param_field(limit=True)

    @staticmethod
    def _rows(params: list[Any], data: dict[str, FloatArray]) -> Any:
        r, alpha, s, beta = params
        x, tx, T = data["frequency"], data["recency"], data["T"]
        head = jet.gammaln(r + x) - jet.gammaln(r) + r * jet.log(alpha) + s * jet.log(beta)
        return head + _log_terms(params, x, tx, T)[1]

    @classmethod
    def _objective_factory(
        cls, columns: dict[str, FloatArray], weights: FloatArray
    ) -> Callable[[FloatArray, int], Objective]:
        return _ParetoObjective(columns, weights)

    # -- predictions ----------------------------------------------------------------------
    def _alive(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        if self._in_limit:
            return np.ones_like(x)
        shape = x.shape
        x, tx, T = x.ravel(), tx.ravel(), T.ravel()
        # the hypergeometric terms cost far more than finding repeated histories (whole-
        # number periods repeat them many times over)
        distinct = distinct_rows([x, tx, T]) if x.size > _DISTINCT_ROWS else None
        if distinct is None:
            return self._alive_rows(x, tx, T).reshape(shape)
        (ux, utx, uT), inverse = distinct
        out: FloatArray = self._alive_rows(ux, utx, uT)[inverse].reshape(shape)
        return out

    def _alive_rows(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        """P(alive) of 1-d histories."""
        obj = _ParetoObjective({"frequency": x, "recency": tx, "T": T}, None)
        out = np.empty(x.size)
        out[obj.order] = np.minimum(obj.alive(self._param_values()), 1.0)
        # a purchase at T (or T = 0) leaves no time to have died unseen: exactly 1
        out[tx == T] = 1.0
        return out

    def _row_log_likelihood(self, rows: dict[str, FloatArray]) -> Any:
        if self._in_limit:
            return super()._row_log_likelihood(rows)
        # the fit's objective evaluates the hypergeometric terms per distinct frequency,
        # far faster than the jet form of ``_rows`` on plain arrays
        shape = rows["frequency"].shape
        flat = {k: v.reshape(-1) for k, v in rows.items()}
        obj = _ParetoObjective(flat, None)
        q = obj.shared(self._param_values(), False)
        mixed = np.empty(obj.x.size)
        for block in obj.blocks:
            UF, UG, _, _, _ = obj.terms(q, block, False)
            mixed[block[0] : block[1]] = np.logaddexp(UF, UG)
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        head = special.gammaln(r + obj.x) - special.gammaln(r) + r * np.log(alpha)
        out = np.empty(obj.x.size)
        out[obj.order] = head + s * np.log(beta) + mixed
        return out.reshape(shape)

    def p_alive(
        self, frequency: Any, recency: Any, T: Any, *, periods_ahead: Any = 0
    ) -> FloatArray:
        """Probability that the customer is still alive at ``T`` (note 008, eq. 18).

        With ``periods_ahead = t``, alive at ``T + t`` (btyd's P(alive) at a future
        time): P(alive) times ``((β+T)/(β+T+t))^s``, the chance that the posterior
        exponential lifetime, rate ``μ ~ Gamma(s, β+T)``, outlasts ``t`` more periods.

        Examples
        --------
        Without repeat purchases, a longer silence makes death more likely:

        >>> m = ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669)
        >>> bool(m.p_alive(0, 0, 10).item() > m.p_alive(0, 0, 40).item())
        True
        """
        if np.any(np.asarray(periods_ahead) != 0):
            return self._alive_ahead(frequency, recency, T, periods_ahead)
        return self._alive(*self._history(frequency, recency, T))

    def _still_alive(self, x: FloatArray, T: FloatArray, t: FloatArray) -> FloatArray:
        out: FloatArray = np.exp(-self.s * np.log1p(t / (self.beta + T)))
        return out

    def _fresh_pmf(self, n: FloatArray, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        return pareto_new_pmf(n, t, self.r + x, self.alpha + T, self.s, self.beta + T)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Expected purchases in ``(T, T + t]`` given the history (note 008, eq. 22):
        ``P(alive) (r+x)(β+T) / ((α+T)(s-1)) [1 - ((β+T)/(β+T+t))^(s-1)]``, with the
        ``s = 1`` limit taken exactly.

        Examples
        --------
        >>> ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669).expected_purchases(
        ...     0, 2, 30, 39).item()
        0.0
        """
        x, tx, T_, tt = self._history_ahead(t, frequency, recency, T)
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        if self._in_limit:
            return nbd_expected(tt, x, T_, r, alpha)
        ell = np.log1p(tt / (beta + T_))
        per_alive = (r + x) * (beta + T_) / (alpha + T_) * ell * expm1_ratio(-(s - 1.0) * ell)
        out: FloatArray = per_alive * self._alive(x, tx, T_)
        return out

    def _discounted_purchases(
        self, x: FloatArray, tx: FloatArray, T: FloatArray, t: FloatArray, w: FloatArray
    ) -> FloatArray:
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        if self._in_limit:
            return nbd_expected(np.asarray(t @ w), x, T, r, alpha)
        # the expectation of an alive customer is elementary: only P(alive) is costly,
        # and it does not depend on the horizon
        bT = beta + T
        total = np.zeros(x.size)
        for tk, wk in zip(t.tolist(), w.tolist(), strict=True):
            ell = np.log1p(tk / bT)
            total += wk * ell * expm1_ratio(-(s - 1.0) * ell)
        out: FloatArray = total * ((r + x) * bT / (alpha + T)) * self._alive(x, tx, T)
        return out

    # -- predictions with a parameter set per customer (covariates) -----------------------
    @classmethod
    def _covariate_p_alive(
        cls, p: dict[str, FloatArray], frequency: Any, recency: Any, T: Any
    ) -> FloatArray:
        """[`p_alive`][relcore.scoring.purchase.ParetoNBD.p_alive] with ``r, alpha, s, beta`` one
        per customer (1-d histories):
        the alive-at-T term over the likelihood's sum, each row on its own branch."""
        x, tx, T_ = cls._history(frequency, recency, T)
        params = [p["r"], p["alpha"], p["s"], p["beta"]]
        alive, total = _log_terms(params, x, tx, T_)
        out: FloatArray = np.minimum(np.exp(alive - total), 1.0)
        # a purchase at T (or T = 0) leaves no time to have died unseen: exactly 1
        return np.where(tx == T_, 1.0, out)

    @classmethod
    def _covariate_expected(
        cls, p: dict[str, FloatArray], t: Any, frequency: Any, recency: Any, T: Any
    ) -> FloatArray:
        """[`expected_purchases`][relcore.scoring.purchase.ParetoNBD.expected_purchases] with the
        parameters one per customer."""
        x, tx, T_, tt = cls._history_ahead(t, frequency, recency, T)
        r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
        ell = np.log1p(tt / (beta + T_))
        per_alive = (r + x) * (beta + T_) / (alpha + T_) * ell * expm1_ratio(-(s - 1.0) * ell)
        out: FloatArray = per_alive * cls._covariate_p_alive(p, x, tx, T_)
        return out

    @staticmethod
    def _covariate_expected_new(p: dict[str, FloatArray], t: Any) -> FloatArray:
        """[`expected_purchases_new`][relcore.scoring.purchase.ParetoNBD.expected_purchases_new]
        with the parameters one per customer."""
        tt = time_horizon(t)
        r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
        ell = np.log1p(tt / beta)
        out: FloatArray = r * beta / alpha * ell * expm1_ratio(-(s - 1.0) * ell)
        return out

    def expected_purchases_new(
        self, t: Any, *, include_first_transaction: bool = False
    ) -> FloatArray:
        """Expected purchases in ``(0, t]`` of a new customer (note 008, eq. 17):
        ``r β / (α (s-1)) [1 - (β/(β+t))^(s-1)]``.

        ``include_first_transaction=True`` counts the purchase that made the customer
        too (``1 + E[X]``), as CLVTools' new-customer predictions count it.

        Examples
        --------
        >>> ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669).expected_purchases_new(0).item()
        0.0
        """
        if include_first_transaction:
            return 1.0 + self.expected_purchases_new(t)
        tt = time_horizon(t)
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        if self._in_limit:
            return nbd_expected(tt, np.zeros_like(tt), np.zeros_like(tt), r, alpha)
        ell = np.log1p(tt / beta)
        out: FloatArray = r * beta / alpha * ell * expm1_ratio(-(s - 1.0) * ell)
        return out

    def probability_of_purchases(
        self, n: Any, t: Any, frequency: Any = None, recency: Any = None, T: Any = None
    ) -> FloatArray:
        """``P(X(t) = n)`` for a new customer; given a history (``frequency``,
        ``recency``, ``T`` or a summary), of ``n`` purchases in ``(T, T + t]``
        (lifetimes' ``conditional_probability_of_n_purchases_up_to_time``): P(alive)
        times the same for a new customer with the posterior parameters ``r + x``,
        ``α + T``, ``s``, ``β + T``, plus ``1 - P(alive)`` at ``n = 0``.

        Conditioning on the death time: ``NB(n; t) (β/(β+t))^s`` (alive at ``t``) plus
        ``∫_0^t s β^s (β+τ)^-(s+1) NB(n; τ) dτ`` with ``NB(n; τ)`` the negative binomial
        count of a customer alive for ``τ``. The integral is taken by 128-point
        Gauss-Legendre quadrature in ``v = τ/(α+τ)``, where the integrand is smooth.

        Examples
        --------
        >>> m = ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669)
        >>> round(float(m.probability_of_purchases(range(500), 39).sum()), 8)
        1.0
        """
        if frequency is not None or recency is not None or T is not None:
            return self._given_history(n, t, frequency, recency, T)
        nn, tt = self._counts(n, t)
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        if self._in_limit:
            nbd: FloatArray = np.exp(nbd_log_pmf(nn, tt, r, alpha))
            return nbd
        log_cn = special.gammaln(r + nn) - special.gammaln(r) - special.gammaln(nn + 1.0)
        vt = tt / (alpha + tt)
        alive = np.exp(log_cn + r * np.log1p(-vt) + special.xlogy(nn, vt) - s * np.log1p(tt / beta))
        # nodes on [0, vt]
        v = 0.5 * vt[..., None] * (_GL_NODES + 1.0)
        wq = 0.5 * vt[..., None] * _GL_WEIGHTS
        nb = nn[..., None]
        with np.errstate(divide="ignore"):
            log_f = (
                np.log(s)
                + s * np.log(beta)
                + np.log(alpha)
                + log_cn[..., None]
                + special.xlogy(nb, v)
                + (r + s - 1.0) * np.log1p(-v)
                - (s + 1.0) * np.log(beta * (1.0 - v) + alpha * v)
            )
        dead = np.sum(wq * np.exp(log_f), axis=-1)
        out: FloatArray = np.clip(alive + dead, 0.0, 1.0)
        return out

    def simulate(
        self, n_customers: int, T: Any, rng: np.random.Generator | int | None = None
    ) -> Any:
        """Draw customers from the model (see
        [`BGNBD.simulate`][relcore.scoring.purchase.BGNBD.simulate]).

        Examples
        --------
        >>> s = ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669).simulate(200, 39.0, rng=3)
        >>> len(s), bool((s.recency <= s.T).all())
        (200, True)
        """
        gen = np.random.default_rng(rng)
        Tn = np.broadcast_to(np.asarray(T, dtype=np.float64), (n_customers,)).copy()
        lam = gen.gamma(self.r, 1.0 / self.alpha, n_customers)
        mu = gen.gamma(self.s, 1.0 / self.beta, n_customers)  # 0 without dropout
        life = np.minimum(gen.exponential(1.0, n_customers) / np.maximum(mu, 1e-300), Tn)
        x = gen.poisson(lam * life).astype(np.float64)
        rec = np.zeros(n_customers)
        pos = x > 0
        # the last of x uniform purchase times on (0, life]
        rec[pos] = life[pos] * gen.beta(x[pos], 1.0)
        return summary_from({"frequency": x, "recency": rec, "T": Tn})


# Rows per block of the objective: the per-row temporaries of a block stay in cache (and
# in memory the allocator reuses), where whole-column arrays of millions of rows would
# stream from memory and fault in fresh pages at every step.
_BLOCK_ROWS = 65_536


@attrs.frozen
class _Shared:
    """What one evaluation shares across blocks: parameters, the branch, and the
    per-frequency constants and series tables of the two terms."""

    r: float
    s: float
    M: float
    m: float
    alpha_big: bool
    a: FloatArray  # per frequency
    d: FloatArray
    b: dict[str, FloatArray]
    c: dict[str, FloatArray]
    table: dict[str, FloatArray]


class _ParetoObjective:
    """Total log-likelihood of the Pareto/NBD with exact gradient and Hessian.

    Per row ``ℓ = head(x) + logaddexp(U_F, U_G)`` with (see `_log_terms`, writing
    ``M``/``m`` for the larger/smaller of α and β, ``z = (M-m)/(M+t)`` and using
    ``2F1(a, b; a+1; z) = (1-z)**(1-b) 2F1(1, c; d; z)``, ``c = a+1-b``, ``d = a+1``)

    ``U = log(coef) - log(a) - c log(M+t) + (1-b) log(m+t) + log 2F1(1, c; d; z)``

    for ``(t, coef, b) = (t_x, s, s+1 or r+x)`` and ``(T, r+x, s or r+x+1)``. The shape
    parameters (r, s) enter only through the per-frequency constants ``a, b, c, d`` and
    the scale parameters (α, β) only through ``M+t``, ``m+t`` and ``z``, so each
    Hessian entry is one weighted sum over rows. Rows are kept sorted by frequency so
    that `psi_grouped` evaluates the series per distinct frequency, and are
    processed in blocks of ``_BLOCK_ROWS``.
    """

    def __init__(self, columns: dict[str, FloatArray], weights: FloatArray | None) -> None:
        x = columns["frequency"]
        n = x.size
        order, self.ux, self.starts = group_rows(x)
        self.order = order
        self.x = x.take(order)
        self.tx = columns["recency"].take(order)
        self.T = columns["T"].take(order)
        counts = np.diff(np.append(self.starts, n))
        self.gid = np.repeat(np.arange(self.ux.size), counts)
        # predictions pass no weights: only the fit needs them
        self.w = np.ones(0) if weights is None else weights.take(order)
        self.Wx = (
            counts.astype(np.float64)
            if weights is None
            else np.bincount(self.gid, weights=self.w, minlength=self.ux.size)
        )
        # the smallest ages give the largest hypergeometric arguments
        self.t_min = {
            "F": float(self.tx.min()) if n else 0.0,
            "G": float(self.T.min()) if n else 0.0,
        }
        # blocks of rows, each cut into segments of one frequency: (lo, hi, segments)
        cuts = np.union1d(np.arange(0, n, _BLOCK_ROWS), self.starts).astype(np.intp)
        ends = np.append(cuts[1:], n)
        self.blocks: list[tuple[int, int, Any]] = []
        for lo in range(0, n, _BLOCK_ROWS):
            hi = min(n, lo + _BLOCK_ROWS)
            a, b = np.searchsorted(cuts, [lo, hi])
            seg = (self.gid[cuts[a:b]], cuts[a:b] - lo, ends[a:b] - lo)
            self.blocks.append((lo, hi, seg))

    def shared(self, params: FloatArray, derivatives: bool) -> _Shared:
        r, alpha, s, beta = (float(v) for v in params)
        ux = self.ux
        alpha_big = alpha >= beta
        M, m = (alpha, beta) if alpha_big else (beta, alpha)
        if alpha_big:
            b = {"F": np.full(ux.size, s + 1.0), "G": np.full(ux.size, s)}
        else:
            b = {"F": r + ux, "G": r + ux + 1.0}
        a = r + s + ux
        d = a + 1.0
        c = {k: a + 1.0 - v for k, v in b.items()}
        table = {
            k: psi_table(c[k], d, (M - m) / (M + self.t_min[k]), derivatives) for k in ("F", "G")
        }
        return _Shared(r, s, M, m, alpha_big, a, d, b, c, table)

    def terms(
        self, q: _Shared, block: tuple[int, int, Any], derivatives: bool
    ) -> tuple[FloatArray, FloatArray, FloatArray, list[Any], list[Any]]:
        """Per row of a block: ``U_F``, ``U_G``, the log of the alive-at-T term and (with
        derivatives) the gradients and Hessians of ``U_F`` and ``U_G``."""
        lo, hi, segments = block
        r, s, M, m = q.r, q.s, q.M, q.m
        if q.alpha_big:
            iM_idx, im_idx, (cr, cs, br, bs) = 1, 3, (1.0, 0.0, 0.0, 1.0)  # c', b'
        else:
            iM_idx, im_idx, (cr, cs, br, bs) = 3, 1, (0.0, 1.0, 1.0, 0.0)
        gid = self.gid[lo:hi]
        x = self.x[lo:hi]
        a_row = q.a[gid]
        log_a = np.log(a_row)
        out_U: list[FloatArray] = []
        grads: list[Any] = []
        hesses: list[Any] = []
        log_alive = np.zeros(0)
        for which, t in (("F", self.tx[lo:hi]), ("G", self.T[lo:hi])):
            b_row, c_row = q.b[which][gid], q.c[which][gid]
            coef = which == "F"
            Mt, mt = M + t, m + t
            LM, Lm = np.log(Mt), np.log(mt)
            iM = 1.0 / Mt
            z = (M - m) * iM
            zeta = mt * iM  # 1 - z = (m+t)/(M+t), exactly: near z = 1 the series needs it
            psi = psi_grouped(q.table[which], q.c[which], q.d, z, segments, derivatives, zeta)
            log_coef = np.log(s) if coef else np.log(r + x)
            U = log_coef - log_a - c_row * LM + (1.0 - b_row) * Lm + psi["v"]
            out_U.append(U)
            if not coef:
                # log of the alive-at-T term (α+T)^-(r+x) (β+T)^-s, for P(alive)
                La, Lb = (LM, Lm) if q.alpha_big else (Lm, LM)
                log_alive = -(r + x) * La - s * Lb
            if not derivatives:
                continue
            im = 1.0 / mt
            g = np.empty((t.size, 4))
            inv_a = 1.0 / a_row
            base = psi["d"] - inv_a  # d' = (1, 1)
            g[:, 0] = base - cr * LM - br * Lm + psi["c"] * cr
            g[:, 2] = base - cs * LM - bs * Lm + psi["c"] * cs
            if coef:
                g[:, 2] += 1.0 / s
            else:
                g[:, 0] += 1.0 / (r + x)
            g[:, iM_idx] = (psi["z"] * zeta - c_row) * iM
            g[:, im_idx] = (1.0 - b_row) * im - psi["z"] * iM
            H: dict[tuple[int, int], FloatArray] = {}
            sh = {0: (cr, br), 2: (cs, bs)}
            inv_a2 = inv_a * inv_a
            for j in (0, 2):
                for k in (0, 2):
                    if k < j:
                        continue
                    cj, ck = sh[j][0], sh[k][0]
                    H[(j, k)] = inv_a2 + psi["cc"] * cj * ck + psi["cd"] * (cj + ck) + psi["dd"]
                cz_j = psi["cz"] * sh[j][0] + psi["dz"]
                H[(j, iM_idx)] = (cz_j * zeta - sh[j][0]) * iM
                H[(j, im_idx)] = -sh[j][1] * im - cz_j * iM
            if coef:
                H[(2, 2)] = H[(2, 2)] - 1.0 / (s * s)
            else:
                H[(0, 0)] = H[(0, 0)] - 1.0 / (r + x) ** 2
            iM2 = iM * iM
            H[(iM_idx, iM_idx)] = (c_row + psi["zz"] * zeta * zeta - 2.0 * psi["z"] * zeta) * iM2
            H[(iM_idx, im_idx)] = (psi["z"] - psi["zz"] * zeta) * iM2
            H[(im_idx, im_idx)] = psi["zz"] * iM2 - (1.0 - b_row) * im * im
            grads.append(g)
            hesses.append(H)
        return out_U[0], out_U[1], log_alive, grads, hesses

    def alive(self, params: FloatArray) -> FloatArray:
        """P(alive) per row, in the objective's (frequency-sorted) order."""
        q = self.shared(params, False)
        out = np.empty(self.x.size)
        for block in self.blocks:
            UF, UG, log_alive, _, _ = self.terms(q, block, False)
            out[block[0] : block[1]] = np.exp(log_alive - np.logaddexp(UF, UG))
        return out

    def __call__(self, theta: FloatArray, order: int) -> Objective:
        # no BLAS on per-row arrays (see ``dot``): the objective runs in threaded chunks
        params = np.exp(theta)
        r, alpha, s, beta = params
        ux, Wx = self.ux, self.Wx
        derivatives = order >= 2
        q = self.shared(params, derivatives)
        head = special.gammaln(r + ux) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        ll = dot(Wx, head)
        g = np.zeros(4)
        H = np.zeros((4, 4))
        for block in self.blocks:
            w = self.w[block[0] : block[1]]
            UF, UG, _, grads, hesses = self.terms(q, block, derivatives)
            mix = np.logaddexp(UF, UG)
            ll += dot(w, mix)
            if not derivatives:
                continue
            piF = np.exp(UF - mix)
            wF = w * piF
            wG = w - wF
            gF, gG = grads
            g += np.einsum("i,ij->j", wF, gF) + np.einsum("i,ij->j", wG, gG)
            for (j, k), v in hesses[0].items():
                H[min(j, k), max(j, k)] += dot(wF, v)
            for (j, k), v in hesses[1].items():
                H[min(j, k), max(j, k)] += dot(wG, v)
            D = gF - gG
            H += np.einsum("ij,ik->jk", D * (wF * (1.0 - piF))[:, None], D)
        if not derivatives:
            return ll, None, None
        H = np.triu(H) + np.triu(H, 1).T
        # head
        dr = special.digamma(r + ux) - special.digamma(r) + np.log(alpha)
        Wt = float(Wx.sum())
        g += np.array([dot(Wx, dr), r / alpha * Wt, np.log(beta) * Wt, s / beta * Wt])
        H[0, 0] += dot(Wx, special.polygamma(1, r + ux) - special.polygamma(1, r))
        H[0, 1] += Wt / alpha
        H[1, 0] += Wt / alpha
        H[1, 1] -= r * Wt / alpha**2
        H[2, 3] += Wt / beta
        H[3, 2] += Wt / beta
        H[3, 3] -= s * Wt / beta**2
        # natural to log parameters
        g_log = params * g
        H_log = H * np.outer(params, params) + np.diag(g_log)
        return ll, g_log, H_log
