"""``request.personalization``: what the app knows of the current request, worked out lazily.

The middleware attaches one :class:`PersonalizationContext` to every request. Creating it costs
nothing; the consent gate runs on the first question, the visitor id is read (or made) on the
first use of :attr:`~PersonalizationContext.vid`, and the session is resolved (one cache read and
write) on the first use of :attr:`~PersonalizationContext.session_id`.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from django.utils import timezone

from .. import consent
from ..conf import app_settings
from ..models.tracking import new_visitor_id
from .sessions import end_session, resolve_session

# What new_visitor_id() makes (22 URL-safe characters), with room for ids from other producers.
VID_RE = re.compile(r"^[A-Za-z0-9_-]{16,32}$")


class PersonalizationContext:
    """Per-request state: consent, visitor id, session id and segments."""

    def __init__(self, request: Any) -> None:
        self._request = request
        self._vid: str | None = None
        self._vid_resolved = False
        self._vid_is_new = False
        self._session: tuple[str, bool] | None = None

    @cached_property
    def tracking(self) -> bool:
        """Whether behaviour may be recorded: tracking is enabled and the visitor consented."""
        return bool(app_settings.TRACKING_ENABLED) and consent.tracking_allowed(self._request)

    def allowed(self, category: str) -> bool:
        """The consent gate for this request (see :func:`personalization.consent.allowed`)."""
        return consent.allowed(self._request, category)

    @cached_property
    def segments(self) -> frozenset[str]:
        """Slugs of the active segments (static and dynamic) the user, or else this browser's
        visitor, is in; empty without ``personalization`` consent. Loaded on first use and cached
        per person (docs/segments.md, "Using segments in templates and views")."""
        from ..segments.context import request_segments

        return request_segments(self._request)

    @cached_property
    def cookie_vid(self) -> str | None:
        """The well-formed visitor id the browser sent, if any (consent is not considered)."""
        value = self._request.COOKIES.get(app_settings.VISITOR_COOKIE_NAME, "")
        return value if VID_RE.match(value) else None

    @property
    def vid(self) -> str | None:
        """The visitor id; a new one is made when the browser has none. None without consent."""
        if not self._vid_resolved:
            self._vid_resolved = True
            if self.tracking:
                self._vid = self.cookie_vid
                if self._vid is None:
                    self._vid = new_visitor_id()
                    self._vid_is_new = True
        return self._vid

    @property
    def known_vid(self) -> str | None:
        """The visitor id if this request already has one (from the cookie or made), never a new
        one; None without consent."""
        if self._vid_resolved:
            return self._vid
        return self.cookie_vid if self.tracking else None

    @property
    def vid_is_new(self) -> bool:
        """Whether :attr:`vid` was made during this request (the browser must be sent it)."""
        return self._vid_is_new

    @property
    def session_id(self) -> str | None:
        """The current session's id (a UUID string); None without a visitor id."""
        vid = self.vid
        if vid is None:
            return None
        if self._session is None:
            self._session = resolve_session(vid, timezone.now())
        return self._session[0]

    @property
    def session_is_new(self) -> bool:
        """Whether the session was resolved during this request and starts with it."""
        return self._session is not None and self._session[1]

    @property
    def cookie_update_needed(self) -> bool:
        """Whether the response must (re)set the visitor cookie: the id is new, or a new session
        began (which renews the cookie's age once per visit rather than on every response)."""
        return self._vid is not None and (self._vid_is_new or self.session_is_new)

    def consent_changed(self) -> None:
        """Ask the gate again: this request has just recorded a new consent choice.

        When tracking is no longer allowed the visitor id is dropped (the middleware then deletes
        the visitor cookie); when it has become allowed, :attr:`vid` gives the browser its id.
        """
        self.__dict__.pop("tracking", None)
        if not self.tracking:
            self._vid, self._vid_is_new, self._session = None, False, None
            self._vid_resolved = True
        elif self._vid is None:
            self._vid_resolved = False

    def rotate(self) -> str | None:
        """Start a new anonymous visitor (and so a new session), e.g. at log-out.

        Returns the new visitor id, or None when tracking is not allowed.
        """
        old = self.known_vid
        if old is not None:
            end_session(old)
        self._vid_resolved = True
        self._session = None
        if not self.tracking:
            self._vid, self._vid_is_new = None, False
            return None
        self._vid, self._vid_is_new = new_visitor_id(), True
        return self._vid
