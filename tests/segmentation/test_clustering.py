"""K-Means with k by silhouette, DBSCAN with eps from the knee, and cluster descriptions."""

import numpy as np
import pandas as pd
import pytest

from personalization.segmentation.clustering import (
    DBSCANSegmenter,
    KMeansSegmenter,
    describe_clusters,
    k_distance_eps,
    knee_point,
    phrase,
)


def personas(per_group=60, seed=3):
    """Three shopper groups: big-spending mobile electronics buyers, bargain hunters on desktop
    buying fashion, and average shoppers."""
    rng = np.random.default_rng(seed)

    def group(monetary, electronics, fashion, mobile, sensitivity):
        return pd.DataFrame(
            {
                "monetary": rng.normal(monetary, 30, per_group),
                "affinity_electronics": rng.normal(electronics, 0.04, per_group),
                "affinity_fashion": rng.normal(fashion, 0.04, per_group),
                "mobile_share": rng.normal(mobile, 0.04, per_group),
                "price_sensitivity": rng.normal(sensitivity, 0.04, per_group),
            }
        )

    return pd.concat(
        [
            group(900, 0.8, 0.1, 0.9, 0.1),
            group(150, 0.1, 0.8, 0.1, 0.9),
            group(400, 0.4, 0.4, 0.5, 0.5),
        ],
        ignore_index=True,
    )


def test_phrases():
    assert phrase("monetary", high=True) == "high spend"
    assert phrase("mobile_share", high=True) == "mobile"
    assert phrase("mobile_share", high=False) == "desktop"
    assert phrase("affinity_home_garden", high=True) == "mostly home garden"
    assert phrase("affinity_toys", high=False) == "little toys"
    assert phrase("basket_size", high=True) == "high basket size"
    assert phrase("x", high=True, vocabulary={"x": ("up", "down")}) == "up"


def test_describe_clusters_by_hand():
    features = pd.DataFrame({"monetary": [10.0, 10, 100, 100], "mobile_share": [0.5] * 4})
    summaries = describe_clusters(features, np.array([0, 0, 1, 1]))
    # Cluster means 10 and 100, overall 55 with standard deviation 45: effects -1 and +1;
    # the constant mobile share sets nobody apart.
    assert [s.description for s in summaries] == ["low spend", "high spend"]
    assert summaries[1].effects == (("monetary", 1.0),)
    assert [(s.label, s.size, s.share) for s in summaries] == [(0, 2, 0.5), (1, 2, 0.5)]
    single = describe_clusters(features, np.zeros(4, dtype=int))
    assert single[0].description == "typical"
    assert single[0].effects == ()


def test_knee_point():
    assert knee_point(np.array([0, 1, 2, 3, 4, 20, 40])) == 4
    assert knee_point(np.array([1.0, 2.0, 3.0])) == 2  # a straight line has no knee
    assert knee_point(np.array([5.0, 5.0, 5.0])) == 2
    assert knee_point(np.array([1.0])) == 0


def test_kmeans_finds_the_three_personas_and_describes_them():
    features = personas()
    model = KMeansSegmenter(k_range=(2, 6), random_state=11).fit(features)
    assert model.k_ == 3
    assert set(model.silhouette_) == {2, 3, 4, 5, 6}
    assert model.silhouette_[3] == max(model.silhouette_.values())
    assert sorted(c.size for c in model.clusters_) == [60, 60, 60]
    # Every persona is one cluster.
    for start in (0, 60, 120):
        assert len(set(model.labels_[start : start + 60])) == 1
    big = next(c for c in model.clusters_ if c.label == model.labels_[0])
    words = big.description.split(", ")
    assert "high spend" in words
    assert "mostly electronics" in words or "mobile" in words
    bargain = next(c for c in model.clusters_ if c.label == model.labels_[60])
    assert {"bargain hunters", "mostly fashion", "low spend", "desktop"} >= set(
        bargain.description.split(", ")
    )
    assert model.predict(features.iloc[[0, 60]]).tolist() == model.labels_[[0, 60]].tolist()


def test_kmeans_is_reproducible_with_a_seed_and_samples_the_search():
    features = personas(per_group=40)
    first = KMeansSegmenter(k_range=(2, 4), random_state=5, search_sample_size=50).fit(features)
    second = KMeansSegmenter(k_range=(2, 4), random_state=5, search_sample_size=50).fit(features)
    assert first.k_ == second.k_
    assert first.silhouette_ == second.silhouette_
    np.testing.assert_array_equal(first.labels_, second.labels_)
    assert [c.description for c in first.clusters_] == [c.description for c in second.clusters_]


def test_kmeans_edge_cases():
    one = pd.DataFrame({"monetary": [5.0]})
    model = KMeansSegmenter().fit(one)
    assert model.k_ == 1
    assert model.labels_.tolist() == [0]
    assert model.predict(one).tolist() == [0]
    equal = pd.DataFrame({"monetary": [5.0] * 10, "frequency": [2.0] * 10})
    flat = KMeansSegmenter(k_range=(2, 3)).fit(equal)
    assert flat.k_ == 1
    assert flat.clusters_[0].description == "typical"
    with pytest.raises(ValueError, match="missing"):
        KMeansSegmenter().fit(pd.DataFrame({"monetary": [1.0, np.nan, 3.0]}))
    with pytest.raises(ValueError, match="k_range"):
        KMeansSegmenter(k_range=(1, 3)).fit(equal)


def test_k_distance_eps_sits_between_the_dense_and_the_sparse_distances():
    rng = np.random.default_rng(0)
    dense = rng.normal(0, 0.05, (100, 2))
    outliers = np.array([[5.0, 5.0], [-5.0, 5.0], [5.0, -5.0]])
    eps = k_distance_eps(np.vstack([dense, outliers]), min_samples=4)
    assert 0.02 < eps < 1.0
    assert k_distance_eps(np.zeros((5, 2)), min_samples=3) == 1e-9


def test_dbscan_separates_the_personas_and_flags_noise():
    features = personas()
    outliers = pd.DataFrame(
        [[5000.0, 0.5, 0.5, 0.5, 0.5], [-2000.0, 3.0, -2.0, 0.5, 0.5]], columns=features.columns
    )
    model = DBSCANSegmenter(min_samples=5).fit(pd.concat([features, outliers], ignore_index=True))
    assert model.eps_ > 0
    assert model.n_clusters_ == 3
    assert model.labels_[-2:].tolist() == [-1, -1]
    noise = next(c for c in model.clusters_ if c.label == -1)
    assert noise.is_noise
    assert noise.size == 2
    repeat = DBSCANSegmenter(min_samples=5).fit(pd.concat([features, outliers], ignore_index=True))
    np.testing.assert_array_equal(model.labels_, repeat.labels_)


def test_dbscan_with_a_given_eps():
    features = pd.DataFrame({"monetary": [1.0, 1.1, 1.2, 9.0, 9.1, 9.2]})
    model = DBSCANSegmenter(min_samples=2, eps=0.5).fit(features)
    assert model.eps_ == 0.5
    assert model.labels_.tolist() == [0, 0, 0, 1, 1, 1]
    assert [c.description for c in model.clusters_] == ["low spend", "high spend"]
