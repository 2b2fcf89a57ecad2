"""Rebuild the data files shipped in ``src/relcore/datasets/data`` from the public sources.

Run from the repository root: ``python tools/build_datasets.py ../shared/data``. The files
are compressed numpy archives holding exact integers (days, cents), so loading them gives
the same numbers as parsing the original text.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "relcore" / "datasets" / "data"


def build_cdnow(src: Path) -> None:
    ids, days, cds, cents = [], [], [], []
    with open(src / "CDNOW_master.txt") as fh:
        next(fh)  # header
        for line in fh:
            cid, ymd, n, dollars = line.split()
            ids.append(int(cid))
            days.append(np.datetime64(f"{ymd[:4]}-{ymd[4:6]}-{ymd[6:]}", "D").astype(np.int64))
            cds.append(int(n))
            whole, _, frac = dollars.partition(".")
            cents.append(
                int(whole) * 100 + int((frac + "00")[:2]) * (-1 if whole.startswith("-") else 1)
            )
    np.savez_compressed(
        OUT / "cdnow_master.npz",
        customer=np.array(ids, dtype=np.int32),
        day=np.array(days, dtype=np.int32),
        cds=np.array(cds, dtype=np.int16),
        cents=np.array(cents, dtype=np.int64),
    )


def build_summary(src: Path) -> None:
    with open(src / "cdnow_customers_summary_with_transactions.csv") as fh:
        rows = list(csv.DictReader(fh))
    with open(src / "cdnow_customers_summary.csv") as fh:
        check = list(csv.DictReader(fh))
    assert [r["ID"] for r in rows] == [r["ID"] for r in check]
    for a, b in zip(rows, check, strict=True):
        assert [float(a[k]) for k in ("x", "t_x", "T")] == [
            float(b[k]) for k in ("frequency", "recency", "T")
        ]
    np.savez_compressed(
        OUT / "cdnow_summary.npz",
        id=np.array([int(r["ID"]) for r in rows], dtype=np.int64),
        frequency=np.array([float(r["x"]) for r in rows]),
        recency=np.array([float(r["t_x"]) for r in rows]),
        T=np.array([float(r["T"]) for r in rows]),
        monetary_value=np.array([float(r["zbar"]) for r in rows]),
    )


def build_donations(src: Path) -> None:
    with open(src / "donations.csv") as fh:
        rows = list(csv.DictReader(fh))
    np.savez_compressed(
        OUT / "donations.npz",
        **{
            k: np.array([float(r[k]) for r in rows])
            for k in ("frequency", "recency", "periods", "weights")
        },
    )


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    OUT.mkdir(parents=True, exist_ok=True)
    build_cdnow(source)
    build_summary(source)
    build_donations(source)
    for f in sorted(OUT.iterdir()):
        print(f.name, f.stat().st_size)
