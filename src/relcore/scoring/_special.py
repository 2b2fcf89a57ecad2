"""Special functions the purchase models need, evaluated stably and fast on arrays.

* :func:`bg_expectation_core` — the Gaussian hypergeometric term of the BG/NBD and
  MBG/NBD conditional expectations, through Euler's transformation and a power series
  whose terms keep one sign (no cancellation), with a scipy fallback near ``z = 1``.
* :func:`log_hyp2f1_shift1` — ``log 2F1(a, b; a + 1; z)`` for ``z`` in ``[0, 1)``, the
  function of the Pareto/NBD likelihood (Fader & Hardie 2005, note 008), with its exact
  first and second partial derivatives, so the likelihood and its information matrix come
  out of one pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from ._fitting import expm1_ratio, log1p_ratio

FloatArray = npt.NDArray[np.float64]

_EPS = 1e-17
# Power series are summed where they converge in a few dozen terms; beyond this argument
# the rows go to scipy's transformations.
_Z_SERIES = 0.9
_MAX_TERMS = 500


def bg_expectation_core(A: Any, B: float, C: Any, z: Any) -> FloatArray:
    """``C * (1 - (1 - z)**B * 2F1(A, B; C; z)) / B``, finite as ``B -> 0``.

    With ``A = a + b - 1 - r``, ``B = a - 1``, ``C = a + b + x - 1`` and
    ``z = t / (alpha + T + t)`` this is the numerator of the BG/NBD conditional
    expectation (Fader, Hardie & Lee 2005, eq. 10) after Euler's transformation
    ``2F1(r+x, b+x; C; z) = (1-z)**(B-r-x) 2F1(A, B; C; z)``: the hypergeometric function
    then has first parameters that do not grow with ``x``, and
    ``2F1(A, B; C; z) = 1 + B * S`` with ``S`` a series whose terms share one sign when
    ``A > -1``, so ``1 - (1-z)**B (1 + B S) = -expm1(B * (log1p(-z) + log1p(B S) / B))``
    loses nothing to cancellation.
    """
    A_, C_, z_ = np.broadcast_arrays(
        np.asarray(A, dtype=np.float64),
        np.asarray(C, dtype=np.float64),
        np.asarray(z, dtype=np.float64),
    )
    shape = z_.shape
    A_, C_, z_ = A_.ravel(), C_.ravel(), z_.ravel()
    S = np.zeros(z_.size)
    use_series = (z_ <= _Z_SERIES) & (A_ > -1.0)
    idx = np.flatnonzero(use_series)
    if idx.size:
        S[idx] = _series_s(A_[idx], float(B), C_[idx], z_[idx])
    Y = np.log1p(-z_) + S * log1p_ratio(B * S)
    out = C_ * (-Y) * expm1_ratio(B * Y)
    rest = np.flatnonzero(~use_series)
    if rest.size:
        out[rest] = _bg_core_scipy(A_[rest], float(B), C_[rest], z_[rest])
    result: FloatArray = np.maximum(out, 0.0).reshape(shape)
    return result


def _series_s(A: FloatArray, B: float, C: FloatArray, z: FloatArray) -> FloatArray:
    """``sum_{k>=1} (A)_k (B+1)_{k-1} z**k / ((C)_k k!)`` on rows that converge quickly."""
    u = A * z / C
    S = u.copy()
    active = np.arange(z.size)
    tail = 1.0 / (1.0 - z)
    for k in range(1, _MAX_TERMS):
        if k % 8 == 0:
            keep = np.abs(u) * tail[active] > _EPS * np.abs(S[active])
            if not keep.any():
                break
            active, u = active[keep], u[keep]
        za = z[active]
        u = u * ((A[active] + k) * (B + k) / (k + 1.0)) * za / (C[active] + k)
        S[active] += u
    return S


def _bg_core_scipy(A: FloatArray, B: float, C: FloatArray, z: FloatArray) -> FloatArray:
    """The same quantity through scipy's hyp2f1 (near z = 1, or for A <= -1)."""
    b_ = B if abs(B) > 1e-7 else 1e-7
    h = special.hyp2f1(A, b_, C, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = b_ * np.log1p(-z) + np.log(h)
        out = C * (-np.expm1(y)) / b_
    return np.where(np.isfinite(out), out, C * (-np.log1p(-z)))


# ---------------------------------------------------------------------------------------
# Pareto/NBD: log 2F1(a, b; a + 1; z)
# ---------------------------------------------------------------------------------------


def log_hyp2f1_shift1(
    a: FloatArray, b: FloatArray, z: FloatArray, *, derivatives: bool = False
) -> tuple[FloatArray, list[FloatArray] | None, list[list[FloatArray]] | None]:
    """``log 2F1(a, b; a+1; z)`` for ``a, b > 0`` and ``0 <= z < 1``.

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


def _psi_scipy(
    c: FloatArray, d: FloatArray, z: FloatArray, derivatives: bool
) -> tuple[FloatArray, list[FloatArray], list[list[FloatArray]]]:
    """``log 2F1(1, c; d; z)`` through scipy near ``z = 1`` (few rows), with partials by
    central differences of the logarithm (accurate to about 1e-7, which only steers the
    optimiser on rows of extreme parameters)."""

    def f(cc: Any, dd: Any, zz: Any) -> FloatArray:
        with np.errstate(all="ignore"):
            return np.asarray(np.log(special.hyp2f1(1.0, cc, dd, zz)), dtype=np.float64)

    val = f(c, d, z)
    if not derivatives:
        return val, [], []
    args = [c, d, z]
    steps = [
        1e-4 * np.maximum(1.0, np.abs(c)),
        1e-4 * np.maximum(1.0, np.abs(d)),
        1e-4 * np.minimum(z, 1.0 - z) + 1e-300,
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
    return val, grad, hess
