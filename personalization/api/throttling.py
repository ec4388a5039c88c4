"""Rate limits of the ingest API: one per visitor (from the signed token) and one per client IP.

Both are DRF throttles on the Django cache. Their rates come from ``INGEST_RATE_PER_VISITOR`` and
``INGEST_RATE_PER_IP`` each time a throttle is built, that is on every request, so a changed setting
(or ``override_settings`` in a test) takes effect at once. A throttled request gets DRF's 429 answer
with a ``Retry-After`` header.
"""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import SimpleRateThrottle

from ..conf import app_settings


class IngestIPThrottle(SimpleRateThrottle):
    """At most ``INGEST_RATE_PER_IP`` requests from one client address."""

    scope = "p13n_ingest_ip"

    def get_rate(self) -> str:
        return app_settings.INGEST_RATE_PER_IP

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class IngestVisitorThrottle(SimpleRateThrottle):
    """At most ``INGEST_RATE_PER_VISITOR`` requests for one visitor token.

    The view provides ``visitor_for_throttle(request)``: the visitor id of a valid token, or
    ``None`` (then only the per-IP limit applies, and the view refuses the request anyway).
    """

    scope = "p13n_ingest_visitor"

    def get_rate(self) -> str:
        return app_settings.INGEST_RATE_PER_VISITOR

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        vid = view.visitor_for_throttle(request)
        if vid is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": vid}
