"""EASE^R: the closed-form linear item–item autoencoder of Steck (WWW 2019).

``B = argmin ||X - XB||² + λ||B||²`` subject to ``diag(B) = 0`` has the closed form
``P = (XᵀX + λI)⁻¹``, ``B_ij = -P_ij / P_jj``. One dense inversion of an items × items matrix:
well suited to catalogues up to about 20,000 items (memory grows with the square of the number of
items: with 10,000 items the fit peaks at about 800 MB and the model keeps 400 MB). ``max_items``
bounds both: the model then learns from the most popular items only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse as sp

from .base import Interactions, Recommender


def gram_matrix(x: sp.csr_matrix) -> np.ndarray:
    """``XᵀX`` as a dense float32 array.

    Through BLAS on a dense copy of ``X`` when that costs less than about 50 sparse products
    (BLAS is that much faster per operation), else as a sparse product.
    """
    n_users, n_items = x.shape
    row_lengths = np.diff(x.indptr).astype(np.float64)
    if n_users * n_items * n_items < 50 * float(row_lengths @ row_lengths) and (
        n_users * n_items <= 1 << 26
    ):
        dense = x.astype(np.float32).toarray()
        return _mirror_upper(scipy.linalg.blas.ssyrk(1.0, dense, trans=1))
    return np.asarray((x.T @ x).toarray(), dtype=np.float32)


def spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite float32 matrix, overwriting it.

    Cholesky ``A = UᵀU``, then ``A⁻¹ = U⁻¹U⁻ᵀ`` with a triangular inverse and a rank-k update:
    half the work and memory of a general inverse. Single precision is ample for a ranking
    (the penalty keeps the matrix well conditioned) and twice as fast.
    """
    factor, info = scipy.linalg.lapack.spotrf(matrix, lower=False, overwrite_a=True, clean=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"the Gram matrix is not positive definite (info={info})")
    factor, info = scipy.linalg.lapack.strtri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"triangular inversion failed (info={info})")
    return _mirror_upper(scipy.linalg.blas.ssyrk(1.0, factor, trans=0))


def _mirror_upper(matrix: np.ndarray, block: int = 1024) -> np.ndarray:
    """Copy the upper triangle onto the lower one in place, a block at a time (little memory)."""
    n = matrix.shape[0]
    for start in range(0, n, block):
        stop = min(n, start + block)
        matrix[start:stop, :start] = matrix[:start, start:stop].T
        square = matrix[start:stop, start:stop]
        lower = np.tril_indices(stop - start, -1)
        square[lower] = square.T[lower]
    return matrix


class EASERecommender(Recommender):
    """Embarrassingly Shallow Autoencoder (EASE^R) for implicit feedback.

    ``l2`` is the ridge penalty λ; larger values favour popular items and generalise more.
    ``binary`` reduces the interactions to 0/1 (the paper's setting) instead of using the
    weights. The score of an item for a user is ``x_u · B[:, j]``.

    ``max_items`` restricts the model to that many items with the most users (ties: the first
    seen): the fit costs the cube of the number of items, and the rarest items add the least.
    The other items get no score (in a hybrid, other components rank them) and no neighbours.
    """

    name = "ease"

    def __init__(
        self, l2: float = 500.0, binary: bool = True, max_items: int | None = None
    ) -> None:
        self.l2 = l2
        self.binary = binary
        self.max_items = max_items

    def _input(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        x = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
        if self.binary:
            x.data[:] = 1.0
        return x

    def _fit(self, data: Interactions, items: pd.DataFrame | None) -> None:
        x = self._input(data.matrix)
        n_items = x.shape[1]
        if self.max_items is not None and int(self.max_items) < 1:
            raise ValueError("max_items must be at least 1 (or None)")
        if self.max_items is not None and int(self.max_items) < n_items:
            order = np.argsort(-self.item_popularity_, kind="stable")
            self.columns_ = np.sort(order[: int(self.max_items)])
            x = sp.csr_matrix(x[:, self.columns_])
        else:
            self.columns_ = None
        self._build_positions()
        gram = gram_matrix(x)
        gram[np.diag_indices_from(gram)] += float(self.l2)
        inverse = spd_inverse(gram)
        diagonal = np.diag(inverse).copy()
        inverse /= -diagonal
        np.fill_diagonal(inverse, 0.0)
        # Row-major: scipy's sparse @ dense product copies any other layout on every call.
        self.weights_ = np.ascontiguousarray(inverse)

    def _build_positions(self) -> None:
        """Item row -> row of ``weights_`` (-1: an item left out by ``max_items``)."""
        columns = getattr(self, "columns_", None)
        if columns is None:
            self._positions = None
            return
        self._positions = np.full(len(self.item_ids_), -1, dtype=np.int64)
        self._positions[columns] = np.arange(len(columns))

    def _restore(self, state: dict) -> None:
        super()._restore(state)
        self.weights_ = np.ascontiguousarray(self.weights_)
        self._build_positions()

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        # In the weights' own precision: a float64 input would make scipy convert the whole
        # items x items matrix on every call, which costs more than the product itself.
        x = self._input(self.user_items_[users]).astype(self.weights_.dtype)
        if self._positions is None:
            return np.asarray(x @ self.weights_)
        scores = np.full((len(users), len(self.item_ids_)), -np.inf)
        scores[:, self.columns_] = np.asarray(sp.csr_matrix(x[:, self.columns_]) @ self.weights_)
        return scores

    def _similar(self, item: int) -> np.ndarray:
        return self._similar_many(np.array([item]))[0]

    def _similar_many(self, items: np.ndarray) -> np.ndarray:
        # Row i of B: how much having item i raises each other item's score.
        if self._positions is None:
            return self.weights_[items]
        similarity = np.zeros((len(items), len(self.item_ids_)), dtype=self.weights_.dtype)
        positions = self._positions[items]
        modelled = np.flatnonzero(positions >= 0)
        similarity[np.ix_(modelled, self.columns_)] = self.weights_[positions[modelled]]
        return similarity
