"""The read side of trained recommendations, used at serve time.

Training (:mod:`personalization.recommendations.training`) precomputes, for every active
:class:`~personalization.models.RecommenderVersion`, the top ``RECOMMENDATION_PRECOMPUTE_SIZE``
items per person (kinds ``default`` and ``buy_again``) and per product (``similar``,
``bought_together``) into the cache, under keys that carry the version's id
(``p13n:rec:<version id>:...``). Only after every list of a run is written are its versions made
active, in one transaction; a reader asks for the active version first and then reads that
version's keys only, so it sees the old lists or the new ones, never a mix.

Every list is the model's raw ranking of ``(item id, score)`` pairs, best first, not filtered
by business rules (the serving layer filters). A missing list (an unknown person, a cache that
was flushed or evicted an entry) is ``None``; :func:`load_model` then gives the active model
itself, loaded once per process from the version's artifact, to compute the answer.
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
from ..recsys import Recommender
from ..recsys import load as load_artifact

if TYPE_CHECKING:
    from ..models.recommendations import RecommenderVersion

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
    """The precomputed top-N of the person ``key`` for ``kind`` (``default`` or ``buy_again``).

    None when nothing is trained yet, the person was not in the training data, or the cache
    lost the entry.
    """
    if kind not in PERSON_LISTS:
        raise ValueError(f"kind must be one of {PERSON_LISTS}, not {kind!r}")
    version = active_version(kind)
    if version is None or not key:
        return None
    return _as_ranking(cache.get(person_cache_key(version.pk, key)))


def for_product(product_id: str, *, kind: str) -> Ranking | None:
    """The precomputed neighbours of ``product_id`` for ``kind`` (``similar``,
    ``bought_together``); None when the product is unknown to the model or the entry is lost."""
    if kind not in PRODUCT_LISTS:
        raise ValueError(f"kind must be one of {PRODUCT_LISTS}, not {kind!r}")
    version = active_version(kind)
    if version is None:
        return None
    return _as_ranking(cache.get(product_cache_key(version.pk, str(product_id))))


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

    Loaded from the version's artifact on first use and kept while the version stays active;
    use its ``recommend``/``similar_items`` for the lists the cache does not have. Ids are the
    model's: person keys for users and product ids as strings for items.
    """
    version = active_version(kind)
    if version is None or not version.artifact:
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
