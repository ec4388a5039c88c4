"""What recommendations were shown, clicked and bought, and what shoppers said they do not want.

Every list served (a template tag or the API) is one :class:`RecommendationImpression`, keyed by
the recommendation id (``rec_id``) that its links carry. Impressions reach the database through a
buffer (``personalization.recommendations.attribution``), so a click can arrive before its
impression row: a :class:`RecommendationClick` keeps the ``rec_id`` and is linked to the
impression as soon as that row exists. A purchase of a clicked product by the same person within
``RECOMMENDATION_ATTRIBUTION_WINDOW_DAYS`` becomes a :class:`RecommendationConversion`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .recommendations import RecommenderVersion


class Placement(models.Model):
    """A place where recommendations are shown (``home``, ``product_similar``, ``cart``, ...).

    Created the first time an impression of it is stored; the admin shows its live CTR and
    conversion rate.
    """

    name = models.SlugField(max_length=64, unique=True)
    source = models.CharField(
        max_length=32, blank=True, help_text=_("the list shown there last (for_you, similar, ...)")
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("recommendation placement")

    def __str__(self) -> str:
        return self.name


class RecommendationImpression(models.Model):
    """One list of recommendations shown to one person."""

    rec_id = models.UUIDField(_("recommendation id"), unique=True)
    placement = models.ForeignKey(Placement, on_delete=models.CASCADE, related_name="impressions")
    source = models.CharField(max_length=32)
    kind = models.CharField(
        max_length=32, help_text=_("the recommender kind that produced the list")
    )
    # No database constraint: versions are pruned by training, and the buffered impressions of a
    # pruned version must still be stored.
    version = models.ForeignKey(
        RecommenderVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    product_ids = models.JSONField(default=list)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    vid = models.CharField(_("visitor id"), max_length=32, blank=True)
    served_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-served_at"]
        verbose_name = _("recommendation impression")
        indexes = [
            models.Index(fields=["placement", "served_at"]),
            models.Index(fields=["vid"]),
        ]

    def __str__(self) -> str:
        return f"{self.placement_id} {self.rec_id}"


class RecommendationClick(models.Model):
    """A click on a recommended product (through the click redirect of the widget's links)."""

    rec_id = models.UUIDField(_("recommendation id"))
    impression = models.ForeignKey(
        RecommendationImpression,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="clicks",
    )
    product_id = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    vid = models.CharField(_("visitor id"), max_length=32, blank=True)
    clicked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-clicked_at"]
        verbose_name = _("recommendation click")
        constraints = [
            models.UniqueConstraint(fields=["rec_id", "product_id"], name="p13n_rec_click_once")
        ]
        indexes = [models.Index(fields=["product_id", "clicked_at"])]

    def __str__(self) -> str:
        return f"click {self.product_id} ({self.rec_id})"


class RecommendationConversion(models.Model):
    """A purchase of a clicked product by the same person within the attribution window."""

    click = models.ForeignKey(
        RecommendationClick, on_delete=models.CASCADE, related_name="conversions"
    )
    order_id = models.CharField(max_length=64)
    product_id = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField(default=1)
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    purchased_at = models.DateTimeField()

    class Meta:
        ordering = ["-purchased_at"]
        verbose_name = _("recommendation conversion")
        constraints = [
            models.UniqueConstraint(
                fields=["order_id", "product_id"], name="p13n_rec_conversion_once"
            )
        ]

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.product_id}"


class NotInterested(models.Model):
    """A shopper's "not interested" in a product: never recommended to them again."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="p13n_not_interested",
    )
    vid = models.CharField(_("visitor id"), max_length=32, blank=True)
    product_id = models.CharField(max_length=64)
    rec_id = models.UUIDField(null=True, blank=True)
    placement = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("not interested")
        verbose_name_plural = _("not interested")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "product_id"],
                condition=models.Q(user__isnull=False),
                name="p13n_not_interested_user_once",
            ),
            models.UniqueConstraint(
                fields=["vid", "product_id"],
                condition=models.Q(user__isnull=True),
                name="p13n_not_interested_vid_once",
            ),
        ]
        indexes = [models.Index(fields=["vid"])]

    def __str__(self) -> str:
        return f"not interested in {self.product_id}"
