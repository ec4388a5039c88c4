"""The training pipeline on small generated shop data (embedded mode: SQLite, locmem cache)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from django.core.cache import cache
from django.utils import timezone

from demo_shop.shop.models import Order, OrderLine, Product
from personalization.conf import DEFAULTS
from personalization.models import Event, RecommenderVersion, TrainingRun, Visitor
from personalization.recommendations import interactions as sources
from personalization.recommendations import store, training
from tests.factories import make_category, make_product, make_user

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
KINDS = ["default", "buy_again", "similar", "bought_together", "trending"]


@dataclass
class Shop:
    """Generated data: two tastes (garden, kitchen), their people and products."""

    garden: list[Product]
    kitchen: list[Product]
    garden_people: list[Any]
    kitchen_people: list[Any]
    anonymous: list[Visitor]

    def ids(self, products: list[Product]) -> set[str]:
        return {str(p.pk) for p in products}


def build_shop(people_per_taste: int = 6, products_per_taste: int = 8) -> Shop:
    """Each person views, carts and buys products of their own taste only; anonymous visitors
    view garden products. Everything happens in the 40 days before NOW."""
    garden_category, kitchen_category = make_category("Garden"), make_category("Kitchen")
    garden = [
        make_product(f"Garden hose trowel {n}", category=garden_category, price="12.00")
        for n in range(products_per_taste)
    ]
    kitchen = [
        make_product(f"Kitchen pan whisk {n}", category=kitchen_category, price="80.00")
        for n in range(products_per_taste)
    ]
    events: list[Event] = []
    orders = 0

    def behave(user: Any, visitor: Visitor, products: list[Product], offset: int) -> None:
        nonlocal orders
        for step in range(6):
            product = products[(offset + step) % len(products)]
            moment = NOW - dt.timedelta(days=40 - step * 6, hours=offset)
            events.append(
                Event(
                    name="product_view",
                    visitor=visitor,
                    user=user,
                    product_id=str(product.pk),
                    occurred_at=moment,
                )
            )
            if step % 2 == 0:
                events.append(
                    Event(
                        name="add_to_cart",
                        visitor=visitor,
                        user=user,
                        product_id=str(product.pk),
                        occurred_at=moment + dt.timedelta(minutes=5),
                    )
                )
            if user is not None and step in (0, 4):
                orders += 1
                order = Order.objects.create(
                    number=f"T{orders:05d}", user=user, created_at=moment + dt.timedelta(minutes=9)
                )
                OrderLine.objects.create(
                    order=order,
                    product=product,
                    quantity=1,
                    unit_price=product.price,
                    line_total=Decimal(product.price),
                )

    garden_people, kitchen_people = [], []
    for n in range(people_per_taste * 2):
        user = make_user()
        visitor = Visitor.objects.create(user=user)
        taste = garden if n % 2 == 0 else kitchen
        (garden_people if n % 2 == 0 else kitchen_people).append(user)
        behave(user, visitor, taste, n)
    anonymous = [Visitor.objects.create() for _ in range(3)]
    for n, visitor in enumerate(anonymous):
        behave(None, visitor, garden, n)
    Event.objects.bulk_create(events)
    return Shop(garden, kitchen, garden_people, kitchen_people, anonymous)


@pytest.fixture(autouse=True)
def clean_state(settings, tmp_path: Path) -> Iterator[None]:
    """Artifacts in a temporary folder; no cache entry or remembered version across tests."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    cache.clear()
    store.forget_active_versions()
    store.forget_models()
    yield
    store.forget_active_versions()
    store.forget_models()
    cache.clear()


@pytest.fixture
def shop(db) -> Shop:
    return build_shop()


def train_now(**kwargs: Any) -> TrainingRun:
    return training.train(now=NOW, holdout_days=kwargs.pop("holdout_days", 0), **kwargs)


def ids(ranking: list[tuple[str, float]] | None) -> list[str]:
    assert ranking is not None
    return [item for item, _ in ranking]


# -- what is read ---------------------------------------------------------------------------------


