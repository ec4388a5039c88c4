"""Erasure of a person's trained recommendations (registered with
:mod:`personalization.privacy.registry` when ``personalization.signals`` imports this module).

A person's precomputed lists are deleted from the cache, and a marker keeps the active models,
which were trained on the erased history, from computing them again: :mod:`.store` answers
``None`` for that person until a training newer than the erasure (which no longer sees the
erased events) is active. The models' artifacts themselves are replaced by that training and
pruned later (``RECOMMENDATION_KEEP_VERSIONS``).
"""

from __future__ import annotations

from django.core.cache import cache
from django.utils import timezone

from ..models.recommendations import RecommenderVersion
from ..privacy.registry import Subject, register_erasure_handler
from . import store

#: How long the marker outlives the erasure: longer than any sane interval between trainings.
MARKER_SECONDS = 30 * 24 * 60 * 60


def person_keys(subject: Subject) -> list[str]:
    """The person keys of the subject: the user's and each of their browsers'."""
    keys = [store.person_key(visitor_vid=vid) for vid in subject.vids]
    if subject.user_id is not None:
        keys.append(f"u:{subject.user_id}")
    return [key for key in keys if key]


def erase_trained_lists(subject: Subject) -> dict[str, int]:
    """Delete the person's precomputed lists and mark them forgotten (see the module docs)."""
    if not subject.covers("personalization"):
        return {}
    versions = list(
        RecommenderVersion.objects.filter(is_active=True, kind__in=store.PERSON_LISTS).values_list(
            "pk", flat=True
        )
    )
    keys = person_keys(subject)
    if not versions or not keys:
        return {}
    cache.delete_many([store.person_cache_key(pk, key) for pk in versions for key in keys])
    moment = timezone.now().timestamp()
    cache.set_many({store.forgotten_key(key): moment for key in keys}, timeout=MARKER_SECONDS)
    return {"recommendation_lists": len(keys) * len(versions)}


register_erasure_handler(erase_trained_lists)
