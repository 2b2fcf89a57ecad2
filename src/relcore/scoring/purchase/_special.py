"""Special functions the purchase models need, evaluated stably and fast on arrays.

* `bg_expectation_core` — the Gaussian hypergeometric term of the BG/NBD and
  MBG/NBD conditional expectations, through Euler's transformation and a power series
  whose terms keep one sign (no cancellation), with a scipy fallback near ``z = 1``.
* `log_hyp2f1_shift1` — ``log 2F1(a, b; a + 1; z)`` for ``z`` in ``[0, 1)``, the
  function of the Pareto/NBD likelihood (Fader & Hardie 2005, note 008), with its exact
  first and second partial derivatives, so the likelihood and its information matrix come
  out of one pass.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from ._types import FloatArray

_EPS = 1e-17
# Power series are summed where they converge in a few dozen terms; beyond this argument
# the rows go to scipy's transformations.
_Z_SERIES = 0.9
_MAX_TERMS = 500
# the one-sign BG series is summed for arguments up to this value (8,000 terms at most)
_BOUND_SERIES = 0.995
_MAX_BG_TERMS = 8000


@np.errstate(all="ignore")
def bg_expectation_core(p: Any, q: Any, C: Any, z: Any) -> FloatArray:
    """``C * (1 - (1 - z)**p * 2F1(p, q; C; z)) / (C - q)``, finite as ``C - q -> 0``.

    With ``p = r + x``, ``q = b + x`` and ``C = a + b + x - 1`` (BG/NBD; MBG/NBD shifts
    ``q`` and ``C`` by one) and ``z = t / (alpha + T + t)`` this is the numerator of the
    conditional expectation (Fader, Hardie & Lee 2005, eq. 10). Euler's transformation
    ``2F1(p, q; C; z) = (1-z)**(C-p-q) 2F1(A, B; C; z)`` with ``A = C - p`` and
    ``B = C - q = a - 1`` gives a hypergeometric function whose first parameters do not
    grow with ``x``, and ``2F1(A, B; C; z) = 1 + B * S`` with ``S`` a series whose terms
    share one sign when ``A > -1``; then
    ``1 - (1-z)**B (1 + B S) = -expm1(B * (log1p(-z) + log1p(B S) / B))`` loses nothing to
    cancellation. Where that series would converge slowly or its terms would grow, the
    rows go to scipy's hypergeometric function instead.
    """
    p_, q_, C_, z_ = np.broadcast_arrays(
        np.asarray(p, dtype=np.float64),
        np.asarray(q, dtype=np.float64),
        np.asarray(C, dtype=np.float64),
        np.asarray(z, dtype=np.float64),
    )
    shape = z_.shape
    p_, q_, C_, z_ = p_.ravel(), q_.ravel(), C_.ravel(), z_.ravel()
    A_ = C_ - p_
    B_ = C_ - q_
    use_series = (z_ <= _BOUND_SERIES) & (A_ > -1.0)
    out = np.full(z_.size, np.nan)
    idx = np.flatnonzero(use_series)
    if idx.size:
        A, B, Cs, zs = A_[idx], B_[idx], C_[idx], z_[idx]
        S, ok = _series_s(A, B, Cs, zs)
        with np.errstate(all="ignore"):
            Y = np.log1p(-zs) + S * log1p_ratio(B * S)
            out[idx] = np.where(ok, Cs * (-Y) * expm1_ratio(B * Y), np.nan)
    rest = np.flatnonzero(np.isnan(out))
    if rest.size:
        out[rest] = _bg_core_scipy(p_[rest], q_[rest], C_[rest], z_[rest])
    result: FloatArray = np.maximum(out, 0.0).reshape(shape)
    return result


@np.errstate(all="ignore")
def _series_s(
    A: FloatArray, B: FloatArray, C: FloatArray, z: FloatArray
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """``sum_{k>=1} (A)_k (B+1)_{k-1} z**k / ((C)_k k!)`` and where it converged."""
    u = A * z / C
    S = u.copy()
    done = np.zeros(z.size, dtype=bool)
    active = np.arange(z.size)
    A_a, B_a, C_a, z_a = A, B, C, z
    for k in range(1, _MAX_BG_TERMS):
        u = u * ((A_a + k) * (B_a + k) / (k + 1.0)) * z_a / (C_a + k)
        S[active] += u
        if k % 8 == 0:
            ratio = (A_a + k + 1) * (B_a + k + 1) * z_a / ((C_a + k + 1) * (k + 2.0))
            rb = np.maximum(np.abs(ratio), z_a)
            Sa = S[active]
            conv = (rb < 1.0) & (np.abs(u) * rb / (1.0 - rb) <= _EPS * np.abs(Sa))
            bad = ~np.isfinite(Sa) | (np.abs(Sa) > 1e300)
            done[active[conv & ~bad]] = True
            keep = ~conv & ~bad
            if not keep.any():
                break
            if not keep.all():
                active, u = active[keep], u[keep]
                A_a, B_a, C_a, z_a = A_a[keep], B_a[keep], C_a[keep], z_a[keep]
    return S, done


@np.errstate(all="ignore")
def _hyp2f1_positive_series(
    p: FloatArray,
    q: FloatArray,
    C: FloatArray,
    z: FloatArray,
    max_terms: int = _MAX_BG_TERMS,
    last_tol: float = 1e-15,
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """``2F1(p, q; C; z)`` by its power series (positive terms for positive parameters),
    with a mask of the rows where it converged within ``max_terms`` without overflow."""
    total = np.ones(z.size)
    term = np.ones(z.size)
    active = np.arange(z.size)
    pa, qa, Ca, za = p, q, C, z
    done = np.zeros(z.size, dtype=bool)
    for k in range(max_terms):
        with np.errstate(over="ignore", invalid="ignore"):
            term = term * ((pa + k) * (qa + k)) / ((Ca + k) * (k + 1.0)) * za
        total[active] += term
        if k % 8 == 7:
            ratio = (pa + k + 1) * (qa + k + 1) * za / ((Ca + k + 1) * (k + 2.0))
            # beyond here the term ratios move monotonically from `ratio` towards z, so the
            # tail lies between the geometric sums at the two; take the midpoint and stop
            # once the bracket is negligible
            lo_r, hi_r = np.minimum(ratio, za), np.maximum(ratio, za)
            with np.errstate(divide="ignore", invalid="ignore"):
                t_lo = term * lo_r / (1.0 - lo_r)
                t_hi = term * hi_r / (1.0 - hi_r)
            Ta = total[active]
            last = k + 8 >= max_terms
            tol = 1e-15 if not last else last_tol
            small = (hi_r < 1.0) & (t_hi - t_lo <= tol * Ta)
            bad = ~np.isfinite(Ta) | (Ta > 1e300)
            good = small & ~bad
            total[active[good]] += 0.5 * (t_lo + t_hi)[good]
            done[active[good]] = True
            keep = ~small & ~bad
            if not keep.any():
                break
            active, term = active[keep], term[keep]
            pa, qa, Ca, za = pa[keep], qa[keep], Ca[keep], za[keep]
    return total, done


@np.errstate(all="ignore")
def _bg_core_scipy(p: FloatArray, q: FloatArray, C: FloatArray, z: FloatArray) -> FloatArray:
    """The same quantity from the untransformed series where it converges, else from
    scipy's hyp2f1 in whichever of the original and Euler-transformed forms is finite."""
    B = C - q
    b_ = np.where(np.abs(B) > 1e-7, B, 1e-7)
    total, ok = _hyp2f1_positive_series(p, q, C, z)
    with np.errstate(all="ignore"):
        log_s = np.log(total) + p * np.log1p(-z)
        need = ~ok
        if need.any():
            pn, qn, Cn, zn = p[need], q[need], C[need], z[need]
            log_h = np.log(special.hyp2f1(pn, qn, Cn, zn)) + pn * np.log1p(-zn)
            alt = np.log(special.hyp2f1(Cn - pn, Cn - qn, Cn, zn)) + (Cn - qn) * np.log1p(-zn)
            log_s[need] = np.where(np.isfinite(log_h), log_h, alt)
        out = C * (-np.expm1(log_s)) / b_
    out = np.asarray(out, dtype=np.float64)
    lost = np.flatnonzero(~np.isfinite(out) | (out < -1e-12 * np.abs(C)))
    if lost.size:
        out[lost] = _bg_core_quadrature(p[lost], q[lost], C[lost], z[lost])
    return out


