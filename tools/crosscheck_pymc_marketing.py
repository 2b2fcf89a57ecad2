"""Cross-check relcore's covariate log-likelihoods against pymc-marketing's distributions.

Not part of the test suite: pymc-marketing (with pymc and pytensor) is not an extra of
relcore, and the suite may skip nothing. Run it by hand in an environment that has both:

    pip install -e . pymc-marketing && python tools/crosscheck_pymc_marketing.py

It fits BG/NBD and Pareto/NBD with two covariates on CDNOW and evaluates pymc-marketing's
BetaGeoNBD / ParetoNBD distributions (the likelihood alone, priors excluded) at each
customer's parameters; the totals must agree to 1e-8 relative. Last run: pymc-marketing
0.19.2, both models agreed.
"""

from __future__ import annotations

import math

import numpy as np
import pymc as pm
from pymc_marketing.clv import distributions

from relcore.datasets import load_cdnow_summary
from relcore.scoring import BGNBD, ParetoNBD


def main() -> None:
    cdnow = load_cdnow_summary()
    n = len(cdnow.frequency)
    rng = np.random.default_rng(21)
    covariates = {
        "g": (rng.random(n) < 0.5).astype(float),
        "h": rng.integers(0, 3, n).astype(float),
    }
    value = np.column_stack([cdnow.recency, cdnow.frequency])
    for model in (BGNBD, ParetoNBD):
        fitted = model.fit(cdnow, covariates=covariates)
        p = fitted.customer_params(covariates)
        if model is BGNBD:
            dist = distributions.BetaGeoNBD.dist(
                a=p["a"], b=p["b"], r=p["r"], alpha=p["alpha"], T=cdnow.T
            )
        else:
            dist = distributions.ParetoNBD.dist(
                r=p["r"], alpha=p["alpha"], s=p["s"], beta=p["beta"], T=cdnow.T
            )
        theirs = float(np.sum(pm.logp(dist, value).eval()))
        ok = math.isclose(fitted.log_likelihood, theirs, rel_tol=1e-8)
        print(f"{model.__name__}: relcore {fitted.log_likelihood:.6f}, pymc-marketing {theirs:.6f}")
        if not ok:
            raise SystemExit(f"{model.__name__}: the log-likelihoods differ")


if __name__ == "__main__":
    main()
