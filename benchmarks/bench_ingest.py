"""Ingestion benchmark: transactions to a per-customer RFM summary, relcore against the
tools users already have, in the same run.

For 1M and 10M transactions (one customer per ten rows) with integer, ``cust-000123`` and
UUID ids, each case builds the same daily summary (frequency, recency, T, monetary value;
observation end 2025-12-31) from its own natural input:

* relcore arrays       ``summarize(EventLog.from_arrays(ids, at, value=...))`` from numpy
* relcore from_pandas  the same from a pandas DataFrame (as ``pd.read_parquet`` gives it)
* relcore from_polars  the same from a polars DataFrame
* polars               a two-level ``group_by`` (customer and day, then customer)
* DuckDB               the same in SQL over a pyarrow table (skipped if not installed)
* pandas               a two-level ``groupby``
* lifetimes            ``summary_data_from_transaction_data`` (skipped if not installed)
* relcore read_csv     ``EventLog.read_csv`` + ``summarize`` from a CSV file (ids as text)
* polars csv           ``pl.read_csv`` (ids as text, timestamps parsed) + the group_by
* DuckDB csv           the SQL over ``read_csv``

Each case runs in a fresh subprocess that loads its input, then times the summary
``--repeat`` times and records its peak resident memory while summarising: the absolute
peak, and the increase over the memory the loaded input already took. ``--rounds`` go
through all cases in turn, so that load from other work on the machine falls on every case
alike; a case's best time over all its runs is reported (and its largest peak). Every
case's result is checked against relcore's (same customers; sums of the columns equal to
1e-9). Ratios are to polars in the same run. The machine's load average is printed.

``--cli`` adds the command line: ``relcore summarize`` on a CSV of 20M UUID rows against
pyarrow reading the same file plus polars summarising it, each a fresh process, in turn,
best of ``--rounds``, with their peak memory and the file's size.

Run: ``python benchmarks/bench_ingest.py`` (everything; about half an hour on two
cores), or e.g. ``--rows 1000000 --ids uuid --cases relcore-arrays,polars``.
DuckDB is an optional peer: ``pip install 'relcore[bench]'``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

US_PER_DAY = 86_400_000_000
OBSERVATION_END = "2025-12-31"
# The last microsecond of the observation day: its period is the one T counts to.
OBS_US = int(np.datetime64("2026-01-01", "us").astype(np.int64)) - 1
START_US = int(np.datetime64("2024-01-01", "us").astype(np.int64))
TWO_YEARS_US = 730 * US_PER_DAY

CASES = [
    "relcore-arrays",
    "relcore-pandas",
    "relcore-polars",
    "polars",
    "duckdb",
    "pandas",
    "lifetimes",
    "relcore-csv",
    "polars-csv",
    "duckdb-csv",
]
PEERS = {
    "polars": "polars",
    "duckdb": "duckdb",
    "pandas": "pandas",
    "lifetimes": "lifetimes",
    "polars-csv": "polars",
    "duckdb-csv": "duckdb",
}
# Each case's peer for the ratios: frames against polars' group_by on a frame, files
# against polars reading the file and summarising it.
PEER_OF = {"relcore-csv": "polars-csv", "duckdb-csv": "polars-csv"}


# ---------------------------------------------------------------------------- data


def make_data(n_rows: int, ids: str, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_customers = max(1, n_rows // 10)
    customer = rng.integers(0, n_customers, n_rows)
    at = (START_US + rng.integers(0, TWO_YEARS_US, n_rows)).view("datetime64[us]")
    value = np.round(rng.gamma(2.0, 25.0, n_rows), 2)
    if ids == "int":
        table = np.arange(n_customers, dtype=np.int64) * 7 + 1_000
    elif ids == "cust":
        table = np.char.add("cust-", np.char.zfill(np.arange(n_customers).astype(str), 6))
    else:
        raw = rng.integers(0, 256, (n_customers, 16), dtype=np.uint8)
        hexes = [bytes(r).hex() for r in raw]
        table = np.array([f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in hexes])
    return {"customer_id": table[customer], "at": at, "value": value}


def write_inputs(data: dict[str, np.ndarray], folder: Path, csv: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    np.save(folder / "customer_id.npy", data["customer_id"])
    np.save(folder / "at.npy", data["at"])
    np.save(folder / "value.npy", data["value"])
    ids = data["customer_id"]
    table = pa.table(
        {
            "customer_id": pa.array(ids, pa.string() if ids.dtype.kind == "U" else pa.int64()),
            "at": pa.array(data["at"].astype(np.int64), pa.int64()).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "value": pa.array(data["value"]),
        }
    )
    pq.write_table(table, folder / "data.parquet", row_group_size=1 << 20)
    if csv:
        write_csv(table, folder / "data.csv")


def write_csv(table: Any, path: Path) -> None:
    import polars as pl

    frame = pl.from_arrow(table).with_columns(pl.col("at").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    frame.write_csv(path)


# ---------------------------------------------------------------------------- cases


def polars_summary(df: Any) -> Any:
    import polars as pl

    period = (pl.col("at").dt.epoch("us") // US_PER_DAY).alias("period")
    per = df.lazy().group_by("customer_id", period).agg(pl.col("value").sum())
    out = per.group_by("customer_id").agg(
        n=pl.len(),
        first=pl.col("period").min(),
        last=pl.col("period").max(),
        total=pl.col("value").sum(),
        first_value=pl.col("value").get(pl.col("period").arg_min()),
    )
    return out.select(
        "customer_id",
        frequency=(pl.col("n") - 1).cast(pl.Float64),
        recency=(pl.col("last") - pl.col("first")).cast(pl.Float64),
        T=(OBS_US // US_PER_DAY - pl.col("first")).cast(pl.Float64),
        monetary_value=pl.when(pl.col("n") > 1)
        .then((pl.col("total") - pl.col("first_value")) / (pl.col("n") - 1))
        .otherwise(0.0),
    ).collect()


DUCKDB_SQL = f"""
WITH p AS (
    SELECT customer_id, epoch_us("at") // {US_PER_DAY} AS period, SUM(value) AS v
    FROM tbl GROUP BY customer_id, period
), c AS (
    SELECT customer_id, COUNT(*) AS n, MIN(period) AS first, MAX(period) AS last,
           SUM(v) AS total, arg_min(v, period) AS first_value
    FROM p GROUP BY customer_id
)
SELECT customer_id,
       CAST(n - 1 AS DOUBLE) AS frequency,
       CAST(last - first AS DOUBLE) AS recency,
       CAST({OBS_US // US_PER_DAY} - first AS DOUBLE) AS "T",
       CASE WHEN n > 1 THEN (total - first_value) / (n - 1) ELSE 0.0 END AS monetary_value
FROM c
"""


def pandas_summary(df: Any) -> Any:
    import pandas as pd

    us = df["at"].dt.as_unit("us").astype("int64")
    frame = pd.DataFrame({"customer_id": df["customer_id"], "period": us // US_PER_DAY,
                          "value": df["value"]})  # fmt: skip
    per = frame.groupby(["customer_id", "period"], sort=False, as_index=False)["value"].sum()
    per = per.sort_values(["customer_id", "period"], kind="stable")
    g = per.groupby("customer_id", sort=False)
    n = g.size()
    first = g["period"].first()
    total = g["value"].sum()
    first_value = g["value"].first()
    return pd.DataFrame(
        {
            "frequency": (n - 1).astype(float),
            "recency": (g["period"].last() - first).astype(float),
            "T": (OBS_US // US_PER_DAY - first).astype(float),
            "monetary_value": ((total - first_value) / (n - 1)).where(n > 1, 0.0),
        }
    )


def load_case(case: str, folder: Path) -> tuple[Any, Callable[[Any], Any]]:
    """The case's input, loaded as its users would hold it, and the summary to time."""
    from relcore import EventLog, summarize

    def relcore_summary(log: EventLog) -> Any:
        return summarize(log, period="D", observation_end=OBSERVATION_END)

    if case == "relcore-arrays":
        arrays = {k: np.load(folder / f"{k}.npy") for k in ("customer_id", "at", "value")}
        return arrays, lambda a: relcore_summary(
            EventLog.from_arrays(a["customer_id"], a["at"], value=a["value"], timezone="UTC")
        )
    if case in ("relcore-pandas", "pandas", "lifetimes"):
        import pandas as pd

        frame = pd.read_parquet(folder / "data.parquet")
        if case == "relcore-pandas":
            return frame, lambda f: relcore_summary(EventLog.from_pandas(f, value="value"))
        if case == "pandas":
            return frame, pandas_summary
        from lifetimes.utils import summary_data_from_transaction_data

        frame["at"] = frame["at"].dt.tz_localize(None)
        return frame, lambda f: summary_data_from_transaction_data(
            f, "customer_id", "at", monetary_value_col="value",
            observation_period_end=OBSERVATION_END, freq="D",
        )  # fmt: skip
    if case in ("relcore-polars", "polars"):
        import polars as pl

        frame = pl.read_parquet(folder / "data.parquet")
        if case == "polars":
            return frame, polars_summary
        return frame, lambda f: relcore_summary(EventLog.from_polars(f, value="value"))
    if case == "relcore-csv":
        path = folder / "data.csv"
        return path, lambda p: relcore_summary(EventLog.read_csv(p, value="value"))
    if case == "polars-csv":
        import polars as pl

        schema = {"customer_id": pl.String, "at": pl.Datetime("us", "UTC"), "value": pl.Float64}
        return folder / "data.csv", lambda p: polars_summary(
            pl.read_csv(p, schema_overrides=schema)
        )
    if case == "duckdb-csv":
        import duckdb

        def run_csv(path: Path) -> Any:
            con = duckdb.connect()
            source = (
                f"read_csv('{path}', header = true, columns = {{'customer_id': 'VARCHAR', "
                "'at': 'TIMESTAMPTZ', 'value': 'DOUBLE'})"
            )
            return con.sql(DUCKDB_SQL.replace("FROM tbl", f"FROM {source}")).fetch_arrow_table()

        return folder / "data.csv", run_csv
    if case == "duckdb":
        import duckdb
        import pyarrow.parquet as pq

        tbl = pq.read_table(folder / "data.parquet")

        def run(table: Any) -> Any:
            con = duckdb.connect()
            con.register("tbl", table)
            return con.sql(DUCKDB_SQL).fetch_arrow_table()

        return tbl, run
    raise ValueError(case)


def fingerprint(result: Any) -> list[float]:
    """Customers and column sums of a summary, whatever object holds it."""
    if hasattr(result, "frequency") and hasattr(result, "customer_id"):  # RFMSummary
        cols = [result.frequency, result.recency, result.T, result.monetary_value]
    else:
        cols = [np.asarray(result[c]) for c in ("frequency", "recency", "T", "monetary_value")]
    arrays = [np.asarray(c, dtype=np.float64) for c in cols]
    return [float(arrays[0].size), *(float(np.sum(a)) for a in arrays)]


# ---------------------------------------------------------------------------- memory


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> bool:
    """Reset the peak resident size (Linux >= 4.0); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def run_child(case: str, folder: Path, repeat: int) -> dict[str, Any]:
    data, summary = load_case(case, folder)
    if case.startswith("relcore"):
        # what relcore imports on first use is not memory the summary needs
        import pyarrow.compute
        import pyarrow.csv  # noqa: F401

        import relcore.io.csv
        import relcore.io.frames  # noqa: F401
    gc.collect()
    times, peaks, increases = [], [], []
    prints = []
    for _ in range(repeat):
        gc.collect()
        before = _status("VmRSS:")
        resettable = _reset_peak()
        t0 = time.perf_counter()
        result = summary(data)
        times.append(time.perf_counter() - t0)
        peak = _status("VmHWM:") if resettable else 0
        peaks.append(peak)
        increases.append(peak - before if resettable else 0)
        prints.append(fingerprint(result))
        del result
    return {
        "case": case,
        "best": min(times),
        "times": times,
        "peak": max(peaks),
        "increase": max(increases),
        "fingerprint": prints[0],
    }


def spawn(args: list[str]) -> tuple[float, int, str]:
    """Run a child process: its wall time, peak resident size (bytes) and stdout."""
    with tempfile.TemporaryFile(mode="w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            raise RuntimeError(f"{' '.join(args[:4])}... failed: {err.read()[-2000:]}")
    return wall, usage.ru_maxrss * 1024, out


# ---------------------------------------------------------------------------- main


def available(case: str) -> bool:
    module = PEERS.get(case)
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def fmt_case(r: dict[str, Any] | None) -> str:
    if r is None:
        return "-"
    return f"{r['best']:.2f} s, {r['peak'] / 1e9:.2f} GB (+{r['increase'] / 1e9:.2f})"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} cores"


def bench_frames(args: argparse.Namespace) -> None:
    cases = [c for c in args.cases if available(c)]
    skipped = [c for c in args.cases if c not in cases]
    if skipped:
        print(f"not installed, skipped: {', '.join(skipped)}")
    for n_rows in args.rows:
        table: dict[str, dict[str, dict[str, Any]]] = {}
        for ids in args.ids:
            with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
                folder = Path(tmp)
                csv = any(c.endswith("-csv") for c in cases)
                write_inputs(make_data(n_rows, ids), folder, csv=csv)
                results: dict[str, dict[str, Any]] = {}
                # Rounds go through every case in turn, so that a spell of load from other
                # work on the machine falls on all cases alike; each case's best counts.
                for round_ in range(args.rounds):
                    print(f"  {n_rows:,} rows, {ids} ids, round {round_ + 1} ({load()})")
                    for case in cases:
                        if case == "lifetimes" and round_ > 0:
                            continue  # minutes a run at 10M rows, and an order slower anyway
                        repeat = 1 if case == "lifetimes" else args.repeat
                        child = [sys.executable, __file__, "--child", case, "--folder", tmp,
                                 "--repeat", str(repeat)]  # fmt: skip
                        _, _, out = spawn(child)
                        found = json.loads(out.strip().splitlines()[-1])
                        results[case] = _better(results.get(case), found)
                table[ids] = results
                reference = results.get("relcore-arrays") or next(iter(results.values()))
                for case, r in results.items():
                    if not np.allclose(r["fingerprint"], reference["fingerprint"], rtol=1e-9):
                        print(
                            f"  ! {case} differs: {r['fingerprint']} vs {reference['fingerprint']}"
                        )
        print_table(n_rows, table, cases)


def _better(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Two rounds of a case as one: the best time, the largest peak, every time."""
    if old is None:
        return new
    merged = dict(new if new["best"] < old["best"] else old)
    merged["times"] = old["times"] + new["times"]
    merged["peak"] = max(old["peak"], new["peak"])
    merged["increase"] = max(old["increase"], new["increase"])
    return merged


def print_table(n_rows: int, table: dict[str, dict[str, dict[str, Any]]], cases: list[str]) -> None:
    print(f"\n{n_rows:,} rows, {n_rows // 10:,} customers: best time, peak memory (+ over input)")
    print("| ids | " + " | ".join(cases) + " |")
    print("| --- |" + " --- |" * len(cases))
    for ids, results in table.items():
        print(f"| {ids} | " + " | ".join(fmt_case(results.get(c)) for c in cases) + " |")
    print("\nratio to polars in the same run (time; peak memory); files against polars-csv")
    for ids, results in table.items():
        parts = []
        for case in cases:
            r = results.get(case)
            peer = results.get(PEER_OF.get(case, "polars"))
            if r is None or peer is None or case in ("polars", "polars-csv"):
                continue
            parts.append(f"{case} {r['best'] / peer['best']:.2f}x; {r['peak'] / peer['peak']:.2f}x")
        print(f"  {ids}: " + ", ".join(parts))
    print(flush=True)


def write_cli_csv(path: str, n_rows: int) -> None:
    import pyarrow as pa

    data = make_data(n_rows, "uuid", seed=1)
    table = pa.table(
        {
            "customer_id": pa.array(data["customer_id"], pa.string()),
            "at": pa.array(data["at"].astype(np.int64)).cast(pa.timestamp("us", tz="UTC")),
            "value": pa.array(data["value"]),
        }
    )
    del data
    write_csv(table, Path(path))


def bench_cli(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench_ingest_cli_") as tmp:
        folder = Path(tmp)
        path = folder / "transactions.csv"
        # Made in a process of its own: a child's peak resident size (ru_maxrss) starts
        # from its parent's high-water mark, which the data would have raised to gigabytes.
        spawn([sys.executable, __file__, "--write-cli-csv", str(path), "--cli-rows",
               str(args.cli_rows)])  # fmt: skip
        size = path.stat().st_size
        print(f"\nrelcore summarize: {args.cli_rows:,} UUID rows, {size / 1e9:.2f} GB CSV")
        out = folder / "summary.csv"
        ours = [sys.executable, "-m", "relcore", "summarize", str(path), "--value", "value",
                "--observation-end", OBSERVATION_END, "-o", str(out)]  # fmt: skip
        peer = [sys.executable, __file__, "--cli-peer", str(path)]
        best: dict[str, tuple[float, int]] = {}
        for _ in range(args.rounds):
            for name, command in (("relcore summarize", ours), ("pyarrow + polars", peer)):
                print(f"  {name} ({load()})", flush=True)
                wall, rss, _ = spawn(command)
                if name not in best or wall < best[name][0]:
                    best[name] = (wall, max(rss, best.get(name, (0, 0))[1]))
        for name, (wall, rss) in best.items():
            print(
                f"  {name:<20}{wall:7.2f} s, peak {rss / 1e9:.2f} GB ({rss / size:.2f}x the file)"
            )
        ratio = best["relcore summarize"][0] / best["pyarrow + polars"][0]
        print(f"  ratio relcore / (pyarrow + polars): {ratio:.2f}x (target <= 1.5x)")


def cli_peer(path: str) -> None:
    import polars as pl
    import pyarrow.csv as pcsv

    frame = pl.from_arrow(pcsv.read_csv(path))
    polars_summary(frame)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", default="1000000,10000000")
    parser.add_argument("--ids", default="int,cust,uuid")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--repeat", type=int, default=2, help="runs per case and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds through all cases")
    parser.add_argument("--cli", action="store_true", help="also the command line on a CSV")
    parser.add_argument("--cli-only", action="store_true")
    parser.add_argument("--cli-rows", type=int, default=20_000_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--cli-peer", help=argparse.SUPPRESS)
    parser.add_argument("--write-cli-csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_cli_csv:
        write_cli_csv(args.write_cli_csv, args.cli_rows)
        return
    if args.child:
        print(json.dumps(run_child(args.child, Path(args.folder), args.repeat)))
        return
    if args.cli_peer:
        cli_peer(args.cli_peer)
        return
    args.rows = [int(r) for r in args.rows.split(",")]
    args.ids = args.ids.split(",")
    args.cases = args.cases.split(",")
    print(f"bench_ingest: {load()}, python {sys.version.split()[0]}")
    # The command line first: a child's peak resident size counts the memory of this
    # process when it started the child, which making the frames' data raises to gigabytes.
    if args.cli or args.cli_only:
        bench_cli(args)
    if not args.cli_only:
        bench_frames(args)
    print(f"done ({load()})")


if __name__ == "__main__":
    main()
