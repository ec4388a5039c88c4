"""Public data sets and the offline protocols run on them, shared by ``evaluate_recommenders``
and the benchmark scripts.

* MovieLens 100k in the Microsoft Recommenders benchmark protocol: the ratings split 75/25 with
  ``python_stratified_split(data, ratio=0.75, filter_by="item", seed=42)`` (stratified per item:
  their notebook's call), every test rating relevant whatever its value, training items removed
  from each user's list, k = 10. Implicit models get every rating as weight 1; explicit ones
  (``svd``, ``knn_baseline``) get the ratings.
* UCI Online Retail with a temporal hold-out: train on everything before the last ``weeks``
  weeks, test on those weeks, for the customers who bought before; once with repeat purchases
  counted (``exclude_seen=False``) and once with only new items (``exclude_seen=True``). Every
  test customer counts (an empty list is no hit). The CSV is cleaned by
  :func:`personalization.recsys.online_retail.parse_online_retail`.

The data is not shipped (licences); the loaders take the path of a local copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .base import to_seconds
from .evaluation import evaluate, stratified_split, temporal_split
from .online_retail import parse_online_retail
from .registry import build

GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)


class DatasetError(ValueError):
    """A data set could not be read from the given path."""


@dataclass(frozen=True)
class Protocol:
    """One evaluation setting: a train/test split and how lists are made and scored.

    ``explicit_train`` is the training data with ratings as weights, for explicit models (when
    the data has ratings); ``every_test_user`` averages over all test users rather than those
    with a non-empty list.
    """

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    items: pd.DataFrame | None
    exclude_seen: bool
    every_test_user: bool
    explicit_train: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def train_for(self, explicit: bool) -> pd.DataFrame:
        """The training data a model gets: ratings as weights when it is explicit."""
        if explicit and self.explicit_train is not None:
            return self.explicit_train
        return self.train


# -- MovieLens 100k -------------------------------------------------------------------------------


def load_movielens(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Ratings (``user_id, item_id, rating, timestamp``) and, if ``u.item`` is there, the movies
    (``item_id, title, tags`` = genres, ``category`` = first genre)."""
    folder = Path(folder)
    ratings_file = folder / "u.data"
    if not ratings_file.is_file():
        raise DatasetError(f"{folder} has no u.data (the MovieLens 100k folder is expected)")
    ratings = pd.read_csv(
        ratings_file, sep="\t", names=["user_id", "item_id", "rating", "timestamp"]
    )
    item_file = folder / "u.item"
    if not item_file.exists():
        return ratings, None
    raw = pd.read_csv(item_file, sep="|", header=None, encoding="latin-1")
    flags = raw.iloc[:, 5 : 5 + len(GENRES)].to_numpy().astype(bool)
    tags = [[g for g, flag in zip(GENRES, row, strict=True) if flag] for row in flags]
    items = pd.DataFrame(
        {
            "item_id": raw[0],
            "title": raw[1],
            "tags": tags,
            "category": [t[0] if t else None for t in tags],
        }
    )
    return ratings, items


def as_interactions(ratings: pd.DataFrame, explicit: bool) -> pd.DataFrame:
    """Ratings as the models' input: the rating as weight for explicit models, else 1."""
    weight = ratings["rating"].astype(float) if explicit else 1.0
    return ratings.drop(columns="rating").assign(weight=weight)


def movielens_protocol(
    ratings: pd.DataFrame, items: pd.DataFrame | None, seed: int = 42
) -> Protocol:
    """Microsoft Recommenders' MovieLens benchmark setting (see the module docstring)."""
    train, test = stratified_split(ratings, 0.75, by="item", seed=seed)
    return Protocol(
        name="MovieLens 100k (Microsoft Recommenders protocol, k = 10)",
        train=as_interactions(train, explicit=False),
        test=test,
        items=items,
        exclude_seen=True,
        every_test_user=False,
        explicit_train=as_interactions(train, explicit=True),
        notes=[f"{len(ratings):,} ratings; train {len(train):,}, test {len(test):,}"],
    )


# -- Online Retail --------------------------------------------------------------------------------


