"""What served recommendations hold about a person, in exports and erasures (registered with
:mod:`personalization.privacy.registry` when ``personalization.signals`` imports this module).

Impressions and clicks name the user and the browser (visitor id) they were shown to; the
"not interested" list is the shopper's own feedback. An erasure deletes the feedback and
anonymises impressions and clicks (user and visitor id cleared), so that the placements' CTR and
conversion figures stay whole; a withdrawal of ``analytics`` and ``personalization`` does the same
for that browser.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import Q

from ..models.serving import NotInterested, RecommendationClick, RecommendationImpression
from ..privacy.registry import (
    Subject,
    register_erasure_handler,
    register_export_section,
    user_cache_key,
    visitor_cache_key,
)

#: Per-person cache entries of serving (recently viewed, "not interested", purchases).
CACHE_PARTS = ("rec-recent", "rec-dismissed", "rec-purchased")


def _person(subject: Subject) -> Q:
    query = Q(pk__in=[])
    if subject.user_id is not None:
        query |= Q(user_id=subject.user_id)
    if subject.vids:
        query |= Q(vid__in=subject.vids)
    return query


def export_recommendations(subject: Subject) -> dict[str, Any]:
    """The products the person said they are not interested in, and their clicks on
    recommendations."""
    return {
        "not_interested": [
            {"product": row.product_id, "at": row.created_at.isoformat()}
            for row in NotInterested.objects.filter(_person(subject)).order_by("created_at")
        ],
        "clicks": [
            {"product": row.product_id, "at": row.clicked_at.isoformat()}
            for row in RecommendationClick.objects.filter(_person(subject)).order_by("clicked_at")
        ],
    }


def erase_recommendations(subject: Subject) -> dict[str, int]:
    """Delete the feedback and the cached lists; anonymise impressions and clicks."""
    if not subject.covers("analytics", "personalization"):
        return {}
    dismissed, _ = NotInterested.objects.filter(_person(subject)).delete()
    impressions = RecommendationImpression.objects.filter(_person(subject)).update(
        user=None, vid=""
    )
    clicks = RecommendationClick.objects.filter(_person(subject)).update(user=None, vid="")
    keys = [visitor_cache_key(vid, part) for vid in subject.vids for part in CACHE_PARTS]
    if subject.user_id is not None:
        keys += [user_cache_key(subject.user_id, part) for part in CACHE_PARTS]
    cache.delete_many(keys)
    return {
        "recommendation_feedback": dismissed,
        "recommendation_impressions_anonymised": impressions,
        "recommendation_clicks_anonymised": clicks,
    }


register_export_section("recommendations", export_recommendations)
register_erasure_handler(erase_recommendations)
