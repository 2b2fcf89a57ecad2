"""What every ``relcore`` command shares: help, exit statuses, one-line messages."""

from __future__ import annotations

import subprocess
import sys
import warnings

import relcore.cli
from relcore.cli import main


def test_help_shows_the_defaults_that_mean_something(relcore_cli):
    done = relcore_cli("summarize", "--help")
    assert done.status == 0
    text = " ".join(done.out.split())
    assert "customer id column (default: customer_id)" in text
    assert "(default: D)" in text
    assert "(default: None)" not in text
    score = " ".join(relcore_cli("score", "--help").out.split())
    assert "purchase model (default: bgnbd)" in score
    assert "(default: 52.0)" in score
    assert "L2 penalty of the fits (default: 0.0)" in score


def test_a_usage_error_is_one_line_pointing_to_help(relcore_cli):
    done = relcore_cli("summarize", "tx.csv")
    assert done.status == 2
    assert done.errors == [
        "relcore summarize: error: the following arguments are required: --observation-end, "
        "-o/--output (see relcore summarize --help)"
    ]


def test_no_command_prints_the_help_with_status_2(relcore_cli):
    done = relcore_cli()
    assert done.status == 2
    assert "COMMAND" in done.err


def test_an_unforeseen_error_is_one_line_with_status_70(relcore_cli, monkeypatch):
    def explode(args, out, err):
        return 1 / 0

    monkeypatch.setattr(relcore.cli, "_run_demo", explode)
    done = relcore_cli("demo")
    assert done.status == 70
    assert len(done.errors) == 1
    assert done.errors[0].startswith(
        "relcore demo: internal error: ZeroDivisionError: division by zero at test_main.py:"
    )
    assert done.errors[0].endswith("in explode; please report it")


def test_warnings_are_one_line_each(relcore_cli, monkeypatch):
    def warn(args, out, err):
        warnings.warn("the fit is at the boundary", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(relcore.cli, "_run_demo", warn)
    done = relcore_cli("demo")
    assert done.status == 0
    assert done.errors == ["relcore demo: warning: the fit is at the boundary"]


class _ClosedPipe:
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_the_command_quietly(tmp_path, monkeypatch, capsys):
    src = tmp_path / "tx.csv"
    src.write_text("customer_id,at\na,2026-01-05T10:00Z\n")
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    status = main(["summarize", str(src), "--observation-end", "2026-01-31", "-o", "-"])
    assert status == 141
    assert capsys.readouterr().err == ""


def test_python_m_relcore_runs_and_stops_quietly_when_head_has_read_enough(tmp_path):
    # More output than a pipe buffers, so the write fails once the reader is gone.
    src = tmp_path / "tx.csv"
    src.write_text(
        "customer_id,at\n"
        + "".join(f"c{i:05d},2026-01-{1 + i % 28:02d}T10:00:00Z\n" for i in range(20_000))
    )
    cmd = [sys.executable, "-m", "relcore", "summarize", str(src),
           "--observation-end", "2026-01-31", "-o", "-"]  # fmt: skip
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read()
        status = proc.wait(timeout=60)
    assert first == b"customer_id,frequency,recency,T,monetary_value,period\n"
    assert err == b""
    assert status == 141
