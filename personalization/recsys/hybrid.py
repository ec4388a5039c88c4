"""A weighted blend of other models, with fallbacks for cold users and cold items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .base import Interactions, Recommender, as_id_array


def normalise_rows(scores: np.ndarray, method: str = "minmax") -> np.ndarray:
    """Scale each row's finite scores; ``-inf`` (no evidence) becomes 0.

    ``"minmax"`` maps a row's scores to [0, 1] (a row of equal scores to 1), ``"max"`` divides
    them by the row's largest absolute score, ``"none"`` keeps them. Scaling per user makes
    models with different score ranges comparable before they are blended.
    """
    if method not in ("minmax", "max", "none"):
        raise ValueError(f"unknown normalisation {method!r}")
    finite = np.isfinite(scores)
    if method == "none":
        return np.where(finite, scores, 0.0)
    if method == "max":
        high = np.abs(np.where(finite, scores, 0.0)).max(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(finite & (high > 0), scores / high, 0.0)
    masked_low = np.where(finite, scores, np.inf).min(axis=1, keepdims=True)
    masked_high = np.where(finite, scores, -np.inf).max(axis=1, keepdims=True)
    span = masked_high - masked_low
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(span > 0, (scores - masked_low) / span, 1.0)
    return np.where(finite, scaled, 0.0)


class HybridRecommender(Recommender):
    """Blends the per-user normalised scores of component models, weighted.

    ``normalisation`` (see :func:`normalise_rows`) makes the components' scores comparable:
    ``"minmax"`` (the default) scales each user's scores to [0, 1], ``"max"`` divides them by
    the largest absolute score, ``"none"`` leaves them as they are.

    ``components`` lists ``(name, params, weight)`` triples (or mappings with the keys
    ``model``, ``params``, ``weight``); each is built with :func:`recsys.build` and fitted on the
    same data. Components that need item features are left out when ``fit`` gets no ``items``.
    The hybrid's items are the union of its components' items, so catalogue items that only a
    content component knows (new products) can be recommended, and their ``similar_items`` are
    content neighbours. A user unknown to the training data gets the ``fallback`` model's list
    (``popular`` by default: what is trending). With ``exclude_seen=False``, a ``buy_again``
    component lifts the items due for a repeat purchase.
    """

    name = "hybrid"

    def __init__(
        self,
        components: Sequence[Any] = (("ease", {}, 1.0),),
        fallback: str = "popular",
        fallback_params: Mapping[str, Any] | None = None,
        normalisation: str = "minmax",
    ) -> None:
        self.components = components
        self.fallback = fallback
        self.fallback_params = fallback_params
        self.normalisation = normalisation

    def _specs(self) -> list[tuple[str, dict[str, Any], float]]:
        specs = []
        for spec in self.components:
            if isinstance(spec, Mapping):
                name, params, weight = spec["model"], spec.get("params", {}), spec.get("weight", 1)
            else:
                name, params, weight = spec
            specs.append((str(name), dict(params or {}), float(weight)))
        if not specs:
            raise ValueError("a hybrid needs at least one component")
        return specs

    def _fit(self, data: Interactions, items: pd.DataFrame | None) -> None:
        from .registry import build

        rows = data.rows
        interactions = pd.DataFrame(
            {
                "user_id": data.user_ids[rows["user"].to_numpy()],
                "item_id": data.item_ids[rows["item"].to_numpy()],
                "weight": rows["weight"].to_numpy(),
            }
        )
        if data.has_timestamps:
            interactions["timestamp"] = rows["timestamp"].to_numpy()
        components, weights = [], []
        for name, params, weight in self._specs():
            model = build(name, **params)
            if model.needs_items and items is None:
                continue
            components.append(model.fit(interactions, items))
            weights.append(weight)
        if not components:
            raise ValueError("no component of this hybrid can be fitted without items")
        fallback = build(self.fallback, **dict(self.fallback_params or {}))
        self.fallback_ = fallback.fit(interactions, items)
        self.components_ = components
        self.weights_ = np.asarray(weights, dtype=np.float64)

        # The hybrid's items: those of the data, then catalogue items that only some component
        # knows (content models add the catalogue to their index).
        known = set(data.item_ids.tolist())
        extra = [
            item for model in components for item in model.item_ids_.tolist() if item not in known
        ]
        if extra:
            extra = list(dict.fromkeys(extra))
            self.item_ids_ = as_id_array(
                np.concatenate([data.item_ids.astype(object), np.array(extra, dtype=object)])
            )
            self.user_items_ = self.user_items_.copy()
            self.user_items_.resize((len(self.user_ids_), len(self.item_ids_)))
            self.item_popularity_ = np.concatenate([self.item_popularity_, np.zeros(len(extra))])
            self._build_index()
        self._build_maps()

    def _build_maps(self) -> None:
        """Row/column positions of the hybrid's users and items in each component (-1: none)."""
        users = self.user_ids_.tolist()
        items = self.item_ids_.tolist()
        self._user_maps = [
            np.array([model._user_index.get(u, -1) for u in users], dtype=np.int64)
            for model in self.components_
        ]
        self._item_maps = [
            np.array([model._item_index.get(i, -1) for i in items], dtype=np.int64)
            for model in self.components_
        ]

    def _restore(self, state: dict[str, Any]) -> None:
        super()._restore(state)
        self._build_maps()

    def _blend(self, parts: list[tuple[np.ndarray, np.ndarray, float]], n_rows: int) -> np.ndarray:
        """Sum of weighted normalised scores; ``parts`` holds (rows, scores, weight)."""
        total = np.zeros((n_rows, self.n_items))
        scored = np.zeros((n_rows, self.n_items), dtype=bool)
        for rows, scores, weight in parts:
            total[rows] += weight * normalise_rows(scores, self.normalisation)
            scored[rows] |= np.isfinite(scores)
        total[~scored] = -np.inf
        return total

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        parts = []
        for model, user_map, item_map, weight in zip(
            self.components_, self._user_maps, self._item_maps, self.weights_, strict=True
        ):
            component_users = user_map[users]
            rows = np.flatnonzero(component_users >= 0)
            if not len(rows):
                continue
            own = model._scores(component_users[rows])
            scores = np.full((len(rows), self.n_items), -np.inf)
            present = item_map >= 0
            scores[:, present] = own[:, item_map[present]]
            parts.append((rows, scores, weight))
        return self._blend(parts, len(users))

    def _similar(self, item: int) -> np.ndarray:
        parts = []
        for model, item_map, weight in zip(
            self.components_, self._item_maps, self.weights_, strict=True
        ):
            own_item = item_map[item]
            if own_item < 0 or model.recommends_seen_items:
                continue
            own = np.asarray(model._similar(int(own_item)), dtype=np.float64)
            own = np.where(own > 0, own, -np.inf)
            own[own_item] = -np.inf
            scores = np.full((1, self.n_items), -np.inf)
            present = item_map >= 0
            scores[0, present] = own[item_map[present]]
            parts.append((np.array([0]), scores, weight))
        return self._blend(parts, 1)[0]

    def _cold_start(self, k: int) -> list:
        return self.fallback_._cold_start(k)
