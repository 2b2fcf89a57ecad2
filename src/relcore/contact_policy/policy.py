"""A contact policy: the company's rules, its exempt categories and default time zone.

A policy is data. It is built in Python or read from a TOML file (or any mapping of the same shape)
whose schema is strict: an unknown key, a value of the wrong type, a negative duration or an unknown
time zone raises [`PolicyError`][relcore.errors.PolicyError] naming the key path (``rules[2].per``).
Nothing in a policy file is ever executed or imported.

The file format::

    name = "retail-2026"                    # optional
    timezone = "America/New_York"           # for customers whose zone is not known
    exempt_categories = ["transactional"]   # not capped; still recorded; opt-outs apply
    uncategorized = "counted"               # or "not_counted": see Policy.uncategorized
    unsubscribe_opts_out = true             # an unsubscribe event opts the customer out

    [reserve]                               # optional: keep the last slot of every cap
    slots = 1                               # for contacts of priority >= 10
    min_priority = 10

    [[rules]]
    type = "frequency_cap"                  # frequency_cap, minimum_gap, quiet_hours,
    count = 3                               # cooldown, outcome_suppression, fatigue_limit,
    per = "7d"                              # global_control (or your own: rule_types=)
                                            # per: or "calendar_day" / "_week" / "_month"
    channel = "email"                       # optional scope: channel, category, campaign,
    category = "promotional"                # each = ["channel"]
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .._durations import describe_duration
from .._time import resolve_zone
from ..errors import PolicyError
from ._schema import check_keys, read_count, read_int, read_label
from ._schema import read_labels as _read_labels
from ._schema import read_zone as _read_zone
from ._schema import show as _show
from ._schema import to_toml as _to_toml
from ._schema import type_name as _type_name
from .contact import Reserve
from .rules import RULE_TYPES, FrequencyCap, Rule

__all__ = ["Policy"]

_TOP_KEYS = (
    "name",
    "timezone",
    "exempt_categories",
    "uncategorized",
    "unsubscribe_opts_out",
    "reserve",
    "rules",
)
UNCATEGORIZED: tuple[str, ...] = ("counted", "not_counted")
"""The values of [`Policy.uncategorized`][relcore.contact_policy.Policy.uncategorized]; the first is
the default."""


def _rules(values: Iterable[Rule]) -> tuple[Rule, ...]:
    out = tuple(values)
    for i, rule in enumerate(out):
        if not isinstance(rule, Rule) or not type(rule).type_name or not type(rule).code:
            known = ", ".join(cls.__name__ for cls in RULE_TYPES.values())
            raise TypeError(
                f"rules[{i}] must be a policy rule ({known}, or a Rule of your own with a "
                f"type_name and a code), got {rule!r}"
            )
    return out


def known_rule_types(extra: Iterable[type[Rule]]) -> Mapping[str, type[Rule]]:
    """relcore's rule types and ``extra`` ones, by their policy-file ``type``."""
    extra = tuple(extra)
    if not extra:
        return RULE_TYPES
    types = dict(RULE_TYPES)
    for rule_type in extra:
        if not (isinstance(rule_type, type) and issubclass(rule_type, Rule)):
            raise TypeError(f"rule_types must hold Rule subclasses, got {rule_type!r}")
        if not rule_type.type_name:
            raise TypeError(f"{rule_type.__name__} has no type_name to name it in a policy file")
        types[rule_type.type_name] = rule_type
    return types


def _str_set(values: Iterable[str] | str | None) -> frozenset[str]:
    if values is None:
        return frozenset()
    items = frozenset({values}) if isinstance(values, str) else frozenset(values)
    for v in items:
        if not isinstance(v, str) or not v:
            raise ValueError(f"exempt_categories must hold non-empty strings, got {v!r}")
    return items


