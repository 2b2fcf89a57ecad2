"""The Gamma-Gompertz/NBD model (Bemmaor & Glady 2012, "Modeling Purchasing Behavior with
Sudden 'Death': A Flexible Customer Lifetime Model", Management Science 58(5))."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np
from scipy import special

from ...errors import ConvergenceError
from . import _jet as jet
from ._base import FitInfo, Limit, param_field
from ._inputs import distinct_rows, time_horizon
from ._optimize import dot
from ._rfm import RFMModel, summary_from
from ._types import FloatArray, Objective
from .paretonbd import ParetoNBD

if TYPE_CHECKING:
    from typing import Self

__all__ = ["GGompertzNBD"]


# -- quadrature ------------------------------------------------------------------------------
# Tanh-sinh (double-exponential) rule on [0, 1]: nodes crowd both ends doubly
# exponentially, down to 1e-17 of the interval, so an integrand concentrated in a sliver
# next to an end (the purchase-rate factor of a customer with thousands of purchases lives
# within 1e-8 of t_x when T is 100,000 periods) is resolved as well as a smooth one, with
# nodes that depend on the data only (the derivatives of the integral are the integrals of
# the integrand's derivatives at the same nodes).
_DE_STEP = 1.0 / 12.0
_DE_HALF_WIDTH = 3.25


def _tanh_sinh() -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(xi, 1 - xi, weights)`` of the rule on [0, 1]."""
    t = np.arange(-_DE_HALF_WIDTH, _DE_HALF_WIDTH + _DE_STEP / 2, _DE_STEP)
    y = np.pi * np.sinh(t)
    xi = special.expit(y)  # (1 + tanh(y / 2)) / 2, without cancellation near either end
    rest = special.expit(-y)
    w = _DE_STEP * np.pi * np.cosh(t) * xi * rest
    return xi, rest, w


_XI, _REST, _W = _tanh_sinh()
_LOG_W = np.log(_W)


