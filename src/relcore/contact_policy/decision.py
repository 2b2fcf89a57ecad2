"""Answers: may this contact go out, and if not, why not and when.

A [`Decision`][relcore.contact_policy.Decision] answers for one contact; a
[`BatchDecision`][relcore.contact_policy.BatchDecision] for a whole audience, as arrays; an
[`Arbitration`][relcore.contact_policy.Arbitration] for competing messages.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from .. import _json
from .._result import Table, TableResult, keyed
from ..errors import DataError, PolicyError
from .contact import Contact
from .policy import known_rule_types
from .rules import BUILTIN_RULES, OptOut, Rule, Snooze

__all__ = ["REASON_CODES", "Arbitration", "BatchDecision", "Decision", "Reason"]

OUTRANKED = "outranked"
"""The code of a candidate that passed every rule but lost to a better one."""

# The bit of a code in BatchDecision.reason_bits is its position in REASON_CODES, a stored
# format: these are the codes of released versions, in their order, and any new rule's
# code is appended after them.
_RELEASED_CODES = (
    "opted_out",
    "snoozed",
    "frequency_cap",
    "minimum_gap",
    "quiet_hours",
    "cooldown",
    "outcome_suppression",
    "fatigue",
    OUTRANKED,
    "holdout",
)
REASON_CODES: tuple[str, ...] = tuple(
    dict.fromkeys([*_RELEASED_CODES, *(rule.code for rule in BUILTIN_RULES)])
)
"""Every reason code relcore's rules give, in the order of their bits in ``reason_bits``."""
_MAX_CODES = 64  # bits of reason_bits


def reason_codes(rules: Iterable[Rule]) -> tuple[str, ...]:
    """`REASON_CODES`, then the codes of ``rules`` not among them (rules of your own).

    Raises
    ------
    PolicyError
        When there would be more than 64 codes (the bits of ``reason_bits``).
    """
    codes = tuple(dict.fromkeys([*REASON_CODES, *(rule.code for rule in rules)]))
    if len(codes) > _MAX_CODES:
        raise PolicyError("rules", f"at most {_MAX_CODES} distinct reason codes, got {len(codes)}")
    return codes


