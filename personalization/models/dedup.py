"""Customer de-duplication: merge suggestions to review, and the record of every merge made."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MergeSuggestion(models.Model):
    """Two customer accounts that probably belong to one person, found by ``suggest_merges()``.

    ``user_a`` is the older account (the lower primary key), the merge's default target.
    ``reasons`` names the evidence (``"same email"``, ``"name 94% similar"``) without copying the
    personal data itself.
    """

    PENDING, MERGED, DISMISSED = "pending", "merged", "dismissed"
    STATUSES = [(PENDING, _("To review")), (MERGED, _("Merged")), (DISMISSED, _("Dismissed"))]

    user_a = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    user_b = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("score"), help_text=_("Similarity of the two records (0–1)."))
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=STATUSES, default=PENDING)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("merge suggestion")
        ordering = ["status", "-score", "pk"]
        indexes = [models.Index(fields=["status", "score"])]
        constraints = [
            models.UniqueConstraint(fields=["user_a", "user_b"], name="p13n_merge_pair_once"),
            models.CheckConstraint(
                condition=Q(user_a__lt=F("user_b")), name="p13n_merge_pair_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"user {self.user_a_id} ~ user {self.user_b_id} ({self.score:.2f})"


class CustomerMerge(models.Model):
    """The record of one merge: which account went into which, who did it and what moved.

    The ids are kept as text as well, so the record survives the deletion of either account.
    """

    source_account = models.CharField(_("merged account id"), max_length=64)
    target_account = models.CharField(_("kept account id"), max_length=64)
    source = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suggestion = models.ForeignKey(
        MergeSuggestion, null=True, blank=True, on_delete=models.SET_NULL, related_name="merges"
    )
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(default=timezone.now, db_index=True)
    moved = models.JSONField(
        _("rows moved"),
        default=dict,
        help_text=_("Rows moved per data type, the store's included."),
    )

    class Meta:
        verbose_name = _("customer merge")
        ordering = ["-merged_at", "-pk"]

    def __str__(self) -> str:
        return f"user {self.source_account} → user {self.target_account}"
