"""``TrackingMiddleware``: the visitor cookie, ``request.personalization`` and server-side views.

Add it after ``AuthenticationMiddleware``. For every request it attaches a lazy
:class:`~personalization.tracking.context.PersonalizationContext` as ``request.personalization``.
After the view it records, for an HTML ``GET`` answered with 200 and a tracked visitor:

* ``product_view`` when the store adapter maps the path to a product (the lookup is cached for a
  day), and ``page_view`` on every other page. A product page gives one event, not two:
  analyses that count page views count both names.

Nothing is recorded for other methods and statuses, non-HTML responses, prefetches and
XMLHttpRequest/htmx fragments, robots (a robot word in the user agent, ua-parser's "Spider"
device, or no user agent at all), ``STATIC_URL``, ``MEDIA_URL`` and ``EXCLUDED_PATH_PREFIXES``
(the admin by default), or when tracking is disabled or the visitor has not consented to
``analytics`` or ``personalization``.

The visitor cookie (``VISITOR_COOKIE_NAME``, default ``p13n_vid``: a random id, HttpOnly,
SameSite=Lax, Secure on HTTPS, max-age ``VISITOR_COOKIE_AGE``) is set only when tracking is
allowed, when the visitor gets an id (first tracked request, or log-out) and once per new session
to renew its age. Without consent no cookie is set, no visitor is created and nothing is recorded,
and a visitor cookie left from an earlier consent is deleted.

Events go to the buffer (``collect.enqueue``): the request never waits on a database write. A
failure of the tracking code is logged and never breaks the response.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from . import consent
from .conf import app_settings
from .recommendations.serving import remember_product_view
from .tracking.collect import enqueue
from .tracking.context import PersonalizationContext
from .tracking.events import make_event
from .tracking.names import PAGE_VIEW, PRODUCT_VIEW
from .tracking.server import product_id_for_path, request_user_id
from .tracking.useragent import is_bot

logger = logging.getLogger(__name__)


def path_excluded(request: HttpRequest) -> bool:
    """Whether the request's path is never tracked (EXCLUDED_PATH_PREFIXES, static, media)."""
    if request.path_info.startswith(tuple(app_settings.EXCLUDED_PATH_PREFIXES)):
        return True
    for url in (settings.STATIC_URL, settings.MEDIA_URL):
        if url and url.startswith("/") and request.path.startswith(url):
            return True
    return False


def _is_fragment_or_prefetch(request: HttpRequest) -> bool:
    # META rather than request.headers, which copies every header into a new mapping.
    meta = request.META
    return (
        "prefetch" in meta.get("HTTP_SEC_PURPOSE", meta.get("HTTP_PURPOSE", "")).lower()
        or meta.get("HTTP_X_REQUESTED_WITH") == "XMLHttpRequest"
        or "HTTP_HX_REQUEST" in meta
    )


def wants_view_event(request: HttpRequest, response: HttpResponseBase) -> bool:
    """Whether this exchange is a page view to record (cheap checks only; no I/O)."""
    return (
        request.method == "GET"
        and response.status_code == 200
        and response.get("Content-Type", "").startswith("text/html")
        and app_settings.TRACKING_ENABLED
        and not path_excluded(request)
        and not _is_fragment_or_prefetch(request)
        and not is_bot(request.META.get("HTTP_USER_AGENT", ""))
        and request.personalization.tracking
    )


def record_view(request: HttpRequest) -> None:
    """Buffer the ``product_view`` or ``page_view`` of this request."""
    context = request.personalization
    product_id = product_id_for_path(request.path_info)
    event = make_event(
        PRODUCT_VIEW if product_id else PAGE_VIEW,
        source="server",
        vid=context.vid,
        user_id=request_user_id(request),
        session_id=context.session_id,
        product_id=product_id or "",
        path=request.path,
        referrer=request.META.get("HTTP_REFERER", ""),
        query=request.META.get("QUERY_STRING", ""),
        ua=request.META.get("HTTP_USER_AGENT", ""),
    )
    enqueue([event])
    if product_id:  # every tracked product page counts for recently_viewed, widget or not
        remember_product_view(request)


def _record_view_safely(request: HttpRequest) -> None:
    try:
        record_view(request)
    except Exception:
        logger.exception("Could not record the page view of %s", request.path)


def update_visitor_cookie(request: HttpRequest, response: HttpResponseBase) -> None:
    """Send a new or renewed visitor id; delete a visitor cookie that consent no longer covers."""
    context = request.personalization
    name = app_settings.VISITOR_COOKIE_NAME
    if context.cookie_update_needed:
        response.set_cookie(
            name,
            context.vid,
            max_age=app_settings.VISITOR_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    elif name in request.COOKIES and not consent.tracking_allowed(request):
        response.delete_cookie(name, samesite="Lax")


class TrackingMiddleware:
    """Sync and async capable; see the module docstring for what it does."""

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        request.personalization = PersonalizationContext(request)
        response = self.get_response(request)
        if wants_view_event(request, response):
            _record_view_safely(request)
        update_visitor_cookie(request, response)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        request.personalization = PersonalizationContext(request)
        # The gate may read the policy version from the database: not from the event loop.
        await consent.aprepare(request)
        response = await self.get_response(request)
        if wants_view_event(request, response):
            # The user, the cache, the buffer and the adapter are synchronous APIs.
            await sync_to_async(_record_view_safely)(request)
        update_visitor_cookie(request, response)
        return response
