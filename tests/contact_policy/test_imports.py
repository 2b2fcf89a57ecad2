"""The contact policy is light to import: a send pipeline does not pay for the models."""

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_importing_the_contact_policy_loads_neither_scipy_nor_the_purchase_models():
    code = (
        "import sys, relcore.contact_policy\n"
        "print(sorted(m for m in sys.modules if m == 'scipy' or m.startswith('scipy.')"
        " or m.startswith('relcore.scoring.purchase')))"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "[]"
