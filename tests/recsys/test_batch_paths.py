"""The batch paths used by precomputation give exactly what the one-at-a-time paths give."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from personalization import recsys
from personalization.recsys.buy_again import BuyAgainRecommender
from personalization.recsys.hybrid import normalise_rows, normalise_sparse_rows

SIMILAR_MODELS = ["popular", "item_knn", "ease", "content", "default"]


@pytest.mark.parametrize("name", SIMILAR_MODELS)
def test_similar_items_many_equals_similar_items(planted, name: str) -> None:
    model = recsys.build(name).fit(planted.train, planted.items)
    items = [*model.item_ids_.tolist(), "no-such-item"]
    many = model.similar_items_many(items, k=7)
    assert list(many) == items
    assert many["no-such-item"] == []
    for item in items:
        assert many[item] == model.similar_items(item, k=7)


def test_similar_items_many_with_a_limited_ease_in_a_hybrid(planted) -> None:
    model = recsys.build(
        "hybrid",
        components=[["ease", {"max_items": 10}, 1.0], ["content", {}, 0.5]],
    ).fit(planted.train, planted.items)
    items = model.item_ids_.tolist()
    many = model.similar_items_many(items, k=5)
    assert all(many[item] == model.similar_items(item, k=5) for item in items)
    assert all(many[item] for item in items)  # content gives every item neighbours


@pytest.mark.parametrize("exclude_seen", [True, False])
def test_sparse_scoring_gives_the_dense_ranking(
    planted, monkeypatch: pytest.MonkeyPatch, exclude_seen: bool
) -> None:
    """buy_again alone and inside ``default`` rank the same through CSR rows as densely."""
    users = planted.test["user_id"].unique().tolist()
    for name in ("buy_again", "default"):
        model = recsys.build(name).fit(planted.train, planted.items)
        sparse = model.recommend_many(users, k=8, exclude_seen=exclude_seen)
        with monkeypatch.context() as patch:
            patch.setattr(BuyAgainRecommender, "_sparse_scores", lambda self, users: None)
            dense = model.recommend_many(users, k=8, exclude_seen=exclude_seen)
        assert sparse == dense
        assert any(sparse.values())


@pytest.mark.parametrize("method", ["minmax", "max", "none"])
def test_sparse_normalisation_equals_the_dense_one(method: str) -> None:
    rng = np.random.default_rng(3)
    dense = np.where(rng.random((6, 9)) < 0.4, rng.random((6, 9)) * 5, -np.inf)
    dense[2] = -np.inf  # a row without any score
    dense[3, 4] = 2.5  # a row with a single score
    dense[3, np.arange(9) != 4] = -np.inf
    matrix = sp.csr_matrix(np.where(np.isfinite(dense), dense, 0.0))
    values = normalise_sparse_rows(matrix, method)
    expected = normalise_rows(dense, method)
    rows = np.repeat(np.arange(6), np.diff(matrix.indptr))
    np.testing.assert_array_equal(values, expected[rows, matrix.indices])
    with pytest.raises(ValueError, match="normalisation"):
        normalise_sparse_rows(matrix, "zscore")
