"""The BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import numpy as np
from scipy import special

from . import _jet as jet
from ._base import param_field
from ._conditional import bg_new_pmf, bg_no_dropout
from ._inputs import time_horizon
from ._optimize import dot
from ._rfm import (
    RFMModel,
    nbd_expected,
    nbd_log_pmf,
    no_dropout,
    per_distinct,
    simulate_beta_geometric,
)
from ._special import (
    bg_expectation_by_frequency,
    bg_expectation_core,
    bg_expectation_sum,
    log_beta_ratio,
    unique_counts,
)
from ._types import FloatArray, Objective

__all__ = ["BGNBD"]


@attrs.frozen(repr=False)
class BGNBD(RFMModel):
    """Beta-geometric / negative binomial distribution model of repeat purchasing.

    While active, a customer buys at Poisson rate ``λ ~ Gamma(r, α)``; after each repeat
    purchase they become inactive with probability ``p ~ Beta(a, b)``. Data per customer:
    ``frequency`` (repeat purchases), ``recency`` (age at the last one) and ``T`` (age at
    the end of observation), all in one time unit (``α`` is in that unit).

    Create it with [`fit`][relcore.scoring.purchase.BGNBD.fit] or from known parameters.

    Attributes
    ----------
    r, alpha
        Shape and scale (in time units) of the gamma distribution of purchase rates.
    a, b
        Parameters of the beta distribution of the dropout probability. ``b = inf`` is the limit
        without dropout (``p = 0`` for everyone, whatever ``a``): the NBD model, which a fit returns
        with a [`FitWarning`][relcore.errors.FitWarning] when the data show no sign of dropout.
    fit_info
        Log-likelihood, covariance and sizes of the fit (None for known parameters).

    Examples
    --------
    The CDNOW sample as published by Fader, Hardie & Lee (2005):

    >>> from relcore.datasets import load_cdnow_summary
    >>> m = BGNBD.fit(load_cdnow_summary())
    >>> {k: round(v, 3) for k, v in m.params.items()}
    {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
    >>> round(m.log_likelihood, 1)
    -9582.4

    Hardie's spreadsheet value for a customer with 2 repeat purchases, the last at week
    30.43, observed for 38.86 weeks, over the next 39 weeks:

    >>> round(float(m.expected_purchases(39, 2, 30.43, 38.86)), 3)
    1.226
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    _initial: ClassVar[tuple[float, ...]] = (0.5, 0.5, 1.0, 2.0)
    _time_params: ClassVar[tuple[str, ...]] = ("alpha",)
    _chunked_objective: ClassVar[bool] = True
    _limit = no_dropout("BG/NBD", "dropout probability p", {"a": 1.0, "b": np.inf})
    # static covariates (CLVTools): α_i = α exp(-γ'z), a_i = a exp(δ'z), b_i = b exp(δ'z)
    _covariate_scales: ClassVar[dict[str, tuple[str, float]]] = {
        "alpha": ("purchase", -1.0),
        "a": ("dropout", 1.0),
        "b": ("dropout", 1.0),
    }

    r: float = param_field()
    alpha: float = param_field()
    a: float = param_field()
    b: float = param_field(limit=True)

    # -- fitting --------------------------------------------------------------------------
    @staticmethod
    def _rows(params: list[Any], data: dict[str, FloatArray]) -> Any:
        """Log-likelihood of each row (Fader, Hardie & Lee 2005, eq. 6)."""
        r, alpha, a, b = params
        x, tx, T = data["frequency"], data["recency"], data["T"]
        if np.ndim(jet.value(a)) == 0 and np.ndim(jet.value(b)) == 0:
            beta_ratio = jet.log_beta_ratio(a, b, x)
        else:  # a and b per row (covariates): B(a, b+x) / B(a, b) from log-gammas
            beta_ratio = (
                jet.gammaln(b + x) - jet.gammaln(b) - jet.gammaln(a + b + x) + jet.gammaln(a + b)
            )
        head = jet.gammaln(r + x) - jet.gammaln(r) + r * jet.log(alpha) + beta_ratio
        alive = -(r + x) * jet.log(alpha + T)
        # δ(x>0) a/(b+x-1) (α+t_x)^-(r+x); rows with x = 0 take the alive term only
        xm = np.maximum(x, 1.0)
        dropped = jet.log(a) - jet.log(b + xm - 1.0) - (r + x) * jet.log(alpha + tx)
        dropped = jet.where(x > 0, dropped, -np.inf)
        return head + jet.logaddexp(alive, dropped)

    @classmethod
    def _objective_factory(
        cls, columns: dict[str, FloatArray], weights: FloatArray
    ) -> Callable[[FloatArray, int], Objective]:
        return _BGNBDObjective(columns, weights)

    # -- predictions ----------------------------------------------------------------------
    def _alive(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        """P(alive | history) for validated histories of one shape."""
        if self._in_limit:  # nobody drops out
            return np.ones(x.shape)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        shape = x.shape
        x, tx, T = x.reshape(-1), tx.reshape(-1), T.reshape(-1)
        # odds of having dropped out: a/(b+x-1) (1 + (T-t_x)/(α+t_x))^(r+x) for x > 0, 0
        # without repeat purchases (no chance to drop out yet). Written into two buffers
        # and with δ(x>0) as a factor rather than a masked assignment: at a million rows a
        # fresh array per step (page faults), a masked store (mispredicted branches) and
        # scipy's expit each cost as much as all the logarithms, and made this twice as
        # slow as lifetimes' p_alive.
        odds = np.subtract(T, tx)
        tmp = np.add(tx, alpha)
        odds /= tmp
        np.log1p(odds, out=odds)
        np.add(x, r, out=tmp)
        odds *= tmp
        np.maximum(x, 1.0, out=tmp)
        tmp += b - 1.0
        np.log(tmp, out=tmp)
        odds -= tmp
        odds += np.log(a)
        np.minimum(x, 1.0, out=tmp)  # δ(x>0), x being whole
        odds *= tmp  # so that exp stays finite where the factor is 0
        with np.errstate(over="ignore"):
            np.exp(odds, out=odds)  # inf for certain dropouts: alive with probability 0
        odds *= tmp
        odds += 1.0
        out: FloatArray = np.reciprocal(odds, out=odds).reshape(shape)
        return out

    def p_alive(
        self, frequency: Any, recency: Any, T: Any, *, periods_ahead: Any = 0
    ) -> FloatArray:
        """Probability that a customer with this history is still active at ``T``.

        Hardie's note 021: ``1 / (1 + δ(x>0) a/(b+x-1) ((α+T)/(α+t_x))^(r+x))``.

        With ``periods_ahead = t``, the probability of being active at ``T + t``
        without seeing the purchases in between (btyd's P(alive) at a future time): a
        dropout can follow each of those purchases, so it is P(alive) times
        ``E[(1 + p t/(α+T))^-(r+x)]`` over ``p ~ Beta(a, b+x)``, a hypergeometric
        function.

        Examples
        --------
        A customer without repeat purchases has not had the chance to drop out:

        >>> BGNBD(r=0.24, alpha=4.41, a=0.79, b=2.43).p_alive(0, 0, 30).item()
        1.0

        but may drop out after the purchases still to come:

        >>> m = BGNBD(r=0.24, alpha=4.41, a=0.79, b=2.43)
        >>> bool(m.p_alive(0, 0, 30, periods_ahead=52).item() < 1.0)
        True
        """
        if np.any(np.asarray(periods_ahead) != 0):
            return self._alive_ahead(frequency, recency, T, periods_ahead)
        return self._alive(*self._history(frequency, recency, T))

    def _still_alive(self, x: FloatArray, T: FloatArray, t: FloatArray) -> FloatArray:
        return bg_no_dropout(self.r + x, t / (self.alpha + T), self.a, self.b + x)

    def _fresh_pmf(self, n: FloatArray, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        # alive at T after x dropout chances: p ~ Beta(a, b + x)
        return bg_new_pmf(n, t, self.r + x, self.alpha + T, self.a, self.b, x)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Expected repeat purchases in ``(T, T + t]`` given the history (FHL 2005, eq. 10).

        Examples
        --------
        Nothing is expected over an empty horizon:

        >>> BGNBD(r=0.24, alpha=4.41, a=0.79, b=2.43).expected_purchases(0, 3, 20, 30).item()
        0.0
        """
        x, tx, T_, tt = self._history_ahead(t, frequency, recency, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        if self._in_limit:
            return nbd_expected(tt, x, T_, r, alpha)
        z = tt / (alpha + T_ + tt)
        core = bg_expectation_by_frequency(
            a + b - 1.0 - r, a - 1.0, (a + b - 1.0) + x.ravel(), x.ravel(), z.ravel()
        ).reshape(z.shape)
        out: FloatArray = core * self._alive(x, tx, T_)
        return out

    def _discounted_purchases(
        self, x: FloatArray, tx: FloatArray, T: FloatArray, t: FloatArray, w: FloatArray
    ) -> FloatArray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        if self._in_limit:  # linear in t
            return nbd_expected(np.asarray(t @ w), x, T, r, alpha)
        # P(alive) once; the horizons' expectations once per distinct (x, T)
        return self._alive(x, tx, T) * per_distinct(
            lambda ux, uT: bg_expectation_sum(
                a + b - 1.0 - r, a - 1.0, a + b - 1.0, ux, alpha + uT, t, w
            ),
            x,
            T,
        )

    def expected_purchases_new(
        self, t: Any, *, include_first_transaction: bool = False
    ) -> FloatArray:
        """Expected repeat purchases in ``(0, t]`` of a customer just acquired (eq. 9).

        ``include_first_transaction=True`` counts the purchase that made the customer
        too (``1 + E[X]``), as CLVTools' new-customer predictions count it.

        Examples
        --------
        Hardie's spreadsheet (note 004), at the CDNOW estimates, after 32 weeks:

        >>> m = BGNBD(r=0.242594, alpha=4.413643, a=0.792925, b=2.425945)
        >>> round(float(m.expected_purchases_new(32)), 4)
        1.0437
        """
        if include_first_transaction:
            return 1.0 + self.expected_purchases_new(t)
        tt = time_horizon(t)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        if self._in_limit:
            return nbd_expected(tt, np.zeros_like(tt), np.zeros_like(tt), r, alpha)
        z = tt / (alpha + tt)
        return bg_expectation_core(r, b, a + b - 1.0, z)

    def probability_of_purchases(
        self, n: Any, t: Any, frequency: Any = None, recency: Any = None, T: Any = None
    ) -> FloatArray:
        """``P(X(t) = n)``: probability of ``n`` repeat purchases in ``(0, t]`` (eq. 8).

        Given a history (``frequency``, ``recency``, ``T``, or a summary in their
        place), the probability of ``n`` purchases in ``(T, T + t]`` for that customer:
        alive at ``T`` (P(alive)), the customer starts afresh with the posterior
        parameters ``r + x``, ``α + T``, ``Beta(a, b + x)``; having left, they buy
        nothing.

        Examples
        --------
        The probabilities over all ``n`` sum to one:

        >>> m = BGNBD(r=0.24, alpha=4.41, a=0.79, b=2.43)
        >>> round(float(m.probability_of_purchases(range(2000), 52).sum()), 10)
        1.0

        and given a history too (two repeat purchases, the last at week 30, age 39):

        >>> p = m.probability_of_purchases(range(2000), 39, 2, 30.0, 39.0)
        >>> round(float(p.sum()), 10)
        1.0
        """
        if frequency is not None or recency is not None or T is not None:
            return self._given_history(n, t, frequency, recency, T)
        nn, tt = self._counts(n, t)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        log_nb = nbd_log_pmf(nn, tt, r, alpha)
        if self._in_limit:
            out_nbd: FloatArray = np.exp(log_nb)
            return out_nbd
        first = np.exp(log_beta_ratio(a, b, nn)[0] + log_nb)
        # P(NB >= n) = I_{t/(α+t)}(n, r) for n >= 1
        pos = nn > 0
        n1 = np.where(pos, nn, 1.0)
        tail = special.betainc(n1, r, tt / (alpha + tt))
        # B(a+1, b+n-1) / B(a, b) = a / (a+b+n-1) · B(a, b+n-1) / B(a, b)
        dropped = np.log(a / (a + b + n1 - 1.0)) + log_beta_ratio(a, b, n1 - 1.0)[0]
        second = np.exp(dropped) * tail
        # a probability; clip the last-bit rounding of the sum of two terms
        out: FloatArray = np.clip(first + np.where(pos, second, 0.0), 0.0, 1.0)
        return out

    # -- predictions with a parameter set per customer (covariates) -----------------------
    @classmethod
    def _covariate_p_alive(
        cls, p: dict[str, FloatArray], frequency: Any, recency: Any, T: Any
    ) -> FloatArray:
        """[`p_alive`][relcore.scoring.purchase.BGNBD.p_alive] with ``r, alpha, a, b`` one per
        customer (1-d histories)."""
        x, tx, T_ = cls._history(frequency, recency, T)
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        log_odds = (
            np.log(a)
            - np.log(b + np.maximum(x, 1.0) - 1.0)
            + (r + x) * np.log1p((T_ - tx) / (alpha + tx))
        )
        with np.errstate(over="ignore"):
            out: FloatArray = np.where(x > 0, 1.0 / (1.0 + np.exp(log_odds)), 1.0)
        return out

    @classmethod
    def _covariate_expected(
        cls, p: dict[str, FloatArray], t: Any, frequency: Any, recency: Any, T: Any
    ) -> FloatArray:
        """[`expected_purchases`][relcore.scoring.purchase.BGNBD.expected_purchases] with the
        parameters one per customer."""
        x, tx, T_, tt = cls._history_ahead(t, frequency, recency, T)
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        core = bg_expectation_core(r + x, b + x, a + b - 1.0 + x, tt / (alpha + T_ + tt))
        out: FloatArray = core * cls._covariate_p_alive(p, x, tx, T_)
        return out

    @staticmethod
    def _covariate_expected_new(p: dict[str, FloatArray], t: Any) -> FloatArray:
        """[`expected_purchases_new`][relcore.scoring.purchase.BGNBD.expected_purchases_new] with
        the parameters one per customer."""
        tt = time_horizon(t)
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        return bg_expectation_core(r, b, a + b - 1.0, tt / (alpha + tt))

    def simulate(
        self, n_customers: int, T: Any, rng: np.random.Generator | int | None = None
    ) -> Any:
        """Draw customers from the model: an [`RFMSummary`][relcore.scoring.summary.RFMSummary].

        ``T`` (a number or one per customer) is each customer's observation length;
        recency is continuous. ``customer_id`` is ``0..n-1`` and ``monetary_value`` is 0.

        Examples
        --------
        >>> s = BGNBD(r=0.24, alpha=4.41, a=0.79, b=2.43).simulate(1000, 39.0, rng=1)
        >>> len(s), bool((s.recency <= s.T).all())
        (1000, True)
        """
        params = (self.r, self.alpha, self.a, self.b)
        return simulate_beta_geometric(params, n_customers, T, rng, first_chance=1)


class _BGNBDObjective:
    """Total log-likelihood, gradient and Hessian in log-parameters, written by hand.

    Terms that depend on frequency only (gamma and beta functions) are evaluated once per
    distinct frequency; per-row work is two logarithms and a logistic weight. The
    derivatives are those of ``_rows`` (a test checks them against the jet version).

    ``modified`` gives the MBG/NBD (Batislam et al. 2007): the first chance to drop out
    comes right at the first purchase, so every row has the dropped-out term,
    ``a/(b+x)`` replaces ``a/(b+x-1)`` and ``B(a, b+x+1)`` replaces ``B(a, b+x)``.
    """

    def __init__(
        self, columns: dict[str, FloatArray], weights: FloatArray, *, modified: bool = False
    ) -> None:
        x, tx, T = columns["frequency"], columns["recency"], columns["T"]
        self.ux, inv = unique_counts(x)
        self.shift = 1.0 if modified else 0.0
        self.unit = bool(np.all(weights == 1.0))
        per_x = (
            np.bincount(inv, minlength=self.ux.size)
            if self.unit
            else np.bincount(inv, weights=weights, minlength=self.ux.size)
        )
        self.Wx = np.asarray(per_x, dtype=np.float64)
        # integer indices gather faster than boolean masks; rows "0" have no dropped term
        zero = np.zeros(x.size, dtype=bool) if modified else x == 0
        i0, i1 = np.flatnonzero(zero), np.flatnonzero(~zero)
        self.T0 = T.take(i0)
        self.x1, self.tx1, self.T1 = x.take(i1), tx.take(i1), T.take(i1)
        self.ix1 = inv.take(i1)
        # unit weights (the usual uncompressed case) need not be gathered
        self.w0 = np.ones(i0.size) if self.unit else weights.take(i0)
        self.w1 = np.ones(i1.size) if self.unit else weights.take(i1)

    def __call__(self, theta: FloatArray, order: int) -> Objective:
        r, alpha, a, b = np.exp(theta)
        ux, Wx = self.ux, self.Wx
        derivatives = order >= 2
        # per-frequency head: gammaln(r+x) - gammaln(r) + r log α + betaln(a, b+x) - betaln(a, b)
        beta_part, beta_grad, beta_hess = log_beta_ratio(
            a, b, ux + self.shift, derivatives=derivatives
        )
        head = special.gammaln(r + ux) - special.gammaln(r) + r * np.log(alpha) + beta_part
        # the dropped-out term's a/(b+k), per distinct x (BG/NBD: k = x-1 for x > 0)
        kx = np.maximum(ux + self.shift - 1.0, 0.0)
        cx = np.log(a) - np.log(b + kx)
        # Rows in blocks whose temporaries stay in cache: whole columns of millions of
        # rows would stream from memory at every step.
        z = _Sums(ux.size)
        for lo in range(0, self.T0.size, _BLOCK_ROWS):
            self._zero_rows(z, slice(lo, lo + _BLOCK_ROWS), r, alpha, derivatives)
        for lo in range(0, self.x1.size, _BLOCK_ROWS):
            self._repeat_rows(z, slice(lo, lo + _BLOCK_ROWS), r, alpha, cx, derivatives)
        ll = dot(Wx, head) - r * z.L0 + z.ll
        if not derivatives:
            return ll, None, None

        g = np.zeros(4)
        H = np.zeros((4, 4))
        # head derivatives
        dr = special.digamma(r + ux) - special.digamma(r) + np.log(alpha)
        tr = special.polygamma(1, r + ux) - special.polygamma(1, r)
        g[0] += r * dot(Wx, dr)
        H[0, 0] += r * dot(Wx, dr) + r * r * dot(Wx, tr)
        Wtot = float(Wx.sum())
        g[1] += r * Wtot
        H[0, 1] += r * Wtot
        (da_, db_), ((ta_, _), (_, tb_)) = beta_grad, beta_hess
        g[2] += a * dot(Wx, da_)
        H[2, 2] += a * dot(Wx, da_) + a * a * dot(Wx, ta_)
        g[3] += b * dot(Wx, db_)
        H[3, 3] += b * dot(Wx, db_) + b * b * dot(Wx, tb_)
        H[2, 3] += a * b * dot(Wx, ta_)

        # rows with x = 0: ll = -r log(α+T)
        g[0] -= r * z.L0
        g[1] -= r * z.i0
        H[0, 0] -= r * z.L0
        H[0, 1] -= r * z.i0
        H[1, 1] -= r * z.q0

        # rows with x > 0: m = logaddexp(u, v), π = P(dropped | history) = sigmoid(d)
        g[0] -= r * z.mixL
        g[1] -= z.rx_mixI
        g[2] += z.P
        H[0, 0] += -r * z.mixL + z.QDrDr
        H[0, 1] += -r * z.mixI + z.QDrDk
        H[1, 1] += -z.rx_q + z.QDkDk
        H[2, 2] += z.Q
        H[0, 2] += z.QDr
        H[1, 2] += z.QDk
        # b enters through -log(b+k): per distinct x
        fx = b / (b + kx)
        gx = b * kx / (b + kx) ** 2
        g[3] -= dot(fx, z.Px)
        H[3, 3] += -dot(gx, z.Px) + dot(fx * fx, z.Qx)
        H[0, 3] -= dot(fx, z.QDrx)
        H[1, 3] -= dot(fx, z.QDkx)
        H[2, 3] -= dot(fx, z.Qx)
        H = np.triu(H) + np.triu(H, 1).T
        return ll, g, H

    def _zero_rows(self, z: _Sums, rows: slice, r: float, alpha: float, derivatives: bool) -> None:
        """Sums over rows without the dropped-out term."""
        w0 = self.w0[rows]
        aT0 = alpha + self.T0[rows]
        z.L0 += dot(w0, np.log(aT0))
        if derivatives:
            iT0 = alpha / aT0
            z.i0 += dot(w0, iT0)
            z.q0 += dot(w0, iT0 * (1.0 - iT0))

    def _repeat_rows(
        self, z: _Sums, rows: slice, r: float, alpha: float, cx: FloatArray, derivatives: bool
    ) -> None:
        """Sums over rows with the dropped-out term (all rows for the MBG/NBD)."""
        w1, ix1 = self.w1[rows], self.ix1[rows]
        rx = r + self.x1[rows]
        aT, aR = alpha + self.T1[rows], alpha + self.tx1[rows]
        LT = np.log(aT)
        LR = np.log(aR)
        DL = LR - LT
        d = cx[ix1] - rx * DL  # log(dropped term) - log(alive term)
        # log(e^u + e^v) = u + softplus(d), u = -(r+x) log(α+T)
        sp = np.maximum(d, 0.0) + np.log1p(np.exp(-np.abs(d)))
        z.ll += dot(w1, sp - rx * LT)
        if not derivatives:
            return
        pi = np.exp(d - sp)  # the logistic of d, from the softplus already at hand
        iT = alpha / aT
        iR = alpha / aR
        P = pi if self.unit else w1 * pi
        Q = P * (1.0 - pi)
        wa = w1 - P  # w (1-π)
        z.mixL += dot(wa, LT) + dot(P, LR)
        mixI_r = wa * iT + P * iR  # w[(1-π) iT + π iR]
        z.rx_mixI += dot(rx, mixI_r)
        z.mixI += float(mixI_r.sum())
        z.P += float(P.sum())
        Dr = -r * DL
        Dk = -rx * (iR - iT)
        QDr = Q * Dr
        QDk = Q * Dk
        z.QDrDr += dot(QDr, Dr)
        z.QDrDk += dot(QDr, Dk)
        z.QDkDk += dot(QDk, Dk)
        z.rx_q += dot(rx, wa * iT * (1.0 - iT) + P * iR * (1.0 - iR))
        z.Q += float(Q.sum())
        z.QDr += float(QDr.sum())
        z.QDk += float(QDk.sum())
        n_ux = z.Px.size
        z.Px += np.bincount(ix1, weights=P, minlength=n_ux)
        z.Qx += np.bincount(ix1, weights=Q, minlength=n_ux)
        z.QDrx += np.bincount(ix1, weights=QDr, minlength=n_ux)
        z.QDkx += np.bincount(ix1, weights=QDk, minlength=n_ux)


# Rows per block of the objective (see ``_BGNBDObjective.__call__``).
_BLOCK_ROWS = 65_536


class _Sums:
    """Weighted sums over rows that the BG/NBD objective accumulates block by block."""

    def __init__(self, n_ux: int) -> None:
        self.ll = self.L0 = self.i0 = self.q0 = 0.0
        self.mixL = self.rx_mixI = self.mixI = self.P = self.Q = 0.0
        self.QDrDr = self.QDrDk = self.QDkDk = self.rx_q = self.QDr = self.QDk = 0.0
        self.Px, self.Qx = np.zeros(n_ux), np.zeros(n_ux)
        self.QDrx, self.QDkx = np.zeros(n_ux), np.zeros(n_ux)
