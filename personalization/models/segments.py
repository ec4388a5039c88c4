"""Customer profiles, segments and who belongs to them (with history).

A *person* is either a user (a customer with an account) or an anonymous visitor: every profile
and every membership row names exactly one of the two. A user's anonymous visitors are merged into
the user at log-in, so a person who logs in keeps one profile: the user's.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..segmentation import rules
from .tracking import Visitor

_ONE_PERSON = Q(user__isnull=False, visitor__isnull=True) | Q(
    user__isnull=True, visitor__isnull=False
)


class SegmentationRun(models.Model):
    """One run of the segmentation pipeline (features, RFM, clusters, propensity, static segments).

    It is also the version of the models the run fitted: clusters point to it, and its ``metrics``
    hold what the admin shows (silhouette by k, DBSCAN's eps, the propensity model's ROC AUC,
    Brier score and reliability bins, timings).
    """

    PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
    STATUSES = [
        (PENDING, _("Queued")),
        (RUNNING, _("Running")),
        (DONE, _("Done")),
        (FAILED, _("Failed")),
    ]
    TRIGGERS = [
        ("schedule", _("Schedule")),
        ("admin", _("Admin")),
        ("command", _("Management command")),
        ("code", _("Python call")),
    ]

    status = models.CharField(_("status"), max_length=8, choices=STATUSES, default=PENDING)
    triggered_by = models.CharField(max_length=8, choices=TRIGGERS, default="code")
    task_id = models.CharField(max_length=64, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    step = models.CharField(_("current step"), max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("segmentation run")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class Cluster(models.Model):
    """A behavioural cluster found by one run, with what sets it apart from everyone else."""

    KMEANS, DBSCAN = "kmeans", "dbscan"
    ALGORITHMS = [(KMEANS, "K-Means"), (DBSCAN, "DBSCAN")]

    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="clusters")
    algorithm = models.CharField(max_length=8, choices=ALGORITHMS)
    label = models.IntegerField(help_text=_("The algorithm's label; -1 is DBSCAN's noise."))
    size = models.PositiveIntegerField(default=0)
    share = models.FloatField(default=0, help_text=_("Share of all profiles (0–1)."))
    description = models.CharField(max_length=255, blank=True)
    effects = models.JSONField(
        default=list,
        blank=True,
        help_text=_("[feature, standard deviations from the overall mean], strongest first."),
    )

    class Meta:
        verbose_name = _("cluster")
        ordering = ["run", "algorithm", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "algorithm", "label"], name="p13n_cluster_label_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_algorithm_display()} {self.label}: {self.description}"


class Profile(models.Model):
    """The profile feature table: one row per person, recomputed by the segmentation pipeline.

    Monetary values are in the store's currency. Features that could not be computed for a
    person (no sessions, no orders) are NULL in the table; the pipeline's cleaning step imputes
    them for the models without writing the guesses back.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="p13n_profile",
    )
    visitor = models.OneToOneField(
        Visitor, null=True, blank=True, on_delete=models.CASCADE, related_name="profile"
    )
    computed_at = models.DateTimeField(default=timezone.now)
    last_activity = models.DateTimeField(null=True, blank=True)
    # Orders
    recency_days = models.FloatField(null=True, blank=True, help_text=_("Days since last order."))
    frequency = models.PositiveIntegerField(default=0, help_text=_("Orders."))
    monetary = models.FloatField(default=0, help_text=_("Total spent."))
    cart_to_purchase_rate = models.FloatField(null=True, blank=True)
    price_sensitivity = models.FloatField(
        null=True, blank=True, help_text=_("Share of items bought discounted or low-priced (0–1).")
    )
    # Behaviour
    sessions = models.PositiveIntegerField(default=0)
    avg_session_seconds = models.FloatField(null=True, blank=True)
    page_depth = models.FloatField(null=True, blank=True, help_text=_("Page views per session."))
    dwell_seconds = models.FloatField(
        null=True, blank=True, help_text=_("Average time on a product page.")
    )
    category_affinity = models.JSONField(
        default=dict, blank=True, help_text=_("Share of product interest per category (0–1).")
    )
    device_mix = models.JSONField(
        default=dict, blank=True, help_text=_("Share of sessions per device type (0–1).")
    )
    attributes = models.JSONField(
        default=dict, blank=True, help_text=_("Account attributes the store provides.")
    )
    # Model outputs
    r_score = models.PositiveSmallIntegerField(null=True, blank=True)
    f_score = models.PositiveSmallIntegerField(null=True, blank=True)
    m_score = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_score = models.CharField(max_length=3, blank=True)
    rfm_segment = models.CharField(max_length=32, blank=True, db_index=True)
    cluster = models.ForeignKey(
        Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="profiles"
    )
    propensity = models.FloatField(
        null=True, blank=True, help_text=_("Probability of a purchase in the coming window.")
    )

    class Meta:
        verbose_name = _("profile")
        ordering = ["-last_activity", "-id"]
        constraints = [
            models.CheckConstraint(condition=_ONE_PERSON, name="p13n_profile_one_person")
        ]

    def __str__(self) -> str:
        return f"user {self.user_id}" if self.user_id else f"visitor {self.visitor_id}"


