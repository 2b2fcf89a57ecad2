"""The ``relcore`` command.

Subcommands:

* ``relcore demo`` — the CDNOW walk-through;
* ``relcore summarize FILE ...`` — a customer-base summary of your own transactions;
* ``relcore score SUMMARY ...`` — P(alive), expected purchases and lifetime value;
* ``relcore policy check POLICY`` — validate a contact policy file, print its rules.
* ``relcore policy simulate POLICY CONTACTS`` — replay a contact plan through a policy.
* ``relcore policy audit LEDGER`` — export a ledger's audit trail (CSV, Parquet, JSON lines).
* ``relcore policy statement LEDGER CUSTOMER_ID`` — what a ledger holds on one customer.

Every CSV file is read by `relcore.io.csv`, so all commands read files alike.
``relcore summarize`` reads its transactions a block at a time, so a file is never held
whole (it also reads Parquet files, by the same rules, a batch of rows at a time). A
problem in the input is reported in one line naming the file, the column and, for bad
cells, the file's own line of each (blank lines and line breaks inside quotes counted; a
Parquet file's rows), and the command exits with status 2. Nothing is dropped or changed
silently: rows left out (of another kind than ``purchase``) are counted on stderr. An error
relcore did not foresee is reported in one line too, as an internal error, with exit
status 70.

A summary written by ``relcore summarize`` has a ``period`` column (``D``, ``W`` or a
duration such as ``3d``, the same in every row), so ``relcore score`` knows the length of
its periods; pandas and polars read it as an ordinary text column.

``-o`` writes the format its file name says (``.csv``, ``.parquet``, ``.json``/``.jsonl``
for JSON lines; any other name is refused before any work), text with LF line endings;
``-`` writes CSV to stdout. Dates on the command line are ISO 8601. ``summarize``,
``score`` and ``policy simulate`` show a tqdm progress bar on stderr that moves with the
bytes read or the rows done, only when stderr is a terminal and ``--quiet`` is not given.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import numpy as np
import numpy.typing as npt

from .errors import DataError, RelcoreError

__all__ = ["main"]

# Customers `relcore score` scores at a time (the progress bar moves by as many).
_SCORE_ROWS = 1 << 16
# Rows written at a time (the progress bar moves by as many).
_WRITE_ROWS = 1 << 16
# The purchase models `relcore score` offers, by class name in relcore.scoring; the
# command-line name is the class name in lower case.
_MODELS = ("BGNBD", "MBGNBD", "ParetoNBD", "GGompertzNBD")
# relcore keeps instants and durations as int64 microseconds.
_LONGEST_US = np.iinfo(np.int64).max
_PLAN_COLUMNS = ("customer_id", "at", "channel", "category", "campaign", "priority")
_HISTORY_COLUMNS = ("customer_id", "at", "channel", "category", "campaign", "kind", "initiator")
# Contact plans and histories: times outside these years are placeholders (0001-01-01,
# 9999-12-31) rather than contacts, and leave the policy's windows no room in the calendar.
_CONTACT_YEARS = (1900, 2999)
# How the reader's messages name its arguments: as the options that set them.
_ARG_NAMES = {"encoding": "--encoding", "delimiter": "--delimiter", "timezone": "--timezone"}
_EXIT_DATA = 2
_EXIT_INTERNAL = 70  # EX_SOFTWARE
_EXIT_PIPE = 141  # 128 + SIGPIPE, as a tool killed by a closed pipe reports


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already reported
        return exc.code if isinstance(exc.code, int) else _EXIT_DATA
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return _EXIT_DATA
    command = f"relcore {args.command}" + (f" {args.verb}" if getattr(args, "verb", None) else "")
    args.command_name = command
    err = sys.stderr
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warnings(command, err)
        try:
            return int(args.run(args, sys.stdout, err) or 0)
        except BrokenPipeError:
            _silence_stdout()
            return _EXIT_PIPE
        except _InFileError as exc:
            _report_in_file(command, exc, err)
        except (_RefusedError, RelcoreError, ValueError, ImportError) as exc:
            print(f"{command}: error: {exc}", file=err)
        except OSError as exc:
            print(f"{command}: error: {_os_error(exc)}", file=err)
        except KeyboardInterrupt:
            return 130
        except Exception as exc:  # the last resort: one line, not a traceback
            print(f"{command}: internal error: {_where(exc)}; please report it", file=err)
            return _EXIT_INTERNAL
    return _EXIT_DATA


# --------------------------------------------------------------------------- errors


class _RefusedError(Exception):
    """An argument or a whole input refused, with a message that names it."""


def _fail(what: str, message: str) -> NoReturn:
    raise _RefusedError(f"{what}: {message}")


class _InFileError(Exception):
    """A [`DataError`][relcore.errors.DataError] whose rows are rows of a file that is still at
    hand."""

    def __init__(self, error: DataError, table: Any) -> None:
        super().__init__(str(error))
        self.error = error
        self.table = table


@contextlib.contextmanager
def _rows_of(table: Any, index: npt.NDArray[np.intp] | None = None) -> Iterator[None]:
    """Errors raised inside name rows of ``table`` (``index[row]`` when given)."""
    try:
        yield
    except DataError as exc:
        if not exc.rows:
            raise
        if index is not None:
            exc = DataError(exc.column, exc.problem, index[list(exc.rows)].tolist(), exc.count)
        raise _InFileError(exc, table) from None


def _report_in_file(command: str, exc: _InFileError, err: TextIO) -> None:
    error, table = exc.error, exc.table
    noun = "row" if error.count == 1 else "rows"
    print(
        f"{command}: error: {table.path}: column {error.column!r}, {error.count:,} {noun}: "
        f"{error.problem}",
        file=err,
    )
    for row, line, cell in table.locate(error.rows, error.column):
        shown = "" if cell is None else f": {_shorten(cell)}"
        where = f"row {row}" if line is None else f"line {line} (row {row})"  # Parquet: rows
        print(f"  {where}{shown}", file=err)
    if error.count > len(error.rows):
        print(f"  … and {error.count - len(error.rows):,} more", file=err)


def _shorten(cell: str, width: int = 60) -> str:
    # Bytes that were not text were kept as lone surrogates: show them as the bytes.
    text = re.sub(r"\\udc([89a-f][0-9a-f])", r"\\x\1", repr(cell))
    return text if len(text) <= width else text[: width - 2] + "…'"


def _os_error(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def _where(exc: BaseException) -> str:
    frame = None
    tb = exc.__traceback__
    while tb is not None:
        frame, tb = tb, tb.tb_next
    place = ""
    if frame is not None:
        code = frame.tb_frame.f_code
        place = f" at {Path(code.co_filename).name}:{frame.tb_lineno} in {code.co_name}"
    return f"{type(exc).__name__}: {exc}{place}"


def _one_line_warnings(command: str, err: TextIO) -> Callable[..., None]:
    def show(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
        print(f"{command}: warning: {message}", file=err)

    return show


def _silence_stdout() -> None:
    # The reader went away (`relcore ... | head`): point stdout at /dev/null so the flush
    # at exit does not fail a second time.
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


# --------------------------------------------------------------------------- arguments


class _Parser(argparse.ArgumentParser):
    """Reports a usage error in one line, pointing to ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(_EXIT_DATA, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults that mean something (not ``None`` or ``False``)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="relcore",
        description="Customer relationships as the customer lives them.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = sub.add_parser("demo", help="walk through relcore on the bundled CDNOW data")
    demo.set_defaults(run=_run_demo)
    _add_summarize_parser(sub)
    _add_score_parser(sub)
    _add_policy_parser(sub)
    return parser


def _add_file_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--delimiter",
        default=",",
        type=_delimiter,
        help=r"the character between cells; \t or 'tab' for a tab",
    )
    parser.add_argument(
        "--encoding", default="utf-8", help="text encoding of the CSV files, e.g. latin-1"
    )


