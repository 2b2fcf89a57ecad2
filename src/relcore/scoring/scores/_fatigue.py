"""Contact fatigue: the pressure a customer has not answered, per channel and overall.

Two layers:

* [`fatigue_scores`][relcore.scoring.scores.fatigue_scores] — the kernel, on plain arrays. The
  contact policy's ``FatigueLimit`` rule calls it on its ledger's contacts; it knows nothing of
  event logs.
* [`fatigue`][relcore.scoring.scores.fatigue] — the score over an
  [`EventLog`][relcore.models.EventLog], per customer, overall and per channel, plus a saturation
  level against a recommended contact frequency estimated from the whole customer base.

Import both from `relcore.scoring` (or [`relcore.scoring.scores`][relcore.scoring.scores]); this
module is private.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from ..._result import Labels, Table, TableResult, column, keyed, label_counts
from ..._time import US_PER_DAY
from ..._validation import check_mask
from ...errors import DataError
from ...models import EventLog
from ._asof import as_of, as_of_datetime, decay, duration_micros
from ._roles import ACTION_KINDS, NEGATIVE_KINDS, EventRoles, event_roles

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "SATURATION_LEVELS",
    "FatigueScores",
    "ResponseCurve",
    "fatigue",
    "fatigue_scores",
]

FloatArray = npt.NDArray[np.float64]

DEFAULT_HALF_LIFE = _dt.timedelta(days=14)
"""Age at which an unanswered contact weighs half (the contact policy's default too)."""
DEFAULT_NEGATIVE_WEIGHT = 5.0
"""Weight of a fresh complaint or unsubscribe, in fresh unanswered contacts."""
DEFAULT_NEGATIVE_KINDS = NEGATIVE_KINDS
"""Event kinds that are negative signals: complaints and unsubscribes."""
DEFAULT_WINDOW = _dt.timedelta(weeks=13)
SATURATION_LEVELS: tuple[str, ...] = ("under", "on_target", "saturated")
_US_PER_WEEK = 7 * US_PER_DAY


def fatigue_scores(
    group: npt.ArrayLike,
    at_us: npt.ArrayLike,
    is_contact: npt.ArrayLike,
    is_response: npt.ArrayLike,
    is_negative: npt.ArrayLike,
    *,
    n_groups: int,
    now_us: int | npt.ArrayLike,
    half_life_us: float,
    negative_weight: float = DEFAULT_NEGATIVE_WEIGHT,
) -> FloatArray:
    r"""Fatigue of each group as of ``now_us``, from plain arrays (the kernel).

    One row per event. For each group ``g`` (a customer, or a customer on one channel):

    $$
    \text{fatigue}_g = \sum_{\substack{\text{contacts } i \in g \\ r_g < t_i \le now}}
                       2^{-(now - t_i)/h}
                     \;+\; w_{neg} \sum_{\substack{\text{negatives } j \in g \\ t_j \le now}}
                       2^{-(now - t_j)/h}
    $$

    where ``r_g`` is the time of the group's last response at or before ``now``
    (``-inf`` when none). So fatigue is the decayed number of contacts the customer has
    not answered since they last responded: a response wipes the slate clean, and every
    unanswered contact adds up to 1 (a fresh one) fading to half after ``half_life_us``.
    A contact at the very instant of a response counts as answered. Negative signals
    (complaints, unsubscribes) each add ``negative_weight`` times their decay and are
    not wiped by later responses: a customer who complained is still sore. Rows after
    ``now`` are ignored. The score is 0 for a group without unanswered contacts or
    negatives, and unbounded above (``k`` fresh unanswered contacts score ``k``).

    Parameters
    ----------
    group
        Integer group of each row, ``0 <= group < n_groups`` (e.g. a customer index, or
        ``customer * n_channels + channel`` for a per-channel score). Rows may be in any
        order: nothing here needs them sorted.
    at_us
        int64 event times, microseconds since the Unix epoch (UTC).
    is_contact, is_response, is_negative
        Boolean masks: a company-initiated contact; a response (any action of the
        customer that shows they are listening); a complaint or unsubscribe. A row may be
        none of these (it is then ignored); flags are used as given.
    n_groups
        Number of groups (length of the result).
    now_us
        The instant to score as of, microseconds since the epoch: one for every group, or
        an int64 array of ``n_groups`` instants, group ``g`` scored as of ``now_us[g]``
        (how the contact policy scores each customer at the time of their contact).
    half_life_us
        Decay half-life in microseconds (positive).
    negative_weight
        Weight of a fresh negative signal, in fresh unanswered contacts (non-negative).

    Returns
    -------
    numpy.ndarray
        float64, shape ``(n_groups,)``.

    Raises
    ------
    DataError
        When arrays differ in length, flags are not boolean, times are not integers or a
        group is out of range.

    Examples
    --------
    Two contacts, a response, then three more contacts (one a day, days 0 to 5), scored on
    day 5 with a half-life of one day: only the last three count, as 1/4 + 1/2 + 1.

    >>> import numpy as np
    >>> day = 86_400_000_000
    >>> fatigue_scores(
    ...     np.zeros(6, dtype=np.int64), np.arange(6) * day,
    ...     np.array([1, 1, 0, 1, 1, 1], dtype=bool), np.array([0, 0, 1, 0, 0, 0], dtype=bool),
    ...     np.zeros(6, dtype=bool), n_groups=1, now_us=5 * day, half_life_us=day,
    ... ).tolist()
    [1.75]
    """
    g = np.asarray(group)
    t = np.asarray(at_us)
    flags = {
        "is_contact": np.asarray(is_contact),
        "is_response": np.asarray(is_response),
        "is_negative": np.asarray(is_negative),
    }
    _check_kernel_inputs(g, t, flags, n_groups, half_life_us, negative_weight)
    contact, response, negative = flags["is_contact"], flags["is_response"], flags["is_negative"]
    row_now: int | npt.NDArray[np.int64]
    if np.ndim(now_us) == 0:
        row_now = int(now_us)  # type: ignore[arg-type]
    else:
        now = np.asarray(now_us, dtype=np.int64)
        if now.shape != (n_groups,):
            raise DataError("now_us", f"must be one instant or {n_groups}, got shape {now.shape}")
        row_now = now[g]

    past = t <= row_now
    resp = np.flatnonzero(response & past)
    last = np.full(n_groups, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, g[resp], t[resp])

    def decayed(rows: npt.NDArray[np.intp]) -> FloatArray:
        at_now = row_now if isinstance(row_now, int) else row_now[rows]
        weights = decay(t[rows], at_now, half_life_us)
        return np.bincount(g[rows], weights=weights, minlength=n_groups).astype(np.float64)

    cidx = np.flatnonzero(contact & past)
    out = decayed(cidx[t[cidx] > last[g[cidx]]])
    if negative_weight > 0:
        nidx = np.flatnonzero(negative & past)
        if nidx.size:
            out += negative_weight * decayed(nidx)
    return out


def _check_kernel_inputs(
    g: npt.NDArray[Any],
    t: npt.NDArray[Any],
    flags: dict[str, npt.NDArray[Any]],
    n_groups: int,
    half_life_us: float,
    negative_weight: float,
) -> None:
    if g.ndim != 1 or g.dtype.kind not in "iu":
        raise DataError("group", f"must be a 1-d integer array, got {g.dtype}, shape {g.shape}")
    if t.shape != g.shape or t.dtype.kind not in "iu":
        raise DataError("at_us", f"must be integers shaped {g.shape}, got {t.dtype} {t.shape}")
    for name, arr in flags.items():
        if arr.shape != g.shape or arr.dtype != np.bool_:
            raise DataError(name, f"must be booleans shaped {g.shape}, got {arr.dtype} {arr.shape}")
    if n_groups < 0:
        raise ValueError(f"n_groups must be non-negative, got {n_groups}")
    if g.size and (int(g.min()) < 0 or int(g.max()) >= n_groups):
        check_mask("group", (g < 0) | (g >= n_groups), f"groups outside 0..{n_groups - 1}")
    if not (math.isfinite(half_life_us) and half_life_us > 0):
        raise ValueError(f"half_life_us must be a positive number, got {half_life_us}")
    if not (math.isfinite(negative_weight) and negative_weight >= 0):
        raise ValueError(f"negative_weight must be a non-negative number, got {negative_weight}")


# ------------------------------------------------------------------------ response curves


@attrs.frozen(eq=False)
class ResponseCurve:
    """How a channel's response rate falls with contact frequency, across the base.

    Customers contacted on the channel within the window are grouped by how many contacts
    they received; for each group the pooled response rate is responses / contacts. A
    Poisson model ``responses ~ Poisson(contacts · exp(a + b · f))`` (``f`` in contacts
    per week) is fitted by maximum likelihood. Weekly responses per customer,
    ``f · exp(a + b f)``, peak at ``f = -1/b`` when ``b < 0``: contacting more often than
    that brings fewer responses, not more. That peak, clipped to the frequencies actually
    observed (the data say nothing beyond them), is the recommended frequency; when rates
    do not fall (``b >= 0``) it is the highest frequency observed.

    Attributes
    ----------
    channel : str
    contacts_per_week : numpy.ndarray
        Distinct observed frequencies (contacts in the window / weeks in the window).
    customers, contacts, responses : numpy.ndarray
        Customers, contacts and responses at each frequency.
    slope : float
        ``b``, per contact per week (NaN when it could not be estimated).
    recommended_frequency : float
        Contacts per week (NaN when there is no data: no contacts, no responses, or
        a single frequency).
    source : {"estimated", "given"}
        Whether the recommendation came from the data or from the caller.
    """

    channel: str
    contacts_per_week: FloatArray = attrs.field(converter=column)
    customers: FloatArray = attrs.field(converter=column)
    contacts: FloatArray = attrs.field(converter=column)
    responses: FloatArray = attrs.field(converter=column)
    slope: float
    recommended_frequency: float
    source: Literal["estimated", "given"]

    @property
    def response_rate(self) -> FloatArray:
        """Pooled responses per contact at each frequency."""
        with np.errstate(invalid="ignore", divide="ignore"):
            out: FloatArray = self.responses / self.contacts
        return out

    @classmethod
    def from_counts(
        cls,
        channel: str,
        contacts: npt.ArrayLike,
        customers: npt.ArrayLike,
        responses: npt.ArrayLike,
        *,
        window: _dt.timedelta = DEFAULT_WINDOW,
    ) -> ResponseCurve:
        """The curve estimated from counts: ``customers[i]`` customers each received
        ``contacts[i]`` contacts on the channel within ``window`` and gave
        ``responses[i]`` responses between them.

        [`fatigue`][relcore.scoring.scores.fatigue] estimates its curves from the same counts, so
        the curves of the parts of a customer base (``response_curves`` of each part's ``fatigue``,
        with ``contacts`` = ``contacts / customers``), added up by contact count, give the whole
        base's curve: how [`relcore.dask`][relcore.dask] estimates the recommendation.

        Examples
        --------
        >>> c = ResponseCurve.from_counts("email", [1, 2], [10, 5], [4, 4],
        ...                               window=_dt.timedelta(weeks=1))
        >>> c.contacts_per_week.tolist(), c.contacts.tolist(), c.response_rate.tolist()
        ([1.0, 2.0], [10.0, 10.0], [0.4, 0.4])
        """
        n = np.asarray(contacts, dtype=np.float64).reshape(-1)
        c = np.asarray(customers, dtype=np.float64).reshape(-1)
        r = np.asarray(responses, dtype=np.float64).reshape(-1)
        if not n.size == c.size == r.size:
            raise DataError("contacts", "contacts, customers and responses differ in length")
        check_mask("contacts", ~(n >= 1) | (n != np.floor(n)), "counts that are not 1, 2, 3...")
        repeated = np.ones(n.size, dtype=bool)
        repeated[np.unique(n, return_index=True)[1]] = False
        check_mask("contacts", repeated, "repeated counts (add their customers up)")
        check_mask("customers", ~(c >= 1) | (c != np.floor(c)), "counts that are not 1, 2, 3...")
        check_mask("responses", ~(r >= 0) | ~np.isfinite(r), "negative or infinite counts")
        order = np.argsort(n)
        weeks = duration_micros(window, "window") / _US_PER_WEEK
        return _curve_from_counts(channel, n[order], c[order], r[order], weeks)


def _fit_rate_slope(x: FloatArray, exposure: FloatArray, y: FloatArray) -> float:
    """Slope ``b`` of ``y ~ Poisson(exposure · exp(a + b x))`` by Newton's method (NaN if
    not identifiable). The log-likelihood is concave, so damped Newton converges."""
    if x.size < 2 or y.sum() <= 0 or np.ptp(x) == 0:
        return math.nan
    xc = x - float((exposure * x).sum() / exposure.sum())

    def loglik(a: float, b: float) -> float:
        eta = a + b * xc
        with np.errstate(over="ignore"):
            return float((y * eta - exposure * np.exp(eta)).sum())

    a, b = math.log(y.sum() / exposure.sum()), 0.0
    ll = loglik(a, b)
    for _ in range(200):
        with np.errstate(over="ignore"):
            mu = exposure * np.exp(a + b * xc)
        grad = np.array([(y - mu).sum(), ((y - mu) * xc).sum()])
        hess = np.array([[mu.sum(), (mu * xc).sum()], [(mu * xc).sum(), (mu * xc * xc).sum()]])
        if not np.isfinite(hess).all() or abs(np.linalg.det(hess)) < 1e-300:
            break
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-10:
            new = loglik(a + scale * step[0], b + scale * step[1])
            if new >= ll - 1e-12 * abs(ll):
                break
            scale /= 2
        a, b, ll = a + scale * step[0], b + scale * step[1], new
        if abs(scale * step[1]) <= 1e-10 * max(1.0, abs(b)) and abs(scale * step[0]) <= 1e-10:
            break
    return b


def _response_curve(
    channel: str, contacts: npt.NDArray[np.int64], responses: npt.NDArray[np.int64], weeks: float
) -> ResponseCurve:
    sel = contacts > 0
    n = contacts[sel]
    customers = np.bincount(n).astype(np.float64)
    total_responses = np.bincount(n, weights=responses[sel].astype(np.float64)).astype(np.float64)
    present = np.flatnonzero(customers > 0)
    return _curve_from_counts(
        channel, present.astype(np.float64), customers[present], total_responses[present], weeks
    )


def _curve_from_counts(
    channel: str, n: FloatArray, customers: FloatArray, responses: FloatArray, weeks: float
) -> ResponseCurve:
    """The curve from customers and responses at each distinct contact count ``n``
    (ascending, all >= 1)."""
    freq = n / weeks
    contacts = customers * n
    slope = _fit_rate_slope(freq, contacts, responses)
    if math.isnan(slope):
        recommended = math.nan
    elif slope < 0:
        recommended = float(np.clip(-1.0 / slope, freq.min(), freq.max()))
    else:
        recommended = float(freq.max())
    return ResponseCurve(
        channel=channel,
        contacts_per_week=freq,
        customers=customers,
        contacts=contacts,
        responses=responses,
        slope=slope,
        recommended_frequency=recommended,
        source="estimated",
    )


# ------------------------------------------------------------------------- over a log


@attrs.frozen(eq=False)
class _LogFatigue:
    """Fatigue of a log's customers, overall and per channel, with the per-channel rows it
    came from (what saturation counts in its window)."""

    overall: FloatArray
    by_channel: FloatArray  # (n_customers, n_channels)
    key: npt.NDArray[np.int64]  # per-channel rows: customer * n_channels + channel
    at: npt.NDArray[np.int64]
    contact: npt.NDArray[np.bool_]
    action: npt.NDArray[np.bool_]


def _log_fatigue(
    log: EventLog,
    roles: EventRoles,
    now: int,
    half_life_us: float,
    negative_weight: float = DEFAULT_NEGATIVE_WEIGHT,
) -> _LogFatigue:
    """[`fatigue_scores`][relcore.scoring.scores.fatigue_scores] over a log: per customer, and per
    customer on each channel (rows without a channel count overall only).
    [`fatigue`][relcore.scoring.scores.fatigue] and the customer view both score fatigue through
    here."""
    n = log.n_customers
    n_ch = len(log.channel.categories)
    codes = log.customer_codes
    overall = fatigue_scores(
        codes, log.at, roles.contact, roles.action, roles.negative,
        n_groups=n, now_us=now, half_life_us=half_life_us, negative_weight=negative_weight,
    )  # fmt: skip
    ch = log.channel.codes
    with_ch = np.flatnonzero(ch >= 0)
    if with_ch.size == len(log):  # no copies when every row has a channel
        key = codes.astype(np.int64) * n_ch + ch
        t_ch, act, con, neg = log.at, roles.action, roles.contact, roles.negative
    else:
        key = codes[with_ch].astype(np.int64) * n_ch + ch[with_ch]
        t_ch = log.at[with_ch]
        act, con, neg = roles.action[with_ch], roles.contact[with_ch], roles.negative[with_ch]
    by_channel = fatigue_scores(
        key, t_ch, con, act, neg,
        n_groups=n * n_ch, now_us=now, half_life_us=half_life_us,
        negative_weight=negative_weight,
    ).reshape(n, n_ch)  # fmt: skip
    return _LogFatigue(overall, by_channel, key, t_ch, con, act)


# ------------------------------------------------------------------------------ results


@attrs.frozen(eq=False)
class FatigueScores(TableResult):
    """Contact fatigue of every customer of a log, as of one instant.

    Attributes
    ----------
    customer_id : numpy.ndarray
        The log's customers, in its order.
    fatigue : numpy.ndarray
        Overall fatigue: unanswered contacts on any channel since the last response on any channel,
        plus negative signals (see [`fatigue_scores`][relcore.scoring.scores.fatigue_scores]).
    fatigue_by_channel : numpy.ndarray
        ``(n_customers, len(channels))``: the same score computed on each channel's events
        alone (contacts on the channel since the last response on that channel). Overall
        fatigue is not their sum: a response by SMS resets overall fatigue but not email's.
    channels : tuple of str
        Channel names, the columns of the per-channel arrays.
    contacts_per_week : numpy.ndarray
        ``(n_customers, len(channels))`` company contacts per week within ``window``.
    saturation : numpy.ndarray
        ``"under"``, ``"on_target"`` or ``"saturated"`` per customer (see
        `fatigue`).
    recommended_frequency : numpy.ndarray
        ``(len(channels),)`` contacts per week per channel (NaN where not estimable).
    response_curves : tuple of ResponseCurve
        The evidence behind each channel's recommendation.
    at : datetime.datetime
    half_life : datetime.timedelta
    window : datetime.timedelta
    """

    customer_id: npt.NDArray[Any] = attrs.field(converter=column)
    fatigue: FloatArray = attrs.field(converter=column)
    fatigue_by_channel: FloatArray = attrs.field(converter=column)
    channels: tuple[str, ...]
    contacts_per_week: FloatArray = attrs.field(converter=column)
    saturation: npt.NDArray[np.str_] = attrs.field(converter=column)
    recommended_frequency: FloatArray = attrs.field(converter=column)
    response_curves: tuple[ResponseCurve, ...]
    at: _dt.datetime
    half_life: _dt.timedelta
    window: _dt.timedelta

    def __len__(self) -> int:
        return int(self.fatigue.shape[0])

    def channel(self, name: str) -> FloatArray:
        """Fatigue on one channel, per customer."""
        if name not in self.channels:
            raise KeyError(f"no channel {name!r}; channels are {self.channels}")
        out: FloatArray = self.fatigue_by_channel[:, self.channels.index(name)]
        return out

    def saturation_counts(self) -> dict[str, int]:
        """Customers per saturation level."""
        return label_counts(self.saturation, SATURATION_LEVELS)

    def _table(self) -> Table:
        """``fatigue``, ``saturation``, ``fatigue_<channel>``, ``contacts_per_week_<channel>``."""
        cols: dict[str, Any] = {
            "fatigue": self.fatigue,
            "saturation": Labels(self.saturation, SATURATION_LEVELS),
        }
        for j, name in enumerate(self.channels):
            cols[f"fatigue_{name}"] = self.fatigue_by_channel[:, j]
        for j, name in enumerate(self.channels):
            cols[f"contacts_per_week_{name}"] = self.contacts_per_week[:, j]
        return keyed(self.customer_id, cols)

    def plot(self, *, ax: Axes | None = None, bins: int = 40) -> Axes:
        """Histogram of overall fatigue (``plot`` extra)."""
        from ._plots import plot_score_distribution

        return plot_score_distribution(self.fatigue, ax=ax, bins=bins, label="fatigue")

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.saturation_counts().items())
        return f"FatigueScores({len(self):,} customers at {self.at.isoformat()}; {counts})"


