"""Celery tasks of the consent log: the GPC record, erasure on withdrawal, retention.

Registered with Celery through ``personalization.tasks``, which imports this module.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db.models import Max
from django.utils import timezone

from ..conf import app_settings
from ..models.consent import ConsentRecord
from ..models.tracking import Visitor
from .gate import OPTIONAL_CATEGORIES
from .records import ordered

logger = logging.getLogger(__name__)

PURGE_BATCH = 5000


@shared_task(name="personalization.record_gpc_opt_out")
def record_gpc_opt_out(
    *,
    vid: str,
    user_id: Any,
    policy_version: int,
    granted: list[str],
    ip_prefix: str = "",
    ua_hash: str = "",
) -> bool:
    """Append a ``gpc`` record: the browser's Global Privacy Control signal withdrew the opt-out
    categories from the consent its cookie records. ``granted`` is what remains.

    Returns False (and writes nothing) when the subject's latest record already says the same, so
    a repeated delivery records once.
    """
    subject = {"vid": vid} if vid else {"user_id": user_id} if user_id is not None else None
    granted = ordered(granted)
    if subject is not None:
        latest = ConsentRecord.objects.filter(**subject).order_by("-id").first()
        if (
            latest is not None
            and latest.method == "gpc"
            and latest.policy_version == policy_version
            and latest.granted == granted
        ):
            return False
    user_model = get_user_model()
    exists = user_id is not None and user_model._default_manager.filter(pk=user_id).exists()
    ConsentRecord.objects.create(
        visitor=Visitor.objects.filter(vid=vid).first() if vid else None,
        vid=vid,
        user_id=user_id if exists else None,
        policy_version=policy_version,
        granted=granted,
        denied=ordered(OPTIONAL_CATEGORIES - set(granted)),
        method="gpc",
        ip_prefix=ip_prefix,
        ua_hash=ua_hash,
    )
    return True


def purge_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """Records created before this time are past ``CONSENT_LOG_RETENTION_DAYS``."""
    now = now or timezone.now()
    return now - dt.timedelta(days=app_settings.CONSENT_LOG_RETENTION_DAYS)


@shared_task(name="personalization.purge_consent_log")
def purge_consent_log() -> int:
    """Delete consent records older than ``CONSENT_LOG_RETENTION_DAYS``, except the latest record
    of each subject (each visitor id and each user), which proves the consent in force however
    old it is. Returns the number deleted. Runs daily on the beat schedule; safe to repeat.
    """
    records = ConsentRecord.objects.all()
    latest_by_vid = records.exclude(vid="").values("vid").annotate(last=Max("id")).values("last")
    latest_by_user = (
        records.filter(user__isnull=False).values("user").annotate(last=Max("id")).values("last")
    )
    expired = (
        records.filter(created_at__lt=purge_cutoff())
        .exclude(id__in=latest_by_vid)
        .exclude(id__in=latest_by_user)
        .order_by()
    )
    deleted = 0
    while True:
        ids = list(expired.values_list("id", flat=True)[:PURGE_BATCH])
        if not ids:
            break
        deleted += ConsentRecord.objects.filter(id__in=ids).delete()[0]
    if deleted:
        logger.info("Purged %d consent records past the retention period", deleted)
    return deleted