def test_interactions_key_people_weigh_events_and_take_purchases_from_orders(shop: Shop) -> None:
    data = sources.collect(NOW)
    user = shop.garden_people[0]
    mine = data[data["user_id"] == f"u:{user.pk}"]
    assert set(mine["event"]) == {"product_view", "add_to_cart", "purchase"}
    assert set(mine["item_id"]) <= shop.ids(shop.garden)
    assert f"v:{shop.anonymous[0].vid}" in set(data["user_id"])
    # Two orders per customer; purchase events (none here) would not be read anyway.
    assert (data["event"] == "purchase").sum() == 2 * len(shop.garden_people + shop.kitchen_people)
    # Time decay (90-day half-life): a purchase 40 days old weighs 5 * 0.5 ** (40 / 90) or so.
    purchases = mine[mine["event"] == "purchase"]["weight"]
    assert 0 < purchases.min() < purchases.max() <= 5.0


def test_lookback_and_event_weights_come_from_the_settings(shop: Shop, settings) -> None:
    settings.PERSONALIZATION = {
        **settings.PERSONALIZATION,
        "RECOMMENDATION_LOOKBACK_DAYS": 20,
        "RECOMMENDATION_EVENT_WEIGHTS": {"product_view": 1.0},
        "RECOMMENDATION_HALF_LIFE_DAYS": None,
    }
    data = sources.collect(NOW)
    assert set(data["event"]) == {"product_view"}
    assert set(data["weight"]) == {1.0}
    assert pd.to_datetime(data["timestamp"], unit="s", utc=True).min() >= NOW - dt.timedelta(
        days=20
    )


def test_the_catalogue_has_the_published_products_with_features(shop: Shop) -> None:
    hidden = shop.garden[0]
    Product.objects.filter(pk=hidden.pk).update(is_published=False)
    catalogue = sources.read_catalogue()
    assert str(hidden.pk) not in set(catalogue["item_id"])
    row = catalogue[catalogue["item_id"] == str(shop.kitchen[0].pk)].iloc[0]
    assert row["category"] == "Kitchen"
    assert row["price"] == 80.0


# -- training ---------------------------------------------------------------------------------


def test_training_activates_one_version_per_kind_and_fills_the_cache(shop: Shop) -> None:
    run = train_now(holdout_days=10)
    assert run.status == TrainingRun.SUCCEEDED
    versions = {v.kind: v for v in RecommenderVersion.objects.filter(is_active=True)}
    assert sorted(versions) == sorted(KINDS)
    for version in versions.values():
        assert version.status == RecommenderVersion.READY
        assert version.label == f"v{run.pk}"
        assert version.artifact.storage.exists(version.artifact.name)
        assert version.data_summary["rows"] > 0
    assert set(versions["default"].metrics) >= {"precision", "recall", "ndcg", "map", "coverage"}
    assert run.summary["interactions"]["people"] == 12 + 3
    assert set(run.summary["seconds"]) >= {"read", "total", *KINDS}

    # Person lists: a garden customer gets garden products first.
    garden_user = shop.garden_people[0]
    key = store.person_key(user=garden_user)
    assert key == f"u:{garden_user.pk}"
    recommended = ids(store.for_person(key))
    assert set(recommended[:4]) <= shop.ids(shop.garden)
    assert ids(store.for_person(key, kind="buy_again"))  # they bought twice
    visitor_key = store.person_key(visitor_vid=shop.anonymous[0].vid)
    assert set(ids(store.for_person(visitor_key))[:4]) <= shop.ids(shop.garden)
    assert store.for_person("u:999999") is None

    # Product lists: neighbours of a kitchen product are kitchen products.
    pan = str(shop.kitchen[0].pk)
    assert set(ids(store.for_product(pan, kind="similar"))[:4]) <= shop.ids(shop.kitchen)
    carted = str(shop.kitchen[1].pk)  # odd positions are carted and bought
    assert set(ids(store.for_product(carted, kind="bought_together"))) <= shop.ids(shop.kitchen)
    assert store.for_product("no-such-product", kind="similar") is None
    trending = ids(store.trending())
    assert trending and set(trending) <= shop.ids(shop.garden + shop.kitchen)
    assert len(recommended) <= DEFAULTS["RECOMMENDATION_PRECOMPUTE_SIZE"]


