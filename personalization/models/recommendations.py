"""Trained recommenders: one training run, and the model version it produced for each kind.

A :class:`TrainingRun` is one execution of the pipeline (``personalization.recommendations.
training``); it makes one :class:`RecommenderVersion` per kind of ``RECOMMENDERS``. A version's
artifact is the model saved by ``recsys`` (``.npz`` with a JSON header, never a pickle) in the
default file storage, so every web and worker process reads the same file. The precomputed lists
of a version live in the cache under keys that carry the version's id; at most one version per
kind is active, and the run swaps all of its versions in at once, in one transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.files.storage import Storage, storages
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import app_settings


def artifact_storage() -> Storage:
    """The storage of model artifacts: the ``STORAGES`` alias named by
    ``RECOMMENDATION_ARTIFACT_STORAGE``. Artifacts hold person keys, so it must not be public."""
    return storages[app_settings.RECOMMENDATION_ARTIFACT_STORAGE]


def artifact_path(version: Any, filename: str) -> str:
    """``personalization/recommenders/<kind>-<random>.npz``: not guessable from the version."""
    return f"personalization/recommenders/{version.kind}-{uuid.uuid4().hex}.npz"


class TrainingRun(models.Model):
    """One execution of the training pipeline, from the admin's "Train now", beat or a command."""

    QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
    STATUSES = [
        (QUEUED, _("Queued")),
        (RUNNING, _("Running")),
        (SUCCEEDED, _("Succeeded")),
        (FAILED, _("Failed")),
    ]

    status = models.CharField(max_length=16, choices=STATUSES, default=QUEUED, db_index=True)
    trigger = models.CharField(
        max_length=32, blank=True, help_text=_("admin, schedule, command or the caller's label")
    )
    requested_by = models.CharField(max_length=150, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Data sizes and the seconds spent per step (interactions, each kind's fit and precompute).
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("recommender training run")

    def __str__(self) -> str:
        return f"Training run {self.pk} ({self.status})"

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class RecommenderVersion(models.Model):
    """A trained model of one kind (``default``, ``similar``, ...) and what it was trained on."""

    TRAINING, READY, FAILED, RETIRED = "training", "ready", "failed", "retired"
    STATUSES = [
        (TRAINING, _("Training")),
        (READY, _("Ready")),
        (FAILED, _("Failed")),
        (RETIRED, _("Retired (artifact pruned)")),
    ]

    run = models.ForeignKey(
        TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="versions"
    )
    kind = models.CharField(max_length=32)
    label = models.CharField(max_length=64, help_text=_("the version shown to people"))
    model_name = models.CharField(max_length=64, help_text=_("recsys registry name"))
    status = models.CharField(max_length=16, choices=STATUSES, default=TRAINING)
    is_active = models.BooleanField(default=False)
    trained_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    artifact = models.FileField(upload_to=artifact_path, storage=artifact_storage, blank=True)
    params = models.JSONField(default=dict, blank=True)
    # Offline metrics on the temporal hold-out (precision, recall, ndcg, map, coverage, ...).
    metrics = models.JSONField(default=dict, blank=True)
    # What the model was trained on: rows, people, items, time range, event counts.
    data_summary = models.JSONField(default=dict, blank=True)
    # For kinds whose list is the same for everyone (trending): the list itself, so that it
    # survives a cache flush.
    global_list = models.JSONField(default=list, blank=True)
    precomputed = models.JSONField(
        default=dict, blank=True, help_text=_("lists written to the cache, per list type")
    )

    class Meta:
        ordering = ["-trained_at", "-pk"]
        verbose_name = _("recommender version")
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=Q(is_active=True), name="p13n_one_active_recommender"
            )
        ]
        indexes = [models.Index(fields=["kind", "is_active"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.label}"
