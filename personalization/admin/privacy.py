"""Admin for data-subject rights: the audit trail of requests, an "erase a user" form, and the
export and erase actions of the Visitor list (:class:`PrivacyActionsMixin`).

The app never registers or changes the User admin: the merchant finds a customer's visitors by
user name or e-mail in the Visitor list and acts there, or enters the user id in the form.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import DataSubjectRequest, Visitor
from ..privacy.erasure import request_erasure
from ..privacy.export import export_user, export_visitor
from ..privacy.pseudonyms import pseudonymous_key
from ..tasks import erase_visitor_data
from .base import ViewOnlyAdmin

EXPORT_PERMISSION = "personalization.export_personal_data"
ERASE_PERMISSION = "personalization.erase_personal_data"


def _json_download(data: Any, filename: str) -> HttpResponse:
    body = json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _split(visitors: QuerySet[Visitor]) -> tuple[list[Any], list[str]]:
    """The distinct users of the visitors, and the visitor ids of those without a user."""
    users: list[Any] = []
    anonymous: list[str] = []
    for vid, user_id in visitors.order_by("pk").values_list("vid", "user_id"):
        if user_id is None:
            anonymous.append(vid)
        elif user_id not in users:
            users.append(user_id)
    return users, anonymous


class PrivacyActionsMixin:
    """The "Export data" and "Erase data" actions of the Visitor admin.

    A visitor that belongs to a user stands for that user (all of their browsers); an anonymous
    visitor stands for its browser only.
    """

    actions = ["export_personal_data", "erase_personal_data"]

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(EXPORT_PERMISSION)

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ERASE_PERMISSION)

    @admin.action(
        description=_("Download the data of the selected visitors' people (JSON)"),
        permissions=["export"],
    )
    def export_personal_data(self, request: HttpRequest, queryset: QuerySet[Visitor]) -> Any:
        users, anonymous = _split(queryset)
        exports = [export_user(user_id, via="admin") for user_id in users]
        exports += [export_visitor(vid, via="admin") for vid in anonymous]
        data = exports[0] if len(exports) == 1 else {"exports": exports}
        return _json_download(data, "personal-data.json")

    @admin.action(
        description=_("Erase the data of the selected visitors' people"), permissions=["erase"]
    )
    def erase_personal_data(self, request: HttpRequest, queryset: QuerySet[Visitor]) -> Any:
        users, anonymous = _split(queryset)
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/personalization/visitor/erase_confirmation.html",
                {
                    **self.admin_site.each_context(request),  # type: ignore[attr-defined]
                    "title": _("Erase personal data?"),
                    "opts": Visitor._meta,
                    "queryset": queryset,
                    "user_count": len(users),
                    "anonymous_count": len(anonymous),
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                    "action": "erase_personal_data",
                },
            )
        for user_id in users:
            request_erasure(user_id, via="admin")
        for vid in anonymous:
            transaction.on_commit(
                lambda vid=vid: erase_visitor_data.delay(vid, None, "admin"), robust=False
            )
        self.message_user(  # type: ignore[attr-defined]
            request,
            ngettext(
                "The erasure of %(count)d person's data was queued.",
                "The erasure of %(count)d people's data was queued.",
                len(users) + len(anonymous),
            )
            % {"count": len(users) + len(anonymous)},
            messages.SUCCESS,
        )
        return None


class EraseUserForm(forms.Form):
    user_id = forms.CharField(label=_("User id"), max_length=64)
    confirm = forms.BooleanField(
        label=_("I understand that this erases the person's data for good."), required=True
    )

    def clean_user_id(self) -> Any:
        user_model = get_user_model()
        try:
            user_id = user_model._meta.pk.to_python(self.cleaned_data["user_id"].strip())
        except forms.ValidationError as exc:
            raise forms.ValidationError(_("This is not a user id.")) from exc
        if not user_model._default_manager.filter(pk=user_id).exists():
            raise forms.ValidationError(_("There is no user with this id."))
        return user_id


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(ViewOnlyAdmin):
    """The audit trail: read-only, never deleted from the admin. Search by user id finds the
    requests of that user through their pseudonym."""

    list_display = ("requested_at", "kind", "via", "status", "completed_at", "subject", "summary")
    list_filter = ("kind", "status", "via")
    date_hierarchy = "requested_at"
    search_fields = ("=subject_key",)
    search_help_text = _("A user id (its pseudonym is looked up), or a whole pseudonym.")
    fields = (
        "kind",
        "via",
        "status",
        "subject_key",
        "requested_at",
        "completed_at",
        "counts",
        "error",
    )

    @admin.display(description=_("subject"), ordering="subject_key")
    def subject(self, obj: DataSubjectRequest) -> str:
        return obj.subject_key[:12] + "…"

    @admin.display(description=_("counts"))
    def summary(self, obj: DataSubjectRequest) -> str:
        return ", ".join(f"{name}: {count}" for name, count in sorted(obj.counts.items()))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(subject_key__in={term, pseudonymous_key(term)}), False

    def get_urls(self) -> list:
        return [
            path(
                "erase/",
                self.admin_site.admin_view(self.erase_user_view),
                name="personalization_datasubjectrequest_erase",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        extra_context = {
            **(extra_context or {}),
            "can_erase": request.user.has_perm(ERASE_PERMISSION),
        }
        return super().changelist_view(request, extra_context)

    def erase_user_view(self, request: HttpRequest) -> HttpResponse:
        """A form: the id of a user whose data to erase (queued as a task)."""
        if not request.user.has_perm(ERASE_PERMISSION):
            raise PermissionDenied
        form = EraseUserForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            request_erasure(form.cleaned_data["user_id"], via="admin")
            self.message_user(request, _("The erasure was queued."), messages.SUCCESS)
            return redirect(reverse("admin:personalization_datasubjectrequest_changelist"))
        return TemplateResponse(
            request,
            "admin/personalization/datasubjectrequest/erase_user.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Erase a user's data"),
                "opts": self.model._meta,
                "form": form,
            },
        )
