"""Attribution: impressions (buffered), clicks (the click redirect) and conversions (a task).

* Every served list is an impression. :func:`record_impression` only appends a small dict to a
  buffer of the same kind as the event buffer (a Redis list next to the events', or an in-process
  deque flushed by its own thread); :func:`flush_impressions` bulk-inserts them. The page never
  waits on the database for it.
* A recommended product's link goes through the click redirect
  (``personalization:recommendation-click``), which stores a :class:`RecommendationClick` with the
  list's recommendation id and leads to the product's page.
* :func:`attribute_conversions` (the ``attribute_recommendation_conversions`` task) reads the
  store's orders and attributes every order line to the latest click on that product by the same
  person (the user, or a browser of that user) within ``RECOMMENDATION_ATTRIBUTION_WINDOW_DAYS``
  before the order (last click wins).

Impressions and clicks are recorded only for visitors whose consent allows tracking (analytics or
personalization), so CTR is measured on the same population for both.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import uuid
from typing import Any

from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..adapters import get_adapter
from ..conf import app_settings
from ..tracking.buffer import (
    EventBuffer,
    InProcessBuffer,
    RedisBuffer,
    claim_flush,
    get_buffer,
    release_flush,
)

logger = logging.getLogger(__name__)

FLUSH_LOCK_KEY = "p13n:rec:impressions-flush-lock"
FLUSH_LOCK_TIMEOUT = 60
WATERMARK_KEY = "p13n:rec:attribution-watermark"
#: Orders up to this long before the previous run are read again (a late commit is not missed;
#: the unique constraint makes a second attribution a no-op).
WATERMARK_OVERLAP = dt.timedelta(hours=1)


# --- impressions ------------------------------------------------------------------------------


class InProcessImpressionBuffer(InProcessBuffer):
    """Impressions in a deque of this process, flushed by this process's own thread."""

    def _flush_now(self) -> None:
        from django.db import connections

        try:
            flush_impressions(self)
        except Exception:
            logger.exception("Flushing the in-process impression buffer failed; they wait")
        finally:
            connections.close_all()


class RedisImpressionBuffer(EventBuffer):
    """Impressions in one Redis list, flushed by ``flush_recommendation_impressions`` (beat, and
    queued when ``BUFFER_FLUSH_SIZE`` wait). ``url`` and ``alias`` as for the event buffer."""

    def __init__(self, key: str, url: str | None = None, alias: str = "default") -> None:
        self.key = self.name = key
        self.url = url
        self.alias = alias
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            if self.url:
                import redis

                self._client = redis.Redis.from_url(self.url)
            else:
                from django_redis import get_redis_connection

                self._client = get_redis_connection(self.alias)
        return self._client

    def push(self, events: list[dict[str, Any]]) -> int:
        return int(self.client.rpush(self.key, *(json.dumps(row) for row in events)))

    def peek(self, n: int) -> list[dict[str, Any]]:
        items = self.client.lrange(self.key, 0, n - 1) if n > 0 else []
        return [_decode(item) for item in items]

    def ack(self, n: int) -> None:
        if n > 0:
            self.client.ltrim(self.key, n, -1)

    def __len__(self) -> int:
        return int(self.client.llen(self.key))

    def schedule_flush(self) -> None:
        from ..tasks import flush_recommendation_impressions

        if not claim_flush(self):
            return
        try:
            flush_recommendation_impressions.delay()
        except Exception:
            release_flush(self)
            logger.exception("Could not queue personalization.flush_recommendation_impressions")


def _decode(item: bytes) -> Any:
    # A malformed item becomes None, which write_impressions rejects (it is then acknowledged
    # with its batch instead of blocking the list).
    try:
        return json.loads(item)
    except ValueError:
        return None


@functools.cache
def impression_buffer() -> EventBuffer:
    """The impression buffer: a Redis list beside the event buffer's when that one is a
    :class:`RedisBuffer`, else an in-process deque (with a flusher thread when the event
    buffer has one)."""
    events = get_buffer()
    if isinstance(events, RedisBuffer):
        return RedisImpressionBuffer(
            key=f"{events.key}:rec-impressions", url=events.url, alias=events.alias
        )
    return InProcessImpressionBuffer(background=getattr(events, "background", True))


def _reset_buffer(*, setting: str, **_: Any) -> None:
    if setting == "PERSONALIZATION":
        impression_buffer.cache_clear()


setting_changed.connect(_reset_buffer)


