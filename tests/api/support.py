"""Helpers of the API tests: a visitor with a token and a test client from an address of its own."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from typing import Any

from django.test import Client

from personalization.conf import app_settings
from personalization.models.tracking import new_visitor_id
from personalization.tracking import tokens
from personalization.tracking.buffer import get_buffer

EVENTS_URL = "/personalization/api/events/"
TOKEN_URL = "/personalization/api/token/"
SCHEMA_URL = "/personalization/api/schema/"
CONSENT = "1:analytics+personalization"

# The throttles count per client address in the cache, which outlives a test (and, on Redis, a
# run): each visitor posts from an address of its own, in the benchmarking range of RFC 2544.
_addresses = itertools.count(random.randrange(1 << 16))


def buffered() -> list[dict[str, Any]]:
    """What waits in the event buffer configured now (``override_settings`` builds a new one)."""
    buf = get_buffer()
    return buf.peek(len(buf))


def new_address() -> str:
    n = next(_addresses) % (1 << 17)
    return f"198.{18 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}"


@dataclass
class Visitor:
    """A browser: its visitor id, a token for it, and a test client from an address of its own."""

    vid: str
    token: str
    client: Client
    address: str

    def post(self, body: Any, *, content_type: str = "application/json", **extra: Any) -> Any:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.post(
            EVENTS_URL, data=data, content_type=content_type, REMOTE_ADDR=self.address, **extra
        )

    def get(self, url: str, **extra: Any) -> Any:
        return self.client.get(url, REMOTE_ADDR=self.address, **extra)


def make_visitor(*, consent: str | None = CONSENT, cookie: bool = True) -> Visitor:
    """A visitor who has chosen ``consent`` and whose browser holds the visitor cookie."""
    vid = new_visitor_id()
    client = Client()
    if consent is not None:
        client.cookies[app_settings.CONSENT_COOKIE_NAME] = consent
    if cookie:
        client.cookies[app_settings.VISITOR_COOKIE_NAME] = vid
    return Visitor(vid=vid, token=tokens.issue(vid), client=client, address=new_address())
