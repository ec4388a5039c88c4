"""Render latency of the recommendation template tags, with a warm cache and on cache misses.

Builds a catalogue of ``--items`` demo products (default 10,000) in a fresh SQLite file, trains
every recommender through the real pipeline on ``--interactions`` generated events (the generator
of ``benchmarks/training.py``: people with planted tastes, Zipf-like popularity), and then times
``Template.render`` of

* ``{% recommended_for_you %}`` for a logged-in shopper (``u:<n>``), and
* ``{% similar_products product %}`` on a product page,

each for a new request (so the per-request state is built every time: consent, person, the demo
adapter's cart, "not interested", purchases), in two states:

* **warm**: the precomputed lists, the product data and the person's caches are in the cache
  (every timed render repeats a person or product rendered during the warm-up);
* **miss**: the person's (or product's) precomputed list was evicted, and so was the product data
  (``RECOMMENDATION_PRODUCT_CACHE_SECONDS`` 0): the list comes from the loaded model
  (``model.recommend`` / ``similar_items``) and the product data from the store adapter (one
  query), every render is a person never seen before (their purchases and feedback are read
  from the database too), and the widget renders every item's markup afresh (the process's item
  fragments are cleared before each render).

Prints p50, p90, p99 and mean per case, of the wall-clock time and of the rendering thread's CPU
time (which other processes on a busy machine do not inflate), and the models' own time for the
same misses. Targets: warm p99 ≤ 1 ms, miss p99 ≤ 20 ms. DEBUG is off unless ``DEBUG=1`` is in the
environment (the demo's default, debug mode, turns off the template engine's caches).

The mode is the demo's, chosen by the environment as for ``manage.py``: with ``REDIS_URL`` the
production mode (django-redis cache, impressions in a Redis list, written by a Celery worker in
another process; no worker runs here, so the list only grows), else the embedded mode
(local-memory cache, in-process buffers whose flusher thread writes the impressions to the
database in this process while the renders run, as it does in a server of that mode).
``--flusher off`` runs the embedded mode without that thread and writes the impressions after
the timed renders, which shows what the thread costs the renders. The catalogue and the
accounts are in SQLite in both modes (warm renders make no query: the script counts them). Run
from the repository root::

    REDIS_URL=redis://127.0.0.1:6379/11 .venv/bin/python benchmarks/serving.py
    .venv/bin/python benchmarks/serving.py                  # embedded mode
    .venv/bin/python benchmarks/serving.py --flusher off    # embedded, no flusher thread
    .venv/bin/python benchmarks/serving.py --items 10000 --interactions 300000 --iterations 3000
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

CONSENT = "1:analytics+personalization"
WARM_TARGET_MS = 1.0
MISS_TARGET_MS = 20.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--interactions", type=int, default=300_000)
    parser.add_argument("--iterations", type=int, default=3000, help="timed renders per warm case")
    parser.add_argument("--misses", type=int, default=1000, help="timed renders per miss case")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of warm and missed for_you renders"
    )
    parser.add_argument(
        "--flusher",
        choices=["on", "off"],
        default="on",
        help="embedded mode: 'off' writes the impressions after the timed renders, not by the "
        "in-process flusher thread during them",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() after the warm-up, as a server process may after loading its app",
    )
    return parser.parse_args()


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return (
        f"p50 {at(0.50):6.3f}  p90 {at(0.90):6.3f}  p99 {at(0.99):6.3f}  "
        f"mean {statistics.fmean(ordered) * 1000:6.3f} ms"
    )


def main() -> None:
    args = parse_args()
    folder = tempfile.mkdtemp(prefix="p13n-serving-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.bench_settings")
    # Production's template engine: the demo's DEBUG default (1) turns the template engine's
    # per-node caches off. DEBUG=1 in the environment measures the development mode.
    os.environ.setdefault("DEBUG", "0")
    os.environ["SQLITE_PATH"] = str(Path(folder) / "db.sqlite3")
    import django
    from django.conf import settings

    settings.MEDIA_ROOT = str(Path(folder) / "media")
    settings.PERSONALIZATION = {**settings.PERSONALIZATION, "RECOMMENDATION_CACHE_TIMEOUT": 3600}
    settings.ALLOWED_HOSTS = ["*"]
    redis_mode = bool(os.environ.get("REDIS_URL"))
    if args.flusher == "off" and redis_mode:
        sys.exit("--flusher off is for the embedded mode: no flusher thread runs with REDIS_URL")
    if not redis_mode:
        settings.CACHES["default"]["OPTIONS"]["MAX_ENTRIES"] = 10 * (args.users + args.items)
    if args.flusher == "off":
        settings.PERSONALIZATION["EVENT_BUFFER"] = (
            "personalization.tracking.buffer.InProcessBuffer",
            {"background": False},
        )
    django.setup()

    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.template import Context, Template
    from django.test import RequestFactory, override_settings
    from django.test.utils import CaptureQueriesContext

    from benchmarks.training import NOW, generate
    from demo_shop.shop.models import Category, Product
    from personalization.conf import app_settings
    from personalization.recommendations import interactions as sources
    from personalization.recommendations import store, training
    from personalization.recommendations.attribution import flush_impressions, impression_buffer
    from personalization.recsys.interactions import build_interactions
    from personalization.templatetags.personalization_tags import _item_fragments as item_fragments
    from personalization.tracking.context import PersonalizationContext

    if redis_mode:
        # Lists and buffers of an earlier run (same key prefix) would be served as this run's.
        clear_redis()
    call_command("migrate", verbosity=0)
    clock = time.perf_counter()
    events, catalogue = generate(args.interactions, args.users, args.items, args.seed)
    # Product ids are the demo's primary keys, from 1.
    events["item_id"] = (events["item_id"].astype(int) + 1).astype(str)
    catalogue["item_id"] = (catalogue["item_id"].astype(int) + 1).astype(str)
    categories = {
        name: Category.objects.create(name=name, slug=name.replace(" ", "-"))
        for name in sorted(catalogue["category"].unique())
    }
    Product.objects.bulk_create(
        [
            Product(
                pk=int(row.item_id),
                sku=f"SKU-{row.item_id}",
                name=row.title,
                slug=f"product-{row.item_id}",
                category=categories[row.category],
                price=row.price,
                stock=20,
            )
            for row in catalogue.itertuples()
        ],
        batch_size=2000,
    )
    people = sorted(events["user_id"].unique(), key=lambda key: int(key[2:]))
    User = get_user_model()
    User.objects.bulk_create(
        [User(pk=int(key[2:]) + 1, username=f"shopper{key[2:]}") for key in people],
        batch_size=2000,
    )
    # Person keys are u:<user pk>.
    events["user_id"] = "u:" + (events["user_id"].str[2:].astype(int) + 1).astype(str)
    data = build_interactions(
        events,
        app_settings.RECOMMENDATION_EVENT_WEIGHTS,
        half_life_days=app_settings.RECOMMENDATION_HALF_LIFE_DAYS,
        now=NOW,
    )
    sources.collect = lambda now=None: data
    sources.read_catalogue = lambda: catalogue
    training.train(now=NOW.to_pydatetime(), holdout_days=0)
    print(
        f"{args.items:,} products, {len(people):,} people, {len(events):,} events; trained in "
        f"{time.perf_counter() - clock:.1f}s; cache: "
        f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}; DEBUG {settings.DEBUG}; "
        f"{'production mode (Redis)' if redis_mode else 'embedded mode'}, "
        f"impressions: {type(impression_buffer()).__name__}"
        + (" without a flusher thread" if args.flusher == "off" else ""),
        flush=True,
    )

    users = {user.pk: user for user in User.objects.all()}
    factory = RequestFactory()

    def request_for(user: Any, path: str = "/") -> Any:
        request = factory.get(path, HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/120")
        request.COOKIES["p13n_consent"] = CONSENT
        request.COOKIES["p13n_vid"] = f"benchvisitor{user.pk:012d}"
        request.user = user
        request.session = {}
        request.personalization = PersonalizationContext(request)
        return request

    for_you = Template("{% load personalization_tags %}{% recommended_for_you %}")
    similar = Template("{% load personalization_tags %}{% similar_products product %}")
    products = {str(p.pk): p for p in Product.objects.select_related("category")}
    rng = random.Random(args.seed)
    person_ids = [int(key[2:]) for key in data["user_id"].unique()]
    product_ids = sorted({str(i) for i in data["item_id"].unique()}, key=int)

    cpu: dict[str, list[float]] = {}
    # Garbage collector passes during the renders: the benchmark's heap (events, models, the
    # trained lists in the local-memory cache) makes a full pass cost milliseconds, which lands
    # on whichever render allocates at the wrong moment.
    gc_pauses: dict[str, list[float]] = {}
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_pauses.setdefault(current[0], []).append(time.perf_counter() - gc_started[0])

    current = ["warm-up"]
    gc.callbacks.append(on_gc)

    def timed(name: str, template: Template, context: dict[str, Any]) -> float:
        current[0] = name
        started, started_cpu = time.perf_counter(), time.thread_time()
        html = template.render(Context(context))
        elapsed = time.perf_counter() - started
        cpu.setdefault(name, []).append(time.thread_time() - started_cpu)
        current[0] = "outside the renders"
        assert "data-p13n-rec" in html
        return elapsed

    def render_for_you(user: Any, name: str = "warm-up") -> float:
        return timed(name, for_you, {"request": request_for(user)})

    def render_similar(user: Any, product: Any, name: str = "warm-up") -> float:
        request = request_for(user, product.get_absolute_url())
        return timed(name, similar, {"request": request, "product": product})

    # Warm: a pool of people and products, each rendered once before the timed part.
    warm_people = [users[pk] for pk in rng.sample(person_ids, 300)]
    warm_products = [products[pid] for pid in rng.sample(product_ids, 300)]
    viewer = warm_people[0]
    for user in warm_people:
        render_for_you(user)
    for product in warm_products:
        render_similar(viewer, product)
    with CaptureQueriesContext(connection) as queries:
        render_for_you(rng.choice(warm_people))
        render_similar(viewer, rng.choice(warm_products))
    print(f"database queries of a warm for_you and a warm similar render: {len(queries)}")
    gc.collect()
    if args.gc_freeze:
        # What is alive now (the app, the models, the cache) is left out of later passes.
        gc.freeze()
    results = {}
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(500):
            render_for_you(rng.choice(warm_people))
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    results["for_you, warm"] = [
        render_for_you(rng.choice(warm_people), "for_you, warm") for _ in range(args.iterations)
    ]
    results["similar, warm"] = [
        render_similar(viewer, rng.choice(warm_products), "similar, warm")
        for _ in range(args.iterations)
    ]

    if args.flusher == "off":
        waiting = len(impression_buffer())
        started = time.perf_counter()
        written = flush_impressions()
        print(
            f"impressions written after the warm renders: {written:,} of {waiting:,} in "
            f"{time.perf_counter() - started:.2f}s (the flusher thread's work, which --flusher on "
            "does during the renders)"
        )

    # Misses: people and products never rendered, their lists evicted, no product data cache.
    default_version = store.active_version("default")
    similar_version = store.active_version("similar")
    profiled = 200 if args.profile else 0
    cold_people = [
        users[pk]
        for pk in rng.sample(
            sorted(set(person_ids) - {u.pk for u in warm_people}), args.misses + profiled
        )
    ]
    cold_people, profiled_people = cold_people[: args.misses], cold_people[args.misses :]
    cold_products = [
        products[pid]
        for pid in rng.sample(
            sorted(set(product_ids) - {str(p.pk) for p in warm_products}), args.misses
        )
    ]
    cache.delete_many(
        [
            store.person_cache_key(default_version.pk, f"u:{u.pk}")
            for u in cold_people + profiled_people
        ]
    )
    cache.delete_many(
        [store.product_cache_key(similar_version.pk, str(p.pk)) for p in cold_products]
    )
    store.load_model("default")
    store.load_model("similar")  # loaded once per process, before the first miss
    miss_settings = {**settings.PERSONALIZATION, "RECOMMENDATION_PRODUCT_CACHE_SECONDS": 0}

    def cold(render: Any, *args: Any) -> float:
        # Nor is the items' markup kept from earlier renders of the same products.
        item_fragments.clear()
        return render(*args)

    with override_settings(PERSONALIZATION=miss_settings):
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for user in profiled_people:
                cold(render_for_you, user)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        gc.collect()
        results["for_you, miss"] = [
            cold(render_for_you, user, "for_you, miss") for user in cold_people
        ]
        results["similar, miss"] = [
            cold(render_similar, cold_people[i], product, "similar, miss")
            for i, product in enumerate(cold_products)
        ]

    # What the models alone take for the same misses (the rest is serving: rules, product data,
    # rendering, the impression).
    default_model, similar_model = store.load_model("default"), store.load_model("similar")
    size = app_settings.RECOMMENDATION_PRECOMPUTE_SIZE
    results["model.recommend"] = []
    for user in cold_people:
        started = time.perf_counter()
        default_model.recommend(f"u:{user.pk}", k=size)
        results["model.recommend"].append(time.perf_counter() - started)
    results["model.similar_items"] = []
    for product in cold_products:
        started = time.perf_counter()
        similar_model.similar_items(str(product.pk), k=size)
        results["model.similar_items"].append(time.perf_counter() - started)

    print()
    print("wall-clock time")
    for name, samples in results.items():
        print(f"  {name:19} n={len(samples):5}  {percentiles(samples)}")
    print("CPU time of the rendering thread (not inflated by other processes)")
    for name, samples in cpu.items():
        if name != "warm-up":
            print(f"  {name:19} n={len(samples):5}  {percentiles(samples)}")
    print("garbage collector passes during the timed renders")
    for name in cpu:
        pauses = gc_pauses.get(name, [])
        if name != "warm-up":
            print(
                f"  {name:19} {len(pauses):5} passes, {sum(pauses) * 1000:8.1f} ms in all, "
                f"longest {max(pauses, default=0) * 1000:6.2f} ms"
            )
    warm_p99 = max(sorted(s)[int(0.99 * len(s))] for n, s in results.items() if "warm" in n)
    miss_p99 = max(sorted(s)[int(0.99 * len(s))] for n, s in results.items() if "miss" in n)
    print()
    print(
        f"warm p99 {warm_p99 * 1000:.3f} ms (target {WARM_TARGET_MS} ms); "
        f"miss p99 {miss_p99 * 1000:.3f} ms (target {MISS_TARGET_MS} ms)"
    )
    if redis_mode:
        clear_redis()


def clear_redis() -> None:
    """Delete this benchmark's keys (its KEY_PREFIX), buffers and queued flush tasks from Redis."""
    from django.conf import settings
    from django.core.cache import cache
    from django_redis import get_redis_connection

    from personalization.recommendations.attribution import impression_buffer
    from personalization.tracking.buffer import get_buffer

    cache.delete_pattern("*")
    get_redis_connection("default").delete(
        impression_buffer().key,
        *(shard.key for shard in get_buffer().shards()),
        settings.CELERY_TASK_DEFAULT_QUEUE,
    )


if __name__ == "__main__":
    main()
