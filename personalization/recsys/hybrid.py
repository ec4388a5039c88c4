"""A weighted blend of other models, with fallbacks for cold users and cold items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

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
    if finite.all():
        low = scores.min(axis=1, keepdims=True)
        high = scores.max(axis=1, keepdims=True)
    else:
        low = np.where(finite, scores, np.inf).min(axis=1, keepdims=True)
        high = np.where(finite, scores, -np.inf).max(axis=1, keepdims=True)
    span = high - low
    # In place, on one new array: this runs over every user x item of a precomputation.
    scaled = np.subtract(scores, low, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(scaled, span, out=scaled)
    scaled[~(span[:, 0] > 0)] = 1.0
    scaled[~finite] = 0.0
    return scaled


def normalise_sparse_rows(scores: sp.csr_matrix, method: str = "minmax") -> np.ndarray:
    """:func:`normalise_rows` of the stored entries of each CSR row (the others count as
    ``-inf``); returns the new values, aligned with ``scores.data``."""
    if method not in ("minmax", "max", "none"):
        raise ValueError(f"unknown normalisation {method!r}")
    values = np.asarray(scores.data, dtype=np.float64)
    if method == "none" or not len(values):
        return values.copy()
    lengths = np.diff(scores.indptr)
    starts = scores.indptr[:-1][lengths > 0]
    row_of = np.repeat(np.arange(len(lengths)), lengths)
    high = np.zeros(len(lengths))
    high[lengths > 0] = np.maximum.reduceat(np.abs(values) if method == "max" else values, starts)
    if method == "max":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(high[row_of] > 0, values / high[row_of], 0.0)
    low = np.zeros(len(lengths))
    low[lengths > 0] = np.minimum.reduceat(values, starts)
    span = (high - low)[row_of]
    scaled = values - low[row_of]
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(scaled, span, out=scaled)
    scaled[~(span > 0)] = 1.0
    return scaled


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
        # Components whose items are the hybrid's, in the same order: their scores need no remap.
        self._same_items = [
            model.n_items == len(items) and np.array_equal(item_map, np.arange(len(items)))
            for model, item_map in zip(self.components_, self._item_maps, strict=True)
        ]
        # Each component's item columns -> the hybrid's columns.
        self._columns = []
        for model, item_map in zip(self.components_, self._item_maps, strict=True):
            columns = np.full(model.n_items, -1, dtype=np.int64)
            present = item_map >= 0
            columns[item_map[present]] = np.flatnonzero(present)
            self._columns.append(columns)

    def _hybrid_columns(self, scores: sp.csr_matrix, columns: np.ndarray) -> sp.csr_matrix:
        """A component's sparse scores with the hybrid's item columns and positive entries only."""
        scores = sp.csr_matrix(scores)
        keep = scores.data > 0
        rows = np.repeat(np.arange(scores.shape[0]), np.diff(scores.indptr))[keep]
        return sp.csr_matrix(
            (
                np.asarray(scores.data[keep], dtype=np.float64),
                (rows, columns[scores.indices[keep]]),
            ),
            shape=(scores.shape[0], self.n_items),
        )

    def _restore(self, state: dict[str, Any]) -> None:
        super()._restore(state)
        self._build_maps()

    def _blend(self, parts: list[tuple[np.ndarray, np.ndarray, float]], n_rows: int) -> np.ndarray:
        """Sum of weighted normalised scores; ``parts`` holds (rows, scores, weight), the scores
        dense or, for components that score few items, a CSR matrix of positive entries."""
        total = np.zeros((n_rows, self.n_items))
        scored = np.zeros((n_rows, self.n_items), dtype=bool)
        for rows, scores, weight in parts:
            if sp.issparse(scores):
                entry_rows = rows[np.repeat(np.arange(scores.shape[0]), np.diff(scores.indptr))]
                normalised = normalise_sparse_rows(scores, self.normalisation)
                total[entry_rows, scores.indices] += weight * normalised
                scored[entry_rows, scores.indices] = True
                continue
            normalised = normalise_rows(scores, self.normalisation)
            normalised *= weight
            if len(rows) == n_rows:  # every row (rows are sorted and distinct): no gather
                total += normalised
                scored |= np.isfinite(scores)
            else:
                total[rows] += normalised
                scored[rows] |= np.isfinite(scores)
        total[~scored] = -np.inf
        return total

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        parts = []
        for model, user_map, item_map, same_items, columns, weight in zip(
            self.components_,
            self._user_maps,
            self._item_maps,
            self._same_items,
            self._columns,
            self.weights_,
            strict=True,
        ):
            component_users = user_map[users]
            rows = np.flatnonzero(component_users >= 0)
            if not len(rows):
                continue
            sparse = model._sparse_scores(component_users[rows])
            if sparse is not None:
                parts.append((rows, self._hybrid_columns(sparse, columns), weight))
                continue
            own = model._scores(component_users[rows])
            if same_items:
                scores = own
            else:
                scores = np.full((len(rows), self.n_items), -np.inf)
                present = item_map >= 0
                scores[:, present] = own[:, item_map[present]]
            parts.append((rows, scores, weight))
        return self._blend(parts, len(users))

    def _similar(self, item: int) -> np.ndarray:
        return self._similar_many(np.array([item]))[0]

    def _similar_many(self, items: np.ndarray) -> np.ndarray:
        parts = []
        present = [item_map >= 0 for item_map in self._item_maps]
        for model, item_map, known, weight in zip(
            self.components_, self._item_maps, present, self.weights_, strict=True
        ):
            own_items = item_map[items]
            rows = np.flatnonzero(own_items >= 0)
            if model.recommends_seen_items or not len(rows):
                continue
            own = np.asarray(model._similar_many(own_items[rows]), dtype=np.float64)
            own = np.where(own > 0, own, -np.inf)
            own[np.arange(len(rows)), own_items[rows]] = -np.inf
            scores = np.full((len(rows), self.n_items), -np.inf)
            scores[:, known] = own[:, item_map[known]]
            parts.append((rows, scores, weight))
        return self._blend(parts, len(items))

    def _cold_start(self, k: int) -> list:
        return self.fallback_._cold_start(k)
