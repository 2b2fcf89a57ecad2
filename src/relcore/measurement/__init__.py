"""Measurement: did the relationship effort work?

* [`assign_holdout`][relcore.measurement.assign_holdout] — a stable, hash-based holdout (control)
  group;
* [`lift`][relcore.measurement.lift] — difference and ratio of treated and control outcomes with
  intervals;
* [`minimum_detectable_effect`][relcore.measurement.minimum_detectable_effect] and
  [`sample_size`][relcore.measurement.sample_size] — planning a test;
* [`plot_lift`][relcore.measurement.plot_lift] — the estimate and its interval (``plot`` extra).
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
