"""Admin for events, visitors, sessions and identity merges, with readable timelines.

Everything here is read-only (the tracking pipeline writes these rows). Lists are built for tables
of millions of rows: related rows are joined in the list query, searches use indexes only (see
:class:`~personalization.admin.base.IndexedSearchMixin`), counts are not repeated, and the
timelines on visitor and session pages show a bounded number of the latest events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..adapters import ProductData, get_adapter
from ..models import Event, IdentityMerge, Session, Visitor
from ..tracking.events import split_referrer
from .base import (
    IndexedSearchMixin,
    LargeTableChangeList,
    SignedInFilter,
    WrittenByTrackingAdmin,
)
from .privacy import PrivacyActionsMixin

# How many of the latest events a visitor's page shows, and of the first events a session's page.
VISITOR_TIMELINE_EVENTS = 100
VISITOR_TIMELINE_SESSIONS = 20
SESSION_TIMELINE_EVENTS = 500
PROPERTIES_SUMMARY_LENGTH = 120


def products_by_id(product_ids: Iterable[str]) -> dict[str, ProductData]:
    """The store's products for these ids, in one adapter call."""
    ids = {pid for pid in product_ids if pid}
    return get_adapter().get_products(ids) if ids else {}


def summarize_properties(properties: Any, limit: int = PROPERTIES_SUMMARY_LENGTH) -> str:
    """``key=value, ...`` of an event's properties by key, cut to ``limit`` characters.

    Sorted because PostgreSQL's jsonb does not keep the order in which keys were sent.
    """
    if not isinstance(properties, dict) or not properties:
        return ""
    parts = []
    for key, value in sorted(properties.items()):
        if isinstance(value, dict | list):
            value = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
        parts.append(f"{key}={value}")
    text = ", ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def event_label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def format_duration(seconds: float) -> str:
    """``1 h 5 min``, ``12 min 5 s`` or ``40 s``."""
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def _change_url(obj: Visitor | Session) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


@dataclass
class TimelineRow:
    """One event as a merchant reads it."""

    event: Event
    label: str
    product: ProductData | None
    properties: str


@dataclass
class TimelineBlock:
    """The events of one session (or of no session) on a timeline."""

    session: Session | None
    rows: list[TimelineRow] = field(default_factory=list)

    @property
    def url(self) -> str:
        return _change_url(self.session) if self.session else ""

    @property
    def duration(self) -> str:
        return format_duration(self.session.duration_seconds) if self.session else ""


def timeline_rows(events: Iterable[Event]) -> list[TimelineRow]:
    """Rows for events, with their products fetched from the store in one call."""
    events = list(events)
    products = products_by_id(e.product_id for e in events)
    return [
        TimelineRow(
            event=e,
            label=event_label(e.name),
            product=products.get(e.product_id),
            properties=summarize_properties(e.properties),
        )
        for e in events
    ]


def visitor_timeline(visitor: Visitor, limit: int) -> list[TimelineBlock]:
    """The visitor's latest events grouped by session: newest session first, events in order."""
    latest = visitor.events.select_related("session").order_by("-occurred_at", "-pk")[:limit]
    blocks: dict[Any, TimelineBlock] = {}
    for row in timeline_rows(latest):
        key = row.event.session_id
        if key not in blocks:
            blocks[key] = TimelineBlock(session=row.event.session)
        blocks[key].rows.append(row)
    for block in blocks.values():
        block.rows.reverse()
    return list(blocks.values())


# --- events -------------------------------------------------------------------------------------


# The event columns the list shows; the others (JSON properties and the like) are not loaded.
EVENT_LIST_FIELDS = frozenset(
    {"id", "event_id", "name", "visitor", "user", "session", "product_id", "device_type"}
    | {"source", "occurred_at"}
)


