"""The rules of a contact policy.

Each rule is a frozen value that says when a contact may *not* go out. Every rule can be
scoped: ``channel="email"``, ``category="promotional"`` and ``campaign="spring"`` restrict
it to contacts with those labels (both the contact being decided and the history it
counts); ``each=("channel",)`` applies it separately per channel (the contact's own
channel is counted, whatever it is).

A rule answers two questions about a contact at an instant ``s``, for one customer or
vectorised over an audience:

* does the contact pass? and if not,
* what is the earliest instant ``>= s`` at which it might (a lower bound that the
  guard iterates with the other rules' to the exact ``next_allowed_at``).

Adding a rule is one class: its fields, its ``type_name`` and ``code``, the ``schema``
entries that read it from a policy file, and the methods ``_eval``, ``_eval_many``,
``_explain``, ``lookback`` and ``describe``.
"""

from __future__ import annotations

import datetime as _dt
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs
import numpy as np
import numpy.typing as npt

from .._durations import describe_duration, parse_duration
from .._time import (
    US_PER_DAY,
    format_instant,
    micros_to_wall,
    timedelta_micros,
    to_micros,
    transitions,
    zone_name,
)
from ..errors import PolicyError
from ._context import ANY, NEVER, BatchContext, Mask, Micros, OneContext, Targets
from ._localtime import (
    PERIOD_REACH,
    PERIODS,
    first_instant,
    first_instant_one,
    period_bounds,
    period_bounds_one,
    time_of_day,
    transitions_between,
    wall_one,
)
from ._schema import READERS, check_keys, format_time
from ._schema import write_value as _write_value
from .decision import code_bit
from .fatigue import ContactFatigue, FatigueScorer, read_scorer

__all__ = [
    "RULE_TYPES",
    "Cooldown",
    "FatigueLimit",
    "FrequencyCap",
    "MinimumGap",
    "OptOut",
    "OutcomeSuppression",
    "QuietHours",
    "Rule",
    "Snooze",
]

SCOPE_DIMS: tuple[str, ...] = ("channel", "category", "campaign")
RULE_TYPES: dict[str, type[Rule]] = {}
"""Rule classes by their policy-file ``type``."""

Failure = tuple[npt.NDArray[np.bool_], Micros]

_SINGULAR = {
    "email": ("email", "emails"),
    "sms": ("SMS message", "SMS messages"),
    "push": ("push notification", "push notifications"),
    "phone": ("call", "calls"),
    "mail": ("letter", "letters"),
    "catalog": ("catalog", "catalogs"),
}


def scope_noun(channel: Any, category: Any, campaign: Any, *, plural: bool = True) -> str:
    """``("email", "promotional", None)`` -> ``"promotional emails"``."""
    channel = None if channel is ANY else channel
    category = None if category is ANY else category
    campaign = None if campaign is ANY else campaign
    if channel is None:
        base = "contacts" if plural else "contact"
    else:
        pair = _SINGULAR.get(channel, (f"{channel} contact", f"{channel} contacts"))
        base = pair[plural]
    text = f"{category} {base}" if category else base
    if campaign:
        text += f" of campaign {campaign}"
    return text


# ------------------------------------------------------------------ shared field helpers


def _optional_label(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"{attribute.name} must be a non-empty string or None, got {value!r}")


