"""The one estimator interface of the recommendation core.

Every model follows the scikit-learn contract (``sklearn/base.py``), with the cold-start default
of Surprise's ``AlgoBase`` and the batch ``recommend`` of implicit's ``RecommenderBase``:

* hyperparameters are the explicit keywords of ``__init__`` and nothing else happens there;
* :meth:`Recommender.fit` takes a pandas DataFrame of interactions (``user_id``, ``item_id``,
  optional ``weight`` (default 1) and ``timestamp``) and, for the models that use them, a
  DataFrame of item features, and returns ``self``;
* what ``fit`` learns lives in attributes whose names end in ``_``;
* ``recommend``/``recommend_many``/``similar_items`` return ``(item_id, score)`` pairs, best
  first, with the caller's own ids.

Cold start: a user who was not in the training data gets the model's fallback, the most popular
items of the training data (distinct users per item), unless the model says otherwise (``buy_again``
returns an empty list). :meth:`Recommender.is_known_user` tells the two cases apart.

Persistence: models pickle, but pickles must never be read from a place a user could write to.
:meth:`Recommender.save` therefore writes one ``.npz`` file holding plain numeric/text arrays and a
JSON header (model name, hyperparameters, format version, library versions), and :func:`load`
reads it with ``allow_pickle=False``.
"""

from __future__ import annotations

import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

FORMAT_NAME = "personalization.recsys"
#: Bumped whenever the layout of saved files changes; :func:`load` refuses other versions.
FORMAT_VERSION = 1
_HEADER_KEY = "__header__"
#: Upper bound on the number of dense scores held at once by ``recommend_many``.
_BLOCK_CELLS = 1 << 22

Recommendations = list[tuple[Hashable, float]]


class NotFittedError(ValueError, AttributeError):
    """The model was used before :meth:`Recommender.fit` (as in scikit-learn)."""


class ModelFormatError(ValueError):
    """A file is not a saved model of a format version this code can read."""


@dataclass(frozen=True)
class Interactions:
    """Validated interactions, as handed to a model's ``_fit``.

    ``rows`` has one row per input row that was kept: integer codes ``user`` and ``item``
    (indexes into ``user_ids``/``item_ids``), ``weight`` and ``timestamp`` (seconds since the
    epoch, NaN when the input had none). ``matrix`` is the users × items CSR matrix of the
    weights, duplicates aggregated as the model asked.
    """

    rows: pd.DataFrame
    user_ids: np.ndarray
    item_ids: np.ndarray
    matrix: sp.csr_matrix
    has_timestamps: bool


