"""Who reached towards whom: each event of a log as a customer action, a company contact,
a negative signal, or none of these.

* A **customer action** is an event the customer initiated (``initiator == "customer"``)
  or whose kind is one only a customer performs (``action_kinds``: by default a
  ``"response"`` to one of our messages, and a ``"purchase"``), unless it is negative.
* A **company contact** is a company-initiated event that is neither an action kind nor
  negative: an email, a push, a call we placed.
* A **negative** signal is an event whose kind is in ``negative_kinds`` (by default
  ``"complaint"`` and ``"unsubscribe"``), whoever is recorded as initiating it.

Events with no initiator and an ordinary kind (a reward credited, a note) are none of
these.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
import numpy as np
import numpy.typing as npt

from ...models import Categorical, EventLog

BoolArray = npt.NDArray[np.bool_]

ACTION_KINDS: tuple[str, ...] = ("response", "purchase")
NEGATIVE_KINDS: tuple[str, ...] = ("complaint", "unsubscribe")


def _labels(value: str | Iterable[str], name: str) -> tuple[str, ...]:
    labels = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(v, str) and v for v in labels):
        raise ValueError(f"{name} must be non-empty strings, got {labels!r}")
    return labels


def label_mask(col: Categorical, labels: tuple[str, ...]) -> BoolArray:
    """Rows whose label is one of ``labels``, by a lookup table over the codes (fast)."""
    table = np.zeros(len(col.categories) + 1, dtype=bool)
    for label in labels:
        code = col.code(label)
        if code >= 0:
            table[code] = True
    if not table.any():
        return np.zeros(len(col), dtype=bool)
    # Code -1 (missing) indexes the last, always-False, entry.
    out: BoolArray = table[col.codes]
    return out


@attrs.frozen(eq=False)
class EventRoles:
    action: BoolArray
    contact: BoolArray
    negative: BoolArray


def event_roles(
    log: EventLog,
    *,
    action_kinds: str | Iterable[str] = ACTION_KINDS,
    negative_kinds: str | Iterable[str] = NEGATIVE_KINDS,
) -> EventRoles:
    """Boolean role masks, one entry per row of ``log`` (see the module docstring)."""
    action_kind = label_mask(log.kind, _labels(action_kinds, "action_kinds"))
    negative = label_mask(log.kind, _labels(negative_kinds, "negative_kinds"))
    init = log.initiator
    by_customer = np.asarray(init.codes == init.code("customer"))
    by_company = np.asarray(init.codes == init.code("company"))
    action = (by_customer | action_kind) & ~negative
    contact = by_company & ~action_kind & ~negative
    return EventRoles(action=action, contact=contact, negative=negative)