@functools.cache
def _gauss_legendre(n: int) -> tuple[FloatArray, FloatArray]:
    """Nodes and weights of ``n``-point Gauss-Legendre quadrature on [0, 1] (computing
    them costs far more than using them, so they are computed once)."""
    x, w = np.polynomial.legendre.leggauss(n)
    nodes, weights = (x + 1.0) / 2.0, w / 2.0
    nodes.flags.writeable = False
    weights.flags.writeable = False
    return nodes, weights


def _bg_core_quadrature(n: FloatArray, q: FloatArray, C: FloatArray, z: FloatArray) -> FloatArray:
    """Last resort for parameters where every series and scipy fail (very large shape
    parameters near z = 1): the quantity is ``E[(1 - (1 + P u)**-n) / P]`` for
    ``P ~ Beta(a, q)``, ``a = C - q + 1`` and ``u = z / (1 - z)`` (the expected purchases
    of an active customer with dropout probability P and a gamma-mixed Poisson rate),
    integrated over the beta quantile ``v`` (``P = I^-1_v(a, q)``) by 200-point
    Gauss-Legendre quadrature: the integrand is bounded and smooth in ``P``."""
    nodes, weights = _gauss_legendre(200)
    a = (C - q + 1.0)[:, None]
    u = (z / (1.0 - z))[:, None]
    prob = np.clip(special.betaincinv(a, q[:, None], nodes), 1e-300, 1.0)
    with np.errstate(all="ignore"):
        pu = prob * u
        f = np.where(pu > 1e-300, -np.expm1(-n[:, None] * np.log1p(pu)) / prob, n[:, None] * u)
    out: FloatArray = f @ weights
    return out


# ---------------------------------------------------------------------------------------
# Pareto/NBD: log 2F1(a, b; a + 1; z)
# ---------------------------------------------------------------------------------------


def log_hyp2f1_shift1(
    a: FloatArray, b: FloatArray, z: FloatArray, *, derivatives: bool = False
) -> tuple[FloatArray, list[FloatArray] | None, list[list[FloatArray]] | None]:
    """``log 2F1(a, b; a+1; z)`` for ``0 < b < a + 1`` and ``0 <= z < 1``.

    Euler's transformation gives ``2F1(a, b; a+1; z) = (1-z)**(1-b) 2F1(1, c; d; z)`` with
    ``c = a + 1 - b`` and ``d = a + 1``, whose power series ``sum (c)_k / (d)_k z**k`` has
    positive terms decreasing at least like ``z**k`` once ``k > c - d``: summing it never
    cancels and never overflows. With ``derivatives=True`` the first and second partial
    derivatives with respect to ``(a, b, z)`` are returned too (as lists), accumulated
    term by term from ``d log((c)_k/(d)_k) / dc = psi(c+k) - psi(c)`` and its kin.
    """
    a, b, z = np.broadcast_arrays(
        np.asarray(a, dtype=np.float64),
        np.asarray(b, dtype=np.float64),
        np.asarray(z, dtype=np.float64),
    )
    shape = z.shape
    a, b, z = a.ravel(), b.ravel(), z.ravel()
    c = a + 1.0 - b
    d = a + 1.0
    n = z.size
    series = z <= _Z_SERIES
    idx = np.flatnonzero(series)
    # partials of log 2F1(1, c; d; z) with respect to (c, d, z)
    lp = np.zeros(n)
    g = [np.zeros(n) for _ in range(3)]
    h = [[np.zeros(n) for _ in range(3)] for _ in range(3)]
    if idx.size:
        res = _psi_series(c[idx], d[idx], z[idx], derivatives)
        lp[idx] = res[0]
        if derivatives:
            for i in range(3):
                g[i][idx] = res[1][i]
                for j in range(3):
                    h[i][j][idx] = res[2][i][j]
    rest = np.flatnonzero(~series)
    if rest.size:
        res = _psi_scipy(c[rest], d[rest], z[rest], derivatives)
        lp[rest] = res[0]
        if derivatives:
            for i in range(3):
                g[i][rest] = res[1][i]
                for j in range(3):
                    h[i][j][rest] = res[2][i][j]
    l1z = np.log1p(-z)
    val = (1.0 - b) * l1z + lp
    if not derivatives:
        return val.reshape(shape), None, None
    # chain rule from (c, d, z) to (a, b, z): c = a + 1 - b, d = a + 1
    gc, gd, gz = g
    ga = gc + gd
    gb = -gc - l1z
    gzz = gz - (1.0 - b) / (1.0 - z)
    hcc, hcd, hcz = h[0][0], h[0][1], h[0][2]
    hdd, hdz, hzz = h[1][1], h[1][2], h[2][2]
    haa = hcc + 2 * hcd + hdd
    hab = -hcc - hcd
    haz = hcz + hdz
    hbb = hcc
    hbz = -hcz + 1.0 / (1.0 - z)
    hzz_total = hzz - (1.0 - b) / (1.0 - z) ** 2
    grad = [ga.reshape(shape), gb.reshape(shape), gzz.reshape(shape)]
    hess = [
        [haa, hab, haz],
        [hab, hbb, hbz],
        [haz, hbz, hzz_total],
    ]
    return val.reshape(shape), grad, [[x.reshape(shape) for x in row] for row in hess]


