"""train_recommenders and evaluate_recommenders, and the admin pages of the trained versions."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.urls import reverse

from personalization.models import RecommenderVersion, TrainingRun
from personalization.recommendations import store
from tests.factories import make_user
from tests.recommendations.test_training import (  # noqa: F401 (autouse fixture)
    KINDS,
    Shop,
    build_shop,
    clean_state,
    train_now,
)
from tests.recsys.test_datasets import write_movielens

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db) -> Shop:
    return build_shop()


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


# -- train_recommenders -----------------------------------------------------------------------


def test_train_command_prints_kinds_metrics_and_timings(shop: Shop) -> None:
    output = run("train_recommenders", "--holdout-days", "10")
    assert "Interactions: 159 rows, 15 people, 16 items" in output
    for kind in KINDS:
        assert f"\n{kind} (" in output
    assert "precision@10" in output and "ndcg@10" in output
    assert "fit " in output and "precompute " in output
    assert "Training run" in output and "done in" in output
    assert RecommenderVersion.objects.filter(is_active=True).count() == len(KINDS)


def test_train_command_trains_one_kind_and_skips_when_trained(shop: Shop) -> None:
    run("train_recommenders", "--kind", "trending", "--holdout-days", "0")
    assert list(RecommenderVersion.objects.values_list("kind", flat=True)) == ["trending"]
    assert "Every kind has an active version" in run(
        "train_recommenders", "--kind", "trending", "--if-untrained"
    )
    assert RecommenderVersion.objects.count() == 1
    assert "Activated" in run("train_recommenders", "--if-untrained", "--holdout-days", "0")
    assert RecommenderVersion.objects.filter(is_active=True).count() == len(KINDS)


def test_train_command_errors(db) -> None:
    with pytest.raises(CommandError, match="no interactions"):
        run("train_recommenders")
    with pytest.raises(CommandError, match="unknown kind"):
        run("train_recommenders", "--kind", "nope")
    with pytest.raises(CommandError, match="holdout"):
        run("train_recommenders", "--holdout-days", "-1")


# -- evaluate_recommenders ----------------------------------------------------------------------


def test_evaluate_on_the_database_prints_a_table_per_hold_out(shop: Shop) -> None:
    output = run("evaluate_recommenders", "--dataset", "db", "--test-days", "10")
    assert "This site: 159 weighted interactions, 15 people, 16 items, 16 products" in output
    assert "repeat purchases counted" in output and "only new items" in output
    header = "| model | precision@10 | recall@10 | nDCG@10 | MAP | MAP@10 | coverage | fit s"
    assert output.count(header) == 2
    for model in ("popular (all-time)", "item_knn", "ease", "content", "buy_again", "default"):
        assert f"| {model} | " in output


def test_evaluate_on_movielens_includes_the_rating_models(tmp_path: Path) -> None:
    write_movielens(tmp_path)
    output = run(
        "evaluate_recommenders",
        "--dataset",
        "movielens-100k",
        "--path",
        str(tmp_path),
        "--model",
        "ease",
        "--model",
        "popular",
    )
    assert "Microsoft Recommenders protocol" in output
    rows = [line for line in output.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split(" | ")[0] for row in rows] == ["| model", "| ease", "| popular"]


def test_evaluate_path_errors(tmp_path: Path, db) -> None:
    with pytest.raises(CommandError, match="needs --path"):
        run("evaluate_recommenders", "--dataset", "online-retail")
    with pytest.raises(CommandError, match="does not exist"):
        run("evaluate_recommenders", "--dataset", "movielens-100k", "--path", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="no u.data"):
        run("evaluate_recommenders", "--dataset", "movielens-100k", "--path", str(tmp_path))
    a_file = tmp_path / "ratings.csv"
    a_file.write_text("a,b\n1,2\n")
    with pytest.raises(CommandError, match="not a folder"):
        run("evaluate_recommenders", "--dataset", "movielens-100k", "--path", str(a_file))
    with pytest.raises(CommandError, match="not the Online Retail CSV|cannot read"):
        run("evaluate_recommenders", "--dataset", "online-retail", "--path", str(a_file))
    with pytest.raises(CommandError, match="takes no --path"):
        run("evaluate_recommenders", "--dataset", "db", "--path", str(tmp_path))
    with pytest.raises(CommandError, match="no interactions"):
        run("evaluate_recommenders", "--dataset", "db")
    write_movielens(tmp_path)
    with pytest.raises(CommandError, match="unknown model"):
        run("evaluate_recommenders", "--dataset", "movielens-100k", "--path", str(tmp_path),
            "--model", "magic")  # fmt: skip
    with pytest.raises(CommandError, match="--k"):
        run("evaluate_recommenders", "--dataset", "db", "--k", "0")


# -- admin -----------------------------------------------------------------------------------


def test_admin_lists_versions_with_metrics_and_runs(shop: Shop, admin_client) -> None:
    train_now(holdout_days=10)
    version = store.active_version("default")
    page = admin_client.get(reverse("admin:personalization_recommenderversion_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Train now" in html
    assert "Latest training runs" in html and "Succeeded" in html
    assert f"{version.metrics['precision']:.4f}" in html
    assert f"{version.data_summary['rows']:,}" in html
    detail = admin_client.get(
        reverse("admin:personalization_recommenderversion_change", args=[version.pk])
    )
    assert detail.status_code == 200
    assert "precision" in detail.content.decode()
    assert version.artifact.name in detail.content.decode()
    runs = admin_client.get(reverse("admin:personalization_trainingrun_changelist"))
    assert runs.status_code == 200
    assert all(kind in runs.content.decode() for kind in KINDS)
    run_page = admin_client.get(
        reverse("admin:personalization_trainingrun_change", args=[version.run_id])
    )
    assert run_page.status_code == 200


def test_train_now_queues_the_task_and_shows_its_status(
    shop: Shop, admin_client, django_capture_on_commit_callbacks
) -> None:
    url = reverse("admin:personalization_recommenderversion_train")
    assert admin_client.get(url).status_code == 405  # POST only
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url)
    assert response.status_code == 302
    queued = TrainingRun.objects.get()
    assert queued.trigger == "admin" and queued.requested_by == "admin"
    # Tasks run eagerly in the tests: the run is done and its versions are active.
    assert queued.status == TrainingRun.SUCCEEDED
    assert queued.task_id
    assert RecommenderVersion.objects.filter(run=queued, is_active=True).count() == len(KINDS)
    page = admin_client.get(response.url)
    assert f"Training run {queued.pk} queued" in page.content.decode()


def test_train_now_needs_the_permission(client, db) -> None:
    staff = make_user(is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(codename="view_recommenderversion"),
    )
    client.force_login(staff)
    page = client.get(reverse("admin:personalization_recommenderversion_changelist"))
    assert page.status_code == 200
    assert "Train now" not in page.content.decode()
    assert client.post(reverse("admin:personalization_recommenderversion_train")).status_code == 403
    assert not TrainingRun.objects.exists()
    staff.user_permissions.add(Permission.objects.get(codename="add_trainingrun"))
    assert client.post(reverse("admin:personalization_recommenderversion_train")).status_code == 302
    # Queued once the transaction commits (never, inside this test's transaction).
    assert TrainingRun.objects.get().status == TrainingRun.QUEUED


# -- system checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value", "check_id"),
    [
        ("RECOMMENDATION_EVENT_WEIGHTS", {"product_view": -1}, "personalization.E050"),
        ("RECOMMENDATION_EVENT_WEIGHTS", [], "personalization.E050"),
        ("RECOMMENDERS", {}, "personalization.E051"),
        ("RECOMMENDERS", {"mine": {"params": {}}}, "personalization.E051"),
        ("RECOMMENDERS", {"mine": {"model": "ease", "lists": "all"}}, "personalization.E051"),
        ("RECOMMENDERS", {"mine": {"model": "ease", "events": ["dwell"]}}, "personalization.E051"),
        ("RECOMMENDATION_HALF_LIFE_DAYS", 0, "personalization.E052"),
        ("RECOMMENDATION_PRECOMPUTE_SIZE", None, "personalization.E052"),
        ("RECOMMENDATION_KEEP_VERSIONS", 0, "personalization.E052"),
        ("RECOMMENDATION_EASE_MAX_ITEMS", "all", "personalization.E052"),
        ("RECOMMENDATION_ARTIFACT_STORAGE", "private", "personalization.E053"),
    ],
)
def test_checks_report_bad_training_settings(settings, setting, value, check_id) -> None:
    from personalization.checks import check_recommendation_settings

    assert check_recommendation_settings() == []
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, setting: value}
    assert [m.id for m in check_recommendation_settings()] == [check_id]


def test_checks_accept_none_where_it_means_no_limit(settings) -> None:
    from personalization.checks import check_recommendation_settings

    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "RECOMMENDATION_HALF_LIFE_DAYS": None,
        "RECOMMENDATION_LOOKBACK_DAYS": None,
        "RECOMMENDATION_EASE_MAX_ITEMS": None,
        "RECOMMENDATION_HOLDOUT_DAYS": 0,
    }
    assert check_recommendation_settings() == []


def test_deleting_versions_in_the_admin_deletes_their_artifacts(shop: Shop, admin_client) -> None:
    train_now(kinds=["trending", "similar"])
    versions = list(RecommenderVersion.objects.all())
    storage = versions[0].artifact.storage
    names = [v.artifact.name for v in versions]
    assert all(storage.exists(name) for name in names)
    response = admin_client.post(
        reverse("admin:personalization_recommenderversion_changelist"),
        {"action": "delete_selected", "_selected_action": [v.pk for v in versions], "post": "yes"},
    )
    assert response.status_code == 302
    assert not RecommenderVersion.objects.exists()
    assert not any(storage.exists(name) for name in names)
