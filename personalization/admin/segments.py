"""Admin for segments, their members and trend, the segmentation runs (with the models' metrics and
a "Recompute now" button), clusters and profiles.

What the pipeline computes is read-only here: profiles, runs, clusters, memberships and the
generated segments (RFM, cluster, propensity). Rule and manual segments are edited, and a rule is
validated on save (``Segment.clean``), its errors shown under the field with their JSON paths.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from ..models import Cluster, Profile, Segment, SegmentationRun, SegmentMembership, SegmentSize
from ..segments.forms import SegmentForm
from ..segments.pipeline import queue_run
from .base import IndexedSearchMixin, LargeTablePaginator, SignedInFilter, ViewOnlyAdmin

#: Days of sizes the segment list's sparkline shows.
TREND_DAYS = 30
#: Seconds between reloads of a run's page while it is queued or running.
RUN_REFRESH_SECONDS = 3
RECOMPUTE_PERMISSION = "personalization.add_segmentationrun"
RULE_HELP = _(
    "A JSON rule, checked when you save: nodes all / any / not, attr (profile attributes such as "
    "monetary, frequency, recency_days, sessions, price_sensitivity, propensity, rfm_segment, "
    "top_category), events (counts and sums in time windows, with product and property "
    "conditions) and session. The language, its operators and examples are in docs/segments.md, "
    '"The rule language". Example: {"all": [{"attr": "monetary", "op": ">=", "value": 500}, '
    '{"events": {"name": "add_to_cart", "within": "7d"}, "count": {">=": 2}}]}'
)


def sparkline(sizes: list[int], width: int = 100, height: int = 20) -> SafeString:
    """An inline SVG polyline of ``sizes`` (oldest first), scaled to the box; no script."""
    if len(sizes) < 2:
        return mark_safe("")
    low, high = min(sizes), max(sizes)
    span = (high - low) or 1
    step = width / (len(sizes) - 1)
    points = " ".join(
        f"{index * step:.1f},{height - 1 - (size - low) / span * (height - 2):.1f}"
        for index, size in enumerate(sizes)
    )
    # Every value is a number formatted here, so the markup holds nothing from the database.
    return mark_safe(
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{sizes[0]} to {sizes[-1]}"><polyline fill="none" stroke="currentColor" '
        f'stroke-width="1.5" points="{points}"/></svg>'
    )


def trend_arrow(sizes: list[int]) -> str:
    """↑, ↓ or → with the change from the first to the last size."""
    if len(sizes) < 2:
        return ""
    change = sizes[-1] - sizes[0]
    arrow = "↑" if change > 0 else "↓" if change < 0 else "→"
    return f"{arrow} {change:+,}"


def _membership_list(segment: Segment, current: bool | None) -> str:
    query = {"segment__id__exact": segment.pk}
    if current is not None:
        query["current"] = "yes" if current else "no"
    return reverse("admin:personalization_segmentmembership_changelist") + "?" + urlencode(query)


def progress_bar(run: SegmentationRun) -> SafeString:
    return format_html(
        '<progress max="100" value="{}" title="{}%">{}%</progress> {}%',
        run.progress,
        run.progress,
        run.progress,
        run.progress,
    )


def _table(headers: list[str], rows: list[list[Any]]) -> SafeString:
    head = format_html_join("", "<th>{}</th>", ((header,) for header in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def _number(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    """Segments with kind, mode, members, a 30-day trend and the last computation."""

    list_display = [
        "name",
        "slug",
        "kind",
        "mode_name",
        "members",
        "trend",
        "last_computed_at",
        "is_active",
    ]
    list_filter = ["kind", "mode", "is_active"]
    search_fields = ["name", "slug"]
    form = SegmentForm
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["members", "trend", "member_count", "last_computed_at", "definition"]
    change_list_template = "admin/personalization/segment/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Segment]:
        since = timezone.localdate() - dt.timedelta(days=TREND_DAYS)
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "sizes",
                    queryset=SegmentSize.objects.filter(day__gte=since).order_by("day"),
                    to_attr="recent_sizes",
                )
            )
        )

    def get_fieldsets(self, request: HttpRequest, obj: Segment | None = None) -> list:
        if obj is not None and self._generated(obj):
            return [
                (None, {"fields": ["name", "slug", "kind", "mode", "description", "is_active"]}),
                (_("Members"), {"fields": ["members", "trend", "last_computed_at"]}),
                (
                    _("Definition"),
                    {
                        "fields": ["definition"],
                        "description": _(
                            "Computed by the segmentation pipeline (Segmentation runs)."
                        ),
                    },
                ),
            ]
        fieldsets = [
            (None, {"fields": ["name", "slug", "kind", "mode", "description", "is_active"]}),
            (_("Rule"), {"fields": ["rule"], "description": RULE_HELP}),
        ]
        if obj is not None:
            fieldsets.append((_("Members"), {"fields": ["members", "trend", "last_computed_at"]}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Segment | None = None) -> list[str]:
        fields = list(self.readonly_fields)
        if obj is not None and self._generated(obj):
            fields += ["name", "slug", "kind", "mode", "description"]
        return fields

    def get_prepopulated_fields(self, request: HttpRequest, obj: Segment | None = None) -> dict:
        return {} if obj is not None and self._generated(obj) else dict(self.prepopulated_fields)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "kind":
            # Generated kinds come from the pipeline; by hand one writes rules or keeps a list.
            kwargs["choices"] = [
                (value, label)
                for value, label in Segment.KINDS
                if value in (Segment.RULE, Segment.MANUAL)
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Segment | None = None) -> bool:
        if obj is not None and (obj.is_builtin or self._generated(obj)):
            return False
        return super().has_delete_permission(request, obj)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        context = {
            "can_recompute": request.user.has_perm(RECOMPUTE_PERMISSION),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    @staticmethod
    def _generated(segment: Segment) -> bool:
        return segment.kind not in (Segment.RULE, Segment.MANUAL)

    @staticmethod
    def _sizes(segment: Segment) -> list[int]:
        rows = getattr(segment, "recent_sizes", None)
        if rows is None:
            since = timezone.localdate() - dt.timedelta(days=TREND_DAYS)
            rows = segment.sizes.filter(day__gte=since).order_by("day")
        return [row.size for row in rows]

    @admin.display(description=_("mode"), ordering="mode")
    def mode_name(self, segment: Segment) -> str:
        # The choice labels explain the modes on the form; the list needs only their names.
        return _("Dynamic") if segment.mode == Segment.DYNAMIC else _("Static")

    @admin.display(description=_("members"), ordering="member_count")
    def members(self, segment: Segment) -> SafeString:
        if segment.pk is None:
            return format_html("–")
        return format_html(
            '<a href="{}">{}</a> <small>(<a href="{}">{}</a> · <a href="{}">{}</a>)</small>',
            _membership_list(segment, True),
            f"{segment.member_count:,}",
            _membership_list(segment, False),
            _("past"),
            _membership_list(segment, None),
            _("history"),
        )

    @admin.display(description=_("trend (30 days)"))
    def trend(self, segment: Segment) -> SafeString:
        sizes = self._sizes(segment)
        return format_html("{} {}", sparkline(sizes), trend_arrow(sizes))


class CurrentFilter(admin.SimpleListFilter):
    """Open stays (members now) or closed ones (the history)."""

    title = _("membership")
    parameter_name = "current"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", _("Current members")), ("no", _("Past members"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(exited_at__isnull=self.value() == "yes")
        return queryset


class ReadOnlyAdmin(ViewOnlyAdmin):
    """Rows the pipeline writes: viewable only."""

    list_per_page = 50


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(IndexedSearchMixin, ReadOnlyAdmin):
    """Who is or was in which segment, with the entered and exited times."""

    list_display = ["segment", "person", "entered_at", "exited_at", "is_current"]
    list_filter = [CurrentFilter, SignedInFilter, "segment"]
    list_select_related = ["segment", "user", "visitor"]
    search_fields = ["user__username"]
    search_help_text = _("Exact user name, e-mail or visitor id.")
    paginator = LargeTablePaginator
    show_full_result_count = False

    @admin.display(description=_("person"))
    def person(self, row: SegmentMembership) -> str:
        return str(row.user) if row.user_id else f"{_('visitor')} {row.visitor}"

    @admin.display(description=_("current"), boolean=True)
    def is_current(self, row: SegmentMembership) -> bool:
        return row.exited_at is None


@admin.register(Profile)
class ProfileAdmin(IndexedSearchMixin, ReadOnlyAdmin):
    """The profile feature table, read-only, searchable by user."""

    list_display = [
        "__str__",
        "rfm_segment",
        "rfm_score",
        "frequency",
        "monetary",
        "recency_days",
        "sessions",
        "propensity",
        "cluster",
        "last_activity",
    ]
    list_filter = [SignedInFilter, "rfm_segment"]
    list_select_related = ["cluster", "user", "visitor"]
    search_fields = ["user__username"]
    search_help_text = _("Exact user name, e-mail or visitor id.")

    def get_readonly_fields(self, request: HttpRequest, obj: Profile | None = None) -> list[str]:
        return [field.name for field in Profile._meta.fields]


@admin.register(Cluster)
class ClusterAdmin(ReadOnlyAdmin):
    """Clusters found by each run, with what sets them apart."""

    list_display = ["run", "algorithm", "number", "size", "share_percent", "description"]
    list_filter = ["algorithm"]
    list_select_related = ["run"]

    @admin.display(description=_("cluster"), ordering="label")
    def number(self, cluster: Cluster) -> str:
        return _("noise") if cluster.label == -1 else str(cluster.label + 1)

    @admin.display(description=_("share"), ordering="share")
    def share_percent(self, cluster: Cluster) -> str:
        return f"{cluster.share:.1%}"


@admin.register(SegmentationRun)
class SegmentationRunAdmin(ReadOnlyAdmin):
    """Runs of the pipeline with status and progress; a run's page shows the models' metrics and
    reloads itself while the run is queued or running. "Recompute now" queues a run."""

    list_display = [
        "__str__",
        "status",
        "progress_bar",
        "step",
        "triggered_by",
        "created_at",
        "finished_at",
        "k",
        "roc_auc",
    ]
    list_filter = ["status", "triggered_by"]
    change_list_template = "admin/personalization/segmentationrun/change_list.html"
    change_form_template = "admin/personalization/segmentationrun/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "status",
                    "progress_bar",
                    "step",
                    "triggered_by",
                    "task_id",
                    "created_at",
                    "started_at",
                    "finished_at",
                    "error",
                ]
            },
        ),
        (_("Data"), {"fields": ["data_summary", "timings"]}),
        (_("RFM segments"), {"fields": ["rfm_table"]}),
        (_("Clusters"), {"fields": ["silhouette_table", "cluster_table", "dbscan_summary"]}),
        (_("Propensity model"), {"fields": ["propensity_summary", "reliability_table"]}),
        (_("Settings"), {"fields": ["settings_table"]}),
    ]
    readonly_fields = [
        "status",
        "progress_bar",
        "step",
        "triggered_by",
        "task_id",
        "created_at",
        "started_at",
        "finished_at",
        "error",
        "data_summary",
        "timings",
        "rfm_table",
        "silhouette_table",
        "cluster_table",
        "dbscan_summary",
        "propensity_summary",
        "reliability_table",
        "settings_table",
    ]

    def get_urls(self) -> list:
        urls = [
            path(
                "recompute/",
                self.admin_site.admin_view(self.recompute_view),
                name="personalization_segmentationrun_recompute",
            )
        ]
        return urls + super().get_urls()

    def has_recompute_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RECOMPUTE_PERMISSION)

    def recompute_view(self, request: HttpRequest) -> HttpResponse:
        """POST: queue a run of the pipeline and go to its page (which follows its progress)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_recompute_permission(request):
            raise PermissionDenied
        active = SegmentationRun.objects.filter(
            status__in=[SegmentationRun.PENDING, SegmentationRun.RUNNING]
        ).first()
        if active is not None:
            messages.warning(request, _("A segmentation run is already queued or running."))
            run = active
        else:
            run = queue_run("admin")
            messages.success(request, _("Segmentation run queued."))
        return redirect("admin:personalization_segmentationrun_change", run.pk)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        context = {"can_recompute": self.has_recompute_permission(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ):
        run = SegmentationRun.objects.filter(pk=object_id).first()
        running = run is not None and run.status in (
            SegmentationRun.PENDING,
            SegmentationRun.RUNNING,
        )
        context = {
            "refresh_seconds": RUN_REFRESH_SECONDS if running else None,
            "can_recompute": self.has_recompute_permission(request),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description=_("progress"))
    def progress_bar(self, run: SegmentationRun) -> SafeString:
        return progress_bar(run)

    @admin.display(description="k")
    def k(self, run: SegmentationRun) -> Any:
        return run.metrics.get("kmeans", {}).get("k", "–")

    @admin.display(description="ROC AUC")
    def roc_auc(self, run: SegmentationRun) -> str:
        metrics = run.metrics.get("propensity", {}).get("metrics", {})
        return _number(metrics.get("roc_auc"))

    @admin.display(description=_("data"))
    def data_summary(self, run: SegmentationRun) -> str:
        metrics = run.metrics
        if "profiles" not in metrics:
            return "–"
        return (
            f"{metrics['profiles']:,} profiles ({metrics['customers']:,} customers) as of "
            f"{metrics['as_of'][:19]} from {metrics['events']:,} events, "
            f"{metrics['sessions']:,} sessions and {metrics['order_lines']:,} order lines"
        )

    @admin.display(description=_("seconds per step"))
    def timings(self, run: SegmentationRun) -> SafeString:
        timings = run.metrics.get("timings", {})
        return _table(list(timings), [[f"{seconds:.2f}" for seconds in timings.values()]])

    @admin.display(description=_("RFM segments"))
    def rfm_table(self, run: SegmentationRun) -> SafeString:
        rows = [
            [
                row["segment"],
                f"{row['customers']:,}",
                f"{row['share']:.1%}",
                _number(row["recency_days"], 1),
                _number(row["frequency"], 2),
                _number(row["monetary"], 2),
            ]
            for row in run.metrics.get("rfm", [])
        ]
        headers = ["segment", "customers", "share", "mean recency (days)", "frequency", "monetary"]
        return _table(headers, rows)

    @admin.display(description=_("silhouette by k"))
    def silhouette_table(self, run: SegmentationRun) -> SafeString:
        kmeans = run.metrics.get("kmeans", {})
        scores = kmeans.get("silhouette", {})
        chosen = str(kmeans.get("k"))
        return _table(
            ["k", *scores],
            [
                ["silhouette", *(f"{score:.3f}" for score in scores.values())],
                ["", *("✔" if k == chosen else "" for k in scores)],
            ],
        )

    @admin.display(description=_("clusters"))
    def cluster_table(self, run: SegmentationRun) -> SafeString:
        rows = [
            [
                cluster.get_algorithm_display(),
                _("noise") if cluster.label == -1 else cluster.label + 1,
                f"{cluster.size:,}",
                f"{cluster.share:.1%}",
                cluster.description,
                ", ".join(f"{name} {value:+.2f}σ" for name, value in cluster.effects),
            ]
            for cluster in run.clusters.all()
        ]
        headers = ["algorithm", "cluster", "size", "share", "description", "what sets it apart"]
        return _table(headers, rows)

    @admin.display(description="DBSCAN")
    def dbscan_summary(self, run: SegmentationRun) -> str:
        dbscan = run.metrics.get("dbscan")
        if not dbscan:
            return "–"
        return (
            f"eps {dbscan['eps']:.3f} (knee of the k-distance curve), min_samples "
            f"{dbscan['min_samples']}, fitted on {dbscan['fitted_on']:,} profiles: "
            f"{dbscan['clusters']} clusters, {dbscan['noise_share']:.1%} noise"
        )

    @admin.display(description=_("model"))
    def propensity_summary(self, run: SegmentationRun) -> str:
        info = run.metrics.get("propensity")
        if not info:
            return "–"
        metrics = info["metrics"]
        return (
            f"{info['version']}: ROC AUC {_number(metrics['roc_auc'])}, Brier "
            f"{_number(metrics['brier'])} on {metrics['n_test']:,} test snapshots from "
            f"{metrics['cutoff'][:10]} ({metrics['n_train']:,} before); "
            f"base rate {metrics['positive_rate']:.1%}"
        )

    @admin.display(description=_("calibration"))
    def reliability_table(self, run: SegmentationRun) -> SafeString:
        bins = run.metrics.get("propensity", {}).get("metrics", {}).get("reliability", [])
        rows = [
            [
                f"{row['low']:.1f}–{row['high']:.1f}",
                f"{row['count']:,}",
                f"{row['mean_predicted']:.3f}",
                f"{row['observed_rate']:.3f}",
            ]
            for row in bins
        ]
        return _table(["predicted", "snapshots", "mean predicted", "observed rate"], rows)

    @admin.display(description=_("settings"))
    def settings_table(self, run: SegmentationRun) -> SafeString:
        settings = run.params.get("settings", {})
        return _table(["setting", "value"], [[name, value] for name, value in settings.items()])
