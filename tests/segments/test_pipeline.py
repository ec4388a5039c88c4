"""The segmentation pipeline on a small generated store: profiles, RFM segments, clusters,
propensity, the generated segments, failures, the task, and the personas it finds."""

from __future__ import annotations

import datetime as dt
import warnings
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from demo_shop.shop.models import CustomerProfile
from personalization.models import (
    Cluster,
    Event,
    Profile,
    Segment,
    SegmentationRun,
    SegmentMembership,
    SegmentSize,
    Session,
)
from personalization.segmentation.rfm import SEGMENTS
from personalization.segments import features as feature_io
from personalization.segments.pipeline import (
    LIKELY_TO_BUY,
    STEPS,
    cluster_slug,
    queue_run,
    rfm_slug,
    run_pipeline,
)
from personalization.segments.profiles import profile_attributes
from personalization.tasks import build_segments

pytestmark = pytest.mark.django_db

AS_OF = "2026-11-01T00:00:00+00:00"
SMALL = ("--products", "80", "--customers", "60", "--months", "6", "--seed", "5")


def seed(*args: str) -> None:
    call_command("seed_demo", *args, stdout=StringIO())


def new_run(**params) -> SegmentationRun:
    return SegmentationRun.objects.create(params={"as_of": AS_OF, **params})


@pytest.fixture
def small_store() -> None:
    seed(*SMALL)


def test_a_run_builds_profiles_rfm_clusters_propensity_and_segments(small_store) -> None:
    seen = []
    run = run_pipeline(new_run(), on_step=lambda step, seconds: seen.append(step))

    assert run.status == SegmentationRun.DONE, run.error
    assert run.progress == 100
    assert run.started_at <= run.finished_at
    assert seen == [step for step, _ in STEPS]
    assert set(run.metrics["timings"]) == set(seen)
    assert run.params["settings"]["scaler"] == "standard"

    # Profiles: one per person, users with orders scored.
    profiles = Profile.objects.all()
    assert profiles.count() == run.metrics["profiles"] > 60
    assert profiles.filter(user__isnull=False).count() == run.metrics["customers"]
    buyers = profiles.filter(frequency__gt=0)
    assert buyers.exists()
    assert not buyers.filter(rfm_segment="").exists()
    assert not buyers.filter(r_score__isnull=True).exists()
    assert not profiles.filter(frequency=0).exclude(rfm_segment="").exists()
    assert not profiles.filter(cluster__isnull=True).exists()
    assert not profiles.filter(propensity__isnull=True).exists()
    some = buyers.first()
    assert some.category_affinity and some.device_mix and some.last_activity

    # One static RFM segment per name, with the profiles of that name as members.
    for name in SEGMENTS:
        segment = Segment.objects.get(slug=rfm_slug(name))
        assert (segment.kind, segment.mode) == (Segment.RFM, Segment.STATIC)
        assert segment.member_count == profiles.filter(rfm_segment=name).count()
    assert sum(row["customers"] for row in run.metrics["rfm"]) == buyers.count()

    # Clusters of both algorithms with sizes and descriptions; a segment per K-Means cluster.
    kmeans = Cluster.objects.filter(run=run, algorithm=Cluster.KMEANS)
    assert kmeans.count() == run.metrics["kmeans"]["k"] >= 2
    assert sum(kmeans.values_list("size", flat=True)) == profiles.count()
    assert all(cluster.description for cluster in kmeans)
    assert set(run.metrics["kmeans"]["silhouette"]) <= {str(k) for k in range(4, 11)}
    for cluster in kmeans:
        segment = Segment.objects.get(slug=cluster_slug(cluster.label))
        assert segment.kind == Segment.CLUSTER
        assert cluster.description in segment.name
        assert segment.member_count == cluster.size == profiles.filter(cluster=cluster).count()
    dbscan = Cluster.objects.filter(run=run, algorithm=Cluster.DBSCAN)
    assert sum(dbscan.values_list("size", flat=True)) == run.metrics["dbscan"]["fitted_on"]
    assert run.metrics["dbscan"]["eps"] > 0

    # The propensity model's version and metrics, and the segment it feeds.
    propensity = run.metrics["propensity"]
    assert propensity["version"].startswith("propensity-30d-")
    assert 0 <= propensity["metrics"]["roc_auc"] <= 1
    assert 0 <= propensity["metrics"]["brier"] <= 1
    assert propensity["metrics"]["reliability"]
    likely = Segment.objects.get(slug=LIKELY_TO_BUY)
    assert likely.kind == Segment.PROPENSITY
    assert likely.definition == {"min_propensity": 0.5}
    assert likely.member_count == profiles.filter(propensity__gte=0.5).count()

    # The day's sizes: the trend.
    assert SegmentSize.objects.filter(segment=likely, size=likely.member_count).exists()


