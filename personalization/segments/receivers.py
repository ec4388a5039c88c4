"""Signal receivers of live segments; connected when ``personalization.signals`` imports this
module (from ``AppConfig.ready()``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ..models.segments import Segment
from ..models.tracking import Event, IdentityMerge
from ..tracking.signals import events_stored
from ..transactions import on_commit_robust
from . import context, incremental, live
from . import privacy as _privacy  # noqa: F401  (registers the export sections and erasure)
from .people import move_person
from .signals import segment_entered, segment_exited

events_stored.connect(
    incremental.on_events_stored, sender=Event, dispatch_uid="personalization.segments.live"
)


@receiver(segment_entered, sender=Segment, dispatch_uid="personalization.segments.forget_in")
@receiver(segment_exited, sender=Segment, dispatch_uid="personalization.segments.forget_out")
def forget_cached_segments(
    sender: Any, user_id: Any = None, visitor_id: Any = None, **kwargs: Any
) -> None:
    """A membership changed: the person's cached segments are stale once it commits."""
    context.forget(
        user_ids=[user_id] if user_id is not None else (),
        visitor_ids=[visitor_id] if visitor_id is not None else (),
    )


@receiver(post_save, sender=Segment, dispatch_uid="personalization.segments.saved")
@receiver(post_delete, sender=Segment, dispatch_uid="personalization.segments.deleted")
def segments_changed(sender: Any, **kwargs: Any) -> None:
    """A segment was renamed, switched off or deleted: every cached answer may name it."""
    transaction.on_commit(context.new_generation, robust=True)


@receiver(post_save, sender=IdentityMerge, dispatch_uid="personalization.segments.identity")
def follow_user(sender: Any, instance: IdentityMerge, created: bool, **kwargs: Any) -> None:
    """A visitor joined a user at log-in: its memberships and profile become the user's, and
    the user's dynamic segments are evaluated on the joined history after the commit."""
    if not created:
        return
    user = ("user", instance.user_id)
    move_person(("visitor", instance.visitor_id), user)
    on_commit_robust(live.evaluate_person, user)
