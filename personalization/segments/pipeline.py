"""The segmentation pipeline: features, cleaning, RFM, clusters and propensity, then the profiles,
the generated static segments, the customer merge suggestions, the static rule segments and the
day's segment sizes.

One :class:`~personalization.models.SegmentationRun` is one pass; its ``progress`` and ``step`` are
written as the pass goes (the admin polls them), its ``metrics`` keep what the models found, and
an error marks it ``failed`` with the message. Every random draw is seeded with
``SEGMENTATION_RANDOM_STATE``, so the same data give the same clusters and scores.

The models are computed in memory first and every profile is then written once (one bulk upsert),
so a run that fails before the ``profiles`` step leaves the previous profiles and segments as
they were.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from threadpoolctl import threadpool_limits

from ..conf import app_settings
from ..models import Cluster, Profile, Segment, SegmentationRun
from ..segmentation import features as features_core
from ..segmentation import rfm as rfm_core
from ..segmentation.clustering import (
    VOCABULARY,
    DBSCANSegmenter,
    KMeansSegmenter,
    describe_clusters,
)
from ..segmentation.features import CLUSTER_FEATURES, NUMERIC_FEATURES
from ..segmentation.propensity import PropensityModel
from . import dedup, live, membership
from . import features as feature_io
from .profiles import save_profiles

logger = logging.getLogger(__name__)

#: Phrases of the pipeline's own feature names in cluster descriptions.
DESCRIPTION_VOCABULARY = {
    **VOCABULARY,
    "avg_session_seconds": ("long sessions", "short sessions"),
    "dwell_seconds": ("long dwell time", "short dwell time"),
    "top_category_share": ("one-category fans", "broad interests"),
    "tenure_days": ("long-standing", "new"),
    "inactive_days": ("inactive lately", "active lately"),
}
LIKELY_TO_BUY = "likely-to-buy"

# (step, progress when it starts); the last one ends at 100.
STEPS: tuple[tuple[str, int], ...] = (
    ("features", 0),
    ("cleaning", 30),
    ("rfm", 40),
    ("clusters", 45),
    ("propensity", 60),
    ("profiles", 80),
    ("segments", 88),
    ("dedup", 92),
    ("rules", 95),
    ("sizes", 98),
)
_PROGRESS = dict(STEPS)

StepCallback = Callable[[str, float], None]


def rfm_slug(name: str) -> str:
    """The slug of an RFM segment's Segment: ``rfm-champions``, ``rfm-cant-lose-them``."""
    return "rfm-" + slugify(name.replace("'", ""))


def cluster_slug(label: int) -> str:
    """The slug of a K-Means cluster's Segment: ``cluster-1`` for label 0."""
    return f"cluster-{label + 1}"


class _Tracker:
    """Writes the run's step and progress, and times each step."""

    def __init__(self, run: SegmentationRun, on_step: StepCallback | None) -> None:
        self.run, self.on_step = run, on_step
        self.timings: dict[str, float] = {}
        self.step, self.started = "", 0.0

    def begin(self, step: str) -> None:
        self.finish()
        self.step, self.started = step, time.perf_counter()
        self.run.step, self.run.progress = step, _PROGRESS[step]
        SegmentationRun.objects.filter(pk=self.run.pk).update(step=step, progress=_PROGRESS[step])

    def finish(self) -> None:
        if self.step and self.step not in self.timings:
            seconds = round(time.perf_counter() - self.started, 3)
            self.timings[self.step] = seconds
            if self.on_step is not None:
                self.on_step(self.step, seconds)


def _as_of(run: SegmentationRun) -> dt.datetime:
    value = run.params.get("as_of")
    if not value:
        return timezone.now()
    moment = pd.Timestamp(value)
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    return moment.to_pydatetime()