def _label(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{attribute.name} must be a non-empty string, got {value!r}")


def _each(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    dims = (value,) if isinstance(value, str) else tuple(value)
    for d in dims:
        if d not in SCOPE_DIMS:
            raise ValueError(f"each must name scope dimensions {SCOPE_DIMS}, got {d!r}")
    return tuple(sorted(set(dims), key=SCOPE_DIMS.index))


def _scope(default: Any = None) -> Any:
    return attrs.field(default=default, kw_only=True, validator=_optional_label)


def _each_field() -> Any:
    return attrs.field(default=(), kw_only=True, converter=_each)


def _duration(value: Any) -> Any:
    """Accept ``"20h"`` as well as ``timedelta(hours=20)``."""
    return parse_duration(value) if isinstance(value, str) else value


def _window(value: Any) -> Any:
    return value if isinstance(value, str) and value in PERIODS else _duration(value)


def _positive_duration(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, _dt.timedelta) or value <= _dt.timedelta(0):
        raise ValueError(f"{attribute.name} must be a positive duration, got {value!r}")


def _valid_window(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not (isinstance(value, str) and value in PERIODS):
        if isinstance(value, str):
            raise ValueError(
                f"{attribute.name} must be a duration or one of {', '.join(PERIODS)}, got {value!r}"
            )
        _positive_duration(inst, attribute, value)


def _whole(minimum: int) -> Any:
    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{attribute.name} must be a whole number >= {minimum}, got {value!r}")

    return check


def _local_time(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, _dt.time) or value.tzinfo is not None:
        raise ValueError(f"{attribute.name} must be a local time of day (no zone), got {value!r}")


def _time(value: Any) -> Any:
    if isinstance(value, str):
        from ._schema import parse_time

        return parse_time(value)
    return value


def _kinds(value: str | Iterable[str]) -> tuple[str, ...]:
    kinds = (value,) if isinstance(value, str) else tuple(value)
    if not kinds or not all(isinstance(k, str) and k for k in kinds):
        raise ValueError(f"response_kinds must be non-empty strings, got {value!r}")
    return kinds


# ------------------------------------------------------------------------- the base


class Rule:
    """Base class of every rule: the scope and the policy-file machinery.

    Subclasses are :func:`attrs.frozen` classes with the scope fields ``channel``,
    ``category``, ``campaign`` (``None``: any) and ``each``.
    """

    __slots__ = ()

    type_name: ClassVar[str] = ""
    code: ClassVar[str] = ""
    schema: ClassVar[tuple[tuple[str, str, bool], ...]] = ()
    """``(key, kind, required)`` for each policy-file key besides ``type`` and the scope."""
    exemptable: ClassVar[bool] = True
    """Whether exempt categories skip this rule (only the customer's hard stops do not)."""

    channel: str | None
    category: str | None
    campaign: str | None
    each: tuple[str, ...]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.code:
            code_bit(cls.code)
        if cls.type_name:
            RULE_TYPES[cls.type_name] = cls

    def _check_scope(self) -> None:
        for dim in self.each:
            if getattr(self, dim) is not None:
                raise ValueError(f"{dim} is both fixed ({getattr(self, dim)!r}) and in each")

    # ----------------------------------------------------------------- scope

    def applies(self, channel: str, category: str | None, campaign: str | None) -> bool:
        """Whether a contact with these labels is in the rule's scope."""
        return (
            (self.channel is None or self.channel == channel)
            and (self.category is None or self.category == category)
            and (self.campaign is None or self.campaign == campaign)
        )

    def targets(self, channel: str, category: str | None, campaign: str | None) -> Targets:
        """The labels history rows must carry to count for a contact with these labels."""
        out: list[Any] = []
        for dim, mine, theirs in zip(
            SCOPE_DIMS,
            (self.channel, self.category, self.campaign),
            (channel, category, campaign),
            strict=True,
        ):
            out.append(mine if mine is not None else theirs if dim in self.each else ANY)
        return (out[0], out[1], out[2])

    def _noun(self, *, plural: bool = True) -> str:
        text = scope_noun(self.channel, self.category, self.campaign, plural=plural)
        words = {
            "channel": "on each channel",
            "category": "in each category",
            "campaign": "of each campaign",
        }
        return " ".join([text, *(words[d] for d in self.each)])

    # ----------------------------------------------------------------- to override

    @property
    def lookback(self) -> _dt.timedelta | None:
        """How far back in the ledger the rule reads (``None``: all of it)."""
        return _dt.timedelta(0)

    def describe(self) -> str:
        """The rule in plain words."""
        raise NotImplementedError

    def _eval(self, ctx: OneContext, targets: Targets, s: int) -> int | None:
        """``None`` when the contact passes at ``s``, else a lower bound ``> s`` on the
        earliest instant it passes (``NEVER`` when it never does)."""
        raise NotImplementedError

    def _eval_many(self, ctx: BatchContext, targets: Targets, s: Micros) -> Failure:
        """Vectorised :meth:`_eval`: ``(fails, proposals)``, proposals where failing."""
        raise NotImplementedError

    def _explain(self, ctx: OneContext, targets: Targets, s: int) -> str:
        """Why the contact fails at ``s``, in words."""
        raise NotImplementedError

    # ----------------------------------------------------------------- policy file

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> Rule:
        """Read one rule table of a policy file (``type`` already checked)."""
        scope = (
            ("channel", "label", False),
            ("category", "label", False),
            ("campaign", "label", False),
            ("each", "labels", False),
        )
        fields = cls.schema + scope
        check_keys(dict(data), ("type", *(f[0] for f in fields)), path, f"a {cls.type_name} rule")
        kwargs: dict[str, Any] = {}
        for key, kind, required in fields:
            if key in data:
                reader = read_scorer if kind == "scorer" else READERS[kind]
                kwargs[key] = reader(data[key], f"{path}.{key}")
            elif required:
                raise PolicyError(f"{path}.{key}", f"is required by a {cls.type_name} rule")
        try:
            return cls(**kwargs)
        except (ValueError, TypeError) as exc:
            raise PolicyError(path, str(exc)) from None

    def to_dict(self) -> dict[str, Any]:
        """The rule as a policy-file table."""
        out: dict[str, Any] = {"type": self.type_name}
        defaults = {a.name: a.default for a in attrs.fields(type(self))}  # type: ignore[arg-type]
        for key, kind, required in self.schema:
            value = getattr(self, key)
            if not required and value == defaults.get(key):
                continue
            out[key] = value.to_dict() if kind == "scorer" else _write_value(kind, value)
        for dim in SCOPE_DIMS:
            if getattr(self, dim) is not None:
                out[dim] = getattr(self, dim)
        if self.each:
            out["each"] = list(self.each)
        return out


def _fail_all(n: int, proposal: int = NEVER) -> Failure:
    return np.ones(n, dtype=bool), np.full(n, proposal, dtype=np.int64)


def _last_masked(ctx: BatchContext, mask: Mask) -> tuple[npt.NDArray[np.bool_], Micros]:
    """Per customer: whether any row is masked, and the time of the last one."""
    c, base = ctx.count(mask)
    has = c > 0
    out = np.zeros(len(ctx), dtype=np.int64)
    if has.any():
        out[has] = ctx.nth_time(mask, base[has], c[has] - 1)
    return has, out


# ------------------------------------------------------------------------- the rules


@attrs.frozen
class FrequencyCap(Rule):
    """At most ``count`` contacts in scope ``per`` window.

    ``per`` is a rolling window (a ``timedelta`` or ``"7d"``): no window ``(t - per, t]``
    ever holds more than ``count`` contacts, so a contact sent Monday 10:00 under
    ``per=7 days`` stops counting at exactly the next Monday 10:00. Contacts recorded for
    later times count too: a contact is allowed only if every window containing it stays
    within the cap. Or ``per`` is a calendar window in the customer's time zone:
    ``"calendar_day"``, ``"calendar_week"`` (ISO, from Monday) or ``"calendar_month"``.

    Attributes
    ----------
    count
        The cap (0 forbids every contact in scope).
    per
        The window.
    channel, category, campaign, each
        Scope (see :mod:`relcore.contact_policy.rules`).

    Examples
    --------
    >>> from datetime import timedelta
    >>> FrequencyCap(3, per=timedelta(days=7), channel="email").describe()
    'at most 3 emails in any 7 days'
    >>> FrequencyCap(1, per="calendar_day").describe()
    "at most 1 contact per calendar day (customer's local time)"
    """

    type_name: ClassVar[str] = "frequency_cap"
    code: ClassVar[str] = "frequency_cap"
    schema: ClassVar[tuple[tuple[str, str, bool], ...]] = (
        ("count", "count", True),
        ("per", "window", True),
    )

    count: int = attrs.field(validator=_whole(0))
    per: _dt.timedelta | str = attrs.field(converter=_window, validator=_valid_window)
    channel: str | None = _scope()
    category: str | None = _scope()
    campaign: str | None = _scope()
    each: tuple[str, ...] = _each_field()
    _w: int = attrs.field(init=False, default=0, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self._check_scope()
        if isinstance(self.per, _dt.timedelta):
            object.__setattr__(self, "_w", timedelta_micros(self.per))

    @property
    def lookback(self) -> _dt.timedelta:
        if isinstance(self.per, _dt.timedelta):
            return self.per
        return PERIOD_REACH[self.per]

    def describe(self) -> str:
        noun = self._noun(plural=self.count != 1)
        if isinstance(self.per, _dt.timedelta):
            return f"at most {self.count} {noun} in any {describe_duration(self.per)}"
        period = self.per.replace("_", " ")
        return f"at most {self.count} {noun} per {period} (customer's local time)"

    def _eval(self, ctx: OneContext, targets: Targets, s: int) -> int | None:
        k = self.count - ctx.reduction
        if k <= 0:
            return NEVER
        w = self._w
        if not w:
            start, end = period_bounds_one(s, ctx.zone, str(self.per), ctx.wall(s))
            return None if len(ctx.contact_times(targets, start - 1, end)) < k else end
        times = ctx.contact_times(targets, s - w, s + w)
        j = bisect_right(times, s)
        if j == len(times):  # nothing scheduled ahead: only the window ending now matters
            return None if j < k else times[j - k] + w
        peak, peak_count = self._peak(times, j, s, k)
        if peak is None:
            return None
        lo = bisect_right(times, peak - w)
        return times[lo + peak_count - k] + w

    def _peak(self, times: list[int], j: int, s: int, k: int) -> tuple[int | None, int]:
        """The last window end ``e`` in ``[s, s + w)`` whose window is full, and its count."""
        w = self._w
        peak: int | None = None
        peak_count = 0
        for e in [s, *times[j:]]:
            c = bisect_right(times, e) - bisect_right(times, e - w)
            if c >= k:
                peak, peak_count = e, c
        return peak, peak_count

    def _eval_many(self, ctx: BatchContext, targets: Targets, s: Micros) -> Failure:
        n = len(ctx)
        k = self.count - ctx.reduction
        if k <= 0:
            return _fail_all(n)
        mask = ctx.contact_mask(targets)
        at = ctx.history.at
        si = ctx.row_instants(s)
        w = self._w
        if not w:
            period = str(self.per)
            if ctx.uniform is not None:
                start, end = period_bounds_one(ctx.uniform, ctx.zone, period)
                c, _ = ctx.count(mask & (at >= start) & (at < end))
                return c >= k, np.full(n, end, dtype=np.int64)
            starts, ends = period_bounds(s, ctx.zone, period)
            owner = ctx.history.owner()
            c, _ = ctx.count(mask & (at >= starts[owner]) & (at < ends[owner]))
            return c >= k, ends
        window = mask & (at > si - w) & (at <= si)
        c, base = ctx.count(window)
        ahead, _ = ctx.count(mask & (at > si) & (at < si + w))
        fails = c >= k
        proposals = np.zeros(n, dtype=np.int64)
        simple = fails & (ahead == 0)
        if simple.any():
            proposals[simple] = ctx.nth_time(window, base[simple], (c - k)[simple]) + w
        # Customers with contacts scheduled ahead need every window through s checked;
        # they are rare, so they are decided one by one.
        for i in np.flatnonzero(ahead > 0).tolist():
            p = self._eval(ctx.one(i), targets, int(s[i]))
            fails[i] = p is not None
            proposals[i] = 0 if p is None else p
        return fails, proposals

    def _explain(self, ctx: OneContext, targets: Targets, s: int) -> str:
        k = self.count - ctx.reduction
        noun = scope_noun(*targets)
        kept = f" ({ctx.reduction} kept for higher priority)" if ctx.reduction else ""
        if k <= 0:
            if ctx.reduction and self.count:
                verb = "is" if self.count == 1 else "are all"
                return f"the {self.count} {noun} allowed {verb} kept for higher priority"
            return f"no {noun} allowed"
        if not self._w:
            start, end = period_bounds_one(s, ctx.zone, str(self.per))
            c = len(ctx.contact_times(targets, start - 1, end))
            period = str(self.per).replace("_", " ")
            return f"{c} of {self.count} {noun} this {period} ({zone_name(ctx.zone)}){kept}"
        w = self._w
        times = ctx.contact_times(targets, s - w, s + w)
        j = bisect_right(times, s)
        span = describe_duration(_dt.timedelta(microseconds=w))
        peak, c = (s, j) if j == len(times) else self._peak(times, j, s, k)
        if peak is None or peak == s:
            return f"{j} of {self.count} {noun} in the last {span}{kept}"
        when = format_instant(peak, ctx.zone)
        return f"{c} of {self.count} {noun} in the {span} up to {when} (scheduled){kept}"


@attrs.frozen
class MinimumGap(Rule):
    """At least ``gap`` between contacts in scope.

    A contact at ``t`` passes when no contact in scope lies strictly within ``gap`` of it:
    with past history only, when the last one is at or before ``t - gap``.

    Attributes
    ----------
    gap
        The shortest time between two contacts in scope.
    channel, category, campaign, each
        Scope.

    Examples
    --------
    >>> MinimumGap("20h", channel="sms").describe()
    'at least 20 hours between SMS messages'
    """

    type_name: ClassVar[str] = "minimum_gap"
    code: ClassVar[str] = "minimum_gap"
    schema: ClassVar[tuple[tuple[str, str, bool], ...]] = (("gap", "duration", True),)

    gap: _dt.timedelta = attrs.field(converter=_duration, validator=_positive_duration)
    channel: str | None = _scope()
    category: str | None = _scope()
    campaign: str | None = _scope()
    each: tuple[str, ...] = _each_field()
    _g: int = attrs.field(init=False, default=0, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self._check_scope()
        object.__setattr__(self, "_g", timedelta_micros(self.gap))

    @property
    def lookback(self) -> _dt.timedelta:
        return self.gap

    def describe(self) -> str:
        return f"at least {describe_duration(self.gap)} between {self._noun()}"

    def _eval(self, ctx: OneContext, targets: Targets, s: int) -> int | None:
        g = self._g
        times = ctx.contact_times(targets, s - g, s + g)
        return times[-1] + g if times else None

    def _eval_many(self, ctx: BatchContext, targets: Targets, s: Micros) -> Failure:
        g = self._g
        at = ctx.history.at
        si = ctx.row_instants(s)
        near = ctx.contact_mask(targets) & (at > si - g) & (at < si + g)
        fails, last = _last_masked(ctx, near)
        return fails, last + g

    def _explain(self, ctx: OneContext, targets: Targets, s: int) -> str:
        g = self._g
        times = ctx.contact_times(targets, s - g, s + g)
        span = describe_duration(self.gap)
        noun = scope_noun(*targets, plural=False)
        past = [t for t in times if t <= s]
        if past:
            return (
                f"the previous {noun} went out at {format_instant(past[-1], ctx.zone)}, "
                f"less than {span} before"
            )
        return f"another {noun} is scheduled at {format_instant(times[0], ctx.zone)}, within {span}"


@attrs.frozen
class QuietHours(Rule):
    """No contact in scope between ``start`` and ``end``, customer's local time.

    Local times in ``[start, end)`` are quiet; when ``start > end`` the quiet hours cross
    midnight (``time(21), time(8)``: 21:00 is quiet, 08:00 is not). The customer's zone
    comes from their preferences, else the policy's default; daylight-saving changes are
    followed, so 08:00 means 08:00 on the customer's clock on both sides of a change.

    Attributes
    ----------
    start, end
        Local times of day (``datetime.time`` or ``"21:00"``).
    channel, category, campaign, each
        Scope.

    Examples
    --------
    >>> from datetime import time
    >>> QuietHours(start=time(21), end=time(8)).describe()
    "no contacts from 21:00 to 08:00 (customer's local time)"
    """

    type_name: ClassVar[str] = "quiet_hours"
    code: ClassVar[str] = "quiet_hours"
    schema: ClassVar[tuple[tuple[str, str, bool], ...]] = (
        ("start", "time", True),
        ("end", "time", True),
    )

    start: _dt.time = attrs.field(converter=_time, validator=_local_time)
    end: _dt.time = attrs.field(converter=_time, validator=_local_time)
    channel: str | None = _scope()
    category: str | None = _scope()
    campaign: str | None = _scope()
    each: tuple[str, ...] = _each_field()

    def __attrs_post_init__(self) -> None:
        self._check_scope()
        if self.start == self.end:
            raise ValueError("quiet hours start and end must differ")

    def describe(self) -> str:
        return (
            f"no {self._noun()} from {format_time(self.start)} to {format_time(self.end)} "
            "(customer's local time)"
        )

    def _quiet(self, tod: int) -> bool:
        a, b = time_of_day(self.start), time_of_day(self.end)
        return (a <= tod < b) if a < b else (tod >= a or tod < b)

    def _quiet_many(self, tod: Micros) -> npt.NDArray[np.bool_]:
        a, b = time_of_day(self.start), time_of_day(self.end)
        return np.asarray((tod >= a) & (tod < b) if a < b else (tod >= a) | (tod < b))

    def _quiet_end_wall(self, wall: int) -> int:
        """Wall time at which the quiet stretch holding ``wall`` ends."""
        a, b = time_of_day(self.start), time_of_day(self.end)
        tod = wall % US_PER_DAY
        return wall - tod + b + (US_PER_DAY if a > b and tod >= a else 0)

    def _eval(self, ctx: OneContext, targets: Targets, s: int) -> int | None:
        return self._eval_at(s, ctx.zone, ctx.wall(s))

    def _eval_at(self, s: int, zone: _dt.tzinfo, wall: int | None = None) -> int | None:
        if wall is None:
            wall = wall_one(s, zone)
        if not self._quiet(wall % US_PER_DAY):
            return None
        end = first_instant_one(self._quiet_end_wall(wall), zone)
        # A clock going back can also end the quiet stretch (01:30 -> 01:00 before a
        # 01:30 start); the clock only jumps at a transition.
        for b in transitions_between(s, end, zone):
            if not self._quiet(wall_one(b, zone) % US_PER_DAY):
                return b
        return end

    def _eval_many(self, ctx: BatchContext, targets: Targets, s: Micros) -> Failure:
        if ctx.uniform is not None:  # quiet hours read no history: decide once
            p = self._eval_at(ctx.uniform, ctx.zone)
            n = len(ctx)
            return np.full(n, p is not None), np.full(n, 0 if p is None else p, dtype=np.int64)
        zone = ctx.zone
        wall = micros_to_wall(s, zone)
        tod = wall % US_PER_DAY
        fails = self._quiet_many(tod)
        proposals = np.zeros(s.shape, dtype=np.int64)
        if not fails.any():
            return fails, proposals
        a, b = time_of_day(self.start), time_of_day(self.end)
        w = wall[fails]
        t = tod[fails]
        crossing = np.int64(US_PER_DAY) if a > b else np.int64(0)
        end = first_instant(w - t + b + np.where(t >= a, crossing, 0), zone)
        sf = s[fails]
        bounds, _ = transitions(zone, int(sf.min()), int(end.max()))
        for tr in sorted(bounds.tolist(), reverse=True):
            if not self._quiet(wall_one(tr, zone) % US_PER_DAY):
                end = np.where((sf < tr) & (tr < end), tr, end)
        proposals[fails] = end
        return fails, proposals

    def _explain(self, ctx: OneContext, targets: Targets, s: int) -> str:
        local = format_instant(s, ctx.zone)
        return f"{local} is within quiet hours {format_time(self.start)} to {format_time(self.end)}"


@attrs.frozen
class Cooldown(Rule):
    """No contact in scope for ``duration`` after an event of kind ``after``.

    A contact at ``t`` fails when such an event lies in ``(t - duration, t]``; events are
    recorded with :meth:`ContactGuard.record_response` (``"complaint"``, ``"purchase"``,
    ``"unsubscribe"``, ``"service_call"``…), on any channel.

    Attributes
    ----------
    after
        The event kind.
    duration
        How long the cool-down lasts.
    channel, category, campaign, each
        Scope of the contacts held back.

    Examples
    --------
    >>> Cooldown(after="complaint", duration="30d").describe()
    'no contacts for 30 days after a complaint'
    """

    type_name: ClassVar[str] = "cooldown"
    code: ClassVar[str] = "cooldown"
    schema: ClassVar[tuple[tuple[str, str, bool], ...]] = (
        ("after", "label", True),
        ("duration", "duration", True),
    )

    after: str = attrs.field(validator=_label)
    duration: _dt.timedelta = attrs.field(converter=_duration, validator=_positive_duration)
    channel: str | None = _scope()
    category: str | None = _scope()
    campaign: str | None = _scope()
    each: tuple[str, ...] = _each_field()
    _d: int = attrs.field(init=False, default=0, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self._check_scope()
        object.__setattr__(self, "_d", timedelta_micros(self.duration))

    @property
    def lookback(self) -> _dt.timedelta:
        return self.duration

    def describe(self) -> str:
        return f"no {self._noun()} for {describe_duration(self.duration)} after a {self.after}"

    def _eval(self, ctx: OneContext, targets: Targets, s: int) -> int | None:
        events = ctx.event_times((self.after,), s - self._d, s + 1, customer_only=False)
        return events[-1] + self._d if events else None

    def _eval_many(self, ctx: BatchContext, targets: Targets, s: Micros) -> Failure:
        at = ctx.history.at
        si = ctx.row_instants(s)
        recent = ctx.kind_mask((self.after,), customer_only=False) & (at > si - self._d)
        fails, last = _last_masked(ctx, recent & (at <= si))
        return fails, last + self._d

    def _explain(self, ctx: OneContext, targets: Targets, s: int) -> str:
        events = ctx.event_times((self.after,), s - self._d, s + 1, customer_only=False)
        return (
            f"{self.after} at {format_instant(events[-1], ctx.zone)}: no "
            f"{scope_noun(*targets)} for {describe_duration(self.duration)} after it"
        )


@attrs.frozen
class OutcomeSuppression(Rule):
    """After ``ignored`` unanswered contacts in scope, suppress the scope for a while.

    When ``ignored`` contacts in scope fall within one ``within`` window with no
    customer response (an event of a ``response_kinds`` kind) since the first of them,
    the scope is suppressed for ``suppress_for`` from the last of them. A response lifts
    the suppression: the customer has come back.

    Attributes
    ----------
    ignored
        How many unanswered contacts trigger it (>= 1).
    within
        The window those contacts must fall in.
    suppress_for
        How long the scope then stays quiet.
    response_kinds
        Customer events that count as an answer (default ``("response",)``).
    channel, category, campaign, each
        Scope.

    Examples
    --------
    >>> OutcomeSuppression(ignored=3, within="14d", suppress_for="30d",
    ...                    channel="email").describe()
    'after 3 emails without a response within 14 days, no emails for 30 days'
    """

    type_name: ClassVar[str] = "outcome_suppression"
    code: ClassVar[str] = "outcome_suppression"
    schema: ClassVar[tuple[tuple[str, str, bool], ...]] = (
        ("ignored", "positive_int", True),
        ("within", "duration", True),
        ("suppress_for", "duration", True),
        ("response_kinds", "labels", False),
    )

    ignored: int = attrs.field(validator=_whole(1))
    within: _dt.timedelta = attrs.field(converter=_duration, validator=_positive_duration)
    suppress_for: _dt.timedelta = attrs.field(converter=_duration, validator=_positive_duration)
    response_kinds: tuple[str, ...] = attrs.field(
        default=("response",), kw_only=True, converter=_kinds
    )
    channel: str | None = _scope()
    category: str | None = _scope()
    campaign: str | None = _scope()
    each: tuple[str, ...] = _each_field()

    def __attrs_post_init__(self) -> None:
        self._check_scope()

    @property
    def lookback(self) -> _dt.timedelta:
        return self.within + self.suppress_for

    def describe(self) -> str:
        kinds = " or ".join(self.response_kinds)
        noun = self._noun()
        return (
            f"after {self.ignored} {noun} without a {kinds} within "
            f"{describe_duration(self.within)}, no {noun} for "
            f"{describe_duration(self.suppress_for)}"
        )

    def _trigger(self, ctx: OneContext, targets: Targets, s: int) -> tuple[int | None, int | None]:
        """The last contact completing an unanswered run still in force, and the next
        response after ``s``."""
        span = timedelta_micros(self.lookback)
        answers = ctx.event_times(self.response_kinds, s - span, NEVER, customer_only=True)
        j = bisect_right(answers, s)
        last_answer = answers[j - 1] if j else s - span
        next_answer = answers[j] if j < len(answers) else None
        runs = ctx.contact_times(targets, max(last_answer, s - span), s + 1)
        n, within = self.ignored, timedelta_micros(self.within)
        cut = s - timedelta_micros(self.suppress_for)
        trigger = None
        for i in range(n - 1, len(runs)):
            if runs[i] > cut and runs[i] - runs[i - n + 1] < within:
                trigger = runs[i]
        return trigger, next_answer

    def _eval(self, ctx: OneContext, targets: Targets, s: int) -> int | None:
        trigger, next_answer = self._trigger(ctx, targets, s)
        if trigger is None:
            return None
        end = trigger + timedelta_micros(self.suppress_for)
        return end if next_answer is None else min(end, next_answer)

    def _eval_many(self, ctx: BatchContext, targets: Targets, s: Micros) -> Failure:
        cc = ctx.compacted()
        h = cc.history
        n = len(cc)
        at = h.at
        owner = h.owner()
        si = s[owner]
        span = timedelta_micros(self.lookback)
        answers = cc.kind_mask(self.response_kinds, customer_only=True)
        has_last, last = _last_masked(cc, answers & (at <= si))
        last = np.where(has_last, last, s - span)
        later = answers & (at > si)
        c, base = cc.count(later)
        nxt = np.full(n, NEVER, dtype=np.int64)
        if (c > 0).any():
            nxt[c > 0] = cc.nth_time(later, base[c > 0], np.zeros(int((c > 0).sum()), np.int64))
        runs = cc.contact_mask(targets) & (at <= si) & (at > np.maximum(last, s - span)[owner])
        rows = np.flatnonzero(runs)
        k = self.ignored
        trigger = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        if rows.size >= k:
            t, who = at[rows], owner[rows]
            head, tail = t[: t.size - k + 1], t[k - 1 :]
            same = who[: who.size - k + 1] == who[k - 1 :]
            cut = (s - timedelta_micros(self.suppress_for))[who[k - 1 :]]
            ok = same & (tail - head < timedelta_micros(self.within)) & (tail > cut)
            np.maximum.at(trigger, who[k - 1 :][ok], tail[ok])
        fails = trigger > np.iinfo(np.int64).min
        end = np.where(fails, trigger + timedelta_micros(self.suppress_for), 0)
        return fails, np.minimum(end, nxt)

    def _explain(self, ctx: OneContext, targets: Targets, s: int) -> str:
        trigger, _ = self._trigger(ctx, targets, s)
        assert trigger is not None
        return (
            f"{self.ignored} {scope_noun(*targets)} went unanswered within "
            f"{describe_duration(self.within)} (the last at "
            f"{format_instant(trigger, ctx.zone)}); suppressed for "
            f"{describe_duration(self.suppress_for)}"
        )


def _scorer(value: Any) -> Any:
    if value is None:
        return ContactFatigue()
    if not isinstance(value, FatigueScorer):
        raise TypeError(f"scorer must implement FatigueScorer, got {type(value).__name__}")
    return value


def _max_score(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{attribute.name} must be a number >= 0, got {value!r}")
    if value == float("inf"):
        raise ValueError(f"{attribute.name} must be finite, got {value!r}")


@attrs.frozen
class FatigueLimit(Rule):
    """No contact in scope while the customer's fatigue score is above ``max_score``.

    The score comes from ``scorer`` (any :class:`~relcore.contact_policy.FatigueScorer`;
    by default :class:`~relcore.contact_policy.ContactFatigue`, the relationship score of
    :func:`relcore.scoring.fatigue`: decayed contacts since the customer's last response,
    plus complaints and unsubscribes). A contact passes when the score at its time is at
    most ``max_score``.

    Attributes
    ----------
    max_score
        The highest score at which contact is still allowed.
    scorer
        Computes the score from the customer's ledger history.
    channel, category, campaign, each
        Scope of the contacts held back (the score always reads the whole history).

    Examples
    --------
    >>> FatigueLimit(3.0).describe()
    "no contacts while the fatigue score is above 3 (contacts since the customer's last response, plus 5 per complaint or unsubscribe, each halving in weight every 14 days)"
    """  # noqa: E501

    type_name: ClassVar[str] = "fatigue_limit"
    code: ClassVar[str] = "fatigue"
    schema: ClassVar[tuple[tuple[str, str, bool], ...]] = (
        ("max_score", "number", True),
        ("scorer", "scorer", False),
    )

    max_score: float = attrs.field(validator=_max_score)
    scorer: FatigueScorer = attrs.field(factory=ContactFatigue, converter=_scorer)
    channel: str | None = _scope()
    category: str | None = _scope()
    campaign: str | None = _scope()
    each: tuple[str, ...] = _each_field()

    def __attrs_post_init__(self) -> None:
        self._check_scope()

    @property
    def lookback(self) -> _dt.timedelta | None:
        return self.scorer.lookback

    def describe(self) -> str:
        return (
            f"no {self._noun()} while the fatigue score is above {self.max_score:g} "
            f"({self.scorer.describe()})"
        )

    def _eval(self, ctx: OneContext, targets: Targets, s: int) -> int | None:
        h = ctx.history()
        if self.scorer.score(h, s) <= self.max_score:
            return None
        _, proposals = self._next_below(h, np.array([s], dtype=np.int64))
        return int(proposals[0])

    def _eval_many(self, ctx: BatchContext, targets: Targets, s: Micros) -> Failure:
        scores = self.scorer.score_many(ctx.history, s)
        fails = scores > self.max_score
        proposals = np.zeros(len(ctx), dtype=np.int64)
        idx = np.flatnonzero(fails)
        if idx.size:
            _, proposals[idx] = self._next_below(ctx.history.take(idx), s[idx])
        return fails, proposals

    def _next_below(self, h: Any, s: Micros) -> Failure:
        """Earliest instant where the score falls to ``max_score`` (all fail at ``s``).

        The score cannot rise until the next row of the history, so bisect between ``s``
        and that row (or the lookback, after which nothing is counted) to the microsecond.
        """
        n = len(h)
        owner = h.owner()
        later = h.at > s[owner]
        first_later = np.full(n, NEVER, dtype=np.int64)
        if later.any():
            np.minimum.at(first_later, owner[later], h.at[later])
        lookback = self.scorer.lookback
        reach = timedelta_micros(lookback) if lookback is not None else 100 * 366 * US_PER_DAY
        limit = np.minimum(first_later, s + reach)
        result = limit.copy()
        below = self.scorer.score_many(h, limit - 1) <= self.max_score
        if lookback is None:  # still above after a century: never
            result[~below & (first_later > s + reach)] = NEVER
        todo = np.flatnonzero(below)
        if todo.size:
            sub = h.take(todo)
            lo, hi = s[todo].copy(), limit[todo] - 1
            while True:
                active = hi - lo > 1
                if not active.any():
                    break
                mid = lo + (hi - lo) // 2
                ok = self.scorer.score_many(sub, mid) <= self.max_score
                hi = np.where(active & ok, mid, hi)
                lo = np.where(active & ~ok, mid, lo)
            result[todo] = hi
        return np.ones(n, dtype=bool), result

    def _explain(self, ctx: OneContext, targets: Targets, s: int) -> str:
        score = self.scorer.score(ctx.history(), s)
        return f"fatigue score {score:.2f} is above {self.max_score:g}"


# ------------------------------------------------------- the customer's own hard stops


def _frozen(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


def _fraction(_inst: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1 (exclusive), got {value}")


@attrs.frozen
class GlobalControl(Rule):
    """No contact in scope for the customers of a global control group.

    A global control group is a stable share of customers who receive no marketing at all,
    so that the whole programme's effect can be measured against them (see
    :mod:`relcore.measurement`). Membership is :func:`relcore.measurement.assign_holdout`
    with the same ``fraction`` and ``salt``: a stable hash of the customer id, so nothing
    needs storing and every service agrees. Give it a scope (usually
    ``category="promotional"``); exempt categories such as transactional receipts pass.
    A held-out customer is refused for good (``next_allowed_at`` is ``None``).

    The ledger knows customers by their string ids, so the group is that of the string
    ids: assign it with string ids in the analysis too (``"42"`` and ``42`` hash apart).

    Attributes
    ----------
    fraction
        Share of customers held out, between 0 and 1.
    salt
        Names the control group; a new salt draws a new, independent group.
    channel, category, campaign, each
        Scope of the contacts held back.

    Examples
    --------
    >>> rule = GlobalControl(0.05, salt="gcg-2026", category="promotional")
    >>> rule.describe()
    'no promotional contacts to the 5% global control group (salt gcg-2026)'
    """

    type_name: ClassVar[str] = "global_control"
    code: ClassVar[str] = "holdout"
    schema: ClassVar[tuple[tuple[str, str, bool], ...]] = (
        ("fraction", "number", True),
        ("salt", "label", True),
    )

    fraction: float = attrs.field(converter=float, validator=_fraction)
    salt: str = attrs.field(validator=_label)
    channel: str | None = _scope()
    category: str | None = _scope()
    campaign: str | None = _scope()
    each: tuple[str, ...] = _each_field()

    def __attrs_post_init__(self) -> None:
        self._check_scope()

    def held_out(self, customer_ids: Any) -> npt.NDArray[np.bool_]:
        """Which of ``customer_ids`` are in the control group."""
        from .._hashing import in_fraction

        return in_fraction(np.asarray(customer_ids, dtype=str), self.fraction, self.salt)

    def describe(self) -> str:
        share = f"{self.fraction * 100:.4g}%"
        return f"no {self._noun()} to the {share} global control group (salt {self.salt})"

    def _eval(self, ctx: OneContext, targets: Targets, s: int) -> int | None:
        return NEVER if bool(self.held_out([ctx.customer_id])[0]) else None

    def _eval_many(self, ctx: BatchContext, targets: Targets, s: Micros) -> Failure:
        fails = self.held_out(ctx.customer_ids)
        return fails, np.full(s.shape, NEVER, dtype=np.int64)

    def _explain(self, ctx: OneContext, targets: Targets, s: int) -> str:
        return (
            f"the customer is in the global control group ({self.fraction * 100:.4g}% of "
            f"customers, salt {self.salt}): no {scope_noun(*targets)}"
        )


@attrs.frozen
class OptOut(Rule):
    """The customer's opt-out of channels or categories: a hard stop.

    Built by the guard from :class:`~relcore.models.ContactPreferences`; it is not a rule
    a policy file can hold. Exempt categories and priorities do not override it.

    Examples
    --------
    >>> OptOut(channels=frozenset({"sms"})).applies("sms", "promotional", None)
    True
    """

    code: ClassVar[str] = "opted_out"
    exemptable: ClassVar[bool] = False

    channels: frozenset[str] = attrs.field(factory=frozenset, converter=_frozen)
    categories: frozenset[str] = attrs.field(factory=frozenset, converter=_frozen)
    channel: str | None = attrs.field(default=None, init=False)
    category: str | None = attrs.field(default=None, init=False)
    campaign: str | None = attrs.field(default=None, init=False)
    each: tuple[str, ...] = attrs.field(default=(), init=False)

    def applies(self, channel: str, category: str | None, campaign: str | None) -> bool:
        return channel in self.channels or category in self.categories

    def describe(self) -> str:
        what = sorted(self.channels) + [f"{c} contacts" for c in sorted(self.categories)]
        return f"the customer opted out of {', '.join(what)}"

    def _eval(self, ctx: OneContext, targets: Targets, s: int) -> int | None:
        return NEVER

    def _eval_many(self, ctx: BatchContext, targets: Targets, s: Micros) -> Failure:
        return _fail_all(len(ctx))

    def _explain(self, ctx: OneContext, targets: Targets, s: int) -> str:
        what = []
        if ctx.channel in self.channels:
            what.append(ctx.channel)
        if ctx.category in self.categories:
            what.append(f"{ctx.category} contacts")
        return f"the customer opted out of {' and '.join(what)}"


@attrs.frozen
class Snooze(Rule):
    """The customer's snooze: no contact at all before ``until``; a hard stop.

    Built by the guard from :class:`~relcore.models.ContactPreferences`.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> Snooze(datetime(2026, 12, 1, tzinfo=timezone.utc)).describe()
    'the customer snoozed all contact until 2026-12-01 00:00 UTC'
    """

    code: ClassVar[str] = "snoozed"
    exemptable: ClassVar[bool] = False

    until: _dt.datetime = attrs.field()
    channel: str | None = attrs.field(default=None, init=False)
    category: str | None = attrs.field(default=None, init=False)
    campaign: str | None = attrs.field(default=None, init=False)
    each: tuple[str, ...] = attrs.field(default=(), init=False)
    _u: int = attrs.field(init=False, default=0, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_u", to_micros(self.until, "until"))

    @property
    def until_micros(self) -> int:
        """``until`` as microseconds since the epoch, UTC."""
        return self._u

    def describe(self) -> str:
        return f"the customer snoozed all contact until {format_instant(self._u)}"

    def _eval(self, ctx: OneContext, targets: Targets, s: int) -> int | None:
        return self._u if s < self._u else None

    def _eval_many(self, ctx: BatchContext, targets: Targets, s: Micros) -> Failure:
        return s < self._u, np.full(s.shape, self._u, dtype=np.int64)

    def _explain(self, ctx: OneContext, targets: Targets, s: int) -> str:
        return f"the customer snoozed all contact until {format_instant(self._u, ctx.zone)}"
