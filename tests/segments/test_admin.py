"""Admin pages of segments, memberships, profiles, clusters and segmentation runs."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from personalization.admin.segments import sparkline, trend_arrow
from personalization.models import (
    Profile,
    Segment,
    SegmentationRun,
    SegmentMembership,
    SegmentSize,
)
from personalization.segments.pipeline import run_pipeline
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def url(model: str, view: str = "changelist", *args) -> str:
    return reverse(f"admin:personalization_{model}_{view}", args=args)


@pytest.fixture
def segment_with_trend() -> Segment:
    segment = Segment.objects.create(
        slug="big-spenders",
        name="Big spenders",
        rule={"attr": "monetary", "op": ">=", "value": 500},
        member_count=2,
    )
    today = timezone.localdate()
    for days_ago, size in ((3, 5), (2, 9), (1, 4), (0, 12)):
        SegmentSize.objects.create(
            segment=segment, day=today - dt.timedelta(days=days_ago), size=size
        )
    return segment


def test_sparkline_and_arrow() -> None:
    svg = sparkline([1, 3, 2])
    assert svg.startswith("<svg") and "<polyline" in svg and "script" not in svg
    # The highest value touches the top, the lowest the bottom.
    assert 'points="0.0,19.0 50.0,1.0 100.0,10.0"' in svg
    assert sparkline([4]) == ""
    assert trend_arrow([5, 9, 12]) == "↑ +7"
    assert trend_arrow([5, 2]) == "↓ -3"
    assert trend_arrow([5, 5]) == "→ +0"


def test_segment_list_shows_kind_mode_members_and_trend(admin_client, segment_with_trend) -> None:
    response = admin_client.get(url("segment"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Big spenders" in page
    assert "<polyline" in page
    assert "↑ +7" in page
    assert "Recompute now" in page
    members = (
        url("segmentmembership") + f"?segment__id__exact={segment_with_trend.pk}&amp;current=yes"
    )
    assert members in page


def test_segment_list_queries_do_not_grow_with_segments(
    admin_client, segment_with_trend, django_assert_max_num_queries
) -> None:
    for n in range(10):
        other = Segment.objects.create(slug=f"s{n}", name=f"S{n}", kind=Segment.MANUAL)
        SegmentSize.objects.create(segment=other, day=timezone.localdate(), size=n)
    with django_assert_max_num_queries(12):
        admin_client.get(url("segment"))


def test_a_rule_is_validated_on_save_with_its_json_path(admin_client) -> None:
    response = admin_client.post(
        url("segment", "add"),
        {
            "name": "Broken",
            "slug": "broken",
            "kind": "rule",
            "mode": "dynamic",
            "description": "",
            "is_active": "on",
            "rule": '{"all": [{"attr": "monetary", "op": "=>", "value": 5}]}',
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "$.all[0].op: unknown operator" in page
    assert "docs/segments.md" in page
    assert not Segment.objects.filter(slug="broken").exists()


def test_a_valid_rule_segment_is_saved(admin_client) -> None:
    response = admin_client.post(
        url("segment", "add"),
        {
            "name": "Cart fans",
            "slug": "cart-fans",
            "kind": "rule",
            "mode": "dynamic",
            "description": "",
            "is_active": "on",
            "rule": '{"events": {"name": "add_to_cart", "within": "7d"}, "count": {">=": 2}}',
        },
    )
    assert response.status_code == 302
    assert Segment.objects.get(slug="cart-fans").rule["count"] == {">=": 2}


def test_generated_segments_are_read_only(admin_client) -> None:
    segment = Segment.objects.create(
        slug="rfm-champions",
        name="RFM: Champions",
        kind=Segment.RFM,
        definition={"rfm_segment": "Champions"},
    )
    response = admin_client.get(url("segment", "change", segment.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="name"' not in page
    assert "Computed by the segmentation pipeline" in page
    assert "Delete" not in page.split('id="content-main"')[1].split("</form>")[0]


def test_membership_list_current_and_past(admin_client, segment_with_trend) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    SegmentMembership.objects.create(segment=segment_with_trend, user=ann)
    SegmentMembership.objects.create(segment=segment_with_trend, user=bob, exited_at=timezone.now())
    current = admin_client.get(url("segmentmembership") + "?current=yes").content.decode()
    past = admin_client.get(url("segmentmembership") + "?current=no").content.decode()
    assert ">ann<" in current and ">bob<" not in current
    assert ">bob<" in past and ">ann<" not in past
    found = admin_client.get(url("segmentmembership") + "?q=bob").content.decode()
    assert ">bob<" in found and ">ann<" not in found


@pytest.fixture
def run() -> SegmentationRun:
    call_command(
        "seed_demo", "--products", "80", "--customers", "60", "--months", "6", stdout=StringIO()
    )
    return run_pipeline(
        SegmentationRun.objects.create(params={"as_of": "2026-11-01T00:00:00+00:00"})
    )


def test_run_pages_show_metrics_clusters_and_profiles(admin_client, run) -> None:
    assert run.status == SegmentationRun.DONE, run.error
    listing = admin_client.get(url("segmentationrun")).content.decode()
    assert "<progress" in listing and "Recompute now" in listing

    page = admin_client.get(url("segmentationrun", "change", run.pk)).content.decode()
    for text in ("Champions", "silhouette", "ROC AUC", "Brier", "eps", "observed rate"):
        assert text in page, text
    for cluster in run.clusters.all():
        assert cluster.description in page
    # A finished run's page does not reload itself.
    assert 'http-equiv="refresh"' not in page

    profiles = admin_client.get(url("profile")).content.decode()
    assert "rfm_segment" in profiles or "Rfm segment" in profiles
    user_profile = Profile.objects.filter(user__isnull=False).select_related("user").first()
    found = admin_client.get(url("profile") + f"?q={user_profile.user.username}")
    assert found.context["cl"].result_count == 1
    assert admin_client.get(url("profile", "change", user_profile.pk)).status_code == 200
    assert admin_client.get(url("cluster")).status_code == 200


def test_recompute_now_queues_a_run_and_shows_its_progress(
    admin_client, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    queued = []
    monkeypatch.setattr(
        "personalization.tasks.build_segments.apply_async",
        lambda args, task_id: queued.append((args, task_id)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url("segmentationrun", "recompute"))
    run = SegmentationRun.objects.get()
    assert run.triggered_by == "admin" and run.status == SegmentationRun.PENDING
    assert queued == [((run.pk,), run.task_id)]
    assert response.status_code == 302
    assert response.url == url("segmentationrun", "change", run.pk)

    page = admin_client.get(response.url).content.decode()
    assert 'http-equiv="refresh"' in page
    assert "<progress" in page

    # While a run waits, another click does not queue a second one.
    admin_client.post(url("segmentationrun", "recompute"))
    assert SegmentationRun.objects.count() == 1
    assert len(queued) == 1


def test_recompute_needs_post_and_permission(client, admin_client) -> None:
    assert admin_client.get(url("segmentationrun", "recompute")).status_code == 405
    staff = make_user("staff", is_staff=True)
    client.force_login(staff)
    assert client.post(url("segmentationrun", "recompute")).status_code == 403
    assert not SegmentationRun.objects.exists()
