"""Erasure: remove, or irreversibly pseudonymise, what the app holds about a person.

:func:`erase_user` serves a data-subject request (the account page, the API, the admin, the
``personalization_erase`` command; through the ``erase_user_data`` Celery task). It deletes the
person's events, sessions, visitors, identity merges, retention aggregates (model inputs),
per-person cache entries (cached recommendations and the like) and whatever the registered
handlers own. Consent records are not deleted: they are the merchant's proof that the processing
was lawful (GDPR art. 7(1)), which the right to erasure does not override (art. 17(3)(b) and
(e)). They lose every link to the person instead: the user and visitor are unset, the visitor id
is replaced by a keyed pseudonym of the user id (``erased-`` + 25 hex digits) and the IP prefix
and user-agent hash are blanked. Only someone who holds the pseudonymisation key and is given the
user id can find them again, which is what answering a later dispute needs.

:func:`erase_visitor_data` serves consent withdrawal in one browser.

Both leave a ``DataSubjectRequest`` with no personal data in it (kind, pseudonym, counts per
data type, times, status), and send :data:`~.signals.data_erased` once committed.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from ..consent import TRACKING_CATEGORIES
from ..models import DataSubjectRequest
from ..tracking.sessions import end_session
from ..transactions import on_commit_robust
from .pseudonyms import erased_subject
from .registry import USER_CACHE_PREFIX, VISITOR_CACHE_PREFIX, Subject, erasure_handlers
from .signals import data_erased
from .subjects import (
    activity_of,
    consents_of,
    events_of,
    flush_pending_events,
    merges_of,
    sessions_of,
    subject_for_user,
    subject_for_visitor,
    subject_key,
    visitors_of,
)

logger = logging.getLogger(__name__)


def _delete(queryset: Any) -> int:
    """Rows of the queryset's own model deleted (cascades are counted by their own step)."""
    _total, per_model = queryset.delete()
    return per_model.get(queryset.model._meta.label, 0)


def erase_tracking_data(subject: Subject) -> dict[str, int]:
    """Delete the subject's tracking data and retention aggregates, once every category that
    lets the app record behaviour is withdrawn (or always, for a full erasure)."""
    if not subject.covers(*TRACKING_CATEGORIES):
        return {}
    return {
        "events": _delete(events_of(subject)),
        "sessions": _delete(sessions_of(subject)),
        "identity_merges": _delete(merges_of(subject)),
        "activity": _delete(activity_of(subject)),
        "visitors": _delete(visitors_of(subject)),
    }


def anonymise_consents(subject: Subject) -> int:
    """Unlink the user's consent records from them (see the module docstring for why they stay)."""
    return consents_of(subject).update(
        user=None, visitor=None, vid=erased_subject(subject.user_id), ip_prefix="", ua_hash=""
    )


def delete_cached_data(subject: Subject) -> None:
    """Forget the browsers' current sessions and, with django-redis, every per-person key."""
    for vid in subject.vids:
        end_session(vid)
    delete_pattern = getattr(cache, "delete_pattern", None)
    if delete_pattern is None:
        return
    patterns = [f"{VISITOR_CACHE_PREFIX}{vid}:*" for vid in subject.vids]
    if subject.user_id is not None:
        patterns.append(f"{USER_CACHE_PREFIX}{subject.user_id}:*")
    for pattern in patterns:
        delete_pattern(pattern)


def _run_handlers(subject: Subject, counts: Counter) -> None:
    for handler in erasure_handlers():
        result: Mapping[str, int] = handler(subject) or {}
        counts.update(result)


def _start(request: DataSubjectRequest) -> None:
    request.status = DataSubjectRequest.RUNNING
    request.save(update_fields=["status"])


def _finish(request: DataSubjectRequest, counts: Mapping[str, int]) -> None:
    request.status = DataSubjectRequest.DONE
    request.counts = dict(counts)
    request.completed_at = timezone.now()
    request.error = ""
    request.save(update_fields=["status", "counts", "completed_at", "error"])


def _fail(request: DataSubjectRequest, exc: Exception) -> None:
    # The class name only: an exception's message may quote the data being erased.
    request.status = DataSubjectRequest.FAILED
    request.error = type(exc).__name__[:100]
    request.save(update_fields=["status", "error"])


def _send_erased(request: DataSubjectRequest, subject: Subject, vid: str | None) -> None:
    data_erased.send(
        sender=DataSubjectRequest,
        user_id=subject.user_id,
        vid=vid,
        categories=subject.categories,
        request=request,
        counts=dict(request.counts),
    )


def _erase(subject: Subject, request: DataSubjectRequest, *, anonymise: bool) -> None:
    _start(request)
    counts: Counter = Counter()
    try:
        flush_pending_events()
        with transaction.atomic():
            _run_handlers(subject, counts)
            if anonymise:
                counts["consent_records_anonymised"] = anonymise_consents(subject)
            counts.update(erase_tracking_data(subject))
        if subject.covers(*TRACKING_CATEGORIES):
            delete_cached_data(subject)
    except Exception as exc:
        _fail(request, exc)
        raise
    _finish(request, counts)


def erase_user(
    user_id: Any, *, via: str = "code", request: DataSubjectRequest | None = None
) -> DataSubjectRequest:
    """Erase what the app holds about user ``user_id``; return the completed audit record.

    ``request`` is the pending record made by :func:`request_erasure` (the task passes it); one
    that is already done is returned as it is, so a repeated task does nothing. The user account
    itself is left to the store (see :data:`~.signals.data_erased`).
    """
    if request is None:
        request = DataSubjectRequest.objects.create(
            kind=DataSubjectRequest.ERASURE, via=via, subject_key=subject_key(Subject(user_id))
        )
    elif request.status == DataSubjectRequest.DONE:
        return request
    subject = subject_for_user(user_id)
    _erase(subject, request, anonymise=True)
    on_commit_robust(_send_erased, request, subject, None)
    return request


def erase_visitor_data(
    vid: str, categories: Iterable[str] | None = None, *, via: str = "consent"
) -> dict[str, int]:
    """Delete what was collected in one browser; return the rows erased per data type.

    ``categories`` are the consent categories the browser does not allow any longer: pass every
    category that is now denied, not only the one just withdrawn. Events, sessions and the
    visitor row go once neither ``analytics`` nor ``personalization`` is allowed (both let the
    app record behaviour); registered handlers erase what belongs to their own category (e.g.
    recommendations for ``personalization``). ``None`` erases everything. Consent records stay
    as they are: they prove the withdrawal itself. The audit record's kind is ``withdrawal``
    when ``categories`` are given, else ``erasure``.
    """
    subject = subject_for_visitor(vid, categories)
    kind = DataSubjectRequest.ERASURE if categories is None else DataSubjectRequest.WITHDRAWAL
    request = DataSubjectRequest.objects.create(
        kind=kind, via=via, subject_key=subject_key(subject)
    )
    _erase(subject, request, anonymise=False)
    on_commit_robust(_send_erased, request, subject, vid)
    return dict(request.counts)


def request_erasure(user_id: Any, *, via: str) -> DataSubjectRequest:
    """Record a pending erasure of user ``user_id`` and queue the ``erase_user_data`` task once
    the current transaction commits. Returns the pending audit record."""
    from ..tasks import erase_user_data

    request = DataSubjectRequest.objects.create(
        kind=DataSubjectRequest.ERASURE, via=via, subject_key=subject_key(Subject(user_id))
    )
    transaction.on_commit(
        functools.partial(erase_user_data.delay, user_id, request.pk), robust=False
    )
    return request
