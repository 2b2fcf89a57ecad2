"""Contact policies: declarative rules that stop a company from hounding its customers.

A [`Policy`][relcore.contact_policy.Policy] holds the company's rules
([`FrequencyCap`][relcore.contact_policy.FrequencyCap],
[`MinimumGap`][relcore.contact_policy.MinimumGap],
[`QuietHours`][relcore.contact_policy.QuietHours], [`Cooldown`][relcore.contact_policy.Cooldown],
[`OutcomeSuppression`][relcore.contact_policy.OutcomeSuppression],
[`FatigueLimit`][relcore.contact_policy.FatigueLimit],
[`GlobalControl`][relcore.contact_policy.GlobalControl], or a [`Rule`][relcore.contact_policy.Rule]
of your own); a [`ContactGuard`][relcore.contact_policy.ContactGuard] applies it, together with each
customer's own [`ContactPreferences`][relcore.models.ContactPreferences] (which the guard turns into
the hard stops [`OptOut`][relcore.contact_policy.OptOut] and
[`Snooze`][relcore.contact_policy.Snooze], and limits of its own), to contacts and remembers them in
a ledger ([`MemoryLedger`][relcore.contact_policy.MemoryLedger],
[`SQLiteLedger`][relcore.contact_policy.SQLiteLedger]). Every refusal says which rules failed and
when the same contact would be allowed. For a messaging service the guard takes idempotency keys,
holds slots for sends in two phases
([`ContactGuard.reserve`][relcore.contact_policy.ContactGuard.reserve], then ``confirm`` or
``release``), reads customers' preferences stored in the ledger and keeps an audit trail
([`AuditRecord`][relcore.contact_policy.AuditRecord]); decisions, contacts and preferences read and
write JSON (``to_dict``/``from_dict``).

Examples
--------
>>> from datetime import datetime, time, timedelta, timezone
>>> from relcore.contact_policy import (Contact, ContactGuard, FrequencyCap, MemoryLedger,
...                                     Policy, QuietHours)
>>> policy = Policy([FrequencyCap(3, per=timedelta(days=7), channel="email"),
...                  QuietHours(start=time(21), end=time(8))],
...                 timezone="America/New_York")
>>> guard = ContactGuard(policy, MemoryLedger())
>>> late = datetime(2026, 11, 27, 3, tzinfo=timezone.utc)  # 22:00 in New York
>>> d = guard.check(Contact("c42", channel="email", category="promotional", at=late))
>>> d.allowed, d.codes
(False, ('quiet_hours',))
>>> print(d.next_allowed_at)  # 08:00 in New York
2026-11-27 13:00:00+00:00
"""

from ._simulate import SimulationResult, simulate
from .audit import AuditRecord
from .contact import Contact, Reserve
from .decision import REASON_CODES, Arbitration, BatchDecision, Decision, Reason
from .fatigue import ContactFatigue, FatigueScorer
from .guard import ContactGuard
from .history import CustomerRows, Entry, History
from .ledger import Erasure, KeyedEntry, Ledger, LedgerSession, MemoryLedger
from .planning import (
    Budget,
    CampaignPlan,
    CommitResult,
    PolicyComparison,
    RateLimit,
    compare,
    plan_campaign,
)
from .policy import Policy
from .postgres import PostgresLedger
from .rules import (
    Cooldown,
    FatigueLimit,
    FrequencyCap,
    GlobalControl,
    MinimumGap,
    OptOut,
    OutcomeSuppression,
    QuietHours,
    Rule,
    Snooze,
    parameter,
)
from .sqlite import SQLiteLedger
from .statement import CustomerStatement, StatementEntry, StatementScore, customer_statement

__all__ = [
    "REASON_CODES",
    "Arbitration",
    "AuditRecord",
    "BatchDecision",
    "Budget",
    "CampaignPlan",
    "CommitResult",
    "Contact",
    "ContactFatigue",
    "ContactGuard",
    "Cooldown",
    "CustomerRows",
    "CustomerStatement",
    "Decision",
    "Entry",
    "Erasure",
    "FatigueLimit",
    "FatigueScorer",
    "FrequencyCap",
    "GlobalControl",
    "History",
    "KeyedEntry",
    "Ledger",
    "LedgerSession",
    "MemoryLedger",
    "MinimumGap",
    "OptOut",
    "OutcomeSuppression",
    "Policy",
    "PolicyComparison",
    "PostgresLedger",
    "QuietHours",
    "RateLimit",
    "Reason",
    "Reserve",
    "Rule",
    "SQLiteLedger",
    "SimulationResult",
    "Snooze",
    "StatementEntry",
    "StatementScore",
    "compare",
    "customer_statement",
    "parameter",
    "plan_campaign",
    "simulate",
]
