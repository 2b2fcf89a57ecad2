"""Foundation benchmarks: EventLog construction and memory, summarize vs lifetimes.

Run: ``python benchmarks/bench_summarize.py`` (10M transactions, 1M customers) or with
``--quick`` (1M / 100k). Prints each figure next to its target and, for summarize, the
ratio against lifetimes' ``summary_data_from_transaction_data`` on the same data in the
same run (skipped with a note when lifetimes is not installed).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from relcore import EventLog, summarize
from relcore.datasets import load_cdnow


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def synthetic(n_rows: int, n_customers: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64)
    two_years = 730 * 86_400 * 10**6
    return {
        "customer_id": rng.integers(0, n_customers, n_rows),
        "at": (start + rng.integers(0, two_years, n_rows)).view("datetime64[us]"),
        "value": np.round(rng.gamma(2.0, 25.0, n_rows), 2),
    }


def line(label: str, seconds: float, target: str = "") -> None:
    print(f"  {label:<52}{seconds:9.3f} s  {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1M rows / 100k customers")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-lifetimes", action="store_true")
    args = parser.parse_args()
    n_rows, n_cust = (1_000_000, 100_000) if args.quick else (10_000_000, 1_000_000)
    data = synthetic(n_rows, n_cust)
    print(f"{n_rows:,} transactions, {n_cust:,} customers (integer ids, µs times, values)")

    t, log = best_of(
        lambda: EventLog.from_arrays(
            data["customer_id"], data["at"], value=data["value"], timezone="UTC"
        ),
        args.repeat,
    )
    line("EventLog.from_arrays", t, "(target <= 1.0 s at 10M)")
    print(f"  {'EventLog memory':<52}{log.nbytes / 1e6:9.1f} MB (target <= 400 MB at 10M)")

    str_ids = data["customer_id"].astype(str)
    t_str, _ = best_of(
        lambda: EventLog.from_arrays(str_ids, data["at"], value=data["value"], timezone="UTC"),
        1,
    )
    line("EventLog.from_arrays with string ids (information)", t_str)

    obs = "2025-12-31"
    t_sum, summary = best_of(lambda: summarize(log, period="D", observation_end=obs), args.repeat)
    line("summarize, daily periods", t_sum, "(target <= 1.0 s at 10M)")
    t_w, _ = best_of(lambda: summarize(log, period="W", observation_end=obs), args.repeat)
    line("summarize, weekly periods", t_w)
    t_cal, _ = best_of(
        lambda: summarize(log, period="D", observation_end=obs, calibration_end="2025-06-30"),
        args.repeat,
    )
    line("summarize with calibration/holdout", t_cal)

    t_cd, _ = best_of(load_cdnow, args.repeat)
    line("datasets.load_cdnow", t_cd, "(target <= 0.5 s)")

    if args.no_lifetimes:
        return
    try:
        import pandas as pd
        from lifetimes.utils import summary_data_from_transaction_data
    except ImportError:
        print("  lifetimes/pandas not installed: no side-by-side comparison")
        return
    frame = pd.DataFrame(
        {"id": data["customer_id"], "date": pd.DatetimeIndex(data["at"]), "value": data["value"]}
    )
    t_lt, expected = best_of(
        lambda: summary_data_from_transaction_data(
            frame, "id", "date", monetary_value_col="value", observation_period_end=obs, freq="D"
        ),
        1,
    )
    line("lifetimes summary_data_from_transaction_data", t_lt)
    print(f"  {'ratio lifetimes / relcore (daily)':<52}{t_lt / t_sum:9.1f} x  (target >= 10x)")
    expected = expected.loc[summary.customer_id]
    same = all(
        np.allclose(getattr(summary, c), expected[c].to_numpy(), rtol=1e-9, atol=0)
        for c in ("frequency", "recency", "T", "monetary_value")
    )
    print(f"  identical results to 1e-9: {same}")


if __name__ == "__main__":
    main()
