"""Signed visitor tokens: how the browser tracker proves which visitor it posts for.

The page that loads ``tracker.js`` embeds ``issue(vid)`` (see the ``{% personalization_tracker %}``
tag); the ingest API takes the visitor id from ``read(token)`` and never from the payload. The token
is a :mod:`django.core.signing` value with a salt of its own, so no other signed value of the site
(session data, password-reset links, ...) can stand in for it, and it expires after
``VISITOR_TOKEN_MAX_AGE`` seconds. docs/tracking.md explains why this is safe without a CSRF cookie.
"""

from __future__ import annotations

import functools
import time

from django.conf import settings
from django.core import signing

from ..conf import app_settings

SALT = "personalization.tracking.visitor-token"
# Visitor.vid is a CharField(max_length=32); anything longer cannot be one of ours.
MAX_VID_LENGTH = 32


class InvalidToken(Exception):
    """The token is malformed, was not signed by this site, or has expired."""


def issue(vid: str) -> str:
    """A signed, timestamped token that names the visitor ``vid``.

    The same token is handed out again for up to 1/24 of ``VISITOR_TOKEN_MAX_AGE`` (an hour by
    default), so a page embeds a token that stays valid for at least 23/24 of that age: signing
    costs as much as the rest of the tracking work of a page view, which embeds a token each time.
    """
    if not vid or len(vid) > MAX_VID_LENGTH:
        raise ValueError(f"not a visitor id: {vid!r}")
    reuse = max(1, int(app_settings.VISITOR_TOKEN_MAX_AGE) // 24)
    return _signed(vid, settings.SECRET_KEY, int(time.time() // reuse))


@functools.lru_cache(maxsize=4096)
def _signed(vid: str, secret_key: str, period: int) -> str:
    # The key and the period are part of the cache key only: a new key or a new period signs anew.
    return signing.dumps({"vid": vid}, salt=SALT)


def read(token: str) -> str:
    """The visitor id in ``token``; raises :class:`InvalidToken` when it cannot be trusted."""
    if not isinstance(token, str) or not token:
        raise InvalidToken("no token")
    try:
        payload = signing.loads(token, salt=SALT, max_age=app_settings.VISITOR_TOKEN_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise InvalidToken("the token has expired") from exc
    except signing.BadSignature as exc:
        raise InvalidToken("the token signature is not valid") from exc
    vid = payload.get("vid") if isinstance(payload, dict) else None
    if not isinstance(vid, str) or not vid or len(vid) > MAX_VID_LENGTH:
        raise InvalidToken("the token does not name a visitor")
    return vid
