"""Visits: a visitor's session continues while requests come less than SESSION_IDLE_TIMEOUT apart.

The state lives in the Django cache (one small entry per active visitor), so resolving a session
costs a cache read, a write when the visitor's last activity moved on by more than
:func:`touch_interval`, and never touches the database. ``Session`` rows are created later by the
writer, from the first event of each session.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.core.cache import cache

from ..conf import app_settings

# Cache entries outlive the idle timeout a little so that the comparison below, not the expiry,
# decides when a session ends.
EXPIRY_MARGIN = 60
#: The stored last activity is moved on at most this often (and by at most 1/20 of the timeout):
#: a visitor's requests a few seconds apart then cost one cache write per half minute, not one
#: each, and a session may end up to that much before the timeout (never after it).
MAX_TOUCH_INTERVAL = 30


def touch_interval(timeout: float) -> float:
    """Seconds of activity after which the stored last activity is written again."""
    return min(MAX_TOUCH_INTERVAL, timeout / 20)


def _key(vid: str) -> str:
    return f"p13n:session:{vid}"


def resolve_session(vid: str, now: dt.datetime) -> tuple[str, bool]:
    """The visitor's current session id at ``now`` and whether it starts with this call."""
    timeout = app_settings.SESSION_IDLE_TIMEOUT
    key = _key(vid)
    moment = now.timestamp()
    state = cache.get(key)
    if state is None:
        session_id = str(uuid.uuid4())
        # `add` lets the first of two concurrent requests of a new visitor define the session.
        if cache.add(key, (session_id, moment), timeout + EXPIRY_MARGIN):
            return session_id, True
        state = cache.get(key)
    if state is not None:
        session_id, last_seen = state
        if moment - last_seen <= timeout:
            if moment - last_seen >= touch_interval(timeout):
                cache.set(key, (session_id, moment), timeout + EXPIRY_MARGIN)
            return session_id, False
    session_id = str(uuid.uuid4())
    cache.set(key, (session_id, moment), timeout + EXPIRY_MARGIN)
    return session_id, True


def end_session(vid: str) -> None:
    """Forget the visitor's current session (its next request starts a new one)."""
    cache.delete(_key(vid))
