"""The BG/BB model of discrete-time repeat transactions (Fader, Hardie & Shang 2010)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np
from scipy import special

from ..._validation import check_mask
from ...errors import ConvergenceError, DataError
from . import _jet as jet
from ._base import FittedModel, Limit, param_field
from ._conditional import bgbb_new_pmf
from ._inputs import broadcast_float, prediction_rfm, whole_numbers
from ._optimize import jet_objective
from ._special import hyp2f1_one, log_beta_ratio, log_beta_step, survived_chances
from ._types import FloatArray

if TYPE_CHECKING:
    from typing import Self

__all__ = ["BGBB"]


def _beta_binomial_rows(params: list[Any], data: dict[str, FloatArray]) -> Any:
    """Log-likelihood of each row without dropout: ``B(α+x, β+n-x) / B(α, β)``, the
    probability of one particular sequence of ``x`` transactions in ``n`` opportunities
    (the BG/BB likelihood as ``δ -> inf``)."""
    alpha, beta = params
    x, n = data["frequency"], data["n_periods"]
    return jet.betaln(alpha + x, beta + n - x) - jet.betaln(alpha, beta)


# Death terms computed at once for rows x opportunities, at most this many at a time
# (fewer with derivatives, which take a score of such arrays).
_DEATH_CELLS = 1 << 22
_DEATH_CELLS_DERIVATIVES = 1 << 18


def _death_terms(
    alpha: float, beta: float, gamma: float, delta: float, x: FloatArray, tx: FloatArray,
    gap: FloatArray, *, derivatives: bool = False,
) -> tuple[FloatArray, list[FloatArray], list[list[FloatArray]]]:  # fmt: skip
    """``log Σ_{i<gap} B(α+x, β+t_x-x+i) B(γ+1, δ+t_x+i) / B(γ, δ)`` (the likelihood of
    dying after opportunity ``t_x + i``, times ``B(α, β)``), and with ``derivatives`` its
    gradient and Hessian in ``(α, β, γ, δ)``, every ``i`` at once.

    The log-terms are the first one plus the running sum of the steps from ``i`` to
    ``i+1``, ``log((β'+j)/(α'+β'+j)) + log((δ'+j)/(γ+δ'+j))`` (``α' = α+x``, ``β' =
    β+t_x-x``, ``δ' = δ+t_x``), whose derivatives are sums of reciprocals; the sum's
    derivatives are their means under the terms' weights (and, for the Hessian, the
    weights' covariance of the gradients). A block of rows at a time.
    """
    shape = np.broadcast(x, tx, gap).shape
    x, tx, gap = (np.broadcast_to(v, shape).ravel() for v in (x, tx, gap))
    out = np.full(x.shape, -np.inf)
    longest = int(gap.max())
    i = np.arange(longest, dtype=np.float64)
    a0, b0 = alpha + x, beta + tx - x
    survival, survival_grad, survival_hess = log_beta_ratio(
        gamma, delta, tx, derivatives=derivatives
    )
    first = special.betaln(a0, b0) + survival + np.log(gamma)
    grad = [np.zeros(x.shape) for _ in range(4)]
    hess = [[np.zeros(x.shape) for _ in range(4)] for _ in range(4)]
    if derivatives:  # of the first term, per row
        psi_ab, tri_ab = special.digamma(a0 + b0), special.polygamma(1, a0 + b0)
        first_grad = [
            special.digamma(a0) - psi_ab,
            special.digamma(b0) - psi_ab,
            survival_grad[0] + 1.0 / gamma,
            survival_grad[1],
        ]
        first_hess = {
            (0, 0): special.polygamma(1, a0) - tri_ab,
            (0, 1): -tri_ab,
            (1, 1): special.polygamma(1, b0) - tri_ab,
            (2, 2): survival_hess[0][0] - 1.0 / gamma**2,
            (2, 3): survival_hess[0][1],
            (3, 3): survival_hess[1][1],
        }
    cells = _DEATH_CELLS_DERIVATIVES if derivatives else _DEATH_CELLS
    rows = max(1, cells // max(longest, 1))
    for lo in range(0, x.size, rows):
        part = slice(lo, lo + rows)
        xs, ts = x[part, None], tx[part, None]
        j = i[:-1]
        b1, d1 = beta + ts - xs + j, delta + ts + j  # β'+j, δ'+j
        steps = log_beta_step(alpha + xs, b1) + log_beta_step(gamma, d1)
        terms = _running(steps)
        last = 1.0 / (gamma + delta + ts + i)  # the death at opportunity t_x+i
        terms += first[part, None] + np.log(last)
        absent = i >= gap[part, None]
        terms[absent] = -np.inf
        with np.errstate(divide="ignore"):
            total = special.logsumexp(terms, axis=1)
        out[part] = total
        if not derivatives:
            continue
        with np.errstate(invalid="ignore"):
            w = np.where(absent, 0.0, np.exp(terms - total[:, None]))
        ua, ug = 1.0 / (alpha + xs + b1), 1.0 / (gamma + d1)  # 1/(α'+β'+j), 1/(γ+δ'+j)
        g = [
            _running(-ua) + first_grad[0][part, None],
            _running(1.0 / b1 - ua) + first_grad[1][part, None],
            _running(-ug) + first_grad[2][part, None] - last,
            _running(1.0 / d1 - ug) + first_grad[3][part, None] - last,
        ]
        h_ab, h_gd = _running(ua * ua), _running(ug * ug)
        h = {
            (0, 0): h_ab + first_hess[0, 0][part, None],
            (0, 1): h_ab + first_hess[0, 1][part, None],
            (1, 1): _running(ua * ua - 1.0 / b1**2) + first_hess[1, 1][part, None],
            (2, 2): h_gd + first_hess[2, 2][part, None] + last * last,
            (2, 3): h_gd + first_hess[2, 3][part, None] + last * last,
            (3, 3): _running(ug * ug - 1.0 / d1**2) + first_hess[3, 3][part, None] + last * last,
        }
        mean = [np.sum(w * gk, axis=1) for gk in g]
        for k in range(4):
            grad[k][part] = mean[k]
            for m in range(k, 4):
                within = np.sum(w * (h.get((k, m), 0.0) + g[k] * g[m]), axis=1)
                hess[k][m][part] = hess[m][k][part] = within - mean[k] * mean[m]
    shaped_grad: list[FloatArray] = [gk.reshape(shape) for gk in grad]
    shaped_hess: list[list[FloatArray]] = [[hkm.reshape(shape) for hkm in row] for row in hess]
    return out.reshape(shape), shaped_grad, shaped_hess


def _running(steps: FloatArray) -> FloatArray:
    """Per row, ``0`` then the running sums of ``steps`` (one column longer)."""
    out = np.empty((steps.shape[0], steps.shape[1] + 1))
    out[:, 0] = 0.0
    np.cumsum(steps, axis=1, out=out[:, 1:])
    return out


_NO_DROPOUT = Limit(
    name="no dropout",
    fixed={"gamma": 1.0, "delta": np.inf},
    not_identified=("gamma", "delta"),
    objective=lambda columns, weights: jet_objective(_beta_binomial_rows, columns, weights),
    message=(
        "no dropout detected: the data are best described with no customer ever dropping "
        "out (the BG/BB's dropout probability θ is 0 for everyone: the beta-binomial "
        "model), as when every customer transacted at the latest opportunities; every "
        "customer is predicted to stay active"
    ),
)


def _on_distinct_rows(fn: Any, *columns: FloatArray) -> FloatArray:
    """``fn`` evaluated once per distinct row of whole-number columns, then expanded.

    Discrete-time histories repeat massively (6 opportunities allow 22 histories), so a
    million customers cost as much as their few distinct rows plus one gather.
    """
    cols = broadcast_float(*columns)
    shape = cols[0].shape
    flat = [c.ravel() for c in cols]
    if flat[0].size < 1024:
        out: FloatArray = fn(*flat).reshape(shape)
        return out
    sizes = [int(c.max()) + 1 for c in flat]
    if float(np.prod(np.array(sizes, dtype=float))) > 2**62:
        return np.asarray(fn(*flat), dtype=np.float64).reshape(shape)
    key = np.zeros(flat[0].size, dtype=np.int64)
    for c, size in zip(flat, sizes, strict=True):
        key = key * size + c.astype(np.int64)
    if int(np.prod(np.array(sizes, dtype=float))) <= 4 * key.size:
        present = np.bincount(key) > 0
        distinct = np.flatnonzero(present)
        inverse = (np.cumsum(present) - 1)[key]
    else:
        distinct, inverse = np.unique(key, return_inverse=True)
    parts = []
    for size in reversed(sizes):
        parts.append((distinct % size).astype(np.float64))
        distinct = distinct // size
    values = np.asarray(fn(*reversed(parts)), dtype=np.float64)
    result: FloatArray = values[inverse].reshape(shape)
    return result


@attrs.frozen(repr=False)
class BGBB(FittedModel):
    """Beta-geometric / beta-Bernoulli model: one transaction opportunity per period.

    While alive, a customer transacts at each opportunity with probability
    ``p ~ Beta(α, β)``; before each opportunity they die with probability
    ``θ ~ Beta(γ, δ)``. Data per customer: ``frequency`` (opportunities with a
    transaction), ``recency`` (the last such opportunity, 0 if none) and ``n_periods``
    (opportunities observed).

    Attributes
    ----------
    alpha, beta
        Beta distribution of transaction probabilities.
    gamma, delta
        Beta distribution of dropout probabilities. ``delta = inf`` is the limit without dropout
        (``θ = 0`` for everyone, whatever ``gamma``): the beta-binomial model, which a fit returns
        with a [`FitWarning`][relcore.errors.FitWarning] when the data show no sign of dropout.
    fit_info
        Log-likelihood, covariance and sizes of the fit (None for known parameters).

    Examples
    --------
    The donation data of Fader, Hardie & Shang (2010):

    >>> from relcore.datasets import load_donations
    >>> m = BGBB.fit(**load_donations())
    >>> {k: round(v, 3) for k, v in m.params.items()}
    {'alpha': 1.204, 'beta': 0.75, 'gamma': 0.657, 'delta': 2.783}
    >>> round(m.log_likelihood, 1)
    -33225.6
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")
    _columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "n_periods")
    _per_customer: ClassVar[dict[str, tuple[int, tuple[str, ...]]]] = {
        "p_alive": (0, _columns),
        "expected_purchases": (1, _columns),
        "discounted_expected_transactions": (1, _columns),
        "probability_of_purchases": (2, _columns),
    }
    _limit = _NO_DROPOUT

    alpha: float = param_field()
    beta: float = param_field()
    gamma: float = param_field()
    delta: float = param_field(limit=True)

    @classmethod
    def fit(
        cls,
        data: Any = None,
        *,
        frequency: Any = None,
        recency: Any = None,
        n_periods: Any = None,
        weights: Any = None,
        penalizer: float = 0.0,
    ) -> Self:
        """Maximum-likelihood fit.

        Parameters
        ----------
        data
            An [`RFMSummary`][relcore.scoring.summary.RFMSummary] (``T`` is taken as ``n_periods``)
            or a mapping / DataFrame with columns ``frequency``, ``recency``, ``n_periods``.
        frequency, recency, n_periods
            Arrays of whole numbers, instead of ``data``.
        weights
            How many customers share each row.
        penalizer
            L2 penalty on the parameters, as lifetimes' ``penalizer_coef``.

        Examples
        --------
        The donation data of Fader, Hardie & Shang (2010): 11,104 donors in 22 distinct
        histories, a mapping with a ``weights`` column. The mean probability of dropping
        out before an opportunity, γ / (γ + δ), is 0.191 at the published estimates
        (γ = 0.657, δ = 2.783):

        >>> from relcore.datasets import load_donations
        >>> m = BGBB.fit(load_donations())
        >>> round(m.gamma / (m.gamma + m.delta), 3)
        0.191
        """
        arrays = {"frequency": frequency, "recency": recency, "n_periods": n_periods}
        return cls._fit(data, arrays, weights=weights, penalizer=penalizer)

    @classmethod
    def _validate(cls, columns: dict[str, Any]) -> dict[str, FloatArray]:
        x, tx, n = cls._history(columns["frequency"], columns["recency"], columns["n_periods"])
        return {"frequency": x, "recency": tx, "n_periods": n}

    @classmethod
    def _check_fittable(cls, rows: dict[str, FloatArray], weights: FloatArray) -> None:
        counted = weights > 0
        if not (counted & (rows["n_periods"] > 0)).any():
            raise DataError(
                "n_periods",
                "every customer has n_periods = 0 (no opportunity observed yet): there is "
                "no history to fit",
            )
        if not (counted & (rows["frequency"] > 0)).any():
            raise ConvergenceError(
                "no customer transacted at any opportunity: the likelihood rises without "
                "bound as the transaction probability goes to 0, so the model cannot be "
                "fitted to these data"
            )

    @staticmethod
    def _history(frequency: Any, recency: Any, n_periods: Any) -> list[FloatArray]:
        """Validated whole-number histories, broadcast to one shape."""
        x, tx, n = prediction_rfm(frequency, recency, n_periods, t_name="n_periods", discrete=True)
        check_mask("recency", (x > 0) & (tx == 0), "recency 0 where frequency is positive")
        return [x, tx, n]

    @staticmethod
    def _rows(params: list[Any], data: dict[str, FloatArray]) -> Any:
        """Log-likelihood of each row (Fader, Hardie & Shang 2010, eq. 5).

        ``B(α+x, β+n-x)/B(α,β) · B(γ, δ+n)/B(γ,δ)`` (alive throughout) plus, for death
        after opportunity ``t_x + i`` (``i = 0..n-t_x-1``),
        ``B(α+x, β+t_x-x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)``.
        """
        alpha, beta, gamma, delta = params
        x, tx, n = data["frequency"], data["recency"], data["n_periods"]
        base = -jet.betaln(alpha, beta)
        # survival terms as ratios B(γ, δ+k)/B(γ, δ), exact however large δ (no dropout)
        total = jet.betaln(alpha + x, beta + n - x) + jet.log_beta_ratio(gamma, delta, n)
        gap = n - tx
        if not gap.size or gap.max() <= 0:
            return base + total
        # death after opportunity t_x + i, every i at once; for a fit, with the sum's
        # derivatives, carried to the fit's parameters by the chain rule
        fitting = any(isinstance(p, jet.Jet) for p in params)
        a, b, g, d = (float(jet.value(p)) for p in params)
        died, grad, hess = _death_terms(a, b, g, d, x, tx, gap, derivatives=fitting)
        return base + jet.logaddexp(total, jet.compose(died, grad, hess, list(params)))

    def _row_log_likelihood(self, rows: dict[str, FloatArray]) -> Any:
        return self._loglik(rows["frequency"], rows["recency"], rows["n_periods"])

    def _loglik(self, x: FloatArray, tx: FloatArray, n: FloatArray) -> FloatArray:
        data = {"frequency": x, "recency": tx, "n_periods": n}
        if self._in_limit:
            limit: FloatArray = _beta_binomial_rows([self.alpha, self.beta], data)
            return limit
        out: FloatArray = self._rows(list(self.params.values()), data)
        return out

    def p_alive(
        self, frequency: Any, recency: Any, n_periods: Any, *, periods_ahead: Any = 0
    ) -> FloatArray:
        """Probability of being alive at opportunity ``n_periods + periods_ahead``
        (Fader, Hardie & Shang 2010, eq. A10 / 11).

        Examples
        --------
        >>> m = BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> m.p_alive(6, 6, 6).item() > m.p_alive(1, 1, 6).item()
        True
        """
        x, tx, n = self._history(frequency, recency, n_periods)
        m = whole_numbers(periods_ahead, "periods_ahead")
        return _on_distinct_rows(self._p_alive, x, tx, n, m)

    def _p_alive(self, x: FloatArray, tx: FloatArray, n: FloatArray, m: FloatArray) -> FloatArray:
        if self._in_limit:
            return np.ones_like(x)
        a, b, g, d = self.alpha, self.beta, self.gamma, self.delta
        lp = (
            special.betaln(a + x, b + n - x)
            - special.betaln(a, b)
            + log_beta_ratio(g, d, n + m)[0]
            - self._loglik(x, tx, n)
        )
        out: FloatArray = np.minimum(np.exp(lp), 1.0)
        return out

    def expected_purchases(
        self, m_periods: Any, frequency: Any, recency: Any, n_periods: Any
    ) -> FloatArray:
        """Expected transactions over the next ``m_periods`` opportunities (FHS 2010, eq. 13).

        Examples
        --------
        >>> m = BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> m.expected_purchases(0, 3, 5, 6).item()
        0.0
        """
        x, tx, n = self._history(frequency, recency, n_periods)
        mm = whole_numbers(m_periods, "m_periods")
        return _on_distinct_rows(self._expected, x, tx, n, mm)

    def _expected(self, x: FloatArray, tx: FloatArray, n: FloatArray, mm: FloatArray) -> FloatArray:
        a, b = self.alpha, self.beta
        log_p = (
            special.betaln(a + x + 1.0, b + n - x) - special.betaln(a, b) - self._loglik(x, tx, n)
        )
        out: FloatArray = np.exp(log_p + self._log_survival_sum(n, mm))
        return out

    def discounted_expected_transactions(
        self, d: float, frequency: Any, recency: Any, n_periods: Any
    ) -> FloatArray:
        """DERT: expected future transactions, each discounted at rate ``d`` per period
        (Fader, Hardie & Shang 2010, eq. 14):

        ``B(α+x+1, β+n-x)/B(α,β) · B(γ, δ+n+1)/(B(γ,δ)(1+d)) ·
        2F1(1, δ+n+1; γ+δ+n+1; 1/(1+d)) / L(α, β, γ, δ | x, t_x, n)``.

        Multiply by the value of a transaction for the residual value of the customer.

        Examples
        --------
        Without discounting and with no chance of dying, a customer who transacted at
        every opportunity has an unbounded future; with a discount rate it is finite:

        >>> m = BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> v = m.discounted_expected_transactions(0.1, [6, 1], [6, 1], [6, 6])
        >>> bool(v[0] > v[1] > 0)
        True
        """
        if not (np.isfinite(d) and d > 0):
            raise ValueError(f"the discount rate d must be positive, got {d!r}")
        x, tx, n = self._history(frequency, recency, n_periods)

        def dert(x: FloatArray, tx: FloatArray, n: FloatArray) -> FloatArray:
            a, b, g, de = self.alpha, self.beta, self.gamma, self.delta
            if self._in_limit:
                # E[p | history] per opportunity, discounted: sum_k (1+d)^-k = 1/d
                forever: FloatArray = (a + x) / (a + b + n) / d
                return forever
            log_head = (
                special.betaln(a + x + 1.0, b + n - x)
                - special.betaln(a, b)
                + log_beta_ratio(g, de, n + 1.0)[0]
                - np.log1p(d)
                - self._loglik(x, tx, n)
            )
            h = hyp2f1_one(de + n + 1.0, g + de + n + 1.0, 1.0 / (1.0 + d), d / (1.0 + d))
            out: FloatArray = np.exp(log_head) * h
            return out

        return _on_distinct_rows(dert, x, tx, n)

    def expected_purchases_new(
        self, n_periods: Any, *, include_first_transaction: bool = False
    ) -> FloatArray:
        """Expected transactions in the first ``n_periods`` opportunities (FHS 2010, eq. 9):
        ``α/(α+β) · Σ_{t=1..n} B(γ, δ+t)/B(γ, δ)``.

        ``include_first_transaction=True`` counts the purchase that made the customer
        too (``1 + E[X]``), as CLVTools' new-customer predictions count it.

        Examples
        --------
        With dropout near zero every opportunity counts with probability α/(α+β):

        >>> m = BGBB(alpha=1.0, beta=1.0, gamma=1e-9, delta=1.0)
        >>> round(float(m.expected_purchases_new(6)), 6)
        3.0
        """
        if include_first_transaction:
            return 1.0 + self.expected_purchases_new(n_periods)
        nn = whole_numbers(n_periods, "n_periods")
        a, b = self.alpha, self.beta
        out: FloatArray = a / (a + b) * np.exp(self._log_survival_sum(np.zeros_like(nn), nn))
        return out

    def probability_of_purchases(
        self,
        n: Any,
        m_periods: Any,
        frequency: Any = None,
        recency: Any = None,
        n_periods: Any = None,
    ) -> FloatArray:
        """Probability of ``n`` transactions in ``m_periods`` opportunities.

        For a customer just acquired, in the first ``m_periods`` opportunities (Fader, Hardie &
        Shang 2010). Given a history (``frequency``, ``recency``, ``n_periods``, or a summary in
        their place), in the next ``m_periods`` opportunities: alive after opportunity ``n_periods``
        ([`p_alive`][relcore.scoring.purchase.BGBB.p_alive]), the customer starts afresh with the
        posterior parameters ``α + x``, ``β + n - x``, ``γ``, ``δ + n``; having died, they transact
        no more.

        Examples
        --------
        The probabilities over ``n = 0..m`` sum to one, and their mean is the expected
        number of transactions:

        >>> import numpy as np
        >>> m = BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
        >>> k = np.arange(6)
        >>> p = m.probability_of_purchases(k, 5, 3, 4, 6)
        >>> round(float(p.sum()), 12), bool(np.isclose(p @ k, m.expected_purchases(5, 3, 4, 6)))
        (1.0, True)
        """
        nn = whole_numbers(n, "n")
        mm = whole_numbers(m_periods, "m_periods")
        a, b, g, d = self.alpha, self.beta, self.gamma, self.delta
        if frequency is None and recency is None and n_periods is None:
            k, m = broadcast_float(nn, mm)
            return bgbb_new_pmf(k, m, a, b, g, d)
        if frequency is None or recency is None or n_periods is None:
            raise TypeError("give the history as frequency, recency and n_periods together")
        x, tx, n_obs = self._history(frequency, recency, n_periods)
        nn, mm, x, tx, n_obs = broadcast_float(nn, mm, x, tx, n_obs)

        def given(
            k: FloatArray, m: FloatArray, x: FloatArray, tx: FloatArray, n: FloatArray
        ) -> FloatArray:
            alive = self._p_alive(x, tx, n, np.zeros_like(x))
            fresh = bgbb_new_pmf(k, m, a + x, b + n - x, g, d + n)
            out: FloatArray = alive * fresh + (1.0 - alive) * (k == 0)
            return out

        return _on_distinct_rows(given, nn, mm, x, tx, n_obs)

    def _log_survival_sum(self, n: FloatArray, m: FloatArray) -> FloatArray:
        """``log Σ_{j=n+1..n+m} B(γ, δ+j) / B(γ, δ)``: ``δ/(γ+δ)`` times the chances
        ``n+1 .. n+m`` survived from ``B(γ, δ+1)`` (`survived_chances`), accurate for any
        ``γ`` (``γ -> 1`` included) and any number of opportunities."""
        g, d = self.gamma, self.delta
        if self._in_limit:  # every opportunity is survived
            with np.errstate(divide="ignore"):
                log_m: FloatArray = np.log(m) + 0.0 * n
            return log_m
        with np.errstate(divide="ignore"):
            out: FloatArray = np.log(d / (g + d) * survived_chances(g, d + 1.0, n, m))
        return out

    def simulate(
        self, n_customers: int, n_periods: int, rng: np.random.Generator | int | None = None
    ) -> Any:
        """Draw customers observed for ``n_periods`` opportunities: an
        [`RFMSummary`][relcore.scoring.summary.RFMSummary] whose ``T`` holds ``n_periods``.

        Examples
        --------
        >>> s = BGBB(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8).simulate(100, 6, rng=0)
        >>> bool((s.frequency <= s.recency).all()), float(s.T.max())
        (True, 6.0)
        """
        from ..summary import RFMSummary

        gen = np.random.default_rng(rng)
        p = gen.beta(self.alpha, self.beta, n_customers)
        if self._in_limit:
            alive_for = np.full(n_customers, n_periods)
        else:
            theta = np.clip(gen.beta(self.gamma, self.delta, n_customers), 1e-300, 1.0)
            # opportunities survived: alive before opportunity t with probability (1-θ)^t
            alive_for = np.minimum(gen.geometric(theta) - 1, n_periods)
        t = np.arange(1, n_periods + 1)
        buys = (gen.random((n_customers, n_periods)) < p[:, None]) & (
            t[None, :] <= alive_for[:, None]
        )
        x = buys.sum(axis=1).astype(np.float64)
        last = np.where(buys, t[None, :], 0).max(axis=1).astype(np.float64)
        return RFMSummary(
            customer_id=np.arange(n_customers),
            frequency=x,
            recency=last,
            T=np.full(n_customers, float(n_periods)),
            monetary_value=np.zeros(n_customers),
        )
