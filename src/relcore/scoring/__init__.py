"""Estimators over the domain: purchase models, CLV and relationship scores."""

from .bgbb import BGBB
from .bgnbd import BGNBD
from .clv import customer_lifetime_value
from .gammagamma import GammaGamma, frequency_monetary_correlation
from .mbgnbd import MBGNBD
from .paretonbd import ParetoNBD
from .sbg import ShiftedBetaGeometric
from .summary import Period, RFMSummary, summarize

__all__ = [
    "BGBB",
    "BGNBD",
    "MBGNBD",
    "GammaGamma",
    "ParetoNBD",
    "Period",
    "RFMSummary",
    "ShiftedBetaGeometric",
    "customer_lifetime_value",
    "frequency_monetary_correlation",
    "summarize",
]
