"""Estimators over the domain, in three parts:

* [`relcore.scoring.summary`][relcore.scoring.summary] — the customer-base summary
  ([`summarize`][relcore.scoring.summary.summarize],
  [`RFMSummary`][relcore.scoring.summary.RFMSummary]): frequency, recency, age and spend per
  customer;
* [`relcore.scoring.purchase`][relcore.scoring.purchase] — purchase, retention and spend models
  ([`BGNBD`][relcore.scoring.purchase.BGNBD], [`MBGNBD`][relcore.scoring.purchase.MBGNBD],
  [`ParetoNBD`][relcore.scoring.purchase.ParetoNBD],
  [`GGompertzNBD`][relcore.scoring.purchase.GGompertzNBD],
  [`BGCNBDK`][relcore.scoring.purchase.BGCNBDK], [`MBGCNBDK`][relcore.scoring.purchase.MBGCNBDK],
  [`BGBB`][relcore.scoring.purchase.BGBB],
  [`ShiftedBetaGeometric`][relcore.scoring.purchase.ShiftedBetaGeometric],
  [`GammaGamma`][relcore.scoring.purchase.GammaGamma]), lifetime value and diagnostics;
* [`relcore.scoring.scores`][relcore.scoring.scores] — relationship scores (engagement, fatigue,
  value balance, the customer view, RFM segments, lifecycle stages, also-bought).

Everything is re-exported here. The purchase models are imported on first use, so that
``import relcore`` (and the contact policy, which uses the fatigue score) does not pay for
scipy's special functions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import scores
from .scores import *  # noqa: F403
from .summary import Period as Period
from .summary import RFMSummary as RFMSummary
from .summary import log_interpurchase_times as log_interpurchase_times
from .summary import summarize as summarize
from .summary import summarize_partition as summarize_partition

if TYPE_CHECKING:
    from . import purchase as purchase
    from .purchase import *  # noqa: F403

# The public names of ``.purchase``, loaded on first access (a test checks that this list
# equals ``purchase.__all__``).
_PURCHASE = (
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
)

__all__ = [
    "Period",
    "RFMSummary",
    "log_interpurchase_times",
    "purchase",
    "scores",
    "summarize",
    "summarize_partition",
]
__all__ += scores.__all__
__all__ += _PURCHASE


def __getattr__(name: str) -> Any:
    if name in _PURCHASE or name == "purchase":
        # not ``from . import purchase``: its hasattr check would call this function again
        module = importlib.import_module(".purchase", __name__)
        value = module if name == "purchase" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