def _zone(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    resolve_zone(value)


def _uncategorized(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in UNCATEGORIZED:
        raise ValueError(f"uncategorized must be 'counted' or 'not_counted', got {value!r}")


def _bool(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{attribute.name} must be True or False, got {value!r}")


@attrs.frozen
class Policy:
    """The company's contact rules.

    Attributes
    ----------
    rules
        The rules, all of which a contact must pass.
    exempt_categories
        Categories (e.g. ``"transactional"``) that no company rule applies to and no cap
        or gap counts: receipts and password resets go out regardless. They are still
        recorded, and the customer's opt-outs and snooze still stop them.
    timezone
        IANA zone used for customers whose preferences name none.
    reserve
        Optionally keep the last slots of every company cap for high-priority contacts
        (the customer's own limits are never cut by it).
    uncategorized
        What a contact without a category is to rules scoped to a category.
        ``"counted"`` (the default, the safe reading: it could be of any category) makes
        such rules hold it back and count it, in the history too: a cap on promotional
        emails counts emails without a category, a cap kept for each category counts
        every category against a contact without one, and a global control group scoped
        to promotional contacts does not get one without a category.
        ``"not_counted"`` treats "no category" as a category of its own that no scoped
        rule names (rules without a category scope still apply).
    unsubscribe_opts_out
        Whether an ``"unsubscribe"`` event recorded with a category (or else a channel)
        opts the customer out of it in the preferences the ledger stores for them.
    name
        A label for the policy (optional); audit records carry it with
        [`content_hash`][relcore.contact_policy.Policy.content_hash].

    Examples
    --------
    >>> from datetime import time, timedelta
    >>> from relcore.contact_policy import FrequencyCap, QuietHours
    >>> policy = Policy(
    ...     rules=[FrequencyCap(3, per=timedelta(days=7), channel="email"),
    ...            QuietHours(start=time(21), end=time(8))],
    ...     exempt_categories={"transactional"}, timezone="America/New_York")
    >>> Policy.from_dict(policy.to_dict()) == policy
    True
    >>> print(policy.to_dict()["rules"][0])
    {'type': 'frequency_cap', 'count': 3, 'per': '7d', 'channel': 'email'}
    """

    rules: tuple[Rule, ...] = attrs.field(converter=_rules)
    exempt_categories: frozenset[str] = attrs.field(
        factory=frozenset, converter=_str_set, kw_only=True
    )
    timezone: str = attrs.field(default="UTC", kw_only=True, validator=_zone)
    reserve: Reserve | None = attrs.field(
        default=None,
        kw_only=True,
        validator=attrs.validators.optional(attrs.validators.instance_of(Reserve)),
    )
    name: str | None = attrs.field(default=None, kw_only=True)
    uncategorized: str = attrs.field(default="counted", kw_only=True, validator=_uncategorized)
    unsubscribe_opts_out: bool = attrs.field(default=True, kw_only=True, validator=_bool)

    @property
    def content_hash(self) -> str:
        """A SHA-256 of the policy's content (its
        [`to_dict`][relcore.contact_policy.Policy.to_dict], keys sorted): two policies hash alike
        exactly when they are equal, whatever their file's layout.

        Audit records carry it with the policy's name, so each decision names the
        version of the policy that made it.

        Examples
        --------
        >>> a = Policy.from_toml_text('timezone = "UTC"\\n[[rules]]\\ntype = "minimum_gap"\\ngap = "1d"')
        >>> b = Policy.from_toml_text('[[rules]]\\ngap = "24h"\\ntype = "minimum_gap"')
        >>> a.content_hash == b.content_hash, len(a.content_hash)
        (True, 64)
        """  # noqa: E501
        canonical = json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def zone(self) -> _dt.tzinfo:
        """The default time zone as a tzinfo."""
        return resolve_zone(self.timezone)

    @property
    def retention(self) -> _dt.timedelta | None:
        """How much ledger history the rules read; older entries can be pruned.

        ``None`` when a rule reads all history. Customers' own limits may reach further
        back (see [`ContactGuard.prune`][relcore.contact_policy.ContactGuard.prune]).
        """
        longest = _dt.timedelta(0)
        for rule in self.rules:
            back = rule.lookback
            if back is None:
                return None
            longest = max(longest, back)
        return longest

    # ------------------------------------------------------------------ reading

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, rule_types: Iterable[type[Rule]] = ()) -> Policy:
        """Read a policy from a mapping shaped like the policy file.

        Parameters
        ----------
        data
            The policy, as [`to_dict`][relcore.contact_policy.Policy.to_dict] writes it.
        rule_types
            Rule classes of your own that the file may name by their ``type_name``,
            besides relcore's.

        Raises
        ------
        PolicyError
            Naming the key path of the first problem.
        """
        types = known_rule_types(rule_types)
        if not isinstance(data, Mapping):
            raise TypeError(
                "a policy must be a mapping shaped like the policy file (as Policy.to_dict "
                f"writes it), got {type(data).__name__}"
            )
        data = dict(data)
        check_keys(data, _TOP_KEYS, "", "a policy")
        kwargs: dict[str, Any] = {}
        if "name" in data:
            kwargs["name"] = read_label(data["name"], "name")
        if "timezone" in data:
            kwargs["timezone"] = _read_zone(data["timezone"], "timezone")
        if "exempt_categories" in data:
            kwargs["exempt_categories"] = _read_labels(
                data["exempt_categories"], "exempt_categories"
            )
        if "uncategorized" in data:
            value = data["uncategorized"]
            if value not in UNCATEGORIZED:
                raise PolicyError(
                    "uncategorized", f"must be 'counted' or 'not_counted', got {_show(value)}"
                )
            kwargs["uncategorized"] = value
        if "unsubscribe_opts_out" in data:
            value = data["unsubscribe_opts_out"]
            if not isinstance(value, bool):
                raise PolicyError(
                    "unsubscribe_opts_out", f"must be true or false, got {_show(value)}"
                )
            kwargs["unsubscribe_opts_out"] = value
        if "reserve" in data:
            reserve = data["reserve"]
            check_keys(reserve, ("slots", "min_priority"), "reserve", "reserve")
            for key in ("slots", "min_priority"):
                if key not in reserve:
                    raise PolicyError(f"reserve.{key}", "is required")
            kwargs["reserve"] = Reserve(
                slots=read_count(reserve["slots"], "reserve.slots"),
                min_priority=read_int(reserve["min_priority"], "reserve.min_priority"),
            )
        raw_rules = data.get("rules", [])
        if not isinstance(raw_rules, list):
            raise PolicyError("rules", f"must be an array of tables, got {_type_name(raw_rules)}")
        rules = []
        for i, item in enumerate(raw_rules):
            path = f"rules[{i}]"
            if not isinstance(item, dict):
                raise PolicyError(path, f"must be a table, got {_type_name(item)}")
            if "type" not in item:
                raise PolicyError(f"{path}.type", f"is required: one of {', '.join(types)}")
            kind = item["type"]
            if not isinstance(kind, str):
                raise PolicyError(
                    f"{path}.type",
                    f"must be a string naming a rule type (one of {', '.join(types)}), "
                    f"got {_type_name(kind)}",
                )
            if kind not in types:
                raise PolicyError(
                    f"{path}.type", f"unknown rule type {kind!r}; one of {', '.join(types)}"
                )
            rules.append(types[kind].from_dict(item, path))
        try:
            return cls(rules, **kwargs)
        except (ValueError, TypeError) as exc:
            raise PolicyError("", str(exc)) from None

    @classmethod
    def from_toml(
        cls, path: str | os.PathLike[str], *, rule_types: Iterable[type[Rule]] = ()
    ) -> Policy:
        """Read a policy file, given its path (a string is always a path).

        ``rule_types`` are rule classes of your own that the file may name (see
        [`from_dict`][relcore.contact_policy.Policy.from_dict]). To read a policy from TOML text,
        use [`from_toml_text`][relcore.contact_policy.Policy.from_toml_text].

        Raises
        ------
        PolicyError
            When the file cannot be read or does not validate (naming the key path).

        Examples
        --------
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "policy=v2.toml")
        >>> with open(path, "w") as f:
        ...     _ = f.write('[[rules]]\\ntype = "minimum_gap"\\ngap = "20h"\\n')
        >>> Policy.from_toml(path).rules[0].describe()
        'at least 20 hours between contacts'
        """
        if not isinstance(path, str | os.PathLike):
            raise TypeError(
                f"path must be the policy file's path (a str or os.PathLike), got "
                f"{type(path).__name__}; read TOML text with Policy.from_toml_text"
            )
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            looks_like_text = isinstance(path, str) and ("\n" in path or "=" in path)
            hint = (
                "; to read TOML text, use Policy.from_toml_text"
                if looks_like_text and not os.path.exists(path)
                else ""
            )
            name = str(path)
            shown = repr(name) if len(name) <= 4096 else _show(name)  # text passed by mistake
            raise PolicyError("", f"cannot read the policy file {shown}: {why}{hint}") from None
        return cls.from_toml_text(text, rule_types=rule_types)

    @classmethod
    def from_toml_text(cls, text: str, *, rule_types: Iterable[type[Rule]] = ()) -> Policy:
        """Read a policy from the text of a policy file.

        ``rule_types`` are rule classes of your own that the text may name (see
        [`from_dict`][relcore.contact_policy.Policy.from_dict]).

        Examples
        --------
        >>> policy = Policy.from_toml_text('''
        ... timezone = "Europe/Paris"
        ... [[rules]]
        ... type = "minimum_gap"
        ... gap = "20h"
        ... channel = "sms"
        ... ''')
        >>> policy.rules
        (MinimumGap(gap=datetime.timedelta(seconds=72000), channel='sms', category=None, campaign=None, each=()),)
        >>> Policy.from_toml_text('[[rules]]\\ntype = "frequency_cap"\\ncount = 3\\nper = "-7d"')
        Traceback (most recent call last):
        ...
        relcore.errors.PolicyError: rules[0].per: must be a positive duration such as '7d', '20h' or '1d12h', got '-7d'
        """  # noqa: E501
        if not isinstance(text, str):
            raise TypeError(
                f"text must be the policy file's text (a str), got {type(text).__name__}; "
                "read a file with Policy.from_toml"
            )
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError("", f"not valid TOML: {exc}") from None
        except RecursionError:  # tomllib parses nested arrays and tables recursively
            raise PolicyError("", "not valid TOML: arrays or tables nested too deeply") from None
        return cls.from_dict(data, rule_types=rule_types)

    # ------------------------------------------------------------------ writing

    def to_dict(self) -> dict[str, Any]:
        """The policy as a mapping; [`from_dict`][relcore.contact_policy.Policy.from_dict] reads it
        back to an equal policy."""
        out: dict[str, Any] = {}
        if self.name is not None:
            out["name"] = self.name
        out["timezone"] = self.timezone
        if self.exempt_categories:
            out["exempt_categories"] = sorted(self.exempt_categories)
        if self.uncategorized != UNCATEGORIZED[0]:
            out["uncategorized"] = self.uncategorized
        if not self.unsubscribe_opts_out:
            out["unsubscribe_opts_out"] = False
        if self.reserve is not None:
            out["reserve"] = {
                "slots": self.reserve.slots,
                "min_priority": self.reserve.min_priority,
            }
        out["rules"] = [rule.to_dict() for rule in self.rules]
        return out

    def to_toml(self) -> str:
        """The policy as a TOML policy file."""
        return _to_toml(self.to_dict())

    def describe(self) -> str:
        """The policy in plain words, one rule a line."""
        lines = []
        if self.name:
            lines.append(f"policy {self.name}")
        lines.append(f"default time zone: {self.timezone}")
        if self.exempt_categories:
            lines.append(
                f"exempt: {', '.join(sorted(self.exempt_categories))} contacts (no company rule "
                "applies; still recorded; the customer's opt-outs and snooze still apply)"
            )
        if self.reserve is not None and self.reserve.slots:
            n = self.reserve.slots
            lines.append(
                f"reserve: the last {n} {'slot' if n == 1 else 'slots'} of every company cap "
                f"{'is' if n == 1 else 'are'} kept for priority >= {self.reserve.min_priority} "
                "(customers' own limits are not cut)"
            )
        if any(r.category is not None or "category" in r.each for r in self.rules):
            lines.append(
                "contacts without a category: "
                + (
                    "held and counted by rules scoped to a category (they could be of any)"
                    if self.uncategorized == "counted"
                    else "neither held nor counted by rules scoped to a category"
                )
            )
        lines.append(
            "unsubscribe events: "
            + (
                "opt the customer out of their category (else channel) in stored preferences"
                if self.unsubscribe_opts_out
                else "recorded only; stored preferences are left as they are"
            )
        )
        if not self.rules:
            lines.append("no rules: every contact is allowed (customers' preferences still apply)")
        for i, rule in enumerate(self.rules, 1):
            line = f"{i}. {rule.describe()}"
            reserve = self.reserve
            # the reserve holds back slots of frequency caps only (a rule of your own may
            # have a "count" that means something else)
            if (
                reserve is not None
                and reserve.slots
                and isinstance(rule, FrequencyCap)
                and rule.count <= reserve.slots
            ):
                line += f" [with the reserve: nothing below priority {reserve.min_priority}]"
            lines.append(line)
        back = self.retention
        if back is not None and self.rules:
            lines.append(f"history read: the last {describe_duration(back)}")
        return "\n".join(lines)

    def warnings(self) -> tuple[str, ...]:
        """What in this valid policy is probably not meant, one sentence each.

        Today: a [`Reserve`][relcore.contact_policy.Reserve] that can never be satisfied. A
        frequency cap with no more slots than the reserve keeps refuses every contact below the
        reserve's priority in its scope, for good (``next_allowed_at`` is ``None``, as for an
        opt-out); a reserve without a frequency cap keeps nothing. ``relcore policy check`` prints
        these.

        Examples
        --------
        >>> from relcore.contact_policy import FrequencyCap, Reserve
        >>> policy = Policy([FrequencyCap(1, per="7d")], reserve=Reserve(1, 10))
        >>> print(*policy.warnings())
        rules[0] (at most 1 contact in any 7 days): the reserve keeps its only slot for priority >= 10, so every contact of lower priority in its scope is refused for good
        """  # noqa: E501
        reserve = self.reserve
        if reserve is None or not reserve.slots:
            return ()
        out = []
        caps = [(i, r) for i, r in enumerate(self.rules) if isinstance(r, FrequencyCap)]
        if not caps:
            out.append(
                f"the reserve keeps {reserve.slots} slot(s) of every frequency cap for priority "
                f">= {reserve.min_priority}, but the policy has no frequency cap: it keeps nothing"
            )
        for i, rule in caps:
            if rule.count > reserve.slots:
                continue
            if rule.count == 0:
                continue  # a cap of zero refuses everyone anyway, and says so itself
            kept = "its only slot" if rule.count == 1 else f"all its {rule.count} slots"
            short = (
                f" (and {reserve.slots} slots are more than the cap has)"
                if rule.count < reserve.slots
                else ""
            )
            out.append(
                f"rules[{i}] ({rule.describe()}): the reserve keeps {kept} for priority >= "
                f"{reserve.min_priority}{short}, so every contact of lower priority in its "
                "scope is refused for good"
            )
        return tuple(out)