def fatigue(
    log: EventLog,
    at: _dt.datetime | str,
    *,
    half_life: _dt.timedelta = DEFAULT_HALF_LIFE,
    negative_weight: float = DEFAULT_NEGATIVE_WEIGHT,
    window: _dt.timedelta = DEFAULT_WINDOW,
    recommended_frequency: Mapping[str, float] | None = None,
    tolerance: float = 0.25,
    action_kinds: str | Iterable[str] = ACTION_KINDS,
    negative_kinds: str | Iterable[str] = DEFAULT_NEGATIVE_KINDS,
) -> FatigueScores:
    """Contact pressure each customer has not answered, overall and per channel, as of ``at``.

    **Fatigue** is [`fatigue_scores`][relcore.scoring.scores.fatigue_scores] applied to the log: the
    decayed number of company-initiated contacts since the customer's last response, plus complaints
    and unsubscribes weighted ``negative_weight`` times (so one complaint weighs as much as five
    fresh unanswered messages by default). Overall, a response on any channel counts; per channel,
    only a response on that channel. A customer's own actions are responses: replies, clicks logged
    as ``"response"``, purchases, visits (see `relcore.scoring._roles`). This is what hounding looks
    like in data, and what the contact policy's ``FatigueLimit`` rule caps.

    **Saturation** compares how often each customer was contacted in the last ``window`` with each
    channel's **recommended frequency**. Unless given, the recommendation is estimated from the
    whole base (see [`ResponseCurve`][relcore.scoring.scores.ResponseCurve]): the contact frequency
    at which weekly responses peak, given how the response rate per contact falls as frequency
    rises. With ``ρ`` the customer's highest ratio of contacts per week to the channel's
    recommendation (channels without one are skipped):

    * ``"saturated"`` if ``ρ > 1 + tolerance``, or the customer complained or unsubscribed
      within the window;
    * ``"under"`` if ``ρ < 1 - tolerance`` (a customer never contacted is "under");
    * ``"on_target"`` otherwise.

    Intended use: spotting customers we are hounding, capping contact (the policy's
    ``FatigueLimit``), and setting per-channel cadence. Limits: the response curve is observational
    — if the company already contacts its most responsive customers most, rates fall less steeply
    with frequency than contact causes them to, so the recommendation errs high; confirm a cadence
    change with a holdout test ([`relcore.measurement`][relcore.measurement]). Responses are
    attributed to no particular message.

    Parameters
    ----------
    log
        The event log.
    at
        The instant to score as of (timezone-aware). Events after it are ignored.
    half_life
        Age at which an unanswered contact counts half.
    negative_weight
        Weight of a fresh complaint or unsubscribe, in fresh unanswered contacts.
    window
        Lookback for contact frequencies and response rates (saturation).
    recommended_frequency
        Contacts per week per channel, to use instead of estimating (channels not named
        are still estimated). NaN gives a channel no recommendation, as when it cannot be
        estimated: the channel does not count towards saturation.
    tolerance
        Relative band around the recommendation that counts as on target.
    action_kinds, negative_kinds
        Kinds that are the customer's own actions / negative signals.

    Returns
    -------
    FatigueScores

    Examples
    --------
    Three emails a week apart after a reply, scored a week after the last one (half-life
    one week): 1/8 + 1/4 + 1/2, and the same on the email channel alone:

    >>> from datetime import datetime, timedelta, timezone
    >>> t0 = datetime(2026, 3, 2, tzinfo=timezone.utc)
    >>> week = timedelta(weeks=1)
    >>> log = EventLog.from_arrays(
    ...     ["a"] * 4, [t0, t0 + week, t0 + 2 * week, t0 + 3 * week],
    ...     kind=["response", "message", "message", "message"],
    ...     channel="email", initiator=["customer", "company", "company", "company"],
    ... )
    >>> f = fatigue(log, t0 + 4 * week, half_life=week)
    >>> f.fatigue.tolist(), f.channel("email").tolist()
    ([0.875], [0.875])
    """
    now = as_of(at)
    hl = duration_micros(half_life, "half_life")
    win = duration_micros(window, "window")
    if not (math.isfinite(tolerance) and 0 <= tolerance < 1):
        raise ValueError(f"tolerance must be in [0, 1), got {tolerance}")
    roles = event_roles(log, action_kinds=action_kinds, negative_kinds=negative_kinds)
    n = log.n_customers
    channels = tuple(log.channel.categories)
    n_ch = len(channels)
    codes = log.customer_codes
    times = log.at
    scored = _log_fatigue(log, roles, now, hl, negative_weight)
    key, t_ch = scored.key, scored.at

    # Saturation: frequencies and response rates within the window.
    in_win = (t_ch > now - win) & (t_ch <= now)
    contacts = np.bincount(key[in_win & scored.contact], minlength=n * n_ch).reshape(n, n_ch)
    responses = np.bincount(key[in_win & scored.action], minlength=n * n_ch).reshape(n, n_ch)
    win_all = (times > now - win) & (times <= now)
    sore = np.bincount(codes[win_all & roles.negative], minlength=n) > 0
    weeks = win / _US_PER_WEEK
    per_week = contacts / weeks

    given = dict(recommended_frequency or {})
    unknown = sorted(set(given) - set(channels))
    if unknown:
        raise ValueError(f"recommended_frequency names channels not in the log: {unknown}")
    curves = []
    for j, name in enumerate(channels):
        curve = _response_curve(name, contacts[:, j], responses[:, j], weeks)
        if name in given:
            value = float(given[name])
            if not (math.isnan(value) or (math.isfinite(value) and value > 0)):
                raise ValueError(
                    f"recommended_frequency[{name!r}] must be positive (or NaN), got {value}"
                )
            curve = attrs.evolve(curve, recommended_frequency=value, source="given")
        curves.append(curve)
    recommended = np.array([c.recommended_frequency for c in curves], dtype=np.float64)

    usable = np.isfinite(recommended)
    ratio = np.zeros(n)
    if usable.any():
        ratio = (per_week[:, usable] / recommended[usable]).max(axis=1)
    level = np.ones(n, dtype=np.int8)
    level[ratio < 1 - tolerance] = 0
    level[(ratio > 1 + tolerance) | sore] = 2
    saturation = np.array(SATURATION_LEVELS)[level]

    return FatigueScores(
        customer_id=log.customers,
        fatigue=scored.overall,
        fatigue_by_channel=scored.by_channel,
        channels=channels,
        contacts_per_week=per_week,
        saturation=saturation,
        recommended_frequency=recommended,
        response_curves=tuple(curves),
        at=as_of_datetime(now),
        half_life=half_life,
        window=window,
    )
