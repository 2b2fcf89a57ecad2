"""`relcore summarize`: a user's own CSV to a summary CSV; nothing changed or left out
silently, every problem one line naming the option, or the column and the file's lines."""

from __future__ import annotations

import csv
import datetime as dt

import numpy as np
import pytest

from relcore import EventLog, summarize

TX = (
    "cust,when,amount\n"
    "a,2026-01-05T10:00:00+00:00,10\n"
    "a,2026-01-12T10:00:00+00:00,20\n"
    "b,2026-01-06T10:00:00+00:00,5\n"
    "a,2026-01-13T10:00:00+00:00,30\n"
)


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def read_rows(text):
    return list(csv.DictReader(text.splitlines()))


def summarize_to_stdout(relcore_cli, path, *options):
    return relcore_cli("summarize", path, "--observation-end", "2026-01-31", "-o", "-", *options)


def test_summarize_writes_the_library_numbers_and_records_the_period(tmp_path, relcore_cli):
    src = write(tmp_path, "tx.csv", TX)
    out = tmp_path / "summary.csv"
    done = relcore_cli(
        "summarize", src, "--customer", "cust", "--at", "when", "--value", "amount",
        "--period", "W", "--observation-end", "2026-01-31", "-o", out,
    )  # fmt: skip
    assert done.status == 0, done.err
    assert done.out.strip() == f"2 customers summarised to {out} (period W)"
    rows = read_rows(out.read_text())
    expected = summarize(
        EventLog.from_arrays(
            ["a", "a", "b", "a"],
            ["2026-01-05T10:00:00Z", "2026-01-12T10:00:00Z", "2026-01-06T10:00:00Z",
             "2026-01-13T10:00:00Z"],
            value=[10.0, 20.0, 5.0, 30.0],
        ),
        period="W",
        observation_end="2026-01-31",
    )  # fmt: skip
    assert [r["customer_id"] for r in rows] == expected.customer_id.tolist()
    for col in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_array_equal([float(r[col]) for r in rows], getattr(expected, col))
    assert {r["period"] for r in rows} == {"W"}


def test_a_custom_period_is_recorded_as_the_duration_it_was_given(tmp_path, relcore_cli):
    src = write(tmp_path, "tx.csv", TX)
    done = summarize_to_stdout(
        relcore_cli, src, "--customer", "cust", "--at", "when", "--period", "1d12h"
    )
    assert done.status == 0, done.err
    assert {r["period"] for r in read_rows(done.out)} == {"1d12h"}


def test_ids_are_written_exactly_as_read_null_markers_included(tmp_path, relcore_cli, engine):
    src = write(
        tmp_path,
        "tx.csv",
        "customer_id,at\nNA,2026-01-05T10:00Z\nNULL,2026-01-05T10:00Z\nnull,2026-01-05T10:00Z\n"
        "N/A,2026-01-05T10:00Z\nnan,2026-01-05T10:00Z\n00042,2026-01-05T10:00Z\n",
    )
    done = summarize_to_stdout(relcore_cli, src)
    assert done.status == 0, done.err
    ids = [r["customer_id"] for r in read_rows(done.out)]
    assert sorted(ids) == sorted(["NA", "NULL", "null", "N/A", "nan", "00042"])


def test_an_empty_id_names_its_line(tmp_path, relcore_cli, engine):
    src = write(tmp_path, "tx.csv", "customer_id,at\na,2026-01-05T10:00Z\n\n,2026-01-06T10:00Z\n")
    done = summarize_to_stdout(relcore_cli, src)
    assert done.status == 2
    assert done.errors == [
        f"relcore summarize: error: {src}: column 'customer_id', 1 row: empty cells (every "
        "row needs an id)",
        "  line 4 (row 1): ''",
    ]


def test_bad_rows_name_the_users_column_and_the_files_own_lines(tmp_path, relcore_cli, engine):
    # A blank line and a line break inside quotes: the rows are not on lines row + 2.
    src = write(
        tmp_path,
        "tx.csv",
        "cust,ordered_at\n"
        "a,2026-01-05T10:00:00Z\n"
        "\n"
        '"b\nc",2026-01-05 10:00\n'
        "c,2026-01-06T10:00:00Z\n"
        "d,2026-01-07\n",
    )
    out = tmp_path / "o.csv"
    done = relcore_cli("summarize", src, "--customer", "cust", "--at", "ordered_at",
                       "--observation-end", "2026-01-31", "-o", out)  # fmt: skip
    assert done.status == 2
    assert done.errors == [
        f"relcore summarize: error: {src}: column 'ordered_at', 2 rows: naive timestamps (no "
        "UTC offset); pass --timezone naming the zone they were recorded in, or write them "
        "with an offset such as +00:00",
        "  line 4 (row 1): '2026-01-05 10:00'",
        "  line 7 (row 3): '2026-01-07'",
    ]
    assert not out.exists()


