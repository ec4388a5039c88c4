"""Where clean events wait between collection and the bulk insert.

Producers append with :meth:`EventBuffer.push`; the flush (``collect.flush_buffer``) reads the
oldest events with :meth:`~EventBuffer.peek`, writes them, and only then removes them with
:meth:`~EventBuffer.ack`. A flush that dies between the two leaves the events in the buffer; the
next flush writes them again, and the unique ``event_id`` makes that second write a no-op.

Two implementations, chosen by ``PERSONALIZATION["EVENT_BUFFER"]``:

* :class:`InProcessBuffer` (the embedded default): a thread-safe deque in the web process, flushed
  by a daemon thread of the same process, every ``BUFFER_FLUSH_INTERVAL`` seconds or as soon as
  ``BUFFER_FLUSH_SIZE`` events wait. For one process and development; events still buffered when
  the process is killed are lost (a normal interpreter exit flushes them).
* :class:`RedisBuffer`: a Redis list shared by every web process and flushed by the Celery task
  ``personalization.flush_events`` (beat schedule plus a size trigger).
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
from typing import Any

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder

from ..conf import app_settings, load_component

logger = logging.getLogger(__name__)

# Built once: json.dumps(..., cls=...) builds an encoder per call, as costly as the encoding.
_encode_event = DjangoJSONEncoder(separators=(",", ":")).encode


class EventBuffer(abc.ABC):
    """A FIFO of clean event dicts, safe to use from several threads (and, for shared
    implementations, several processes). Only one flush reads it at a time (``collect`` holds a
    lock named after :attr:`name`)."""

    #: Identifies the buffer's contents in lock and debounce keys of the Django cache.
    name: str = "events"

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

    def schedule_flush(self) -> None:
        """Ask for a flush soon, without waiting for it: queue the Celery task ``flush_events``.

        Debounced through the cache, so a burst of pushes over the threshold queues one task per
        ``BUFFER_FLUSH_INTERVAL``. A broker that cannot be reached is logged, not raised: the
        beat schedule flushes the events later. (With ``CELERY_TASK_ALWAYS_EAGER`` the task would
        run inside the producing request; the embedded mode therefore uses InProcessBuffer, whose
        flush runs in its own thread.)
        """
        from ..tasks import flush_events

        interval = max(1, int(app_settings.BUFFER_FLUSH_INTERVAL))
        if not cache.add(flush_queued_key(self), 1, interval):
            return
        try:
            flush_events.delay()
        except Exception:
            cache.delete(flush_queued_key(self))
            logger.exception("Could not queue personalization.flush_events")


def flush_queued_key(buffer: EventBuffer) -> str:
    """Cache key that debounces :meth:`EventBuffer.schedule_flush`; a starting flush clears it."""
    return f"p13n:flush-queued:{buffer.name}"


class InProcessBuffer(EventBuffer):
    """A deque in this process, flushed by a daemon thread of this process.

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
    """A Redis list of JSON-encoded events.

    ``url`` names the Redis server; without it the connection of the django-redis cache
    ``alias`` is used. ``key`` is the list's key (not prefixed by the cache's KEY_PREFIX).
    """

    def __init__(
        self, key: str = "personalization:events", url: str | None = None, alias: str = "default"
    ) -> None:
        self.key = key
        self.url = url
        self.alias = alias
        self.name = key
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            if self.url:
                import redis

                self._client = redis.Redis.from_url(self.url)
            else:
                from django_redis import get_redis_connection

                self._client = get_redis_connection(self.alias)
        return self._client

    def push(self, events: list[dict[str, Any]]) -> int:
        if not events:
            return len(self)
        return int(self.client.rpush(self.key, *map(_encode_event, events)))

    def peek(self, n: int) -> list[dict[str, Any]]:
        if n <= 0:
            return []
        items = self.client.lrange(self.key, 0, n - 1)
        # One decoder call for the whole batch rather than one per event.
        return json.loads(b"[" + b",".join(items) + b"]")

    def ack(self, n: int) -> None:
        if n > 0:
            self.client.ltrim(self.key, n, -1)

    def __len__(self) -> int:
        return int(self.client.llen(self.key))


def get_buffer() -> EventBuffer:
    """The configured event buffer (one instance per settings value)."""
    return load_component("EVENT_BUFFER")
