"""Decide many contacts at once, each with its own customer, instant and history.

[`ContactGuard.check_many`][relcore.contact_policy.ContactGuard.check_many] decides one contact (one
set of labels, one instant) for an audience. A campaign plan needs more: every row its own instant
(a deferred send), and a history that holds the sends already planned for the customer. This module
asks the same rules in the same order as the guard does for one contact (the customer's hard
stops, the customer's own limits read without a reserve, then the policy's rules for the
contact's labels), vectorised per group of rows sharing labels and priority, and iterates
every refused row to the earliest instant at which all rules pass together (the guard's
fixed point).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import PolicyError
from ._context import LAST_DECIDABLE, NEVER, BatchContext
from .guard import ContactGuard, _always_quiet, _with_contexts
from .history import History
from .rules import OptOut, Snooze

Micros = npt.NDArray[np.int64]
_FOREVER_AGO = int(np.iinfo(np.int64).min)
_MAX_ROUNDS = 10_000


def decide_rows(
    guard: ContactGuard,
    history: History,
    s: Micros,
    key: tuple[str, str | None, str | None],
    prefs: list[Any] | None,
    reduction: int,
) -> tuple[npt.NDArray[np.uint64], Micros]:
    """For row ``i`` (customer ``i`` of the compact ``history``) at ``s[i]``: the reason
    bits of the rules that fail at ``s[i]`` (in ``guard``'s bit order) and the earliest
    instant ``>= s[i]`` at which every rule passes (``NEVER`` when none does).

    ``prefs`` holds each row's [`ContactPreferences`][relcore.models.ContactPreferences] (or
    ``None``).
    """
    n = len(history)
    plan, _ = guard._plan(key)
    exempt = guard._is_exempt(key[1])
    opted, snooze, variant_of, variants, _ = guard._preference_variants(prefs, n, key, exempt)
    policy_exempt = guard.policy.exempt_categories

    def context(sub: History, zone: Any, red: int) -> BatchContext:
        return BatchContext(
            sub,
            channel=key[0],
            category=key[1],
            campaign=key[2],
            zone=zone,
            exempt=policy_exempt,
            reduction=red,
            uniform=None,
        )

    def evaluate(rows: npt.NDArray[np.int64], t: Micros, with_bits: bool) -> tuple[Any, Micros]:
        """Whether each of ``rows`` fails at ``t`` (bits or booleans) and the latest proposal."""
        bits = np.zeros(rows.size, dtype=np.uint64) if with_bits else np.zeros(rows.size, bool)
        snoozed = t < snooze[rows]
        best = np.where(snoozed, snooze[rows], t)
        if with_bits:
            bits[snoozed] |= guard._bit[Snooze.code]
        else:
            bits |= snoozed
        for v in np.unique(variant_of[rows]).tolist():
            pick = (
                np.flatnonzero(variant_of[rows] == v) if len(variants) > 1 else np.arange(rows.size)
            )
            if not pick.size:
                continue
            zone, own = variants[v]
            sub = history.take(rows[pick])
            ctx = context(sub, zone, reduction)
            own_ctx = context(sub, zone, 0) if own and reduction else ctx
            tp = t[pick]
            for rule, targets, rctx in _with_contexts(own, own_ctx, plan, ctx):
                fails, props = rule._eval_many(rctx, targets, tp)
                if fails.any():
                    hit = pick[fails]
                    if with_bits:
                        bits[hit] |= guard._bit[rule.code]
                    else:
                        bits[hit] = True
                    best[hit] = np.maximum(best[hit], props[fails])
        return bits, best

    everyone = np.arange(n)
    bits, best = evaluate(everyone, s, True)
    bits[opted] |= guard._bit[OptOut.code]
    best[opted] = NEVER
    allowed = bits == 0
    nxt = np.where(allowed, s, best)
    nxt[nxt > LAST_DECIDABLE] = NEVER
    for v, (_, own) in enumerate(variants):
        if _always_quiet((*own, *plan)):
            nxt[~allowed & (variant_of == v)] = NEVER
    todo = np.flatnonzero(~allowed & (nxt < NEVER))
    for _ in range(_MAX_ROUNDS):
        if not todo.size:
            break
        t = nxt[todo]
        fail, prop = evaluate(todo, t, False)
        nxt[todo] = np.where(fail, np.where(prop > LAST_DECIDABLE, NEVER, prop), t)
        todo = todo[fail & (nxt[todo] < NEVER)]
    else:
        raise PolicyError(
            "rules",
            "next_allowed_at did not settle: a rule keeps proposing a later time than "
            "it then allows; check the rules of your own (or report this policy)",
        )
    return bits, nxt
