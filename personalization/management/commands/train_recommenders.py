"""``manage.py train_recommenders``: train the recommenders now, in this process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from personalization.conf import app_settings
from personalization.models import RecommenderVersion
from personalization.recommendations.training import TrainingError, train


class Command(BaseCommand):
    help = (
        "Train the recommenders of RECOMMENDERS from the events and orders, precompute their "
        "lists into the cache and activate the new versions. Prints what was trained, the "
        "offline metrics and the time of each step."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--kind",
            action="append",
            dest="kinds",
            help="Train only this kind (repeatable; default: every kind of RECOMMENDERS).",
        )
        parser.add_argument(
            "--if-untrained",
            action="store_true",
            help="Do nothing when every kind already has an active version (what make demo runs).",
        )
        parser.add_argument(
            "--holdout-days",
            type=float,
            default=None,
            help="Days held out for the offline metrics (0: skip the evaluation; default: "
            "RECOMMENDATION_HOLDOUT_DAYS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        holdout = options["holdout_days"]
        if holdout is not None and holdout < 0:
            raise CommandError("--holdout-days must be 0 or more")
        if options["if_untrained"]:
            kinds = options["kinds"] or list(app_settings.RECOMMENDERS)
            active = set(
                RecommenderVersion.objects.filter(kind__in=kinds, is_active=True).values_list(
                    "kind", flat=True
                )
            )
            if active >= set(kinds):
                self.stdout.write("Every kind has an active version; nothing to train.")
                return
        try:
            run = train(
                kinds=options["kinds"],
                holdout_days=holdout,
                trigger="command",
                progress=lambda message: self.stdout.write(message),
            )
        except TrainingError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Training run {run.pk} done in {run.summary['seconds']['total']:.1f}s"
            )
        )
