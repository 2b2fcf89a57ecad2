"""Purchase-model speed: the hot paths of issue 17 against their floors and peers, and how
every model's fit scales with the number of customers.

    PYTHONPATH=src python benchmarks/bench_models.py             # up to 1M customers
    PYTHONPATH=src python benchmarks/bench_models.py --big       # 10M as well (minutes)
    PYTHONPATH=src python benchmarks/bench_models.py --quick     # up to 100k
    PYTHONPATH=src python benchmarks/bench_models.py --no-scaling --no-lifetimes
    PYTHONPATH=src python benchmarks/bench_models.py --covariates-only  # issue 15's fits

Data are simulated in days over 78 weeks of acquisition: *daily* summaries hold whole
numbers of days (identical histories repeat and compress), *continuous* ones real
numbers (no two customers share a row). Every time is the best of ``--repeat`` runs; the
machine's load is printed, since other jobs may share it. Floors are measured in the
same run (see ``_floors.py``): a fit cannot take less than reading its input once plus
three evaluations of the log-likelihood's transcendental functions (a Newton method's
start, one step and the check of convergence), counted per row as written below.

Peers: lifetimes (installed with relcore's dev extra) on the same data, fitted with its
own optimiser; its time per customer is taken at the largest size it runs in reasonable
time and scaled linearly (marked ``~``). Fits are compared through lifetimes' own
negative log-likelihood at both estimates where a peer runs.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from _floors import Floors, best_of, machine, row, slopes

from relcore.scoring import BGBB, BGCNBDK, BGNBD, MBGNBD, GammaGamma, GGompertzNBD, ParetoNBD
from relcore.scoring.purchase import _base

DAYS = 546.0  # 78 weeks
TRUTH = {
    BGNBD: BGNBD(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426),
    MBGNBD: MBGNBD(r=0.525, alpha=6.183 * 7, a=0.891, b=1.614),
    ParetoNBD: ParetoNBD(r=0.553, alpha=10.578 * 7, s=0.606, beta=11.669 * 7),
    # hazards growing e-fold every 20 weeks; regular buyers (Erlang-3 gaps)
    GGompertzNBD: GGompertzNBD(r=0.553, alpha=10.578 * 7, s=0.606, beta=11.669 * 7, c=20.0 * 7),
    BGCNBDK: BGCNBDK(k=3, r=0.75, alpha=4.414 * 7, a=0.793, b=2.426),
}


def customers(model: Any, n: int, kind: str, seed: int = 1) -> dict[str, np.ndarray]:
    """Frequency, recency and T in days: whole days (``daily``) or real (``continuous``)."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, int(DAYS) + 1, n).astype(float) if kind == "daily" else None
    if T is None:
        T = rng.uniform(1.0, DAYS, n)
    s = model.simulate(n, T, rng=rng)
    x, tx = np.asarray(s.frequency), np.asarray(s.recency)
    if kind == "daily":
        tx = np.where(x > 0, np.minimum(np.ceil(tx), T), 0.0)
    return {"frequency": x, "recency": tx, "T": np.asarray(s.T, dtype=float)}


