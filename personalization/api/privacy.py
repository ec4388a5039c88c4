"""The person's own data through the API: ``GET me/export/`` and ``POST me/erase/``.

Both need a logged-in user and use session authentication, so DRF enforces Django's CSRF check
on the POST (send the ``X-CSRFToken`` header). Anonymous requests get 403.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..privacy.erasure import request_erasure
from ..privacy.export import export_user


class OwnDataView(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]


class MyDataExportView(OwnDataView):
    @extend_schema(
        summary="Export my data",
        description="Everything the app holds about the logged-in user, by section (see "
        "docs/privacy.md): account, visitors, identity_merges, sessions, events, consents, "
        "activity, store and the sections that features register.",
        responses={200: OpenApiResponse(description="The export, a JSON object of sections.")},
    )
    def get(self, request: Request) -> Response:
        return Response(export_user(request.user.pk, via="api"))


class MyDataErasureView(OwnDataView):
    @extend_schema(
        summary="Erase my data",
        description="Queue the erasure of what the app holds about the logged-in user. The "
        "answer names the audit record; the erasure runs as a task. The session stays open.",
        request=None,
        responses={
            202: inline_serializer(
                "ErasureQueued",
                {
                    "request": serializers.IntegerField(),
                    "status": serializers.CharField(),
                    "requested_at": serializers.DateTimeField(),
                },
            )
        },
    )
    def post(self, request: Request) -> Response:
        erasure = request_erasure(request.user.pk, via="api")
        return Response(
            {
                "request": erasure.pk,
                "status": erasure.status,
                "requested_at": erasure.requested_at,
            },
            status=status.HTTP_202_ACCEPTED,
        )