def run_pipeline(run: SegmentationRun, *, on_step: StepCallback | None = None) -> SegmentationRun:
    """Run every step for ``run`` and return it, ``done`` or ``failed`` (never raises for a
    failing step: the error is stored on the run and logged).

    ``run.params`` may hold ``as_of`` (an ISO time; default: now), the moment the features,
    RFM and propensity are computed for. ``on_step(step, seconds)`` is called as each step ends.
    """
    settings = _settings()
    run.status, run.started_at, run.error = SegmentationRun.RUNNING, timezone.now(), ""
    run.params = {**run.params, "settings": settings}
    run.save(update_fields=["status", "started_at", "error", "params"])
    tracker = _Tracker(run, on_step)
    metrics: dict[str, Any] = {}
    try:
        # threadpool_limits(None) leaves the libraries' own defaults.
        with threadpool_limits(limits=settings["threads"]):
            _run(run, _as_of(run), settings, tracker, metrics)
    except Exception as exc:
        logger.exception("Segmentation run %s failed in step %s", run.pk, tracker.step)
        run.status = SegmentationRun.FAILED
        run.error = f"{tracker.step}: {type(exc).__name__}: {exc}\n\n{traceback.format_exc()}"
    else:
        run.status, run.progress = SegmentationRun.DONE, 100
    tracker.finish()
    metrics["timings"] = tracker.timings
    run.metrics, run.finished_at = metrics, timezone.now()
    run.save(update_fields=["status", "progress", "step", "metrics", "error", "finished_at"])
    return run


def _settings() -> dict[str, Any]:
    """The settings a run uses, stored with it (JSON-ready)."""
    return {
        "scaler": app_settings.SEGMENTATION_SCALER,
        "clip_quantiles": list(app_settings.SEGMENTATION_CLIP_QUANTILES),
        "imputer_neighbors": app_settings.SEGMENTATION_IMPUTER_NEIGHBORS,
        "imputer_sample_size": app_settings.SEGMENTATION_IMPUTER_SAMPLE_SIZE,
        "sample_size": app_settings.SEGMENTATION_SAMPLE_SIZE,
        "lookback_days": app_settings.SEGMENTATION_LOOKBACK_DAYS,
        "k_range": list(app_settings.SEGMENTATION_K_RANGE),
        "dbscan_min_samples": app_settings.SEGMENTATION_DBSCAN_MIN_SAMPLES,
        "random_state": app_settings.SEGMENTATION_RANDOM_STATE,
        "rfm_windows": dict(app_settings.SEGMENTATION_RFM_WINDOWS),
        "propensity_horizon_days": app_settings.SEGMENTATION_PROPENSITY_HORIZON_DAYS,
        "propensity_snapshots": app_settings.SEGMENTATION_PROPENSITY_SNAPSHOTS,
        "likely_to_buy_threshold": app_settings.SEGMENTATION_LIKELY_TO_BUY_THRESHOLD,
        "threads": app_settings.SEGMENTATION_THREADS,
    }