def _psi_series(
    c: FloatArray, d: FloatArray, z: FloatArray, derivatives: bool
) -> tuple[FloatArray, list[FloatArray], list[list[FloatArray]]]:
    """log of ``sum_k (c)_k/(d)_k z**k`` and its partials in ``(c, d, z)``."""
    n = z.size
    F = np.ones(n)
    # E_k = (c)_k/(d)_k z**k, G_k = k E_k / z (derivative in z), both computed without
    # dividing by z so that z = 0 is fine.
    E = np.ones(n)
    G = np.zeros(n)
    if derivatives:
        Lc = np.zeros(n)  # d log E_k / dc
        Ld = np.zeros(n)  # d log E_k / dd
        Qc = np.zeros(n)  # d2 log E_k / dc2
        Qd = np.zeros(n)
        Fc, Fd, Fz = np.zeros(n), np.zeros(n), np.zeros(n)
        Fcc, Fdd, Fcd = np.zeros(n), np.zeros(n), np.zeros(n)
        Fcz, Fdz, Fzz = np.zeros(n), np.zeros(n), np.zeros(n)
        Hk = np.zeros(n)  # k (k-1) E_k / z**2
    active = np.arange(n)
    tail = 1.0 / (1.0 - z)
    for k in range(1, _MAX_TERMS):
        ca, da, za = c[active], d[active], z[active]
        ratio = (ca + (k - 1)) / (da + (k - 1))
        if derivatives:
            # H_k = k(k-1) (c)_k/(d)_k z^(k-2) = G_{k-1} * ratio * k; G_k = E_{k-1} ratio k
            Hk_new = G * ratio * k
            G_new = E * ratio * k
            E = E * ratio * za
            G = G_new
            Lc = Lc + 1.0 / (ca + (k - 1))
            Ld = Ld - 1.0 / (da + (k - 1))
            Qc = Qc - 1.0 / (ca + (k - 1)) ** 2
            Qd = Qd + 1.0 / (da + (k - 1)) ** 2
            F[active] += E
            Fc[active] += E * Lc
            Fd[active] += E * Ld
            Fz[active] += G
            Fcc[active] += E * (Lc * Lc + Qc)
            Fdd[active] += E * (Ld * Ld + Qd)
            Fcd[active] += E * Lc * Ld
            Fcz[active] += G * Lc
            Fdz[active] += G * Ld
            Fzz[active] += Hk_new
            Hk = Hk_new
        else:
            E = E * ratio * za
            F[active] += E
        if k % 4 == 0:
            # terms are positive and shrink by at least a factor z (c < d)
            keep = E * (k + 1) * tail[active] > _EPS * F[active]
            if not keep.all():
                active = active[keep]
                E, G = E[keep], G[keep]
                if derivatives:
                    Lc, Ld, Qc, Qd, Hk = Lc[keep], Ld[keep], Qc[keep], Qd[keep], Hk[keep]
                if active.size == 0:
                    break
    val = np.log(F)
    if not derivatives:
        return val, [], []
    gc, gd, gz = Fc / F, Fd / F, Fz / F
    grad = [gc, gd, gz]
    hess = [
        [Fcc / F - gc * gc, Fcd / F - gc * gd, Fcz / F - gc * gz],
        [Fcd / F - gc * gd, Fdd / F - gd * gd, Fdz / F - gd * gz],
        [Fcz / F - gc * gz, Fdz / F - gd * gz, Fzz / F - gz * gz],
    ]
    return val, grad, hess


def hyp2f1_one(c: Any, d: Any, z: Any, one_minus_z: Any = None) -> FloatArray:
    """``2F1(1, c; d; z)`` for ``0 < c < d`` and ``0 <= z < 1``, robustly.

    The power series ``sum (c)_k/(d)_k z**k`` has positive terms shrinking by at least
    ``z`` (``c < d``); it is summed where it converges within 8,000 terms. The rest (``z``
    near 1 with ``b = d - c`` small) use the connection formula to ``1 - z``:
    ``Γ(d)Γ(1-b)/Γ(c) z**(1-d) (1-z)**(b-1) + (d-1)/(b-1) 2F1(1, c; 2-b; 1-z)``, whose
    series converges fast there; within 1e-6 of an integer ``b`` (where both terms have
    poles) it is interpolated between ``round(b) ± 1e-6``, exact to about 1e-10.
    (scipy's ``hyp2f1`` returns inf or
    NaN in parts of this range.) ``one_minus_z``, when given, is ``1 - z`` computed
    without rounding (``d / (1 + d)`` for a discount factor ``1 / (1 + d)``).
    """
    eps_in = 1.0 - np.asarray(z, dtype=np.float64) if one_minus_z is None else one_minus_z
    c_, d_, z_, e_ = np.broadcast_arrays(
        np.asarray(c, dtype=np.float64),
        np.asarray(d, dtype=np.float64),
        np.asarray(z, dtype=np.float64),
        np.asarray(eps_in, dtype=np.float64),
    )
    shape = z_.shape
    c_, d_, z_, e_ = c_.ravel(), d_.ravel(), z_.ravel(), e_.ravel()
    total, ok = np.empty(z_.size), np.zeros(z_.size, dtype=bool)
    # Near z = 1 with c (1 - z) < 1 the connection formula converges in a few dozen terms
    # (accurate to 3e-11 against mpmath there) where the direct series would need
    # ~40 / (1 - z): such rows go straight to it.
    direct = np.flatnonzero(~((z_ > _Z_SERIES) & (c_ * e_ < 1.0)))
    if direct.size:
        total[direct], ok[direct] = _hyp2f1_positive_series(
            np.ones(direct.size), c_[direct], d_[direct], z_[direct]
        )
    # the connection formula's series needs c (1 - z) moderate; otherwise sum further
    # with the bracketed tail estimate (its bracket, not exactness, bounds the error)
    far = ~ok & (c_ * e_ > 2.0)
    if far.any():
        idx = np.flatnonzero(far)
        total[idx], _ = _hyp2f1_positive_series(
            np.ones(idx.size), c_[idx], d_[idx], z_[idx], max_terms=30_000, last_tol=1e-8
        )
        ok[idx] = True
    rest = np.flatnonzero(~ok)
    if rest.size:
        cr, dr, zr, er = c_[rest], d_[rest], z_[rest], e_[rest]
        b = dr - cr
        k = np.round(b)
        near = np.abs(b - k) < 1e-6
        value = _hyp2f1_one_connection(cr, dr, zr, er)
        if near.any():
            # Both terms have poles at integer b: interpolate linearly in b between
            # k - 1e-6 and k + 1e-6, where they cancel to about 1e-10 (a shift of b by
            # 1e-6 could land within rounding of the pole itself)
            i = np.flatnonzero(near)
            below = _hyp2f1_one_connection(dr[i] - (k[i] - 1e-6), dr[i], zr[i], er[i])
            above = _hyp2f1_one_connection(dr[i] - (k[i] + 1e-6), dr[i], zr[i], er[i])
            value[i] = below + (b[i] - (k[i] - 1e-6)) / 2e-6 * (above - below)
        total[rest] = value
    out: FloatArray = total.reshape(shape)
    return out


