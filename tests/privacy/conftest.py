"""Fixtures of the privacy tests: a customer with a tracked history, and an empty buffer."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.cache import cache

from personalization.models import (
    ConsentRecord,
    DailyActivity,
    Event,
    IdentityMerge,
    Session,
    Visitor,
)
from personalization.privacy import pseudonymous_key, visitor_pseudonym
from personalization.tracking.buffer import get_buffer
from tests.factories import make_user

T0 = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)
SEARCH_QUERY = "red shoes for alice"
# A user id that cannot turn up by chance in a timestamp or a count.
USER_ID = 987_654_321


@pytest.fixture(autouse=True)
def empty_buffer() -> Iterator[None]:
    buffer = get_buffer()
    buffer.ack(len(buffer))
    yield
    buffer.ack(len(buffer))


@dataclass
class Person:
    """A customer with two browsers, and someone else whose data must survive."""

    user: Any
    phone: Visitor
    laptop: Visitor
    other_user: Any
    other: Visitor
    events: list[Event] = field(default_factory=list)
    cache_keys: list[str] = field(default_factory=list)


def add_event(visitor: Visitor, session: Session | None, name: str, minutes: int, **fields: Any):
    return Event.objects.create(
        event_id=uuid.uuid4(),
        name=name,
        visitor=visitor,
        user=visitor.user,
        session=session,
        occurred_at=T0 + dt.timedelta(minutes=minutes),
        **fields,
    )


def track_history(visitor: Visitor, *, product_id: str = "42") -> list[Event]:
    session = Session.objects.create(
        visitor=visitor,
        user=visitor.user,
        started_at=T0,
        ended_at=T0 + dt.timedelta(minutes=5),
        landing_path="/",
        event_count=3,
    )
    return [
        add_event(visitor, session, "page_view", 0, path="/"),
        add_event(visitor, session, "product_view", 1, product_id=product_id),
        add_event(
            visitor,
            session,
            "search",
            2,
            properties={"results": 3},
            sensitive={"query": SEARCH_QUERY},
        ),
    ]


@pytest.fixture
def person(db: Any) -> Person:
    user = make_user("alice", email="alice@example.com", first_name="Alice", id=USER_ID)
    phone = Visitor.objects.create(
        vid="vid-alice-phone-0001", user=user, first_seen=T0, last_seen=T0
    )
    laptop = Visitor.objects.create(
        vid="vid-alice-laptop-001", user=user, first_seen=T0, last_seen=T0
    )
    other_user = make_user("bob", email="bob@example.com")
    other = Visitor.objects.create(vid="vid-bob-000000000001", user=other_user, first_seen=T0)
    events = track_history(phone) + track_history(laptop)
    track_history(other)
    IdentityMerge.objects.create(visitor=laptop, user=user, events_moved=3, sessions_moved=1)
    IdentityMerge.objects.create(visitor=other, user=other_user, events_moved=3)
    common = {"policy_version": 1, "granted": ["analytics"], "denied": ["marketing"]}
    # Given before log-in (visitor only), then while logged in; and Bob's.
    ConsentRecord.objects.create(
        visitor=phone, vid=phone.vid, method="banner", ip_prefix="203.0.113.0/24", **common
    )
    ConsentRecord.objects.create(
        visitor=laptop, vid=laptop.vid, user=user, method="banner", ua_hash="ab" * 16, **common
    )
    ConsentRecord.objects.create(
        visitor=other, vid=other.vid, user=other_user, method="api", **common
    )
    DailyActivity.objects.create(
        subject_key=pseudonymous_key(user.pk), day=T0.date(), name="purchase", count=2, value=40
    )
    DailyActivity.objects.create(
        subject_key=visitor_pseudonym(phone.vid), day=T0.date(), name="page_view", count=5
    )
    DailyActivity.objects.create(
        subject_key=pseudonymous_key(other_user.pk), day=T0.date(), name="purchase", count=1
    )
    return Person(
        user=user, phone=phone, laptop=laptop, other_user=other_user, other=other, events=events
    )


@pytest.fixture
def clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The privacy registry, emptied for the test and restored afterwards."""
    from personalization.privacy import registry as module

    monkeypatch.setattr(module, "_sections", {})
    monkeypatch.setattr(module, "_handlers", [])
    return module