def to_seconds(values: pd.Series) -> np.ndarray:
    """Timestamps (datetimes, aware or naive = UTC, or numbers of seconds) as float seconds."""
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.to_datetime(values, utc=True)
        seconds = (stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        return seconds.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(values, errors="raise").to_numpy(dtype=np.float64)


def prepare_interactions(
    interactions: pd.DataFrame,
    aggregate: str = "sum",
    keep_non_positive: bool = False,
    extra_items: Iterable[Hashable] = (),
) -> Interactions:
    """Check and encode an interactions DataFrame.

    Rows without a user or item are dropped; so are rows whose weight is not positive unless
    ``keep_non_positive`` (explicit ratings). ``aggregate`` (``"sum"`` or ``"mean"``) combines
    repeated user–item pairs in the matrix. ``extra_items`` are appended to the item index
    (catalogue items without interactions, for the models that can score them).
    """
    if not isinstance(interactions, pd.DataFrame):
        raise TypeError("interactions must be a pandas DataFrame")
    missing = {"user_id", "item_id"} - set(interactions.columns)
    if missing:
        raise ValueError(f"interactions lack the column(s) {sorted(missing)}")
    frame = interactions.dropna(subset=["user_id", "item_id"])
    weight = (
        pd.to_numeric(frame["weight"], errors="raise").to_numpy(dtype=np.float64)
        if "weight" in frame.columns
        else np.ones(len(frame))
    )
    has_timestamps = "timestamp" in frame.columns
    timestamp = to_seconds(frame["timestamp"]) if has_timestamps else np.full(len(frame), np.nan)
    keep = np.isfinite(weight) if keep_non_positive else np.isfinite(weight) & (weight > 0)
    frame, weight, timestamp = frame[keep], weight[keep], timestamp[keep]

    user_codes, user_ids = pd.factorize(frame["user_id"])
    item_codes, item_ids = pd.factorize(frame["item_id"])
    user_ids = as_id_array(user_ids)
    item_ids = as_id_array(item_ids)
    known = set(item_ids.tolist())
    extra = [item for item in dict.fromkeys(extra_items) if item not in known]
    if extra:
        item_ids = as_id_array(np.concatenate([item_ids.astype(object), np.array(extra, object)]))

    rows = pd.DataFrame(
        {"user": user_codes, "item": item_codes, "weight": weight, "timestamp": timestamp}
    )
    shape = (len(user_ids), len(item_ids))
    matrix = _csr(weight, user_codes, item_codes, shape)
    if aggregate == "mean":
        matrix.data /= _csr(np.ones(len(rows)), user_codes, item_codes, shape).data
    elif aggregate != "sum":
        raise ValueError(f"unknown aggregate {aggregate!r}")
    return Interactions(rows, user_ids, item_ids, matrix, has_timestamps)


def _csr(
    values: np.ndarray, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """A canonical CSR matrix (duplicates summed, indices sorted; explicit zeros kept)."""
    matrix = sp.csr_matrix((values, (rows, cols)), shape=shape)
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def as_id_array(ids: Any) -> np.ndarray:
    """Ids as an int64 array if they are all integers, else as an object array of strings.

    Only these two kinds can be saved without pickling, so others are refused here, at fit time.
    """
    values = np.asarray(ids)
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    if values.dtype.kind == "U":
        return values.astype(object)
    items = values.tolist()
    if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in items):
        return np.array(items, dtype=np.int64)
    if all(isinstance(v, str) for v in items):
        return np.array(items, dtype=object)
    raise TypeError("user and item ids must be all integers or all strings")


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indexes of the ``k`` best scores of each row, best first.

    Ties are ordered by column index so that results do not depend on the platform. NaN counts
    as ``-inf``.
    """
    scores = np.where(np.isnan(scores), -np.inf, scores)
    n = scores.shape[1]
    k = min(k, n)
    if k <= 0:
        return np.empty((scores.shape[0], 0), dtype=np.int64)
    if k < n:
        candidates = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        candidates = np.broadcast_to(np.arange(n), scores.shape)
    values = np.take_along_axis(scores, candidates, axis=1)
    order = np.lexsort((candidates, -values), axis=-1)
    return np.take_along_axis(candidates, order, axis=1)


class Recommender(ABC):
    """Base class of every recommender; see the module docstring for the contract.

    Subclasses implement ``_fit`` and ``_score_users`` (dense scores of a block of users over all
    items, ``-inf`` for items the model cannot score) and may override ``_similar`` (scores of
    every item against one item) and ``_similar_many`` (the same for a block of items).
    """

    #: Registry name (``recsys.build(name)``) and the name written into saved files.
    name: ClassVar[str]
    #: Whether the model only ever recommends items the user already has (``buy_again``); for
    #: such a model ``exclude_seen`` has no effect.
    recommends_seen_items: ClassVar[bool] = False
    #: Whether a score of zero or less means "no evidence" rather than a low rank.
    positive_scores_only: ClassVar[bool] = False
    #: Whether catalogue items without interactions join the item index (content features).
    uses_catalogue: ClassVar[bool] = False
    #: Whether ``fit`` cannot work without the ``items`` DataFrame.
    needs_items: ClassVar[bool] = False
    #: ``"popular"``: unknown users get the most popular items; ``"empty"``: they get nothing.
    cold_start: ClassVar[str] = "popular"
    #: How repeated user–item pairs are combined in ``user_items_``.
    aggregate: ClassVar[str] = "sum"
    #: Explicit-rating models keep ratings of zero or less.
    explicit: ClassVar[bool] = False

    user_ids_: np.ndarray
    item_ids_: np.ndarray
    user_items_: sp.csr_matrix
    item_popularity_: np.ndarray

    # -- hyperparameters --------------------------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, as given to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Change hyperparameters (takes effect at the next ``fit``)."""
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"{type(self).__name__} has no hyperparameter {key!r}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, interactions: pd.DataFrame, items: pd.DataFrame | None = None) -> Self:
        """Learn from ``interactions`` (and ``items`` where the model uses features)."""
        if self.needs_items and items is None:
            raise ValueError(f"{self.name} needs the items DataFrame")
        extra: Iterable[Hashable] = ()
        if self.uses_catalogue and items is not None:
            if "item_id" not in items.columns:
                raise ValueError("items lack the column 'item_id'")
            extra = items["item_id"].dropna().tolist()
        data = prepare_interactions(
            interactions,
            aggregate=self.aggregate,
            keep_non_positive=self.explicit,
            extra_items=extra,
        )
        if data.matrix.nnz == 0:
            raise ValueError("no usable interactions")
        self.user_ids_ = data.user_ids
        self.item_ids_ = data.item_ids
        self.user_items_ = data.matrix
        self.item_popularity_ = np.bincount(
            data.matrix.indices, minlength=len(data.item_ids)
        ).astype(np.float64)
        self._build_index()
        self._fit(data, items)
        return self

    @abstractmethod
    def _fit(self, data: Interactions, items: pd.DataFrame | None) -> None:
        """Learn the model's own fitted attributes."""

    def _build_index(self) -> None:
        """Id → row/column dictionaries, derived from the id arrays (not saved)."""
        self._user_index = {u: i for i, u in enumerate(self.user_ids_.tolist())}
        self._item_index = {u: i for i, u in enumerate(self.item_ids_.tolist())}
        self._item_list = self.item_ids_.tolist()

    def _check_fitted(self) -> None:
        if not hasattr(self, "user_items_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit()")

    # -- scoring ----------------------------------------------------------------------------

    @abstractmethod
    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """Dense float scores, shape ``(len(users), n_items)``, for user row indexes."""

    def _scores(self, users: np.ndarray) -> np.ndarray:
        """``_score_users`` with "no evidence" turned into ``-inf``."""
        scores = np.asarray(self._score_users(users), dtype=np.float64)
        if self.positive_scores_only:
            scores[~(scores > 0)] = -np.inf
        return scores

    def _similar(self, item: int) -> np.ndarray:
        """Similarity of every item to item row ``item`` (higher is more similar).

        This default, for models without a notion of their own, is the cosine similarity of the
        sets of users who have the items.
        """
        users = sp.csc_matrix(self.user_items_)
        users.data[:] = 1.0
        counts = np.diff(users.indptr).astype(np.float64)
        overlap = (users.T @ users[:, item]).toarray().ravel()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nan_to_num(overlap / np.sqrt(counts * counts[item]))

    @property
    def n_users(self) -> int:
        self._check_fitted()
        return len(self.user_ids_)

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return len(self.item_ids_)

    def is_known_user(self, user_id: Hashable) -> bool:
        """Whether ``user_id`` was in the training data (else ``recommend`` is the fallback)."""
        self._check_fitted()
        return user_id in self._user_index

    def is_known_item(self, item_id: Hashable) -> bool:
        """Whether ``item_id`` is in the model's item index."""
        self._check_fitted()
        return item_id in self._item_index

    def recommend(
        self, user_id: Hashable, k: int = 10, exclude_seen: bool = True
    ) -> Recommendations:
        """Up to ``k`` ``(item_id, score)`` pairs for one user, best first."""
        return self.recommend_many([user_id], k=k, exclude_seen=exclude_seen)[user_id]

    def recommend_many(
        self, user_ids: Iterable[Hashable], k: int = 10, exclude_seen: bool = True
    ) -> dict[Hashable, Recommendations]:
        """``recommend`` for many users at once, scored in blocks (for batch precomputation).

        With ``exclude_seen`` the items a user interacted with in the training data are left
        out. Unknown users get the cold-start list.
        """
        self._check_fitted()
        user_ids = list(user_ids)
        result: dict[Hashable, Recommendations] = {}
        known = [(u, self._user_index[u]) for u in user_ids if u in self._user_index]
        unknown = [u for u in user_ids if u not in self._user_index]
        if unknown:
            fallback = self._cold_start(k)
            for u in unknown:
                result[u] = list(fallback)
        block = max(1, _BLOCK_CELLS // max(1, self.n_items))
        mask_seen = exclude_seen and not self.recommends_seen_items
        for start in range(0, len(known), block):
            chunk = known[start : start + block]
            rows = np.fromiter((i for _, i in chunk), dtype=np.int64, count=len(chunk))
            sparse = None if mask_seen else self._sparse_scores(rows)
            if sparse is not None:
                for (user, _), row in zip(chunk, range(len(rows)), strict=True):
                    result[user] = self._top_of_sparse_row(sparse, row, k)
                continue
            scores = self._scores(rows)
            if mask_seen:
                seen = self.user_items_[rows]
                scores[
                    np.repeat(np.arange(len(rows)), np.diff(seen.indptr)), seen.indices
                ] = -np.inf
            best = top_k(scores, k)
            values = np.take_along_axis(scores, best, axis=1)
            for (user, _), cols, vals in zip(chunk, best, values, strict=True):
                result[user] = self._pairs(cols, vals)
        return {user: result[user] for user in user_ids}

    def _pairs(self, columns: np.ndarray, scores: np.ndarray) -> Recommendations:
        """``(item id, score)`` of the columns whose score is finite, in their order."""
        finite = np.isfinite(scores)
        if not finite.all():
            columns, scores = columns[finite], scores[finite]
        # tolist() gives Python floats; map/zip keep the loop in C for a batch of many lists.
        return list(
            zip(map(self._item_list.__getitem__, columns.tolist()), scores.tolist(), strict=True)
        )

    def _sparse_scores(self, users: np.ndarray) -> sp.csr_matrix | None:
        """Scores of a block of users as a CSR matrix, for models that score a few items per
        user and treat the others as "no evidence" (only positive entries count); None: the
        model has no such form and ``_score_users`` is used."""
        return None

    def _top_of_sparse_row(self, scores: sp.csr_matrix, row: int, k: int) -> Recommendations:
        """The ``k`` best positive entries of one CSR row, ordered as :func:`top_k` orders."""
        start, end = scores.indptr[row], scores.indptr[row + 1]
        values, columns = scores.data[start:end], scores.indices[start:end]
        positive = values > 0
        values, columns = values[positive], columns[positive]
        order = np.lexsort((columns, -values))[:k]
        return self._pairs(columns[order], np.asarray(values[order], dtype=np.float64))

    def _cold_start(self, k: int) -> Recommendations:
        """The list an unknown user gets."""
        if self.cold_start == "empty":
            return []
        best = top_k(self.item_popularity_[None, :], k)[0]
        return [
            (self._item_list[c], float(self.item_popularity_[c]))
            for c in best.tolist()
            if self.item_popularity_[c] > 0
        ]

    def similar_items(self, item_id: Hashable, k: int = 10) -> Recommendations:
        """Up to ``k`` items most similar to ``item_id``, best first, never the item itself.

        Only items with a positive similarity are returned; an unknown item gets ``[]``.
        """
        return self.similar_items_many([item_id], k=k)[item_id]

    def similar_items_many(
        self, item_ids: Iterable[Hashable], k: int = 10
    ) -> dict[Hashable, Recommendations]:
        """``similar_items`` for many items at once, scored in blocks (for batch precomputation)."""
        self._check_fitted()
        item_ids = list(item_ids)
        result: dict[Hashable, Recommendations] = {}
        known = []
        for item in item_ids:
            index = self._item_index.get(item)
            if index is None:
                result[item] = []
            else:
                known.append((item, index))
        block = max(1, _BLOCK_CELLS // max(1, self.n_items))
        for start in range(0, len(known), block):
            chunk = known[start : start + block]
            rows = np.fromiter((i for _, i in chunk), dtype=np.int64, count=len(chunk))
            scores = np.array(self._similar_many(rows), dtype=np.float64)
            scores[np.arange(len(rows)), rows] = -np.inf
            scores[~(scores > 0)] = -np.inf
            best = top_k(scores, k)
            values = np.take_along_axis(scores, best, axis=1)
            for (item, _), cols, vals in zip(chunk, best, values, strict=True):
                result[item] = self._pairs(cols, vals)
        return {item: result[item] for item in item_ids}

    def _similar_many(self, items: np.ndarray) -> np.ndarray:
        """``_similar`` of several item rows, one row each; models override it with one product."""
        if not len(items):
            return np.empty((0, self.n_items))
        return np.vstack([np.asarray(self._similar(int(i)), dtype=np.float64) for i in items])

    # -- persistence ------------------------------------------------------------------------

    def _fitted_attributes(self) -> dict[str, Any]:
        return {
            key: value
            for key, value in vars(self).items()
            if key.endswith("_") and not key.startswith("_")
        }

    def _header(self, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        self._check_fitted()
        return {
            "model": self.name,
            "params": _jsonable(self.get_params()),
            "state": {
                key: _encode(value, f"{prefix}{key}", arrays)
                for key, value in self._fitted_attributes().items()
            },
        }

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path`` (an ``.npz`` file; the suffix is added if missing).

        The file holds numeric and text arrays only, plus a JSON header with the model name, its
        hyperparameters, :data:`FORMAT_VERSION` and the versions of the libraries that made it.
        """
        arrays: dict[str, np.ndarray] = {}
        header = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "libraries": library_versions(),
            **self._header("", arrays),
        }
        blob = json.dumps(header, sort_keys=True).encode()
        arrays[_HEADER_KEY] = np.frombuffer(blob, dtype=np.uint8)
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        with path.open("wb") as handle:
            np.savez(handle, allow_pickle=False, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """Read a file written by :meth:`save` (see :func:`load`); it must hold a ``cls``."""
        model = load(path)
        if not isinstance(model, cls):
            raise ModelFormatError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model

    def _restore(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)
        self._build_index()


def library_versions() -> dict[str, str | None]:
    """Versions of the libraries a saved model depends on (``None``: not installed)."""
    versions: dict[str, str | None] = {}
    for name in (
        "numpy",
        "scipy",
        "pandas",
        "scikit-learn",
        "scikit-surprise",
        "django-personalization",
    ):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot save the value {value!r} of type {type(value).__name__}")


def _encode(value: Any, key: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Describe ``value`` in JSON, putting its arrays into ``arrays`` under keys from ``key``."""
    if isinstance(value, Recommender):
        return {"kind": "model", "header": value._header(f"{key}/", arrays)}
    if sp.issparse(value):
        matrix = sp.csr_matrix(value)
        for part in ("data", "indices", "indptr"):
            arrays[f"{key}.{part}"] = getattr(matrix, part)
        return {"kind": "csr", "shape": list(matrix.shape)}
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            ids = as_id_array(value)
            if ids.dtype == object:
                arrays[key] = ids.astype(str)
                return {"kind": "array", "text": True}
            value = ids
        arrays[key] = value
        return {"kind": "array"}
    if isinstance(value, list | tuple) and any(
        isinstance(v, Recommender | np.ndarray) or sp.issparse(v) for v in value
    ):
        return {
            "kind": "list",
            "items": [_encode(v, f"{key}.{i}", arrays) for i, v in enumerate(value)],
        }
    return {"kind": "value", "value": _jsonable(value)}


def _decode(spec: dict[str, Any], key: str, arrays: Any) -> Any:
    kind = spec.get("kind")
    if kind == "model":
        return _model_from_header(spec["header"], f"{key}/", arrays)
    if kind == "csr":
        parts = [arrays[f"{key}.{p}"] for p in ("data", "indices", "indptr")]
        return sp.csr_matrix(tuple(parts), shape=tuple(spec["shape"]))
    if kind == "array":
        array = arrays[key]
        return array.astype(object) if spec.get("text") else array
    if kind == "list":
        return [_decode(item, f"{key}.{i}", arrays) for i, item in enumerate(spec["items"])]
    if kind == "value":
        return spec["value"]
    raise ModelFormatError(f"unknown entry kind {kind!r} for {key!r}")


def _model_from_header(header: dict[str, Any], prefix: str, arrays: Any) -> Recommender:
    from .registry import model_class

    model = model_class(header["model"])(**header["params"])
    state = {key: _decode(spec, f"{prefix}{key}", arrays) for key, spec in header["state"].items()}
    model._restore(state)
    return model


def load(path: str | Path) -> Recommender:
    """Read a model written by :meth:`Recommender.save`, never unpickling anything.

    Raises :class:`ModelFormatError` for a file that is not such a model (a pickle, another
    format, another :data:`FORMAT_VERSION`).
    """
    try:
        archive = np.load(Path(path), allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ModelFormatError(f"{path} is not a saved recommender: {exc}") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ModelFormatError(f"{path} is not a saved recommender (not an .npz archive)")
    with archive:
        if _HEADER_KEY not in archive.files:
            raise ModelFormatError(f"{path} has no recommender header")
        try:
            header = json.loads(archive[_HEADER_KEY].tobytes().decode())
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelFormatError(f"{path} has an unreadable header: {exc}") from exc
        if header.get("format") != FORMAT_NAME:
            raise ModelFormatError(f"{path} is not a {FORMAT_NAME} file")
        version = header.get("format_version")
        if version != FORMAT_VERSION:
            raise ModelFormatError(
                f"{path} has format version {version!r}; this code reads version "
                f"{FORMAT_VERSION} only (retrain the model)"
            )
        return _model_from_header(header, "", archive)
