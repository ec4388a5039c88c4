"""Where clean events wait between collection and the bulk insert.

Producers append with :meth:`EventBuffer.push`; the flush (``collect.flush_buffer``) reads the
oldest events with :meth:`~EventBuffer.peek`, writes them, and only then removes them with
:meth:`~EventBuffer.ack`. A flush that dies between the two leaves the events in the buffer; the
next flush writes them again, and the unique ``event_id`` makes that second write a no-op.

A buffer may be split into *shards* (:meth:`EventBuffer.shards`) that are flushed independently,
each under a lock of its own, so that several worker processes write at once. Events are routed
to a shard by their visitor id, so each visitor's events stay in order in one shard, and two
flushes never touch the same visitor or session rows.

Two implementations, chosen by ``PERSONALIZATION["EVENT_BUFFER"]``:

* :class:`InProcessBuffer` (the embedded default): a thread-safe deque in the web process, flushed
  by a daemon thread of the same process, every ``BUFFER_FLUSH_INTERVAL`` seconds or as soon as
  ``BUFFER_FLUSH_SIZE`` events wait. For one process and development; events still buffered when
  the process is killed are lost (a normal interpreter exit flushes them). One shard.
* :class:`RedisBuffer`: ``BUFFER_SHARDS`` Redis lists shared by every web process and flushed by
  the Celery task ``personalization.flush_events`` (beat schedule plus a size trigger per shard).
"""

from __future__ import annotations

import abc
import atexit
import collections
import itertools
import json
import logging
import os
import threading
import time
import zlib
from typing import Any

import orjson
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder

from ..conf import app_settings, load_component

logger = logging.getLogger(__name__)

# Shard indexes a Redis buffer may use; the flush of all shards also drains lists left beyond
# BUFFER_SHARDS after it was lowered.
MAX_SHARDS = 64

# Values orjson does not encode itself (Decimal, lazy strings) and datetimes (passed through, so
# that they keep DjangoJSONEncoder's format) go to DjangoJSONEncoder, as before orjson.
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_django_default = DjangoJSONEncoder().default
# Built once: json.dumps(..., cls=...) builds an encoder per call, as costly as the encoding.
_encode_with_json = DjangoJSONEncoder(separators=(",", ":")).encode


