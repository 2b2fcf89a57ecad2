"""relcore: customer relationships as the customer lives them.

A relationship is a mutual exchange of value and the customer is in charge of it. relcore
models it in four layers:

* [`relcore.models`][relcore.models] — customers, touchpoints, value exchanges and columnar event
  logs;
* `relcore.scoring` — purchase models, lifetime value and relationship scores;
* [`relcore.contact_policy`][relcore.contact_policy] — rules that stop a company from hounding its
  customers;
* [`relcore.measurement`][relcore.measurement] — holdout groups and lift.
"""

from .errors import (
    ConvergenceError,
    DataError,
    FitWarning,
    LedgerError,
    PolicyError,
    RelcoreError,
    ReservationError,
)
from .models import (
    ContactLimit,
    ContactPreferences,
    Customer,
    EventLog,
    Touchpoint,
    ValueExchange,
)
from .scoring import RFMSummary, summarize

__version__ = "0.1.0"

__all__ = [
    "ContactLimit",
    "ContactPreferences",
    "ConvergenceError",
    "Customer",
    "DataError",
    "EventLog",
    "FitWarning",
    "LedgerError",
    "PolicyError",
    "RFMSummary",
    "RelcoreError",
    "ReservationError",
    "Touchpoint",
    "ValueExchange",
    "__version__",
    "summarize",
]
