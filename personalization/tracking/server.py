"""Server-side events: ``personalization.track()`` and the cached path → product lookup."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import Any

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder

from ..adapters import get_adapter
from ..conf import app_settings
from .collect import enqueue
from .context import PersonalizationContext
from .events import make_event

logger = logging.getLogger(__name__)

# Seconds a path → product answer (including "not a product page") stays in the cache. A day:
# a product's path rarely changes, views are recorded only for pages answered with 200 (so a
# removed product's path is never looked up), and with a few minutes the pages of a large
# catalogue viewed less often than that would miss the cache, and query the store, on every view.
PRODUCT_PATH_CACHE_TTL = 24 * 60 * 60


def product_path_cache_key(path: str) -> str:
    """Cache key of the product answer for ``path``."""
    return "p13n:path-product:" + hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()


def product_id_for_path(path: str) -> str | None:
    """The product whose page is at ``path`` (via the store adapter), cached briefly so that
    page views of the same pages do not ask the store's database again."""
    key = product_path_cache_key(path)
    cached = cache.get(key)
    if cached is None:
        cached = get_adapter().product_id_for_path(path) or ""
        cache.set(key, cached, PRODUCT_PATH_CACHE_TTL)
    return cached or None


def _is_request(obj: Any) -> bool:
    return hasattr(obj, "META") and hasattr(obj, "COOKIES")


def _product_id(product: Any) -> str:
    if product is None:
        return ""
    return str(getattr(product, "pk", product))


def _json_safe(properties: dict[str, Any]) -> dict[str, Any]:
    # Decimal amounts, dates and UUIDs become strings here, so every buffer can encode them.
    return json.loads(json.dumps(properties, cls=DjangoJSONEncoder))


def _valid_uuid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value))) if value else None
    except ValueError:
        return None


def request_user_id(request: Any) -> Any:
    """The primary key of the request's authenticated user, or None."""
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


def track(
    request_or_user: Any,
    name: str,
    product: Any = None,
    *,
    event_id: str | None = None,
    **properties: Any,
) -> str | None:
    """Record a server-side event (source ``server``); return its ``event_id``, or None when it
    is not collected.

    ``request_or_user`` is either the current request, whose visitor, session, user and consent
    (``request.personalization``) the event takes, or a user, for code that runs without a
    request (a task, a webhook). Without a request there is no consent to ask, so such events are
    collected only when ``CONSENT_REQUIRED`` is False; the consent issue extends this with the
    user's recorded consent. ``product`` is a product id or an object with ``.pk``; the remaining
    keyword arguments are the event's properties (Decimal, dates and UUIDs are stored as strings).
    ``event_id`` reuses the id the browser tracker gave the same action (it posts it in the
    ``p13n_event_id`` form field), so the action is stored once; a value that is not a UUID is
    ignored and a new id is made.

    ``name`` is a canonical event name or an alias; an unknown name, or a product event without a
    product, raises :class:`~personalization.tracking.events.EventValidationError`. A buffer that
    cannot be reached is logged and the event is dropped (None), so tracking never breaks the
    caller's request.
    """
    if not app_settings.TRACKING_ENABLED:
        return None
    product_id = _product_id(product)
    event_id = _valid_uuid(event_id)
    if _is_request(request_or_user):
        request = request_or_user
        context = getattr(request, "personalization", None)
        if context is None:
            # Without TrackingMiddleware a new visitor id is never sent to the browser.
            context = request.personalization = PersonalizationContext(request)
        if not context.tracking:
            return None
        event = make_event(
            name,
            source="server",
            event_id=event_id,
            vid=context.vid,
            user_id=request_user_id(request),
            session_id=context.session_id,
            product_id=product_id,
            properties=_json_safe(properties),
            path=request.path,
            referrer=request.META.get("HTTP_REFERER", ""),
            query=request.META.get("QUERY_STRING", ""),
            ua=request.META.get("HTTP_USER_AGENT", ""),
        )
    else:
        user = request_or_user
        if app_settings.CONSENT_REQUIRED or not getattr(user, "is_authenticated", False):
            return None
        event = make_event(
            name,
            source="server",
            event_id=event_id,
            user_id=user.pk,
            product_id=product_id,
            properties=_json_safe(properties),
        )
    try:
        enqueue([event])
    except Exception:
        logger.exception("Could not buffer the %s event", event["name"])
        return None
    return event["event_id"]
