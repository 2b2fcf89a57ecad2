r"""Response propensity: how likely a customer is to answer a contact on a channel.

For customer :math:`i` and channel :math:`k`, with each event weighted
:math:`w = 2^{-(at - t)/h}` by its age (weight 1 without a half-life):

* :math:`n_{ik}` = the weighted count of the company's contacts on :math:`k`;
* :math:`y_{ik}` = the weighted count of the customer's responses on :math:`k`, at most
  :math:`n_{ik}` (a response answers a contact; more responses than contacts count as
  one per contact).

The customer's rate :math:`y/n` is noisy when :math:`n` is small, so it is shrunk towards
the channel's population by empirical Bayes: each customer's response probability is
taken to be drawn from a Beta(:math:`\alpha_k, \beta_k`) prior, fitted to all customers
contacted on the channel by maximising the beta-binomial marginal likelihood

.. math:: \ell(\alpha, \beta) = \sum_{i:\, n_{ik} > 0}
          \ln B(\alpha + y_{ik}, \beta + n_{ik} - y_{ik}) - \ln B(\alpha, \beta)

(with weighted counts, the same expression in non-integer arguments), and the propensity
is the posterior mean

.. math:: \hat p_{ik} = \frac{\alpha_k + y_{ik}}{\alpha_k + \beta_k + n_{ik}}.

A customer never contacted on the channel gets the prior mean
:math:`\alpha_k / (\alpha_k + \beta_k)`; one contacted often gets close to their own
rate; :math:`\alpha_k + \beta_k` is how many contacts the population's evidence is worth.
When the customers' rates vary no more than chance would make them (the likelihood is
highest as :math:`\alpha + \beta \to \infty`), every customer gets the pooled rate of the
channel.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ..._durations import describe_duration
from ..._result import Table, TableResult, column, keyed
from ...errors import DataError
from ...models import EventLog
from ._asof import as_of, as_of_datetime, decay, duration_micros
from ._roles import _labels, label_mask

__all__ = ["ResponsePropensity", "response_propensity"]

FloatArray = npt.NDArray[np.float64]

DEFAULT_HALF_LIFE = _dt.timedelta(days=180)
"""Age at which a contact and its response count half."""
_LOG_BOUND = 12.0  # alpha + beta up to e**12 (~160,000 contacts' worth): the pooled rate


@attrs.frozen(eq=False, repr=False)
class ResponsePropensity(TableResult):
    """Per customer and channel, the probability of responding to a contact.

    Attributes
    ----------
    customer_id
        The log's customers, in its order.
    channels
        The channels, the columns of the arrays.
    propensity
        ``(n_customers, n_channels)`` posterior mean response probabilities.
    contacts, responses
        The (decayed) counts :math:`n` and :math:`y` they come from.
    alpha, beta
        The fitted Beta prior of each channel.
    at
        The instant scored.
    half_life
        The decay half-life (``None``: no decay).
    """

    customer_id: npt.NDArray[Any] = attrs.field(converter=column)
    channels: tuple[str, ...]
    propensity: FloatArray = attrs.field(converter=column)
    contacts: FloatArray = attrs.field(converter=column)
    responses: FloatArray = attrs.field(converter=column)
    alpha: FloatArray = attrs.field(converter=column)
    beta: FloatArray = attrs.field(converter=column)
    at: _dt.datetime
    half_life: _dt.timedelta | None

    def __len__(self) -> int:
        return int(self.customer_id.shape[0])

    def prior_mean(self, channel: str) -> float:
        """The population's response probability on ``channel``."""
        j = self._column(channel)
        return float(self.alpha[j] / (self.alpha[j] + self.beta[j]))

    def channel(self, name: str) -> FloatArray:
        """Every customer's propensity on channel ``name``."""
        out: FloatArray = self.propensity[:, self._column(name)]
        return out

    def _column(self, name: str) -> int:
        try:
            return self.channels.index(name)
        except ValueError:
            raise DataError(
                "channel", f"{name!r} is not a channel of the log ({', '.join(self.channels)})"
            ) from None

    def lookup(self, customer_ids: Any, channels: Any) -> FloatArray:
        """The propensity of each ``(customer_ids[i], channels[i])`` pair.

        A customer not in the log gets the channel's prior mean; a channel not in the log
        is a [`DataError`][relcore.errors.DataError].
        """
        ids = np.asarray(customer_ids).reshape(-1)
        chans = np.asarray(channels, dtype=object).reshape(-1)
        if ids.size != chans.size:
            raise DataError("channels", f"has {chans.size} values for {ids.size} customer ids")
        table = np.asarray(self.customer_id)
        order = np.argsort(table, kind="stable")
        if ids.size and table.size:
            key = ids.astype(table.dtype) if table.dtype.kind == ids.dtype.kind else ids
            pos = np.searchsorted(table[order], key)
            pos = np.minimum(pos, table.size - 1)
            found = table[order][pos] == key
            row = order[pos]
        else:
            found = np.zeros(ids.size, dtype=bool)
            row = np.zeros(ids.size, dtype=np.int64)
        names, col = np.unique(chans.astype(str), return_inverse=True)
        unknown = [n for n in names.tolist() if n not in self.channels]
        if unknown:
            bad = np.isin(chans.astype(str), unknown)
            raise DataError.from_mask(
                "channels", bad, f"channels the log does not know ({', '.join(unknown)})"
            )
        cols = np.array([self.channels.index(n) for n in names.tolist()], dtype=np.int64)[col]
        prior = self.alpha / (self.alpha + self.beta)
        out: FloatArray = np.where(found, self.propensity[row, cols], prior[cols])
        return out

    def _table(self) -> Table:
        """One ``propensity_<channel>`` column per channel, keyed by customer id."""
        return keyed(
            self.customer_id,
            {f"propensity_{c}": self.propensity[:, j] for j, c in enumerate(self.channels)},
        )

    def __repr__(self) -> str:
        priors = ", ".join(
            f"{c}: {self.alpha[j] / (self.alpha[j] + self.beta[j]):.3f}"
            for j, c in enumerate(self.channels)
        )
        life = "none" if self.half_life is None else describe_duration(self.half_life)
        return (
            f"ResponsePropensity({len(self):,} customers at {self.at.isoformat()}, "
            f"half_life={life}, prior means {{{priors}}})"
        )


