"""Offline evaluation: train/test splits, ranking metrics and a harness that times a model.

The ranking metrics follow the definitions of Microsoft Recommenders
(``recommenders/evaluation/python_evaluation.py``), so figures compare with that project's
published benchmark. Each user's list is cut to its first ``k`` items; a user's relevant items
are their test items; the metrics are means over the users that have test items and at least
one recommendation (Microsoft's "common users"), unless ``users`` names the users to average
over (then a user without recommendations counts with zero hits):

* ``precision@k`` = hits / k (also when fewer than k items were recommended);
* ``recall@k`` = hits / number of relevant items;
* ``nDCG@k``, binary relevance: the sum of ``1 / ln(1 + rank)`` over the hits, divided by the
  same sum over ranks ``1 .. min(relevant, k)`` (the log base cancels out);
* ``MAP`` (their ``map``, the "MAP" column of their benchmark table): the sum over hits of
  ``(hits so far) / rank``, divided by the number of relevant items;
* ``MAP@k`` (their ``map_at_k``): the same sum divided by ``min(relevant, k)``;
* catalogue coverage (their ``catalog_coverage``): distinct recommended items / distinct items
  of the training data.

One subtlety: Microsoft's current ``ndcg_at_k`` averages over every user of the test data, even
those without recommendations, where the other metrics use the common users; here every metric
uses the same users. The two agree whenever every test user gets recommendations, as in their
benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from .base import Recommender, to_seconds

Truth = Mapping[Hashable, Collection[Hashable]] | pd.DataFrame
Ranked = Mapping[Hashable, Sequence[Any]]


# -- splits -------------------------------------------------------------------------------------


def stratified_split(
    data: pd.DataFrame,
    ratio: float = 0.75,
    *,
    by: str = "user",
    seed: int = 42,
    user_col: str = "user_id",
    item_col: str = "item_id",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random split that keeps ``ratio`` of each user's (``by="user"``) or item's rows in train.

    The same procedure as Microsoft Recommenders' ``python_stratified_split`` (and the same
    split for the same data and seed): every row draws ``RandomState(seed).rand()``, rows are
    ordered by group then draw, and a row goes to train when its rank within its group divided
    by the group's size is at most ``ratio``. A group with a single row therefore goes to test
    entirely. Their MovieLens benchmark notebook calls it with ``filter_by="item"``: stratified
    per item. Both frames keep the input's row order and index.
    """
    if by not in ("user", "item"):
        raise ValueError("by must be 'user' or 'item'")
    if not 0 < ratio < 1:
        raise ValueError("ratio must be between 0 and 1")
    column = user_col if by == "user" else item_col
    draws = np.random.RandomState(seed).rand(len(data))
    order = pd.DataFrame({"group": data[column].to_numpy(), "draw": draws}).sort_values(
        ["group", "draw"]
    )
    groups = order.groupby("group", sort=False)["group"]
    fraction = (groups.cumcount() + 1) / groups.transform("count")
    in_train = np.zeros(len(data), dtype=bool)
    in_train[order.index.to_numpy()] = (fraction <= ratio).to_numpy()
    return data[in_train], data[~in_train]


