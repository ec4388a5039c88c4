"""Behavioural clusters: K-Means with k chosen by silhouette, DBSCAN with eps from the knee of the
k-distance curve, and a human-readable description of every cluster.

>>> model = KMeansSegmenter(k_range=(2, 8), random_state=7).fit(features)  # doctest: +SKIP
>>> [(c.label, c.size, c.description) for c in model.clusters_]              # doctest: +SKIP
[(0, 412, 'high spend, mostly electronics, mobile'), ...]

``features`` is a DataFrame of clean numeric profile features (no missing values; see
:mod:`.cleaning`), one row per customer. Both segmenters standardise the features themselves
(``scaler_``), so the distances weigh every feature alike, while the descriptions compare the
cluster means with the overall means of the features as given.

Descriptions
------------
For each cluster, every feature's mean is compared with the overall mean in overall standard
deviations; the ``top`` features furthest away (at least ``min_effect`` deviations) are named with
the phrase of :data:`VOCABULARY` for their direction. Columns named ``affinity_<category>`` read
"mostly <category>" / "little <category>"; other unknown columns read "high <name>" / "low <name>".
A cluster that stands out in nothing is "typical"; DBSCAN's noise (label ``-1``) is described like
the others and flagged ``is_noise``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN, KMeans
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

__all__ = [
    "VOCABULARY",
    "ClusterSummary",
    "DBSCANSegmenter",
    "KMeansSegmenter",
    "describe_clusters",
    "k_distance_eps",
    "knee_point",
    "phrase",
]

#: Feature name → (phrase when the cluster is high, phrase when it is low).
VOCABULARY: Mapping[str, tuple[str, str]] = {
    "monetary": ("high spend", "low spend"),
    "avg_order_value": ("big baskets", "small baskets"),
    "frequency": ("frequent buyers", "rare buyers"),
    "recency_days": ("lapsed", "recently active"),
    "sessions": ("many visits", "few visits"),
    "avg_session_length": ("long sessions", "short sessions"),
    "page_depth": ("deep browsing", "shallow browsing"),
    "dwell_time": ("long dwell time", "short dwell time"),
    "cart_to_purchase_rate": ("completes carts", "abandons carts"),
    "price_sensitivity": ("bargain hunters", "full-price buyers"),
    "discount_share": ("buys on sale", "rarely buys on sale"),
    "mobile_share": ("mobile", "desktop"),
    "desktop_share": ("desktop", "mobile"),
    "propensity": ("likely to buy", "unlikely to buy"),
}

_AFFINITY = "affinity_"


@dataclass(frozen=True)
class ClusterSummary:
    """One cluster: its label, size, share of all rows and what sets it apart.

    ``effects`` holds ``(feature, standard deviations from the overall mean)`` of the described
    features, strongest first.
    """

    label: int
    size: int
    share: float
    description: str
    effects: tuple[tuple[str, float], ...]
    is_noise: bool = False


def phrase(feature: str, high: bool, vocabulary: Mapping[str, tuple[str, str]] = VOCABULARY) -> str:
    """The words for a cluster that is high (or low) in ``feature``."""
    if feature in vocabulary:
        return vocabulary[feature][0 if high else 1]
    if feature.startswith(_AFFINITY):
        category = feature[len(_AFFINITY) :].replace("_", " ")
        return f"mostly {category}" if high else f"little {category}"
    words = feature.replace("_", " ")
    return f"high {words}" if high else f"low {words}"


def describe_clusters(
    features: pd.DataFrame,
    labels: np.ndarray,
    top: int = 3,
    min_effect: float = 0.5,
    vocabulary: Mapping[str, tuple[str, str]] = VOCABULARY,
) -> list[ClusterSummary]:
    """A :class:`ClusterSummary` per label, in label order (see the module docstring)."""
    labels = np.asarray(labels)
    values = features.to_numpy(dtype=float)
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    # A constant feature sets no cluster apart; dividing by inf turns its effects into 0.
    std = np.where(std > 0, std, np.inf)
    summaries = []
    for label in np.unique(labels):
        members = labels == label
        effect = (values[members].mean(axis=0) - mean) / std
        order = np.argsort(-np.abs(effect), kind="stable")[:top]
        chosen = [index for index in order if abs(effect[index]) >= min_effect]
        effects = tuple((str(features.columns[i]), round(float(effect[i]), 3)) for i in chosen)
        words = [phrase(name, value > 0, vocabulary) for name, value in effects]
        summaries.append(
            ClusterSummary(
                label=int(label),
                size=int(members.sum()),
                share=round(float(members.mean()), 4),
                description=", ".join(words) if words else "typical",
                effects=effects,
                is_noise=bool(label == -1),
            )
        )
    return summaries


def knee_point(values: np.ndarray) -> int:
    """Index of the knee of an ascending curve: the point furthest below its chord.

    Both axes are scaled to [0, 1] first, so the answer does not depend on units. A curve of
    fewer than three points, or a straight one, has its knee at the last point.
    """
    y = np.asarray(values, dtype=float)
    if len(y) < 3 or y[-1] == y[0]:
        return len(y) - 1
    x = np.linspace(0.0, 1.0, len(y))
    scaled = (y - y[0]) / (y[-1] - y[0])
    gap = x - scaled
    index = int(np.argmax(gap))
    return index if gap[index] > 0 else len(y) - 1


def k_distance_eps(
    scaled: np.ndarray, min_samples: int, sample_size: int = 10_000, random_state: int = 0
) -> float:
    """DBSCAN's eps: the knee of the sorted distances to each point's ``min_samples``-th neighbour.

    The point itself counts as its first neighbour, as in DBSCAN's ``min_samples``. For large
    inputs the curve is built from a seeded sample of ``sample_size`` points.
    """
    points = np.asarray(scaled, dtype=float)
    if len(points) > sample_size:
        rows = np.random.default_rng(random_state).choice(len(points), sample_size, replace=False)
        points = points[rows]
    neighbours = min(min_samples, len(points))
    distances, _ = NearestNeighbors(n_neighbors=neighbours).fit(points).kneighbors(points)
    curve = np.sort(distances[:, -1])
    eps = float(curve[knee_point(curve)])
    # DBSCAN needs eps > 0; zero means duplicates, which any tiny radius still joins.
    return eps if eps > 0 else 1e-9


def _check_features(features: pd.DataFrame) -> np.ndarray:
    values = features.to_numpy(dtype=float)
    if values.ndim != 2 or not len(values):
        raise ValueError("features must be a non-empty 2-D table")
    if not np.isfinite(values).all():
        raise ValueError("features must not hold missing or infinite values; clean them first")
    return values


class KMeansSegmenter:
    """K-Means over a range of k, keeping the k with the best (sampled) silhouette.

    k is chosen on a seeded sample of ``search_sample_size`` rows; the final model is fitted on
    all rows. Fewer than three rows, or data in which no k of the range yields two clusters, give
    one cluster (``k_ == 1``). Fitted attributes: ``scaler_``, ``k_``, ``silhouette_`` (k →
    score), ``labels_``, ``model_`` (the final :class:`~sklearn.cluster.KMeans`, or ``None`` for
    one cluster) and ``clusters_``.
    """

    def __init__(
        self,
        k_range: tuple[int, int] = (2, 8),
        random_state: int = 0,
        n_init: int = 4,
        silhouette_sample_size: int = 4_000,
        search_sample_size: int = 10_000,
        top: int = 3,
    ) -> None:
        self.k_range = k_range
        self.random_state = random_state
        self.n_init = n_init
        self.silhouette_sample_size = silhouette_sample_size
        self.search_sample_size = search_sample_size
        self.top = top

    def fit(self, features: pd.DataFrame) -> KMeansSegmenter:
        """Choose k, cluster every row and describe the clusters."""
        low, high = self.k_range
        if not 2 <= low <= high:
            raise ValueError("k_range must satisfy 2 <= low <= high")
        values = _check_features(features)
        self.scaler_ = StandardScaler().fit(values)
        scaled = self.scaler_.transform(values)
        rng = np.random.default_rng(self.random_state)
        search = scaled
        if len(scaled) > self.search_sample_size:
            search = scaled[rng.choice(len(scaled), self.search_sample_size, replace=False)]

        # More clusters than distinct points cannot converge, and silhouette needs k < n.
        largest = min(high, len(search) - 1, len(np.unique(search, axis=0)))
        self.silhouette_ = {}
        for k in range(low, largest + 1):
            labels = self._kmeans(k).fit_predict(search)
            if len(np.unique(labels)) < 2:
                continue
            self.silhouette_[k] = float(
                silhouette_score(
                    search,
                    labels,
                    sample_size=min(self.silhouette_sample_size, len(search)),
                    random_state=self.random_state,
                )
            )
        if self.silhouette_:
            # max() keeps the first of equal scores, i.e. the smallest k.
            self.k_ = max(self.silhouette_, key=self.silhouette_.get)
            self.model_ = self._kmeans(self.k_).fit(scaled)
            self.labels_ = self.model_.labels_.astype(int)
        else:
            self.k_, self.model_ = 1, None
            self.labels_ = np.zeros(len(scaled), dtype=int)
        self.clusters_ = describe_clusters(features, self.labels_, top=self.top)
        return self

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """The nearest cluster of new rows."""
        values = _check_features(features)
        if self.model_ is None:
            return np.zeros(len(values), dtype=int)
        return self.model_.predict(self.scaler_.transform(values)).astype(int)

    def _kmeans(self, k: int) -> KMeans:
        return KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state)


class DBSCANSegmenter:
    """DBSCAN with ``eps`` from the k-distance knee (unless given); noise is labelled ``-1``.

    Fitted attributes: ``scaler_``, ``eps_``, ``labels_``, ``n_clusters_`` (noise excluded) and
    ``clusters_``.
    """

    def __init__(
        self,
        min_samples: int = 5,
        eps: float | None = None,
        sample_size: int = 10_000,
        random_state: int = 0,
        top: int = 3,
    ) -> None:
        self.min_samples = min_samples
        self.eps = eps
        self.sample_size = sample_size
        self.random_state = random_state
        self.top = top

    def fit(self, features: pd.DataFrame) -> DBSCANSegmenter:
        """Find eps, cluster every row and describe the clusters."""
        values = _check_features(features)
        self.scaler_ = StandardScaler().fit(values)
        scaled = self.scaler_.transform(values)
        self.eps_ = (
            float(self.eps)
            if self.eps is not None
            else k_distance_eps(scaled, self.min_samples, self.sample_size, self.random_state)
        )
        self.labels_ = (
            DBSCAN(eps=self.eps_, min_samples=self.min_samples).fit_predict(scaled).astype(int)
        )
        self.n_clusters_ = len(set(self.labels_.tolist()) - {-1})
        self.clusters_ = describe_clusters(features, self.labels_, top=self.top)
        return self
