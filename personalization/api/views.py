"""The batch ingest endpoint and the visitor-token endpoint.

Why a signed token in the body is safe without Django's CSRF cookie
------------------------------------------------------------------
``POST /personalization/api/events/`` uses no session authentication (``authentication_classes =
[]``), so DRF applies no CSRF check; the signed visitor token of :mod:`..tracking.tokens` takes its
place:

* The token is embedded in our own page (or fetched from ``GET /personalization/api/token/`` by our
  own script). The same-origin policy stops another site from reading either, so a cross-site form
  or script cannot post events for the victim's visitor id.
* Identity comes from the token, never from cookies: the visitor is the token's ``vid``. When the
  visitor cookie is sent as well and names someone else, the request is refused (``stale_token``),
  and a user is attached only when that cookie agrees with the token. A forged post made with the
  attacker's own token therefore records, at worst, junk events for the attacker's own visitor.
* Django's session and CSRF cookies and our visitor cookie are ``SameSite=Lax``: browsers do not
  send them with cross-site POSTs, so a forged request has no logged-in user to ride on (nor,
  with a Lax consent cookie, any consent: the gate then refuses it).
* The token is signed with the site's SECRET_KEY and a salt of its own, and expires after
  ``VISITOR_TOKEN_MAX_AGE`` seconds.

The endpoint only appends events to the buffer; it changes no account, order or setting, which is
what CSRF protection exists to guard. docs/tracking.md gives the whole reasoning and the API
reference.

Order of the checks: the per-IP rate is counted before the body is read; then body size (413,
before anything is parsed), JSON shape (400), number of events (413), the per-visitor rate (429
for either rate), consent (403), token (403); then each event is validated on its own, and the
valid ones are queued.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import consent
from ..conf import app_settings
from ..tracking import collect, sessions, tokens
from ..tracking.events import Submission as EventSubmission
from ..tracking.events import clean_submitted_events
from .serializers import (
    BatchSerializer,
    ErrorSerializer,
    IngestResultSerializer,
    SingleEventSerializer,
    TokenSerializer,
)
from .throttling import IngestIPThrottle, IngestVisitorThrottle

TOKEN_HEADER = "X-P13N-Token"
SOURCES = ("js", "api")


class FastJSONParser(JSONParser):
    """DRF's JSON parser with orjson, several times faster on batches of events.

    Like DRF's, it refuses NaN and Infinity. Integers beyond 64 bits are read as floats (as a
    browser reads them); a body orjson refuses for another reason is read by DRF's parser, so
    the error answers are DRF's.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        body = stream.read() if stream is not None else b""
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            return super().parse(io.BytesIO(body), media_type, parser_context)


class PlainTextJSONParser(FastJSONParser):
    """JSON sent as ``text/plain``: what ``navigator.sendBeacon`` posts for a string body."""

    media_type = "text/plain"


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large."
    default_code = "too_large"


class Refused(APIException):
    """403 with a machine-readable code the tracker acts on (e.g. fetch a new token)."""

    status_code = status.HTTP_403_FORBIDDEN

    def __init__(self, detail: str, code: str) -> None:
        super().__init__(detail, code)


@dataclass
class Submission:
    """What a request carries once its body has been read."""

    events: list[Any] = field(default_factory=list)
    source: str = "api"
    vid: str | None = None
    token_error: str = ""


class CodedErrorsMixin:
    """Error bodies are ``{"detail": ..., "code": ...}`` so that clients can act on the code."""

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)  # type: ignore[misc]
        if isinstance(exc, APIException) and isinstance(response.data, dict):
            codes = exc.get_codes()
            response.data["code"] = codes if isinstance(codes, str) else exc.default_code
        return response


def _cookie_vid(request: Request) -> str | None:
    return request.COOKIES.get(app_settings.VISITOR_COOKIE_NAME) or None


def _check_tracking_allowed(request: Request) -> None:
    if not app_settings.TRACKING_ENABLED:
        raise Refused("Tracking is disabled on this site.", "tracking_disabled")
    if not consent.tracking_allowed(request._request):
        raise Refused(
            "The visitor has not consented to analytics or personalization; nothing was stored.",
            "consent_required",
        )


ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="The body is not JSON of the right shape."),
    403: OpenApiResponse(
        ErrorSerializer,
        description="No consent (consent_required), tracking off (tracking_disabled), a missing, "
        "forged or expired token (invalid_token), or a token of another visitor than the visitor "
        "cookie's (stale_token: fetch a new one from the token endpoint).",
    ),
    413: OpenApiResponse(
        ErrorSerializer,
        description="More than INGEST_MAX_BATCH_BYTES in the body or more than INGEST_MAX_EVENTS "
        "events.",
    ),
    429: OpenApiResponse(
        ErrorSerializer, description="Rate limit reached; Retry-After says when to try again."
    ),
}


