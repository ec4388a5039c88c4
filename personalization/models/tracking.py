"""Visitors, their sessions and the events they produce."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..privacy.fields import EncryptedJSONField
from ..tracking.names import EVENT_NAMES

DEVICE_TYPES = [
    ("desktop", _("Desktop")),
    ("mobile", _("Mobile")),
    ("tablet", _("Tablet")),
    ("bot", _("Bot")),
    ("other", _("Other")),
]

EVENT_SOURCES = [
    ("server", _("Server (middleware or track())")),
    ("js", _("Browser tracker")),
    ("api", _("Ingest API")),
    ("log", _("Access-log import")),
    ("seed", _("Generated demo data")),
]


def new_visitor_id() -> str:
    """A random first-party visitor id (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


class Visitor(models.Model):
    """One browser, known by the random id in its first-party cookie; linked to a user at log-in."""

    vid = models.CharField(_("visitor id"), max_length=32, unique=True, default=new_visitor_id)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="p13n_visitors",
    )
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("visitor")
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return self.vid


class Session(models.Model):
    """A visit: consecutive events of one visitor with no gap longer than the idle timeout."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="sessions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="p13n_sessions",
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(default=timezone.now)
    landing_path = models.CharField(max_length=2048, blank=True)
    referrer = models.CharField(
        max_length=512, blank=True, help_text=_("Referring URL without its query string.")
    )
    utm_source = models.CharField(max_length=128, blank=True)
    utm_medium = models.CharField(max_length=128, blank=True)
    utm_campaign = models.CharField(max_length=128, blank=True)
    device_type = models.CharField(max_length=16, choices=DEVICE_TYPES, blank=True)
    browser = models.CharField(max_length=64, blank=True)
    os = models.CharField(max_length=64, blank=True)
    event_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("session")
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["visitor", "started_at"]),
            models.Index(fields=["user", "started_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.visitor_id} @ {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration_seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


class Event(models.Model):
    """One behavioural event. ``event_id`` is unique, so a retried delivery is stored once."""

    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=32, choices=[(n, n) for n in EVENT_NAMES])
    # No single-column indexes on visitor and user: the (visitor, occurred_at) and
    # (user, occurred_at) indexes serve those lookups, and every index costs the bulk insert.
    visitor = models.ForeignKey(
        Visitor,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="p13n_events",
        db_index=False,
    )
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    product_id = models.CharField(max_length=64, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    sensitive = EncryptedJSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text=_("Properties named in SENSITIVE_EVENT_PROPERTIES, encrypted at rest."),
    )
    path = models.CharField(max_length=2048, blank=True)
    referrer_host = models.CharField(max_length=255, blank=True)
    device_type = models.CharField(max_length=16, choices=DEVICE_TYPES, blank=True)
    browser = models.CharField(max_length=64, blank=True)
    os = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=8, choices=EVENT_SOURCES, default="server")
    occurred_at = models.DateTimeField(
        default=timezone.now, help_text=_("When it happened: the client time when plausible.")
    )
    client_ts = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("event")
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["visitor", "occurred_at"]),
            models.Index(fields=["user", "occurred_at"]),
            models.Index(fields=["product_id", "name", "occurred_at"]),
            models.Index(fields=["name", "occurred_at"]),
            # Newest-first lists, date ranges and retention purges over all events.
            models.Index(fields=["occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.product_id}".strip()


class IdentityMerge(models.Model):
    """A record that an anonymous visitor's history was joined to a user's."""

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="merges")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="p13n_merges"
    )
    merged_at = models.DateTimeField(default=timezone.now)
    events_moved = models.PositiveIntegerField(default=0)
    sessions_moved = models.PositiveIntegerField(default=0)
    method = models.CharField(max_length=16, default="login")

    class Meta:
        verbose_name = _("identity merge")
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"{self.visitor_id} → user {self.user_id}"
