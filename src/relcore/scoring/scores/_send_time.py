"""Send-time preference: the hour of the day and day of the week at which each customer
answers, shrunk towards the population's pattern (empirical Bayes)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ..._result import Table, TableResult, column, keyed
from ..._time import (
    US_PER_DAY,
    from_micros,
    micros_to_wall,
    resolve_zone,
    timedelta_micros,
    to_micros,
    zone_name,
)
from ...models import EventLog
from ._asof import as_of, as_of_datetime
from ._roles import event_roles, label_mask

__all__ = ["PreferredSendTimes", "preferred_send_time"]

FloatArray = npt.NDArray[np.float64]
RESPONSE_KINDS: tuple[str, ...] = ("open", "click", "response", "purchase")
_US_PER_HOUR = 3_600_000_000
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)
_LOG_ALPHA_BOUNDS = (-4.0, 12.0)  # prior strength between ~0.02 and ~160,000 responses


@attrs.frozen(eq=False)
class PreferredSendTimes(TableResult):
    """Each customer's preferred hour and weekday on their own clock, with confidences.

    Attributes
    ----------
    customer_id : numpy.ndarray
        The log's customers, in its order.
    hour, weekday : numpy.ndarray
        The preferred local hour (0-23) and day of the week (0 = Monday): the most likely
        under the customer's posterior pattern (the population's when they never answered).
    hour_confidence, weekday_confidence : numpy.ndarray
        The posterior probability that ``hour`` (``weekday``) is truly the customer's most
        likely one.
    responses : numpy.ndarray
        The responses counted for each customer.
    hour_probabilities, weekday_probabilities : numpy.ndarray
        ``(n, 24)`` and ``(n, 7)``: each customer's posterior mean pattern.
    population_hour, population_weekday : numpy.ndarray
        The population's pattern (the prior's mean).
    hour_prior_strength, weekday_prior_strength : float
        The prior's weight, in responses: a customer's own pattern weighs ``n / (n + s)``.
    zones : tuple of str
        Each customer's time zone.
    at : datetime.datetime
        The instant scored.
    """

    customer_id: npt.NDArray[Any] = attrs.field(converter=column)
    hour: npt.NDArray[np.int64] = attrs.field(converter=column)
    weekday: npt.NDArray[np.int64] = attrs.field(converter=column)
    hour_confidence: FloatArray = attrs.field(converter=column)
    weekday_confidence: FloatArray = attrs.field(converter=column)
    responses: npt.NDArray[np.int64] = attrs.field(converter=column)
    hour_probabilities: FloatArray = attrs.field(converter=column)
    weekday_probabilities: FloatArray = attrs.field(converter=column)
    population_hour: FloatArray = attrs.field(converter=column)
    population_weekday: FloatArray = attrs.field(converter=column)
    hour_prior_strength: float
    weekday_prior_strength: float
    zones: tuple[str, ...]
    at: _dt.datetime

    def __len__(self) -> int:
        return int(self.hour.shape[0])

    @property
    def departs(self) -> npt.NDArray[np.bool_]:
        """Customers whose preferred hour is not the population's."""
        out: npt.NDArray[np.bool_] = self.hour != int(np.argmax(self.population_hour))
        return out

    def _table(self) -> Table:
        """``hour``, ``weekday``, their confidences, ``responses`` and ``timezone``."""
        return keyed(
            self.customer_id,
            {
                "hour": self.hour,
                "weekday": self.weekday,
                "hour_confidence": self.hour_confidence,
                "weekday_confidence": self.weekday_confidence,
                "responses": self.responses,
                "timezone": np.asarray(self.zones, dtype=object),
            },
        )

    def _index(self, customer_id: Any) -> int:
        found = np.flatnonzero(self.customer_id == customer_id)
        if found.size == 0:
            raise KeyError(customer_id)
        return int(found[0])

    def candidates(
        self,
        customer_id: Any,
        start: _dt.datetime,
        end: _dt.datetime,
    ) -> list[_dt.datetime]:
        """The hours of ``[start, end)`` (each at ``start``'s minute) from the customer's
        most to least preferred by hour and weekday together; ties keep time order."""
        i = self._index(customer_id)
        lo, hi = to_micros(start, "start"), to_micros(end, "end")
        if hi <= lo:
            return []
        times = np.arange(lo, hi, _US_PER_HOUR, dtype=np.int64)
        zone = resolve_zone(self.zones[i])
        hours, weekdays = _hour_weekday(times, zone)
        weight = self.hour_probabilities[i, hours] * self.weekday_probabilities[i, weekdays]
        order = np.argsort(-weight, kind="stable")
        return [from_micros(int(t)) for t in times[order]]

    def schedule(
        self,
        customer_id: Any,
        start: _dt.datetime,
        end: _dt.datetime,
        *,
        allowed: Callable[[_dt.datetime], bool] | None = None,
    ) -> _dt.datetime | None:
        """The default time to send to a customer within an allowed window: the most
        preferred of [`candidates`][relcore.scoring.scores.PreferredSendTimes.candidates] for which
        ``allowed(instant)`` holds (a contact guard's check: quiet hours and every rule still win);
        ``None`` when none does.

        Examples
        --------
        >>> from datetime import datetime, timezone
        >>> log = EventLog.from_arrays(
        ...     ["a"] * 3,
        ...     [datetime(2026, 5, d, 19, tzinfo=timezone.utc) for d in (4, 5, 6)],
        ...     kind="open",
        ... )
        >>> s = preferred_send_time(log, datetime(2026, 6, 1, tzinfo=timezone.utc))
        >>> start = datetime(2026, 6, 1, 8, tzinfo=timezone.utc)
        >>> s.schedule("a", start, start.replace(hour=22)).hour
        19
        >>> s.schedule("a", start, start.replace(hour=22), allowed=lambda t: t.hour < 18)
        ... # doctest: +ELLIPSIS
        datetime.datetime(2026, 6, 1, ...
        """
        for t in self.candidates(customer_id, start, end):
            if allowed is None or allowed(t):
                return t
        return None

    def __repr__(self) -> str:
        return (
            f"PreferredSendTimes({len(self):,} customers at {self.at.isoformat()}, "
            f"{int(self.departs.sum()):,} away from the population's hour)"
        )