def _run(
    run: SegmentationRun,
    as_of: dt.datetime,
    settings: dict[str, Any],
    tracker: _Tracker,
    metrics: dict[str, Any],
) -> None:
    tracker.begin("features")
    inputs = feature_io.read_inputs(as_of=as_of, lookback_days=settings["lookback_days"])
    table = feature_io.build(inputs, as_of)
    metrics.update(
        as_of=as_of.isoformat(),
        profiles=len(table),
        customers=int((table.index > 0).sum()),
        events=len(inputs.events),
        sessions=len(inputs.sessions),
        order_lines=len(inputs.order_lines),
    )
    if table.empty:
        raise ValueError("no events, sessions or orders to build profiles from")

    tracker.begin("cleaning")
    # The clusters are found in their own features, imputed from each other only; the
    # descriptions compare every feature. Columns without a single value (no tracking, say)
    # tell nothing apart and are left out.
    present = set(table.columns[table.notna().any()])
    clustered = clean_features(table, tuple(c for c in CLUSTER_FEATURES if c in present), settings)
    described = clean_features(table, tuple(c for c in NUMERIC_FEATURES if c in present), settings)

    tracker.begin("rfm")
    scores = score_rfm(inputs.order_lines, as_of, settings)
    metrics["rfm"] = rfm_summary(scores)

    tracker.begin("clusters")
    kmeans, dbscan, descriptions = find_clusters(table, clustered, described, settings)
    metrics["kmeans"] = {
        "k": kmeans.k_,
        "silhouette": {str(k): round(v, 4) for k, v in kmeans.silhouette_.items()},
    }
    metrics["dbscan"] = {
        "eps": round(dbscan.eps_, 4),
        "min_samples": settings["dbscan_min_samples"],
        "clusters": dbscan.n_clusters_,
        "noise_share": round(float(np.mean(dbscan.labels_ == -1)), 4),
        "fitted_on": len(dbscan.labels_),
    }

    tracker.begin("propensity")
    model = fit_propensity(inputs, table, as_of, settings)
    propensity = pd.Series(
        model.predict_proba(table.loc[:, list(NUMERIC_FEATURES)])[:, 1], index=table.index
    )
    metrics["propensity"] = model.info()

    tracker.begin("profiles")
    with transaction.atomic():
        clusters = _store_clusters(run, kmeans, dbscan, descriptions)
        outputs = table.assign(
            cluster_id=[clusters[int(label)].pk for label in kmeans.labels_],
            propensity=propensity.round(6),
        )
        outputs = outputs.join(
            scores.rename(columns={"segment": "rfm_segment"}).loc[
                :, ["r_score", "f_score", "m_score", "rfm_score", "rfm_segment"]
            ],
            how="left",
        )
        attribute_columns = [c for c in inputs.attributes.columns if c in outputs.columns]
        save_profiles(outputs, computed_at=timezone.now(), attribute_columns=attribute_columns)

    tracker.begin("segments")
    metrics["segments"] = sync_generated_segments(run, settings)

    tracker.begin("dedup")
    metrics["merge_suggestions"] = dedup.suggest_merges()

    tracker.begin("rules")
    changes = live.refresh_static_rule_segments()
    metrics["rule_segments"] = {slug: list(change) for slug, change in changes.items()}

    tracker.begin("sizes")
    membership.record_sizes()


def clean_features(
    table: pd.DataFrame, columns: tuple[str, ...], settings: dict[str, Any]
) -> pd.DataFrame:
    """:func:`~personalization.segmentation.features.clean_features` with the run's settings."""
    return features_core.clean_features(
        table,
        columns,
        scaler=settings["scaler"],
        clip_quantiles=tuple(settings["clip_quantiles"]),
        n_neighbors=settings["imputer_neighbors"],
        sample_size=settings["imputer_sample_size"],
        random_state=settings["random_state"],
    )


def score_rfm(
    order_lines: pd.DataFrame, as_of: dt.datetime, settings: dict[str, Any]
) -> pd.DataFrame:
    """The RFM table of the customers with orders (indexed by person key)."""
    orders = order_lines.rename(columns={"person": "customer_id"})
    return rfm_core.rfm(
        orders, as_of=pd.Timestamp(as_of), windows=rfm_core.RFMWindows(**settings["rfm_windows"])
    )


def rfm_summary(scores: pd.DataFrame) -> list[dict[str, Any]]:
    """Per RFM segment (best first): customers, share and mean recency, frequency, monetary."""
    rows = []
    total = len(scores)
    for name in rfm_core.SEGMENTS:
        members = scores[scores["segment"] == name]
        rows.append(
            {
                "segment": name,
                "customers": len(members),
                "share": round(len(members) / total, 4) if total else 0.0,
                "recency_days": _mean(members["recency_days"]),
                "frequency": _mean(members["frequency"]),
                "monetary": _mean(members["monetary"]),
            }
        )
    return rows


def _mean(values: pd.Series) -> float | None:
    return round(float(values.astype(float).mean()), 2) if len(values) else None


