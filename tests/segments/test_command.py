"""``manage.py build_segments``: the steps with their times, the RFM table, clusters, propensity."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from personalization.models import SegmentationRun
from personalization.segments.pipeline import STEPS

pytestmark = pytest.mark.django_db


def build(*args: str) -> str:
    out = StringIO()
    call_command("build_segments", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def small_store() -> None:
    call_command(
        "seed_demo", "--products", "80", "--customers", "60", "--months", "6", stdout=StringIO()
    )


def test_prints_steps_rfm_table_clusters_and_propensity(small_store) -> None:
    output = build("--as-of", "2026-11-01")

    for step, _ in STEPS:
        assert re.search(rf"^{step}\s+\d+\.\d\d s$", output, re.MULTILINE), step
    assert "as of 2026-11-01T00:00:00" in output
    header = re.search(
        r"^\s+segment\s+customers\s+share\s+recency \(d\)\s+frequency\s+monetary$",
        output,
        re.MULTILINE,
    )
    assert header
    run = SegmentationRun.objects.get()
    assert run.triggered_by == "command" and run.status == SegmentationRun.DONE
    for row in run.metrics["rfm"]:
        if row["customers"]:
            assert re.search(
                rf"^\s+{re.escape(row['segment'])}\s+{row['customers']}\s", output, re.MULTILINE
            )
    assert f"K-Means clusters (k={run.metrics['kmeans']['k']};" in output
    for cluster in run.clusters.filter(algorithm="kmeans"):
        assert cluster.description in output
    assert "DBSCAN (eps" in output
    auc = run.metrics["propensity"]["metrics"]["roc_auc"]
    assert f"ROC AUC {auc:.3f}" in output
    assert f"Segmentation run {run.pk} done" in output


def test_if_empty_does_nothing_after_a_successful_run(small_store) -> None:
    build("--as-of", "2026-11-01", "--if-empty")
    assert "nothing to do" in build("--if-empty")
    assert SegmentationRun.objects.count() == 1


def test_a_bad_as_of_is_refused() -> None:
    with pytest.raises(CommandError, match="--as-of"):
        build("--as-of", "yesterday-ish")
    assert not SegmentationRun.objects.exists()


def test_a_failed_run_is_an_error() -> None:
    with pytest.raises(CommandError, match="failed: features: ValueError: no events"):
        build()
    assert SegmentationRun.objects.get().status == SegmentationRun.FAILED
