"""Admin for trained recommenders: the versions with their metrics and data, the training runs,
and "Train now" (queues the ``personalization.train_recommenders`` task)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from ..models import RecommenderVersion, TrainingRun
from ..tasks import train_recommenders

TRAIN_PERMISSION = "personalization.add_trainingrun"
#: Training runs shown above the versions list.
RECENT_RUNS = 5


def _metric(version: RecommenderVersion, name: str, digits: int = 4) -> str:
    value = (version.metrics or {}).get(name)
    return "–" if not isinstance(value, int | float) else f"{value:.{digits}f}"


def _pretty(value: Any) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the training pipeline writes: viewed, never added or edited here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(RecommenderVersion)
class RecommenderVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "kind",
        "label",
        "model_name",
        "status",
        "is_active",
        "trained_at",
        "data_size",
        "precision",
        "recall",
        "ndcg",
        "map",
        "coverage",
    ]
    list_filter = ["kind", "is_active", "status"]
    date_hierarchy = "trained_at"
    fields = [
        "kind",
        "label",
        "model_name",
        "status",
        "is_active",
        "trained_at",
        "activated_at",
        "run",
        "artifact_name",
        "metrics_table",
        "data",
        "settings",
        "lists",
    ]
    readonly_fields = fields

    @admin.display(description=_("data (rows / people / items)"))
    def data_size(self, version: RecommenderVersion) -> str:
        data = version.data_summary or {}
        return f"{data.get('rows', 0):,} / {data.get('people', 0):,} / {data.get('items', 0):,}"

    @admin.display(description=_("P@10"))
    def precision(self, version: RecommenderVersion) -> str:
        return _metric(version, "precision")

    @admin.display(description=_("R@10"))
    def recall(self, version: RecommenderVersion) -> str:
        return _metric(version, "recall")

    @admin.display(description=_("nDCG@10"))
    def ndcg(self, version: RecommenderVersion) -> str:
        return _metric(version, "ndcg")

    @admin.display(description=_("MAP"))
    def map(self, version: RecommenderVersion) -> str:
        return _metric(version, "map")

    @admin.display(description=_("coverage"))
    def coverage(self, version: RecommenderVersion) -> str:
        return _metric(version, "coverage", 3)

    @admin.display(description=_("artifact"))
    def artifact_name(self, version: RecommenderVersion) -> str:
        # The name only: the storage is meant to be private, so it may have no public URL.
        return version.artifact.name or "–"

    @admin.display(description=_("offline metrics (temporal hold-out)"))
    def metrics_table(self, version: RecommenderVersion) -> str:
        return _pretty(version.metrics)

    @admin.display(description=_("training data"))
    def data(self, version: RecommenderVersion) -> str:
        return _pretty(version.data_summary)

    @admin.display(description=_("model settings"))
    def settings(self, version: RecommenderVersion) -> str:
        return _pretty(version.params)

    @admin.display(description=_("precomputed lists"))
    def lists(self, version: RecommenderVersion) -> str:
        return _pretty(version.precomputed)

    def delete_model(self, request: HttpRequest, obj: RecommenderVersion) -> None:
        obj.artifact.delete(save=False)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        # Row by row, so that no artifact stays behind in the storage.
        for version in queryset:
            version.artifact.delete(save=False)
        super().delete_queryset(request, queryset)

    def get_urls(self) -> list:
        return [
            path(
                "train/",
                self.admin_site.admin_view(require_POST(self.train_now_view)),
                name="personalization_recommenderversion_train",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        extra_context = {
            **(extra_context or {}),
            "can_train": request.user.has_perm(TRAIN_PERMISSION),
            "recent_runs": TrainingRun.objects.all()[:RECENT_RUNS],
        }
        return super().changelist_view(request, extra_context)

    def train_now_view(self, request: HttpRequest) -> HttpResponse:
        """Record a queued run and queue the training task with it (once the row is committed)."""
        if not request.user.has_perm(TRAIN_PERMISSION):
            raise PermissionDenied
        run = TrainingRun.objects.create(trigger="admin", requested_by=request.user.get_username())

        def queue() -> None:
            result = train_recommenders.delay(run.pk)
            TrainingRun.objects.filter(pk=run.pk).update(task_id=result.id or "")

        transaction.on_commit(queue)
        self.message_user(
            request,
            _("Training run %(run)s queued; its status shows above the versions.")
            % {"run": run.pk},
            messages.SUCCESS,
        )
        return redirect(reverse("admin:personalization_recommenderversion_changelist"))


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "status",
        "trigger",
        "requested_by",
        "requested_at",
        "started_at",
        "finished_at",
        "duration",
        "kinds",
    ]
    list_filter = ["status", "trigger"]
    fields = [
        "status",
        "trigger",
        "requested_by",
        "task_id",
        "requested_at",
        "started_at",
        "finished_at",
        "error",
        "details",
    ]
    readonly_fields = fields

    @admin.display(description=_("seconds"))
    def duration(self, run: TrainingRun) -> str:
        seconds = run.seconds
        return "–" if seconds is None else f"{seconds:.1f}"

    @admin.display(description=_("versions"))
    def kinds(self, run: TrainingRun) -> str:
        return ", ".join(v.kind for v in run.versions.all())

    @admin.display(description=_("summary (data, seconds per step)"))
    def details(self, run: TrainingRun) -> str:
        return _pretty(run.summary)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("versions")