def test_the_loaded_artifact_gives_the_precomputed_lists(shop: Shop) -> None:
    train_now()
    key = f"u:{shop.kitchen_people[0].pk}"
    model = store.load_model("default")
    assert model is not None
    assert store.load_model("default") is model  # loaded once per process
    size = DEFAULTS["RECOMMENDATION_PRECOMPUTE_SIZE"]
    assert ids(store.for_person(key)) == [i for i, _ in model.recommend(key, size, False)]
    similar = store.load_model("similar")
    pan = str(shop.kitchen[1].pk)
    assert ids(store.for_product(pan, kind="similar")) == [
        i for i, _ in similar.similar_items(pan, size)
    ]


def test_lists_the_cache_lost_are_recomputed_from_the_model_and_written_back(shop: Shop) -> None:
    train_now()
    key = f"u:{shop.garden_people[2].pk}"
    pan = str(shop.kitchen[3].pk)
    before = (store.for_person(key), store.for_person(key, kind="buy_again"))
    neighbours = store.for_product(pan, kind="similar")
    cache.clear()
    store.forget_models()
    assert (store.for_person(key), store.for_person(key, kind="buy_again")) == before
    assert store.for_product(pan, kind="similar") == neighbours
    version = store.active_version("default")
    assert cache.get(store.person_cache_key(version.pk, key)) == before[0]
    # People and products the model never saw still get None.
    assert store.for_person("v:stranger") is None
    assert store.for_product("no-such-product", kind="bought_together") is None


def test_an_erasure_deletes_the_persons_lists_until_a_newer_training(shop: Shop) -> None:
    from personalization.privacy.registry import Subject, erasure_handlers
    from personalization.recommendations.forget import erase_trained_lists

    assert erase_trained_lists in erasure_handlers()
    user, other = shop.garden_people[0], shop.garden_people[1]
    visitor = Visitor.objects.filter(user=user).get()
    subject = Subject(user_id=user.pk, visitor_ids=(visitor.pk,), vids=(visitor.vid,))
    assert erase_trained_lists(subject) == {}  # nothing trained yet
    train_now()
    assert store.for_person(f"u:{user.pk}") and store.for_person(f"u:{other.pk}")
    # Withdrawing analytics alone leaves personalisation data alone.
    partial = Subject(user_id=user.pk, categories=frozenset({"analytics"}))
    assert erase_trained_lists(partial) == {}

    assert erase_trained_lists(subject) == {"recommendation_lists": 4}  # 2 keys x 2 kinds
    assert store.for_person(f"u:{user.pk}") is None  # not recomputed from the old model
    assert store.for_person(f"u:{user.pk}", kind="buy_again") is None
    assert store.for_person(f"u:{other.pk}")
    # A training after the erasure (here the events are still there) serves the person again.
    train_now()
    assert store.for_person(f"u:{user.pk}")


def test_a_new_product_gets_content_neighbours(shop: Shop) -> None:
    fresh = make_product("Garden hose trowel deluxe", category=shop.garden[0].category)
    train_now()
    neighbours = ids(store.for_product(str(fresh.pk), kind="similar"))
    assert neighbours and set(neighbours[:4]) <= shop.ids(shop.garden)


def test_store_before_any_training(db) -> None:
    assert store.active_version("default") is None
    assert store.for_person("u:1") is None
    assert store.for_product("1", kind="similar") is None
    assert store.trending() == []
    assert store.load_model() is None
    assert store.person_key() is None
    with pytest.raises(ValueError, match="kind"):
        store.for_person("u:1", kind="similar")
    with pytest.raises(ValueError, match="kind"):
        store.for_product("1", kind="default")


