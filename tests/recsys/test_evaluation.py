"""Metrics against hand-computed values, splits, and the evaluation harness."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from personalization import recsys
from personalization.recsys.evaluation import (
    catalogue_coverage,
    evaluate,
    map_at_k,
    map_score,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    stratified_split,
    temporal_split,
)

# Alice has 5 relevant items and gets hits at ranks 1 and 3 of 3; Bob has 1 relevant item and
# no hit; Carol has test items but no recommendations (left out of Microsoft's "common users").
TRUTH = {"alice": {"a", "b", "c", "d", "e"}, "bob": {"z"}, "carol": {"a"}}
RECOMMENDED = {
    "alice": [("a", 0.9), ("x", 0.8), ("b", 0.7), ("c", 0.6)],
    "bob": ["x", "y"],
    "carol": [],
}


def test_metrics_by_hand():
    k = 3
    # alice: hits a@1, b@3 (c is ranked 4th, beyond k); bob: none. Two common users.
    assert precision_at_k(TRUTH, RECOMMENDED, k) == pytest.approx((2 / 3 + 0) / 2)
    assert recall_at_k(TRUTH, RECOMMENDED, k) == pytest.approx((2 / 5 + 0) / 2)
    dcg = 1 / math.log(2) + 1 / math.log(4)
    ideal = 1 / math.log(2) + 1 / math.log(3) + 1 / math.log(4)  # min(5, k) = 3 positions
    assert ndcg_at_k(TRUTH, RECOMMENDED, k) == pytest.approx((dcg / ideal + 0) / 2)
    precision_sum = 1 / 1 + 2 / 3  # hits so far / rank, at each hit
    assert map_score(TRUTH, RECOMMENDED, k) == pytest.approx((precision_sum / 5) / 2)
    assert map_at_k(TRUTH, RECOMMENDED, k) == pytest.approx((precision_sum / 3) / 2)


def test_metrics_over_named_users_count_missing_lists_as_misses():
    users = ["alice", "bob", "carol"]
    metrics = ranking_metrics(TRUTH, RECOMMENDED, 3, users=users)
    assert metrics["precision"] == pytest.approx((2 / 3) / 3)
    assert ranking_metrics(TRUTH, RECOMMENDED, 3, users=["nobody"])["precision"] == 0.0


def test_microsoft_recommenders_example():
    """A worked example with Microsoft Recommenders' formulas (python_evaluation.py).

    Two users, k = 4. User 1: relevant {1, 2, 3}, top-4 [1, 4, 2, 5] → hits at ranks 1 and 3.
    User 2: relevant {6}, top-4 [7, 6, 8, 9] → hit at rank 2.
    precision = (2/4 + 1/4) / 2 = 0.375; recall = (2/3 + 1/1) / 2 = 0.8333;
    nDCG: user 1 (1/ln 2 + 1/ln 4) / (1/ln 2 + 1/ln 3 + 1/ln 4) = 0.7039, user 2
    (1/ln 3) / (1/ln 2) = 0.6309, mean 0.6674;
    map: user 1 (1/1 + 2/3) / 3 = 0.5556, user 2 (1/2) / 1 = 0.5, mean 0.5278 (= map_at_k,
    since every user has at most k relevant items).
    """
    truth = pd.DataFrame({"user_id": [1, 1, 1, 2], "item_id": [1, 2, 3, 6]})
    recommended = {1: [1, 4, 2, 5], 2: [7, 6, 8, 9]}
    metrics = ranking_metrics(truth, recommended, k=4)
    assert metrics["precision"] == pytest.approx(0.375)
    assert metrics["recall"] == pytest.approx(0.8333, abs=1e-4)
    assert metrics["ndcg"] == pytest.approx(0.6674, abs=1e-4)
    assert metrics["map"] == pytest.approx(0.5278, abs=1e-4)
    assert metrics["map_at_k"] == pytest.approx(metrics["map"])


def test_catalogue_coverage():
    recommended = {1: ["a", "b", "c"], 2: ["a", "d"]}
    assert catalogue_coverage(recommended, "abcdefgh") == pytest.approx(4 / 8)
    assert catalogue_coverage(recommended, "abcdefgh", k=1) == pytest.approx(1 / 8)
    assert catalogue_coverage(recommended, []) == 0.0


def _interactions(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(u, int(i)) for u in range(40) for i in rng.choice(200, rng.integers(1, 30), False)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id"])
    return frame.assign(timestamp=rng.integers(0, 100 * 86_400, len(frame)))


@pytest.mark.parametrize("by", ["user", "item"])
def test_stratified_split_keeps_the_ratio_per_group(by):
    data = _interactions()
    train, test = stratified_split(data, 0.75, by=by)
    column = f"{by}_id"
    assert len(train) + len(test) == len(data)
    assert not set(train.index) & set(test.index)
    sizes = data.groupby(column).size()
    kept = train.groupby(column).size().reindex(sizes.index, fill_value=0)
    # A row is in train when rank / size <= ratio: floor(0.75 * size) rows per group.
    assert (kept == np.floor(0.75 * sizes + 1e-9).astype(int)).all()


def test_stratified_split_is_microsoft_recommenders_procedure():
    data = _interactions()
    train, _ = stratified_split(data, 0.75, by="item", seed=42)
    # Their python_stratified_split, written out: seed the global generator, one draw per row,
    # sort by group and draw, keep rank / count <= ratio.
    np.random.seed(42)
    reference = data.assign(random=np.random.rand(len(data))).sort_values(["item_id", "random"])
    groups = reference.groupby("item_id")
    reference["rank"] = (groups.cumcount() + 1) / groups["item_id"].transform("count")
    expected = reference[reference["rank"] <= 0.75]
    assert sorted(train.index) == sorted(expected.index)
    other_seed, _ = stratified_split(data, 0.75, by="item", seed=1)
    assert sorted(other_seed.index) != sorted(train.index)


def test_temporal_split():
    data = _interactions()
    train, test = temporal_split(data, test_days=20)
    assert test["timestamp"].min() >= train["timestamp"].max()
    assert test["timestamp"].max() - test["timestamp"].min() < 20 * 86_400
    assert set(test["user_id"]) <= set(train["user_id"])

    new_train, new_test = temporal_split(data, test_days=20, new_items_only=True)
    seen = set(zip(new_train["user_id"], new_train["item_id"], strict=True))
    assert not seen & set(zip(new_test["user_id"], new_test["item_id"], strict=True))

    early, later = temporal_split(data, cutoff=50 * 86_400, test_days=10, known_users_only=False)
    assert early["timestamp"].max() < 50 * 86_400 <= later["timestamp"].min()
    assert later["timestamp"].max() < 60 * 86_400

    dated = data.assign(timestamp=pd.to_datetime(data["timestamp"], unit="s"))
    dated_train, _ = temporal_split(dated, test_days=20)
    assert len(dated_train) == len(train)


def test_evaluate_fits_times_and_scores(planted):
    result = evaluate(recsys.build("item_knn"), planted.train, planted.test, k=5)
    assert result.model == "item_knn"
    assert result.n_users == planted.test["user_id"].nunique()
    assert 0 < result.precision <= 1 and 0 < result.ndcg <= 1 and 0 < result.map <= 1
    assert 0 < result.coverage <= 1
    assert result.fit_seconds >= 0 and result.predict_seconds >= 0
    assert result.as_dict()["recall"] == result.recall


def test_evaluate_every_test_user_counts_empty_lists(repeats):
    # Customers unknown to training get nothing from buy_again.
    cold = repeats.test.assign(user_id=repeats.test["user_id"] + 10_000)
    test = pd.concat([repeats.test, cold])
    model = recsys.build("buy_again")
    common = evaluate(model, repeats.train, test, k=5, exclude_seen=False)
    every = evaluate(model, repeats.train, test, k=5, exclude_seen=False, every_test_user=True)
    assert common.precision > 0
    assert every.n_users == 2 * common.n_users
    assert every.precision == pytest.approx(common.precision / 2)
