"""The bulk writer: visitors, sessions, idempotency, device fields, users."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from personalization.models.tracking import Event, Session, Visitor, new_visitor_id
from personalization.tracking.events import make_event
from personalization.tracking.writer import WriteResult, write_events

from .conftest import CHROME, IPHONE

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def event(name: str = "page_view", *, at: dt.datetime = T0, **fields: Any) -> dict[str, Any]:
    fields.setdefault("source", "server")
    return make_event(name, received_at=at, **fields)


def make_user(username: str = "ada") -> Any:
    return get_user_model().objects.create_user(username, password="x")


def test_writes_events_and_creates_their_visitor_and_session() -> None:
    vid, session_id = new_visitor_id(), str(uuid.uuid4())
    events = [
        event(
            vid=vid,
            session_id=session_id,
            path="/landing/",
            referrer="https://news.example.org/story?id=7",
            query="utm_source=news&utm_medium=email&utm_campaign=spring",
            ua=IPHONE,
        ),
        event(
            "product_view",
            at=T0 + dt.timedelta(minutes=3),
            vid=vid,
            session_id=session_id,
            product_id="42",
            path="/products/mug/",
            ua=IPHONE,
        ),
    ]
    assert write_events(events) == WriteResult(stored=2, duplicates=0, invalid=0)

    visitor = Visitor.objects.get(vid=vid)
    assert (visitor.first_seen, visitor.last_seen) == (T0, T0 + dt.timedelta(minutes=3))
    session = Session.objects.get(pk=session_id)
    assert session.visitor == visitor
    assert session.landing_path == "/landing/"
    assert session.referrer == "https://news.example.org/story"
    assert (session.utm_source, session.utm_medium, session.utm_campaign) == (
        "news",
        "email",
        "spring",
    )
    assert (session.device_type, session.browser, session.os) == ("mobile", "Mobile Safari", "iOS")
    assert session.started_at == T0
    assert session.ended_at == T0 + dt.timedelta(minutes=3)
    assert session.event_count == 2
    view = Event.objects.get(name="product_view")
    assert view.visitor == visitor
    assert view.session == session
    assert view.product_id == "42"
    assert (view.device_type, view.browser, view.os) == ("mobile", "Mobile Safari", "iOS")
    assert view.source == "server"
    assert Event.objects.get(name="page_view").referrer_host == "news.example.org"


def test_the_raw_user_agent_is_never_stored() -> None:
    vid = new_visitor_id()
    write_events([event(vid=vid, session_id=str(uuid.uuid4()), ua=CHROME, properties={"a": 1})])
    stored = [
        *Event.objects.values_list(),
        *Session.objects.values_list(),
        *Visitor.objects.values_list(),
    ]
    assert stored
    assert not any("Mozilla" in str(value) for row in stored for value in row)


def test_a_batch_written_twice_is_stored_once() -> None:
    events = [event(vid=new_visitor_id(), session_id=str(uuid.uuid4())) for _ in range(3)]
    assert write_events(events).stored == 3
    again = write_events(events)
    assert again == WriteResult(stored=0, duplicates=3, invalid=0)
    assert Event.objects.count() == 3
    assert Session.objects.get(pk=events[0]["session_id"]).event_count == 1


def test_text_and_json_are_stored_exactly_whatever_they_contain() -> None:
    # PostgreSQL receives events through COPY, whose text format escapes tabs, newlines and
    # backslashes; jsonb must also keep nesting, unicode and quotes.
    awkward = 'tab\there, line\nbreak, back\\slash, "quoted", \\N, \\u0000, é 漢字 🙂'
    properties = {"note": awkward, "nested": {"list": [1, 2.5, None, True]}, "empty": {}}
    one = event(
        "search",
        vid=new_visitor_id(),
        session_id=str(uuid.uuid4()),
        path="/search/" + awkward,
        properties=properties,
    )
    assert write_events([one]).stored == 1
    stored = Event.objects.get()
    assert stored.properties == properties
    assert stored.path == "/search/" + awkward
    assert stored.event_id == uuid.UUID(one["event_id"])


def test_a_repeated_event_within_a_batch_counts_as_a_duplicate() -> None:
    one = event(vid=new_visitor_id())
    assert write_events([one, dict(one)]) == WriteResult(stored=1, duplicates=1, invalid=0)
    assert Event.objects.count() == 1


def test_later_batches_advance_the_session_and_the_visitor() -> None:
    vid, session_id = new_visitor_id(), str(uuid.uuid4())
    write_events([event(vid=vid, session_id=session_id, path="/first/")])
    later = T0 + dt.timedelta(minutes=10)
    write_events(
        [
            event(at=later, vid=vid, session_id=session_id, path="/second/"),
            event(at=later, vid=vid, session_id=session_id, path="/third/"),
        ]
    )
    session = Session.objects.get(pk=session_id)
    assert session.event_count == 3
    assert session.landing_path == "/first/"
    assert (session.started_at, session.ended_at) == (T0, later)
    assert Visitor.objects.get(vid=vid).last_seen == later
    assert Visitor.objects.count() == 1


def test_a_late_event_moves_the_session_start_back() -> None:
    vid, session_id = new_visitor_id(), str(uuid.uuid4())
    write_events([event(vid=vid, session_id=session_id)])
    earlier = T0 - dt.timedelta(minutes=2)
    write_events([event(at=earlier, vid=vid, session_id=session_id)])
    session = Session.objects.get(pk=session_id)
    assert (session.started_at, session.ended_at) == (earlier, T0)
    assert Visitor.objects.get(vid=vid).first_seen == earlier


def test_events_without_a_user_take_the_user_of_their_visitor() -> None:
    user = make_user()
    visitor = Visitor.objects.create(user=user)
    session_id = str(uuid.uuid4())
    write_events([event(vid=visitor.vid, session_id=session_id)])
    assert Event.objects.get().user == user
    assert Session.objects.get(pk=session_id).user == user


def test_a_new_visitor_belongs_to_the_user_of_its_events() -> None:
    user = make_user()
    vid = new_visitor_id()
    write_events([event(vid=vid), event(vid=vid, user_id=user.pk)])
    assert Visitor.objects.get(vid=vid).user == user


def test_events_of_a_deleted_user_are_kept_without_the_user() -> None:
    user = make_user()
    user_id = user.pk
    user.delete()
    assert write_events([event(vid=new_visitor_id(), user_id=user_id)]).stored == 1
    assert Event.objects.get().user is None


def test_events_of_a_user_without_a_visitor() -> None:
    user = make_user()
    assert write_events([event("purchase", user_id=user.pk, properties={"revenue": "9.90"})]).stored
    stored = Event.objects.get()
    assert (stored.user, stored.visitor, stored.session) == (user, None, None)
    assert stored.properties == {"revenue": "9.90"}
    assert not Visitor.objects.exists()


@pytest.mark.parametrize(
    "broken",
    [
        {"name": "teleport"},
        {"event_id": "not-a-uuid"},
        {"vid": "x" * 33},
        {"session_id": "not-a-uuid"},
        {"occurred_at": "yesterday"},
        {"properties": ["a", "list"]},
        {"source": "carrier-pigeon"},
        {"user_id": "someone"},
        # PostgreSQL refuses NUL characters in text and jsonb: the batch would never be stored.
        {"properties": {"note": "a\x00b"}},
        {"path": "/a\x00b/"},
    ],
)
def test_events_off_the_contract_are_dropped_and_counted(broken: dict[str, Any]) -> None:
    vid = new_visitor_id()
    good = event(vid=vid, session_id=str(uuid.uuid4()))
    bad = {**event(vid=vid, session_id=str(uuid.uuid4())), **broken}
    assert write_events([bad, good]) == WriteResult(stored=1, duplicates=0, invalid=1)
    assert Event.objects.get().event_id == uuid.UUID(good["event_id"])


def test_an_event_missing_a_required_key_is_dropped() -> None:
    broken = event(vid=new_visitor_id())
    del broken["occurred_at"]
    assert write_events([broken]) == WriteResult(stored=0, duplicates=0, invalid=1)


def test_client_time_and_reception_time_are_kept() -> None:
    client_ts = T0 - dt.timedelta(seconds=30)
    write_events([event(vid=new_visitor_id(), client_ts=client_ts, source="js")])
    stored = Event.objects.get()
    assert (stored.occurred_at, stored.client_ts, stored.received_at) == (client_ts, client_ts, T0)
    assert stored.source == "js"


def test_moments_keep_their_microseconds_and_offsets() -> None:
    # COPY receives moments and UUIDs as text: the instant must survive, whatever the offset.
    paris = dt.timezone(dt.timedelta(hours=2))
    client_ts = dt.datetime(2026, 3, 1, 13, 59, 30, 123456, tzinfo=paris)
    received = dt.datetime(2026, 3, 1, 12, 0, 0, 654321, tzinfo=dt.UTC)
    one = event(at=received, vid=new_visitor_id(), session_id=str(uuid.uuid4()), source="js")
    one["client_ts"] = one["occurred_at"] = client_ts.isoformat()
    naive = event(at=received, vid=new_visitor_id())
    naive["occurred_at"] = naive["received_at"] = "2026-03-01T12:00:00.000001"
    assert write_events([one, naive]).stored == 2
    stored = Event.objects.get(event_id=one["event_id"])
    assert (stored.occurred_at, stored.client_ts, stored.received_at) == (
        client_ts,
        client_ts,
        received,
    )
    assert stored.session_id == uuid.UUID(one["session_id"])
    # A moment without an offset is UTC, as the writer's comparisons take it.
    assert Event.objects.get(event_id=naive["event_id"]).occurred_at == dt.datetime(
        2026, 3, 1, 12, 0, 0, 1, tzinfo=dt.UTC
    )


def test_a_batch_of_500_takes_a_handful_of_queries(django_assert_max_num_queries: Any) -> None:
    make_user()
    visitors = [new_visitor_id() for _ in range(50)]
    sessions = [str(uuid.uuid4()) for _ in range(100)]
    events = [
        event(
            at=T0 + dt.timedelta(seconds=i),
            vid=visitors[i % 50],
            session_id=sessions[i % 100],
            path=f"/p/{i}/",
            ua=CHROME if i % 2 else IPHONE,
        )
        for i in range(500)
    ]
    # SQLite binds at most 999 parameters per statement, so its inserts come in a few chunks.
    with django_assert_max_num_queries(25):
        assert write_events(events).stored == 500
    assert Event.objects.count() == 500
    assert Session.objects.count() == 100
    assert Visitor.objects.count() == 50
    with django_assert_max_num_queries(25):
        assert write_events(events[:250] + [event(vid=visitors[0])]).stored == 1
    assert sum(Session.objects.values_list("event_count", flat=True)) == 500
