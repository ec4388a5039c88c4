"""Admin of customer de-duplication: suggestions to review (merge or dismiss) and the merge log."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..adapters import CustomerData, get_adapter
from ..models.dedup import CustomerMerge, MergeSuggestion
from ..segments import dedup
from .base import ViewOnlyAdmin

FIELDS = (
    ("name", _("Name")),
    ("email", _("E-mail")),
    ("phone", _("Phone")),
    ("address", _("Address")),
    ("postcode", _("Postcode")),
)


def customers(suggestions: list[MergeSuggestion]) -> dict[str, CustomerData]:
    """The store's records of the suggestions' accounts, by id (one adapter call)."""
    ids = {str(pk) for s in suggestions for pk in (s.user_a_id, s.user_b_id)}
    return {customer.id: customer for customer in get_adapter().iter_customers(ids=ids)}


def comparison_rows(suggestion: MergeSuggestion, found: dict[str, CustomerData]) -> list[tuple]:
    """``(label, value of A, value of B, same)`` per contact field."""
    a = found.get(str(suggestion.user_a_id))
    b = found.get(str(suggestion.user_b_id))
    rows = []
    for name, label in FIELDS:
        left = getattr(a, name, "") if a else ""
        right = getattr(b, name, "") if b else ""
        rows.append((label, left, right, bool(left) and left == right))
    return rows


@admin.register(MergeSuggestion)
class MergeSuggestionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "score_display", "reasons_display", "status", "reviewed_at"]
    list_filter = ["status"]
    list_select_related = ["user_a", "user_b"]
    ordering = ["status", "-score", "pk"]
    actions = ["merge_accounts", "dismiss_suggestions"]
    readonly_fields = [
        "user_a",
        "user_b",
        "score_display",
        "reasons_display",
        "side_by_side",
        "status",
        "created_at",
        "reviewed_by",
        "reviewed_at",
    ]
    fields = readonly_fields
    merge_template = "admin/personalization/mergesuggestion/merge_confirmation.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description=_("score"), ordering="score")
    def score_display(self, obj: MergeSuggestion) -> str:
        return f"{obj.score:.0%}"

    @admin.display(description=_("reasons"))
    def reasons_display(self, obj: MergeSuggestion) -> str:
        return ", ".join(obj.reasons)

    @admin.display(description=_("side by side"))
    def side_by_side(self, obj: MergeSuggestion) -> str:
        rows = comparison_rows(obj, customers([obj]))
        header = format_html(
            "<tr><th></th><th>{}</th><th>{}</th></tr>",
            _("account %(id)s") % {"id": obj.user_a_id},
            _("account %(id)s") % {"id": obj.user_b_id},
        )
        bold = ' style="font-weight:bold"'
        body = format_html_join(
            "",
            "<tr><th>{}</th><td{}>{}</td><td{}>{}</td></tr>",
            (
                (label, bold if same else "", left or "—", bold if same else "", right or "—")
                for label, left, right, same in rows
            ),
        )
        return format_html("<table>{}{}</table>", header, body)

    @admin.action(description=_("Merge the two accounts…"), permissions=["change"])
    def merge_accounts(
        self, request: HttpRequest, queryset: QuerySet[MergeSuggestion]
    ) -> HttpResponse | None:
        """Ask which account stays for each pending suggestion, then merge them."""
        pending = list(queryset.filter(status=MergeSuggestion.PENDING).order_by("-score", "pk"))
        if not pending:
            self.message_user(request, _("None of these suggestions is pending."), messages.WARNING)
            return None
        if request.POST.get("confirm") == "yes":
            merged = 0
            for suggestion in pending:
                keep = request.POST.get(f"keep-{suggestion.pk}") or None
                try:
                    dedup.merge(suggestion, request.user, keep=keep)
                except dedup.MergeError as error:
                    self.message_user(request, f"{suggestion}: {error}", messages.ERROR)
                else:
                    merged += 1
            if merged:
                self.message_user(
                    request,
                    ngettext("Merged %d pair of accounts.", "Merged %d pairs of accounts.", merged)
                    % merged,
                    messages.SUCCESS,
                )
            return None
        found = customers(pending)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Merge customer accounts"),
            "opts": self.model._meta,
            "suggestions": [(s, comparison_rows(s, found)) for s in pending],
            "selected": [s.pk for s in queryset],
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, self.merge_template, context)

    @admin.action(description=_("Dismiss: not the same customer"), permissions=["change"])
    def dismiss_suggestions(
        self, request: HttpRequest, queryset: QuerySet[MergeSuggestion]
    ) -> None:
        dismissed = sum(dedup.dismiss(suggestion, request.user) for suggestion in queryset)
        self.message_user(
            request,
            ngettext("Dismissed %d suggestion.", "Dismissed %d suggestions.", dismissed)
            % dismissed,
            messages.SUCCESS,
        )


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ViewOnlyAdmin):
    list_display = ["__str__", "merged_at", "merged_by", "moved_display"]
    list_select_related = ["merged_by"]
    date_hierarchy = "merged_at"
    search_fields = ["=source_account", "=target_account"]
    readonly_fields = [
        "source_account",
        "target_account",
        "source",
        "target",
        "suggestion",
        "merged_by",
        "merged_at",
        "moved_display",
    ]
    fields = readonly_fields

    @admin.display(description=_("rows moved"))
    def moved_display(self, obj: CustomerMerge) -> str:
        return ", ".join(f"{name} {count}" for name, count in obj.moved.items() if count) or "—"
