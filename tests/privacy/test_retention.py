"""Retention: expired events are folded into the aggregates, then deleted, exactly once."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

import pytest
from django.core.cache import cache
from django.utils import timezone

from personalization.models import (
    DailyActivity,
    Event,
    ProductDailyActivity,
    Session,
    Visitor,
)
from personalization.privacy import pseudonymous_key, visitor_pseudonym
from personalization.privacy.retention import (
    numeric_value,
    purge_expired_events,
    purge_expired_sessions,
    retention_cutoff,
)
from personalization.tasks import purge_expired_events as purge_task
from tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

NOW = dt.datetime(2026, 6, 30, 14, 0, tzinfo=dt.UTC)
RETENTION_DAYS = 30
CUTOFF = dt.datetime(2026, 5, 31, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def thirty_days(settings) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "EVENT_RETENTION_DAYS": RETENTION_DAYS}


def event(visitor, name, when, product_id="", **properties) -> Event:
    return Event.objects.create(
        event_id=uuid.uuid4(),
        name=name,
        visitor=visitor,
        user=visitor.user if visitor else None,
        product_id=product_id,
        properties=properties,
        occurred_at=when,
    )


@pytest.fixture
def history(db):
    """Events of a customer and of an anonymous visitor on both sides of the cutoff."""
    user = make_user("carol")
    known = Visitor.objects.create(vid="vid-carol-00000000001", user=user)
    anonymous = Visitor.objects.create(vid="vid-anonymous-0000001")
    old_day = CUTOFF - dt.timedelta(days=3)
    other_old_day = CUTOFF - dt.timedelta(hours=1)  # the last day purged
    old = [
        event(known, "product_view", old_day, "7"),
        event(known, "product_view", old_day + dt.timedelta(hours=2), "7"),
        event(known, "purchase", old_day, "7", value="24.00"),
        event(known, "purchase", other_old_day, "8", value=10),
        event(anonymous, "page_view", old_day),
        event(anonymous, "product_view", other_old_day, "7"),
        event(None, "page_view", old_day),
    ]
    recent = [
        event(known, "product_view", CUTOFF, "7"),  # the first moment kept
        event(anonymous, "page_view", NOW - dt.timedelta(days=1)),
    ]
    return {"user": user, "known": known, "anonymous": anonymous, "old": old, "recent": recent}


def aggregates() -> tuple[dict, dict]:
    subjects = {
        (a.subject_key, a.day, a.name): (a.count, a.value) for a in DailyActivity.objects.all()
    }
    products = {
        (a.product_id, a.day, a.name): (a.count, a.value)
        for a in ProductDailyActivity.objects.all()
    }
    return subjects, products


def test_the_cutoff_is_a_midnight_retention_days_ago() -> None:
    assert retention_cutoff(NOW) == CUTOFF


def test_numeric_values_are_read_from_numbers_and_decimal_strings() -> None:
    assert numeric_value({"value": "24.00"}) == 24.0
    assert numeric_value({"value": 3}) == 3.0
    for properties in ({}, {"value": "n/a"}, {"value": True}, {"value": "nan"}, None):
        assert numeric_value(properties) == 0.0


def test_expired_events_are_folded_into_the_aggregates_and_deleted(history) -> None:
    result = purge_expired_events(now=NOW, batch_size=3)
    assert result == {"events": 7, "batches": 3}
    assert set(Event.objects.all()) == set(history["recent"])

    subjects, products = aggregates()
    user_key = pseudonymous_key(history["user"].pk)
    anonymous_key = visitor_pseudonym(history["anonymous"].vid)
    old_day = (CUTOFF - dt.timedelta(days=3)).date()
    last_day = (CUTOFF - dt.timedelta(hours=1)).date()
    assert subjects == {
        (user_key, old_day, "product_view"): (2, 0.0),
        (user_key, old_day, "purchase"): (1, 24.0),
        (user_key, last_day, "purchase"): (1, 10.0),
        (anonymous_key, old_day, "page_view"): (1, 0.0),
        (anonymous_key, last_day, "product_view"): (1, 0.0),
        ("", old_day, "page_view"): (1, 0.0),
    }
    assert products == {
        ("7", old_day, "product_view"): (2, 0.0),
        ("7", old_day, "purchase"): (1, 24.0),
        ("8", last_day, "purchase"): (1, 10.0),
        ("7", last_day, "product_view"): (1, 0.0),
    }
    # The aggregates count exactly the purged events.
    purged = Counter((e.occurred_at.date(), e.name) for e in history["old"])
    folded = Counter()
    for (_key, day, name), (count, _value) in subjects.items():
        folded[(day, name)] += count
    assert folded == purged


def test_running_again_counts_nothing_twice_and_folds_late_events(history) -> None:
    purge_expired_events(now=NOW)
    first = aggregates()
    assert purge_expired_events(now=NOW) == {"events": 0, "batches": 0}
    assert aggregates() == first

    # An event that arrives late for a day already folded is added to that day's counts.
    old_day = CUTOFF - dt.timedelta(days=3)
    event(history["known"], "product_view", old_day, "7")
    purge_expired_events(now=NOW)
    subjects, products = aggregates()
    key = (pseudonymous_key(history["user"].pk), old_day.date(), "product_view")
    assert subjects[key] == (3, 0.0)
    assert products[("7", old_day.date(), "product_view")] == (3, 0.0)


def test_a_purge_waits_for_the_one_that_holds_the_lock(history) -> None:
    cache.set("p13n:retention-lock:events", "someone-else", 60)
    try:
        assert purge_expired_events(now=NOW) is None
        assert Event.objects.count() == 9
    finally:
        cache.delete("p13n:retention-lock:events")


def test_the_beat_task_purges_with_the_configured_retention(db, settings) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "EVENT_RETENTION_DAYS": 2}
    now = timezone.now()
    expired = event(None, "page_view", now - dt.timedelta(days=5))
    kept = event(None, "page_view", now)
    assert purge_task.delay().get() == {"events": 1, "batches": 1}
    assert list(Event.objects.all()) == [kept]
    assert DailyActivity.objects.get().day == expired.occurred_at.date()


def test_expired_sessions_and_visitors_with_nothing_left_are_deleted(history) -> None:
    old = Session.objects.create(
        visitor=history["known"],
        started_at=CUTOFF - dt.timedelta(days=2),
        ended_at=CUTOFF - dt.timedelta(days=2, minutes=-5),
    )
    kept = Session.objects.create(
        visitor=history["anonymous"], started_at=CUTOFF - dt.timedelta(minutes=10), ended_at=CUTOFF
    )
    gone = Visitor.objects.create(
        vid="vid-gone-000000000001", last_seen=CUTOFF - dt.timedelta(days=40)
    )
    idle_with_events = history["known"]
    Visitor.objects.filter(pk=idle_with_events.pk).update(last_seen=CUTOFF - dt.timedelta(days=1))
    purge_expired_events(now=NOW)

    assert purge_expired_sessions(now=NOW) == {"sessions": 1, "visitors": 1}
    assert not Session.objects.filter(pk=old.pk).exists()
    assert Session.objects.filter(pk=kept.pk).exists()
    assert not Visitor.objects.filter(pk=gone.pk).exists()
    # Still has a recent event: kept.
    assert Visitor.objects.filter(pk=idle_with_events.pk).exists()
