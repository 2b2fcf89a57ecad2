"""Purchase-count distributions with per-customer parameters, for predictions given a
history.

A customer of a BG/NBD-type or Pareto/NBD model who is alive at the end of observation
``T`` starts afresh: by the memorylessness of the Poisson purchases (and, for the
Pareto/NBD, of the exponential lifetime), the future is that of a customer just acquired
whose parameters are the posterior ones given the history (the argument behind the
conditional expectations of Fader, Hardie & Lee 2005 and of Hardie's note 008):

* BG/NBD: ``λ ~ Gamma(r + x, α + T)``, ``p ~ Beta(a, b + x)`` (``x`` chances to drop
  out survived);
* MBG/NBD: ``p ~ Beta(a, b + x + 1)`` (also the chance at the first purchase), and from
  ``T`` on a dropout chance follows each purchase, as in the BG/NBD;
* Pareto/NBD: ``λ ~ Gamma(r + x, α + T)``, ``μ ~ Gamma(s, β + T)``;
* BG/BB: ``p ~ Beta(α + x, β + n - x)``, ``θ ~ Beta(γ, δ + n)``.

So ``P(X(T, T+t) = k | history) = P(alive) P_new(k; posterior) + (1 - P(alive)) [k = 0]``.
The functions here evaluate ``P_new`` with parameters that are arrays, one per customer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from ._special import log_beta_ratio
from ._types import FloatArray

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(128)


def nbd_log_pmf(n: FloatArray, t: FloatArray, r: Any, alpha: Any) -> FloatArray:
    """``log P(N(t) = n)`` of a gamma(r, α)-mixed Poisson count (arrays broadcast)."""
    out: FloatArray = (
        special.gammaln(r + n)
        - special.gammaln(r)
        - special.gammaln(n + 1.0)
        - r * np.log1p(t / alpha)
        + special.xlogy(n, t / (alpha + t))
    )
    return out


def bg_new_pmf(
    n: FloatArray,
    t: FloatArray,
    r: Any,
    alpha: Any,
    a: Any,
    b: Any,
    survived: Any,
) -> FloatArray:
    """``P(X(t) = n)`` of a BG/NBD customer just acquired (FHL 2005, eq. 8) whose
    dropout probability is ``Beta(a, b + survived)``, a dropout chance following each
    purchase; ``r`` and ``alpha`` may be per customer.

    The beta ratios ``B(a, b'+k) / B(a, b')`` with ``b' = b + survived`` are differences
    of the cumulative sums of `log_beta_ratio` in the population's ``(a, b)``,
    exact however large ``b'``.
    """
    n, t, r, alpha, survived = np.broadcast_arrays(n, t, r, alpha, survived)
    base = log_beta_ratio(a, b, survived.ravel())[0].reshape(survived.shape)

    def ratio(k: FloatArray) -> FloatArray:
        out: FloatArray = log_beta_ratio(a, b, (survived + k).ravel())[0].reshape(k.shape) - base
        return out

    log_nb = nbd_log_pmf(n, t, r, alpha)
    alive = np.exp(ratio(n) + log_nb)
    # dropped out at the n-th purchase, made before t: B(a+1, b'+n-1)/B(a, b') P(NB >= n)
    pos = n > 0
    n1 = np.where(pos, n, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tail = np.where(t > 0, special.betainc(n1, r, t / (alpha + t)), 0.0)
    dropped = np.exp(np.log(a / (a + b + survived + n1 - 1.0)) + ratio(n1 - 1.0)) * tail
    out: FloatArray = np.clip(alive + np.where(pos, dropped, 0.0), 0.0, 1.0)
    return out


def pareto_new_pmf(
    n: FloatArray,
    t: FloatArray,
    r: Any,
    alpha: Any,
    s: Any,
    beta: Any,
) -> FloatArray:
    """``P(X(t) = n)`` of a Pareto/NBD customer just acquired, ``r``, ``alpha`` and
    ``beta`` per customer.

    Conditioning on the death time: ``NB(n; t) (β/(β+t))^s`` (alive at ``t``) plus
    ``∫_0^t s β^s (β+τ)^-(s+1) NB(n; τ) dτ``, by 128-point Gauss-Legendre quadrature in
    ``v = τ/(α+τ)``, where the integrand is smooth.
    """
    n, t, r, alpha, beta = np.broadcast_arrays(n, t, r, alpha, beta)
    log_cn = special.gammaln(r + n) - special.gammaln(r) - special.gammaln(n + 1.0)
    vt = t / (alpha + t)
    alive = np.exp(log_cn + r * np.log1p(-vt) + special.xlogy(n, vt) - s * np.log1p(t / beta))
    v = 0.5 * vt[..., None] * (_GL_NODES + 1.0)
    wq = 0.5 * vt[..., None] * _GL_WEIGHTS
    with np.errstate(divide="ignore"):
        # τ = α v / (1 - v): dτ = α / (1-v)^2 dv, NB(n; τ) = C v^n (1-v)^r,
        # (β+τ)^-(s+1) = (1-v)^(s+1) (β(1-v) + α v)^-(s+1)
        log_f = (
            np.log(s)
            + (s * np.log(beta) + np.log(alpha) + log_cn)[..., None]
            + special.xlogy(n[..., None], v)
            + (r + s - 1.0)[..., None] * np.log1p(-v)
            - (s + 1.0) * np.log(beta[..., None] * (1.0 - v) + alpha[..., None] * v)
        )
    dead = np.sum(wq * np.exp(log_f), axis=-1)
    out: FloatArray = np.clip(alive + dead, 0.0, 1.0)
    return out


def bgbb_new_pmf(
    k: FloatArray,
    m: FloatArray,
    alpha: Any,
    beta: Any,
    gamma: Any,
    delta: Any,
) -> FloatArray:
    """``P(X(m) = k)``: transactions in the first ``m`` opportunities of a BG/BB customer
    just acquired (Fader, Hardie & Shang 2010), parameters per customer:

    ``C(m, k) B(α+k, β+m-k)/B(α, β) · B(γ, δ+m)/B(γ, δ)`` (alive throughout) plus, for
    death after opportunity ``i`` (``i = k..m-1``, having transacted ``k`` times),
    ``C(i, k) B(α+k, β+i-k)/B(α, β) · B(γ+1, δ+i)/B(γ, δ)``. ``delta = inf`` is the
    limit without dropout (the beta-binomial).
    """
    k, m, alpha, beta, delta = np.broadcast_arrays(k, m, alpha, beta, delta)
    log_ab = special.betaln(alpha, beta)
    finite = np.isfinite(delta)
    d = np.where(finite, delta, 1.0)

    def log_choose(i: FloatArray, j: FloatArray) -> FloatArray:
        out: FloatArray = (
            special.gammaln(i + 1.0) - special.gammaln(j + 1.0) - special.gammaln(i - j + 1.0)
        )
        return out

    def log_survive(i: FloatArray) -> FloatArray:
        # B(γ, δ+i)/B(γ, δ); 0 (log) without dropout
        out: FloatArray = np.where(
            finite, special.betaln(gamma, d + i) - special.betaln(gamma, d), 0.0
        )
        return out

    with np.errstate(invalid="ignore", divide="ignore"):
        possible = k <= m
        kk = np.minimum(k, m)
        total = np.where(
            possible,
            np.exp(
                log_choose(m, kk)
                + special.betaln(alpha + kk, beta + m - kk)
                - log_ab
                + log_survive(m)
            ),
            0.0,
        )
        top = int(m.max()) if m.size else 0
        for i in range(top):
            fi = float(i)
            term = np.exp(
                log_choose(np.full(k.shape, fi), np.minimum(kk, fi))
                + special.betaln(alpha + kk, beta + np.maximum(fi - kk, 0.0))
                - log_ab
                + np.log(gamma)
                - np.log(gamma + d + fi)
                + log_survive(np.full(k.shape, fi))
            )
            total = total + np.where(finite & possible & (kk <= fi) & (fi < m), term, 0.0)
    out: FloatArray = np.clip(total, 0.0, 1.0)
    return out


def bg_no_dropout(r: Any, u: FloatArray, a: float, b: Any) -> FloatArray:
    """``E[(1 + p u)^-r]`` for ``p ~ Beta(a, b)``: the chance that a BG/NBD customer
    alive now, buying at a ``Gamma(r, α + T)`` rate, makes no purchase that ends their
    life within the next ``t`` periods (``u = t / (α + T)``): purchases followed by
    dropout arrive at rate ``λ p``, so none arrive with probability ``E[exp(-λ p t)]``.

    It is ``2F1(r, a; a+b; -u)``, evaluated after Pfaff's transformation as
    ``(1+u)^-r 2F1(r, b; a+b; u/(1+u))``, whose argument lies in ``[0, 1)``.
    """
    z = u / (1.0 + u)
    with np.errstate(all="ignore"):
        out: FloatArray = np.exp(-r * np.log1p(u)) * special.hyp2f1(r, b, a + b, z)
    return np.clip(out, 0.0, 1.0)