def spend_data(n: int, kind: str, seed: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.geometric(0.3, n).astype(float)
    m = GammaGamma(p=6.25, q=3.74, v=15.44).simulate(x, rng=rng)
    if kind == "daily":  # whole cents
        m = np.maximum(np.round(m, 2), 0.01)
    return {"frequency": x, "monetary_value": m}


def opportunity_data(n: int, kind: str, seed: int = 3) -> dict[str, np.ndarray]:
    # BG/BB's data are discrete whatever the clock: six opportunities ("daily") or 52
    d = BGBB(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783).simulate(
        n, 6 if kind == "daily" else 52, rng=seed
    )
    return {"frequency": d.frequency, "recency": d.recency, "n_periods": d.T}


def fit_data(model: type, n: int, kind: str) -> dict[str, np.ndarray]:
    if model is GammaGamma:
        return spend_data(n, kind)
    if model is BGBB:
        return opportunity_data(n, kind)
    return customers(TRUTH[model], n, kind)


def quiet(fn: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()

    return run


# -- hot paths -------------------------------------------------------------------------


def bgnbd_daily(floors: Floors, n: int, repeat: int, lifetimes: Any) -> None:
    d = customers(TRUTH[BGNBD], n, "daily")
    t, m = best_of(lambda: BGNBD.fit(**d), repeat)
    rows = m.fit_info.n_rows
    floor = floors.of(bytes=24 * n, log=6 * rows, log1p=3 * rows, exp=3 * rows)
    peer = lifetimes_bgnbd(lifetimes, d, n)
    row(f"BG/NBD fit, {n:,} daily ({rows:,} distinct)", t, floor, {"lifetimes~": peer})
    # what compression costs and what it saves
    cols = [d["frequency"], d["recency"], d["T"]]
    t_comp, _ = best_of(lambda: _base.compress(cols, np.ones(n)), repeat)
    original = _base.compress
    try:
        _base.compress = lambda columns, weights, **_: (columns, weights)
        t_raw, _ = best_of(lambda: BGNBD.fit(**d), 1)
    finally:
        _base.compress = original
    print(
        f"    compression {t_comp:.3f} s, cpu {t_comp.cpu:.3f} s (floor "
        f"{floors.of(bytes=24 * n):.3f} s: one read of the columns); the fit without it "
        f"{t_raw:.3f} s, cpu {t_raw.cpu:.3f} s: it saves {t_raw - t:.3f} s, cpu "
        f"{t_raw.cpu - t.cpu:.3f} s"
    )


def lifetimes_bgnbd(lifetimes: Any, d: dict[str, np.ndarray], n: int) -> str | None:
    """lifetimes' BG/NBD fit time, measured up to 200k customers and scaled."""
    if lifetimes is None:
        return None
    k = min(n, 200_000)
    sub = {key: v[:k] for key, v in d.items()}
    t, _ = best_of(
        quiet(lambda: lifetimes.BetaGeoFitter().fit(sub["frequency"], sub["recency"], sub["T"])),
        1,
    )
    return t * n / k


def pareto_continuous(floors: Floors, n: int, repeat: int, lifetimes: Any) -> None:
    d = customers(TRUTH[ParetoNBD], n, "continuous")
    t, _ = best_of(lambda: ParetoNBD.fit(**d), repeat)
    # per row: log of alpha+T, beta+T, alpha+t_x, beta+t_x and the logaddexp
    floor = floors.of(bytes=24 * n, log=15 * n, log1p=3 * n, exp=3 * n)
    peer = None
    if lifetimes is not None:
        k = min(n, 20_000)
        sub = {key: v[:k] for key, v in d.items()}
        fitter = lifetimes.ParetoNBDFitter()
        tp, _ = best_of(quiet(lambda: fitter.fit(sub["frequency"], sub["recency"], sub["T"])), 1)
        peer = tp * n / k
    row(f"Pareto/NBD fit, {n:,} continuous", t, floor, {"lifetimes~": peer})


def pareto_young_cohort(floors: Floors, n: int, repeat: int) -> None:
    """Customers of a cohort without dropout, acquired over 12 weeks: the fit runs to the
    no-dropout boundary (β -> inf), where the hypergeometric argument nears 1."""
    rng = np.random.default_rng(7)
    nbd = ParetoNBD(r=0.55, alpha=10.6, s=1.0, beta=np.inf)
    s = nbd.simulate(n, rng.uniform(0.5, 12.0, n), rng=rng)
    t, _ = best_of(quiet(lambda: ParetoNBD.fit(s)), repeat)
    floor = floors.of(bytes=24 * n, log=15 * n, log1p=3 * n, exp=3 * n)
    row(f"Pareto/NBD fit, {n:,} young cohort (boundary)", t, floor, {})


def p_alive(floors: Floors, n: int, repeat: int, lifetimes: Any) -> None:
    m = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)
    rng = np.random.default_rng(4)
    s = m.simulate(n, rng.uniform(1.0, 78.0, n), rng=rng)
    x, tx, T = s.frequency, s.recency, s.T
    t, ours = best_of(lambda: m.p_alive(x, tx, T), repeat)
    peer = None
    if lifetimes is not None:
        import pandas as pd

        f = lifetimes.BetaGeoFitter()
        f.params_ = pd.Series(m.params)
        peer, theirs = best_of(lambda: f.conditional_probability_alive(x, tx, T), repeat)
        assert np.allclose(ours, theirs, rtol=1e-9)
    floor = floors.of(bytes=32 * n, log=n, log1p=n, exp=n)
    row(f"BG/NBD p_alive, {n:,} customers", t, floor, {"lifetimes": peer})


# -- scaling ---------------------------------------------------------------------------


def scaling(sizes: list[int], repeat: int) -> None:
    print(
        f"\n== fit time by customers, wall (cpu) s (best of {repeat}; exponent: slope from "
        "100k up, of wall and cpu time) =="
    )
    head = "".join(f"{n:>19,}" for n in sizes)
    print(f"{'model':<12}{'data':<12}{head}   exponent")
    for model in (BGNBD, MBGNBD, ParetoNBD, BGBB, GammaGamma):
        for kind in ("daily", "continuous"):
            times = []
            for n in sizes:
                d = fit_data(model, n, kind)
                runs = repeat if n < 5_000_000 else 1
                t, _ = best_of(quiet(lambda d=d, m=model: m.fit(**d)), runs)
                times.append(t)
            slope, slope_cpu = slopes(sizes, times)
            label = {BGBB: ("6 periods", "52 periods"), GammaGamma: ("cents", "continuous")}
            data = label.get(model, ("daily", "continuous"))[kind == "continuous"]
            cells = "".join(f"{t:10.3f} ({t.cpu:6.3f})" for t in times)
            print(f"{model.__name__:<12}{data:<12}{cells}   {slope:5.2f} ({slope_cpu:4.2f})")


# -- every model against lifetimes (issue 15) ------------------------------------------


def _lifetimes_fit(lifetimes: Any, model: type, d: dict[str, np.ndarray]) -> Callable[[], Any]:
    """lifetimes' fit of the same model on the same rows (its defaults otherwise)."""
    if model is GammaGamma:
        return lambda: lifetimes.GammaGammaFitter().fit(d["frequency"], d["monetary_value"])
    if model is BGBB:
        return lambda: lifetimes.BetaGeoBetaBinomFitter().fit(
            d["frequency"], d["recency"], d["n_periods"]
        )
    fitter = {
        BGNBD: lifetimes.BetaGeoFitter,
        MBGNBD: lifetimes.ModifiedBetaGeoFitter,
        ParetoNBD: lifetimes.ParetoNBDFitter,
    }[model]
    return lambda: fitter().fit(d["frequency"], d["recency"], d["T"])


def peer_ratios(sizes: list[int], repeat: int, lifetimes: Any) -> None:
    """Each model's fit against lifetimes' in the same run. lifetimes runs at most 200k
    customers (20k for its Pareto/NBD, whose fit takes minutes beyond); larger sizes
    scale its time per customer linearly (marked ``~``), which flatters it: its fits
    grow faster than linearly."""
    print(f"\n== every fit against lifetimes, same run (best of {repeat}; lifetimes once) ==")
    print(f"{'model':<12}{'data':<12}{'customers':>11}{'relcore':>10}{'lifetimes':>13}{'ratio':>9}")
    for model in (BGNBD, MBGNBD, ParetoNBD, BGBB, GammaGamma):
        for n in sizes:
            d = fit_data(model, n, "daily")
            t, _ = best_of(quiet(lambda d=d, m=model: m.fit(**d)), repeat)
            cap = 20_000 if model is ParetoNBD else 200_000
            k = min(n, cap)
            sub = {key: v[:k] for key, v in d.items()}
            peer, _ = best_of(quiet(_lifetimes_fit(lifetimes, model, sub)), 1)
            peer_t = peer * n / k
            mark = "~" if k < n else " "
            print(
                f"{model.__name__:<12}{'daily':<12}{n:>11,}{t:>9.3f}s{peer_t:>11.2f}s{mark}"
                f"{peer_t / t:>8.1f}x"
            )


# -- covariates --------------------------------------------------------------------------


def covariate_data(n: int, kind: str, seed: int = 5) -> dict[str, np.ndarray]:
    """Static covariates: a flag and a three-level code (acquisition channel, region), the
    common case, or with ``kind="continuous"`` also a real-valued one (first-order value),
    which leaves every customer a covariate row of their own."""
    rng = np.random.default_rng(seed)
    cov = {
        "channel": (rng.random(n) < 0.4).astype(float),
        "region": rng.integers(0, 3, n).astype(float),
    }
    if kind == "continuous":
        cov["first_value"] = rng.normal(size=n)
    return cov


def covariate_fits(sizes: list[int], repeat: int) -> None:
    """Covariate fits against the same model's fit without covariates (lifetimes has no
    covariate models: the peer comparison is moot)."""
    print(f"\n== covariate fits vs the same fit without covariates (best of {repeat}) ==")
    print(
        f"{'model':<12}{'covariates':<14}{'customers':>11}{'plain':>10}{'covariates':>12}"
        f"{'ratio':>8}{'rows':>24}"
    )
    for model in (BGNBD, ParetoNBD, GammaGamma):
        for kind in ("categories", "continuous"):
            for n in sizes:
                if kind == "continuous" and n > 100_000:
                    continue  # row-by-row derivatives: about 10 µs a row per evaluation
                d = fit_data(model, n, "daily")
                cov = covariate_data(n, kind)
                t0, m0 = best_of(quiet(lambda d=d, m=model: m.fit(**d)), repeat)
                t1, m1 = best_of(
                    quiet(lambda d=d, m=model, c=cov: m.fit(**d, covariates=c)), repeat
                )
                rows = f"{m0.fit_info.n_rows:,} -> {m1.fit_info.n_rows:,}"
                print(
                    f"{model.__name__:<12}{kind:<14}{n:>11,}{t0:>9.3f}s{t1:>11.3f}s"
                    f"{t1 / t0:>7.1f}x{rows:>24}"
                )


def new_models(sizes: list[int], repeat: int) -> None:
    """Gamma-Gompertz/NBD and BG/CNBD-k fits. Their peers (CLVTools' ggomnbd, BTYDplus'
    bgcnbd) are R packages, which this benchmark does not run."""
    print(f"\n== Gamma-Gompertz/NBD and BG/CNBD-k fits (best of {repeat}) ==")
    head = "".join(f"{n:>11,}" for n in sizes)
    print(f"{'model':<28}{head}")
    cases: list[tuple[str, Callable[[int], Callable[[], Any]]]] = [
        ("GGompertzNBD daily", lambda n: _gg_fit(n, "daily")),
        ("GGompertzNBD continuous", lambda n: _gg_fit(n, "continuous")),
        ("BGCNBDK k = 3", lambda n: _cnbd_fit(n, 3)),
        ("BGCNBDK k chosen (1..4)", lambda n: _cnbd_fit(n, None)),
    ]
    for label, make in cases:
        cells = ""
        for n in sizes:
            t, _ = best_of(quiet(make(n)), repeat)
            cells += f"{t:10.3f}s"
        print(f"{label:<28}{cells}")


def _gg_fit(n: int, kind: str) -> Callable[[], Any]:
    d = customers(TRUTH[GGompertzNBD], n, kind)
    return lambda: GGompertzNBD.fit(**d)


def _cnbd_fit(n: int, k: int | None) -> Callable[[], Any]:
    rng = np.random.default_rng(5)
    d = TRUTH[BGCNBDK].simulate(n, rng.uniform(1.0, DAYS, n), rng=rng, litt=True)
    return lambda: BGCNBDK.fit(d, k=k, max_k=4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="sizes up to 100k")
    parser.add_argument("--big", action="store_true", help="10M customers too")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best kept)")
    parser.add_argument("--no-lifetimes", action="store_true", help="skip lifetimes")
    parser.add_argument("--no-scaling", action="store_true", help="hot paths only")
    parser.add_argument("--no-covariates", action="store_true", help="skip covariate fits")
    parser.add_argument("--covariates-only", action="store_true", help="covariate fits only")
    parser.add_argument(
        "--new-models-only", action="store_true", help="only the GG/NBD and BG/CNBD-k fits"
    )
    parser.add_argument(
        "--peers-only", action="store_true", help="each model's fit against lifetimes only"
    )
    args = parser.parse_args()
    lifetimes: Any = None
    if not args.no_lifetimes:
        try:
            import lifetimes as lifetimes_module

            lifetimes = lifetimes_module
        except ImportError:
            print("lifetimes is not installed: relcore timings only")
    top = 100_000 if args.quick else 10_000_000 if args.big else 1_000_000
    print(f"machine: {machine()}")
    if args.covariates_only:
        covariate_fits([10_000, 100_000] + ([1_000_000] if not args.quick else []), args.repeat)
        print(f"\nmachine at the end: {machine()}")
        return
    if args.new_models_only:
        new_models([10_000, 100_000], args.repeat)
        return
    if args.peers_only:
        peer_ratios([100_000, 1_000_000], args.repeat, lifetimes)
        return
    floors = Floors()
    print(f"floors: {floors.describe()}")
    print(f"\n== hot paths (best of {args.repeat}) ==")
    bgnbd_daily(floors, top, args.repeat, lifetimes)
    pareto_continuous(floors, top, args.repeat, lifetimes)
    pareto_young_cohort(floors, min(top, 200_000), 1)
    p_alive(floors, min(top, 1_000_000), max(args.repeat, 5), lifetimes)
    if not args.no_scaling:
        sizes = [10_000, 100_000] + ([1_000_000] if not args.quick else [])
        scaling(sizes + ([10_000_000] if args.big else []), args.repeat)
    if not args.no_covariates:
        covariate_fits([10_000, 100_000] + ([1_000_000] if not args.quick else []), args.repeat)
    new_models([10_000, 100_000], args.repeat)
    if lifetimes is not None:
        peer_ratios([100_000, 1_000_000], args.repeat, lifetimes)
    print(f"\nmachine at the end: {machine()}")


if __name__ == "__main__":
    main()