def test_a_second_run_gives_the_same_results_and_keeps_the_stayers_rows(small_store) -> None:
    first = run_pipeline(new_run())
    before = dict(Profile.objects.values_list("pk", "propensity"))
    descriptions = list(first.clusters.values_list("algorithm", "label", "size", "description"))
    rows = SegmentMembership.objects.count()

    second = run_pipeline(new_run())

    assert second.status == SegmentationRun.DONE
    assert dict(Profile.objects.values_list("pk", "propensity")) == before
    assert (
        list(second.clusters.values_list("algorithm", "label", "size", "description"))
        == descriptions
    )
    # Same members: no membership opened or closed.
    assert SegmentMembership.objects.count() == rows
    assert not SegmentMembership.objects.filter(exited_at__isnull=False).exists()


def test_cluster_segments_of_labels_gone_are_emptied_and_deactivated(small_store) -> None:
    run_pipeline(new_run())
    stale = Segment.objects.create(slug=cluster_slug(40), name="Old", kind=Segment.CLUSTER)
    SegmentMembership.objects.create(
        segment=stale, user=Profile.objects.filter(user__isnull=False).first().user
    )

    run_pipeline(new_run())

    stale.refresh_from_db()
    assert not stale.is_active
    assert not SegmentMembership.objects.filter(segment=stale, exited_at__isnull=True).exists()


def test_propensity_snapshots_end_at_the_last_order(small_store) -> None:
    """Computed months after the orders stop, the model still learns from whole horizons."""
    run = run_pipeline(new_run(as_of="2027-03-01T00:00:00+00:00"))
    assert run.status == SegmentationRun.DONE, run.error
    metrics = run.metrics["propensity"]["metrics"]
    assert metrics["cutoff"] < "2026-11-01"
    assert metrics["roc_auc"] is not None
    assert 0 < metrics["positive_rate"] < 1


def test_a_segment_switched_off_stays_off(small_store) -> None:
    run_pipeline(new_run())
    Segment.objects.filter(slug=rfm_slug("Lost")).update(is_active=False)
    run_pipeline(new_run())
    assert not Segment.objects.get(slug=rfm_slug("Lost")).is_active
    assert Segment.objects.get(slug=rfm_slug("Champions")).is_active


def test_events_of_no_one_are_ignored(small_store) -> None:
    Event.objects.create(name="page_view", path="/", visitor=None, user=None)
    run = run_pipeline(new_run())
    assert run.status == SegmentationRun.DONE, run.error


def test_people_gone_lose_their_profile(small_store) -> None:
    run_pipeline(new_run())
    visitor_profile = Profile.objects.filter(visitor__isnull=False).first()
    visitor_profile.visitor.events.all().delete()
    visitor_profile.visitor.sessions.all().delete()

    run_pipeline(new_run())

    assert not Profile.objects.filter(pk=visitor_profile.pk).exists()


def test_a_failing_step_marks_the_run_failed_and_keeps_the_old_profiles(
    small_store, monkeypatch
) -> None:
    run_pipeline(new_run())
    profiles = Profile.objects.count()

    def broken(*args, **kwargs):
        raise RuntimeError("propensity exploded")

    monkeypatch.setattr("personalization.segments.pipeline.fit_propensity", broken)
    run = run_pipeline(new_run())

    assert run.status == SegmentationRun.FAILED
    assert run.step == "propensity"
    assert run.error.startswith("propensity: RuntimeError: propensity exploded")
    assert run.finished_at is not None
    assert "propensity" in run.metrics["timings"]
    assert Profile.objects.count() == profiles
    assert SegmentationRun.objects.get(pk=run.pk).status == SegmentationRun.FAILED


def test_nothing_to_build_from_fails_with_a_clear_message() -> None:
    run = run_pipeline(new_run())
    assert run.status == SegmentationRun.FAILED
    assert "features: ValueError: no events, sessions or orders" in run.error


@override_settings(PERSONALIZATION={"SEGMENTATION_SCALER": "minmax"})
def test_the_scaler_comes_from_the_settings(small_store) -> None:
    run = run_pipeline(new_run())
    assert run.status == SegmentationRun.DONE, run.error
    assert run.params["settings"]["scaler"] == "minmax"


@override_settings(PERSONALIZATION={"SEGMENTATION_SCALER": "robust"})
def test_an_unknown_scaler_fails_the_run(small_store) -> None:
    run = run_pipeline(new_run())
    assert run.status == SegmentationRun.FAILED
    assert "cleaning: ValueError: unknown scaler 'robust'" in run.error


@override_settings(PERSONALIZATION={"SEGMENTATION_LIKELY_TO_BUY_THRESHOLD": 0.0})
def test_the_likely_to_buy_threshold_comes_from_the_settings(small_store) -> None:
    run_pipeline(new_run())
    assert Segment.objects.get(slug=LIKELY_TO_BUY).member_count == Profile.objects.count()