def load_online_retail(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Interactions (one per order line: ``user_id`` = customer, ``item_id`` = stock code,
    ``timestamp`` = order date, weight 1), items (name, category, price) and a summary line."""
    try:
        data = parse_online_retail(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    except ValueError as exc:
        raise DatasetError(f"{path} is not the Online Retail CSV: {exc}") from exc
    lines = data.lines.merge(
        data.orders[["customer", "created_at"]], left_on="invoice", right_index=True
    )
    interactions = pd.DataFrame(
        {
            "user_id": lines["customer"].astype(str).to_numpy(),
            "item_id": lines["sku"].to_numpy(),
            "timestamp": lines["created_at"].to_numpy(),
        }
    )
    items = pd.DataFrame(
        {
            "item_id": data.products.index,
            "title": data.products["name"].to_numpy(),
            "category": data.products["category"].to_numpy(),
            "price": data.products["price_pence"].to_numpy() / 100,
        }
    )
    summary = (
        f"Online Retail: {data.rows_read:,} rows read, {data.rows_imported:,} kept "
        f"({len(interactions):,} order lines, {interactions['user_id'].nunique():,} customers, "
        f"{len(items):,} products); skipped: {data.skipped}"
    )
    return interactions, items, summary


def temporal_protocols(
    interactions: pd.DataFrame,
    items: pd.DataFrame | None,
    weeks: float = 4,
    label: str = "Online Retail",
) -> list[Protocol]:
    """Two temporal hold-outs of the last ``weeks`` weeks: repeats counted, only new items."""
    days = 7.0 * weeks
    train, test = temporal_split(interactions, test_days=days)
    new_train, new_test = temporal_split(interactions, test_days=days, new_items_only=True)
    _, everyone = temporal_split(interactions, test_days=days, known_users_only=False)
    buyers = set(everyone["user_id"])
    newcomers = len(buyers - set(train["user_id"]))
    note = (
        f"{newcomers:,} of {len(buyers):,} people of the test weeks were new (left out: every "
        "model gives them its fallback)"
    )
    return [
        Protocol(
            name=f"{label}, last {weeks:g} weeks, repeat purchases counted (exclude_seen=False)",
            train=train,
            test=test,
            items=items,
            exclude_seen=False,
            every_test_user=True,
            notes=[note, _window(train, test)],
        ),
        Protocol(
            name=f"{label}, last {weeks:g} weeks, only new items (exclude_seen=True)",
            train=new_train,
            test=new_test,
            items=items,
            exclude_seen=True,
            every_test_user=True,
            notes=[_window(new_train, new_test)],
        ),
    ]


def _window(train: pd.DataFrame, test: pd.DataFrame) -> str:
    last = pd.Timestamp(float(to_seconds(train["timestamp"]).max()), unit="s", tz="UTC")
    return (
        f"train {len(train):,} rows up to {last:%Y-%m-%d}; test {len(test):,} rows, "
        f"{test['user_id'].nunique():,} people"
    )


# -- running ---------------------------------------------------------------------------------------


def run_protocol(
    protocol: Protocol, models: Sequence[tuple[str, str, dict[str, Any]]], k: int = 10
) -> list[dict[str, Any]]:
    """Evaluate ``(label, registry name, params)`` models; one result dict per model.

    A model that needs item features is left out when the protocol has none.
    """
    rows = []
    for label, name, params in models:
        model = build(name, **params)
        if model.needs_items and protocol.items is None:
            continue
        result = evaluate(
            model,
            protocol.train_for(model.explicit),
            protocol.test,
            items=protocol.items,
            k=k,
            exclude_seen=protocol.exclude_seen,
            every_test_user=protocol.every_test_user,
            name=label,
        )
        rows.append(result.as_dict())
    return rows


def markdown_table(rows: Sequence[dict[str, Any]], k: int = 10) -> list[str]:
    """The results as the lines of a Markdown table (the layout of docs/recommendations.md)."""
    lines = [
        f"| model | precision@{k} | recall@{k} | nDCG@{k} | MAP | MAP@{k} | coverage | fit s "
        "| predict s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['precision']:.4f} | {row['recall']:.4f} | "
            f"{row['ndcg']:.4f} | {row['map']:.4f} | {row['map_at_k']:.4f} | "
            f"{row['coverage']:.3f} | {row['fit_seconds']:.2f} | {row['predict_seconds']:.2f} |"
        )
    return lines