def test_a_swap_is_atomic_readers_see_the_old_lists_or_the_new_never_a_mix(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = train_now()
    key = f"u:{shop.garden_people[1].pk}"
    pan = str(shop.kitchen[0].pk)

    def snapshot() -> dict[str, Any]:
        return {
            "versions": {kind: store.active_version(kind).pk for kind in KINDS},
            "default": store.for_person(key),
            "similar": store.for_product(pan, kind="similar"),
            "trending": store.trending(),
        }

    old = snapshot()
    # New behaviour: everybody now views the first kitchen product a lot.
    Event.objects.bulk_create(
        Event(
            name="add_to_cart",
            visitor=visitor,
            user=visitor.user,
            product_id=pan,
            occurred_at=NOW - dt.timedelta(hours=n),
        )
        for n, visitor in enumerate(Visitor.objects.all())
    )
    seen_during_precompute: list[dict[str, Any]] = []
    real_activate = training.activate

    def watching_activate(versions: list[RecommenderVersion]) -> None:
        # Every new list is in the cache now, and still nobody sees it.
        store.forget_active_versions()
        seen_during_precompute.append(snapshot())
        real_activate(versions)

    monkeypatch.setattr(training, "activate", watching_activate)
    second = train_now()
    assert second.pk != first.pk
    assert seen_during_precompute == [old]
    new = snapshot()
    assert set(new["versions"].values()).isdisjoint(old["versions"].values())
    assert ids(new["trending"])[0] == pan != ids(old["trending"])[0]
    # A reader that still holds an old version reads that version's own lists.
    old_default = RecommenderVersion.objects.get(pk=old["versions"]["default"])
    assert cache.get(store.person_cache_key(old_default.pk, key)) is not None
    assert RecommenderVersion.objects.filter(is_active=True).count() == len(KINDS)


def test_a_failure_leaves_the_old_versions_active_and_cleans_up(shop: Shop, settings) -> None:
    train_now()
    active = set(RecommenderVersion.objects.filter(is_active=True).values_list("pk", flat=True))
    broken = {
        **DEFAULTS["RECOMMENDERS"],
        "bought_together": {"model": "item_knn", "params": {"similarity": "bogus"}},
    }
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "RECOMMENDERS": broken}
    with pytest.raises(training.TrainingError, match="unknown similarity"):
        train_now()
    run = TrainingRun.objects.order_by("-pk").first()
    assert run.status == TrainingRun.FAILED
    assert "unknown similarity" in run.error
    assert set(RecommenderVersion.objects.filter(is_active=True).values_list("pk", flat=True)) == (
        active
    )
    failed = RecommenderVersion.objects.filter(run=run)
    assert failed.exists()
    assert {v.status for v in failed} == {RecommenderVersion.FAILED}
    assert all(not v.artifact for v in failed)
    store.forget_active_versions()
    assert store.for_person(f"u:{shop.garden_people[0].pk}")  # the old lists still serve


def test_old_artifacts_are_pruned_beyond_the_kept_number(shop: Shop, settings) -> None:
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "RECOMMENDATION_KEEP_VERSIONS": 2}
    runs = [train_now(kinds=["trending"]) for _ in range(3)]
    versions = list(RecommenderVersion.objects.filter(kind="trending").order_by("pk"))
    assert [v.run_id for v in versions] == [r.pk for r in runs]
    oldest, middle, newest = versions
    assert oldest.status == RecommenderVersion.RETIRED and not oldest.artifact
    assert middle.status == RecommenderVersion.READY and middle.artifact
    assert newest.is_active and newest.artifact
    assert runs[-1].summary["pruned"] == 1


def test_a_kind_without_interactions_is_skipped_and_keeps_its_version(db) -> None:
    make_product("Lonely product")
    visitor = Visitor.objects.create()
    product = Product.objects.get()
    Event.objects.create(
        name="product_view",
        visitor=visitor,
        product_id=str(product.pk),
        occurred_at=NOW - dt.timedelta(days=1),
    )
    run = train_now()
    assert "buy_again" in run.summary["skipped"]
    assert store.active_version("buy_again") is None
    assert ids(store.trending()) == [str(product.pk)]