class Segment(models.Model):
    """A named group of people: from a rule, an RFM segment, a cluster, the propensity model or
    maintained by hand.

    A *static* segment is recomputed by the scheduled pipeline; a *dynamic* one (rule segments
    only) is re-evaluated on every incoming event of the person, so it follows them within a
    session. A person belongs to static and dynamic segments at the same time.
    """

    RULE, RFM, CLUSTER, PROPENSITY, MANUAL = "rule", "rfm", "cluster", "propensity", "manual"
    KINDS = [
        (RULE, _("Rule")),
        (RFM, _("RFM segment")),
        (CLUSTER, _("Cluster")),
        (PROPENSITY, _("Propensity")),
        (MANUAL, _("Manual")),
    ]
    STATIC, DYNAMIC = "static", "dynamic"
    MODES = [
        (STATIC, _("Static: recomputed on a schedule")),
        (DYNAMIC, _("Dynamic: re-evaluated on every event")),
    ]

    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=KINDS, default=RULE)
    mode = models.CharField(_("mode"), max_length=8, choices=MODES, default=STATIC)
    rule = models.JSONField(
        _("rule"),
        default=dict,
        blank=True,
        help_text=_("For rule segments: the JSON rule (docs/segments.md)."),
    )
    definition = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            'For generated segments, what selects the members, e.g. {"rfm_segment": '
            '"Champions"}, {"algorithm": "kmeans", "label": 2} or {"min_propensity": 0.5}.'
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_builtin = models.BooleanField(_("built in"), default=False, editable=False)
    member_count = models.PositiveIntegerField(_("members"), default=0, editable=False)
    last_computed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("segment")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == self.RULE:
            errors = rules.validate(self.rule)
            if errors:
                raise ValidationError({"rule": errors})
        elif self.mode == self.DYNAMIC:
            raise ValidationError({"mode": _("Only rule segments can be dynamic.")})


class SegmentMembership(models.Model):
    """One stay of a person in a segment: open while ``exited_at`` is NULL.

    Leaving closes the row and coming back opens a new one, so the rows are the membership
    history.
    """

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="p13n_segment_memberships",
    )
    visitor = models.ForeignKey(
        Visitor,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="segment_memberships",
    )
    entered_at = models.DateTimeField(default=timezone.now)
    exited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("segment membership")
        ordering = ["-entered_at", "-id"]
        indexes = [
            models.Index(fields=["segment", "exited_at"]),
            models.Index(fields=["user", "exited_at"]),
            models.Index(fields=["visitor", "exited_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=_ONE_PERSON, name="p13n_membership_one_person"),
            models.UniqueConstraint(
                fields=["segment", "user"],
                condition=Q(exited_at__isnull=True, user__isnull=False),
                name="p13n_membership_open_once_user",
            ),
            models.UniqueConstraint(
                fields=["segment", "visitor"],
                condition=Q(exited_at__isnull=True, visitor__isnull=False),
                name="p13n_membership_open_once_visitor",
            ),
        ]

    def __str__(self) -> str:
        who = f"user {self.user_id}" if self.user_id else f"visitor {self.visitor_id}"
        return f"{who} in {self.segment_id}"

    @property
    def is_current(self) -> bool:
        return self.exited_at is None


class SegmentSize(models.Model):
    """A segment's number of members at the end of a day: the trend the admin draws."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sizes")
    day = models.DateField()
    size = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("segment size")
        ordering = ["segment", "-day"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "day"], name="p13n_segment_size_once")
        ]

    def __str__(self) -> str:
        return f"{self.segment_id} {self.day}: {self.size}"
