"""EASE restricted to the most popular items (``max_items``), alone and inside a hybrid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from personalization import recsys


def interactions() -> pd.DataFrame:
    """Items 0-5 are popular (many users), 6-9 rare; users share blocks of items."""
    rows = []
    for user in range(40):
        popular = [0, 1, 2] if user % 2 else [3, 4, 5]
        for item in popular:
            rows.append((user, item))
        if user < 4:
            rows.append((user, 6 + user))
    return pd.DataFrame(rows, columns=["user_id", "item_id"])


def test_only_the_most_popular_items_are_modelled() -> None:
    model = recsys.build("ease", l2=1.0, max_items=6).fit(interactions())
    assert model.weights_.shape == (6, 6)
    assert sorted(model.item_ids_[model.columns_].tolist()) == [0, 1, 2, 3, 4, 5]
    # A user of the 0-2 block is recommended the rest of it, never a rare item.
    user = 1
    ranked = [item for item, _ in model.recommend(user, k=10, exclude_seen=False)]
    assert set(ranked) <= {0, 1, 2, 3, 4, 5}
    assert set(ranked[:3]) == {0, 1, 2}
    assert model.similar_items(7) == []  # a rare item has no neighbours
    assert {item for item, _ in model.similar_items(0, k=2)} == {1, 2}


def test_the_limit_keeps_rankings_of_the_kept_items_close_to_the_full_model() -> None:
    data = interactions()
    full = recsys.build("ease", l2=1.0).fit(data)
    limited = recsys.build("ease", l2=1.0, max_items=100).fit(data)
    assert limited.columns_ is None  # the limit is above the number of items
    np.testing.assert_allclose(limited.weights_, full.weights_)


def test_saved_and_pickled_copies_score_the_same(tmp_path) -> None:
    import pickle

    model = recsys.build("ease", l2=1.0, max_items=6).fit(interactions())
    loaded = recsys.load(model.save(tmp_path / "ease.npz"))
    copied = pickle.loads(pickle.dumps(model))
    for other in (loaded, copied):
        assert other.recommend(1, k=5) == model.recommend(1, k=5)
        assert other.similar_items(3, k=3) == model.similar_items(3, k=3)


def test_in_a_hybrid_other_components_still_rank_the_rare_items() -> None:
    hybrid = recsys.build(
        "hybrid",
        components=[["ease", {"l2": 1.0, "max_items": 6}, 1.0], ["item_knn", {}, 1.0]],
    ).fit(interactions())
    ranked = [item for item, _ in hybrid.recommend(0, k=10)]
    assert any(item >= 6 for item in ranked)


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_items"):
        recsys.build("ease", max_items=0).fit(interactions())
