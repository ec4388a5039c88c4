"""Admin for served recommendations: placements with their live CTR and conversion rate."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import Count, DecimalField, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..models import (
    NotInterested,
    Placement,
    RecommendationClick,
    RecommendationConversion,
    RecommendationImpression,
)
from .base import WrittenByTrackingAdmin


def _count(queryset: QuerySet, outer: str) -> Coalesce:
    """A correlated ``COUNT(*)`` of ``queryset`` rows whose ``outer`` is the placement."""
    counted = (
        queryset.filter(**{outer: OuterRef("pk")})
        .order_by()
        .values(outer)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def placement_stats(queryset: QuerySet) -> QuerySet:
    """Placements annotated with ``n_impressions``, ``n_clicks``, ``n_conversions`` and
    ``revenue`` (the attributed order-line amounts), each one correlated subquery."""
    revenue = (
        RecommendationConversion.objects.filter(click__impression__placement=OuterRef("pk"))
        .order_by()
        .values("click__impression__placement")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    return queryset.annotate(
        n_impressions=_count(RecommendationImpression.objects.all(), "placement"),
        n_clicks=_count(RecommendationClick.objects.all(), "impression__placement"),
        n_conversions=_count(
            RecommendationConversion.objects.all(), "click__impression__placement"
        ),
        revenue=Coalesce(Subquery(revenue, output_field=money), Decimal("0"), output_field=money),
    )


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


@admin.register(Placement)
class PlacementAdmin(admin.ModelAdmin):
    """Each placement with impressions, clicks, CTR, conversions and conversion rate, computed
    from the stored rows on every view of the list."""

    list_display = [
        "name",
        "source",
        "impressions",
        "clicks",
        "ctr",
        "conversions",
        "conversion_rate",
        "attributed_revenue",
    ]
    readonly_fields = ["name", "source", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return placement_stats(super().get_queryset(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("impressions"), ordering="n_impressions")
    def impressions(self, obj: Placement) -> int:
        return obj.n_impressions

    @admin.display(description=_("clicks"), ordering="n_clicks")
    def clicks(self, obj: Placement) -> int:
        return obj.n_clicks

    @admin.display(description=_("CTR"))
    def ctr(self, obj: Placement) -> str:
        """Clicks per list shown."""
        return _rate(obj.n_clicks, obj.n_impressions)

    @admin.display(description=_("conversions"), ordering="n_conversions")
    def conversions(self, obj: Placement) -> int:
        return obj.n_conversions

    @admin.display(description=_("conversion rate"))
    def conversion_rate(self, obj: Placement) -> str:
        """Attributed purchases per click."""
        return _rate(obj.n_conversions, obj.n_clicks)

    @admin.display(description=_("attributed revenue"), ordering="revenue")
    def attributed_revenue(self, obj: Placement) -> Decimal:
        return obj.revenue


@admin.register(RecommendationImpression)
class RecommendationImpressionAdmin(WrittenByTrackingAdmin):
    list_display = ["served_at", "placement", "source", "kind", "version_id", "rec_id"]
    list_filter = ["placement", "source", "kind"]
    list_select_related = ["placement"]


@admin.register(RecommendationClick)
class RecommendationClickAdmin(WrittenByTrackingAdmin):
    list_display = ["clicked_at", "product_id", "rec_id", "impression"]


@admin.register(RecommendationConversion)
class RecommendationConversionAdmin(WrittenByTrackingAdmin):
    list_display = ["purchased_at", "order_id", "product_id", "quantity", "amount", "click"]


@admin.register(NotInterested)
class NotInterestedAdmin(WrittenByTrackingAdmin):
    list_display = ["created_at", "product_id", "placement"]
