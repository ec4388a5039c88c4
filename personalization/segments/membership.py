"""Who is in a segment now, and the changes that keep the membership history.

A person is ``("user", pk)`` or ``("visitor", pk)``. Static segments are replaced as a whole with
:func:`sync_members`; dynamic ones change a person at a time with :func:`enter` and :func:`leave`.
Every change closes or opens a :class:`~personalization.models.SegmentMembership` row and sends
``segment_entered`` / ``segment_exited``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Literal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ..models.segments import Segment, SegmentMembership, SegmentSize
from .signals import segment_entered, segment_exited

Person = tuple[Literal["user", "visitor"], int]

_BATCH = 2000


def person_filter(person: Person) -> Q:
    kind, pk = person
    return Q(user_id=pk) if kind == "user" else Q(visitor_id=pk)


def _person_of(user_id: int | None, visitor_id: int | None) -> Person:
    return ("user", user_id) if user_id is not None else ("visitor", visitor_id)


def _row(segment: Segment, person: Person, at: dt.datetime) -> SegmentMembership:
    kind, pk = person
    return SegmentMembership(
        segment=segment,
        user_id=pk if kind == "user" else None,
        visitor_id=pk if kind == "visitor" else None,
        entered_at=at,
    )


def _send(signal, segment: Segment, people: Iterable[Person], at: dt.datetime) -> None:
    if not signal.has_listeners(Segment):
        return
    for kind, pk in people:
        signal.send(
            sender=Segment,
            segment=segment,
            user_id=pk if kind == "user" else None,
            visitor_id=pk if kind == "visitor" else None,
            at=at,
        )


def current_members(segment: Segment) -> set[Person]:
    """Everyone in the segment now."""
    rows = SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True)
    return {_person_of(u, v) for u, v in rows.values_list("user_id", "visitor_id")}


def sync_members(
    segment: Segment, members: Iterable[Person], *, now: dt.datetime | None = None
) -> tuple[int, int]:
    """Make ``members`` the segment's current members; return ``(entered, exited)`` counts.

    People who stay keep their open row (their ``entered_at`` is unchanged).
    """
    now = now or timezone.now()
    wanted = set(members)
    with transaction.atomic():
        current = current_members(segment)
        entering = wanted - current
        exiting = current - wanted
        for kind in ("user", "visitor"):
            ids = [pk for k, pk in exiting if k == kind]
            for start in range(0, len(ids), _BATCH):
                SegmentMembership.objects.filter(
                    segment=segment,
                    exited_at__isnull=True,
                    **{f"{kind}_id__in": ids[start : start + _BATCH]},
                ).update(exited_at=now)
        SegmentMembership.objects.bulk_create(
            [_row(segment, person, now) for person in entering], batch_size=_BATCH
        )
        Segment.objects.filter(pk=segment.pk).update(member_count=len(wanted), last_computed_at=now)
        segment.member_count, segment.last_computed_at = len(wanted), now
        _send(segment_exited, segment, exiting, now)
        _send(segment_entered, segment, entering, now)
    return len(entering), len(exiting)


def enter(segment: Segment, person: Person, *, now: dt.datetime | None = None) -> bool:
    """Put the person in the segment; False when they already were in it."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            _row(segment, person, now).save(force_insert=True)
    except IntegrityError:
        # The open row exists (the partial unique constraint): already a member.
        return False
    Segment.objects.filter(pk=segment.pk).update(member_count=_count(segment))
    _send(segment_entered, segment, [person], now)
    return True


def leave(segment: Segment, person: Person, *, now: dt.datetime | None = None) -> bool:
    """Take the person out of the segment; False when they were not in it."""
    now = now or timezone.now()
    closed = SegmentMembership.objects.filter(
        person_filter(person), segment=segment, exited_at__isnull=True
    ).update(exited_at=now)
    if not closed:
        return False
    Segment.objects.filter(pk=segment.pk).update(member_count=_count(segment))
    _send(segment_exited, segment, [person], now)
    return True


def change_members(
    segment: Segment,
    entering: Iterable[Person],
    leaving: Iterable[Person],
    *,
    now: dt.datetime | None = None,
) -> tuple[int, int]:
    """Put ``entering`` in the segment and take ``leaving`` out, in one transaction with a few
    queries whatever their number: :func:`enter` and :func:`leave` for many people at once (the
    dynamic segments of a batch of events). Returns the ``(entered, exited)`` counts.

    People already in (or already out of) the segment are left as they are, without a signal.
    """
    now = now or timezone.now()
    entering, leaving = set(entering), set(leaving)
    with transaction.atomic():
        exited: set[Person] = set()
        for kind in ("user", "visitor"):
            ids = [pk for k, pk in leaving if k == kind]
            for start in range(0, len(ids), _BATCH):
                rows = SegmentMembership.objects.filter(
                    segment=segment,
                    exited_at__isnull=True,
                    **{f"{kind}_id__in": ids[start : start + _BATCH]},
                )
                found = list(rows.values_list("user_id", "visitor_id"))
                rows.update(exited_at=now)
                exited.update(_person_of(u, v) for u, v in found)
        entered = set(entering)
        if entering:
            current = SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True)
            query = Q(pk__in=[])
            for kind in ("user", "visitor"):
                ids = [pk for k, pk in entering if k == kind]
                if ids:
                    query |= Q(**{f"{kind}_id__in": ids})
            entered -= {
                _person_of(u, v)
                for u, v in current.filter(query).values_list("user_id", "visitor_id")
            }
            SegmentMembership.objects.bulk_create(
                [_row(segment, person, now) for person in entered],
                batch_size=_BATCH,
                ignore_conflicts=True,
            )
        if entered or exited:
            Segment.objects.filter(pk=segment.pk).update(member_count=_count(segment))
        _send(segment_exited, segment, exited, now)
        _send(segment_entered, segment, entered, now)
    return len(entered), len(exited)


def _count(segment: Segment) -> int:
    return SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True).count()


def segment_slugs(person: Person) -> set[str]:
    """The slugs of the active segments the person is in now."""
    return set(
        SegmentMembership.objects.filter(
            person_filter(person), exited_at__isnull=True, segment__is_active=True
        ).values_list("segment__slug", flat=True)
    )


def record_sizes(day: dt.date | None = None) -> int:
    """Store every segment's current size for ``day`` (today): the trend. Returns the rows."""
    day = day or timezone.localdate()
    rows = [
        SegmentSize(segment_id=pk, day=day, size=count)
        for pk, count in Segment.objects.values_list("pk", "member_count")
    ]
    SegmentSize.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["segment", "day"],
        update_fields=["size"],
    )
    return len(rows)