def response_propensity(
    log: EventLog,
    at: _dt.datetime | str,
    *,
    half_life: _dt.timedelta | None = DEFAULT_HALF_LIFE,
    contact_kinds: str | Iterable[str] = ("message",),
    response_kinds: str | Iterable[str] = ("response",),
) -> ResponsePropensity:
    r"""Each customer's probability of responding to a contact, per channel, as of ``at``.

    The customer's own response rate on the channel, shrunk towards the channel's
    population by a Beta prior fitted by empirical Bayes (see
    `relcore.scoring.scores._propensity` for the formula), with older contacts and
    responses weighing less (half-life ``half_life``).

    Parameters
    ----------
    log
        The event log: the company's contacts (``initiator="company"``, a kind in
        ``contact_kinds``) and the customers' responses (``initiator="customer"``, a kind
        in ``response_kinds``), each with a channel. Events after ``at`` are ignored.
    at
        The instant to score as of (timezone-aware).
    half_life
        Age at which a contact and a response count half; ``None`` for no decay.
    contact_kinds, response_kinds
        The kinds that are contacts and responses.

    Returns
    -------
    ResponsePropensity

    Examples
    --------
    Two customers emailed ten times; one answered five, the other once. Their rates, 0.5
    and 0.1, are pulled towards each other (the population's evidence weighs in):

    >>> from datetime import datetime, timedelta, timezone
    >>> from relcore.models import EventLog
    >>> t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> rows = [("a", i, "message", "company") for i in range(10)]
    >>> rows += [("b", i, "message", "company") for i in range(10)]
    >>> rows += [("a", i, "response", "customer") for i in range(5)]
    >>> rows += [("b", 0, "response", "customer")]
    >>> log = EventLog.from_arrays(
    ...     [r[0] for r in rows], [t0 + timedelta(days=r[1]) for r in rows],
    ...     kind=[r[2] for r in rows], initiator=[r[3] for r in rows], channel="email")
    >>> p = response_propensity(log, t0 + timedelta(days=30), half_life=None)
    >>> a, b = p.channel("email")
    >>> bool(0.1 < b < a < 0.5)
    True
    """
    if not isinstance(log, EventLog):
        raise TypeError(f"log must be an EventLog, got {type(log).__name__}")
    now = as_of(at)
    h = None if half_life is None else duration_micros(half_life, "half_life")
    contacts_k = _labels(contact_kinds, "contact_kinds")
    responses_k = _labels(response_kinds, "response_kinds")
    times = log.at
    past = times <= now
    initiator = log.initiator
    is_contact = past & label_mask(log.kind, contacts_k) & label_mask(initiator, ("company",))
    is_response = past & label_mask(log.kind, responses_k) & label_mask(initiator, ("customer",))
    channel = log.channel
    channels = channel.categories
    used = (is_contact | is_response) & (channel.codes < 0)
    if used.any():
        raise DataError.from_mask(
            "channel", used, "contacts or responses without a channel (propensity is per channel)"
        )
    n_cust, n_chan = log.n_customers, len(channels)
    weight = np.ones(times.shape[0]) if h is None else decay(times, now, h)
    cell = log.customer_codes.astype(np.int64) * max(n_chan, 1) + channel.codes
    size = n_cust * n_chan
    n: FloatArray = np.bincount(cell[is_contact], weight[is_contact], minlength=size).astype(
        np.float64
    )
    n = n.reshape(n_cust, n_chan)
    y: FloatArray = np.bincount(cell[is_response], weight[is_response], minlength=size).astype(
        np.float64
    )
    y = np.minimum(y.reshape(n_cust, n_chan), n)
    # A channel nobody was contacted on has no response rate to speak of: left out.
    contacted = n.sum(axis=0) > 0
    n, y = n[:, contacted], y[:, contacted]
    channels = tuple(c for c, keep in zip(channels, contacted.tolist(), strict=True) if keep)
    n_chan = len(channels)
    alpha = np.empty(n_chan)
    beta = np.empty(n_chan)
    for j in range(n_chan):
        alpha[j], beta[j] = _fit_beta(y[:, j], n[:, j])
    p = (alpha + y) / (alpha + beta + n)
    return ResponsePropensity(
        customer_id=log.customers,
        channels=tuple(channels),
        propensity=p,
        contacts=n,
        responses=y,
        alpha=alpha,
        beta=beta,
        at=as_of_datetime(now),
        half_life=half_life,
    )


