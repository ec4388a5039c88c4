"""Training through a real Celery worker, on PostgreSQL and Redis (the ``services`` mode)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache, caches

from personalization.models import RecommenderVersion, TrainingRun
from personalization.recommendations import store, training
from personalization.tasks import train_recommenders
from tests.recommendations.test_training import KINDS, build_shop, ids

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fresh() -> Iterator[None]:
    """No remembered version or loaded model; the worker's artifacts are deleted afterwards
    (the worker writes them into the storage of its own settings, which this process shares)."""
    cache.clear()
    store.forget_active_versions()
    store.forget_models()
    yield
    for version in RecommenderVersion.objects.exclude(artifact=""):
        version.artifact.delete(save=False)
    store.forget_active_versions()
    store.forget_models()
    cache.clear()


def test_the_worker_trains_and_this_process_serves_its_lists(
    celery_worker_process: dict[str, str], fresh: None
) -> None:
    from django_redis.cache import RedisCache

    assert isinstance(caches["default"], RedisCache)
    shop = build_shop()
    run = training.request_run("test")

    result = train_recommenders.delay(run.pk).get(timeout=300)

    assert result == {"run": run.pk, "status": TrainingRun.SUCCEEDED, "error": ""}
    run.refresh_from_db()
    assert run.finished_at is not None
    assert RecommenderVersion.objects.filter(run=run, is_active=True).count() == len(KINDS)
    # The lists the worker wrote into Redis, read by this process.
    garden_user = shop.garden_people[0]
    recommended = ids(store.for_person(store.person_key(user=garden_user)))
    assert set(recommended[:4]) <= shop.ids(shop.garden)
    pan = str(shop.kitchen[0].pk)
    assert set(ids(store.for_product(pan, kind="similar"))[:4]) <= shop.ids(shop.kitchen)
    assert ids(store.trending())
    # The artifact the worker saved, loaded here, agrees with the precomputed list.
    model = store.load_model("default")
    assert model is not None
    key = f"u:{garden_user.pk}"
    assert [i for i, _ in model.recommend(key, len(recommended), False)] == recommended