def temporal_split(
    data: pd.DataFrame,
    *,
    cutoff: Any = None,
    test_days: float = 28.0,
    time_col: str = "timestamp",
    user_col: str = "user_id",
    item_col: str = "item_id",
    known_users_only: bool = True,
    new_items_only: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on everything before ``cutoff``, test on the ``test_days`` that follow it.

    ``cutoff`` (a datetime or seconds, like the time column) defaults to the newest time minus
    ``test_days``. ``known_users_only`` keeps only test rows of users who are in train (the
    ones a collaborative model can personalise for); ``new_items_only`` drops test rows of
    user–item pairs already in train (the "only new items" variant; without it repeat purchases
    count).
    """
    seconds = to_seconds(data[time_col])
    start = float(np.nanmax(seconds)) - test_days * 86_400.0
    if cutoff is not None:
        start = float(to_seconds(pd.Series([cutoff]))[0])
    end = start + test_days * 86_400.0
    train = data[seconds < start]
    test = data[(seconds >= start) & (seconds < end)]
    if known_users_only:
        test = test[test[user_col].isin(set(train[user_col]))]
    if new_items_only:
        seen = pd.MultiIndex.from_frame(train[[user_col, item_col]])
        pairs = pd.MultiIndex.from_frame(test[[user_col, item_col]])
        test = test[~pairs.isin(seen)]
    return train, test


# -- metrics ------------------------------------------------------------------------------------


def relevant_items(
    truth: Truth, user_col: str = "user_id", item_col: str = "item_id"
) -> dict[Hashable, set[Hashable]]:
    """Each user's set of relevant items, from a mapping or a DataFrame of test rows."""
    if isinstance(truth, pd.DataFrame):
        grouped = truth.groupby(user_col, sort=False)[item_col]
        return {user: set(values) for user, values in grouped}
    return {user: set(values) for user, values in truth.items() if len(values)}


def _item_lists(recommended: Ranked, k: int) -> dict[Hashable, list[Hashable]]:
    lists = {}
    for user, ranked in recommended.items():
        items = [entry[0] if isinstance(entry, tuple) else entry for entry in list(ranked)[:k]]
        if items:
            lists[user] = items
    return lists


def _per_user(
    truth: Truth, recommended: Ranked, k: int, users: Iterable[Hashable] | None
) -> tuple[list[np.ndarray], list[int]]:
    """For each evaluated user: the hit flags of their top ``k`` and their number of relevant."""
    relevant = relevant_items(truth)
    lists = _item_lists(recommended, k)
    chosen = (
        [u for u in relevant if u in lists]
        if users is None
        else [u for u in dict.fromkeys(users) if u in relevant]
    )
    hits = [
        np.array([item in relevant[u] for item in lists.get(u, [])], dtype=bool) for u in chosen
    ]
    return hits, [len(relevant[u]) for u in chosen]


def ranking_metrics(
    truth: Truth,
    recommended: Ranked,
    k: int = 10,
    users: Iterable[Hashable] | None = None,
) -> dict[str, float]:
    """precision@k, recall@k, nDCG@k, MAP and MAP@k in one pass (see the module docstring).

    ``truth`` maps users to relevant items (or is a DataFrame of test rows); ``recommended``
    maps users to ranked lists of items or ``(item, score)`` pairs.
    """
    hits, n_relevant = _per_user(truth, recommended, k, users)
    if not hits:
        return dict.fromkeys(("precision", "recall", "ndcg", "map", "map_at_k"), 0.0)
    precision = recall = ndcg = average = average_k = 0.0
    for flags, relevant in zip(hits, n_relevant, strict=True):
        ranks = np.flatnonzero(flags) + 1
        n_hits = len(ranks)
        precision += n_hits / k
        recall += n_hits / relevant
        ideal = (1.0 / np.log1p(np.arange(1, min(relevant, k) + 1))).sum()
        ndcg += (1.0 / np.log1p(ranks)).sum() / ideal
        reciprocal = (np.arange(1, n_hits + 1) / ranks).sum()
        average += reciprocal / relevant
        average_k += reciprocal / min(relevant, k)
    n = len(hits)
    return {
        "precision": precision / n,
        "recall": recall / n,
        "ndcg": ndcg / n,
        "map": average / n,
        "map_at_k": average_k / n,
    }


def precision_at_k(truth: Truth, recommended: Ranked, k: int = 10, users=None) -> float:
    """Mean of hits / k (Microsoft Recommenders' ``precision_at_k``)."""
    return ranking_metrics(truth, recommended, k, users)["precision"]


def recall_at_k(truth: Truth, recommended: Ranked, k: int = 10, users=None) -> float:
    """Mean of hits / relevant items (``recall_at_k``)."""
    return ranking_metrics(truth, recommended, k, users)["recall"]


def ndcg_at_k(truth: Truth, recommended: Ranked, k: int = 10, users=None) -> float:
    """Mean binary nDCG with the ``1 / ln(1 + rank)`` discount (``ndcg_at_k``)."""
    return ranking_metrics(truth, recommended, k, users)["ndcg"]


def map_score(truth: Truth, recommended: Ranked, k: int = 10, users=None) -> float:
    """Mean average precision over the top k, divided by all relevant items (``map``)."""
    return ranking_metrics(truth, recommended, k, users)["map"]


def map_at_k(truth: Truth, recommended: Ranked, k: int = 10, users=None) -> float:
    """Mean average precision divided by ``min(relevant, k)`` (``map_at_k``)."""
    return ranking_metrics(truth, recommended, k, users)["map_at_k"]


def catalogue_coverage(
    recommended: Ranked, catalogue: Iterable[Hashable], k: int | None = None
) -> float:
    """Distinct recommended items (in the first ``k`` of each list) / distinct catalogue items."""
    catalogue = set(catalogue)
    if not catalogue:
        return 0.0
    lists = _item_lists(recommended, k if k is not None else 1 << 62)
    shown = {item for items in lists.values() for item in items}
    return len(shown) / len(catalogue)


# -- harness ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationResult:
    """What :func:`evaluate` measured for one model."""

    model: str
    precision: float
    recall: float
    ndcg: float
    map: float
    map_at_k: float
    coverage: float
    fit_seconds: float
    predict_seconds: float
    n_users: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(
    model: Recommender,
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    items: pd.DataFrame | None = None,
    k: int = 10,
    exclude_seen: bool = True,
    every_test_user: bool = False,
    name: str | None = None,
) -> EvaluationResult:
    """Fit ``model`` on ``train``, recommend ``k`` items to every test user, and score them.

    The test DataFrame's rows are the relevant items. ``every_test_user`` averages over all test
    users (an empty list counts as no hits) rather than Microsoft's common users, which is the
    fair choice when a model may return nothing (``buy_again``). Times are wall-clock seconds:
    ``fit`` and one ``recommend_many`` call for all test users.
    """
    started = time.perf_counter()
    model.fit(train, items)
    fitted = time.perf_counter()
    test_users = list(dict.fromkeys(test["user_id"].tolist()))
    recommended = model.recommend_many(test_users, k=k, exclude_seen=exclude_seen)
    predicted = time.perf_counter()
    metrics = ranking_metrics(test, recommended, k, test_users if every_test_user else None)
    evaluated = (
        len(test_users) if every_test_user else sum(1 for u in test_users if recommended.get(u))
    )
    return EvaluationResult(
        model=name or model.name,
        coverage=catalogue_coverage(recommended, train["item_id"].unique(), k),
        fit_seconds=fitted - started,
        predict_seconds=predicted - fitted,
        n_users=evaluated,
        **metrics,
    )
