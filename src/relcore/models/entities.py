"""Per-object domain values: customers, touchpoints, value exchanges.

These are for clarity at the edges of a system (an API handler, a test, a single decision);
bulk work goes through [`EventLog`][relcore.models.EventLog], which holds the same facts as
columns.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Literal

import attrs

from .._validators import (
    aware,
    finite,
    frozen_mapping,
    non_empty_str,
    optional_aware,
    optional_non_empty_str,
    valid_initiator,
)

__all__ = ["Customer", "Initiator", "Touchpoint", "ValueExchange"]

Initiator = Literal["customer", "company"]


@attrs.frozen
class Customer:
    """A customer: who they are, since when, and what they told us about themselves.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> c = Customer("c42", first_seen=datetime(2026, 1, 5, tzinfo=timezone.utc),
    ...              attributes={"segment": "student"})
    >>> c.attributes["segment"]
    'student'
    """

    id: str = attrs.field(validator=non_empty_str)
    first_seen: _dt.datetime | None = attrs.field(default=None, validator=optional_aware)
    attributes: Mapping[str, str] = attrs.field(factory=dict, converter=frozen_mapping, hash=False)


@attrs.frozen
class Touchpoint:
    """One interaction between a customer and the company, on one channel.

    ``initiator`` says who reached out: a ``"customer"`` visiting, calling or replying, or
    the ``"company"`` sending a message. The difference is the heart of relcore: customer-
    initiated contact is engagement, company-initiated contact is pressure.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = Touchpoint("c42", datetime(2026, 3, 1, 9, tzinfo=timezone.utc), channel="email",
    ...                initiator="company", kind="message", category="promotional")
    >>> t.initiator
    'company'
    """

    customer_id: str = attrs.field(validator=non_empty_str)
    at: _dt.datetime = attrs.field(validator=aware)
    channel: str = attrs.field(validator=non_empty_str)
    initiator: Initiator = attrs.field(validator=valid_initiator)
    kind: str = attrs.field(default="message", validator=non_empty_str)
    category: str | None = attrs.field(default=None, validator=optional_non_empty_str)
    campaign: str | None = attrs.field(default=None, validator=optional_non_empty_str)


@attrs.frozen
class ValueExchange:
    """One exchange of value, in both directions.

    ``to_company`` is what the company received (revenue, a referral's value);
    ``to_customer`` is what the customer received (a discount, a gift, a service, useful
    content). A refund is an exchange with negative ``to_company``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> v = ValueExchange("c42", datetime(2026, 3, 2, tzinfo=timezone.utc), channel="store",
    ...                   to_company=59.90, to_customer=5.00, kind="purchase", item="sku-1")
    >>> v.to_company - v.to_customer
    54.9
    """

    customer_id: str = attrs.field(validator=non_empty_str)
    at: _dt.datetime = attrs.field(validator=aware)
    channel: str | None = attrs.field(default=None, validator=optional_non_empty_str)
    to_company: float = attrs.field(default=0.0, converter=float, validator=finite)
    to_customer: float = attrs.field(default=0.0, converter=float, validator=finite)
    kind: str = attrs.field(default="purchase", validator=non_empty_str)
    item: str | None = attrs.field(default=None, validator=optional_non_empty_str)