def test_profile_attributes_for_rules(small_store) -> None:
    run_pipeline(new_run())
    profile = Profile.objects.filter(frequency__gt=0, user__customer__country__gt="").first()
    attributes = profile_attributes(profile)

    assert attributes["frequency"] == profile.frequency
    assert attributes["rfm_segment"] == profile.rfm_segment
    assert attributes["propensity"] == profile.propensity
    assert attributes["cluster"] == profile.cluster.label
    assert attributes["country"] == profile.user.customer.country
    assert attributes["top_category"] == max(
        profile.category_affinity, key=profile.category_affinity.get
    )
    assert profile_attributes(None) == {}
    # Unknown values are left out rather than None, so "exists" tells them apart.
    visitor = Profile.objects.filter(frequency=0, recency_days__isnull=True).first()
    assert "recency_days" not in profile_attributes(visitor)


def test_a_store_with_orders_only_is_segmented(small_store) -> None:
    """An imported order history has no events or sessions: the session features are all
    missing, and the propensity model does without them."""
    Event.objects.all().delete()
    Session.objects.all().delete()
    with warnings.catch_warnings():
        # The empty columns are left out, not fed to the scalers ("All-NaN slice").
        warnings.simplefilter("error", RuntimeWarning)
        run = run_pipeline(new_run())
    assert run.status == SegmentationRun.DONE, run.error
    features = run.metrics["propensity"]["features"]
    assert "frequency" in features and "avg_session_seconds" not in features
    assert not Profile.objects.filter(user__isnull=True).exists()


def test_orders_of_unknown_or_malformed_customers_are_skipped(caplog) -> None:
    from personalization.adapters import InMemoryStoreAdapter, OrderData, OrderLineData

    when = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    line = (OrderLineData("p1", 1, 10),)
    adapter = InMemoryStoreAdapter(
        orders=[
            OrderData("A", "12", when, line),
            OrderData("B", "not-an-id", when, line),
            OrderData("C", None, when, line),
        ]
    )
    frame = feature_io.read_order_lines(adapter, when)
    assert frame["person"].tolist() == [12]
    assert "skipped 1 orders" in caplog.text


def test_the_task_runs_a_queued_run_once(small_store, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = queue_run("admin")
    run.refresh_from_db()
    assert run.status == SegmentationRun.DONE
    assert run.triggered_by == "admin" and run.task_id
    # A duplicate delivery does nothing.
    assert build_segments(run.pk) == {"run": run.pk, "status": "done"}
    assert build_segments(999_999) == {"run": 999_999, "status": "unknown run"}


def test_the_scheduled_task_records_its_own_run(small_store) -> None:
    result = build_segments()
    run = SegmentationRun.objects.get(pk=result["run"])
    assert run.triggered_by == "schedule"
    assert result["status"] == "done"


def test_it_finds_the_personas_of_the_demo_store() -> None:
    """On the seeded demo store, the distinctive personas each get a cluster of their own: the
    cluster holding most of them is led by them, and the clusters are far purer than chance."""
    seed("--customers", "600", "--months", "12")
    run = run_pipeline(new_run())
    assert run.status == SegmentationRun.DONE, run.error

    persona = dict(CustomerProfile.objects.values_list("user_id", "persona"))
    pairs = [
        (label, persona[user])
        for user, label in Profile.objects.filter(user__isnull=False).values_list(
            "user_id", "cluster__label"
        )
        if user in persona
    ]
    by_cluster: dict[int, Counter] = {}
    for label, name in pairs:
        by_cluster.setdefault(label, Counter())[name] += 1
    for name in ("new_visitor", "category_fan", "window_shopper"):
        home = max(by_cluster, key=lambda label: by_cluster[label][name])
        total = sum(counts[name] for counts in by_cluster.values())
        assert by_cluster[home].most_common(1)[0][0] == name, (name, run.metrics["kmeans"])
        assert by_cluster[home][name] >= 0.6 * total, (name, by_cluster[home][name], total)
    purity = sum(counts.most_common(1)[0][1] for counts in by_cluster.values()) / len(pairs)
    largest_persona = max(Counter(name for _, name in pairs).values()) / len(pairs)
    assert purity >= 1.6 * largest_persona


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_task(celery_worker_process) -> None:
    seed(*SMALL)
    run = SegmentationRun.objects.create(triggered_by="admin", params={"as_of": AS_OF})
    result = build_segments.delay(run.pk).get(timeout=180)
    run.refresh_from_db()
    assert result == {"run": run.pk, "status": "done", "error": ""}
    assert run.status == SegmentationRun.DONE
    assert Profile.objects.count() == run.metrics["profiles"]
    assert Segment.objects.get(slug=LIKELY_TO_BUY).last_computed_at is not None
