"""Dates and instants on the command line: ISO 8601, and a refusal that lists the forms."""

from __future__ import annotations

import pytest

TX = "customer_id,at\na,2026-01-05T10:00:00Z\na,2026-01-20T10:00:00Z\nb,2026-06-30T23:00:00Z\n"
FORMS = (
    "accepted: an ISO 8601 date such as 2026-06-30 (the whole UTC day), or an ISO 8601 "
    "datetime with its UTC offset such as 2026-06-30T18:00:00+02:00 or 2026-06-30T16:00Z"
)


def summarize(relcore_cli, tmp_path, *options):
    src = tmp_path / "tx.csv"
    src.write_text(TX)
    return relcore_cli("summarize", src, "-o", "-", *options)


@pytest.mark.parametrize("text", ["30/06/2026", "06/30/2026", "2026-6-30", "June 30, 2026", ""])
def test_a_date_that_is_not_iso_8601_is_refused_listing_the_accepted_forms(
    tmp_path, relcore_cli, text
):
    done = summarize(relcore_cli, tmp_path, "--observation-end", text)
    assert done.status == 2
    assert done.errors == [
        f"relcore summarize: error: --observation-end: {text!r} is not an ISO 8601 date or "
        f"datetime; {FORMS}"
    ]


@pytest.mark.parametrize(
    "text",
    ["2026-06-30", "20260630", "2026-W27-2", "2026-06-30T23:59:59.999999Z",
     "2026-07-01T01:59:59.999999+02:00", "2026-06-30 23:59:59.999999+00:00"],
)  # fmt: skip
def test_every_iso_8601_form_of_the_same_end_gives_the_same_summary(tmp_path, relcore_cli, text):
    # 2026-W27-2 is Tuesday 30 June 2026; each form ends at the last microsecond of that day.
    reference = summarize(relcore_cli, tmp_path, "--observation-end", "2026-06-30")
    done = summarize(relcore_cli, tmp_path, "--observation-end", text)
    assert done.status == 0, done.err
    assert done.out == reference.out


def test_an_event_after_a_basic_format_end_is_still_refused(tmp_path, relcore_cli):
    done = summarize(relcore_cli, tmp_path, "--observation-end", "20260629")
    assert done.status == 2
    assert "events after --observation-end (2026-06-29 23:59:59 UTC)" in done.errors[0]