def _add_quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bar (there is none anyway when stderr is not a terminal)",
    )


_OUTPUT_HELP = (
    "output file, in the format its name says: .csv, .parquet, or .json/.jsonl (JSON lines, "
    "one object per row); '-' writes CSV to stdout"
)


def _add_summarize_parser(sub: Any) -> None:
    summ = sub.add_parser(
        "summarize",
        help="summarise a transactions CSV as frequency/recency/T/monetary value",
        description=(
            "Summarise a transactions file (CSV or Parquet), one row per customer, in periods "
            "of --period, reading it a block at a time. "
            "The summary records its period in a 'period' column, which `relcore score` "
            "reads."
        ),
        formatter_class=_Formatter,
    )
    summ.add_argument(
        "input", help="CSV file with a header row, or a Parquet file (named *.parquet)"
    )
    summ.add_argument("--customer", default="customer_id", help="customer id column")
    summ.add_argument("--at", default="at", help="timestamp column")
    summ.add_argument("--value", help="value column (optional)")
    summ.add_argument(
        "--kind",
        help="event kind column; only rows whose kind is exactly 'purchase' are summarised, "
        "and the others are counted on stderr",
    )
    summ.add_argument("--period", default="D", help="D (days), W (weeks) or a length such as 3d")
    summ.add_argument(
        "--observation-end",
        required=True,
        help="an ISO 8601 date (the whole UTC day), e.g. 2026-06-30, or datetime with its "
        "offset, e.g. 2026-06-30T18:00:00+02:00",
    )
    summ.add_argument("--calibration-end", help="as --observation-end; adds holdout columns")
    summ.add_argument(
        "--at-format",
        help="strptime format of the timestamps, e.g. %%Y%%m%%d; with %%z the offset in "
        "the data is used",
    )
    summ.add_argument("--timezone", help="IANA zone of the timestamps written without an offset")
    _add_file_options(summ)
    summ.add_argument("-o", "--output", required=True, help=_OUTPUT_HELP)
    _add_quiet_option(summ)
    summ.set_defaults(run=_run_summarize)


def _add_score_parser(sub: Any) -> None:
    score = sub.add_parser(
        "score",
        help="fit a purchase model to a summary and score every customer",
        description=(
            "Fit a purchase model (and, when the summary has monetary_value, a Gamma-Gamma "
            "spend model) and write P(alive), expected purchases and lifetime value per "
            "customer. SUMMARY is a CSV (or Parquet) file with customer_id, frequency, "
            "recency, T and optionally monetary_value and period, as `relcore summarize` "
            "writes it."
        ),
        formatter_class=_Formatter,
    )
    score.add_argument(
        "input",
        metavar="summary",
        help="summary CSV with a header row, or a Parquet file (named *.parquet)",
    )
    score.add_argument(
        "--model", choices=[m.lower() for m in _MODELS], default="bgnbd", help="purchase model"
    )
    score.add_argument(
        "--period",
        help="the summary's period: D, W or a length such as 3d; needed when the summary "
        "has no period column, and must agree with it when it has one",
    )
    score.add_argument(
        "--horizon",
        type=_positive_float,
        default=52.0,
        help="periods ahead for expected purchases",
    )
    score.add_argument(
        "--months", type=_positive_int, default=12, help="lifetime-value horizon, months"
    )
    score.add_argument(
        "--discount",
        type=_nonnegative_float,
        default=0.01,
        help="monthly discount rate for lifetime value",
    )
    score.add_argument(
        "--penalizer", type=_nonnegative_float, default=0.0, help="L2 penalty of the fits"
    )
    _add_file_options(score)
    score.add_argument("-o", "--output", required=True, help=_OUTPUT_HELP)
    _add_quiet_option(score)
    score.set_defaults(run=_run_score)


