"""From producers to the buffer, and from the buffer to the database.

Producers (the middleware, ``track()``, the ingest API) call :func:`enqueue`, which only appends
to the buffer: a request never waits on a database write for tracking. :func:`flush_buffer` (run
by the ``flush_events`` task, or by the in-process buffer's thread) writes the buffered events in
bulk, batch by batch, peek → write → ack.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.core.cache import cache

from ..conf import app_settings
from .buffer import EventBuffer, flush_queued_key, get_buffer
from .writer import WriteResult, write_events

logger = logging.getLogger(__name__)

# A flush holds its lock this long at most without progress: it renews it after each batch, and
# a flush whose process died stops blocking the next one after this delay.
FLUSH_LOCK_TIMEOUT = 60


def enqueue(events: list[dict[str, Any]]) -> None:
    """Append clean events to the buffer; ask for a flush when BUFFER_FLUSH_SIZE are waiting.

    Errors of the buffer itself (e.g. Redis unreachable) are raised to the caller.
    """
    if not events:
        return
    buffer = get_buffer()
    if buffer.push(events) >= app_settings.BUFFER_FLUSH_SIZE:
        buffer.schedule_flush()


def flush_lock_key(buffer: EventBuffer) -> str:
    return f"p13n:flush-lock:{buffer.name}"


def flush_buffer(buffer: EventBuffer | None = None) -> WriteResult | None:
    """Write the events that wait in ``buffer`` (default: the configured one) and remove them.

    Returns the totals, or None when another flush of the same buffer holds the lock. Events are
    removed only after their batch is committed, so an exception (or a killed process) leaves
    them for the next flush, which stores each of them once. Events pushed while the flush runs
    are left to the next one, so a busy buffer cannot keep a flush running forever.
    """
    buffer = buffer if buffer is not None else get_buffer()
    lock_key = flush_lock_key(buffer)
    token = uuid.uuid4().hex
    if not cache.add(lock_key, token, FLUSH_LOCK_TIMEOUT):
        return None
    stored = duplicates = invalid = 0
    try:
        cache.delete(flush_queued_key(buffer))
        batch_size = app_settings.BUFFER_FLUSH_SIZE
        remaining = len(buffer)
        while remaining > 0:
            batch = buffer.peek(min(batch_size, remaining))
            if not batch:
                break
            result = write_events(batch)
            buffer.ack(len(batch))
            cache.touch(lock_key, FLUSH_LOCK_TIMEOUT)
            stored += result.stored
            duplicates += result.duplicates
            invalid += result.invalid
            remaining -= len(batch)
    finally:
        if cache.get(lock_key) == token:
            cache.delete(lock_key)
    if stored or duplicates or invalid:
        logger.debug(
            "Flushed events: %d stored, %d duplicates, %d invalid", stored, duplicates, invalid
        )
    return WriteResult(stored=stored, duplicates=duplicates, invalid=invalid)
