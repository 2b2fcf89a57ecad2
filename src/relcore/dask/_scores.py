"""Engagement and fatigue over a Dask frame of events, partition by partition."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..models import EventLog
from ._frames import (
    by_customer,
    delayed,
    event_columns,
    id_dtype,
    keyed,
    keyed_meta,
    libraries,
    partition_log,
    tree_reduce,
    where,
)

if TYPE_CHECKING:
    import pandas as pd

# contacts in the window -> [customers, responses], per channel
Counts = dict[str, dict[float, list[float]]]
_SPLIT_EVERY = 8


def engagement(
    events: Any,
    at: _dt.datetime | str,
    *,
    half_life: _dt.timedelta | None = None,
    scale: float | None = None,
    action_kinds: str | Iterable[str] | None = None,
    negative_kinds: str | Iterable[str] | None = None,
    channels: Iterable[str] | None = None,
    partitioned_by_customer: bool = False,
) -> Any:
    """[`relcore.scoring.engagement`][relcore.scoring.scores.engagement] of every customer
    of a Dask frame of events.

    The frame is shuffled by customer id, then each partition is scored on its own with
    the single-machine function: each customer's scores equal the single-machine ones.

    Parameters
    ----------
    events
        A Dask frame with relcore's column names, as [`read_events`][relcore.dask.read_events]
        returns: ``customer_id``, ``at`` (timezone-aware) and any of ``kind``, ``channel``,
        ``initiator``, ``value``….
    at, half_life, scale, action_kinds, negative_kinds
        As in [`relcore.scoring.engagement`][relcore.scoring.scores.engagement] (omitted: its
        defaults).
    channels
        The channels of the whole frame, which name the ``activity_<channel>`` columns;
        by default found with one pass over the ``channel`` column, when you call this.
    partitioned_by_customer
        Set when every customer's rows are already in a single partition (no shuffle).

    Returns
    -------
    dask.dataframe.DataFrame
        Indexed by customer id, with the columns of
        [`relcore.scoring.EngagementScores.to_pandas`][relcore.scoring.scores.EngagementScores.to_pandas].

    Examples
    --------
    >>> import datetime as dt, pandas as pd, dask.dataframe as dd
    >>> now = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
    >>> df = pd.DataFrame({"customer_id": ["a", "b", "a"], "at": [now] * 3,
    ...                    "kind": ["purchase", "message", "visit"],
    ...                    "channel": ["web", "email", "store"],
    ...                    "initiator": [None, "company", "customer"]})
    >>> out = engagement(dd.from_pandas(df, npartitions=2), now).compute()
    >>> out.sort_index()["engagement"].tolist()  # a: one fresh action on each of two channels
    [0.75, 0.0]
    """
    from ..scoring import engagement as score

    given = {"half_life": half_life, "scale": scale, "action_kinds": action_kinds,
             "negative_kinds": negative_kinds}  # fmt: skip
    options: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    score(_no_events(), at, **options)  # the arguments' own checks, now
    names = event_columns(events)
    found = _channels(events, channels)
    columns: dict[str, Any] = {
        "engagement": np.float64,
        "activity": np.float64,
        "breadth": np.int64,
    }
    columns.update({f"activity_{c}": np.float64 for c in found})
    meta = keyed_meta(columns, id_dtype(events["customer_id"].dtype))
    frame = by_customer(events, "customer_id", partitioned_by_customer)
    return frame.map_partitions(
        _score_part, names, at, options, scorer="engagement", template=meta, meta=meta
    )


def _score_part(
    part: pd.DataFrame,
    names: Mapping[str, str],
    at: _dt.datetime | str,
    options: Mapping[str, Any],
    *,
    scorer: Literal["engagement", "fatigue"],
    template: pd.DataFrame,
    partition_info: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One partition's engagement or fatigue scores, keyed by its customers."""
    from .. import scoring

    if len(part) == 0:
        return template
    log, ids = partition_log(part, names, where(partition_info))
    if scorer == "fatigue":
        options = _part_options(log, options)
    scores = getattr(scoring, scorer)(log, at, **options)
    return keyed(scores.to_pandas(), template, ids)


