"""Generated data with planted patterns for the recommendation core (no database)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from personalization.recsys.evaluation import ranking_metrics

DAY = 86_400
START = 1_700_000_000  # seconds; any fixed origin
ITEMS_PER_CLUSTER = 30
THEMES = (
    ("garden", "Garden", ("rose", "hose", "trowel", "seed", "lawn"), (5.0, 15.0)),
    ("kitchen", "Kitchen", ("pan", "knife", "spoon", "kettle", "whisk"), (40.0, 120.0)),
)


@dataclass(frozen=True)
class Planted:
    """A train/test split of generated interactions, and the catalogue."""

    train: pd.DataFrame
    test: pd.DataFrame
    items: pd.DataFrame

    def random_precision(
        self, k: int, unseen_only: bool = True, seed: int = 0, rounds: int = 20
    ) -> float:
        """precision@k of ``k`` random catalogue items (unseen ones only, by default), averaged."""
        rng = np.random.default_rng(seed)
        catalogue = self.items["item_id"].tolist()
        seen = self.train.groupby("user_id")["item_id"].apply(set).to_dict()
        users = self.test["user_id"].unique().tolist()
        candidates = {
            u: [i for i in catalogue if not (unseen_only and i in seen.get(u, set()))]
            for u in users
        }
        values = []
        for _ in range(rounds):
            recommended = {u: list(rng.permutation(candidates[u])[:k]) for u in users}
            values.append(ranking_metrics(self.test, recommended, k, users)["precision"])
        return float(np.mean(values))


def make_catalogue() -> pd.DataFrame:
    """Two themed clusters of items: words in the title, a category and a price band each."""
    rows = []
    for cluster, (theme, category, words, (low, high)) in enumerate(THEMES):
        for n in range(ITEMS_PER_CLUSTER):
            rows.append(
                {
                    "item_id": cluster * 100 + n,
                    "title": f"{words[n % len(words)]} {theme} set {n}",
                    "description": f"a {theme} product for every {theme} lover",
                    "category": category,
                    "tags": [theme, words[n % len(words)]],
                    "price": low + (high - low) * n / ITEMS_PER_CLUSTER,
                }
            )
    return pd.DataFrame(rows)


def make_planted(seed: int = 7, n_users: int = 120) -> Planted:
    """Two groups of users, each mostly consuming one item cluster, with a popularity skew.

    Every user rates 12 items of their own cluster (4–5 stars; the popular ones of the cluster
    more often) and 2 of the other cluster (1–2 stars); 3 of their own-cluster items, chosen at
    random, are held out as the test set.
    """
    rng = np.random.default_rng(seed)
    items = make_catalogue()
    ranks = np.arange(ITEMS_PER_CLUSTER)
    skew = 1.0 / (ranks + 1.0) ** 0.8
    skew /= skew.sum()
    train_rows, test_rows = [], []
    for user in range(n_users):
        group = user % 2
        own = group * 100 + rng.choice(ITEMS_PER_CLUSTER, size=12, replace=False, p=skew)
        other = (1 - group) * 100 + rng.choice(ITEMS_PER_CLUSTER, size=2, replace=False)
        held = set(rng.choice(own, size=3, replace=False).tolist())
        day = 0
        for item, rating in [(i, rng.integers(4, 6)) for i in own] + [
            (i, rng.integers(1, 3)) for i in other
        ]:
            day += int(rng.integers(1, 4))
            row = {
                "user_id": user,
                "item_id": int(item),
                "weight": float(rating),
                "timestamp": START + day * DAY,
            }
            (test_rows if int(item) in held else train_rows).append(row)
    return Planted(pd.DataFrame(train_rows), pd.DataFrame(test_rows), items)


def make_repeat_purchases(seed: int = 11, n_users: int = 80) -> Planted:
    """Customers who keep re-buying their own few staples, plus one-off purchases.

    Each customer has 3 staples bought about every 2 weeks for 20 weeks and 6 one-off items;
    the test set is what they buy in the 4 weeks after the training data ends: their staples.
    """
    rng = np.random.default_rng(seed)
    items = make_catalogue()
    catalogue = items["item_id"].to_numpy()
    train_rows, test_rows = [], []
    end = 140
    for user in range(n_users):
        staples = rng.choice(catalogue, size=3, replace=False)
        for item in staples:
            day = int(rng.integers(0, 14))
            while day < end + 28:
                row = {"user_id": user, "item_id": int(item), "timestamp": START + day * DAY}
                (train_rows if day < end else test_rows).append(row)
                day += int(rng.integers(10, 19))
        for item in rng.choice(catalogue, size=6, replace=False):
            day = int(rng.integers(0, end))
            train_rows.append(
                {"user_id": user, "item_id": int(item), "timestamp": START + day * DAY}
            )
    train = pd.DataFrame(train_rows)
    test = pd.DataFrame(test_rows).drop_duplicates(["user_id", "item_id"])
    return Planted(train, test, items)


@pytest.fixture(scope="session")
def planted() -> Planted:
    return make_planted()


@pytest.fixture(scope="session")
def repeats() -> Planted:
    return make_repeat_purchases()


@pytest.fixture(scope="session")
def catalogue() -> pd.DataFrame:
    return make_catalogue()
