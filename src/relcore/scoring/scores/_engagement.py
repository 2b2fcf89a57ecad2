"""Engagement: how much a customer reaches towards the company, across channels."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from ..._durations import describe_duration
from ..._result import Table, TableResult, column, keyed
from ...models import EventLog
from ._asof import as_of, as_of_datetime, decay, duration_micros
from ._roles import ACTION_KINDS, NEGATIVE_KINDS, BoolArray, event_roles

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["EngagementScores", "engagement"]

FloatArray = npt.NDArray[np.float64]

DEFAULT_HALF_LIFE = _dt.timedelta(days=30)


@attrs.frozen(eq=False)
class EngagementScores(TableResult):
    """Engagement of every customer of a log, as of one instant.

    Attributes
    ----------
    customer_id : numpy.ndarray
        The log's customers, in its order.
    engagement : numpy.ndarray
        The score, in ``[0, 1)`` (see
        `engagement`).
    activity : numpy.ndarray
        Decayed count of the customer's own actions, all channels together.
    breadth : numpy.ndarray
        Number of channels (events without a channel counting as one more) on which the
        customer has acted by ``at``.
    activity_by_channel : numpy.ndarray
        ``(n_customers, len(channels))`` decayed actions per named channel.
    channels : tuple of str
        Channel names, the columns of ``activity_by_channel``.
    at : datetime.datetime
        The instant scored.
    half_life : datetime.timedelta
        The decay half-life used.
    """

    customer_id: npt.NDArray[Any] = attrs.field(converter=column)
    engagement: FloatArray = attrs.field(converter=column)
    activity: FloatArray = attrs.field(converter=column)
    breadth: npt.NDArray[np.int64] = attrs.field(converter=column)
    activity_by_channel: FloatArray = attrs.field(converter=column)
    channels: tuple[str, ...]
    at: _dt.datetime
    half_life: _dt.timedelta

    def __len__(self) -> int:
        return int(self.engagement.shape[0])

    def _table(self) -> Table:
        """``engagement``, ``activity``, ``breadth`` and ``activity_<channel>`` columns."""
        cols: dict[str, Any] = {
            "engagement": self.engagement,
            "activity": self.activity,
            "breadth": self.breadth,
        }
        for j, name in enumerate(self.channels):
            cols[f"activity_{name}"] = self.activity_by_channel[:, j]
        return keyed(self.customer_id, cols)

    def plot(self, *, ax: Axes | None = None, bins: int = 40) -> Axes:
        """Histogram of the scores (``plot`` extra)."""
        from ._plots import plot_score_distribution

        return plot_score_distribution(self.engagement, ax=ax, bins=bins, label="engagement")

    def __repr__(self) -> str:
        mean = float(np.mean(self.engagement)) if len(self) else 0.0
        return (
            f"EngagementScores({len(self):,} customers at {self.at.isoformat()}, "
            f"half_life={describe_duration(self.half_life)}, mean={mean:.3f})"
        )


def _channel_activity(
    log: EventLog, action: BoolArray, now_us: int, half_life_us: float
) -> FloatArray:
    """``(n_customers, n_channels + 1)`` decayed actions; the last column is "no channel"."""
    n = log.n_customers
    n_ch = len(log.channel.categories) + 1
    idx = np.flatnonzero(action & (log.at <= now_us))
    weights = decay(log.at[idx], now_us, half_life_us)
    ch = log.channel.codes[idx].astype(np.int64)
    ch[ch < 0] = n_ch - 1
    key = log.customer_codes[idx].astype(np.int64) * n_ch + ch
    sums = np.bincount(key, weights=weights, minlength=n * n_ch)
    out: FloatArray = sums.astype(np.float64, copy=False).reshape(n, n_ch)
    return out


def engagement(
    log: EventLog,
    at: _dt.datetime | str,
    *,
    half_life: _dt.timedelta = DEFAULT_HALF_LIFE,
    scale: float = 1.0,
    action_kinds: str | Iterable[str] = ACTION_KINDS,
    negative_kinds: str | Iterable[str] = NEGATIVE_KINDS,
) -> EngagementScores:
    r"""How much each customer reaches towards the company, in ``[0, 1)``, as of ``at``.

    Only the customer's own actions count: events they initiated (a store visit, a call, a web
    session), responses to our messages and purchases (``action_kinds``). Company-initiated contacts
    weigh nothing: a message we send says nothing about the customer, and an unanswered one must
    never make them look more engaged (complaints and unsubscribes, ``negative_kinds``, count
    towards [`fatigue`][relcore.scoring.scores.fatigue] instead). Each action decays with its age,
    and actions are grouped by channel:

    $$
    A_{c,k} = \sum_{\text{actions } e \text{ of } c \text{ on channel } k,\ t_e \le at}
              2^{-(at - t_e)/h}, \qquad
    \text{engagement}_c = 1 - \prod_k \frac{1}{1 + A_{c,k}/s}
    $$

    with ``h`` the half-life and ``s`` the ``scale`` (events without a channel form one
    more group). Each channel is read as independent evidence, ``1/(1 + A/s)`` being how
    far it falls short of showing engagement, so breadth counts: one fresh action scores
    0.5 (with ``s = 1``), two fresh actions on one channel 0.67, and one on each of two
    channels 0.75. The same score means the same recent behaviour for every customer, so
    scores compare across customers and over time (they are not ranks within the base).

    Guarantees (tested as properties): adding a customer action never lowers the score;
    the same action counts less the older it is; a company message never raises it.

    Intended use: ranking customers by how actively they seek the relationship, choosing
    whom to thank or invite, watching a customer cool off. Limits: it sees only what the
    log records (a customer who reads every email without clicking looks disengaged),
    treats all actions alike (a purchase weighs what a web visit weighs; give separate
    logs or filter for other weightings) and is not a probability.

    Parameters
    ----------
    log
        The event log.
    at
        The instant to score as of (timezone-aware; a naive datetime raises ``ValueError``).
        Events after ``at`` are ignored, not refused, so one log can be scored at several
        past instants.
    half_life
        Age at which an action counts half.
    scale
        Decayed actions on one channel that make that channel score 0.5.
    action_kinds, negative_kinds
        Kinds counted as the customer's own actions whatever their initiator, and kinds
        that are never engagement (see `relcore.scoring._roles`).

    Returns
    -------
    EngagementScores

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    >>> log = EventLog.from_arrays(
    ...     ["a", "b", "b", "c", "d"],
    ...     [now, now, now, now, now - timedelta(days=30)],
    ...     kind=["purchase", "purchase", "response", "message", "visit"],
    ...     channel=["web", "web", "email", "email", "store"],
    ...     initiator=[None, None, "customer", "company", "customer"],
    ... )
    >>> engagement(log, now).engagement.tolist()  # d acted one half-life ago: 1 - 1/1.5
    [0.5, 0.75, 0.0, 0.3333333333333333]
    """
    now = as_of(at)
    hl = duration_micros(half_life, "half_life")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale}")
    roles = event_roles(log, action_kinds=action_kinds, negative_kinds=negative_kinds)
    per_channel = _channel_activity(log, roles.action, now, hl)
    score = -np.expm1(-np.log1p(per_channel / scale).sum(axis=1))
    return EngagementScores(
        customer_id=log.customers,
        engagement=score,
        activity=per_channel.sum(axis=1),
        breadth=(per_channel > 0).sum(axis=1).astype(np.int64),
        activity_by_channel=per_channel[:, :-1],
        channels=tuple(log.channel.categories),
        at=as_of_datetime(now),
        half_life=half_life,
    )
