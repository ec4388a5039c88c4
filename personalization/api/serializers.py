"""Request and response bodies of the API, for the OpenAPI schema.

The ingest view does not validate events with these serializers: a batch is accepted event by
event (invalid ones are reported by index while the valid ones are kept), which is what
:func:`personalization.tracking.events.clean_submitted_event` does. These classes describe that
contract so that drf-spectacular can publish it.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..tracking.names import ALIASES, EVENT_NAMES

NAME_HELP = (
    "Canonical event name ("
    + ", ".join(EVENT_NAMES)
    + ") or a Segment e-commerce v2 / GA4 alias ("
    + ", ".join(sorted(set(ALIASES) - set(EVENT_NAMES)))
    + ")."
)


@extend_schema_field(
    {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "integer", "minimum": 0}]}
)
class TimestampField(serializers.Field):
    """ISO 8601 text or milliseconds since the epoch (what ``Date.now()`` gives)."""


class EventSerializer(serializers.Serializer):
    """One submitted event. The visitor, user, session and user agent come from the request."""

    name = serializers.CharField(help_text=NAME_HELP)
    event_id = serializers.UUIDField(
        required=False,
        help_text="Client-generated UUID. A repeated event_id is ignored, so retries are safe.",
    )
    product_id = serializers.CharField(
        required=False,
        help_text="Required for product events; may instead be given as properties.product_id "
        "or properties.items[0].item_id (GA4).",
    )
    properties = serializers.DictField(required=False, help_text="Free-form JSON object.")
    timestamp = TimestampField(
        required=False,
        help_text="Client time: ISO 8601 or epoch milliseconds. Used when it is within 24 hours "
        "before and 5 minutes after the server's clock.",
    )
    url = serializers.CharField(
        required=False, help_text="Page URL; its path and utm_* parameters are kept."
    )
    path = serializers.CharField(required=False, help_text="Page path, when url is not given.")
    referrer = serializers.CharField(
        required=False, help_text="Referring URL; only its host and path are kept."
    )


class BatchSerializer(serializers.Serializer):
    """A batch of events with the visitor token."""

    token = serializers.CharField(
        required=False,
        help_text="Signed visitor token, unless it is sent in the X-P13N-Token header.",
    )
    source = serializers.ChoiceField(
        choices=["js", "api"],
        required=False,
        default="api",
        help_text="Which producer sent the batch; tracker.js sends 'js'.",
    )
    events = EventSerializer(many=True, help_text="At most INGEST_MAX_EVENTS events.")


class SingleEventSerializer(EventSerializer):
    """One event posted on its own, with the visitor token beside its fields."""

    token = serializers.CharField(
        required=False,
        help_text="Signed visitor token, unless it is sent in the X-P13N-Token header.",
    )


class RejectionSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the event in the batch (0 based).")
    reason = serializers.CharField()


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Events queued for storage.")
    duplicates = serializers.IntegerField(
        help_text="Events dropped because an earlier event of the same batch had their event_id. "
        "Repeats across batches are dropped when the events are stored."
    )
    rejected = RejectionSerializer(many=True, help_text="Events refused, with the reason.")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Human-readable reason.")
    code = serializers.CharField(
        help_text="Machine-readable reason, e.g. consent_required, invalid_token, stale_token, "
        "too_large, parse_error, throttled."
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Signed visitor token for the ingest API.")
    max_age = serializers.IntegerField(help_text="Seconds the token stays valid.")