def test_with_a_timezone_an_unparseable_timestamp_is_unparseable_not_naive(
    tmp_path, relcore_cli, engine
):
    src = write(tmp_path, "tx.csv", "customer_id,at\na,2026-01-05 10:00\nb,yesterday\n")
    done = summarize_to_stdout(relcore_cli, src, "--timezone", "Europe/Paris")
    assert done.status == 2
    assert done.errors[0] == (
        f"relcore summarize: error: {src}: column 'at', 1 row: values that are not ISO 8601 "
        "timestamps (such as 2026-11-27T10:00:00-05:00)"
    )
    assert done.errors[1:] == ["  line 3 (row 1): 'yesterday'"]


def test_at_format_with_an_offset_keeps_the_offset_in_the_data(tmp_path, relcore_cli, engine):
    # 23:30 UTC on Jan 5th is 18:30 in New York: localising it again would move the
    # purchase into another day, and a purchase at 10:00 UTC on Jan 6th beyond the end.
    src = write(
        tmp_path,
        "tx.csv",
        "customer_id,at\na,2026-01-05 23:30:00+0000\nb,2026-01-06 10:00:00+0000\n",
    )
    done = relcore_cli(
        "summarize", src, "--at-format", "%Y-%m-%d %H:%M:%S%z", "--timezone",
        "America/New_York", "--observation-end", "2026-01-06", "-o", "-",
    )  # fmt: skip
    assert done.status == 0, done.err
    rows = {r["customer_id"]: r for r in read_rows(done.out)}
    # T counts UTC days from the first purchase to the observation end (Jan 6th)
    assert (float(rows["a"]["T"]), float(rows["b"]["T"])) == (1.0, 0.0)


def test_events_after_the_observation_end_are_named_by_their_line(tmp_path, relcore_cli, engine):
    src = write(
        tmp_path,
        "tx.csv",
        "customer_id,at\na,9999-12-31T00:00:00Z\na,2026-01-05T10:00Z\nb,2026-02-01T00:00Z\n",
    )
    done = summarize_to_stdout(relcore_cli, src)
    assert done.status == 2
    assert done.errors == [
        f"relcore summarize: error: {src}: column 'at', 2 rows: events after "
        "--observation-end (2026-01-31 23:59:59 UTC); choose a later end, or leave them out "
        "of the file",
        "  line 2 (row 0): '9999-12-31T00:00:00Z'",
        "  line 4 (row 2): '2026-02-01T00:00Z'",
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [("a,2026-01-05T10:00Z,5\n", "has 3 cells where the header has 2 columns"),
     ("a\n", "has 1 cells where the header has 2 columns")],
)  # fmt: skip
def test_a_row_with_extra_or_missing_cells_names_its_line(
    tmp_path, relcore_cli, engine, body, problem
):
    src = write(tmp_path, "tx.csv", "customer_id,at\nb,2026-01-05T10:00Z\n" + body)
    done = summarize_to_stdout(relcore_cli, src)
    assert done.status == 2
    assert done.errors == [f"relcore summarize: error: {src}, line 3: {problem}"]


def test_a_column_named_twice_in_the_header_is_an_error(tmp_path, relcore_cli, engine):
    src = write(tmp_path, "tx.csv", "customer_id,at,at\na,2026-01-05T10:00Z,2026-01-09T10:00Z\n")
    done = summarize_to_stdout(relcore_cli, src)
    assert done.status == 2
    assert done.errors == [
        f"relcore summarize: error: column 'at': appears 2 times in the header of {src} "
        "(columns 2 and 3); which one is meant?"
    ]


def test_one_column_for_two_options_is_an_error(tmp_path, relcore_cli):
    src = write(tmp_path, "tx.csv", TX)
    done = summarize_to_stdout(relcore_cli, src, "--customer", "when", "--at", "when")
    assert done.status == 2
    assert done.errors == [
        "relcore summarize: error: --customer: column 'when' is also given to --at; each "
        "needs its own"
    ]


