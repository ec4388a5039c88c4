"""Full retrain of the recommenders on generated data: interactions, every kind's fit, precompute.

Generates ``--interactions`` events (default 1,000,000) of ``--users`` people (50,000) on
``--items`` products (10,000) over a year: people belong to one of 50 tastes and mostly use that
taste's products, product popularity is Zipf-like within a taste, and the event types are 70%
product views, 5% wishlist additions, 15% add-to-carts and 10% purchases. Then it times:

1. ``build_interactions`` (weights per event type, 90-day time decay) on that DataFrame;
2. ``personalization.recommendations.training.train`` for every kind of ``RECOMMENDERS``
   (default, buy_again, similar, bought_together, trending): fit, artifact saved into the file
   storage, precomputed top-100 lists written into the cache with ``set_many``, the swap. Reading
   the events from the database is replaced by the generated DataFrame (the database read is the
   ingest side's figure, not the training's).

Prints the seconds of each step and kind, the total (wall-clock, and the CPU time of the process,
which other processes on a shared machine do not inflate), the load average, and the peak
resident memory of the process (``getrusage``: the generated data included). Targets: at most
60 s and 4 GB. The settings are
the demo shop's (``benchmarks/bench_settings.py``): with ``REDIS_URL`` the lists go to Redis
(keys under the benchmark's prefix, expiring 10 minutes after the run), else to the local-memory
cache; the database is a temporary SQLite file. Run from the repository root::

    .venv/bin/python benchmarks/training.py
    REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python benchmarks/training.py
    .venv/bin/python benchmarks/training.py --ease-max-items 0   # EASE on every item
    .venv/bin/python benchmarks/training.py --holdout-days 14    # + offline metrics (2 fits)
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DAY = 86_400.0
NOW = pd.Timestamp("2026-11-01", tz="UTC")
TASTES = 50
EVENT_SHARES = {"product_view": 0.70, "wishlist_add": 0.05, "add_to_cart": 0.15, "purchase": 0.10}
WORDS = [f"word{n}" for n in range(400)]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument(
        "--ease-max-items",
        type=int,
        default=None,
        help="RECOMMENDATION_EASE_MAX_ITEMS for the run (0: every item; default: the setting)",
    )
    parser.add_argument(
        "--holdout-days", type=float, default=0.0, help="offline metrics too (default: 0, none)"
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def generate(n: int, users: int, items: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events (``user_id, item_id, event, timestamp``) and the catalogue, with planted tastes."""
    rng = np.random.default_rng(seed)
    taste_of_item = np.arange(items) % TASTES
    items_of_taste = [np.flatnonzero(taste_of_item == t) for t in range(TASTES)]
    taste_of_user = rng.integers(0, TASTES, users)
    # People differ in activity (a long tail of one-visit shoppers, a few heavy ones).
    activity = rng.pareto(1.5, users) + 1.0
    user = rng.choice(users, size=n, p=activity / activity.sum())
    own_taste = rng.random(n) < 0.8
    taste = np.where(own_taste, taste_of_user[user], rng.integers(0, TASTES, n))
    item = np.empty(n, dtype=np.int64)
    for t in range(TASTES):
        rows = np.flatnonzero(taste == t)
        pool = items_of_taste[t]
        rank = np.minimum(rng.zipf(1.3, len(rows)) - 1, len(pool) - 1)
        item[rows] = pool[rank]
    kinds = np.array(list(EVENT_SHARES))
    event = kinds[rng.choice(len(kinds), size=n, p=list(EVENT_SHARES.values()))]
    seconds = NOW.timestamp() - rng.random(n) ** 0.7 * 365 * DAY
    events = pd.DataFrame(
        {
            "user_id": np.char.add("u:", user.astype(str)).astype(object),
            "item_id": item.astype(str).astype(object),
            "event": event.astype(object),
            "timestamp": seconds,
        }
    )
    vocabulary = np.array(WORDS)
    catalogue = pd.DataFrame(
        {
            "item_id": np.arange(items).astype(str).astype(object),
            "title": [
                " ".join(vocabulary[(t * 8 + rng.integers(0, 8, 3)) % len(WORDS)])
                for t in taste_of_item
            ],
            "description": "",
            "category": [f"category {t % 14}" for t in taste_of_item],
            "brand": "",
            "price": np.round(rng.lognormal(3.0, 0.8, items), 2),
            "tags": [[] for _ in range(items)],
        }
    )
    return events, catalogue


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def cpu_seconds() -> float:
    """CPU time of this process (every thread, BLAS's included): unlike the wall-clock time it
    does not grow when other processes share the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    args = parse_args()
    folder = tempfile.mkdtemp(prefix="p13n-training-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.bench_settings")
    os.environ["SQLITE_PATH"] = str(Path(folder) / "db.sqlite3")
    import django
    from django.conf import settings

    settings.MEDIA_ROOT = str(Path(folder) / "media")
    personalization = {**settings.PERSONALIZATION, "RECOMMENDATION_CACHE_TIMEOUT": 600}
    if args.ease_max_items is not None:
        personalization["RECOMMENDATION_EASE_MAX_ITEMS"] = args.ease_max_items or None
    settings.PERSONALIZATION = personalization
    if not os.environ.get("REDIS_URL"):
        # Room for every list: the demo's local-memory cache would evict most of them.
        settings.CACHES["default"]["OPTIONS"]["MAX_ENTRIES"] = 10 * (args.users + args.items)
    django.setup()
    from django.core.management import call_command

    from personalization.conf import app_settings
    from personalization.recommendations import interactions as sources
    from personalization.recommendations import training
    from personalization.recsys.interactions import build_interactions

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    events, catalogue = generate(args.interactions, args.users, args.items, args.seed)
    print(
        f"Generated {len(events):,} events of {events['user_id'].nunique():,} people on "
        f"{events['item_id'].nunique():,} products in {time.perf_counter() - started:.1f}s; "
        f"cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}; EASE max items: "
        f"{app_settings.RECOMMENDATION_EASE_MAX_ITEMS}",
        flush=True,
    )

    clock, cpu = time.perf_counter(), cpu_seconds()
    data = build_interactions(
        events,
        app_settings.RECOMMENDATION_EVENT_WEIGHTS,
        half_life_days=app_settings.RECOMMENDATION_HALF_LIFE_DAYS,
        now=NOW,
    )
    interactions_seconds = time.perf_counter() - clock
    print(f"interactions: {len(data):,} rows in {interactions_seconds:.2f}s", flush=True)
    del events

    sources.collect = lambda now=None: data
    sources.read_catalogue = lambda: catalogue
    run = training.train(
        now=NOW.to_pydatetime(),
        holdout_days=args.holdout_days,
        progress=lambda message: print(f"  {message}", flush=True),
    )
    seconds = run.summary["seconds"]
    total = interactions_seconds + seconds["total"]
    print()
    print("| step | fit s | precompute s | save s | evaluate s |")
    print("| --- | --- | --- | --- | --- |")
    for kind in app_settings.RECOMMENDERS:
        if kind in seconds:
            step = seconds[kind]
            print(
                f"| {kind} | {step['fit']:.1f} | {step['precompute']:.1f} | {step['save']:.1f} "
                f"| {step['evaluate']:.1f} |"
            )
    print()
    print(
        f"Full retrain: {total:.1f}s wall-clock (interactions {interactions_seconds:.1f}s + "
        f"training {seconds['total']:.1f}s), {cpu_seconds() - cpu:.1f}s of CPU; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; peak RSS {peak_rss_gb():.2f} GB "
        "(targets: 60 s, 4 GB)"
    )


if __name__ == "__main__":
    main()
