"""Consent: policy versions, the categories the banner offers, and the append-only consent log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import CONSENT_CATEGORIES

CATEGORY_LABELS = {
    "necessary": _("Necessary"),
    "analytics": _("Analytics"),
    "personalization": _("Personalization"),
    "marketing": _("Marketing"),
}
CATEGORY_CHOICES = [(slug, CATEGORY_LABELS[slug]) for slug in CONSENT_CATEGORIES]

CONSENT_METHODS = [
    ("banner", _("Consent banner")),
    ("api", _("API")),
    ("gpc", _("Global Privacy Control signal")),
    ("admin", _("Admin")),
    ("cmp", _("Consent-management platform")),
]


class ConsentPolicy(models.Model):
    """One version of the privacy/cookie policy the visitor agrees to.

    The newest published version is the current one; a consent given under an older version no
    longer counts, so publishing a new version asks every visitor again.
    """

    version = models.PositiveIntegerField(_("version"), unique=True)
    published_at = models.DateTimeField(
        _("published at"),
        default=timezone.now,
        help_text=_("The version becomes current at this time (the newest published one wins)."),
    )
    notes = models.TextField(_("notes"), blank=True, help_text=_("What changed, for the record."))

    class Meta:
        verbose_name = _("consent policy")
        verbose_name_plural = _("consent policies")
        ordering = ["-version"]

    def __str__(self) -> str:
        return str(_("Policy version %(version)s") % {"version": self.version})


class ConsentCategory(models.Model):
    """A category the banner offers, with the name and description the merchant writes."""

    slug = models.CharField(_("category"), max_length=32, choices=CATEGORY_CHOICES, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("consent category")
        verbose_name_plural = _("consent categories")
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.name or self.slug


class ConsentRecord(models.Model):
    """One grant, change or withdrawal of consent. Rows are only ever added.

    The subject is the browser (``vid``, copied so the record survives the visitor row) and, when
    known, the user. Only a prefix of the IP address and a keyed hash of the user agent are kept.
    """

    visitor = models.ForeignKey(
        "personalization.Visitor",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consent_records",
    )
    vid = models.CharField(_("visitor id"), max_length=32, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="p13n_consent_records",
    )
    policy_version = models.PositiveIntegerField(_("policy version"))
    granted = models.JSONField(_("granted"), default=list, blank=True)
    denied = models.JSONField(_("denied"), default=list, blank=True)
    method = models.CharField(_("method"), max_length=8, choices=CONSENT_METHODS)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    ip_prefix = models.CharField(
        _("IP prefix"), max_length=64, blank=True, help_text=_("IPv4 /24 or IPv6 /48 network.")
    )
    ua_hash = models.CharField(_("user-agent hash"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("consent record")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["vid", "created_at"]),
            models.Index(fields=["user", "created_at"]),
        ]

    def __str__(self) -> str:
        subject = self.vid or (f"user {self.user_id}" if self.user_id else "anonymous")
        return f"{subject} v{self.policy_version} {self.method} @ {self.created_at:%Y-%m-%d %H:%M}"
