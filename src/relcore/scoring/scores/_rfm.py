"""RFM segmentation: recency, frequency and monetary scores by rank, and named segments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from ..._result import Labels, Table, TableResult, column, keyed, label_counts
from ..summary import RFMSummary

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["RFM_SEGMENTS", "RFMSegments", "rfm_segments"]

#: Segment names, in the order the rules are tried.
RFM_SEGMENTS: tuple[str, ...] = (
    "champions",
    "loyal",
    "new",
    "promising",
    "cannot lose",
    "at risk",
    "hibernating",
    "lost",
)


@attrs.frozen(eq=False)
class RFMSegments(TableResult):
    """RFM scores and segments of the customers of a summary.

    Attributes
    ----------
    customer_id : numpy.ndarray
    recency_score, frequency_score, monetary_score : numpy.ndarray
        Integer scores from 1 (worst) to ``bins`` (best).
    segment : numpy.ndarray
        Segment name per customer (one of `RFM_SEGMENTS`).
    bins : int
    """

    customer_id: npt.NDArray[Any] = attrs.field(converter=column)
    recency_score: npt.NDArray[np.int8] = attrs.field(converter=column)
    frequency_score: npt.NDArray[np.int8] = attrs.field(converter=column)
    monetary_score: npt.NDArray[np.int8] = attrs.field(converter=column)
    segment: npt.NDArray[np.str_] = attrs.field(converter=column)
    bins: int

    def __len__(self) -> int:
        return int(self.segment.shape[0])

    def counts(self) -> dict[str, int]:
        """Customers per segment, in `RFM_SEGMENTS` order."""
        return label_counts(self.segment, RFM_SEGMENTS)

    def _table(self) -> Table:
        """Scores and ``segment`` (categorical) keyed by customer id."""
        return keyed(
            self.customer_id,
            {
                "recency_score": self.recency_score,
                "frequency_score": self.frequency_score,
                "monetary_score": self.monetary_score,
                "segment": Labels(self.segment, RFM_SEGMENTS),
            },
        )

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Segment sizes as a bar chart (``plot`` extra)."""
        from ._plots import plot_segment_sizes

        return plot_segment_sizes(self.segment, ax=ax, order=RFM_SEGMENTS, title="RFM segments")

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.counts().items() if v)
        return f"RFMSegments({len(self):,} customers, bins={self.bins}; {counts})"


