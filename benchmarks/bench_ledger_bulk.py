"""Loading a contact history in bulk: ``MemoryLedger.from_arrays`` with per-row labels.

    PYTHONPATH=src python benchmarks/bench_ledger_bulk.py            # 10M contacts
    PYTHONPATH=src python benchmarks/bench_ledger_bulk.py --quick    # 1M

The columns are bench_policy's year of history (1M customers with ids ``c0..c999999``,
contacts on three channels, 1% customer complaints), with channel, kind and initiator
given per row as object arrays, as a DataFrame column hands them over. Target (issue
17): <= 2 s for 10M contacts.

Floor: the bytes the load must touch once, read (ids as 7-character text, 28 bytes;
times, 8; three object columns, 24) and written (customer code, time, four label codes
and the initiator: 29), divided by the memory bandwidth measured in the same run. The
same columns through ``EventLog.from_arrays`` (which shares relcore/_columns.py's
factorisation) are timed as the reference, and the factorisation of the ids and the
sort by customer and time, both in relcore/_columns.py, are shown on their own.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import numpy as np
from _floors import Floors, best_of, machine, row

from relcore._columns import factorize_ids, sort_rows
from relcore.contact_policy import MemoryLedger
from relcore.models import EventLog

NOW_US = int(datetime(2026, 11, 27, 15, tzinfo=UTC).timestamp()) * 1_000_000
DAY = 86_400_000_000


def history(n_customers: int, n_contacts: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = np.char.add("c", np.arange(n_customers).astype(str))
    complaint = rng.random(n_contacts) < 0.01
    return {
        "customer_id": ids[rng.integers(0, n_customers, n_contacts)],
        "at": NOW_US - rng.integers(0, 365 * DAY, n_contacts),
        "channel": np.array(["email", "sms", "push"], dtype=object)[rng.integers(0, 3, n_contacts)],
        "kind": np.where(complaint, "complaint", "message").astype(object),
        "initiator": np.where(complaint, "customer", "company").astype(object),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1M contacts")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n_contacts = 1_000_000 if args.quick else 10_000_000
    n_customers = n_contacts // 10
    print(f"machine: {machine()}")
    floors = Floors()
    print(f"floors: {floors.describe()}")
    h = history(n_customers, n_contacts)
    cols = {k: h[k] for k in ("channel", "kind", "initiator")}

    t, ledger = best_of(
        lambda: MemoryLedger.from_arrays(h["customer_id"], h["at"], category="promotional", **cols),
        args.repeat,
    )
    assert len(ledger) == n_contacts
    t_log, _ = best_of(
        lambda: EventLog.from_arrays(
            h["customer_id"],
            h["at"].astype("datetime64[us]"),
            timezone="UTC",
            category="promotional",
            **cols,
        ),
        args.repeat,
    )
    floor = floors.of(bytes=(28 + 8 + 24 + 29) * n_contacts)
    print(f"\n== {n_contacts:,} contacts of {n_customers:,} customers (best of {args.repeat}) ==")
    row("MemoryLedger.from_arrays", t, floor, {"EventLog.from_arrays": t_log})
    t_ids, (codes, table) = best_of(lambda: factorize_ids(h["customer_id"]), args.repeat)
    t_sort, _ = best_of(lambda: sort_rows(codes, h["at"], table.size), args.repeat)
    print(
        f"    of which in relcore/_columns.py: factorize_ids {t_ids:.3f} s (cpu "
        f"{t_ids.cpu:.3f} s), sort_rows {t_sort:.3f} s (cpu {t_sort.cpu:.3f} s); the rest, "
        f"from_arrays' own: cpu {t.cpu - t_ids.cpu - t_sort.cpu:.3f} s"
    )
    print(f"\nmachine at the end: {machine()}")


if __name__ == "__main__":
    main()
