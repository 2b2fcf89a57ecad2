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

Adding a rule is one class: a frozen attrs subclass of [`Rule`][relcore.contact_policy.Rule] with
its ``type_name`` (its ``type`` in a policy file) and ``code`` (its reason code), its
parameters declared with [`parameter`][relcore.contact_policy.parameter] (which also reads and
writes them in a policy file), and the methods ``_eval``, ``_explain`` and ``describe``
(``_eval_many``, the vectorised ``_eval``, and ``lookback`` have defaults). The registries
(`RULE_TYPES`, the reason codes) are derived from the classes. See "Writing a rule" in the contact
policy documentation.
"""

from __future__ import annotations

import datetime as _dt
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

import attrs
import numpy as np
import numpy.typing as npt

from .._durations import describe_duration
from .._hashing import in_fraction
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
from ._context import ANY, NEVER, BatchContext, Mask, Micros, OneContext, OrMissing, Targets
from ._localtime import (
    PERIOD_REACH,
    first_instant,
    first_instant_one,
    period_bounds,
    period_bounds_one,
    time_of_day,
    transitions_between,
    wall_one,
)
from ._schema import KINDS, Kind, check_keys, format_time
from .fatigue import SCORER, ContactFatigue, FatigueScorer

__all__ = [
    "RULE_TYPES",
    "Cooldown",
    "FatigueLimit",
    "FrequencyCap",
    "GlobalControl",
    "MinimumGap",
    "OptOut",
    "OutcomeSuppression",
    "QuietHours",
    "Rule",
    "Snooze",
    "parameter",
]

SCOPE_DIMS: tuple[str, ...] = ("channel", "category", "campaign")
_SCOPE_FIELDS = frozenset({*SCOPE_DIMS, "each"})
_KINDS: Mapping[str, Kind] = MappingProxyType({**KINDS, SCORER.name: SCORER})
_KIND_KEY = "relcore.contact_policy.kind"

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
    if isinstance(category, OrMissing):
        category = category.label
    if channel is None:
        base = "contacts" if plural else "contact"
    else:
        pair = _SINGULAR.get(channel, (f"{channel} contact", f"{channel} contacts"))
        base = pair[plural]
    text = f"{category} {base}" if category else base
    if campaign:
        text += f" of campaign {campaign}"
    return text


# ------------------------------------------------------------------------- parameters


def parameter(kind: str, *, optional: bool = False, **field: Any) -> dict[str, Any]:
    """How a rule parameter is read, written and checked: arguments for `attrs.field`.

    Declare a parameter as ``gap: timedelta = attrs.field(**parameter("duration"))``. ``kind`` names
    the parameter's type in a policy file: ``"count"`` (an integer >= 0), ``"positive_int"``,
    ``"number"`` (a finite number >= 0), ``"duration"`` (``"20h"`` or a ``timedelta``), ``"window"``
    (a duration or ``"calendar_day"``, ``"calendar_week"``, ``"calendar_month"``), ``"time"``
    (``"21:00"`` or a ``datetime.time``), ``"label"`` (a non-empty string), ``"labels"`` (a list of
    them) or ``"scorer"`` (a [`FatigueScorer`][relcore.contact_policy.FatigueScorer]). The kind
    reads and writes the value in a policy file and, unless ``converter=`` or ``validator=`` is
    given here, converts and checks it when given in Python (``optional=True`` also accepts
    ``None``). A parameter without a default is required in the file too.

    Examples
    --------
    >>> import attrs
    >>> from relcore.contact_policy import Rule
    >>> @attrs.frozen
    ... class Pause(Rule):
    ...     type_name = "pause"
    ...     code = "paused"
    ...     length: object = attrs.field(**parameter("duration"))
    >>> Pause("2h").length
    datetime.timedelta(seconds=7200)
    >>> Pause.from_dict({"type": "pause", "length": "90m"}, "rules[0]").to_dict()
    {'type': 'pause', 'length': '1h30m'}
    """
    spec = _KINDS.get(kind)
    if spec is None:
        raise PolicyError("", f"unknown parameter kind {kind!r}; one of {', '.join(_KINDS)}")
    if "converter" not in field and spec.convert is not None:
        field["converter"] = spec.convert
    if "validator" not in field and spec.check is not None:
        if optional:
            field["validator"] = spec.check_optional or attrs.validators.optional(spec.check)
        else:
            field["validator"] = spec.check
    field["metadata"] = {**field.get("metadata", {}), _KIND_KEY: kind}
    return field


class _Parameter(NamedTuple):
    name: str
    kind: Kind
    required: bool
    default: Any


_PARAMETERS: dict[type, tuple[_Parameter, ...]] = {}


def _parameters(cls: type[Rule]) -> tuple[_Parameter, ...]:
    """The policy-file keys of a rule class besides ``type``: its own, then the scope."""
    found = _PARAMETERS.get(cls)
    if found is None:
        params = [
            _Parameter(a.name, _KINDS[a.metadata[_KIND_KEY]], a.default is attrs.NOTHING, a.default)
            for a in attrs.fields(cls)
            if a.init and _KIND_KEY in a.metadata
        ]
        found = _PARAMETERS[cls] = tuple(sorted(params, key=lambda p: p.name in _SCOPE_FIELDS))
    return found


def _scope_last(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """Field order for reprs: the rule's own parameters, then the scope it inherits.

    (relcore's rules keep the reprs they always had; a rule of your own needs no
    ``field_transformer``: the scope then merely comes first in its repr.)
    """

    def rank(a: attrs.Attribute[Any]) -> int:
        return 1 if a.name in _SCOPE_FIELDS else 0 if a.init else 2

    return sorted(fields, key=rank)


def _each(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    dims = (value,) if isinstance(value, str) else tuple(value)
    for d in dims:
        if d not in SCOPE_DIMS:
            raise ValueError(f"each must name scope dimensions {SCOPE_DIMS}, got {d!r}")
    return tuple(sorted(set(dims), key=SCOPE_DIMS.index))


def _not_fixed(inst: Any, _attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for dim in value:
        if getattr(inst, dim) is not None:
            raise ValueError(f"{dim} is both fixed ({getattr(inst, dim)!r}) and in each")


def _kinds(value: str | Iterable[str]) -> tuple[str, ...]:
    kinds = (value,) if isinstance(value, str) else tuple(value)
    if not kinds or not all(isinstance(k, str) and k for k in kinds):
        raise ValueError(f"response_kinds must be non-empty strings, got {value!r}")
    return kinds


_SCOPE_LABEL = parameter("label", optional=True)


# ------------------------------------------------------------------------- the base


@attrs.frozen
class Rule:
    """Base class of every rule: the scope, the policy-file machinery and the defaults.

    A rule is a frozen attrs subclass. It sets the class attributes ``type_name`` (its
    ``type`` in a policy file; a rule without one can only be built in Python) and
    ``code`` (the stable reason code of a refusal), declares its parameters with
    [`parameter`][relcore.contact_policy.parameter], and writes ``describe``, ``_eval`` and
    ``_explain``. It inherits the scope (``channel``, ``category``, ``campaign``: ``None`` for any;
    ``each``), the policy-file reading and writing (``from_dict``, ``to_dict``), a vectorised
    ``_eval_many`` that loops over ``_eval`` (override it for speed) and a ``lookback``
    of zero (override it when the rule reads history).
    """

    type_name: ClassVar[str] = ""
    code: ClassVar[str] = ""
    exemptable: ClassVar[bool] = True
    """Whether exempt categories skip this rule (only the customer's hard stops do not)."""
    NEVER: ClassVar[int] = NEVER
    """What ``_eval`` proposes when the contact will never pass."""

    channel: str | None = attrs.field(default=None, kw_only=True, **_SCOPE_LABEL)
    category: str | None = attrs.field(default=None, kw_only=True, **_SCOPE_LABEL)
    campaign: str | None = attrs.field(default=None, kw_only=True, **_SCOPE_LABEL)
    each: tuple[str, ...] = attrs.field(
        default=(), kw_only=True, **parameter("labels", converter=_each, validator=_not_fixed)
    )

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
        """Vectorised `_eval`: ``(fails, proposals)``, proposals where failing.

        This default asks `_eval` customer by customer.
        """
        n = len(ctx)
        fails = np.zeros(n, dtype=bool)
        proposals = np.zeros(n, dtype=np.int64)
        for i in range(n):
            p = self._eval(ctx.one(i), targets, int(s[i]))
            if p is not None:
                fails[i] = True
                proposals[i] = p
        return fails, proposals

    def _explain(self, ctx: OneContext, targets: Targets, s: int) -> str:
        """Why the contact fails at ``s``, in words."""
        raise NotImplementedError

    # ----------------------------------------------------------------- policy file

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> Rule:
        """Read one rule table of a policy file (``type`` already checked)."""
        params = _parameters(cls)
        what = f"a {cls.type_name} rule"
        check_keys(dict(data), ("type", *(p.name for p in params)), path, what)
        kwargs: dict[str, Any] = {}
        for p in params:
            if p.name in data:
                kwargs[p.name] = p.kind.read(data[p.name], f"{path}.{p.name}")
            elif p.required:
                raise PolicyError(f"{path}.{p.name}", f"is required by {what}")
        try:
            return cls(**kwargs)
        except (ValueError, TypeError) as exc:
            raise PolicyError(path, str(exc)) from None

    def to_dict(self) -> dict[str, Any]:
        """The rule as a policy-file table."""
        out: dict[str, Any] = {"type": self.type_name}
        for p in _parameters(type(self)):
            value = getattr(self, p.name)
            if p.required or value != p.default:
                out[p.name] = p.kind.write(value)
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


@attrs.frozen(field_transformer=_scope_last)
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
        Scope (see `relcore.contact_policy.rules`).

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

    count: int = attrs.field(**parameter("count"))
    per: _dt.timedelta | str = attrs.field(**parameter("window"))
    _w: int = attrs.field(init=False, default=0, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
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


@attrs.frozen(field_transformer=_scope_last)
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

    gap: _dt.timedelta = attrs.field(**parameter("duration"))
    _g: int = attrs.field(init=False, default=0, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
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


@attrs.frozen(field_transformer=_scope_last)
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

    start: _dt.time = attrs.field(**parameter("time"))
    end: _dt.time = attrs.field(**parameter("time"))

    def __attrs_post_init__(self) -> None:
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


@attrs.frozen(field_transformer=_scope_last)
class Cooldown(Rule):
    """No contact in scope for ``duration`` after an event of kind ``after``.

    A contact at ``t`` fails when such an event lies in ``(t - duration, t]``; events are recorded
    with [`ContactGuard.record_response`][relcore.contact_policy.ContactGuard.record_response]
    (``"complaint"``, ``"purchase"``, ``"unsubscribe"``, ``"service_call"``…), on any channel.

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

    after: str = attrs.field(**parameter("label"))
    duration: _dt.timedelta = attrs.field(**parameter("duration"))
    _d: int = attrs.field(init=False, default=0, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
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


@attrs.frozen(field_transformer=_scope_last)
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

    ignored: int = attrs.field(**parameter("positive_int"))
    within: _dt.timedelta = attrs.field(**parameter("duration"))
    suppress_for: _dt.timedelta = attrs.field(**parameter("duration"))
    response_kinds: tuple[str, ...] = attrs.field(
        default=("response",), kw_only=True, **parameter("labels", converter=_kinds)
    )

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


@attrs.frozen(field_transformer=_scope_last)
class FatigueLimit(Rule):
    """No contact in scope while the customer's fatigue score is above ``max_score``.

    The score comes from ``scorer`` (any [`FatigueScorer`][relcore.contact_policy.FatigueScorer]; by
    default [`ContactFatigue`][relcore.contact_policy.ContactFatigue], the relationship score of
    [`relcore.scoring.fatigue`][relcore.scoring.scores.fatigue]: decayed contacts since the
    customer's last response, plus complaints and unsubscribes). A contact passes when the score at
    its time is at most ``max_score``.

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

    max_score: float = attrs.field(**parameter("number"))
    scorer: FatigueScorer = attrs.field(factory=ContactFatigue, **parameter("scorer"))

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


def _fraction(_inst: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1 (exclusive), got {value}")


@attrs.frozen(field_transformer=_scope_last)
class GlobalControl(Rule):
    """No contact in scope for the customers of a global control group.

    A global control group is a stable share of customers who receive no marketing at all, so that
    the whole programme's effect can be measured against them (see
    [`relcore.measurement`][relcore.measurement]). Membership is
    [`relcore.measurement.assign_holdout`][relcore.measurement.assign_holdout] with the same
    ``fraction`` and ``salt``: a stable hash of the customer id, so nothing needs storing and every
    service agrees. Give it a scope (usually ``category="promotional"``); exempt categories such as
    transactional receipts pass. A held-out customer is refused for good (``next_allowed_at`` is
    ``None``).

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

    fraction: float = attrs.field(**parameter("number", converter=float, validator=_fraction))
    salt: str = attrs.field(**parameter("label"))

    def held_out(self, customer_ids: Any) -> npt.NDArray[np.bool_]:
        """Which of ``customer_ids`` are in the control group."""
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


# ------------------------------------------------------- the customer's own hard stops


def _frozen(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


@attrs.frozen
class _HardStop(Rule):
    """A customer's own hard stop: unscoped, and no exemption or priority overrides it."""

    exemptable: ClassVar[bool] = False

    channel: str | None = attrs.field(default=None, init=False)
    category: str | None = attrs.field(default=None, init=False)
    campaign: str | None = attrs.field(default=None, init=False)
    each: tuple[str, ...] = attrs.field(default=(), init=False)


@attrs.frozen(field_transformer=_scope_last)
class OptOut(_HardStop):
    """The customer's opt-out of channels or categories: a hard stop.

    Built by the guard from [`ContactPreferences`][relcore.models.ContactPreferences]; it is not a
    rule a policy file can hold. Exempt categories and priorities do not override it.

    Examples
    --------
    >>> OptOut(channels=frozenset({"sms"})).applies("sms", "promotional", None)
    True
    """

    code: ClassVar[str] = "opted_out"

    channels: frozenset[str] = attrs.field(factory=frozenset, converter=_frozen)
    categories: frozenset[str] = attrs.field(factory=frozenset, converter=_frozen)

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


@attrs.frozen(field_transformer=_scope_last)
class Snooze(_HardStop):
    """The customer's snooze: no contact at all before ``until``; a hard stop.

    Built by the guard from [`ContactPreferences`][relcore.models.ContactPreferences].

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> Snooze(datetime(2026, 12, 1, tzinfo=timezone.utc)).describe()
    'the customer snoozed all contact until 2026-12-01 00:00 UTC'
    """

    code: ClassVar[str] = "snoozed"

    until: _dt.datetime = attrs.field(eq=False)  # compared by instant, as _u
    _u: int = attrs.field(init=False, default=0, repr=False)

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


# ------------------------------------------------------------------------- registries


def _rule_classes(namespace: Mapping[str, Any]) -> tuple[type[Rule], ...]:
    """The rule classes bound in ``namespace``, in the order they were defined."""
    return tuple(
        value
        for value in namespace.values()
        if isinstance(value, type) and issubclass(value, Rule) and value is not Rule
    )


BUILTIN_RULES: tuple[type[Rule], ...] = tuple(c for c in _rule_classes(globals()) if c.code)
"""relcore's rule classes, the customer's hard stops included."""

RULE_TYPES: Mapping[str, type[Rule]] = MappingProxyType(
    {c.type_name: c for c in BUILTIN_RULES if c.type_name}
)
"""relcore's rule classes by their policy-file ``type``."""
