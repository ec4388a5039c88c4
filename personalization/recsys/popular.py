"""Time-decayed popularity ("trending"): the fallback for cold users and a baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .base import Interactions, Recommender

DAY = 86_400.0


class PopularRecommender(Recommender):
    """Items ranked by their interactions, each weighted by ``0.5 ** (age / half_life)``.

    The age of an interaction is measured from ``reference_time`` (seconds since the epoch;
    default: the newest timestamp of the training data), so an interaction ``half_life_days``
    old counts half as much as one at the reference time. Without a half-life, or when the data
    has no timestamps, interactions count fully (plain popularity). Interaction weights
    multiply in. Every user gets the same list, without the items they already have.
    """

    name = "popular"
    positive_scores_only = True

    def __init__(
        self, half_life_days: float | None = 30.0, reference_time: float | None = None
    ) -> None:
        self.half_life_days = half_life_days
        self.reference_time = reference_time

    def _fit(self, data: Interactions, items: pd.DataFrame | None) -> None:
        weight = data.rows["weight"].to_numpy()
        stamps = data.rows["timestamp"].to_numpy()
        if self.half_life_days and data.has_timestamps and np.isfinite(stamps).any():
            now = (
                float(self.reference_time)
                if self.reference_time is not None
                else float(np.nanmax(stamps))
            )
            # Interactions after the reference time (or without a time) count fully.
            age_days = np.clip(np.nan_to_num(now - stamps, nan=0.0), 0.0, None) / DAY
            weight = weight * np.power(0.5, age_days / float(self.half_life_days))
            self.reference_time_ = now
        else:
            self.reference_time_ = None
        self.scores_ = np.bincount(
            data.rows["item"].to_numpy(), weights=weight, minlength=len(data.item_ids)
        )

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.scores_, (len(users), len(self.scores_))).copy()

    def _similar(self, item: int) -> np.ndarray:
        # No notion of similarity: "similar" is what is trending.
        return self.scores_

    def _similar_many(self, items: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.scores_, (len(items), len(self.scores_)))

    def _cold_start(self, k: int) -> list:
        best = np.argsort(-self.scores_, kind="stable")[:k]
        return [(self._item_list[c], float(self.scores_[c])) for c in best if self.scores_[c] > 0]
