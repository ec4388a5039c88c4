"""Who a request is about, and where the app keeps their data."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from ..models import ConsentRecord, DailyActivity, Event, IdentityMerge, Session, Visitor
from ..tracking.collect import flush_buffer
from .pseudonyms import erased_subject, pseudonymous_key, visitor_pseudonym
from .registry import Subject

logger = logging.getLogger(__name__)

# How many times a request waits for a flush that another process is running.
FLUSH_ATTEMPTS = 20
FLUSH_WAIT_SECONDS = 0.25


def subject_for_user(user_id: Any, categories: Iterable[str] | None = None) -> Subject:
    """The user and every visitor (browser) linked to them."""
    visitors = list(Visitor.objects.filter(user_id=user_id).values_list("pk", "vid"))
    return Subject(
        user_id=user_id,
        visitor_ids=tuple(pk for pk, _vid in visitors),
        vids=tuple(vid for _pk, vid in visitors),
        categories=None if categories is None else frozenset(categories),
    )


def subject_for_visitor(vid: str, categories: Iterable[str] | None = None) -> Subject:
    """One browser, whether or not it belongs to a user (the user's other data is not in it)."""
    return Subject(
        visitor_ids=tuple(Visitor.objects.filter(vid=vid).values_list("pk", flat=True)),
        vids=(vid,),
        categories=None if categories is None else frozenset(categories),
    )


def subject_key(subject: Subject) -> str:
    """The pseudonym an audit record names the subject by."""
    if subject.user_id is not None:
        return pseudonymous_key(subject.user_id)
    return visitor_pseudonym(subject.vids[0]) if subject.vids else ""


def activity_keys(subject: Subject) -> list[str]:
    """The ``DailyActivity.subject_key`` values of the subject's aggregates."""
    keys = [visitor_pseudonym(vid) for vid in subject.vids]
    if subject.user_id is not None:
        keys.insert(0, pseudonymous_key(subject.user_id))
    return keys


def _by_user_or_visitor(subject: Subject) -> Q:
    query = Q(visitor_id__in=subject.visitor_ids)
    if subject.user_id is not None:
        query |= Q(user_id=subject.user_id)
    return query


def events_of(subject: Subject) -> QuerySet[Event]:
    return Event.objects.filter(_by_user_or_visitor(subject))


def sessions_of(subject: Subject) -> QuerySet[Session]:
    return Session.objects.filter(_by_user_or_visitor(subject))


def merges_of(subject: Subject) -> QuerySet[IdentityMerge]:
    return IdentityMerge.objects.filter(_by_user_or_visitor(subject))


def visitors_of(subject: Subject) -> QuerySet[Visitor]:
    return Visitor.objects.filter(pk__in=subject.visitor_ids)


def consents_of(subject: Subject) -> QuerySet[ConsentRecord]:
    """The consent records of the subject, including those anonymised by an earlier erasure."""
    query = _by_user_or_visitor(subject) | Q(vid__in=subject.vids)
    if subject.user_id is not None:
        query |= Q(vid=erased_subject(subject.user_id))
    return ConsentRecord.objects.filter(query)


def activity_of(subject: Subject) -> QuerySet[DailyActivity]:
    return DailyActivity.objects.filter(subject_key__in=activity_keys(subject))


def flush_pending_events() -> None:
    """Write the events still waiting in the buffer, so that a request sees (and erases) them.

    When another process is flushing, wait for it (a few seconds at most): its events may be
    the subject's.
    """
    for _attempt in range(FLUSH_ATTEMPTS):
        if flush_buffer() is not None:
            return
        time.sleep(FLUSH_WAIT_SECONDS)
    logger.warning("Another flush kept the event buffer locked; events it holds are not included")