def _hour_weekday(us: npt.NDArray[np.int64], zone: _dt.tzinfo) -> tuple[Any, Any]:
    wall = micros_to_wall(us, zone)
    hours = (wall // _US_PER_HOUR) % 24
    weekdays = (wall // US_PER_DAY + _EPOCH_WEEKDAY) % 7
    return hours.astype(np.int64), weekdays.astype(np.int64)


def preferred_send_time(
    log: EventLog,
    at: _dt.datetime | str,
    *,
    timezone: str | Mapping[Any, str] = "UTC",
    default_timezone: str = "UTC",
    response_kinds: str | Iterable[str] = RESPONSE_KINDS,
    purchase_window: _dt.timedelta = _dt.timedelta(days=3),
    draws: int = 200,
    seed: int = 0,
) -> PreferredSendTimes:
    r"""Each customer's preferred hour of the day and day of the week, on their own clock.

    The responses counted are the customer's opens, clicks and responses (any time) and
    their purchases made within ``purchase_window`` after a contact of ours
    (``response_kinds``; events after ``at`` are ignored). Each is placed at its local
    hour and weekday. A customer's pattern over the 24 hours is modelled as drawn from a
    Dirichlet prior centred on the population's pattern :math:`p_0` (all responses
    pooled) with strength :math:`s`, estimated by maximising the Dirichlet-multinomial
    likelihood of the customers' counts (empirical Bayes, as for a response propensity);
    the weekdays likewise. A customer with counts :math:`n_h` (:math:`N` in all) then has
    the posterior mean

    $$ \hat p_h = \frac{n_h + s\,p_{0,h}}{N + s}, $$

    their preferred hour is its largest, and ``hour_confidence`` the posterior
    probability (from ``draws`` draws) that this hour is truly their most likely one.

    How much history it takes to depart from the population's hour: a customer whose
    :math:`N` responses all fall at hour :math:`h` gets :math:`h` once
    :math:`N > s\,(\max p_0 - p_{0,h})`; responses spread over several hours need more.
    With a strong population rhythm and :math:`s` in the tens (typical), that is a
    handful of responses at a quiet hour and fewer at a busy one.

    Parameters
    ----------
    log
        The event log.
    at
        The instant scored (aware).
    timezone
        One IANA zone for every customer, or a mapping from customer id to zone (those
        it does not name are in ``default_timezone``).
    response_kinds
        Kinds counted as responses (``"purchase"`` only after a contact).
    purchase_window
        How long after a contact a purchase counts as its response.
    draws, seed
        Posterior draws per customer for the confidences, and their seed.

    Returns
    -------
    PreferredSendTimes

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> log = EventLog.from_arrays(
    ...     ["a", "a", "a", "b"],
    ...     [datetime(2026, 5, d, 19, tzinfo=timezone.utc) for d in (4, 5, 6, 7)],
    ...     kind="open",
    ... )
    >>> s = preferred_send_time(log, datetime(2026, 6, 1, tzinfo=timezone.utc),
    ...                         timezone={"a": "Europe/Paris"})
    >>> s.hour.tolist(), s.responses.tolist()  # 19:00 UTC is 21:00 in Paris in May
    ([21, 19], [3, 1])
    """
    now = as_of(at)
    kinds = (response_kinds,) if isinstance(response_kinds, str) else tuple(response_kinds)
    window = timedelta_micros(purchase_window)
    if window <= 0:
        raise ValueError(f"purchase_window must be a positive duration, got {purchase_window}")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 10:
        raise ValueError(f"draws must be an integer >= 10, got {draws!r}")
    n = log.n_customers
    zones = _zones(log, timezone, default_timezone)

    # which events are responses
    codes = np.asarray(log.customer_codes, dtype=np.int64)
    times = np.asarray(log.at, dtype=np.int64)
    purchase = label_mask(log.kind, ("purchase",)) if "purchase" in kinds else None
    other = label_mask(log.kind, tuple(k for k in kinds if k != "purchase"))
    counted = other.copy()
    if purchase is not None:
        contact = event_roles(log).contact
        positions = np.arange(times.size)
        last = np.maximum.accumulate(np.where(contact, positions, -1)) if times.size else positions
        has = last >= 0
        last_c = np.where(has, last, 0)
        after_contact = (
            has & (codes[last_c] == codes) & (times - times[last_c] <= window) & ~contact
        )
        counted |= purchase & after_contact
    counted &= times <= now
    rows = np.flatnonzero(counted)

    # their local hour and weekday
    hours = np.zeros(rows.size, dtype=np.int64)
    weekdays = np.zeros(rows.size, dtype=np.int64)
    zone_of_row = np.asarray([zones[c] for c in codes[rows].tolist()], dtype=object)
    for name in set(zone_of_row.tolist()):
        pick = zone_of_row == name
        hours[pick], weekdays[pick] = _hour_weekday(times[rows[pick]], resolve_zone(name))
    who = codes[rows]
    hour_counts = np.bincount(who * 24 + hours, minlength=n * 24).reshape(n, 24).astype(float)
    day_counts = np.bincount(who * 7 + weekdays, minlength=n * 7).reshape(n, 7).astype(float)

    rng = np.random.default_rng(seed)
    hour, hour_conf, hour_post, p_hour, s_hour = _shrunk(hour_counts, rng, draws)
    day, day_conf, day_post, p_day, s_day = _shrunk(day_counts, rng, draws)
    return PreferredSendTimes(
        customer_id=log.customers,
        hour=hour,
        weekday=day,
        hour_confidence=hour_conf,
        weekday_confidence=day_conf,
        responses=hour_counts.sum(axis=1).astype(np.int64),
        hour_probabilities=hour_post,
        weekday_probabilities=day_post,
        population_hour=p_hour,
        population_weekday=p_day,
        hour_prior_strength=s_hour,
        weekday_prior_strength=s_day,
        zones=tuple(zones),
        at=as_of_datetime(now),
    )


def _zones(log: EventLog, timezone: str | Mapping[Any, str], default: str) -> list[str]:
    """Each customer's zone name (checked)."""
    resolve_zone(default)
    if isinstance(timezone, str):
        return [zone_name(resolve_zone(timezone))] * log.n_customers
    if not isinstance(timezone, Mapping):
        raise TypeError(
            f"timezone must be a zone name or a mapping of customer to zone, got "
            f"{type(timezone).__name__}"
        )
    out = []
    for c in log.customers.tolist():
        name = timezone.get(c, default)
        resolve_zone(name)
        out.append(name)
    return out


def _shrunk(
    counts: FloatArray, rng: np.random.Generator, draws: int
) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray, FloatArray, float]:
    """Posterior modes, their confidences and posterior means of each row's pattern."""
    k = counts.shape[1]
    pooled = counts.sum(axis=0)
    p0 = (pooled + 0.5) / (pooled.sum() + 0.5 * k)  # a Jeffreys-like floor: no empty bin
    s = _prior_strength(counts, p0)
    prior = s * p0
    post = counts + prior
    mean = post / post.sum(axis=1, keepdims=True)
    best = np.argmax(mean, axis=1).astype(np.int64)
    confidence = np.empty(counts.shape[0])
    # customers without responses share the prior: one computation for all of them
    none = counts.sum(axis=1) == 0
    if none.any():
        g = rng.gamma(prior, size=(draws * 4, k))
        confidence[none] = np.mean(np.argmax(g, axis=1) == int(np.argmax(p0)))
    some = np.flatnonzero(~none)
    chunk = max(1, 2_000_000 // (draws * k))
    for a in range(0, some.size, chunk):
        idx = some[a : a + chunk]
        g = rng.gamma(post[idx][:, None, :], size=(idx.size, draws, k))
        confidence[idx] = np.mean(np.argmax(g, axis=2) == best[idx][:, None], axis=1)
    return best, confidence, mean, p0, s


def _prior_strength(counts: FloatArray, p0: FloatArray) -> float:
    """The Dirichlet strength maximising the Dirichlet-multinomial likelihood of the
    customers with two responses or more (one response says nothing of the spread)."""
    from scipy import optimize, special  # not at import: relcore loads without scipy

    totals = counts.sum(axis=1)
    rows = counts[totals >= 2]
    if rows.shape[0] == 0:
        return float(np.exp(_LOG_ALPHA_BOUNDS[1]))  # no evidence: the population alone
    n = rows.sum(axis=1)

    def negative_log_likelihood(log_s: float) -> float:
        s = float(np.exp(log_s))
        a = s * p0
        ll = (
            special.gammaln(s) * rows.shape[0]
            - special.gammaln(n + s).sum()
            + (special.gammaln(rows + a) - special.gammaln(a)).sum()
        )
        return float(-ll)

    found = optimize.minimize_scalar(
        negative_log_likelihood, bounds=_LOG_ALPHA_BOUNDS, method="bounded"
    )
    return float(np.exp(found.x))