def _hyp2f1_one_connection(
    c: FloatArray, d: FloatArray, z: FloatArray, eps: FloatArray
) -> FloatArray:
    b = d - c
    with np.errstate(all="ignore"):
        log_first = (
            special.gammaln(d)
            + special.gammaln(1.0 - b)
            - special.gammaln(c)
            + (1.0 - d) * np.log1p(-eps)
            + (b - 1.0) * np.log(eps)
        )
        first = special.gammasgn(1.0 - b) * np.exp(log_first)
        # 2F1(1, c; 2-b; eps) = sum_k (c)_k / (2-b)_k eps**k, summed while rows need it
        series = np.ones_like(z)
        term = np.ones_like(z)
        active = np.arange(z.size)
        ca, ba, ea = c, b, eps
        for k in range(_MAX_TERMS * 4):
            term = term * (ca + k) / (2.0 - ba + k) * ea
            series[active] += term
            if k > 4:
                keep = np.abs(term) > _EPS * np.abs(series[active])
                if not keep.any():
                    break
                if not keep.all():
                    active, term, ca, ba, ea = (
                        active[keep],
                        term[keep],
                        ca[keep],
                        ba[keep],
                        ea[keep],
                    )
        out = first + (d - 1.0) / (b - 1.0) * series
    return np.asarray(out, dtype=np.float64)


def _psi_scipy(
    c: FloatArray,
    d: FloatArray,
    z: FloatArray,
    derivatives: bool,
    one_minus_z: FloatArray | None = None,
) -> tuple[FloatArray, list[FloatArray], list[list[FloatArray]]]:
    """``log 2F1(1, c; d; z)`` near ``z = 1`` through `hyp2f1_one`, with partials by
    central differences of the logarithm (accurate to about 1e-7, which only steers the
    optimiser on rows of extreme parameters).

    The differences in ``z`` are taken in ``w = 1 - z`` (given exactly as ``one_minus_z``
    when the caller can: near ``z = 1`` the function depends on ``w`` through powers, and
    ``1 - z`` recomputed from ``z`` keeps few of its digits).
    """
    w = 1.0 - z if one_minus_z is None else one_minus_z

    def f(cc: Any, dd: Any, ww: Any) -> FloatArray:
        with np.errstate(all="ignore"):
            return np.asarray(np.log(hyp2f1_one(cc, dd, 1.0 - ww, ww)), dtype=np.float64)

    val = f(c, d, w)
    if not derivatives:
        return val, [], []
    args = [c, d, w]
    steps = [
        1e-4 * np.maximum(1.0, np.abs(c)),
        1e-4 * np.maximum(1.0, np.abs(d)),
        1e-4 * np.minimum(w, 1.0 - w) + 1e-300,
    ]

    def shifted(i: int, si: float, j: int | None = None, sj: float = 0.0) -> FloatArray:
        a = [x.copy() for x in args]
        a[i] = a[i] + si * steps[i]
        if j is not None:
            a[j] = a[j] + sj * steps[j]
        return f(*a)

    grad = []
    hess = [[np.zeros_like(val) for _ in range(3)] for _ in range(3)]
    for i in range(3):
        fp, fm = shifted(i, 1.0), shifted(i, -1.0)
        hi = steps[i]
        grad.append((fp - fm) / (2 * hi))
        hess[i][i] = (fp - 2 * val + fm) / hi**2
    for i in range(3):
        for j in range(i + 1, 3):
            fpp, fpm = shifted(i, 1.0, j, 1.0), shifted(i, 1.0, j, -1.0)
            fmp, fmm = shifted(i, -1.0, j, 1.0), shifted(i, -1.0, j, -1.0)
            hij = (fpp - fpm - fmp + fmm) / (4 * steps[i] * steps[j])
            hess[i][j] = hess[j][i] = hij
    # from w = 1 - z back to z: first derivatives and mixed ones with z change sign
    grad[2] = -grad[2]
    for i in range(2):
        hess[i][2] = hess[2][i] = -hess[i][2]
    return val, grad, hess


# ---------------------------------------------------------------------------------------
# 2F1(1, c; d; z) for many rows sharing (c, d) within groups
# ---------------------------------------------------------------------------------------

_PSI_NAMES = ("v", "c", "d", "z", "cc", "cd", "dd", "cz", "dz", "zz")
# multiply-adds of a matrix product that OpenBLAS runs on the calling thread (its
# documented default threshold: 4 x 65536)
_BLAS_ONE_THREAD = 262_144


def _series_terms(zmax: float) -> int:
    """Terms of ``sum_k (c)_k/(d)_k z**k`` for 1e-17 at ``z <= zmax`` (they shrink at
    least by ``z`` per step, as ``c < d``)."""
    if zmax <= 0.0:
        return 3  # at z = 0 too, the second z-derivative needs the z**2 term
    return int(min(np.ceil(np.log(_EPS) / np.log(zmax)) + 3, 400))