def _add_policy_parser(sub: Any) -> None:
    policy = sub.add_parser(
        "policy",
        help="check a contact policy file, or simulate it on a contact plan",
        description="Contact policies: validate one, or see its effect before rolling it out.",
    )
    verbs = policy.add_subparsers(dest="verb", metavar="VERB", required=True, parser_class=_Parser)
    check = verbs.add_parser(
        "check",
        help="validate a policy file and print its rules in plain words",
        description="Validate a policy file; print its rules in plain words.",
    )
    check.add_argument("policy", help="policy file (TOML)")
    check.set_defaults(run=_run_policy_check)
    sim = verbs.add_parser(
        "simulate",
        help="replay a contact plan through a policy: sent, deferred, suppressed",
        description=(
            "Replay a contact plan through a policy and count what would be sent, deferred "
            "or suppressed, by reason. CONTACTS columns: customer_id, at (ISO 8601 with an "
            "offset), channel, and optionally category, campaign, priority."
        ),
        formatter_class=_Formatter,
    )
    sim.add_argument("policy", help="policy file (TOML)")
    sim.add_argument("input", metavar="contacts", help="contact plan CSV with a header row")
    sim.add_argument(
        "--history",
        help="CSV of past contacts and customer events: customer_id, at, and optionally "
        "channel, category, campaign, kind (default message), initiator (company, the "
        "default, or customer)",
    )
    sim.add_argument(
        "--reschedule",
        action="store_true",
        help="retry deferred contacts at their next allowed time",
    )
    sim.add_argument(
        "--max-delay", help="a contact deferred longer than this (e.g. 2d) is suppressed"
    )
    _add_file_options(sim)
    sim.add_argument(
        "-o",
        "--output",
        help="also write each planned contact's outcome (sent, deferred, suppressed), reason "
        "codes and times; " + _OUTPUT_HELP.replace("output file, in", "a file in"),
    )
    _add_quiet_option(sim)
    sim.set_defaults(run=_run_policy_simulate)
    _add_plan_parser(verbs)
    audit = verbs.add_parser(
        "audit",
        help="export the decisions a ledger's audit trail holds",
        description=(
            "Export the audit trail of a ledger (decisions of guards built with audit=True): "
            "one row per decision, with its reason codes and messages, the customer's local "
            "time and the policy's name and content hash. The format follows -o: .csv, "
            ".parquet, or .json/.jsonl (JSON lines); '-' writes JSON lines to stdout."
        ),
        formatter_class=_Formatter,
    )
    audit.add_argument(
        "ledger", help="the ledger: a SQLite file, or a postgresql:// connection string"
    )
    audit.add_argument("--customer", help="only this customer's decisions")
    audit.add_argument(
        "--since",
        help="decisions made at or after: a date (from its start, UTC) or an ISO datetime "
        "with an offset",
    )
    audit.add_argument(
        "--until",
        help="decisions made before: a date (through its end, UTC) or an ISO datetime with "
        "an offset",
    )
    audit.add_argument(
        "-o", "--output", required=True, help="out.csv, out.parquet, out.json(l), or '-'"
    )
    audit.set_defaults(run=_run_policy_audit)
    statement = verbs.add_parser(
        "statement",
        help="what a ledger holds on one customer, for them to read",
        description=(
            "Print what a ledger holds on one customer, in plain language (or JSON): the "
            "contacts sent, what they did, the contacts held back and why (from the audit "
            "trail), and their preferences."
        ),
        formatter_class=_Formatter,
    )
    statement.add_argument(
        "ledger", help="the ledger: a SQLite file, or a postgresql:// connection string"
    )
    statement.add_argument("customer_id", help="the customer")
    statement.add_argument("--tenant", default="default", help="the tenant (brand) to read")
    statement.add_argument("--json", action="store_true", help="print JSON instead of text")
    statement.set_defaults(run=_run_policy_statement)


def _add_plan_parser(verbs: Any) -> None:
    plan = verbs.add_parser(
        "plan",
        help="plan a campaign: a send time for the best candidates every rule allows",
        description=(
            "Plan a campaign: choose, among candidate messages, those of highest value "
            "that every rule of the policy, every customer's preferences, every budget and "
            "every rate limit allow, each at a send time inside its window; say why each "
            "other candidate was left out. CANDIDATES columns: customer_id, channel, "
            "earliest, latest (ISO 8601 with an offset), and optionally message_id, "
            "category, campaign, priority, value. The output has one row per candidate "
            "(status, send_at, reason, detail); its format follows -o (.csv or .parquet)."
        ),
        formatter_class=_Formatter,
    )
    plan.add_argument("policy", help="policy file (TOML)")
    plan.add_argument("input", metavar="candidates", help="candidates CSV with a header row")
    plan.add_argument(
        "--ledger",
        help="what customers already received and did, and their stored preferences: a "
        "SQLite ledger file or a postgresql:// connection string (only read)",
    )
    plan.add_argument(
        "--history",
        help="or a CSV of past contacts and customer events, as for 'policy simulate'",
    )
    plan.add_argument(
        "--budget",
        action="append",
        metavar="SPEC",
        help="at most N sends: NAME=N (campaign NAME), channel:NAME=N, all=N, day=N; "
        "add /day before = for a daily budget (repeatable)",
    )
    plan.add_argument(
        "--rate",
        action="append",
        metavar="SPEC",
        help="at most R sends on a channel: CHANNEL=R/s, CHANNEL=R/min or CHANNEL=R/h (repeatable)",
    )
    plan.add_argument(
        "--per-customer",
        type=_nonnegative_int,
        default=1,
        help="at most this many messages per customer (0 for as many as the rules allow)",
    )
    plan.add_argument(
        "--spread", help="spread sends a rule defers over this long after it allows them (e.g. 30m)"
    )
    plan.add_argument("--seed", type=int, default=0, help="seed of the jitter")
    plan.add_argument(
        "--scheduled-only", action="store_true", help="write only the scheduled sends"
    )
    plan.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    plan.add_argument("-o", "--output", required=True, help=_OUTPUT_HELP)
    _add_file_options(plan)
    plan.set_defaults(run=_run_policy_plan)


def _version() -> str:
    from . import __version__

    return f"relcore {__version__}"


def _delimiter(text: str) -> str:
    # A shell passes '\t' as backslash and t; a tab itself is awkward to type.
    value = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(value) != 1 or value in '"\r\n':
        raise argparse.ArgumentTypeError(
            f"must be one character (or \\t for a tab), not a quote or line break: {text!r}"
        )
    return value


