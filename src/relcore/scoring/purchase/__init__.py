"""Purchase, retention and spend models, and customer lifetime value.

Each model lives in a module of its own name (`bgnbd` holds
[`BGNBD`][relcore.scoring.purchase.BGNBD]) and shares one fitting routine (``_base``): validated
inputs (``_inputs``), compression of identical rows, the optimiser (``_optimize``) and the observed
information.
"""

from . import diagnostics
from ._covariates import CovariatePurchaseModel, CovariateSpendModel
from ._fitsummary import FitSummary
from ._predictions import CustomerPredictions
from .bgbb import BGBB
from .bgcnbd import BGCNBDK, MBGCNBDK
from .bgnbd import BGNBD
from .clv import customer_lifetime_value
from .gammagamma import GammaGamma, frequency_monetary_correlation
from .ggompertz import GGompertzNBD
from .mbgnbd import MBGNBD
from .paretonbd import ParetoNBD
from .sbg import ShiftedBetaGeometric

__all__ = [
    "BGBB",
    "BGCNBDK",
    "BGNBD",
    "MBGCNBDK",
    "MBGNBD",
    "CovariatePurchaseModel",
    "CovariateSpendModel",
    "CustomerPredictions",
    "FitSummary",
    "GGompertzNBD",
    "GammaGamma",
    "ParetoNBD",
    "ShiftedBetaGeometric",
    "customer_lifetime_value",
    "diagnostics",
    "frequency_monetary_correlation",
]