def _nodes(lo: FloatArray, hi: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Nodes ``(rows, m)`` in ``[lo, hi]`` per row and the logarithms of their weights.

    Nodes in the lower half are measured from ``lo`` and those in the upper half from
    ``hi``, so that both ends keep their resolution.
    """
    width = (hi - lo)[:, None]
    lower = _XI <= 0.5
    tau = np.where(lower, lo[:, None] + width * _XI, hi[:, None] - width * _REST)
    with np.errstate(divide="ignore"):
        log_w = _LOG_W + np.log(width)
    return tau, log_w


def _log_d(u: Any, beta: Any, c: Any) -> Any:
    """``log(β e^-u - c expm1(-u))`` with ``u = τ/c``: ``log(β + g(τ)) - τ/c`` for the
    Gompertz clock ``g(τ) = c (e^(τ/c) - 1)``, finite for any ``τ/c``."""
    return jet.log(beta * jet.exp(-u) - c * _jet_expm1(-u))


def _q_nodes(
    params: list[float], q_lo: FloatArray, q_hi: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Nodes ``(rows, m)`` spread in log-survival ``q = log S(τ)`` over ``[q_hi, q_lo]``
    (``q_lo`` at the earlier age), as ages ``τ``, and the logarithms of their weights for
    integrals in ``τ`` (``dτ/dq = -D/s``, ``D = β e^-u - c expm1(-u)``)."""
    s, beta, c = params[2], params[3], params[4]
    # an interval of a few ulps may come out reversed by rounding: it holds nothing
    width = np.maximum(q_lo - q_hi, 0.0)[:, None]
    q = np.where(_XI <= 0.5, q_lo[:, None] - width * _XI, q_hi[:, None] + width * _REST)
    # invert β + g(τ) = β e^(-q/s): τ = c log1p(β expm1(-q/s) / c), in logs where expm1
    # would overflow
    y = -q / s
    if np.isinf(c):  # the Pareto/NBD: g(τ) = τ
        tau = beta * np.expm1(y)
        with np.errstate(divide="ignore"):
            log_w = _LOG_W + np.log(width) + np.log(beta + tau) - np.log(s)
        return tau, log_w
    far = y + np.log(max(beta / c, 1.0)) >= 700.0
    tau = c * np.log1p(beta * np.expm1(np.where(far, 0.0, y)) / c)
    if far.any():
        yf = y[far]
        tau[far] = c * (yf + np.log(beta * -np.expm1(-yf) + c * np.exp(-yf)) - np.log(c))
    with np.errstate(divide="ignore"):
        log_w = _LOG_W + np.log(width) + _log_d(tau / c, beta, c) - np.log(s)
    return tau, log_w


# Units of log-survival past which an integral's remainder is below e^-40 of its value
# (see ``_death_nodes`` and ``_stay_rows``).
_Q_SPAN = 40.0


def _death_nodes(
    params: list[float], lo: FloatArray, hi: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Nodes and log-weights for ``∫_lo^hi (α+τ)^-(r+x) f(τ) dτ``.

    In ``q = log S(τ)`` the lifetime density is ``e^q dq`` and the purchase factor falls
    with age, so the integrand rises monotonically towards ``lo``: the tanh-sinh rule's
    crowding at the ends resolves it however sharply it peaks there (thousands of
    purchases), and nothing beyond ``_Q_SPAN + 25`` units of ``q`` can matter: the
    integrand there is below ``e^-65`` of its value at ``lo``, and the integral is at
    least ``1e-11`` of that value even for 10,000 purchases.
    """
    q_lo = _log_survival(params, lo)
    q_hi = np.maximum(_log_survival(params, hi), q_lo - _Q_SPAN - 25.0)
    return _q_nodes(params, q_lo, q_hi)


def _stay_rows(params: list[float], lo: FloatArray, hi: FloatArray) -> FloatArray:
    """``∫_lo^hi S(τ)/S(lo) dτ`` per row, in two panels of log-survival.

    In ``q`` the integrand is ``e^(q - q_lo) D/s``; ``D`` moves monotonically between β
    (at birth) and ``c`` (old age) with ``dD/dτ = (1 - β/c) e^-u``, so the integrand has
    at most one mode, at ``u* = log((1 - β/c)/s)``, and is monotone on either side of it:
    each panel is then resolved by the rule's crowding at its ends. Past the mode it
    falls at least as fast as ``e^q`` times the bounded ratio of ``D``'s extremes, which
    bounds where the second panel can stop.
    """
    s, beta, c = params[2], params[3], params[4]
    ratio = 1.0 - beta / c
    star = c * np.log(ratio / s) if ratio > s else -np.inf
    mid = np.clip(star, lo, hi)
    q_lo = _log_survival(params, lo)
    q_mid = _log_survival(params, mid)
    span = _Q_SPAN + abs(np.log(c / beta))
    q_hi = np.maximum(_log_survival(params, hi), q_mid - span)
    total = np.zeros(lo.size)
    for a, b in ((q_lo, q_mid), (q_mid, q_hi)):
        tau, log_w = _q_nodes(params, a, b)
        terms = _log_survival(params, tau) - q_lo[:, None] + log_w
        with np.errstate(invalid="ignore"):
            part = np.exp(special.logsumexp(terms, axis=1))
        total += np.where(a > b, part, 0.0)
    return total


def _jet_expm1(x: Any) -> Any:
    return jet._unary(x, np.expm1, np.exp, np.exp)


# -- the likelihood, written once with jets ---------------------------------------------------
def _log_bg(tau: Any, beta: Any, c: Any) -> Any:
    """``log(β + g(τ))``, with ``g(τ) = τ`` when ``c = inf`` (the Pareto/NBD)."""
    if not isinstance(c, jet.Jet) and np.isinf(c):
        return jet.log(beta + tau)
    u = tau / c
    return u + _log_d(u, beta, c)


def _log_survival(params: list[Any], tau: Any) -> Any:
    """``log S(τ)``: ``s log(β / (β + g(τ)))``."""
    _, _, s, beta, c = params
    return s * jet.log(beta) - s * _log_bg(tau, beta, c)


def _log_density(params: list[Any], tau: Any) -> Any:
    """``log f(τ)`` of the lifetime: ``log(s β^s g'(τ) (β + g(τ))^-(s+1))`` with
    ``g'(τ) = e^(τ/c)``."""
    _, _, s, beta, c = params
    aging = 0.0 if not isinstance(c, jet.Jet) and np.isinf(c) else tau / c
    return jet.log(s) + s * jet.log(beta) + aging - (s + 1.0) * _log_bg(tau, beta, c)


def _jet_logsumexp(psi: Any) -> Any:
    """``log Σ_j exp(ψ_j)`` over the last axis, for arrays or jets."""
    if not isinstance(psi, jet.Jet):
        with np.errstate(invalid="ignore"):
            out: FloatArray = special.logsumexp(psi, axis=-1)
        return out
    val = special.logsumexp(psi.val, axis=-1)
    pi = np.exp(psi.val - val[..., None])
    g = np.einsum("nj,nji->ni", pi, psi.grad)
    second = psi.hess + psi.grad[..., :, None] * psi.grad[..., None, :]
    h = np.einsum("nj,njik->nik", pi, second) - g[..., :, None] * g[..., None, :]
    return jet.Jet(val, g, h)


def _gg_rows(params: list[Any], data: dict[str, FloatArray]) -> Any:
    """Log-likelihood of each row (Bemmaor & Glady 2012, eq. 6):

    ``Γ(r+x) α^r / Γ(r) [(α+T)^-(r+x) S(T) + ∫_{t_x}^T (α+τ)^-(r+x) f(τ) dτ]``.
    """
    r, alpha = params[0], params[1]
    x, tx, T = data["frequency"], data["recency"], data["T"]
    head = jet.gammaln(r + x) - jet.gammaln(r) + r * jet.log(alpha)
    alive = -(r + x) * jet.log(alpha + T) + _log_survival(params, T)
    has_b = tx < T
    values = [float(jet.value(v)) for v in params]
    tau, log_w = _death_nodes(values, tx, np.where(has_b, T, tx + 1.0))
    psi = -(r + x[:, None]) * jet.log(alpha + tau) + _log_density(params, tau) + log_w
    died = _jet_logsumexp(psi)
    return head + jet.logaddexp(alive, jet.where(has_b, died, -np.inf))


# -- the same, with hand-written derivatives ----------------------------------------------
_BLOCK_ROWS = 4096


class _Terms:
    """``ψ(τ) = -(r+x) log(α+τ) + s log β - s u - k log D + δ log s`` (``u = τ/c``,
    ``D = β e^-u - c expm1(-u)``, ``k = s + δ``) with its gradient and Hessian in
    log-parameters ``(r, α, s, β, c)``: ``δ = 0`` is ``log`` of the alive term
    ``(α+T)^-(r+x) S(T)``, ``δ = 1`` the integrand ``(α+τ)^-(r+x) f(τ)``."""

    val: Any
    g: tuple[Any, ...]
    h: tuple[tuple[Any, ...], ...]

    def __init__(self, p: FloatArray, x: FloatArray, tau: FloatArray, delta: float) -> None:
        if p.size == 4:
            self._pareto(p, x, tau, delta)
            return
        r, alpha, s, beta, c = p
        k = s + delta
        rx = r + x
        La = np.log(alpha + tau)
        ia = alpha / (alpha + tau)
        u = tau / c
        eu = np.exp(-u)
        em = -np.expm1(-u)  # 1 - e^-u
        D = beta * eu + c * em
        logD = np.log(D)
        lb = np.log(beta)
        q = beta * eu / D
        ueu = u * eu
        K = c * (em - ueu) + beta * ueu
        E = K / D
        dK = c * (em - 2.0 * ueu) - (beta - c) * u * (1.0 - u) * eu
        dE = (dK - K * E) / D
        rest = lb - u - logD
        self.val = -rx * La + s * rest - delta * logD + (delta * np.log(s) if delta else 0.0)
        self.g = (
            -r * La,
            -rx * ia,
            delta + s * rest,
            s - k * q,
            s * u - k * E,
        )
        zero = 0.0
        self.h = (
            (-r * La, -r * ia, zero, zero, zero),
            (-r * ia, -rx * ia * (1.0 - ia), zero, zero, zero),
            (zero, zero, s * rest, s * (1.0 - q), s * (u - E)),
            (zero, zero, s * (1.0 - q), -k * q * (1.0 - q), -k * q * (u - E)),
            (zero, zero, s * (u - E), -k * q * (u - E), -s * u - k * dE),
        )

    def _pareto(self, p: FloatArray, x: FloatArray, tau: FloatArray, delta: float) -> None:
        """The same at ``c = inf`` in ``(r, α, s, β)``: ``D = β + τ``."""
        r, alpha, s, beta = p
        k = s + delta
        rx = r + x
        La = np.log(alpha + tau)
        ia = alpha / (alpha + tau)
        logD = np.log(beta + tau)
        q = beta / (beta + tau)
        rest = np.log(beta) - logD
        self.val = -rx * La + s * rest - delta * logD + (delta * np.log(s) if delta else 0.0)
        self.g = (-r * La, -rx * ia, delta + s * rest, s - k * q)
        zero = 0.0
        self.h = (
            (-r * La, -r * ia, zero, zero),
            (-r * ia, -rx * ia * (1.0 - ia), zero, zero),
            (zero, zero, s * rest, s * (1.0 - q)),
            (zero, zero, s * (1.0 - q), -k * q * (1.0 - q)),
        )


class _GGObjective:
    """Total log-likelihood of the Gamma-Gompertz/NBD with exact gradient and Hessian.

    The integral is the tanh-sinh rule over ``[t_x, T]`` (nodes fixed by the data), so its
    log-parameter derivatives are the rule applied to the integrand's, combined per row
    through the softmax of the nodes' terms. Rows go in blocks of ``_BLOCK_ROWS`` so that
    the ``rows × nodes`` temporaries stay small. A test checks it against `_gg_rows`.
    """

    def __init__(
        self, columns: dict[str, FloatArray], weights: FloatArray, *, pareto: bool = False
    ) -> None:
        self.x, self.tx, self.T = columns["frequency"], columns["recency"], columns["T"]
        self.w = weights
        # the Pareto/NBD limit (c = inf) in (r, α, s, β)
        self.m = 4 if pareto else 5

    def __call__(self, theta: FloatArray, order: int) -> Objective:
        p = np.exp(theta)
        ll = 0.0
        g = np.zeros(self.m)
        H = np.zeros((self.m, self.m))
        for lo in range(0, self.x.size, _BLOCK_ROWS):
            rows = slice(lo, lo + _BLOCK_ROWS)
            v, gb, hb = self._block(p, rows, order >= 2)
            ll += v
            g += gb
            H += hb
        if order < 2:
            return ll, None, None
        return ll, g, H

    def _block(
        self, p: FloatArray, rows: slice, derivatives: bool
    ) -> tuple[float, FloatArray, FloatArray]:
        r, alpha = p[0], p[1]
        x, tx, T, w = self.x[rows], self.tx[rows], self.T[rows], self.w[rows]
        has_b = tx < T
        A = _Terms(p, x, T, 0.0)
        params = p.tolist() + ([np.inf] if self.m == 4 else [])
        tau, log_w = _death_nodes(params, tx, np.where(has_b, T, tx + 1.0))
        B = _Terms(p, x[:, None], tau, 1.0)
        psi = B.val + log_w
        logB = special.logsumexp(psi, axis=1)
        logB = np.where(has_b, logB, -np.inf)
        m = np.logaddexp(A.val, logB)
        head = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        ll = dot(w, head + m)
        gt = np.zeros(self.m)
        Ht = np.zeros((self.m, self.m))
        if not derivatives:
            return ll, gt, Ht
        rho = np.exp(logB - m)  # posterior weight of "died in (t_x, T]"
        pi = np.exp(psi - np.where(has_b, logB, 0.0)[:, None])
        pi[~has_b] = 0.0
        gB = [np.einsum("ij,ij->i", pi, np.broadcast_to(gi, pi.shape)) for gi in B.g]
        gA = [np.broadcast_to(gi, x.shape) for gi in A.g]
        grow = [(1.0 - rho) * a + rho * b for a, b in zip(gA, gB, strict=True)]
        dg = [b - a for a, b in zip(gA, gB, strict=True)]
        wr = w * rho * (1.0 - rho)
        wa, wb = w * (1.0 - rho), w * rho
        for i in range(self.m):
            gt[i] = dot(w, grow[i])
            for j in range(i, self.m):
                hb_ij = B.h[i][j]
                second = np.broadcast_to(B.g[i], pi.shape) * np.broadcast_to(B.g[j], pi.shape)
                if not np.isscalar(hb_ij) or hb_ij != 0.0:
                    second = second + np.broadcast_to(hb_ij, pi.shape)
                HB = np.einsum("ij,ij->i", pi, second) - gB[i] * gB[j]
                ha = A.h[i][j]
                HA = np.broadcast_to(ha, x.shape) if not np.isscalar(ha) else np.full(x.shape, ha)
                Ht[i, j] = dot(wa, HA) + dot(wb, HB) + dot(wr, dg[i] * dg[j])
                Ht[j, i] = Ht[i, j]
        # the head: gammaln(r+x) - gammaln(r) + r log α
        d1 = special.digamma(r + x) - special.digamma(r) + np.log(alpha)
        d2 = special.polygamma(1, r + x) - special.polygamma(1, r)
        W = float(w.sum())
        gt[0] += r * dot(w, d1)
        gt[1] += r * W
        Ht[0, 0] += r * dot(w, d1) + r * r * dot(w, d2)
        Ht[0, 1] += r * W
        Ht[1, 0] += r * W
        return ll, gt, Ht


def _pareto_limit(columns: dict[str, FloatArray], weights: FloatArray) -> Any:
    # the Pareto/NBD by the same quadrature (not ParetoNBD's hypergeometric series, which
    # slows to seconds per step where an ageing population drives its s and β up)
    return _GGObjective(columns, weights, pareto=True)


@attrs.frozen(repr=False)
class GGompertzNBD(RFMModel):
    """Gamma-Gompertz/NBD: Poisson purchases at rate ``λ ~ Gamma(r, α)`` during a lifetime
    whose dropout hazard ages: ``μ e^(τ/c)`` at age ``τ``, with ``μ ~ Gamma(s, β)``.

    Bemmaor & Glady (2012) generalise the Pareto/NBD (whose hazard stays ``μ``): ``c`` is the number
    of periods over which a customer's dropout hazard grows e-fold, and ``c = inf`` is the
    Pareto/NBD exactly, with the same ``r, α, s, β``. Data per customer as for
    [`BGNBD`][relcore.scoring.purchase.BGNBD].

    CLVTools (``ggomnbd``) and the paper write the lifetime as Gompertz with shape ``b`` and gamma
    rate ``β'`` (unitless): ``b = 1/c`` and ``β' = β/c``;
    [`b`][relcore.scoring.purchase.GGompertzNBD.b] and
    [`from_clvtools`][relcore.scoring.purchase.GGompertzNBD.from_clvtools] convert.

    Attributes
    ----------
    r, alpha
        Shape and scale (in time units) of the gamma distribution of purchase rates.
    s, beta
        Shape and scale (in time units) of the gamma distribution of initial dropout rates ``μ``.
        ``beta = inf`` (with ``c = inf``) is the limit without dropout, the NBD model, which a fit
        returns with a [`FitWarning`][relcore.errors.FitWarning] when the data show no sign of
        dropout (as the Pareto/NBD does).
    c
        Periods over which the dropout hazard grows e-fold. ``c = inf`` is the limit without ageing,
        the Pareto/NBD, which a fit returns with a [`FitWarning`][relcore.errors.FitWarning] when
        the data show no sign of ageing (as on CDNOW, where the maximum is that limit).
    fit_info
        Log-likelihood, covariance and sizes of the fit (None for known parameters).

    Examples
    --------
    On CDNOW the likelihood keeps rising as the ageing vanishes: the fit returns the
    Pareto/NBD limit (CLVTools' published ``b = 1.1e-6`` is its optimiser approaching it).

    >>> import warnings
    >>> from relcore.datasets import load_cdnow_summary
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     m = GGompertzNBD.fit(load_cdnow_summary())
    >>> {k: round(v, 3) for k, v in m.params.items()}
    {'r': 0.553, 'alpha': 10.578, 's': 0.606, 'beta': 11.668, 'c': inf}

    With ageing, a customer's survival falls faster than under the Pareto/NBD:

    >>> aging = GGompertzNBD(r=0.55, alpha=10.6, s=0.6, beta=11.7, c=20.0)
    >>> bool(aging.p_alive(2, 10, 39).item() < aging.pareto().p_alive(2, 10, 39).item())
    True
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta", "c")
    _initial: ClassVar[tuple[float, ...]] = (0.5, 0.5, 0.5, 0.5, 1.0)
    _time_params: ClassVar[tuple[str, ...]] = ("alpha", "beta", "c")
    _chunked_objective: ClassVar[bool] = True
    _limit = Limit(
        name="Pareto/NBD",
        fixed={"c": np.inf},
        not_identified=("c",),
        objective=_pareto_limit,
        message=(
            "no ageing detected: the data are best described with dropout hazards that do "
            "not grow with age (the Gamma-Gompertz/NBD's c is infinite: the Pareto/NBD)"
        ),
    )

    r: float = param_field()
    alpha: float = param_field()
    s: float = param_field()
    beta: float = param_field(limit=True)
    c: float = param_field(limit=True)

    # -- conversions ----------------------------------------------------------------------
    @property
    def b(self) -> float:
        """Bemmaor & Glady's (and CLVTools') Gompertz shape ``b = 1/c`` (per period)."""
        return 1.0 / self.c

    @classmethod
    def from_clvtools(cls, r: float, alpha: float, b: float, s: float, beta: float) -> GGompertzNBD:
        """The model with CLVTools' ``ggomnbd`` parameters (``beta`` unitless).

        Examples
        --------
        >>> m = GGompertzNBD.from_clvtools(r=0.55, alpha=10.6, b=0.05, s=0.6, beta=0.5)
        >>> m.c, m.beta
        (20.0, 10.0)
        """
        return cls(r=r, alpha=alpha, s=s, beta=beta / b, c=1.0 / b)

    def pareto(self) -> ParetoNBD:
        """The Pareto/NBD with the same ``r, α, s, β``: this model without ageing."""
        return ParetoNBD(r=self.r, alpha=self.alpha, s=self.s, beta=self.beta)

    # -- fitting --------------------------------------------------------------------------
    @staticmethod
    def _rows(params: list[Any], data: dict[str, FloatArray]) -> Any:
        return _gg_rows(params, data)

    @classmethod
    def _objective_factory(
        cls, columns: dict[str, FloatArray], weights: FloatArray
    ) -> Callable[[FloatArray, int], Objective]:
        return _GGObjective(columns, weights)

    @classmethod
    def _from_fit(
        cls, columns: dict[str, FloatArray], weights: FloatArray, *, penalizer: float = 0.0
    ) -> Self:
        try:
            return super()._from_fit(columns, weights, penalizer=penalizer)
        except ConvergenceError:
            # No dropout at all (a young cohort) lies beyond the Pareto/NBD limit: its own
            # limit, the NBD, which the Pareto/NBD's fit finds and says so.
            pareto = ParetoNBD._from_fit(columns, weights, penalizer=penalizer)
            info = pareto.fit_info
            if info is None or info.limit is None:
                raise
        cov = np.full((5, 5), 0.0)
        cov[:4, :4] = info.covariance
        cov[4, 4] = np.inf
        return cls(
            r=pareto.r,
            alpha=pareto.alpha,
            s=pareto.s,
            beta=pareto.beta,
            c=np.inf,
            fit_info=FitInfo(
                log_likelihood=info.log_likelihood,
                covariance=cov,
                n_customers=info.n_customers,
                n_rows=info.n_rows,
                penalizer=info.penalizer,
                iterations=info.iterations,
                limit=info.limit,
                boundary=(*info.boundary, "c"),
                not_identified=(*info.not_identified, "c"),
            ),
        )

    # -- predictions ----------------------------------------------------------------------
    def _values(self) -> list[float]:
        return [self.r, self.alpha, self.s, self.beta, self.c]

    def _alive(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        if self._in_limit:
            return self.pareto()._alive(x, tx, T)
        shape = x.shape
        x, tx, T = x.ravel(), tx.ravel(), T.ravel()
        distinct = distinct_rows([x, tx, T])
        if distinct is None:
            return self._alive_rows(x, tx, T).reshape(shape)
        (ux, utx, uT), inverse = distinct
        out: FloatArray = self._alive_rows(ux, utx, uT)[inverse].reshape(shape)
        return out

    def _alive_rows(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        out = np.empty(x.size)
        params = self._values()
        for lo in range(0, x.size, _BLOCK_ROWS):
            rows = slice(lo, lo + _BLOCK_ROWS)
            xb, txb, Tb = x[rows], tx[rows], T[rows]
            alive = -(params[0] + xb) * np.log(params[1] + Tb) + _log_survival(params, Tb)
            has_b = Tb > txb
            tau, log_w = _death_nodes(params, txb, np.where(has_b, Tb, txb + 1.0))
            psi = (
                -(params[0] + xb[:, None]) * np.log(params[1] + tau)
                + _log_density(params, tau)
                + log_w
            )
            died = np.where(has_b, special.logsumexp(psi, axis=1), -np.inf)
            out[rows] = np.exp(alive - np.logaddexp(alive, died))
        return out

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Probability that the customer is still alive at ``T``: the alive term's share
        of the likelihood, ``(α+T)^-(r+x) S(T) / [(α+T)^-(r+x) S(T) + ∫_{t_x}^T …]``.

        Examples
        --------
        A purchase at ``T`` leaves no time to have died unseen:

        >>> GGompertzNBD(r=0.55, alpha=10.6, s=0.6, beta=11.7, c=20.0).p_alive(3, 30, 30).item()
        1.0
        """
        return self._alive(*self._history(frequency, recency, T))

    def _stay(self, start: FloatArray, t: FloatArray) -> FloatArray:
        """``∫_0^t S(start + v) / S(start) dv`` per row: expected time alive in the next
        ``t`` periods of a customer alive at ``start``."""
        params = self._values()
        out = np.zeros(start.size)
        for lo in range(0, start.size, _BLOCK_ROWS):
            rows = slice(lo, lo + _BLOCK_ROWS)
            out[rows] = _stay_rows(params, start[rows], start[rows] + t[rows])
        return out

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Expected purchases in ``(T, T + t]`` given the history:
        ``P(alive) (r+x)/(α+T) ∫_T^{T+t} S(τ)/S(T) dτ``.

        Examples
        --------
        >>> m = GGompertzNBD(r=0.55, alpha=10.6, s=0.6, beta=11.7, c=20.0)
        >>> m.expected_purchases(0, 2, 30, 39).item()
        0.0
        """
        x, tx, T_, tt = self._history_ahead(t, frequency, recency, T)
        if self._in_limit:
            return self.pareto().expected_purchases(tt, x, tx, T_)
        rate = (self.r + x) / (self.alpha + T_)
        stay = self._stay(T_.ravel(), tt.ravel()).reshape(T_.shape)
        out: FloatArray = rate * stay * self._alive(x, tx, T_)
        return out

    def _discounted_purchases(
        self, x: FloatArray, tx: FloatArray, T: FloatArray, t: FloatArray, w: FloatArray
    ) -> FloatArray:
        if self._in_limit:
            return self.pareto()._discounted_purchases(x, tx, T, t, w)
        distinct = distinct_rows([T])
        uT, inverse = (T, np.arange(T.size)) if distinct is None else (distinct[0][0], distinct[1])
        stay = np.zeros(uT.size)
        for tk, wk in zip(t.tolist(), w.tolist(), strict=True):
            stay += wk * self._stay(uT, np.full(uT.size, tk))
        out: FloatArray = (self.r + x) / (self.alpha + T) * stay[inverse] * self._alive(x, tx, T)
        return out

    def expected_purchases_new(self, t: Any) -> FloatArray:
        """Expected purchases in ``(0, t]`` of a customer just acquired:
        ``(r/α) ∫_0^t S(τ) dτ``.

        Examples
        --------
        Without ageing (large ``c``) it approaches the Pareto/NBD's:

        >>> m = GGompertzNBD(r=0.55, alpha=10.6, s=0.6, beta=11.7, c=1e9)
        >>> a, b = m.expected_purchases_new(39).item(), m.pareto().expected_purchases_new(39).item()
        >>> abs(a / b - 1) < 1e-6
        True
        """
        tt = time_horizon(t)
        if self._in_limit:
            return self.pareto().expected_purchases_new(tt)
        flat = tt.ravel()
        out: FloatArray = (self.r / self.alpha * self._stay(np.zeros(flat.size), flat)).reshape(
            tt.shape
        )
        return out

    def probability_of_purchases(self, n: Any, t: Any) -> FloatArray:
        """``P(X(t) = n)`` for a customer just acquired: ``NB(n; t) S(t) +
        ∫_0^t f(τ) NB(n; τ) dτ``, with ``NB(n; τ)`` the negative binomial count of a
        customer alive for ``τ``; the integral by the tanh-sinh rule in
        ``v = τ/(α+τ)``.

        Examples
        --------
        >>> m = GGompertzNBD(r=0.55, alpha=10.6, s=0.6, beta=11.7, c=20.0)
        >>> round(float(m.probability_of_purchases(range(400), 39).sum()), 8)
        1.0
        """
        nn, tt = self._counts(n, t)
        if self._in_limit:
            return self.pareto().probability_of_purchases(nn, tt)
        params = self._values()
        r, alpha = self.r, self.alpha
        shape = nn.shape
        nf, tf = nn.ravel(), tt.ravel()
        log_cn = special.gammaln(r + nf) - special.gammaln(r) - special.gammaln(nf + 1.0)
        vt = tf / (alpha + tf)
        alive = np.exp(
            log_cn + r * np.log1p(-vt) + special.xlogy(nf, vt) + _log_survival(params, tf)
        )
        dead = np.zeros(nf.size)
        pos = tf > 0
        if pos.any():
            v, log_w = _nodes(np.zeros(int(pos.sum())), vt[pos])
            tau = alpha * v / (1.0 - v)
            nb = nf[pos][:, None]
            log_f = (
                log_cn[pos][:, None]
                + special.xlogy(nb, v)
                + (r - 2.0) * np.log1p(-v)
                + np.log(alpha)
                + _log_density(params, tau)
            )
            dead[pos] = np.exp(special.logsumexp(log_f + log_w, axis=1))
        out: FloatArray = np.clip(alive + dead, 0.0, 1.0).reshape(shape)
        return out

    def simulate(
        self, n_customers: int, T: Any, rng: np.random.Generator | int | None = None
    ) -> Any:
        """Draw customers from the model (see
        [`BGNBD.simulate`][relcore.scoring.purchase.BGNBD.simulate]).

        A lifetime solves ``μ g(τ) = E`` with ``E ~ Exp(1)``: ``τ = c log1p(E / (μ c))``.

        Examples
        --------
        >>> m = GGompertzNBD(r=0.55, alpha=10.6, s=0.6, beta=11.7, c=20.0)
        >>> s = m.simulate(200, 39.0, rng=3)
        >>> len(s), bool((s.recency <= s.T).all())
        (200, True)
        """
        if self._in_limit:
            return self.pareto().simulate(n_customers, T, rng)
        gen = np.random.default_rng(rng)
        Tn = np.broadcast_to(np.asarray(T, dtype=np.float64), (n_customers,)).copy()
        lam = gen.gamma(self.r, 1.0 / self.alpha, n_customers)
        mu = np.maximum(gen.gamma(self.s, 1.0 / self.beta, n_customers), 1e-300)
        life = self.c * np.log1p(gen.exponential(1.0, n_customers) / (mu * self.c))
        life = np.minimum(life, Tn)
        x = gen.poisson(lam * life).astype(np.float64)
        rec = np.zeros(n_customers)
        pos = x > 0
        rec[pos] = life[pos] * gen.beta(x[pos], 1.0)
        return summary_from({"frequency": x, "recency": rec, "T": Tn})
