"""Incremental dynamic segments: the same answers as the full evaluation, from cached states."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.core.cache import cache
from django.test.utils import override_settings

from personalization.models import Profile, Segment, SegmentationRun
from personalization.models.tracking import Event, new_visitor_id
from personalization.segments import incremental, live
from personalization.segments.membership import segment_slugs
from personalization.segments.signals import segment_entered, segment_exited
from personalization.tracking.signals import events_stored
from personalization.tracking.writer import write_events
from tests.factories import make_user

from .seglive_support import catalogue, event, make_rule_segment, new_session, visitor_person

pytestmark = pytest.mark.django_db

RECEIVER_UID = "personalization.segments.live"


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def products() -> dict[str, str]:
    return catalogue()


@pytest.fixture
def stored(django_capture_on_commit_callbacks):
    """Write events with the production receiver disconnected; return the signal's payload."""

    def write(events: list[dict[str, Any]]) -> tuple[list, list]:
        sent: list[dict[str, Any]] = []

        def record(sender, **kwargs):
            sent.append(kwargs)

        events_stored.disconnect(sender=Event, dispatch_uid=RECEIVER_UID)
        events_stored.connect(record, sender=Event, dispatch_uid="test-record")
        try:
            with django_capture_on_commit_callbacks(execute=True):
                write_events(events)
        finally:
            events_stored.disconnect(sender=Event, dispatch_uid="test-record")
            events_stored.connect(
                incremental.on_events_stored, sender=Event, dispatch_uid=RECEIVER_UID
            )
        payload = sent[0]
        people = [live._person(user_id, visitor_id) for visitor_id, user_id in payload["people"]]
        return payload["events"], people

    return write


@pytest.fixture
def loads(monkeypatch) -> list:
    """The people each batch loaded from the database."""
    calls: list = []
    original = incremental._load

    def counting(people, *args, **kwargs):
        calls.append(set(people))
        return original(people, *args, **kwargs)

    monkeypatch.setattr(incremental, "_load", counting)
    return calls


def _no_changes():
    changes: list = []

    def record(sender, segment, **kwargs):
        changes.append((segment.slug, kwargs.get("user_id"), kwargs.get("visitor_id")))

    return changes, record


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("max_events", [500, 4])
def test_random_sequences_give_the_full_evaluations_answers(
    products, stored, loads, seed, max_events
) -> None:
    rng = random.Random(seed)
    make_rule_segment(
        "bulk-carts",
        {
            "events": {
                "name": "add_to_cart",
                "within": "1h",
                "properties": {"quantity": {">=": 2}},
            },
            "count": {">=": 1},
        },
    )
    make_rule_segment("busy-sessions", {"session": {"events": {">=": 4}}})
    make_rule_segment(
        "session-checkouts",
        {"events": {"name": "checkout_start", "in_session": True}, "count": {">=": 1}},
    )
    user = make_user()
    Profile.objects.create(user=user, sessions=2)
    vids = [new_visitor_id() for _ in range(4)]
    sessions = {vid: new_session() for vid in vids}
    names = ["add_to_cart", "product_view", "page_view", "purchase", "checkout_start", "dwell"]
    product_ids = list(products.values())
    # Whole milliseconds, and "now" half a millisecond off them: no event sits on a window's edge.
    clock = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=3)
    changes, record = _no_changes()
    dynamic = set(Segment.objects.filter(mode=Segment.DYNAMIC).values_list("slug", flat=True))
    with override_settings(PERSONALIZATION={"SEGMENT_MAX_EVENTS": max_events}):
        live._forget_products(setting="PERSONALIZATION")
        checked = 0
        for _batch in range(14):
            clock += dt.timedelta(seconds=rng.choice([5, 40, 700, 2000, 4000, 90_000]))
            now = clock + dt.timedelta(microseconds=500)
            batch = []
            for _ in range(rng.randint(1, 12)):
                vid = rng.choice(vids)
                if rng.random() < 0.08:
                    sessions[vid] = new_session()
                at = clock - dt.timedelta(milliseconds=rng.randint(0, 900_000))
                if rng.random() < 0.05:
                    at = clock + dt.timedelta(milliseconds=rng.randint(1, 60_000))
                name = rng.choice(names)
                fields: dict[str, Any] = {"at": at}
                if name != "page_view" and name != "dwell":
                    fields["product_id"] = rng.choice(product_ids)
                if name == "add_to_cart":
                    fields["properties"] = {"quantity": rng.randint(1, 3)}
                if name == "page_view":
                    fields["path"] = rng.choice(["/", "/sale/", "/p/"])
                if vid == vids[0]:
                    fields["user_id"] = user.pk
                batch.append(event(name, vid, sessions[vid], **fields))
            events, people = stored(batch)
            answers = incremental.evaluate_batch(events, people, now=now)
            segment_entered.connect(record)
            segment_exited.connect(record)
            try:
                full = live.evaluate_people(people, now=now)
            finally:
                segment_entered.disconnect(record)
                segment_exited.disconnect(record)
            assert answers == full
            assert changes == []
            for person in people:
                assert segment_slugs(person) & dynamic == full[person]
            checked += len(people)
    loaded = sum(len(people) for people in loads)
    # Most batches were answered from the cached states.
    assert loaded < checked


