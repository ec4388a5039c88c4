"""Data-subject requests (the audit trail of exports and erasures) and the retention aggregates."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DataSubjectRequest(models.Model):
    """One export or erasure of a person's data, or an erasure at consent withdrawal.

    It holds no personal data: the subject is a keyed pseudonym (``pseudonymous_key`` of the
    user, ``visitor_pseudonym`` of a browser), so the record proves that a request was served
    without keeping what was erased. The merchant finds a person's requests by computing the
    pseudonym of their user id (the admin's search does it).
    """

    EXPORT, ERASURE, WITHDRAWAL = "export", "erasure", "withdrawal"
    KINDS = [
        (EXPORT, _("Export")),
        (ERASURE, _("Erasure")),
        (WITHDRAWAL, _("Erasure at consent withdrawal")),
    ]
    VIAS = [
        ("account", _("Account page")),
        ("api", _("API")),
        ("admin", _("Admin")),
        ("command", _("Management command")),
        ("consent", _("Consent withdrawal")),
        ("code", _("Python call")),
    ]
    PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
    STATUSES = [
        (PENDING, _("Pending")),
        (RUNNING, _("Running")),
        (DONE, _("Done")),
        (FAILED, _("Failed")),
    ]

    kind = models.CharField(_("kind"), max_length=12, choices=KINDS)
    via = models.CharField(_("requested via"), max_length=8, choices=VIAS, default="code")
    status = models.CharField(_("status"), max_length=8, choices=STATUSES, default=PENDING)
    subject_key = models.CharField(
        _("subject (pseudonym)"),
        max_length=64,
        db_index=True,
        help_text=_("Keyed HMAC of the user id (or visitor id); never the id itself."),
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    counts = models.JSONField(
        _("counts"), default=dict, blank=True, help_text=_("Rows exported or erased per data type.")
    )
    error = models.CharField(
        _("error"), max_length=100, blank=True, help_text=_("The exception's class, if it failed.")
    )

    class Meta:
        verbose_name = _("data-subject request")
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("export_personal_data", _("Can export a person's data")),
            ("erase_personal_data", _("Can erase a person's data")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject_key[:12]}… ({self.get_status_display()})"


class DailyActivity(models.Model):
    """Events of one subject on one day (UTC), by event name: what segmentation needs once the
    raw events are purged. ``subject_key`` is the pseudonymous key of the user, or the pseudonym
    of the visitor for anonymous events ("" when the event had neither)."""

    subject_key = models.CharField(max_length=64)
    day = models.DateField()
    name = models.CharField(max_length=32)
    count = models.PositiveIntegerField(default=0)
    value = models.FloatField(default=0, help_text=_("Sum of the events' numeric `value`."))

    class Meta:
        verbose_name = _("daily activity")
        verbose_name_plural = _("daily activity")
        constraints = [
            models.UniqueConstraint(
                fields=["subject_key", "day", "name"], name="p13n_daily_activity_once"
            )
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.subject_key[:12]}… {self.day} {self.name}: {self.count}"


class ProductDailyActivity(models.Model):
    """Events about one product on one day (UTC), by event name: what popularity baselines need
    once the raw events are purged."""

    product_id = models.CharField(max_length=64)
    day = models.DateField()
    name = models.CharField(max_length=32)
    count = models.PositiveIntegerField(default=0)
    value = models.FloatField(default=0)

    class Meta:
        verbose_name = _("product daily activity")
        verbose_name_plural = _("product daily activity")
        constraints = [
            models.UniqueConstraint(
                fields=["product_id", "day", "name"], name="p13n_product_activity_once"
            )
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.product_id} {self.day} {self.name}: {self.count}"
