"""Signal receivers of the app; connected by importing this module in AppConfig.ready()."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from .consent import policy as _consent_policy  # noqa: F401  (connects its cache receivers)
from .consent import tasks as _consent_tasks  # noqa: F401  (registers the consent tasks)
from .models.tracking import Visitor
from .recommendations import forget as _recommendation_forget  # noqa: F401  (erasure)
from .recommendations import privacy as _recommendation_privacy  # noqa: F401  (export, erasure)
from .segments import receivers as _segment_receivers  # noqa: F401  (live segments, caches)
from .tasks import merge_visitor
from .transactions import on_commit_robust

logger = logging.getLogger(__name__)


def _queue_merge(vid: str, user_id: Any) -> None:
    merge_visitor.delay(vid, user_id)


@receiver(user_logged_in, dispatch_uid="personalization.link_visitor_on_login")
def link_visitor_on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Queue the merge of the browser's visitor into the user who just logged in.

    The merge runs in a task (eagerly in the embedded mode) after the current transaction
    commits, so that a user created in the same request is visible to the worker. A visitor that
    already belongs to another account is not merged: the browser gets a new visitor instead.
    """
    context = getattr(request, "personalization", None)
    vid = context.known_vid if context is not None else None
    if vid is None:
        # No consent, or a browser without history: the user's next events carry the user and
        # the writer gives the new visitor to that user.
        return
    owner = Visitor.objects.filter(vid=vid).values_list("user_id", flat=True).first()
    if owner is not None and owner != user.pk:
        context.rotate()
        return
    on_commit_robust(_queue_merge, vid, user.pk)


@receiver(user_logged_out, dispatch_uid="personalization.new_visitor_on_logout")
def new_visitor_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Start a new anonymous visitor (and session) after log-out, so that what happens next in
    this browser is not added to the account that just left."""
    context = getattr(request, "personalization", None)
    if context is not None:
        context.rotate()
