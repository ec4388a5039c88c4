import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import personalization.models.recommendations


class Migration(migrations.Migration):
    dependencies = [
        ("personalization", "0007_segment_live_dedup"),
    ]

    operations = [
        migrations.CreateModel(
            name="TrainingRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                        ],
                        db_index=True,
                        default="queued",
                        max_length=16,
                    ),
                ),
                (
                    "trigger",
                    models.CharField(
                        blank=True,
                        help_text="admin, schedule, command or the caller's label",
                        max_length=32,
                    ),
                ),
                ("requested_by", models.CharField(blank=True, max_length=150)),
                ("task_id", models.CharField(blank=True, max_length=64)),
                ("requested_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("summary", models.JSONField(blank=True, default=dict)),
                ("error", models.TextField(blank=True)),
            ],
            options={
                "verbose_name": "recommender training run",
                "ordering": ["-requested_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="RecommenderVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=32)),
                ("label", models.CharField(help_text="the version shown to people", max_length=64)),
                ("model_name", models.CharField(help_text="recsys registry name", max_length=64)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("training", "Training"),
                            ("ready", "Ready"),
                            ("failed", "Failed"),
                            ("retired", "Retired (artifact pruned)"),
                        ],
                        default="training",
                        max_length=16,
                    ),
                ),
                ("is_active", models.BooleanField(default=False)),
                ("trained_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("activated_at", models.DateTimeField(blank=True, null=True)),
                (
                    "artifact",
                    models.FileField(
                        blank=True,
                        storage=personalization.models.recommendations.artifact_storage,
                        upload_to=personalization.models.recommendations.artifact_path,
                    ),
                ),
                ("params", models.JSONField(blank=True, default=dict)),
                ("metrics", models.JSONField(blank=True, default=dict)),
                ("data_summary", models.JSONField(blank=True, default=dict)),
                ("global_list", models.JSONField(blank=True, default=list)),
                (
                    "precomputed",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        help_text="lists written to the cache, per list type",
                    ),
                ),
                (
                    "run",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="versions",
                        to="personalization.trainingrun",
                    ),
                ),
            ],
            options={
                "verbose_name": "recommender version",
                "ordering": ["-trained_at", "-pk"],
                "indexes": [
                    models.Index(fields=["kind", "is_active"], name="personaliza_kind_4a48df_idx")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("is_active", True)),
                        fields=("kind",),
                        name="p13n_one_active_recommender",
                    )
                ],
            },
        ),
    ]
