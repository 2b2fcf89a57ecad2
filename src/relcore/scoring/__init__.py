"""Estimators over the domain: purchase models, CLV and relationship scores."""

from .affinity import AlsoBought, also_bought
from .customer_view import CustomerView, CustomerViews, customer_view, customer_views
from .engagement import EngagementScores, engagement
from .fatigue import SATURATION_LEVELS, FatigueScores, ResponseCurve, fatigue, fatigue_scores
from .lifecycle import (
    LIFECYCLE_STAGES,
    LifecycleStages,
    RepeatCustomers,
    lifecycle_stage,
    repeat_customers,
)
from .rfm import RFM_SEGMENTS, RFMSegments, rfm_segments
from .score_plots import plot_score_distribution, plot_segment_sizes
from .summary import Period, RFMSummary, summarize
from .value_balance import BALANCE_CLASSES, ValueBalance, value_balance

__all__ = ["Period", "RFMSummary", "summarize"]
__all__ += [
    "BALANCE_CLASSES",
    "LIFECYCLE_STAGES",
    "RFM_SEGMENTS",
    "SATURATION_LEVELS",
    "AlsoBought",
    "CustomerView",
    "CustomerViews",
    "EngagementScores",
    "FatigueScores",
    "LifecycleStages",
    "RFMSegments",
    "RepeatCustomers",
    "ResponseCurve",
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
    "repeat_customers",
    "rfm_segments",
    "value_balance",
]
