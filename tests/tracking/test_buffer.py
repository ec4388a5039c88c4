"""Event buffers (in-process and Redis), the flush (peek → write → ack) and its triggers."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import OperationalError

from personalization import tasks
from personalization.conf import app_settings
from personalization.models.tracking import Event, new_visitor_id
from personalization.tracking import collect
from personalization.tracking.buffer import (
    EventBuffer,
    InProcessBuffer,
    RedisBuffer,
    flush_queued_key,
    get_buffer,
    release_flush,
)
from personalization.tracking.collect import enqueue, flush_buffer, flush_lock_key
from personalization.tracking.events import make_event


def make_events(n: int, vid: str | None = None) -> list[dict[str, Any]]:
    vid = vid or new_visitor_id()
    session_id = str(uuid.uuid4())
    return [
        make_event("page_view", source="server", vid=vid, session_id=session_id, path=f"/p/{i}/")
        for i in range(n)
    ]


def ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["event_id"] for e in events]


def stored_ids() -> list[str]:
    return sorted(str(i) for i in Event.objects.values_list("event_id", flat=True))


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OperationalError:
            # The test database of the embedded mode is a shared-cache in-memory SQLite, whose
            # readers fail at once ("database table is locked") while the flusher thread writes.
            pass
        time.sleep(0.05)
    return condition()


@pytest.fixture(params=["in-process", pytest.param("redis", marks=pytest.mark.services)])
def buffer(request: pytest.FixtureRequest) -> Iterator[EventBuffer]:
    if request.param == "in-process":
        yield InProcessBuffer(background=False)
        return
    # One shard: these tests check the order of the whole buffer (test_buffer_shards.py covers
    # several).
    redis_buffer = RedisBuffer(key=f"p13n-test-buffer-{uuid.uuid4().hex}", shards=1)
    yield redis_buffer
    redis_buffer.client.delete(redis_buffer.key)


def test_push_returns_the_length_and_peek_keeps_the_order(buffer: EventBuffer) -> None:
    first, second = make_events(3), make_events(2)
    assert buffer.push(first) == 3
    assert buffer.push(second) == 5
    assert len(buffer) == 5
    assert ids(buffer.peek(10)) == ids(first + second)
    assert ids(buffer.peek(2)) == ids(first[:2])
    assert len(buffer) == 5
    assert buffer.peek(0) == []


def test_ack_removes_the_oldest_events(buffer: EventBuffer) -> None:
    events = make_events(5)
    buffer.push(events)
    buffer.ack(2)
    assert ids(buffer.peek(10)) == ids(events[2:])
    buffer.ack(10)
    assert len(buffer) == 0
    assert buffer.peek(5) == []


def test_events_come_back_as_they_went_in(buffer: EventBuffer) -> None:
    events = make_events(2)
    buffer.push(events)
    assert buffer.peek(2) == events


def test_concurrent_pushes_lose_nothing(buffer: EventBuffer) -> None:
    batches = [make_events(50) for _ in range(8)]
    threads = [threading.Thread(target=buffer.push, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(buffer) == 400
    assert sorted(ids(buffer.peek(400))) == sorted(i for batch in batches for i in ids(batch))


@pytest.mark.services
def test_redis_buffer_connects_by_url() -> None:
    redis_buffer = RedisBuffer(
        key=f"p13n-test-buffer-{uuid.uuid4().hex}", url=django_settings.REDIS_URL, shards=1
    )
    try:
        assert redis_buffer.push([{"amount": Decimal("9.90")}]) == 1
        assert redis_buffer.peek(1) == [{"amount": "9.90"}]
    finally:
        redis_buffer.client.delete(redis_buffer.key)


@pytest.mark.django_db
def test_flush_writes_each_event_once_and_empties_the_buffer(buffer: EventBuffer) -> None:
    events = make_events(7)
    buffer.push(events)
    result = flush_buffer(buffer)
    assert (result.stored, result.duplicates, result.invalid) == (7, 0, 0)
    assert len(buffer) == 0
    assert stored_ids() == sorted(ids(events))


@pytest.mark.django_db
def test_a_flush_that_dies_after_writing_loses_and_duplicates_nothing(
    buffer: EventBuffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = make_events(6)
    buffer.push(events)
    real_write = collect.write_events

    def write_then_die(batch: list[dict[str, Any]]) -> Any:
        real_write(batch)
        raise SystemExit("worker stopped between the write and the ack")

    monkeypatch.setattr(collect, "write_events", write_then_die)
    with pytest.raises(SystemExit):
        flush_buffer(buffer)
    assert ids(buffer.peek(10)) == ids(events)
    assert cache.get(flush_lock_key(buffer)) is None

    monkeypatch.setattr(collect, "write_events", real_write)
    result = flush_buffer(buffer)
    assert (result.stored, result.duplicates) == (0, 6)
    assert len(buffer) == 0
    assert stored_ids() == sorted(ids(events))


@pytest.mark.django_db
def test_a_failing_write_leaves_the_events_for_the_next_flush(
    buffer: EventBuffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = make_events(3)
    buffer.push(events)
    real_write = collect.write_events

    def database_down(batch: list[dict[str, Any]]) -> Any:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(collect, "write_events", database_down)
    with pytest.raises(ConnectionError):
        flush_buffer(buffer)
    assert len(buffer) == 3
    monkeypatch.setattr(collect, "write_events", real_write)
    assert flush_buffer(buffer).stored == 3


@pytest.mark.django_db
def test_only_one_flush_runs_at_a_time(buffer: EventBuffer) -> None:
    buffer.push(make_events(2))
    cache.add(flush_lock_key(buffer), "another flush", 60)
    try:
        assert flush_buffer(buffer) is None
        assert len(buffer) == 2
    finally:
        cache.delete(flush_lock_key(buffer))
    assert flush_buffer(buffer).stored == 2


@pytest.mark.django_db
def test_flush_goes_in_batches_of_the_flush_size(
    buffer: EventBuffer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "BUFFER_FLUSH_SIZE": 10}
    buffer.push(make_events(25))
    sizes: list[int] = []
    real_write = collect.write_events

    def spy(batch: list[dict[str, Any]]) -> Any:
        sizes.append(len(batch))
        return real_write(batch)

    monkeypatch.setattr(collect, "write_events", spy)
    assert flush_buffer(buffer).stored == 25
    assert sizes == [10, 10, 5]


@pytest.mark.django_db
def test_events_pushed_during_a_flush_wait_for_the_next(
    buffer: EventBuffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    buffer.push(make_events(4))
    late = make_events(3)
    real_write = collect.write_events

    def write_while_pushing(batch: list[dict[str, Any]]) -> Any:
        buffer.push(late)
        return real_write(batch)

    monkeypatch.setattr(collect, "write_events", write_while_pushing)
    assert flush_buffer(buffer).stored == 4
    assert ids(buffer.peek(10)) == ids(late)


@pytest.mark.django_db
def test_a_flush_that_leaves_a_full_batch_behind_asks_for_the_next(
    buffer: EventBuffer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A trigger that came while this flush held the lock found it busy and did nothing: the
    # flush itself asks again, so the events do not wait for the beat.
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "BUFFER_FLUSH_SIZE": 3}
    buffer.push(make_events(2))
    late = make_events(3)
    real_write = collect.write_events
    asked: list[int] = []
    monkeypatch.setattr(buffer, "schedule_flush", lambda: asked.append(len(buffer)))

    def write_while_pushing(batch: list[dict[str, Any]]) -> Any:
        buffer.push(late)
        return real_write(batch)

    monkeypatch.setattr(collect, "write_events", write_while_pushing)
    assert flush_buffer(buffer).stored == 2
    assert asked == [3]
    monkeypatch.setattr(collect, "write_events", real_write)
    assert flush_buffer(buffer).stored == 3
    assert asked == [3]


@pytest.mark.django_db
def test_pushes_during_a_flush_queue_no_task_and_the_flush_clears_the_mark(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "BUFFER_FLUSH_SIZE": 2}
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks.flush_events, "delay", lambda **kwargs: queued.append(kwargs))
    shard = InProcessBuffer(background=False)

    def trigger() -> None:
        # The debounced trigger of shared buffers (the in-process one wakes its thread instead).
        EventBuffer.schedule_flush(shard)

    monkeypatch.setattr(shard, "schedule_flush", trigger)
    release_flush(shard)
    shard.push(make_events(2))
    trigger()
    real_write = collect.write_events

    def write_while_pushing(batch: list[dict[str, Any]]) -> Any:
        shard.push(make_events(1))
        trigger()
        return real_write(batch)

    monkeypatch.setattr(collect, "write_events", write_while_pushing)
    assert flush_buffer(shard).stored == 2
    # The push during the flush queued nothing; one event is left, under the flush size, so the
    # flush queued nothing either, and it cleared the mark for the next push.
    assert queued == [{"shard": 0}]
    assert cache.get(flush_queued_key(shard)) is None


@pytest.mark.django_db
def test_the_flush_task_flushes_one_shard_when_asked() -> None:
    events = make_events(3)
    enqueue(events)
    [(shard, _events)] = get_buffer().route(events)
    assert shard.shard_number is not None
    assert tasks.flush_events(shard=shard.shard_number) == 3
    assert len(get_buffer()) == 0
    assert stored_ids() == sorted(ids(events))


@pytest.mark.django_db
def test_the_flush_task_flushes_the_configured_buffer() -> None:
    events = make_events(3)
    enqueue(events)
    assert tasks.flush_events() == 3
    assert len(get_buffer()) == 0
    assert stored_ids() == sorted(ids(events))


def test_enqueue_asks_for_a_flush_when_the_flush_size_is_reached(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "BUFFER_FLUSH_SIZE": 3}
    vid = new_visitor_id()
    # The shard of this visitor's events (the buffer itself when it has one shard).
    [(shard, _events)] = get_buffer().route(make_events(1, vid))
    calls: list[int] = []
    monkeypatch.setattr(shard, "schedule_flush", lambda: calls.append(len(shard)))
    enqueue([])
    enqueue(make_events(2, vid))
    assert calls == []
    enqueue(make_events(1, vid))
    assert calls == [3]
    enqueue(make_events(2, vid))
    assert calls == [3, 5]


def test_queued_flushes_are_debounced(monkeypatch: pytest.MonkeyPatch) -> None:
    queued: list[bool] = []
    monkeypatch.setattr(tasks.flush_events, "delay", lambda **kwargs: queued.append(True))
    redis_buffer = RedisBuffer(key=f"p13n-test-debounce-{uuid.uuid4().hex}", shards=1)
    redis_buffer.schedule_flush()
    redis_buffer.schedule_flush()
    assert len(queued) == 1
    # A flush clears the mark as it ends, so the next burst queues a task again.
    release_flush(redis_buffer)
    redis_buffer.schedule_flush()
    assert len(queued) == 2


def test_a_process_that_asked_for_a_flush_does_not_ask_the_cache_again_for_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from personalization.tracking import buffer as buffer_module

    queued: list[bool] = []
    monkeypatch.setattr(tasks.flush_events, "delay", lambda **kwargs: queued.append(True))
    redis_buffer = RedisBuffer(key=f"p13n-test-debounce-{uuid.uuid4().hex}", shards=1)
    asked: list[str] = []
    real_add = buffer_module.cache.add
    monkeypatch.setattr(
        buffer_module.cache, "add", lambda key, *args: asked.append(key) or real_add(key, *args)
    )
    clock = [1000.0]
    monkeypatch.setattr(buffer_module.time, "monotonic", lambda: clock[0])
    try:
        for _ in range(50):  # a backlog: every push is over the threshold
            redis_buffer.schedule_flush()
        assert (len(queued), len(asked)) == (1, 1)
        clock[0] += buffer_module.LOCAL_DEBOUNCE_SECONDS
        redis_buffer.schedule_flush()
        # The cache is asked again, and its mark (set for BUFFER_FLUSH_INTERVAL) still holds.
        assert (len(queued), len(asked)) == (1, 2)
    finally:
        release_flush(redis_buffer)


def test_an_unreachable_broker_does_not_fail_the_producer(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broker_down(**kwargs: Any) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.flush_events, "delay", broker_down)
    redis_buffer = RedisBuffer(key=f"p13n-test-debounce-{uuid.uuid4().hex}", shards=1)
    redis_buffer.schedule_flush()
    assert "Could not queue" in caplog.text
    # Not debounced: the next push over the threshold tries again.
    assert cache.get(flush_queued_key(redis_buffer)) is None


def test_a_forked_process_starts_with_an_empty_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    in_process = InProcessBuffer(background=False)
    in_process.push(make_events(2))
    monkeypatch.setattr("os.getpid", lambda: -1)
    assert len(in_process) == 0
    assert in_process.push(make_events(1)) == 1


def _embedded_settings(settings: Any, **overrides: Any) -> None:
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "EVENT_BUFFER": ("personalization.tracking.buffer.InProcessBuffer", {"background": True}),
        **overrides,
    }


@pytest.mark.django_db(transaction=True)
def test_embedded_mode_flushes_in_a_thread_when_the_size_is_reached(settings: Any) -> None:
    _embedded_settings(settings, BUFFER_FLUSH_SIZE=5, BUFFER_FLUSH_INTERVAL=3600)
    events = make_events(5)
    enqueue(events[:4])
    time.sleep(0.3)
    assert not Event.objects.exists()
    enqueue(events[4:])
    assert wait_for(lambda: Event.objects.count() == 5)
    assert wait_for(lambda: len(get_buffer()) == 0)
    wait_until_flushed()


@pytest.mark.django_db(transaction=True)
def test_embedded_mode_flushes_in_a_thread_every_interval(settings: Any) -> None:
    _embedded_settings(settings, BUFFER_FLUSH_INTERVAL=0.2)
    enqueue(make_events(1))
    assert app_settings.BUFFER_FLUSH_SIZE > 1
    assert wait_for(lambda: Event.objects.count() == 1)
    wait_until_flushed()


def wait_until_flushed() -> None:
    """Until the flusher thread's flush has ended (it holds the flush lock until then): the
    test's teardown empties the tables, which fails while the thread still writes."""
    assert wait_for(lambda: cache.get(flush_lock_key(get_buffer())) is None)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_flushes_the_redis_buffer_into_rows(
    celery_worker_process: dict[str, str],
) -> None:
    buffer = get_buffer()
    assert isinstance(buffer, RedisBuffer)
    events = make_events(4) + make_events(3)
    enqueue(events)
    assert tasks.flush_events.delay().get(timeout=60) == 7
    assert len(buffer) == 0
    assert stored_ids() == sorted(ids(events))


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_size_trigger_has_the_worker_flush(celery_worker_process: dict[str, str]) -> None:
    buffer = get_buffer()
    vid = new_visitor_id()
    # The trigger counts the events of the shard that receives them: one visitor's.
    [(shard, _events)] = buffer.route(make_events(1, vid))
    release_flush(shard)
    size = app_settings.BUFFER_FLUSH_SIZE
    enqueue(make_events(size - 1, vid))
    enqueue(make_events(1, vid))
    assert wait_for(lambda: Event.objects.count() == size, timeout=60)
    assert wait_for(lambda: len(buffer) == 0)
