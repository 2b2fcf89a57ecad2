"""What importing relcore costs: the light entry points stay light, the lazy names resolve.

Import *times* are measured in benchmarks/bench_import.py, not here; these tests check the
modules that make them (scipy.stats alone takes most of a second to import).
"""

from __future__ import annotations

import json
import subprocess
import sys

import relcore.scoring
import relcore.scoring.purchase

_PROBE = """
import json, sys

def loaded():
    return {
        "scipy": sorted(m for m in sys.modules if m == "scipy" or m.startswith("scipy.")),
        "purchase": sorted(m for m in sys.modules if m.startswith("relcore.scoring.purchase")),
    }

seen = {}
import relcore
seen["relcore"] = loaded()
import relcore.contact_policy
seen["relcore.contact_policy"] = loaded()
import relcore.measurement
seen["relcore.measurement"] = loaded()
print(json.dumps(seen))
"""


def _imported_in_a_fresh_interpreter() -> dict[str, dict[str, list[str]]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    seen: dict[str, dict[str, list[str]]] = json.loads(done.stdout)
    return seen


def test_light_entry_points_import_neither_scipy_stats_nor_the_purchase_models():
    seen = _imported_in_a_fresh_interpreter()
    # `import relcore` needs no scipy at all: the purchase models load on first use.
    assert seen["relcore"] == {"scipy": [], "purchase": []}
    # The contact policy scores fatigue with numpy alone.
    assert "scipy.stats" not in seen["relcore.contact_policy"]["scipy"]
    assert seen["relcore.contact_policy"]["purchase"] == []
    # measurement imports scipy.stats inside lift(), when an interval is computed.
    assert "scipy.stats" not in seen["relcore.measurement"]["scipy"]


def test_the_lazily_loaded_purchase_names_are_exactly_the_purchase_package():
    assert sorted(relcore.scoring._PURCHASE) == sorted(relcore.scoring.purchase.__all__)


def test_every_public_name_of_scoring_resolves():
    for name in relcore.scoring.__all__:
        assert getattr(relcore.scoring, name) is not None, name
    assert relcore.scoring.BGNBD is relcore.scoring.purchase.BGNBD
    assert set(relcore.scoring.__all__) <= set(dir(relcore.scoring))