def test_a_visitor_is_read_from_the_database_once_then_from_the_state(
    products, stored, loads
) -> None:
    vid, session = new_visitor_id(), new_session()
    events, people = stored([event("add_to_cart", vid, session, product_id=products["dearest"])])
    incremental.evaluate_batch(events, people)
    events, people = stored([event("add_to_cart", vid, session, product_id=products["second"])])
    assert "high-intent-shoppers" in incremental.evaluate_batch(events, people)[people[0]]
    assert loads == [set(people)]
    assert "high-intent-shoppers" in segment_slugs(people[0])


def test_a_new_session_reads_the_visitor_again(products, stored, loads) -> None:
    vid = new_visitor_id()
    events, people = stored([event("page_view", vid, new_session(), path="/")])
    incremental.evaluate_batch(events, people)
    events, people = stored([event("page_view", vid, new_session(), path="/")])
    assert "new-visitors" not in incremental.evaluate_batch(events, people)[people[0]]
    assert len(loads) == 2


def test_users_are_always_read_from_the_database(products, stored, loads) -> None:
    user = make_user()
    vid, session = new_visitor_id(), new_session()
    for _ in range(2):
        events, people = stored(
            [event("add_to_cart", vid, session, user_id=user.pk, product_id=products["dearest"])]
        )
        incremental.evaluate_batch(events, people)
    assert loads == [{("user", user.pk)}] * 2
    assert "high-intent-shoppers" in segment_slugs(("user", user.pk))


def _state_is_used(stored, loads, vid: str, session: str) -> bool:
    before = len(loads)
    events, people = stored([event("page_view", vid, session, path="/")])
    incremental.evaluate_batch(events, people)
    return len(loads) == before


def test_a_membership_changed_elsewhere_makes_the_state_stale(
    products, stored, loads, django_capture_on_commit_callbacks
) -> None:
    vid, session = new_visitor_id(), new_session()
    events, people = stored([event("page_view", vid, session, path="/")])
    incremental.evaluate_batch(events, people)
    assert _state_is_used(stored, loads, vid, session)
    with django_capture_on_commit_callbacks(execute=True):
        # Two sessions later in the profile: the full evaluation takes the person out.
        Profile.objects.create(visitor_id=people[0][1], sessions=5)
        assert "new-visitors" not in live.evaluate_person(people[0])
    assert not _state_is_used(stored, loads, vid, session)
    assert "new-visitors" not in segment_slugs(people[0])


def test_an_edited_rule_or_a_finished_run_makes_every_state_stale(
    products, stored, loads, django_capture_on_commit_callbacks
) -> None:
    vid, session = new_visitor_id(), new_session()
    segment = make_rule_segment("viewers", {"events": {"name": "page_view"}, "count": {">=": 1}})
    events, people = stored([event("page_view", vid, session, path="/")])
    incremental.evaluate_batch(events, people)
    assert _state_is_used(stored, loads, vid, session)
    segment.rule = {"events": {"name": "page_view"}, "count": {">=": 5}}
    segment.save()
    assert not _state_is_used(stored, loads, vid, session)
    assert "viewers" not in segment_slugs(people[0])
    assert _state_is_used(stored, loads, vid, session)
    with django_capture_on_commit_callbacks(execute=True):
        SegmentationRun.objects.create(status=SegmentationRun.DONE)
    assert not _state_is_used(stored, loads, vid, session)
    assert "viewers" in segment_slugs(people[0])  # the fifth page view


def test_identity_merge_drops_the_visitors_state(
    products, stored, loads, django_capture_on_commit_callbacks
) -> None:
    from personalization.tracking.identity import link_visitor

    user = make_user()
    vid, session = new_visitor_id(), new_session()
    events, people = stored(
        [
            event("add_to_cart", vid, session, product_id=products["dearest"]),
            event("add_to_cart", vid, session, product_id=products["second"]),
        ]
    )
    incremental.evaluate_batch(events, people)
    assert "high-intent-shoppers" in segment_slugs(people[0])
    with django_capture_on_commit_callbacks(execute=True):
        link_visitor(vid, user.pk)
    assert cache.get(incremental._tombstone_key(people[0])) is not None
    assert cache.get(incremental._tombstone_key(("user", user.pk))) is not None
    # Later events are the user's, evaluated on the joined history.
    events, people_after = stored([event("page_view", vid, session, path="/")])
    assert people_after == [("user", user.pk)]
    result = incremental.evaluate_batch(events, people_after)
    assert "high-intent-shoppers" in result[("user", user.pk)]
    assert segment_slugs(people[0]) == set()


