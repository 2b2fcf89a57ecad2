import relcore
from relcore.cli import main


def test_public_names_are_exported():
    for name in relcore.__all__:
        assert hasattr(relcore, name), name


def test_demo_runs_and_reports_the_cdnow_customer_base(capsys):
    # In-process through the command line's entry point (tests/cli runs `python -m relcore`
    # in a subprocess once; a second interpreter here would only add start-up time).
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "23,570" in out  # customers in the CDNOW Q1-1997 cohort
    assert "69,659" in out  # purchase records in the master file
