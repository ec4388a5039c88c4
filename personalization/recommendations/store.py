"""The read side of trained recommendations, used at serve time.

Training (:mod:`personalization.recommendations.training`) precomputes, for every active
:class:`~personalization.models.RecommenderVersion`, the top ``RECOMMENDATION_PRECOMPUTE_SIZE``
items per person (kinds ``default`` and ``buy_again``) and per product (``similar``,
``bought_together``) into the cache, under keys that carry the version's id
(``p13n:rec:<version id>:...``). Only after every list of a run is written are its versions made
active, in one transaction; a reader asks for the active version first and then reads that
version's keys only, so it sees the old lists or the new ones, never a mix.

Every list is the model's raw ranking of ``(item id, score)`` pairs, best first, not filtered
by business rules (the serving layer filters). A list the cache lost (a flush, an eviction, the
local-memory cache of another process) is recomputed from the active model, loaded once per
process from the version's artifact (:func:`load_model`), and written back; a person or product
the model does not know gets ``None``.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any

from django.core.cache import cache

from ..conf import app_settings

if TYPE_CHECKING:
    from ..models.recommendations import RecommenderVersion
    from ..recsys import Recommender

logger = logging.getLogger(__name__)

KEY_PREFIX = "p13n:rec"
#: Kinds precomputed per product, and per person.
PRODUCT_LISTS: tuple[str, ...] = ("similar", "bought_together")
PERSON_LISTS: tuple[str, ...] = ("default", "buy_again")

Ranking = list[tuple[str, float]]

_lock = threading.Lock()
# kind -> (monotonic deadline, version or None); a process-local memory of the active versions.
_active: dict[str, tuple[float, RecommenderVersion | None]] = {}
# version id -> model; only the models of versions that are still active are kept.
_models: dict[int, Recommender] = {}


def person_key(user: Any = None, visitor_vid: str | None = None) -> str | None:
    """``"u:<user pk>"`` for a logged-in user, else ``"v:<vid>"`` for a visitor, else None."""
    if user is not None and getattr(user, "is_authenticated", True) and user.pk is not None:
        return f"u:{user.pk}"
    if visitor_vid:
        return f"v:{visitor_vid}"
    return None


def person_cache_key(version_id: int, key: str) -> str:
    """Where a version keeps the list of the person ``key``."""
    return f"{KEY_PREFIX}:{version_id}:p:{key}"


def product_cache_key(version_id: int, product_id: Hashable) -> str:
    """Where a version keeps the list of the product ``product_id``."""
    return f"{KEY_PREFIX}:{version_id}:i:{product_id}"


def forgotten_key(key: str) -> str:
    """Where an erasure marks the person ``key`` forgotten (the time of the erasure)."""
    return f"{KEY_PREFIX}:forgotten:{key}"


def active_version(name: str = "default") -> RecommenderVersion | None:
    """The active version of the kind ``name``, or None before the first training.

    Each process remembers the answer for ``RECOMMENDATION_ACTIVE_VERSION_TTL`` seconds, so a
    page with several widgets asks the database at most once; a swap therefore reaches every
    process within that time (and the training process at once).
    """
    from ..models.recommendations import RecommenderVersion

    now = time.monotonic()
    remembered = _active.get(name)
    if remembered is not None and remembered[0] > now:
        return remembered[1]
    version = (
        RecommenderVersion.objects.filter(kind=name, is_active=True)
        .defer("data_summary", "params")
        .first()
    )
    _active[name] = (now + float(app_settings.RECOMMENDATION_ACTIVE_VERSION_TTL), version)
    return version


def forget_active_versions() -> None:
    """Drop this process's memory of the active versions (after a swap, in tests)."""
    _active.clear()


