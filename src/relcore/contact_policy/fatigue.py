"""Fatigue scores for [`FatigueLimit`][relcore.contact_policy.FatigueLimit]: the plug-in interface.

A fatigue scorer turns a customer's ledger history into one number: how much unanswered contact
pressure they are under at an instant. [`FatigueLimit`][relcore.contact_policy.FatigueLimit] refuses
a contact when the score is above its ``max_score``. Any object with the methods of
[`FatigueScorer`][relcore.contact_policy.FatigueScorer] can be plugged in. relcore ships
[`ContactFatigue`][relcore.contact_policy.ContactFatigue]: the relationship score of
[`relcore.scoring.fatigue`][relcore.scoring.scores.fatigue], computed from the ledger.

Writing a scorer
----------------
``score_many(history, at)`` gets a [`History`][relcore.contact_policy.History] of ``n`` customers
and an int64 array of ``n`` instants (UTC microseconds) and returns ``n`` float scores. Customer
``i``'s rows are ``history.starts[i]:history.ends[i]`` of the columns ``at``, ``channel``,
``category``, ``campaign``, ``kind`` (int32 codes into ``history.labels``;
``history.code("response")`` gives one) and ``company`` (``True`` for contacts the company made,
``False`` for customer events). The history may hold rows later than ``at[i]`` (scheduled contacts);
a score at ``at[i]`` must ignore them. ``score(history, at)`` is the same for one customer
(``len(history) == 1``) and an int.

Two properties make [`FatigueLimit`][relcore.contact_policy.FatigueLimit]'s ``next_allowed_at``
exact: the score at an instant depends only on rows at or before it, and between two rows of the
history it does not increase as time passes. ``lookback`` says how far back the score reads (rows
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

from .._durations import check_duration, describe_duration
from .._time import timedelta_micros
from ..errors import PolicyError
from ..scoring.scores import (
    FATIGUE_HALF_LIFE,
    FATIGUE_NEGATIVE_KINDS,
    FATIGUE_NEGATIVE_WEIGHT,
    fatigue_scores,
)
from ._schema import (
    Kind,
    check_keys,
    read_duration,
    read_labels,
    read_number,
    show,
    write_value,
)
from .history import History

__all__ = ["SCORERS", "ContactFatigue", "FatigueScorer"]

FloatArray = npt.NDArray[np.float64]
Micros = npt.NDArray[np.int64]

_HORIZON_HALF_LIVES = 20  # an event this many half-lives old weighs under one millionth


@runtime_checkable
class FatigueScorer(Protocol):
    """What [`FatigueLimit`][relcore.contact_policy.FatigueLimit] needs from a fatigue score (see
    the module docstring)."""

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
    check_duration(value, attribute.name)


def _kinds(value: str | Sequence[str]) -> tuple[str, ...]:
    out = (value,) if isinstance(value, str) else tuple(value)
    if not out or not all(isinstance(k, str) and k for k in out):
        raise ValueError(f"response_kinds must be non-empty strings, got {value!r}")
    return out


@attrs.frozen
class ContactFatigue:
    """The contact-fatigue score of [`relcore.scoring.fatigue`][relcore.scoring.scores.fatigue],
    over a ledger history.

    .. math:: \\mathrm{score}(t) = \\sum_{c} 2^{-(t - c)/h} + w \\sum_{n} 2^{-(t - n)/h}

    over the company contacts ``c`` with ``r < c <= t`` and the negative events ``n`` (complaints,
    unsubscribes) at or before ``t``, where ``r`` is the customer's last response at or before ``t``
    and ``h`` the half-life. A contact just sent adds 1, one a half-life old adds 0.5, a response
    wipes the slate; a complaint adds ``w`` (5 by default) and is not wiped by responses. The
    arithmetic is [`relcore.scoring.fatigue_scores`][relcore.scoring.scores.fatigue_scores], the
    kernel behind the relationship score, so a policy's limit and an analyst's fatigue scores are
    the same number. Events older than ``horizon`` (20 half-lives unless given, where an event
    weighs less than one millionth) are not read.

    Attributes
    ----------
    half_life
        Age at which a contact counts half (14 days, as the relationship score).
    negative_weight
        Weight of a fresh complaint or unsubscribe, in fresh unanswered contacts.
    response_kinds
        Customer events that count as an answer; ``None`` (the default) counts every event
        of the customer's except negative ones, as the relationship score does.
    negative_kinds
        Event kinds that are negative signals, whoever recorded them.
    horizon
        How far back events count (``lookback``).

    Examples
    --------
    >>> from datetime import timedelta
    >>> from relcore.contact_policy import Entry, History
    >>> day = 86_400_000_000
    >>> h = History.from_entries(["c1"], [
    ...     Entry("c1", 0, "email", None, None, "message", True),
    ...     Entry("c1", 7 * day, "email", None, None, "message", True)])
    >>> ContactFatigue(half_life=timedelta(days=7)).score(h, 7 * day)  # 1/2 + 1
    1.5
    """

    half_life: _dt.timedelta = attrs.field(default=FATIGUE_HALF_LIFE, validator=_positive)
    negative_weight: float = attrs.field(default=FATIGUE_NEGATIVE_WEIGHT, converter=float)
    response_kinds: tuple[str, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_kinds)
    )
    negative_kinds: tuple[str, ...] = attrs.field(default=FATIGUE_NEGATIVE_KINDS, converter=_kinds)
    horizon: _dt.timedelta | None = attrs.field(default=None)

    name = "contact_fatigue"

    def __attrs_post_init__(self) -> None:
        if self.horizon is not None:
            _positive(self, attrs.fields(ContactFatigue).horizon, self.horizon)
        if not (np.isfinite(self.negative_weight) and self.negative_weight >= 0):
            raise ValueError(f"negative_weight must be >= 0, got {self.negative_weight}")

    @property
    def lookback(self) -> _dt.timedelta:
        return self.horizon if self.horizon is not None else _HORIZON_HALF_LIVES * self.half_life

    def score(self, history: History, at: int) -> float:
        return float(self.score_many(history, np.array([at], dtype=np.int64))[0])

    def score_many(self, history: History, at: Micros) -> FloatArray:
        at = np.asarray(at, dtype=np.int64)
        h = history if history.is_compact() else history.take()
        n = len(h)
        if h.at.size == 0:
            return np.zeros(n)
        owner = h.owner()
        recent = h.at > at[owner] - timedelta_micros(self.lookback)
        negative = np.isin(h.kind, [h.code(k) for k in self.negative_kinds])
        response = ~h.company & ~negative
        if self.response_kinds is not None:
            response &= np.isin(h.kind, [h.code(k) for k in self.response_kinds])
        return fatigue_scores(
            owner,
            h.at,
            h.company & ~negative & recent,
            response,
            negative & recent,
            n_groups=n,
            now_us=at,
            half_life_us=float(timedelta_micros(self.half_life)),
            negative_weight=self.negative_weight,
        )

    def describe(self) -> str:
        answered = " or ".join(self.response_kinds) if self.response_kinds else "response"
        return (
            f"contacts since the customer's last {answered}, plus "
            f"{self.negative_weight:g} per {' or '.join(self.negative_kinds)}, each halving "
            f"in weight every {describe_duration(self.half_life)}"
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "half_life": write_value("duration", self.half_life),
        }
        if self.negative_weight != FATIGUE_NEGATIVE_WEIGHT:
            out["negative_weight"] = self.negative_weight
        if self.response_kinds is not None:
            out["response_kinds"] = list(self.response_kinds)
        if self.negative_kinds != FATIGUE_NEGATIVE_KINDS:
            out["negative_kinds"] = list(self.negative_kinds)
        if self.horizon is not None:
            out["horizon"] = write_value("duration", self.horizon)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> ContactFatigue:
        keys = ("name", "half_life", "negative_weight", "response_kinds", "negative_kinds")
        check_keys(dict(data), (*keys, "horizon"), path, "the contact_fatigue scorer")
        kwargs: dict[str, Any] = {}
        if "half_life" in data:
            kwargs["half_life"] = read_duration(data["half_life"], f"{path}.half_life")
        if "negative_weight" in data:
            kwargs["negative_weight"] = read_number(
                data["negative_weight"], f"{path}.negative_weight"
            )
        for key in ("response_kinds", "negative_kinds"):
            if key in data:
                kwargs[key] = read_labels(data[key], f"{path}.{key}")
        if "horizon" in data:
            kwargs["horizon"] = read_duration(data["horizon"], f"{path}.horizon")
        return cls(**kwargs)


# Scorers a policy file may name (``scorer = { name = "...", ... }``). Each entry reads its
# parameters from the table; a new scorer is one more entry.
SCORERS: dict[str, Callable[[Mapping[str, Any], str], FatigueScorer]] = {
    "contact_fatigue": ContactFatigue.from_dict,
}


def read_scorer(value: Any, path: str) -> FatigueScorer:
    """A scorer from its policy-file table."""
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        raise PolicyError(path, 'must be a table such as { name = "contact_fatigue" }')
    name = value.get("name")
    if not isinstance(name, str) or name not in SCORERS:
        raise PolicyError(
            f"{path}.name", f"must be one of {', '.join(map(repr, SCORERS))}, got {show(name)}"
        )
    return SCORERS[name](value, path)


def _scorer(value: Any) -> Any:
    if value is None:
        return ContactFatigue()
    if not isinstance(value, FatigueScorer):
        raise TypeError(f"scorer must implement FatigueScorer, got {type(value).__name__}")
    return value


def _write_scorer(value: FatigueScorer) -> dict[str, Any]:
    return value.to_dict()


SCORER = Kind("scorer", read_scorer, _write_scorer, _scorer)
"""The policy-file kind of a rule parameter holding a fatigue scorer."""
