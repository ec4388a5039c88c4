"""RFM (recency, frequency, monetary) scores, segments and window flags, as one pure function.

>>> table = rfm(orders, as_of="2026-01-01")                     # doctest: +SKIP

``orders`` holds one row per order line or per order, with the columns ``customer_id``,
``order_id``, ``amount`` and ``timestamp``. Rows of the same ``order_id`` are one order: their
amounts are summed and the earliest timestamp is the order's time. Orders after ``as_of`` are
ignored, so the same data can be scored "as of" any past day. The input should hold purchases;
refunds in it lower ``monetary`` like any other negative amount, and a missing amount counts as 0
(the order still counts). Rows without a ``customer_id`` are ignored.

Scores
------
Each of R, F and M is scored 1–5, 5 best (most recent, most orders, most spend). A customer's score
is the quintile of their mid-rank percentile ``p = (average_rank - 0.5) / n``:
``score = 1 + floor(5 * p)``. With distinct values this is the usual quintile split (five customers
score 1, 2, 3, 4, 5); equal values share the average of their ranks and therefore one score, so
ties never depend on row order. A lone customer, or customers who all have the same value, score 3
(neither better nor worse than the others). Recency is ranked in reverse (fewer days is better).

``rfm_score`` is the three scores as a string (``"545"``); ``rfm_sum`` is their sum (3–15).

Segments
--------
The segment comes from the R score and the FM score, ``fm_score = round_half_up((F + M) / 2)``,
on the grid popularised by Putler's RFM analysis (rows R, columns FM), made non-overlapping:

====  ==============  ==================  ==================  ===============  ===============
R     FM 1            FM 2                FM 3                FM 4             FM 5
====  ==============  ==================  ==================  ===============  ===============
5     New             Potential Loyalist  Potential Loyalist  Champions        Champions
4     Promising       Potential Loyalist  Potential Loyalist  Loyal            Loyal
3     About to Sleep  About to Sleep      Need Attention      Loyal            Loyal
2     Hibernating     Hibernating         At Risk             At Risk          Can't Lose Them
1     Lost            Lost                At Risk             At Risk          Can't Lose Them
====  ==============  ==================  ==================  ===============  ===============

Window flags
------------
:class:`RFMWindows` adds boolean columns for the merchant's own definitions (defaults: the issue's
example): ``recent_buyer`` (an order within the last ``recent_days``), ``frequent_buyer`` (more
than ``frequent_more_than`` orders within ``frequent_days``) and ``top_spender`` (spend within
``top_spend_days`` in the top ``top_spend_share`` of all customers; ties at the boundary are all
included, customers without spend in the window never are).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["COLUMNS", "SEGMENTS", "SEGMENT_GRID", "RFMWindows", "fm_score", "rfm", "segment_for"]

#: Segment names, best first.
SEGMENTS: tuple[str, ...] = (
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
)

#: ``SEGMENT_GRID[r - 1][fm - 1]`` is the segment of R score ``r`` and FM score ``fm``.
SEGMENT_GRID: tuple[tuple[str, ...], ...] = (
    ("Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them"),
    ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"),
    ("About to Sleep", "About to Sleep", "Need Attention", "Loyal", "Loyal"),
    ("Promising", "Potential Loyalist", "Potential Loyalist", "Loyal", "Loyal"),
    ("New", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"),
)

#: The columns of the table :func:`rfm` returns, in order (the index is ``customer_id``).
COLUMNS: tuple[str, ...] = (
    "last_order_at",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "fm_score",
    "rfm_score",
    "rfm_sum",
    "segment",
    "recent_buyer",
    "frequent_buyer",
    "top_spender",
)

_REQUIRED = ("customer_id", "order_id", "amount", "timestamp")


@dataclass(frozen=True)
class RFMWindows:
    """The merchant's window definitions behind the boolean columns of :func:`rfm`."""

    recent_days: float = 30
    frequent_days: float = 182
    frequent_more_than: int = 5
    top_spend_days: float = 365
    top_spend_share: float = 0.2

    def __post_init__(self) -> None:
        for name in ("recent_days", "frequent_days", "top_spend_days"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.frequent_more_than < 0:
            raise ValueError("frequent_more_than must not be negative")
        if not 0 < self.top_spend_share <= 1:
            raise ValueError("top_spend_share must be in (0, 1]")


def fm_score(f_score: int, m_score: int) -> int:
    """The FM score of the segment grid: the mean of F and M, halves rounded up."""
    return (f_score + m_score + 1) // 2


def segment_for(r_score: int, f_score: int, m_score: int) -> str:
    """The RFM segment name of one customer's three scores (each 1–5)."""
    for name, value in (("r_score", r_score), ("f_score", f_score), ("m_score", m_score)):
        if not 1 <= value <= 5:
            raise ValueError(f"{name} must be between 1 and 5, got {value}")
    return SEGMENT_GRID[r_score - 1][fm_score(f_score, m_score) - 1]


def _scores(values: pd.Series, higher_is_better: bool = True) -> np.ndarray:
    """Quintile scores 1–5 of the mid-rank percentiles; equal values get equal scores."""
    ranks = values.rank(method="average", ascending=higher_is_better).to_numpy()
    percentile = (ranks - 0.5) / len(values)
    return np.minimum(1 + np.floor(5 * percentile), 5).astype(np.int8)


def rfm(
    orders: pd.DataFrame,
    as_of: object = None,
    windows: RFMWindows = RFMWindows(),
) -> pd.DataFrame:
    """Score every customer of ``orders`` (see the module docstring for the definitions).

    ``as_of`` (anything :class:`pandas.Timestamp` accepts) defaults to the latest order time, so
    the most recent buyer has ``recency_days == 0``. It must be naive or aware like the
    timestamps. ``recency_days`` is a float (fractions of a day count). Returns one row per
    customer with an order at or before ``as_of``, indexed by ``customer_id`` in sorted order,
    with the columns :data:`COLUMNS`.
    """
    missing = [column for column in _REQUIRED if column not in orders.columns]
    if missing:
        raise ValueError(f"orders lacks the columns {missing}")
    frame = orders.loc[:, list(_REQUIRED)]
    frame = frame.assign(timestamp=pd.to_datetime(frame["timestamp"]))
    if as_of is None:
        if frame.empty:
            return _empty()
        as_of_ts = frame["timestamp"].max()
    else:
        as_of_ts = pd.Timestamp(as_of)
        frame = frame[frame["timestamp"] <= as_of_ts]
    if frame.empty:
        return _empty()

    per_order = frame.groupby(["customer_id", "order_id"], sort=False, observed=True).agg(
        amount=("amount", "sum"), timestamp=("timestamp", "min")
    )
    per_order = per_order.reset_index(level="order_id", drop=True)
    age_days = ((as_of_ts - per_order["timestamp"]) / pd.Timedelta(days=1)).to_numpy()
    amount = per_order["amount"].to_numpy(dtype=float)
    per_order = per_order.assign(
        amount=amount,
        age_days=age_days,
        frequent=age_days <= windows.frequent_days,
        window_spend=np.where(age_days <= windows.top_spend_days, amount, 0.0),
    )

    grouped = per_order.groupby(level="customer_id", sort=True, observed=True)
    table = grouped.agg(
        last_order_at=("timestamp", "max"),
        recency_days=("age_days", "min"),
        frequency=("amount", "size"),
        monetary=("amount", "sum"),
        orders_in_frequent_window=("frequent", "sum"),
        window_spend=("window_spend", "sum"),
    )

    r = _scores(table["recency_days"], higher_is_better=False)
    f = _scores(table["frequency"])
    m = _scores(table["monetary"])
    fm = (f.astype(np.int16) + m + 1) // 2
    grid = np.array(SEGMENT_GRID, dtype=object)
    table["r_score"] = r
    table["f_score"] = f
    table["m_score"] = m
    table["fm_score"] = fm.astype(np.int8)
    table["rfm_score"] = (
        pd.Series(r, index=table.index).astype(str)
        + pd.Series(f, index=table.index).astype(str)
        + pd.Series(m, index=table.index).astype(str)
    )
    table["rfm_sum"] = r.astype(np.int16) + f + m
    table["segment"] = grid[r - 1, fm - 1]

    table["recent_buyer"] = table["recency_days"] <= windows.recent_days
    table["frequent_buyer"] = table["orders_in_frequent_window"] > windows.frequent_more_than
    top_count = math.ceil(windows.top_spend_share * len(table))
    spend_rank = table["window_spend"].rank(method="min", ascending=False)
    table["top_spender"] = (table["window_spend"] > 0) & (spend_rank <= top_count)
    return table.loc[:, list(COLUMNS)]


def _empty() -> pd.DataFrame:
    table = pd.DataFrame(columns=list(COLUMNS))
    table.index.name = "customer_id"
    return table
