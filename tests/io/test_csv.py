"""The one CSV reader: cells exactly as written, numbers and times strictly, errors that
name the file's column, rows and lines. Every behaviour holds for both engines."""

from __future__ import annotations

import csv
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from relcore import DataError, EventLog
from relcore.io.csv import read_table

UTC = dt.UTC


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


def micros(t: dt.datetime) -> int:
    return (t - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(microseconds=1)


def write(tmp_path, text: str, name: str = "f.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def column_file(tmp_path, cells: list[str], name: str = "x"):
    path = tmp_path / "c.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([name])
        for c in cells:
            w.writerow([c])
    return path


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param


# ------------------------------------------------------------------------- cells


def test_null_markers_are_ids_like_any_other_and_stay_as_written(tmp_path, engine):
    path = write(tmp_path, "id,kind\nNA,x\nNULL,\nnull,y\nN/A,z\nnan,\n00042,w\n None ,v\n")
    table = read_table(path, ["id", "kind"], engine=engine)
    assert table.ids("id").tolist() == ["NA", "NULL", "null", "N/A", "nan", "00042", " None "]
    assert table.labels("kind").tolist() == ["x", None, "y", "z", None, "w", "v"]


def test_an_empty_id_is_an_error_naming_its_rows(tmp_path, engine):
    path = write(tmp_path, "id,v\na,1\n,2\nb,3\n,4\n")
    with pytest.raises(DataError, match="empty cells") as info:
        read_table(path, ["id"], engine=engine).ids("id")
    assert (info.value.column, info.value.rows) == ("id", (1, 3))


@pytest.mark.parametrize(
    ("cell", "value"),
    [("12", 12.0), ("-0.5", -0.5), ("+3", 3.0), ("1e3", 1000.0), ("2.5E-1", 0.25),
     (".5", 0.5), ("5.", 5.0), ("0042", 42.0), (" 7 ", 7.0), ("1e-400", 0.0)],
)  # fmt: skip
def test_numbers_are_read_as_programs_write_them(tmp_path, engine, cell, value):
    table = read_table(column_file(tmp_path, [cell]), ["x"], engine=engine)
    assert table.numbers("x").tolist() == [value]


def test_cells_that_are_not_numbers_are_all_listed(tmp_path, engine):
    cells = ["1", "1_000", "true", "2", "1,000", "0x10", "\u0661\u0662", "", "1e", "."]
    with pytest.raises(DataError) as info:
        read_table(column_file(tmp_path, cells, "amount"), ["amount"], engine=engine).numbers(
            "amount"
        )
    # the empty cell is reported first, on its own
    assert info.value.column == "amount"
    assert info.value.problem == "empty cells"
    assert info.value.rows == (7,)
    cells[7] = "3"
    with pytest.raises(DataError) as info:
        read_table(column_file(tmp_path, cells, "amount"), ["amount"], engine=engine).numbers(
            "amount"
        )
    assert info.value.problem == "values that are not numbers"
    assert info.value.count == 7
    assert info.value.rows == (1, 2, 4, 5, 6)


@pytest.mark.parametrize("cell", ["inf", "-Infinity", "nan", "NaN", "1e400"])
def test_infinite_or_nan_numbers_are_refused(tmp_path, engine, cell):
    with pytest.raises(DataError, match="infinite or NaN") as info:
        read_table(column_file(tmp_path, ["1", cell], "amount"), ["amount"], engine=engine).numbers(
            "amount"
        )
    assert (info.value.column, info.value.rows) == ("amount", (1,))


# ------------------------------------------------------------------------- time


def test_a_timestamp_with_an_offset_is_that_instant_even_when_a_zone_is_given(tmp_path, engine):
    cells = ["2026-01-05T23:30:00+00:00", "2026-01-05T10:00:00-05:00", "2026-01-05T10:00Z"]
    expected = [
        micros(dt.datetime(2026, 1, 5, 23, 30, tzinfo=UTC)),
        micros(dt.datetime(2026, 1, 5, 15, 0, tzinfo=UTC)),
        micros(dt.datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
    ]
    for zone in (None, "America/New_York"):
        table = read_table(column_file(tmp_path, cells), ["x"], engine=engine)
        assert table.instants("x", timezone=zone).tolist() == expected


def test_naive_timestamps_are_wall_clock_times_in_the_given_zone(tmp_path, engine):
    paris = ZoneInfo("Europe/Paris")
    cells = ["2026-07-01 10:00", "2026-01-05T10:00:00+00:00", "2026-01-05"]
    table = read_table(column_file(tmp_path, cells), ["x"], engine=engine)
    assert table.instants("x", timezone="Europe/Paris").tolist() == [
        micros(dt.datetime(2026, 7, 1, 10, tzinfo=paris)),
        micros(dt.datetime(2026, 1, 5, 10, tzinfo=UTC)),
        micros(dt.datetime(2026, 1, 5, tzinfo=paris)),
    ]


def test_naive_timestamps_without_a_zone_are_refused_naming_the_files_column(tmp_path, engine):
    cells = ["2026-01-05T10:00Z", "2026-01-05 10:00", "2026-01-06"]
    table = read_table(column_file(tmp_path, cells, "ordered_at"), ["ordered_at"], engine=engine)
    with pytest.raises(DataError, match="naive") as info:
        table.instants("ordered_at")
    assert (info.value.column, info.value.rows) == ("ordered_at", (1, 2))
    assert "timezone=" in info.value.problem


def test_an_unparseable_timestamp_is_reported_as_unparseable_when_a_zone_is_given(tmp_path, engine):
    cells = ["2026-01-05 10:00", "yesterday", "2026-13-01 10:00", "2026-02-30T10:00Z"]
    table = read_table(column_file(tmp_path, cells), ["x"], engine=engine)
    with pytest.raises(DataError, match="not ISO 8601") as info:
        table.instants("x", timezone="Europe/Paris")
    assert info.value.rows == (1, 2, 3)


def test_wall_clock_times_skipped_by_daylight_saving_are_named_by_their_row(tmp_path, engine):
    # 02:30 did not exist in Paris on 2026-03-29; the aware row before it is not naive,
    # so the error must still count rows of the file, not of the naive ones.
    cells = ["2026-03-28T10:00Z", "2026-03-29 01:30", "2026-03-29 02:30"]
    table = read_table(column_file(tmp_path, cells), ["x"], engine=engine)
    with pytest.raises(DataError, match="do not exist in Europe/Paris") as info:
        table.instants("x", timezone="Europe/Paris")
    assert info.value.rows == (2,)


def test_a_format_with_an_offset_keeps_the_offset_in_the_data(tmp_path, engine):
    cells = ["2026-01-05 23:30:00+0000", "2026-01-05 10:00:00+01:00", "2026-01-05 10:00:00Z"]
    fmt = "%Y-%m-%d %H:%M:%S%z"
    expected = [
        micros(dt.datetime(2026, 1, 5, 23, 30, tzinfo=UTC)),
        micros(dt.datetime(2026, 1, 5, 9, tzinfo=UTC)),
        micros(dt.datetime(2026, 1, 5, 10, tzinfo=UTC)),
    ]
    for zone in (None, "America/New_York"):
        table = read_table(column_file(tmp_path, cells), ["x"], engine=engine)
        assert table.instants("x", timezone=zone, at_format=fmt).tolist() == expected


def test_a_format_without_an_offset_reads_wall_clock_times_in_the_zone(tmp_path, engine):
    cells = ["20260105", " 20260105 ", "20260701"]
    table = read_table(column_file(tmp_path, cells), ["x"], engine=engine)
    paris = ZoneInfo("Europe/Paris")
    got = table.instants("x", timezone="Europe/Paris", at_format="%Y%m%d")
    assert got.tolist() == [
        micros(dt.datetime(2026, 1, 5, tzinfo=paris)),
        micros(dt.datetime(2026, 1, 5, tzinfo=paris)),
        micros(dt.datetime(2026, 7, 1, tzinfo=paris)),
    ]
    with pytest.raises(DataError, match="no UTC offset"):
        table.instants("x", at_format="%Y%m%d")


def test_impossible_dates_are_refused_whatever_the_format(tmp_path, engine):
    table = read_table(column_file(tmp_path, ["2026-01-30", "2026-02-30"]), ["x"], engine=engine)
    with pytest.raises(DataError, match="do not match") as info:
        table.instants("x", timezone="UTC", at_format="%Y-%m-%d")
    assert info.value.rows == (1,)


def test_zone_names_in_a_format_are_refused(tmp_path, engine):
    table = read_table(column_file(tmp_path, ["2026-01-05 10:00 EST"]), ["x"], engine=engine)
    with pytest.raises(DataError, match="%Z"):
        table.instants("x", timezone="UTC", at_format="%Y-%m-%d %H:%M %Z")


def test_instants_beyond_the_years_1_to_9999_in_utc_are_refused(tmp_path, engine):
    cells = [
        "0001-01-01T00:00:00+00:00",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:59:59.999999Z",
    ]
    table = read_table(column_file(tmp_path, cells), ["x"], engine=engine)
    with pytest.raises(DataError, match="outside the years 1 to 9999 in UTC") as info:
        table.instants("x")
    assert info.value.rows == (1, 2)
    table = read_table(column_file(tmp_path, [cells[0], cells[3]]), ["x"], engine=engine)
    assert table.instants("x").tolist() == [
        micros(dt.datetime(1, 1, 1, tzinfo=UTC)),
        micros(dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
    ]


# ------------------------------------------------------------------------- the file


def test_blank_lines_are_not_rows_and_quoted_line_breaks_stay_in_their_cell(tmp_path, engine):
    path = write(tmp_path, 'id,at\n\na,1\n\n"b\nx",2\nc,3\n')
    table = read_table(path, ["id"], engine=engine)
    assert table.ids("id").tolist() == ["a", "b\nx", "c"]
    assert table.locate([0, 1, 2], "id") == [(0, 3, "a"), (1, 5, "b\nx"), (2, 7, "c")]


@pytest.mark.parametrize(
    ("body", "problem"),
    [("a,1,5\n", "has 3 cells where the header has 2 columns"),
     ("a\n", "has 1 cells where the header has 2 columns")],
)  # fmt: skip
def test_a_row_with_extra_or_missing_cells_names_its_line(tmp_path, engine, body, problem):
    path = write(tmp_path, 'id,at\n\nb,2\n"c\nd",3\n' + body)
    with pytest.raises(DataError) as info:
        read_table(path, ["id"], engine=engine)
    assert str(info.value) == f"{path}, line 6: {problem}"


def test_a_quote_left_open_is_reported_at_its_line(tmp_path, engine):
    path = write(tmp_path, 'id,at\na,1\n"b,2\nc,3\n')
    with pytest.raises(DataError, match=r"line 3: has 1 cells"):
        read_table(path, ["id"], engine=engine)


@pytest.mark.parametrize("header", ["at,at", "id,T,T", "channel,x,channel"])
def test_a_column_read_twice_in_the_header_is_an_error_naming_it(tmp_path, engine, header):
    name = header.split(",")[-1]
    path = write(tmp_path, header + "\n" + ",".join("1" for _ in header.split(",")) + "\n")
    with pytest.raises(DataError, match="appears 2 times in the header") as info:
        read_table(path, [name], engine=engine)
    assert info.value.column == name


def test_a_known_schema_refuses_unknown_and_duplicate_columns(tmp_path, engine):
    known = ("customer_id", "at", "channel", "category")
    path = write(tmp_path, "customer_id,at,categroy\na,1,x\n")
    with pytest.raises(DataError, match="not a known column") as info:
        read_table(path, ["customer_id"], known=known, engine=engine)
    assert info.value.column == "categroy"
    path = write(tmp_path, "customer_id,at,category,category\na,1,x,y\n")
    with pytest.raises(DataError, match="appears 2 times"):
        read_table(path, ["customer_id"], known=known, engine=engine)


def test_a_missing_column_is_named_with_the_header_it_was_looked_for_in(tmp_path, engine):
    path = write(tmp_path, "customer_id\tat\na\t1\n")
    with pytest.raises(DataError, match="delimited by tabs") as info:
        read_table(path, ["at"], engine=engine)
    assert info.value.column == "at"
    assert read_table(path, ["at"], delimiter="\t", engine=engine).text("at") == ["1"]


def test_a_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path, engine):
    path = write(tmp_path, "\ufeffid,v\na,1\n")
    assert read_table(path, ["id"], engine=engine).ids("id").tolist() == ["a"]


def test_header_only_and_empty_files(tmp_path, engine):
    assert read_table(write(tmp_path, "id,v\n"), ["id"], engine=engine).n_rows == 0
    with pytest.raises(DataError, match="no header row"):
        read_table(write(tmp_path, "\n\n"), ["id"], engine=engine)


def test_bytes_that_are_not_utf8_are_named_by_row_and_read_in_their_encoding(tmp_path, engine):
    path = write(tmp_path, "id,v\nJosé,1\nAnn,2\n", encoding="latin-1")
    with pytest.raises(DataError, match="not utf-8 text") as info:
        read_table(path, ["id"], engine=engine).ids("id")
    assert (info.value.column, info.value.rows) == ("id", (0,))
    latin = read_table(path, ["id"], encoding="latin-1", engine=engine)
    assert latin.ids("id").tolist() == ["José", "Ann"]


def test_a_header_that_is_not_utf8_names_its_line(tmp_path, engine):
    path = write(tmp_path, "\nKundé,v\na,1\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"line 2: bytes that are not utf-8"):
        read_table(path, ["Kundé"], engine=engine)


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [({"delimiter": ";;"}, "delimiter"), ({"delimiter": '"'}, "delimiter"),
     ({"encoding": "klingon"}, "encoding")],
)  # fmt: skip
def test_how_the_file_is_written_is_checked_before_reading(tmp_path, engine, kwargs, column):
    with pytest.raises(DataError) as info:
        read_table(write(tmp_path, "id\na\n"), ["id"], engine=engine, **kwargs)
    assert info.value.column == column


def test_the_engines_read_a_file_of_awkward_cells_alike(tmp_path):
    pytest.importorskip("pyarrow")
    numbers = ["1", " 2 ", "3e2", "-.5", "+7", "0008"]
    times = [
        "2026-01-05T10:00Z",
        "2026-01-05 10:00",
        "20260105T100000+0100",
        "2026-01-05T10:00:00.123456789+00:00",
        "2026-01-05T10:00:00,5Z",
        "2026-01-05",
    ]
    ids = ["NA", "null", '"q"', "a,b", "x\ny", " s "]
    path = tmp_path / "awkward.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "n", "t"])
        w.writerows(zip(ids, numbers, times, strict=True))
    got = {}
    for engine in ("arrow", "python"):
        table = read_table(path, ["id", "n", "t"], engine=engine)
        got[engine] = (
            table.ids("id").tolist(),
            table.numbers("n").tolist(),
            table.instants("t", timezone="Asia/Tokyo").tolist(),
        )
    assert got["arrow"] == got["python"]
    assert got["python"][0] == ids
    assert got["python"][1] == [1.0, 2.0, 300.0, -0.5, 7.0, 8.0]


# ------------------------------------------------------------------------- event logs


def test_read_csv_names_the_files_columns_in_its_errors(tmp_path):
    path = write(tmp_path, "client,ordered_at,amount\na,2026-01-05T10:00Z,inf\n")
    with pytest.raises(DataError, match="infinite") as info:
        EventLog.read_csv(path, customer_id="client", at="ordered_at", value="amount")
    assert info.value.column == "amount"
    path = write(tmp_path, "client,ordered_at\na,2026-01-05 10:00\n")
    with pytest.raises(DataError, match="naive") as info:
        EventLog.read_csv(path, customer_id="client", at="ordered_at")
    assert info.value.column == "ordered_at"


def test_read_csv_refuses_one_column_for_two_roles(tmp_path):
    path = write(tmp_path, "at,v\n2026-01-05T10:00Z,1\n")
    with pytest.raises(DataError, match="two columns of the log") as info:
        EventLog.read_csv(path, customer_id="at", at="at")
    assert info.value.column == "at"


def test_read_csv_keeps_null_markers_as_ids(tmp_path):
    path = write(tmp_path, "id,at\nNA,2026-01-05T10:00Z\nNULL,2026-01-06T10:00Z\n")
    log = EventLog.read_csv(path, customer_id="id", at="at")
    assert log.customers.tolist() == ["NA", "NULL"]


def test_whole_numbers_are_strict_and_bounded(tmp_path, engine):
    cells = ["1", "", " -2 ", "1.0", "1_0", "99999999999999999999"]
    table = read_table(column_file(tmp_path, cells), ["x"], engine=engine)
    with pytest.raises(DataError, match="not whole numbers") as info:
        table.integers("x", default=0)
    assert info.value.rows == (3, 4)
    table = read_table(column_file(tmp_path, [*cells[:3], cells[5]]), ["x"], engine=engine)
    with pytest.raises(DataError, match="too large") as info:
        table.integers("x", default=0)
    assert info.value.rows == (3,)
    table = read_table(column_file(tmp_path, cells[:3]), ["x"], engine=engine)
    assert table.integers("x", default=7).tolist() == [1, 7, -2]


@pytest.mark.parametrize("fmt", ["%s", "%Q", "%Y-%m-%d %"])
def test_a_format_strptime_cannot_read_is_refused_before_any_cell(tmp_path, engine, fmt):
    table = read_table(column_file(tmp_path, ["1767607200"]), ["x"], engine=engine)
    with pytest.raises(DataError, match="which strptime cannot read") as info:
        table.instants("x", timezone="UTC", at_format=fmt)
    assert info.value.rows == ()
