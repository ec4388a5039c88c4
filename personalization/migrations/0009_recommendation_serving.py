# Recommendation serving: placements, impressions, clicks, conversions and "not interested".

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("personalization", "0008_recommender_training"),
    ]

    operations = [
        migrations.CreateModel(
            name="Placement",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.SlugField(max_length=64, unique=True)),
                (
                    "source",
                    models.CharField(
                        blank=True,
                        help_text="the list shown there last (for_you, similar, ...)",
                        max_length=32,
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name": "recommendation placement",
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="RecommendationImpression",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("rec_id", models.UUIDField(unique=True, verbose_name="recommendation id")),
                ("source", models.CharField(max_length=32)),
                (
                    "kind",
                    models.CharField(
                        help_text="the recommender kind that produced the list", max_length=32
                    ),
                ),
                ("product_ids", models.JSONField(default=list)),
                ("vid", models.CharField(blank=True, max_length=32, verbose_name="visitor id")),
                ("served_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "placement",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="impressions",
                        to="personalization.placement",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="personalization.recommenderversion",
                    ),
                ),
            ],
            options={
                "verbose_name": "recommendation impression",
                "ordering": ["-served_at"],
            },
        ),
        migrations.CreateModel(
            name="RecommendationClick",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("rec_id", models.UUIDField(verbose_name="recommendation id")),
                ("product_id", models.CharField(max_length=64)),
                ("vid", models.CharField(blank=True, max_length=32, verbose_name="visitor id")),
                ("clicked_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "impression",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="clicks",
                        to="personalization.recommendationimpression",
                    ),
                ),
            ],
            options={
                "verbose_name": "recommendation click",
                "ordering": ["-clicked_at"],
            },
        ),
        migrations.CreateModel(
            name="NotInterested",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("vid", models.CharField(blank=True, max_length=32, verbose_name="visitor id")),
                ("product_id", models.CharField(max_length=64)),
                ("rec_id", models.UUIDField(blank=True, null=True)),
                ("placement", models.CharField(blank=True, max_length=64)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="p13n_not_interested",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "not interested",
                "verbose_name_plural": "not interested",
                "ordering": ["-created_at"],
                "indexes": [models.Index(fields=["vid"], name="personaliza_vid_1c4944_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("user__isnull", False)),
                        fields=("user", "product_id"),
                        name="p13n_not_interested_user_once",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("user__isnull", True)),
                        fields=("vid", "product_id"),
                        name="p13n_not_interested_vid_once",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="RecommendationConversion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("order_id", models.CharField(max_length=64)),
                ("product_id", models.CharField(max_length=64)),
                ("quantity", models.PositiveIntegerField(default=1)),
                ("amount", models.DecimalField(decimal_places=2, default=0, max_digits=12)),
                ("purchased_at", models.DateTimeField()),
                (
                    "click",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="conversions",
                        to="personalization.recommendationclick",
                    ),
                ),
            ],
            options={
                "verbose_name": "recommendation conversion",
                "ordering": ["-purchased_at"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("order_id", "product_id"), name="p13n_rec_conversion_once"
                    )
                ],
            },
        ),
        migrations.AddIndex(
            model_name="recommendationimpression",
            index=models.Index(
                fields=["placement", "served_at"], name="personaliza_placeme_49ad3b_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="recommendationimpression",
            index=models.Index(fields=["vid"], name="personaliza_vid_b1968f_idx"),
        ),
        migrations.AddIndex(
            model_name="recommendationclick",
            index=models.Index(
                fields=["product_id", "clicked_at"], name="personaliza_product_bd92fd_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="recommendationclick",
            constraint=models.UniqueConstraint(
                fields=("rec_id", "product_id"), name="p13n_rec_click_once"
            ),
        ),
    ]
