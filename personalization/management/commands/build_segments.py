"""``manage.py build_segments``: run the segmentation pipeline now, in this process."""

from __future__ import annotations

from typing import Any

import pandas as pd
from django.core.management.base import BaseCommand, CommandError, CommandParser

from personalization.models import SegmentationRun
from personalization.segments.pipeline import run_pipeline


class Command(BaseCommand):
    help = (
        "Build the profiles, RFM segments, clusters, propensity scores and static segments from "
        "the events and the store's orders. Prints each step with its time, the RFM segment "
        "table, the clusters with their descriptions and the propensity model's metrics."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of",
            help="Compute as of this moment (ISO date or time; default: now), e.g. the day after "
            "an imported data set ends.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when a run has already succeeded (what make demo runs).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and SegmentationRun.objects.filter(status="done").exists():
            self.stdout.write("Segments have been built already; nothing to do.")
            return
        params = {}
        if options["as_of"]:
            try:
                params["as_of"] = pd.Timestamp(options["as_of"]).isoformat()
            except ValueError as exc:
                raise CommandError(f"--as-of: {exc}") from exc
        run = SegmentationRun.objects.create(triggered_by="command", params=params)
        run = run_pipeline(
            run, on_step=lambda step, seconds: self.stdout.write(f"{step:<12} {seconds:8.2f} s")
        )
        if run.status != SegmentationRun.DONE:
            raise CommandError(f"Segmentation run {run.pk} failed: {run.error.splitlines()[0]}")
        self._report(run)

    def _report(self, run: SegmentationRun) -> None:
        metrics = run.metrics
        total = sum(metrics["timings"].values())
        self.stdout.write(
            f"\n{metrics['profiles']:,} profiles ({metrics['customers']:,} customers) as of "
            f"{metrics['as_of'][:19]} from {metrics['events']:,} events, "
            f"{metrics['sessions']:,} sessions and {metrics['order_lines']:,} order lines.\n"
        )
        self.stdout.write("RFM segments")
        self.stdout.write(
            f"  {'segment':<20}{'customers':>10}{'share':>8}"
            f"{'recency (d)':>13}{'frequency':>11}{'monetary':>12}"
        )
        for row in metrics["rfm"]:
            if not row["customers"]:
                continue
            self.stdout.write(
                f"  {row['segment']:<20}{row['customers']:>10,}{row['share']:>8.1%}"
                f"{row['recency_days']:>13.1f}{row['frequency']:>11.2f}{row['monetary']:>12,.2f}"
            )
        kmeans = metrics["kmeans"]
        scores = ", ".join(f"k={k}: {v:.3f}" for k, v in kmeans["silhouette"].items())
        self.stdout.write(f"\nK-Means clusters (k={kmeans['k']}; silhouette {scores})")
        for cluster in run.clusters.filter(algorithm="kmeans"):
            self.stdout.write(
                f"  {cluster.label + 1:>2}  {cluster.size:>8,}  {cluster.share:>6.1%}  "
                f"{cluster.description}"
            )
        dbscan = metrics["dbscan"]
        self.stdout.write(
            f"\nDBSCAN (eps {dbscan['eps']:.3f} from the k-distance knee, min_samples "
            f"{dbscan['min_samples']}, on {dbscan['fitted_on']:,} profiles): "
            f"{dbscan['clusters']} clusters, {dbscan['noise_share']:.1%} noise"
        )
        for cluster in run.clusters.filter(algorithm="dbscan"):
            label = "noise" if cluster.label == -1 else str(cluster.label + 1)
            self.stdout.write(
                f"  {label:>5}  {cluster.size:>8,}  {cluster.share:>6.1%}  {cluster.description}"
            )
        propensity = metrics["propensity"]["metrics"]
        auc = propensity["roc_auc"]
        brier = propensity["brier"]
        self.stdout.write(
            f"\nPropensity ({metrics['propensity']['version']}): ROC AUC "
            f"{'n/a' if auc is None else f'{auc:.3f}'}, Brier "
            f"{'n/a' if brier is None else f'{brier:.3f}'} on {propensity['n_test']:,} test "
            f"snapshots from {propensity['cutoff'][:10]}; "
            f"base rate {propensity['positive_rate']:.1%}"
        )
        segments = metrics["segments"]
        self.stdout.write(
            "\nSegments: " + ", ".join(f"{slug} {count:,}" for slug, count in segments.items())
        )
        self.stdout.write(self.style.SUCCESS(f"\nSegmentation run {run.pk} done in {total:.1f} s"))
