"""The BG/CNBD-k and MBG/CNBD-k models (Reutterer, Platzer & Schröder 2021, "Leveraging
purchase regularity for predicting customer behavior the easy way", International
Journal of Research in Marketing 38(1); BTYDplus' ``bgcnbd`` and ``mbgcnbd``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np
from scipy import special

from ...errors import ConvergenceError, DataError
from . import _jet as jet
from ._base import Limit, param_field
from ._inputs import distinct_rows, gather_columns, time_horizon, validate_weights
from ._optimize import jet_objective
from ._rfm import RFMModel, summary_from
from ._special import survived_chances
from ._types import FloatArray
from .bgnbd import BGNBD
from .mbgnbd import MBGNBD

if TYPE_CHECKING:
    from typing import Self

__all__ = ["BGCNBDK", "MBGCNBDK"]

# Future purchases summed term by term up to this many; beyond it (a customer expected to
# buy tens of thousands of times) the terms whose purchase has surely happened are summed
# in closed form.
_MAX_TERMS = 20_000
# Rows per block of the expectations, and entries of a rows × ticks table.
_BLOCK_ROWS = 2048
_TABLE = 1_000_000


def _log_s2(r: Any, alpha: Any, x: FloatArray, tx: FloatArray, T: FloatArray, k: FloatArray) -> Any:
    """``log Σ_{j<k} Γ(r+kx+j)/(Γ(r+kx) j!) ((T-t_x)/(α+T))^j``: the probability, given
    the rate, that the phase of the Erlang clock running since the last purchase has not
    completed by ``T`` (relative to ``j = 0``)."""
    rkx = r + k * x
    gap = T - tx
    # log((T - t_x)/(α+T)) as a difference of logs: the ratio of a tiny gap underflows
    with np.errstate(divide="ignore"):
        log_gap = np.log(gap)
    lr = log_gap - jet.log(alpha + T)
    if not np.all(gap > 0):
        lr = jet.where(gap > 0, lr, -np.inf)
    total: Any = 0.0 * rkx
    kmax = int(np.max(k)) if k.size else 1
    for j in range(1, kmax):
        term = jet.gammaln(rkx + j) - jet.gammaln(rkx) - math.lgamma(j + 1.0) + j * lr
        term = jet.where(k > j, term, -np.inf)
        total = jet.logaddexp(total, term)
    return total


def _cnbd_rows(params: list[Any], data: dict[str, FloatArray], shift: float) -> Any:
    """Log-likelihood of each row, without the data-only term ``(k-1) litt - x
    log((k-1)!)`` (constant for a given ``k``; added to the reported log-likelihood)."""
    r, alpha, a, b = params
    x, tx, T, k = data["frequency"], data["recency"], data["T"], data["k"]
    rkx = r + k * x
    head = (
        jet.gammaln(rkx)
        - jet.gammaln(r)
        + r * jet.log(alpha)
        + jet.log_beta_ratio(a, b, x + shift)
        - rkx * jet.log(alpha + T)
    )
    alive = _log_s2(r, alpha, x, tx, T, k)
    xm = np.maximum(x + shift, 1.0)
    dropped = jet.log(a) - jet.log(b + xm - 1.0) + rkx * (jet.log(alpha + T) - jet.log(alpha + tx))
    if shift == 0.0:
        dropped = jet.where(x > 0, dropped, -np.inf)
    return head + jet.logaddexp(alive, dropped)


def _no_dropout_rows(params: list[Any], data: dict[str, FloatArray]) -> Any:
    """The CNBD-k limit without dropout (``b = inf``)."""
    r, alpha = params
    x, tx, T, k = data["frequency"], data["recency"], data["T"], data["k"]
    rkx = r + k * x
    head = jet.gammaln(rkx) - jet.gammaln(r) + r * jet.log(alpha) - rkx * jet.log(alpha + T)
    return head + _log_s2(r, alpha, x, tx, T, k)


def _no_dropout_objective(columns: dict[str, FloatArray], weights: FloatArray) -> Any:
    return jet_objective(_no_dropout_rows, columns, weights)


def _survived_beyond(a: float, b: FloatArray, n0: float, m: FloatArray) -> FloatArray:
    """``Σ_{n=n0+1..n0+m} B(a, b+n-1) / B(a, b)`` (`survived_chances`), where ``b`` may
    be infinite: a customer who never leaves uses every chance."""
    m = np.asarray(m, dtype=np.float64)
    if np.isinf(b).any():
        finite = np.where(np.isinf(b), 1.0, b)
        return np.where(np.isinf(b), m, survived_chances(a, finite, n0, m))
    return survived_chances(a, b, n0, m)


def _series(
    a: float, k: int, j: int, R: FloatArray, z: FloatArray, b_post: FloatArray, n_terms: int
) -> FloatArray:
    """``Σ_{n=1..n_terms} B(a, b'+n-1)/B(a, b') P(M >= nk - j)`` per row, ``M`` negative
    binomial(R, z): the tail from the cumulative probabilities (each from the last by
    ``(R+m)/(m+1) z``) and the survival from the last by ``(b'+n-1)/(a+b'+n-1)``, where
    incomplete beta and beta functions per term would cost a hundred times more."""
    ticks = n_terms * k
    m = np.arange(ticks, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.log(R[:, None] + m[:-1]) - np.log(m[1:])
        log_pmf = R[:, None] * np.log1p(-z[:, None]) + special.xlogy(m, z[:, None])
        log_pmf[:, 1:] += np.cumsum(steps, axis=1)
    cdf = np.cumsum(np.exp(log_pmf), axis=1)
    n = np.arange(1, n_terms + 1)
    reach = np.clip(1.0 - cdf[:, n * k - j - 1], 0.0, 1.0)  # P(M >= nk - j)
    if np.isinf(b_post).any():  # no dropout
        surv = np.ones((R.size, n_terms))
    else:
        ratios = (b_post[:, None] + n[:-1] - 1.0) / (a + b_post[:, None] + n[:-1] - 1.0)
        surv = np.ones((R.size, n_terms))
        surv[:, 1:] = np.cumprod(ratios, axis=1)
    out: FloatArray = np.einsum("ij,ij->i", surv, reach)
    return out


@attrs.frozen(repr=False)
class BGCNBDK(RFMModel):
    """BG/CNBD-k: the BG/NBD with Erlang-k inter-purchase times, for customers who buy
    with some regularity.

    While active, a customer's times between purchases are Erlang-k with rate ``λ`` (``k = 1``:
    Poisson purchases, the [`BGNBD`][relcore.scoring.purchase.BGNBD] exactly); ``λ ~ Gamma(r, α)``;
    after each repeat purchase the customer leaves with probability ``p ~ Beta(a, b)``. The
    likelihood needs, besides frequency, recency and T, each customer's ``litt``: the sum of the
    logarithms of their ``x`` times between purchases (in the same unit), which is what tells
    regular buyers from Poisson ones; ``k`` is then chosen by likelihood, as BTYDplus does.

    Attributes
    ----------
    k
        Shape of the Erlang inter-purchase times (1 = no regularity).
    r, alpha
        Shape and scale (in time units) of the gamma distribution of purchase rates
        (a regular buyer's mean time between purchases is ``k / λ``).
    a, b
        Parameters of the beta distribution of the dropout probability. ``b = inf`` is the limit
        without dropout, which a fit returns with a [`FitWarning`][relcore.errors.FitWarning] when
        the data show no sign of dropout.
    fit_info
        Log-likelihood (including the ``litt`` term, so that fits with different ``k``
        compare), covariance and sizes of the fit (None for known parameters).

    Examples
    --------
    With ``k = 1`` the model is the BG/NBD (Fader, Hardie & Lee's CDNOW estimates):

    >>> from relcore.datasets import load_cdnow_summary
    >>> m = BGCNBDK.fit(load_cdnow_summary(), k=1)
    >>> m.k, {k: round(v, 3) for k, v in m.params.items()}
    (1, {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426})

    Regular buyers are more surely gone when overdue than Poisson ones:

    >>> regular = BGCNBDK(k=4, r=2.0, alpha=8.0, a=0.8, b=2.4)
    >>> poisson = BGCNBDK(k=1, r=2.0, alpha=8.0, a=0.8, b=2.4)
    >>> bool(regular.p_alive(10, 30, 52).item() < poisson.p_alive(10, 30, 52).item())
    True
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    _initial: ClassVar[tuple[float, ...]] = (0.5, 0.5, 1.0, 2.0)
    _time_params: ClassVar[tuple[str, ...]] = ("alpha",)
    _limit = Limit(
        name="no dropout",
        fixed={"a": 1.0, "b": np.inf},
        not_identified=("a", "b"),
        objective=_no_dropout_objective,
        message=(
            "no dropout detected: the data are best described with no customer ever "
            "dropping out (the dropout probability p is 0 for everyone), as in a young "
            "cohort whose customers all bought recently; every customer is predicted to "
            "stay active"
        ),
    )
    # 1: a customer may also drop out right at the first purchase (MBG/CNBD-k)
    _shift: ClassVar[float] = 0.0
    _k1: ClassVar[type[BGNBD] | type[MBGNBD]] = BGNBD

    k: int = attrs.field(converter=int, validator=attrs.validators.ge(1))
    r: float = param_field()
    alpha: float = param_field()
    a: float = param_field()
    b: float = param_field(limit=True)

    # -- fitting --------------------------------------------------------------------------
    @classmethod
    def fit(  # type: ignore[override]
        cls,
        data: Any = None,
        *,
        frequency: Any = None,
        recency: Any = None,
        T: Any = None,
        litt: Any = None,
        k: int | None = None,
        max_k: int = 12,
        weights: Any = None,
        penalizer: float = 0.0,
    ) -> Self:
        """Maximum-likelihood fit, for a given ``k`` or choosing it.

        Parameters
        ----------
        data
            A mapping / pandas DataFrame with columns ``frequency``, ``recency``, ``T`` and ``litt``
            (optionally ``weights``), or an [`RFMSummary`][relcore.scoring.summary.RFMSummary] (then
            pass ``litt``).
        frequency, recency, T
            Arrays, instead of ``data``.
        litt
            Per customer, the sum of the logarithms of the ``frequency`` times between
            consecutive purchases (0 without repeat purchases), in the unit of ``T``.
            Needed unless ``k = 1``.
        k
            The Erlang shape; ``None`` fits ``k = 1, 2, …, max_k`` and keeps the most
            likely, stopping early once the log-likelihood has fallen twice in a row (as
            BTYDplus' ``bgcnbd.EstimateParameters``).
        max_k
            Largest ``k`` tried.
        weights, penalizer
            As for [`BGNBD.fit`][relcore.scoring.purchase.BGNBD.fit].

        Returns
        -------
        Self
            The fitted model.

        Raises
        ------
        DataError
            Invalid data, or ``litt`` missing where it is needed.
        ConvergenceError
            No ``k`` could be fitted.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> truth = BGCNBDK(k=3, r=3.0, alpha=12.0, a=1.0, b=4.0)
        >>> data = truth.simulate(1500, 52.0, rng=rng, litt=True)
        >>> BGCNBDK.fit(data, max_k=4).k  # chosen by likelihood
        3
        """
        from ..summary import RFMSummary

        arrays = {"frequency": frequency, "recency": recency, "T": T}
        columns, raw_weights = gather_columns(cls._columns, data, arrays, weights)
        rows = cls._validate(columns)
        n = len(rows["frequency"])
        if n == 0:
            raise DataError("frequency", cls._empty)
        w = validate_weights(raw_weights, n)
        cls._check_fittable(rows, w)
        if litt is None and data is not None and not isinstance(data, RFMSummary):
            try:
                litt = data["litt"]
            except (KeyError, IndexError, TypeError, ValueError):
                litt = None
        if litt is None and getattr(data, "litt", None) is not None:
            litt = data.litt
        logs = None if litt is None else cls._validate_litt(litt, rows["frequency"])
        if k is not None:
            if int(k) != k or k < 1:
                raise ValueError(f"k must be a whole number >= 1, got {k!r}")
            if logs is None and k > 1:
                raise DataError(
                    "litt",
                    "missing: the sum of log times between purchases is needed to fit k > 1",
                )
            return cls._fit_k(rows, w, int(k), logs, penalizer)
        if logs is None:
            raise DataError(
                "litt",
                "missing: the sum of log times between purchases is needed to choose k (or pass k)",
            )
        if int(max_k) != max_k or max_k < 1:
            raise ValueError(f"max_k must be a whole number >= 1, got {max_k!r}")
        fits: list[Self] = []
        for kk in range(1, int(max_k) + 1):
            try:
                fits.append(cls._fit_k(rows, w, kk, logs, penalizer))
            except ConvergenceError:
                if not fits:
                    raise
                break
            lls = [f.log_likelihood for f in fits]
            if len(lls) > 2 and lls[-1] < lls[-2] < lls[-3]:  # type: ignore[operator]
                break
        return max(fits, key=lambda f: f.log_likelihood or -np.inf)

    @staticmethod
    def _validate_litt(litt: Any, x: FloatArray) -> FloatArray:
        values = np.asarray(litt, dtype=np.float64).reshape(-1)
        if values.size != x.size:
            raise DataError("litt", f"has {values.size} rows, frequency has {x.size}")
        bad = ~np.isfinite(values) | ((x == 0) & (values != 0))
        if bad.any():
            raise DataError.from_mask(
                "litt",
                bad,
                "must be finite, and 0 for customers without repeat purchases",
            )
        return values

    @classmethod
    def _fit_k(
        cls,
        rows: dict[str, FloatArray],
        w: FloatArray,
        k: int,
        litt: FloatArray | None,
        penalizer: float,
    ) -> Self:
        columns = {**rows, "k": np.full(rows["frequency"].size, float(k))}
        model = cls._from_fit(columns, w, penalizer=penalizer)
        if k == 1 or model.fit_info is None or litt is None:
            return model
        # the Erlang densities' data-only factor: prod t_i^(k-1) / (k-1)!^x
        extra = float(w @ ((k - 1) * litt - rows["frequency"] * math.lgamma(k)))
        info = attrs.evolve(model.fit_info, log_likelihood=model.fit_info.log_likelihood + extra)
        return attrs.evolve(model, fit_info=info)

    @classmethod
    def _fit_attributes(cls, columns: dict[str, FloatArray], weights: FloatArray) -> dict[str, Any]:
        return {"k": int(columns["k"][0])}

    @staticmethod
    def _rows(params: list[Any], data: dict[str, FloatArray]) -> Any:
        return _cnbd_rows(params, data, 0.0)

    @classmethod
    def _time_jacobian(cls, data: dict[str, FloatArray], weights: FloatArray) -> float:
        # without the litt factor, each purchase's Erlang density carries k powers of time
        return float(weights @ (data["k"] * data["frequency"]))

    # -- reporting ------------------------------------------------------------------------
    def _describe(self) -> str:
        return (
            super()
            ._describe()
            .replace(type(self).__name__, f"{type(self).__name__} (k = {self.k})", 1)
        )

    def __repr__(self) -> str:
        return super().__repr__().replace("(", f"(k={self.k}, ", 1)

    # -- predictions ----------------------------------------------------------------------
    def _as_k1(self) -> Any:
        return self._k1(r=self.r, alpha=self.alpha, a=self.a, b=self.b)

    def _alive(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        if self._in_limit:
            return np.ones(x.shape)
        shape = x.shape
        x, tx, T = x.ravel(), tx.ravel(), T.ravel()
        kk = np.full(x.size, float(self.k))
        rkx = self.r + self.k * x
        log_s2 = _log_s2(self.r, self.alpha, x, tx, T, kk)
        xm = np.maximum(x + self._shift, 1.0)
        with np.errstate(divide="ignore"):
            log_s1 = (
                np.log(self.a)
                - np.log(self.b + xm - 1.0)
                + rkx * (np.log(self.alpha + T) - np.log(self.alpha + tx))
            )
        if self._shift == 0.0:
            log_s1 = np.where(x > 0, log_s1, -np.inf)
        out: FloatArray = np.exp(log_s2 - np.logaddexp(log_s2, log_s1)).reshape(shape)
        return out

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Probability that a customer with this history is still active at ``T``.

        Examples
        --------
        A customer without repeat purchases has not had the chance to drop out:

        >>> BGCNBDK(k=2, r=1.0, alpha=4.0, a=0.8, b=2.4).p_alive(0, 0, 30).item()
        1.0
        """
        return self._alive(*self._history(frequency, recency, T))

    def _future(
        self, t: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray, b_post: FloatArray
    ) -> FloatArray:
        """Expected purchases in ``(T, T+t]`` of a customer alive at ``T``.

        Given the rate and the phase ``j`` of the Erlang clock (Poisson "ticks" since the
        last purchase; a purchase every ``k`` ticks), the ``n``-th future purchase comes
        after ``nk - j`` ticks; with ``λ`` gamma-distributed its time ``N`` has
        ``N/(α+T+N) ~ Beta(nk - j, r+kx+j)``; and it is made if the customer survived
        ``n - 1`` dropout chances, with probability ``B(a, b'+n-1)/B(a, b')``. So
        ``E = Σ_j w_j Σ_n B(a, b'+n-1)/B(a, b') I_z(nk - j, r+kx+j)`` with
        ``z = t/(α+T+t)`` and ``w_j`` the phase's posterior weights.
        """
        k, r, alpha, a = self.k, self.r, self.alpha, self.a
        rkx = r + k * x
        gap = T - tx
        z = t / (alpha + T + t)
        # posterior weights of the phase j = 0..k-1 (the terms of S2)
        logs = []
        for j in range(k):
            with np.errstate(divide="ignore"):
                lr = np.log(gap) - np.log(alpha + T) if j else 0.0
            logs.append(
                special.gammaln(rkx + j) - special.gammaln(rkx) - math.lgamma(j + 1.0) + j * lr
            )
        lw = np.array(logs)
        lw = lw - special.logsumexp(lw, axis=0)
        total = np.zeros(x.size)
        for j in range(k):
            R = rkx + j
            # ticks in (T, T+t] are negative binomial(R, z): enough terms to pass its mean
            # by 12 standard deviations and its geometric tail (ratio z) by e^-35
            one_z = np.maximum(1.0 - z, 1e-300)
            mean = R * z / one_z / k
            with np.errstate(divide="ignore"):
                tail = 35.0 / np.maximum(-np.log(np.maximum(z, 1e-300)), 1e-300)
            need = np.ceil(mean + (12.0 * np.sqrt(R * z) / one_z + tail) / k + 2.0)
            need = np.minimum(need, _MAX_TERMS)
            # rows with similar needs together, in blocks of a bounded rows × ticks table
            order = np.argsort(need, kind="stable")
            ranked = need[order]
            lo = 0
            while lo < order.size:
                size = ranked[lo:] * k * np.arange(1, order.size - lo + 1)
                over = size > _TABLE
                rows = max(1, int(np.argmax(over))) if over.any() else order.size - lo
                idx = order[lo : lo + rows]
                n_terms = int(ranked[lo + rows - 1])
                part = _series(a, k, j, R[idx], z[idx], b_post[idx], n_terms)
                # customers expected to buy more often than the terms summed: the later
                # chances are surely reached well before t, up to about the mean count
                long = need[idx] >= _MAX_TERMS
                if long.any():
                    more = np.maximum(np.floor(mean[idx][long]) - n_terms, 0.0)
                    part[long] += _survived_beyond(a, b_post[idx][long], n_terms, more)
                total[idx] += np.exp(lw[j][idx]) * part
                lo += rows
        return total

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Expected repeat purchases in ``(T, T + t]`` given the history (exact, summed
        over the future purchases; see the model's documentation page).

        Examples
        --------
        With ``k = 1`` it is the BG/NBD's closed form:

        >>> m = BGCNBDK(k=1, r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> round(float(m.expected_purchases(39, 2, 30.43, 38.86)), 3)
        1.226
        """
        x, tx, T_, tt = self._history_ahead(t, frequency, recency, T)
        if self.k == 1:
            return self._as_k1().expected_purchases(tt, x, tx, T_)  # type: ignore[no-any-return]
        xf, txf, Tf, tf = x.ravel(), tx.ravel(), T_.ravel(), tt.ravel()
        # the series once per distinct history and horizon (whole periods repeat them)
        distinct = distinct_rows([xf, txf, Tf, tf])
        ux, utx, uT, ut = (xf, txf, Tf, tf) if distinct is None else distinct[0]
        out = np.empty(ux.size)
        for lo in range(0, ux.size, _BLOCK_ROWS):
            rows = slice(lo, lo + _BLOCK_ROWS)
            b_post = self.b + ux[rows] + self._shift
            out[rows] = self._future(ut[rows], ux[rows], utx[rows], uT[rows], b_post)
        if distinct is not None:
            out = out[distinct[1]]
        result: FloatArray = (out * self._alive(xf, txf, Tf)).reshape(x.shape)
        return result

    def expected_purchases_new(self, t: Any) -> FloatArray:
        """Expected repeat purchases in ``(0, t]`` of a customer just acquired.

        Examples
        --------
        >>> BGCNBDK(k=3, r=1.0, alpha=4.0, a=0.8, b=2.4).expected_purchases_new(0).item()
        0.0
        """
        tt = time_horizon(t)
        if self.k == 1:
            return self._as_k1().expected_purchases_new(tt)  # type: ignore[no-any-return]
        flat = tt.ravel()
        zero = np.zeros(flat.size)
        b_post = np.full(flat.size, self.b + self._shift)
        alive = self.b / (self.a + self.b) if self._shift and not self._in_limit else 1.0
        out: FloatArray = (alive * self._future(flat, zero, zero, zero, b_post)).reshape(tt.shape)
        return out

    def probability_of_purchases(self, n: Any, t: Any) -> FloatArray:
        """``P(X(t) = n)``: probability of ``n`` repeat purchases in ``(0, t]`` for a
        customer just acquired.

        ``X = min(L, G)`` with ``L`` the purchases the Erlang clock allows (``nk`` ticks
        of a negative binomial count) and ``G`` those made before dropping out:
        ``P(L = n) P(G >= n) + P(L > n) P(G = n)``.

        Examples
        --------
        >>> m = BGCNBDK(k=3, r=3.0, alpha=12.0, a=1.0, b=4.0)
        >>> round(float(m.probability_of_purchases(range(200), 52).sum()), 10)
        1.0
        """
        nn, tt = self._counts(n, t)
        if self.k == 1:
            return self._as_k1().probability_of_purchases(nn, tt)  # type: ignore[no-any-return]
        k, r, a, b = self.k, self.r, self.a, self.b
        z = tt / (self.alpha + tt)

        def reach(m: FloatArray) -> FloatArray:  # P(L >= m) = P(ticks >= mk)
            out: FloatArray = np.where(m > 0, special.betainc(np.maximum(m * k, 1.0), r, z), 1.0)
            return out

        def survive(m: FloatArray) -> FloatArray:  # P(G >= m)
            if self._in_limit:
                return np.ones_like(m)
            steps = np.maximum(m - 1.0 + self._shift, 0.0)
            out: FloatArray = np.where(
                m > 0, np.exp(special.betaln(a, b + steps) - special.betaln(a, b)), 1.0
            )
            return out

        p_l = reach(nn) - reach(nn + 1.0)
        p_g = survive(nn) - survive(nn + 1.0)
        result: FloatArray = np.clip(p_l * survive(nn) + reach(nn + 1.0) * p_g, 0.0, 1.0)
        return result

    def simulate(
        self,
        n_customers: int,
        T: Any,
        rng: np.random.Generator | int | None = None,
        *,
        litt: bool = False,
    ) -> Any:
        """Draw customers from the model: an [`RFMSummary`][relcore.scoring.summary.RFMSummary], or
        with ``litt=True`` a dict of arrays ``frequency``, ``recency``, ``T`` and ``litt`` (what
        [`fit`][relcore.scoring.purchase.BGCNBDK.fit] reads to choose ``k``).

        Times between purchases are drawn Erlang-k with the customer's rate until ``T``
        or the dropout.

        Examples
        --------
        >>> s = BGCNBDK(k=3, r=3.0, alpha=12.0, a=1.0, b=4.0).simulate(500, 52.0, rng=1)
        >>> len(s), bool((s.recency <= s.T).all())
        (500, True)
        """
        gen = np.random.default_rng(rng)
        k = self.k
        Tn = np.broadcast_to(np.asarray(T, dtype=np.float64), (n_customers,)).copy()
        lam = gen.gamma(self.r, 1.0 / self.alpha, n_customers)
        if np.isinf(self.b):
            chances = np.full(n_customers, np.inf)
        else:
            p = np.clip(gen.beta(self.a, self.b, n_customers), 1e-300, 1.0)
            chances = gen.geometric(p).astype(np.float64) - 1.0 + (1.0 - self._shift)
        # purchases made: Erlang-k renewals in (0, T], capped by the dropout
        x = np.zeros(n_customers)
        tx = np.zeros(n_customers)
        logs = np.zeros(n_customers)
        active = np.ones(n_customers, dtype=bool)
        while active.any():
            idx = np.flatnonzero(active)
            gaps = gen.gamma(k, 1.0 / np.maximum(lam[idx], 1e-300))
            nxt = tx[idx] + gaps
            ok = (nxt <= Tn[idx]) & (x[idx] < chances[idx])
            hit = idx[ok]
            x[hit] += 1.0
            tx[hit] = nxt[ok]
            logs[hit] += np.log(gaps[ok])
            active[idx[~ok]] = False
        if litt:
            return {"frequency": x, "recency": tx, "T": Tn, "litt": logs}
        return summary_from({"frequency": x, "recency": tx, "T": Tn})


@attrs.frozen(repr=False)
class MBGCNBDK(BGCNBDK):
    """MBG/CNBD-k: as [`BGCNBDK`][relcore.scoring.purchase.BGCNBDK], but a customer may also drop
    out right at the first purchase (``k = 1``: the [`MBGNBD`][relcore.scoring.purchase.MBGNBD]
    exactly).

    Examples
    --------
    >>> from relcore.scoring import MBGNBD
    >>> a = MBGCNBDK(k=1, r=0.5, alpha=6.0, a=0.9, b=3.0).p_alive(2, 10, 30).item()
    >>> b = MBGNBD(r=0.5, alpha=6.0, a=0.9, b=3.0).p_alive(2, 10, 30).item()
    >>> abs(a - b) < 1e-12
    True
    """

    _shift: ClassVar[float] = 1.0
    _k1: ClassVar[type[BGNBD] | type[MBGNBD]] = MBGNBD

    @staticmethod
    def _rows(params: list[Any], data: dict[str, FloatArray]) -> Any:
        return _cnbd_rows(params, data, 1.0)