def find_clusters(
    table: pd.DataFrame,
    clustered: pd.DataFrame,
    described: pd.DataFrame,
    settings: dict[str, Any],
) -> tuple[KMeansSegmenter, DBSCANSegmenter, dict[str, list]]:
    """K-Means on every row and DBSCAN on the seeded sample of the cleaned ``clustered``
    features, with descriptions.

    The descriptions compare the clusters on the ``described`` features (every cleaned feature)
    plus the category shares of ``table``, so "high spend" or "mostly books" can set a cluster
    apart although they were not clustered on.
    """
    seed = settings["random_state"]
    kmeans = KMeansSegmenter(k_range=tuple(settings["k_range"]), random_state=seed).fit(clustered)
    sample = clustered
    if len(clustered) > settings["sample_size"]:
        sample = clustered.sample(settings["sample_size"], random_state=seed)
    dbscan = DBSCANSegmenter(min_samples=settings["dbscan_min_samples"], random_state=seed).fit(
        sample
    )
    affinities = table.loc[:, [c for c in table.columns if c.startswith("affinity_")]]
    described = pd.concat([described, affinities], axis=1)
    descriptions = {
        "kmeans": describe_clusters(described, kmeans.labels_, vocabulary=DESCRIPTION_VOCABULARY),
        "dbscan": describe_clusters(
            described.loc[sample.index], dbscan.labels_, vocabulary=DESCRIPTION_VOCABULARY
        ),
    }
    return kmeans, dbscan, descriptions


def snapshot_times(as_of: dt.datetime, horizon_days: int, count: int) -> list[pd.Timestamp]:
    """The propensity snapshots, oldest first: ``as_of`` minus 1..count horizons."""
    end = pd.Timestamp(as_of)
    return [end - pd.Timedelta(days=horizon_days * k) for k in range(count, 0, -1)]


def fit_propensity(
    inputs: feature_io.FeatureInputs,
    table: pd.DataFrame,
    as_of: dt.datetime,
    settings: dict[str, Any],
) -> PropensityModel:
    """Fit the model on past snapshots: the features as of each snapshot, labelled by whether the
    person placed an order within the horizon after it; the latest snapshot is the test period.
    The snapshots are one horizon apart back from ``as_of``, or from the last order if that is
    earlier."""
    horizon = settings["propensity_horizon_days"]
    orders = inputs.order_lines.loc[:, ["person", "timestamp"]]
    # Labels need whole horizons of data: when the orders stop before as_of (a data set, a
    # demo seeded weeks ago), the snapshots end at the last order, or every recent snapshot
    # would be labelled "did not buy" for want of data.
    end = pd.Timestamp(as_of)
    if len(orders):
        end = min(end, orders["timestamp"].max())
    frames, labels = [], []
    for moment in snapshot_times(end.to_pydatetime(), horizon, settings["propensity_snapshots"]):
        features = feature_io.build(inputs, moment.to_pydatetime())
        if features.empty:
            continue
        window = orders[
            (orders["timestamp"] > moment)
            & (orders["timestamp"] <= moment + pd.Timedelta(days=horizon))
        ]
        bought = features.index.isin(window["person"].unique())
        frames.append(features.loc[:, list(NUMERIC_FEATURES)].assign(snapshot_at=moment))
        labels.append(pd.Series(bought.astype(int)))
    if not frames:
        raise ValueError("no history before the propensity snapshots")
    snapshots = pd.concat(frames, ignore_index=True)
    # A store without tracking (an imported order history) has no session features at all; the
    # gradient boosting cannot bin a column without a single value.
    snapshots = snapshots.loc[:, snapshots.notna().any()]
    y = pd.concat(labels, ignore_index=True)
    model = PropensityModel(horizon_days=horizon, random_state=settings["random_state"])
    return model.fit(snapshots, y)


def _store_clusters(
    run: SegmentationRun,
    kmeans: KMeansSegmenter,
    dbscan: DBSCANSegmenter,
    descriptions: dict[str, list],
) -> dict[int, Cluster]:
    """Cluster rows of both algorithms; returns the K-Means ones by label."""
    rows = []
    for algorithm, summaries in descriptions.items():
        for summary in summaries:
            rows.append(
                Cluster(
                    run=run,
                    algorithm=algorithm,
                    label=summary.label,
                    size=summary.size,
                    share=summary.share,
                    description=summary.description[:255],
                    effects=[[name, round(float(value), 3)] for name, value in summary.effects],
                )
            )
    Cluster.objects.bulk_create(rows)
    return {
        cluster.label: cluster
        for cluster in Cluster.objects.filter(run=run, algorithm=Cluster.KMEANS)
    }