class EventIngestView(CodedErrorsMixin, APIView):
    """``POST /personalization/api/events/``: validate submitted events and queue the valid ones."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [FastJSONParser, PlainTextJSONParser]
    throttle_classes = [IngestIPThrottle, IngestVisitorThrottle]

    def initialize_request(self, request: Any, *args: Any, **kwargs: Any) -> Request:
        # DRF puts its own user on the Django request (anonymous: this view authenticates
        # nobody), so keep the one AuthenticationMiddleware found.
        self.django_user = getattr(request, "user", None)
        return super().initialize_request(request, *args, **kwargs)

    def submission(self, request: Request) -> Submission:
        """Read the body once (the visitor throttle needs the token before ``post`` runs)."""
        cached = getattr(request, "_p13n_submission", None)
        if cached is None:
            cached = self._read_submission(request)
            request._p13n_submission = cached
        return cached

    def visitor_for_throttle(self, request: Request) -> str | None:
        return self.submission(request).vid

    def _read_submission(self, request: Request) -> Submission:
        limit = app_settings.INGEST_MAX_BATCH_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        # Refuse on the declared length before reading, and on the real length before parsing.
        size = declared if declared > limit else len(request._request.body)
        if size > limit:
            raise PayloadTooLarge(f"The body is {size} bytes; the limit is {limit} bytes.")
        data = request.data
        if not isinstance(data, dict):
            raise ParseError("The body must be a JSON object: a batch or a single event.")
        if "events" in data:
            events = data["events"]
            if not isinstance(events, list):
                raise ParseError("events must be a list.")
        else:
            events = [{key: value for key, value in data.items() if key != "token"}]
        max_events = app_settings.INGEST_MAX_EVENTS
        if len(events) > max_events:
            raise PayloadTooLarge(
                f"The batch has {len(events)} events; the limit is {max_events} per request."
            )
        source = data.get("source", "api") if "events" in data else "api"
        if source not in SOURCES:
            raise ParseError(f"source must be one of {', '.join(SOURCES)}.")
        submission = Submission(events=events, source=source)
        token = request.headers.get(TOKEN_HEADER) or data.get("token")
        try:
            submission.vid = tokens.read(token)
        except tokens.InvalidToken as exc:
            submission.token_error = str(exc)
        return submission

    @extend_schema(
        operation_id="ingest_events",
        summary="Submit tracking events",
        description=(
            'A batch `{"token": ..., "events": [...]}` or a single event object with a `token` '
            "key. Each event is validated on its own: invalid events are reported with their index "
            "and reason, the valid ones are queued for storage. Repeated event_ids are ignored. "
            "The body may be sent as application/json or text/plain (navigator.sendBeacon)."
        ),
        parameters=[
            OpenApiParameter(
                TOKEN_HEADER,
                type=str,
                location=OpenApiParameter.HEADER,
                required=False,
                description="Signed visitor token, instead of the token field of the body.",
            )
        ],
        request=PolymorphicProxySerializer(
            component_name="IngestRequest",
            serializers=[BatchSerializer, SingleEventSerializer],
            resource_type_field_name=None,
        ),
        responses={202: IngestResultSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Batch",
                request_only=True,
                value={
                    "token": "<signed token>",
                    "source": "js",
                    "events": [
                        {
                            "event_id": "6f1c2b1e-3d4a-4c5b-9a8e-7f6d5c4b3a21",
                            "name": "add_to_cart",
                            "product_id": "42",
                            "properties": {"quantity": 1},
                            "timestamp": 1767225600000,
                            "url": "https://shop.example/products/42/?utm_source=news",
                        }
                    ],
                },
            ),
            OpenApiExample(
                "Partly rejected",
                response_only=True,
                status_codes=["202"],
                value={
                    "accepted": 1,
                    "duplicates": 0,
                    "rejected": [{"index": 1, "reason": "unknown event name 'x'"}],
                },
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        submission = self.submission(request)
        _check_tracking_allowed(request)
        if submission.vid is None:
            raise Refused(
                f"A valid visitor token is required ({submission.token_error}).", "invalid_token"
            )
        cookie_vid = _cookie_vid(request)
        if cookie_vid is not None and cookie_vid != submission.vid:
            raise Refused(
                "The token belongs to another visitor than this browser's; fetch a new one.",
                "stale_token",
            )
        user = self.django_user
        # A user is attached only when the browser's own visitor cookie vouches for the token.
        user_id = user.pk if cookie_vid and user is not None and user.is_authenticated else None
        now = timezone.now()
        session_id, _is_new = sessions.resolve_session(submission.vid, now)
        valid, rejections = clean_submitted_events(
            submission.events,
            EventSubmission(
                source=submission.source,
                received_at=now,
                max_bytes=app_settings.INGEST_MAX_EVENT_BYTES,
                vid=submission.vid,
                user_id=user_id,
                session_id=session_id,
                ua=request.headers.get("User-Agent", ""),
            ),
        )
        rejected = [{"index": r.index, "reason": r.reason} for r in rejections]
        clean: list[dict[str, Any]] = []
        seen: set[str] = set()
        for event in valid:
            if event["event_id"] not in seen:
                seen.add(event["event_id"])
                clean.append(event)
        duplicates = len(valid) - len(clean)
        if clean:
            collect.enqueue(clean)
        return Response(
            {"accepted": len(clean), "duplicates": duplicates, "rejected": rejected},
            status=status.HTTP_202_ACCEPTED,
        )


@method_decorator(never_cache, name="dispatch")
class VisitorTokenView(CodedErrorsMixin, APIView):
    """``GET /personalization/api/token/``: a fresh token for this browser's visitor.

    For pages served from a full-page cache, whose embedded token may belong to another visitor or
    have expired: tracker.js fetches one here when the ingest API answers ``invalid_token`` or
    ``stale_token``. Cross-site pages cannot read the answer (no CORS), and it is never cached.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="visitor_token",
        summary="Get a visitor token for the ingest API",
        responses={
            200: TokenSerializer,
            403: OpenApiResponse(
                ErrorSerializer,
                description="Tracking is disabled or the visitor has not consented to it.",
            ),
        },
    )
    def get(self, request: Request) -> Response:
        _check_tracking_allowed(request)
        context = getattr(request._request, "personalization", None)
        vid = context.vid if context is not None else None
        if not vid:
            raise Refused(
                "No visitor id: is personalization.middleware.TrackingMiddleware installed?",
                "no_visitor",
            )
        return Response({"token": tokens.issue(vid), "max_age": app_settings.VISITOR_TOKEN_MAX_AGE})
