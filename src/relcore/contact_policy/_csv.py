"""Contact plans and histories as CSV files, for ``relcore policy simulate``.

A plan (``contacts.csv``) has a header row and the columns

=============  ========  ==========================================================
column         required  meaning
=============  ========  ==========================================================
customer_id    yes       whom to contact
at             yes       when: ISO 8601 with an offset (``2026-11-27T10:00:00-05:00``)
channel        yes       ``email``, ``sms``, ...
category       no        ``promotional``, ``transactional``, ... (empty: none)
campaign       no        campaign name (empty: none)
priority       no        integer, default 0 (higher first at equal times)
=============  ========  ==========================================================

A history (``--history``) has ``customer_id``, ``at``, and optionally ``channel``,
``category``, ``campaign``, ``kind`` (default ``message``) and ``initiator`` (``company``,
the default, for contacts; ``customer`` for responses, complaints, purchases...).
Any other column is an error (a misspelt column would otherwise be silently ignored).
Rows are numbered from 0 after the header in error messages.
"""

from __future__ import annotations

import csv
import datetime as _dt
import os
from typing import Any

from .._time import to_micros
from ..errors import DataError
from .contact import Contact
from .history import Entry

PLAN_COLUMNS = ("customer_id", "at", "channel", "category", "campaign", "priority")
HISTORY_COLUMNS = ("customer_id", "at", "channel", "category", "campaign", "kind", "initiator")


def _rows(
    path: str | os.PathLike[str], allowed: tuple[str, ...], required: tuple[str, ...]
) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        for name in header:
            if name not in allowed:
                raise DataError(name, f"is not a known column; expected {', '.join(allowed)}")
        for name in required:
            if name not in header:
                raise DataError(
                    name, f"is required (the file has {', '.join(header) or 'no header'})"
                )
        return list(reader)


def _instants(rows: list[dict[str, str]]) -> list[_dt.datetime]:
    out: list[_dt.datetime] = []
    bad: list[int] = []
    naive: list[int] = []
    for i, row in enumerate(rows):
        try:
            t = _dt.datetime.fromisoformat((row.get("at") or "").strip())
        except ValueError:
            bad.append(i)
            continue
        if t.tzinfo is None or t.utcoffset() is None:
            naive.append(i)
            continue
        out.append(t)
    if bad:
        raise DataError("at", "values that are not ISO 8601 datetimes", bad)
    if naive:
        raise DataError(
            "at", "naive datetimes (no offset); write them like 2026-11-27T10:00:00-05:00", naive
        )
    return out


def _labels(rows: list[dict[str, str]], column: str, *, required: bool) -> list[str | None]:
    values = [(row.get(column) or "").strip() or None for row in rows]
    if required:
        missing = [i for i, v in enumerate(values) if v is None]
        if missing:
            raise DataError(column, "missing values", missing)
    return values


def read_plan(path: str | os.PathLike[str]) -> list[Contact]:
    """The planned contacts of a plan CSV."""
    rows = _rows(path, PLAN_COLUMNS, ("customer_id", "at", "channel"))
    ids = _labels(rows, "customer_id", required=True)
    channels = _labels(rows, "channel", required=True)
    categories = _labels(rows, "category", required=False)
    campaigns = _labels(rows, "campaign", required=False)
    raw = _labels(rows, "priority", required=False)
    priorities: list[int] = []
    bad: list[int] = []
    for i, p in enumerate(raw):
        try:
            priorities.append(0 if p is None else int(p))
        except ValueError:
            bad.append(i)
    if bad:
        raise DataError("priority", "values that are not whole numbers", bad)
    times = _instants(rows)
    return [
        Contact(str(c), channel=str(ch), at=t, category=cat, campaign=camp, priority=p)
        for c, ch, t, cat, camp, p in zip(
            ids, channels, times, categories, campaigns, priorities, strict=True
        )
    ]


def read_history(path: str | os.PathLike[str]) -> list[Entry]:
    """The ledger entries of a history CSV."""
    rows = _rows(path, HISTORY_COLUMNS, ("customer_id", "at"))
    ids = _labels(rows, "customer_id", required=True)
    times = _instants(rows)
    kinds = [k or "message" for k in _labels(rows, "kind", required=False)]
    initiators = [v or "company" for v in _labels(rows, "initiator", required=False)]
    bad = [i for i, v in enumerate(initiators) if v not in ("company", "customer")]
    if bad:
        raise DataError("initiator", "values other than 'company' or 'customer'", bad)
    cols: dict[str, Any] = {
        c: _labels(rows, c, required=False) for c in ("channel", "category", "campaign")
    }
    return [
        Entry(
            str(ids[i]),
            to_micros(times[i]),
            cols["channel"][i],
            cols["category"][i],
            cols["campaign"][i],
            kinds[i],
            initiators[i] == "company",
        )
        for i in range(len(rows))
    ]
