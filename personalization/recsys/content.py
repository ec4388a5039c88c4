"""Content-based recommendations from item features (text, category, price) with scikit-learn."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import MinMaxScaler, normalize

from .base import Interactions, Recommender

TEXT_COLUMNS = ("title", "description", "tags")


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return " ".join(str(v) for v in value)
    return str(value)


class ContentRecommender(Recommender):
    """Items described by their features; users by the weighted mean of their items' vectors.

    An item's vector joins three L2-normalised blocks, each multiplied by its weight, and is then
    normalised again, so dot products are cosine similarities:

    * TF-IDF (sublinear term frequencies, English stop words) over ``title``, ``description``
      and ``tags`` (a string or a list of strings);
    * one-hot ``category``;
    * the price, as ``(s, 1 - s)`` where ``s`` is the min–max scaled log price, so two items
      are the more alike the closer their prices are.

    Missing columns or values leave their block empty. Catalogue items without interactions are
    scored too (this is how new products get recommended); ``similar_items`` is the cosine
    similarity of the vectors.
    """

    name = "content"
    positive_scores_only = True
    uses_catalogue = True
    needs_items = True

    def __init__(
        self,
        text_weight: float = 1.0,
        category_weight: float = 0.5,
        price_weight: float = 0.25,
        max_features: int = 20_000,
        min_df: int = 1,
        ngram_max: int = 1,
    ) -> None:
        self.text_weight = text_weight
        self.category_weight = category_weight
        self.price_weight = price_weight
        self.max_features = max_features
        self.min_df = min_df
        self.ngram_max = ngram_max

    def _fit(self, data: Interactions, items: pd.DataFrame | None) -> None:
        assert items is not None  # guaranteed by needs_items
        catalogue = items.drop_duplicates("item_id", keep="last").set_index("item_id")
        catalogue = catalogue.reindex(pd.Index(data.item_ids.tolist(), dtype=object))
        blocks = []
        text_columns = [c for c in TEXT_COLUMNS if c in catalogue.columns]
        if text_columns and self.text_weight:
            documents = [
                " ".join(_text(row[c]) for c in text_columns)
                for _, row in catalogue[text_columns].iterrows()
            ]
            if any(doc.strip() for doc in documents):
                vectorizer = TfidfVectorizer(
                    sublinear_tf=True,
                    stop_words="english",
                    max_features=self.max_features,
                    min_df=self.min_df,
                    ngram_range=(1, int(self.ngram_max)),
                )
                # ValueError: every word is a stop word or too rare, so no text block.
                with contextlib.suppress(ValueError):
                    blocks.append(self.text_weight * vectorizer.fit_transform(documents))
        if "category" in catalogue.columns and self.category_weight:
            categories = catalogue["category"].map(_text)
            codes, _ = pd.factorize(categories.where(categories != "", None))
            known = codes >= 0
            if known.any():
                onehot = sp.csr_matrix(
                    (np.ones(known.sum()), (np.flatnonzero(known), codes[known])),
                    shape=(len(codes), codes.max() + 1),
                )
                blocks.append(self.category_weight * onehot)
        if "price" in catalogue.columns and self.price_weight:
            price = pd.to_numeric(catalogue["price"], errors="coerce").to_numpy(dtype=float)
            valid = np.isfinite(price) & (price > 0)
            if valid.any():
                scaled = np.zeros(len(price))
                scaled[valid] = MinMaxScaler().fit_transform(np.log(price[valid])[:, None]).ravel()
                pair = np.zeros((len(price), 2))
                pair[valid, 0] = scaled[valid]
                pair[valid, 1] = 1.0 - scaled[valid]
                blocks.append(self.price_weight * sp.csr_matrix(normalize(pair)))
        if not blocks:
            raise ValueError("the items DataFrame has no usable features")
        features = sp.hstack(blocks, format="csr", dtype=np.float64)
        self.item_features_ = normalize(features)

    def _profiles(self, users: np.ndarray) -> sp.csr_matrix:
        # Each user's weighted mean item vector; only its direction matters for the ranking.
        return normalize(self.user_items_[users], norm="l1") @ self.item_features_

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return np.asarray((self._profiles(users) @ self.item_features_.T).todense())

    def _similar(self, item: int) -> np.ndarray:
        return self._similar_many(np.array([item]))[0]

    def _similar_many(self, items: np.ndarray) -> np.ndarray:
        return (self.item_features_[items] @ self.item_features_.T).toarray()
