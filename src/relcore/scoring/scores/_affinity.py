"""Item affinity: "customers who bought this also bought"."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Literal

import attrs
import numpy as np
import numpy.typing as npt

from ..._result import Table, TableResult, column
from ..._validation import check_mask
from ...errors import DataError
from ...models import EventLog
from ._asof import as_of

if TYPE_CHECKING:
    pass

__all__ = ["AlsoBought", "also_bought"]

RankBy = Literal["confidence", "lift", "support"]
FloatArray = npt.NDArray[np.float64]


@attrs.frozen(eq=False)
class AlsoBought(TableResult):
    """Top co-purchased items per item, one row per (item, other item) pair kept.

    Rows are ordered by item (in the order of the log's item categories), then by rank.
    All measures are over baskets = customers: ``count`` customers bought both, of
    ``n_baskets`` who bought anything.

    Attributes
    ----------
    item : numpy.ndarray
        The item bought.
    also_bought : numpy.ndarray
        An item its buyers also bought.
    count : numpy.ndarray
        Customers who bought both.
    support : numpy.ndarray
        ``count / n_baskets``.
    confidence : numpy.ndarray
        ``count / (customers who bought item)``: the share of the item's buyers who also
        bought the other.
    lift : numpy.ndarray
        ``confidence / (share of all customers who bought the other)``: above 1 when the
        pair is bought together more often than independent choices would give.
    rank : numpy.ndarray
        1 for the best pair of each item.
    n_baskets : int
    rank_by : str
    """

    item: npt.NDArray[np.str_] = attrs.field(converter=column)
    also_bought: npt.NDArray[np.str_] = attrs.field(converter=column)
    count: npt.NDArray[np.int64] = attrs.field(converter=column)
    support: FloatArray = attrs.field(converter=column)
    confidence: FloatArray = attrs.field(converter=column)
    lift: FloatArray = attrs.field(converter=column)
    rank: npt.NDArray[np.int64] = attrs.field(converter=column)
    n_baskets: int
    rank_by: RankBy

    def __len__(self) -> int:
        return int(self.item.shape[0])

    def for_item(self, item: str) -> list[tuple[str, float, float, float]]:
        """``(other item, support, confidence, lift)`` for one item, best first."""
        rows = np.flatnonzero(self.item == item)  # already in rank order
        columns = (self.also_bought, self.support, self.confidence, self.lift)
        other, support, confidence, lift = (col[rows].tolist() for col in columns)
        return [
            (str(o), float(s), float(c), float(lf))
            for o, s, c, lf in zip(other, support, confidence, lift, strict=True)
        ]

    def _table(self) -> Table:
        """Keyed by ``(item, rank)``."""
        return Table(
            {"item": self.item, "rank": self.rank},
            {
                "also_bought": self.also_bought,
                "count": self.count,
                "support": self.support,
                "confidence": self.confidence,
                "lift": self.lift,
            },
        )

    def __repr__(self) -> str:
        items = np.unique(self.item).size if len(self) else 0
        return (
            f"AlsoBought({len(self):,} pairs for {items:,} items over "
            f"{self.n_baskets:,} baskets, ranked by {self.rank_by})"
        )


def also_bought(
    log: EventLog,
    *,
    min_support: float = 0.0,
    min_count: int = 1,
    top_k: int = 10,
    rank_by: RankBy = "confidence",
    at: _dt.datetime | str | None = None,
    kind: str = "purchase",
) -> AlsoBought:
    r"""Items bought by the customers who bought each item, with support, confidence and lift.

    Each customer's purchases of kind ``kind`` (up to ``at`` when given) form one basket:
    the set of items they ever bought. With ``B`` the sparse customers × items 0/1
    matrix, ``C = Bᵀ B`` (``scipy.sparse``) holds in ``C[i, j]`` how many customers
    bought both ``i`` and ``j``, and ``C[i, i]`` how many bought ``i``. With ``N`` baskets:

    $$
    \text{support}(i, j) = \frac{C_{ij}}{N}, \quad
    \text{confidence}(i \to j) = \frac{C_{ij}}{C_{ii}}, \quad
    \text{lift}(i, j) = \frac{C_{ij}\, N}{C_{ii}\, C_{jj}}
    $$

    Pairs with ``support >= min_support`` and ``count >= min_count`` are kept, and for
    each item the ``top_k`` best by ``rank_by`` (ties: more co-buyers first, then the
    order of the item column's categories, alphabetical for logs built from strings).
    Confidence answers the question literally ("of the customers who bought this, how
    many also bought that") but favours popular items; lift corrects for popularity but
    is noisy for rare items — combine it with ``min_count``.

    Intended use: "customers who bought this also bought" suggestions that give the
    customer something relevant rather than more noise. Limits: baskets are whole
    histories (not orders), co-purchase is not causation, and items need an ``item``
    label on every purchase.

    Parameters
    ----------
    log
        The event log; every event of kind ``kind`` must name its item.
    min_support
        Minimum share of baskets containing the pair (0 to 1).
    min_count
        Minimum number of customers who bought both.
    top_k
        Pairs kept per item.
    rank_by
        ``"confidence"``, ``"lift"`` or ``"support"``.
    at
        Only purchases up to this instant (timezone-aware); default all.
    kind
        The event kind that is a purchase.

    Returns
    -------
    AlsoBought

    Raises
    ------
    DataError
        When purchases lack an item (naming the rows), or there are none.

    Examples
    --------
    Four customers; three bought tea, two of them also bought cups:

    >>> log = EventLog.from_arrays(
    ...     ["a", "a", "b", "b", "c", "d"],
    ...     ["2026-01-01T00:00:00+00:00"] * 6,
    ...     item=["tea", "cups", "tea", "cups", "tea", "cups"],
    ... )
    >>> ab = also_bought(log)
    >>> ab.for_item("tea")  # support 2/4, confidence 2/3, lift 2·4/(3·3)
    [('cups', 0.5, 0.6666666666666666, 0.8888888888888888)]
    """
    if not 0.0 <= min_support <= 1.0:
        raise ValueError(f"min_support must be between 0 and 1, got {min_support}")
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    if rank_by not in ("confidence", "lift", "support"):
        raise ValueError(f"rank_by must be 'confidence', 'lift' or 'support', got {rank_by!r}")
    rows = log.kind.mask(kind)
    if at is not None:
        rows &= log.at <= as_of(at)
    item_codes = log.item.codes
    check_mask("item", rows & (item_codes < 0), f"{kind} events without an item")
    idx = np.flatnonzero(rows)
    if idx.size == 0:
        raise DataError("kind", f"no {kind!r} events to build baskets from")
    names = np.array(log.item.categories)
    n_items = names.size
    cust = log.customer_codes[idx]
    items = item_codes[idx].astype(np.int32)

    # Distinct (customer, item) pairs; customers are renumbered to those with a basket.
    from scipy import sparse  # imported when used: a light `import relcore`

    baskets = sparse.csr_matrix(
        (np.ones(idx.size, dtype=np.int32), (cust, items)), shape=(log.n_customers, n_items)
    )
    baskets.sum_duplicates()
    baskets.data[:] = 1
    n_baskets = int(np.count_nonzero(np.diff(baskets.indptr)))
    buyers = np.asarray(baskets.sum(axis=0)).ravel().astype(np.int64)
    co = (baskets.T @ baskets).tocoo()
    i, j, count = co.row, co.col, co.data.astype(np.int64)
    keep = (i != j) & (count >= min_count) & (count >= min_support * n_baskets)
    i, j, count = i[keep], j[keep], count[keep]

    # Each measure is one division of exact integers, so pairs whose ratios are equal
    # get equal floats and tie exactly.
    support = count / n_baskets
    confidence = count / buyers[i]
    lift = (count * n_baskets) / (buyers[i] * buyers[j])
    score = {"confidence": confidence, "lift": lift, "support": support}[rank_by]
    # Within an item: best score, then more co-buyers, then the other item's code.
    order = np.lexsort((j, -count, -score, i))
    i_sorted = i[order]
    start = np.flatnonzero(np.r_[True, i_sorted[1:] != i_sorted[:-1]]) if order.size else order
    run_start = np.repeat(start, np.diff(np.r_[start, order.size]))
    rank = np.arange(order.size) - run_start
    top = order[rank < top_k]
    return AlsoBought(
        item=names[i[top]],
        also_bought=names[j[top]],
        count=count[top],
        support=support[top],
        confidence=confidence[top],
        lift=lift[top],
        rank=rank[rank < top_k] + 1,
        n_baskets=n_baskets,
        rank_by=rank_by,
    )
