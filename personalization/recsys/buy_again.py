"""Repeat purchases: which of the things a customer bought are they due to buy again?"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .base import Interactions, Recommender

DAY = 86_400.0


class BuyAgainRecommender(Recommender):
    """Scores only the items a user already has, by how often and how "due" they are.

    For a user ``u`` and an item ``i`` they bought ``n_ui`` times (one interaction row is one
    purchase), last ``t_ui`` ago::

        score = n_ui * repeat_rate_i * ((1 - interval_weight) + interval_weight * due)
        due   = exp(-(ln(t_ui / gap_i))² / (2 * interval_width²))

    ``gap_i`` is the median time between two consecutive purchases of ``i`` by the same customer
    over all customers (gaps under a day are ignored; the median of all items' gaps when ``i``
    was never bought twice, and ``default_interval_days`` when nothing was), so ``due`` peaks
    when the usual interval has passed. ``repeat_rate_i`` is the share of the buyers of ``i``
    who bought it more than once, shrunk towards the overall share (itself Laplace-smoothed)
    with ``repeat_prior`` pseudo-buyers. Times are measured from ``reference_time`` (default:
    the newest timestamp of the training data); without timestamps only the counts and repeat
    rates are used.

    Only items already bought are recommended, so ``exclude_seen`` has no effect, and an unknown
    user gets an empty list.
    """

    name = "buy_again"
    recommends_seen_items = True
    positive_scores_only = True
    cold_start = "empty"

    def __init__(
        self,
        interval_weight: float = 0.25,
        interval_width: float = 1.0,
        repeat_prior: float = 10.0,
        default_interval_days: float = 30.0,
        reference_time: float | None = None,
    ) -> None:
        self.interval_weight = interval_weight
        self.interval_width = interval_width
        self.repeat_prior = repeat_prior
        self.default_interval_days = default_interval_days
        self.reference_time = reference_time

    def _fit(self, data: Interactions, items: pd.DataFrame | None) -> None:
        rows = data.rows
        n_items = len(data.item_ids)
        shape = (len(data.user_ids), n_items)
        pairs = rows.groupby(["user", "item"], sort=True)
        counts = pairs.size()
        user = counts.index.get_level_values("user").to_numpy()
        item = counts.index.get_level_values("item").to_numpy()
        n = counts.to_numpy(dtype=np.float64)

        buyers = np.bincount(item, minlength=n_items).astype(np.float64)
        repeaters = np.bincount(item, weights=(n > 1), minlength=n_items)
        # Laplace-smoothed, so that data without any repeat yet still ranks by frequency.
        overall = (repeaters.sum() + 1.0) / (buyers.sum() + 2.0)
        prior = float(self.repeat_prior)
        self.repeat_rate_ = (repeaters + prior * overall) / (buyers + prior)

        timed = data.has_timestamps and np.isfinite(rows["timestamp"].to_numpy()).any()
        if timed:
            ordered = rows.dropna(subset=["timestamp"]).sort_values(["user", "item", "timestamp"])
            same = (ordered["user"].diff() == 0) & (ordered["item"].diff() == 0)
            gaps = ordered["timestamp"].diff()[same]
            # Purchases within the same day are one shopping trip, not a repeat.
            gaps = gaps[gaps >= DAY]
            gap_items = ordered["item"][gaps.index].to_numpy()
            overall_gap = (
                float(np.median(gaps)) if len(gaps) else float(self.default_interval_days) * DAY
            )
            interval = np.full(n_items, overall_gap)
            if len(gaps):
                medians = pd.Series(gaps.to_numpy()).groupby(gap_items).median()
                interval[medians.index.to_numpy()] = medians.to_numpy()
            self.interval_ = interval
            now = (
                float(self.reference_time)
                if self.reference_time is not None
                else float(np.nanmax(rows["timestamp"]))
            )
            self.reference_time_ = now
            last = pairs["timestamp"].max().to_numpy()
            elapsed = np.where(np.isfinite(last), np.maximum(now - last, DAY), interval[item])
            log_ratio = np.log(elapsed / interval[item])
            due = np.exp(-(log_ratio**2) / (2 * float(self.interval_width) ** 2))
            timing = (1 - self.interval_weight) + self.interval_weight * due
        else:
            self.interval_ = np.full(n_items, np.nan)
            self.reference_time_ = None
            timing = np.ones(len(n))
        scores = n * self.repeat_rate_[item] * timing
        self.scores_ = sp.csr_matrix((scores, (user, item)), shape=shape)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return self.scores_[users].toarray()

    def _sparse_scores(self, users: np.ndarray) -> sp.csr_matrix:
        return self.scores_[users]
