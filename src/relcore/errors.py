"""Every exception relcore raises.

The hierarchy is small on purpose::

    RelcoreError
    ├── DataError (also a ValueError)     bad input data: names column, rows and count
    ├── ConvergenceError                  an optimiser did not converge
    ├── PolicyError (also a ValueError)   a contact policy that does not validate
    ├── LedgerError                       a contact ledger's store failed (names the store)
    └── ReservationError                  an idempotency key or reservation used wrongly

Catch [`RelcoreError`][relcore.errors.RelcoreError] to handle anything relcore raises, or
``ValueError`` to handle bad input the way the rest of the scientific Python stack reports it.

One warning, [`FitWarning`][relcore.errors.FitWarning] (a ``UserWarning``), says that a fit
succeeded but its result needs reading with care.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "ConvergenceError",
    "DataError",
    "FitWarning",
    "LedgerError",
    "PolicyError",
    "RelcoreError",
    "ReservationError",
]

_MAX_ROWS_SHOWN = 5


class RelcoreError(Exception):
    """Base class of every error raised by relcore."""


class DataError(RelcoreError, ValueError):
    """Input data that relcore refuses to use as given.

    Nothing is ever silently dropped, coerced or turned into NaN: a bad row stops the
    operation and this error says where it is.

    Parameters
    ----------
    column
        The column (or argument) holding the bad values.
    problem
        What is wrong with them, as a noun phrase: ``"NaN values"``, ``"negative values"``.
    rows
        Indices of the offending rows (any iterable of ints, or a boolean mask). Only the
        first five are kept in ``rows``; ``count`` holds how many there were in all.
    count
        Number of offending rows, when ``rows`` was already truncated by the caller.

    Examples
    --------
    >>> import numpy as np
    >>> err = DataError.from_mask("frequency", np.array([1, -1, 2, -3]) < 0, "negative values")
    >>> err.column, err.rows, err.count
    ('frequency', (1, 3), 2)
    >>> print(err)
    column 'frequency', 2 rows (1, 3): negative values
    """

    column: str
    rows: tuple[int, ...]
    count: int
    problem: str

    def __init__(
        self,
        column: str,
        problem: str,
        rows: Iterable[int] = (),
        count: int | None = None,
    ) -> None:
        all_rows = [int(r) for r in rows]
        self.column = column
        self.problem = problem
        self.rows = tuple(all_rows[:_MAX_ROWS_SHOWN])
        self.count = len(all_rows) if count is None else int(count)
        super().__init__(self._message())

    @classmethod
    def from_mask(cls, column: str, mask: np.ndarray, problem: str) -> DataError:
        """Build the error from a boolean mask of offending rows."""
        idx = np.flatnonzero(mask)
        return cls(column, problem, idx[:_MAX_ROWS_SHOWN].tolist(), count=int(idx.size))

    def _message(self) -> str:
        if not self.rows:
            return f"column {self.column!r}: {self.problem}"
        noun = "row" if self.count == 1 else "rows"
        shown = ", ".join(str(r) for r in self.rows)
        more = ", …" if self.count > len(self.rows) else ""
        return f"column {self.column!r}, {self.count} {noun} ({shown}{more}): {self.problem}"

    def __reduce__(self) -> tuple[type[DataError], tuple[str, str, Sequence[int], int]]:
        return (type(self), (self.column, self.problem, self.rows, self.count))


class ConvergenceError(RelcoreError):
    """An estimator's optimiser failed; the message carries the optimiser's own report."""


class FitWarning(UserWarning):
    """A model fit whose maximum lies on the boundary of the parameter space.

    The data are best described by a limiting case of the model (for a purchase model
    whose customers show no sign of dropping out: the model without dropout). The fit
    returns that limit; the warning says in words what the data show, and the model's
    ``fit_info`` names the parameters at the boundary.

    Examples
    --------
    >>> issubclass(FitWarning, UserWarning)
    True
    """


class PolicyError(RelcoreError, ValueError):
    """A contact policy that does not validate.

    ``path`` names the offending key the way a reader finds it in the policy file, for
    example ``rules[2].per``.

    Examples
    --------
    >>> print(PolicyError("rules[2].per", "must be a positive duration, got '-1d'"))
    rules[2].per: must be a positive duration, got '-1d'
    """

    path: str

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.detail = message
        super().__init__(f"{path}: {message}" if path else message)

    def __reduce__(self) -> tuple[type[PolicyError], tuple[str, str]]:
        return (type(self), (self.path, self.detail))


class LedgerError(RelcoreError):
    """A contact ledger could not read or write its store.

    A SQLite file that is read-only, locked by another writer for longer than the
    ledger's timeout, or corrupted; or a ledger used after `close`. The message
    names the store (the file's path), so a service with several ledgers knows which.

    Examples
    --------
    >>> print(LedgerError("SQLite ledger /var/lib/contacts.db: database is locked"))
    SQLite ledger /var/lib/contacts.db: database is locked
    """


class ReservationError(RelcoreError):
    """An idempotency key or a reservation that cannot be used the way it was asked.

    Confirming a reservation that expired, was released or was never made; releasing a
    contact that was already confirmed; or using a key for another contact than the one
    it was first used for. ``key`` is the key; the message says what happened and what
    was (not) recorded.

    Examples
    --------
    >>> err = ReservationError("m-1", "no reservation under this key")
    >>> err.key, str(err)
    ('m-1', "key 'm-1': no reservation under this key")
    """

    key: str

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.detail = message
        super().__init__(f"key {key!r}: {message}")

    def __reduce__(self) -> tuple[type[ReservationError], tuple[str, str]]:
        return (type(self), (self.key, self.detail))
