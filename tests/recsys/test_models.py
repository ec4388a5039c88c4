"""Every model must find the planted pattern: clearly better than random recommendations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import surprise

from personalization import recsys
from personalization.recsys.evaluation import evaluate
from personalization.recsys.hybrid import normalise_rows

K = 5

#: Model configurations checked on the planted-cluster data (the ``hybrid`` with content, so
#: that its blending and the content component are exercised too).
CONFIGURATIONS = {
    "popular": {},
    "item_knn": {},
    "ease": {"l2": 10.0},
    "svd": {"random_state": 0, "n_epochs": 40},
    "knn_baseline": {},
    "content": {},
    "hybrid": {"components": [["ease", {"l2": 10.0}, 1.0], ["content", {}, 0.3]]},
    "default": {},
}


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_beats_random_on_planted_clusters(planted, name):
    model = recsys.build(name, **CONFIGURATIONS[name])
    result = evaluate(model, planted.train, planted.test, items=planted.items, k=K)
    baseline = planted.random_precision(K)
    # Popularity only sees the skew inside the clusters; the others also find the clusters.
    factor = 1.5 if name == "popular" else 2.0
    assert result.precision > factor * baseline, (result, baseline)


def test_buy_again_beats_random_on_repeat_purchases(repeats):
    model = recsys.build("buy_again")
    result = evaluate(model, repeats.train, repeats.test, k=K, exclude_seen=False)
    baseline = repeats.random_precision(K, unseen_only=False)
    assert result.precision > 3 * baseline, (result, baseline)


def test_default_lifts_repeat_purchases_when_seen_items_are_allowed(repeats):
    with_repeats = evaluate(
        recsys.build("default"), repeats.train, repeats.test, k=K, exclude_seen=False
    )
    ease_only = evaluate(recsys.build("ease"), repeats.train, repeats.test, k=K, exclude_seen=False)
    assert with_repeats.precision > ease_only.precision + 0.1


def test_content_recommends_new_items_of_the_right_cluster(planted):
    # A catalogue item nobody has touched yet is known to the content model only.
    new_item = {
        "item_id": 999,
        "title": "rose garden arch",
        "description": "for the garden",
        "category": "Garden",
        "tags": ["garden"],
        "price": 9.0,
    }
    items = pd.concat([planted.items, pd.DataFrame([new_item])], ignore_index=True)
    model = recsys.build("content").fit(planted.train, items)
    neighbours = [item for item, _ in model.similar_items(999, k=10)]
    assert neighbours and all(item < 100 for item in neighbours)  # garden items
    garden_user = 0  # even users belong to the garden cluster
    scores = dict(model.recommend(garden_user, k=len(items)))
    kitchen_user = 1
    assert scores[999] > dict(model.recommend(kitchen_user, k=len(items))).get(999, 0.0)


def test_hybrid_gives_cold_items_content_neighbours(planted):
    new_item = {
        "item_id": 999,
        "title": "kettle kitchen",
        "description": "kitchen",
        "category": "Kitchen",
        "tags": ["kitchen"],
        "price": 60.0,
    }
    items = pd.concat([planted.items, pd.DataFrame([new_item])], ignore_index=True)
    model = recsys.build(
        "hybrid", components=[["ease", {"l2": 10.0}, 1.0], ["content", {}, 0.5]]
    ).fit(planted.train, items)
    assert model.is_known_item(999)
    neighbours = [item for item, _ in model.similar_items(999, k=5)]
    assert neighbours and all(item >= 100 for item in neighbours)  # kitchen items


def test_hybrid_leaves_out_content_without_items(planted):
    model = recsys.build("hybrid", components=[["ease", {}, 1.0], ["content", {}, 0.5]]).fit(
        planted.train
    )
    assert [m.name for m in model.components_] == ["ease"]


def test_svd_predicts_ratings_with_surprises_fallbacks(planted):
    # Surprise's default learning rate barely moves the factors on data this small.
    model = recsys.build("svd", random_state=0, n_epochs=60, lr_all=0.02).fit(planted.train)
    # Held-out items of the user's own cluster (rated 4-5) against the other cluster's items.
    own = model.predict(planted.test["user_id"], planted.test["item_id"])
    other_items = (planted.test["item_id"] + 100) % 200
    other = model.predict(planted.test["user_id"], other_items)
    assert own.min() >= 1.0 and own.max() <= 5.0
    assert own.mean() > other.mean() + 1.0
    # An unknown user gets Surprise's fallback: the global mean plus the item's bias.
    item = int(planted.test["item_id"].iloc[0])
    fallback = model.predict([10_000], [item], clip=False)[0]
    column = model._item_index[item]
    assert fallback == pytest.approx(model.global_mean_ + model.item_bias_[column])


def test_knn_baseline_predicts_what_surprise_predicts(planted):
    options = {"name": "pearson_baseline", "user_based": False, "shrinkage": 100}
    reader = surprise.Reader(rating_scale=(1, 5))
    data = surprise.Dataset.load_from_df(planted.train[["user_id", "item_id", "weight"]], reader)
    reference = surprise.KNNBaseline(k=40, sim_options=options, verbose=False)
    reference.fit(data.build_full_trainset())
    model = recsys.build("knn_baseline", rating_scale=(1, 5)).fit(planted.train)

    pairs = planted.test[["user_id", "item_id"]].head(60)
    ours = model.predict(pairs["user_id"], pairs["item_id"])
    theirs = [reference.predict(u, i).est for u, i in pairs.itertuples(index=False)]
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_normalise_rows():
    scores = np.array([[2.0, -np.inf, 4.0, 3.0], [5.0, 5.0, -np.inf, -np.inf]])
    np.testing.assert_allclose(normalise_rows(scores), [[0, 0, 1, 0.5], [1, 1, 0, 0]])
    np.testing.assert_allclose(normalise_rows(scores, "max"), [[0.5, 0, 1, 0.75], [1, 1, 0, 0]])
    np.testing.assert_allclose(normalise_rows(scores, "none"), [[2, 0, 4, 3], [5, 5, 0, 0]])
    with pytest.raises(ValueError, match="unknown normalisation"):
        normalise_rows(scores, "rank")
