"""Estimators over the domain: the customer-base summary, purchase and retention models,
lifetime value, and relationship scores."""

from .affinity import AlsoBought, also_bought
from .bgbb import BGBB
from .bgnbd import BGNBD
from .clv import customer_lifetime_value
from .customer_view import CustomerView, CustomerViews, customer_view, customer_views
from .engagement import EngagementScores, engagement
from .fatigue import SATURATION_LEVELS, FatigueScores, ResponseCurve, fatigue, fatigue_scores
from .gammagamma import GammaGamma, frequency_monetary_correlation
from .lifecycle import (
    LIFECYCLE_STAGES,
    LifecycleStages,
    RepeatCustomers,
    lifecycle_stage,
    repeat_customers,
)
from .mbgnbd import MBGNBD
from .paretonbd import ParetoNBD
from .rfm import RFM_SEGMENTS, RFMSegments, rfm_segments
from .sbg import ShiftedBetaGeometric
from .score_plots import plot_score_distribution, plot_segment_sizes
from .summary import Period, RFMSummary, summarize
from .value_balance import BALANCE_CLASSES, ValueBalance, value_balance

__all__ = [
    "BALANCE_CLASSES",
    "BGBB",
    "BGNBD",
    "LIFECYCLE_STAGES",
    "MBGNBD",
    "RFM_SEGMENTS",
    "SATURATION_LEVELS",
    "AlsoBought",
    "CustomerView",
    "CustomerViews",
    "EngagementScores",
    "FatigueScores",
    "GammaGamma",
    "LifecycleStages",
    "ParetoNBD",
    "Period",
    "RFMSegments",
    "RFMSummary",
    "RepeatCustomers",
    "ResponseCurve",
    "ShiftedBetaGeometric",
    "ValueBalance",
    "also_bought",
    "customer_lifetime_value",
    "customer_view",
    "customer_views",
    "engagement",
    "fatigue",
    "fatigue_scores",
    "frequency_monetary_correlation",
    "lifecycle_stage",
    "plot_score_distribution",
    "plot_segment_sizes",
    "repeat_customers",
    "rfm_segments",
    "summarize",
    "value_balance",
]
