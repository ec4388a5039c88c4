"""Identity: joining an anonymous visitor's history to the user who logs in.

At log-in (``signals.py``) the ``merge_visitor`` task calls :func:`link_visitor`: the visitor, its
sessions and its events without a user join the user, and the merge is recorded. A user who logs
in on two devices ends up with two visitors that both belong to the user. Events of the visitor
still waiting in the buffer are joined later by the writer, which gives an event without a user
the user of its visitor.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from ..models.tracking import Event, IdentityMerge, Session, Visitor


def link_visitor(vid: str, user_id: int, method: str = "login") -> IdentityMerge | None:
    """Give visitor ``vid`` (created if its events are still buffered) and its anonymous
    sessions and events to user ``user_id``; record and return the merge.

    Returns None, and changes nothing, when the user does not exist or the visitor already
    belongs to another user (another account's history is never handed over); also None when the
    visitor already belonged to this user and nothing was left to move (a repeated log-in).
    """
    with transaction.atomic():
        if not get_user_model().objects.filter(pk=user_id).exists():
            return None
        visitor, created = Visitor.objects.select_for_update().get_or_create(
            vid=vid, defaults={"user_id": user_id}
        )
        if visitor.user_id not in (None, user_id):
            return None
        was_linked = visitor.user_id == user_id and not created
        if visitor.user_id is None:
            visitor.user_id = user_id
            visitor.save(update_fields=["user"])
        events_moved = Event.objects.filter(visitor=visitor, user__isnull=True).update(
            user_id=user_id
        )
        sessions_moved = Session.objects.filter(visitor=visitor, user__isnull=True).update(
            user_id=user_id
        )
        if was_linked and not events_moved and not sessions_moved:
            return None
        return IdentityMerge.objects.create(
            visitor=visitor,
            user_id=user_id,
            events_moved=events_moved,
            sessions_moved=sessions_moved,
            method=method,
        )
