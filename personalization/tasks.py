"""Celery tasks of the app.

Tasks are thin: they load data, call the Django-free cores and store the results. Each one is
idempotent, so a retry or a duplicate delivery does no harm.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import Any

from celery import shared_task
from django.core.cache import cache
from django.db import connection

from .models import DataSubjectRequest, TrainingRun
from .privacy import erasure, retention
from .tracking.collect import flush_buffer
from .tracking.identity import link_visitor

logger = logging.getLogger(__name__)


@shared_task(name="personalization.check_health")
def check_health() -> dict[str, Any]:
    """Tell whether a worker reaches the database and the cache.

    Run it through a worker to check a deployment, e.g. from ``manage.py shell``::

        from personalization.tasks import check_health
        check_health.delay().get(timeout=10)
        # {'database': True, 'cache': True, 'pid': 4242, 'hostname': 'web-1'}

    ``database`` is True when ``SELECT 1`` answers, ``cache`` when a value written to the default
    cache reads back. ``pid`` and ``hostname`` name the process that ran the task. A failing
    check is logged with its traceback and reported as False rather than raised, so the caller
    always gets the whole picture.
    """
    return {
        "database": _database_answers(),
        "cache": _cache_round_trips(),
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
    }


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("Health check: the database did not answer")
        return False


def _cache_round_trips() -> bool:
    key = f"personalization:health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "ok", timeout=60)
        found = cache.get(key)
        cache.delete(key)
    except Exception:
        logger.exception("Health check: the cache did not answer")
        return False
    return found == "ok"


@shared_task(name="personalization.flush_events")
def flush_events(shard: int | None = None) -> int | None:
    """Write the buffered events in bulk and remove them from the buffer.

    Runs on the beat schedule (every ``BUFFER_FLUSH_INTERVAL`` seconds: every shard) and when
    ``BUFFER_FLUSH_SIZE`` events wait in a shard (``shard``: that one only; flushes of different
    shards run in parallel in several worker processes). Returns the number of events stored, or
    None when another flush of a shard was running. Events leave the buffer only after they are
    committed, and a repeated write stores nothing twice, so a retry or a worker stopped
    mid-flush loses nothing and duplicates nothing.
    """
    result = flush_buffer(shard=shard)
    return None if result is None else result.stored


@shared_task(name="personalization.merge_visitor")
def merge_visitor(vid: str, user_id: int) -> int | None:
    """Join an anonymous visitor's history to a user (queued at log-in); see
    :func:`personalization.tracking.identity.link_visitor`. Returns the id of the recorded
    ``IdentityMerge``, or None when there was nothing to merge."""
    merge = link_visitor(vid, user_id)
    return None if merge is None else merge.pk


@shared_task(name="personalization.erase_user_data")
def erase_user_data(user_id: Any, request_id: int | None = None) -> dict[str, int]:
    """Erase what the app holds about a user (see :func:`personalization.privacy.erase_user`).

    ``request_id`` is the pending ``DataSubjectRequest`` that ``request_erasure`` recorded; a
    request already done is not run again. Returns the rows erased per data type.
    """
    request = DataSubjectRequest.objects.filter(pk=request_id).first() if request_id else None
    return erasure.erase_user(user_id, request=request).counts


@shared_task(name="personalization.erase_visitor_data")
def erase_visitor_data(
    vid: str, categories: list[str] | None = None, via: str = "consent"
) -> dict[str, int]:
    """Delete what was collected in one browser, e.g. after a consent withdrawal (see
    :func:`personalization.privacy.erase_visitor_data`)."""
    return erasure.erase_visitor_data(vid, categories, via=via)


@shared_task(name="personalization.purge_expired_events")
def purge_expired_events() -> dict[str, int] | None:
    """Fold the events older than ``EVENT_RETENTION_DAYS`` into the daily aggregates and delete
    them (beat: daily). None when another purge was running."""
    return retention.purge_expired_events()


@shared_task(name="personalization.purge_expired_sessions")
def purge_expired_sessions() -> dict[str, int] | None:
    """Delete the sessions, and the visitors with nothing left, older than the retention period
    (beat: daily, after ``purge_expired_events``). None when another purge was running."""
    return retention.purge_expired_sessions()


@shared_task(name="personalization.train_recommenders")
def train_recommenders(run_id: int | None = None) -> dict[str, Any]:
    """Train the recommenders, precompute their lists and activate them (beat: daily; the
    admin's "Train now" passes the id of the run it recorded). See
    :mod:`personalization.recommendations.training`. Returns the run's id, status and error."""
    # Imported here: web processes import this module and never need pandas or the models.
    from .recommendations.training import TrainingError, request_run, train

    run = TrainingRun.objects.filter(pk=run_id).first() if run_id else request_run("schedule")
    if run is None:
        return {"run": run_id, "status": "unknown run"}
    if run.status != TrainingRun.QUEUED:
        # A duplicate delivery of a run that already started or finished.
        return {"run": run.pk, "status": run.status, "error": run.error}
    try:
        train(run)
    except TrainingError:
        # Recorded on the run (status, error) and logged; the old versions stay active.
        run.refresh_from_db()
    return {"run": run.pk, "status": run.status, "error": run.error}


@shared_task(name="personalization.flush_recommendation_impressions")
def flush_recommendation_impressions() -> int | None:
    """Write the buffered recommendation impressions in bulk (beat: with the events' flush; also
    queued when ``BUFFER_FLUSH_SIZE`` wait). None when another flush was running. See
    :mod:`personalization.recommendations.attribution`."""
    from .recommendations.attribution import flush_impressions

    return flush_impressions()


@shared_task(name="personalization.attribute_recommendation_conversions")
def attribute_recommendation_conversions() -> int:
    """Attribute the orders placed since the previous run to recommendation clicks of the same
    person within ``RECOMMENDATION_ATTRIBUTION_WINDOW_DAYS`` (beat: every 10 minutes). Returns
    the number of conversions created."""
    from .recommendations.attribution import attribute_conversions

    return attribute_conversions()


@shared_task(name="personalization.build_segments")
def build_segments(run_id: int | None = None) -> dict[str, Any]:
    """Run the segmentation pipeline (beat: daily; the admin's "Recompute now" passes the id of
    the run it queued). See :mod:`personalization.segments.pipeline`. Returns the run's id,
    status and the first line of its error."""
    # Imported here: web processes import this module and never need pandas or scikit-learn.
    from .models import SegmentationRun
    from .segments.pipeline import run_pipeline

    if run_id is None:
        run = SegmentationRun.objects.create(triggered_by="schedule")
    else:
        run = SegmentationRun.objects.filter(pk=run_id).first()
        if run is None:
            return {"run": run_id, "status": "unknown run"}
        if run.status != SegmentationRun.PENDING:
            # A duplicate delivery of a run that already started or finished.
            return {"run": run.pk, "status": run.status}
    run = run_pipeline(run)
    return {"run": run.pk, "status": run.status, "error": run.error.split("\n", 1)[0]}


@shared_task(name="personalization.recheck_dynamic_segments")
def recheck_dynamic_segments() -> dict[str, int]:
    """Take people out of dynamic segments whose time windows ran out while they were away
    (beat: every 5 minutes). Returns, per segment with a window, how many members left."""
    from .segments.live import recheck_dynamic_members

    return recheck_dynamic_members()