def record_impression(rec: Any, *, user_id: Any = None, vid: str | None = None) -> None:
    """Buffer the impression of a served :class:`~.serving.Recommendation` (never raises).

    Nothing is recorded when tracking is not allowed for the visitor (``vid`` is None and there
    is no user): see the module docstring.
    """
    if vid is None and user_id is None:
        return
    row = {
        "rec_id": rec.id,
        "placement": rec.placement,
        "source": rec.source,
        "kind": rec.kind,
        "version_id": rec.version_id,
        "product_ids": rec.product_ids,
        "user_id": user_id,
        "vid": vid or "",
        "served_at": timezone.now().timestamp(),
    }
    try:
        buffer = impression_buffer()
        if buffer.push([row]) >= app_settings.BUFFER_FLUSH_SIZE:
            buffer.schedule_flush()
    except Exception:
        logger.exception("Could not buffer the impression of %s", rec.placement)


def flush_impressions(buffer: EventBuffer | None = None) -> int | None:
    """Write the buffered impressions and remove them (peek → write → ack, under a lock).

    Returns the number of rows written, or None when another flush holds the lock.
    """
    buffer = buffer if buffer is not None else impression_buffer()
    token = uuid.uuid4().hex
    lock = f"{FLUSH_LOCK_KEY}:{buffer.name}"
    if not cache.add(lock, token, FLUSH_LOCK_TIMEOUT):
        return None
    written = 0
    try:
        release_flush(buffer)
        remaining = len(buffer)
        while remaining > 0:
            batch = buffer.peek(min(int(app_settings.BUFFER_FLUSH_SIZE), remaining))
            if not batch:
                break
            written += write_impressions(batch)
            buffer.ack(len(batch))
            cache.touch(lock, FLUSH_LOCK_TIMEOUT)
            remaining -= len(batch)
    finally:
        if cache.get(lock) == token:
            cache.delete(lock)
    return written


def _clean_impression(row: Any) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise ValueError("not a dict")
    products = row.get("product_ids")
    if not isinstance(products, list) or not all(isinstance(p, str) for p in products):
        raise ValueError("product_ids must be a list of strings")
    placement = str(row.get("placement") or "")
    if not placement or len(placement) > 64:
        raise ValueError("placement missing or too long")
    version_id = row.get("version_id")
    return {
        "rec_id": uuid.UUID(str(row["rec_id"])),
        "placement": placement,
        "source": str(row.get("source") or "")[:32],
        "kind": str(row.get("kind") or "")[:32],
        "version_id": int(version_id) if version_id is not None else None,
        "product_ids": products,
        "user_id": row.get("user_id"),
        "vid": str(row.get("vid") or "")[:32],
        "served_at": dt.datetime.fromtimestamp(float(row["served_at"]), tz=dt.UTC),
    }


def write_impressions(rows: list[Any]) -> int:
    """Insert impressions in bulk (a repeated ``rec_id`` is ignored) and link the clicks that
    arrived before them. A malformed row is logged and skipped; the others are written."""
    from ..models import RecommendationImpression

    clean = []
    for index, row in enumerate(rows):
        try:
            clean.append(_clean_impression(row))
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("Skipping impression %d of the batch: %s", index, exc)
    if not clean:
        return 0
    names = {row["placement"]: row["source"] for row in clean}
    placements = placement_ids(names)
    objects = [
        RecommendationImpression(
            rec_id=row["rec_id"],
            placement_id=placements[row["placement"]],
            source=row["source"],
            kind=row["kind"],
            version_id=row["version_id"],
            product_ids=row["product_ids"],
            user_id=row["user_id"],
            vid=row["vid"],
            served_at=row["served_at"],
        )
        for row in clean
    ]
    with transaction.atomic():
        RecommendationImpression.objects.bulk_create(objects, ignore_conflicts=True)
        link_clicks([row["rec_id"] for row in clean])
    return len(objects)


def placement_ids(sources: dict[str, str]) -> dict[str, int]:
    """Primary keys of the placements named in ``sources`` (name → source), made if missing."""
    from ..models import Placement

    found = dict(Placement.objects.filter(name__in=sources).values_list("name", "pk"))
    missing = [name for name in sources if name not in found]
    if missing:
        Placement.objects.bulk_create(
            [Placement(name=name, source=sources[name]) for name in missing],
            ignore_conflicts=True,
        )
        found = dict(Placement.objects.filter(name__in=sources).values_list("name", "pk"))
    return found


