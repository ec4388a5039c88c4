"""The segments of the person behind a request, cached per person.

``request.personalization.segments`` (see ``tracking/context.py``) calls :func:`request_segments`:
the slugs of the active segments, static and dynamic, that the logged-in user, or else the
browser's visitor, is in now. The answer is cached under the person's key
(``p13n:user:<id>:segments:<generation>`` or ``p13n:visitor:<vid>:segments:<generation>``) for
``SEGMENT_CACHE_TIMEOUT`` seconds. Entering or leaving a segment deletes the person's key once the
change commits, and saving or deleting a segment starts a new generation, so every cached answer
is dropped at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q

from .. import consent
from ..conf import app_settings
from ..models.segments import SegmentMembership
from ..models.tracking import Visitor
from ..privacy.registry import user_cache_key, visitor_cache_key

GENERATION_KEY = "p13n:segments:generation"
EMPTY: frozenset[str] = frozenset()


def _generation() -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        generation = cache.get(GENERATION_KEY, 1)
    return generation


def new_generation() -> None:
    """Drop every cached answer (a segment was renamed, deactivated or deleted)."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 2, timeout=None)


def _key(user_id: Any, vid: str | None, generation: int) -> str:
    if user_id is not None:
        return user_cache_key(user_id, "segments", generation)
    return visitor_cache_key(vid, "segments", generation)


def memberships_query(user_id: Any, vid: str | None) -> Q:
    """The open memberships of the user (and of the browser's visitor, whose memberships join
    the user's when the log-in merge has run), or of the anonymous visitor."""
    query = Q(pk__in=[])
    if user_id is not None:
        query |= Q(user_id=user_id)
    if vid is not None:
        query |= Q(visitor__vid=vid)
    return query


def segments_of(user_id: Any, vid: str | None) -> frozenset[str]:
    """The active segments the person is in now (cached); empty for nobody."""
    if user_id is None and vid is None:
        return EMPTY
    key = _key(user_id, vid, _generation())
    slugs = cache.get(key)
    if slugs is None:
        slugs = frozenset(
            SegmentMembership.objects.filter(
                memberships_query(user_id, vid), exited_at__isnull=True, segment__is_active=True
            ).values_list("segment__slug", flat=True)
        )
        cache.set(key, slugs, timeout=app_settings.SEGMENT_CACHE_TIMEOUT)
    return slugs


def request_person(request: Any) -> tuple[Any, str | None]:
    """``(user id, visitor id)`` of the request, each None when unknown; never makes a visitor
    id."""
    user = getattr(request, "user", None)
    user_id = user.pk if user is not None and user.is_authenticated else None
    context = getattr(request, "personalization", None)
    vid = context.known_vid if context is not None else None
    return user_id, vid


def request_segments(request: Any) -> frozenset[str]:
    """The request's person's segments; empty without ``personalization`` consent."""
    if not consent.allowed(request, "personalization"):
        return EMPTY
    return segments_of(*request_person(request))


# Invalidation -----------------------------------------------------------------------------------

_pending = threading.local()


def forget(user_ids: Iterable[Any] = (), visitor_ids: Iterable[int] = ()) -> None:
    """Delete the cached segments of these users and visitors (by visitor primary key) once the
    current transaction commits.

    The people of one transaction are collected and deleted together by the first callback that
    runs (the others find nothing left); people of a transaction rolled back are deleted with the
    next one, which costs only a few needless cache deletes.
    """
    pending = getattr(_pending, "people", None)
    if pending is None:
        pending = _pending.people = (set(), set())
    pending[0].update(user_ids)
    pending[1].update(visitor_ids)
    transaction.on_commit(_flush_pending, robust=True)


def _flush_pending() -> None:
    pending, _pending.people = getattr(_pending, "people", None), None
    if pending is None:
        return
    user_ids, visitor_ids = pending
    generation = _generation()
    keys = [_key(user_id, None, generation) for user_id in user_ids]
    ids = list(visitor_ids)
    for start in range(0, len(ids), 5000):
        rows = Visitor.objects.filter(pk__in=ids[start : start + 5000])
        for vid, user_id in rows.values_list("vid", "user_id"):
            keys.append(_key(None, vid, generation))
            if user_id is not None:
                keys.append(_key(user_id, None, generation))
    if keys:
        cache.delete_many(keys)