def fatigue(
    events: Any,
    at: _dt.datetime | str,
    *,
    half_life: _dt.timedelta | None = None,
    negative_weight: float | None = None,
    window: _dt.timedelta | None = None,
    recommended_frequency: Mapping[str, float] | None = None,
    tolerance: float | None = None,
    action_kinds: str | Iterable[str] | None = None,
    negative_kinds: str | Iterable[str] | None = None,
    channels: Iterable[str] | None = None,
    partitioned_by_customer: bool = False,
) -> Any:
    """[`relcore.scoring.fatigue`][relcore.scoring.scores.fatigue] of every customer of a
    Dask frame of events.

    Fatigue is per customer, but saturation compares each customer with a recommended frequency per
    channel estimated from the whole base. So, unless ``recommended_frequency`` names every channel,
    a first pass (run when you call this) reduces each partition to its response curves' counts
    (customers and responses per number of contacts in the window), adds them up and estimates every
    channel's recommendation on the driver, from exactly the counts the single-machine function
    estimates it from. The second pass, lazy like every result of [`relcore.dask`][relcore.dask],
    scores each partition with those recommendations: every customer's row equals the single-machine
    one.

    Parameters
    ----------
    events
        A Dask frame with relcore's column names, as [`read_events`][relcore.dask.read_events]
        returns.
    at, half_life, negative_weight, window, recommended_frequency, tolerance
        As in [`relcore.scoring.fatigue`][relcore.scoring.scores.fatigue] (omitted: its defaults).
    action_kinds, negative_kinds
        Likewise.
    channels
        The channels of the whole frame (default: found with one pass, now).
    partitioned_by_customer
        Set when every customer's rows are already in a single partition (no shuffle;
        the first pass then costs one read of the frame).

    Returns
    -------
    dask.dataframe.DataFrame
        Indexed by customer id, with the columns of
        [`relcore.scoring.FatigueScores.to_pandas`][relcore.scoring.scores.FatigueScores.to_pandas].

    Examples
    --------
    >>> import datetime as dt, pandas as pd, dask.dataframe as dd
    >>> t0 = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)
    >>> week = dt.timedelta(weeks=1)
    >>> df = pd.DataFrame({"customer_id": ["a"] * 4 + ["b"],
    ...                    "at": [t0, t0 + week, t0 + 2 * week, t0 + 3 * week, t0],
    ...                    "kind": ["response"] + ["message"] * 4, "channel": "email",
    ...                    "initiator": ["customer"] + ["company"] * 4})
    >>> out = fatigue(dd.from_pandas(df, npartitions=2), t0 + 4 * week, half_life=week)
    >>> out.compute().sort_index()["fatigue"].tolist()  # a: 1/8 + 1/4 + 1/2 since the reply
    [0.875, 0.0625]
    """
    from ..scoring import ResponseCurve
    from ..scoring import fatigue as score

    given = {"half_life": half_life, "negative_weight": negative_weight, "window": window,
             "tolerance": tolerance, "action_kinds": action_kinds,
             "negative_kinds": negative_kinds}  # fmt: skip
    options: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    score(_no_events(), at, **options)  # the arguments' own checks, now
    names = event_columns(events)
    found = _channels(events, channels)
    fixed = dict(recommended_frequency or {})
    unknown = sorted(set(fixed) - set(found))
    if unknown:
        raise ValueError(f"recommended_frequency names channels not in the log: {unknown}")
    for name, value in fixed.items():
        if not (math.isnan(float(value)) or (math.isfinite(float(value)) and value > 0)):
            raise ValueError(
                f"recommended_frequency[{name!r}] must be positive (or NaN), got {value}"
            )
    frame = by_customer(events, "customer_id", partitioned_by_customer)
    recommended = {k: float(v) for k, v in fixed.items()}
    todo = [c for c in found if c not in fixed]
    if todo:
        parts = [
            delayed(_curve_counts)(part, names, at, {**options, "recommended_frequency": fixed}, n)
            for n, part in enumerate(frame.to_delayed())
        ]
        counts = tree_reduce(parts, _add_curve_counts, _SPLIT_EVERY)
        window_option = {"window": window} if window is not None else {}
        for channel in todo:
            by_n = counts.get(channel, {})
            n = sorted(by_n)
            curve = ResponseCurve.from_counts(
                channel,
                n,
                [by_n[k][0] for k in n],
                [by_n[k][1] for k in n],
                **window_option,
            )
            recommended[channel] = curve.recommended_frequency
    columns: dict[str, Any] = {"fatigue": np.float64, "saturation": _saturation_dtype()}
    columns.update({f"fatigue_{c}": np.float64 for c in found})
    columns.update({f"contacts_per_week_{c}": np.float64 for c in found})
    meta = keyed_meta(columns, id_dtype(events["customer_id"].dtype))
    options["recommended_frequency"] = recommended
    return frame.map_partitions(
        _score_part, names, at, options, scorer="fatigue", template=meta, meta=meta
    )


def _part_options(log: EventLog, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with the recommendations of the channels this partition's log has
    (the single-machine function refuses channels its log lacks)."""
    present = set(log.channel.categories)
    out = dict(options)
    out["recommended_frequency"] = {
        k: v for k, v in options.get("recommended_frequency", {}).items() if k in present
    }
    return out


def _curve_counts(
    part: pd.DataFrame,
    names: Mapping[str, str],
    at: _dt.datetime | str,
    options: Mapping[str, Any],
    number: int,
) -> Counts:
    """Customers and responses per number of contacts in the window, per channel."""
    from ..scoring import fatigue as score

    if len(part) == 0:
        return {}
    log, _ = partition_log(part, names, f"partition {number}")
    scores = score(log, at, **_part_options(log, options))
    counts: Counts = {}
    for curve in scores.response_curves:
        # contacts counts customers times the whole number of contacts each received
        n = np.rint(curve.contacts / curve.customers).tolist()
        counts[curve.channel] = {
            k: [c, r]
            for k, c, r in zip(n, curve.customers.tolist(), curve.responses.tolist(), strict=True)
        }
    return counts


def _add_curve_counts(*parts: Counts) -> Counts:
    total: Counts = {}
    for part in parts:
        for channel, by_n in part.items():
            into = total.setdefault(channel, {})
            for n, (customers, responses) in by_n.items():
                found = into.setdefault(n, [0.0, 0.0])
                found[0] += customers
                found[1] += responses
    return total


def _channels(events: Any, channels: Iterable[str] | None) -> list[str]:
    """The frame's channels, sorted as an event log sorts its labels."""
    if channels is not None:
        return sorted(set(channels))
    if "channel" not in events.columns:
        return []
    found = events["channel"].dropna().unique().compute()
    return sorted({str(c) for c in found.tolist()})


def _no_events() -> EventLog:
    return EventLog.from_arrays(
        np.zeros(0, dtype=np.int64), np.zeros(0, dtype="datetime64[us]"), timezone="UTC"
    )


def _saturation_dtype() -> Any:
    _, pandas = libraries()
    from ..scoring import SATURATION_LEVELS

    return pandas.CategoricalDtype(list(SATURATION_LEVELS))