def test_rows_of_other_kinds_are_counted_on_stderr_every_time(tmp_path, relcore_cli, engine):
    src = write(
        tmp_path,
        "tx.csv",
        "customer_id,at,type\n"
        "a,2026-01-05T10:00Z,purchase\n"
        "a,2026-01-07T10:00Z,Purchase\n"
        "a,2026-01-09T10:00Z,purchase \n"
        "b,2026-01-09T10:00Z,refund\n"
        "b,2026-01-10T10:00Z,refund\n",
    )
    for output in ("-", tmp_path / "o.csv"):
        done = relcore_cli("summarize", src, "--kind", "type", "--observation-end",
                           "2026-01-31", "-o", output)  # fmt: skip
        assert done.status == 0
        assert done.errors == [
            "relcore summarize: note: 4 of 5 rows left out, whose type is not 'purchase': "
            "'Purchase' (1 row), 'purchase ' (1 row), 'refund' (2 rows); kinds are matched "
            "exactly as written, so 'Purchase' and 'purchase ' are not 'purchase'"
        ]


def test_no_purchase_at_all_is_an_error_after_the_count(tmp_path, relcore_cli):
    src = write(tmp_path, "tx.csv", "customer_id,at,kind\na,2026-01-05T10:00Z,Purchase\n")
    done = summarize_to_stdout(relcore_cli, src, "--kind", "kind")
    assert done.status == 2
    assert done.errors[1] == (
        f"relcore summarize: error: {src}: no row has the kind 'purchase': there is nothing "
        "to summarise"
    )


@pytest.mark.parametrize(
    ("cells", "problem", "lines"),
    [(["inf", "1"], "values that are infinite or NaN", ["  line 2 (row 0): 'inf'"]),
     (["1_000", "true"], "values that are not numbers",
      ["  line 2 (row 0): '1_000'", "  line 3 (row 1): 'true'"])],
)  # fmt: skip
def test_bad_values_name_the_users_column(tmp_path, relcore_cli, engine, cells, problem, lines):
    body = "".join(f"{c},2026-01-05T10:00Z,{v}\n" for c, v in zip("ab", cells, strict=True))
    src = write(tmp_path, "tx.csv", "customer_id,at,amount\n" + body)
    done = summarize_to_stdout(relcore_cli, src, "--value", "amount")
    assert done.status == 2
    count = f"{len(lines)} row{'s' if len(lines) > 1 else ''}"
    assert done.errors == [
        f"relcore summarize: error: {src}: column 'amount', {count}: {problem}",
        *lines,
    ]


@pytest.mark.parametrize("delimiter", ["\\t", "tab", "\t"])
def test_a_tab_delimiter_can_be_written_as_backslash_t(tmp_path, relcore_cli, engine, delimiter):
    src = write(tmp_path, "tx.tsv", "customer_id\tat\na\t2026-01-05T10:00:00Z\n")
    done = summarize_to_stdout(relcore_cli, src, "--delimiter", delimiter)
    assert done.status == 0, done.err
    assert [r["customer_id"] for r in read_rows(done.out)] == ["a"]


def test_a_delimiter_of_two_characters_is_refused_in_one_line(tmp_path, relcore_cli):
    done = summarize_to_stdout(relcore_cli, write(tmp_path, "tx.csv", TX), "--delimiter", ";;")
    assert done.status == 2
    assert done.errors == [
        "relcore summarize: error: argument --delimiter: must be one character (or \\t for a "
        "tab), not a quote or line break: ';;' (see relcore summarize --help)"
    ]


def test_a_tab_file_read_with_commas_suggests_the_delimiter(tmp_path, relcore_cli, engine):
    src = write(tmp_path, "tx.tsv", "customer_id\tat\na\t2026-01-05T10:00:00Z\n")
    done = summarize_to_stdout(relcore_cli, src)
    assert done.status == 2
    assert done.errors == [
        f"relcore summarize: error: column 'customer_id': is not a column of {src} (its "
        "header: 'customer_id\\tat'); is the file delimited by tabs? pass --delimiter"
    ]


def test_latin1_input_is_refused_by_line_until_its_encoding_is_named(tmp_path, relcore_cli, engine):
    src = write(tmp_path, "tx.csv", "customer_id,at\nJosé,2026-01-05T10:00Z\n", "latin-1")
    done = summarize_to_stdout(relcore_cli, src)
    assert done.status == 2
    assert done.errors == [
        f"relcore summarize: error: {src}: column 'customer_id', 1 row: bytes that are not "
        "utf-8 text; if the file is in another encoding, pass --encoding naming it (such as "
        "latin-1 or cp1252)",
        "  line 2 (row 0): 'Jos\\xe9'",
    ]
    done = summarize_to_stdout(relcore_cli, src, "--encoding", "latin-1")
    assert done.status == 0, done.err
    assert [r["customer_id"] for r in read_rows(done.out)] == ["José"]


