"""Parquet input to `relcore summarize`, read a batch of rows at a time: the summary the
same file gives as CSV, typed or text columns alike; problems named by column and row."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

import relcore.io.parquet
from relcore.cli import main

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

UTC = dt.UTC
IDS = ["a", "b", "a", "c", "a", "b"]
WHEN = [dt.datetime(2026, 1, d, 10, tzinfo=UTC) for d in (5, 6, 12, 13, 20, 21)]
AMOUNT = [10.0, 5.0, 20.0, 7.5, 30.0, 2.5]
KIND = ["purchase", "purchase", "refund", "purchase", "purchase", "purchase"]


def summarize_file(path, capsys, *options):
    status = main(["summarize", str(path), "--customer", "who", "--at", "when", "--value",
                   "amount", "--observation-end", "2026-01-31", "-o", "-", *options])  # fmt: skip
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.out, captured.err.splitlines()


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["who", "when", "amount", "what"])
        writer.writerows(rows)


def csv_rows():
    return [
        [i, t.isoformat(), repr(v), k] for i, t, v, k in zip(IDS, WHEN, AMOUNT, KIND, strict=True)
    ]


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(relcore.io.parquet, "BATCH_ROWS", 2)


@pytest.mark.parametrize("typed", [True, False])
def test_a_parquet_file_summarises_as_the_same_csv_does(tmp_path, capsys, typed):
    if typed:
        table = pa.table({
            "who": pa.array(IDS).dictionary_encode(),
            "when": pa.array(WHEN, pa.timestamp("ms", tz="Europe/Paris")),
            "amount": pa.array(AMOUNT),
            "what": KIND,
        })  # fmt: skip
    else:
        rows = csv_rows()
        table = pa.table({name: [r[j] for r in rows] for j, name in enumerate(
            ["who", "when", "amount", "what"])})  # fmt: skip
    pq.write_table(table, tmp_path / "tx.parquet", row_group_size=3)
    write_csv(tmp_path / "tx.csv", csv_rows())
    from_parquet = summarize_file(tmp_path / "tx.parquet", capsys, "--kind", "what")
    from_csv = summarize_file(tmp_path / "tx.csv", capsys, "--kind", "what")
    assert from_parquet[0] == 0, from_parquet[2]
    assert from_parquet == from_csv


def test_a_null_is_named_by_its_row(tmp_path, capsys):
    amounts = [*AMOUNT]
    amounts[1] = amounts[4] = None
    path = tmp_path / "tx.parquet"
    pq.write_table(pa.table({"who": IDS, "when": WHEN, "amount": amounts}), path)
    status, _, errors = summarize_file(path, capsys)
    assert status == 2
    assert errors == [
        f"relcore summarize: error: {path}: column 'amount', 2 rows: missing values",
        "  row 1",
        "  row 4",
    ]


def test_times_without_a_zone_need_the_timezone_option(tmp_path, capsys):
    path = tmp_path / "tx.parquet"
    naive = [t.replace(tzinfo=None) for t in WHEN]
    pq.write_table(pa.table({"who": IDS, "when": naive, "amount": AMOUNT}), path)
    status, _, errors = summarize_file(path, capsys)
    assert status == 2
    assert errors == [
        "relcore summarize: error: column 'when': holds times without a time zone; pass "
        "--timezone naming the zone they were recorded in"
    ]
    status, _, _ = summarize_file(path, capsys, "--timezone", "UTC")
    assert status == 0


def test_late_events_in_several_batches_are_counted_together(tmp_path, capsys):
    when = [*WHEN]
    when[1] = when[5] = dt.datetime(2026, 2, 2, tzinfo=UTC)
    path = tmp_path / "tx.parquet"
    pq.write_table(pa.table({"who": IDS, "when": when, "amount": AMOUNT}), path)
    status, _, errors = summarize_file(path, capsys)
    assert status == 2
    assert errors[0].startswith(f"relcore summarize: error: {path}: column 'when', 2 rows: ")
    assert errors[1:] == ["  row 1: '2026-02-02 00:00:00+00:00'",
                          "  row 5: '2026-02-02 00:00:00+00:00'"]  # fmt: skip


def test_a_file_that_is_not_parquet_or_lacks_a_column_is_one_line(tmp_path, capsys):
    path = tmp_path / "tx.parquet"
    path.write_text("who,when\n")
    status, _, errors = summarize_file(path, capsys)
    assert status == 2
    assert len(errors) == 1
    assert errors[0].startswith(f"relcore summarize: error: {path}: could not be read as Parquet")
    pq.write_table(pa.table({"who": IDS, "at": WHEN, "amount": AMOUNT}), path)
    status, _, errors = summarize_file(path, capsys)
    assert errors == [
        f"relcore summarize: error: column 'when': is not a column of {path} (its columns: "
        "'who', 'at', 'amount')"
    ]