def encode_event(event: dict[str, Any]) -> bytes:
    """The event as compact JSON (orjson; the standard library for what orjson refuses, such as
    integers beyond 64 bits)."""
    try:
        return orjson.dumps(event, default=_django_default, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return _encode_with_json(event).encode()


def decode_events(items: list[bytes]) -> list[dict[str, Any]]:
    """Decode buffered items, one decoder call for the whole batch.

    An item that is not JSON (it cannot come from :func:`encode_event`) becomes ``{}``, which the
    writer counts as invalid and drops, so one bad item does not block its shard for ever and
    every peeked position still stands for one item.
    """
    if not items:
        return []
    try:
        return orjson.loads(b"[" + b",".join(items) + b"]")
    except orjson.JSONDecodeError:
        return [_decode_one(item) for item in items]


def _decode_one(item: bytes) -> Any:
    try:
        return orjson.loads(item)
    except orjson.JSONDecodeError:
        pass
    try:
        # What orjson refuses and json reads: NaN or Infinity, written before orjson was used.
        return json.loads(item)
    except ValueError:
        logger.error("Dropping a buffered item that is not JSON: %r", item[:200])
        return {}


def shard_index(vid: Any, shards: int) -> int:
    """The shard of a visitor's events: stable across processes (unlike ``hash()``)."""
    if shards <= 1 or not vid:
        return 0
    return zlib.crc32(str(vid).encode()) % shards


class EventBuffer(abc.ABC):
    """A FIFO of clean event dicts, safe to use from several threads (and, for shared
    implementations, several processes). Only one flush reads a shard at a time (``collect``
    holds a lock named after the shard's :attr:`name`)."""

    #: Identifies the buffer's contents in lock and debounce keys of the Django cache.
    name: str = "events"
    #: The position of this buffer among its parent's shards; None for a buffer of several shards.
    shard_number: int | None = 0

    @abc.abstractmethod
    def push(self, events: list[dict[str, Any]]) -> int:
        """Append events at the tail; return the buffer's length afterwards."""

    @abc.abstractmethod
    def peek(self, n: int) -> list[dict[str, Any]]:
        """The ``n`` oldest events (fewer if fewer wait), without removing them."""

    @abc.abstractmethod
    def ack(self, n: int) -> None:
        """Remove the ``n`` oldest events, after they have been written."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """The number of events waiting."""

    def shards(self) -> list[EventBuffer]:
        """The parts that are flushed independently (each under its own lock): this buffer."""
        return [self]

    def shard(self, number: int) -> EventBuffer:
        """The shard of that number (see :meth:`shards`)."""
        if number != 0:
            raise ValueError(f"{type(self).__name__} has one shard, not shard {number}")
        return self

    def route(self, events: list[dict[str, Any]]) -> list[tuple[EventBuffer, list[dict[str, Any]]]]:
        """``(shard, its events)`` pairs: each event goes to the shard of its visitor, in order."""
        return [(self, events)]

    def schedule_flush(self) -> None:
        """Ask for a flush of this buffer (or shard) soon, without waiting for it: queue the
        Celery task ``flush_events``.

        Debounced through the cache, so a burst of pushes over the threshold queues one task per
        ``BUFFER_FLUSH_INTERVAL``, and in each process (:func:`claim_flush`). A broker that
        cannot be reached is logged, not raised: the beat schedule flushes the events later.
        (With ``CELERY_TASK_ALWAYS_EAGER`` the task would run inside the producing request; the
        embedded mode therefore uses InProcessBuffer, whose flush runs in its own thread.)
        """
        from ..tasks import flush_events

        if not claim_flush(self):
            return
        try:
            if self.shard_number is None:
                flush_events.delay()
            else:
                flush_events.delay(shard=self.shard_number)
        except Exception:
            release_flush(self)
            logger.exception("Could not queue personalization.flush_events")


def flush_queued_key(buffer: EventBuffer) -> str:
    """Cache key that debounces :meth:`EventBuffer.schedule_flush`; a flush clears it as it ends."""
    return f"p13n:flush-queued:{buffer.name}"


#: After this process queued a flush of a buffer, or found one queued, it does not ask the cache
#: again for this long: while a backlog waits (a worker is slow or down), every push would
#: otherwise pay a cache round trip to learn that a flush is already queued.
LOCAL_DEBOUNCE_SECONDS = 1.0
_asked_until: dict[str, float] = {}


def claim_flush(buffer: EventBuffer) -> bool:
    """Whether the caller should queue a flush of ``buffer``: none was queued in the last
    ``BUFFER_FLUSH_INTERVAL`` seconds (the mark in the cache), nor asked for by this process in
    the last :data:`LOCAL_DEBOUNCE_SECONDS`."""
    now = time.monotonic()
    if _asked_until.get(buffer.name, 0.0) > now:
        return False
    interval = max(1, int(app_settings.BUFFER_FLUSH_INTERVAL))
    _asked_until[buffer.name] = now + min(LOCAL_DEBOUNCE_SECONDS, interval)
    return bool(cache.add(flush_queued_key(buffer), 1, interval))


def release_flush(buffer: EventBuffer) -> None:
    """Clear the mark of a queued flush (the flush ended, or it could not be queued), so that the
    next push over the threshold queues one again."""
    _asked_until.pop(buffer.name, None)
    cache.delete(flush_queued_key(buffer))


class InProcessBuffer(EventBuffer):
    """A deque in this process, flushed by a daemon thread of this process (one shard).

    ``background=False`` turns the thread off; the events then wait for an explicit call of
    ``flush_events()`` (the test settings do this so that tests decide when rows are written).
    """

    def __init__(self, background: bool = True) -> None:
        self.background = background
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._events: collections.deque[dict[str, Any]] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.name = f"inprocess-{self._pid}-{id(self)}"

    def _check_fork(self) -> None:
        # A forked child (e.g. a gunicorn worker after --preload) gets a copy of the parent's
        # events and no thread: start afresh so that each event is flushed by one process.
        if os.getpid() != self._pid:
            self._reset()

    def push(self, events: list[dict[str, Any]]) -> int:
        self._check_fork()
        with self._lock:
            self._events.extend(events)
            length = len(self._events)
        if self.background and self._thread is None:
            self._start_thread()
        return length

    def peek(self, n: int) -> list[dict[str, Any]]:
        self._check_fork()
        with self._lock:
            return list(itertools.islice(self._events, max(n, 0)))

    def ack(self, n: int) -> None:
        self._check_fork()
        with self._lock:
            for _ in range(min(max(n, 0), len(self._events))):
                self._events.popleft()

    def __len__(self) -> int:
        self._check_fork()
        return len(self._events)

    def schedule_flush(self) -> None:
        """Wake the flusher thread (no-op when ``background`` is False)."""
        self._wake.set()

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name="personalization-flusher", daemon=True
            )
            self._thread.start()
        atexit.register(self._flush_now)

    def _run(self) -> None:
        while True:
            self._wake.wait(timeout=float(app_settings.BUFFER_FLUSH_INTERVAL))
            self._wake.clear()
            if len(self):
                self._flush_now()

    def _flush_now(self) -> None:
        from django.db import connections

        from .collect import flush_buffer

        try:
            flush_buffer(self)
        except Exception:
            logger.exception("Flushing the in-process event buffer failed; the events wait")
        finally:
            # This thread's own connections; the next flush opens fresh ones.
            connections.close_all()


class RedisBuffer(EventBuffer):
    """Redis lists of JSON-encoded events: ``shards`` of them (default ``BUFFER_SHARDS``).

    ``url`` names the Redis server; without it the connection of the django-redis cache
    ``alias`` is used. ``key`` is the list of shard 0; shard ``i`` is the list ``"{key}:{i}"``
    (keys not prefixed by the cache's KEY_PREFIX). Shard 0 keeps the plain key so that a buffer
    of one shard is the single list of earlier versions.

    A buffer of several shards routes each pushed event to the shard of its visitor;
    :meth:`peek` and :meth:`ack` on it walk the shards in order (for inspection: the flush reads
    and acknowledges each shard on its own, under the shard's lock).
    """

    def __init__(
        self,
        key: str = "personalization:events",
        url: str | None = None,
        alias: str = "default",
        shards: int | None = None,
    ) -> None:
        count = app_settings.BUFFER_SHARDS if shards is None else shards
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SHARDS:
            raise ValueError(f"shards must be an integer from 1 to {MAX_SHARDS}, not {count!r}")
        self.key = key
        self.url = url
        self.alias = alias
        self.shard_count = count
        self._client: Any = None
        self._owner: RedisBuffer | None = None
        if count == 1:
            self.name = key
            self._shards: list[RedisBuffer] = [self]
        else:
            self.name = f"{key}:shards"
            self.shard_number = None
            self._shards = [self._make_shard(number) for number in range(count)]

    def _make_shard(self, number: int) -> RedisBuffer:
        shard = RedisBuffer(
            self.key if number == 0 else f"{self.key}:{number}", self.url, self.alias, shards=1
        )
        shard.shard_number = number
        shard._owner = self
        return shard

    @property
    def client(self) -> Any:
        if self._owner is not None:
            return self._owner.client
        if self._client is None:
            if self.url:
                import redis

                self._client = redis.Redis.from_url(self.url)
            else:
                from django_redis import get_redis_connection

                self._client = get_redis_connection(self.alias)
        return self._client

    def shards(self) -> list[EventBuffer]:
        """The configured shards, then any list left beyond them that still holds events."""
        if self._owner is not None:
            return [self]
        extra = range(self.shard_count, MAX_SHARDS)
        pipe = self.client.pipeline(transaction=False)
        for number in extra:
            pipe.llen(f"{self.key}:{number}")
        strays = [
            self._make_shard(n) for n, length in zip(extra, pipe.execute(), strict=True) if length
        ]
        return [*self._shards, *strays]

    def shard(self, number: int) -> EventBuffer:
        """Shard ``number``; one beyond ``shards`` is a list left from a larger setting."""
        if self._owner is not None:
            return self._owner.shard(number)
        if not 0 <= number < MAX_SHARDS:
            raise ValueError(f"no shard {number}: shards are numbered 0 to {MAX_SHARDS - 1}")
        return self._shards[number] if number < self.shard_count else self._make_shard(number)

    def route(self, events: list[dict[str, Any]]) -> list[tuple[EventBuffer, list[dict[str, Any]]]]:
        if len(self._shards) == 1:
            return [(self._shards[0], events)]
        count = self.shard_count
        first = events[0].get("vid") if events else None
        if all(event.get("vid") == first for event in events):
            # One visitor's batch, as every request to the ingest API is.
            return [(self._shards[shard_index(first, count)], events)]
        groups: dict[int, list[dict[str, Any]]] = {}
        for event in events:
            groups.setdefault(shard_index(event.get("vid"), count), []).append(event)
        return [(self._shards[number], group) for number, group in groups.items()]

    def push(self, events: list[dict[str, Any]]) -> int:
        if len(self._shards) == 1:
            if not events:
                return len(self)
            return int(self.client.rpush(self.key, *map(encode_event, events)))
        groups = {shard.key: group for shard, group in self.route(events) if group}
        pipe = self.client.pipeline(transaction=False)
        for shard in self._shards:
            if shard.key in groups:
                pipe.rpush(shard.key, *map(encode_event, groups[shard.key]))
            else:
                pipe.llen(shard.key)
        return sum(int(length) for length in pipe.execute())

    def peek(self, n: int) -> list[dict[str, Any]]:
        if n <= 0:
            return []
        if len(self._shards) == 1:
            return decode_events(self.client.lrange(self.key, 0, n - 1))
        pipe = self.client.pipeline(transaction=False)
        for shard in self._shards:
            pipe.lrange(shard.key, 0, n - 1)
        items = list(itertools.islice(itertools.chain.from_iterable(pipe.execute()), n))
        return decode_events(items)

    def ack(self, n: int) -> None:
        if n <= 0:
            return
        if len(self._shards) == 1:
            self.client.ltrim(self.key, n, -1)
            return
        for shard, length in zip(self._shards, self._lengths(), strict=True):
            if n <= 0:
                break
            shard.ack(min(n, length))
            n -= length

    def _lengths(self) -> list[int]:
        pipe = self.client.pipeline(transaction=False)
        for shard in self._shards:
            pipe.llen(shard.key)
        return [int(length) for length in pipe.execute()]

    def __len__(self) -> int:
        if len(self._shards) == 1:
            return int(self.client.llen(self.key))
        return sum(self._lengths())


def get_buffer() -> EventBuffer:
    """The configured event buffer (one instance per settings value)."""
    return load_component("EVENT_BUFFER")