def test_erasure_drops_the_cached_state(
    products, stored, loads, django_capture_on_commit_callbacks
) -> None:
    from personalization.privacy.erasure import erase_visitor_data

    vid, session = new_visitor_id(), new_session()
    events, people = stored([event("add_to_cart", vid, session, product_id=products["dearest"])])
    incremental.evaluate_batch(events, people)
    key = incremental._state_key(vid, people[0][1])
    assert cache.get(key) is not None
    with django_capture_on_commit_callbacks(execute=True):
        erase_visitor_data(vid)
    assert cache.get(key) is None
    assert cache.get(incremental._tombstone_key(people[0])) is not None


def test_a_tombstone_older_than_the_state_does_not_count(products, stored, loads) -> None:
    vid, session = new_visitor_id(), new_session()
    events, people = stored([event("page_view", vid, session, path="/")])
    incremental._tombstone(people)
    # Dated before the state below is loaded: the change it marks is in the database already.
    cache.set(incremental._tombstone_key(people[0]), 1.0)
    incremental.evaluate_batch(events, people)
    assert _state_is_used(stored, loads, vid, session)


def test_without_a_state_lifetime_every_batch_reads_the_database(products, stored, loads) -> None:
    vid, session = new_visitor_id(), new_session()
    with override_settings(PERSONALIZATION={"SEGMENT_LIVE_STATE_SECONDS": 0}):
        events, people = stored([event("page_view", vid, session, path="/")])
        incremental.evaluate_batch(events, people)
        assert not _state_is_used(stored, loads, vid, session)
    assert cache.get(incremental._state_key(vid, people[0][1])) is None


def test_the_flush_uses_the_incremental_receiver(products, django_capture_on_commit_callbacks):
    vid, session = new_visitor_id(), new_session()
    with django_capture_on_commit_callbacks(execute=True):
        write_events([event("page_view", vid, session, path="/sale/")])
    person = visitor_person(vid)
    assert "bargain-hunters" in segment_slugs(person)
    assert cache.get(incremental._state_key(vid, person[1])) is not None
    assert Segment.objects.filter(slug="bargain-hunters", mode=Segment.DYNAMIC).exists()


def test_membership_changes_of_several_segments_keep_the_counts_and_send_signals(
    products, stored
) -> None:
    changes, record = _no_changes()
    segment_entered.connect(record)
    segment_exited.connect(record)
    try:
        vid, session = new_visitor_id(), new_session()
        events, people = stored([event("page_view", vid, session, path="/sale/")])
        incremental.evaluate_batch(events, people)
        events, people = stored([event("page_view", vid, new_session(), path="/")])
        incremental.evaluate_batch(events, people)
    finally:
        segment_entered.disconnect(record)
        segment_exited.disconnect(record)
    pk = people[0][1]
    assert sorted(changes) == [
        ("bargain-hunters", None, pk),
        ("bargain-hunters", None, pk),
        ("new-visitors", None, pk),
        ("new-visitors", None, pk),
    ]
    counts = dict(Segment.objects.values_list("slug", "member_count"))
    assert counts["bargain-hunters"] == 0
    assert counts["new-visitors"] == 0
    assert segment_slugs(people[0]) == set()


@pytest.mark.django_db(transaction=True)
def test_a_process_reads_the_segments_again_only_in_a_new_generation() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    incremental.new_generation()
    generation = incremental._generation()
    first = incremental._dynamic_segments(generation)
    with CaptureQueriesContext(connection) as queries:
        assert incremental._dynamic_segments(generation) is first
    assert len(queries.captured_queries) == 0
    make_rule_segment("viewers", {"events": {"name": "page_view"}, "count": {">=": 1}})
    assert incremental._generation() != generation
    slugs = {s.slug for s in incremental._dynamic_segments(incremental._generation())}
    assert "viewers" in slugs


def test_events_stored_while_the_evaluation_is_off_drop_the_state(
    products, django_capture_on_commit_callbacks
) -> None:
    vid, session = new_visitor_id(), new_session()
    with django_capture_on_commit_callbacks(execute=True):
        write_events([event("page_view", vid, session, path="/")])
    key = incremental._state_key(vid, visitor_person(vid)[1])
    assert cache.get(key) is not None
    with (
        override_settings(PERSONALIZATION={"SEGMENTS_LIVE_ON_INGEST": False}),
        django_capture_on_commit_callbacks(execute=True),
    ):
        write_events([event("page_view", vid, session, path="/")])
    assert cache.get(key) is None


def test_a_membership_of_a_vanished_segment_reads_the_segments_again(monkeypatch) -> None:
    from django.db import IntegrityError

    calls = []

    def evaluate(events, people):
        calls.append(incremental._generation())
        if len(calls) == 1:
            raise IntegrityError("FOREIGN KEY constraint failed")

    monkeypatch.setattr(incremental, "evaluate_batch", evaluate)
    incremental._segments_by_generation["stale"] = []
    incremental.on_events_stored(None, people=[(1, None)], events=[])
    assert len(calls) == 2 and calls[0] != calls[1]
    assert "stale" not in incremental._segments_by_generation
