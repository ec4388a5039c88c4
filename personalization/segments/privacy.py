"""What segments and de-duplication hold about a person, in exports and erasures (registered
with :mod:`personalization.privacy.registry` when ``receivers`` is imported)."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import Q

from ..models.dedup import CustomerMerge, MergeSuggestion
from ..models.segments import Profile, SegmentMembership
from ..privacy.registry import (
    Subject,
    register_erasure_handler,
    register_export_section,
    user_cache_key,
    visitor_cache_key,
)
from .context import GENERATION_KEY


def _people(subject: Subject) -> Q:
    query = Q(pk__in=[])
    if subject.user_id is not None:
        query |= Q(user_id=subject.user_id)
    if subject.visitor_ids:
        query |= Q(visitor_id__in=subject.visitor_ids)
    return query


def _merges(subject: Subject) -> Q:
    if subject.user_id is None:
        return Q(pk__in=[])
    return Q(source_account=str(subject.user_id)) | Q(target_account=str(subject.user_id))


def export_segments(subject: Subject) -> list[dict[str, Any]]:
    """Every stay in a segment, current ones with ``exited_at`` None."""
    rows = (
        SegmentMembership.objects.filter(_people(subject))
        .select_related("segment")
        .order_by("entered_at", "pk")
    )
    return [
        {
            "segment": row.segment.name,
            "slug": row.segment.slug,
            "entered_at": row.entered_at.isoformat(),
            "exited_at": row.exited_at.isoformat() if row.exited_at else None,
        }
        for row in rows
    ]


def export_customer_merges(subject: Subject) -> list[dict[str, Any]]:
    """Merges of this account with another one (by account id)."""
    return [
        {
            "merged_account": merge.source_account,
            "kept_account": merge.target_account,
            "merged_at": merge.merged_at.isoformat(),
            "moved": merge.moved,
        }
        for merge in CustomerMerge.objects.filter(_merges(subject)).order_by("merged_at")
    ]


def erase_segments(subject: Subject) -> dict[str, int]:
    """Delete the person's memberships, profile, merge suggestions and cached segments.

    The merge log keeps its records (two account ids and counts), as the account-administration
    trail of which account absorbed which."""
    if not subject.covers("personalization"):
        return {}
    memberships, _ = SegmentMembership.objects.filter(_people(subject)).delete()
    profiles, _ = Profile.objects.filter(_people(subject)).delete()
    suggestions = 0
    if subject.user_id is not None:
        suggestions, _ = MergeSuggestion.objects.filter(
            Q(user_a_id=subject.user_id) | Q(user_b_id=subject.user_id)
        ).delete()
    generation = cache.get(GENERATION_KEY, 1)
    keys = [visitor_cache_key(vid, "segments", generation) for vid in subject.vids]
    if subject.user_id is not None:
        keys.append(user_cache_key(subject.user_id, "segments", generation))
    cache.delete_many(keys)
    return {
        "segment_memberships": memberships,
        "profiles": profiles,
        "merge_suggestions": suggestions,
    }


register_export_section("segments", export_segments)
register_export_section("customer_merges", export_customer_merges)
register_erasure_handler(erase_segments)
