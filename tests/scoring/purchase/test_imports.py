"""Importing the purchase models stays cheap: no ``scipy.stats`` (half a second to import)."""

import subprocess
import sys


def test_importing_the_purchase_models_does_not_import_scipy_stats():
    code = (
        "import sys, relcore.scoring.purchase as p; "
        "p.ShiftedBetaGeometric.fit([1000, 631, 468, 382, 326]).confidence_intervals(); "
        "p.frequency_monetary_correlation([1, 2, 3], [4.0, 1.0, 5.0]); "
        "print('scipy.stats' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
