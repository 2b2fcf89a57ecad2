"""Holdout (control) groups assigned by a stable hash of the customer id."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._hashing import in_fraction

__all__ = ["assign_holdout"]


def assign_holdout(customer_ids: Any, *, fraction: float, salt: str) -> npt.NDArray[np.bool_]:
    """Which customers belong to the holdout group, decided by a stable hash of their id.

    A customer is in the holdout when the 64-bit splitmix64 hash of their id under
    ``salt`` (see `relcore._hashing`) falls in the lowest ``fraction`` of the hash
    range. The answer depends on nothing but the id, the salt and the fraction: not on the
    order of ``customer_ids``, the other ids in the batch, the process, the machine or
    ``PYTHONHASHSEED``. A customer scored tonight in one batch and tomorrow in another
    lands on the same side, so a holdout can be enforced at send time without storing it.

    The holdout's size is ``fraction`` of the customers up to sampling error (binomial:
    standard deviation ``sqrt(fraction * (1 - fraction) / n)``), not exactly
    ``fraction * n``. With the same salt groups are nested: raising the fraction from 5 %
    to 10 % keeps every customer already held out. A new salt (one per experiment, e.g.
    ``"winback-2026q2"``) gives an independent assignment, so experiments do not
    always hold out the same people.

    Parameters
    ----------
    customer_ids
        Integer or string ids (array-like, one-dimensional). Integer 42 and string
        ``"42"`` are different ids and hash differently; a list mixing both is refused.
    fraction
        Share of customers to hold out, between 0 and 1.
    salt
        Any text naming the experiment.

    Returns
    -------
    numpy.ndarray
        Boolean, aligned with ``customer_ids``: ``True`` for holdout (control) customers.

    Raises
    ------
    DataError
        For ids that are not integers or non-empty strings.

    Examples
    --------
    >>> import numpy as np
    >>> ids = np.array([f"c{i}" for i in range(20_000)])
    >>> held = assign_holdout(ids, fraction=0.1, salt="winback-2026q2")
    >>> bool(abs(held.mean() - 0.1) < 4 * np.sqrt(0.1 * 0.9 / ids.size))  # sampling error
    True
    >>> again = assign_holdout(ids[::-1][:500], fraction=0.1, salt="winback-2026q2")
    >>> bool((again == held[::-1][:500]).all())  # any order, any batch: the same answer
    True
    """
    return in_fraction(customer_ids, fraction, salt)
