"""Recommendations over HTTP: the lists, "not interested" feedback and the click redirect.

* ``GET /personalization/api/recommendations/?placement=...&source=...&product=...&limit=...``
  serves a list through the same function as the template tags
  (:func:`personalization.recommendations.serving.recommend`), impression included.
* ``POST /personalization/api/recommendations/feedback/`` records "not interested".
* ``GET /personalization/api/recommendations/click/<rec id>/<product id>/`` is the link of every
  recommended product: it records the click and redirects to the product's page.

Why the feedback endpoint needs no CSRF token: it changes nothing but the caller's own
recommendations, it accepts only ``application/json`` (which a cross-site form cannot send without
a CORS preflight, which this API does not grant), and the cookies that identify the person (the
visitor cookie and Django's session) are ``SameSite=Lax``, so a cross-site post carries neither.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..adapters import get_adapter
from ..recommendations import serving
from ..recommendations.attribution import record_click
from ..tracking.useragent import is_bot
from .serializers import ErrorSerializer
from .views import CodedErrorsMixin


class DjangoUserAuthentication(BaseAuthentication):
    """The user that Django's session middleware found, without DRF's CSRF enforcement (see the
    module docstring for why these endpoints need none)."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        user = getattr(request._request, "user", None)
        return (user, None) if user is not None and user.is_authenticated else None


class DjangoUserAuthenticationScheme(OpenApiAuthenticationExtension):
    """The OpenAPI description of :class:`DjangoUserAuthentication`: Django's session cookie."""

    target_class = "personalization.api.recommendations.DjangoUserAuthentication"
    name = "sessionCookieWithoutCsrf"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}


class RecommendedProductSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField(help_text="The click redirect: it records the click.")
    product_url = serializers.CharField(help_text="The product's own page.")
    image_url = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    category = serializers.CharField()
    score = serializers.FloatField()
    position = serializers.IntegerField()


class RecommendationSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The recommendation id (a click carries it).")
    placement = serializers.CharField()
    source = serializers.ChoiceField(choices=serving.SOURCES)
    kind = serializers.CharField(help_text="The recommender kind that produced the list.")
    version = serializers.IntegerField(allow_null=True, help_text="The RecommenderVersion id.")
    personal = serializers.BooleanField()
    reason = serializers.CharField(
        help_text='Why the list is empty: "consent" (no personalization consent), "no_product" '
        "(the source needs a product), or empty."
    )
    items = RecommendedProductSerializer(many=True)


def serialize(rec: serving.Recommendation) -> dict[str, Any]:
    return {
        "id": rec.id,
        "placement": rec.placement,
        "source": rec.source,
        "kind": rec.kind,
        "version": rec.version_id,
        "personal": rec.personal,
        "reason": rec.reason,
        "items": [item.as_dict() for item in rec.items],
    }


class RecommendationsView(CodedErrorsMixin, APIView):
    """Recommendations for the visitor making the request."""

    authentication_classes = [DjangoUserAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="recommendations_list",
        parameters=[
            OpenApiParameter(
                "placement",
                str,
                required=True,
                description="Where the list is shown (home, product_similar, cart, ...); "
                "attribution reports per placement. A source's name also selects that source.",
            ),
            OpenApiParameter(
                "source",
                str,
                enum=list(serving.SOURCES),
                description="The list type; defaults to the placement when that is a source.",
            ),
            OpenApiParameter("product", str, description="The product being viewed."),
            OpenApiParameter("limit", int, description="Items wanted (default 8, at most 50)."),
        ],
        responses={
            200: RecommendationSerializer,
            400: OpenApiResponse(ErrorSerializer, description="A parameter is invalid."),
        },
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        placement = params.get("placement", "").strip()
        source = params.get("source", "").strip() or None
        if not placement:
            raise ValidationError({"placement": "This parameter is required."}, code="invalid")
        if len(placement) > 64 or not placement.replace("_", "-").replace("-", "").isalnum():
            raise ValidationError(
                {"placement": "Use letters, digits, - and _ (at most 64)."}, code="invalid"
            )
        if (source or placement) not in serving.SOURCES:
            raise ValidationError(
                {"source": f"Unknown source; use one of {', '.join(serving.SOURCES)}."},
                code="invalid",
            )
        try:
            limit = serving.clamp_limit(params.get("limit"))
        except ValueError as exc:
            raise ValidationError({"limit": str(exc)}, code="invalid") from exc
        rec = serving.recommend(
            request._request,
            placement,
            source=source,
            product=params.get("product", "").strip() or None,
            limit=limit,
        )
        response = Response(serialize(rec))
        response["Cache-Control"] = "private, no-store"
        return response


class FeedbackSerializer(serializers.Serializer):
    product = serializers.CharField(max_length=64, help_text="The product not wanted.")
    rec = serializers.UUIDField(required=False, help_text="The list it was shown in.")
    placement = serializers.CharField(max_length=64, required=False, allow_blank=True)


class RecommendationFeedbackView(CodedErrorsMixin, APIView):
    """ "Not interested": the product is never recommended to this person again."""

    authentication_classes = [DjangoUserAuthentication]
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="recommendations_feedback",
        request=FeedbackSerializer,
        responses={
            201: OpenApiResponse(description="Recorded."),
            400: OpenApiResponse(ErrorSerializer, description="The body is invalid."),
            403: OpenApiResponse(
                ErrorSerializer,
                description="No personalization consent, or no visitor to remember it for "
                "(consent_required).",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        from ..models import NotInterested

        data = FeedbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        state = serving.request_state(request._request)
        if not state.personal or (state.user_id is None and not state.vid):
            raise PermissionDenied(
                "Feedback is kept only with the personalization consent.", code="consent_required"
            )
        product_id = data.validated_data["product"]
        lookup = (
            {"user_id": state.user_id}
            if state.user_id is not None
            else {"user": None, "vid": state.vid}
        )
        NotInterested.objects.get_or_create(
            product_id=product_id,
            **lookup,
            defaults={
                "vid": state.vid or "",
                "rec_id": data.validated_data.get("rec"),
                "placement": data.validated_data.get("placement", ""),
            },
        )
        key = serving.dismissed_key(state.user_id, state.vid)
        if key:
            cache.delete(key)
        return Response({"product": product_id, "status": "recorded"}, status=201)


@never_cache
@require_GET
def recommendation_click(request: HttpRequest, rec_id: uuid.UUID, product_id: str) -> HttpResponse:
    """Record a click on a recommended product and redirect to its page.

    Robots and prefetches are redirected without a record. The target is the store's URL of the
    product (never one taken from the request), so this is no open redirect.
    """
    product_id = unquote(product_id)
    product = get_adapter().get_product(product_id)
    if product is None or not product.url:
        raise Http404("No such product.")
    target = product.url
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    meta = request.META
    prefetch = "prefetch" in meta.get("HTTP_SEC_PURPOSE", meta.get("HTTP_PURPOSE", "")).lower()
    if not prefetch and not is_bot(meta.get("HTTP_USER_AGENT", "")):
        record_click(request, rec_id, product.id)
    return HttpResponseRedirect(target)
