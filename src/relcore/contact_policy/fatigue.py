"""Fatigue scores for :class:`~relcore.contact_policy.FatigueLimit`: the plug-in interface.

A fatigue scorer turns a customer's ledger history into one number: how much unanswered
contact pressure they are under at an instant. :class:`FatigueLimit` refuses a contact
when the score is above its ``max_score``. Any object with the methods of
:class:`FatigueScorer` can be plugged in; relcore ships :class:`DecayedContactCount`.

Writing a scorer
----------------
``score_many(history, at)`` gets a :class:`~relcore.contact_policy.History` of ``n``
customers and an int64 array of ``n`` instants (UTC microseconds) and returns ``n``
float scores. Customer ``i``'s rows are ``history.starts[i]:history.ends[i]`` of the
columns ``at``, ``channel``, ``category``, ``campaign``, ``kind`` (int32 codes into
``history.labels``; ``history.code("response")`` gives one) and ``company`` (``True``
for contacts the company made, ``False`` for customer events). The history may hold rows
later than ``at[i]`` (scheduled contacts); a score at ``at[i]`` must ignore them.
``score(history, at)`` is the same for one customer (``len(history) == 1``) and an int.

Two properties make :class:`FatigueLimit`'s ``next_allowed_at`` exact: the score at an
instant depends only on rows at or before it, and between two rows of the history it
does not increase as time passes. ``lookback`` says how far back the score reads (rows
older than ``at - lookback`` may be left out of the history); ``None`` means all of it.
``to_dict()`` returns ``{"name": ..., **parameters}`` for the policy file, and the name
must be registered in ``SCORERS`` for a policy file to refer to it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

from .._time import timedelta_micros
from ..errors import PolicyError
from ._schema import check_keys, describe_duration, read_duration, read_labels, write_value
from .history import History

__all__ = ["SCORERS", "DecayedContactCount", "FatigueScorer"]

FloatArray = npt.NDArray[np.float64]
Micros = npt.NDArray[np.int64]


@runtime_checkable
class FatigueScorer(Protocol):
    """What :class:`FatigueLimit` needs from a fatigue score (see the module docstring)."""

    @property
    def lookback(self) -> _dt.timedelta | None:
        """How far back the score reads; ``None`` for all history."""
        ...

    def score(self, history: History, at: int) -> float:
        """The score of the one customer in ``history`` at ``at`` (UTC microseconds)."""
        ...

    def score_many(self, history: History, at: Micros) -> FloatArray:
        """Scores of every customer in ``history``, customer ``i`` at ``at[i]``."""
        ...

    def describe(self) -> str:
        """Plain words, for ``relcore policy check``."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., **parameters}`` for the policy file."""
        ...


def _positive(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, _dt.timedelta) or value <= _dt.timedelta(0):
        raise ValueError(f"{attribute.name} must be a positive timedelta, got {value!r}")


def _kinds(value: str | Sequence[str]) -> tuple[str, ...]:
    out = (value,) if isinstance(value, str) else tuple(value)
    if not out or not all(isinstance(k, str) and k for k in out):
        raise ValueError(f"response_kinds must be non-empty strings, got {value!r}")
    return out