def _fit_beta(y: FloatArray, n: FloatArray) -> tuple[float, float]:
    """Beta prior maximising the beta-binomial marginal likelihood of ``y`` of ``n``."""
    from scipy.optimize import minimize
    from scipy.special import betaln, digamma

    seen = n > 0
    y, n = y[seen], n[seen]
    total = float(n.sum())
    if total == 0:
        return 1.0, 1.0  # nobody contacted: a uniform prior, mean 1/2
    pooled = min(max(float(y.sum()) / total, 1e-6), 1 - 1e-6)
    if y.size < 2:
        s = float(np.exp(_LOG_BOUND))
        return pooled * s, (1 - pooled) * s
    f = n - y

    # Parameters: the prior mean on the logit scale and log(alpha + beta), so that "no
    # more variation than chance" (alpha + beta to infinity) keeps the mean where it is.
    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        mu = 1.0 / (1.0 + np.exp(-theta[0]))
        s = float(np.exp(theta[1]))
        a, b = mu * s, (1 - mu) * s
        ll = float(np.sum(betaln(a + y, b + f) - betaln(a, b)))
        common = digamma(a + b) - digamma(a + b + n)
        ga = float(np.sum(digamma(a + y) - digamma(a) + common))
        gb = float(np.sum(digamma(b + f) - digamma(b) + common))
        d_logit = mu * (1 - mu) * s * (ga - gb)
        d_log_s = s * (mu * ga + (1 - mu) * gb)
        return -ll, -np.array([d_logit, d_log_s])

    start = np.array([np.log(pooled / (1 - pooled)), np.log(10.0)])
    res = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-20.0, 20.0), (-_LOG_BOUND, _LOG_BOUND)],
    )
    mu = 1.0 / (1.0 + np.exp(-res.x[0]))
    total_s = float(np.exp(res.x[1]))
    return float(mu * total_s), float((1 - mu) * total_s)
