"""Customer lifetime value: relcore against pymc-marketing and lifetimes in one run, the
distance to the floor, and how it scales with the number of customers.

    PYTHONPATH=src python benchmarks/bench_clv.py              # 1M customers, 12 months
    PYTHONPATH=src python benchmarks/bench_clv.py --big        # and 10M in the scaling table
    PYTHONPATH=src python benchmarks/bench_clv.py --peer-python .venv-peers/bin/python

The target of issue 17: 12 months for 1M BG/NBD customers in <= 0.4 s and >= 5x faster
than pymc-marketing in the same run. pymc-marketing is never a relcore dependency: it
runs in a separate venv (``--peer-python``, default ``.venv-peers/bin/python``, made with
``python -m venv .venv-peers && .venv-peers/bin/pip install pymc-marketing``) through
``_peer_pymc_marketing.py``, on the same customers and the same expected spend, with
30-day months as both libraries then define them alike; its values are compared with
relcore's. lifetimes runs in the dev venv.

Floor: reading the four columns and writing the result (40 bytes per customer) plus
P(alive) (one log, one log1p and one exp per customer), measured in the same run; the
expectations per month are polynomials per frequency (see ``_special.bg_expectation_sum``)
and not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import warnings
from typing import Any

import numpy as np
from _floors import Floors, best_of, machine, row, slopes

from relcore.scoring import BGNBD, MBGNBD, GammaGamma, ParetoNBD, customer_lifetime_value

SPEND = GammaGamma(p=6.25, q=3.74, v=15.44)
MODELS = {
    "BG/NBD": BGNBD(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426),
    "MBG/NBD": MBGNBD(r=0.525, alpha=6.183 * 7, a=0.891, b=1.614),
    "Pareto/NBD": ParetoNBD(r=0.553, alpha=10.578 * 7, s=0.606, beta=11.669 * 7),
}


def customers(model: Any, n: int, kind: str, seed: int = 4) -> dict[str, np.ndarray]:
    """Histories in days over 78 weeks: whole days (``daily``) or real ones."""
    rng = np.random.default_rng(seed)
    whole = kind == "daily"
    T = rng.integers(1, 547, n).astype(float) if whole else rng.uniform(1.0, 546.0, n)
    s = model.simulate(n, T, rng=rng)
    x, tx = np.asarray(s.frequency), np.asarray(s.recency)
    if kind == "daily":
        tx = np.where(x > 0, np.minimum(np.ceil(tx), T), 0.0)
    value = np.where(x > 0, SPEND.simulate(np.maximum(x, 1.0), rng=rng), 0.0)
    return {"frequency": x, "recency": tx, "T": T, "monetary_value": value}


def clv(model: Any, d: dict[str, np.ndarray], months: int = 12) -> np.ndarray:
    return customer_lifetime_value(
        model, SPEND, **d, months=months, monthly_discount_rate=0.01, days_per_month=30.0
    )


def pymc_marketing(
    python: str | None, model: Any, d: dict[str, np.ndarray], repeat: int
) -> tuple[float | None, float | None]:
    """pymc-marketing's time and its largest relative difference from relcore."""
    if python is None or not os.path.exists(python):
        return None, None
    ours = clv(model, d)
    sample = np.arange(0, ours.size, max(1, ours.size // 2_000))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        np.savez(
            path,
            frequency=d["frequency"],
            recency=d["recency"],
            T=d["T"],
            future_spend=SPEND.expected_average_value(d["frequency"], d["monetary_value"]),
            months=12,
            rate=0.01,
            time_unit="D",
            sample=sample,
            **model.params,
        )
        here = os.path.dirname(os.path.abspath(__file__))
        script = os.path.join(here, "_peer_pymc_marketing.py")
        done = subprocess.run(
            [python, script, path, str(repeat)], capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        print(f"    pymc-marketing failed: {done.stderr.strip().splitlines()[-1:]}")
        return None, None
    result = json.loads(done.stdout.strip().splitlines()[-1])
    theirs = np.asarray(result["sample"])
    return result["seconds"], float(np.max(np.abs(theirs / ours[sample] - 1.0)))


def lifetimes_clv(model: Any, d: dict[str, np.ndarray]) -> tuple[float | None, float | None]:
    try:
        import lifetimes
        import pandas as pd
    except ImportError:
        return None, None
    f = lifetimes.BetaGeoFitter()
    f.params_ = pd.Series(model.params)
    f.predict = f.conditional_expected_number_of_purchases_up_to_time  # as lifetimes' docs
    g = lifetimes.GammaGammaFitter()
    g.params_ = pd.Series(SPEND.params)
    cols = [pd.Series(d[k]) for k in ("frequency", "recency", "T", "monetary_value")]

    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return g.customer_lifetime_value(f, *cols, time=12, discount_rate=0.01, freq="D")

    t, theirs = best_of(run, 1)
    ours = clv(model, d)
    return t, float(np.max(np.abs(theirs.to_numpy() / ours - 1.0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000, help="customers of the hot path")
    parser.add_argument("--big", action="store_true", help="10M customers in the scaling table")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best kept)")
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument(
        "--peer-python",
        default=os.path.join(here, "..", ".venv-peers", "bin", "python"),
        help="python of a venv with pymc-marketing",
    )
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    floors = Floors()
    print(f"floors: {floors.describe()}")

    n = args.n
    print(f"\n== 12 months of CLV, {n:,} customers (best of {args.repeat}) ==")
    model = MODELS["BG/NBD"]
    for kind in ("continuous", "daily"):
        d = customers(model, n, kind)
        t, _ = best_of(lambda d=d: clv(model, d), args.repeat)
        floor = floors.of(bytes=40 * n, log=n, log1p=n, exp=n)
        peers: dict[str, float | None] = {}
        if not args.no_peers:
            t_pymc, diff_pymc = pymc_marketing(args.peer_python, model, d, 1)
            t_life, diff_life = lifetimes_clv(model, d)
            peers = {"pymc-marketing": t_pymc, "lifetimes": t_life}
        row(f"BG/NBD CLV, {n:,} {kind}", t, floor, peers)
        if not args.no_peers:
            print(
                f"    largest relative difference from relcore: pymc-marketing {diff_pymc}, "
                f"lifetimes {diff_life}"
            )

    sizes = [10_000, 100_000, 1_000_000] + ([10_000_000] if args.big else [])
    print(
        f"\n== CLV time by customers, wall (cpu) s (12 months; best of {args.repeat}; "
        "exponent: slope from 100k up, of wall and cpu time) =="
    )
    head = "".join(f"{s:>19,}" for s in sizes)
    print(f"{'model':<12}{'data':<12}{head}   exponent")
    for name, model in MODELS.items():
        for kind in ("daily", "continuous"):
            times = []
            for size in sizes:
                d = customers(model, size, kind)
                runs = args.repeat if size < 5_000_000 else 1
                times.append(best_of(lambda d=d, m=model: clv(m, d), runs)[0])
            slope, slope_cpu = slopes(sizes, times)
            cells = "".join(f"{t:10.3f} ({t.cpu:6.3f})" for t in times)
            print(f"{name:<12}{kind:<12}{cells}   {slope:5.2f} ({slope_cpu:4.2f})")
    print(f"\nmachine at the end: {machine()}")


if __name__ == "__main__":
    main()
