"""Predictions and lifetime value over a Dask frame of summaries, partition by partition."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataError
from ._frames import empty_like, libraries, located, where

if TYPE_CHECKING:
    import pandas as pd


def predict(model: Any, summary: Any, *, t: float | None = None) -> Any:
    """Per-customer predictions of a fitted model over a Dask frame of summaries.

    Each partition is scored on its own with the model's methods (the model is shipped
    to the workers; nothing is shuffled or gathered), so every row equals the
    single-machine prediction for the same customer.

    Parameters
    ----------
    model
        A fitted (or known-parameter) ``BGNBD``, ``MBGNBD``, ``ParetoNBD``, ``BGBB`` or
        ``GammaGamma`` (of ``relcore.scoring``).
    summary
        A Dask frame indexed by customer id with the columns the model predicts from (as
        [`summarize`][relcore.dask.summarize] returns): ``frequency``, ``recency``, ``T`` (BG/BB:
        ``n_periods`` or ``T``); ``frequency``, ``monetary_value`` for Gamma-Gamma.
    t
        Horizon of ``expected_purchases``, in model periods (opportunities for BG/BB);
        without it only ``p_alive`` is computed.

    Returns
    -------
    dask.dataframe.DataFrame
        Indexed as ``summary``: ``p_alive`` and, with ``t``, ``expected_purchases``
        (purchase models); ``expected_average_value`` (Gamma-Gamma). Write it with
        ``.to_parquet(path)``.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> from relcore.datasets import load_cdnow_summary
    >>> from relcore.scoring import BGNBD
    >>> s = load_cdnow_summary()
    >>> m = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> out = predict(m, dd.from_pandas(s.to_pandas(), npartitions=3), t=39).compute()
    >>> bool((out["p_alive"].to_numpy() == m.p_alive(s.frequency, s.recency, s.T)).all())
    True
    """
    from ..scoring import purchase

    libraries()
    if isinstance(model, purchase.GammaGamma):
        if t is not None:
            raise TypeError("t= is for purchase models; Gamma-Gamma predicts spend")
        columns = {"frequency": "frequency", "monetary_value": "monetary_value"}
        outputs = ["expected_average_value"]
    elif isinstance(model, purchase.BGNBD | purchase.MBGNBD | purchase.ParetoNBD | purchase.BGBB):
        columns = {"frequency": "frequency", "recency": "recency", "T": "T"}
        if isinstance(model, purchase.BGBB):
            columns["T"] = "n_periods" if "n_periods" in summary.columns else "T"
        outputs = ["p_alive"] if t is None else ["p_alive", "expected_purchases"]
    else:
        raise TypeError(
            f"cannot predict with {type(model).__name__}: relcore.dask.predict takes a "
            "BGNBD, MBGNBD, ParetoNBD, BGBB or GammaGamma"
        )
    _check_columns(summary, columns.values())
    meta = empty_like(summary).iloc[:, :0].assign(**{c: np.zeros(0) for c in outputs})
    return summary.map_partitions(
        _on_partition, _predictions, (model, t), columns, template=meta, meta=meta
    )


def customer_lifetime_value(
    purchase_model: Any,
    spend_model: Any,
    summary: Any,
    *,
    period_days: float,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    days_per_month: float = 365.25 / 12,
) -> Any:
    """``relcore.scoring.customer_lifetime_value`` of every customer of a Dask frame.

    Computed partition by partition (the models are shipped to the workers), so each
    customer's value equals the single-machine one.

    Parameters
    ----------
    purchase_model, spend_model
        Fitted models, as in ``relcore.scoring.customer_lifetime_value``.
    summary
        A Dask frame indexed by customer id with ``frequency``, ``recency``, ``T`` and
        ``monetary_value`` (as [`summarize`][relcore.dask.summarize] returns).
    period_days
        Length of one model period in days (1 for daily summaries, 7 for weekly ones). Required: a
        Dask frame does not carry its period as an
        [`RFMSummary`][relcore.scoring.summary.RFMSummary] does, and the unit is the classic
        mistake.
    months, monthly_discount_rate, days_per_month
        As in ``relcore.scoring.customer_lifetime_value``.

    Returns
    -------
    dask.dataframe.DataFrame
        One column, ``clv``, indexed as ``summary``.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> from relcore.datasets import load_cdnow_summary
    >>> from relcore.scoring import BGNBD, GammaGamma, customer_lifetime_value as clv
    >>> s = load_cdnow_summary()
    >>> bg, gg = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426), GammaGamma(p=6.25, q=3.74, v=15.44)
    >>> frame = dd.from_pandas(s.to_pandas(), npartitions=3)
    >>> out = customer_lifetime_value(bg, gg, frame, period_days=7).compute()
    >>> bool(np.allclose(out["clv"], clv(bg, gg, s).clv, rtol=1e-12))
    True
    """
    from ..scoring import purchase

    libraries()
    options: dict[str, Any] = {
        "months": months,
        "monthly_discount_rate": monthly_discount_rate,
        "period_days": float(period_days),
        "days_per_month": days_per_month,
    }
    # the single-machine function checks these too, but only once a partition runs
    purchase.customer_lifetime_value(
        purchase_model, spend_model, [0.0], [0.0], [1.0], [0.0], **options
    )
    columns = {c: c for c in ("frequency", "recency", "T", "monetary_value")}
    _check_columns(summary, columns.values())
    meta = empty_like(summary).iloc[:, :0].assign(clv=np.zeros(0))
    return summary.map_partitions(
        _on_partition, _lifetime_value, (purchase_model, spend_model, options), columns,
        template=meta, meta=meta,
    )  # fmt: skip


def _check_columns(summary: Any, names: Any) -> None:
    for name in names:
        if name not in summary.columns:
            raise DataError(name, f"is not a column of the frame ({list(summary.columns)})")


def _predictions(arrays: Mapping[str, Any], model: Any, t: float | None) -> dict[str, Any]:
    if "monetary_value" in arrays:
        return {"expected_average_value": model.expected_average_value(**arrays)}
    f, r, T = arrays["frequency"], arrays["recency"], arrays["T"]
    out = {"p_alive": model.p_alive(f, r, T)}
    if t is not None:
        out["expected_purchases"] = model.expected_purchases(t, f, r, T)
    return out


def _lifetime_value(
    arrays: Mapping[str, Any], purchase_model: Any, spend_model: Any, options: Mapping[str, Any]
) -> dict[str, Any]:
    from ..scoring import purchase

    clv = purchase.customer_lifetime_value(
        purchase_model,
        spend_model,
        arrays["frequency"],
        arrays["recency"],
        arrays["T"],
        arrays["monetary_value"],
        **options,
    )
    return {"clv": clv}


def _on_partition(
    part: pd.DataFrame,
    compute: Callable[..., dict[str, Any]],
    args: tuple[Any, ...],
    columns: Mapping[str, str],
    *,
    template: pd.DataFrame,
    partition_info: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """``compute`` over one partition's columns, as a frame with the partition's index."""
    if len(part) == 0:
        return template
    arrays = {name: part[source].to_numpy() for name, source in columns.items()}
    try:
        out = compute(arrays, *args)
    except DataError as exc:
        raise located(exc, part.index.to_numpy(), where(partition_info)) from None
    frame: pd.DataFrame = part.iloc[:, :0].assign(
        **{k: np.asarray(v, dtype=np.float64) for k, v in out.items()}
    )
    return frame