@attrs.frozen
class Reason:
    """Why a contact was refused: one failing rule.

    Attributes
    ----------
    code
        Stable machine-readable code: ``"frequency_cap"``, ``"minimum_gap"``,
        ``"quiet_hours"``, ``"cooldown"``, ``"outcome_suppression"``, ``"fatigue"``,
        ``"holdout"``, ``"opted_out"``, ``"snoozed"`` or ``"outranked"`` (or the code of a
        rule of your own).
    rule
        The rule that failed (a customer's preferences appear as the equivalent rule;
        ``None`` for ``"outranked"``, where no rule failed but a better message won).
    message
        What a person reads: ``"3 of 3 promotional emails in the last 7 days; next
        allowed 2026-11-30 10:00 America/New_York"``.

    Examples
    --------
    >>> from datetime import timedelta
    >>> from relcore.contact_policy import FrequencyCap
    >>> r = Reason("frequency_cap", FrequencyCap(3, per=timedelta(days=7)), "3 of 3 ...")
    >>> r.code
    'frequency_cap'
    """

    code: str
    rule: Rule | None
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The reason as JSON-safe values; the rule as its policy-file table.

        A customer's opt-out and snooze, which no policy file holds, are written
        ``{"type": "opted_out", "channels": [...], "categories": [...]}`` and
        ``{"type": "snoozed", "until": "..."}``.
        """
        return {"code": self.code, "message": self.message, "rule": _rule_to_dict(self.rule)}

    @classmethod
    def from_dict(
        cls, data: Any, path: str = "", *, rule_types: Iterable[type[Rule]] = ()
    ) -> Reason:
        """Read a reason written by [`to_dict`][relcore.contact_policy.Reason.to_dict];
        ``rule_types`` are rule classes of your own that it may name (see
        [`Policy.from_dict`][relcore.contact_policy.Policy.from_dict])."""
        d = _json.fields(data, path, "a reason", required=("code", "message"), optional=("rule",))
        code = _json.read_str(d["code"], _json.path_of(path, "code"))
        message = d["message"]
        if not isinstance(message, str):
            raise DataError(
                _json.path_of(path, "message"), f"must be a string, got {_json.show(message)}"
            )
        rule = _rule_from_dict(d.get("rule"), _json.path_of(path, "rule"), rule_types)
        return cls(code, rule, message)


@attrs.frozen
class Decision:
    """Whether one contact may go out now.

    Attributes
    ----------
    allowed
        ``True`` when every rule passes. A decision is also truthy exactly then.
    reasons
        Every failing rule, in policy order (customer's preferences first).
    next_allowed_at
        The earliest instant at which the same contact passes all rules together, as an
        aware datetime in UTC (the messages show it on the customer's clock): the
        contact's own time when allowed, ``None`` when it never will (an opt-out), or not
        before the end of 9998-12-31, the last day contacts are decided for.
    contact
        The contact decided on.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> d = Decision(True, (), datetime(2026, 3, 1, tzinfo=timezone.utc))
    >>> bool(d), d.codes
    (True, ())
    """

    allowed: bool
    reasons: tuple[Reason, ...]
    next_allowed_at: _dt.datetime | None
    contact: Contact | None = None

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def codes(self) -> tuple[str, ...]:
        """The reasons' codes."""
        return tuple(r.code for r in self.reasons)

    def explain(self) -> str:
        """One line per reason, or ``"allowed"``."""
        if self.allowed:
            return "allowed"
        return "\n".join(str(r) for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON-safe values: instants in ISO 8601 with their UTC offset,
        each reason with its rule's policy-file table, and ``codes`` for convenience.

        [`from_dict`][relcore.contact_policy.Decision.from_dict] reads it back to an equal decision.

        Examples
        --------
        >>> import json
        >>> from datetime import datetime, timedelta, timezone
        >>> from relcore.contact_policy import Contact, ContactGuard, FrequencyCap, Policy
        >>> guard = ContactGuard(Policy([FrequencyCap(1, per=timedelta(days=7))]))
        >>> at = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
        >>> _ = guard.request(Contact("c42", channel="email", at=at))
        >>> d = guard.check(Contact("c42", channel="email", at=at + timedelta(days=1)))
        >>> data = d.to_dict()
        >>> data["codes"], data["next_allowed_at"], data["reasons"][0]["rule"]
        (['frequency_cap'], '2026-11-30T10:00:00+00:00', {'type': 'frequency_cap', 'count': 1, 'per': '7d'})
        >>> Decision.from_dict(json.loads(json.dumps(data))) == d
        True
        """  # noqa: E501
        return {
            "allowed": self.allowed,
            "codes": list(self.codes),
            "reasons": [r.to_dict() for r in self.reasons],
            "next_allowed_at": (
                None if self.next_allowed_at is None else _json.write_instant(self.next_allowed_at)
            ),
            "contact": None if self.contact is None else self.contact.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any, *, rule_types: Iterable[type[Rule]] = ()) -> Decision:
        """Read a decision written by [`to_dict`][relcore.contact_policy.Decision.to_dict].

        ``rule_types`` are rule classes of your own that its reasons may name. A bad
        value is a [`DataError`][relcore.errors.DataError] naming its key path (a bad rule table a
        [`PolicyError`][relcore.errors.PolicyError], as in a policy file).
        """
        d = _json.fields(
            data,
            "",
            "a decision",
            required=("allowed",),
            optional=("codes", "reasons", "next_allowed_at", "contact"),
        )
        allowed = _json.read_bool(d["allowed"], "allowed")
        raw = d.get("reasons", [])
        if not isinstance(raw, list | tuple):
            raise DataError("reasons", f"must be an array of reasons, got {_json.show(raw)}")
        reasons = tuple(
            Reason.from_dict(r, f"reasons[{i}]", rule_types=rule_types) for i, r in enumerate(raw)
        )
        if "codes" in d:
            codes = _json.read_strs(d["codes"], "codes")
            if tuple(codes) != tuple(r.code for r in reasons):
                raise DataError("codes", f"{codes} are not the codes of the reasons")
        nxt = _json.read_optional_instant(d.get("next_allowed_at"), "next_allowed_at")
        contact = d.get("contact")
        return cls(
            allowed,
            reasons,
            nxt,
            None if contact is None else Contact.from_dict(contact, "contact"),
        )


def _rule_to_dict(rule: Rule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    if isinstance(rule, OptOut):
        return {
            "type": OptOut.code,
            "channels": sorted(rule.channels),
            "categories": sorted(rule.categories),
        }
    if isinstance(rule, Snooze):
        return {"type": Snooze.code, "until": _json.write_instant(rule.until)}
    return rule.to_dict()


def _rule_from_dict(data: Any, path: str, rule_types: Iterable[type[Rule]]) -> Rule | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise DataError(path, f"must be a rule's table or null, got {_json.show(data)}")
    kind = data.get("type")
    if kind == OptOut.code:
        d = _json.fields(
            data, path, "an opt-out", required=("type",), optional=("channels", "categories")
        )
        return OptOut(
            channels=_json.read_strs(d.get("channels", []), _json.path_of(path, "channels")),
            categories=_json.read_strs(d.get("categories", []), _json.path_of(path, "categories")),
        )
    if kind == Snooze.code:
        d = _json.fields(data, path, "a snooze", required=("type", "until"))
        return Snooze(_json.read_instant(d["until"], _json.path_of(path, "until")))
    types = known_rule_types(rule_types)
    if not isinstance(kind, str) or kind not in types:
        raise PolicyError(
            _json.path_of(path, "type"),
            f"unknown rule type {_json.show(kind)}; one of {', '.join(types)} (a rule of "
            "your own is read with rule_types=)",
        )
    return types[kind].from_dict(dict(data), path)


class BatchDecision(TableResult):
    """Decisions for a whole audience, as arrays aligned with the customer ids.

    Attributes
    ----------
    customer_ids
        The audience, as asked.
    allowed
        Boolean array.
    reason_bits
        uint64 array: bit ``codes.index(code)`` is set for every failing code.
    next_allowed_at
        ``datetime64[us]`` array (UTC): the earliest instant the same contact passes all
        rules; the decision time where allowed; ``NaT`` where never (opted out).
    at
        The instant decided for.
    codes
        The code of each bit: `REASON_CODES`, followed by the codes of any rules of
        your own in the policy.

    Examples
    --------
    >>> import numpy as np
    >>> b = BatchDecision(np.array(["a", "b"], dtype=object), np.array([True, False]),
    ...                   np.array([0, 1 << 2], dtype=np.uint64),
    ...                   np.array([0, 5], dtype="datetime64[us]"), 0)
    >>> b.reason_codes.tolist()
    [(), ('frequency_cap',)]
    >>> b.counts()
    {'frequency_cap': 1}
    """

    __slots__ = (
        "_by_customer",
        "allowed",
        "at",
        "codes",
        "customer_ids",
        "next_allowed_at",
        "reason_bits",
    )

    def __init__(
        self,
        customer_ids: npt.NDArray[Any],
        allowed: npt.NDArray[np.bool_],
        reason_bits: npt.NDArray[np.uint64],
        next_allowed_at: npt.NDArray[np.datetime64],
        at: int,
        codes: tuple[str, ...] = REASON_CODES,
    ) -> None:
        self.customer_ids = customer_ids
        self.allowed = allowed
        self.reason_bits = reason_bits
        self.next_allowed_at = next_allowed_at
        self.at = at
        self.codes = codes
        self._by_customer: npt.NDArray[np.object_] | None = None

    def __len__(self) -> int:
        return int(self.allowed.shape[0])

    def __repr__(self) -> str:
        n = len(self)
        return f"BatchDecision({n:,} customers, {int(self.allowed.sum()):,} allowed)"

    def refused_by(self, code: str) -> npt.NDArray[np.bool_]:
        """Boolean array: where ``code`` is among the reasons."""
        if code not in self.codes:
            raise ValueError(f"unknown reason code {code!r}; known: {', '.join(self.codes)}")
        bit = np.uint64(1 << self.codes.index(code))
        return np.asarray((self.reason_bits & bit) != 0)

    @property
    def reason_codes(self) -> npt.NDArray[np.object_]:
        """Object array of tuples: the failing codes of each customer (``()`` if allowed)."""
        if self._by_customer is None:
            distinct, inverse = np.unique(self.reason_bits, return_inverse=True)
            table = np.empty(distinct.size, dtype=object)
            for j, bits in enumerate(distinct.tolist()):
                table[j] = tuple(c for i, c in enumerate(self.codes) if bits >> i & 1)
            self._by_customer = table[inverse.reshape(-1)]
        return self._by_customer

    def _table(self) -> Table:
        """Keyed by customer: ``allowed``, ``reasons`` (the failing codes, comma-separated)
        and ``next_allowed_at``."""
        distinct, inverse = np.unique(self.reason_bits, return_inverse=True)
        text = np.array(
            [
                ",".join(c for i, c in enumerate(self.codes) if bits >> i & 1)
                for bits in distinct.tolist()
            ],
            dtype=object,
        )
        columns = {
            "allowed": self.allowed,
            "reasons": text[inverse.reshape(-1)],
            "next_allowed_at": self.next_allowed_at,
        }
        return keyed(self.customer_ids, columns)

    def counts(self) -> dict[str, int]:
        """How many customers each code refused (a customer counts once per code)."""
        out: dict[str, int] = {}
        for i, code in enumerate(self.codes):
            n = int(np.count_nonzero(self.reason_bits & np.uint64(1 << i)))
            if n:
                out[code] = n
        return out


@attrs.frozen
class Arbitration:
    """The outcome of [`ContactGuard.arbitrate`][relcore.contact_policy.ContactGuard.arbitrate].

    Attributes
    ----------
    chosen
        The contacts to send, highest priority first within each customer.
    decisions
        One decision per candidate, in the order the candidates were given; a candidate
        that passed every rule but lost to a better one for the same customer is refused
        with code ``"outranked"``.
    """

    chosen: tuple[Contact, ...]
    decisions: tuple[Decision, ...]

    def __iter__(self) -> Iterator[Contact]:
        return iter(self.chosen)

    def __len__(self) -> int:
        return len(self.chosen)