def psi_table(c: FloatArray, d: FloatArray, zmax: float, derivatives: bool) -> FloatArray:
    """Coefficients of the series behind `psi_grouped`, per group (one ``c`` and
    ``d`` per group): ``G x K x 10`` with derivatives (the series of ``2F1(1, c; d; z)``
    and of its partials in ``c``, ``d`` and ``z``), else ``G x K x 1``; enough terms
    ``K`` for arguments up to ``zmax``.

    ``d/dc log (c)_k = sum_j 1/(c+j)`` and kin: within a group every row's series has
    the same coefficients, so all ten come out of one matrix product per group.
    """
    G, K = c.size, _series_terms(min(zmax, _Z_SERIES))
    k = np.arange(K, dtype=np.float64)
    ck = c[:, None] + k[None, :-1]
    dk = d[:, None] + k[None, :-1]
    ones = np.ones((G, 1))
    zeros = np.zeros((G, 1))
    e = np.concatenate([ones, np.cumprod(ck / dk, axis=1)], axis=1)
    if not derivatives:
        out: FloatArray = e[:, :, None]
        return out
    Lc = np.concatenate([zeros, np.cumsum(1.0 / ck, axis=1)], axis=1)
    Ld = -np.concatenate([zeros, np.cumsum(1.0 / dk, axis=1)], axis=1)
    Qc = -np.concatenate([zeros, np.cumsum(1.0 / ck**2, axis=1)], axis=1)
    Qd = np.concatenate([zeros, np.cumsum(1.0 / dk**2, axis=1)], axis=1)
    ke = k * e
    # z-derivative series: sum_k k e_k z^(k-1) = sum_j (j+1) e_(j+1) z^j
    kz = np.concatenate([ke[:, 1:], zeros], axis=1)
    kzc = np.concatenate([(ke * Lc)[:, 1:], zeros], axis=1)
    kzd = np.concatenate([(ke * Ld)[:, 1:], zeros], axis=1)
    kzz = np.zeros((G, K))
    kzz[:, : K - 2] = (k * (k - 1.0) * e)[:, 2:]
    columns = [e, e * Lc, e * Ld, kz, e * (Lc * Lc + Qc), e * Lc * Ld, e * (Ld * Ld + Qd)]
    table: FloatArray = np.stack([*columns, kzc, kzd, kzz], axis=2)
    return table


