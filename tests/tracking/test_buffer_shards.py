"""Sharded event buffers: routing by visitor, a lock per shard, parallel flushes, no loss.

The Redis tests run in the services mode (real Redis; PostgreSQL for the parallel flush); the
in-process buffer is checked to stay one shard in the embedded mode.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connections

from personalization import tasks
from personalization.models.tracking import Event, Visitor, new_visitor_id
from personalization.tracking import collect
from personalization.tracking.buffer import (
    MAX_SHARDS,
    InProcessBuffer,
    RedisBuffer,
    decode_events,
    encode_event,
    get_buffer,
    release_flush,
    shard_index,
)
from personalization.tracking.collect import enqueue, flush_buffer, flush_lock_key

from .test_buffer import ids, make_events, stored_ids

SHARDS = 4


def visitors_per_shard(per_shard: int = 1, shards: int = SHARDS) -> list[list[str]]:
    """``per_shard`` visitor ids for each shard."""
    found: list[list[str]] = [[] for _ in range(shards)]
    while any(len(vids) < per_shard for vids in found):
        vid = new_visitor_id()
        vids = found[shard_index(vid, shards)]
        if len(vids) < per_shard:
            vids.append(vid)
    return found


@pytest.fixture
def sharded() -> Iterator[RedisBuffer]:
    buffer = RedisBuffer(key=f"p13n-test-shards-{uuid.uuid4().hex}", shards=SHARDS)
    yield buffer
    buffer.client.delete(buffer.key, *(f"{buffer.key}:{n}" for n in range(1, MAX_SHARDS)))


def shard_contents(buffer: RedisBuffer) -> list[list[dict[str, Any]]]:
    return [shard.peek(len(shard)) for shard in buffer.shards()]


def test_the_shard_of_a_visitor_is_stable_and_spread() -> None:
    # crc32, not hash(): every process must agree.
    assert shard_index("a" * 32, 4) == shard_index("a" * 32, 4) == 3
    assert shard_index(None, 4) == shard_index("", 4) == 0
    assert shard_index("anything", 1) == 0
    counts = Counter(shard_index(new_visitor_id(), 8) for _ in range(4000))
    assert set(counts) == set(range(8))
    assert min(counts.values()) > 350


def test_the_in_process_buffer_is_one_shard() -> None:
    buffer = InProcessBuffer(background=False)
    events = make_events(2) + make_events(3)
    assert buffer.shards() == [buffer]
    assert buffer.shard(0) is buffer
    assert buffer.route(events) == [(buffer, events)]
    with pytest.raises(ValueError, match="one shard"):
        buffer.shard(1)


def test_a_shard_count_out_of_range_is_refused() -> None:
    for count in (0, MAX_SHARDS + 1, "4", True):
        with pytest.raises(ValueError, match="shards must be an integer"):
            RedisBuffer(key="p13n-test-bad", shards=count)


def test_encoding_keeps_the_standard_library_format() -> None:
    assert encode_event({"amount": Decimal("9.90"), 2: True}) == b'{"amount":"9.90","2":true}'
    big = {"n": 2**70}
    assert decode_events([encode_event(big)]) == [big]
    # An item that is not JSON becomes an empty (invalid) event in its place, not an error;
    # NaN, which the standard library wrote before orjson, is still read.
    decoded = decode_events([b'{"a":1}', b"not json", b'{"b":NaN}'])
    assert decoded[:2] == [{"a": 1}, {}]
    assert decoded[2]["b"] != decoded[2]["b"]


@pytest.mark.services
def test_each_visitor_stays_in_one_shard_in_order(sharded: RedisBuffer) -> None:
    vids = [vid for group in visitors_per_shard(2) for vid in group]
    pushed = {vid: make_events(3, vid) for vid in vids}
    # Interleaved pushes, as from several requests.
    for round_ in range(3):
        for vid in vids:
            sharded.push([pushed[vid][round_]])
    assert len(sharded) == 3 * len(vids)
    contents = shard_contents(sharded)
    assert all(len(events) == 6 for events in contents)
    for number, events in enumerate(contents):
        for vid in {e["vid"] for e in events}:
            assert shard_index(vid, SHARDS) == number
            assert ids([e for e in events if e["vid"] == vid]) == ids(pushed[vid])
    # The whole buffer walks the shards in order.
    assert ids(sharded.peek(100)) == ids([e for events in contents for e in events])
    sharded.ack(7)
    assert ids(sharded.peek(100)) == ids([e for events in contents for e in events][7:])


@pytest.mark.services
def test_enqueue_routes_and_triggers_per_shard(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "EVENT_BUFFER": (
            "personalization.tracking.buffer.RedisBuffer",
            {"key": f"p13n-test-shards-{uuid.uuid4().hex}", "shards": SHARDS},
        ),
        "BUFFER_FLUSH_SIZE": 3,
    }
    buffer = get_buffer()
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks.flush_events, "delay", lambda **kwargs: queued.append(kwargs))
    for shard in buffer.shards():
        release_flush(shard)
    try:
        groups = visitors_per_shard(1)
        enqueue(make_events(2, groups[1][0]) + make_events(3, groups[2][0]))
        assert queued == [{"shard": 2}]
        enqueue(make_events(1, groups[1][0]))
        assert queued == [{"shard": 2}, {"shard": 1}]
        assert [len(shard) for shard in buffer.shards()] == [0, 3, 3, 0]
    finally:
        for shard in buffer.shards():
            release_flush(shard)
        buffer.client.delete(*(f"{buffer.key}:{n}" for n in range(1, SHARDS)), buffer.key)


@pytest.mark.services
@pytest.mark.django_db
def test_a_locked_shard_waits_and_the_others_are_flushed(sharded: RedisBuffer) -> None:
    groups = visitors_per_shard(1)
    events = [make_events(2, group[0]) for group in groups]
    for batch in events:
        sharded.push(batch)
    locked = sharded.shard(1)
    cache.add(flush_lock_key(locked), "another flush", 60)
    try:
        # None: a shard was busy; the other shards were written all the same.
        assert flush_buffer(sharded) is None
        assert len(sharded) == 2
        assert ids(locked.peek(10)) == ids(events[1])
        assert flush_buffer(sharded, shard=1) is None
    finally:
        cache.delete(flush_lock_key(locked))
    assert flush_buffer(sharded, shard=1).stored == 2
    assert stored_ids() == sorted(ids([e for batch in events for e in batch]))


@pytest.mark.services
@pytest.mark.django_db
def test_a_failing_shard_keeps_its_events_and_holds_no_other_back(
    sharded: RedisBuffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = visitors_per_shard(1)
    events = [make_events(3, group[0]) for group in groups]
    for batch in events:
        sharded.push(batch)
    real_write = collect.write_events
    doomed = groups[0][0]

    def refuse_one_visitor(batch: list[dict[str, Any]]) -> Any:
        if batch[0]["vid"] == doomed:
            raise ConnectionError("database refused the batch")
        return real_write(batch)

    monkeypatch.setattr(collect, "write_events", refuse_one_visitor)
    with pytest.raises(ConnectionError):
        flush_buffer(sharded)
    assert ids(sharded.shard(0).peek(10)) == ids(events[0])
    assert len(sharded) == 3
    assert stored_ids() == sorted(ids([e for batch in events[1:] for e in batch]))
    monkeypatch.setattr(collect, "write_events", real_write)
    assert flush_buffer(sharded).stored == 3
    assert len(sharded) == 0
    assert Event.objects.count() == 12


@pytest.mark.services
@pytest.mark.django_db
def test_lists_left_by_a_larger_shard_count_are_drained(sharded: RedisBuffer) -> None:
    left = make_events(2)
    sharded.client.rpush(f"{sharded.key}:9", *map(encode_event, left))
    fewer = RedisBuffer(key=sharded.key, shards=2)
    assert [shard.name for shard in fewer.shards()] == [
        sharded.key,
        f"{sharded.key}:1",
        f"{sharded.key}:9",
    ]
    assert flush_buffer(fewer).stored == 2
    assert stored_ids() == sorted(ids(left))
    assert [shard.name for shard in fewer.shards()] == [sharded.key, f"{sharded.key}:1"]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_shards_flushed_in_parallel_store_every_event_once(
    sharded: RedisBuffer, settings: Any
) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "BUFFER_FLUSH_SIZE": 50}
    groups = visitors_per_shard(5)
    pushed: list[dict[str, Any]] = []
    for round_ in range(4):
        for group in groups:
            for vid in group:
                batch = make_events(20, vid)
                pushed += batch
                sharded.push(batch)
                if round_ == 1:
                    # A retried push: the same events again (the writer stores them once).
                    sharded.push(batch[:5])
    errors: list[BaseException] = []

    def flush(number: int) -> None:
        try:
            while len(sharded.shard(number)):
                flush_buffer(sharded, shard=number)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=flush, args=(n,)) for n in range(SHARDS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(sharded) == 0
    assert stored_ids() == sorted(ids(pushed))
    assert Visitor.objects.count() == SHARDS * 5