@attrs.frozen
class DecayedContactCount:
    """Contacts since the customer last responded, each weighted by its age.

    .. math:: \\mathrm{score}(t) = \\sum_{c} 2^{-(t - c)/h}

    over the company contacts ``c`` with ``r < c <= t`` and ``c > t - lookback``, where
    ``r`` is the customer's last event of a ``response_kinds`` kind at or before ``t``
    and ``h`` the half-life. A contact just sent adds 1; one a half-life old adds 0.5;
    a response wipes the slate. Contacts older than ``horizon`` (20 half-lives, where a
    contact weighs less than one millionth, unless given) are not read.

    Attributes
    ----------
    half_life
        Age at which a contact counts half.
    response_kinds
        Customer events that count as an answer.
    horizon
        How far back contacts count (``lookback``).

    Examples
    --------
    >>> from datetime import timedelta
    >>> from relcore.contact_policy import Entry, History
    >>> day = 86_400_000_000
    >>> h = History.from_entries(["c1"], [
    ...     Entry("c1", 0, "email", None, None, "message", True),
    ...     Entry("c1", 7 * day, "email", None, None, "message", True)])
    >>> DecayedContactCount(half_life=timedelta(days=7)).score(h, 7 * day)  # 1/2 + 1
    1.5
    """

    half_life: _dt.timedelta = attrs.field(default=_dt.timedelta(days=7), validator=_positive)
    response_kinds: tuple[str, ...] = attrs.field(default=("response",), converter=_kinds)
    horizon: _dt.timedelta | None = attrs.field(default=None)

    name = "decayed_contacts"

    def __attrs_post_init__(self) -> None:
        if self.horizon is not None:
            _positive(self, attrs.fields(DecayedContactCount).horizon, self.horizon)

    @property
    def lookback(self) -> _dt.timedelta:
        return self.horizon if self.horizon is not None else 20 * self.half_life

    def score(self, history: History, at: int) -> float:
        return float(self.score_many(history, np.array([at], dtype=np.int64))[0])

    def score_many(self, history: History, at: Micros) -> FloatArray:
        at = np.asarray(at, dtype=np.int64)
        h = history if history.is_compact() else history.take()
        n = len(h)
        if h.at.size == 0:
            return np.zeros(n)
        owner = h.owner()
        t = at[owner]
        seen = h.at <= t
        answer = seen & ~h.company & np.isin(h.kind, [h.code(k) for k in self.response_kinds])
        last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(last, owner[answer], h.at[answer])
        horizon = timedelta_micros(self.lookback)
        counted = seen & h.company & (h.at > last[owner]) & (h.at > t - horizon)
        age = (t - h.at)[counted].astype(np.float64)
        weights = np.exp2(-age / timedelta_micros(self.half_life))
        return np.bincount(owner[counted], weights=weights, minlength=n).astype(np.float64)

    def describe(self) -> str:
        kinds = " or ".join(self.response_kinds)
        return (
            f"contacts since the last {kinds}, each halving in weight every "
            f"{describe_duration(self.half_life)}"
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "half_life": write_value("duration", self.half_life),
        }
        if self.response_kinds != ("response",):
            out["response_kinds"] = list(self.response_kinds)
        if self.horizon is not None:
            out["horizon"] = write_value("duration", self.horizon)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> DecayedContactCount:
        check_keys(
            dict(data),
            ("name", "half_life", "response_kinds", "horizon"),
            path,
            "the decayed_contacts scorer",
        )
        kwargs: dict[str, Any] = {}
        if "half_life" in data:
            kwargs["half_life"] = read_duration(data["half_life"], f"{path}.half_life")
        if "response_kinds" in data:
            kwargs["response_kinds"] = read_labels(data["response_kinds"], f"{path}.response_kinds")
        if "horizon" in data:
            kwargs["horizon"] = read_duration(data["horizon"], f"{path}.horizon")
        return cls(**kwargs)


# Scorers a policy file may name (``scorer = { name = "...", ... }``). Each entry reads its
# parameters from the table; a new scorer (relcore.scoring.fatigue) is one more entry.
SCORERS: dict[str, Callable[[Mapping[str, Any], str], FatigueScorer]] = {
    "decayed_contacts": DecayedContactCount.from_dict,
}


def read_scorer(value: Any, path: str) -> FatigueScorer:
    """A scorer from its policy-file table."""
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        raise PolicyError(path, 'must be a table such as { name = "decayed_contacts" }')
    name = value.get("name")
    if name not in SCORERS:
        raise PolicyError(
            f"{path}.name", f"must be one of {', '.join(map(repr, SCORERS))}, got {name!r}"
        )
    return SCORERS[name](value, path)
