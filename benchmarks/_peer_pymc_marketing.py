"""Timings of pymc-marketing for bench_clv.py, run in the separate venv where it is
installed (never a relcore dependency):

    .venv-peers/bin/python benchmarks/_peer_pymc_marketing.py DATA.npz REPEAT

DATA.npz holds BG/NBD parameters and the columns (frequency, recency, T, future_spend);
prints one JSON line: the best time of ``customer_lifetime_value`` and its values.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np


def main() -> None:
    path, repeat = sys.argv[1], int(sys.argv[2])
    data = np.load(path)
    warnings.simplefilter("ignore")
    import arviz as az
    import pandas as pd
    import xarray as xr
    from pymc_marketing.clv import BetaGeoModel
    from pymc_marketing.clv.utils import customer_lifetime_value

    n = data["frequency"].size
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "frequency": data["frequency"],
            "recency": data["recency"],
            "T": data["T"],
            "future_spend": data["future_spend"],
        }
    )
    model = BetaGeoModel(data=frame.drop(columns="future_spend"))
    model.build_model()
    # known parameters as a posterior of one draw (the MAP fit's shape)
    params = {k: float(data[k]) for k in ("r", "alpha", "a", "b")}
    model.idata = az.InferenceData(
        posterior=xr.Dataset({k: (("chain", "draw"), [[v]]) for k, v in params.items()})
    )
    best, values = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        clv = customer_lifetime_value(
            model,
            frame,
            future_t=int(data["months"]),
            discount_rate=float(data["rate"]),
            time_unit=str(data["time_unit"]),
        )
        best = min(best, time.perf_counter() - start)
        values = np.asarray(clv).reshape(-1)
    sample = np.asarray(data["sample"])
    print(json.dumps({"seconds": best, "sample": values[sample].tolist()}))


if __name__ == "__main__":
    main()
