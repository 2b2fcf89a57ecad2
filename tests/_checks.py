"""Checks shared by the purchase-model test modules (``tests`` is on pytest's
``pythonpath``: ``from _checks import check_finite_and_in_range``)."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_finite_and_in_range(
    m: Any, x, tx, T, t, *, extra: dict | None = None, probabilities: bool = False
) -> None:
    """Per-customer log-likelihoods finite; P(alive) in [0, 1]; expected purchases (given
    the history, and of a new customer) finite and non-negative; with ``probabilities``,
    P(X(t) = n) in [0, 1] too. ``extra``: more columns the likelihood reads."""
    # per-customer likelihoods have no public API: the model's one statement of it
    data = {"frequency": x, "recency": tx, "T": T, **(extra or {})}
    ll = m._rows(list(m.params.values()), data)
    assert np.all(np.isfinite(ll)), ll
    p = m.p_alive(x, tx, T)
    assert np.all(np.isfinite(p)), p
    assert np.all((p >= 0) & (p <= 1)), p
    e = m.expected_purchases(t, x, tx, T)
    assert np.all(np.isfinite(e)), e
    assert np.all(e >= 0), e
    e0 = m.expected_purchases_new(t)
    assert np.all(np.isfinite(e0)), e0
    assert np.all(e0 >= 0), e0
    if probabilities:
        pn = m.probability_of_purchases(np.minimum(x, 50), t)
        assert np.all(np.isfinite(pn)), pn
        assert np.all((pn >= 0) & (pn <= 1 + 1e-12)), pn


def check_diagnostics_accept(m: Any) -> None:
    """The diagnostics run on the model over CDNOW's calibration and holdout weeks."""
    from relcore.datasets import load_cdnow
    from relcore.scoring import diagnostics, summarize

    log = load_cdnow()
    window = {"period": "W", "observation_end": "1998-06-30", "calibration_end": "1997-09-30"}
    summary = summarize(log, **window)
    table = diagnostics.calibration_vs_holdout(m, summary)
    assert np.isfinite(table.expected).all()
    tracking = diagnostics.purchase_tracking(m, log, **window)
    assert np.all(np.diff(tracking.expected_cumulative) >= 0)