def test_a_byte_order_mark_is_not_part_of_the_header(tmp_path, relcore_cli, engine):
    src = write(tmp_path, "tx.csv", "\ufeffcustomer_id,at\na,2026-01-05T10:00Z\n")
    assert summarize_to_stdout(relcore_cli, src).status == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [("customer_id,at\n", "has a header but no rows: there is nothing to summarise"),
     ("", "is empty: it has no header row")],
)  # fmt: skip
def test_header_only_and_empty_files_are_one_line(tmp_path, relcore_cli, engine, text, message):
    src = write(tmp_path, "tx.csv", text)
    done = summarize_to_stdout(relcore_cli, src)
    assert done.status == 2
    assert done.errors == [f"relcore summarize: error: {src}: {message}"]


@pytest.mark.parametrize(
    ("options", "message"),
    [(["--period", "w"],
      "--period: expected D, W or a duration: must be a positive duration such as '7d', "
      "'20h' or '1d12h', got 'w'"),
     (["--timezone", "Mars/Base"],
      "--timezone: unknown time zone 'Mars/Base': expected an IANA name such as "
      "'America/New_York'"),
     (["--encoding", "klingon"], "--encoding: 'klingon' is not an encoding Python knows"),
     (["--calibration-end", "2026-01-31"], "--calibration-end: must be before --observation-end"),
     (["--calibration-end", "0001-01-01T00:00:00+01:00"],
      "--calibration-end: '0001-01-01T00:00:00+01:00' lies outside the years 1 to 9999 in UTC"),
     (["--calibration-end", "2026-01-10T00:00"],
      "--calibration-end: '2026-01-10T00:00' has no UTC offset; give a date (the whole UTC "
      "day) or a datetime with an offset, such as 2026-06-30T18:00:00+02:00")],
)  # fmt: skip
def test_bad_options_are_one_line_naming_the_option(tmp_path, relcore_cli, options, message):
    src = write(tmp_path, "tx.csv", TX)
    done = summarize_to_stdout(relcore_cli, src, "--customer", "cust", "--at", "when", *options)
    assert done.status == 2
    assert done.errors == [f"relcore summarize: error: {message}"]


def test_the_output_never_overwrites_the_input(tmp_path, relcore_cli):
    src = write(tmp_path, "tx.csv", TX)
    done = relcore_cli("summarize", src, "--customer", "cust", "--at", "when",
                       "--observation-end", "2026-01-31", "-o", src)  # fmt: skip
    assert done.status == 2
    assert done.errors == [
        f"relcore summarize: error: --output: {src} is an input file; it would be overwritten"
    ]
    assert src.read_text() == TX


def test_a_missing_file_is_one_line(tmp_path, relcore_cli):
    done = summarize_to_stdout(relcore_cli, tmp_path / "nope.csv")
    assert done.status == 2
    assert done.errors == [
        f"relcore summarize: error: {tmp_path / 'nope.csv'}: No such file or directory"
    ]


def test_the_observation_end_date_is_the_whole_utc_day(tmp_path, relcore_cli):
    late = dt.datetime(2026, 1, 31, 23, 59, 59, tzinfo=dt.UTC).isoformat()
    src = write(tmp_path, "tx.csv", f"customer_id,at\na,{late}\n")
    assert summarize_to_stdout(relcore_cli, src).status == 0


def test_a_header_name_with_spaces_is_pointed_out(tmp_path, relcore_cli, engine):
    src = write(tmp_path, "tx.csv", "customer_id, at\na, 2026-01-05T10:00Z\n")
    done = summarize_to_stdout(relcore_cli, src)
    assert done.status == 2
    assert done.errors == [
        f"relcore summarize: error: column 'at': is not a column of {src} (its header: "
        "'customer_id', ' at'); ' at' differs only in spaces"
    ]


def test_times_outside_the_calendar_in_utc_name_their_line(tmp_path, relcore_cli, engine):
    src = write(
        tmp_path, "tx.csv", "customer_id,at\na,2026-01-05T10:00Z\nb,0001-01-01T00:00+01:00\n"
    )
    done = summarize_to_stdout(relcore_cli, src)
    assert done.status == 2
    assert done.errors == [
        f"relcore summarize: error: {src}: column 'at', 1 row: times outside the years 1 to 9999 "
        "in UTC",
        "  line 3 (row 1): '0001-01-01T00:00+01:00'",
    ]


def test_a_period_too_long_to_count_is_one_line(tmp_path, relcore_cli):
    # The duration parser and the command line each bound durations; either way one line.
    src = write(tmp_path, "tx.csv", TX)
    done = summarize_to_stdout(
        relcore_cli, src, "--customer", "cust", "--at", "when", "--period", "99999999999w"
    )
    assert done.status == 2
    assert len(done.errors) == 1
    assert done.errors[0].startswith("relcore summarize: error: --period: ")
    assert "'99999999999w'" in done.errors[0]
