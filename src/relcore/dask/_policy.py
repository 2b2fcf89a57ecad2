"""Contact-policy checks of a Dask frame of planned contacts against a ledger snapshot."""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .._optional import require
from .._time import to_micros
from ..contact_policy import ContactGuard, MemoryLedger
from ..errors import DataError
from ..models import ContactPreferences
from ._frames import empty_like, libraries, text_dtype

if TYPE_CHECKING:
    import pandas as pd

    from ..contact_policy import Policy

# The labels of a contact: a column of the frame of that name, or one value for every row.
_LABELS = ("channel", "category", "campaign", "at", "priority")


def check_many(
    guard: ContactGuard,
    contacts: Any,
    *,
    channel: str | None = None,
    at: _dt.datetime | None = None,
    category: str | None = None,
    campaign: str | None = None,
    priority: int | None = None,
    preferences: Mapping[str, ContactPreferences | None] | None = None,
) -> Any:
    """[`ContactGuard.check_many`][relcore.contact_policy.ContactGuard.check_many]
    over a Dask frame of planned contacts, for audiences larger than memory.

    The guard's ledger must be a [`MemoryLedger`][relcore.contact_policy.MemoryLedger]: it is copied
    when this is called (a snapshot: contacts recorded later do not count) and the copy is shipped
    once to each worker, which only reads it. Each partition of contacts is decided with
    ``check_many`` against that snapshot, group by group of contacts with the same labels, so every
    decision equals the single-machine one. Reservations count as they were held by the guard's
    clock at the call; customers without ``preferences`` given here are decided with those stored in
    the ledger, as on one machine. Nothing is recorded. For a ledger in SQLite or PostgreSQL, load
    the history the policy looks back over into a ``MemoryLedger``
    ([`MemoryLedger.from_arrays`][relcore.contact_policy.MemoryLedger.from_arrays]): a live database
    would change while the workers read it, so partitions would be decided against different
    histories, and a SQLite file is not reachable from other machines.

    Parameters
    ----------
    guard
        The policy and the ledger to check against.
    contacts
        A Dask frame with one row per planned contact: ``customer_id`` (text) and, for
        each label that varies between contacts, a column named ``channel``,
        ``category``, ``campaign``, ``at`` (timezone-aware) or ``priority``.
    channel, at, category, campaign, priority
        A label shared by every contact, given here instead of as a column (a label may
        not be both). ``channel`` and ``at`` are needed one way or the other.
    preferences
        Customers' own settings by customer id (shipped to every worker, like the
        ledger).

    Returns
    -------
    dask.dataframe.DataFrame
        The contacts, indexed as given, with ``allowed`` (bool), ``reason_codes`` (the
        failing codes joined by ``","``, empty where allowed) and ``next_allowed_at``
        (UTC; missing where never).

    Examples
    --------
    >>> import datetime as dt, pandas as pd, dask.dataframe as dd
    >>> from relcore.contact_policy import (Contact, ContactGuard, FrequencyCap,
    ...                                     MemoryLedger, Policy)
    >>> guard = ContactGuard(Policy([FrequencyCap(1, per=dt.timedelta(days=7))]), MemoryLedger())
    >>> monday = dt.datetime(2026, 11, 23, 10, tzinfo=dt.timezone.utc)
    >>> guard.record(Contact("c1", channel="email", at=monday))
    >>> plan = dd.from_pandas(pd.DataFrame({"customer_id": ["c1", "c2"]}), npartitions=2)
    >>> out = check_many(guard, plan, channel="email", at=monday + dt.timedelta(days=1))
    >>> out.compute()[["allowed", "reason_codes"]].to_numpy().tolist()
    [[False, 'frequency_cap'], [True, '']]
    """
    dask = require("dask", "dask")
    _, pandas = libraries()
    if not isinstance(guard, ContactGuard):
        raise TypeError(f"guard must be a ContactGuard, got {type(guard).__name__}")
    if not isinstance(guard.ledger, MemoryLedger):
        raise TypeError(
            f"the guard's ledger is a {type(guard.ledger).__name__}; relcore.dask checks "
            "against a MemoryLedger snapshot (load the history the policy looks back over "
            "into one with MemoryLedger.from_arrays)"
        )
    if "customer_id" not in contacts.columns:
        raise DataError("customer_id", f"is not a column of the frame ({list(contacts.columns)})")
    given = {"channel": channel, "category": category, "campaign": campaign, "at": at,
             "priority": priority}  # fmt: skip
    for name, value in given.items():
        if value is not None and name in contacts.columns:
            raise TypeError(f"{name} is a column of the frame and an argument: give one")
    for name in ("channel", "at"):
        if given[name] is None and name not in contacts.columns:
            raise TypeError(f"give {name}=, or a column {name!r} in the frame")
    if at is not None:
        to_micros(at)  # an aware datetime, now rather than on a worker
    fixed = {k: v for k, v in given.items() if k not in contacts.columns}
    if "priority" in fixed and fixed["priority"] is None:
        fixed["priority"] = 0
    # The guard's clock is read now, with the copy: reservations count on the workers as
    # they were held at this instant, whenever (and on whichever machine's clock) a
    # partition is decided.
    now = _Frozen(guard.clock())
    to_micros(now.at, "clock()")
    snapshot = dask.delayed(
        (guard.policy, copy.deepcopy(guard.ledger), dict(preferences or {}), now), pure=False
    )
    meta = empty_like(contacts).assign(
        allowed=np.zeros(0, dtype=bool),
        reason_codes=pandas.Series([], dtype=text_dtype()),
        next_allowed_at=pandas.Series([], dtype=pandas.DatetimeTZDtype("us", "UTC")),
    )
    return contacts.map_partitions(_check_part, snapshot, fixed, template=meta, meta=meta)