def _rank_scores(values: npt.NDArray[np.float64], bins: int) -> npt.NDArray[np.int8]:
    """``1 + floor(bins * w / n)`` where ``w`` counts the customers with a strictly lower
    value: a score of ``k`` means doing better than at least ``(k - 1) / bins`` of the
    customers. Equal values share a score, set by how many customers they beat, so a
    large tie (most customers never buying again) stays at the bottom instead of spilling
    into the scores above it."""
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    worse = np.searchsorted(np.sort(values), values, side="left").astype(np.int64)
    out: npt.NDArray[np.int8] = (1 + (bins * worse) // n).astype(np.int8)
    return out


def rfm_segments(summary: RFMSummary, *, bins: int = 5) -> RFMSegments:
    """R, F and M scores by rank and a named segment for every customer of a summary.

    **Scores.** Each measure is scored by rank: a customer's score is ``1 + floor(bins *
    w / n)``, where ``w`` is the number of the ``n`` customers with a strictly worse value.
    A score of ``k`` therefore means "better than at least ``(k - 1) / bins`` of the
    customers": 5 (of ``bins=5``) is better than four fifths of the base, and at most a
    fifth of the customers can have it. Customers with equal values share a score, the
    one their value earns: the many CDNOW customers who never bought again beat nobody on
    frequency and score 1, rather than turning a single repeat purchase into a top score.

    * recency: periods since the last purchase, ``T - recency`` — *fewer* is better;
    * frequency: repeat purchases (``frequency``);
    * monetary: mean value of the repeat purchases (``monetary_value``; 0 without one).

    **Segments** follow from what their names say, on R and F scaled to
    ``u = (score - 1) / (bins - 1)`` in [0, 1] so the rules hold for any ``bins``; the
    first rule that matches names the segment:

    ==============  ==============================  ==========================  =================
    segment         meaning                         rule                        for ``bins=5``
    ==============  ==============================  ==========================  =================
    champions       bought most recently and most   u_R = 1 and u_F = 1         R = 5, F = 5
                    often: the top in both
    loyal           buy often, still active         u_R ≥ 0.5 and u_F ≥ 0.75    R ≥ 3, F ≥ 4
    new             recent first purchase only      u_R ≥ 0.75, no repeat       R ≥ 4, frequency 0
    promising       recent, not (yet) often         u_R ≥ 0.5                   R ≥ 3
    cannot lose     bought often, longest gone      u_R < 0.25 and u_F ≥ 0.75   R = 1, F ≥ 4
    at risk         bought fairly often, not lately u_R < 0.5 and u_F ≥ 0.5     R ≤ 2, F ≥ 3
    hibernating     seldom, a while ago             u_R ≥ 0.25                  R = 2
    lost            seldom, longest gone            otherwise                   R = 1, F ≤ 2
    ==============  ==============================  ==========================  =================

    So champions are at most ``1 / bins`` of the customers (the top score in both), and
    on CDNOW, where half the customers never came back, every customer without a repeat
    purchase is new, promising, hibernating or lost.

    M does not enter the segment: it ranks customers within one (the champions worth
    most). Intended use: a quick, explainable map of a customer base for analysts and
    campaign selection. Limits: ranks are relative to this base at this time (a
    "champion" of a dying base may buy rarely), scores are coarse, and recency in
    periods ignores how often a customer usually buys — the purchase models'
    ``p_alive`` does not.

    Parameters
    ----------
    summary
        From [`summarize`][relcore.scoring.summary.summarize].
    bins
        Number of score levels (at least 2).

    Returns
    -------
    RFMSegments

    Examples
    --------
    Five customers, one per fifth of each measure:

    >>> import numpy as np
    >>> s = RFMSummary(customer_id=["a", "b", "c", "d", "e"],
    ...                frequency=np.array([4.0, 3, 2, 0, 1]),
    ...                recency=np.array([20.0, 5, 9, 0, 1]),
    ...                T=np.array([20.0, 45, 30, 2, 40]),
    ...                monetary_value=np.array([50.0, 40, 30, 0, 10]))
    >>> seg = rfm_segments(s)
    >>> seg.recency_score.tolist(), seg.frequency_score.tolist()
    ([5, 1, 3, 4, 2], [5, 4, 3, 1, 2])
    >>> seg.segment.tolist()
    ['champions', 'cannot lose', 'promising', 'new', 'hibernating']
    """
    if not isinstance(summary, RFMSummary):
        raise TypeError(f"summary must be an RFMSummary, got {type(summary).__name__}")
    if not isinstance(bins, int | np.integer) or bins < 2 or bins > 100:
        raise ValueError(f"bins must be an integer from 2 to 100, got {bins!r}")
    bins = int(bins)
    frequency = np.asarray(summary.frequency, dtype=np.float64)
    recency = np.asarray(summary.recency, dtype=np.float64)
    since_last = np.asarray(summary.T, dtype=np.float64) - recency
    r = _rank_scores(-since_last, bins)
    f = _rank_scores(frequency, bins)
    m = _rank_scores(np.asarray(summary.monetary_value, dtype=np.float64), bins)
    u_r = (r - 1) / (bins - 1)
    u_f = (f - 1) / (bins - 1)
    rules = [
        (u_r == 1) & (u_f == 1),
        (u_r >= 0.5) & (u_f >= 0.75),
        (u_r >= 0.75) & (frequency == 0),
        u_r >= 0.5,
        (u_r < 0.25) & (u_f >= 0.75),
        (u_r < 0.5) & (u_f >= 0.5),
        u_r >= 0.25,
    ]
    code = np.select(rules, list(range(len(rules))), default=len(rules))
    return RFMSegments(
        customer_id=summary.customer_id,
        recency_score=r,
        frequency_score=f,
        monetary_score=m,
        segment=np.array(RFM_SEGMENTS)[code],
        bins=bins,
    )