def test_nothing_to_learn_from_fails_the_run(db) -> None:
    with pytest.raises(training.TrainingError, match="no interactions"):
        train_now()
    assert TrainingRun.objects.get().status == TrainingRun.FAILED


def test_only_one_training_at_a_time(shop: Shop) -> None:
    cache.add(training.LOCK_KEY, 0, timeout=60)
    with pytest.raises(training.TrainingError, match="in progress"):
        train_now()
    assert TrainingRun.objects.get().error == "another training run is in progress"
    cache.delete(training.LOCK_KEY)
    assert train_now().status == TrainingRun.SUCCEEDED


def test_a_running_training_keeps_its_lock_alive_and_a_dead_one_lets_it_expire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(training, "LOCK_SECONDS", 1)
    monkeypatch.setattr(training, "HEARTBEAT_SECONDS", 0.2)
    cache.add(training.LOCK_KEY, "run", timeout=training.LOCK_SECONDS)
    try:
        with training._LockHeartbeat():
            time.sleep(2)
            assert cache.get(training.LOCK_KEY) == "run"
        # The process "died": no more heartbeats, and the lock expires on its own.
        time.sleep(1.5)
        assert cache.get(training.LOCK_KEY) is None
    finally:
        cache.delete(training.LOCK_KEY)


def test_a_run_left_running_by_a_dead_process_is_recorded_as_interrupted(shop: Shop) -> None:
    dead = TrainingRun.objects.create(trigger="beat", status=TrainingRun.RUNNING)
    assert train_now().status == TrainingRun.SUCCEEDED
    dead.refresh_from_db()
    assert dead.status == TrainingRun.FAILED
    assert dead.error.startswith("interrupted")


def test_bad_configuration_is_reported_by_kind(settings) -> None:
    def specs_with(entry: dict[str, Any]) -> list[training.KindSpec]:
        settings.PERSONALIZATION = {
            **settings.PERSONALIZATION,
            "RECOMMENDERS": {"mine": entry},
        }
        return training.kind_specs()

    with pytest.raises(training.TrainingError, match="unknown model"):
        specs_with({"model": "nope"})
    with pytest.raises(training.TrainingError, match="does not weigh"):
        specs_with({"model": "popular", "events": ["dwell"]})
    with pytest.raises(training.TrainingError, match="lists"):
        specs_with({"model": "popular", "lists": "everywhere"})
    with pytest.raises(training.TrainingError, match="unknown kind"):
        training.kind_specs(["other"])
    (spec,) = specs_with({"model": "default"})
    assert spec.model == "hybrid"
    ease = [c for c in spec.params["components"] if c[0] == "ease"]
    assert ease[0][1]["max_items"] == DEFAULTS["RECOMMENDATION_EASE_MAX_ITEMS"]


def test_the_task_trains_a_queued_run_once(shop: Shop) -> None:
    from personalization.tasks import train_recommenders

    run = training.request_run("admin", "alice")
    result = train_recommenders.delay(run.pk).get()
    assert result == {"run": run.pk, "status": TrainingRun.SUCCEEDED, "error": ""}
    # A second delivery of the same run does not train again.
    assert train_recommenders.delay(run.pk).get()["status"] == TrainingRun.SUCCEEDED
    assert RecommenderVersion.objects.filter(run=run).count() == len(KINDS)
    assert RecommenderVersion.objects.count() == len(KINDS)


def test_the_task_records_a_failure_on_the_run(db) -> None:
    from personalization.tasks import train_recommenders

    result = train_recommenders.delay().get()
    assert result["status"] == TrainingRun.FAILED
    assert "no interactions" in result["error"]
    assert TrainingRun.objects.get(pk=result["run"]).trigger == "schedule"


def test_recent_runs_have_timings(shop: Shop) -> None:
    run = train_now()
    assert run.seconds is not None and run.seconds >= 0
    assert run.started_at <= run.finished_at <= timezone.now()
