"""Helpers for driving the command line in-process, as ``relcore ...`` would run."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import relcore.io.csv
from relcore.cli import main


@dataclass
class Run:
    status: int
    out: str
    err: str

    @property
    def errors(self) -> list[str]:
        return self.err.strip().splitlines()


@pytest.fixture
def relcore_cli(capsys):
    """``relcore_cli("summarize", path, ...)`` runs the command; never a traceback."""

    def run(*argv: object) -> Run:
        status = main([str(a) for a in argv])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Run(status, captured.out, captured.err)

    return run


def _has_pyarrow() -> bool:
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(
    params=[
        pytest.param(
            "arrow", marks=pytest.mark.skipif(not _has_pyarrow(), reason="pyarrow not installed")
        ),
        "python",
    ]
)
def engine(request, monkeypatch):
    """Run the test with each CSV engine: the command must behave the same with both."""
    monkeypatch.setattr(relcore.io.csv, "DEFAULT_ENGINE", request.param)
    return request.param
