"""Import times: what a script that only checks the contact policy pays before its first line.

    PYTHONPATH=src python benchmarks/bench_import.py           # best of 15 runs each
    PYTHONPATH=src python benchmarks/bench_import.py --runs 5

Each statement runs in a fresh interpreter (``python -X importtime`` would slow it down, so
the child times itself with ``perf_counter`` around the statement alone; interpreter
start-up is not counted). The figure is the best of ``--runs``, since anything else the
machine does only adds time; the median is printed beside it.

Target: ``import relcore.contact_policy`` within 0.2 s of ``import numpy``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

STATEMENTS = (
    ("import numpy", "import numpy"),
    ("import relcore", "import relcore"),
    ("import relcore.contact_policy", "import relcore.contact_policy"),
    ("import relcore.scoring", "import relcore.scoring"),
    ("relcore.scoring.BGNBD", "import relcore.scoring; relcore.scoring.BGNBD"),
    ("import relcore.measurement", "import relcore.measurement"),
)

_CHILD = """
import time
t0 = time.perf_counter()
exec(compile({statement!r}, "<bench>", "exec"))
print(time.perf_counter() - t0)
"""

TARGET_OVER_NUMPY = 0.2


def time_once(statement: str) -> float:
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(statement=statement)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return float(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[float]] = {label: [] for label, _ in STATEMENTS}
    for _ in range(args.runs):  # interleaved: a busy spell slows every statement alike
        for label, statement in STATEMENTS:
            times[label].append(time_once(statement))
    best = {label: min(t) for label, t in times.items()}
    print(f"{'statement':<34}{'best':>9}{'median':>9}   (fresh interpreter, {args.runs} runs)")
    for label, t in times.items():
        print(f"{label:<34}{min(t):>8.3f}s{statistics.median(t):>8.3f}s")
    over = best["import relcore.contact_policy"] - best["import numpy"]
    verdict = "meets" if over <= TARGET_OVER_NUMPY else "MISSES"
    print(
        f"\nimport relcore.contact_policy - import numpy = {over:.3f} s "
        f"({verdict} the target of {TARGET_OVER_NUMPY} s)"
    )


if __name__ == "__main__":
    main()
