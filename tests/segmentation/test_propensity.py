"""Purchase propensity: time split, metrics as plain data, predictions."""

import json

import numpy as np
import pandas as pd
import pytest

from personalization.segmentation.propensity import (
    PropensityModel,
    reliability_bins,
    time_split,
)


def snapshots(customers=300, months=4, seed=1):
    """Monthly snapshots; recent, frequent buyers are likelier to buy in the next 30 days."""
    rng = np.random.default_rng(seed)
    frames = []
    for month in range(months):
        recency = rng.exponential(40, customers)
        frequency = rng.poisson(3, customers).astype(float)
        frequency[rng.random(customers) < 0.05] = np.nan  # missing values are allowed
        logit = 1.5 - recency / 20 + 0.4 * np.nan_to_num(frequency, nan=3.0)
        frames.append(
            pd.DataFrame(
                {
                    "snapshot_at": pd.Timestamp("2026-01-01") + pd.DateOffset(months=month),
                    "recency_days": recency,
                    "frequency": frequency,
                    "bought": rng.random(customers) < 1 / (1 + np.exp(-logit)),
                }
            )
        )
    data = pd.concat(frames, ignore_index=True)
    return data.drop(columns=["bought"]), data["bought"].astype(int)


def test_time_split():
    frame = pd.DataFrame(
        {"snapshot_at": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"])},
        index=["a", "b", "c"],
    )
    train, test = time_split(frame, "2026-02-01")
    assert list(train) == ["a"]
    assert list(test) == ["b", "c"]


def test_reliability_bins_by_hand():
    bins = reliability_bins(np.array([0, 1, 1, 0]), np.array([0.05, 0.15, 0.95, 1.0]), n_bins=10)
    assert bins == [
        {"low": 0.0, "high": 0.1, "count": 1, "mean_predicted": 0.05, "observed_rate": 0.0},
        {"low": 0.1, "high": 0.2, "count": 1, "mean_predicted": 0.15, "observed_rate": 1.0},
        {"low": 0.9, "high": 1.0, "count": 2, "mean_predicted": 0.975, "observed_rate": 0.5},
    ]


def test_fit_evaluates_on_the_future_and_reports_plain_data():
    features, labels = snapshots()
    model = PropensityModel(max_iter=20, max_leaf_nodes=8, random_state=3).fit(features, labels)
    metrics = model.metrics_
    # Four monthly snapshots with test_share 0.2: the last month is the test period.
    assert metrics["cutoff"] == "2026-04-01T00:00:00"
    assert (metrics["n_train"], metrics["n_test"]) == (900, 300)
    assert metrics["roc_auc"] > 0.75
    assert 0 < metrics["brier"] < 0.25
    assert sum(b["count"] for b in metrics["reliability"]) == 300
    info = model.info()
    assert json.loads(json.dumps(info)) == info
    assert info["params"]["max_iter"] == 20
    assert info["features"] == ["recency_days", "frequency"]
    assert info["version"].startswith("propensity-30d-")
    assert set(info["libraries"]) == {"scikit-learn", "numpy", "pandas"}


def test_predictions_rank_likely_buyers_first_and_are_reproducible():
    features, labels = snapshots()
    model = PropensityModel(max_iter=20, max_leaf_nodes=8).fit(
        features, labels, cutoff="2026-03-01"
    )
    assert model.metrics_["n_test"] == 600
    probe = pd.DataFrame({"recency_days": [1.0, 200.0], "frequency": [6.0, np.nan]})
    probabilities = model.predict_proba(probe)
    assert probabilities.shape == (2, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert probabilities[0, 1] > 0.8 > 0.2 > probabilities[1, 1]
    again = PropensityModel(max_iter=20, max_leaf_nodes=8).fit(
        features, labels, cutoff="2026-03-01"
    )
    np.testing.assert_array_equal(again.predict_proba(probe), probabilities)


def test_one_class_labels_fall_back_to_the_base_rate():
    features, labels = snapshots(customers=20, months=2)
    model = PropensityModel().fit(features, labels * 0)
    assert model.classifier_ is None
    assert model.metrics_["roc_auc"] is None
    assert model.metrics_["brier"] == 0.0
    assert model.predict_proba(features.head(3))[:, 1].tolist() == [0.0, 0.0, 0.0]


def test_single_snapshot_time_has_no_test_period():
    features, labels = snapshots(customers=50, months=1)
    model = PropensityModel(max_iter=10).fit(features, labels)
    assert model.metrics_["n_test"] == 50
    lonely = PropensityModel(max_iter=10).fit(features, labels, cutoff="2030-01-01")
    assert lonely.metrics_["n_test"] == 0
    assert lonely.metrics_["roc_auc"] is None
    assert lonely.metrics_["reliability"] == []


def test_input_checks():
    features, labels = snapshots(customers=10, months=1)
    with pytest.raises(ValueError, match="snapshot_at"):
        PropensityModel().fit(features.drop(columns=["snapshot_at"]), labels)
    with pytest.raises(ValueError, match="label"):
        PropensityModel().fit(features, labels.iloc[:5])
