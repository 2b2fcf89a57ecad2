"""The MBG/NBD model (Batislam, Denizel & Filiztekin 2007)."""

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
)
from ._types import FloatArray, Objective
from .bgnbd import _BGNBDObjective

__all__ = ["MBGNBD"]


@attrs.frozen(repr=False)
class MBGNBD(RFMModel):
    """Modified BG/NBD: as [`BGNBD`][relcore.scoring.purchase.BGNBD], but a customer may also drop
    out right after the first purchase, so customers without repeat purchases can be inactive too.

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
    >>> m = MBGNBD(r=0.5, alpha=6.0, a=0.9, b=3.0)
    >>> p = m.p_alive(0, 0, 30)  # below 1: zero-repeat customers may have left
    >>> bool(0 < p.item() < 1)
    True
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    _initial: ClassVar[tuple[float, ...]] = (0.5, 0.5, 1.0, 2.0)
    _time_params: ClassVar[tuple[str, ...]] = ("alpha",)
    _chunked_objective: ClassVar[bool] = True
    _limit = no_dropout("MBG/NBD", "dropout probability p", {"a": 1.0, "b": np.inf})

    r: float = param_field()
    alpha: float = param_field()
    a: float = param_field()
    b: float = param_field(limit=True)

    @staticmethod
    def _rows(params: list[Any], data: dict[str, FloatArray]) -> Any:
        """Log-likelihood of each row (Batislam et al. 2007, appendix)."""
        r, alpha, a, b = params
        x, tx, T = data["frequency"], data["recency"], data["T"]
        head = (
            jet.gammaln(r + x)
            - jet.gammaln(r)
            + r * jet.log(alpha)
            + jet.log_beta_ratio(a, b, x + 1.0)
        )
        alive = -(r + x) * jet.log(alpha + T)
        dropped = jet.log(a) - jet.log(b + x) - (r + x) * jet.log(alpha + tx)
        return head + jet.logaddexp(alive, dropped)

    @classmethod
    def _objective_factory(
        cls, columns: dict[str, FloatArray], weights: FloatArray
    ) -> Callable[[FloatArray, int], Objective]:
        return _BGNBDObjective(columns, weights, modified=True)

    def _alive(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        """P(alive | history) for validated histories of one shape (see ``BGNBD._alive``
        for why it is written into buffers)."""
        shape = x.shape
        x, tx, T = x.reshape(-1), tx.reshape(-1), T.reshape(-1)
        # odds of having dropped out: a/(b+x) (1 + (T-t_x)/(α+t_x))^(r+x)
        odds = np.subtract(T, tx)
        tmp = np.add(tx, self.alpha)
        odds /= tmp
        np.log1p(odds, out=odds)
        np.add(x, self.r, out=tmp)
        odds *= tmp
        np.add(x, self.b, out=tmp)
        np.log(tmp, out=tmp)
        odds -= tmp
        odds += np.log(self.a)
        with np.errstate(over="ignore"):
            np.exp(odds, out=odds)
        odds += 1.0
        out: FloatArray = np.reciprocal(odds, out=odds).reshape(shape)
        return out

    def p_alive(
        self, frequency: Any, recency: Any, T: Any, *, periods_ahead: Any = 0
    ) -> FloatArray:
        """Probability of being active: ``1 / (1 + a/(b+x) ((α+T)/(α+t_x))^(r+x))``.

        With ``periods_ahead = t``, the probability of being active at ``T + t`` (not seeing the
        purchases in between), as for [`BGNBD.p_alive`][relcore.scoring.purchase.BGNBD.p_alive] with
        the posterior ``p ~ Beta(a, b
        + x + 1)``.

        Examples
        --------
        A customer may drop out right at the first purchase, so a customer first seen
        at the end of observation (``T = 0``) is alive with probability ``b / (a + b)``,
        the model's prior: such a customer carries no information.

        >>> MBGNBD(r=1.0, alpha=1.0, a=1.0, b=3.0).p_alive(0, 0, 0).item()
        0.75
        """
        if np.any(np.asarray(periods_ahead) != 0):
            return self._alive_ahead(frequency, recency, T, periods_ahead)
        return self._alive(*self._history(frequency, recency, T))

    def _still_alive(self, x: FloatArray, T: FloatArray, t: FloatArray) -> FloatArray:
        return bg_no_dropout(self.r + x, t / (self.alpha + T), self.a, self.b + x + 1.0)

    def _fresh_pmf(self, n: FloatArray, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        # alive at T after x + 1 dropout chances (the first purchase's too); from T on a
        # chance follows each purchase, as in the BG/NBD
        return bg_new_pmf(n, t, self.r + x, self.alpha + T, self.a, self.b, x + 1.0)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Expected repeat purchases in ``(T, T + t]`` given the history.

        ``(a+b+x)/(a-1) [1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; z)] P(alive)``
        with ``z = t/(α+T+t)``.

        Examples
        --------
        >>> MBGNBD(r=0.5, alpha=6.0, a=0.9, b=3.0).expected_purchases(0, 2, 10, 20).item()
        0.0
        """
        x, tx, T_, tt = self._history_ahead(t, frequency, recency, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        if self._in_limit:
            return nbd_expected(tt, x, T_, r, alpha)
        z = tt / (alpha + T_ + tt)
        core = bg_expectation_by_frequency(
            a + b - r, a - 1.0, (a + b) + x.ravel(), x.ravel(), z.ravel()
        ).reshape(z.shape)
        out: FloatArray = core * self._alive(x, tx, T_)
        return out

    def _discounted_purchases(
        self, x: FloatArray, tx: FloatArray, T: FloatArray, t: FloatArray, w: FloatArray
    ) -> FloatArray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        if self._in_limit:
            return nbd_expected(np.asarray(t @ w), x, T, r, alpha)
        return self._alive(x, tx, T) * per_distinct(
            lambda ux, uT: bg_expectation_sum(a + b - r, a - 1.0, a + b, ux, alpha + uT, t, w),
            x,
            T,
        )

    def expected_purchases_new(
        self, t: Any, *, include_first_transaction: bool = False
    ) -> FloatArray:
        """Expected repeat purchases in ``(0, t]`` of a customer just acquired.

        ``include_first_transaction=True`` counts the purchase that made the customer
        too (``1 + E[X]``), as CLVTools' new-customer predictions count it.

        Examples
        --------
        >>> MBGNBD(r=0.5, alpha=6.0, a=0.9, b=3.0).expected_purchases_new(0).item()
        0.0
        """
        if include_first_transaction:
            return 1.0 + self.expected_purchases_new(t)
        tt = time_horizon(t)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        if self._in_limit:
            return nbd_expected(tt, np.zeros_like(tt), np.zeros_like(tt), r, alpha)
        z = tt / (alpha + tt)
        out: FloatArray = bg_expectation_core(r, b + 1.0, a + b, z) * (b / (a + b))
        return out

    def probability_of_purchases(
        self, n: Any, t: Any, frequency: Any = None, recency: Any = None, T: Any = None
    ) -> FloatArray:
        """``P(X(t) = n)`` for a customer just acquired; given a history, of ``n``
        purchases in ``(T, T + t]`` (see
        [`BGNBD.probability_of_purchases`][relcore.scoring.purchase.BGNBD.probability_of_purchases];
        the posterior dropout probability is ``Beta(a, b + x + 1)``).

        Examples
        --------
        >>> m = MBGNBD(r=0.5, alpha=6.0, a=0.9, b=3.0)
        >>> round(float(m.probability_of_purchases(range(3000), 52).sum()), 10)
        1.0
        """
        if frequency is not None or recency is not None or T is not None:
            return self._given_history(n, t, frequency, recency, T)
        nn, tt = self._counts(n, t)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        log_nb = nbd_log_pmf(nn, tt, r, alpha)
        if self._in_limit:
            nbd: FloatArray = np.exp(log_nb)
            return nbd
        first = np.exp(log_beta_ratio(a, b, nn + 1.0)[0] + log_nb)
        # dropped out after the n-th purchase, which happened before t: P(NB >= n)
        tail = np.where(nn > 0, special.betainc(np.maximum(nn, 1.0), r, tt / (alpha + tt)), 1.0)
        # B(a+1, b+n) / B(a, b) = a / (a+b+n) · B(a, b+n) / B(a, b)
        second = np.exp(np.log(a / (a + b + nn)) + log_beta_ratio(a, b, nn)[0]) * tail
        # a probability; clip the last-bit rounding of the sum of two terms
        out: FloatArray = np.clip(first + second, 0.0, 1.0)
        return out

    def simulate(
        self, n_customers: int, T: Any, rng: np.random.Generator | int | None = None
    ) -> Any:
        """Draw customers from the model (see
        [`BGNBD.simulate`][relcore.scoring.purchase.BGNBD.simulate]).

        Examples
        --------
        >>> s = MBGNBD(r=0.5, alpha=6.0, a=0.9, b=3.0).simulate(500, 52.0, rng=2)
        >>> len(s)
        500
        """
        params = (self.r, self.alpha, self.a, self.b)
        return simulate_beta_geometric(params, n_customers, T, rng, first_chance=0)
