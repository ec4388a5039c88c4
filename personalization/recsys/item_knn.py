"""Item-to-item neighbourhood model: "customers who viewed/bought this also ..."."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .base import Interactions, Recommender


def keep_top_per_row(matrix: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """Keep the ``n`` largest entries of every row of a CSR matrix."""
    matrix = sp.csr_matrix(matrix)
    lengths = np.diff(matrix.indptr)
    if n <= 0 or lengths.max(initial=0) <= n:
        return matrix
    keep = np.ones(matrix.nnz, dtype=bool)
    for row in np.flatnonzero(lengths > n):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        values = matrix.data[start:end]
        drop = np.argpartition(-values, n - 1)[n:]
        keep[start + drop] = False
    rows = np.repeat(np.arange(matrix.shape[0]), lengths)
    pruned = sp.csr_matrix(
        (matrix.data[keep], (rows[keep], matrix.indices[keep])), shape=matrix.shape
    )
    pruned.sort_indices()
    return pruned


class ItemKNNRecommender(Recommender):
    """Item–item similarity from co-occurrence in users' histories, with shrinkage.

    ``similarity``:

    * ``"cosine"``: ``c_ij / (sqrt(n_i * n_j) + shrinkage)``;
    * ``"jaccard"``: ``c_ij / (n_i + n_j - c_ij + shrinkage)``;
    * ``"conditional"``: ``c_ij / (n_i + shrinkage)``, the share of the users of ``i`` who also
      have ``j`` ("bought together"; not symmetric);

    where ``c_ij`` counts the users with both items and ``n_i`` the users with ``i`` (weighted
    sums when ``binary`` is false). The shrinkage damps similarities resting on few users. Each
    item keeps its ``n_neighbours`` most similar items. A user's score for an item is the sum of
    its similarities to the user's items, weighted by the user's interaction weights.
    """

    name = "item_knn"
    positive_scores_only = True

    def __init__(
        self,
        n_neighbours: int = 100,
        shrinkage: float = 10.0,
        similarity: str = "cosine",
        binary: bool = True,
    ) -> None:
        self.n_neighbours = n_neighbours
        self.shrinkage = shrinkage
        self.similarity = similarity
        self.binary = binary

    def _fit(self, data: Interactions, items: pd.DataFrame | None) -> None:
        if self.similarity not in ("cosine", "jaccard", "conditional"):
            raise ValueError(f"unknown similarity {self.similarity!r}")
        x = self._input(data.matrix)
        co = sp.csr_matrix(x.T @ x)
        counts = co.diagonal()
        co.setdiag(0)
        co.eliminate_zeros()
        coo = co.tocoo()
        i, j, c = coo.row, coo.col, coo.data
        if self.similarity == "cosine":
            values = c / (np.sqrt(counts[i] * counts[j]) + self.shrinkage)
        elif self.similarity == "jaccard":
            values = c / (counts[i] + counts[j] - c + self.shrinkage)
        else:
            values = c / (counts[i] + self.shrinkage)
        similarity = sp.csr_matrix((values, (i, j)), shape=co.shape)
        self.similarity_ = keep_top_per_row(similarity, int(self.n_neighbours))

    def _input(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        x = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
        if self.binary:
            x.data[:] = 1.0
        return x

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return (self._input(self.user_items_[users]) @ self.similarity_).toarray()

    def _similar(self, item: int) -> np.ndarray:
        return self.similarity_[item].toarray().ravel()

    def _similar_many(self, items: np.ndarray) -> np.ndarray:
        return self.similarity_[items].toarray()