def _check_part(
    part: pd.DataFrame,
    snapshot: tuple[Policy, MemoryLedger, Mapping[str, Any], _Frozen],
    fixed: Mapping[str, Any],
    *,
    template: pd.DataFrame,
) -> pd.DataFrame:
    _, pandas = libraries()
    n = len(part)
    if n == 0:
        return template
    policy, ledger, preferences, now = snapshot
    guard = ContactGuard(policy, ledger, clock=now)
    ids = part["customer_id"].astype(object).to_numpy()
    labels = {
        name: (part[name].to_numpy(dtype=object) if name in part.columns else None)
        for name in _LABELS
    }
    allowed = np.zeros(n, dtype=bool)
    reasons = np.empty(n, dtype=object)
    when = np.zeros(n, dtype="datetime64[us]")
    keys = pandas.DataFrame(
        {name: (col if col is not None else np.zeros(n)) for name, col in labels.items()}
    )
    for rows in keys.groupby(list(_LABELS), dropna=False, sort=False).indices.values():
        first = int(rows[0])
        args = {
            name: fixed[name] if (col := labels[name]) is None else _label(col[first])
            for name in _LABELS
        }
        decided = guard.check_many(
            ids[rows],
            channel=args["channel"],
            at=_instant(args["at"]),
            category=args["category"],
            campaign=args["campaign"],
            priority=int(args["priority"]),
            preferences=preferences or None,
        )
        allowed[rows] = decided.allowed
        reasons[rows] = [",".join(codes) for codes in decided.reason_codes.tolist()]
        when[rows] = decided.next_allowed_at
    out: pd.DataFrame = part.assign(
        allowed=allowed,
        reason_codes=pandas.array(reasons, dtype=template["reason_codes"].dtype),
        next_allowed_at=pandas.DatetimeIndex(when).tz_localize("UTC"),
    )
    return out


class _Frozen:
    """A guard's clock stopped at one instant (a class, not a lambda: it is pickled)."""

    def __init__(self, at: _dt.datetime) -> None:
        self.at = at

    def __call__(self) -> _dt.datetime:
        return self.at


def _label(value: Any) -> Any:
    """A label read from a frame: missing values (None, NaN, NA) are None."""
    _, pandas = libraries()
    if value is None or (not isinstance(value, str) and pandas.isna(value)):
        return None
    return value


def _instant(value: Any) -> _dt.datetime:
    """A contact's time read from a frame (a pandas Timestamp) as a datetime."""
    if value is None:
        raise DataError("at", "missing times of planned contacts")
    if hasattr(value, "to_pydatetime"):
        out: _dt.datetime = value.to_pydatetime()
        return out
    return value  # type: ignore[no-any-return]
