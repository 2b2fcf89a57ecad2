"""The table a fitted model's ``summary()`` returns: one structure, printed as text, shown
as HTML in a notebook and converted to a pandas DataFrame."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ..._result import Table, TableResult
from ..._validation import readonly
from ._types import FloatArray

if TYPE_CHECKING:
    import pandas as pd


def _column(values: Any) -> FloatArray:
    out: FloatArray = readonly(np.asarray(values, dtype=np.float64))
    return out


def _percent(level: float) -> str:
    return f"{100 * level:.10g}%"


@attrs.frozen
class FitSummary(TableResult):
    """Parameters of a model with standard errors and confidence intervals.

    ``print(summary)`` shows it as text, a notebook shows it as an HTML table, and
    [`to_pandas`][relcore.scoring.purchase.FitSummary.to_pandas] returns it as a DataFrame indexed
    by parameter. Standard errors and bounds are NaN for a model built from known parameters; an
    infinite standard error marks a direction the data cannot identify (a fit at the boundary).

    Attributes
    ----------
    model
        The model's class name.
    title
        One line on what was fitted: customers, distinct rows, log-likelihood, penalizer.
    parameter
        Parameter names.
    estimate, se, lower, upper
        Estimates, standard errors and the bounds of the confidence intervals at ``level``.
    level
        Confidence level of the intervals.
    notes
        Further lines for the reader (for instance what a fit at the boundary means).

    Examples
    --------
    >>> from relcore.scoring import ShiftedBetaGeometric
    >>> s = ShiftedBetaGeometric.fit([1000, 631, 468, 382, 326, 289, 262, 241]).summary()
    >>> s.parameter
    ('alpha', 'beta')
    >>> print(str(s).splitlines()[1])
    parameter  estimate       se  lower 95%  upper 95%
    """

    model: str
    title: str
    parameter: tuple[str, ...]
    estimate: FloatArray = attrs.field(converter=_column)
    se: FloatArray = attrs.field(converter=_column)
    lower: FloatArray = attrs.field(converter=_column)
    upper: FloatArray = attrs.field(converter=_column)
    level: float
    notes: tuple[str, ...] = ()

    def _header(self) -> tuple[str, ...]:
        pct = _percent(self.level)
        return ("parameter", "estimate", "se", f"lower {pct}", f"upper {pct}")

    def _cells(self) -> list[tuple[str, ...]]:
        def fmt(value: float, digits: int) -> str:
            return "" if np.isnan(value) else f"{value:.{digits}g}"

        return [
            (name, fmt(est, 6), fmt(se, 4), fmt(lo, 6), fmt(hi, 6))
            for name, est, se, lo, hi in zip(
                self.parameter, self.estimate, self.se, self.lower, self.upper, strict=True
            )
        ]

    def __str__(self) -> str:
        rows = [self._header(), *self._cells()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join([self.title, *lines, *self.notes])

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self._header())
        body = "".join(
            "<tr>"
            + f"<th>{html.escape(cells[0])}</th>"
            + "".join(f"<td>{html.escape(c)}</td>" for c in cells[1:])
            + "</tr>"
            for cells in self._cells()
        )
        notes = "".join(f"<p>{html.escape(note)}</p>" for note in self.notes)
        return (
            f"<table><caption>{html.escape(self.title)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}"
        )

    def _table(self) -> Table:
        names = self._header()
        columns = dict(
            zip(names[1:], (self.estimate, self.se, self.lower, self.upper), strict=True)
        )
        return Table({"parameter": np.array(self.parameter)}, columns)

    def to_pandas(self) -> pd.DataFrame:
        """The table as a DataFrame indexed by parameter (``pandas`` extra).

        Examples
        --------
        >>> from relcore.scoring import BGNBD
        >>> df = BGNBD(r=0.24, alpha=4.41, a=0.79, b=2.43).summary().to_pandas()
        >>> list(df.columns), list(df.index)
        (['estimate', 'se', 'lower 95%', 'upper 95%'], ['r', 'alpha', 'a', 'b'])
        """
        return super().to_pandas()
