"""Admin for consent: policy versions, the banner's categories, and the consent log.

* **Consent policies**: adding a version (the form proposes the next number) asks every visitor
  again once its publication time comes; the versions stay for the record.
* **Consent categories**: the merchant edits the names and descriptions the banner shows; the four
  categories are fixed, so none is added or deleted here.
* **Consent records**: read-only (the log is append-only), filtered by method, policy version,
  date and granted category, searched by exact visitor id, user name or e-mail, and exported as
  CSV by a streaming action that copes with a selection of millions of rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.db.models import Max, Model, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import CONSENT_CATEGORIES
from ..models import ConsentCategory, ConsentPolicy, ConsentRecord
from .base import IndexedSearchMixin, LargeTablePaginator, ViewOnlyAdmin

CSV_COLUMNS = [
    "created_at",
    "vid",
    "user_id",
    "policy_version",
    "method",
    "granted",
    "denied",
    "ip_prefix",
    "ua_hash",
]
CSV_CHUNK = 2000


@admin.register(ConsentPolicy)
class ConsentPolicyAdmin(admin.ModelAdmin):
    list_display = ["version", "published_at", "notes", "records"]
    ordering = ["-version"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        latest = ConsentPolicy.objects.aggregate(v=Max("version"))["v"] or 0
        return {"version": latest + 1, "published_at": timezone.now()}

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        # The number of a saved version is what consent records and cookies refer to.
        return ["version"] if obj is not None else []

    @admin.display(description=_("consent records"))
    def records(self, obj: ConsentPolicy) -> int:
        return ConsentRecord.objects.filter(policy_version=obj.version).count()


@admin.register(ConsentCategory)
class ConsentCategoryAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "description", "order"]
    list_editable = ["order"]
    ordering = ["order", "slug"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # The categories are the app's fixed four; a missing row may be added back.
        missing = ConsentCategory.objects.count() < len(CONSENT_CATEGORIES)
        return missing and super().has_add_permission(request)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return ["slug"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class GrantedCategoryFilter(admin.SimpleListFilter):
    """Records that grant (or deny) one category."""

    title = _("granted category")
    parameter_name = "granted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(slug, slug) for slug in CONSENT_CATEGORIES[1:]] + [("none", _("nothing"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "none":
            return queryset.filter(granted=[])
        if value in CONSENT_CATEGORIES[1:]:
            # Compared as JSON text, which works on every database (JSON containment does not).
            return queryset.filter(granted__icontains=f'"{value}"')
        return queryset


class PolicyVersionFilter(admin.SimpleListFilter):
    title = _("policy version")
    parameter_name = "policy_version"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[int, str]]:
        versions = ConsentPolicy.objects.order_by("-version").values_list("version", flat=True)
        return [(v, str(v)) for v in versions]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(policy_version=self.value()) if self.value() else queryset


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer in a streaming answer."""

    def write(self, value: str) -> str:
        return value


def csv_rows(queryset: QuerySet) -> Iterator[str]:
    """The CSV lines of ``queryset`` (a header first), read in chunks from the database."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for record in queryset.order_by("created_at", "id").iterator(chunk_size=CSV_CHUNK):
        yield writer.writerow(
            [
                record.created_at.isoformat(),
                record.vid,
                record.user_id or "",
                record.policy_version,
                record.method,
                "+".join(record.granted),
                "+".join(record.denied),
                record.ip_prefix,
                record.ua_hash,
            ]
        )


@admin.register(ConsentRecord)
class ConsentRecordAdmin(IndexedSearchMixin, ViewOnlyAdmin):
    """The consent log: viewable and exportable, never added, changed or deleted here."""

    list_display = [
        "created_at",
        "subject",
        "policy_version",
        "method",
        "granted_list",
        "denied_list",
        "ip_prefix",
    ]
    list_filter = ["method", PolicyVersionFilter, "created_at", GrantedCategoryFilter]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    search_fields = ["vid"]
    search_help_text = _("An exact visitor id, user name or e-mail address.")
    search_visitor_field = ""
    search_exact_fields = ("vid",)
    paginator = LargeTablePaginator
    show_full_result_count = False
    list_per_page = 50
    actions = ["export_csv"]
    fields = [
        "created_at",
        "vid",
        "visitor",
        "user",
        "policy_version",
        "method",
        "granted",
        "denied",
        "ip_prefix",
        "ua_hash",
    ]
    readonly_fields = fields

    @admin.display(description=_("subject"))
    def subject(self, obj: ConsentRecord) -> str:
        parts = [obj.vid] if obj.vid else []
        if obj.user_id:
            parts.append(str(obj.user))
        return " · ".join(parts) or "—"

    @admin.display(description=_("granted"))
    def granted_list(self, obj: ConsentRecord) -> str:
        return ", ".join(obj.granted) or "—"

    @admin.display(description=_("denied"))
    def denied_list(self, obj: ConsentRecord) -> str:
        return ", ".join(obj.denied) or "—"

    @admin.action(description=_("Export the selected records as CSV"), permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> StreamingHttpResponse:
        response = StreamingHttpResponse(csv_rows(queryset), content_type="text/csv; charset=utf-8")
        filename = f"consent-records-{timezone.now():%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
