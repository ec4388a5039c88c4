"""Export: everything the app holds about a person, as JSON-serialisable data.

The export is a dict of sections. The built-in ones come first, then those that features
registered (:func:`~.registry.register_export_section`); the ``export`` entry describes it::

    {"export": {"format": "personalization-export", "version": 1, "generated_at": "...",
                "subject": "user", "sections": ["account", "visitors", ...]},
     "account": {...}, "visitors": [...], "identity_merges": [...], "sessions": [...],
     "events": [...], "consents": [...], "activity": [...], "store": {...}, ...}

Each export leaves a ``DataSubjectRequest`` (kind ``export``) with the number of items per section.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from ..adapters import get_adapter
from ..models import DataSubjectRequest
from .registry import Subject, export_sections
from .subjects import (
    activity_of,
    consents_of,
    events_of,
    flush_pending_events,
    merges_of,
    sessions_of,
    subject_for_user,
    subject_for_visitor,
    subject_key,
    visitors_of,
)

FORMAT = "personalization-export"
VERSION = 1
# Fields of the user model that are never exported.
HIDDEN_USER_FIELDS = frozenset({"password"})


def account_section(subject: Subject) -> dict[str, Any] | None:
    """The user record's own fields (not its password)."""
    if subject.user_id is None:
        return None
    user_model = get_user_model()
    user = user_model._default_manager.filter(pk=subject.user_id).first()
    if user is None:
        return None
    return {
        field.name: field.value_from_object(user)
        for field in user_model._meta.concrete_fields
        if not field.is_relation and field.name not in HIDDEN_USER_FIELDS
    }


def visitors_section(subject: Subject) -> list[dict[str, Any]]:
    return list(
        visitors_of(subject).order_by("first_seen").values("vid", "first_seen", "last_seen")
    )


def identity_merges_section(subject: Subject) -> list[dict[str, Any]]:
    return list(
        merges_of(subject)
        .order_by("merged_at")
        .values("visitor__vid", "merged_at", "events_moved", "sessions_moved", "method")
    )


def sessions_section(subject: Subject) -> list[dict[str, Any]]:
    return list(
        sessions_of(subject)
        .order_by("started_at")
        .values(
            "id",
            "visitor__vid",
            "started_at",
            "ended_at",
            "landing_path",
            "referrer",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "device_type",
            "browser",
            "os",
            "event_count",
        )
    )


def events_section(subject: Subject) -> list[dict[str, Any]]:
    """Every event, with its sensitive properties decrypted."""
    return list(
        events_of(subject)
        .order_by("occurred_at", "pk")
        .values(
            "event_id",
            "name",
            "occurred_at",
            "product_id",
            "properties",
            "sensitive",
            "path",
            "referrer_host",
            "device_type",
            "browser",
            "os",
            "source",
            "session_id",
            "visitor__vid",
        )
        .iterator(chunk_size=2000)
    )


def consents_section(subject: Subject) -> list[dict[str, Any]]:
    return list(
        consents_of(subject)
        .order_by("created_at", "pk")
        .values("created_at", "policy_version", "granted", "denied", "method", "vid", "ip_prefix")
    )


def activity_section(subject: Subject) -> list[dict[str, Any]]:
    """Daily counts kept after the raw events were purged (see retention)."""
    return list(
        activity_of(subject).order_by("day", "name").values("day", "name", "count", "value")
    )


def store_section(subject: Subject) -> dict[str, Any]:
    """What the store keeps, through the adapter's optional ``export_customer``."""
    if subject.user_id is None:
        return {}
    return get_adapter().export_customer(str(subject.user_id))


BUILTIN_SECTIONS: dict[str, Callable[[Subject], Any]] = {
    "account": account_section,
    "visitors": visitors_section,
    "identity_merges": identity_merges_section,
    "sessions": sessions_section,
    "events": events_section,
    "consents": consents_section,
    "activity": activity_section,
    "store": store_section,
}


def _size(value: Any) -> int:
    """Items of a section: the length of a list, else 1 for a record and 0 for none."""
    if isinstance(value, list):
        return len(value)
    return 0 if value in (None, {}) else 1


def export_subject(subject: Subject, *, kind: str, via: str = "code") -> dict[str, Any]:
    """Build the export of ``subject`` and record it; ``kind`` is ``"user"`` or ``"visitor"``."""
    flush_pending_events()
    registered = export_sections()
    clash = set(registered) & (set(BUILTIN_SECTIONS) | {"export"})
    if clash:
        raise ValueError(f"Registered export sections clash with built-in ones: {sorted(clash)}")
    sections = {**BUILTIN_SECTIONS, **registered}
    data: dict[str, Any] = {
        "export": {
            "format": FORMAT,
            "version": VERSION,
            "generated_at": timezone.now(),
            "subject": kind,
            "sections": list(sections),
        }
    }
    for name, fn in sections.items():
        data[name] = fn(subject)
    # One pass through the encoder makes every date, UUID and Decimal a string.
    data = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    now = timezone.now()
    DataSubjectRequest.objects.create(
        kind=DataSubjectRequest.EXPORT,
        via=via,
        status=DataSubjectRequest.DONE,
        subject_key=subject_key(subject),
        requested_at=now,
        completed_at=now,
        counts={name: _size(data[name]) for name in sections},
    )
    return data


def export_user(user_id: Any, *, via: str = "code") -> dict[str, Any]:
    """Everything held about user ``user_id`` and the browsers linked to them.

    ``via`` says where the request came from (``DataSubjectRequest.VIAS``).
    """
    return export_subject(subject_for_user(user_id), kind="user", via=via)


def export_visitor(vid: str, *, via: str = "code") -> dict[str, Any]:
    """Everything held about one anonymous browser (its visitor id)."""
    return export_subject(subject_for_visitor(vid), kind="visitor", via=via)
