"""``manage.py evaluate_recommenders``: offline metrics of every model on a data set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from personalization import recsys
from personalization.conf import app_settings
from personalization.recommendations import interactions as sources
from personalization.recsys import datasets

#: (label, registry name, hyperparameters) per data set; explicit-rating models only where
#: there are ratings.
IMPLICIT_MODELS: list[tuple[str, str, dict[str, Any]]] = [
    ("popular (trending, 30-day half-life)", "popular", {}),
    ("popular (all-time)", "popular", {"half_life_days": None}),
    ("item_knn", "item_knn", {}),
    ("ease", "ease", {}),
    ("content", "content", {}),
    ("buy_again", "buy_again", {}),
    ("default", "default", {}),
]
RATING_MODELS: list[tuple[str, str, dict[str, Any]]] = [
    ("svd", "svd", {"random_state": 0}),
    ("knn_baseline", "knn_baseline", {}),
]
DATASETS = ("movielens-100k", "online-retail", "db")


class Command(BaseCommand):
    help = (
        "Evaluate every recommender offline and print precision@k, recall@k, nDCG@k, MAP, "
        "MAP@k, catalogue coverage, fit and predict seconds. movielens-100k: Microsoft "
        "Recommenders' protocol (stratified 75/25 per item, seed 42); online-retail and db: "
        "temporal hold-out of the last days, repeats counted and only new items."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", choices=DATASETS, required=True)
        parser.add_argument(
            "--path",
            help="movielens-100k: the folder holding u.data (and u.item); online-retail: the "
            "CSV (plain or gzip). Not used with db, which reads this site's events and orders.",
        )
        parser.add_argument(
            "--model",
            action="append",
            dest="models",
            help="Evaluate only this registry name or preset (repeatable).",
        )
        parser.add_argument(
            "--test-days",
            type=float,
            help="Days held out (online-retail: 28; db: RECOMMENDATION_HOLDOUT_DAYS, or 14).",
        )
        parser.add_argument("--k", type=int, default=10, help="List length (default: 10).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["k"] < 1:
            raise CommandError("--k must be at least 1")
        if options["test_days"] is not None and options["test_days"] <= 0:
            raise CommandError("--test-days must be positive")
        protocols, models = self._protocols(options)
        if options["models"]:
            unknown = sorted(set(options["models"]) - set(recsys.available()))
            if unknown:
                raise CommandError(
                    f"unknown model(s) {unknown}; known: {', '.join(recsys.available())}"
                )
            models = [(name, name, {}) for name in options["models"]]
        for protocol in protocols:
            self.stdout.write("")
            self.stdout.write(protocol.name)
            for note in protocol.notes:
                self.stdout.write(f"  {note}")
            if protocol.test.empty:
                self.stdout.write("  nothing to evaluate: no known person in the test period")
                continue
            rows = datasets.run_protocol(protocol, models, k=options["k"])
            self.stdout.write("\n".join(datasets.markdown_table(rows, k=options["k"])))

    def _protocols(
        self, options: dict[str, Any]
    ) -> tuple[list[datasets.Protocol], list[tuple[str, str, dict[str, Any]]]]:
        dataset, path = options["dataset"], options["path"]
        if dataset == "db":
            if path:
                raise CommandError("--dataset db reads the database; it takes no --path")
            return self._database_protocols(options["test_days"]), IMPLICIT_MODELS
        if not path:
            raise CommandError(f"--dataset {dataset} needs --path")
        if not Path(path).exists():
            raise CommandError(f"{path} does not exist")
        try:
            if dataset == "movielens-100k":
                if not Path(path).is_dir():
                    raise CommandError(f"{path} is not a folder (the one holding u.data)")
                ratings, items = datasets.load_movielens(path)
                return [datasets.movielens_protocol(ratings, items)], [
                    *IMPLICIT_MODELS[:4],
                    *RATING_MODELS,
                    *IMPLICIT_MODELS[4:],
                ]
            interactions, items, summary = datasets.load_online_retail(path)
        except datasets.DatasetError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(summary)
        weeks = (options["test_days"] or 28.0) / 7.0
        return datasets.temporal_protocols(interactions, items, weeks), IMPLICIT_MODELS

    def _database_protocols(self, test_days: float | None) -> list[datasets.Protocol]:
        data = sources.collect()
        if data.empty:
            raise CommandError("the database has no interactions to evaluate on")
        catalogue = sources.read_catalogue()
        days = test_days or float(app_settings.RECOMMENDATION_HOLDOUT_DAYS) or 14.0
        self.stdout.write(
            f"This site: {len(data):,} weighted interactions, {data['user_id'].nunique():,} "
            f"people, {data['item_id'].nunique():,} items, {len(catalogue):,} products"
        )
        return datasets.temporal_protocols(
            data, catalogue if len(catalogue) else None, days / 7.0, label="This site"
        )
