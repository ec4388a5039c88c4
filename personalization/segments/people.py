"""Moving one person's segment data to another: at log-in (a visitor's to the user) and when two
customer records are merged (one user's to the other)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from ..models.segments import Profile, Segment, SegmentMembership
from . import context
from .membership import Person, person_filter


def _assign(person: Person) -> dict[str, int | None]:
    kind, pk = person
    return {
        "user_id": pk if kind == "user" else None,
        "visitor_id": pk if kind == "visitor" else None,
    }


def move_person(
    source: Person, target: Person, *, now: dt.datetime | None = None
) -> dict[str, int]:
    """Give ``source``'s memberships (with their history) and profile to ``target``.

    A segment both are in keeps the target's open stay; the source's is closed at ``now`` and
    kept in the history. The source's profile becomes the target's when the target has none, and
    is deleted otherwise (the next pipeline run computes the target's from the joined history).
    No ``segment_entered`` / ``segment_exited`` signal is sent: the person is the same. Returns
    the rows moved per type.
    """
    now = now or timezone.now()
    with transaction.atomic():
        source_rows = SegmentMembership.objects.filter(person_filter(source))
        both = set(
            SegmentMembership.objects.filter(
                person_filter(target), exited_at__isnull=True
            ).values_list("segment_id", flat=True)
        ) & set(source_rows.filter(exited_at__isnull=True).values_list("segment_id", flat=True))
        if both:
            source_rows.filter(segment_id__in=both, exited_at__isnull=True).update(exited_at=now)
        moved = source_rows.update(**_assign(target))
        if both:
            counts = dict(
                SegmentMembership.objects.filter(segment_id__in=both, exited_at__isnull=True)
                .values_list("segment_id")
                .annotate(n=Count("pk"))
            )
            for segment_id in both:
                Segment.objects.filter(pk=segment_id).update(member_count=counts.get(segment_id, 0))
        profiles = 0
        source_profile = Profile.objects.filter(person_filter(source)).first()
        if source_profile is not None:
            if Profile.objects.filter(person_filter(target)).exists():
                source_profile.delete()
            else:
                Profile.objects.filter(pk=source_profile.pk).update(**_assign(target))
                profiles = 1
        people = [source, target]
        context.forget(
            user_ids=[pk for kind, pk in people if kind == "user"],
            visitor_ids=[pk for kind, pk in people if kind == "visitor"],
        )
    return {"segment_memberships": moved, "profiles": profiles}
