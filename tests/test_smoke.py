import subprocess
import sys

import relcore


def test_public_names_are_exported():
    for name in relcore.__all__:
        assert hasattr(relcore, name), name


def test_demo_runs_and_reports_the_cdnow_customer_base():
    done = subprocess.run(
        [sys.executable, "-m", "relcore", "demo"], capture_output=True, text=True, check=True
    )
    assert "23,570" in done.stdout  # customers in the CDNOW Q1-1997 cohort
    assert "69,659" in done.stdout  # purchase records in the master file
