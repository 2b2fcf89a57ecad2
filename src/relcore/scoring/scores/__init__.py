"""Relationship scores: how a customer relates to the company, computed from an event log
(engagement, contact fatigue, value balance, the customer view, the preferred send time)
or from the customer-base summary (RFM segments, lifecycle stages), and "customers who
bought this also bought".

The implementation modules are private (``_fatigue.py`` holds
[`fatigue`][relcore.scoring.scores.fatigue]), so that a function and its module never share a name;
import from here or from `relcore.scoring`.
"""

from ._affinity import AlsoBought, also_bought
from ._customer_view import CustomerView, CustomerViews, customer_view, customer_views
from ._engagement import EngagementScores, engagement
from ._fatigue import DEFAULT_HALF_LIFE as FATIGUE_HALF_LIFE
from ._fatigue import DEFAULT_NEGATIVE_KINDS as FATIGUE_NEGATIVE_KINDS
from ._fatigue import DEFAULT_NEGATIVE_WEIGHT as FATIGUE_NEGATIVE_WEIGHT
from ._fatigue import SATURATION_LEVELS, FatigueScores, ResponseCurve, fatigue, fatigue_scores
from ._lifecycle import (
    LIFECYCLE_STAGES,
    LifecycleStages,
    RepeatCustomers,
    lifecycle_stage,
    repeat_customers,
)
from ._plots import plot_score_distribution, plot_segment_sizes
from ._propensity import ResponsePropensity, response_propensity
from ._rfm import RFM_SEGMENTS, RFMSegments, rfm_segments
from ._send_time import PreferredSendTimes, preferred_send_time
from ._value_balance import BALANCE_CLASSES, ValueBalance, value_balance

__all__ = [
    "BALANCE_CLASSES",
    "FATIGUE_HALF_LIFE",
    "FATIGUE_NEGATIVE_KINDS",
    "FATIGUE_NEGATIVE_WEIGHT",
    "LIFECYCLE_STAGES",
    "RFM_SEGMENTS",
    "SATURATION_LEVELS",
    "AlsoBought",
    "CustomerView",
    "CustomerViews",
    "EngagementScores",
    "FatigueScores",
    "LifecycleStages",
    "PreferredSendTimes",
    "RFMSegments",
    "RepeatCustomers",
    "ResponseCurve",
    "ResponsePropensity",
    "ValueBalance",
    "also_bought",
    "customer_view",
    "customer_views",
    "engagement",
    "fatigue",
    "fatigue_scores",
    "lifecycle_stage",
    "plot_score_distribution",
    "plot_segment_sizes",
    "preferred_send_time",
    "repeat_customers",
    "response_propensity",
    "rfm_segments",
    "value_balance",
]
