"""The membership service: static sync, dynamic enter/leave, history rows, signals, uniqueness."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from personalization.models import Segment, SegmentMembership, SegmentSize, Visitor
from personalization.models.tracking import new_visitor_id
from personalization.segments import membership
from personalization.segments.signals import segment_entered, segment_exited
from tests.factories import make_user

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - dt.timedelta(days=3)


@pytest.fixture
def segment() -> Segment:
    return Segment.objects.create(slug="vip", name="VIP", kind=Segment.MANUAL)


@pytest.fixture
def signals():
    received = []

    def on_entered(sender, segment, user_id, visitor_id, at, **kwargs):
        received.append(("entered", segment.slug, user_id, visitor_id, at))

    def on_exited(sender, segment, user_id, visitor_id, at, **kwargs):
        received.append(("exited", segment.slug, user_id, visitor_id, at))

    segment_entered.connect(on_entered)
    segment_exited.connect(on_exited)
    yield received
    segment_entered.disconnect(on_entered)
    segment_exited.disconnect(on_exited)


def people(count: int) -> list[tuple[str, int]]:
    users = [("user", make_user().pk) for _ in range(count // 2)]
    visitors = [
        ("visitor", Visitor.objects.create(vid=new_visitor_id()).pk)
        for _ in range(count - count // 2)
    ]
    return users + visitors


def test_sync_makes_the_given_people_the_members(segment, signals) -> None:
    a, b, c, d = people(4)
    assert membership.sync_members(segment, [a, b, c], now=T0) == (3, 0)
    assert membership.current_members(segment) == {a, b, c}
    assert membership.sync_members(segment, [b, c, d], now=T0 + dt.timedelta(days=1)) == (1, 1)
    assert membership.current_members(segment) == {b, c, d}
    segment.refresh_from_db()
    assert segment.member_count == 3
    assert segment.last_computed_at == T0 + dt.timedelta(days=1)
    kinds = [(kind, user_id or visitor_id) for kind, _, user_id, visitor_id, _ in signals]
    assert sorted(kinds[:3]) == sorted(("entered", pk) for _, pk in (a, b, c))
    assert ("exited", a[1]) in kinds[3:] and ("entered", d[1]) in kinds[3:]


def test_people_who_stay_keep_their_row_and_entry_time(segment) -> None:
    a, b = people(2)
    membership.sync_members(segment, [a, b], now=T0)
    membership.sync_members(segment, [a, b], now=T0 + dt.timedelta(days=1))
    rows = SegmentMembership.objects.filter(segment=segment)
    assert rows.count() == 2
    assert {row.entered_at for row in rows} == {T0}


def test_leaving_and_coming_back_keeps_the_history(segment) -> None:
    (person,) = people(1)
    membership.sync_members(segment, [person], now=T0)
    membership.sync_members(segment, [], now=T0 + dt.timedelta(hours=1))
    membership.sync_members(segment, [person], now=T0 + dt.timedelta(hours=2))
    stays = list(
        SegmentMembership.objects.filter(segment=segment)
        .order_by("entered_at")
        .values_list("entered_at", "exited_at")
    )
    assert stays == [
        (T0, T0 + dt.timedelta(hours=1)),
        (T0 + dt.timedelta(hours=2), None),
    ]


def test_enter_and_leave_are_idempotent_and_signal_once(segment, signals) -> None:
    (person,) = people(1)
    assert membership.enter(segment, person, now=T0) is True
    assert membership.enter(segment, person, now=T0) is False
    assert membership.leave(segment, person, now=T0 + dt.timedelta(minutes=5)) is True
    assert membership.leave(segment, person) is False
    assert [s[0] for s in signals] == ["entered", "exited"]
    assert signals[0][4] == T0
    segment.refresh_from_db()
    assert segment.member_count == 0


def test_a_person_has_at_most_one_open_stay_per_segment(segment) -> None:
    user = make_user()
    SegmentMembership.objects.create(segment=segment, user=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        SegmentMembership.objects.create(segment=segment, user=user)
    # A closed stay does not count.
    SegmentMembership.objects.filter(segment=segment).update(exited_at=timezone.now())
    SegmentMembership.objects.create(segment=segment, user=user)


def test_a_membership_names_exactly_one_person(segment) -> None:
    visitor = Visitor.objects.create(vid=new_visitor_id())
    with pytest.raises(IntegrityError), transaction.atomic():
        SegmentMembership.objects.create(segment=segment, user=make_user(), visitor=visitor)
    with pytest.raises(IntegrityError), transaction.atomic():
        SegmentMembership.objects.create(segment=segment)


def test_segment_slugs_lists_the_active_segments_a_person_is_in(segment) -> None:
    (person,) = people(1)
    other = Segment.objects.create(slug="old", name="Old", kind=Segment.MANUAL, is_active=False)
    membership.enter(segment, person)
    membership.enter(other, person)
    membership.enter(Segment.objects.get(slug="new-visitors"), person)
    membership.leave(Segment.objects.get(slug="new-visitors"), person)
    assert membership.segment_slugs(person) == {"vip"}


def test_record_sizes_stores_one_row_per_segment_and_day(segment) -> None:
    membership.sync_members(segment, people(3))
    day = timezone.localdate()
    assert membership.record_sizes(day) == Segment.objects.count()
    membership.sync_members(segment, people(1))
    membership.record_sizes(day)
    assert SegmentSize.objects.get(segment=segment, day=day).size == 1
    assert SegmentSize.objects.filter(segment=segment).count() == 1


def test_change_members_adds_and_removes_many_at_once(segment, signals) -> None:
    a, b, c, d = people(4)
    membership.sync_members(segment, [a, b], now=T0)
    signals.clear()
    later = T0 + dt.timedelta(hours=1)
    # b is already in, d already out: neither changes nor signals.
    assert membership.change_members(segment, [b, c], [a, d], now=later) == (1, 1)
    assert membership.current_members(segment) == {b, c}
    assert sorted((kind, user_id or visitor_id) for kind, _, user_id, visitor_id, _ in signals) == [
        ("entered", c[1]),
        ("exited", a[1]),
    ]
    segment.refresh_from_db()
    assert segment.member_count == 2
    closed = SegmentMembership.objects.get(segment=segment, exited_at__isnull=False)
    assert closed.exited_at == later
