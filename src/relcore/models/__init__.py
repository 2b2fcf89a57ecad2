"""The domain: customers, touchpoints, value exchanges, contact preferences, event logs.

This layer imports nothing from the rest of relcore.
"""

from .._columns import Categorical
from .entities import Customer, Initiator, Touchpoint, ValueExchange
from .eventlog import EventLog
from .preferences import CALENDAR_WINDOWS, ContactLimit, ContactPreferences, Window

__all__ = [
    "CALENDAR_WINDOWS",
    "Categorical",
    "ContactLimit",
    "ContactPreferences",
    "Customer",
    "EventLog",
    "Initiator",
    "Touchpoint",
    "ValueExchange",
    "Window",
]
