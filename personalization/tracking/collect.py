"""From producers to the buffer, and from the buffer to the database.

Producers (the middleware, ``track()``, the ingest API) call :func:`enqueue`, which only appends
to the buffer: a request never waits on a database write for tracking. :func:`flush_buffer` (run
by the ``flush_events`` task, or by the in-process buffer's thread) writes the buffered events in
bulk, shard by shard and batch by batch, peek → write → ack.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.core.cache import cache

from ..conf import app_settings
from .buffer import EventBuffer, get_buffer, release_flush
from .writer import WriteResult, write_events

logger = logging.getLogger(__name__)

# A flush holds its lock this long at most without progress: it renews it after each batch, and
# a flush whose process died stops blocking the next one after this delay.
FLUSH_LOCK_TIMEOUT = 60


def enqueue(events: list[dict[str, Any]]) -> None:
    """Append clean events to the buffer, each to its visitor's shard; ask for a flush of every
    shard where BUFFER_FLUSH_SIZE events are waiting.

    Errors of the buffer itself (e.g. Redis unreachable) are raised to the caller.
    """
    if not events:
        return
    threshold = app_settings.BUFFER_FLUSH_SIZE
    for shard, group in get_buffer().route(events):
        if shard.push(group) >= threshold:
            shard.schedule_flush()


def flush_lock_key(buffer: EventBuffer) -> str:
    return f"p13n:flush-lock:{buffer.name}"


def flush_buffer(buffer: EventBuffer | None = None, shard: int | None = None) -> WriteResult | None:
    """Write the events that wait in ``buffer`` (default: the configured one) and remove them.

    ``shard`` limits the flush to that shard; by default every shard is flushed in turn. Returns
    the totals, or None when another flush held the lock of a shard (its events may still wait;
    the other shards were flushed). Events are removed only after their batch is committed, so an
    exception (or a killed process) leaves them for the next flush, which stores each of them
    once; the exception of a failing shard is raised after the other shards were flushed.
    """
    buffer = buffer if buffer is not None else get_buffer()
    shards = [buffer.shard(shard)] if shard is not None else buffer.shards()
    stored = duplicates = invalid = 0
    busy = False
    failure: BaseException | None = None
    for part in shards:
        try:
            result = flush_shard(part)
        except Exception as exc:
            # One shard's failure (e.g. a batch the database refuses) must not hold the others
            # back; its events wait in it, and the first error is raised once all were tried.
            failure = failure or exc
            continue
        if result is None:
            busy = True
            continue
        stored += result.stored
        duplicates += result.duplicates
        invalid += result.invalid
    if failure is not None:
        raise failure
    if stored or duplicates or invalid:
        logger.debug(
            "Flushed events: %d stored, %d duplicates, %d invalid", stored, duplicates, invalid
        )
    return None if busy else WriteResult(stored=stored, duplicates=duplicates, invalid=invalid)


def flush_shard(shard: EventBuffer) -> WriteResult | None:
    """Write and remove the events of one shard, under the shard's lock (None: it was held).

    Events pushed while the flush runs are left to the next one, so a busy shard cannot keep a
    flush running forever. The size trigger stays debounced until the flush ends (pushes during
    it queue no task), and then, when enough events wait, the flush queues the next one itself:
    one task per round of flushing rather than one per push, whose fixed cost is a good part of
    a flush of a few hundred events.
    """
    lock_key = flush_lock_key(shard)
    token = uuid.uuid4().hex
    if not cache.add(lock_key, token, FLUSH_LOCK_TIMEOUT):
        return None
    stored = duplicates = invalid = 0
    batch_size = app_settings.BUFFER_FLUSH_SIZE
    try:
        remaining = len(shard)
        while remaining > 0:
            batch = shard.peek(min(batch_size, remaining))
            if not batch:
                break
            result = write_events(batch)
            shard.ack(len(batch))
            cache.touch(lock_key, FLUSH_LOCK_TIMEOUT)
            stored += result.stored
            duplicates += result.duplicates
            invalid += result.invalid
            remaining -= len(batch)
    finally:
        if cache.get(lock_key) == token:
            cache.delete(lock_key)
    # Cleared before the length is read: a push after this queues a flush itself, one before it
    # is counted here.
    release_flush(shard)
    if len(shard) >= batch_size:
        shard.schedule_flush()
    return WriteResult(stored=stored, duplicates=duplicates, invalid=invalid)
