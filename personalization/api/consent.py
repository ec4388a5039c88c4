"""``GET`` and ``POST /personalization/api/consent/``: read and record the visitor's consent.

Why Django's CSRF check, for every visitor
------------------------------------------
A consent is valid only if the visitor gave it, so a cross-site page must not be able to record
one for them. A forged cross-site form post needs no cookie to do that (the answer would set the
consent cookie), which is why this view checks Django's CSRF token for anonymous visitors too, not
only for signed-in users as DRF's session authentication does. The page that carries the banner is
the same for everybody (it may come from a full-page cache), so it embeds no token: consent.js asks
``GET`` for one (the answer also sets the ``csrftoken`` cookie, or uses the session with
``CSRF_USE_SESSIONS``) and posts it back in the ``X-CSRFToken`` header. Another site can neither
read that answer (no CORS) nor send the ``SameSite=Lax`` CSRF cookie with a cross-site post, so its
forgery fails the check. docs/consent.md repeats this for integrators.
"""

from __future__ import annotations

from typing import Any

from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from ..conf import CONSENT_CATEGORIES, app_settings
from ..consent.gate import (
    OPTIONAL_CATEGORIES,
    current_choice,
    gpc_signalled,
    granted_categories,
    opt_out_signalled,
)
from ..consent.policy import current_policy_version
from ..consent.records import CLIENT_METHODS, ordered, record_choice
from .serializers import ErrorSerializer
from .views import CodedErrorsMixin


class ConsentRateThrottle(SimpleRateThrottle):
    """At most ``CONSENT_RATE_PER_IP`` recorded choices from one client address."""

    scope = "p13n_consent_ip"

    def get_rate(self) -> str:
        return app_settings.CONSENT_RATE_PER_IP

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.method != "POST":
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class _CSRFCheck(CsrfViewMiddleware):
    def _reject(self, request: Any, reason: str) -> str:
        return reason


def enforce_csrf(request: Any) -> None:
    """Apply Django's CSRF check to this (Django) request; PermissionDenied when it fails."""
    check = _CSRFCheck(lambda _request: None)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        raise PermissionDenied(f"CSRF check failed: {reason}", code="csrf_failed")


class ConsentChoiceSerializer(serializers.Serializer):
    """A choice to record."""

    granted = serializers.ListField(
        child=serializers.CharField(),
        allow_empty=True,
        help_text="The optional categories accepted (" + ", ".join(CONSENT_CATEGORIES[1:]) + "); "
        "[] rejects them all. 'necessary' is always on and may be listed.",
    )
    method = serializers.ChoiceField(
        choices=list(CLIENT_METHODS),
        default="api",
        help_text="How the choice was made: 'banner' (our banner), 'cmp' (a consent-management "
        "platform, through consent.js) or 'api'.",
    )

    def validate_granted(self, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CONSENT_CATEGORIES))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown categories: {', '.join(unknown)}. Choose from "
                f"{', '.join(CONSENT_CATEGORIES)}."
            )
        return ordered(value)


class ConsentStateSerializer(serializers.Serializer):
    """What the server knows of this browser's consent."""

    policy_version = serializers.IntegerField(help_text="The current policy version.")
    choice = serializers.DictField(
        allow_null=True,
        help_text="The choice recorded in the consent cookie under the current version "
        '({"version": ..., "granted": [...]}), or null: the banner must ask.',
    )
    granted = serializers.ListField(
        child=serializers.CharField(),
        help_text="The optional categories allowed now, after the GPC/DNT signals.",
    )
    gpc = serializers.BooleanField(help_text="The browser sends Sec-GPC: 1 (and it is honoured).")
    opt_out_signal = serializers.BooleanField(help_text="GPC or DNT is honoured on this request.")
    opt_out_categories = serializers.ListField(
        child=serializers.CharField(), help_text="What GPC and DNT switch off."
    )
    source = serializers.CharField(help_text="CONSENT_SOURCE: banner, tcf or onetrust.")
    csrf_token = serializers.CharField(help_text="Send it back in the X-CSRFToken header.")


def consent_state(request: Any) -> dict[str, Any]:
    """The body of a consent answer for this (Django) request."""
    choice = current_choice(request)
    return {
        "policy_version": current_policy_version(),
        "choice": (
            None
            if choice is None
            else {"version": choice.version, "granted": ordered(choice.categories)}
        ),
        "granted": ordered(granted_categories(request) & OPTIONAL_CATEGORIES),
        "gpc": gpc_signalled(request),
        "opt_out_signal": opt_out_signalled(request),
        "opt_out_categories": ordered(app_settings.OPT_OUT_SIGNAL_CATEGORIES),
        "source": app_settings.CONSENT_SOURCE,
        "csrf_token": get_token(request),
    }


@method_decorator(never_cache, name="dispatch")
class ConsentView(CodedErrorsMixin, APIView):
    """Read (``GET``) and record (``POST``) the visitor's consent."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ConsentRateThrottle]

    def initialize_request(self, request: Any, *args: Any, **kwargs: Any) -> Request:
        # Keep the user AuthenticationMiddleware found: the record names a signed-in user.
        self.django_user = getattr(request, "user", None)
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if request.method == "POST":
            enforce_csrf(request._request)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="consent_state",
        summary="The visitor's consent and the current policy version",
        description="Never cached. Also gives the CSRF token that POST needs (and sets the CSRF "
        "cookie), for pages served from a full-page cache.",
        responses={200: ConsentStateSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(consent_state(request._request))

    @extend_schema(
        operation_id="consent_record",
        summary="Record the visitor's consent choice",
        description="Appends a consent record (visitor, user, policy version, granted and denied "
        "categories, method, IP prefix, user-agent hash) and sets the consent cookie. Categories "
        "switched off by an honoured GPC/DNT signal are recorded as denied. Withdrawing analytics "
        "and personalization deletes the visitor cookie and, with DELETE_ON_WITHDRAWAL, what was "
        "collected under the withdrawn categories. Needs the CSRF token (X-CSRFToken header).",
        request=ConsentChoiceSerializer,
        responses={
            200: ConsentStateSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Unknown category or method."),
            403: OpenApiResponse(ErrorSerializer, description="CSRF check failed."),
            429: OpenApiResponse(ErrorSerializer, description="CONSENT_RATE_PER_IP reached."),
        },
        examples=[
            OpenApiExample(
                "Accept analytics only",
                request_only=True,
                value={"granted": ["analytics"], "method": "banner"},
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = ConsentChoiceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        django_request = request._request
        django_request.user = self.django_user
        response = Response()
        recorded = record_choice(
            django_request,
            response,
            serializer.validated_data["granted"],
            serializer.validated_data["method"],
        )
        response.data = consent_state(django_request)
        response.data["choice"] = {
            "version": recorded.record.policy_version,
            "granted": ordered(recorded.granted),
        }
        return response
