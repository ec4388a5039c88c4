import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# The built-in rule segments (rules from personalization.segmentation.rules.BUILTIN_RULES, read
# when the migration runs). Dynamic ones follow every event; cart abandonment is a matter of
# time passing without events, so it is static (recomputed by the scheduled pipeline).
BUILTIN_SEGMENTS = [
    (
        "high-intent-shoppers",
        "High-intent shoppers",
        "dynamic",
        "Two or more items from the top fifth of the price range put in the cart within 30 "
        "minutes.",
    ),
    (
        "bargain-hunters",
        "Bargain hunters",
        "dynamic",
        "Browsing the sale in this session (three on-sale products, or a visit that started on a "
        "sale page), or a history of buying discounted items.",
    ),
    (
        "cart-abandoners",
        "Cart abandoners",
        "static",
        "Something put in the cart in the last week, nothing bought since and no cart activity "
        "for an hour.",
    ),
    (
        "window-shoppers",
        "Window shoppers",
        "dynamic",
        "Ten or more product views in the last 30 days without a cart addition or a purchase.",
    ),
    ("new-visitors", "New visitors", "dynamic", "In their first session."),
]


def create_builtin_segments(apps, schema_editor):
    from personalization.segmentation.rules import BUILTIN_RULES

    Segment = apps.get_model("personalization", "Segment")
    for slug, name, mode, description in BUILTIN_SEGMENTS:
        # An existing segment of that slug (created by hand, or edited since) is left as it is.
        Segment.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "kind": "rule",
                "mode": mode,
                "rule": BUILTIN_RULES[slug],
                "is_builtin": True,
            },
        )


def delete_builtin_segments(apps, schema_editor):
    Segment = apps.get_model("personalization", "Segment")
    Segment.objects.filter(
        slug__in=[slug for slug, *_ in BUILTIN_SEGMENTS], is_builtin=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("personalization", "0006_segments_profiles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="MergeSuggestion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "score",
                    models.FloatField(
                        help_text="Similarity of the two records (0–1).", verbose_name="score"
                    ),
                ),
                ("reasons", models.JSONField(blank=True, default=list, verbose_name="reasons")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "To review"),
                            ("merged", "Merged"),
                            ("dismissed", "Dismissed"),
                        ],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                (
                    "updated_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                ("reviewed_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "reviewed_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "user_a",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "user_b",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "merge suggestion",
                "ordering": ["status", "-score", "pk"],
                "indexes": [
                    models.Index(fields=["status", "score"], name="personaliza_status_37f626_idx")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user_a", "user_b"), name="p13n_merge_pair_once"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("user_a__lt", models.F("user_b"))),
                        name="p13n_merge_pair_ordered",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="CustomerMerge",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "source_account",
                    models.CharField(max_length=64, verbose_name="merged account id"),
                ),
                (
                    "target_account",
                    models.CharField(max_length=64, verbose_name="kept account id"),
                ),
                (
                    "merged_at",
                    models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                ),
                (
                    "moved",
                    models.JSONField(
                        default=dict,
                        help_text="Rows moved per data type, the store's included.",
                        verbose_name="rows moved",
                    ),
                ),
                (
                    "merged_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "target",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "suggestion",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="merges",
                        to="personalization.mergesuggestion",
                    ),
                ),
            ],
            options={
                "verbose_name": "customer merge",
                "ordering": ["-merged_at", "-pk"],
            },
        ),
        migrations.RunPython(create_builtin_segments, delete_builtin_segments),
    ]
