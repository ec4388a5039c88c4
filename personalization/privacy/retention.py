"""Retention: raw events older than ``EVENT_RETENTION_DAYS`` are folded into daily aggregates and
deleted; sessions and visitors with nothing left follow.

Folding and deleting happen in one transaction per batch: the aggregates grow by exactly the
events that the same transaction deletes, so a run that stops half-way, a retry, or a second run
never counts an event twice, and an event that arrives late for a day already folded is simply
folded with the next batch. The selected events are locked (``FOR UPDATE``; SQLite serialises
writers anyway), and a cache lock keeps two purges from running at once.

The aggregates keep what segmentation and the popularity baselines need: per subject (the
pseudonymous key of the user, else the pseudonym of the visitor), day (UTC) and event name, the
number of events and the sum of their numeric ``value`` property; and the same per product.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..conf import app_settings
from ..models import DailyActivity, Event, ProductDailyActivity, Session, Visitor
from .pseudonyms import pseudonymous_key, visitor_pseudonym

BATCH_SIZE = 5000
LOCK_TIMEOUT = 15 * 60  # seconds; renewed after every batch


def retention_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """Midnight (UTC) starting the oldest day that is kept: whole days are purged, never parts."""
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    first_kept = today - dt.timedelta(days=app_settings.EVENT_RETENTION_DAYS)
    return dt.datetime.combine(first_kept, dt.time(), tzinfo=dt.UTC)


def numeric_value(properties: Any) -> float:
    """The event's ``value`` property as a number (0 when absent or not a finite number).

    ``track()`` stores Decimal amounts as strings, so numeric strings count.
    """
    if not isinstance(properties, dict):
        return 0.0
    value = properties.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0.0
    try:
        number = float(value)
    except ValueError:
        return 0.0
    return number if math.isfinite(number) else 0.0


Key = tuple[str, dt.date, str]


def _accumulate(model: Any, key_field: str, totals: dict[Key, list[float]]) -> None:
    """Add ``totals`` ({(key, day, name): [count, value]}) to the aggregate rows of ``model``."""
    if not totals:
        return
    existing = {
        (getattr(row, key_field), row.day, row.name): row
        for row in model.objects.filter(
            **{f"{key_field}__in": {key for key, _day, _name in totals}},
            day__in={day for _key, day, _name in totals},
        )
    }
    changed, created = [], []
    for key, (count, value) in totals.items():
        row = existing.get(key)
        if row is None:
            created.append(
                model(**{key_field: key[0]}, day=key[1], name=key[2], count=count, value=value)
            )
        else:
            row.count += int(count)
            row.value += value
            changed.append(row)
    if changed:
        model.objects.bulk_update(changed, ["count", "value"], batch_size=1000)
    if created:
        model.objects.bulk_create(created, batch_size=1000)


def fold(rows: Iterable[tuple[Any, str | None, str, str, dt.datetime, Any]]) -> tuple[dict, dict]:
    """Totals per (subject key, day, name) and per (product id, day, name) of event rows
    ``(user_id, vid, name, product_id, occurred_at, properties)``."""
    subjects: dict[Key, list[float]] = defaultdict(lambda: [0, 0.0])
    products: dict[Key, list[float]] = defaultdict(lambda: [0, 0.0])
    keys: dict[tuple[Any, str | None], str] = {}
    for user_id, vid, name, product_id, occurred_at, properties in rows:
        subject = keys.get((user_id, vid))
        if subject is None:
            if user_id is not None:
                subject = pseudonymous_key(user_id)
            else:
                subject = visitor_pseudonym(vid) if vid else ""
            keys[(user_id, vid)] = subject
        day = occurred_at.astimezone(dt.UTC).date()
        value = numeric_value(properties)
        total = subjects[(subject, day, name)]
        total[0] += 1
        total[1] += value
        if product_id:
            total = products[(product_id, day, name)]
            total[0] += 1
            total[1] += value
    return dict(subjects), dict(products)


def _lock_key(name: str) -> str:
    return f"p13n:retention-lock:{name}"


def _acquire(name: str) -> str | None:
    token = uuid.uuid4().hex
    return token if cache.add(_lock_key(name), token, LOCK_TIMEOUT) else None


def _release(name: str, token: str) -> None:
    if cache.get(_lock_key(name)) == token:
        cache.delete(_lock_key(name))


def _expired_batch(cutoff: dt.datetime, size: int) -> list[tuple]:
    queryset = Event.objects.filter(occurred_at__lt=cutoff).order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    return list(
        queryset.values_list(
            "pk", "user_id", "visitor__vid", "name", "product_id", "occurred_at", "properties"
        )[:size]
    )


def purge_expired_events(
    now: dt.datetime | None = None, batch_size: int = BATCH_SIZE
) -> dict[str, int] | None:
    """Fold the events older than the retention period into the aggregates and delete them.

    Returns ``{"events": deleted, "batches": n}``, or None when another purge holds the lock.
    """
    token = _acquire("events")
    if token is None:
        return None
    cutoff = retention_cutoff(now)
    deleted = batches = 0
    try:
        while True:
            with transaction.atomic():
                rows = _expired_batch(cutoff, batch_size)
                if not rows:
                    break
                subjects, products = fold(row[1:] for row in rows)
                _accumulate(DailyActivity, "subject_key", subjects)
                _accumulate(ProductDailyActivity, "product_id", products)
                Event.objects.filter(pk__in=[row[0] for row in rows]).delete()
            deleted += len(rows)
            batches += 1
            cache.touch(_lock_key("events"), LOCK_TIMEOUT)
    finally:
        _release("events", token)
    return {"events": deleted, "batches": batches}


def _delete_in_batches(queryset: Any, size: int) -> int:
    deleted = 0
    while True:
        pks = list(queryset.values_list("pk", flat=True)[:size])
        if not pks:
            return deleted
        with transaction.atomic():
            queryset.model.objects.filter(pk__in=pks).delete()
        deleted += len(pks)


def purge_expired_sessions(
    now: dt.datetime | None = None, batch_size: int = BATCH_SIZE
) -> dict[str, int] | None:
    """Delete the sessions that ended before the retention period, then the visitors last seen
    before it that have no event or session left. Returns the counts, or None when another purge
    holds the lock."""
    token = _acquire("sessions")
    if token is None:
        return None
    cutoff = retention_cutoff(now)
    try:
        sessions = _delete_in_batches(
            Session.objects.filter(ended_at__lt=cutoff).order_by("pk"), batch_size
        )
        stale = (
            Visitor.objects.filter(last_seen__lt=cutoff)
            .filter(
                ~Exists(Event.objects.filter(visitor=OuterRef("pk"))),
                ~Exists(Session.objects.filter(visitor=OuterRef("pk"))),
            )
            .order_by("pk")
        )
        visitors = _delete_in_batches(stale, batch_size)
    finally:
        _release("sessions", token)
    return {"sessions": sessions, "visitors": visitors}