def _segment(
    slug: str, name: str, kind: str, description: str, definition: dict, *, reactivate: bool
) -> Segment:
    """The generated segment of ``slug``, created or brought up to date. A merchant who
    switched it off keeps it off, unless ``reactivate`` (a cluster label found again)."""
    defaults = {
        "name": name[:100],
        "kind": kind,
        "mode": Segment.STATIC,
        "description": description,
        "definition": definition,
    }
    if reactivate:
        defaults["is_active"] = True
    segment, _ = Segment.objects.update_or_create(
        slug=slug, defaults=defaults, create_defaults={**defaults, "is_active": True}
    )
    return segment


def _people(profiles) -> list[membership.Person]:
    return [
        ("user", user) if user is not None else ("visitor", visitor)
        for user, visitor in profiles.values_list("user_id", "visitor_id")
    ]


def sync_generated_segments(run: SegmentationRun, settings: dict[str, Any]) -> dict[str, int]:
    """Static segments from the new profiles: one per RFM segment name, one per K-Means cluster
    of this run (older cluster segments are emptied and deactivated) and ``likely-to-buy``.
    Returns members per slug."""
    now = timezone.now()
    sizes: dict[str, int] = {}
    for name in rfm_core.SEGMENTS:
        segment = _segment(
            rfm_slug(name),
            f"RFM: {name}",
            Segment.RFM,
            f"Customers in the RFM segment {name} (docs/segments.md).",
            {"rfm_segment": name},
            reactivate=False,
        )
        people = _people(Profile.objects.filter(rfm_segment=name))
        membership.sync_members(segment, people, now=now)
        sizes[segment.slug] = len(people)

    current = set()
    for cluster in run.clusters.filter(algorithm=Cluster.KMEANS):
        slug = cluster_slug(cluster.label)
        current.add(slug)
        segment = _segment(
            slug,
            f"Cluster {cluster.label + 1}: {cluster.description}",
            Segment.CLUSTER,
            f"K-Means cluster {cluster.label + 1} of segmentation run #{run.pk}: "
            f"{cluster.description}.",
            {"algorithm": Cluster.KMEANS, "label": cluster.label, "run": run.pk},
            reactivate=True,
        )
        people = _people(Profile.objects.filter(cluster=cluster))
        membership.sync_members(segment, people, now=now)
        sizes[slug] = len(people)
    for segment in Segment.objects.filter(kind=Segment.CLUSTER).exclude(slug__in=current):
        membership.sync_members(segment, [], now=now)
        Segment.objects.filter(pk=segment.pk).update(is_active=False)

    threshold = settings["likely_to_buy_threshold"]
    segment = _segment(
        LIKELY_TO_BUY,
        "Likely to buy",
        Segment.PROPENSITY,
        f"People whose predicted chance of an order within "
        f"{settings['propensity_horizon_days']} days is at least {threshold:g}.",
        {"min_propensity": threshold},
        reactivate=False,
    )
    people = _people(Profile.objects.filter(propensity__gte=threshold))
    membership.sync_members(segment, people, now=now)
    sizes[LIKELY_TO_BUY] = len(people)
    return sizes


def queue_run(triggered_by: str = "admin") -> SegmentationRun:
    """Record a pending run and queue the ``personalization.build_segments`` task for it once the
    current transaction commits (so the worker finds the row)."""
    from ..tasks import build_segments

    task_id = str(uuid.uuid4())
    run = SegmentationRun.objects.create(triggered_by=triggered_by, task_id=task_id)
    transaction.on_commit(lambda: build_segments.apply_async((run.pk,), task_id=task_id))
    return run
