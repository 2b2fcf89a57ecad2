"""A file read a block at a time means what it means read whole: the same columns, and on a
hostile file the same error, naming the same rows, counted over the whole file."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import relcore.io.csv
from relcore import DataError, EventLog
from relcore.cli import main
from relcore.io.csv import EventBatches, event_columns, read_table


def _has_pyarrow() -> bool:
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


ENGINES = [
    pytest.param(
        "arrow", marks=pytest.mark.skipif(not _has_pyarrow(), reason="pyarrow not installed")
    ),
    "python",
]
NAMES = {"customer_id": "who", "at": "when", "value": "amount", "kind": "what"}
LATE = 1_800_000_000_000_000  # 2027-01-15, in microseconds


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    """Blocks of a few rows, so that a small file is read in many."""
    monkeypatch.setattr(relcore.io.csv, "BLOCK_BYTES", 64)
    monkeypatch.setattr(relcore.io.csv, "_PYTHON_BATCH_ROWS", 2)


def no_late_events(columns):
    late = columns["at"] > LATE
    if late.any():
        raise DataError.from_mask("when", late, "events after the end")


def write_rows(path, rows, *, blank_every=0):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(NAMES.values())
    for i, row in enumerate(rows):
        writer.writerow(row)
        if blank_every and i % blank_every == 0:
            buffer.write("\n")
    path.write_text(buffer.getvalue(), encoding="utf-8")


def outcome(read):
    """What reading gives: the columns as lists, or the error as what it says."""
    try:
        columns = read()
    except DataError as exc:
        return ("error", type(exc).__name__, str(exc), exc.column, exc.rows, exc.count)
    out = {}
    for name, col in columns.items():
        values = col.to_pylist() if hasattr(col, "to_pylist") else col.tolist()
        out[name] = [None if v is None else str(v) for v in values]
    return ("columns", out)


def whole_file(path, engine):
    def read():
        table = read_table(path, list(NAMES.values()), engine=engine)
        columns = event_columns(table, NAMES)
        no_late_events(columns)
        return columns

    return read


def in_batches(path, engine):
    return lambda: EventBatches(path, NAMES, engine=engine, check=no_late_events).read()


IDS = st.sampled_from(["a", "b", "c d", "line\nbreak", "", "NA"])
TIMES = st.sampled_from(
    ["2026-01-05T10:00:00Z", "2026-03-01T09:30:00+01:00", "2026-01-05 10:00", "yesterday",
     "", "0001-01-01T00:00:00+01:00", "2027-06-01T00:00:00Z"]
)  # fmt: skip
AMOUNTS = st.sampled_from(["1", "2.5", " 7 ", "inf", "x", ""])
KINDS = st.sampled_from(["purchase", "refund", ""])
ROW = st.tuples(IDS, TIMES, AMOUNTS, KINDS)
# mostly good rows, so that problems are scattered between blocks
GOOD_ROW = st.tuples(
    st.sampled_from(["a", "b"]), st.just("2026-01-05T10:00:00Z"), st.just("1"), st.just("x")
)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=120, deadline=None)
@given(
    rows=st.lists(st.one_of(GOOD_ROW, GOOD_ROW, GOOD_ROW, ROW), min_size=1, max_size=30),
    ragged=st.one_of(st.none(), st.integers(0, 29)),
    blank_every=st.integers(0, 4),
)
def test_a_file_read_in_blocks_gives_what_the_whole_file_gives(
    tmp_path_factory, engine, rows, ragged, blank_every
):
    rows = [list(r) for r in rows]
    if ragged is not None and ragged < len(rows):
        rows[ragged].append("extra")
    path = tmp_path_factory.mktemp("f") / "events.csv"
    write_rows(path, rows, blank_every=blank_every)
    assert outcome(in_batches(path, engine)) == outcome(whole_file(path, engine))


@pytest.mark.parametrize("engine", ENGINES)
def test_small_blocks_are_read_by_the_engine_asked_for(tmp_path, engine):
    path = tmp_path / "events.csv"
    write_rows(path, [["a", "2026-01-05T10:00:00Z", "1", "x"]] * 20)
    parts = list(EventBatches(path, NAMES, engine=engine))
    assert len(parts) >= 5
    assert all(isinstance(p["customer_id"], np.ndarray) == (engine == "python") for p in parts)


@pytest.mark.parametrize("engine", ENGINES)
def test_problems_of_one_check_in_several_blocks_are_counted_together(tmp_path, engine):
    rows = [["a", "2026-01-05T10:00:00Z", "1", "x"] for _ in range(40)]
    for i in (3, 17, 18, 25, 31, 39):
        rows[i][2] = "inf"
    path = tmp_path / "events.csv"
    write_rows(path, rows)
    with pytest.raises(DataError) as info:
        in_batches(path, engine)()
    assert (info.value.column, info.value.rows, info.value.count) == (
        "amount",
        (3, 17, 18, 25, 31),
        6,
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_an_earlier_column_wins_over_a_problem_found_in_an_earlier_block(tmp_path, engine):
    rows = [["a", "2026-01-05T10:00:00Z", "1", "x"] for _ in range(40)]
    rows[2][2] = "x"  # a value that is not a number, early in the file
    rows[35][1] = "yesterday"  # a time that is not one, late in the file: checked first
    path = tmp_path / "events.csv"
    write_rows(path, rows)
    with pytest.raises(DataError, match="ISO 8601") as info:
        in_batches(path, engine)()
    assert (info.value.column, info.value.rows) == ("when", (35,))


@pytest.mark.parametrize("engine", ENGINES)
def test_within_a_column_the_check_made_first_wins_whichever_block_it_is_in(tmp_path, engine):
    rows = [["a", "2026-01-05T10:00:00Z", "1", "x"] for _ in range(40)]
    rows[1][1] = "2026-01-05 10:00"  # naive: checked after "not a timestamp at all"
    rows[30][1] = "yesterday"
    path = tmp_path / "events.csv"
    write_rows(path, rows)
    with pytest.raises(DataError, match="ISO 8601") as info:
        in_batches(path, engine)()
    assert info.value.rows == (30,)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_ragged_row_late_in_the_file_wins_over_bad_cells_before_it(tmp_path, engine):
    rows = [["a", "2026-01-05T10:00:00Z", "1", "x"] for _ in range(40)]
    rows[0][2] = "x"
    rows[33].append("extra")
    path = tmp_path / "events.csv"
    write_rows(path, rows)
    with pytest.raises(DataError, match="5 cells where the header has 4 columns") as info:
        in_batches(path, engine)()
    assert str(info.value).startswith(f"{path}, line 35:")


@pytest.mark.parametrize("engine", ENGINES)
def test_read_csv_in_blocks_builds_the_log_the_arrays_build(tmp_path, engine, monkeypatch):
    monkeypatch.setattr(relcore.io.csv, "DEFAULT_ENGINE", engine)
    rng = np.random.default_rng(2)
    ids = [f"c{i:03d}" for i in rng.integers(0, 15, 60)]
    times = [f"2026-01-{d:02d}T{h:02d}:00:00Z" for d, h in rng.integers([1, 0], [29, 24], (60, 2))]
    kinds = rng.choice(["purchase", "refund", ""], 60).tolist()
    path = tmp_path / "events.csv"
    rows = zip(ids, times, kinds, strict=True)
    write_rows(path, [[i, t, f"{k}.5", w] for k, (i, t, w) in enumerate(rows)])
    log = EventLog.read_csv(path, customer_id="who", at="when", value="amount", channel="what")
    expected = EventLog.from_arrays(
        ids, times, value=np.arange(60) + 0.5, channel=[k or None for k in kinds]
    )
    assert log.customers.tolist() == expected.customers.tolist()
    assert log.customer_codes.tolist() == expected.customer_codes.tolist()
    assert log.at.tolist() == expected.at.tolist()
    assert log.value.tolist() == expected.value.tolist()
    assert log.channel.to_numpy().tolist() == expected.channel.to_numpy().tolist()


def test_summarize_names_the_lines_of_rows_found_in_several_blocks(tmp_path, capsys):
    rows = [["a", "2026-01-05T10:00:00Z", "1", "purchase"] for _ in range(40)]
    for i in (4, 22, 37):
        rows[i][1] = "2026-02-05T10:00:00Z"
    path = tmp_path / "events.csv"
    write_rows(path, rows, blank_every=10)
    status = main(["summarize", str(path), "--customer", "who", "--at", "when",
                   "--observation-end", "2026-01-31", "-o", "-"])  # fmt: skip
    assert status == 2
    assert capsys.readouterr().err.splitlines() == [
        f"relcore summarize: error: {path}: column 'when', 3 rows: events after "
        "--observation-end (2026-01-31 23:59:59 UTC); choose a later end, or leave them out "
        "of the file",
        "  line 7 (row 4): '2026-02-05T10:00:00Z'",
        "  line 27 (row 22): '2026-02-05T10:00:00Z'",
        "  line 43 (row 37): '2026-02-05T10:00:00Z'",
    ]