def for_person(key: str, *, kind: str = "default") -> Ranking | None:
    """The top-N of the person ``key`` for ``kind`` (``default`` or ``buy_again``).

    Read from the cache; when the cache lost the list (a flush, an eviction, another process's
    local-memory cache) it is recomputed from the active model and written back. None when
    nothing is trained yet, the person was not in the training data, or their data was erased
    after the active model was trained.
    """
    if kind not in PERSON_LISTS:
        raise ValueError(f"kind must be one of {PERSON_LISTS}, not {kind!r}")
    version = active_version(kind)
    if version is None or not key:
        return None
    cache_key, marker = person_cache_key(version.pk, key), forgotten_key(key)
    entries = cache.get_many([cache_key, marker])
    if marker in entries and version.trained_at.timestamp() <= entries[marker]:
        return None  # erased after this model was trained (recommendations.forget)
    found = entries.get(cache_key)
    if found is not None:
        return _as_ranking(found)
    model = _model_of(version)
    if model is None or not model.is_known_user(key):
        return None
    size = int(app_settings.RECOMMENDATION_PRECOMPUTE_SIZE)
    ranking = _as_ranking(model.recommend(key, k=size, exclude_seen=exclude_seen(kind)))
    cache.set(cache_key, ranking, timeout=app_settings.RECOMMENDATION_CACHE_TIMEOUT)
    return ranking


def for_product(product_id: str, *, kind: str) -> Ranking | None:
    """The neighbours of ``product_id`` for ``kind`` (``similar``, ``bought_together``), from the
    cache or, when the cache lost them, from the active model (and written back); None when
    nothing is trained yet or the product is unknown to the model."""
    if kind not in PRODUCT_LISTS:
        raise ValueError(f"kind must be one of {PRODUCT_LISTS}, not {kind!r}")
    version = active_version(kind)
    if version is None:
        return None
    cache_key = product_cache_key(version.pk, str(product_id))
    found = cache.get(cache_key)
    if found is not None:
        return _as_ranking(found)
    model = _model_of(version)
    if model is None or not model.is_known_item(str(product_id)):
        return None
    size = int(app_settings.RECOMMENDATION_PRECOMPUTE_SIZE)
    ranking = _as_ranking(model.similar_items(str(product_id), k=size))
    cache.set(cache_key, ranking, timeout=app_settings.RECOMMENDATION_CACHE_TIMEOUT)
    return ranking


def exclude_seen(kind: str) -> bool:
    """Whether a person's list of ``kind`` leaves out what they already have (``RECOMMENDERS``)."""
    entry = app_settings.RECOMMENDERS.get(kind) or {}
    return bool(entry.get("exclude_seen", True))


def trending() -> Ranking:
    """What is trending now, best first; ``[]`` before the first training.

    The list is kept on the version row itself, so it never misses.
    """
    version = active_version("trending")
    if version is None:
        return []
    return [(str(item), float(score)) for item, score in version.global_list]


def load_model(kind: str = "default") -> Recommender | None:
    """This process's copy of the active model of ``kind`` (None before the first training).

    Loaded from the version's artifact on first use and kept while the version stays active.
    Ids are the model's: person keys for people and product ids as strings for items.
    """
    version = active_version(kind)
    return None if version is None else _model_of(version)


def _model_of(version: RecommenderVersion) -> Recommender | None:
    if not version.artifact:
        return None
    model = _models.get(version.pk)
    if model is not None:
        return model
    with _lock:
        model = _models.get(version.pk)
        if model is None:
            model = read_artifact(version)
            active_ids = {v.pk for _, v in _active.values() if v is not None} | {version.pk}
            for stale in [pk for pk in _models if pk not in active_ids]:
                del _models[stale]
            _models[version.pk] = model
    return model


def read_artifact(version: RecommenderVersion) -> Recommender:
    """Read a version's saved model from the file storage (through a local temporary file,
    because the storage may be remote)."""
    # Imported here: the ML core (pandas, scikit-learn) loads only in processes that need a model.
    from ..recsys import load as load_artifact

    with tempfile.NamedTemporaryFile(suffix=".npz") as local:
        with version.artifact.open("rb") as source:
            for chunk in source.chunks():
                local.write(chunk)
        local.flush()
        return load_artifact(local.name)


def forget_models() -> None:
    """Drop this process's loaded models (tests; a worker that must free memory)."""
    with _lock:
        _models.clear()


def _as_ranking(value: Iterable[tuple[Any, float]] | None) -> Ranking | None:
    if value is None:
        return None
    return [(str(item), float(score)) for item, score in value]
