"""Hypothesis strategies shared by the test modules (``tests`` is on pytest's
``pythonpath``: ``from _strategies import histories``)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

# Any model parameter, from nearly degenerate to nearly without spread.
param = st.floats(min_value=1e-4, max_value=1e4, allow_nan=False, allow_infinity=False)


@st.composite
def histories(draw, n=6):
    """``(frequency, recency, T, t)`` rows with frequency 0..10,000, T from 0 (a customer
    first seen now, who has no repeat purchase) up to 100,000, recency in [0, T] and a
    horizon ``t`` up to 100,000."""
    x = np.array(draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n)), dtype=float)
    T = np.array(draw(st.lists(st.floats(0.0, 1e5, allow_nan=False), min_size=n, max_size=n)))
    share = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    x = np.where(T > 0, x, 0.0)
    tx = np.where(x > 0, share * T, 0.0)
    t = np.array(draw(st.lists(st.floats(0.0, 1e5, allow_nan=False), min_size=n, max_size=n)))
    return x, tx, T, t
