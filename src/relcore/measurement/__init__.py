"""Measurement: did the relationship effort work?

* :func:`assign_holdout` — a stable, hash-based holdout (control) group;
* :func:`lift` — difference and ratio of treated and control outcomes with intervals;
* :func:`minimum_detectable_effect` and :func:`sample_size` — planning a test;
* :func:`plot_lift` — the estimate and its interval (``plot`` extra).
"""

from ._lift import LiftResult, SampleSize, lift, minimum_detectable_effect, sample_size
from .holdout import assign_holdout
from .plots import plot_lift

__all__ = [
    "LiftResult",
    "SampleSize",
    "assign_holdout",
    "lift",
    "minimum_detectable_effect",
    "plot_lift",
    "sample_size",
]