def psi_grouped(
    table: FloatArray,
    c: FloatArray,
    d: FloatArray,
    z: FloatArray,
    segments: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]],
    derivatives: bool,
    one_minus_z: FloatArray | None = None,
) -> dict[str, FloatArray]:
    """``log 2F1(1, c; d; z)`` (key ``"v"``) and, with ``derivatives``, its first and second
    partials in ``(c, d, z)`` (keys ``"c"``, ``"cd"``, ``"zz"``…), for rows in segments
    of one group each: ``segments = (group, start, end)`` (``c``, ``d`` and ``table``,
    from `psi_table`, hold one entry per group).

    Each segment is a matrix product of its rows' powers of ``z`` with its group's
    table, with as many terms as its largest ``z`` needs. Rows with ``z > 0.9`` go to the
    robust path of `log_hyp2f1_shift1`.
    """
    n = z.size
    fast = z <= _Z_SERIES
    zf = np.where(fast, z, 0.0)
    m = table.shape[2]
    S = np.empty((m, n))  # one contiguous row per series
    small: list[tuple[int, int, int]] = []
    for g, lo, hi in zip(*(a.tolist() for a in segments), strict=True):
        if hi - lo < 64:
            small.append((g, lo, hi))
            continue
        K = min(table.shape[1], _series_terms(float(zf[lo:hi].max())))
        powers = _powers(zf[lo:hi], K)
        coef = table[g, :K].T
        # Products small enough that OpenBLAS keeps them on the calling thread: its own
        # threads, woken for every larger product, stall on a busy machine (tenfold
        # slowdowns on two loaded cores) and fight the threads of a chunked objective.
        step = max(64, _BLAS_ONE_THREAD // (K * m))
        for b0 in range(0, hi - lo, step):
            b1 = min(hi - lo, b0 + step)
            S[:, lo + b0 : lo + b1] = coef @ powers[:, b0:b1]
    if small:
        idx = np.concatenate([np.arange(lo, hi) for _, lo, hi in small])
        gsel = np.concatenate([np.full(hi - lo, g) for g, lo, hi in small])
        S[:, idx] = np.einsum("kn,nkj->jn", _powers(zf[idx], table.shape[1]), table[gsel])
    F = S[0]
    out = {"v": np.log(F)}
    if derivatives:
        inv = 1.0 / F
        gc, gd, gz = S[1] * inv, S[2] * inv, S[3] * inv
        out.update(
            c=gc,
            d=gd,
            z=gz,
            cc=S[4] * inv - gc * gc,
            cd=S[5] * inv - gc * gd,
            dd=S[6] * inv - gd * gd,
            cz=S[7] * inv - gc * gz,
            dz=S[8] * inv - gd * gz,
            zz=S[9] * inv - gz * gz,
        )
    if not fast.all():
        idx = np.flatnonzero(~fast)
        gid = np.empty(n, dtype=np.float64)
        for g, lo, hi in zip(*(a.tolist() for a in segments), strict=True):
            gid[lo:hi] = g
        w = 1.0 - z[idx] if one_minus_z is None else one_minus_z[idx]
        # Near the no-dropout boundary most rows land here, and many share their group
        # and argument (customers without repeat purchases: t_x = 0): each distinct
        # one is evaluated once.
        from ._inputs import distinct_rows

        distinct = distinct_rows([gid[idx], z[idx], w])
        if distinct is None:
            ug, uz, uw, spread = gid[idx], z[idx], w, np.arange(idx.size)
        else:
            (ug, uz, uw), spread = distinct
        ui = ug.astype(np.intp)
        val, grad, hess = _psi_scipy(c[ui], d[ui], uz, derivatives, uw)
        out["v"][idx] = val[spread]
        if derivatives:
            for i, name in enumerate(("c", "d", "z")):
                out[name][idx] = grad[i][spread]
            pairs = {"cc": (0, 0), "cd": (0, 1), "dd": (1, 1), "cz": (0, 2), "dz": (1, 2)}
            pairs["zz"] = (2, 2)
            for key, (i, j) in pairs.items():
                out[key][idx] = hess[i][j][spread]
    return out


def _powers(z: FloatArray, K: int) -> FloatArray:
    """``[1, z, z**2, ..., z**(K-1)]`` as the rows of a ``K x len(z)`` array, by repeated
    multiplication (each step one contiguous vector product)."""
    p = np.empty((K, z.size))
    p[0] = 1.0
    for j in range(1, K):
        np.multiply(p[j - 1], z, out=p[j])
    return p


def group_rows(x: FloatArray) -> tuple[npt.NDArray[np.intp], FloatArray, npt.NDArray[np.intp]]:
    """``(order, values, starts)``: a permutation sorting rows by ``x``, the distinct
    values and where each value's rows start in that order."""
    ux, inv = unique_counts(x)
    key = inv.astype(np.int16) if ux.size < 32_000 else inv
    order = np.argsort(key, kind="stable")  # radix sort for 16-bit keys
    counts = np.bincount(inv, minlength=ux.size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    return order.astype(np.intp), ux, starts


@np.errstate(all="ignore")
def bg_expectation_by_frequency(
    A: float, B: float, C: FloatArray, x: FloatArray, z: FloatArray
) -> FloatArray:
    """`bg_expectation_core` for the common case of constant ``A`` and ``B`` (fixed
    parameters) with ``C`` a function of the frequency ``x``.

    Rows are sorted by (frequency, band of ``z``); within a group the series ``S`` has the
    same coefficients for every row, so it is one matrix product of the rows' powers of
    ``z`` with the group's coefficients, with as many terms as the group's largest ``z``
    needs. Rows with ``z > 0.6`` (or parameters where the terms could grow) take the
    per-row path.
    """
    n = z.size
    out = np.empty(n)
    if A <= -1.0 or n == 0:
        return bg_expectation_core(C - A, C - B, C, z)
    band = z > 0.15
    fast = z <= 0.6
    ux, inv = unique_counts(x)
    key = inv * 2 + band
    order = np.argsort(key.astype(np.int16) if 2 * ux.size < 32_000 else key, kind="stable")
    counts = np.bincount(key, minlength=2 * ux.size)
    starts = np.concatenate([[0], np.cumsum(counts)])
    zs = np.where(fast, z, 0.0)[order]
    Cs = C[order]
    res = np.empty(n)
    slow_mask = np.zeros(n, dtype=bool)
    kk = np.arange(1, 401, dtype=np.float64)
    for g in np.flatnonzero(counts):
        lo, hi = int(starts[g]), int(starts[g + 1])
        zg = zs[lo:hi]
        zmax = float(zg.max())
        Cg = float(Cs[lo])
        if Cg == 0.0:  # C at the pole of 2F1 (a + b = 1, x = 0): the per-row path's limit
            slow_mask[lo:hi] = True
            continue
        # u_k / z^k for k = 1..400: A/C, then ratios (A+k)(B+k)/((C+k)(k+1))
        ratios = (A + kk[:-1]) * (B + kk[:-1]) / ((Cg + kk[:-1]) * (kk[:-1] + 1.0))
        with np.errstate(over="ignore", invalid="ignore"):
            coef = (A / Cg) * np.concatenate([[1.0], np.cumprod(ratios)])
            size = np.abs(coef) * zmax ** (kk - 1.0)
        tail_ok = size <= _EPS * max(abs(coef[0]), 1e-300)
        if zmax == 0.0:
            K = 1
        elif tail_ok.any() and np.all(np.diff(size[np.argmax(tail_ok) :]) <= 0):
            K = int(np.argmax(tail_ok)) + 1
        else:
            slow_mask[lo:hi] = True
            continue
        p = np.empty((K, hi - lo))
        p[0] = zg
        for j in range(1, K):
            np.multiply(p[j - 1], zg, out=p[j])
        res[lo:hi] = coef[:K] @ p
    S = np.empty(n)
    S[order] = res
    slow = ~fast
    slow[order[slow_mask]] = True
    Y = np.log1p(-z) + S * log1p_ratio(B * S)
    out = C * (-Y) * expm1_ratio(B * Y)
    # where 1 + B S <= 0 (a + b < 1 can make the group's series negative enough) the
    # logarithm fails: those rows take the per-row path too
    slow |= ~np.isfinite(out)
    if slow.any():
        idx = np.flatnonzero(slow)
        out[idx] = bg_expectation_core(C[idx] - A, C[idx] - B, C[idx], z[idx])
    result: FloatArray = np.maximum(out, 0.0)
    return result


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


def log_beta_step(a: Any, b: Any) -> FloatArray:
    """``log(b / (a+b))``, the step ``log B(a, b+1) - log B(a, b)``: as ``log1p(-a/(a+b))``
    while ``a/(a+b) < 1/2`` (where the ratio is near 1 and a difference of logarithms
    would lose its digits), else as that difference."""
    frac = a / (a + b)
    with np.errstate(divide="ignore"):
        out: FloatArray = np.where(
            frac < 0.5, np.log1p(-np.minimum(frac, 0.5)), np.log(b) - np.log(a + b)
        )
    return out


def log_beta_ratio(
    a: float, b: float, k: FloatArray, *, derivatives: bool = False
) -> tuple[FloatArray, list[FloatArray], list[list[FloatArray]]]:
    """``log B(a, b+k) - log B(a, b)`` for whole numbers ``k >= 0`` (the log of
    ``E[(1-p)**k]`` for ``p ~ Beta(a, b)``), with its partial derivatives in ``(a, b)``.

    It is the sum ``Σ_{j<k} log((b+j) / (a+b+j))``, accumulated term by term: exact for
    any ``a`` and ``b``, whereas the difference of two ``betaln`` values loses every
    digit once ``b`` is large (each is about ``-a log b``), which is where a fit without
    dropout takes the dropout parameters. The partials are the sums of ``-1/(a+b+j)``,
    ``a/((b+j)(a+b+j))`` and their derivatives, written so that nothing cancels.
    """
    idx = np.asarray(k).astype(np.intp)
    kmax = int(idx.max()) if idx.size else 0
    j = np.arange(kmax, dtype=np.float64)
    bj, abj = b + j, a + b + j
    terms = log_beta_step(a, bj)

    def partial(values: FloatArray) -> FloatArray:
        out: FloatArray = np.concatenate([[0.0], np.cumsum(values)])[idx]
        return out

    val = partial(terms)
    if not derivatives:
        return val, [], []
    ia, ib = 1.0 / abj, 1.0 / bj
    ga, gb = partial(-ia), partial(a * ia * ib)
    haa = partial(ia * ia)
    hbb = partial(-a * ia * ib * (ia + ib))
    return val, [ga, gb], [[haa, haa], [haa, hbb]]


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


# ---------------------------------------------------------------------------------------
# Sums of beta ratios: the purchase chances a beta-geometric customer survives to use
# ---------------------------------------------------------------------------------------

# From here up, Stirling's series for log Γ to its y**-7 term holds to rounding (the next
# term, 1/(1188 y**9), is below 1e-15 of what it corrects); below, Γ's recurrence
# shifts the argument up.
_STIRLING_FROM = 20.0


def _log1p_ratio_less_one(w: FloatArray) -> FloatArray:
    """``log1p(w)/w - 1``, to full relative accuracy however small ``w`` is (its series
    ``-w/2 + w²/3 - w³/4 …`` below ``|w| = 0.1``)."""
    w = np.asarray(w, dtype=np.float64)
    small = np.abs(w) < 0.1
    ws = np.where(small, w, 0.0)
    series = np.zeros_like(ws)
    for k in range(17, 0, -1):  # Horner: Σ (-1)**k w**k / (k+1), k = 1..17
        series = ws * ((-1.0) ** k / (k + 1) + series)
    with np.errstate(all="ignore"):
        direct = np.log1p(w) / w - 1.0
    out: FloatArray = np.where(small, series, direct)
    return out


def _stirling_parts(y: FloatArray, d: Any) -> tuple[FloatArray, FloatArray]:
    """The two small pieces of `_stirling_slope` at ``y``: ``(1 - 1/(2y)) log1p(d/y)/(d/y)
    - 1`` (of order ``1/y``, kept small so that differences of it keep their digits) and
    ``(φ(y+d) - φ(y))/d``."""
    u, v = 1.0 / y, 1.0 / (y + d)
    # h(u, v) of degree j by h_j = u**j + v h_(j-1), from h_0 = 1
    h: Any = 1.0
    u_power: Any = 1.0
    even = []
    for j in range(1, 7):
        u_power = u_power * u
        h = u_power + v * h
        if j % 2 == 0:
            even.append(h)
    h2, h4, h6 = even
    dphi = u * v * (-1.0 / 12.0 + h2 / 360.0 - h4 / 1260.0 + h6 / 1680.0)
    w = d * u
    return _log1p_ratio_less_one(w) - 0.5 * u * log1p_ratio(w), dphi


def _stirling_slope(y: FloatArray, d: Any) -> FloatArray:
    """``(log Γ(y+d) - log Γ(y)) / d`` for ``y >= _STIRLING_FROM`` and ``y + d > 0``.

    From ``log Γ(y) = (y-1/2) log y - y + log(2π)/2 + φ(y)``, it is ``log(y+d) +
    [(1 - 1/(2y)) log1p(d/y)/(d/y) - 1] + (φ(y+d) - φ(y))/d``. Each ``((y+d)**-k - y**-k)/d``
    in ``φ`` is ``-u v h(u, v)`` with ``u = 1/y``, ``v = 1/(y+d)`` and ``h`` the sum of
    every product ``u**i v**(k-1-i)``: terms of one sign, so nothing cancels as ``d -> 0``
    (where the slope is ``ψ(y)``), and nothing overflows however large ``y`` is.
    """
    half, dphi = _stirling_parts(y, d)
    out: FloatArray = np.log(y + d) + half + dphi
    return out


def _recurrence_terms(y: FloatArray, d: Any, count: Any) -> FloatArray:
    """``Σ_{k<count} log1p(d/(y+k))/d``: ``log Γ``'s recurrence, term by term (each one
    ``log1p_ratio(d/(y+k)) / (y+k)``, positive), for ``count`` of at most a few dozen."""
    count = np.asarray(count)
    total = np.zeros(np.broadcast(y, count).shape)
    for k in range(int(count.max()) if count.size else 0):
        yk = y + k
        total += np.where(k < count, log1p_ratio(d / yk) / yk, 0.0)
    return total


def lgamma_slope(x: Any, d: Any) -> FloatArray:
    """``(log Γ(x+d) - log Γ(x)) / d`` for ``x > 0`` and ``x + d > 0`` (``ψ(x)`` at
    ``d = 0``), accurate to rounding where the difference of two ``gammaln`` values loses
    every digit as ``d -> 0`` or ``x`` grows.

    Examples
    --------
    >>> from scipy import special
    >>> bool(np.isclose(lgamma_slope(3.0, 0.0), special.digamma(3.0), rtol=1e-14))
    True
    >>> bool(np.isclose(lgamma_slope(3.0, 2.0), (special.gammaln(5.0) - special.gammaln(3.0)) / 2))
    True
    """
    x = np.asarray(x, dtype=np.float64)
    shift = np.maximum(0.0, np.ceil(_STIRLING_FROM - x))
    out: FloatArray = _stirling_slope(x + shift, d) - _recurrence_terms(x, d, shift)
    return out


def lgamma_slope_rise(c: Any, m: Any, d: Any) -> FloatArray:
    """``lgamma_slope(c+m, d) - lgamma_slope(c, d)`` for whole numbers ``m >= 0``,
    computed so that a small rise keeps its digits: the first steps below
    ``_STIRLING_FROM`` are summed term by term, the rest taken from Stirling's series
    with the logarithms joined (``log1p(m/(c+d))``)."""
    c = np.asarray(c, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    steps = np.minimum(m, np.maximum(0.0, np.ceil(_STIRLING_FROM - c)))
    low, rest = c + steps, m - steps
    # Stirling's pieces at low and high (with rest = 0 they cancel exactly), the
    # logarithms joined
    half_low, dphi_low = _stirling_parts(low, d)
    half_high, dphi_high = _stirling_parts(low + rest, d)
    joined = np.log1p(rest / (low + d))
    halves, dphis = half_high - half_low, dphi_high - dphi_low
    out: FloatArray = _recurrence_terms(c, d, steps) + joined + halves + dphis
    return out


def survived_chances(a: float, b: Any, n0: Any, m: Any) -> FloatArray:
    """``Σ_{n=n0+1..n0+m} B(a, b+n-1) / B(a, b)`` for whole numbers ``n0, m >= 0``: how
    many of the purchase chances ``n0+1 .. n0+m`` a customer whose dropout probability
    is ``p ~ Beta(a, b)`` is expected to survive to use.

    ``B(a, c) = B(a-1, c) - B(a-1, c+1)`` telescopes the sum from ``c = b + n0`` to
    ``B(a, c)/B(a, b) · (c+a-1)/(a-1) · (1 - R)`` with ``R = Γ(c+m) Γ(c+a-1) / (Γ(c)
    Γ(c+m+a-1))``. With ``σ`` = `lgamma_slope` and ``ρ`` the rise ``σ(c+m, a-1) -
    σ(c, a-1)``, ``log R = -(a-1) ρ`` and ``(1 - R)/(a-1) = ρ expm1(-(a-1) ρ)/(-(a-1) ρ)``;
    the first factor is ``exp(-a (σ(c, a) - σ(b, a)))``. Every factor is positive and
    nothing cancels, however close ``a`` is to 1 (where the sum is ``c (ψ(c+m) - ψ(c))``
    times the first factor), however many chances are summed and however far along
    (``n0``) they start, where differences of ``gammaln`` values lose every digit.

    Examples
    --------
    One chance: the first term, ``B(a, b+n0)/B(a, b)``; for ``n0 = 0``, one.

    >>> float(survived_chances(2.0, 3.0, 0, 1))
    1.0
    >>> round(float(survived_chances(2.0, 3.0, 1, 1)), 12)  # B(2, 4)/B(2, 3) = 3/5
    0.6
    """
    d = a - 1.0
    c = np.asarray(b, dtype=np.float64) + n0
    m = np.asarray(m, dtype=np.float64)
    lead = np.exp(-a * lgamma_slope_rise(b, n0, a))  # the first chance's term
    # Below c = 1 - a the closed form's B(a-1, c) has a negative argument: the first
    # chance is counted on its own, the rest from c + 1 (B(a, c+1) = B(a, c) c/(a+c)).
    shift = c + d <= 0.0
    first = shift & (m > 0)
    c, m = c + shift, m - first
    lead_c = np.where(shift, lead * (c - 1.0) / (a + c - 1.0), lead)
    rise = lgamma_slope_rise(c, m, d)
    out: FloatArray = np.where(first, lead, 0.0) + lead_c * (c + d) * rise * expm1_ratio(-d * rise)
    return out


# ---------------------------------------------------------------------------------------
# BG/NBD and MBG/NBD expectations over many horizons (customer lifetime value)
# ---------------------------------------------------------------------------------------


def _bg_horizons(
    A: float, B: float, C0: float, x: FloatArray, beta: FloatArray, t: FloatArray, w: FloatArray
) -> FloatArray:
    """``sum_k w_k core(t_k)`` per row, each term exact (`bg_expectation_by_frequency`
    with ``C = C0 + x`` and ``z = t_k / (beta + t_k)``)."""
    if x.size == 0:
        return np.zeros(0)
    z = t[None, :] / (beta[:, None] + t[None, :])
    xs = np.repeat(x, t.size)
    core = bg_expectation_by_frequency(A, B, C0 + xs, xs, z.ravel()).reshape(z.shape)
    out: FloatArray = core @ w
    return out


def bg_expectation_sum(
    A: float, B: float, C0: float, x: FloatArray, beta: FloatArray, t: FloatArray, w: FloatArray
) -> FloatArray:
    """``sum_k w_k core(t_k)`` per row, with ``core`` the expectation numerator of
    `bg_expectation_by_frequency` (``C = C0 + x``, ``z = t_k / (beta + t_k)``,
    ``beta = alpha + T``).

    For one frequency the sum is a smooth function of ``log(beta)`` alone, analytic in
    the strip ``|Im log(beta)| < pi`` (the hypergeometric function's only singularities
    lie where ``z >= 1``, that is ``beta + t_k <= 0``): frequencies shared by many rows
    are interpolated (see `_chebyshev`), each piece checked against exact values,
    so a million customers cost a few thousand exact evaluations per horizon instead of
    a million. Rows of rare frequencies, and of any piece that fails its check, are
    evaluated exactly.
    """
    from . import _chebyshev as cheb

    n = x.size
    out = np.empty(n)
    if n == 0:
        return out
    s = np.log(beta)
    order, ux, starts = group_rows(x)
    s_sorted = s[order]
    lo = np.minimum.reduceat(s_sorted, starts)
    hi = np.maximum.reduceat(s_sorted, starts)
    count = cheb.pieces(lo, hi)
    rows_per_x = np.diff(np.append(starts, n))
    # interpolation pays where the exact points it needs are fewer than the rows
    smooth = rows_per_x > count * cheb.POINTS_PER_PIECE
    gid = np.repeat(np.arange(ux.size), rows_per_x)  # per sorted row
    exact_sorted = ~smooth[gid]
    if smooth.any():
        g_smooth = np.flatnonzero(smooth)
        mid, half = cheb.layout(lo[g_smooth], hi[g_smooth], count[g_smooth])
        piece_x = np.repeat(ux[g_smooth], count[g_smooth])
        points = cheb.sample_points(mid, half)
        values = _bg_horizons(
            A, B, C0, np.repeat(piece_x, points.shape[1]), np.exp(points.ravel()), t, w
        ).reshape(points.shape)
        coef, ok = cheb.fit(values)
        # each smooth row's piece: equal pieces between its frequency's lo and hi
        first_piece = np.zeros(ux.size, dtype=np.intp)
        first_piece[g_smooth] = np.cumsum(count[g_smooth]) - count[g_smooth]
        rows = np.flatnonzero(~exact_sorted)
        g = gid[rows]
        width = (hi - lo) / count
        within = np.zeros(rows.size, dtype=np.intp)
        spread = width[g] > 0
        within[spread] = ((s_sorted[rows[spread]] - lo[g[spread]]) / width[g[spread]]).astype(
            np.intp
        )
        piece = first_piece[g] + np.minimum(within, count[g] - 1)
        # rows of failed pieces are evaluated exactly below
        exact_sorted[rows[~ok[piece]]] = True
        keep = ok[piece]
        rows, piece = rows[keep], piece[keep]
        by_piece = np.argsort(piece, kind="stable")
        rows, piece = rows[by_piece], piece[by_piece]
        y = np.clip((s_sorted[rows] - mid[piece]) / half[piece], -1.0, 1.0)
        bounds = [0, *(np.flatnonzero(np.diff(piece)) + 1).tolist(), rows.size]
        vals = np.empty(rows.size)
        for a, b in itertools.pairwise(bounds if rows.size else []):
            vals[a:b] = cheb.evaluate(coef[piece[a]], y[a:b])
        out[order[rows]] = vals
    exact = order[np.flatnonzero(exact_sorted)]
    out[exact] = _bg_horizons(A, B, C0, x[exact], beta[exact], t, w)
    return out