class EventChangeList(LargeTableChangeList):
    """The events list: only the shown columns loaded, product titles fetched once per page."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        unused = [f.name for f in Event._meta.concrete_fields if f.name not in EVENT_LIST_FIELDS]
        return super().get_queryset(request, exclude_parameters).defer(*unused)

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        self.result_list = list(self.result_list)
        products = products_by_id(e.product_id for e in self.result_list)
        for event in self.result_list:
            event.product_data = products.get(event.product_id)


@admin.register(Event)
class EventAdmin(IndexedSearchMixin, WrittenByTrackingAdmin):
    list_display = (
        "name",
        "product",
        "visitor_link",
        "user",
        "device_type",
        "source",
        "occurred_at",
    )
    list_filter = ("name", "device_type", "source")
    date_hierarchy = "occurred_at"
    list_select_related = ("visitor", "user")
    search_fields = ("=visitor__vid", "=user__username", "=user__email", "=product_id")
    search_exact_fields = ("product_id",)
    search_help_text = _("Exact visitor id, user name or e-mail, or product id.")
    ordering = ("-occurred_at",)
    readonly_fields = ("product", "properties_summary")
    fieldsets = (
        (None, {"fields": ("name", "product", "occurred_at", "source", "event_id")}),
        (_("Who"), {"fields": ("visitor", "user", "session")}),
        (_("Context"), {"fields": ("path", "referrer_host", "device_type", "browser", "os")}),
        (_("Properties"), {"fields": ("properties_summary",)}),
        (_("Timestamps"), {"fields": ("client_ts", "received_at")}),
    )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return EventChangeList

    @admin.display(description=_("product"))
    def product(self, obj: Event) -> str:
        if not obj.product_id:
            return "–"
        if not hasattr(obj, "product_data"):
            obj.product_data = products_by_id([obj.product_id]).get(obj.product_id)
        if obj.product_data is None:
            return obj.product_id
        return f"{obj.product_data.title} ({obj.product_id})"

    @admin.display(description=_("visitor"), ordering="visitor__vid")
    def visitor_link(self, obj: Event) -> str:
        if obj.visitor_id is None:
            return "–"
        return format_html('<a href="{}">{}</a>', _change_url(obj.visitor), obj.visitor.vid)

    @admin.display(description=_("properties"))
    def properties_summary(self, obj: Event) -> str:
        return format_html(
            "<pre>{}</pre>",
            json.dumps(obj.properties, indent=2, ensure_ascii=False, sort_keys=True, default=str),
        )


# --- visitors -----------------------------------------------------------------------------------


def _count_of(model: type[Event] | type[Session]) -> Coalesce:
    """A per-row count subquery (evaluated for the rows of the page, not the whole table)."""
    counted = (
        model.objects.filter(visitor=OuterRef("pk"))
        .order_by()
        .values("visitor")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@admin.register(Visitor)
class VisitorAdmin(PrivacyActionsMixin, IndexedSearchMixin, WrittenByTrackingAdmin):
    list_display = ("vid", "user", "first_seen", "last_seen", "session_count", "event_count")
    list_select_related = ("user",)
    date_hierarchy = "last_seen"
    list_filter = (SignedInFilter,)
    search_fields = ("=vid", "=user__username", "=user__email")
    search_visitor_field = "pk"
    search_help_text = _("Exact visitor id, or user name or e-mail.")
    fields = ("vid", "user", "first_seen", "last_seen")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(session_total=_count_of(Session), event_total=_count_of(Event))
        )

    @admin.display(description=_("sessions"))
    def session_count(self, obj: Visitor) -> int:
        return obj.session_total

    @admin.display(description=_("events"))
    def event_count(self, obj: Visitor) -> int:
        return obj.event_total

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        visitor = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if visitor is not None:
            recent_sessions = list(
                visitor.sessions.order_by("-started_at")[:VISITOR_TIMELINE_SESSIONS]
            )
            for session in recent_sessions:
                session.duration_text = format_duration(session.duration_seconds)
            extra_context.update(
                timeline=visitor_timeline(visitor, VISITOR_TIMELINE_EVENTS),
                timeline_limit=VISITOR_TIMELINE_EVENTS,
                sessions=recent_sessions,
                session_total=visitor.session_total,
                event_total=visitor.event_total,
            )
        return super().change_view(request, object_id, form_url, extra_context)


# --- sessions -----------------------------------------------------------------------------------


class TrafficFilter(admin.SimpleListFilter):
    """Where the visit came from: a tagged campaign, another site, or nowhere (direct)."""

    title = _("traffic")
    parameter_name = "traffic"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("campaign", _("Campaign (UTM)")),
            ("referral", _("Referral")),
            ("direct", _("Direct")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "campaign":
            return queryset.exclude(utm_source="")
        if self.value() == "referral":
            return queryset.filter(utm_source="").exclude(referrer="")
        if self.value() == "direct":
            return queryset.filter(utm_source="", referrer="")
        return queryset


@admin.register(Session)
class SessionAdmin(IndexedSearchMixin, WrittenByTrackingAdmin):
    list_display = (
        "started_at",
        "visitor_link",
        "user",
        "duration",
        "landing_path",
        "referrer_host",
        "campaign",
        "device_type",
        "event_count",
    )
    list_select_related = ("visitor", "user")
    list_filter = ("device_type", TrafficFilter, SignedInFilter)
    date_hierarchy = "started_at"
    search_fields = ("=visitor__vid", "=user__username", "=user__email")
    search_help_text = _("Exact visitor id, or user name or e-mail.")
    ordering = ("-started_at",)
    readonly_fields = ("duration", "campaign")
    fieldsets = (
        (None, {"fields": ("visitor", "user", "started_at", "ended_at", "duration")}),
        (_("Acquisition"), {"fields": ("landing_path", "referrer", "campaign")}),
        (_("Device"), {"fields": ("device_type", "browser", "os", "event_count")}),
    )

    @admin.display(description=_("visitor"), ordering="visitor__vid")
    def visitor_link(self, obj: Session) -> str:
        return format_html('<a href="{}">{}</a>', _change_url(obj.visitor), obj.visitor.vid)

    @admin.display(description=_("referrer"), ordering="referrer")
    def referrer_host(self, obj: Session) -> str:
        return split_referrer(obj.referrer)[1]

    @admin.display(description=_("duration"))
    def duration(self, obj: Session) -> str:
        return format_duration(obj.duration_seconds)

    @admin.display(description=_("campaign (source / medium / name)"))
    def campaign(self, obj: Session) -> str:
        parts = (obj.utm_source, obj.utm_medium, obj.utm_campaign)
        return " / ".join(p or "–" for p in parts) if any(parts) else ""

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        session = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if session is not None:
            events = session.events.order_by("occurred_at", "pk")[:SESSION_TIMELINE_EVENTS]
            extra_context.update(
                timeline=[TimelineBlock(session=None, rows=timeline_rows(events))],
                timeline_limit=SESSION_TIMELINE_EVENTS,
                event_total=session.events.count(),
            )
        return super().change_view(request, object_id, form_url, extra_context)


# --- identity merges ----------------------------------------------------------------------------


@admin.register(IdentityMerge)
class IdentityMergeAdmin(IndexedSearchMixin, WrittenByTrackingAdmin):
    list_display = ("merged_at", "visitor", "user", "events_moved", "sessions_moved", "method")
    list_select_related = ("visitor", "user")
    list_filter = ("method",)
    date_hierarchy = "merged_at"
    search_fields = ("=visitor__vid", "=user__username", "=user__email")
    search_help_text = _("Exact visitor id, or user name or e-mail.")
