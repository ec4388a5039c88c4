"""The estimator contract every model keeps."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from personalization import recsys
from personalization.recsys.base import NotFittedError, top_k

SMALL = {
    "ease": {"l2": 10.0},
    "svd": {"random_state": 0},
    "hybrid": {"components": [["ease", {"l2": 10.0}, 1.0], ["content", {}, 0.3]]},
}
NAMES = recsys.available()


def build(name: str) -> recsys.Recommender:
    return recsys.build(name, **SMALL.get(name, {}))


@pytest.fixture(scope="module")
def fitted(planted):
    return {name: build(name).fit(planted.train, planted.items) for name in NAMES}


def test_registry_lists_every_model_and_the_default():
    assert set(NAMES) >= {
        "popular",
        "item_knn",
        "ease",
        "svd",
        "knn_baseline",
        "content",
        "buy_again",
        "hybrid",
        "default",
    }
    assert recsys.build("default").name == "hybrid"
    with pytest.raises(ValueError, match="unknown recommender 'nope'.*ease"):
        recsys.build("nope")


@pytest.mark.parametrize("name", NAMES)
def test_hyperparameters_are_init_keywords(name):
    model = build(name)
    params = model.get_params()
    assert type(model)(**params).get_params() == params
    assert model.set_params(**params) is model
    with pytest.raises(ValueError, match="no hyperparameter"):
        model.set_params(not_a_parameter=1)
    assert repr(model).startswith(type(model).__name__ + "(")


@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_self_and_sets_fitted_attributes(planted, name):
    model = build(name)
    with pytest.raises(NotFittedError):
        model.recommend(0)
    assert model.fit(planted.train, planted.items) is model
    assert model.n_users == planted.train["user_id"].nunique()
    fitted = [key for key in vars(model) if key.endswith("_") and not key.startswith("_")]
    assert {"user_ids_", "item_ids_", "user_items_"} <= set(fitted)


@pytest.mark.parametrize("name", NAMES)
def test_recommend_returns_k_ranked_pairs(fitted, planted, name):
    ranked = fitted[name].recommend(0, k=4)
    assert 0 < len(ranked) <= 4
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(item, int) and isinstance(score, float) for item, score in ranked)
    assert len({item for item, _ in ranked}) == len(ranked)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "buy_again"])
def test_recommend_excludes_seen_items(fitted, planted, name):
    model = fitted[name]
    for user, history in planted.train.groupby("user_id")["item_id"]:
        ranked = model.recommend(user, k=20)
        assert not {item for item, _ in ranked} & set(history)


def test_buy_again_recommends_only_items_already_bought(fitted, planted):
    model = fitted["buy_again"]
    history = set(planted.train.loc[planted.train["user_id"] == 3, "item_id"])
    ranked = model.recommend(3, k=50)
    assert ranked and {item for item, _ in ranked} <= history
    assert model.recommend(3, k=50, exclude_seen=False) == ranked


def test_exclude_seen_false_can_return_seen_items(fitted, planted):
    model = fitted["ease"]
    history = set(planted.train.loc[planted.train["user_id"] == 0, "item_id"])
    ranked = model.recommend(0, k=len(model.item_ids_), exclude_seen=False)
    assert history <= {item for item, _ in ranked}


@pytest.mark.parametrize("name", NAMES)
def test_recommend_many_equals_recommend(fitted, name):
    model = fitted[name]
    users = [0, 1, 5, 8, 10_000]
    batch = model.recommend_many(users, k=6)
    assert list(batch) == users
    for user in users:
        single = model.recommend(user, k=6)
        # Same items in the same order; a matrix product over a block of users may differ from
        # a single user's in the last bit.
        assert [item for item, _ in batch[user]] == [item for item, _ in single]
        assert [s for _, s in batch[user]] == pytest.approx([s for _, s in single], rel=1e-9)
    from_array = model.recommend_many(np.array([1, 5]), k=6)[5]
    assert [item for item, _ in from_array] == [item for item, _ in batch[5]]


@pytest.mark.parametrize("name", NAMES)
def test_similar_items_never_include_the_item(fitted, name):
    model = fitted[name]
    for item in (0, 3, 101):
        similar = model.similar_items(item, k=8)
        assert similar, name
        assert item not in {other for other, _ in similar}
        assert all(score > 0 for _, score in similar)
    assert model.similar_items("no such item") == []


@pytest.mark.parametrize("name", [n for n in NAMES if n != "buy_again"])
def test_unknown_user_gets_the_popular_fallback(fitted, planted, name):
    model = fitted[name]
    assert not model.is_known_user(10_000)
    assert model.is_known_user(0)
    fallback = [item for item, _ in model.recommend(10_000, k=5)]
    counts = planted.train.groupby("item_id")["user_id"].nunique()
    assert len(fallback) == 5
    assert set(fallback) <= set(counts.index)
    assert min(counts[fallback]) >= counts.sort_values().iloc[-10]


def test_unknown_user_gets_nothing_from_buy_again(fitted):
    assert fitted["buy_again"].recommend(10_000) == []


@pytest.mark.parametrize("name", NAMES)
def test_models_pickle(fitted, name):
    model = fitted[name]
    copy = pickle.loads(pickle.dumps(model))
    assert copy.recommend_many([0, 1, 10_000], k=5) == model.recommend_many([0, 1, 10_000], k=5)


def test_string_ids_and_datetimes(planted):
    train = planted.train.assign(
        user_id="customer-" + planted.train["user_id"].astype(str),
        item_id="sku-" + planted.train["item_id"].astype(str),
        timestamp=pd.to_datetime(planted.train["timestamp"], unit="s", utc=True),
    )
    model = recsys.build("default").fit(train)
    ranked = model.recommend("customer-0", k=3)
    assert len(ranked) == 3 and all(item.startswith("sku-") for item, _ in ranked)


def test_weights_and_duplicates(planted):
    doubled = pd.concat([planted.train, planted.train])
    once = recsys.build("item_knn", binary=False).fit(planted.train)
    twice = recsys.build("item_knn", binary=False).fit(doubled)
    assert twice.user_items_.sum() == pytest.approx(2 * once.user_items_.sum())
    ratings = recsys.build("svd", random_state=0).fit(doubled)
    # Explicit ratings are averaged, not summed.
    assert ratings.user_items_.max() == planted.train["weight"].max()


def test_non_positive_weights_are_ignored_by_implicit_models(planted):
    train = planted.train.assign(weight=np.where(planted.train["user_id"] == 0, 0.0, 1.0))
    model = recsys.build("ease").fit(train)
    assert not model.is_known_user(0)


def test_bad_input_is_refused(planted):
    with pytest.raises(ValueError, match="lack the column"):
        recsys.build("ease").fit(planted.train.drop(columns="item_id"))
    with pytest.raises(ValueError, match="needs the items"):
        recsys.build("content").fit(planted.train)
    mixed = planted.train.assign(item_id=planted.train["item_id"].astype(object))
    mixed.loc[mixed.index[0], "item_id"] = "text"
    with pytest.raises(TypeError, match="all integers or all strings"):
        recsys.build("ease").fit(mixed)


def test_top_k_orders_ties_by_index_and_puts_nan_last():
    scores = np.array([[1.0, 3.0, np.nan, 3.0, 2.0]])
    assert top_k(scores, 3).tolist() == [[1, 3, 4]]
    assert top_k(scores, 10).tolist() == [[1, 3, 4, 0, 2]]