def _number(text: str, ok: Callable[[float], bool], what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if not (np.isfinite(value) and ok(value)):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    return _number(text, lambda v: v > 0, "a positive number")


def _nonnegative_float(text: str) -> float:
    return _number(text, lambda v: v >= 0, "a number >= 0")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


def _parse_duration(text: str) -> _dt.timedelta:
    """A duration (``2d``, ``1d12h``) that relcore's int64 microseconds hold; raises
    ``ValueError`` saying what is wrong."""
    from ._durations import parse_duration

    try:
        value: _dt.timedelta | None = parse_duration(text)
    except OverflowError:  # beyond what a timedelta holds
        value = None
    if value is None or value // _dt.timedelta(microseconds=1) > _LONGEST_US:
        longest = _LONGEST_US // 86_400_000_000
        raise _TooLongError(f"{text!r} is longer than relcore can count ({longest:,} days at most)")
    return value


class _TooLongError(ValueError):
    pass


def _parse_period(text: str) -> Any:
    """``D``, ``W`` or a duration; raises ``ValueError``."""
    if text in ("D", "W"):
        return text
    try:
        return _parse_duration(text)
    except _TooLongError:
        raise
    except ValueError as exc:  # the duration parser's own words, whatever its rule was
        raise ValueError(f"expected D, W or a duration: {exc}") from None


def _duration(text: str, option: str) -> _dt.timedelta:
    try:
        return _parse_duration(text)
    except ValueError as exc:
        _fail(option, str(exc))


def _period(text: str, option: str) -> Any:
    try:
        return _parse_period(text)
    except ValueError as exc:
        _fail(option, str(exc))


def _period_text(period: Any) -> str:
    from ._durations import format_duration

    return period if isinstance(period, str) else format_duration(period)


def _period_days(period: Any) -> float:
    if isinstance(period, str):
        return {"D": 1.0, "W": 7.0}[period]
    return float(period / _dt.timedelta(days=1))


_DATE_FORMS = (
    "accepted: an ISO 8601 date such as 2026-06-30 (the whole UTC day), or an ISO 8601 "
    "datetime with its UTC offset such as 2026-06-30T18:00:00+02:00 or 2026-06-30T16:00Z"
)


def _when(text: str, option: str) -> _dt.date | _dt.datetime:
    """A date or an instant given on the command line, in ISO 8601: a date alone (a whole
    UTC day), or a datetime with its offset; anything else is refused naming the forms."""
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        _fail(option, f"{text!r} is not an ISO 8601 date or datetime; {_DATE_FORMS}")
    if moment.utcoffset() is None:
        _fail(
            option,
            f"{text!r} has no UTC offset; give a date (the whole UTC day) or a datetime "
            "with an offset, such as 2026-06-30T18:00:00+02:00",
        )
    try:
        moment.astimezone(_dt.UTC)
    except OverflowError:
        _fail(option, f"{text!r} lies outside the years 1 to 9999 in UTC")
    return moment


def _inclusive_end(text: str, option: str) -> int:
    """An end given on the command line, as ``summarize`` reads it: a date is the whole
    UTC day, a datetime needs its offset. Microseconds since the epoch."""
    from ._time import US_PER_DAY, to_micros

    when = _when(text, option)
    if isinstance(when, _dt.datetime):
        return to_micros(when)
    start = _dt.datetime(when.year, when.month, when.day, tzinfo=_dt.UTC)
    return to_micros(start) + US_PER_DAY - 1


def _check_files(args: argparse.Namespace, *inputs: str | None) -> None:
    """Options every command that reads CSV files shares, checked before any work."""
    import codecs

    try:
        codecs.lookup(args.encoding)
    except LookupError:
        _fail("--encoding", f"{args.encoding!r} is not an encoding Python knows")
    output = getattr(args, "output", None)
    if output is None or output == "-":
        return
    if _output_format(output) == "parquet":
        from ._optional import require

        require("pyarrow.parquet", "arrow")
    if os.path.isdir(output):
        _fail("--output", f"{output} is a directory; name a file")
    for path in inputs:
        exists = path is not None and os.path.exists(output) and os.path.exists(path)
        if exists and os.path.samefile(str(path), output):
            _fail("--output", f"{output} is an input file; it would be overwritten")


# --------------------------------------------------------------------------- progress


# A bar appears only for work that lasts longer than this (seconds): a small file shows none.
_PROGRESS_DELAY = 0.5


class _Progress:
    """Progress bars on stderr (tqdm, the ``cli`` extra) that advance with the bytes read
    or the rows done, with tqdm's estimate of the time left. None when stderr is not a
    terminal (a pipe, a log file), with ``--quiet``, or without tqdm."""

    def __init__(self, args: argparse.Namespace, err: TextIO) -> None:
        self._err = err
        isatty = getattr(err, "isatty", None)
        self.enabled = not getattr(args, "quiet", False) and callable(isatty) and bool(isatty())

    @contextlib.contextmanager
    def bar(self, desc: str, total: int, unit: str) -> Iterator[Callable[[int], None]]:
        """``update(done)`` moves the bar to ``done`` of ``total`` (bytes: ``unit="B"``)."""
        bar: Any = None
        if self.enabled:
            with contextlib.suppress(ImportError):
                from tqdm import tqdm

                in_bytes = unit == "B"
                bar = tqdm(
                    total=total,
                    desc=desc,
                    unit=unit,
                    unit_scale=in_bytes,
                    unit_divisor=1024 if in_bytes else 1000,
                    file=self._err,
                    leave=False,
                    delay=_PROGRESS_DELAY,
                    dynamic_ncols=True,
                )

        def update(done: int) -> None:
            if bar is not None:
                # pyarrow reads ahead, so a position may pass the end a little
                bar.update(max(0, min(int(done), total) - bar.n))

        try:
            yield update
        finally:
            if bar is not None:
                bar.close()


# --------------------------------------------------------------------------- summarize


def _run_summarize(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._columns import factorize_labels
    from ._time import UTC, format_instant
    from .io.csv import EventBatches
    from .models import EventLog
    from .scoring import summarize

    roles = {"--customer": args.customer, "--at": args.at, "--value": args.value,
             "--kind": args.kind}  # fmt: skip
    given = {option: column for option, column in roles.items() if column is not None}
    for option, column in given.items():
        others = [o for o, c in given.items() if c == column and o != option]
        if others:
            _fail(option, f"column {column!r} is also given to {others[0]}; each needs its own")
    period = _period(args.period, "--period")
    if args.timezone is not None:
        from ._time import resolve_zone

        try:
            resolve_zone(args.timezone)
        except ValueError as exc:
            _fail("--timezone", str(exc))
    end_us = _inclusive_end(args.observation_end, "--observation-end")
    calibration = args.calibration_end
    if calibration is not None and _inclusive_end(calibration, "--calibration-end") >= end_us:
        _fail("--calibration-end", "must be before --observation-end")
    _check_files(args, args.input)
    names = {"customer_id": args.customer, "at": args.at}
    if args.value is not None:
        names["value"] = args.value
    if args.kind is not None:
        names["kind"] = args.kind

    def no_late_events(columns: dict[str, Any]) -> None:
        late = columns["at"] > end_us
        if late.any():
            raise DataError.from_mask(
                args.at,
                late,
                f"events after --observation-end ({format_instant(end_us, UTC)}); "
                "choose a later end, or leave them out of the file",
            )

    progress = _Progress(args, err)
    # Read a block at a time: the file is never held whole (see EventBatches).
    batches: Any
    if Path(args.input).suffix.lower() == ".parquet":
        from .io.parquet import ParquetEventBatches

        batches = ParquetEventBatches(
            args.input,
            names,
            at_format=args.at_format,
            timezone=args.timezone,
            arg_names=_ARG_NAMES,
            check=no_late_events,
        )
    else:
        batches = EventBatches(
            args.input,
            names,
            at_format=args.at_format,
            timezone=args.timezone,
            delimiter=args.delimiter,
            encoding=args.encoding,
            arg_names=_ARG_NAMES,
            check=no_late_events,
        )
    total, unit = batches.extent()
    with _rows_of(batches.table), progress.bar(f"reading {args.input}", total, unit) as update:
        columns = batches.read(update)
    n = batches.table.n_rows
    if n == 0:
        _fail(batches.table.path, "has a header but no rows: there is nothing to summarise")
    kinds = columns.pop("kind", None)
    if kinds is not None:
        kinds = factorize_labels(kinds, n, "kind", allow_missing=False)
        _report_other_kinds(kinds, args, "purchase", err)
    log = EventLog.from_arrays(
        customer_id=columns.pop("customer_id"),
        at=columns.pop("at").view("datetime64[us]"),
        kind="purchase" if kinds is None else kinds,
        value=columns.pop("value", None),
        timezone="UTC",
    )
    del columns
    summary = summarize(
        log,
        period=period,
        observation_end=_when(args.observation_end, "--observation-end"),
        calibration_end=None if calibration is None else _when(calibration, "--calibration-end"),
    )
    del log
    result: dict[str, Any] = dict(summary.to_dict())
    result["period"] = np.full(len(summary), _period_text(period), dtype=object)
    _write(result, args.output, out, progress)
    if args.output != "-":
        print(
            f"{len(summary):,} customers summarised to {args.output} "
            f"(period {_period_text(period)})",
            file=out,
        )
    return 0


def _report_other_kinds(kinds: Any, args: argparse.Namespace, wanted: str, err: TextIO) -> None:
    """Count, on stderr, the rows the kind filter leaves out, by kind (``kinds``: the
    column as a Categorical, whose categories are sorted)."""
    counts = np.bincount(np.asarray(kinds.codes, dtype=np.int64), minlength=len(kinds.categories))
    left_out = [
        (label, int(count))
        for label, count in zip(kinds.categories, counts.tolist(), strict=True)
        if label != wanted and count
    ]
    if not left_out:
        return
    listed = ", ".join(f"{k!r} ({c:,} row{'s' if c != 1 else ''})" for k, c in left_out)
    near = [k for k, _ in left_out if k.strip().lower() == wanted]
    hint = (
        f"; kinds are matched exactly as written, so {' and '.join(map(repr, near))} "
        f"{'is' if len(near) == 1 else 'are'} not {wanted!r}"
        if near
        else ""
    )
    n = sum(c for _, c in left_out)
    print(
        f"{args.command_name}: note: {n:,} of {len(kinds):,} rows left out, whose "
        f"{args.kind} is not {wanted!r}: {listed}{hint}",
        file=err,
    )
    if n == len(kinds):
        _fail(
            args.input,
            f"no row has the {args.kind} {wanted!r}: there is nothing to summarise",
        )


# --------------------------------------------------------------------------- score


def _read_summary(args: argparse.Namespace) -> tuple[Any, Any, bool]:
    """The summary file as an RFMSummary (period resolved), its table, and whether it
    has monetary values."""
    from .io.csv import read_table
    from .scoring import RFMSummary

    required, optional = ["customer_id", "frequency", "recency", "T"], ["monetary_value", "period"]
    table: Any
    if Path(args.input).suffix.lower() == ".parquet":  # as `relcore summarize -o` writes it
        from .io.parquet import ParquetTable

        table = ParquetTable(args.input, required, optional=optional)
    else:
        table = read_table(
            args.input,
            required,
            optional=optional,
            delimiter=args.delimiter,
            encoding=args.encoding,
            arg_names=_ARG_NAMES,
        )
    if table.n_rows == 0:
        _fail(table.path, "has a header but no rows: there is no customer to score")
    with _rows_of(table):
        ids = table.ids("customer_id")
        numbers = {c: table.numbers(c) for c in ("frequency", "recency", "T")}
        has_value = "monetary_value" in table
        value = table.numbers("monetary_value") if has_value else np.zeros(table.n_rows)
        recorded = _recorded_period(table) if "period" in table else None
    period = _summary_period(recorded, args.period, table.path)
    summary = RFMSummary(
        customer_id=ids,
        frequency=numbers["frequency"],
        recency=numbers["recency"],
        T=numbers["T"],
        monetary_value=value,
        period=period,
    )
    return summary, table, has_value


def _recorded_period(table: Any) -> Any:
    cells = table.labels("period", required=True)
    first = cells[0]
    differ = cells != first
    if differ.any():
        raise DataError.from_mask(
            "period", differ, f"periods other than the first row's ({first!r}): one summary "
            "has one period"
        )  # fmt: skip
    try:
        return _parse_period(first)
    except ValueError:
        rows = range(min(5, table.n_rows))
        problem = "values that are not D, W or a duration such as 3d"
        raise DataError("period", problem, rows, table.n_rows) from None


def _summary_period(recorded: Any, given: str | None, path: str) -> Any:
    if recorded is None and given is None:
        raise _RefusedError(
            f"--period is needed: {path} has no period column (relcore summarize writes one); "
            "pass the period the summary was made with: D, W or a length such as 3d"
        )
    if given is None:
        return recorded
    period = _period(given, "--period")
    if recorded is not None and _period_days(period) != _period_days(recorded):
        _fail(
            "--period",
            f"{given} contradicts the summary's period column ({_period_text(recorded)}); "
            "drop --period to use the summary's",
        )
    return period if recorded is None else recorded


def _run_score(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import scoring

    _check_files(args, args.input)
    name = next(m for m in _MODELS if m.lower() == args.model)
    model_class: Any = getattr(scoring, name)
    summary, table, has_value = _read_summary(args)
    report = err if args.output == "-" else out
    f, r, T, m = summary.frequency, summary.recency, summary.T, summary.monetary_value
    with _rows_of(table):
        model = model_class.fit(summary, penalizer=args.penalizer)
    print(model.summary(), file=report)
    spend = None
    if has_value:
        repeat = np.flatnonzero((f > 0) & (m > 0))
        with _rows_of(table, repeat):
            spend = scoring.GammaGamma.fit(
                frequency=f[repeat], monetary_value=m[repeat], penalizer=args.penalizer
            )
        print(spend.summary(), file=report)
    else:
        print("no monetary_value column: lifetime value not computed", file=report)
    n = len(summary)
    result: dict[str, Any] = {
        "customer_id": summary.customer_id,
        "p_alive": np.empty(n),
        "expected_purchases": np.empty(n),
    }
    if spend is not None:
        result["clv"] = np.empty(n)
    days = _period_days(summary.period)
    progress = _Progress(args, err)
    # Customer by customer, so a block of rows at a time moves the bar: the same numbers.
    with progress.bar("scoring", n, "customers") as update:
        for start in range(0, n, _SCORE_ROWS):
            rows = slice(start, min(n, start + _SCORE_ROWS))
            with _rows_of(table, np.arange(rows.start, rows.stop)):
                fr, rr, Tr = f[rows], r[rows], T[rows]
                result["p_alive"][rows] = model.p_alive(fr, rr, Tr)
                result["expected_purchases"][rows] = model.expected_purchases(
                    args.horizon, fr, rr, Tr
                )
                if spend is not None:
                    result["clv"][rows] = scoring.customer_lifetime_value(
                        model, spend, fr, rr, Tr, m[rows], months=args.months,
                        monthly_discount_rate=args.discount, period_days=days,
                    )  # fmt: skip
            update(rows.stop)
    _write(result, args.output, out, progress)
    if args.output != "-":
        print(
            f"{len(summary):,} customers scored to {args.output} "
            f"(period {_period_text(summary.period)})",
            file=out,
        )
    return 0


# --------------------------------------------------------------------------- output


_OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json", ".jsonl": "json"}


def _output_format(output: str) -> str:
    """The format ``-o`` names by its extension (CSV on stdout for ``-``); an unknown
    extension is refused rather than guessed."""
    if output == "-":
        return "csv"
    kind = _OUTPUT_FORMATS.get(Path(output).suffix.lower())
    if kind is None:
        _fail(
            "--output",
            f"{output}: name a .csv, .parquet, or .json/.jsonl (JSON lines) file, or '-' "
            "for CSV on stdout",
        )
    return kind


def _write(
    columns: dict[str, Any], output: str, out: TextIO, progress: _Progress | None = None
) -> None:
    """Write equal-length columns (text, numbers, ``datetime64[us]`` instants in UTC with
    ``NaT`` for none) in the format of ``output``'s extension, LF line endings; a failure
    leaves no file behind."""
    kind = _output_format(output)
    n = len(next(iter(columns.values()))) if columns else 0
    bar = progress.bar(f"writing {output}", n, "rows") if progress else contextlib.nullcontext()
    with bar as update:
        if output == "-":
            _write_csv(columns, out, update)
            out.flush()
            return
        try:
            if kind == "parquet":
                from .io.parquet import write_columns

                write_columns(columns, output)
            else:
                with open(output, "w", newline="", encoding="utf-8") as fh:
                    (_write_csv if kind == "csv" else _write_json)(columns, fh, update)
        except BaseException:
            with contextlib.suppress(OSError):  # no half-written output left behind
                os.remove(output)
            raise


def _text_cells(col: Any, missing: Any) -> list[Any]:
    """A column's values as Python values: instants as ISO 8601 text with their offset
    (``missing`` for none), flags as true/false in CSV."""
    if col.dtype.kind == "M":
        none = np.isnat(col)
        whole = not (col.astype(np.int64) % 1_000_000).any()
        text = np.char.add(np.datetime_as_string(col, unit="s" if whole else "us"), "+00:00")
        return [
            missing if gone else t for t, gone in zip(text.tolist(), none.tolist(), strict=True)
        ]
    values: list[Any] = col.tolist()
    return values


def _write_csv(columns: dict[str, Any], fh: TextIO, update: Callable[[int], None] | None) -> None:
    import csv

    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(list(columns))
    n = len(next(iter(columns.values()))) if columns else 0
    for start in range(0, n, _WRITE_ROWS):
        lists = [_text_cells(col[start : start + _WRITE_ROWS], "") for col in columns.values()]
        writer.writerows(zip(*lists, strict=True))
        if update is not None:
            update(min(n, start + _WRITE_ROWS))


def _write_json(columns: dict[str, Any], fh: TextIO, update: Callable[[int], None] | None) -> None:
    """JSON lines: one object per row, keyed by column; a number that is not finite is
    null (JSON has no NaN)."""
    import json
    import math

    names = list(columns)
    n = len(next(iter(columns.values()))) if columns else 0
    for start in range(0, n, _WRITE_ROWS):
        lists = []
        for col in columns.values():
            cells = _text_cells(col[start : start + _WRITE_ROWS], None)
            if col.dtype.kind == "f":
                cells = [v if math.isfinite(v) else None for v in cells]
            lists.append(cells)
        fh.writelines(
            json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False) + "\n"
            for row in zip(*lists, strict=True)
        )
        if update is not None:
            update(min(n, start + _WRITE_ROWS))


# --------------------------------------------------------------------------- policy


def _read_policy(path: str) -> Any:
    from .contact_policy import Policy
    from .errors import PolicyError

    try:
        return Policy.from_toml(Path(path))
    except PolicyError as exc:  # say which file: simulate reads three
        raise _RefusedError(f"{path}: {exc}") from None


def _run_policy_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    policy = _read_policy(args.policy)
    n = len(policy.rules)
    print(f"{args.policy}: valid, {n} rule{'s' if n != 1 else ''}", file=out)
    print(policy.describe(), file=out)
    for warning in policy.warnings():
        print(f"{args.command_name}: warning: {args.policy}: {warning}", file=err)
    return 0


def _run_policy_simulate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .contact_policy import simulate

    _check_files(args, args.input, args.history, args.policy)
    max_delay = None if args.max_delay is None else _duration(args.max_delay, "--max-delay")
    policy = _read_policy(args.policy)
    plan = _read_plan(args.input, args)
    history = None if args.history is None else _read_history(args.history, args)
    progress = _Progress(args, err)
    with progress.bar("simulating", len(plan), "contacts") as update:
        result = simulate(
            policy,
            plan,
            history,
            reschedule=args.reschedule,
            max_delay=max_delay,
            progress=update,
        )
    report = err if args.output == "-" else out
    customers = len({c.customer_id for c in plan})
    print(f"{args.input}: {customers:,} customers, policy {args.policy}", file=report)
    print(result.summary(), file=report)
    if args.output is not None:
        _write(_outcome_columns(plan, result), args.output, out, progress)
        if args.output != "-":
            noun = "contact" if len(plan) == 1 else "contacts"
            print(f"{len(plan):,} planned {noun} written to {args.output}", file=out)
    return 0


def _outcome_columns(plan: list[Any], result: Any) -> dict[str, Any]:
    """One row per planned contact, in the plan's order: the contact, its outcome, when it
    went out (none if it did not), and the reason codes and next allowed time of the
    decision it got at its planned time."""
    from ._time import to_micros

    def instants(values: list[_dt.datetime | None]) -> Any:
        us = [np.iinfo(np.int64).min if v is None else to_micros(v) for v in values]
        return np.array(us, dtype=np.int64).view("datetime64[us]")  # the minimum is NaT

    def text(values: list[Any]) -> Any:
        return np.array(values, dtype=object)

    decisions = result.decisions
    return {
        "customer_id": text([c.customer_id for c in plan]),
        "at": np.array([c.at_micros for c in plan], dtype=np.int64).view("datetime64[us]"),
        "channel": text([c.channel for c in plan]),
        "category": text([c.category for c in plan]),
        "campaign": text([c.campaign for c in plan]),
        "priority": np.array([c.priority for c in plan], dtype=np.int64),
        "outcome": text(list(result.outcomes)),
        "sent_at": instants(list(result.sent_at)),
        "codes": text([";".join(d.codes) for d in decisions]),
        "next_allowed_at": instants([None if d.allowed else d.next_allowed_at for d in decisions]),
    }


def _run_policy_plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .contact_policy import Budget, ContactGuard, MemoryLedger, RateLimit, plan_campaign

    _check_files(args, args.input)
    _output_format(args.output)
    if args.ledger is not None and args.history is not None:
        _fail("--history", "give either --ledger or --history, not both")
    budgets = [Budget.parse(b) for b in args.budget or ()]
    rates = [RateLimit.parse(r) for r in args.rate or ()]
    spread = None if args.spread is None else _duration(args.spread, "--spread")
    policy = _read_policy(args.policy)
    candidates = _read_candidates(args.input, args)
    ledger: Any
    if args.ledger is not None:
        ledger = _open_ledger(args.ledger)
    elif args.history is not None:
        ledger = MemoryLedger()
        ledger.append(_read_history(args.history, args))
    else:
        ledger = MemoryLedger()
    bar = None
    if not args.quiet and err.isatty():
        with contextlib.suppress(ImportError):
            from tqdm import tqdm

            bar = tqdm(total=len(candidates["customer_id"]), desc="planning", unit="cand", file=err)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.update(done - bar.n)

    try:
        result = plan_campaign(
            ContactGuard(policy, ledger),
            candidates,
            budgets=budgets,
            rate_limits=rates,
            per_customer=args.per_customer or None,
            spread=spread,
            seed=args.seed,
            timezone="UTC",
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.close()
        if args.ledger is not None:
            ledger.close()
    columns = result.to_columns(scheduled_only=args.scheduled_only)
    _write(columns, args.output, out)
    report = err if args.output == "-" else out  # stdout carries the rows
    print(f"{args.input}: policy {args.policy}", file=report)
    print(result.summary(), file=report)
    print(f"{len(columns['customer_id']):,} rows written to {args.output}", file=report)
    return 0


def _read_candidates(path: str, args: argparse.Namespace) -> dict[str, Any]:
    from .contact_policy.planning import CANDIDATE_COLUMNS
    from .io.csv import read_table

    table = read_table(
        path,
        ["customer_id", "channel", "earliest", "latest"],
        optional=CANDIDATE_COLUMNS,
        known=CANDIDATE_COLUMNS,
        delimiter=args.delimiter,
        encoding=args.encoding,
        arg_names=_ARG_NAMES,
    )
    if table.n_rows == 0:
        _fail(table.path, "has a header but no candidates: there is nothing to plan")
    with _rows_of(table):
        cols: dict[str, Any] = {"customer_id": table.ids("customer_id")}
        for name in ("earliest", "latest"):
            cols[name] = table.instants(name, zone_allowed=False).view("datetime64[us]")
        for name in ("channel", "category", "campaign"):
            if name in table:
                cols[name] = table.labels(name, required=name == "channel")
        if "message_id" in table:
            cols["message_id"] = table.ids("message_id")
        if "priority" in table:
            cols["priority"] = table.integers("priority", default=0)
        if "value" in table:
            cols["value"] = table.numbers("value")
    return cols


_AUDIT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json", ".jsonl": "json"}


def _run_policy_audit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._time import US_PER_DAY

    output = args.output
    if output == "-":
        kind = "json"
    else:
        kind = _AUDIT_FORMATS.get(Path(output).suffix.lower(), "")
        if not kind:
            _fail("--output", f"{output}: name a .csv, .parquet, .json or .jsonl file, or '-'")
        if os.path.isdir(output):
            _fail("--output", f"{output} is a directory; name a file")
    since = None if args.since is None else _inclusive_end(args.since, "--since")
    if since is not None and not isinstance(_when(args.since, "--since"), _dt.datetime):
        since -= US_PER_DAY - 1  # a date: from the start of the day
    until = None if args.until is None else _inclusive_end(args.until, "--until")
    if until is not None and not isinstance(_when(args.until, "--until"), _dt.datetime):
        until += 1  # a date: through its end
    if since is not None and until is not None and since >= until:
        _fail("--until", "must be after --since")
    ledger = _open_ledger(args.ledger)
    try:
        records = ledger.decisions(customer_id=args.customer, since=since, until=until)
    finally:
        ledger.close()
    rows = [r.to_dict() for r in records]
    if kind == "json":
        _write_json_lines(rows, output, out)
    elif kind == "csv":
        _write(_audit_columns(rows), output, out)
    else:
        _write_parquet(rows, output)
    if output != "-":
        noun = "decision" if len(rows) == 1 else "decisions"
        print(f"{len(rows):,} {noun} written to {output}", file=out)
    return 0


def _run_policy_statement(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .contact_policy import customer_statement

    ledger = _open_ledger(args.ledger, tenant=args.tenant)
    try:
        statement = customer_statement(args.customer_id, ledger)
    finally:
        ledger.close()
    print(
        statement.to_json() if args.json else statement.to_text(),
        end="\n" if args.json else "",
        file=out,
    )
    return 0


def _open_ledger(where: str, *, tenant: str = "default") -> Any:
    """A ledger to read: a SQLite file that exists, or a PostgreSQL connection string."""
    if where.startswith(("postgresql://", "postgres://")):
        from . import contact_policy

        postgres = getattr(contact_policy, "PostgresLedger", None)
        if postgres is None:
            _fail(where.split("@")[-1], "this relcore has no PostgreSQL ledger")
        return postgres(where, tenant=tenant)
    from .contact_policy import SQLiteLedger

    if not os.path.isfile(where):
        _fail(where, "no such ledger file")
    return SQLiteLedger(where, tenant=tenant)


def _audit_columns(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The records as CSV columns: lists joined (codes by ';', messages by ' | ')."""
    from .contact_policy.audit import COLUMNS

    joins = {"codes": ";", "messages": " | "}

    def cell(name: str, value: Any) -> Any:
        if name in joins:
            return joins[name].join(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else value

    return {name: np.array([cell(name, r[name]) for r in rows], dtype=object) for name in COLUMNS}


def _write_json_lines(rows: list[dict[str, Any]], output: str, out: TextIO) -> None:
    import json

    def write(fh: TextIO) -> None:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")

    if output == "-":
        write(out)
        out.flush()
        return
    try:
        with open(output, "w", encoding="utf-8") as fh:
            write(fh)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(output)
        raise


def _write_parquet(rows: list[dict[str, Any]], output: str) -> None:
    from ._optional import require
    from ._time import parse_instant
    from .contact_policy.audit import COLUMNS

    pa = require("pyarrow", "arrow")
    pq = require("pyarrow.parquet", "arrow")
    instants = ("decided_at", "at", "next_allowed_at", "held_until")
    types = {
        "allowed": pa.bool_(),
        "replayed": pa.bool_(),
        "priority": pa.int64(),
        "codes": pa.list_(pa.string()),
        "messages": pa.list_(pa.string()),
        **dict.fromkeys(instants, pa.timestamp("us", tz="UTC")),
    }
    arrays = []
    for name in COLUMNS:
        values = [r[name] for r in rows]
        if name in instants:
            values = [None if v is None else parse_instant(v) for v in values]
        arrays.append(pa.array(values, type=types.get(name, pa.string())))
    table = pa.Table.from_arrays(arrays, names=list(COLUMNS))
    try:
        pq.write_table(table, output)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(output)
        raise


def _contact_columns(table: Any, labels: Sequence[str]) -> dict[str, Any]:
    """Ids, times and labels of a plan or history, exactly as written.

    A label or id with spaces at either end is refused: the policy would not match
    ``"email "`` to its ``email`` rules, nor ``" c42"`` to c42's history.
    """
    from ._time import to_micros

    ids = table.ids("customer_id")
    cols: dict[str, Any] = {"customer_id": ids}
    at = table.instants("at", zone_allowed=False)
    first, last = _CONTACT_YEARS
    lo = to_micros(_dt.datetime(first, 1, 1, tzinfo=_dt.UTC))
    hi = to_micros(_dt.datetime(last + 1, 1, 1, tzinfo=_dt.UTC))
    far = (at < lo) | (at >= hi)
    if far.any():
        raise DataError.from_mask(
            "at",
            far,
            f"times before {first} or after {last}, which are not "
            "contact times (placeholders such as 0001-01-01 or 9999-12-31?)",
        )
    cols["at"] = at
    for name in labels:
        if name in table:
            cols[name] = table.labels(name, required=name == "channel")
        else:
            cols[name] = np.full(table.n_rows, None, dtype=object)
    for name, values in cols.items():
        if values.dtype != object:
            continue
        spaced = np.fromiter(
            (v is not None and v != v.strip() for v in values.tolist()), dtype=bool
        )
        if spaced.any():
            raise DataError.from_mask(
                name, spaced, "values with spaces at either end, which the policy would "
                "not match; remove the spaces"
            )  # fmt: skip
    return cols


def _read_plan(path: str, args: argparse.Namespace) -> list[Any]:
    from ._time import from_micros
    from .contact_policy import Contact
    from .io.csv import read_table

    table = read_table(
        path,
        ["customer_id", "at", "channel"],
        optional=_PLAN_COLUMNS,
        known=_PLAN_COLUMNS,
        delimiter=args.delimiter,
        encoding=args.encoding,
        arg_names=_ARG_NAMES,
    )
    if table.n_rows == 0:
        _fail(table.path, "has a header but no contacts: there is nothing to simulate")
    with _rows_of(table):
        cols = _contact_columns(table, ("channel", "category", "campaign"))
        priority = (
            table.integers("priority", default=0)
            if "priority" in table
            else np.zeros(table.n_rows, dtype=np.int64)
        )
    return [
        Contact(c, channel=ch, at=from_micros(t), category=cat, campaign=camp, priority=p)
        for c, t, ch, cat, camp, p in zip(
            cols["customer_id"].tolist(),
            cols["at"].tolist(),
            cols["channel"].tolist(),
            cols["category"].tolist(),
            cols["campaign"].tolist(),
            priority.tolist(),
            strict=True,
        )
    ]


def _read_history(path: str, args: argparse.Namespace) -> list[Any]:
    from .contact_policy import Entry
    from .io.csv import read_table

    table = read_table(
        path,
        ["customer_id", "at"],
        optional=_HISTORY_COLUMNS,
        known=_HISTORY_COLUMNS,
        delimiter=args.delimiter,
        encoding=args.encoding,
        arg_names=_ARG_NAMES,
    )
    with _rows_of(table):
        cols = _contact_columns(table, ("channel", "category", "campaign", "kind", "initiator"))
        kinds = np.where(cols["kind"] == None, "message", cols["kind"])  # noqa: E711
        initiators = np.where(cols["initiator"] == None, "company", cols["initiator"])  # noqa: E711
        unknown = ~np.isin(initiators.astype(str), ["company", "customer"])
        if unknown.any():
            raise DataError.from_mask(
                "initiator", unknown, "values other than 'company' or 'customer'"
            )
    return [
        Entry(c, int(t), ch, cat, camp, str(k), i == "company")
        for c, t, ch, cat, camp, k, i in zip(
            cols["customer_id"].tolist(),
            cols["at"].tolist(),
            cols["channel"].tolist(),
            cols["category"].tolist(),
            cols["campaign"].tolist(),
            kinds.tolist(),
            initiators.tolist(),
            strict=True,
        )
    ]


def _run_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._demo import run_demo

    run_demo(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