def link_clicks(rec_ids: list[Any] | None = None) -> int:
    """Join clicks stored before their impression to it; returns how many were linked."""
    from ..models import RecommendationClick, RecommendationImpression

    clicks = RecommendationClick.objects.filter(impression__isnull=True)
    if rec_ids is not None:
        clicks = clicks.filter(rec_id__in=rec_ids)
    pending = list(clicks.values_list("pk", "rec_id"))
    if not pending:
        return 0
    impressions = dict(
        RecommendationImpression.objects.filter(
            rec_id__in={rec_id for _, rec_id in pending}
        ).values_list("rec_id", "pk")
    )
    linked = 0
    for pk, rec_id in pending:
        if rec_id in impressions:
            linked += RecommendationClick.objects.filter(pk=pk).update(
                impression_id=impressions[rec_id]
            )
    return linked


# --- clicks -----------------------------------------------------------------------------------


def record_click(request: Any, rec_id: uuid.UUID, product_id: str) -> Any:
    """Store a click on ``product_id`` in the list ``rec_id`` (once per list and product) and
    send the ``recommendation_click`` event. Returns the click, or None when tracking is not
    allowed for this visitor."""
    from ..models import RecommendationClick, RecommendationImpression
    from ..tracking.server import track

    context = getattr(request, "personalization", None)
    if context is None or not context.tracking:
        return None
    user = getattr(request, "user", None)
    user_id = user.pk if user is not None and user.is_authenticated else None
    impression = RecommendationImpression.objects.filter(rec_id=rec_id).first()
    click, created = RecommendationClick.objects.get_or_create(
        rec_id=rec_id,
        product_id=product_id,
        defaults={
            "impression": impression,
            "user_id": user_id,
            "vid": context.vid or "",
            "clicked_at": timezone.now(),
        },
    )
    if created:
        placement = impression.placement.name if impression is not None else ""
        track(request, "recommendation_click", product_id, rec_id=str(rec_id), placement=placement)
    return click


# --- conversions ------------------------------------------------------------------------------


def attribute_conversions(since: dt.datetime | None = None, now: dt.datetime | None = None) -> int:
    """Attribute the order lines placed since ``since`` to recommendation clicks.

    ``since`` defaults to the previous run (less :data:`WATERMARK_OVERLAP`), or to one attribution
    window ago on the first run. Each line goes to the latest click on its product by the
    order's customer (as a user, or from one of their browsers) in the window before the order.
    Returns the number of conversions created; running again creates none twice.
    """
    from ..models import RecommendationClick, RecommendationConversion, Visitor

    now = now or timezone.now()
    window = dt.timedelta(days=float(app_settings.RECOMMENDATION_ATTRIBUTION_WINDOW_DAYS))
    if since is None:
        previous = cache.get(WATERMARK_KEY)
        since = (
            dt.datetime.fromtimestamp(previous, tz=dt.UTC) - WATERMARK_OVERLAP
            if previous
            else now - window
        )
    link_clicks()
    created = 0
    vids_of: dict[str, list[str]] = {}
    for order in get_adapter().iter_orders(since=since):
        if not order.customer_id or order.timestamp > now:
            continue
        customer = order.customer_id
        if customer not in vids_of:
            vids_of[customer] = list(
                Visitor.objects.filter(user_id=customer).values_list("vid", flat=True)
            )
        lines = {line.product_id: line for line in order.lines}
        person = Q(user_id=customer)
        if vids_of[customer]:
            person |= Q(vid__in=vids_of[customer])
        clicks = (
            RecommendationClick.objects.filter(
                person,
                product_id__in=list(lines),
                clicked_at__gte=order.timestamp - window,
                clicked_at__lte=order.timestamp,
            )
            .order_by("product_id", "-clicked_at", "-pk")
            .values_list("pk", "product_id")
        )
        latest: dict[str, int] = {}
        for pk, product_id in clicks:
            latest.setdefault(product_id, pk)
        conversions = [
            RecommendationConversion(
                click_id=click_id,
                order_id=order.id,
                product_id=product_id,
                quantity=lines[product_id].quantity,
                amount=lines[product_id].amount,
                purchased_at=order.timestamp,
            )
            for product_id, click_id in latest.items()
        ]
        if conversions:
            before = RecommendationConversion.objects.filter(order_id=order.id).count()
            RecommendationConversion.objects.bulk_create(conversions, ignore_conflicts=True)
            created += RecommendationConversion.objects.filter(order_id=order.id).count() - before
    cache.set(WATERMARK_KEY, now.timestamp(), None)
    return created
