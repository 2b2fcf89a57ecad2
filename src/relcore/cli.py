"""The ``relcore`` command.

Subcommands:

* ``relcore demo`` — the CDNOW walk-through;
* ``relcore summarize FILE ...`` — a customer-base summary of your own transactions;
* ``relcore score SUMMARY ...`` — P(alive), expected purchases and lifetime value;
* ``relcore policy check POLICY`` — validate a contact policy file, print its rules.
* ``relcore policy simulate POLICY CONTACTS`` — replay a contact plan through a policy.

Errors in the data are reported as one line per offending row, without a traceback, and
the command exits with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from .errors import DataError, RelcoreError

__all__ = ["main"]

_LARGE_INPUT_BYTES = 20_000_000


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args, sys.stdout) or 0)
    except DataError as exc:
        _report_data_error(exc, args, sys.stderr)
        return 2
    except (RelcoreError, ValueError, ImportError, OSError) as exc:
        print(f"relcore {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _report_data_error(exc: DataError, args: argparse.Namespace, err: TextIO) -> None:
    source = getattr(args, "input", None)
    where = f"{source}: " if source else ""
    print(f"relcore {args.command}: error: {where}{exc}", file=err)
    # One line per offending row, with its line in the file (header = line 1).
    for row in exc.rows:
        line = f" (line {row + 2} of {source})" if source else ""
        print(f"  row {row}{line}: {exc.column}: {exc.problem}", file=err)
    if exc.count > len(exc.rows):
        print(f"  … and {exc.count - len(exc.rows)} more rows", file=err)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relcore",
        description="Customer relationships as the customer lives them.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="walk through relcore on the bundled CDNOW data")
    demo.set_defaults(run=_run_demo)

    summ = sub.add_parser(
        "summarize",
        help="summarise a transactions CSV as frequency/recency/T/monetary value",
        description="Summarise a transactions CSV, one row per customer.",
    )
    summ.add_argument("input", help="CSV file with a header row")
    summ.add_argument("--customer", default="customer_id", help="customer id column")
    summ.add_argument("--at", default="at", help="timestamp column")
    summ.add_argument("--value", help="value column (optional)")
    summ.add_argument("--kind", help="event kind column; only 'purchase' rows are used")
    summ.add_argument("--period", default="D", help="D, W, or a length such as 3d or 12h")
    summ.add_argument("--observation-end", required=True, help="date or ISO datetime")
    summ.add_argument("--calibration-end", help="date or ISO datetime; adds holdout columns")
    summ.add_argument("--at-format", help="strptime format of the timestamps, e.g. %%Y%%m%%d")
    summ.add_argument("--timezone", help="IANA zone of timestamps written without an offset")
    summ.add_argument("--delimiter", default=",")
    summ.add_argument("-o", "--output", required=True, help="output CSV ('-' for stdout)")
    summ.set_defaults(run=_run_summarize)
    _add_score_parser(sub)
    _add_policy_parser(sub)
    return parser


_MODELS = ("bgnbd", "mbgnbd", "paretonbd")


def _add_score_parser(sub: Any) -> None:
    score = sub.add_parser(
        "score",
        help="fit a purchase model to a summary and score every customer",
        description=(
            "Fit a purchase model (and, when the summary has monetary_value, a Gamma-Gamma "
            "spend model) and write P(alive), expected purchases and lifetime value per "
            "customer. SUMMARY is a CSV with customer_id, frequency, recency, T and "
            "optionally monetary_value, as `relcore summarize` writes it."
        ),
    )
    score.add_argument("input", metavar="summary", help="summary CSV with a header row")
    score.add_argument("--model", choices=_MODELS, default="bgnbd", help="purchase model")
    score.add_argument(
        "--period", default="D", help="the summary's period: D, W, or a length such as 3d"
    )
    score.add_argument(
        "--horizon", type=float, default=52.0, help="periods ahead for expected purchases"
    )
    score.add_argument("--months", type=int, default=12, help="lifetime-value horizon, months")
    score.add_argument(
        "--discount", type=float, default=0.01, help="monthly discount rate for lifetime value"
    )
    score.add_argument("--penalizer", type=float, default=0.0, help="L2 penalty of the fits")
    score.add_argument("-o", "--output", required=True, help="output CSV ('-' for stdout)")
    score.set_defaults(run=_run_score)


def _add_policy_parser(sub: Any) -> None:
    policy = sub.add_parser(
        "policy",
        help="check a contact policy file, or simulate it on a contact plan",
        description="Contact policies: validate one, or see its effect before rolling it out.",
    )
    verbs = policy.add_subparsers(dest="verb", metavar="VERB", required=True)
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
    )
    sim.add_argument("policy", help="policy file (TOML)")
    sim.add_argument("input", metavar="contacts", help="contact plan CSV with a header row")
    sim.add_argument(
        "--history",
        help="CSV of past contacts and customer events: customer_id, at, and optionally "
        "channel, category, campaign, kind, initiator (company/customer)",
    )
    sim.add_argument(
        "--reschedule",
        action="store_true",
        help="retry deferred contacts at their next allowed time",
    )
    sim.add_argument(
        "--max-delay", help="a contact deferred longer than this (e.g. 2d) is suppressed"
    )
    sim.set_defaults(run=_run_policy_simulate)


def _version() -> str:
    from . import __version__

    return f"relcore {__version__}"


def _parse_period(text: str) -> Any:
    """``D``/``W`` or a duration such as ``3d``, ``12h``, ``1d12h``."""
    from ._durations import parse_duration

    if text in ("D", "W"):
        return text
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"--period must be D, W or a duration: {exc}") from None


@contextlib.contextmanager
def _stages(total: int, enabled: bool, desc: str) -> Iterator[Callable[[str], None]]:
    """A progress bar over named stages (tqdm, when installed and the input is large)."""
    bar = None
    if enabled and sys.stderr.isatty():
        with contextlib.suppress(ImportError):
            from tqdm import tqdm

            bar = tqdm(total=total, desc=desc, unit="step", leave=False)

    def advance(label: str) -> None:
        if bar is not None:
            bar.set_postfix_str(label)
            bar.update(1)

    try:
        yield advance
    finally:
        if bar is not None:
            bar.close()


def _run_summarize(args: argparse.Namespace, out: TextIO) -> int:
    from .models import EventLog
    from .scoring import summarize

    large = os.path.getsize(args.input) > _LARGE_INPUT_BYTES
    with _stages(3, large, "summarize") as advance:
        log = EventLog.read_csv(
            args.input,
            customer_id=args.customer,
            at=args.at,
            value=args.value,
            kind=args.kind,
            at_format=args.at_format,
            timezone=args.timezone,
            delimiter=args.delimiter,
        )
        advance("read")
        summary = summarize(
            log,
            period=_parse_period(args.period),
            observation_end=args.observation_end,
            calibration_end=args.calibration_end,
        )
        advance("summarised")
        columns = summary.to_dict()
        if args.output == "-":
            _write_csv(columns, out)
        else:
            with open(args.output, "w", newline="") as fh:
                _write_csv(columns, fh)
        advance("written")
    if args.output != "-":
        print(f"{len(summary):,} customers summarised to {args.output}", file=out)
    return 0


def _read_summary(path: str) -> dict[str, Any]:
    import csv

    import numpy as np

    from ._validation import as_float

    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        rows = list(reader)
    required = ("customer_id", "frequency", "recency", "T")
    for name in required:
        if name not in header:
            raise DataError(name, f"is required (the file has {', '.join(header) or 'no header'})")
    columns: dict[str, Any] = {}
    for name in (*required, "monetary_value"):
        if name not in header:
            continue
        j = header.index(name)
        short = [i for i, row in enumerate(rows) if len(row) <= j]
        if short:
            raise DataError(name, "missing cells", short)
        values = np.array([row[j] for row in rows], dtype=object)
        if name == "customer_id":
            columns[name] = values.astype(str)
            continue
        blank = [i for i, v in enumerate(values) if not v.strip()]
        if blank:
            raise DataError(name, "empty cells", blank)
        try:
            columns[name] = as_float(values, name)
        except DataError as exc:
            if "numeric" not in exc.problem:
                raise
            bad = [i for i, v in enumerate(values) if not _is_number(v)]
            raise DataError(name, "values that are not numbers", bad) from None
    return columns


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _run_score(args: argparse.Namespace, out: TextIO) -> int:
    import numpy as np

    from .scoring import (
        BGNBD,
        MBGNBD,
        GammaGamma,
        ParetoNBD,
        RFMSummary,
        customer_lifetime_value,
    )

    model_class: Any = {"bgnbd": BGNBD, "mbgnbd": MBGNBD, "paretonbd": ParetoNBD}[args.model]
    columns = _read_summary(args.input)
    has_value = "monetary_value" in columns
    summary = RFMSummary(
        customer_id=columns["customer_id"],
        frequency=columns["frequency"],
        recency=columns["recency"],
        T=columns["T"],
        monetary_value=columns.get("monetary_value", np.zeros(len(columns["frequency"]))),
        period=_parse_period(args.period),
    )
    report = sys.stderr if args.output == "-" else out
    model = model_class.fit(summary, penalizer=args.penalizer)
    print(model.summary(), file=report)
    f, r, T = summary.frequency, summary.recency, summary.T
    result: dict[str, Any] = {
        "customer_id": summary.customer_id,
        "p_alive": model.p_alive(f, r, T),
        "expected_purchases": model.expected_purchases(args.horizon, f, r, T),
    }
    if has_value:
        repeat = (f > 0) & (summary.monetary_value > 0)
        spend = GammaGamma.fit(
            frequency=f[repeat],
            monetary_value=summary.monetary_value[repeat],
            penalizer=args.penalizer,
        )
        print(spend.summary(), file=report)
        result["clv"] = customer_lifetime_value(
            model, spend, summary, months=args.months, monthly_discount_rate=args.discount
        )
    else:
        print("no monetary_value column: lifetime value not computed", file=report)
    if args.output == "-":
        _write_csv(result, out)
    else:
        with open(args.output, "w", newline="") as fh:
            _write_csv(result, fh)
        print(f"{len(summary):,} customers scored to {args.output}", file=out)
    return 0


def _write_csv(columns: dict[str, Any], fh: TextIO) -> None:
    import csv

    writer = csv.writer(fh)
    writer.writerow(list(columns))
    lists = [col.tolist() for col in columns.values()]
    writer.writerows(zip(*lists, strict=True))


def _run_policy_check(args: argparse.Namespace, out: TextIO) -> int:
    from .contact_policy import Policy

    policy = Policy.from_toml(Path(args.policy))
    n = len(policy.rules)
    print(f"{args.policy}: valid, {n} rule{'s' if n != 1 else ''}", file=out)
    print(policy.describe(), file=out)
    return 0


def _run_policy_simulate(args: argparse.Namespace, out: TextIO) -> int:
    from ._durations import parse_duration
    from .contact_policy import Policy, simulate
    from .contact_policy._csv import read_history, read_plan

    policy = Policy.from_toml(Path(args.policy))
    max_delay = None
    if args.max_delay is not None:
        try:
            max_delay = parse_duration(args.max_delay)
        except ValueError as exc:
            raise ValueError(f"--max-delay {exc}") from None
    plan = read_plan(args.input)
    history = None
    if args.history is not None:
        try:
            history = read_history(args.history)
        except DataError as exc:
            raise DataError(
                exc.column, f"{exc.problem} (in {args.history})", exc.rows, exc.count
            ) from None
    result = simulate(policy, plan, history, reschedule=args.reschedule, max_delay=max_delay)
    customers = len({c.customer_id for c in plan})
    print(f"{args.input}: {customers:,} customers, policy {args.policy}", file=out)
    print(result.summary(), file=out)
    return 0


def _run_demo(args: argparse.Namespace, out: TextIO) -> int:
    from ._demo import run_demo

    run_demo(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
