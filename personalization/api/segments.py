"""``GET /personalization/api/segments/me/``: the segments of the visitor making the request."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import consent
from ..models.segments import SegmentMembership
from ..segments.context import memberships_query, request_person


class MySegmentSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text="rule, rfm, cluster, propensity or manual.")
    mode = serializers.CharField(help_text="static (recomputed on a schedule) or dynamic.")
    entered_at = serializers.DateTimeField(help_text="When this stay in the segment began.")


class MySegmentsSerializer(serializers.Serializer):
    personalization_allowed = serializers.BooleanField(
        help_text="False without the personalization consent; the list is then empty."
    )
    segments = MySegmentSerializer(many=True)


def my_segments(request: Any) -> list[dict[str, Any]]:
    """The active segments of the request's user (or else its visitor), oldest stay first."""
    user_id, vid = request_person(request)
    if user_id is None and vid is None:
        return []
    rows = (
        SegmentMembership.objects.filter(
            memberships_query(user_id, vid), exited_at__isnull=True, segment__is_active=True
        )
        .order_by("entered_at", "pk")
        .values_list(
            "segment__slug", "segment__name", "segment__kind", "segment__mode", "entered_at"
        )
    )
    segments: dict[str, dict[str, Any]] = {}
    for slug, name, kind, mode, entered_at in rows:
        # A user and their not yet merged visitor can both be in a segment: the first stay wins.
        segments.setdefault(
            slug,
            {"slug": slug, "name": name, "kind": kind, "mode": mode, "entered_at": entered_at},
        )
    return list(segments.values())


class MySegmentsView(APIView):
    """The segments the current visitor (or logged-in user) is in now."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="segments_me",
        summary="My segments",
        description="The active segments, static and dynamic, that the logged-in user or else "
        "the browser's visitor (its cookie) is in now. Empty without the personalization "
        "consent. Dynamic segments reflect events once they are flushed (every "
        "BUFFER_FLUSH_INTERVAL seconds).",
        responses={200: MySegmentsSerializer},
    )
    def get(self, request: Request) -> Response:
        django_request = request._request
        allowed = consent.allowed(django_request, "personalization")
        segments = my_segments(django_request) if allowed else []
        return Response(
            MySegmentsSerializer({"personalization_allowed": allowed, "segments": segments}).data
        )
